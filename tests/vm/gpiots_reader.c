/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpiots_reader: the guest tests' client of /dev/liota-gpiots (kmod/).
 *
 *   gpiots_reader read [-p PAGES] [-w MARK] [-t MS] [-n COUNT] [-T SECONDS]
 *                      [-s FILE] [-r FILE] [-H] [-P] [-v] CHIP:OFFSET:EDGE...
 *       Sets the ring up, attaches the lines (EDGE: rising, falling, both),
 *       writes "attached" to FILE (-r), then consumes records until COUNT
 *       (-n) arrived or SECONDS (-T, default 20) passed. -s: consume
 *       nothing until FILE exists (a stalled reader). -H: hold the lines
 *       until the kernel says their chip went away (POLLPRI), detach each
 *       as it goes, and exit 0 once none is left. -P: print "progress
 *       records=N" after each batch; -v: print each record. Checks every
 *       record as it goes (per line: sequence numbers without gaps but
 *       those the overflow count explains, edges
 *       alternating when both are asked, stamps in order; across lines:
 *       stamps in ring order) and ends with one line
 *       "summary records=N overflow=N gaps=N wakeups=N errors=N".
 *       Exit 0 when the checks held, 1 otherwise, 2 on a usage or setup
 *       error.
 *   gpiots_reader toggle COUNT PULL...
 *       Writes pull-up, pull-down, ... COUNT times to each gpio-sim pull
 *       attribute in turn: COUNT edges per line, as fast as sysfs allows.
 *   gpiots_reader bad CHIP
 *       Every bad argument the module must refuse, one line each
 *       ("ok: ..." or "FAIL: ..."); exit 1 when one was not refused as
 *       expected. CHIP must have a line 0, and fewer than 1000 lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/liota_gpiots.h>

#define MAX_LINES LIOTA_GPIOTS_MAX_LINES

struct line_state {
	bool attached;
	uint32_t edges;
	unsigned long long seq; /* the last one seen */
	unsigned long long mono;
	uint8_t level;
	unsigned long long records;
};

struct reader {
	int fd;
	struct liota_gpiots_header *hdr;
	struct liota_gpiots_record *data;
	size_t map_size;
	struct line_state lines[MAX_LINES];
	unsigned long long records, gaps, wakeups, errors, last_mono, start_mono;
	bool verbose;
};

static unsigned long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000u + (unsigned long long)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "gpiots_reader: %s: %s\n", what, strerror(errno));
	exit(2);
}

__attribute__((format(printf, 2, 3))) static void error(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	/* The first few tell what went wrong; the count says how often. */
	if (r->errors++ >= 10)
		return;
	va_start(ap, fmt);
	printf("ERROR: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static uint32_t parse_edges(const char *s)
{
	if (!strcmp(s, "rising"))
		return LIOTA_GPIOTS_EDGE_RISING;
	if (!strcmp(s, "falling"))
		return LIOTA_GPIOTS_EDGE_FALLING;
	if (!strcmp(s, "both"))
		return LIOTA_GPIOTS_EDGE_BOTH;
	fprintf(stderr, "gpiots_reader: edge '%s' is not rising, falling or both\n", s);
	exit(2);
}

/* CHIP:OFFSET:EDGE, attached; the number records carry for it. */
static uint32_t attach(struct reader *r, const char *spec)
{
	struct liota_gpiots_attach a;
	char buf[128], *off, *edge;

	memset(&a, 0, sizeof(a));
	snprintf(buf, sizeof(buf), "%s", spec);
	off = strchr(buf, ':');
	edge = off ? strchr(off + 1, ':') : NULL;
	if (!edge) {
		fprintf(stderr, "gpiots_reader: '%s' is not CHIP:OFFSET:EDGE\n", spec);
		exit(2);
	}
	*off++ = '\0';
	*edge++ = '\0';
	if (strlen(buf) >= sizeof(a.chip)) {
		fprintf(stderr, "gpiots_reader: chip label '%s' is too long\n", buf);
		exit(2);
	}
	memcpy(a.chip, buf, strlen(buf) + 1);
	a.offset = (uint32_t)strtoul(off, NULL, 10);
	a.edges = parse_edges(edge);
	if (ioctl(r->fd, LIOTA_GPIOTS_ATTACH, &a) < 0)
		die(spec);
	r->lines[a.line].attached = true;
	r->lines[a.line].edges = a.edges;
	r->lines[a.line].level = (uint8_t)a.level;
	printf("attached %s as line %u, level %u\n", spec, a.line, a.level);
	return a.line;
}

static void check(struct reader *r, const struct liota_gpiots_record *rec)
{
	struct line_state *l;
	uint8_t want;

	if (r->verbose)
		printf("rec line=%u seq=%llu edge=%u level=%u mono=%llu\n", rec->line, rec->seq,
		       rec->edge, rec->level, rec->mono_ns);
	r->records++;
	if (rec->line >= MAX_LINES || !r->lines[rec->line].attached) {
		error(r, "record %llu names line %u, not attached", r->records, rec->line);
		return;
	}
	l = &r->lines[rec->line];
	l->records++;
	if (rec->seq <= l->seq)
		error(r, "line %u: seq %llu after %llu", rec->line, rec->seq, l->seq);
	else
		r->gaps += rec->seq - l->seq - 1;
	/* An edge lost to overflow breaks the alternation: only check without gaps. */
	want = l->edges == LIOTA_GPIOTS_EDGE_RISING    ? 1
	       : l->edges == LIOTA_GPIOTS_EDGE_FALLING ? 0
						       : !l->level;
	if (rec->seq == l->seq + 1 && rec->level != want)
		error(r, "line %u seq %llu: level %u does not follow %u", rec->line, rec->seq,
		      rec->level, l->level);
	if ((rec->edge == LIOTA_GPIOTS_EDGE_RISING) != (rec->level == 1))
		error(r, "line %u seq %llu: edge %u with level %u", rec->line, rec->seq, rec->edge,
		      rec->level);
	if (rec->mono_ns < r->last_mono || rec->mono_ns < r->start_mono)
		error(r, "line %u seq %llu: stamp %llu goes back", rec->line, rec->seq,
		      rec->mono_ns);
	/* CLOCK_REALTIME derived from the record is "now" within a minute. */
	if (llabs((int64_t)(rec->mono_ns + (unsigned long long)rec->realtime_offset_ns) -
		  (int64_t)now_ns(CLOCK_REALTIME)) > 60000000000LL)
		error(r, "line %u seq %llu: realtime offset %lld is off", rec->line, rec->seq,
		      rec->realtime_offset_ns);
	l->seq = rec->seq;
	l->level = rec->level;
	l->mono = rec->mono_ns;
	r->last_mono = rec->mono_ns;
}

/* Everything between tail and head, then tail released: the count consumed. */
static unsigned long long consume(struct reader *r)
{
	unsigned long long tail = r->hdr->tail, head, n = 0;

	head = __atomic_load_n(&r->hdr->head, __ATOMIC_ACQUIRE);
	for (; tail != head; tail++, n++)
		check(r, &r->data[tail & (r->hdr->capacity - 1)]);
	__atomic_store_n(&r->hdr->tail, tail, __ATOMIC_RELEASE);
	return n;
}

/* Lines the kernel released with their chip: detach them (it must allow it). */
static unsigned int detach_gone(struct reader *r)
{
	unsigned long long gone = __atomic_load_n(&r->hdr->gone, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	for (uint32_t id = 0; id < MAX_LINES; id++) {
		if (!(gone & (1ULL << id)))
			continue;
		printf("gone: line %u\n", id);
		if (ioctl(r->fd, LIOTA_GPIOTS_DETACH, &id) < 0)
			die("detaching a line whose chip went away");
		r->lines[id].attached = false;
		n++;
	}
	/*
	 * Only the lines just detached must be clear: the chip's other lines
	 * are released one notifier call after another, and may come later.
	 */
	if (__atomic_load_n(&r->hdr->gone, __ATOMIC_ACQUIRE) & gone)
		error(r, "the gone mask is %#llx after detaching %#llx", r->hdr->gone, gone);
	return n;
}

static bool any_attached(const struct reader *r)
{
	for (uint32_t id = 0; id < MAX_LINES; id++)
		if (r->lines[id].attached)
			return true;
	return false;
}

static int cmd_read(int argc, char **argv)
{
	struct liota_gpiots_setup s = { .data_pages = 1 };
	const char *stall = NULL, *ready = NULL;
	unsigned long long want = 0, deadline, seconds = 20;
	struct reader r;
	bool hold = false, progress = false;
	int c;

	memset(&r, 0, sizeof(r));
	while ((c = getopt(argc, argv, "p:w:t:n:T:s:r:HPv")) != -1) {
		switch (c) {
		case 'p':
			s.data_pages = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			s.watermark = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			s.timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			want = strtoull(optarg, NULL, 10);
			break;
		case 'T':
			seconds = strtoull(optarg, NULL, 10);
			break;
		case 's':
			stall = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'H':
			hold = true;
			break;
		case 'P':
			progress = true;
			break;
		case 'v':
			r.verbose = true;
			break;
		default:
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r.fd = open(LIOTA_GPIOTS_DEVICE, O_RDWR | O_CLOEXEC);
	if (r.fd < 0)
		die(LIOTA_GPIOTS_DEVICE);
	if (ioctl(r.fd, LIOTA_GPIOTS_SETUP, &s) < 0)
		die("LIOTA_GPIOTS_SETUP");
	r.map_size = (1 + (size_t)s.data_pages) * (size_t)sysconf(_SC_PAGESIZE);
	r.hdr = mmap(NULL, r.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	if (r.hdr == MAP_FAILED)
		die("mmap");
	if (r.hdr->magic != LIOTA_GPIOTS_MAGIC || r.hdr->version != LIOTA_GPIOTS_VERSION ||
	    r.hdr->record_size != sizeof(struct liota_gpiots_record)) {
		fprintf(stderr, "gpiots_reader: the ring's header is not version %d\n",
			LIOTA_GPIOTS_VERSION);
		return 2;
	}
	r.data = (struct liota_gpiots_record *)((char *)r.hdr + r.hdr->data_offset);
	printf("ring: %u records, watermark %u, timeout %u ms\n", r.hdr->capacity, s.watermark,
	       s.timeout_ms);
	r.start_mono = now_ns(CLOCK_MONOTONIC);
	for (int i = optind; i < argc; i++)
		attach(&r, argv[i]);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fputs("attached\n", f) < 0 || fclose(f))
			die(ready);
	}

	deadline = now_ns(CLOCK_MONOTONIC) + seconds * 1000000000u;
	while (!want || r.records < want) {
		unsigned long long now = now_ns(CLOCK_MONOTONIC);
		struct pollfd p = { .fd = r.fd, .events = POLLIN | POLLPRI };
		int n;

		if (now >= deadline) {
			printf("time is up after %llu s\n", seconds);
			break;
		}
		if (stall && access(stall, F_OK)) {
			usleep(10000); /* a reader that does not read */
			continue;
		}
		n = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
		if (n < 0)
			die("poll");
		if (n == 0)
			continue;
		r.wakeups++;
		if (consume(&r) && progress)
			printf("progress records=%llu\n", r.records);
		if (p.revents & POLLPRI) {
			detach_gone(&r);
			if (hold && !any_attached(&r))
				break;
		}
	}
	consume(&r);
	printf("summary records=%llu overflow=%llu gaps=%llu wakeups=%llu"
	       " errors=%llu\n",
	       r.records, r.hdr->overflow, r.gaps, r.wakeups, r.errors);
	for (uint32_t id = 0; id < MAX_LINES; id++) {
		if (r.lines[id].records || r.lines[id].attached)
			printf("line %u records=%llu last_seq=%llu\n", id, r.lines[id].records,
			       r.lines[id].seq);
	}
	if (r.gaps != r.hdr->overflow) {
		printf("ERROR: %llu sequence numbers missing, %llu edges overflowed\n", r.gaps,
		       r.hdr->overflow);
		r.errors++;
	}
	return r.errors ? 1 : 0;
}

static int cmd_toggle(int argc, char **argv)
{
	static const char *const pulls[] = { "pull-up\n", "pull-down\n" };
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	int fds[16], n = argc - 2;

	if (count <= 0 || n <= 0 || n > 16) {
		fprintf(stderr, "usage: gpiots_reader toggle COUNT PULL... (1 to 16 of them)\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		fds[i] = open(argv[i + 2], O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die(argv[i + 2]);
	}
	for (long k = 0; k < count; k++) {
		for (int i = 0; i < n; i++) {
			const char *p = pulls[k % 2];

			if (pwrite(fds[i], p, strlen(p), 0) < 0)
				die(argv[i + 2]);
		}
	}
	return 0;
}

static int failures;

/* expect WHAT ERRNO RESULT: the call returned -1 with ERRNO (0: succeeded). */
static void expect(const char *what, int want, int rc)
{
	int got = rc < 0 ? errno : 0;

	if (got == want) {
		printf("ok: %s -> %s\n", what, want ? strerror(want) : "success");
	} else {
		printf("FAIL: %s -> %s, expected %s\n", what, got ? strerror(got) : "success",
		       want ? strerror(want) : "success");
		failures++;
	}
}

static int attach_one(int fd, const char *chip, uint32_t offset, uint32_t edges)
{
	struct liota_gpiots_attach a;

	memset(&a, 0, sizeof(a));
	snprintf(a.chip, sizeof(a.chip), "%s", chip);
	a.offset = offset;
	a.edges = edges;
	return ioctl(fd, LIOTA_GPIOTS_ATTACH, &a);
}

static int setup(int fd, uint32_t pages, uint32_t mark, uint32_t timeout, uint32_t pad)
{
	struct liota_gpiots_setup s = { pages, mark, timeout, pad };

	return ioctl(fd, LIOTA_GPIOTS_SETUP, &s);
}

static int cmd_bad(int argc, char **argv)
{
	const char *chip = argc > 1 ? argv[1] : NULL;
	long page = sysconf(_SC_PAGESIZE);
	struct liota_gpiots_attach a;
	uint32_t id;
	int fd, fd2;
	void *m;

	if (!chip) {
		fprintf(stderr, "usage: gpiots_reader bad CHIP\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(LIOTA_GPIOTS_DEVICE, O_RDWR | O_CLOEXEC);
	fd2 = open(LIOTA_GPIOTS_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fd2 < 0)
		die(LIOTA_GPIOTS_DEVICE);
	expect("attach before setup", EINVAL, attach_one(fd, chip, 0, LIOTA_GPIOTS_EDGE_BOTH));
	m = mmap(NULL, (size_t)page * 2, PROT_READ, MAP_SHARED, fd, 0);
	expect("mmap before setup", EINVAL, m == MAP_FAILED ? -1 : 0);
	expect("unknown ioctl", ENOTTY, ioctl(fd, _IO(LIOTA_GPIOTS_IOC, 99)));
	expect("setup with a zero ring", EINVAL, setup(fd, 0, 0, 0, 0));
	expect("setup with 3 pages (not a power of two)", EINVAL, setup(fd, 3, 0, 0, 0));
	expect("setup with a huge ring", EINVAL,
	       setup(fd, LIOTA_GPIOTS_MAX_DATA_PAGES * 2, 0, 0, 0));
	expect("setup with 2^31 pages", EINVAL, setup(fd, 1u << 31, 0, 0, 0));
	expect("setup with a watermark above the capacity", EINVAL,
	       setup(fd, 1, (uint32_t)page / 32 + 1, 0, 0));
	expect("setup with a timeout above the limit", EINVAL,
	       setup(fd, 1, 0, LIOTA_GPIOTS_MAX_TIMEOUT_MS + 1, 0));
	expect("setup with padding set", EINVAL, setup(fd, 1, 0, 0, 1));
	expect("setup", 0, setup(fd, 1, 0, 0, 0));
	expect("setup again", EBUSY, setup(fd, 1, 0, 0, 0));
	m = mmap(NULL, (size_t)page * 3, PROT_READ, MAP_SHARED, fd, 0);
	expect("mmap larger than the ring", EINVAL, m == MAP_FAILED ? -1 : 0);
	m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	expect("mmap at an offset", EINVAL, m == MAP_FAILED ? -1 : 0);
	m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect("mmap of the ring", 0, m == MAP_FAILED ? -1 : 0);
	expect("attach to an unknown chip", ENODEV,
	       attach_one(fd, "no-such-chip", 0, LIOTA_GPIOTS_EDGE_BOTH));
	expect("attach to an empty chip label", EINVAL,
	       attach_one(fd, "", 0, LIOTA_GPIOTS_EDGE_BOTH));
	expect("attach past the chip's lines", EINVAL,
	       attach_one(fd, chip, 1000, LIOTA_GPIOTS_EDGE_BOTH));
	expect("attach with no edge", EINVAL, attach_one(fd, chip, 0, 0));
	expect("attach with an unknown edge bit", EINVAL, attach_one(fd, chip, 0, 4));
	memset(&a, 'x', sizeof(a));
	a.offset = 0;
	a.edges = LIOTA_GPIOTS_EDGE_BOTH;
	a.line = a.level = 0;
	a.padding = 0;
	expect("attach with a chip label not NUL-terminated", EINVAL,
	       ioctl(fd, LIOTA_GPIOTS_ATTACH, &a));
	expect("attach from a bad address", EFAULT, ioctl(fd, LIOTA_GPIOTS_ATTACH, (void *)8));
	expect("attach", 0, attach_one(fd, chip, 0, LIOTA_GPIOTS_EDGE_BOTH));
	expect("attach the same line again", EBUSY,
	       attach_one(fd, chip, 0, LIOTA_GPIOTS_EDGE_BOTH));
	expect("setup of a second file", 0, setup(fd2, 1, 0, 0, 0));
	expect("attach the same line from another file", EBUSY,
	       attach_one(fd2, chip, 0, LIOTA_GPIOTS_EDGE_RISING));
	id = LIOTA_GPIOTS_MAX_LINES;
	expect("detach a line number out of range", EINVAL, ioctl(fd, LIOTA_GPIOTS_DETACH, &id));
	id = 5;
	expect("detach a line not attached", EINVAL, ioctl(fd, LIOTA_GPIOTS_DETACH, &id));
	id = 0;
	expect("detach", 0, ioctl(fd, LIOTA_GPIOTS_DETACH, &id));
	expect("detach it again", EINVAL, ioctl(fd, LIOTA_GPIOTS_DETACH, &id));
	expect("attach the freed line from the other file", 0,
	       attach_one(fd2, chip, 0, LIOTA_GPIOTS_EDGE_RISING));
	close(fd2);
	expect("attach the line the closed file released", 0,
	       attach_one(fd, chip, 0, LIOTA_GPIOTS_EDGE_BOTH));
	close(fd); /* with a line attached and the ring still mapped */
	printf("bad arguments: %d not refused as expected\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "read"))
		return cmd_read(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "toggle"))
		return cmd_toggle(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "bad"))
		return cmd_bad(argc - 1, argv + 1);
	fprintf(stderr, "usage: gpiots_reader read|toggle|bad ... (see the source's head)\n");
	return 2;
}
