/* SPDX-License-Identifier: BSD-2-Clause */
#include "filter.h"

#include <liota/error.h>
#include <liota/options.h>
#include <liota/parse.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The window and the gap: as a metric's interval may be. */
#define FILTER_DURATION_MIN (10 * 1000ull)
#define FILTER_DURATION_MAX (24 * 3600 * 1000000000ull)

#define FILTER_SYNTAX                                                                              \
	"[LO, HI], (LO, HI), [LO, HI) or (LO, HI], each after an optional 'not', or < X, <= X, "   \
	"> X, >= X"

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* The number in @s[0..@n), blanks around it allowed, finite. */
static int parse_number(const char *s, size_t n, double *out, char *err, size_t errlen)
{
	char buf[64];

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= sizeof(buf))
		return lt_errf(err, errlen, -EINVAL, "'%.*s' is too long for a number", (int)n, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return lt_parse_double(buf, out, err, errlen);
}

/* "[LO, HI]" and its open forms, @s at the opening bracket. */
static int parse_interval(const char *s, struct lt_filter *f, char *err, size_t errlen)
{
	static const int kinds[2][2] = { { FILTER_CLOSED, FILTER_CLOSED_OPEN },
					 { FILTER_OPEN_CLOSED, FILTER_OPEN } };
	const char *comma = strchr(s, ','), *end = s + strlen(s);
	int r;

	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (!comma || end - s < 2 || (end[-1] != ']' && end[-1] != ')') || comma > end - 1)
		return lt_errf(err, errlen, -EINVAL, "'%s' is not an interval (%s)", s,
			       FILTER_SYNTAX);
	if ((r = parse_number(s + 1, (size_t)(comma - s - 1), &f->lo, err, errlen)) < 0 ||
	    (r = parse_number(comma + 1, (size_t)(end - 1 - comma - 1), &f->hi, err, errlen)) < 0)
		return r;
	if (!(f->lo < f->hi))
		return lt_errf(err, errlen, -EINVAL,
			       "'%s': the lower bound must be less than the upper bound", s);
	f->kind = kinds[*s == '('][end[-1] == ')'];
	return 0;
}

/* "< X", "<= X", "> X", ">= X", @s at the operator. */
static int parse_comparison(const char *s, struct lt_filter *f, char *err, size_t errlen)
{
	bool eq = s[1] == '=';
	const char *num = s + 1 + eq;

	if (*s == '<')
		f->kind = eq ? FILTER_AT_MOST : FILTER_LESS_THAN;
	else
		f->kind = eq ? FILTER_AT_LEAST : FILTER_GREATER_THAN;
	if (!*skip_space(num))
		return lt_errf(err, errlen, -EINVAL, "a number must follow '%.*s'", (int)(num - s),
			       s);
	return parse_number(num, strlen(num), &f->lo, err, errlen);
}

/* filter = [10, 30], not (0, 5], >= 3 ... into a temporary first: a refused value changes nothing.
 */
static int range_set(void *base, const char *key, const char *value, char *err, size_t errlen)
{
	struct lt_filter *f = base, t = { 0 };
	const char *s = skip_space(value);
	int r;

	(void)key;
	if (strncmp(s, "not", 3) == 0 &&
	    (isspace((unsigned char)s[3]) || s[3] == '[' || s[3] == '(')) {
		t.reject = true;
		s = skip_space(s + 3);
		if (*s != '[' && *s != '(')
			return lt_errf(
				err, errlen, -EINVAL,
				"'not' goes before an interval, not '%s' (write the opposite "
				"comparison instead)",
				s);
	}
	if (*s == '[' || *s == '(')
		r = parse_interval(s, &t, err, errlen);
	else if (*s == '<' || *s == '>')
		r = parse_comparison(s, &t, err, errlen);
	else
		r = lt_errf(err, errlen, -EINVAL,
			    "'%s' is neither an interval nor a comparison (%s)", value,
			    FILTER_SYNTAX);
	if (r < 0)
		return r;
	f->kind = t.kind;
	f->reject = t.reject;
	f->lo = t.lo;
	f->hi = t.hi;
	return 0;
}

/* deadband = 0.5 (absolute) or 2% (of the last value sent). */
static int deadband_set(void *base, const char *key, const char *value, char *err, size_t errlen)
{
	struct lt_filter *f = base;
	const char *pct = strchr(value, '%');
	double d;
	int r;

	(void)key;
	if (pct && *skip_space(pct + 1))
		return lt_errf(err, errlen, -EINVAL, "'%s': nothing may follow the %%", value);
	r = parse_number(value, pct ? (size_t)(pct - value) : strlen(value), &d, err, errlen);
	if (r < 0)
		return r;
	if (d < 0)
		return lt_errf(err, errlen, -EINVAL, "'%s' is negative", value);
	f->has_deadband = true;
	f->deadband_pct = pct != NULL;
	f->deadband = d;
	return 0;
}

static const struct lt_opt filter_opts[] = {
	LT_OPT_FUNC_BASE("filter", 0, range_set,
			 "liota's RangeFilter: an interval or a comparison"),
	LT_OPT_FUNC_BASE(
		"deadband", 0, deadband_set,
		"send only a value that moved more than this (or this %) since the last sent"),
	LT_OPT_DURATION("min_gap", struct lt_filter, min_gap_ns, 0, FILTER_DURATION_MIN,
			FILTER_DURATION_MAX, "send at most one sample per this duration"),
	LT_OPT_DURATION("window", struct lt_filter, window_ns, 0, FILTER_DURATION_MIN,
			FILTER_DURATION_MAX,
			"liota's windowing scheme: nothing sent for this long, send the raw value"),
	LT_OPT_END_SEEN(struct lt_filter, seen),
};

int filter_set(struct lt_filter *f, const char *key, const char *value, char *err, size_t errlen)
{
	return lt_opts_set(filter_opts, f, key, value, err, errlen);
}

bool filter_key(const char *key)
{
	for (const struct lt_opt *o = filter_opts; o->type != LT_OPT_END; o++)
		if (strcmp(o->key, key) == 0)
			return true;
	return false;
}

int filter_check(const struct lt_filter *f, char *err, size_t errlen)
{
	if (!f->window_ns)
		return 0;
	/* Only a refused sample can make the window send one. */
	if (!f->kind && !f->has_deadband && !f->min_gap_ns)
		return lt_errf(err, errlen, -EINVAL,
			       "window needs filter, deadband or min_gap: without them every "
			       "sample is sent anyway");
	/* Else the window's sends would break the gap it promises. */
	if (f->min_gap_ns && f->window_ns <= f->min_gap_ns)
		return lt_errf(err, errlen, -EINVAL,
			       "window (%g s) must be longer than min_gap (%g s)",
			       (double)f->window_ns / 1e9, (double)f->min_gap_ns / 1e9);
	return 0;
}

bool filter_any(const struct lt_filter *f)
{
	return f->seen != 0;
}

const char *filter_kind_name(const struct lt_filter *f)
{
	static const char *const accept[] = {
		[FILTER_CLOSED] = "closed",
		[FILTER_OPEN] = "open",
		[FILTER_CLOSED_OPEN] = "closed_open",
		[FILTER_OPEN_CLOSED] = "open_closed",
		[FILTER_LESS_THAN] = "less_than",
		[FILTER_AT_MOST] = "at_most",
		[FILTER_GREATER_THAN] = "greater_than",
		[FILTER_AT_LEAST] = "at_least",
	};
	static const char *const reject[] = {
		[FILTER_CLOSED] = "closed_reject",
		[FILTER_OPEN] = "open_reject",
		[FILTER_CLOSED_OPEN] = "closed_open_reject",
		[FILTER_OPEN_CLOSED] = "open_closed_reject",
	};

	if (f->kind <= FILTER_NONE || f->kind > FILTER_AT_LEAST)
		return NULL;
	return f->reject ? reject[f->kind] : accept[f->kind];
}

static bool range_passes(const struct lt_filter *f, double v)
{
	bool inside;

	switch (f->kind) {
	case FILTER_CLOSED:
		inside = f->lo <= v && v <= f->hi;
		break;
	case FILTER_OPEN:
		inside = f->lo < v && v < f->hi;
		break;
	case FILTER_CLOSED_OPEN:
		inside = f->lo <= v && v < f->hi;
		break;
	case FILTER_OPEN_CLOSED:
		inside = f->lo < v && v <= f->hi;
		break;
	case FILTER_LESS_THAN:
		return v < f->lo;
	case FILTER_AT_MOST:
		return v <= f->lo;
	case FILTER_GREATER_THAN:
		return v > f->lo;
	case FILTER_AT_LEAST:
		return v >= f->lo;
	default:
		return true;
	}
	/*
	 * NaN is inside no interval, and not outside one either: a reading that
	 * is no number passes no range. (liota's "not lo <= v <= hi" let it
	 * through a reject filter, by accident of Python's comparisons.)
	 */
	return f->reject ? !inside && !isnan(v) : inside;
}

/* Whether @v moved more than the deadband since the last value sent. */
static bool deadband_passes(const struct lt_filter *f, const struct filter_state *st, double v)
{
	double limit;

	if (!f->has_deadband || !st->sent)
		return true;
	/* A number becoming NaN, or NaN a number again, is news; NaN after NaN is not. */
	if (isnan(v) || isnan(st->ref))
		return isnan(v) != isnan(st->ref);
	if (v == st->ref)
		return false;
	/* To or from an infinity: moved, though "inf > inf % of inf" would say no. */
	if (isinf(v) || isinf(st->ref))
		return true;
	/* Around 0 a percentage of the reference is 0: any change moves. */
	limit = f->deadband_pct ? f->deadband / 100.0 * fabs(st->ref) : f->deadband;
	return fabs(v - st->ref) > limit;
}

/*
 * liota's windowing scheme on the verdict @r of the stages: the first
 * sample at or after the window's end closes the window; when nothing
 * passed during it and this sample does not pass either, it is sent
 * anyway. As in liota the new window starts empty, whatever this sample
 * did, so a quiet metric sends one value per window.
 */
static enum filter_verdict window_apply(const struct lt_filter *f, struct filter_state *st,
					enum filter_verdict r, uint64_t now)
{
	if (!st->window_end) {
		/* The first sample opens the first window. */
		st->window_end = now + f->window_ns;
	} else if (now >= st->window_end) {
		bool quiet = !st->window_passed;

		/*
		 * The next end on the window grid after @now: windows without any
		 * sample (an event-driven metric that said nothing) are skipped
		 * rather than closed one per later sample, as liota did.
		 */
		st->window_end += f->window_ns * ((now - st->window_end) / f->window_ns + 1);
		st->window_passed = false;
		return quiet && r != FILTER_PASS ? FILTER_WINDOW : r;
	}
	if (r == FILTER_PASS)
		st->window_passed = true;
	return r;
}

enum filter_verdict filter_apply(const struct lt_filter *f, struct filter_state *st, double v,
				 uint64_t now)
{
	enum filter_verdict r = FILTER_PASS;

	if (!range_passes(f, v))
		r = FILTER_DROP_RANGE;
	else if (!deadband_passes(f, st, v))
		r = FILTER_DROP_DEADBAND;
	else if (f->min_gap_ns && st->sent && now - st->sent_at < f->min_gap_ns)
		r = FILTER_DROP_GAP;
	if (f->window_ns)
		r = window_apply(f, st, r, now);
	if (filter_sends(r)) {
		/* What was sent, window sends included, is what the deadband and gap compare to. */
		st->sent = true;
		st->ref = v;
		st->sent_at = now;
	}
	return r;
}
