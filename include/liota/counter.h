/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/counter.h - counters one thread writes and another reads.
 *
 * The counters of the SDK (struct lt_dcc_stats, lt_device_counter()) are
 * plain uint64_t, so that C++ and C alike can include the headers; a
 * driver updates them, and the control thread reads them for `liotactl
 * status`, only through these functions: relaxed atomic operations (one
 * instruction each on 64-bit machines, inlined: no call on the
 * per-sample path). Relaxed means that each counter is read whole and
 * never loses an update, but two counters read one after the other may be
 * of different moments.
 *
 * Any thread; @c is not NULL and 8-byte aligned (the SDK's counters are,
 * on 32-bit machines too: an unaligned one would not be lock-free there).
 */
#ifndef LIOTA_COUNTER_H
#define LIOTA_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** lt_count() - add @n to *@c. */
static inline void lt_count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/** lt_count_sub() - subtract @n from *@c (what was counted and is taken back). */
static inline void lt_count_sub(uint64_t *c, uint64_t n)
{
	__atomic_fetch_sub(c, n, __ATOMIC_RELAXED);
}

/** lt_count_set() - set *@c to @v (a level: bytes queued, a state). */
static inline void lt_count_set(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/** lt_count_get() - the value of *@c. */
static inline uint64_t lt_count_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/** lt_count_xchg() - set *@c to @v; returns the value it replaced. */
static inline uint64_t lt_count_xchg(uint64_t *c, uint64_t v)
{
	return __atomic_exchange_n(c, v, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_COUNTER_H */
