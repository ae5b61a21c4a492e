/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Concurrency Kit's ck_ring (0.7), typed with CK_RING_PROTOTYPE so it
 * stores the 32-byte records themselves, not pointers. ck_ring has no
 * burst call: batch 32 is a loop of single enqueues and dequeues.
 * Capacity: nprod * capacity rounded up to a power of two (ck keeps one
 * slot free).
 */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>

#ifdef HAVE_CK
#include <ck_ring.h>

CK_RING_PROTOTYPE(lts, lt_sample)

struct ckq {
	struct ck_ring ring;
	struct lt_sample *buf;
};

static int ck_setup(struct bench_run *r)
{
	struct ckq *q;
	uint64_t pow = 2;

	while (pow < r->capacity * r->nprod)
		pow *= 2;
	q = aligned_alloc(64, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->buf = aligned_alloc(64, pow * sizeof(*q->buf));
	if (!q->buf) {
		free(q);
		return -ENOMEM;
	}
	ck_ring_init(&q->ring, (unsigned)pow);
	r->q = q;
	return 0;
}

static void ck_teardown(struct bench_run *r)
{
	struct ckq *q = r->q;

	free(q->buf);
	free(q);
	r->q = NULL;
}

#define CK_ADAPTER(mode, enqfn, deqfn)                                                             \
	static unsigned ck_enq_##mode(void *ctx, const struct lt_sample *s, unsigned n)            \
	{                                                                                          \
		struct ckq *q = ctx;                                                               \
		unsigned i;                                                                        \
                                                                                                   \
		for (i = 0; i < n; i++)                                                            \
			if (!enqfn(&q->ring, q->buf, (struct lt_sample *)&s[i]))                   \
				break;                                                             \
		return i;                                                                          \
	}                                                                                          \
	static unsigned ck_deq_##mode(void *ctx, struct lt_sample *out, unsigned max)              \
	{                                                                                          \
		struct ckq *q = ctx;                                                               \
		unsigned i;                                                                        \
                                                                                                   \
		for (i = 0; i < max; i++)                                                          \
			if (!deqfn(&q->ring, q->buf, &out[i]))                                     \
				break;                                                             \
		return i;                                                                          \
	}                                                                                          \
	static void *ck_producer_##mode(void *arg)                                                 \
	{                                                                                          \
		struct worker *w = arg;                                                            \
                                                                                                   \
		produce_loop(w, w->run->q, ck_enq_##mode);                                         \
		return NULL;                                                                       \
	}                                                                                          \
	static void *ck_consumer_##mode(void *arg)                                                 \
	{                                                                                          \
		struct worker *w = arg;                                                            \
                                                                                                   \
		consume_loop(w, w->run->q, ck_deq_##mode, bench_idle_spin);                        \
		return NULL;                                                                       \
	}

CK_ADAPTER(spsc, ck_ring_enqueue_spsc_lts, ck_ring_dequeue_spsc_lts)
CK_ADAPTER(mpsc, ck_ring_enqueue_mpsc_lts, ck_ring_dequeue_mpsc_lts)
CK_ADAPTER(mpmc, ck_ring_enqueue_mpmc_lts, ck_ring_dequeue_mpmc_lts)

static uint64_t ck_leftover(struct bench_run *r)
{
	struct ckq *q = r->q;

	return ck_ring_size(&q->ring);
}

#define CK_IMPL(m, lo, hi, text)                                                                   \
	{                                                                                          \
		.name = "ck_ring", .mode = #m, .about = text, .min_prod = lo, .max_prod = hi,      \
		.setup = ck_setup, .teardown = ck_teardown, .producer = ck_producer_##m,           \
		.consumer = ck_consumer_##m, .leftover = ck_leftover,                              \
	}

const struct queue_impl bench_ck_spsc =
	CK_IMPL(spsc, 1, 1, "ck_ring_enqueue_spsc/dequeue_spsc, single producer only");
const struct queue_impl bench_ck_mpsc =
	CK_IMPL(mpsc, 2, BENCH_MAX_PROD,
		"ck_ring_enqueue_mpsc (CAS on p_head, then spin until earlier producers commit)");
const struct queue_impl bench_ck_mpmc =
	CK_IMPL(mpmc, 2, BENCH_MAX_PROD,
		"ck_ring_enqueue_mpmc/dequeue_mpmc (same commit spin, CAS on dequeue)");

#else /* !HAVE_CK */

#define CK_SKIP(m)                                                                                 \
	{                                                                                          \
		.name = "ck_ring", .mode = m,                                                      \
		.skipped = "libck-dev (pkg-config ck) was not found by configure"                  \
	}
const struct queue_impl bench_ck_spsc = CK_SKIP("spsc");
const struct queue_impl bench_ck_mpsc = CK_SKIP("mpsc");
const struct queue_impl bench_ck_mpmc = CK_SKIP("mpmc");

#endif
