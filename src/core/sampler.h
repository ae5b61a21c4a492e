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
#include "schedule.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/*
 * Per metric of the device, private to the sampler thread (16 bytes:
 * 10,000 metrics keep 10,000; the state of filters is in struct lt_filter).
 */
struct sampler_metric {
	uint64_t next;    /* next deadline, CLOCK_MONOTONIC ns */
	unsigned pending; /* samples pushed since the metric's last complete batch */
	bool late;        /* ticks were skipped before the next sample */
};

/* The driver callbacks a sampler calls, as sampler_stuck() names them. */
enum sampler_call {
	SAMPLER_CALL_NONE,
	SAMPLER_CALL_OPEN,
	SAMPLER_CALL_READ,
	SAMPLER_CALL_DISPATCH,
	SAMPLER_CALL_CLOSE,
};

struct sampler {
	struct lt_device *dev;
	struct lt_ring *ring;
	unsigned lane;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	struct sampler_metric *met; /* dev->nmetrics of them, while started */
	bool lost;                  /* a read said -ENODEV: close and reopen */
	struct lt_beat beat;        /* the driver call in progress (enum sampler_call) */
	/*
	 * Read start - deadline, of every read of the device's metrics since
	 * the thread started; read by other threads (status). One per device,
	 * not per metric: the metrics of a tick are read one after the other
	 * by this one thread, so their lateness is the device's; per metric it
	 * was 304 bytes each, most of a 10,000-metric daemon's memory.
	 */
	struct lt_lateness lat;
};

/* What lt_emit() adds to during one dispatch call. */
struct sampler_emit {
	struct sampler *s;
	struct lt_ring_producer *p;
	unsigned pushed;
	bool batch_due;
};

/* Install the no-op signal handler used to interrupt sleeping samplers. */
void sampler_signals_init(void);
/*
 * Run the sampler threads started from now on under SCHED_FIFO at @prio
 * (1..99; 0, the default, keeps SCHED_OTHER). Needs CAP_SYS_NICE or an
 * RLIMIT_RTPRIO: without it sampler_start() fails with -EPERM.
 */
void sampler_set_rt_priority(int prio);
/*
 * Make sampler threads started from now on wake @ns before each deadline
 * and busy-wait to it (0, the default: sleep to the deadline). Lateness then
 * no longer includes the machine's timer wake-up latency; the price is up
 * to @ns of CPU per sampling tick.
 */
void sampler_set_spin(uint64_t ns);
/* Retry a device's open every @ns (default 5 s); for tests. */
void sampler_set_open_retry(uint64_t ns);
/* The least time a call must last to be "stuck" (default 2 s, see sampler_stuck()); for tests. */
void sampler_set_stuck_min(uint64_t ns);
/*
 * sampler_stuck - whether the device of @s has been in one driver call
 * (open, read, dispatch, close) for longer than twice its shortest
 * interval, and at least 2 s, at @now_ns (CLOCK_MONOTONIC): then @buf says
 * so ("stuck in read for 12 s"). A stuck sampler takes no sample of any of
 * its metrics. Any thread, while @s is started.
 */
bool sampler_stuck(const struct sampler *s, uint64_t now_ns, char *buf, size_t len);
/* Start the thread of @s (dev, ring and lane set by the caller). */
int sampler_start(struct sampler *s);
/*
 * Ask the thread to stop, without waiting: a caller stopping several
 * samplers asks them all first, so that their drivers' last attempts
 * overlap. Safe if never started.
 */
void sampler_request_stop(struct sampler *s);
/* Ask the thread to stop and wait for it; safe if never started. */
void sampler_stop(struct sampler *s);

/*
 * One pass over the device's metrics: read every metric due at @now, push
 * the samples and commit. Returns the earliest next deadline. Exposed for
 * tests; the thread calls it in its loop with @s->met allocated.
 */
uint64_t sampler_tick(struct sampler *s, struct lt_ring_producer *p, uint64_t now);
/*
 * Let the device's dispatch callback handle @revents (0: its timer), with
 * lt_emit() pushing into @p, then commit. Returns what dispatch returned.
 */
int sampler_dispatch(struct sampler *s, struct lt_ring_producer *p, short revents, uint64_t now);

#endif
