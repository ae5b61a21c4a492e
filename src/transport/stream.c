/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Byte-stream transport: TCP with back-off, or a file / stdout sink, behind
 * a bounded queue of whole records.
 *
 * The queue is a ring of conf.queue_bytes bytes addressed by three
 * free-running byte counters, rec <= head <= tail:
 *   [rec, head)  sent, but the last record in it is not complete yet: it is
 *                sent again from rec if the connection breaks;
 *   [head, tail) not sent yet.
 * The counters go back to 0 whenever the queue empties, so the data is
 * usually contiguous and goes out in a single send.
 *
 * A DNS name is resolved synchronously by getaddrinfo() at each connection
 * attempt (a numeric address does no I/O): use an address, or a name the
 * local resolver answers quickly, when a stalled publisher thread matters.
 *
 * TLS: once TCP is up, the handshake runs in the same CONNECTING state
 * (tls_phase 1), waiting for what SSL_connect() wants; the stream is UP
 * when it completes. Bytes count as sent when SSL_write() took them, as
 * with send() for plain TCP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "core/intree.h"
#include "transport/backoff.h"
#include "transport/endpoint.h"
#include "transport/link_opts.h"
#include "transport/probe.h"
#include "transport/stream.h"
#include "transport/tls_api.h"
#include "util.h"

#define MSEC 1000000ull
/*
 * stream_write() sends at once only when this much waits; less is left to
 * the next stream_dispatch() (over TCP stream_poll() asks for POLLOUT while
 * data waits; to a file or standard output it sets a deadline of now), so
 * the batches of one publisher cycle share one send: a send per batch cost
 * more than encoding the batch, and woke the peer each time (to a file,
 * 1,000 metrics of one batch a second each cost a writev()).
 */
#define SEND_MIN (64u << 10)
/* How long a TLS 1.3 client with a certificate waits for the server's verdict, see tls_hold(). */
#define TLS_HOLD_NS (200 * MSEC)
/*
 * The history holds this much more than the largest window, 2 x
 * queue_size / 4: the kernel may queue one segment (64 KiB with GSO) past
 * SO_SNDBUF, so SIOCOUTQ can exceed the send buffer by that much.
 */
#define HIST_SLACK (128u << 10)

struct lt_stream {
	struct lt_stream_conf conf; /* own copies of the strings */
	struct lt_dcc *dcc;         /* for log messages; may be NULL */
	struct lt_dcc_stats *stats; /* the caller's, or own_stats */
	struct lt_dcc_stats own_stats;
	char peer[300]; /* "HOST:PORT" or the file name, for messages */

	/* TCP: the peers in order of preference (host = A, B...) */
	struct lt_endpoint *ep;
	unsigned nep;
	unsigned cur;   /* the endpoint being connected to or in use */
	unsigned tried; /* endpoints that failed in a row in this round */
	int up_ep;      /* the endpoint connected to last, -1: none yet */

	int fd;
	enum lt_dcc_state state;

	char *buf;
	size_t cap;
	uint64_t rec, head, tail; /* see the comment at the top */
	uint64_t lines;           /* complete lines in [rec, tail), not counted as sent yet */

	/* TCP: the re-send window, the last whole lines sent (see resend_window()) */
	char *hist;
	size_t hist_cap, hist_len; /* hist_len bytes end at hist_end */
	uint64_t hist_end;         /* free-running: bytes ever put into hist */
	size_t window;             /* re-sent besides SIOCOUTQ: queue_size / 4 */
	uint64_t outq;             /* SIOCOUTQ after the last send: unacknowledged bytes */
	struct lt_stream_resend last_resend;

	/* TCP */
	struct addrinfo *ai;     /* resolved addresses of the current attempt */
	struct addrinfo *ai_cur; /* the one being connected to */
	int64_t timer_ns;        /* end of back-off, or connect deadline */
	struct lt_backoff bo;    /* delays and the outage's log (backoff.h) */
	int connected_once;

	/* Probe of the preferred endpoint while connected to another (probe.h). */
	struct lt_probe probe; /* ok: switch to it at the next record boundary */
	int switched;          /* on the probe's connection, not up yet */

	/* TLS: the calls through package transport-tls (tls_api.h), NULL: plain TCP */
	const struct lt_tls_api *tls;
	SSL_CTX *ctx[LT_ENDPOINTS_MAX]; /* one per endpoint (the name checked differs) */
	SSL_CTX *ssl_ctx;               /* ctx[cur]; NULL: plain TCP */
	SSL *ssl;
	int tls_phase;  /* 0: none or done, 1: handshake, 2: waiting for the verdict */
	short tls_want; /* POLLIN or POLLOUT, what OpenSSL waits for */
	int64_t hold_until;
};

void stream_conf_defaults(struct lt_stream_conf *c)
{
	*c = (struct lt_stream_conf){
		.kind = LT_STREAM_TCP,
		.queue_bytes = 4u << 20,
		.backoff_min_ns = 100 * MSEC,
		.backoff_max_ns = 30 * LT_NSEC_PER_SEC,
		.connect_timeout_ns = 5 * LT_NSEC_PER_SEC,
	};
	lt_tls_conf_init(&c->tls);
}

void stream_conf_clear(struct lt_stream_conf *c)
{
	free(c->host);
	free(c->port);
	free(c->path);
	c->host = c->port = c->path = NULL;
	lt_tls_conf_clear(&c->tls);
}

/* host: "HOST[:PORT], ..." checked now, each endpoint's port at the check (port may come later). */
static int set_host(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	int r;

	if (!*value)
		return lt_errf(err, errlen, -EINVAL, "%s must not be empty", key);
	r = lt_endpoints_parse(value, "", NULL, err, errlen);
	return r < 0 ? r : lt_opts_strdup(field, value, err, errlen);
}

static const struct lt_opt_name stream_kinds[] = {
	{ "tcp", LT_STREAM_TCP },
	{ "file", LT_STREAM_FILE },
	{ "stdout", LT_STREAM_STDOUT },
	{ NULL, 0 },
};

const struct lt_opt stream_conf_opts[] = {
	LT_OPT_ENUM("transport", struct lt_stream_conf, kind, 0, stream_kinds,
		    "tcp, file or stdout"),
	LT_OPT_FUNC("host", struct lt_stream_conf, host, 0, set_host, "TCP peers, in order"),
	LT_OPT_STRING("port", struct lt_stream_conf, port, LT_OPT_NONEMPTY, 0,
		      "port of the hosts that name none"),
	LT_OPT_STRING("path", struct lt_stream_conf, path, LT_OPT_NONEMPTY, 0,
		      "file appended to (transport = file)"),
	LT_LINK_OPTS(struct lt_stream_conf),
	LT_OPT_TABLE(struct lt_stream_conf, tls, lt_tls_opts),
	LT_OPT_END(),
};

int stream_conf_option(struct lt_stream_conf *c, const char *key, const char *value, char *err,
		       size_t errlen)
{
	return lt_opts_set(stream_conf_opts, c, key, value, err, errlen);
}

/* The package's own context (its init), for lt_package_use(); NULL before. */
static struct lt_package_ctx *pkg_ctx;
static const struct lt_tls_api *tls_api;

/*
 * Package transport-tls, loaded at the first stream with tls = yes, so that
 * the others never map OpenSSL. From conf_check() and stream_start(): the
 * thread that loads the configuration and starts the DCCs (liota/dcc.h),
 * as lt_package_use() wants.
 */
static const struct lt_tls_api *tls_get(char *err, size_t errlen)
{
	const void *api;

	if (tls_api)
		return tls_api;
	if (!pkg_ctx) {
		lt_errf(err, errlen, -ENOENT, "tls = yes: package %s is not loaded", LT_STREAM_API);
		return NULL;
	}
	if (lt_package_use(pkg_ctx, LT_TLS_PACKAGE, &api, err, errlen) < 0)
		return NULL;
	if (!api)
		lt_errf(err, errlen, -ENOENT, "tls = yes: package %s provides no API",
			LT_TLS_PACKAGE);
	tls_api = api;
	return tls_api;
}

/* The checks of stream_conf_check(), without loading the TLS files when !@tls_files. */
static int conf_check(const struct lt_stream_conf *c, int tls_files, char *err, size_t errlen)
{
	switch (c->kind) {
	case LT_STREAM_TCP:
		if (!c->host)
			return lt_errf(err, errlen, -EINVAL, "transport tcp needs host");
		if (lt_endpoints_parse(c->host, c->port, NULL, err, errlen) < 0)
			return -EINVAL;
		break;
	case LT_STREAM_FILE:
		if (!c->path)
			return lt_errf(err, errlen, -EINVAL, "transport file needs path");
		break;
	case LT_STREAM_STDOUT:
		break;
	}
	if (c->queue_bytes < 4096)
		return lt_errf(err, errlen, -EINVAL, "queue_size must be at least 4k");
	if (c->backoff_min_ns > c->backoff_max_ns)
		return lt_errf(err, errlen, -EINVAL, "reconnect_min is larger than reconnect_max");
	if (c->tls.enabled && c->kind != LT_STREAM_TCP)
		return lt_errf(err, errlen, -EINVAL, "tls = yes needs transport = tcp");
	if (tls_files && c->tls.enabled) {
		const struct lt_tls_api *tls = tls_get(err, errlen);

		if (!tls || tls->check(&c->tls, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

int stream_conf_check(const struct lt_stream_conf *c, char *err, size_t errlen)
{
	return conf_check(c, 1, err, errlen);
}

/* ---- state and counters ------------------------------------------------ */

static void set_state(struct lt_stream *s, enum lt_dcc_state st)
{
	s->state = st;
	lt_count_set(&s->stats->state, (int)st);
}

/* Queued bytes, and the samples (lines) that are neither sent nor dropped. */
static void update_queued(struct lt_stream *s)
{
	lt_count_set(&s->stats->queued, s->tail - s->rec);
	lt_count_set(&s->stats->pending, s->lines);
}

static void count(uint64_t *c, uint64_t n)
{
	lt_count(c, n);
}

/* The bytes [from, to) of the ring as at most two pieces. */
static int ring_iov(const struct lt_stream *s, uint64_t from, uint64_t to, struct iovec iov[2])
{
	size_t pos = (size_t)(from % s->cap);
	size_t len = (size_t)(to - from);
	size_t first = s->cap - pos < len ? s->cap - pos : len;

	iov[0].iov_base = s->buf + pos;
	iov[0].iov_len = first;
	if (first == len)
		return 1;
	iov[1].iov_base = s->buf;
	iov[1].iov_len = len - first;
	return 2;
}

/* Append @n bytes at @p to the history ring. */
static void hist_put(struct lt_stream *s, const char *p, size_t n)
{
	if (n >= s->hist_cap) {
		p += n - s->hist_cap;
		n = s->hist_cap;
	}
	while (n) {
		size_t pos = (size_t)(s->hist_end % s->hist_cap), k = s->hist_cap - pos;

		if (k > n)
			k = n;
		memcpy(s->hist + pos, p, k);
		p += k;
		n -= k;
		s->hist_end += k;
		s->hist_len = s->hist_len + k > s->hist_cap ? s->hist_cap : s->hist_len + k;
	}
}

/* The whole lines [@from, @to) of the queue were sent: remember them for resend_window(). */
static void hist_add(struct lt_stream *s, uint64_t from, uint64_t to)
{
	struct iovec iov[2];
	int niov;

	if (!s->hist)
		return;
	niov = ring_iov(s, from, to, iov);
	for (int i = 0; i < niov; i++)
		hist_put(s, iov[i].iov_base, iov[i].iov_len);
}

/*
 * @n more bytes left the queue: count them and the lines they complete,
 * and move rec past the last complete line. When the whole queue left (the
 * usual case) the writers' line counts say how many: no scan.
 */
static void advance(struct lt_stream *s, size_t n)
{
	struct iovec iov[2];
	int niov = ring_iov(s, s->head, s->head + n, iov);
	uint64_t off = s->head, lines = 0, last = 0;

	if (s->head + n == s->tail && s->buf[(s->tail - 1) % s->cap] == '\n') {
		lines = s->lines;
		last = s->tail;
		niov = 0;
	}
	for (int i = 0; i < niov; i++) {
		const char *base = iov[i].iov_base, *end = base + iov[i].iov_len;

		for (const char *p = base; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
			lines++;
			last = off + (uint64_t)(p - base) + 1;
		}
		off += iov[i].iov_len;
	}
	s->head += n;
	s->lines -= lines;
	if (lines) {
		hist_add(s, s->rec, last);
		s->rec = last;
	}
	if (s->rec == s->tail)
		s->rec = s->head = s->tail = s->lines = 0;
	count(&s->stats->bytes, n);
	count(&s->stats->sent, lines);
	update_queued(s);
}

/* ---- TCP ---------------------------------------------------------------- */

static void tcp_close(struct lt_stream *s)
{
	lt_probe_cancel(&s->probe);
	if (s->ssl)
		s->tls->conn_free(s->ssl);
	s->ssl = NULL;
	s->tls_phase = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->ai)
		freeaddrinfo(s->ai);
	s->ai = s->ai_cur = NULL;
}

/*
 * Close and schedule the next attempt, at the preferred endpoint, after the
 * back-off delay (backoff.h: reconnecting and probing the preferred
 * endpoint both use it).
 */
static void backoff(struct lt_stream *s, int64_t now, const char *what, const char *reason)
{
	int prio = lt_backoff_failed(&s->bo, now, s->peer, reason);
	uint64_t delay = lt_backoff_next(&s->bo);

	tcp_close(s);
	s->tried = 0;
	s->cur = 0;
	s->timer_ns = now + (int64_t)delay;
	set_state(s, LT_DCC_BACKOFF);
	count(&s->stats->errors, 1);
	lt_dcc_log(s->dcc, prio, "connection to %s %s: %s, retrying in %llu ms", s->peer, what,
		   reason, (unsigned long long)((delay + MSEC - 1) / MSEC));
}

/*
 * The connection ended: the lines written last may not have reached the
 * peer's application. Two parts of them are lost with it: what TCP had
 * not had acknowledged (SIOCOUTQ: it is never sent now), and what the
 * peer had acknowledged but not read yet (its receive queue, dropped when
 * carbon stops). Put the re-send window back before the queue: the last
 * whole lines written, SIOCOUTQ after the last send + queue_size / 4
 * bytes, as far as the history and the queue have room. SIOCOUTQ only
 * shrinks after the last send, so the window covers every unacknowledged
 * byte; SO_SNDBUF is set to queue_size / 4 so that SIOCOUTQ stays within
 * the history (HIST_SLACK for the kernel's overshoot). The queue_size / 4
 * before them covers what the peer had acknowledged but not read, up to
 * that much: docs/reliability.md, "The re-send window", has the
 * measurement (a carbon-relay at SIGTERM: up to 684 KB unread).
 * The lines count as pending again (no longer sent) and in resent. Carbon
 * stores a (path, second) sent twice once: the copy costs only bytes.
 */
static void resend_window(struct lt_stream *s, uint64_t partial)
{
	size_t queued = (size_t)(s->tail - s->rec), room = s->cap - queued, n = s->window;
	/* The start of the cut record is in SIOCOUTQ too; it goes again from rec anyway. */
	uint64_t lines = 0, need = s->outq > partial ? s->outq - partial : 0;
	char *tmp;

	s->last_resend = (struct lt_stream_resend){ .unacked = s->outq };
	n += (size_t)need;
	/* The history holds every line of the connection when it never wrapped. */
	if (n > s->hist_len) {
		if (need > s->hist_len && s->hist_len < s->hist_end)
			s->last_resend.uncovered = need - s->hist_len;
		n = s->hist_len;
	}
	if (n > room) {
		if (need > room)
			s->last_resend.uncovered = need - room;
		n = room;
	}
	s->outq = 0;
	if (s->last_resend.uncovered)
		lt_dcc_log(
			s->dcc, LOG_WARNING,
			"%llu bytes TCP had not delivered to %s do not fit in the re-send window "
			"(queue full): they may be lost",
			(unsigned long long)s->last_resend.uncovered, s->peer);
	if (!s->hist || !n)
		return;
	tmp = malloc(n + queued);
	if (!tmp)
		return;
	for (size_t i = 0; i < n; i++)
		tmp[i] = s->hist[(s->hist_end - n + i) % s->hist_cap];
	/* Whole lines only: drop the start of a line the window cut. */
	size_t skip = 0;
	if (n < s->hist_len || s->hist_end > s->hist_cap) {
		char *nl = memchr(tmp, '\n', n);

		skip = nl ? (size_t)(nl - tmp) + 1 : n;
	}
	for (const char *p = tmp + skip; (p = memchr(p, '\n', (size_t)(tmp + n - p))); p++)
		lines++;
	struct iovec iov[2];
	int niov = queued ? ring_iov(s, s->rec, s->tail, iov) : 0;
	size_t pos = n;
	for (int i = 0; i < niov; i++) {
		memcpy(tmp + pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	memcpy(s->buf, tmp + skip, pos - skip);
	free(tmp);
	s->rec = s->head = 0;
	s->tail = pos - skip;
	s->lines += lines;
	s->hist_len = 0;
	s->last_resend.bytes = pos - skip - queued;
	s->last_resend.lines = lines;
	lt_count_sub(&s->stats->sent, lines);
	count(&s->stats->resent, lines);
	update_queued(s);
}

/*
 * Connecting to, or the connection with, the current endpoint failed: try
 * the next endpoint at once, unless each one failed in a row since the
 * last connection (a round): then back off and start again from the
 * preferred one. With one endpoint, every failure backs off.
 */
static void connect_start(struct lt_stream *s, int64_t now);

static void fail(struct lt_stream *s, int64_t now, const char *what, const char *reason)
{
	unsigned from = s->cur;

	if (++s->tried >= s->nep) {
		backoff(s, now, what, reason);
		return;
	}
	tcp_close(s);
	count(&s->stats->errors, 1);
	s->cur = (s->cur + 1) % s->nep;
	lt_dcc_log(s->dcc, lt_backoff_failed(&s->bo, now, s->ep[from].name, reason),
		   "connection to %s %s: %s, trying %s", s->ep[from].name, what, reason,
		   s->ep[s->cur].name);
	connect_start(s, now);
}

/* The connection to the peer is gone: the cut record goes out again later. */
static void connection_lost(struct lt_stream *s, int64_t now, const char *reason)
{
	uint64_t partial = s->head - s->rec;

	s->head = s->rec;
	resend_window(s, partial);
	fail(s, now, "lost", reason);
}

static void drain(struct lt_stream *s);

static void connected(struct lt_stream *s)
{
	int64_t now = (int64_t)lt_mono_ns();
	char outage[80];
	int prio = lt_backoff_up(&s->bo, now, outage, sizeof(outage));

	if (s->ai)
		freeaddrinfo(s->ai);
	s->ai = s->ai_cur = NULL;
	if (s->connected_once)
		count(&s->stats->reconnects, 1);
	lt_dcc_log(s->dcc, prio, "connected to %s%s%s%s", s->peer, s->ssl ? " with " : "",
		   s->ssl ? s->tls->version_name(s->ssl) : "", outage);
	/* A move: to another endpoint than the last one, or first to another than the preferred. */
	if (s->up_ep >= 0 ? (unsigned)s->up_ep != s->cur : s->cur != 0) {
		count(&s->stats->failovers, 1);
		lt_dcc_log(s->dcc, LOG_NOTICE, "%s to %s (%s%s)", s->cur ? "failed over" : "back",
			   s->ep[s->cur].name, s->up_ep >= 0 ? "from " : "preferred endpoint ",
			   s->up_ep >= 0 ? s->ep[s->up_ep].name : "unreachable");
	}
	s->up_ep = (int)s->cur;
	lt_count_set(&s->stats->endpoint, s->cur);
	s->connected_once = 1;
	s->tried = 0;
	s->outq = 0;
	/*
	 * Away from the preferred endpoint: probe it on the back-off schedule.
	 * Here again after a switch back that did not come up (TCP accepted,
	 * the handshake refused: a bad certificate), the probe counts as
	 * failed: the next waits a level longer, so that such an endpoint is
	 * tried less and less often instead of at the shortest delay each time.
	 */
	if (s->switched && s->cur) {
		s->probe.level += s->probe.level < 63;
		lt_probe_schedule(&s->probe, &s->bo, now, 0);
	} else {
		lt_probe_schedule(&s->probe, &s->bo, now, 1);
	}
	s->switched = 0;
	set_state(s, LT_DCC_UP);
	drain(s);
}

/* ---- TLS over the TCP connection ------------------------------------------ */

/* The handshake or the hold failed: why, from the context's record or OpenSSL. */
static void tls_fail(struct lt_stream *s, int64_t now, int ssl_err)
{
	char why[300];

	if (!s->tls->failure(s->ssl_ctx, why, sizeof(why))) {
		if (ssl_err == SSL_ERROR_SYSCALL && errno)
			snprintf(why, sizeof(why), "TLS handshake: %s", strerror(errno));
		else
			snprintf(why, sizeof(why), "closed by the peer during the TLS handshake");
	}
	s->tls->clear_error();
	fail(s, now, "failed", why);
}

/*
 * With TLS 1.3 the server checks a client certificate after the client's
 * handshake is over, and refuses it with an alert. Lines sent before that
 * would be lost with the connection (and the log would say "reset"
 * instead of "certificate revoked"), so with a client certificate the
 * stream waits until the server has sent something (session tickets, or
 * the alert), at most TLS_HOLD_NS, before it calls itself connected.
 */
static void tls_hold(struct lt_stream *s, int64_t now, int timer)
{
	char junk[256];
	int n, e;

	if (timer) {
		connected(s);
		return;
	}
	s->tls->clear_error();
	errno = 0;
	n = s->tls->read(s->ssl, junk, sizeof(junk));
	e = n > 0 ? SSL_ERROR_NONE : s->tls->get_error(s->ssl, n);
	if (n > 0 || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		s->tls_phase = 0;
		connected(s);
	} else {
		tls_fail(s, now, e);
	}
}

static void tls_handshake(struct lt_stream *s, int64_t now)
{
	int r, e;

	s->tls->clear_error();
	errno = 0;
	r = s->tls->connect(s->ssl);
	if (r == 1) {
		if (s->tls->version(s->ssl) == TLS1_3_VERSION && s->conf.tls.cert) {
			s->tls_phase = 2;
			s->tls_want = POLLIN;
			s->hold_until = now + (int64_t)TLS_HOLD_NS;
			return;
		}
		s->tls_phase = 0;
		connected(s);
		return;
	}
	e = s->tls->get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		s->tls_want = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		s->tls_want = POLLOUT;
	else
		tls_fail(s, now, e);
}

/* TCP is up: connected, or first the TLS handshake. */
static void tcp_connected(struct lt_stream *s, int64_t now)
{
	if (!s->ssl_ctx) {
		connected(s);
		return;
	}
	s->ssl = s->tls->conn_new(s->ssl_ctx, s->fd, s->ep[s->cur].host);
	if (!s->ssl) {
		fail(s, now, "failed", "cannot set up TLS (out of memory?)");
		return;
	}
	if (s->ai)
		freeaddrinfo(s->ai);
	s->ai = s->ai_cur = NULL;
	s->tls_phase = 1;
	s->timer_ns = now + (int64_t)s->conf.connect_timeout_ns;
	set_state(s, LT_DCC_CONNECTING);
	tls_handshake(s, now);
}

/* A non-blocking TCP socket for @a, set up as every connection of the stream is. */
static int tcp_socket(const struct lt_stream *s, const struct addrinfo *a)
{
	static const int one = 1;
	int fd =
		socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
	int sndbuf = (int)(s->window / 2); /* the kernel doubles it */

	if (fd < 0)
		return -1;
	/* TCP_NODELAY stays off: lines are batched, Nagle merges what is left. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* Unacknowledged bytes stay within the re-send window (resend_window()). */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return fd;
}

/* Try s->ai_cur and the addresses after it until one connects or is in progress. */
static void connect_from(struct lt_stream *s, int64_t now, int last_err)
{
	for (; s->ai_cur; s->ai_cur = s->ai_cur->ai_next) {
		struct addrinfo *a = s->ai_cur;
		int fd = tcp_socket(s, a);

		if (fd < 0) {
			last_err = errno;
			continue;
		}
		s->fd = fd;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			tcp_connected(s, now);
			return;
		}
		if (errno == EINPROGRESS) {
			s->timer_ns = now + (int64_t)s->conf.connect_timeout_ns;
			set_state(s, LT_DCC_CONNECTING);
			return;
		}
		last_err = errno;
		close(fd);
		s->fd = -1;
	}
	fail(s, now, "failed", strerror(last_err ? last_err : ECONNREFUSED));
}

static void connect_start(struct lt_stream *s, int64_t now)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	int r;

	tcp_close(s);
	snprintf(s->peer, sizeof(s->peer), "%s", s->ep[s->cur].name);
	s->ssl_ctx = s->ctx[s->cur];
	r = getaddrinfo(s->ep[s->cur].host, s->ep[s->cur].port, &hints, &s->ai);
	if (r) {
		s->ai = NULL;
		fail(s, now, "failed", r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return;
	}
	s->ai_cur = s->ai;
	connect_from(s, now, 0);
}

/* The address being connected to failed with @err: try the next one. */
static void connect_next(struct lt_stream *s, int64_t now, int err)
{
	close(s->fd);
	s->fd = -1;
	s->ai_cur = s->ai_cur->ai_next;
	connect_from(s, now, err);
}

/* SIOCOUTQ after a send: the bytes the peer has not acknowledged (resend_window()). */
static void sample_outq(struct lt_stream *s)
{
	int v;

	if (ioctl(s->fd, SIOCOUTQ, &v) == 0 && v >= 0)
		s->outq = (uint64_t)v;
}

/*
 * Where sending stops: the tail, or, when a switch to the preferred
 * endpoint waits (probe.ok), the end of the record being sent, so the
 * old connection ends on a line boundary.
 */
static uint64_t send_end(const struct lt_stream *s)
{
	struct iovec iov[2];
	uint64_t off = s->head;
	int niov;

	if (!s->probe.ok || s->head == s->rec)
		return s->probe.ok ? s->head : s->tail;
	niov = ring_iov(s, s->head, s->tail, iov);
	for (int i = 0; i < niov; i++) {
		const char *nl = memchr(iov[i].iov_base, '\n', iov[i].iov_len);

		if (nl)
			return off + (uint64_t)(nl - (const char *)iov[i].iov_base) + 1;
		off += iov[i].iov_len;
	}
	return s->tail;
}

static void tls_drain(struct lt_stream *s)
{
	char why[300];

	while (s->head < send_end(s)) {
		struct iovec iov[2];
		size_t len;
		int n, e;

		ring_iov(s, s->head, send_end(s), iov);
		len = iov[0].iov_len < INT_MAX ? iov[0].iov_len : INT_MAX;
		s->tls->clear_error();
		errno = 0;
		n = s->tls->write(s->ssl, iov[0].iov_base, (int)len);
		if (n > 0) {
			advance(s, (size_t)n);
			sample_outq(s);
			continue;
		}
		e = s->tls->get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return;
		if (s->tls->failure(s->ssl_ctx, why, sizeof(why)))
			connection_lost(s, (int64_t)lt_mono_ns(), why);
		else
			connection_lost(s, (int64_t)lt_mono_ns(),
					e == SSL_ERROR_SYSCALL && errno ? strerror(errno)
									: "TLS write failed");
		s->tls->clear_error();
		return;
	}
}

static void tcp_drain(struct lt_stream *s)
{
	if (s->ssl) {
		tls_drain(s);
		return;
	}
	while (s->head < send_end(s)) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		msg.msg_iovlen = (size_t)ring_iov(s, s->head, send_end(s), iov);
		n = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (e != EAGAIN && e != EWOULDBLOCK)
				connection_lost(s, (int64_t)lt_mono_ns(), strerror(e));
			return;
		}
		advance(s, (size_t)n);
		sample_outq(s);
	}
}

/* tcp_read() over TLS: also where a late alert from the server shows up. */
static void tls_read(struct lt_stream *s, int64_t now)
{
	char junk[4096], why[300];

	for (int i = 0; i < 16; i++) {
		int n, e;

		s->tls->clear_error();
		errno = 0;
		n = s->tls->read(s->ssl, junk, sizeof(junk));
		if (n > 0)
			continue;
		e = s->tls->get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		if (s->tls->failure(s->ssl_ctx, why, sizeof(why)))
			connection_lost(s, now, why);
		else if (e == SSL_ERROR_SYSCALL && errno)
			connection_lost(s, now, strerror(errno));
		else
			connection_lost(s, now, "closed by the peer");
		s->tls->clear_error();
		return;
	}
}

/* Read and drop what the peer says; notice when it closes or resets. */
static void tcp_read(struct lt_stream *s, int64_t now)
{
	char junk[4096];

	if (s->ssl) {
		tls_read(s, now);
		return;
	}

	/* Bounded: a chatty peer must not hold the publisher thread. */
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0) {
			connection_lost(s, now, "closed by the peer");
		} else if (errno == EINTR) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			connection_lost(s, now, strerror(errno));
		}
		return;
	}
}

/* The probe's socket: that of a connection (keepalive, SO_SNDBUF), it may become one. */
static int probe_socket(void *ctx, const struct addrinfo *a)
{
	return tcp_socket(ctx, a);
}

/* Connected to another endpoint than the preferred one: probe that one (probe.h). */
static void probe_step(struct lt_stream *s, int64_t now)
{
	if (s->state != LT_DCC_UP || !s->cur)
		return;
	lt_probe_step(&s->probe, s->ep[0].host, s->ep[0].port, &s->bo, s->conf.connect_timeout_ns,
		      now);
}

/*
 * The preferred endpoint accepted the probe, and the current connection is
 * at a record boundary: end the current connection cleanly (FIN after
 * what it has queued: its peer is alive and reads it) and go on with the
 * probe's.
 */
static void switch_back(struct lt_stream *s, int64_t now)
{
	int fd = lt_probe_take(&s->probe);

	if (s->ssl && !s->tls_phase) {
		s->tls->clear_error();
		s->tls->shutdown(s->ssl);
		s->tls->clear_error();
	}
	tcp_close(s);
	lt_dcc_log(s->dcc, LOG_INFO, "preferred endpoint %s accepts connections again",
		   s->ep[0].name);
	s->cur = 0;
	s->fd = fd;
	s->switched = 1;
	snprintf(s->peer, sizeof(s->peer), "%s", s->ep[0].name);
	s->ssl_ctx = s->ctx[0];
	tcp_connected(s, now);
}

static void tcp_dispatch(struct lt_stream *s, short revents, int64_t now)
{
	if (s->fd >= 0 && revents && s->tls_phase) {
		if (s->tls_phase == 1)
			tls_handshake(s, now);
		else
			tls_hold(s, now, 0);
	} else if (s->fd >= 0 && revents) {
		if (s->state == LT_DCC_CONNECTING) {
			int e = lt_so_error(s->fd);

			if (!e && (revents & (POLLERR | POLLHUP)))
				e = ECONNREFUSED;
			if (e)
				connect_next(s, now, e);
			else if (revents & POLLOUT)
				tcp_connected(s, now);
		} else if (s->state == LT_DCC_UP) {
			if (revents & (POLLIN | POLLHUP | POLLERR))
				tcp_read(s, now);
			if (s->state == LT_DCC_UP && (revents & (POLLHUP | POLLERR))) {
				int e = lt_so_error(s->fd);

				connection_lost(s, now, e ? strerror(e) : "hung up");
			}
			if (s->state == LT_DCC_UP && (revents & POLLOUT))
				tcp_drain(s);
		}
	}
	probe_step(s, now);
	if (s->state == LT_DCC_UP && s->probe.ok && s->head == s->rec)
		switch_back(s, now);
	if (s->state == LT_DCC_CONNECTING && s->tls_phase == 2 && now >= s->hold_until)
		tls_hold(s, now, 1);
	else if (s->state == LT_DCC_CONNECTING && s->tls_phase && now >= s->timer_ns)
		fail(s, now, "failed", "TLS handshake timed out");
	else if (s->state == LT_DCC_CONNECTING && now >= s->timer_ns)
		connect_next(s, now, ETIMEDOUT);
	else if (s->state == LT_DCC_BACKOFF && now >= s->timer_ns)
		connect_start(s, now);
}

/* ---- file and stdout ------------------------------------------------------ */

/* Blocking writes: a file or a terminal takes everything, or fails. */
static void file_drain(struct lt_stream *s)
{
	while (s->head < s->tail) {
		struct iovec iov[2];
		int niov = ring_iov(s, s->head, s->tail, iov);
		ssize_t n = writev(s->fd, iov, niov);

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			/* Keep the data (nothing is rewound: the file already has
			 * the bytes written) and retry after a back-off delay. */
			int64_t now = (int64_t)lt_mono_ns();

			count(&s->stats->errors, 1);
			lt_dcc_log(s->dcc, lt_backoff_failed(&s->bo, now, NULL, strerror(e)),
				   "cannot write to %s: %s", s->peer, strerror(e));
			s->timer_ns = now + (int64_t)s->conf.backoff_min_ns;
			set_state(s, LT_DCC_BACKOFF);
			return;
		}
		if (s->bo.down_since) {
			char outage[80];

			lt_dcc_log(s->dcc,
				   lt_backoff_up(&s->bo, (int64_t)lt_mono_ns(), outage,
						 sizeof(outage)),
				   "writing to %s%s", s->peer, outage);
		}
		advance(s, (size_t)n);
	}
}

static void drain(struct lt_stream *s)
{
	if (s->conf.kind == LT_STREAM_TCP)
		tcp_drain(s);
	else
		file_drain(s);
}

/* ---- the interface ------------------------------------------------------- */

int stream_new(const struct lt_stream_conf *c, struct lt_dcc *dcc, struct lt_dcc_stats *stats,
	       struct lt_stream **out)
{
	struct lt_stream *s;
	int r;

	r = conf_check(c, 0, NULL, 0);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	lt_probe_init(&s->probe, probe_socket, s);
	s->up_ep = -1;
	s->conf = *c;
	s->conf.host = s->conf.port = s->conf.path = NULL;
	if (lt_tls_conf_copy(&s->conf.tls, &c->tls) < 0) {
		lt_tls_conf_init(&s->conf.tls);
		goto err_free;
	}
	if ((c->host && !(s->conf.host = strdup(c->host))) ||
	    (c->port && !(s->conf.port = strdup(c->port))) ||
	    (c->path && !(s->conf.path = strdup(c->path))))
		goto err_free;
	s->cap = c->queue_bytes;
	s->buf = malloc(s->cap);
	if (!s->buf)
		goto err_free;
	if (c->kind == LT_STREAM_TCP) {
		r = lt_endpoints_parse(c->host, c->port, &s->ep, NULL, 0);
		if (r < 0)
			goto err_free;
		s->nep = (unsigned)r;
		s->window = c->queue_bytes / 4;
		s->hist_cap = 2 * s->window + HIST_SLACK;
		s->hist = malloc(s->hist_cap);
		if (!s->hist)
			goto err_free;
	}
	s->dcc = dcc;
	s->stats = stats ? stats : &s->own_stats;
	lt_backoff_init(&s->bo, c->backoff_min_ns, c->backoff_max_ns);
	if (c->kind == LT_STREAM_TCP)
		snprintf(s->peer, sizeof(s->peer), "%s", s->ep[0].name);
	else
		snprintf(s->peer, sizeof(s->peer), "%s",
			 c->kind == LT_STREAM_FILE ? c->path : "standard output");
	set_state(s, LT_DCC_IDLE);
	update_queued(s);
	*out = s;
	return 0;

err_free:
	stream_free(s);
	return -ENOMEM;
}

int stream_start(struct lt_stream *s, char *err, size_t errlen)
{
	switch (s->conf.kind) {
	case LT_STREAM_TCP:
		if (s->conf.tls.enabled && !s->tls && !(s->tls = tls_get(err, errlen)))
			return -EINVAL;
		for (unsigned i = 0; s->conf.tls.enabled && i < s->nep; i++) {
			if (s->ctx[i])
				continue;
			s->ctx[i] = s->tls->ctx_new(&s->conf.tls, s->ep[i].host, err, errlen);
			if (!s->ctx[i])
				return -EINVAL;
		}
		connect_start(s, (int64_t)lt_mono_ns());
		return 0;
	case LT_STREAM_FILE:
		s->fd = open(s->conf.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s->fd < 0)
			return lt_errf(err, errlen, -errno, "cannot open %s: %s", s->conf.path,
				       strerror(errno));
		break;
	case LT_STREAM_STDOUT:
		s->fd = STDOUT_FILENO;
		break;
	}
	set_state(s, LT_DCC_UP);
	drain(s);
	return 0;
}

int stream_write(struct lt_stream *s, const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;
	size_t lines = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		lines++;
		p++;
	}
	return stream_write_lines(s, buf, len, lines);
}

int stream_write_lines(struct lt_stream *s, const void *buf, size_t len, size_t lines)
{
	struct iovec iov[2];
	int niov;

	if (!len)
		return 0;
	if (len > s->cap - (size_t)(s->tail - s->rec))
		return -ENOBUFS;
	niov = ring_iov(s, s->tail, s->tail + len, iov);
	memcpy(iov[0].iov_base, buf, iov[0].iov_len);
	if (niov == 2)
		memcpy(iov[1].iov_base, (const char *)buf + iov[0].iov_len, iov[1].iov_len);
	s->tail += len;
	s->lines += lines;
	update_queued(s);
	if (s->state == LT_DCC_UP && s->tail - s->head >= SEND_MIN)
		drain(s);
	return 0;
}

void stream_poll(struct lt_stream *s, struct pollfd *pfd, int64_t *deadline_ns)
{
	pfd->fd = -1;
	pfd->events = 0;
	pfd->revents = 0;
	switch (s->state) {
	case LT_DCC_CONNECTING:
		pfd->fd = s->fd;
		pfd->events = s->tls_phase ? s->tls_want : POLLOUT;
		if (s->tls_phase == 2 && s->hold_until < *deadline_ns)
			*deadline_ns = s->hold_until;
		break;
	case LT_DCC_UP:
		if (s->conf.kind != LT_STREAM_TCP) {
			if (s->head < s->tail)
				*deadline_ns = 0; /* written in the next stream_dispatch() */
			return;
		}
		pfd->fd = s->fd;
		/* POLLIN even when idle, to notice the peer closing. */
		pfd->events = POLLIN | (s->head < send_end(s) ? POLLOUT : 0);
		if (s->cur && (s->probe.ok ? s->head == s->rec : s->probe.at < *deadline_ns))
			*deadline_ns = s->probe.ok ? 0 : s->probe.at;
		return;
	case LT_DCC_BACKOFF:
		break;
	default:
		return;
	}
	if (s->timer_ns < *deadline_ns)
		*deadline_ns = s->timer_ns;
}

void stream_dispatch(struct lt_stream *s, short revents, int64_t now_ns)
{
	if (s->conf.kind == LT_STREAM_TCP) {
		tcp_dispatch(s, revents, now_ns);
	} else if (s->state == LT_DCC_BACKOFF && now_ns >= s->timer_ns) {
		set_state(s, LT_DCC_UP);
		file_drain(s);
	} else if (s->state == LT_DCC_UP) {
		file_drain(s);
	}
}

int stream_flush(struct lt_stream *s, int64_t deadline_ns)
{
	/* Do not sit out a long back-off: try once now, then follow the schedule. */
	if (s->state == LT_DCC_BACKOFF)
		s->timer_ns = (int64_t)lt_mono_ns();

	while (s->head < s->tail) {
		int64_t now = (int64_t)lt_mono_ns(), dl = deadline_ns;
		struct pollfd pfd;
		int n;

		if (now >= deadline_ns || s->state == LT_DCC_IDLE)
			return -ETIMEDOUT;
		stream_poll(s, &pfd, &dl);
		if (s->state == LT_DCC_UP && pfd.fd < 0) {
			file_drain(s);
			continue;
		}
		int64_t wait = dl > now ? (dl - now + (int64_t)MSEC - 1) / (int64_t)MSEC : 0;
		n = poll(&pfd, 1, wait > INT_MAX ? INT_MAX : (int)wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		stream_dispatch(s, n > 0 ? pfd.revents : 0, (int64_t)lt_mono_ns());
	}
	return 0;
}

void stream_last_resend(const struct lt_stream *s, struct lt_stream_resend *out)
{
	*out = s->last_resend;
}

size_t stream_queued(const struct lt_stream *s)
{
	return (size_t)(s->tail - s->rec);
}

size_t stream_take(struct lt_stream *s, char *out, size_t len, uint64_t *lines)
{
	struct iovec iov[2];
	size_t n = (size_t)(s->tail - s->rec), pos = 0;
	int niov;

	*lines = 0;
	if (!n || n > len)
		return 0;
	niov = ring_iov(s, s->rec, s->tail, iov);
	for (int i = 0; i < niov; i++) {
		memcpy(out + pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	*lines = s->lines;
	s->rec = s->head = s->tail = s->lines = 0;
	update_queued(s);
	return n;
}

void stream_free(struct lt_stream *s)
{
	if (!s)
		return;
	if (s->ssl && s->state == LT_DCC_UP && !s->tls_phase) {
		/* close_notify, if the socket takes it now: carbon sees a clean end. */
		s->tls->clear_error();
		s->tls->shutdown(s->ssl);
		s->tls->clear_error();
	}
	if (s->conf.kind == LT_STREAM_TCP)
		tcp_close(s);
	else if (s->conf.kind == LT_STREAM_FILE && s->fd >= 0)
		close(s->fd);
	if (s->stats) {
		/* What the queue still holds is lost with it: count it. */
		count(&s->stats->dropped, s->lines);
		s->rec = s->head = s->tail = s->lines = 0;
		set_state(s, LT_DCC_IDLE);
		update_queued(s);
	}
	free(s->buf);
	free(s->hist);
	for (unsigned i = 0; s->tls && i < LT_ENDPOINTS_MAX; i++)
		if (s->ctx[i])
			s->tls->ctx_free(s->ctx[i]);
	lt_endpoints_free(s->ep, s->nep);
	stream_conf_clear(&s->conf);
	free(s);
}

/* ---- package transport-stream -------------------------------------------- */

static const struct lt_stream_api stream_api = {
	.size = sizeof(struct lt_stream_api),
	.conf_defaults = stream_conf_defaults,
	.conf_clear = stream_conf_clear,
	.conf_option = stream_conf_option,
	.conf_opts = stream_conf_opts,
	.conf_check = stream_conf_check,
	.create = stream_new,
	.start = stream_start,
	.write = stream_write,
	.write_lines = stream_write_lines,
	.poll = stream_poll,
	.dispatch = stream_dispatch,
	.flush = stream_flush,
	.queued = stream_queued,
	.take = stream_take,
	.last_resend = stream_last_resend,
	.free = stream_free,
};

static int stream_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	pkg_ctx = ctx;
	return lt_package_provide(ctx, &stream_api, err, errlen);
}

/* Streams are gone by now (their DCCs stopped); transport-tls unloads after this. */
static void stream_package_exit(struct lt_package_ctx *ctx)
{
	(void)ctx;
	pkg_ctx = NULL;
	tls_api = NULL;
}

LT_INTREE_PACKAGE(transport_stream, .name = LT_STREAM_API, .version = PACKAGE_VERSION,
		  .init = stream_package_init, .exit = stream_package_exit);
