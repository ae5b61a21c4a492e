/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The queue a naive daemon writes: one circular buffer under a mutex, a
 * condition variable for "not empty" and one for "not full". Producers
 * block when it is full (no drops), the consumer blocks when it is empty.
 * Batch 32: one lock per 32 records on both sides. Capacity nprod *
 * capacity records, like the other shared queues.
 */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mq {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	uint64_t head, tail, cap;
	struct bench_run *run;
	struct lt_sample *buf;
};

static int mq_setup(struct bench_run *r)
{
	struct mq *q = aligned_alloc(64, sizeof(*q));

	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	q->cap = r->capacity * r->nprod;
	q->buf = aligned_alloc(64, q->cap * sizeof(*q->buf));
	if (!q->buf) {
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_cond_init(&q->nonfull, NULL);
	q->run = r;
	r->q = q;
	return 0;
}

static void mq_teardown(struct bench_run *r)
{
	struct mq *q = r->q;

	pthread_cond_destroy(&q->nonfull);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->buf);
	free(q);
	r->q = NULL;
}

/* A bounded wait (100 ms) so a stopped run cannot hang on a lost signal. */
static void mq_wait(pthread_cond_t *cond, pthread_mutex_t *lock)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cond, lock, &ts);
}

static unsigned mq_enq(void *ctx, const struct lt_sample *s, unsigned n)
{
	struct mq *q = ctx;
	unsigned i;

	pthread_mutex_lock(&q->lock);
	while (q->head - q->tail == q->cap && !bench_stopped(q->run))
		mq_wait(&q->nonfull, &q->lock);
	for (i = 0; i < n && q->head - q->tail < q->cap; i++)
		q->buf[q->head++ % q->cap] = s[i];
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
	return i;
}

static unsigned mq_deq(void *ctx, struct lt_sample *out, unsigned max)
{
	struct mq *q = ctx;
	bool was_full;
	unsigned i;

	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail && !bench_stopped(q->run))
		mq_wait(&q->nonempty, &q->lock);
	was_full = q->head - q->tail == q->cap;
	for (i = 0; i < max && q->tail != q->head; i++)
		out[i] = q->buf[q->tail++ % q->cap];
	if (was_full && i)
		pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
	return i;
}

static void *mq_producer(void *arg)
{
	struct worker *w = arg;

	produce_loop(w, w->run->q, mq_enq);
	return NULL;
}

static void *mq_consumer(void *arg)
{
	struct worker *w = arg;

	consume_loop(w, w->run->q, mq_deq, bench_idle_spin);
	return NULL;
}

static void mq_wake(struct bench_run *r)
{
	struct mq *q = r->q;

	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->nonempty);
	pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
}

static uint64_t mq_leftover(struct bench_run *r)
{
	struct mq *q = r->q;

	return q->head - q->tail;
}

const struct queue_impl bench_mutex = {
	.name = "mutex+cond",
	.mode = "shared",
	.about = "circular buffer under a pthread mutex, condition variables for not-empty and "
		 "not-full",
	.min_prod = 1,
	.max_prod = BENCH_MAX_PROD,
	.sleeps = true,
	.setup = mq_setup,
	.teardown = mq_teardown,
	.producer = mq_producer,
	.consumer = mq_consumer,
	.wake = mq_wake,
	.leftover = mq_leftover,
};
