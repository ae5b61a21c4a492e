/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Carbon encoding, lt_fmt_double(), the stream transport (against real
 * loopback listeners and files) and the Graphite DCC.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "intree.h"
#include "core/config.h"
#include "dcc/carbon.h"
#include "dcc/dccs.h"
#include "model.h"
#include "transport/endpoint.h"
#include "transport/stream.h"
#include "util.h"

#define MS 1000000ll

/* ---- helpers ------------------------------------------------------------- */

static char *esc(const char *name)
{
	static char out[256];
	size_t pos = 0;

	ck_assert_int_eq(carbon_escape_node(out, sizeof(out), &pos, name), 0);
	ck_assert_uint_eq(pos, strlen(out));
	return out;
}

static const char *fmt(double v)
{
	static char buf[64];
	int n = lt_fmt_double(buf, sizeof(buf), v);

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, strlen(buf));
	return buf;
}

static const char *line(const char *path, double v, uint64_t ts_ns)
{
	static char buf[256];
	struct lt_sample s = { .ts_ns = ts_ns, .value = v };
	int n = carbon_line(buf, sizeof(buf) - 1, path, strlen(path), &s);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return buf;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Significant digits of an lt_fmt_double() string. */
static int sig_digits(const char *s)
{
	const char *e = strchr(s, 'e');
	size_t len = e ? (size_t)(e - s) : strlen(s);
	int n = 0, started = 0, zeros = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			continue;
		if (s[i] != '0')
			started = 1;
		if (!started)
			continue;
		n++;
		zeros = s[i] == '0' ? zeros + 1 : 0;
	}
	/* "1200" has two significant digits; "1.200" cannot be produced. */
	return n - zeros > 0 ? n - zeros : 1;
}

/*
 * Check v survives the round trip bit for bit and no shorter form does.
 * Plain ifs: a passing ck_assert costs a message to the parent process.
 */
static void check_round_trip(double v, int check_shortest)
{
	char buf[64], shorter[64];
	int n = lt_fmt_double(buf, sizeof(buf), v);
	double back;

	if (n <= 0 || (size_t)n != strlen(buf))
		ck_abort_msg("%.17g: lt_fmt_double returned %d", v, n);
	back = strtod(buf, NULL);
	if (memcmp(&back, &v, sizeof(v)))
		ck_abort_msg("%.17g printed as %s reads back as %.17g", v, buf, back);
	if (check_shortest) {
		int k = sig_digits(buf);

		if (k > 1) {
			snprintf(shorter, sizeof(shorter), "%.*e", k - 2, v);
			if (strtod(shorter, NULL) == v)
				ck_abort_msg("%.17g: %s is shorter than %s", v, shorter, buf);
		}
	}
}

static int64_t now_ns(void)
{
	return (int64_t)lt_mono_ns();
}

/* A listener on 127.0.0.1:*port (0: any free port, written back). */
static int listener(uint16_t *port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port) };
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (rcvbuf)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nobody listens on (a listener's, closed again). */
static uint16_t closed_port(void)
{
	uint16_t port = 0;

	close(listener(&port, 0));
	return port;
}

static void tcp_conf(struct lt_stream_conf *c, uint16_t port)
{
	char p[8];

	snprintf(p, sizeof(p), "%u", port);
	stream_conf_defaults(c);
	ck_assert_int_eq(stream_conf_option(c, "host", "127.0.0.1", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(c, "port", p, NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(c, "reconnect_min", "20ms", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(c, "reconnect_max", "100ms", NULL, 0), 0);
}

/*
 * Drive the stream for up to @ms: its fd and timer, plus an optional
 * listener to accept from (*peer) and the accepted peer to read into @got.
 * Stops early when @until_len bytes arrived or @until_state is reached.
 */
struct pump {
	int lfd;   /* listener, -1: none */
	int peer;  /* accepted connection, -1: none yet */
	char *got; /* what the peer received */
	size_t len, cap;
};

static void pump(struct lt_stream *s, struct lt_dcc_stats *st, struct pump *p, int ms,
		 size_t until_len, int until_state)
{
	int64_t end = now_ns() + ms * MS;

	for (int iter = 0; iter < 1000000; iter++) {
		struct pollfd pfd[3];
		int64_t dl = end, now = now_ns();
		int n = 1;

		if (until_len && p && p->len >= until_len)
			return;
		if (until_state >= 0 && (int)lt_count_get(&st->state) == until_state)
			return;
		if (now >= end)
			return;
		stream_poll(s, &pfd[0], &dl);
		pfd[1].fd = p ? p->lfd : -1;
		pfd[1].events = POLLIN;
		pfd[2].fd = p ? p->peer : -1;
		pfd[2].events = POLLIN;
		n = poll(pfd, 3, dl > now ? (int)((dl - now + MS - 1) / MS) : 0);
		if (n < 0)
			ck_abort_msg("poll: %s", strerror(errno));
		if (p && pfd[1].fd >= 0 && (pfd[1].revents & POLLIN) && p->peer < 0)
			p->peer = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (p && pfd[2].fd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP))) {
			if (p->cap - p->len < 65536) {
				p->cap = p->cap * 2 + 65536;
				p->got = realloc(p->got, p->cap);
				if (!p->got)
					ck_abort_msg("out of memory");
			}
			ssize_t r = read(p->peer, p->got + p->len, p->cap - p->len);
			if (r > 0)
				p->len += (size_t)r;
		}
		stream_dispatch(s, pfd[0].revents, now_ns());
	}
}

static void pump_free(struct pump *p)
{
	if (p->peer >= 0)
		close(p->peer);
	if (p->lfd >= 0)
		close(p->lfd);
	free(p->got);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static char *tmp_path(void)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_carbon.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return path;
}

/* ---- escaping and paths ------------------------------------------------ */

START_TEST(escape_keeps_letters_digits_dash_underscore)
{
	ck_assert_str_eq(esc("Boiler_2-a"), "Boiler_2-a");
}
END_TEST

START_TEST(escape_turns_dots_spaces_slashes_into_underscores)
{
	ck_assert_str_eq(esc("a.b c/d"), "a_b_c_d");
	ck_assert_str_eq(esc("tab\there\nnl"), "tab_here_nl");
	ck_assert_str_eq(esc("x:y=z,w;\"'"), "x_y_z_w___");
}
END_TEST

START_TEST(escape_turns_each_non_ascii_byte_into_underscore)
{
	ck_assert_str_eq(esc("temp\302\260C"), "temp__C"); /* "temp°C" in UTF-8 */
	ck_assert_str_eq(esc("\xff"), "_");
}
END_TEST

START_TEST(escape_makes_empty_node_an_underscore)
{
	ck_assert_str_eq(esc(""), "_");
}
END_TEST

START_TEST(escape_appends_at_pos_and_reports_enospc)
{
	char out[8] = "ab.";
	size_t pos = 3;

	ck_assert_int_eq(carbon_escape_node(out, sizeof(out), &pos, "c d"), 0);
	ck_assert_str_eq(out, "ab.c_d");
	ck_assert_uint_eq(pos, 6);
	/* "xy" needs 2 + NUL, only 2 left: refused, pos unchanged */
	ck_assert_int_eq(carbon_escape_node(out, sizeof(out), &pos, "xy"), -ENOSPC);
	ck_assert_uint_eq(pos, 6);
	ck_assert_int_eq(carbon_escape_node(out, sizeof(out), &pos, "x"), 0);
	ck_assert_str_eq(out, "ab.c_dx");
}
END_TEST

START_TEST(path_without_prefix_has_no_leading_dot)
{
	char *p = carbon_path(NULL, "gw 1", "boiler", "temp");

	ck_assert_str_eq(p, "gw_1.boiler.temp");
	free(p);
	p = carbon_path("", "gw.1", NULL, NULL);
	ck_assert_str_eq(p, "gw_1");
	free(p);
}
END_TEST

START_TEST(path_prefix_keeps_its_dots_and_escapes_its_nodes)
{
	char *p = carbon_path("prod.site a/b", "gw1", "boiler", "temp");

	ck_assert_str_eq(p, "prod.site_a_b.gw1.boiler.temp");
	free(p);
}
END_TEST

START_TEST(path_prefix_drops_empty_nodes)
{
	char *p = carbon_path("..a..b.", "gw1", "dev", "m");

	ck_assert_str_eq(p, "a.b.gw1.dev.m");
	free(p);
	p = carbon_path("...", "gw1", NULL, NULL);
	ck_assert_str_eq(p, "gw1");
	free(p);
}
END_TEST

START_TEST(path_escapes_empty_and_dotted_names)
{
	char *p = carbon_path("x", "", "a.b", "");

	ck_assert_str_eq(p, "x._.a_b._");
	free(p);
}
END_TEST

/* ---- lines ------------------------------------------------------------------ */

START_TEST(line_encodes_integers)
{
	ck_assert_str_eq(line("a.b", 21, 1700000000000000000ull), "a.b 21 1700000000\n");
	ck_assert_str_eq(line("a.b", 0, 1700000000000000000ull), "a.b 0 1700000000\n");
	ck_assert_str_eq(line("a", 9007199254740991.0, 1), "a 9007199254740991 0\n");
}
END_TEST

START_TEST(line_encodes_negatives)
{
	ck_assert_str_eq(line("a", -42, 2000000000ull), "a -42 2\n");
	ck_assert_str_eq(line("a", -3.25, 2000000000ull), "a -3.25 2\n");
	ck_assert_str_eq(line("a", -0.0, 2000000000ull), "a -0 2\n");
}
END_TEST

START_TEST(line_encodes_fractions_shortest)
{
	ck_assert_str_eq(line("p.gw.boiler.temp", 21.5, 1700000000000000000ull),
			 "p.gw.boiler.temp 21.5 1700000000\n");
	ck_assert_str_eq(line("a", 0.1, 0), "a 0.1 0\n");
	ck_assert_str_eq(line("a", 0.1 + 0.2, 0), "a 0.30000000000000004 0\n");
	ck_assert_str_eq(line("a", 1.0 / 3, 0), "a 0.3333333333333333 0\n");
}
END_TEST

START_TEST(line_encodes_large_and_small_exponents)
{
	ck_assert_str_eq(line("a", 1e21, 0), "a 1e+21 0\n");
	ck_assert_str_eq(line("a", 1.5e300, 0), "a 1.5e+300 0\n");
	ck_assert_str_eq(line("a", 1e-7, 0), "a 1e-7 0\n");
	ck_assert_str_eq(line("a", -2.5e-10, 0), "a -2.5e-10 0\n");
	ck_assert_str_eq(line("a", 5e-324, 0), "a 5e-324 0\n");
	ck_assert_str_eq(line("a", 1.7976931348623157e308, 0), "a 1.7976931348623157e+308 0\n");
}
END_TEST

START_TEST(line_timestamp_is_floor_of_ns)
{
	ck_assert_str_eq(line("a", 1, 1700000000999999999ull), "a 1 1700000000\n");
	ck_assert_str_eq(line("a", 1, 1700000001000000000ull), "a 1 1700000001\n");
	ck_assert_str_eq(line("a", 1, 999999999ull), "a 1 0\n");
	ck_assert_str_eq(line("a", 1, UINT64_MAX), "a 1 18446744073\n");
}
END_TEST

START_TEST(line_refuses_nan_and_infinity_with_edom)
{
	char buf[128];
	struct lt_sample s = { .ts_ns = 1, .value = NAN };

	ck_assert_int_eq(carbon_line(buf, sizeof(buf), "a", 1, &s), -EDOM);
	s.value = INFINITY;
	ck_assert_int_eq(carbon_line(buf, sizeof(buf), "a", 1, &s), -EDOM);
	s.value = -INFINITY;
	ck_assert_int_eq(carbon_line(buf, sizeof(buf), "a", 1, &s), -EDOM);
	ck_assert_int_eq(lt_fmt_double(buf, sizeof(buf), NAN), -EDOM);
}
END_TEST

START_TEST(line_reports_enospc_when_buffer_too_small)
{
	char buf[64];
	struct lt_sample s = { .ts_ns = 1700000000000000000ull, .value = 21.5 };
	const char *want = "a.b 21.5 1700000000\n";
	size_t len = strlen(want);

	for (size_t l = 0; l < len; l++)
		ck_assert_int_eq(carbon_line(buf, l, "a.b", 3, &s), -ENOSPC);
	ck_assert_int_eq(carbon_line(buf, len, "a.b", 3, &s), (int)len);
	ck_assert_mem_eq(buf, want, len);
}
END_TEST

/* ---- lt_fmt_double ------------------------------------------------------------ */

START_TEST(fmt_double_is_shortest_on_known_values)
{
	ck_assert_str_eq(fmt(0.1), "0.1");
	ck_assert_str_eq(fmt(1.5), "1.5");
	ck_assert_str_eq(fmt(100), "100");
	ck_assert_str_eq(fmt(1e-7), "1e-7");
	ck_assert_str_eq(fmt(123456789012345680000.0), "123456789012345680000");
	ck_assert_str_eq(fmt(21.5), "21.5");
	ck_assert_str_eq(fmt(0.000001), "0.000001");
	ck_assert_str_eq(fmt(1e15), "1000000000000000");
	ck_assert_str_eq(fmt(4503599627370495.5), "4503599627370495.5");
	ck_assert_str_eq(fmt(1.0000000000000002), "1.0000000000000002");
	ck_assert_str_eq(fmt(2.2250738585072014e-308), "2.2250738585072014e-308");
	ck_assert_str_eq(fmt(0.0), "0");
	ck_assert_str_eq(fmt(-0.0), "-0");
	ck_assert_str_eq(fmt(-1234.5678), "-1234.5678");
}
END_TEST

START_TEST(fmt_double_round_trips_random_bit_patterns)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	int tested = 0;

	for (int i = 0; i < 200000; i++) {
		uint64_t bits = xorshift(&x);
		double v;

		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		check_round_trip(v, i % 4 == 0);
		tested++;
	}
	ck_assert_int_ge(tested, 100000);
}
END_TEST

/* Sensor-like values: few decimals, and the results of scaling raw readings. */
START_TEST(fmt_double_round_trips_and_is_shortest_on_decimal_values)
{
	uint64_t x = 12345;

	for (int i = 0; i < 100000; i++) {
		uint64_t r = xorshift(&x);
		double v = (double)(int64_t)(r >> 24) / pow(10, (double)(r % 12));

		check_round_trip(v, 1);
		check_round_trip(v * 0.001, 1);
		check_round_trip((double)(r >> 11) / 9007199254740992.0 * 100, 1);
	}
}
END_TEST

START_TEST(fmt_double_reports_enospc_and_needs_room_for_nul)
{
	char buf[8];

	ck_assert_int_eq(lt_fmt_double(buf, 4, 21.5), -ENOSPC);
	ck_assert_int_eq(lt_fmt_double(buf, 5, 21.5), 4);
	ck_assert_str_eq(buf, "21.5");
	ck_assert_int_eq(lt_fmt_double(buf, 2, 12), -ENOSPC);
	ck_assert_int_eq(lt_fmt_double(buf, 0, 1), -ENOSPC);
}
END_TEST

/* ---- stream configuration ------------------------------------------------------ */

START_TEST(stream_conf_parses_and_checks)
{
	struct lt_stream_conf c;
	char err[128] = "";

	stream_conf_defaults(&c);
	ck_assert_int_eq(c.kind, LT_STREAM_TCP);
	ck_assert_uint_eq(c.queue_bytes, 4u << 20);
	ck_assert_int_eq(stream_conf_check(&c, err, sizeof(err)), -EINVAL); /* no host */
	ck_assert_int_eq(stream_conf_option(&c, "host", "localhost", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_option(&c, "port", "2003", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_check(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_option(&c, "queue_size", "8k", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.queue_bytes, 8192);
	ck_assert_int_lt(stream_conf_option(&c, "queue_size", "1k", err, sizeof(err)), 0);
	ck_assert_int_lt(stream_conf_option(&c, "queue_size", "2G", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_option(&c, "transport", "udp", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(stream_conf_option(&c, "colour", "blue", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_min", "2s", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "1s", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(stream_conf_option(&c, "transport", "file", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "1m", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.backoff_max_ns, 60 * LT_NSEC_PER_SEC);
	ck_assert_int_eq(stream_conf_check(&c, err, sizeof(err)), -EINVAL); /* no path */
	ck_assert_int_eq(stream_conf_option(&c, "path", "/tmp/x", err, sizeof(err)), 0);
	ck_assert_int_eq(stream_conf_check(&c, err, sizeof(err)), 0);
	stream_conf_clear(&c);
}
END_TEST

/* ---- TCP ------------------------------------------------------------------------ */

START_TEST(stream_tcp_delivers_lines_exactly)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump p = { .peer = -1 };
	uint16_t port = 0;
	const char *a = "a.b 1 1700000000\n", *b = "a.b 2.5 1700000001\nc.d -3 1700000002\n";
	char want[256];

	p.lfd = listener(&port, 0);
	tcp_conf(&c, port);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_write(s, a, strlen(a)), 0); /* queued before connecting */
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	pump(s, &st, &p, 2000, 0, LT_DCC_UP);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_UP);
	ck_assert_int_eq(stream_write(s, b, strlen(b)), 0);
	snprintf(want, sizeof(want), "%s%s", a, b);
	pump(s, &st, &p, 2000, strlen(want), -1);
	ck_assert_uint_eq(p.len, strlen(want));
	ck_assert_mem_eq(p.got, want, p.len);
	ck_assert_uint_eq(lt_count_get(&st.sent), 3);
	ck_assert_uint_eq(lt_count_get(&st.bytes), strlen(want));
	ck_assert_uint_eq(lt_count_get(&st.queued), 0);
	ck_assert_uint_eq(lt_count_get(&st.reconnects), 0);
	ck_assert_int_eq(stream_flush(s, now_ns() + 1000 * MS), 0);
	stream_free(s);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_IDLE);
	stream_conf_clear(&c);
	pump_free(&p);
}
END_TEST

START_TEST(stream_queue_bound_refuses_whole_writes)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump p = { .peer = -1 };
	uint16_t port = closed_port();
	char rec[100], *all = calloc(1, 8192);
	size_t total = 0;
	int accepted = 0, refused = 0;

	tcp_conf(&c, port);
	ck_assert_int_eq(stream_conf_option(&c, "queue_size", "4k", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(rec, sizeof(rec), "rec.%d %d 1700000000\n", i, i * 7);
		int r = stream_write(s, rec, (size_t)n);

		if (r == 0) {
			ck_assert_int_eq(refused, 0); /* no room comes back by itself */
			memcpy(all + total, rec, (size_t)n);
			total += (size_t)n;
			accepted++;
		} else {
			ck_assert_int_eq(r, -ENOBUFS);
			refused++;
		}
		ck_assert_uint_eq(stream_queued(s), total);
		ck_assert_uint_eq(lt_count_get(&st.queued), total);
	}
	ck_assert_int_gt(refused, 0);
	ck_assert_uint_eq(lt_count_get(&st.pending), (uint64_t)accepted);
	ck_assert_uint_le(total, 4096);
	ck_assert_uint_gt(total, 4096 - 30);
	/* the exact remaining room still fits, one byte more does not */
	ck_assert_uint_ge(4096 - total, 1);
	memset(rec, 'x', sizeof(rec));
	rec[4096 - total - 1] = '\n';
	ck_assert_int_eq(stream_write(s, rec, 4096 - total + 1), -ENOBUFS);
	ck_assert_int_eq(stream_write(s, rec, 4096 - total), 0);
	memcpy(all + total, rec, 4096 - total);
	total = 4096;
	ck_assert_int_eq(stream_write(s, "\n", 1), -ENOBUFS);

	/* a listener appears: exactly the accepted records arrive */
	p.lfd = listener(&port, 0);
	pump(s, &st, &p, 3000, total, -1);
	ck_assert_uint_eq(p.len, total);
	ck_assert_mem_eq(p.got, all, total);
	ck_assert_uint_eq(lt_count_get(&st.sent), (uint64_t)accepted + 1);
	ck_assert_uint_eq(lt_count_get(&st.pending), 0);
	ck_assert_uint_eq(lt_count_get(&st.reconnects), 0); /* first connection */
	/* Lines still queued when the stream goes are counted as dropped. */
	ck_assert_int_eq(stream_write(s, "a 1 1\nb 2 2\n", 12), 0);
	ck_assert_uint_eq(lt_count_get(&st.pending), 2);
	stream_free(s);
	ck_assert_uint_eq(lt_count_get(&st.dropped), 2);
	ck_assert_uint_eq(lt_count_get(&st.pending), 0);
	stream_conf_clear(&c);
	pump_free(&p);
	free(all);
}
END_TEST

/* Is @buf (@len) made of whole lines "seq.N ..." with N consecutive, ending at @last? */
static void check_whole_lines(const char *buf, size_t len, long last, long *first)
{
	long expect = -1;
	size_t off = 0;

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(buf[len - 1], '\n');
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		char *end;
		long n;

		if (strncmp(buf + off, "seq.", 4))
			ck_abort_msg("half line at offset %zu: %.40s", off, buf + off);
		n = strtol(buf + off + 4, &end, 10);
		if (*end != ' ' || !nl)
			ck_abort_msg("bad line at offset %zu: %.40s", off, buf + off);
		if (expect < 0)
			*first = n;
		else if (n != expect)
			ck_abort_msg("line %ld where %ld was expected", n, expect);
		expect = n + 1;
		off = (size_t)(nl - buf) + 1;
	}
	ck_assert_int_eq(expect - 1, last);
}

START_TEST(stream_reconnects_after_peer_close_and_resends_cut_record)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump p = { .peer = -1 };
	uint16_t port = 0;
	char rec[128];
	long seq = 0, first = -1;
	int64_t end;

	/* A peer with a tiny receive buffer that never reads: the kernel
	 * buffers fill up and a send stops in the middle of a record. */
	p.lfd = listener(&port, 4096);
	tcp_conf(&c, port);
	ck_assert_int_eq(stream_conf_option(&c, "queue_size", "64M", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	pump(s, &st, &p, 2000, 0, LT_DCC_UP);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_UP);
	if (p.peer < 0) /* pump() may have accepted it already */
		p.peer = accept4(p.lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(p.peer, 0);
	end = now_ns() + 5000 * MS;
	while (stream_queued(s) < (1u << 20) && now_ns() < end) {
		for (int i = 0; i < 1000; i++) {
			int n = snprintf(rec, sizeof(rec), "seq.%ld %ld.%03ld 1700000000\n", seq,
					 seq % 977, seq % 1000);

			if (stream_write(s, rec, (size_t)n))
				ck_abort_msg("stream_write refused record %ld", seq);
			seq++;
		}
	}
	ck_assert_uint_ge(stream_queued(s), 1u << 20);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_UP);

	/* The peer goes away without reading (RST), and its listener too. */
	close(p.peer);
	close(p.lfd);
	p.peer = p.lfd = -1;
	pump(s, &st, NULL, 2000, 0, LT_DCC_BACKOFF);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
	ck_assert_uint_ge(lt_count_get(&st.errors), 1);

	/* More records while disconnected, then a new listener on the same port. */
	for (int i = 0; i < 100; i++) {
		int n = snprintf(rec, sizeof(rec), "seq.%ld 1 1700000001\n", seq++);

		ck_assert_int_eq(stream_write(s, rec, (size_t)n), 0);
	}
	size_t pending = stream_queued(s);
	uint64_t sent_before = lt_count_get(&st.sent);

	p.lfd = listener(&port, 0);
	pump(s, &st, &p, 10000, pending, -1);
	ck_assert_uint_eq(p.len, pending);
	check_whole_lines(p.got, p.len, seq - 1, &first);
	/* nothing counted twice: the lines sent before plus those after */
	ck_assert_uint_eq(sent_before + (uint64_t)(seq - first), lt_count_get(&st.sent));
	ck_assert_uint_eq((uint64_t)first, sent_before);
	ck_assert_uint_eq(lt_count_get(&st.reconnects), 1);
	ck_assert_uint_eq(stream_queued(s), 0);
	stream_free(s);
	stream_conf_clear(&c);
	pump_free(&p);
}
END_TEST

/*
 * A peer that read every line and then went away (carbon stopping) may not
 * have stored the last ones: after the connection ends, the re-send
 * window (a quarter of queue_size) goes out again to the next peer, whole
 * lines only, counted in resent and no longer in sent.
 */
START_TEST(stream_resends_the_window_after_the_connection_ends)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump p = { .peer = -1 }, q = { .peer = -1 };
	uint16_t port = 0;
	char rec[64];
	long seq = 0, first = -1;
	size_t total = 0;

	p.lfd = listener(&port, 0);
	tcp_conf(&c, port);
	ck_assert_int_eq(stream_conf_option(&c, "queue_size", "8k", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	pump(s, &st, &p, 2000, 0, LT_DCC_UP);
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 50; i++, seq++) {
			int n = snprintf(rec, sizeof(rec), "seq.%ld 1 1700000000\n", seq);

			ck_assert_int_eq(stream_write(s, rec, (size_t)n), 0);
			total += (size_t)n;
		}
		pump(s, &st, &p, 2000, total, -1);
	}
	ck_assert_uint_eq(p.len, total);
	ck_assert_uint_eq(lt_count_get(&st.sent), 300);

	/* The peer leaves after reading everything, and its listener too. */
	close(p.peer);
	close(p.lfd);
	p.peer = p.lfd = -1;
	pump(s, &st, NULL, 2000, 0, LT_DCC_BACKOFF);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
	uint64_t resent = lt_count_get(&st.resent);
	ck_assert_uint_gt(resent, 0);
	ck_assert_uint_le(stream_queued(s), 8192 / 4);
	ck_assert_uint_eq(lt_count_get(&st.sent) + lt_count_get(&st.pending), 300);
	ck_assert_uint_eq(lt_count_get(&st.pending), resent);

	/* The next peer gets the window again: the last lines, whole and in order. */
	q.lfd = listener(&port, 0);
	size_t window = stream_queued(s);
	pump(s, &st, &q, 10000, window, -1);
	ck_assert_uint_eq(q.len, window);
	check_whole_lines(q.got, q.len, seq - 1, &first);
	ck_assert_uint_eq((uint64_t)(seq - first), resent);
	ck_assert_uint_eq(lt_count_get(&st.sent), 300);
	ck_assert_uint_eq(lt_count_get(&st.pending), 0);
	stream_free(s);
	stream_conf_clear(&c);
	pump_free(&p);
	pump_free(&q);
}
END_TEST

/* ---- endpoints and failover -------------------------------------------- */

START_TEST(endpoints_parse_hosts_ports_and_ipv6)
{
	struct lt_endpoint *ep;
	char err[256];
	int n = lt_endpoints_parse(" a.example , 10.0.0.2:2004,[::1]:5,::1", "2003", &ep, err,
				   sizeof(err));

	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(ep[0].host, "a.example");
	ck_assert_str_eq(ep[0].port, "2003");
	ck_assert_str_eq(ep[0].name, "a.example:2003");
	ck_assert_str_eq(ep[1].name, "10.0.0.2:2004");
	ck_assert_str_eq(ep[2].host, "::1");
	ck_assert_str_eq(ep[2].name, "[::1]:5");
	ck_assert_str_eq(ep[3].host, "::1");
	ck_assert_str_eq(ep[3].name, "[::1]:2003");
	lt_endpoints_free(ep, (unsigned)n);
}
END_TEST

START_TEST(endpoints_refuse_bad_lists_naming_the_endpoint)
{
	static const char *const bad[] = { "a,,b",   "a,", "[::1", "[]:1", "[::1]2003",
					   "[::1]:", "a:", ":1",   "a b",  "1,2,3,4,5,6,7,8,9",
					   "[h]:]:" };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_msg(lt_endpoints_parse(bad[i], "2003", NULL, err, sizeof(err)) == -EINVAL,
			      "\"%s\" accepted", bad[i]);
		ck_assert_msg(!strncmp(err, "endpoint ", 9) || !strncmp(err, "more than 8", 11),
			      "\"%s\": %s", bad[i], err);
	}
	ck_assert_int_eq(lt_endpoints_parse("a", NULL, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "endpoint 1 (\"a\") has no port");
	ck_assert_int_eq(lt_endpoints_parse("a:1, b", NULL, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "endpoint 2 (\"b\") has no port");
	/* The one parser's host rule holds for streams too (fuzz_endpoints found it for MQTT). */
	ck_assert_int_eq(
		lt_endpoints_parse("a.e::1]b.example:1884", "2003", NULL, err, sizeof(err)),
		-EINVAL);
	ck_assert_str_eq(err, "endpoint 1 (\"a.e::1]b.example:1884\") is not a host name");
	ck_assert_int_eq(lt_endpoints_parse("a\x01b", "2003", NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

/* MQTT's rules of the same parser: numeric ports in plain digits, none needed, 16 at most. */
START_TEST(endpoints_numeric_ports_and_optional_port)
{
	const unsigned f = LT_ENDPOINT_NUMERIC_PORT | LT_ENDPOINT_PORT_OPTIONAL;
	static const char *const bad[] = { "a:0", "a:65536", "a:1k", "a:+5", "a:0x50", "[::1]:-1" };
	struct lt_endpoint *ep;
	char err[256];
	int n = lt_endpoints_split("a.example, [::1]:1885,b:65535", NULL, 16, f, &ep, err,
				   sizeof(err));

	ck_assert_int_eq(n, 3);
	ck_assert_ptr_null(ep[0].port);
	ck_assert_str_eq(ep[0].name, "a.example");
	ck_assert_str_eq(ep[1].port, "1885");
	ck_assert_str_eq(ep[1].name, "[::1]:1885");
	ck_assert_str_eq(ep[2].port, "65535");
	lt_endpoints_free(ep, (unsigned)n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(lt_endpoints_split(bad[i], NULL, 16, f, NULL, err, sizeof(err)) ==
				      -EINVAL,
			      "\"%s\" accepted", bad[i]);
		ck_assert_msg(strstr(err, "is not 1..65535"), "\"%s\": %s", bad[i], err);
	}
	/* Without the flag a port is any service name (getaddrinfo() reads it). */
	ck_assert_int_eq(lt_endpoints_parse("a:carbon", NULL, NULL, err, sizeof(err)), 1);
}
END_TEST

/* Drive @s with two peers until @cond holds or @ms pass. */
static void pump2(struct lt_stream *s, struct pump *a, struct pump *b, int ms,
		  int (*cond)(struct lt_dcc_stats *, struct pump *, struct pump *),
		  struct lt_dcc_stats *st)
{
	int64_t end = now_ns() + ms * MS;

	for (int iter = 0; iter < 1000000 && now_ns() < end && !cond(st, a, b); iter++) {
		struct pollfd pfd[5];
		struct pump *ps[2] = { a, b };
		int64_t dl = end, now = now_ns();

		stream_poll(s, &pfd[0], &dl);
		for (int k = 0; k < 2; k++) {
			pfd[1 + 2 * k] = (struct pollfd){ .fd = ps[k]->lfd, .events = POLLIN };
			pfd[2 + 2 * k] = (struct pollfd){ .fd = ps[k]->peer, .events = POLLIN };
		}
		if (dl > now + 20 * MS)
			dl = now + 20 * MS;
		ck_assert_int_ge(poll(pfd, 5, dl > now ? (int)((dl - now + MS - 1) / MS) : 0), 0);
		for (int k = 0; k < 2; k++) {
			struct pump *p = ps[k];

			if (p->lfd >= 0 && (pfd[1 + 2 * k].revents & POLLIN) && p->peer < 0)
				p->peer = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (p->peer >= 0 && (pfd[2 + 2 * k].revents & (POLLIN | POLLHUP))) {
				if (p->cap - p->len < 65536) {
					p->cap = p->cap * 2 + 65536;
					p->got = realloc(p->got, p->cap);
					ck_assert_ptr_nonnull(p->got);
				}
				ssize_t r = read(p->peer, p->got + p->len, p->cap - p->len);

				if (r > 0)
					p->len += (size_t)r;
				else if (r == 0) {
					close(p->peer);
					p->peer = -1;
				}
			}
		}
		stream_dispatch(s, pfd[0].revents, now_ns());
	}
}

static int on_second(struct lt_dcc_stats *st, struct pump *a, struct pump *b)
{
	(void)a;
	return lt_count_get(&st->state) == LT_DCC_UP && lt_count_get(&st->endpoint) == 1 &&
	       b->peer >= 0;
}

static int back_on_first(struct lt_dcc_stats *st, struct pump *a, struct pump *b)
{
	(void)b;
	return lt_count_get(&st->state) == LT_DCC_UP && lt_count_get(&st->endpoint) == 0 &&
	       a->peer >= 0 && lt_count_get(&st->pending) == 0;
}

static int never(struct lt_dcc_stats *st, struct pump *a, struct pump *b)
{
	(void)st, (void)a, (void)b;
	return 0;
}

static long write_seq(struct lt_stream *s, long seq, int n)
{
	char rec[64];

	for (int i = 0; i < n; i++, seq++) {
		int len = snprintf(rec, sizeof(rec), "seq.%ld 1 1700000000\n", seq);

		ck_assert_int_eq(stream_write(s, rec, (size_t)len), 0);
	}
	return seq;
}

/* Each of 0..last exactly once across the two peers' bytes, whole lines only. */
static void check_union(const struct pump *a, const struct pump *b, long last)
{
	char *seen = calloc((size_t)last + 1, 1);
	const struct pump *ps[2] = { a, b };

	ck_assert_ptr_nonnull(seen);
	for (int k = 0; k < 2; k++) {
		size_t off = 0;

		while (off < ps[k]->len) {
			const char *l = ps[k]->got + off, *nl = memchr(l, '\n', ps[k]->len - off);
			char *end;
			long n;

			ck_assert_msg(nl && !strncmp(l, "seq.", 4), "half line at %zu of peer %d",
				      off, k);
			n = strtol(l + 4, &end, 10);
			ck_assert_msg(*end == ' ' && n >= 0 && n <= last, "bad line %.30s", l);
			ck_assert_msg(!seen[n], "line %ld twice", n);
			seen[n] = 1;
			off = (size_t)(nl - ps[k]->got) + 1;
		}
	}
	for (long n = 0; n <= last; n++)
		ck_assert_msg(seen[n], "line %ld lost", n);
	free(seen);
}

/*
 * host = PREFERRED, SECOND: the preferred one refuses, the stream moves to
 * the second at once (no back-off), probes the preferred one, and when it
 * listens again moves back at a record boundary. Each line arrives exactly
 * once across the two (a clean switch re-sends nothing), and both moves
 * are counted.
 */
START_TEST(stream_fails_over_to_the_next_endpoint_and_comes_back)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump a = { .lfd = -1, .peer = -1 }, b = { .lfd = -1, .peer = -1 };
	uint16_t pa = closed_port(), pb = 0;
	char hosts[64];
	long seq = 0;

	b.lfd = listener(&pb, 0);
	tcp_conf(&c, pb);
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%u, 127.0.0.1", pa);
	ck_assert_int_eq(stream_conf_option(&c, "host", hosts, NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_min", "50ms", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "200ms", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	seq = write_seq(s, seq, 100);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	pump2(s, &a, &b, 3000, on_second, &st);
	ck_assert_msg(on_second(&st, &a, &b), "not on the second endpoint");
	ck_assert_uint_eq(lt_count_get(&st.failovers), 1);
	/* the refusal was not followed by a back-off delay: one error, no reconnect */
	ck_assert_uint_eq(lt_count_get(&st.errors), 1);
	for (int i = 0; i < 10; i++) {
		seq = write_seq(s, seq, 100);
		pump2(s, &a, &b, 30, on_second, &st);
	}
	/* The preferred one is back: the stream returns to it within the back-off. */
	a.lfd = listener(&pa, 0);
	for (int i = 0; i < 100 && !back_on_first(&st, &a, &b); i++) {
		seq = write_seq(s, seq, 50);
		pump2(s, &a, &b, 20, back_on_first, &st);
	}
	ck_assert_msg(back_on_first(&st, &a, &b), "not back on the preferred endpoint");
	seq = write_seq(s, seq, 100);
	ck_assert_int_eq(stream_flush(s, now_ns() + 2000 * MS), 0);
	ck_assert_uint_eq(lt_count_get(&st.failovers), 2);
	ck_assert_uint_eq(lt_count_get(&st.resent), 0);
	ck_assert_uint_eq(lt_count_get(&st.sent), (uint64_t)seq);
	/* Read what both peers got; the second one sees the end of its connection. */
	pump2(s, &a, &b, 300, never, &st);
	ck_assert_int_lt(b.peer, 0);
	ck_assert_int_gt(a.len, 0);
	ck_assert_int_gt(b.len, 0);
	check_union(&a, &b, seq - 1);
	stream_free(s);
	stream_conf_clear(&c);
	pump_free(&a);
	pump_free(&b);
}
END_TEST

/*
 * Both endpoints refuse: one round of attempts, then one back-off delay
 * (never a delay between the endpoints of a round), then the preferred
 * one first again.
 */
START_TEST(stream_backs_off_once_per_round_of_endpoints)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	char hosts[64];
	struct pollfd pfd;

	tcp_conf(&c, closed_port());
	snprintf(hosts, sizeof(hosts), "127.0.0.1, 127.0.0.1:%u", closed_port());
	ck_assert_int_eq(stream_conf_option(&c, "host", hosts, NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_min", "1s", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "2s", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	for (int i = 0; i < 100 && lt_count_get(&st.state) == LT_DCC_CONNECTING; i++) {
		int64_t dl = INT64_MAX;

		stream_poll(s, &pfd, &dl);
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		stream_dispatch(s, pfd.revents, now_ns());
	}
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
	ck_assert_uint_eq(lt_count_get(&st.errors), 2);
	ck_assert_uint_eq(lt_count_get(&st.endpoint), 0);
	ck_assert_uint_eq(lt_count_get(&st.failovers), 0);
	stream_free(s);
	stream_conf_clear(&c);
}
END_TEST

/*
 * The window covers what TCP had not had acknowledged. A peer with a small
 * receive buffer reads a little, then stops, then resets the connection:
 * the bytes still in the sender's socket (SIOCOUTQ) never arrive. Every
 * line the peer did not read must be queued again: the first line of the
 * queue after the loss is at most the one after the last line read.
 */
START_TEST(stream_resend_window_covers_siocoutq)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	struct pump p = { .peer = -1 };
	struct lt_stream_resend rs;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint16_t port = 0;
	long seq = 0, last_read = -1;
	char *q;
	size_t qlen;
	uint64_t lines;

	p.lfd = listener(&port, 8192);
	tcp_conf(&c, port);
	ck_assert_int_eq(stream_conf_option(&c, "queue_size", "4M", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	pump(s, &st, &p, 2000, 0, LT_DCC_UP);
	if (p.peer < 0)
		p.peer = accept4(p.lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(p.peer, 0);
	/* Some lines are read, then the peer stops reading while more are written. */
	seq = write_seq(s, seq, 2000);
	pump(s, &st, &p, 2000, 2000 * 10, -1);
	for (int i = 0; i < 20; i++) {
		seq = write_seq(s, seq, 2000);
		pump(s, &st, NULL, 10, 0, -1);
	}
	ck_assert_uint_gt(lt_count_get(&st.queued), 0);
	/* what the peer read: its last whole line */
	for (size_t i = p.len; i > 0; i--) {
		if (p.got[i - 1] == '\n' && i >= 2) {
			size_t j = i - 1;

			while (j > 0 && p.got[j - 1] != '\n')
				j--;
			last_read = strtol(p.got + j + 4, NULL, 10);
			break;
		}
	}
	ck_assert_int_ge(last_read, 0);
	/* The peer resets: what it had not read is gone. */
	ck_assert_int_eq(setsockopt(p.peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(p.peer);
	close(p.lfd);
	p.peer = p.lfd = -1;
	pump(s, &st, NULL, 2000, 0, LT_DCC_BACKOFF);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
	stream_last_resend(s, &rs);
	ck_assert_uint_gt(rs.unacked, 0);
	ck_assert_uint_eq(rs.uncovered, 0);
	ck_assert_uint_ge(rs.bytes + 64, rs.unacked); /* + the cut record, re-sent from rec */
	ck_assert_uint_eq(rs.lines, lt_count_get(&st.resent));
	qlen = stream_queued(s);
	q = malloc(qlen);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(stream_take(s, q, qlen, &lines), qlen);
	ck_assert_int_eq(strncmp(q, "seq.", 4), 0);
	long first = strtol(q + 4, NULL, 10);

	ck_assert_msg(first <= last_read + 1,
		      "lines %ld..%ld lost: read up to %ld, re-sent from %ld", last_read + 1,
		      first - 1, last_read, first);
	free(q);
	stream_free(s);
	stream_conf_clear(&c);
	pump_free(&p);
}
END_TEST

START_TEST(stream_refused_connection_backs_off_with_growing_delays)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	const int64_t min = 20 * MS, max = 100 * MS;
	int64_t longest_late = 0;
	const int attempts = 12;

	tcp_conf(&c, closed_port());
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	int64_t t0 = now_ns();
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	int64_t at = t0;

	for (int k = 0; k < attempts; k++) {
		struct pollfd pfd;
		int64_t dl = INT64_MAX;

		/* a connect in progress: wait for its refusal */
		for (int i = 0; i < 100 && lt_count_get(&st.state) == LT_DCC_CONNECTING; i++) {
			dl = INT64_MAX;
			stream_poll(s, &pfd, &dl);
			ck_assert_int_ge(poll(&pfd, 1, 100), 0);
			at = now_ns();
			stream_dispatch(s, pfd.revents, at);
		}
		ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
		dl = INT64_MAX;
		stream_poll(s, &pfd, &dl);
		ck_assert_int_eq(pfd.fd, -1);
		ck_assert_int_lt(dl, INT64_MAX);

		int64_t delay = dl - at, cap = min << k < max ? min << k : max;
		int64_t slack = k == 0 ? now_ns() - t0 : 0; /* start() took its own time */

		ck_assert_msg(delay >= min / 2 - slack && delay <= cap + slack,
			      "attempt %d: delay %lld not in [%lld, %lld]", k, (long long)delay,
			      (long long)(min / 2), (long long)cap);
		if (k >= 4 && delay > longest_late)
			longest_late = delay;
		ck_assert_uint_eq(lt_count_get(&st.errors), (uint64_t)k + 1);
		/* skip the wait: pretend the timer fired */
		at = dl;
		stream_dispatch(s, 0, at);
	}
	/* with the cap at max, 8 draws all below min are (1/5)^8 unlikely */
	ck_assert_int_gt(longest_late, min);
	ck_assert_uint_eq(lt_count_get(&st.reconnects), 0);
	ck_assert_int_eq(stream_flush(s, now_ns() + 50 * MS), 0); /* nothing queued */
	ck_assert_int_eq(stream_write(s, "a 1 1\n", 6), 0);
	ck_assert_int_eq(stream_flush(s, now_ns() + 50 * MS), -ETIMEDOUT);
	stream_free(s);
	stream_conf_clear(&c);
}
END_TEST

START_TEST(stream_flush_times_out_and_delivers_when_peer_is_back)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	uint16_t port = closed_port();
	const char *a = "x 1 2\n";
	char buf[16];
	int lfd, cfd;

	tcp_conf(&c, port);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_min", "1s", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "10s", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	ck_assert_int_eq(stream_write(s, a, strlen(a)), 0);
	int64_t t = now_ns();
	ck_assert_int_eq(stream_flush(s, t + 100 * MS), -ETIMEDOUT);
	ck_assert_int_lt(now_ns() - t, 1000 * MS);
	/* flush does not sit out the 1s back-off: it tries again at once */
	lfd = listener(&port, 0);
	t = now_ns();
	ck_assert_int_eq(stream_flush(s, t + 2000 * MS), 0);
	ck_assert_int_lt(now_ns() - t, 500 * MS);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(read(cfd, buf, sizeof(buf)), (ssize_t)strlen(a));
	ck_assert_mem_eq(buf, a, strlen(a));
	close(cfd);
	close(lfd);
	stream_free(s);
	stream_conf_clear(&c);
}
END_TEST

/* ---- file ----------------------------------------------------------------------- */

START_TEST(stream_file_sink_appends_exact_lines)
{
	struct lt_dcc_stats st = { 0 };
	struct lt_stream_conf c;
	struct lt_stream *s;
	const char *path = tmp_path();
	const char *a = "a 1 1\n", *b = "b 2.5 2\nc 3 3\n";
	struct stat sb;
	size_t len;
	char *got;
	FILE *f = fopen(path, "w");

	fputs("old\n", f);
	fclose(f);
	stream_conf_defaults(&c);
	ck_assert_int_eq(stream_conf_option(&c, "transport", "file", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "path", path, NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_UP);
	ck_assert_int_eq(stream_write(s, a, strlen(a)), 0);
	ck_assert_int_eq(stream_write(s, b, strlen(b)), 0);
	/* Written at the next dispatch, which stream_poll() asks for at once. */
	ck_assert_uint_eq(stream_queued(s), strlen(a) + strlen(b));
	{
		struct pollfd pfd;
		int64_t dl = INT64_MAX;

		stream_poll(s, &pfd, &dl);
		ck_assert_int_eq(pfd.fd, -1);
		ck_assert_int_eq(dl, 0);
		stream_dispatch(s, 0, now_ns());
		ck_assert_uint_eq(stream_queued(s), 0);
		dl = INT64_MAX;
		stream_poll(s, &pfd, &dl);
		ck_assert_int_eq(dl, INT64_MAX); /* nothing left: no timer */
	}
	ck_assert_int_eq(stream_write(s, a, strlen(a)), 0);
	ck_assert_int_eq(stream_flush(s, now_ns() + 100 * MS), 0);
	ck_assert_uint_eq(stream_queued(s), 0);
	ck_assert_uint_eq(lt_count_get(&st.sent), 4);
	stream_free(s);
	got = read_file(path, &len);
	ck_assert_str_eq(got, "old\na 1 1\nb 2.5 2\nc 3 3\na 1 1\n");
	free(got);
	unlink(path);

	/* a new file is created 0640 (under the umask) */
	ck_assert_int_eq(stream_new(&c, NULL, &st, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0137, 0);
	stream_free(s);
	unlink(path);
	stream_conf_clear(&c);
}
END_TEST

START_TEST(stream_file_start_fails_with_reason)
{
	struct lt_stream_conf c;
	struct lt_stream *s;
	char err[256] = "";

	stream_conf_defaults(&c);
	ck_assert_int_eq(stream_conf_option(&c, "transport", "file", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "path", "/nonexistent/dir/x", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, NULL, &s), 0);
	ck_assert_int_eq(stream_start(s, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x"));
	stream_free(s);
	stream_conf_clear(&c);
}
END_TEST

/* ---- the Graphite DCC --------------------------------------------------------- */

static void reg_entity(struct lt_dcc *d, enum lt_entity_kind kind, const char *name,
		       const struct lt_reg *parent, struct lt_reg *reg)
{
	struct lt_entity e = { .kind = kind, .name = name, .type = "x" };

	ck_assert_int_eq(d->drv->register_entity(d, &e, parent, reg), 0);
}

static void unreg(struct lt_dcc *d, struct lt_reg *reg)
{
	d->drv->unregister(d, reg);
	free(reg->id);
}

/*
 * Free a DCC built on the stack: the driver's part, then the endpoint
 * names graphite_check() gave the core (which the model frees in liotad).
 */
static void dcc_free(struct lt_dcc *d)
{
	d->drv->free(d);
	lt_dcc_set_endpoints(d, NULL, 0);
}

START_TEST(dcc_registry_finds_graphite)
{
	/* A package (static here), no longer in the built-in table. */
	ck_assert_ptr_eq(pkg_dcc_driver("graphite"), &lt_dcc_graphite);
	ck_assert_ptr_null(pkg_dcc_driver("mqtt-nope"));
}
END_TEST

START_TEST(graphite_publishes_exact_lines_to_file)
{
	struct lt_dcc d = { .name = "g", .drv = &lt_dcc_graphite };
	struct lt_reg edge = { 0 }, dev = { 0 }, met = { 0 };
	const char *path = tmp_path();
	struct lt_sample s[3] = {
		{ .ts_ns = 1700000000000000000ull, .value = 21.5 },
		{ .ts_ns = 1700000000500000000ull, .value = NAN },
		{ .ts_ns = 1700000001999999999ull, .value = -3 },
	};
	char err[128] = "";
	size_t len;
	char *got;

	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->option(&d, "prefix", "prefix", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "transport", "file", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "path", path, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "nope", "1", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->start(&d, err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw 1", NULL, &edge);
	reg_entity(&d, LT_ENTITY_DEVICE, "boiler", &edge, &dev);
	reg_entity(&d, LT_ENTITY_METRIC, "temp", &dev, &met);
	ck_assert_str_eq(edge.id, "prefix.gw_1");
	ck_assert_str_eq(dev.id, "prefix.gw_1.boiler");
	ck_assert_str_eq(met.id, "prefix.gw_1.boiler.temp");

	ck_assert_int_eq(d.drv->publish(&d, &met, s, 3), 2);
	ck_assert_int_eq(d.drv->publish(&d, &met, s, 1), 1);
	ck_assert_int_eq(d.drv->flush(&d, now_ns() + 100 * MS), 0);
	ck_assert_uint_eq(lt_count_get(&d.stats.samples_in), 4);
	ck_assert_uint_eq(lt_count_get(&d.stats.dropped), 1);
	ck_assert_uint_eq(lt_count_get(&d.stats.sent), 3);
	d.drv->stop(&d);
	got = read_file(path, &len);
	ck_assert_str_eq(got, "prefix.gw_1.boiler.temp 21.5 1700000000\n"
			      "prefix.gw_1.boiler.temp -3 1700000001\n"
			      "prefix.gw_1.boiler.temp 21.5 1700000000\n");
	free(got);
	unreg(&d, &met);
	unreg(&d, &dev);
	unreg(&d, &edge);
	dcc_free(&d);
	unlink(path);
}
END_TEST

START_TEST(graphite_defaults_to_port_2003_and_needs_host)
{
	struct lt_dcc d = { .name = "g", .drv = &lt_dcc_graphite };
	struct lt_reg edge = { 0 };
	char err[128] = "";

	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "host"));
	ck_assert_int_eq(d.drv->option(&d, "host", "127.0.0.1", err, sizeof(err)), 0);
	/* passes without "port": the port has a default */
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), 0);
	/* without a prefix the path starts at the edge */
	reg_entity(&d, LT_ENTITY_EDGE, "edge.one", NULL, &edge);
	ck_assert_str_eq(edge.id, "edge_one");
	unreg(&d, &edge);
	dcc_free(&d);
}
END_TEST

START_TEST(graphite_counts_drops_when_queue_is_full)
{
	struct lt_dcc d = { .name = "g", .drv = &lt_dcc_graphite };
	struct lt_reg edge = { 0 }, met = { 0 };
	struct lt_sample s[10];
	char err[128] = "", port[8];
	int queued = 0, calls = 0;

	snprintf(port, sizeof(port), "%u", closed_port());
	for (int i = 0; i < 10; i++)
		s[i] = (struct lt_sample){ .ts_ns = 1700000000000000000ull, .value = i };
	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->option(&d, "host", "127.0.0.1", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "port", port, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "queue_size", "4k", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "spool", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->start(&d, err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw", NULL, &edge);
	reg_entity(&d, LT_ENTITY_METRIC, "m", &edge, &met);
	for (calls = 0; calls < 50; calls++)
		queued += d.drv->publish(&d, &met, s, 10);
	/* "gw.m N 1700000000\n" is 18 bytes: 22 whole batches of 10 fit in 4 KiB */
	ck_assert_int_eq(queued, 220);
	ck_assert_uint_eq(lt_count_get(&d.stats.dropped), 500 - 220);
	ck_assert_uint_eq(lt_count_get(&d.stats.samples_in), 500);
	ck_assert_uint_eq(lt_count_get(&d.stats.queued), 220 * 18);
	ck_assert_int_eq(d.drv->flush(&d, now_ns() + 20 * MS), -ETIMEDOUT);
	d.drv->stop(&d);
	unreg(&d, &met);
	unreg(&d, &edge);
	dcc_free(&d);
}
END_TEST

START_TEST(graphite_spool_options_are_checked)
{
	struct lt_dcc d = { .name = "g", .drv = &lt_dcc_graphite };
	char err[128] = "";

	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->option(&d, "spool", "maybe", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "spool must be auto, yes or no, not \"maybe\"");
	ck_assert_int_eq(d.drv->option(&d, "spool", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "spool_size", "1k", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(d.drv->option(&d, "spool_fsync", "soon", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(d.drv->option(&d, "spool_max_age", "1h", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "spool", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "transport", "file", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "path", "/tmp/x", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "spool = yes needs transport = tcp");
	dcc_free(&d);
}
END_TEST

/* One Graphite DCC instance with spool = yes towards a closed port, in @state. */
static void spool_dcc(struct lt_dcc *d, struct lt_reg *edge, struct lt_reg *met)
{
	char err[256] = "", port[8];

	snprintf(port, sizeof(port), "%u", closed_port());
	*d = (struct lt_dcc){ .name = "g", .drv = &lt_dcc_graphite };
	ck_assert_int_eq(d->drv->init(d), 0);
	ck_assert_int_eq(d->drv->option(d, "host", "127.0.0.1", err, sizeof(err)), 0);
	ck_assert_int_eq(d->drv->option(d, "port", port, err, sizeof(err)), 0);
	ck_assert_int_eq(d->drv->option(d, "spool", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(d->drv->check(d, err, sizeof(err)), 0);
	ck_assert_msg(d->drv->start(d, err, sizeof(err)) == 0, "%s", err);
	reg_entity(d, LT_ENTITY_EDGE, "gw", NULL, edge);
	reg_entity(d, LT_ENTITY_METRIC, "m", edge, met);
}

static void spool_dcc_free(struct lt_dcc *d, struct lt_reg *edge, struct lt_reg *met)
{
	unreg(d, met);
	unreg(d, edge);
	dcc_free(d);
}

/* One Graphite DCC towards a closed port with spool = @mode; start's result. */
static int auto_dcc(struct lt_dcc *d, const char *mode, char *err, size_t errlen)
{
	char port[8];

	snprintf(port, sizeof(port), "%u", closed_port());
	*d = (struct lt_dcc){ .name = "g", .drv = &lt_dcc_graphite };
	ck_assert_int_eq(d->drv->init(d), 0);
	ck_assert_int_eq(d->drv->option(d, "host", "127.0.0.1", err, errlen), 0);
	ck_assert_int_eq(d->drv->option(d, "port", port, err, errlen), 0);
	if (mode)
		ck_assert_int_eq(d->drv->option(d, "spool", mode, err, errlen), 0);
	ck_assert_int_eq(d->drv->check(d, err, errlen), 0);
	return d->drv->start(d, err, errlen);
}

/*
 * spool = auto (the default): a spool when the state folder is usable,
 * none (the DCC still starts) when it is not; spool = yes: an error then.
 */
START_TEST(graphite_spool_auto_follows_the_state_folder)
{
	struct lt_dcc d;
	struct lt_reg edge = { 0 }, met = { 0 };
	struct lt_sample smp = { .ts_ns = 1700000000000000000ull, .value = 1 };
	char state[64] = "/tmp/lt-graphite-auto-XXXXXX", notdir[128], cmd[160], err[512];

	ck_assert_ptr_nonnull(mkdtemp(state));
	sdk_set_state_dir(state);
	ck_assert_int_eq(auto_dcc(&d, NULL, err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw", NULL, &edge);
	reg_entity(&d, LT_ENTITY_METRIC, "m", &edge, &met);
	ck_assert_int_eq(d.drv->publish(&d, &met, &smp, 1), 1);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 1);
	d.drv->stop(&d);
	spool_dcc_free(&d, &edge, &met);

	/* The state folder is a file: auto runs without a spool, yes refuses. */
	snprintf(notdir, sizeof(notdir), "%s/file", state);
	ck_assert_int_eq(close(open(notdir, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	sdk_set_state_dir(notdir);
	ck_assert_int_eq(auto_dcc(&d, "auto", err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw", NULL, &edge);
	reg_entity(&d, LT_ENTITY_METRIC, "m", &edge, &met);
	ck_assert_int_eq(d.drv->publish(&d, &met, &smp, 1), 1);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 0);
	ck_assert_uint_eq(lt_count_get(&d.stats.pending), 1);
	d.drv->stop(&d);
	spool_dcc_free(&d, &edge, &met);
	ck_assert_int_lt(auto_dcc(&d, "yes", err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "state folder"));
	dcc_free(&d);

	sdk_set_state_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/*
 * While carbon is away, batches go to the spool (neither dropped nor
 * pending); a stop keeps them, and the next instance recovers them: the
 * counting identity in + recovered = sent + dropped + pending + spooled
 * holds in both.
 */
START_TEST(graphite_spools_while_carbon_is_away_and_recovers_at_start)
{
	struct lt_dcc d;
	struct lt_reg edge = { 0 }, met = { 0 };
	struct lt_sample s[10];
	char state[64] = "/tmp/lt-graphite-spool-XXXXXX", cmd[128];

	ck_assert_ptr_nonnull(mkdtemp(state));
	sdk_set_state_dir(state);
	for (int i = 0; i < 10; i++)
		s[i] = (struct lt_sample){ .ts_ns = 1700000000000000000ull, .value = i };
	spool_dcc(&d, &edge, &met);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(d.drv->publish(&d, &met, s, 10), 10);
	ck_assert_uint_eq(lt_count_get(&d.stats.samples_in), 500);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 500);
	/* A publisher round's batches are staged, then appended as one record when it ends (poll).
	 */
	ck_assert_uint_eq(lt_count_get(&d.stats.spool_batches), 0);
	struct pollfd pfd = { .fd = -1 };
	int64_t deadline = INT64_MAX;
	d.drv->poll(&d, &pfd, &deadline);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 500);
	ck_assert_uint_eq(lt_count_get(&d.stats.spool_batches), 1);
	ck_assert_uint_gt(lt_count_get(&d.stats.spool_bytes), 500 * 18);
	ck_assert_uint_eq(lt_count_get(&d.stats.dropped), 0);
	ck_assert_uint_eq(lt_count_get(&d.stats.pending), 0);
	ck_assert_int_eq(d.drv->flush(&d, now_ns() + 20 * MS), 0);
	d.drv->stop(&d);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 500);
	ck_assert_uint_eq(lt_count_get(&d.stats.dropped), 0);
	spool_dcc_free(&d, &edge, &met);

	spool_dcc(&d, &edge, &met);
	ck_assert_uint_eq(lt_count_get(&d.stats.recovered), 500);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 500);
	ck_assert_int_eq(d.drv->publish(&d, &met, s, 10), 10);
	ck_assert_uint_eq(lt_count_get(&d.stats.spooled), 510);
	d.drv->stop(&d);
	spool_dcc_free(&d, &edge, &met);
	sdk_set_state_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *carbon_suite(void)
{
	Suite *s = suite_create("carbon");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_test(tc, escape_keeps_letters_digits_dash_underscore);
	tcase_add_test(tc, escape_turns_dots_spaces_slashes_into_underscores);
	tcase_add_test(tc, escape_turns_each_non_ascii_byte_into_underscore);
	tcase_add_test(tc, escape_makes_empty_node_an_underscore);
	tcase_add_test(tc, escape_appends_at_pos_and_reports_enospc);
	tcase_add_test(tc, path_without_prefix_has_no_leading_dot);
	tcase_add_test(tc, path_prefix_keeps_its_dots_and_escapes_its_nodes);
	tcase_add_test(tc, path_prefix_drops_empty_nodes);
	tcase_add_test(tc, path_escapes_empty_and_dotted_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("line");
	tcase_add_test(tc, line_encodes_integers);
	tcase_add_test(tc, line_encodes_negatives);
	tcase_add_test(tc, line_encodes_fractions_shortest);
	tcase_add_test(tc, line_encodes_large_and_small_exponents);
	tcase_add_test(tc, line_timestamp_is_floor_of_ns);
	tcase_add_test(tc, line_refuses_nan_and_infinity_with_edom);
	tcase_add_test(tc, line_reports_enospc_when_buffer_too_small);
	suite_add_tcase(s, tc);

	tc = tcase_create("fmt_double");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fmt_double_is_shortest_on_known_values);
	tcase_add_test(tc, fmt_double_round_trips_random_bit_patterns);
	tcase_add_test(tc, fmt_double_round_trips_and_is_shortest_on_decimal_values);
	tcase_add_test(tc, fmt_double_reports_enospc_and_needs_room_for_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, stream_conf_parses_and_checks);
	tcase_add_test(tc, stream_tcp_delivers_lines_exactly);
	tcase_add_test(tc, stream_queue_bound_refuses_whole_writes);
	tcase_add_test(tc, stream_reconnects_after_peer_close_and_resends_cut_record);
	tcase_add_test(tc, stream_resends_the_window_after_the_connection_ends);
	tcase_add_test(tc, stream_refused_connection_backs_off_with_growing_delays);
	tcase_add_test(tc, stream_flush_times_out_and_delivers_when_peer_is_back);
	tcase_add_test(tc, stream_file_sink_appends_exact_lines);
	tcase_add_test(tc, stream_file_start_fails_with_reason);
	tcase_add_test(tc, endpoints_parse_hosts_ports_and_ipv6);
	tcase_add_test(tc, endpoints_refuse_bad_lists_naming_the_endpoint);
	tcase_add_test(tc, endpoints_numeric_ports_and_optional_port);
	tcase_add_test(tc, stream_fails_over_to_the_next_endpoint_and_comes_back);
	tcase_add_test(tc, stream_backs_off_once_per_round_of_endpoints);
	tcase_add_test(tc, stream_resend_window_covers_siocoutq);
	suite_add_tcase(s, tc);

	tc = tcase_create("graphite");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, dcc_registry_finds_graphite);
	tcase_add_test(tc, graphite_publishes_exact_lines_to_file);
	tcase_add_test(tc, graphite_defaults_to_port_2003_and_needs_host);
	tcase_add_test(tc, graphite_counts_drops_when_queue_is_full);
	tcase_add_test(tc, graphite_spool_options_are_checked);
	tcase_add_test(tc, graphite_spools_while_carbon_is_away_and_recovers_at_start);
	tcase_add_test(tc, graphite_spool_auto_follows_the_state_folder);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(carbon_suite)
