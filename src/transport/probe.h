/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The probe of a preferred endpoint: while a transport is connected to
 * another endpoint of its list, a non-blocking TCP connect() to the first,
 * beside the connection in use, at the times of the back-off schedule
 * (backoff.h, at a level of its own that grows with each failed probe).
 * A transport has one descriptor in the publisher's poll, so a connect()
 * in progress is looked at every LT_PROBE_TICK_NS with a zero-timeout
 * poll() until it completes or the connect timeout passes. The stream
 * takes the connected socket as its next connection; MQTT only learns that
 * the broker answers (libmosquitto opens its own socket).
 */
#ifndef LT_PROBE_H
#define LT_PROBE_H

#include <stdint.h>

#include "transport/backoff.h"

#define LT_PROBE_TICK_NS (20 * 1000000ll)

struct addrinfo;

struct lt_probe {
	int fd;                    /* the connect() in progress or done, -1: none */
	struct addrinfo *ai, *cur; /* the preferred endpoint's addresses, the one tried */
	int64_t at;                /* next step, or the next probe */
	int64_t deadline;          /* the connect() in progress gives up */
	unsigned level;            /* failed probes since lt_probe_schedule(.., 1) */
	int ok;                    /* connected: lt_probe_take() */
	/* Makes the socket for an address (options of the connection to be); NULL: plain. */
	int (*open)(void *ctx, const struct addrinfo *ai);
	void *ctx;
};

void lt_probe_init(struct lt_probe *p, int (*open)(void *ctx, const struct addrinfo *ai),
		   void *ctx);
/* Close the socket and forget the addresses; the schedule and level stay. */
void lt_probe_cancel(struct lt_probe *p);
/* The next probe one back-off delay after @now; @reset: at level 0. */
void lt_probe_schedule(struct lt_probe *p, const struct lt_backoff *b, int64_t now, int reset);
/*
 * One step at @now (nothing before p->at): resolve @host and @port and
 * start connecting, or look whether the connect() completed. Every address
 * failing schedules the next probe one delay later at the next level.
 * Returns 1 when connected (p->ok), 0 otherwise.
 */
int lt_probe_step(struct lt_probe *p, const char *host, const char *port,
		  const struct lt_backoff *b, uint64_t timeout_ns, int64_t now);
/* The connected socket, now the caller's; the probe is cancelled. */
int lt_probe_take(struct lt_probe *p);

#endif
