/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the one reconnect back-off (src/transport/backoff.c): the
 * full-jitter bounds and spread, the cap, the floor, the reset after a
 * connection that lasted, and one warning per outage and reason, also as
 * the stream transport logs it against a real refusing port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "transport/backoff.h"
#include "transport/stream.h"
#include "unit.h"
#include "util.h"

#define MSEC  1000000ull
#define DRAWS 4000

/* Every draw at each level lies in [min / 2, min(max, min * 2^level)] and fills that range. */
START_TEST(full_jitter_stays_in_bounds_and_spreads)
{
	struct lt_backoff b;
	const uint64_t min = 100 * MSEC, max = 30000 * MSEC;

	lt_backoff_init(&b, min, max);
	for (unsigned level = 0; level < 12; level++) {
		uint64_t cap = min << level < max ? min << level : max;
		unsigned quarter[4] = { 0 };
		uint64_t lo = UINT64_MAX, hi = 0;

		for (int i = 0; i < DRAWS; i++) {
			uint64_t d = lt_backoff_delay(&b, level);

			ck_assert_uint_ge(d, min / 2);
			ck_assert_uint_le(d, cap);
			quarter[d * 4 / (cap + 1)]++;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* Uniform: each quarter near DRAWS / 4 (1000; 5 sigma is ~140). The floor
		 * moves min / 2 of the first level's lower half into its first quarter. */
		for (int q = level ? 0 : 2; q < 4; q++)
			ck_assert_msg(quarter[q] > DRAWS / 4 - 200 && quarter[q] < DRAWS / 4 + 200,
				      "level %u: quarter %d holds %u of %d draws", level, q,
				      quarter[q], DRAWS);
		ck_assert_uint_le(lo, level ? cap / 50 + min / 2 : min / 2);
		ck_assert_uint_ge(hi, cap - cap / 50);
	}
}
END_TEST

/* The exponent stops at max, also for levels whose min * 2^level overflows. */
START_TEST(the_delay_is_capped_at_max)
{
	struct lt_backoff b;
	uint64_t hi = 0;

	lt_backoff_init(&b, 100 * MSEC, 2000 * MSEC);
	for (unsigned level = 5; level < 200; level++)
		for (int i = 0; i < 50; i++) {
			uint64_t d = lt_backoff_delay(&b, level);

			ck_assert_uint_le(d, 2000 * MSEC);
			hi = d > hi ? d : hi;
		}
	ck_assert_uint_gt(hi, 1900 * MSEC);
	/* lt_backoff_next() climbs one level per failure and stays bounded. */
	for (int i = 0; i < 100; i++)
		ck_assert_uint_le(lt_backoff_next(&b), 2000 * MSEC);
	ck_assert_uint_eq(b.level, 64);
	/* The random source over a span wider than 32 bits. */
	hi = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t r = lt_random_upto((1ull << 40) - 1);

		ck_assert_uint_lt(r, 1ull << 40);
		hi = r > hi ? r : hi;
	}
	ck_assert_uint_gt(hi, 1ull << 39);
	ck_assert_uint_eq(lt_random_upto(0), 0);
}
END_TEST

/* A refusing peer answers at once: no draw is below min / 2, so no spin. */
START_TEST(the_floor_is_half_the_minimum)
{
	struct lt_backoff b;
	unsigned at_floor = 0;

	lt_backoff_init(&b, 1000 * MSEC, 1000 * MSEC);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = lt_backoff_delay(&b, 0);

		ck_assert_uint_ge(d, 500 * MSEC);
		ck_assert_uint_le(d, 1000 * MSEC);
		at_floor += d == 500 * MSEC;
	}
	/* Half the draws fall below the floor and are raised to it. */
	ck_assert_msg(at_floor > DRAWS / 2 - 200 && at_floor < DRAWS / 2 + 200, "%u at the floor",
		      at_floor);
}
END_TEST

/* The level starts again only after a connection that lasted max. */
START_TEST(the_level_resets_after_a_connection_that_lasted)
{
	struct lt_backoff b;
	char suffix[80];
	int64_t t = 1000 * (int64_t)MSEC;

	lt_backoff_init(&b, 100 * MSEC, 1000 * MSEC);
	for (int i = 0; i < 5; i++) {
		lt_backoff_failed(&b, t, NULL, "refused");
		lt_backoff_next(&b);
	}
	ck_assert_uint_eq(b.level, 5);
	/* Up for less than max, then lost: the level goes on (a flapping peer). */
	lt_backoff_up(&b, t += 100 * MSEC, suffix, sizeof(suffix));
	lt_backoff_failed(&b, t += 999 * MSEC, NULL, "closed");
	ck_assert_uint_eq(b.level, 5);
	lt_backoff_next(&b);
	ck_assert_uint_eq(b.level, 6);
	/* Up for max: the next outage starts from min again. */
	lt_backoff_up(&b, t += 100 * MSEC, suffix, sizeof(suffix));
	lt_backoff_failed(&b, t += 1000 * MSEC, NULL, "closed");
	ck_assert_uint_eq(b.level, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_le(lt_backoff_delay(&b, b.level), 100 * MSEC);
}
END_TEST

/* The first failure of an outage and each new reason at warning, repeats at debug. */
START_TEST(one_warning_per_outage_and_reason)
{
	struct lt_backoff b;
	char suffix[80] = "x";
	int64_t t = 5000 * (int64_t)MSEC;

	lt_backoff_init(&b, 100 * MSEC, 1000 * MSEC);
	ck_assert_int_eq(lt_backoff_failed(&b, t, NULL, "Connection refused"), LOG_WARNING);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 1, NULL, "Connection refused"), LOG_DEBUG);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 2, NULL, "Connection refused"), LOG_DEBUG);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 3, NULL, "certificate expired"), LOG_WARNING);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 4, NULL, "Connection refused"), LOG_DEBUG);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 5, NULL, "certificate expired"), LOG_DEBUG);
	/* Each endpoint of a list is news once per reason. */
	ck_assert_int_eq(lt_backoff_failed(&b, t + 6, "b:2003", "Connection refused"), LOG_WARNING);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 7, "b:2003", "Connection refused"), LOG_DEBUG);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 8, "a:2003", "Connection refused"), LOG_WARNING);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 9, "a:2003", "Connection refused"), LOG_DEBUG);
	/* The recovery: notice, with the outage's length and failures. */
	ck_assert_int_eq(lt_backoff_up(&b, t + 2500 * (int64_t)MSEC, suffix, sizeof(suffix)),
			 LOG_NOTICE);
	ck_assert_str_eq(suffix, " after an outage of 2.5 s (10 failures)");
	/* A connection without an outage before it is not news. */
	lt_backoff_init(&b, 100 * MSEC, 1000 * MSEC);
	ck_assert_int_eq(lt_backoff_up(&b, t, suffix, sizeof(suffix)), LOG_INFO);
	ck_assert_str_eq(suffix, "");
	/* A new outage warns again of a reason the last one had. */
	ck_assert_int_eq(lt_backoff_failed(&b, t + 10, NULL, "Connection refused"), LOG_WARNING);
	ck_assert_int_eq(lt_backoff_failed(&b, t + 11, NULL, "Connection refused"), LOG_DEBUG);
	ck_assert_int_eq(lt_backoff_up(&b, t + 100 * (int64_t)MSEC, suffix, sizeof(suffix)),
			 LOG_NOTICE);
	ck_assert_str_eq(suffix, " after an outage of 0.1 s (2 failures)");
}
END_TEST

/* ---- the stream transport's log against a real refusing port --------------- */

static int tcp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port) };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Run @s for @ms (bounded: one poll of at most 10 ms per turn), or until @until. */
static void run(struct lt_stream *s, struct lt_dcc_stats *st, int ms, int state_until)
{
	int64_t end = (int64_t)lt_mono_ns() + ms * (int64_t)MSEC;

	for (int turn = 0; turn < ms + 10; turn++) {
		struct pollfd pfd = { .fd = -1 };
		int64_t deadline = end, now = (int64_t)lt_mono_ns();

		if (now >= end ||
		    (state_until >= 0 && lt_count_get(&st->state) == (uint64_t)state_until))
			return;
		stream_poll(s, &pfd, &deadline);
		int wait = deadline <= now ? 0 : (int)((deadline - now) / (int64_t)MSEC) + 1;
		pfd.revents = 0;
		if (pfd.fd >= 0 || wait)
			poll(&pfd, pfd.fd >= 0, wait > 10 ? 10 : wait);
		stream_dispatch(s, pfd.fd >= 0 ? pfd.revents : 0, (int64_t)lt_mono_ns());
	}
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static uint16_t log_port;
static struct lt_dcc_stats log_stats;

/* A refusing peer for 400 ms, then a listener: what the stream logs at info and above. */
static void stream_outage(void)
{
	struct lt_stream_conf c;
	struct lt_stream *s;
	char port[8];
	int lfd;

	log_init("liotad");
	log_set_level(LOG_INFO);
	log_set_rate_limit(1000, 1000000000ull); /* the rule under test, not the rate limit */
	lfd = tcp_listener(&log_port);
	close(lfd); /* the port refuses now */
	snprintf(port, sizeof(port), "%u", log_port);
	stream_conf_defaults(&c);
	ck_assert_int_eq(stream_conf_option(&c, "host", "127.0.0.1", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "port", port, NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_min", "10ms", NULL, 0), 0);
	ck_assert_int_eq(stream_conf_option(&c, "reconnect_max", "20ms", NULL, 0), 0);
	ck_assert_int_eq(stream_new(&c, NULL, &log_stats, &s), 0);
	ck_assert_int_eq(stream_start(s, NULL, 0), 0);
	run(s, &log_stats, 400, -1);
	lfd = tcp_listener(&log_port);
	run(s, &log_stats, 3000, LT_DCC_UP);
	ck_assert_int_eq(lt_count_get(&log_stats.state), LT_DCC_UP);
	stream_free(s);
	close(lfd);
	stream_conf_clear(&c);
}

START_TEST(the_stream_warns_once_per_outage)
{
	char *out = lt_capture_stderr(stream_outage), failed[96], up[96];

	snprintf(failed, sizeof(failed), "connection to 127.0.0.1:%u failed: Connection refused",
		 log_port);
	snprintf(up, sizeof(up), "notice: dcc ?: connected to 127.0.0.1:%u after an outage of ",
		 log_port);
	/* 400 ms at 5..20 ms per attempt: many failures, one line. */
	ck_assert_uint_ge(lt_count_get(&log_stats.errors), 10);
	ck_assert_msg(count_lines(out, failed) == 1, "log:\n%s", out);
	ck_assert_msg(strstr(out, "warning: dcc ?: ") && count_lines(out, up) == 1, "log:\n%s",
		      out);
	free(out);
}
END_TEST

static Suite *backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("backoff");

	tcase_add_test(tc, full_jitter_stays_in_bounds_and_spreads);
	tcase_add_test(tc, the_delay_is_capped_at_max);
	tcase_add_test(tc, the_floor_is_half_the_minimum);
	tcase_add_test(tc, the_level_resets_after_a_connection_that_lasted);
	tcase_add_test(tc, one_warning_per_outage_and_reason);
	tcase_add_test(tc, the_stream_warns_once_per_outage);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(backoff_suite)
