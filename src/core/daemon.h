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

struct lt_totals {
	uint64_t taken;     /* samples read from devices */
	uint64_t published; /* lines/messages written to DCC transports (all DCCs) */
	uint64_t dropped;   /* ring overflow + DCC queue drops */
	uint64_t errors;    /* device read errors */
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
 * What the watchdog must not cover: the name of a thread that has been in
 * one piece of work (a device read, a round of DCC work) for @limit_ns or
 * more at @now_ns ("publisher", or the device of a sampler), with that time
 * in *@busy_ns; NULL when every thread waits or works for less. Threads
 * that wait for their next deadline or event are healthy however long.
 */
const char *daemon_stalled(const struct daemon *d, uint64_t now_ns, uint64_t limit_ns,
			   uint64_t *busy_ns);
/* Current counters of a running daemon. */
void daemon_totals(const struct daemon *d, struct lt_totals *t);

#endif
