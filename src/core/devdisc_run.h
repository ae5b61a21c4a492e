/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message in the daemon's main loop: the endpoint
 * ([discovery] pipe) opened as the running model says, its messages
 * parsed (devdisc.h) into the set of discovered devices that udev's share
 * (discover.h), whose bursts the main loop applies; refusals logged with a
 * limit; the state file read at start and written after each change.
 * Main thread only.
 */
#ifndef LT_DEVDISC_RUN_H
#define LT_DEVDISC_RUN_H

#include <limits.h>
#include <stdint.h>

#include "devdisc.h"
#include "devdisc_pipe.h"
#include "discover.h"
#include "model.h"

/* Bytes read from the pipe per wake-up at most: a flood cannot hold the loop. */
#define LT_DEVDISC_READ_MAX (256 * 1024)

struct devdisc_run {
	struct lt_discovery *disc;
	const struct lt_model *model; /* the running one while reading: its discovery types */
	struct lt_devdisc_pipe *pipe;
	struct lt_devdisc_limit refusals, notes;
	uint64_t saved; /* disc->msg_changes when last saved */
	struct lt_devdisc_msg msg;
};

void devdisc_run_init(struct devdisc_run *r, struct lt_discovery *disc);
void devdisc_run_close(struct devdisc_run *r);

/*
 * At start, with the first model (@m: its state_dir): the devices saved
 * before are added to the discovered set. Returns how many (the caller
 * builds the model again with them); a broken state file is logged and
 * ignored.
 */
int devdisc_restore(struct devdisc_run *r, const struct lt_model *m);

/*
 * The running model is @m now: open, keep or close the pipe as its
 * [discovery] says. Returns 0, or -1 when the pipe cannot be opened (logged
 * with its reason; the daemon runs on without it).
 */
int devdisc_sync(struct devdisc_run *r, const struct lt_model *m);

/* The pipe's descriptor for poll(), -1: none. */
int devdisc_fd(const struct devdisc_run *r);
/* The pipe is readable: read a bounded amount, take its messages by the types of @m, running. */
void devdisc_read(struct devdisc_run *r, const struct lt_model *m);
/* When a suppressed count is to be logged (CLOCK_MONOTONIC ns), UINT64_MAX: never. */
uint64_t devdisc_due(const struct devdisc_run *r);
/* Log the counts due by @now_ns. */
void devdisc_tick(struct devdisc_run *r, uint64_t now_ns);
/* After a burst was applied: write the state file when messages changed the set. */
void devdisc_save(struct devdisc_run *r);

#endif
