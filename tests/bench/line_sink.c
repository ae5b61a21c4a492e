/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * line_sink: a loopback TCP sink for carbon plaintext, used by make bench.
 *
 * Listens on 127.0.0.1, accepts any number of connections, cuts what they
 * send into lines and checks each one has the form "PATH VALUE TS" ended by
 * LF or CRLF (PATH printable without blanks, VALUE a decimal number, TS
 * digits). Output, one row per line of text, flushed at once so that a
 * script can follow it:
 *   port P                               first, the port listened on
 *   sec S lines N bad B bytes Y conns C  every second: counts of that second
 *   snap MONO_NS LINES BAD BYTES         on SIGUSR1: running totals, so a
 *                                        script measures an exact window
 *   total secs S lines N bad B bytes Y conns C   at the end
 * Runs --duration seconds at most; SIGTERM or SIGINT end it earlier.
 * --stall accepts connections but never reads them: a peer that stops
 * reading, to see what the sender does when its data cannot leave.
 * --dump FILE writes every well-formed line to FILE, so that a test can
 * look for each sample (the fault tests of issue 13; make check builds it).
 *
 * usage: line_sink [--port N] [--duration S] [--out FILE] [--dump FILE] [--show-bad N] [--stall]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN    4096 /* longer lines are counted as malformed */
#define RECV_BUF        (1 << 18)
#define MAX_CONNS       64
#define READS_PER_EVENT 16 /* bounded, so one busy peer cannot starve the timer */

struct conn {
	int fd;
	size_t plen;   /* bytes of an unfinished line kept in part */
	bool overlong; /* the unfinished line is already too long */
	char part[LINE_MAX_LEN];
};

struct counts {
	uint64_t lines, bad, bytes;
};

static struct conn *conns[MAX_CONNS];
static struct counts total, last_sec;
static uint64_t nconns;
static long show_bad = 3;
static bool stall;
static FILE *out, *dump;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Past the run of digits at @q (eight at a time, as for paths). */
static const char *digits_end(const char *q, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	while (end - q >= 8) {
		uint64_t w, bad;

		memcpy(&w, q, 8);
		/* a byte outside '0'..'9' sets its top bit here; carries only reach later bytes */
		bad = ((w + ones * 0x46) | (w - ones * 0x30)) & highs;
		if (bad)
			return q + __builtin_ctzll(bad) / 8;
		q += 8;
	}
	while (q < end && is_digit(*q))
		q++;
	return q;
}

/* [+-]digits[.digits][(e|E)[+-]digits], at least one mantissa digit. */
static const char *scan_number(const char *q, const char *end)
{
	const char *d;

	if (q < end && (*q == '-' || *q == '+'))
		q++;
	d = q;
	q = digits_end(q, end);
	if (q < end && *q == '.')
		q = digits_end(q + 1, end);
	if (q == d || (q == d + 1 && *d == '.'))
		return NULL;
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '-' || *q == '+'))
			q++;
		d = q;
		while (q < end && is_digit(*q))
			q++;
		if (q == d)
			return NULL;
	}
	return q;
}

/*
 * The first byte of @q..@end that is a blank, a control character or DEL.
 * Eight bytes at a time: the sink must stay cheaper than the daemons it
 * measures (it shares their two CPUs), and paths are the longest field.
 */
static const char *path_end(const char *q, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	for (; end - q >= 8; q += 8) {
		uint64_t w, bad;

		memcpy(&w, q, 8);
		/* bytes < 0x21, and bytes == 0x7f (w ^ 0x7f.. has a zero byte) */
		bad = ((w - ones * 0x21) & ~w) |
		      (((w ^ (ones * 0x7f)) - ones) & ~(w ^ (ones * 0x7f)));
		if (bad & highs)
			break;
	}
	while (q < end && (unsigned char)*q > ' ' && *q != 0x7f)
		q++;
	return q;
}

/* Is @p (@n bytes, without the '\n') "PATH VALUE TS", with an optional '\r'? */
static bool line_ok(const char *p, size_t n)
{
	const char *end, *q, *t;

	if (n && p[n - 1] == '\r')
		n--;
	end = p + n;
	q = path_end(p, end);
	if (q == p || q == end || *q != ' ')
		return false;
	q = scan_number(q + 1, end);
	if (!q || q == end || *q != ' ')
		return false;
	t = ++q;
	q = digits_end(q, end);
	return q > t && q == end;
}

static void count_line(const char *p, size_t n, bool overlong)
{
	total.lines++;
	if (!overlong && line_ok(p, n)) {
		if (dump && (fwrite(p, 1, n, dump) != n || putc('\n', dump) == EOF)) {
			perror("line_sink: --dump");
			exit(1);
		}
		return;
	}
	total.bad++;
	if (show_bad > 0) {
		show_bad--;
		fprintf(stderr, "line_sink: malformed line: %.*s%s\n", (int)(n > 200 ? 200 : n), p,
			overlong || n > 200 ? "..." : "");
	}
}

/* Keep the unfinished tail of a read for the next one. */
static void keep_part(struct conn *c, const char *p, size_t n)
{
	if (c->overlong || c->plen + n > sizeof(c->part)) {
		c->overlong = true;
		c->plen = 0;
		return;
	}
	memcpy(c->part + c->plen, p, n);
	c->plen += n;
}

static void feed(struct conn *c, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	total.bytes += len;
	if (c->plen || c->overlong) {
		nl = memchr(p, '\n', len);
		if (!nl) {
			keep_part(c, p, len);
			return;
		}
		keep_part(c, p, (size_t)(nl - p));
		count_line(c->part, c->plen, c->overlong);
		c->plen = 0;
		c->overlong = false;
		p = nl + 1;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		count_line(p, (size_t)(nl - p), (size_t)(nl - p) > LINE_MAX_LEN);
		p = nl + 1;
	}
	if (p < end)
		keep_part(c, p, (size_t)(end - p));
}

/* @peer_closed: a half line left then is malformed; at our own exit it is not. */
static void drop_conn(int ep, unsigned i, bool peer_closed)
{
	struct conn *c = conns[i];

	if (!stall)
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (peer_closed && (c->plen || c->overlong))
		count_line(c->part, c->plen, true);
	free(c);
	conns[i] = NULL;
}

static void serve(int ep, unsigned i, char *buf)
{
	for (int k = 0; k < READS_PER_EVENT; k++) {
		ssize_t n = recv(conns[i]->fd, buf, RECV_BUF, MSG_DONTWAIT);

		if (n > 0) {
			feed(conns[i], buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			drop_conn(ep, i, true);
		return;
	}
}

static void accept_all(int ep, int lfd)
{
	for (int k = 0; k < MAX_CONNS; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned i;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_CONNS && conns[i]; i++)
			;
		struct conn *c = i < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		conns[i] = c;
		nconns++;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i + 3 };
		if (!stall)
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static int setup_listener(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fputs("usage: line_sink [--port N] [--duration S] [--out FILE] [--dump FILE] [--show-bad "
	      "N] "
	      "[--stall]\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "dump", required_argument, NULL, 'D' },
		{ "show-bad", required_argument, NULL, 'b' },
		{ "stall", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long port = 0, duration = 60;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	const char *path = NULL, *dump_path = NULL;
	uint64_t t0, secs = 0;
	sigset_t set;
	char *buf;
	int c, ep, lfd, sfd, tfd;

	while ((c = getopt_long(argc, argv, "p:d:o:D:b:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			path = optarg;
			break;
		case 'D':
			dump_path = optarg;
			break;
		case 'b':
			show_bad = strtol(optarg, NULL, 10);
			break;
		case 's':
			stall = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || port > 65535 || duration == 0 || duration > 24 * 3600) {
		usage(stderr);
		return 2;
	}
	out = path ? fopen(path, "w") : stdout;
	if (!out) {
		perror(path);
		return 1;
	}
	dump = dump_path ? fopen(dump_path, "w") : NULL;
	if (dump_path && (!dump || setvbuf(dump, NULL, _IOFBF, 1 << 20))) {
		perror(dump_path);
		return 1;
	}
	buf = malloc(RECV_BUF);
	lfd = setup_listener((unsigned)port);
	if (!buf || lfd < 0) {
		perror("line_sink: listen");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *)&sa, &salen);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0) {
		perror("line_sink");
		return 1;
	}
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.u64 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.u64 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	fprintf(out, "port %u\n", (unsigned)ntohs(sa.sin_port));
	fflush(out);
	t0 = mono_ns();
	for (bool stop = false; !stop;) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, 1000);

		for (int k = 0; k < n; k++) {
			uint64_t id = evs[k].data.u64;

			if (id == 0) {
				accept_all(ep, lfd);
			} else if (id == 1) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo != SIGUSR1) {
						stop = true;
						continue;
					}
					fprintf(out, "snap %llu %llu %llu %llu\n",
						(unsigned long long)mono_ns(),
						(unsigned long long)total.lines,
						(unsigned long long)total.bad,
						(unsigned long long)total.bytes);
					fflush(out);
				}
			} else if (id == 2) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
					continue;
				secs += ticks;
				fprintf(out, "sec %llu lines %llu bad %llu bytes %llu conns %llu\n",
					(unsigned long long)secs,
					(unsigned long long)(total.lines - last_sec.lines),
					(unsigned long long)(total.bad - last_sec.bad),
					(unsigned long long)(total.bytes - last_sec.bytes),
					(unsigned long long)nconns);
				fflush(out);
				last_sec = total;
				if (secs >= duration)
					stop = true;
			} else if (id - 3 < MAX_CONNS && conns[id - 3]) {
				serve(ep, (unsigned)(id - 3), buf);
			}
		}
		if (mono_ns() - t0 > (duration + 1) * 1000000000ull)
			stop = true; /* a stalled timer must not make the run unbounded */
	}
	for (unsigned i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			drop_conn(ep, i, false);
	fprintf(out, "total secs %llu lines %llu bad %llu bytes %llu conns %llu\n",
		(unsigned long long)secs, (unsigned long long)total.lines,
		(unsigned long long)total.bad, (unsigned long long)total.bytes,
		(unsigned long long)nconns);
	fflush(out);
	if (path)
		fclose(out);
	if (dump && fclose(dump)) {
		perror("line_sink: --dump");
		return 1;
	}
	free(buf);
	return 0;
}
