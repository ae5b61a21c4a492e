/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A running configuration: the ring, one sampler per device, the publisher
 * and the DCCs with their registrations. Started and stopped by the main
 * thread at start and exit; a reload applies the difference to it
 * (daemon_apply(), src/core/apply.c).
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
	uint64_t filtered;   /* of those, kept back by their metric's filters: never delivered */
	uint64_t deliveries; /* (taken - filtered) x the DCCs of each sample's metric */
	uint64_t published;
	uint64_t dropped;
	uint64_t pending;
	uint64_t errors; /* device read errors */
	/* Durable spools: deliveries + recovered = published + dropped + pending + spooled. */
	uint64_t recovered; /* found in the spools at start */
	uint64_t spooled;   /* in the spools now (after a stop: kept for the next start) */
};

/*
 * The raw counters of the metrics and DCC instances a live reload stopped
 * while the daemon runs on (daemon_apply()): daemon_totals() adds them to
 * those of the running objects, so that the identity above holds across
 * reloads (a sample handed to a DCC that has since stopped is in that DCC's
 * counters here, while its metric may still run).
 */
struct lt_gone {
	uint64_t taken, deliveries, lost, errors;     /* stopped metrics */
	uint64_t filtered;                            /* ... their filters kept back */
	uint64_t handed, published, dropped, pending; /* stopped DCC instances */
	uint64_t recovered, spooled; /* theirs; a successor recovers what they spooled */
};

struct daemon {
	struct lt_model *model;
	struct lt_gone gone;
	struct lt_ring *ring;
	struct sampler **samplers; /* one per device of the model, in its order */
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
 * one piece of work (a device call, a round of DCC work) for @limit_ns or
 * more at @now_ns ("publisher", or the device of a sampler), with that time
 * in *@busy_ns; NULL when every thread waits or works for less. Threads
 * that wait for their next deadline or event are healthy however long.
 */
const char *daemon_stalled(const struct daemon *d, uint64_t now_ns, uint64_t limit_ns,
			   uint64_t *busy_ns);
/*
 * Current counters of a running daemon. Read while samples move, they may
 * be off by the samples that moved during the reading; exact once stopped.
 */
void daemon_totals(const struct daemon *d, struct lt_totals *t);
/* @acc += @t */
void daemon_totals_add(struct lt_totals *acc, const struct lt_totals *t);

/*
 * Apply @nm to the running daemon as a difference (diff.h): only new,
 * changed and removed DCCs and devices start, restart or stop; the others
 * run on untouched (samplers, lanes, DCC connections, queues, counters,
 * registrations). This is the one way a running daemon changes: SIGHUP
 * calls it with the reloaded model, udev discovery with the running model
 * plus or minus one device.
 * Returns 0: @nm is now d->model, holding the kept objects; the caller
 * frees the previous model, which now holds the stopped objects and the
 * unused copies of the kept ones. -EAGAIN: [daemon] or [edge] changed, or
 * the ring has too few free lanes; nothing changed: the caller restarts
 * the whole daemon. Another negative errno: a new or changed DCC could not
 * start (err says which); nothing changed and @nm is the caller's to free.
 * A device whose sampler cannot start is reported and left stopped; the
 * rest goes on. The counters of what stopped stay in daemon_totals() (d->gone).
 * On success err holds a summary of what changed, for the log.
 */
int daemon_apply(struct daemon *d, struct lt_model *nm, uint64_t generation, char *err,
		 size_t errlen);

/* For apply.c: registration of what is not registered yet, and removal of one. */
void daemon_register_missing(struct lt_model *m);
void daemon_unreg(struct lt_dcc *dcc, struct lt_reg *r);
/* Lanes a ring gets beyond its devices, for devices a reload adds. */
unsigned daemon_spare_lanes(unsigned ndevices);

#endif
