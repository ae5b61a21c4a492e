/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the per-metric filters (src/core/filter.c): every range and
 * comparison kind at its bounds, deadband, minimum gap, liota's windowing
 * scheme on a fake clock (the caller's @now), and the parser's errors.
 */
#include "unit.h"
#include "filter.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define S(x) ((uint64_t)((x)*1e9)) /* seconds of the fake clock, in ns */

static struct lt_filter parsed(const char *key, const char *value)
{
	struct lt_filter f = { 0 };
	char err[256] = "";

	ck_assert_msg(filter_set(&f, key, value, err, sizeof(err)) == 0, "%s = %s: %s", key, value,
		      err);
	return f;
}

static void set(struct lt_filter *f, const char *key, const char *value)
{
	char err[256] = "";

	ck_assert_msg(filter_set(f, key, value, err, sizeof(err)) == 0, "%s = %s: %s", key, value,
		      err);
}

/* The verdict of a fresh state on one value: the range stage alone. */
static bool passes(const char *spec, double v)
{
	struct lt_filter f = parsed("filter", spec);
	struct filter_state st = { 0 };
	enum filter_verdict r = filter_apply(&f, &st, v, S(1));

	ck_assert(r == FILTER_PASS || r == FILTER_DROP_RANGE);
	return r == FILTER_PASS;
}

/* Each kind on [10, 30] at and around both bounds, NaN and both infinities. */
START_TEST(every_interval_kind_at_its_bounds)
{
	static const double vals[] = { 9.999, 10, 10.001, 20, 29.999, 30, 30.001 };
	static const struct {
		const char *spec, *name;
		bool in[7]; /* for vals[] */
	} k[] = {
		{ "[10, 30]", "closed", { 0, 1, 1, 1, 1, 1, 0 } },
		{ "(10, 30)", "open", { 0, 0, 1, 1, 1, 0, 0 } },
		{ "[10, 30)", "closed_open", { 0, 1, 1, 1, 1, 0, 0 } },
		{ "(10, 30]", "open_closed", { 0, 0, 1, 1, 1, 1, 0 } },
	};

	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		char reject[64], rname[64];
		struct lt_filter f = parsed("filter", k[i].spec);

		snprintf(reject, sizeof(reject), "not %s", k[i].spec);
		snprintf(rname, sizeof(rname), "%s_reject", k[i].name);
		ck_assert_str_eq(filter_kind_name(&f), k[i].name);
		f = parsed("filter", reject);
		ck_assert_str_eq(filter_kind_name(&f), rname);
		for (unsigned j = 0; j < 7; j++) {
			ck_assert_msg(passes(k[i].spec, vals[j]) == k[i].in[j], "%s at %g",
				      k[i].spec, vals[j]);
			ck_assert_msg(passes(reject, vals[j]) == !k[i].in[j], "%s at %g", reject,
				      vals[j]);
		}
		/* Infinities are outside every interval; NaN passes neither kind. */
		ck_assert(!passes(k[i].spec, INFINITY));
		ck_assert(!passes(k[i].spec, -INFINITY));
		ck_assert(passes(reject, INFINITY));
		ck_assert(passes(reject, -INFINITY));
		ck_assert(!passes(k[i].spec, NAN));
		ck_assert(!passes(reject, NAN));
	}
}
END_TEST

START_TEST(every_comparison_at_its_bound)
{
	static const struct {
		const char *spec, *name;
		bool below, at, above, minf, pinf;
	} k[] = {
		{ "< 5", "less_than", 1, 0, 0, 1, 0 },
		{ "<= 5", "at_most", 1, 1, 0, 1, 0 },
		{ "> 5", "greater_than", 0, 0, 1, 0, 1 },
		{ ">= 5", "at_least", 0, 1, 1, 0, 1 },
	};

	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct lt_filter f = parsed("filter", k[i].spec);

		ck_assert_str_eq(filter_kind_name(&f), k[i].name);
		ck_assert_msg(passes(k[i].spec, 4.999) == k[i].below, "%s", k[i].spec);
		ck_assert_msg(passes(k[i].spec, 5) == k[i].at, "%s", k[i].spec);
		ck_assert_msg(passes(k[i].spec, 5.001) == k[i].above, "%s", k[i].spec);
		ck_assert_msg(passes(k[i].spec, -INFINITY) == k[i].minf, "%s", k[i].spec);
		ck_assert_msg(passes(k[i].spec, INFINITY) == k[i].pinf, "%s", k[i].spec);
		ck_assert_msg(!passes(k[i].spec, NAN), "%s", k[i].spec);
	}
	/* Blanks are optional, negative bounds and exponents read as numbers. */
	ck_assert(passes(">=-2.5e1", -25));
	ck_assert(!passes(">=-2.5e1", -25.5));
	ck_assert(passes("not[1,2]", 3));
	ck_assert(passes("  ( -1 , 1 )  ", 0));
}
END_TEST

/* Feed @n values at one per second from @t0, expect the verdicts. */
static void feed(const struct lt_filter *f, struct filter_state *st, const double *v,
		 const enum filter_verdict *want, unsigned n, double t0)
{
	for (unsigned i = 0; i < n; i++) {
		enum filter_verdict r = filter_apply(f, st, v[i], S(t0 + i));

		ck_assert_msg(r == want[i], "value %u (%g): verdict %d, expected %d", i, v[i], r,
			      want[i]);
	}
}

#define P  FILTER_PASS
#define W  FILTER_WINDOW
#define DR FILTER_DROP_RANGE
#define DD FILTER_DROP_DEADBAND
#define DG FILTER_DROP_GAP

START_TEST(deadband_absolute)
{
	struct lt_filter f = parsed("deadband", "0.5");
	struct filter_state st = { 0 };
	/* Moved more than 0.5 since the last value *sent*, not the last read. */
	const double v[] = { 8, 8.5, 8.25, 8.75, 8.5, 8.125, 8.125, 7.5, -INFINITY, -INFINITY, 0 };
	const enum filter_verdict w[] = { P, DD, DD, P, DD, P, DD, P, P, DD, P };

	feed(&f, &st, v, w, 11, 1);
	ck_assert(st.sent && st.ref == 0);
}
END_TEST

START_TEST(deadband_zero_sends_changes_only)
{
	struct lt_filter f = parsed("deadband", "0");
	struct filter_state st = { 0 };
	const double v[] = { 1, 1, 1, 1.0000001, 1.0000001, NAN, NAN, 1.0000001 };
	const enum filter_verdict w[] = { P, DD, DD, P, DD, P, DD, P };

	feed(&f, &st, v, w, 8, 1);
}
END_TEST

START_TEST(deadband_percent_and_around_zero)
{
	struct lt_filter f = parsed("deadband", "2 %");
	struct filter_state st = { 0 };
	/* 2 % of 100 is 2: 102 did not move more; 2 % of 102.5 is 2.05. */
	const double v[] = { 100, 102, 98, 102.5, 100.5, 100.25 };
	const enum filter_verdict w[] = { P, DD, DD, P, DD, P };
	/* From 0 any change is infinitely many percent; to 0 is 100 %. */
	const double z[] = { 0, 0, 1e-300, 1e-300, 0, -0.0, -1e-300 };
	const enum filter_verdict wz[] = { P, DD, P, DD, P, DD, P };
	const double n[] = { 5, NAN, NAN, 5, INFINITY, INFINITY, 1e308 };
	const enum filter_verdict wn[] = { P, P, DD, P, P, DD, P };

	ck_assert(f.deadband_pct && f.deadband == 2);
	feed(&f, &st, v, w, 6, 1);
	memset(&st, 0, sizeof(st));
	feed(&f, &st, z, wz, 7, 1);
	memset(&st, 0, sizeof(st));
	feed(&f, &st, n, wn, 7, 1);
}
END_TEST

START_TEST(min_gap_limits_the_rate)
{
	struct lt_filter f = parsed("min_gap", "6s");
	struct filter_state st = { 0 };

	ck_assert_uint_eq(f.min_gap_ns, S(6));
	ck_assert_int_eq(filter_apply(&f, &st, 1, S(100)), P);
	ck_assert_int_eq(filter_apply(&f, &st, 2, S(100)), DG);
	ck_assert_int_eq(filter_apply(&f, &st, 3, S(106) - 1), DG);
	/* Exactly min_gap later is not too soon. */
	ck_assert_int_eq(filter_apply(&f, &st, 4, S(106)), P);
	ck_assert_int_eq(filter_apply(&f, &st, 5, S(111)), DG);
	ck_assert_int_eq(filter_apply(&f, &st, 6, S(113)), P);
	ck_assert(st.ref == 6);
}
END_TEST

/* Stages run in order: a value the range refuses never reaches the deadband. */
START_TEST(stages_run_in_order)
{
	struct lt_filter f = parsed("filter", "[0, 100]");
	struct filter_state st = { 0 };

	set(&f, "deadband", "10");
	set(&f, "min_gap", "5s");
	ck_assert_int_eq(filter_apply(&f, &st, 50, S(1)), P);
	ck_assert_int_eq(filter_apply(&f, &st, 500, S(2)), DR);
	ck_assert_int_eq(filter_apply(&f, &st, 55, S(3)), DD);
	ck_assert_int_eq(filter_apply(&f, &st, 70, S(4)), DG);
	ck_assert_int_eq(filter_apply(&f, &st, 70, S(6)), P);
	/* The deadband compares with 70, the last sent, not 500 or 55. */
	ck_assert_int_eq(filter_apply(&f, &st, 79, S(20)), DD);
	ck_assert_int_eq(filter_apply(&f, &st, 81, S(21)), P);
}
END_TEST

/* liota's windowing: nothing passed for a window, the sample at its end is sent as read. */
START_TEST(window_sends_the_raw_value_when_nothing_passed)
{
	struct lt_filter f = parsed("filter", "> 100");
	struct filter_state st = { 0 };
	enum filter_verdict r;
	unsigned sent = 0;

	set(&f, "window", "10s");
	/* One sample a second from t = 1 s: the first opens the window, ending at 11 s. */
	for (unsigned t = 1; t <= 35; t++) {
		r = filter_apply(&f, &st, t, S(t));
		if (t == 11 || t == 21 || t == 31) {
			ck_assert_msg(r == W, "t=%u: %d", t, r);
			ck_assert(st.ref == t); /* the raw value, sent */
			sent++;
		} else {
			ck_assert_msg(r == DR, "t=%u: %d", t, r);
		}
	}
	ck_assert_uint_eq(sent, 3);
}
END_TEST

START_TEST(window_stays_quiet_when_a_sample_passed)
{
	struct lt_filter f = parsed("filter", ">= 100");
	struct filter_state st = { 0 };

	set(&f, "window", "10s");
	ck_assert_int_eq(filter_apply(&f, &st, 1, S(1)), DR); /* window 1..11 */
	ck_assert_int_eq(filter_apply(&f, &st, 100, S(5)), P);
	ck_assert_int_eq(filter_apply(&f, &st, 1, S(10.999)), DR);
	/* Something passed in 1..11: the end closes it without a send. */
	ck_assert_int_eq(filter_apply(&f, &st, 2, S(11)), DR);
	ck_assert_int_eq(filter_apply(&f, &st, 3, S(20)), DR);
	/* 11..21 was quiet. */
	ck_assert_int_eq(filter_apply(&f, &st, 4, S(21)), W);
	/* A sample passing at a window's end is sent as passed; the next window starts empty. */
	ck_assert_int_eq(filter_apply(&f, &st, 150, S(31)), P);
	ck_assert_int_eq(filter_apply(&f, &st, 5, S(40)), DR);
	ck_assert_int_eq(filter_apply(&f, &st, 6, S(41)), W);
}
END_TEST

/* An event-driven metric silent for windows: one send, then the grid goes on. */
START_TEST(window_skips_windows_without_samples)
{
	struct lt_filter f = parsed("filter", "< 0");
	struct filter_state st = { 0 };

	set(&f, "window", "10s");
	ck_assert_int_eq(filter_apply(&f, &st, 1, S(1)), DR); /* ends 11, 21, 31, 41, 51 */
	ck_assert_int_eq(filter_apply(&f, &st, 2, S(45)), W);
	ck_assert_uint_eq(st.window_end, S(51));
	ck_assert_int_eq(filter_apply(&f, &st, 3, S(46)), DR);
	ck_assert_int_eq(filter_apply(&f, &st, 4, S(50.5)), DR);
	ck_assert_int_eq(filter_apply(&f, &st, 5, S(51)), W);
}
END_TEST

/* A window send is a send: the deadband and the gap measure from it. */
START_TEST(window_with_deadband_and_gap)
{
	struct lt_filter f = parsed("deadband", "0.5");
	struct filter_state st = { 0 };
	char err[128];

	set(&f, "min_gap", "2s");
	set(&f, "window", "10s");
	ck_assert_int_eq(filter_check(&f, err, sizeof(err)), 0);
	ck_assert_int_eq(filter_apply(&f, &st, 8, S(1)), P);
	/* 8 passed in the first window (1..11 s); the second (11..21 s) is quiet. */
	for (unsigned t = 2; t < 21; t++)
		ck_assert_int_eq(filter_apply(&f, &st, 8.25, S(t)), DD);
	ck_assert_int_eq(filter_apply(&f, &st, 8.25, S(21)), W);
	ck_assert(st.ref == 8.25);
	ck_assert_int_eq(filter_apply(&f, &st, 8.5, S(22)), DD);
	ck_assert_int_eq(filter_apply(&f, &st, 9, S(22)), DG);
	ck_assert_int_eq(filter_apply(&f, &st, 9, S(23)), P);
}
END_TEST

static void refused(const char *key, const char *value, const char *why)
{
	struct lt_filter f = parsed("filter", "[1, 2]");
	char err[256] = "";

	ck_assert_int_eq(filter_set(&f, key, value, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, why), "%s = '%s': '%s' lacks '%s'", key, value, err, why);
	/* A refused value changes nothing. */
	ck_assert_int_eq(f.kind, FILTER_CLOSED);
	ck_assert(f.lo == 1 && f.hi == 2 && !f.reject);
}

START_TEST(parser_errors)
{
	struct lt_filter f = { 0 };
	char err[256] = "";

	refused("filter", "[30, 10]", "lower bound must be less");
	refused("filter", "[10, 10]", "lower bound must be less");
	refused("filter", "[10 30]", "is not an interval");
	refused("filter", "[10, 30", "is not an interval");
	refused("filter", "[10, 30] x", "is not an interval");
	refused("filter", "10..30", "neither an interval nor a comparison");
	refused("filter", "", "neither an interval nor a comparison");
	refused("filter", "= 5", "neither an interval nor a comparison");
	refused("filter", "not < 5", "'not' goes before an interval");
	refused("filter", "not", "neither");
	refused("filter", "< abc", "abc");
	refused("filter", "<", "a number must follow '<'");
	refused("filter", ">=  ", "a number must follow '>='");
	refused("filter", "[nan, 5]", "nan");
	refused("filter", "[1, inf]", "inf");
	refused("filter", "[a, 5]", "a");
	refused("deadband", "-1", "negative");
	refused("deadband", "2%x", "nothing may follow");
	refused("deadband", "abc", "abc");
	refused("deadband", "%", "");
	refused("min_gap", "0", "min_gap must be");
	refused("min_gap", "5 parsecs", "parsecs");
	refused("window", "1us", "window must be");
	refused("window", "25h", "window must be");

	ck_assert_int_eq(filter_set(&f, "interval", "1s", err, sizeof(err)), -ENOENT);
	ck_assert(!filter_any(&f));
	ck_assert(filter_key("filter") && filter_key("deadband") && filter_key("min_gap") &&
		  filter_key("window"));
	ck_assert(!filter_key("unit") && !filter_key("interval"));

	/* A window alone never sends anything extra: refused at the check. */
	set(&f, "window", "10s");
	ck_assert(filter_any(&f));
	ck_assert_int_eq(filter_check(&f, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "window needs filter, deadband or min_gap"));
	set(&f, "min_gap", "10s");
	ck_assert_int_eq(filter_check(&f, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "must be longer than min_gap"));
	set(&f, "min_gap", "9s");
	ck_assert_int_eq(filter_check(&f, err, sizeof(err)), 0);
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, every_interval_kind_at_its_bounds);
	tcase_add_test(tc, every_comparison_at_its_bound);
	tcase_add_test(tc, deadband_absolute);
	tcase_add_test(tc, deadband_zero_sends_changes_only);
	tcase_add_test(tc, deadband_percent_and_around_zero);
	tcase_add_test(tc, min_gap_limits_the_rate);
	tcase_add_test(tc, stages_run_in_order);
	tcase_add_test(tc, window_sends_the_raw_value_when_nothing_passed);
	tcase_add_test(tc, window_stays_quiet_when_a_sample_passed);
	tcase_add_test(tc, window_skips_windows_without_samples);
	tcase_add_test(tc, window_with_deadband_and_gap);
	tcase_add_test(tc, parser_errors);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(filter_suite)
