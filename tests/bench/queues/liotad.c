/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotad's ring as the daemon uses it: one lane per producer; batch 1 is
 * push + commit per record, batch 32 is 32 pushes then one commit. The
 * consumer either follows the daemon's sleep protocol (prepare_sleep, poll
 * on the eventfd, wake_ack) or spins: the two give the protocol's cost.
 */
#include "queue.h"
#include "ring.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

static int liotad_setup(struct bench_run *r)
{
	return lt_ring_new(r->nprod, r->capacity, 1, (struct lt_ring **)&r->q);
}

static void liotad_teardown(struct bench_run *r)
{
	lt_ring_free(r->q);
	r->q = NULL;
}

static unsigned liotad_enq(void *ctx, const struct lt_sample *s, unsigned n)
{
	struct lt_ring_producer *p = ctx;

	for (unsigned i = 0; i < n; i++) {
		if (!lt_ring_push(p, &s[i])) {
			/* Full: publish what we have so the consumer can make room. */
			lt_ring_commit(p);
			return i;
		}
	}
	lt_ring_commit(p);
	return n;
}

static void *liotad_producer(void *arg)
{
	struct worker *w = arg;
	struct lt_ring_producer p;

	if (lt_ring_producer_init(w->run->q, w->id, &p) < 0) {
		bench_fail(w->run, NULL, "lt_ring_producer_init failed");
		return NULL;
	}
	produce_loop(w, &p, liotad_enq);
	return NULL;
}

static unsigned liotad_deq(void *ctx, struct lt_sample *out, unsigned max)
{
	return (unsigned)lt_ring_consume(ctx, out, max);
}

/* The daemon's protocol; the poll timeout only bounds a run that was stopped. */
static void liotad_idle_sleep(void *ctx, struct worker *w, unsigned *spins)
{
	struct lt_ring *ring = ctx;
	struct pollfd pfd = { .fd = lt_ring_eventfd(ring), .events = POLLIN };

	if (!lt_ring_prepare_sleep(ring))
		return;
	w->sleeps++;
	poll(&pfd, 1, 100);
	lt_ring_wake_ack(ring);
}

static void *liotad_consumer_sleep(void *arg)
{
	struct worker *w = arg;

	consume_loop(w, w->run->q, liotad_deq, liotad_idle_sleep);
	return NULL;
}

static void *liotad_consumer_spin(void *arg)
{
	struct worker *w = arg;

	consume_loop(w, w->run->q, liotad_deq, bench_idle_spin);
	return NULL;
}

static void liotad_wake(struct bench_run *r)
{
	uint64_t one = 1;

	(void)!write(lt_ring_eventfd(r->q), &one, sizeof(one));
}

static uint64_t liotad_leftover(struct bench_run *r)
{
	uint64_t n = 0;

	for (unsigned l = 0; l < r->nprod; l++)
		n += lt_ring_lane_fill(r->q, l);
	return n;
}

const struct queue_impl bench_liotad_sleep = {
	.name = "liotad",
	.mode = "lanes+sleep",
	.about = "one SPSC lane per producer; consumer sleeps on the eventfd when all lanes are "
		 "empty (the daemon's mode)",
	.min_prod = 1,
	.max_prod = BENCH_MAX_PROD,
	.liotad = true,
	.sleeps = true,
	.setup = liotad_setup,
	.teardown = liotad_teardown,
	.producer = liotad_producer,
	.consumer = liotad_consumer_sleep,
	.wake = liotad_wake,
	.leftover = liotad_leftover,
};

const struct queue_impl bench_liotad_spin = {
	.name = "liotad",
	.mode = "lanes+spin",
	.about = "the same ring, consumer spinning (never sleeps): the reference for the sleep "
		 "protocol's cost",
	.min_prod = 1,
	.max_prod = BENCH_MAX_PROD,
	.liotad = true,
	.setup = liotad_setup,
	.teardown = liotad_teardown,
	.producer = liotad_producer,
	.consumer = liotad_consumer_spin,
	.wake = liotad_wake,
	.leftover = liotad_leftover,
};
