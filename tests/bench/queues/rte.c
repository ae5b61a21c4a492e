/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DPDK's rte_ring with 32-byte elements (rte_ring_elem API), on memory we
 * allocate and rte_ring_init(): no EAL, no hugepages. Batch 1 is
 * rte_ring_enqueue_elem/dequeue_elem, batch 32 is the burst calls. The
 * producer mode comes from the ring's flags: SP, classic MP (CAS on the
 * head, then wait for earlier producers' tail update), or MP RTS
 * ("relaxed tail sync": the last producer to finish moves the tail, so a
 * preempted producer holds back the consumer, not the other producers,
 * until the head runs htd_max records ahead).
 */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>

#ifdef HAVE_DPDK
#include <rte_ring.h>
#include <rte_ring_elem.h>

#define ESIZE ((unsigned)sizeof(struct lt_sample))

static int rte_setup_flags(struct bench_run *r, unsigned flags)
{
	uint64_t count = 2;
	ssize_t size;
	void *mem;
	int ret;

	while (count < r->capacity * r->nprod)
		count *= 2;
	size = rte_ring_get_memsize_elem(ESIZE, (unsigned)count);
	if (size < 0)
		return (int)size;
	mem = aligned_alloc(128, ((size_t)size + 127) & ~(size_t)127);
	if (!mem)
		return -ENOMEM;
	ret = rte_ring_init(mem, "bench", (unsigned)count, flags);
	if (ret < 0) {
		free(mem);
		return ret;
	}
	r->q = mem;
	return 0;
}

static int rte_setup_spsc(struct bench_run *r)
{
	return rte_setup_flags(r, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static int rte_setup_mpsc(struct bench_run *r)
{
	return rte_setup_flags(r, RING_F_SC_DEQ);
}

static int rte_setup_rts(struct bench_run *r)
{
	return rte_setup_flags(r, RING_F_MP_RTS_ENQ | RING_F_SC_DEQ);
}

static void rte_teardown(struct bench_run *r)
{
	free(r->q);
	r->q = NULL;
}

static unsigned rte_enq(void *ctx, const struct lt_sample *s, unsigned n)
{
	if (n == 1)
		return rte_ring_enqueue_elem(ctx, (void *)s, ESIZE) == 0;
	return rte_ring_enqueue_burst_elem(ctx, s, ESIZE, n, NULL);
}

static unsigned rte_deq(void *ctx, struct lt_sample *out, unsigned max)
{
	if (max == 1)
		return rte_ring_dequeue_elem(ctx, out, ESIZE) == 0;
	return rte_ring_dequeue_burst_elem(ctx, out, ESIZE, max, NULL);
}

static void *rte_producer(void *arg)
{
	struct worker *w = arg;

	produce_loop(w, w->run->q, rte_enq);
	return NULL;
}

static void *rte_consumer(void *arg)
{
	struct worker *w = arg;

	consume_loop(w, w->run->q, rte_deq, bench_idle_spin);
	return NULL;
}

static uint64_t rte_leftover(struct bench_run *r)
{
	return rte_ring_count(r->q);
}

#define RTE_IMPL(m, setupfn, lo, hi, text)                                                         \
	{                                                                                          \
		.name = "rte_ring", .mode = m, .about = text, .min_prod = lo, .max_prod = hi,      \
		.setup = setupfn, .teardown = rte_teardown, .producer = rte_producer,              \
		.consumer = rte_consumer, .leftover = rte_leftover,                                \
	}

const struct queue_impl bench_rte_spsc = RTE_IMPL(
	"sp/sc", rte_setup_spsc, 1, 1, "RING_F_SP_ENQ | RING_F_SC_DEQ, single producer only");
const struct queue_impl bench_rte_mpsc = RTE_IMPL("mp/sc", rte_setup_mpsc, 2, BENCH_MAX_PROD,
						  "classic multi-producer: CAS on prod.head, then "
						  "spin until earlier producers move prod.tail");
const struct queue_impl bench_rte_rts =
	RTE_IMPL("mp-rts/sc", rte_setup_rts, 2, BENCH_MAX_PROD,
		 "RING_F_MP_RTS_ENQ: relaxed tail sync, the last producer out moves the tail "
		 "(DPDK's answer to preemption)");

#else /* !HAVE_DPDK */

#define RTE_SKIP(m)                                                                                \
	{                                                                                          \
		.name = "rte_ring", .mode = m,                                                     \
		.skipped = "dpdk-dev (pkg-config libdpdk) was not found by configure"              \
	}
const struct queue_impl bench_rte_spsc = RTE_SKIP("sp/sc");
const struct queue_impl bench_rte_mpsc = RTE_SKIP("mp/sc");
const struct queue_impl bench_rte_rts = RTE_SKIP("mp-rts/sc");

#endif
