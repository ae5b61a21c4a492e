/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What ring_bench's queues share: one run (the threads, the stop flag, the
 * consumer's verification) and the loops every queue's adapter instantiates.
 *
 * Every queue moves the same 32-byte struct lt_sample. A producer stamps
 * each record with its id (metric_id) and its own sequence number (ts_ns,
 * value and flags derived from it); the consumer checks, per producer, that
 * records arrive in order, intact and exactly once. Every queue here is
 * FIFO per producer, so any loss, duplicate or tear breaks that order.
 *
 * Each adapter (queues/<name>.c) provides enqueue/dequeue functions and
 * instantiates produce_loop()/consume_loop() with them: both are
 * always_inline, so the adapter's functions are called directly (and
 * inlined where the library allows), never through a pointer per item.
 */
#ifndef RING_BENCH_QUEUE_H
#define RING_BENCH_QUEUE_H

#include <liota/liota.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_MAX_PROD  8
#define BENCH_MAX_BATCH 64
/* Empty polls a consumer spends spinning before it yields its CPU. */
#define BENCH_SPINS 64

struct bench_run;

/* One queue in one mode ("ck_ring", "mpmc"). */
struct queue_impl {
	const char *name;
	const char *mode;
	const char *about;   /* one line for the report */
	const char *skipped; /* non-NULL: not built, and why */
	unsigned min_prod, max_prod;
	bool liotad;                       /* liotad's ring (the reference of the ratios) */
	bool sleeps;                       /* the consumer blocks when the queue is empty */
	int (*setup)(struct bench_run *r); /* r->q; negative errno */
	void (*teardown)(struct bench_run *r);
	void *(*producer)(void *worker);
	void *(*consumer)(void *worker);
	void (*wake)(struct bench_run *r); /* unblock sleepers after stop */
	/* Main thread, after the join: records still queued (must be 0). */
	uint64_t (*leftover)(struct bench_run *r);
};

struct worker {
	struct bench_run *run;
	unsigned id;     /* producer id; the consumer's is BENCH_MAX_PROD */
	uint64_t full;   /* producer: enqueue calls refused (queue full) */
	uint64_t sleeps; /* consumer: times it blocked */
	uint64_t thread_cpu_ns;
};

struct bench_run {
	const struct queue_impl *impl;
	unsigned nprod;
	unsigned batch;
	uint64_t per_prod; /* records each producer sends */
	uint64_t total;    /* nprod * per_prod */
	uint64_t capacity; /* records per producer (lane, or share of a shared queue) */
	void *q;           /* the adapter's queue */

	alignas(64) _Atomic unsigned ready;
	_Atomic int go;
	_Atomic int stop; /* watchdog: give up, every loop exits */

	/* Written by the consumer only; the watchdog reads progress. */
	alignas(64) _Atomic uint64_t received;
	_Atomic int done;
	uint64_t t_end_ns;
	uint64_t next[BENCH_MAX_PROD]; /* next sequence number expected per producer */
	uint64_t bad;                  /* records that broke the order */
	char error[160];               /* the first one */
};

uint64_t bench_now_ns(void);
/* Record the first verification error; sets stop. Cold path. */
void bench_fail(struct bench_run *r, const struct lt_sample *s, const char *why);

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * A consumer that finds its queue empty spins a little, then yields: with
 * more threads than CPUs, spinning alone would burn the time slice the
 * producers need. The same policy for every queue.
 */
static inline void bench_backoff(unsigned *spins)
{
	if (++*spins < BENCH_SPINS) {
		bench_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

static inline bool bench_stopped(struct bench_run *r)
{
	return atomic_load_explicit(&r->stop, memory_order_relaxed);
}

/* Wait for the start signal (all threads created and pinned). */
static inline void bench_wait_go(struct bench_run *r)
{
	unsigned spins = 0;

	atomic_fetch_add(&r->ready, 1);
	while (!atomic_load_explicit(&r->go, memory_order_acquire) && !bench_stopped(r))
		bench_backoff(&spins);
}

static inline void bench_make(struct lt_sample *s, unsigned p, uint64_t k)
{
	s->ts_ns = k;
	s->seq = k;
	s->value = (double)k;
	s->metric_id = p;
	s->flags = (uint32_t)(k * 2654435761u);
}

/* Consumer: check and count one record. */
static inline bool bench_check(struct bench_run *r, const struct lt_sample *s)
{
	uint32_t p = s->metric_id;
	uint64_t k = s->ts_ns;

	if (__builtin_expect(p >= r->nprod || k != r->next[p] || s->value != (double)k ||
				     s->flags != (uint32_t)(k * 2654435761u),
			     0)) {
		bench_fail(r, s, "out of order, lost, duplicated or torn");
		return false;
	}
	r->next[p] = k + 1;
	return true;
}

/*
 * Producer loop: send per_prod records in calls of @batch records. enq()
 * returns how many of the @n records it took (0 when the queue is full);
 * the rest is offered again, so nothing is dropped.
 */
typedef unsigned (*bench_enq_fn)(void *ctx, const struct lt_sample *s, unsigned n);

static inline __attribute__((always_inline)) void produce_loop(struct worker *w, void *ctx,
							       bench_enq_fn enq)
{
	struct bench_run *r = w->run;
	struct lt_sample items[BENCH_MAX_BATCH];
	uint64_t k = 0, full = 0;

	bench_wait_go(r);
	while (k < r->per_prod) {
		unsigned n = r->per_prod - k < r->batch ? (unsigned)(r->per_prod - k) : r->batch;
		unsigned sent = 0;

		for (unsigned i = 0; i < n; i++)
			bench_make(&items[i], w->id, k + i);
		while (sent < n) {
			unsigned got = enq(ctx, items + sent, n - sent);

			sent += got;
			if (got)
				continue;
			full++;
			if (bench_stopped(r))
				goto out;
			/*
			 * Full: only the consumer can help, and with more
			 * threads than CPUs it may be waiting for this one.
			 * The same for every queue. (A liotad sampler would
			 * drop the record and sleep until its next tick.)
			 */
			sched_yield();
		}
		k += n;
		if (bench_stopped(r))
			break;
	}
out:
	w->full = full;
}

/*
 * Consumer loop: deq() copies up to @max records into @out; idle() runs
 * when it found nothing: it spins, or sleeps.
 */
typedef unsigned (*bench_deq_fn)(void *ctx, struct lt_sample *out, unsigned max);
typedef void (*bench_idle_fn)(void *ctx, struct worker *w, unsigned *spins);

static inline __attribute__((always_inline)) void consume_loop(struct worker *w, void *ctx,
							       bench_deq_fn deq, bench_idle_fn idle)
{
	struct bench_run *r = w->run;
	struct lt_sample out[BENCH_MAX_BATCH];
	uint64_t got = 0;
	unsigned spins = 0;
	struct timespec ts;

	bench_wait_go(r);
	while (got < r->total) {
		unsigned n = deq(ctx, out, r->batch);

		if (n) {
			for (unsigned i = 0; i < n; i++)
				if (!bench_check(r, &out[i]))
					goto out;
			got += n;
			spins = 0;
			/* Progress for the watchdog: a relaxed store on a line only it reads. */
			atomic_store_explicit(&r->received, got, memory_order_relaxed);
			continue;
		}
		if (bench_stopped(r))
			break;
		idle(ctx, w, &spins);
	}
out:
	r->t_end_ns = bench_now_ns();
	atomic_store_explicit(&r->received, got, memory_order_relaxed);
	atomic_store_explicit(&r->done, 1, memory_order_release);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	w->thread_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_idle_spin(void *ctx, struct worker *w, unsigned *spins)
{
	bench_backoff(spins);
}

/* The adapters' tables (a missing library gives one entry with ->skipped). */
extern const struct queue_impl bench_liotad_sleep, bench_liotad_spin;
extern const struct queue_impl bench_ck_spsc, bench_ck_mpsc, bench_ck_mpmc;
extern const struct queue_impl bench_rte_spsc, bench_rte_mpsc, bench_rte_rts;
extern const struct queue_impl bench_wfcq;
extern const struct queue_impl bench_mutex;

#endif
