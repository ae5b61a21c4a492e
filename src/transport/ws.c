/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * WebSocket client transport: libwebsockets 4.1 on a private libuv loop,
 * serviced from the publisher's ppoll() (see ws.h for why libuv).
 *
 * One connection at a time. Outgoing messages are kept with LWS_PRE bytes
 * of head room, as lws_write() wants, and written one per WRITEABLE
 * callback. Incoming fragments are gathered up to max_message; a longer
 * message is counted and skipped to its end, never buffered.
 *
 * Tear-down with a foreign loop takes two lws_context_destroy() calls with
 * the loop run in between: the first closes lws's handles, the loop then
 * runs their close callbacks, the second frees the context.
 */
#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <uv.h>

#include "transport/backoff.h"
#include "transport/link_opts.h"
#include "transport/ws.h"
#include "util.h"

#define MS 1000000ll

enum ws_state { WS_IDLE, WS_CONNECTING, WS_UP, WS_BACKOFF };

struct ws_msg {
	struct ws_msg *next;
	size_t len;
	unsigned samples;
	bool keep;
	unsigned char buf[]; /* LWS_PRE + len */
};

struct lt_ws {
	struct lt_ws_conf conf;
	bool tls;
	char *host, *path;
	unsigned port;
	struct lt_ws_handlers h;
	void *hctx;
	struct lt_dcc *dcc;
	struct lt_dcc_stats *stats;

	uv_loop_t loop;
	bool loop_ok;
	struct lws_context *ctx;
	SSL_CTX *ssl;
	struct lws *wsi;
	enum ws_state state;
	bool ever_up, closing, writing;
	int64_t retry_at;
	struct lt_backoff bo; /* delays and the outage's log (backoff.h) */
	char verify_err[200]; /* why the server certificate was refused, "" if it was not */

	struct ws_msg *head, **tail;
	size_t queued;
	uint64_t pending; /* samples of the queued messages: stats->pending */

	char *rx;
	size_t rx_len, rx_total;
	bool rx_over;
};

/* ---- the queue ----------------------------------------------------------------------- */

static void set_state(struct lt_ws *w, enum ws_state s)
{
	static const int map[] = { [WS_IDLE] = LT_DCC_IDLE,
				   [WS_CONNECTING] = LT_DCC_CONNECTING,
				   [WS_UP] = LT_DCC_UP,
				   [WS_BACKOFF] = LT_DCC_BACKOFF };

	w->state = s;
	if (w->stats)
		lt_count_set(&w->stats->state, map[s]);
}

static void queued_changed(struct lt_ws *w)
{
	if (w->stats) {
		lt_count_set(&w->stats->queued, w->queued);
		lt_count_set(&w->stats->pending, w->pending);
	}
}

/* A message leaves the queue: sent, or @dropped (its samples are counted so). */
static void msg_gone(struct lt_ws *w, struct ws_msg *m, bool dropped)
{
	w->queued -= m->len;
	w->pending -= m->samples;
	if (dropped && w->stats)
		lt_count(&w->stats->dropped, m->samples);
	free(m);
}

static void pop_head(struct lt_ws *w, bool dropped)
{
	struct ws_msg *m = w->head;

	w->head = m->next;
	if (!w->head)
		w->tail = &w->head;
	msg_gone(w, m, dropped);
}

/* Requests are sent again by their owner after a reconnection: drop them. */
static void drop_unkept(struct lt_ws *w)
{
	struct ws_msg **pp = &w->head;

	while (*pp) {
		struct ws_msg *m = *pp;

		if (m->keep) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		msg_gone(w, m, true);
	}
	w->tail = &w->head;
	while (*w->tail)
		w->tail = &(*w->tail)->next;
	queued_changed(w);
}

int lt_ws_send(struct lt_ws *w, const char *msg, size_t len, unsigned samples, bool keep)
{
	struct ws_msg *m;

	if (!keep && w->state != WS_UP)
		return -ENOTCONN;
	if (w->queued + len > w->conf.queue_bytes)
		return -ENOBUFS;
	m = malloc(sizeof(*m) + LWS_PRE + len);
	if (!m)
		return -ENOBUFS;
	m->next = NULL;
	m->len = len;
	m->samples = samples;
	m->keep = keep;
	memcpy(m->buf + LWS_PRE, msg, len);
	*w->tail = m;
	w->tail = &m->next;
	w->queued += len;
	w->pending += samples;
	queued_changed(w);
	if (w->state == WS_UP && w->wsi)
		lws_callback_on_writable(w->wsi);
	return 0;
}

bool lt_ws_connected(const struct lt_ws *w)
{
	return w && w->state == WS_UP;
}

size_t lt_ws_queued(const struct lt_ws *w)
{
	return w ? w->queued : 0;
}

/* ---- connection ----------------------------------------------------------------------- */

static int64_t mono_ns(void)
{
	return (int64_t)lt_mono_ns();
}

/* The connection failed or ended: log (once per outage and reason, backoff.h), back off. */
static void went_down(struct lt_ws *w, const char *why)
{
	bool was_up = w->state == WS_UP;
	char reason[200];
	int64_t now = mono_ns();
	uint64_t delay;
	int prio;

	w->wsi = NULL;
	w->writing = false;
	if (w->closing || w->state == WS_BACKOFF || w->state == WS_IDLE)
		return;
	snprintf(reason, sizeof(reason), "%s", why && *why ? why : "closed");
	if (w->verify_err[0]) {
		snprintf(reason, sizeof(reason), "%s", w->verify_err);
		if (w->ssl)
			lt_tls_failure_clear(w->ssl);
	} else if (w->ssl) {
		char tlswhy[160];

		if (lt_tls_failure(w->ssl, tlswhy, sizeof(tlswhy)))
			snprintf(reason, sizeof(reason), "%s", tlswhy);
	}
	if (w->stats)
		lt_count(&w->stats->errors, 1);
	prio = lt_backoff_failed(&w->bo, now, NULL, reason);
	delay = lt_backoff_next(&w->bo);
	lt_dcc_log(w->dcc, prio,
		   was_up ? "connection to %s lost: %s, retrying in %llu ms"
			  : "cannot connect to %s: %s, retrying in %llu ms",
		   w->conf.url, reason, (unsigned long long)((delay + MS - 1) / MS));
	w->retry_at = now + (int64_t)delay;
	set_state(w, WS_BACKOFF);
	drop_unkept(w);
	if (was_up && w->h.on_disconnect)
		w->h.on_disconnect(w->hctx, reason);
}

static const lws_retry_bo_t ws_idle_policy = {
	.secs_since_valid_ping = 30,   /* a silent peer gets a PING... */
	.secs_since_valid_hangup = 75, /* ...and the connection is dropped if it stays silent */
};

static void ws_connect(struct lt_ws *w)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = w->ctx;
	ci.address = w->host;
	ci.port = (int)w->port;
	ci.path = w->path;
	ci.host = w->host;
	ci.origin = w->host;
	/*
	 * The server's name is checked by the OpenSSL context of tls.c
	 * (addresses as addresses), not by lws, which would check an address
	 * as a DNS name.
	 */
	ci.ssl_connection = w->tls ? LCCSCF_USE_SSL | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0;
	ci.retry_and_idle_policy = &ws_idle_policy;
	ci.pwsi = &w->wsi;
	if (w->ssl)
		lt_tls_failure_clear(w->ssl);
	w->verify_err[0] = '\0';
	set_state(w, WS_CONNECTING);
	if (!lws_client_connect_via_info(&ci) && w->state == WS_CONNECTING)
		went_down(w, "the connection could not be started");
}

static void got_message(struct lt_ws *w)
{
	if (w->rx_over) {
		if (w->h.on_message)
			w->h.on_message(w->hctx, NULL, w->rx_total);
	} else if (w->h.on_message) {
		w->rx[w->rx_len] = '\0';
		w->h.on_message(w->hctx, w->rx, w->rx_len);
	}
	w->rx_len = w->rx_total = 0;
	w->rx_over = false;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct lt_ws *w = lws_context_user(lws_get_context(wsi));
	struct ws_msg *m;
	char outage[80];
	int n;

	if (!w)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (w->closing)
			return -1;
		if (w->ever_up && w->stats)
			lt_count(&w->stats->reconnects, 1);
		n = lt_backoff_up(&w->bo, mono_ns(), outage, sizeof(outage));
		lt_dcc_log(w->dcc, n, "connected to %s%s", w->conf.url, outage);
		w->ever_up = true;
		w->rx_len = w->rx_total = 0;
		w->rx_over = false;
		set_state(w, WS_UP);
		if (w->h.on_connect)
			w->h.on_connect(w->hctx);
		if (w->head && w->wsi)
			lws_callback_on_writable(w->wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (w->closing)
			break;
		w->rx_total += len;
		if (!w->rx_over && w->rx_len + len > w->conf.max_message)
			w->rx_over = true;
		if (!w->rx_over) {
			memcpy(w->rx + w->rx_len, in, len);
			w->rx_len += len;
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
			got_message(w);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->closing)
			return -1;
		m = w->head;
		if (!m || w->state != WS_UP)
			break;
		n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
		if (n < (int)m->len)
			return -1; /* lws closes the connection: CLIENT_CLOSED follows */
		if (w->stats) {
			lt_count(&w->stats->bytes, m->len);
			lt_count(&w->stats->sent, m->samples);
		}
		pop_head(w, false);
		queued_changed(w);
		if (w->head)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/*
		 * lws puts its own verify callback on each SSL, in place of
		 * tls.c's, and calls this: note the first failure for the log.
		 * Returning 0 keeps OpenSSL's verdict.
		 */
		if (!len && user && !w->verify_err[0]) {
			X509_STORE_CTX *x = user;
			X509 *cert = X509_STORE_CTX_get_current_cert(x);
			char subject[120] = "";

			if (cert)
				X509_NAME_oneline(X509_get_subject_name(cert), subject,
						  sizeof(subject));
			snprintf(w->verify_err, sizeof(w->verify_err),
				 "server certificate rejected: %s (depth %d%s%s)",
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)),
				 X509_STORE_CTX_get_error_depth(x), subject[0] ? ", " : "",
				 subject);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		went_down(w, in ? (const char *)in : "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		went_down(w, "closed by the peer or the network");
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *c = in;

			lt_dcc_log(w->dcc, LOG_INFO, "%s closes the connection (code %u)",
				   w->conf.url, (unsigned)(c[0] << 8 | c[1]));
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols ws_protocols[] = {
	{ "liotad", ws_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void lws_log_line(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	lt_log(LOG_DEBUG, "libwebsockets: %.*s", (int)n, line);
}

/* ---- life cycle ---------------------------------------------------------------------- */

struct lt_ws *lt_ws_new(const struct lt_ws_conf *c, const struct lt_ws_handlers *h, void *ctx,
			struct lt_dcc *dcc, struct lt_dcc_stats *stats, char *err, size_t errlen)
{
	struct lt_ws *w = calloc(1, sizeof(*w));
	int r;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->conf = *c;
	w->conf.url = NULL;
	lt_tls_conf_init(&w->conf.tls);
	w->tail = &w->head;
	w->h = *h;
	w->hctx = ctx;
	w->dcc = dcc;
	w->stats = stats;
	lt_backoff_init(&w->bo, c->backoff_min_ns, c->backoff_max_ns);
	r = lt_ws_parse_url(c->url ? c->url : "", &w->tls, &w->host, &w->port, &w->path, err,
			    errlen);
	if (r < 0 || !(w->conf.url = strdup(c->url)) ||
	    lt_tls_conf_copy(&w->conf.tls, &c->tls) < 0 || !(w->rx = malloc(c->max_message + 1))) {
		if (!r)
			snprintf(err, errlen, "out of memory");
		lt_ws_free(w);
		return NULL;
	}
	w->conf.tls.enabled = w->tls;
	if (w->tls) {
		w->ssl = lt_tls_ctx_new(&w->conf.tls, w->host, err, errlen);
		if (!w->ssl) {
			lt_ws_free(w);
			return NULL;
		}
	}
	return w;
}

int lt_ws_start(struct lt_ws *w, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	void *loops[1];
	int r;

	r = uv_loop_init(&w->loop);
	if (r) {
		snprintf(err, errlen, "cannot make an event loop: %s", uv_strerror(r));
		return -EIO;
	}
	w->loop_ok = true;
	loops[0] = &w->loop;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.user = w;
	info.foreign_loops = loops;
	info.options = LWS_SERVER_OPTION_LIBUV;
	/* Plain ws:// needs no CA store; wss:// brings its own context. */
	info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	if (w->ssl) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.provided_client_ssl_ctx = w->ssl;
	}
	info.connect_timeout_secs =
		(unsigned)((w->conf.connect_timeout_ns + 999 * MS) / (1000 * MS));
	info.timeout_secs = info.connect_timeout_secs;
	info.fd_limit_per_thread = 16;
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		snprintf(err, errlen, "cannot create the libwebsockets context");
		return -EIO;
	}
	ws_connect(w);
	return 0;
}

void lt_ws_poll(struct lt_ws *w, struct pollfd *pfd, int64_t *deadline_ns)
{
	int t;

	pfd->fd = -1;
	pfd->events = pfd->revents = 0;
	if (!w || !w->ctx)
		return;
	pfd->fd = uv_backend_fd(&w->loop);
	pfd->events = POLLIN;
	uv_update_time(&w->loop);
	t = uv_backend_timeout(&w->loop);
	if (t >= 0) {
		/* uv's clock is CLOCK_MONOTONIC in ms: round up, never wake early. */
		int64_t at = ((int64_t)uv_now(&w->loop) + t + 1) * MS;

		if (at < *deadline_ns)
			*deadline_ns = at;
	}
	if (w->state == WS_BACKOFF && w->retry_at < *deadline_ns)
		*deadline_ns = w->retry_at;
}

void lt_ws_dispatch(struct lt_ws *w, short revents, int64_t now_ns)
{
	if (!w || !w->ctx)
		return;
	uv_run(&w->loop, UV_RUN_NOWAIT);
	if (w->state == WS_BACKOFF && now_ns >= w->retry_at)
		ws_connect(w);
}

int lt_ws_flush(struct lt_ws *w, int64_t deadline_ns)
{
	if (!w || !w->ctx)
		return w && w->queued ? -ETIMEDOUT : 0;
	while (w->queued) {
		int64_t now = mono_ns(), dl = deadline_ns;
		struct pollfd pfd;
		struct timespec ts;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		lt_ws_poll(w, &pfd, &dl);
		ts = lt_ns_ts((uint64_t)(dl > now ? dl - now : 0));
		ppoll(&pfd, 1, &ts, NULL);
		lt_ws_dispatch(w, pfd.revents, mono_ns());
	}
	return 0;
}

void lt_ws_free(struct lt_ws *w)
{
	if (!w)
		return;
	w->closing = true;
	if (w->ctx) {
		/* See the top of the file: destroy, let the loop close, destroy again. */
		lws_context_destroy(w->ctx);
		for (int i = 0; i < 100 && uv_run(&w->loop, UV_RUN_NOWAIT); i++)
			;
		lws_context_destroy(w->ctx);
		w->ctx = NULL;
	}
	if (w->loop_ok) {
		for (int i = 0; i < 100 && uv_run(&w->loop, UV_RUN_NOWAIT); i++)
			;
		if (uv_loop_close(&w->loop))
			lt_dcc_log(w->dcc, LOG_WARNING, "the WebSocket event loop did not close");
	}
	while (w->head)
		pop_head(w, true);
	queued_changed(w);
	if (w->ssl)
		SSL_CTX_free(w->ssl);
	free(w->host);
	free(w->path);
	free(w->rx);
	lt_ws_conf_clear(&w->conf);
	free(w);
}
