/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sampler threads: one per device. Each polls its device's metrics on their
 * absolute schedules and pushes samples into its own ring lane. A sampler
 * never blocks on the network and takes no lock the publisher holds.
 */
#ifndef LT_SAMPLER_H
#define LT_SAMPLER_H

#include "model.h"
#include "ring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct sampler {
	struct lt_device *dev;
	struct lt_ring *ring;
	unsigned lane;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	uint64_t *next; /* per metric: next deadline, CLOCK_MONOTONIC ns */
	bool *late;     /* per metric: ticks were skipped before the next sample */
};

/* Install the no-op signal handler used to interrupt sleeping samplers. */
void sampler_signals_init(void);
/* Start the thread of @s (dev, ring and lane set by the caller). */
int sampler_start(struct sampler *s);
/* Ask the thread to stop and wait for it; safe if never started. */
void sampler_stop(struct sampler *s);

/*
 * One pass over the device's metrics: read every metric due at @now, push
 * the samples and commit. Returns the earliest next deadline. Exposed for
 * tests; the thread calls it in its loop.
 */
uint64_t sampler_tick(struct sampler *s, struct lt_ring_producer *p, uint64_t now);

#endif
