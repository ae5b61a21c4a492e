/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sampling schedule: absolute deadlines on CLOCK_MONOTONIC. A metric
 * with interval I started at T0 is due at T0, then on the grid of I (the
 * multiples of I on CLOCK_MONOTONIC), whatever the time each read takes, so
 * the schedule never drifts. The first interval is shorter (T0 to the next
 * grid point). The grid is shared: the metrics of one interval on every
 * device are due together, so a thousand devices at 1 Hz wake their
 * samplers in one burst rather than spread over the second, which costs
 * about half the CPU per sample (a CPU that stays awake through the burst;
 * docs/benchmarks.md section 12) and wakes the publisher once per burst.
 * The price: the last samplers of a burst start later than the first.
 * When a sampler comes
 * back late (a stalled read, a suspended machine), the deadlines it missed
 * are skipped and counted rather than sampled in a burst.
 *
 * How late each read starts after its deadline is kept in a lateness
 * histogram per metric (liotactl status shows p50, p99 and max).
 */
#ifndef LT_SCHEDULE_H
#define LT_SCHEDULE_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * The deadline after @deadline for a tick handled at @now: the first point
 * of the grid (multiples of @interval) after @deadline, or if that is not
 * later than @now, the first one that is. *@skipped receives the grid points
 * passed over, the ticks that were missed.
 */
uint64_t sched_next(uint64_t deadline, uint64_t interval, uint64_t now, uint64_t *skipped);

/*
 * Sleep until @deadline_ns on CLOCK_MONOTONIC (TIMER_ABSTIME). Returns 0 when
 * the deadline is reached, -EINTR when a signal interrupted the sleep.
 */
int sched_sleep_until(uint64_t deadline_ns);

/*
 * Busy-wait until @deadline_ns on CLOCK_MONOTONIC. After a sleep that ended
 * @spin ns early, this takes the machine's timer wake-up latency out of the
 * lateness, for up to @spin ns of CPU per deadline.
 */
void sched_spin_until(uint64_t deadline_ns);

/*
 * Lateness histogram, in nanoseconds. Log-linear (HDR-like) buckets: exact
 * below 8 ns, then 4 buckets per power of two, so a bucket is at most 1/4
 * (25 %) of its values wide; values of 2^37 ns (137 s) and more share the
 * last bucket (max stays exact). Quantiles are the highest value of their
 * bucket: never below the true one, at most 25 % above it. One thread
 * writes (the sampler), with relaxed loads and stores: no lock and no
 * atomic read-modify-write on the sampling path. Any thread may read
 * meanwhile; a reader's snapshot may miss the newest records, never tear a
 * counter.
 */
#define LT_LAT_SUB_BITS 2
#define LT_LAT_SUB      (1u << LT_LAT_SUB_BITS)
#define LT_LAT_MAX_EXP  36 /* highest power of two with buckets of its own */
#define LT_LAT_BUCKETS  ((LT_LAT_MAX_EXP - LT_LAT_SUB_BITS + 2) * LT_LAT_SUB)

/*
 * One per metric, so it is small (304 bytes: 10,000 metrics keep 10,000 of
 * these; it was 2,192 with 16 buckets per power of two and 32-bit counts,
 * most of a 10,000-metric daemon's memory). Buckets are 16-bit: when one
 * would pass UINT16_MAX (65 s of a 1 kHz metric in one bucket) every bucket
 * is halved, rounding up, so the quantiles stay right; count stays exact.
 */
struct lt_lateness {
	_Atomic uint64_t max;
	_Atomic uint64_t count;
	_Atomic uint16_t bucket[LT_LAT_BUCKETS];
};

/* The bucket of @ns, and the lowest and highest value a bucket holds. */
unsigned lat_bucket(uint64_t ns);
uint64_t lat_bucket_low(unsigned idx);
uint64_t lat_bucket_high(unsigned idx);
/* Count one value (the owning thread only). */
void lat_record(struct lt_lateness *h, uint64_t ns);

/* A consistent summary computed from one snapshot of the counters. */
struct lt_lat_summary {
	uint64_t count;
	uint64_t p50, p99, max; /* ns; quantiles are the highest value of their bucket, <= max */
};
void lat_summary(const struct lt_lateness *h, struct lt_lat_summary *s);
/*
 * The @q quantile (0 < q <= 1) of @total values counted in @counts
 * (LT_LAT_BUCKETS of them): the highest value of the bucket holding the
 * ceil(q * total)-th smallest, capped at @max. 0 when @total is 0.
 */
uint64_t lat_quantile(const uint64_t *counts, uint64_t total, uint64_t max, double q);

#endif
