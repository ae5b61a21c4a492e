/* SPDX-License-Identifier: BSD-2-Clause */
#include "schedule.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

uint64_t sched_next(uint64_t deadline, uint64_t interval, uint64_t now, uint64_t *skipped)
{
	/* The grid point after @deadline: a first deadline off the grid joins it. */
	uint64_t next = deadline - deadline % interval + interval;

	*skipped = 0;
	if (next > now)
		return next;
	/* Late: jump to the first future tick of the same phase, no catch-up burst. */
	uint64_t k = (now - next) / interval + 1;
	*skipped = k;
	return next + k * interval;
}

int sched_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = lt_ns_ts(deadline_ns);
	int r;

	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return r == 0 ? 0 : -r;
}

void sched_spin_until(uint64_t deadline_ns)
{
	while (lt_mono_ns() < deadline_ns) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause(); /* let the sibling hyper-thread run */
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
}

/*
 * Bucket idx = shift * SUB + (ns >> shift), where shift keeps ns >> shift
 * within [SUB, 2 * SUB): the top LT_LAT_SUB_BITS + 1 bits of the value.
 */
unsigned lat_bucket(uint64_t ns)
{
	const uint64_t top = (2ull << LT_LAT_MAX_EXP) - 1;
	unsigned shift;

	if (ns > top)
		ns = top;
	if (ns < LT_LAT_SUB)
		return (unsigned)ns;
	shift = 63u - (unsigned)__builtin_clzll(ns) - LT_LAT_SUB_BITS;
	return shift * LT_LAT_SUB + (unsigned)(ns >> shift);
}

uint64_t lat_bucket_low(unsigned idx)
{
	unsigned shift = idx < 2 * LT_LAT_SUB ? 0 : idx / LT_LAT_SUB - 1;

	return (uint64_t)(idx - shift * LT_LAT_SUB) << shift;
}

uint64_t lat_bucket_high(unsigned idx)
{
	unsigned shift = idx < 2 * LT_LAT_SUB ? 0 : idx / LT_LAT_SUB - 1;

	return lat_bucket_low(idx) + (1ull << shift) - 1;
}

void lat_record(struct lt_lateness *h, uint64_t ns)
{
	_Atomic uint16_t *b = &h->bucket[lat_bucket(ns)];
	uint16_t v = atomic_load_explicit(b, memory_order_relaxed);

	if (v == UINT16_MAX) {
		for (unsigned i = 0; i < LT_LAT_BUCKETS; i++) {
			uint16_t c = atomic_load_explicit(&h->bucket[i], memory_order_relaxed);

			atomic_store_explicit(&h->bucket[i], (uint16_t)(c / 2 + (c & 1)),
					      memory_order_relaxed);
		}
		v = atomic_load_explicit(b, memory_order_relaxed);
	}
	/* Single writer: load + store, not a locked add. */
	atomic_store_explicit(b, (uint16_t)(v + 1), memory_order_relaxed);
	atomic_store_explicit(&h->count, atomic_load_explicit(&h->count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (ns > atomic_load_explicit(&h->max, memory_order_relaxed))
		atomic_store_explicit(&h->max, ns, memory_order_relaxed);
}

uint64_t lat_quantile(const uint64_t *counts, uint64_t total, uint64_t max, double q)
{
	uint64_t rank, seen = 0;

	if (!total)
		return 0;
	rank = (uint64_t)ceil(q * (double)total);
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (unsigned i = 0; i < LT_LAT_BUCKETS; i++) {
		seen += counts[i];
		if (seen >= rank) {
			uint64_t high = lat_bucket_high(i);

			return high < max ? high : max;
		}
	}
	return max;
}

void lat_summary(const struct lt_lateness *h, struct lt_lat_summary *s)
{
	uint64_t counts[LT_LAT_BUCKETS], total = 0;

	for (unsigned i = 0; i < LT_LAT_BUCKETS; i++) {
		counts[i] = atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		total += counts[i];
	}
	/*
	 * Max after the buckets: a value being recorded right now may be in
	 * the snapshot but not yet in max, and then caps a quantile at the
	 * previous max; one record's worth of error, never a torn count.
	 */
	s->max = atomic_load_explicit(&h->max, memory_order_relaxed);
	s->count = atomic_load_explicit(&h->count, memory_order_relaxed);
	s->p50 = lat_quantile(counts, total, s->max, 0.50);
	s->p99 = lat_quantile(counts, total, s->max, 0.99);
}
