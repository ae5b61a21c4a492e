/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A running configuration: the ring, one sampler per device, the publisher
 * and the DCCs with their registrations. Started and stopped as a whole by
 * the main thread (at start, at exit and on reload).
 */
#ifndef LT_DAEMON_H
#define LT_DAEMON_H

#include "model.h"
#include "publisher.h"
#include "ring.h"
#include "sampler.h"

/*
 * Counted per sample (taken, errors) and per delivery, one sample to one
 * of its metric's DCCs: a sample of a metric that goes to two DCCs makes
 * two deliveries. Each delivery is, at any time, exactly one of published
 * (sent by its DCC), dropped (ring lane full, DCC queue full, not
 * registered, not deliverable, or still queued when its DCC stopped) or
 * pending (in the ring, in a partial aggregation batch, in a DCC's queue):
 * deliveries = published + dropped + pending, and pending is 0 after a stop.
 */
struct lt_totals {
	uint64_t taken;      /* samples read from devices */
	uint64_t deliveries; /* taken x the DCCs of each sample's metric */
	uint64_t published;
	uint64_t dropped;
	uint64_t pending;
	uint64_t errors; /* device read errors */
};

struct daemon {
	struct lt_model *model;
	struct lt_ring *ring;
	struct sampler *samplers; /* one per device, lane i for device i */
	struct publisher pub;
	uint64_t started_mono_ns;
};

/*
 * Start @model (the daemon does not own it): create the ring, start and
 * register with every DCC, start the publisher and the samplers.
 * On failure nothing is left running and err says why.
 */
int daemon_start(struct lt_model *model, uint64_t generation, struct daemon **out, char *err,
		 size_t errlen);
/* Stop everything (draining the ring and flushing DCCs), add the counters to @acc, free @d. */
void daemon_stop(struct daemon *d, struct lt_totals *acc);
/*
 * Current counters of a running daemon. Read while samples move, they may
 * be off by the samples that moved during the reading; exact once stopped.
 */
void daemon_totals(const struct daemon *d, struct lt_totals *t);
/* @acc += @t */
void daemon_totals_add(struct lt_totals *acc, const struct lt_totals *t);

#endif
