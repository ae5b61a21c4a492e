/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liburcu's wait-free concurrent queue (wfcqueue): multi-producer by
 * nature, unbounded, made of nodes. To compare like with like, each
 * producer takes its nodes from its own pool of @capacity nodes, and the
 * consumer hands them back through a per-producer counter: memory is
 * bounded as in the rings, and a producer whose nodes are all in flight
 * sees a "full" queue. The consumer hands nodes back 32 at a time (and
 * whenever the queue is empty), so the counter's cache line does not
 * bounce once per record between the consumer and a waiting producer:
 * the rings hand slots back once per dequeue call, no more. Batch 32: the producer links 32 nodes
 * in a private queue and splices them in with one exchange; the consumer splices out everything
 * queued and takes it 32 at a time. Batch 1: cds_wfcq_enqueue and one dequeue per call. One
 * consumer, so no dequeue lock. The consumer uses the non-blocking dequeue and splice: the blocking
 * ones, after 10 polls of a node whose producer has exchanged the tail but not linked the node yet,
 * sleep 10 ms in poll(), which stalled runs here; non-blocking, the consumer backs off like every
 * other consumer of this benchmark. The library's functions are called (no _LGPL_SOURCE inlining).
 */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_URCU
#include <urcu/wfcqueue.h>

struct wnode {
	struct cds_wfcq_node node;
	struct lt_sample s;
};

struct wpool {
	alignas(64) _Atomic uint64_t consumed; /* written by the consumer */
	alignas(64) struct wnode *nodes;       /* read-only after setup */
};

struct wq {
	alignas(64) struct __cds_wfcq_head head;
	alignas(64) struct cds_wfcq_tail tail;
	alignas(64) struct __cds_wfcq_head priv_head; /* consumer's batch */
	struct cds_wfcq_tail priv_tail;
	uint64_t mask;
	uint64_t taken[BENCH_MAX_PROD];  /* consumer-private: nodes copied out */
	uint64_t handed[BENCH_MAX_PROD]; /* consumer-private: taken, as last published */
	struct wpool pool[BENCH_MAX_PROD];
};

#define WFCQ_HANDBACK 32

/* A producer's private state. */
struct wprod {
	struct wq *q;
	struct wpool *pool;
	uint64_t k;      /* records handed to the queue */
	uint64_t cached; /* consumed, as last seen */
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
};

static int wfcq_setup(struct bench_run *r)
{
	struct wq *q = aligned_alloc(64, sizeof(*q));

	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	__cds_wfcq_init(&q->head, &q->tail);
	__cds_wfcq_init(&q->priv_head, &q->priv_tail);
	q->mask = r->capacity - 1;
	for (unsigned p = 0; p < r->nprod; p++) {
		q->pool[p].nodes = aligned_alloc(64, r->capacity * sizeof(struct wnode));
		if (!q->pool[p].nodes) {
			while (p--)
				free(q->pool[p].nodes);
			free(q);
			return -ENOMEM;
		}
		memset(q->pool[p].nodes, 0, r->capacity * sizeof(struct wnode));
	}
	r->q = q;
	return 0;
}

static void wfcq_teardown(struct bench_run *r)
{
	struct wq *q = r->q;

	for (unsigned p = 0; p < r->nprod; p++)
		free(q->pool[p].nodes);
	free(q);
	r->q = NULL;
}

static unsigned wfcq_enq(void *ctx, const struct lt_sample *s, unsigned n)
{
	struct wprod *w = ctx;
	uint64_t cap = w->q->mask + 1;
	unsigned i;

	if (w->k + n - w->cached > cap) {
		/* Acquire: the consumer is done with the nodes it handed back. */
		w->cached = atomic_load_explicit(&w->pool->consumed, memory_order_acquire);
		if (w->k - w->cached >= cap)
			return 0;
		if (w->k + n - w->cached > cap)
			n = (unsigned)(cap - (w->k - w->cached));
	}
	if (n == 1) {
		struct wnode *node = &w->pool->nodes[w->k & w->q->mask];

		cds_wfcq_node_init(&node->node);
		node->s = *s;
		cds_wfcq_enqueue(&w->q->head, &w->q->tail, &node->node);
		w->k++;
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct wnode *node = &w->pool->nodes[(w->k + i) & w->q->mask];

		cds_wfcq_node_init(&node->node);
		node->s = s[i];
		cds_wfcq_enqueue(&w->head, &w->tail, &node->node);
	}
	__cds_wfcq_splice_blocking(&w->q->head, &w->q->tail, &w->head, &w->tail);
	w->k += n;
	return n;
}

static void *wfcq_producer(void *arg)
{
	struct worker *wk = arg;
	struct wq *q = wk->run->q;
	struct wprod w = { .q = q, .pool = &q->pool[wk->id] };

	__cds_wfcq_init(&w.head, &w.tail);
	produce_loop(wk, &w, wfcq_enq);
	return NULL;
}

/* Release: our copies of the nodes are done before the producer reuses them. */
static inline void wfcq_handback(struct wq *q, uint32_t p)
{
	q->handed[p] = q->taken[p];
	atomic_store_explicit(&q->pool[p].consumed, q->taken[p], memory_order_release);
}

/* Copy the record out; give nodes back to their producer now and then. */
static inline void wfcq_take(struct wq *q, struct cds_wfcq_node *node, struct lt_sample *out)
{
	struct wnode *wn = caa_container_of(node, struct wnode, node);
	uint32_t p = wn->s.metric_id;

	*out = wn->s;
	if (p < BENCH_MAX_PROD && ++q->taken[p] - q->handed[p] >= WFCQ_HANDBACK)
		wfcq_handback(q, p);
}

/* Nothing queued: give back every node still held, or a producer may wait forever. */
static void wfcq_handback_all(struct wq *q)
{
	for (uint32_t p = 0; p < BENCH_MAX_PROD; p++)
		if (q->taken[p] != q->handed[p])
			wfcq_handback(q, p);
}

static unsigned wfcq_deq(void *ctx, struct lt_sample *out, unsigned max)
{
	struct wq *q = ctx;
	struct cds_wfcq_node *node;
	unsigned n = 0;

	if (max == 1) {
		node = __cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);
		if (!node || node == CDS_WFCQ_WOULDBLOCK) {
			wfcq_handback_all(q);
			return 0;
		}
		wfcq_take(q, node, out);
		return 1;
	}
	if (cds_wfcq_empty(&q->priv_head, &q->priv_tail) &&
	    (cds_wfcq_empty(&q->head, &q->tail) ||
	     __cds_wfcq_splice_nonblocking(&q->priv_head, &q->priv_tail, &q->head, &q->tail) ==
		     CDS_WFCQ_RET_WOULDBLOCK)) {
		wfcq_handback_all(q);
		return 0;
	}
	while (n < max) {
		node = __cds_wfcq_dequeue_nonblocking(&q->priv_head, &q->priv_tail);
		if (!node || node == CDS_WFCQ_WOULDBLOCK)
			break;
		wfcq_take(q, node, &out[n++]);
	}
	return n;
}

static void *wfcq_consumer(void *arg)
{
	struct worker *w = arg;

	consume_loop(w, w->run->q, wfcq_deq, bench_idle_spin);
	return NULL;
}

static uint64_t wfcq_leftover(struct bench_run *r)
{
	struct wq *q = r->q;
	uint64_t n = 0;

	/* Producers are gone: every node is linked, blocking cannot wait. */
	while (__cds_wfcq_dequeue_blocking(&q->priv_head, &q->priv_tail))
		n++;
	while (__cds_wfcq_dequeue_blocking(&q->head, &q->tail))
		n++;
	return n;
}

const struct queue_impl bench_wfcq = {
	.name = "urcu wfcq",
	.mode = "mpsc",
	.about = "liburcu wfcqueue (wait-free enqueue by exchange); nodes from per-producer pools "
		 "of the same capacity",
	.min_prod = 1,
	.max_prod = BENCH_MAX_PROD,
	.setup = wfcq_setup,
	.teardown = wfcq_teardown,
	.producer = wfcq_producer,
	.consumer = wfcq_consumer,
	.leftover = wfcq_leftover,
};

#else /* !HAVE_URCU */

const struct queue_impl bench_wfcq = {
	.name = "urcu wfcq",
	.mode = "mpsc",
	.skipped = "liburcu-dev (pkg-config liburcu-cds) was not found by configure",
};

#endif
