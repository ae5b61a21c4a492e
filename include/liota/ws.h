/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * DOC: the WebSocket transport
 *
 * liotad's WebSocket client (liota's WebSocketDccComms), as the package
 * transport-ws serves it to DCC packages: text messages out of a bounded
 * queue, whole text messages in, reconnection with exponential back-off,
 * wss:// with the TLS keys of the MQTT transport. A DCC lists
 * LT_WS_PACKAGE in its descriptor's @depends, or loads it with
 * lt_package_use(), and gets struct lt_ws_api. Its keys: url
 * (ws://HOST[:PORT]/PATH or wss://...), queue_size, reconnect_min,
 * reconnect_max, connect_timeout and the TLS keys (liota/mqtt.h), parsed
 * by the transport into a struct lt_ws_conf that the DCC only holds.
 *
 * Thread: conf_* in the configuration thread; the client's functions in
 * one thread at a time (the publisher's), its handlers called from
 * dispatch and flush only.
 */
#ifndef LIOTA_WS_H
#define LIOTA_WS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liota/dcc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The package that provides struct lt_ws_api. */
#define LT_WS_PACKAGE "transport-ws"

/* A client's configuration (opaque). */
struct lt_ws_conf;

/* A client (opaque). */
struct lt_ws;

/**
 * struct lt_ws_handlers - what the owner of a client hears; each may be NULL.
 * @on_connect:    the WebSocket handshake completed.
 * @on_message:    one whole message; @msg is NULL when it was longer than
 *                 the transport takes (64 KiB; then dropped: @len is how
 *                 long it was).
 * @on_disconnect: an established connection ended; @reason is one line
 *                 (already logged by the transport).
 */
struct lt_ws_handlers {
	void (*on_connect)(void *ctx);
	void (*on_message)(void *ctx, const char *msg, size_t len);
	void (*on_disconnect)(void *ctx, const char *reason);
};

/**
 * struct lt_ws_api - the WebSocket transport, from lt_package_api() or
 * lt_package_use() of LT_WS_PACKAGE.
 * @conf_new:    a configuration with the defaults, or NULL (no memory).
 * @conf_free:   free it (NULL is fine).
 * @conf_option: one "key = value" of the DCC's section: 0, -ENOENT for a
 *               key that is not the transport's, -EINVAL or -ENOMEM with
 *               the reason in @err.
 * @conf_check:  at the DCC's check: a well-formed url, wss:// and tls
 *               agree, the TLS files. 0 or -EINVAL with the reason.
 * @open:        a client for @c (copied), not connected yet. @dcc (may be
 *               NULL) names what is logged; @stats (may be NULL) receives
 *               sent (the @samples of each message when it is written),
 *               bytes, reconnects, errors, queued, pending, state, and in
 *               dropped the samples of the messages it discards. NULL with
 *               the reason in @err.
 * @start:       start connecting, without blocking.
 * @send:        queue one text message that carries @samples samples. 0,
 *               -ENOBUFS when the queue has no room (nothing queued),
 *               -ENOTCONN for one without @keep while the connection is
 *               down (the DCC sends it again after on_connect). Messages
 *               without @keep are dropped when the connection goes.
 * @connected:   the handshake completed and the connection is up.
 * @queued:      bytes waiting.
 * @poll:        fill @pfd (fd -1 for none) and lower *@deadline_ns
 *               (CLOCK_MONOTONIC): from the DCC's poll.
 * @dispatch:    handle @revents and the timers due at @now_ns: from the
 *               DCC's dispatch.
 * @flush:       deliver the queue until it is empty (0) or @deadline_ns
 *               passes (-ETIMEDOUT).
 * @free:        close without waiting for the peer and free (NULL is fine).
 */
struct lt_ws_api {
	struct lt_ws_conf *(*conf_new)(void);
	void (*conf_free)(struct lt_ws_conf *c);
	int (*conf_option)(struct lt_ws_conf *c, const char *key, const char *value, char *err,
			   size_t errlen);
	int (*conf_check)(const struct lt_ws_conf *c, char *err, size_t errlen);
	struct lt_ws *(*open)(const struct lt_ws_conf *c, const struct lt_ws_handlers *h, void *ctx,
			      struct lt_dcc *dcc, struct lt_dcc_stats *stats, char *err,
			      size_t errlen);
	int (*start)(struct lt_ws *w, char *err, size_t errlen);
	int (*send)(struct lt_ws *w, const char *msg, size_t len, unsigned samples, bool keep);
	bool (*connected)(const struct lt_ws *w);
	size_t (*queued)(const struct lt_ws *w);
	void (*poll)(struct lt_ws *w, struct pollfd *pfd, int64_t *deadline_ns);
	void (*dispatch)(struct lt_ws *w, short revents, int64_t now_ns);
	int (*flush)(struct lt_ws *w, int64_t deadline_ns);
	void (*free)(struct lt_ws *w);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_WS_H */
