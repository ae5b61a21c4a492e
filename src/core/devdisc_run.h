/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message in the daemon's main loop: the endpoints
 * ([discovery] pipe, and mqtt.* in devdisc_mqtt.c) opened as the running
 * model says, its messages
 * parsed (devdisc.h) into the set of discovered devices that udev's share
 * (discover.h), whose bursts the main loop applies; refusals logged with a
 * limit; the state file read at start and written after each change.
 * Main thread only.
 */
#ifndef LT_DEVDISC_RUN_H
#define LT_DEVDISC_RUN_H

#include <limits.h>
#include <poll.h>
#include <stdbool.h>
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
	/* the MQTT endpoint: transport-mqtt's client, NULL: none */
	const struct lt_mqtt_api *mq;
	struct lt_mqtt *mqtt;
	char *mqtt_canon; /* the model's discovery.mqtt_canon it was opened with, copied */
	char *mqtt_from;  /* "mqtt topic TOPIC", for the log */
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
/*
 * One message from endpoint @from ("pipe", "mqtt topic T"), @len bytes at
 * @buf, @too_long: it was longer than LT_DEVDISC_MSG_MAX (@buf holds its
 * start): parsed by the types of the running model, as set by
 * devdisc_read() or devdisc_mqtt_dispatch(). For the endpoints only.
 */
void devdisc_take(struct devdisc_run *r, const char *from, const char *buf, size_t len,
		  bool too_long);

/*
 * The MQTT endpoint (devdisc_mqtt.c): devdisc_sync() opens, keeps or
 * closes it as @m's [discovery] mqtt.* says; the main loop polls it.
 */
int devdisc_mqtt_sync(struct devdisc_run *r, const struct lt_model *m);
void devdisc_mqtt_close(struct devdisc_run *r);
/* Fill @pfd (fd -1: none) and lower *@deadline_ns (CLOCK_MONOTONIC) for its timers. */
void devdisc_mqtt_poll(struct devdisc_run *r, struct pollfd *pfd, int64_t *deadline_ns);
/* Its I/O (@revents of that descriptor) and timers; messages are taken by @m's types. */
void devdisc_mqtt_dispatch(struct devdisc_run *r, const struct lt_model *m, short revents);

/* Messages changed the discovered set since it was last saved. */
bool devdisc_unsaved(const struct devdisc_run *r);
/* After a burst was applied: write the state file when messages changed the set. */
void devdisc_save(struct devdisc_run *r);

#endif
