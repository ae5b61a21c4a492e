/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A WebSocket client transport (liota's WebSocketDccComms) on
 * libwebsockets 4.1: text messages out of a bounded queue, whole text
 * messages in, reconnection with exponential back-off and full jitter.
 *
 * Driven by the publisher thread's ppoll() loop: lt_ws_poll() gives one
 * descriptor and a deadline, lt_ws_dispatch() does the work; nothing
 * blocks. Debian's libwebsockets is built without its external-poll
 * callbacks, so the client context runs on a private libuv loop
 * (LWS_SERVER_OPTION_LIBUV with a foreign loop): the loop's epoll
 * descriptor stands for every socket lws has, uv_backend_timeout() for
 * its timers, and uv_run(UV_RUN_NOWAIT) services them.
 *
 * TLS (wss://) uses the OpenSSL context of transport/tls.c, given to lws
 * as its client context (provided_client_ssl_ctx), so a WebSocket DCC
 * takes the same TLS options, checks and failure reasons as MQTT.
 *
 * Messages handed to lt_ws_send() with @keep wait in the queue while the
 * connection is down and go out after the next connection; the others
 * (requests that the caller sends again itself) are dropped when the
 * connection goes.
 *
 * Thread: everything runs in the caller's thread; the handlers are called
 * from lt_ws_dispatch() and lt_ws_flush() only.
 */
#ifndef LT_WS_H
#define LT_WS_H

#include <liota/liota.h>
#include <liota/ws.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/tls.h"

struct lt_ws_conf {
	char *url;                   /* ws://HOST[:PORT]/PATH or wss://... */
	size_t queue_bytes;          /* bound of the outgoing queue, default 4 MiB */
	size_t max_message;          /* longest message received, default 64 KiB */
	uint64_t backoff_min_ns;     /* default 1 s */
	uint64_t backoff_max_ns;     /* default 60 s */
	uint64_t connect_timeout_ns; /* default 10 s */
	struct lt_tls_conf tls;      /* used for wss:// */
};

void lt_ws_conf_init(struct lt_ws_conf *c);
void lt_ws_conf_clear(struct lt_ws_conf *c);
/*
 * lt_ws_conf_option - url, queue_size, reconnect_min, reconnect_max,
 * connect_timeout, then the TLS keys. 0, -ENOENT, or -EINVAL with a reason.
 */
int lt_ws_conf_option(struct lt_ws_conf *c, const char *key, const char *value, char *err,
		      size_t errlen);
/* Those keys as a table: LT_OPT_TABLE(T, conf, lt_ws_opts). */
extern const struct lt_opt lt_ws_opts[];
/* A url is given and well formed; wss:// and tls agree; the TLS files (lt_tls_check()). */
int lt_ws_conf_check(const struct lt_ws_conf *c, char *err, size_t errlen);

/* struct lt_ws_handlers and struct lt_ws: liota/ws.h (the SDK). */

/*
 * lt_ws_new - a client for @c (copied), not connected yet. @stats (may be
 * NULL) receives sent (the @samples of each message when lws has taken it
 * for the socket), bytes, reconnects, errors, queued, pending (the samples
 * of the queued messages), state, and in dropped the samples of messages
 * the client discards (unkept ones at a disconnection, all at lt_ws_free).
 * NULL with a reason in @err.
 */
struct lt_ws *lt_ws_new(const struct lt_ws_conf *c, const struct lt_ws_handlers *h, void *ctx,
			struct lt_dcc *dcc, struct lt_dcc_stats *stats, char *err, size_t errlen);
/* Create the lws context and start connecting. */
int lt_ws_start(struct lt_ws *w, char *err, size_t errlen);
/*
 * lt_ws_send - queue one text message. 0, or -ENOBUFS when the queue has
 * no room (nothing queued), -ENOTCONN for a message without @keep while
 * the connection is down (the caller sends it again after on_connect).
 */
int lt_ws_send(struct lt_ws *w, const char *msg, size_t len, unsigned samples, bool keep);
bool lt_ws_connected(const struct lt_ws *w);
size_t lt_ws_queued(const struct lt_ws *w);
void lt_ws_poll(struct lt_ws *w, struct pollfd *pfd, int64_t *deadline_ns);
void lt_ws_dispatch(struct lt_ws *w, short revents, int64_t now_ns);
/* Deliver the queue until empty (0) or @deadline_ns passes (-ETIMEDOUT). */
int lt_ws_flush(struct lt_ws *w, int64_t deadline_ns);
/* Close (without waiting for the peer) and free. NULL is fine. */
void lt_ws_free(struct lt_ws *w);

/* Split a ws:// or wss:// url. 0 or -EINVAL with a reason; the strings are malloc'd. */
int lt_ws_parse_url(const char *url, bool *tls, char **host, unsigned *port, char **path, char *err,
		    size_t errlen);

#endif
