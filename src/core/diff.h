/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The difference between the running model and a new one: what a reload
 * (and later a udev event, which is a model with one device more or less)
 * starts, restarts, stops or keeps. Pure: it reads both models and
 * changes neither.
 *
 * "Changed" means:
 *   - a DCC whose section's keys changed restarts (a new instance; every
 *     entity registered with it registers again with the new one);
 *   - a device restarts, as one with all its metrics, when its section's keys
 *     or any of its metrics' keys changed, a metric was added or removed,
 *     or a metric's DCCs (by name) changed: a metric without a "dcc" key
 *     publishes to every DCC, so adding or removing a DCC restarts it.
 *     Every sample is counted once per DCC of its metric (daemon.h), which
 *     stays exact only if a running metric's DCCs do not change; a DCC
 *     that restarts (same name) is no change for its metrics;
 *   - [daemon] or [edge] changed (ring size, edge name...): the whole
 *     configuration restarts (@whole), as every reload did before.
 * Objects are matched by name (DCC, device) and full name (metric).
 */
#ifndef LT_DIFF_H
#define LT_DIFF_H

#include "model.h"

enum lt_change {
	LT_KEEP,    /* the running object carries on untouched */
	LT_START,   /* new: only in the new model */
	LT_RESTART, /* in both, changed: the old one stops, the new one starts */
	LT_STOP,    /* only in the old model */
};

struct lt_diff {
	bool whole;       /* [daemon] or [edge] changed: restart everything */
	bool lanes_short; /* more devices than the ring has lanes */
	unsigned nstart, nrestart, nstop, nkeep; /* devices, for the log */
	unsigned dstart, drestart, dstop, dkeep; /* DCCs */
	/* per DCC of the new model: KEEP, START or RESTART; its old index or -1 */
	enum lt_change *dcc;
	int *dcc_old;
	enum lt_change *old_dcc; /* per DCC of the old model: KEEP, RESTART or STOP */
	/* the same for devices */
	enum lt_change *dev;
	int *dev_old;
	enum lt_change *old_dev;
	unsigned *lane;      /* per new device: its ring lane (kept, or a free one) */
	uint32_t *metric_id; /* per new metric: its id (kept, or one no old metric had) */
};

/*
 * Compare @old (running, on a ring of @nlanes lanes) and @nm. Ids of kept
 * metrics stay; new metrics take the lowest ids no metric of @old had, so
 * that a record of a removed metric can never be read as another one's.
 * Kept and restarted devices keep their lane, new ones take the lowest free
 * lane (a removed device's lane is free: its sampler is stopped and its
 * records drained before a new one starts). Returns 0 (free with
 * lt_diff_free()).
 */
int lt_diff_compute(const struct lt_model *old, const struct lt_model *nm, unsigned nlanes,
		    struct lt_diff *out);
void lt_diff_free(struct lt_diff *d);

#endif
