/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the main loop tells systemd while liotad runs (sd_notify): STATUS=
 * with the sample and publish rates of the last seconds, and WATCHDOG=1
 * only while no sampler thread and not the publisher is stuck in one piece
 * of work (daemon_stalled()). READY=1 and RELOADING=1 are sent by main.c.
 * Without $NOTIFY_SOCKET nothing is done and the main loop never wakes for it.
 */
#ifndef LT_NOTIFY_H
#define LT_NOTIFY_H

#include "daemon.h"

#include <stdbool.h>
#include <stdint.h>

/* How often STATUS= is refreshed (with the watchdog on: at the first ping after). */
#define LT_STATUS_PERIOD_NS (5 * LT_NSEC_PER_SEC)

struct lt_notify {
	bool on;              /* $NOTIFY_SOCKET is set */
	uint64_t wd_ns;       /* WatchdogSec, 0: none */
	uint64_t next_ping;   /* CLOCK_MONOTONIC ns */
	uint64_t next_status; /* CLOCK_MONOTONIC ns */
	uint64_t last_ns;     /* when @last was read */
	uint64_t generation;  /* of the daemon @last belongs to */
	struct lt_totals last;
	bool stalled; /* the last check found a stuck thread (logged once) */
};

void notify_init(struct lt_notify *n);
/* poll() timeout until the next thing due, in ms; -1: none. */
int notify_timeout_ms(const struct lt_notify *n, uint64_t now_ns);
/*
 * Called after each wake-up of the main loop: feeds the watchdog when due
 * and @d (may be NULL) is healthy, refreshes STATUS= when due. @generation
 * changes with each (re)started configuration, whose counters start at 0.
 */
void notify_tick(struct lt_notify *n, const struct daemon *d, uint64_t generation, uint64_t now_ns);
/* The STATUS= text for rates over @dt_ns (for tests). */
void notify_status_text(char *buf, size_t len, const struct lt_totals *prev,
			const struct lt_totals *cur, uint64_t dt_ns);

#endif
