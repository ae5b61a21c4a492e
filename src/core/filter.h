/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-metric filters, liota's RangeFilter and WindowingScheme plus deadband
 * and a minimum gap: what decides, in the sampler thread and before the
 * ring push, whether a sample is published. Pure logic: no I/O, no clock
 * reads (the caller passes the time), so that tests drive it with a fake
 * clock. A metric section's keys filter, deadband, min_gap and window are
 * parsed into a struct lt_filter (immutable once the model runs); the
 * metric's copy also holds the sampler thread's struct filter_state and
 * the counts of the verdicts.
 *
 * A sample goes through the stages in order, the first that refuses it
 * names the verdict: the range or comparison (filter), the deadband
 * (against the last value sent), the minimum gap (since the last send).
 * The window (liota's windowing scheme) overrides a refusal: when nothing
 * was sent during a whole window, the first sample at or after the
 * window's end is sent as read, so that a dashboard sees the metric alive.
 */
#ifndef LT_FILTER_H
#define LT_FILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* liota's RangeFilter Type, without the _REJECT twins (struct lt_filter's reject). */
enum filter_kind {
	FILTER_NONE = 0,
	FILTER_CLOSED,       /* [lo, hi] */
	FILTER_OPEN,         /* (lo, hi) */
	FILTER_CLOSED_OPEN,  /* [lo, hi) */
	FILTER_OPEN_CLOSED,  /* (lo, hi] */
	FILTER_LESS_THAN,    /* < lo */
	FILTER_AT_MOST,      /* <= lo */
	FILTER_GREATER_THAN, /* > lo */
	FILTER_AT_LEAST,     /* >= lo */
};

/* What filter_apply() decided; the sampler counts each (struct lt_filter's counts). */
enum filter_verdict {
	FILTER_PASS,          /* passed every stage: sent */
	FILTER_WINDOW,        /* refused, but sent: nothing was sent during the last window */
	FILTER_DROP_RANGE,    /* refused by the range or comparison */
	FILTER_DROP_DEADBAND, /* too close to the last value sent */
	FILTER_DROP_GAP,      /* too soon after the last send */
	FILTER_VERDICTS
};

/* What the sampler thread keeps per filtered metric; all zero at start. */
struct filter_state {
	bool sent;           /* something was sent: ref and sent_at hold */
	double ref;          /* the last value sent (the deadband's reference) */
	uint64_t sent_at;    /* when (the caller's clock) */
	uint64_t window_end; /* 0: no window started yet */
	bool window_passed;  /* a sample passed every stage in the current window */
};

/* A metric's filters, as configured. All zero: none. */
struct lt_filter {
	int kind;            /* enum filter_kind */
	bool reject;         /* "not [lo, hi]": the interval's values are refused */
	double lo, hi;       /* the bounds; a comparison uses lo only */
	bool has_deadband;   /* deadband = 0 is a filter too: "changed at all" */
	bool deadband_pct;   /* deadband is a percentage of the last value sent */
	double deadband;     /* >= 0 */
	uint64_t min_gap_ns; /* 0: none */
	uint64_t window_ns;  /* 0: none */
	uint64_t seen;       /* the keys given (LT_OPT_END_SEEN) */
	/*
	 * At run time, in a metric's own copy (struct lt_metric's filter):
	 * what only a metric with filters needs, so that the others do not
	 * carry it (72 bytes a metric). filter_set() and filter_check() leave
	 * these alone.
	 */
	struct filter_state state; /* the sampler thread's only, kept across reopens */
	_Atomic uint64_t
		counts[FILTER_VERDICTS]; /* by enum filter_verdict, written by the sampler */
};

/*
 * Apply the metric section key @key = @value to @f (the configuration
 * thread). Returns 0, -ENOENT when @key is none of filter, deadband,
 * min_gap and window (@err untouched), -EINVAL with a reason in @err.
 */
int filter_set(struct lt_filter *f, const char *key, const char *value, char *err, size_t errlen);
/* Whether @key is one of the keys filter_set() takes. */
bool filter_key(const char *key);
/* After the section's last key: the keys agree. 0, or -EINVAL with a reason. */
int filter_check(const struct lt_filter *f, char *err, size_t errlen);
/* Whether any key was given (a metric without one gets no filter at all). */
bool filter_any(const struct lt_filter *f);
/* liota's name of the range or comparison ("closed_reject", "at_least"), NULL for none. */
const char *filter_kind_name(const struct lt_filter *f);

/*
 * Decide on value @v read at @now (any monotonic clock in ns, the same for
 * every call on @st; never 0) and update @st. The window and the minimum
 * gap are measured on @now, not on the samples' stamps (a driver may stamp
 * with the device's clock). Sent: FILTER_PASS or FILTER_WINDOW.
 */
enum filter_verdict filter_apply(const struct lt_filter *f, struct filter_state *st, double v,
				 uint64_t now);

static inline bool filter_sends(enum filter_verdict v)
{
	return v == FILTER_PASS || v == FILTER_WINDOW;
}

#endif
