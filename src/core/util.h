/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by the daemon: time, strings, the edge id. Those a
 * driver needs too (clocks, lt_errf(), allocation) are the SDK's:
 * liota/time.h, liota/error.h and liota/alloc.h.
 */
#ifndef LT_UTIL_H
#define LT_UTIL_H

#include <liota/alloc.h>
#include <liota/error.h>
#include <liota/time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint64_t lt_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * LT_NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static inline struct timespec lt_ns_ts(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / LT_NSEC_PER_SEC),
			       .tv_nsec = (long)(ns % LT_NSEC_PER_SEC) };
	return ts;
}

/*
 * CLOCK_REALTIME at CLOCK_MONOTONIC time @mono_ns, from the offset between
 * the clocks read at most LT_REAL_OFFSET_NS earlier (by any thread): the
 * samplers' stamps cost no clock read of their own. The two clocks run at
 * the same rate (NTP slews both); they part only when the real-time clock
 * is stepped (settimeofday, an NTP step at boot), and then stamps keep the
 * old offset for up to LT_REAL_OFFSET_NS.
 */
#define LT_REAL_OFFSET_NS LT_NSEC_PER_SEC
uint64_t lt_real_at(uint64_t mono_ns);

/*
 * Progress mark of a worker thread, read by the main thread for the systemd
 * watchdog and for the "stuck" condition of `liotactl status`: what the
 * thread is doing (a small tag of the caller's, 1..7: the driver call of a
 * sampler, a round of DCC work of the publisher) and the CLOCK_MONOTONIC
 * time it started, in one word so that a reader never pairs one piece of
 * work with another's start; 0 while the thread waits for work. A thread
 * that waits is healthy however long it waits; one that stays in one piece
 * of work is stuck. Relaxed: it only tells people and the watchdog.
 */
struct lt_beat {
	_Atomic uint64_t word; /* start << 3 | tag, 0: waiting */
};

static inline void lt_beat_busy(struct lt_beat *b, unsigned tag, uint64_t now_ns)
{
	atomic_store_explicit(&b->word, now_ns << 3 | (tag & 7), memory_order_relaxed);
}

static inline void lt_beat_idle(struct lt_beat *b)
{
	atomic_store_explicit(&b->word, 0, memory_order_relaxed);
}

/*
 * How long the thread has been in its current piece of work at @now_ns
 * (0: waiting), and its tag in *@tag when not NULL.
 */
static inline uint64_t lt_beat_busy_for(const struct lt_beat *b, uint64_t now_ns, unsigned *tag)
{
	uint64_t word = atomic_load_explicit(&b->word, memory_order_relaxed), since = word >> 3;

	if (tag)
		*tag = (unsigned)(word & 7);
	return word && now_ns > since ? now_ns - since : 0;
}

/*
 * Room for element @n (0-based) of an array of @size-byte elements that is
 * only ever grown through this, one element at a time: it is reallocated,
 * to 2 * @n elements, when @n is 0 or a power of two. Appending 10,000
 * metrics one realloc at a time copied the array again and again.
 */
void *lt_grow(void *p, size_t n, size_t size);

/* The tree's short names of the SDK's malloc-or-abort helpers (liota/alloc.h). */
#define xmalloc   lt_xmalloc
#define xcalloc   lt_xcalloc
#define xrealloc  lt_xrealloc
#define xstrdup   lt_xstrdup
#define xasprintf lt_xasprintf

/*
 * The edge system's stable id: a UUID string (36 chars + NUL) derived from
 * the machine id in @machine_id_path (/etc/machine-id when NULL) with
 * sd_id128_get_machine_app_specific-style hashing, so the raw machine id
 * never leaves the machine. -errno when the file is missing or malformed.
 */
int lt_edge_id(const char *machine_id_path, char out[37]);

/*
 * Format @v as the shortest decimal that strtod() reads back bit for bit
 * (JavaScript-like layout: "0.1", "21.5", "1e+21", "-0"), NUL-terminated.
 * Returns the length, -ENOSPC when @len is too small, -EDOM for NaN/inf.
 * Defined in src/dcc/carbon.c, its hot user.
 */
int lt_fmt_double(char *buf, size_t len, double v);

#endif
