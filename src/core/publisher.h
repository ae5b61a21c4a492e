/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The publisher thread: drains the ring in batches, aggregates samples per
 * metric (liota's aggregation_size), hands each full batch to every DCC of
 * the metric and drives the DCCs' non-blocking I/O in one poll loop. It
 * never blocks on a socket: DCCs queue and write without blocking.
 */
#ifndef LT_PUBLISHER_H
#define LT_PUBLISHER_H

#include "model.h"
#include "ring.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Per metric, with the metric's own fields the hot loop needs (one cache line). */
struct lt_agg {
	struct lt_sample *buf; /* size samples; NULL when size is 1 */
	unsigned n;
	unsigned size; /* metric->aggregation */
	struct lt_metric *metric;
};

struct publisher {
	struct lt_model *model;
	struct lt_ring *ring;
	struct lt_agg *agg; /* per metric id (model_id_bound()); metric NULL in a hole */
	uint32_t nagg;
	struct lt_sample *batch;
	size_t batch_max;
	struct pollfd *pfds;
	int64_t *deadlines; /* per DCC: its timer, CLOCK_MONOTONIC ns */
	pthread_t thread;
	bool started;
	int stop_fd; /* eventfd: wakes the thread to stop */
	_Atomic bool stop;
	/* publisher_pause(): the thread parks at a safe point until resumed */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	_Atomic bool pause;
	bool parked;               /* under park_lock */
	_Atomic uint64_t consumed; /* records taken from the ring */
	_Atomic uint64_t invalid;  /* records naming no metric (never expected) */
	struct lt_beat beat;       /* busy except while waiting in ppoll() */
};

int publisher_init(struct publisher *p, struct lt_model *m, struct lt_ring *ring);
void publisher_destroy(struct publisher *p);
/* Aggregate @n samples and publish every batch that becomes full. */
void publisher_feed(struct publisher *p, const struct lt_sample *s, size_t n);
/* Publish the partial batches (on stop: nothing waits for samples that won't come). */
void publisher_flush_partial(struct publisher *p);
int publisher_start(struct publisher *p);
/*
 * Stop: the caller has stopped every producer first. The thread drains the
 * ring, publishes partial batches and lets each DCC flush until
 * @flush_timeout_ns has passed, then exits.
 */
void publisher_stop(struct publisher *p, uint64_t flush_timeout_ns);

/*
 * Live changes (daemon_apply()). publisher_pause() wakes the thread and
 * returns once it is parked between two drains; until publisher_resume()
 * the caller owns what the thread owns: the ring's consumer side, the
 * aggregation table and every DCC of the model. Samplers keep writing into
 * their lanes meanwhile.
 */
void publisher_pause(struct publisher *p);
void publisher_resume(struct publisher *p);
/* While paused: feed everything the ring holds now. */
void publisher_drain(struct publisher *p);
/* While paused: publish @mt's partial batch (the metric is going away). */
void publisher_flush_metric(struct publisher *p, struct lt_metric *mt);
/*
 * While paused: take @m as the model. A metric object found in the old
 * table under its id keeps its partial batch; the others get new batches,
 * and the old ones not taken (flushed before) are freed.
 */
void publisher_adopt(struct publisher *p, struct lt_model *m);

#endif
