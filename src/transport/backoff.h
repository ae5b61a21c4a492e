/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The reconnect back-off of every transport (stream, MQTT, WebSocket) and
 * of the probes of a preferred endpoint: exponential with full jitter, one
 * random source, and the "log once per outage and reason" rule.
 *
 * The delay after @level failures is uniform in [0, min(max, min * 2^level)]
 * ("full jitter": gateways cut off together do not come back together),
 * raised to min / 2 at least: a peer that refuses at once (ECONNREFUSED
 * takes microseconds) must not make the publisher thread spin through
 * attempts when the draw is near 0.
 *
 * The level grows with each failure and starts again only after a
 * connection that lasted max: a peer that closes every connection soon
 * after accepting it (an MQTT broker whose session another client takes
 * back, a relay that crashes on a line) gets ever fewer attempts, not a
 * storm.
 *
 * An outage runs from the first failure after a connection (or from the
 * first attempt) to the next connection. Its first failure and each new
 * reason (of each peer of a list) in it are for the warning level, repeats for debug; the recovery
 * is for notice with the outage's length.
 */
#ifndef LT_BACKOFF_H
#define LT_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

/* Distinct (peer, reason) pairs of one outage remembered: more repeat at warning level. */
#define LT_BACKOFF_REASONS 16

struct lt_backoff {
	uint64_t min_ns, max_ns;
	unsigned level;     /* exponent of the next delay */
	unsigned failures;  /* failed attempts in the current outage */
	int64_t down_since; /* start of the current outage, 0: none */
	int64_t up_since;   /* start of the current connection, 0: not connected */
	uint32_t reasons[LT_BACKOFF_REASONS]; /* hashes of (peer, reason) logged, 0: free */
};

/* A back-off between @min_ns and @max_ns (min <= max, checked by the caller). */
void lt_backoff_init(struct lt_backoff *b, uint64_t min_ns, uint64_t max_ns);

/* A draw of the delay at @level (the formula above); b is not changed. */
uint64_t lt_backoff_delay(const struct lt_backoff *b, unsigned level);

/*
 * An attempt to @peer (an endpoint of a list; may be NULL) failed or the
 * connection was lost at @now for @reason: the outage starts if none runs.
 * Returns the syslog priority to log it at: LOG_WARNING for the first
 * failure of an outage or a (peer, reason) not seen in it, LOG_DEBUG for a
 * repeat.
 */
int lt_backoff_failed(struct lt_backoff *b, int64_t now, const char *peer, const char *reason);

/* The delay before the next attempt (a draw at the current level), and level + 1. */
uint64_t lt_backoff_next(struct lt_backoff *b);

/*
 * Connected at @now: ends the outage. Returns LOG_NOTICE after an outage,
 * with " again after N failed attempts, down X.Y s" in @suffix, or LOG_INFO
 * and "" for a connection without one (the first).
 */
int lt_backoff_up(struct lt_backoff *b, int64_t now, char *suffix, size_t len);

/* A uniform draw in [0, @bound] from the one random source (arc4random). */
uint64_t lt_random_upto(uint64_t bound);

#endif
