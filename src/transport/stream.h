/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A byte-stream transport (liota's DCCComms for line protocols): TCP with
 * non-blocking connect, reconnect with exponential back-off and full jitter,
 * or an append-only file / standard output (the embedded sinks). Data is
 * queued in a bounded memory buffer as whole records (lines): a record is
 * either queued entirely or refused, and after a broken connection the
 * record that was cut in the middle is sent again from its start, so the
 * peer never sees half a line spliced with the next.
 *
 * Driven from one thread (the publisher): stream_poll() says what to wait
 * for, stream_dispatch() does the I/O; nothing here blocks, except writes
 * to a file or to stdout.
 *
 * TCP may name several peers (host = A, B:PORT...: endpoint.h), in order of
 * preference: a failed connection attempt or a lost connection moves to
 * the next at once; when all failed in a row, the back-off delay, then the
 * first again. While connected to another than the first, the first is
 * probed on the back-off schedule beside the connection in use, and taken
 * back at the next record boundary when it accepts. stats->endpoint says
 * which one is in use, stats->failovers counts the moves.
 *
 * After a lost connection, the last lines sent are queued again (the
 * re-send window, counted in stats->resent): what TCP had not had
 * acknowledged (SIOCOUTQ after the last send) and queue_size / 4 bytes
 * before it, for what the peer had not read yet; SO_SNDBUF is set to
 * queue_size / 4, which bounds the first part.
 *
 * TCP may be wrapped in TLS (tls = yes and the keys of tls.h): the
 * handshake, reads and writes are non-blocking like the rest, the queue,
 * back-off and resend rules are the same, and handshake failures are
 * logged with their reason (certificate error, server's alert).
 */
#ifndef LT_STREAM_H
#define LT_STREAM_H

#include <liota/liota.h>
#include <liota/stream.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/tls.h"

/* enum lt_stream_kind, struct lt_stream_conf and struct lt_stream: liota/stream.h. */

/* Fill @c with defaults (kind TCP, no host). */
void stream_conf_defaults(struct lt_stream_conf *c);
/* Free the strings of @c. */
void stream_conf_clear(struct lt_stream_conf *c);
/*
 * Take one "key = value" of a DCC section that configures the stream:
 * transport (tcp|file|stdout), host, port, path, queue_size, reconnect_min,
 * reconnect_max, connect_timeout, and the TLS keys (tls.h). -ENOENT when
 * the key is none of them.
 */
int stream_conf_option(struct lt_stream_conf *c, const char *key, const char *value, char *err,
		       size_t errlen);
/* Those keys as a table, for a DCC's: LT_OPT_TABLE(T, conf, stream_conf_opts). */
extern const struct lt_opt stream_conf_opts[];
/* Report a missing host/path etc., and TLS problems (lt_tls_check()). */
int stream_conf_check(const struct lt_stream_conf *c, char *err, size_t errlen);

/*
 * Create a stream. @stats (may be NULL) receives bytes, sent (count of '\n'
 * written), pending (lines queued, not sent yet), reconnects, errors, queued
 * and state, and in dropped the lines still queued when the stream is freed;
 * @dcc is used for log messages (may be NULL). Does not connect yet.
 */
int stream_new(const struct lt_stream_conf *c, struct lt_dcc *dcc, struct lt_dcc_stats *stats,
	       struct lt_stream **out);
/*
 * Start connecting (TCP) or open the file. Never blocks on the network.
 * With TLS, builds the TLS context first (errors name the file).
 */
int stream_start(struct lt_stream *s, char *err, size_t errlen);
/*
 * Queue @len bytes holding one or more whole records. Returns 0, or -ENOBUFS
 * when the queue has no room for all of it (nothing is queued then).
 * A file or stdout is written at once. Over TCP the data is sent at once
 * only when 64 KiB or more wait; otherwise by the next stream_dispatch()
 * (stream_poll() asks for POLLOUT while anything waits), so that the writes
 * of one poll cycle leave in one send.
 */
int stream_write(struct lt_stream *s, const void *buf, size_t len);
/*
 * stream_write() for a caller that knows @buf holds exactly @lines '\n':
 * saves counting them (the "sent" counter needs the number).
 */
int stream_write_lines(struct lt_stream *s, const void *buf, size_t len, size_t lines);
void stream_poll(struct lt_stream *s, struct pollfd *pfd, int64_t *deadline_ns);
void stream_dispatch(struct lt_stream *s, short revents, int64_t now_ns);
/* Deliver the queue until empty (0) or @deadline_ns passes (-ETIMEDOUT). */
int stream_flush(struct lt_stream *s, int64_t deadline_ns);
size_t stream_queued(const struct lt_stream *s);
/*
 * Take the whole records still queued (stream_queued() bytes, at most
 * @len) out of the queue into @out, for a caller that keeps them elsewhere
 * (the Graphite DCC's spool at stop). A record the peer received in part
 * is taken whole (it was to be sent again from its start). Returns the
 * bytes taken, with the lines they hold in *@lines; they leave pending
 * without counting as sent or dropped. 0 when the queue is empty or does
 * not fit in @len (nothing taken). Only while not connected (the peer
 * may hold the start of a record taken) or right before stream_free().
 */
size_t stream_take(struct lt_stream *s, char *out, size_t len, uint64_t *lines);
/* The last re-send window (resend_window() in stream.c), for tests and logs. */
void stream_last_resend(const struct lt_stream *s, struct lt_stream_resend *out);
/* Close and free. NULL is fine. */
void stream_free(struct lt_stream *s);

#endif
