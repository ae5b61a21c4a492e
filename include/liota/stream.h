/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * DOC: stream transport
 *
 * liota/stream.h - the byte-stream transport (liota's DCCComms for line
 * protocols), as package transport-stream serves it to DCC packages: TCP
 * to one or several peers in order of preference (failover, and back when
 * the first accepts again), reconnect with exponential back-off, optional
 * TLS, or an append-only file or standard output. Data is queued in a
 * bounded memory buffer as whole records (lines): a record is queued
 * entirely or refused, and one the peer received in part is sent again
 * from its start after a broken connection.
 *
 * A DCC package lists "transport-stream" in its descriptor's depends and
 * takes the API in its init:
 *
 *	static const struct lt_stream_api *st;
 *
 *	static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
 *	{
 *		st = (const struct lt_stream_api *)lt_package_api(ctx, LT_STREAM_API);
 *		if (!st || st->size < sizeof(*st))
 *			return lt_errf(err, errlen, -ENOENT, "no stream transport");
 *		return lt_package_add_dcc_driver(ctx, &my_dcc, err, errlen);
 *	}
 *
 * then keeps a struct lt_stream_conf in its private data: conf_defaults()
 * in its init callback, conf_option() for the keys its own table does not
 * take (transport, host, port, path, queue_size, reconnect_min,
 * reconnect_max, connect_timeout and the TLS keys: tls, ca_file, ca_dir,
 * cert, key, crl, min_tls, ciphers, ciphersuites, verify_hostname),
 * conf_check() in its check callback; new() and start() in its start
 * callback; write() in publish, poll() and dispatch() in its own, flush()
 * in flush, free() in stop. A stream is used by one thread at a time, as
 * a DCC's callbacks are (liota/dcc.h); nothing blocks but writes to a file
 * or to standard output. TLS (OpenSSL) is mapped only once a configuration
 * asks for it: conf_check() and start() of a stream with tls = yes load
 * it, in the thread that loads the configuration and starts the daemon.
 */
#ifndef LIOTA_STREAM_H
#define LIOTA_STREAM_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <liota/dcc.h>
#include <liota/options.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The name of the package that serves struct lt_stream_api (lt_package_api()). */
#define LT_STREAM_API "transport-stream"

/**
 * struct lt_tls_conf - TLS client settings of a stream (the TLS keys).
 * @enabled:         tls = yes.
 * @ca_file:         PEM file of trusted CAs; NULL: none.
 * @ca_dir:          c_rehash'ed folder of CAs; NULL: none (neither: the
 *                   system's default store).
 * @cert:            client certificate (PEM); NULL: none.
 * @key:             its private key (PEM); NULL: none.
 * @crl:             PEM file of CRLs; NULL: no revocation check.
 * @ciphers:         TLS 1.2 cipher list; NULL: OpenSSL's default.
 * @ciphersuites:    TLS 1.3 suites; NULL: OpenSSL's default.
 * @min_version:     0x0303 (TLS 1.2, default) or 0x0304 (TLS 1.3).
 * @verify_hostname: the certificate must name the host (default 1).
 */
struct lt_tls_conf {
	int enabled;
	char *ca_file;
	char *ca_dir;
	char *cert;
	char *key;
	char *crl;
	char *ciphers;
	char *ciphersuites;
	int min_version;
	int verify_hostname;
};

/** What a stream writes to: `transport = tcp|file|stdout`. */
enum lt_stream_kind { LT_STREAM_TCP, LT_STREAM_FILE, LT_STREAM_STDOUT };

/**
 * struct lt_stream_conf - a stream's settings (conf_defaults() fills them).
 * @kind:               tcp (default), file or stdout.
 * @host:               TCP: "HOST[:PORT], ...", in order of preference.
 * @port:               TCP: port of the hosts that name none (a DCC may
 *                      set its default, a malloc()ed string, after
 *                      conf_defaults()).
 * @path:               FILE: appended to, created 0640.
 * @queue_bytes:        memory queue bound, default 4 MiB.
 * @backoff_min_ns:     first reconnect delay, default 100 ms.
 * @backoff_max_ns:     cap of the delay, default 30 s.
 * @connect_timeout_ns: default 5 s (TCP, and again for the TLS handshake).
 * @tls:                TCP only.
 */
struct lt_stream_conf {
	enum lt_stream_kind kind;
	char *host;
	char *port;
	char *path;
	size_t queue_bytes;
	uint64_t backoff_min_ns;
	uint64_t backoff_max_ns;
	uint64_t connect_timeout_ns;
	struct lt_tls_conf tls;
};

/** A stream (opaque). */
struct lt_stream;

/**
 * struct lt_stream_resend - the last re-send window, for tests and logs.
 * @unacked:   unacknowledged bytes (SIOCOUTQ) after the last send before
 *             the connection ended.
 * @bytes:     bytes queued again.
 * @lines:     lines queued again (also added to the stats' resent).
 * @uncovered: unacknowledged bytes the window could not hold (queue full).
 */
struct lt_stream_resend {
	uint64_t unacked;
	uint64_t bytes;
	uint64_t lines;
	uint64_t uncovered;
};

/**
 * struct lt_stream_api - the operations of package transport-stream.
 * Members are only ever added at the end: check @size.
 *
 * @size:          sizeof the struct the package was built with.
 * @conf_defaults: fill a conf with the defaults (kind TCP, no host).
 * @conf_clear:    free the strings of a conf.
 * @conf_option:   take one "key = value" of the keys above: 0, -ENOENT
 *                 when the key is none of them, -EINVAL or -ENOMEM with
 *                 the reason in @err.
 * @conf_opts:     those keys as an option table (liota/options.h), for
 *                 tools that list keys.
 * @conf_check:    report a missing host or path, bad endpoints, and TLS
 *                 problems (files missing or unreadable, a key that does
 *                 not match the certificate): 0 or -EINVAL with a reason.
 * @create:        a stream of @c (copied). @stats (may be NULL) receives
 *                 bytes, sent (lines written), pending (lines queued),
 *                 reconnects, errors, queued, state, resent, endpoint and
 *                 failovers, and in dropped the lines still queued when
 *                 the stream is freed; @dcc (may be NULL) names the log
 *                 messages. Does not connect yet. 0 or -ENOMEM, -EINVAL.
 * @start:         start connecting (TCP, never blocking on the network)
 *                 or open the file; with TLS, build the TLS contexts
 *                 first (errors name the file).
 * @write:         queue @len bytes holding one or more whole records: 0,
 *                 or -ENOBUFS when the queue has no room for all of it
 *                 (nothing is queued then). A file or stdout is written
 *                 at once; TCP sends by the next dispatch, or at once
 *                 when 64 KiB or more wait.
 * @write_lines:   @write for a caller that knows @buf holds exactly
 *                 @lines '\n'.
 * @poll:          what to wait for: @pfd's fd (-1: nothing) and events,
 *                 and the deadline (CLOCK_MONOTONIC ns) if earlier than
 *                 *@deadline_ns.
 * @dispatch:      do the I/O for @revents, and the timers due at @now_ns.
 * @flush:         deliver the queue until empty (0) or @deadline_ns
 *                 passes (-ETIMEDOUT).
 * @queued:        bytes queued and not sent yet.
 * @take:          take the whole records still queued (at most @len
 *                 bytes) into @out, with their lines in *@lines; they
 *                 leave pending without counting as sent or dropped.
 *                 Returns the bytes taken; 0 when the queue is empty or
 *                 does not fit. Only while not connected, or right before
 *                 @free.
 * @last_resend:   the last re-send window.
 * @free:          close and free; NULL is fine.
 */
struct lt_stream_api {
	size_t size;
	void (*conf_defaults)(struct lt_stream_conf *c);
	void (*conf_clear)(struct lt_stream_conf *c);
	int (*conf_option)(struct lt_stream_conf *c, const char *key, const char *value, char *err,
			   size_t errlen);
	const struct lt_opt *conf_opts;
	int (*conf_check)(const struct lt_stream_conf *c, char *err, size_t errlen);
	int (*create)(const struct lt_stream_conf *c, struct lt_dcc *dcc,
		      struct lt_dcc_stats *stats, struct lt_stream **out);
	int (*start)(struct lt_stream *s, char *err, size_t errlen);
	int (*write)(struct lt_stream *s, const void *buf, size_t len);
	int (*write_lines)(struct lt_stream *s, const void *buf, size_t len, size_t lines);
	void (*poll)(struct lt_stream *s, struct pollfd *pfd, int64_t *deadline_ns);
	void (*dispatch)(struct lt_stream *s, short revents, int64_t now_ns);
	int (*flush)(struct lt_stream *s, int64_t deadline_ns);
	size_t (*queued)(const struct lt_stream *s);
	size_t (*take)(struct lt_stream *s, char *out, size_t len, uint64_t *lines);
	void (*last_resend)(const struct lt_stream *s, struct lt_stream_resend *out);
	void (*free)(struct lt_stream *s);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_STREAM_H */
