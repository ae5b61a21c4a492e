/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The status document of the control socket (control.h), written piece by
 * piece into a bounded buffer as the client's socket takes it, so that its
 * size in the daemon's heap does not grow with the configuration: one
 * device head, one metric, one lane or one DCC at a time (metrics written
 * directly, the few other pieces built with jansson and dumped), joined
 * into exactly the bytes json_dumps(JSON_COMPACT) gave for the document
 * built whole (same keys, same order, same number formats).
 *
 * What a streamed reply guarantees:
 *   - totals come from one daemon_totals() reading taken when the request
 *     is answered (status_stream_begin()), so their identities (daemon.h:
 *     deliveries = published + dropped + pending, ...) hold as in one
 *     reading of a running daemon;
 *   - each counter elsewhere is read atomically when its piece is written:
 *     a metric written later than the totals may have counted a few more
 *     samples than the totals did, as may one metric against another;
 *   - every piece is of one configuration: when the running configuration
 *     changes (a reload, a package command, a device found), the
 *     generation changes and the rest of the reply is refused (-ESTALE):
 *     the client gets a truncated document, never a mix of two
 *     configurations.
 */
#ifndef LT_STATUS_H
#define LT_STATUS_H

#include "control.h"
#include "daemon.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of the reply ready to send: buf[0..len), cap allocated. */
struct status_out {
	char *buf;
	size_t len, cap;
};

/* Make room for @n more bytes in @o: 0 or -ENOMEM. */
int status_out_room(struct status_out *o, size_t n);

/* Where a streamed status reply is (filled by status_stream_begin()). */
struct status_stream {
	uint64_t generation;     /* the configuration it describes */
	struct lt_totals totals; /* read at the start, written at the end */
	unsigned phase;          /* what comes next: head, lanes, devices... */
	unsigned i, j;           /* the lane, device or DCC; the metric of device i */
	bool sep, dsep;          /* a comma before the next element; ... the next device */
};

/* Start the status of @ctx: the totals are read now. */
void status_stream_begin(struct status_stream *s, const struct control_ctx *ctx);
/*
 * Start the metric table of @ctx instead (the `metrics` reply, which
 * `liotactl tail` reads: {"generation", "metrics": [{"id", "name",
 * "unit"}...]}), streamed the same way: 10,000 metrics built whole left
 * megabytes in the heap at each `liotactl tail`.
 */
void status_stream_begin_table(struct status_stream *s, const struct control_ctx *ctx);
/*
 * Append the next pieces to @o until it holds @limit bytes or more, or the
 * document is complete; @o grows as needed, so it stays within @limit plus
 * the largest piece (a device head, a metric, a DCC). Returns 1: more to
 * come; 0: complete; -ESTALE: the configuration changed since
 * status_stream_begin(); -ENOMEM.
 */
int status_stream_fill(struct status_stream *s, const struct control_ctx *ctx, struct status_out *o,
		       size_t limit);

#endif
