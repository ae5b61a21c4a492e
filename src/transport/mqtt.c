/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * MQTT client transport on libmosquitto 2.0, driven by the caller's poll
 * loop (see mqtt.h).
 *
 * Each connection attempt gets a fresh struct mosquitto, destroyed when the
 * connection ends: what is not delivered stays in our own queue and is
 * handed to the next connection, so libmosquitto never holds state across
 * connections that we would have to reconcile with it (its own reconnect
 * logic and loop thread are not used). A message is "handed" when given to
 * mosquitto_publish(); it leaves the queue when libmosquitto reports it
 * done through on_publish: written for QoS 0, acknowledged (PUBACK,
 * PUBCOMP) for QoS 1 and 2. At most WINDOW messages are handed at once, so
 * that libmosquitto's copies stay few.
 *
 * libmosquitto calls back from inside mosquitto_loop_*() and
 * mosquitto_publish(); the callbacks only record what happened (a lost
 * connection in particular), and settle() acts on it once libmosquitto has
 * returned, because a struct mosquitto must not be destroyed from its own
 * callback.
 *
 * What blocks: mosquitto_connect_async() resolves the host with
 * getaddrinfo() (no I/O for a numeric address) and then connects without
 * blocking; the TLS handshake and everything after it is non-blocking.
 */
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "transport/backoff.h"
#include "transport/endpoint.h"
#include "transport/link_opts.h"
#include "transport/mqtt.h"
#include "transport/probe.h"
#include "utf8.h"
#include "util.h"

#define MSEC   1000000ull
#define WINDOW 100 /* messages handed to libmosquitto at once */
/*
 * One mosquitto_loop_read() may parse a packet per message in flight (up to
 * WINDOW and more): incoming messages go to on_message within IN_BUDGET
 * bytes per dispatch, at least one; the others wait in the inbox (at most
 * INBOX_MAX bytes, what does not fit is dropped) for the next rounds, and
 * the socket is not read while the inbox holds any.
 */
#define IN_BUDGET (128u * 1024)
#define INBOX_MAX (1024u * 1024)
/* MQTT's largest packet is 256 MiB; the topic and header fit in the rest. */
#define PAYLOAD_MAX (256u * 1024 * 1024 - 64 * 1024)
/*
 * Spooled messages in flight are confirmed in the order read; their
 * acknowledgements may come out of order (a QoS 2 one after a later QoS 1),
 * within the WINDOW handed at once: a ring of that many flags is enough.
 */
#define ACK_RING 256
/* Replay moves at most this much per dispatch (graphite's REPLAY_ROUND). */
#define REPLAY_ROUND (128u << 10)
/* How often a spool that another instance still holds (a reload) is tried again. */
#define SPOOL_RETRY_NS (100 * MSEC)

struct mq_msg {
	TAILQ_ENTRY(mq_msg) link;
	size_t len;       /* payload bytes */
	size_t cost;      /* topic + payload: what counts against queue_size */
	unsigned samples; /* added to stats->sent on delivery */
	int mid;          /* libmosquitto's id while handed */
	unsigned char qos, retain, handed;
	unsigned char spooled; /* read from the spool: confirmed there when delivered */
	uint64_t sseq;         /* its rank in the reading, for in-order confirmation */
	char *topic;           /* in data[] */
	char data[];           /* topic, NUL, payload */
};

TAILQ_HEAD(mq_list, mq_msg);

/* A message received, waiting for its turn in on_message. */
struct mq_in {
	STAILQ_ENTRY(mq_in) link;
	size_t len;
	char *payload; /* in data[], after the topic */
	char data[];   /* topic, NUL, payload */
};

STAILQ_HEAD(mq_inbox, mq_in);

struct mq_sub {
	char *topic;
	int qos;
};

struct lt_mqtt {
	struct lt_mqtt_conf conf; /* own copy */
	char *client_id;
	struct lt_mqtt_handlers h;
	void *ctx;
	struct lt_dcc *dcc;
	struct lt_dcc_stats *stats;
	struct lt_dcc_stats own_stats;
	char peer[300]; /* "HOST:PORT", for messages */
	unsigned port;
	SSL_CTX *ssl_ctx; /* NULL without TLS: the current endpoint's */

	/* The brokers (host list), the first preferred; see mqtt.h. */
	struct lt_mqtt_ep eps[LT_MQTT_EP_MAX];
	SSL_CTX *ep_ssl[LT_MQTT_EP_MAX];
	unsigned neps, ep;
	int up_ep;             /* endpoint of the last accepted connection, -1: none yet */
	struct lt_probe probe; /* TCP probe of the preferred broker (probe.h) */

	/* The durable spool (mqtt.h). */
	struct spool *spool;
	int64_t spool_retry;           /* open again at (EBUSY), 0: not needed */
	int spool_failing;             /* appends fail: logged once */
	int flushing;                  /* stopping: nothing more is read from the spool */
	struct spool_reporter report;  /* evictions counted and logged */
	int64_t replay_wait;           /* a read failed: not again before */
	uint64_t sp_read, sp_next;     /* ranks: next read, next to confirm */
	unsigned char acked[ACK_RING]; /* 1 delivered, 2 dropped, by rank */
	char *enc;                     /* a record being written */
	size_t enc_len;

	struct mosquitto *mosq; /* of the current attempt or connection */
	enum lt_dcc_state state;
	int started;
	int tcp_up;   /* the socket of the attempt became writable */
	int hold;     /* CONNECT held after the handshake: 1 holding, 2 released */
	int tls_done; /* the TLS handshake of the attempt completed */
	int64_t hold_until;
	int64_t timer_ns;     /* end of back-off, connect deadline, or next keepalive check */
	struct lt_backoff bo; /* delays and the outage's log (backoff.h) */
	int64_t up_since;     /* when the current connection was accepted */
	int connected_once;

	struct mq_list q;    /* every message not delivered, oldest first */
	struct mq_msg *next; /* first message not handed, NULL: all are */
	size_t queued;       /* sum of the costs in q */
	uint64_t pending;    /* sum of the samples in q: stats->pending */
	unsigned handed;

	struct mq_sub *subs;
	size_t nsubs;

	struct mq_inbox inbox;
	size_t inbox_bytes;
	size_t in_round;     /* bytes handed to on_message in this dispatch */
	uint64_t in_dropped; /* messages dropped since the last warning */
	int64_t in_warned_at;

	/* Recorded by the callbacks, acted on by settle(). */
	int lost;
	char reason[256];
	char lib_error[256]; /* libmosquitto's last error message */
	int closing;         /* lt_mqtt_free() runs: callbacks do nothing */
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void)
{
	lib_rc = mosquitto_lib_init();
}

/* Log as the DCC served, or under conf.log_name for a client of the daemon's own. */
static void mq_log(const struct lt_mqtt *m, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mq_log(const struct lt_mqtt *m, int prio, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (m->dcc)
		lt_dcc_log(m->dcc, prio, "%s", text);
	else
		lt_log(prio, "%s: %s", m->conf.log_name[0] ? m->conf.log_name : "mqtt", text);
}

/* ---- state, counters, queue ------------------------------------------------ */

static void set_state(struct lt_mqtt *m, enum lt_dcc_state st)
{
	m->state = st;
	lt_count_set(&m->stats->state, (int)st);
}

static void count(uint64_t *c, uint64_t n)
{
	lt_count(c, n);
}

static void update_queued(struct lt_mqtt *m)
{
	lt_count_set(&m->stats->queued, m->queued);
	lt_count_set(&m->stats->pending, m->pending);
}

static void msg_remove(struct lt_mqtt *m, struct mq_msg *msg)
{
	if (m->next == msg)
		m->next = TAILQ_NEXT(msg, link);
	if (msg->handed)
		m->handed--;
	TAILQ_REMOVE(&m->q, msg, link);
	m->queued -= msg->cost;
	if (!msg->spooled)
		m->pending -= msg->samples; /* a spooled one counts in spooled until confirmed */
	free(msg);
	update_queued(m);
}

/* The connection is gone: every handed message goes out again on the next one. */
static void unhand_all(struct lt_mqtt *m)
{
	struct mq_msg *msg;

	TAILQ_FOREACH(msg, &m->q, link)
	{
		msg->handed = 0;
		msg->mid = 0;
	}
	m->handed = 0;
	m->next = TAILQ_FIRST(&m->q);
}

/* ---- the durable spool ------------------------------------------------------ */

static void pump(struct lt_mqtt *m);

/* The spool's counters into the client's (spool_report()). */
static void spool_count(struct lt_mqtt *m)
{
	if (m->spool)
		spool_report(m->spool, &m->report, m->dcc, m->stats, 0, "messages");
}

/*
 * Open STATE_DIR/spool-DCCNAME. Another instance of the DCC may hold it for
 * a few more milliseconds (a reload starts the new one before it stops the
 * old one): -EBUSY, tried again from dispatch, messages go to memory
 * meanwhile. 0, or a negative errno with the reason in @err.
 */
static int spool_try_open(struct lt_mqtt *m, char *err, size_t errlen)
{
	char name[300], path[4400], note[1024];
	struct spool_stats ss;
	int r;

	snprintf(name, sizeof(name), "spool-%s", lt_dcc_name(m->dcc));
	r = lt_state_path(name, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	r = spool_open(path, &m->conf.spool_conf, &m->spool, note, sizeof(note), err, errlen);
	if (r < 0)
		return r;
	m->spool_retry = 0;
	if (note[0])
		mq_log(m, LOG_WARNING, "spool %s: %s", path, note);
	spool_get_stats(m->spool, &ss);
	if (ss.recovered) {
		mq_log(m, LOG_INFO,
		       "spool %s: %llu samples in %llu messages from before, sent first", path,
		       (unsigned long long)ss.recovered, (unsigned long long)ss.batches);
		lt_count_set(&m->stats->recovered, ss.recovered);
	}
	spool_count(m);
	return 0;
}

static void spool_retry(struct lt_mqtt *m, int64_t now)
{
	char err[512];
	int r;

	if (m->spool || !m->spool_retry || now < m->spool_retry)
		return;
	r = spool_try_open(m, err, sizeof(err));
	if (r == -EBUSY) {
		m->spool_retry = now + (int64_t)SPOOL_RETRY_NS;
	} else if (r < 0) {
		mq_log(m, LOG_ERR, "%s; retrying in 10 s", err);
		m->spool_retry = now + 100 * (int64_t)SPOOL_RETRY_NS;
	}
}

/*
 * A record: one byte of qos | retain << 2, the topic and its NUL, the
 * payload; the sample count is the record's.
 */
static int spool_keep(struct lt_mqtt *m, const char *topic, const void *payload, size_t len,
		      int qos, int retain, unsigned samples)
{
	size_t tlen = strlen(topic), need = 1 + tlen + 1 + len;
	int r;

	if (need > m->enc_len) {
		char *p = realloc(m->enc, need);

		if (!p)
			return -ENOMEM;
		m->enc = p;
		m->enc_len = need;
	}
	m->enc[0] = (char)(qos | (retain ? 4 : 0));
	memcpy(m->enc + 1, topic, tlen + 1);
	if (len)
		memcpy(m->enc + 2 + tlen, payload, len);
	r = spool_append(m->spool, m->enc, need, samples, lt_real_ns());
	if (r < 0 && !m->spool_failing)
		mq_log(m, LOG_ERR,
		       "cannot write to the spool: %s; keeping what fits in the memory queue",
		       strerror(-r));
	else if (r == 0 && m->spool_failing)
		mq_log(m, LOG_NOTICE, "the spool takes messages again");
	m->spool_failing = r < 0;
	spool_count(m);
	return r;
}

/*
 * A spooled message of rank @sseq was delivered (@how 1) or can never be
 * (2): confirm, in the order read, every one whose turn has come.
 */
static void spool_done(struct lt_mqtt *m, uint64_t sseq, unsigned char how)
{
	if (!m->spool || sseq < m->sp_next || sseq - m->sp_next >= ACK_RING)
		return; /* from before a rewind */
	m->acked[sseq % ACK_RING] = how;
	while (m->acked[m->sp_next % ACK_RING]) {
		unsigned char *h = &m->acked[m->sp_next % ACK_RING];

		count(*h == 1 ? &m->stats->sent : &m->stats->dropped, spool_confirm(m->spool));
		*h = 0;
		m->sp_next++;
	}
	m->replay_wait = 0;
	spool_count(m);
}

/*
 * The connection ended (or is being changed): with @to_spool, the data
 * messages of the memory queue go to the spool, in their order (a crash
 * now loses nothing); the messages read from the spool leave memory, and
 * the spool is read again from its confirmed position. Requests (no
 * samples) stay in memory for the next connection.
 */
static void requeue(struct lt_mqtt *m, int to_spool)
{
	struct mq_msg *msg, *tmp;

	if (!m->spool)
		return;
	for (msg = TAILQ_FIRST(&m->q); msg; msg = tmp) {
		tmp = TAILQ_NEXT(msg, link);
		if (msg->spooled) {
			msg_remove(m, msg);
		} else if (to_spool && msg->samples && !m->spool_failing &&
			   spool_keep(m, msg->topic, msg->topic + strlen(msg->topic) + 1, msg->len,
				      msg->qos, msg->retain, msg->samples) == 0) {
			msg_remove(m, msg);
		}
	}
	spool_rewind(m->spool);
	m->sp_read = m->sp_next = 0;
	memset(m->acked, 0, sizeof(m->acked));
	m->replay_wait = 0;
	spool_count(m);
}

/*
 * While connected and the memory queue is below half its size, read
 * spooled messages into it, oldest first, at most REPLAY_ROUND bytes per
 * call: at the rate the broker acknowledges.
 */
static void replay(struct lt_mqtt *m, int64_t now)
{
	size_t moved = 0;

	if (!m->spool || m->flushing || m->state != LT_DCC_UP || m->lost || now < m->replay_wait)
		return;
	while (m->queued < m->conf.queue_bytes / 2 && moved < REPLAY_ROUND) {
		const unsigned char *d;
		const void *data;
		size_t len, tlen;
		uint32_t n;
		struct mq_msg *msg;
		int r = spool_read(m->spool, lt_real_ns(), &data, &len, &n);

		if (r < 0) {
			if (r != -ENOENT && r != -EAGAIN)
				mq_log(m, LOG_ERR, "cannot read the spool: %s", strerror(-r));
			if (r != -ENOENT)
				m->replay_wait = now + (int64_t)LT_NSEC_PER_SEC;
			break;
		}
		d = data;
		tlen = len > 1 ? strnlen((const char *)d + 1, len - 1) : len;
		msg = len > 1 && 1 + tlen < len && (d[0] & 3) < 3 ? malloc(sizeof(*msg) + len - 1)
								  : NULL;
		if (!msg) {
			/* Not a message of ours (or no memory): it cannot go, confirmed as dropped.
			 */
			mq_log(m, LOG_WARNING, "spooled message unusable: %u samples dropped", n);
			spool_done(m, m->sp_read++, 2);
			continue;
		}
		*msg = (struct mq_msg){
			.len = len - 2 - tlen,
			.cost = len - 2,
			.samples = n,
			.qos = d[0] & 3,
			.retain = (d[0] & 4) != 0,
			.spooled = 1,
			.sseq = m->sp_read++,
			.topic = msg->data,
		};
		memcpy(msg->data, d + 1, len - 1);
		TAILQ_INSERT_TAIL(&m->q, msg, link);
		if (!m->next)
			m->next = msg;
		m->queued += msg->cost;
		moved += len;
	}
	update_queued(m);
	spool_count(m);
	pump(m);
}

/* The client id of the next attempt: configured, or EDGE-ID-DCCNAME. */
static const char *client_id(const struct lt_mqtt *m)
{
	return m->conf.client_id ? m->conf.client_id : m->client_id;
}

/* The reason recorded when the broker closed the connection without a word. */
#define CLOSED_BY_BROKER "closed by the broker"

/* ---- libmosquitto's callbacks: record, do not destroy ---------------------- */

static void mark_lost(struct lt_mqtt *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mark_lost(struct lt_mqtt *m, const char *fmt, ...)
{
	va_list ap;

	if (m->lost)
		return; /* the first reason is the cause */
	m->lost = 1;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
}

static void resubscribe(struct lt_mqtt *m)
{
	for (size_t i = 0; i < m->nsubs; i++) {
		int rc = mosquitto_subscribe(m->mosq, NULL, m->subs[i].topic, m->subs[i].qos);

		if (rc != MOSQ_ERR_SUCCESS) {
			mark_lost(m, "cannot subscribe to %s: %s", m->subs[i].topic,
				  mosquitto_strerror(rc));
			return;
		}
	}
}

static void pump(struct lt_mqtt *m);

/*
 * The broker's reason to refuse a connection, as MQTT 3.1.1 words it when
 * it has the same reason ("Connection Refused: not authorised."), so that
 * the log says the same with either protocol.
 */
static const char *refusal(const struct lt_mqtt *m, int rc)
{
	static char other[160];
	int v3 = 0;

	if (m->conf.protocol != 5)
		return mosquitto_connack_string(rc);
	switch (rc) {
	case MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION:
		v3 = 1;
		break;
	case MQTT_RC_CLIENTID_NOT_VALID:
		v3 = 2;
		break;
	case MQTT_RC_SERVER_UNAVAILABLE:
	case MQTT_RC_SERVER_BUSY:
		v3 = 3;
		break;
	case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
		v3 = 4;
		break;
	case MQTT_RC_NOT_AUTHORIZED:
		v3 = 5;
		break;
	default:
		break;
	}
	if (v3)
		return mosquitto_connack_string(v3);
	/* Called in the publisher thread only. */
	snprintf(other, sizeof(other), "Connection Refused: %s", mosquitto_reason_string(rc));
	return other;
}

static void cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct lt_mqtt *m = obj;
	char outage[80];
	int prio;

	if (m->closing || mosq != m->mosq)
		return;
	if (rc) {
		mark_lost(m, "%s", refusal(m, rc));
		return;
	}
	m->up_since = (int64_t)lt_mono_ns();
	if (m->connected_once)
		count(&m->stats->reconnects, 1);
	prio = lt_backoff_up(&m->bo, m->up_since, outage, sizeof(outage));
	mq_log(m, prio, "connected to %s%s", m->peer, outage);
	m->connected_once = 1;
	if (m->up_ep >= 0 && (unsigned)m->up_ep != m->ep)
		count(&m->stats->failovers, 1);
	m->up_ep = (int)m->ep;
	lt_count_set(&m->stats->endpoint, m->ep);
	if (m->ep) /* not the preferred broker: probe it on the back-off's schedule */
		lt_probe_schedule(&m->probe, &m->bo, m->up_since, 0);
	else
		m->probe.level = 0;
	set_state(m, LT_DCC_UP);
	m->timer_ns = (int64_t)lt_mono_ns();
	resubscribe(m);
	pump(m);
	if (!m->lost && m->h.on_connect)
		m->h.on_connect(m->ctx);
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct lt_mqtt *m = obj;
	int e = errno;

	if (m->closing || mosq != m->mosq)
		return;
	/*
	 * libmosquitto passes its own error codes (below 128), or the reason
	 * code of the broker's DISCONNECT (MQTT 5; 128 and above for errors).
	 */
	if (rc == MQTT_RC_SESSION_TAKEN_OVER)
		mark_lost(m,
			  "session taken over: another client connected with the same client id "
			  "\"%s\"",
			  client_id(m));
	else if (rc >= 128)
		mark_lost(m, "the broker disconnected: %s", mosquitto_reason_string(rc));
	else if (rc == MOSQ_ERR_ERRNO)
		mark_lost(m, "%s", strerror(e));
	else if (rc == MOSQ_ERR_SUCCESS)
		mark_lost(m, "disconnected");
	else if (rc == MOSQ_ERR_CONN_LOST)
		mark_lost(m, "%s", CLOSED_BY_BROKER);
	else
		mark_lost(m, "%s", mosquitto_strerror(rc));
}

static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct lt_mqtt *m = obj;
	struct mq_msg *msg;

	if (m->closing || mosq != m->mosq)
		return;
	/* The handed messages are the first ones, in order: a short search. */
	TAILQ_FOREACH(msg, &m->q, link)
	{
		if (!msg->handed)
			break;
		if (msg->mid != mid)
			continue;
		count(&m->stats->bytes, msg->len);
		if (msg->spooled)
			spool_done(m, msg->sseq, 1); /* counts sent as the spool confirms */
		else
			count(&m->stats->sent, msg->samples);
		msg_remove(m, msg);
		return;
	}
}

static void cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *mm)
{
	struct lt_mqtt *m = obj;
	size_t len = (size_t)(mm->payloadlen > 0 ? mm->payloadlen : 0), tlen;
	struct mq_in *in;

	if (m->closing || mosq != m->mosq || !m->h.on_message)
		return;
	if (STAILQ_EMPTY(&m->inbox) && m->in_round < IN_BUDGET) {
		m->in_round += len + 1;
		m->h.on_message(m->ctx, mm->topic, mm->payload, len);
		return;
	}
	/* Over this round's budget: keep a copy for the next rounds, if it fits. */
	tlen = strlen(mm->topic);
	in = len + tlen <= INBOX_MAX - m->inbox_bytes ? malloc(sizeof(*in) + tlen + 1 + len) : NULL;
	if (!in) {
		m->in_dropped++;
		count(&m->stats->errors, 1);
		return;
	}
	in->len = len;
	memcpy(in->data, mm->topic, tlen + 1);
	in->payload = in->data + tlen + 1;
	if (len)
		memcpy(in->payload, mm->payload, len);
	m->inbox_bytes += len + tlen;
	STAILQ_INSERT_TAIL(&m->inbox, in, link);
}

/* Hand what waits in the inbox to on_message, within this round's budget. */
static void deliver_inbox(struct lt_mqtt *m, int64_t now)
{
	struct mq_in *in;

	while ((in = STAILQ_FIRST(&m->inbox)) && m->in_round < IN_BUDGET) {
		STAILQ_REMOVE_HEAD(&m->inbox, link);
		m->inbox_bytes -= in->len + strlen(in->data);
		m->in_round += in->len + 1;
		if (m->h.on_message)
			m->h.on_message(m->ctx, in->data, in->payload, in->len);
		free(in);
	}
	if (m->in_dropped && now - m->in_warned_at >= (int64_t)(10 * LT_NSEC_PER_SEC)) {
		mq_log(m, LOG_WARNING,
		       "%llu incoming messages dropped: they came faster than they could be "
		       "handled (more than %u KiB waiting)",
		       (unsigned long long)m->in_dropped, INBOX_MAX / 1024);
		m->in_dropped = 0;
		m->in_warned_at = now;
	}
}

static void inbox_clear(struct lt_mqtt *m)
{
	struct mq_in *in;

	while ((in = STAILQ_FIRST(&m->inbox))) {
		STAILQ_REMOVE_HEAD(&m->inbox, link);
		free(in);
	}
	m->inbox_bytes = 0;
}

static void cb_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	struct lt_mqtt *m = obj;

	if (m->closing)
		return;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
		snprintf(m->lib_error, sizeof(m->lib_error), "%s", str);
		mq_log(m, LOG_DEBUG, "libmosquitto: %s", str);
	}
}

/* ---- connections ------------------------------------------------------------ */

static void destroy_client(struct lt_mqtt *m)
{
	if (!m->mosq)
		return;
	m->closing = 1;
	mosquitto_destroy(m->mosq);
	m->closing = 0;
	m->mosq = NULL;
}

/* Connect to broker @i of the list from the next attempt on. */
static void set_ep(struct lt_mqtt *m, unsigned i)
{
	m->ep = i;
	m->ssl_ctx = m->ep_ssl[i];
	m->port = m->eps[i].port ? m->eps[i].port : lt_mqtt_port(&m->conf);
	snprintf(m->peer, sizeof(m->peer), strchr(m->eps[i].host, ':') ? "[%s]:%u" : "%s:%u",
		 m->eps[i].host, m->port);
}

/*
 * The attempt failed or the connection was lost: log (at warning level
 * the first failure of an outage and each new reason, backoff.h), close,
 * and schedule the next attempt, at the next broker of the list, after the
 * back-off delay.
 */
static void backoff(struct lt_mqtt *m, int64_t now, const char *reason)
{
	int was_up = m->state == LT_DCC_UP;
	uint64_t delay;
	int prio;
	char why[400];

	destroy_client(m);
	unhand_all(m);
	requeue(m, 1);
	lt_probe_cancel(&m->probe);
	if (was_up && now - m->up_since < (int64_t)m->conf.backoff_max_ns &&
	    !strcmp(reason, CLOSED_BY_BROKER)) {
		snprintf(why, sizeof(why),
			 "closed by the broker %.1f s after it accepted the connection "
			 "(has another client connected with the same client id \"%s\"?)",
			 (double)(now - m->up_since) / 1e9, client_id(m));
		reason = why;
	}
	prio = lt_backoff_failed(&m->bo, now, m->peer, reason);
	delay = lt_backoff_next(&m->bo);
	m->timer_ns = now + (int64_t)delay;
	m->tcp_up = 0;
	set_state(m, LT_DCC_BACKOFF);
	count(&m->stats->errors, 1);
	if (m->neps > 1) {
		/* The next broker of the list is tried next. */
		unsigned next = (m->ep + 1) % m->neps;

		mq_log(m, prio, "connection to %s %s: %s, trying %s:%u in %llu ms", m->peer,
		       was_up ? "lost" : "failed", reason, m->eps[next].host,
		       m->eps[next].port ? m->eps[next].port : lt_mqtt_port(&m->conf),
		       (unsigned long long)((delay + MSEC - 1) / MSEC));
		set_ep(m, next);
	} else {
		mq_log(m, prio, "connection to %s %s: %s, retrying in %llu ms", m->peer,
		       was_up ? "lost" : "failed", reason,
		       (unsigned long long)((delay + MSEC - 1) / MSEC));
	}
	if (m->h.on_disconnect)
		m->h.on_disconnect(m->ctx, reason);
}

/*
 * Act on what the callbacks recorded. The reason logged is, in this order:
 * the broker's refusal (CONNACK), why TLS failed (certificate, alert), what
 * libmosquitto said.
 */
static void settle(struct lt_mqtt *m, int64_t now)
{
	char tls[256];

	if (!m->lost) {
		if (m->mosq && mosquitto_socket(m->mosq) < 0)
			mark_lost(m, "%s", m->lib_error[0] ? m->lib_error : "connection closed");
		else {
			pump(m);
			if (!m->lost)
				return;
		}
	}
	m->lost = 0;
	if (m->ssl_ctx && lt_tls_failure(m->ssl_ctx, tls, sizeof(tls)) &&
	    strncmp(m->reason, "Connection Refused", 18)) {
		backoff(m, now, tls);
	} else if (m->ssl_ctx && m->conf.tls.cert && m->state == LT_DCC_CONNECTING && m->tls_done &&
		   strncmp(m->reason, "Connection Refused", 18)) {
		/*
		 * A server that refuses a client certificate after a TLS 1.3
		 * handshake may reset the connection before its alert could
		 * be read (when the CONNECT crossed it): say what is likely.
		 */
		snprintf(tls, sizeof(tls),
			 "%.180s (before the broker's CONNACK: does it accept the client "
			 "certificate?)",
			 m->reason);
		backoff(m, now, tls);
	} else {
		backoff(m, now, m->reason);
	}
	m->reason[0] = m->lib_error[0] = 0;
}

/*
 * The CONNECT properties of MQTT 5: the largest packet we take (the broker
 * drops larger messages for us rather than send them: libmosquitto would
 * read any packet whole before we see it), and, without clean_session, a
 * session that never expires (3.1.1's meaning of clean_session = no).
 *
 * libmosquitto 2.0 has no asynchronous connect that takes properties:
 * mosquitto_connect_bind_v5() keeps them in the client before it checks its
 * arguments, and mosquitto_connect_async() sends the kept ones. So it is
 * called with no host, which it refuses (MOSQ_ERR_INVAL) after keeping
 * them. tests/unit/test_mqtt.c checks that the CONNECT carries them.
 */
static int connect_properties(struct lt_mqtt *m)
{
	mosquitto_property *props = NULL;
	int rc;

	rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE,
					  m->conf.max_incoming);
	if (rc == MOSQ_ERR_SUCCESS && !m->conf.clean_session)
		rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
						  UINT32_MAX);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect_bind_v5(m->mosq, NULL, (int)m->port,
					       (int)m->conf.keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS)
		return MOSQ_ERR_INVAL; /* connected? Not this libmosquitto: refuse to go on */
	return rc == MOSQ_ERR_INVAL ? MOSQ_ERR_SUCCESS : rc;
}

static void attempt(struct lt_mqtt *m, int64_t now)
{
	struct mosquitto *mosq;
	int rc;

	destroy_client(m);
	m->lost = 0;
	m->reason[0] = m->lib_error[0] = 0;
	m->tcp_up = 0;
	m->hold = 0;
	m->tls_done = 0;
	mosq = mosquitto_new(client_id(m), m->conf.clean_session != 0, m);
	if (!mosq) {
		mark_lost(m, "cannot create a client: %s", strerror(errno));
		settle(m, now);
		return;
	}
	m->mosq = mosq;
	/*
	 * "Threaded" only tells libmosquitto that someone else runs its loop:
	 * it then queues packets instead of writing them from inside
	 * mosquitto_publish() or mosquitto_connect_async(), and they leave in
	 * loop_write when the socket is writable. That batches the writes of
	 * a publisher cycle, and lets a CONNECT wait for the server's verdict
	 * on our certificate (hold_connect()) even when the TLS handshake
	 * completed within mosquitto_connect_async() (a broker on loopback).
	 */
	mosquitto_threaded_set(mosq, true);
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     m->conf.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(mosq, WINDOW);
	if (m->conf.protocol == 5) {
		rc = connect_properties(m);
		if (rc != MOSQ_ERR_SUCCESS)
			mark_lost(m, "cannot set the CONNECT properties: %s",
				  mosquitto_strerror(rc));
	}
	if (m->conf.username &&
	    mosquitto_username_pw_set(mosq, m->conf.username, m->conf.password) != MOSQ_ERR_SUCCESS)
		mark_lost(m, "cannot set the username");
	if (m->ssl_ctx) {
		/* Every TLS setting, the CRL included, comes from our context. */
		lt_tls_failure_clear(m->ssl_ctx);
		mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
		rc = mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX, m->ssl_ctx);
		if (rc != MOSQ_ERR_SUCCESS)
			mark_lost(m, "cannot use the TLS context: %s", mosquitto_strerror(rc));
	}
	mosquitto_connect_callback_set(mosq, cb_connect);
	mosquitto_disconnect_callback_set(mosq, cb_disconnect);
	mosquitto_publish_callback_set(mosq, cb_publish);
	mosquitto_message_callback_set(mosq, cb_message);
	mosquitto_log_callback_set(mosq, cb_log);
	if (m->lost) {
		settle(m, now);
		return;
	}
	set_state(m, LT_DCC_CONNECTING);
	m->timer_ns = now + (int64_t)m->conf.connect_timeout_ns;
	errno = 0;
	rc = mosquitto_connect_async(mosq, m->eps[m->ep].host, (int)m->port,
				     (int)m->conf.keepalive_s);
	if (rc == MOSQ_ERR_ERRNO)
		mark_lost(m, "%s", strerror(errno));
	else if (rc == MOSQ_ERR_EAI)
		mark_lost(m, "cannot resolve %s", m->eps[m->ep].host);
	else if (rc != MOSQ_ERR_SUCCESS)
		mark_lost(m, "%s", mosquitto_strerror(rc));
	settle(m, now);
}

/* Hand queued messages to libmosquitto while connected and the window has room. */
static void pump(struct lt_mqtt *m)
{
	while (m->state == LT_DCC_UP && !m->lost && m->next && m->handed < WINDOW) {
		struct mq_msg *msg = m->next;
		int rc;

		/*
		 * Mark it first, in case libmosquitto wrote it and called
		 * on_publish (which frees it) before mosquitto_publish()
		 * returned (it does not in "threaded" mode, see attempt()).
		 */
		m->next = TAILQ_NEXT(msg, link);
		msg->handed = 1;
		m->handed++;
		rc = mosquitto_publish(m->mosq, &msg->mid, msg->topic, (int)msg->len,
				       msg->topic + strlen(msg->topic) + 1, msg->qos,
				       msg->retain != 0);
		if (rc == MOSQ_ERR_SUCCESS)
			continue;
		/* Not taken (msg was not freed): it goes out on a later pass. */
		msg->handed = 0;
		msg->mid = 0;
		m->handed--;
		m->next = msg;
		if (rc == MOSQ_ERR_NOMEM)
			return;
		if (rc == MOSQ_ERR_OVERSIZE_PACKET) {
			/* Larger than the broker's Maximum Packet Size: it would never go. */
			mq_log(m, LOG_WARNING,
			       "a message of %zu bytes to %s (%u samples) dropped: larger than "
			       "the broker accepts",
			       msg->len, msg->topic, msg->samples);
			if (msg->spooled)
				spool_done(m, msg->sseq, 2);
			else
				count(&m->stats->dropped, msg->samples);
			msg_remove(m, msg);
			continue;
		}
		if (rc == MOSQ_ERR_ERRNO)
			mark_lost(m, "%s", strerror(errno));
		else
			mark_lost(m, "%s", mosquitto_strerror(rc));
		return;
	}
}

/* ---- the interface ------------------------------------------------------------ */

/*
 * EDGE-ID-DCCNAME: one client id per DCC, since a broker keeps one session
 * per client id and closes the older connection when another one comes.
 */
static char *default_id(struct lt_dcc *dcc, const char *id)
{
	char *s;

	if (!dcc)
		return strdup(id);
	if (asprintf(&s, "%s-%s", id, lt_dcc_name(dcc)) < 0)
		return NULL;
	return s;
}

struct lt_mqtt *lt_mqtt_new(const struct lt_mqtt_conf *c, const char *client_id,
			    const struct lt_mqtt_handlers *h, void *ctx, struct lt_dcc *dcc,
			    struct lt_dcc_stats *stats, char *err, size_t errlen)
{
	struct lt_mqtt *m;
	int r;

	if (lt_mqtt_check(c, err, errlen) < 0)
		return NULL;
	pthread_once(&lib_once, lib_init);
	if (lib_rc != MOSQ_ERR_SUCCESS) {
		lt_errf(err, errlen, -EIO, "libmosquitto: %s", mosquitto_strerror(lib_rc));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	lt_probe_init(&m->probe, NULL, NULL);
	TAILQ_INIT(&m->q);
	STAILQ_INIT(&m->inbox);
	m->stats = stats ? stats : &m->own_stats;
	m->dcc = dcc;
	m->conf = *c;
	m->conf.host = m->conf.client_id = m->conf.username = m->conf.password = NULL;
	if (lt_tls_conf_copy(&m->conf.tls, &c->tls) < 0) {
		lt_tls_conf_init(&m->conf.tls);
		goto nomem_free;
	}
	if (!(m->conf.host = strdup(c->host)) ||
	    (c->client_id && !(m->conf.client_id = strdup(c->client_id))) ||
	    (client_id && *client_id && !(m->client_id = default_id(dcc, client_id))) ||
	    (c->username && !(m->conf.username = strdup(c->username))) ||
	    (c->password && !(m->conf.password = strdup(c->password))))
		goto nomem_free;
	if (h)
		m->h = *h;
	m->ctx = ctx;
	m->up_ep = -1;
	r = lt_mqtt_endpoints(c->host, m->eps, err, errlen);
	if (r < 0) {
		lt_mqtt_free(m);
		return NULL;
	}
	m->neps = (unsigned)r;
	/* One TLS context per broker: each verifies its own name. */
	for (unsigned i = 0; c->tls.enabled && i < m->neps; i++) {
		m->ep_ssl[i] = lt_tls_ctx_new(&c->tls, m->eps[i].host, err, errlen);
		if (!m->ep_ssl[i]) {
			lt_mqtt_free(m);
			return NULL;
		}
	}
	set_ep(m, 0);
	if (dcc && c->spool != SPOOL_OFF) {
		char why[512];

		r = spool_try_open(m, why, sizeof(why));
		if (r == -EBUSY) {
			m->spool_retry = (int64_t)lt_mono_ns() + (int64_t)SPOOL_RETRY_NS;
		} else if (r < 0 && c->spool == SPOOL_ON) {
			lt_errf(err, errlen, r, "spool: %s", why);
			lt_mqtt_free(m);
			return NULL;
		} else if (r < 0) {
			lt_dcc_log(dcc, LOG_NOTICE,
				   "no durable spool (spool = auto): %s; undelivered messages are "
				   "kept in memory only",
				   why);
		}
	}
	lt_backoff_init(&m->bo, c->backoff_min_ns, c->backoff_max_ns);
	set_state(m, LT_DCC_IDLE);
	update_queued(m);
	return m;

nomem_free:
	lt_mqtt_free(m);
nomem:
	lt_errf(err, errlen, -ENOMEM, "out of memory");
	return NULL;
}

int lt_mqtt_set_client_id(struct lt_mqtt *m, const char *id)
{
	char *s;

	if (!*id || !lt_utf8_ok(id, strlen(id)))
		return -EINVAL;
	s = default_id(m->dcc, id);
	if (!s)
		return -ENOMEM;
	free(m->client_id);
	m->client_id = s;
	return 0;
}

int lt_mqtt_start(struct lt_mqtt *m, char *err, size_t errlen)
{
	if (m->started)
		return 0;
	if (!client_id(m))
		return lt_errf(err, errlen, -EINVAL, "no client_id");
	m->started = 1;
	attempt(m, (int64_t)lt_mono_ns());
	return 0;
}

int lt_mqtt_subscribe(struct lt_mqtt *m, const char *topic, int qos)
{
	struct mq_sub *subs;
	size_t i;

	if (qos < 0 || qos > 2 || mosquitto_sub_topic_check(topic) != MOSQ_ERR_SUCCESS ||
	    !lt_utf8_ok(topic, strlen(topic)))
		return -EINVAL;
	for (i = 0; i < m->nsubs; i++)
		if (!strcmp(m->subs[i].topic, topic))
			break;
	if (i == m->nsubs) {
		char *t = strdup(topic);

		subs = t ? realloc(m->subs, (m->nsubs + 1) * sizeof(*subs)) : NULL;
		if (!subs) {
			free(t);
			return -ENOMEM;
		}
		m->subs = subs;
		m->subs[m->nsubs++].topic = t;
	}
	m->subs[i].qos = qos;
	if (m->state == LT_DCC_UP && m->mosq) {
		int rc = mosquitto_subscribe(m->mosq, NULL, topic, qos);

		if (rc != MOSQ_ERR_SUCCESS)
			mark_lost(m, "cannot subscribe to %s: %s", topic, mosquitto_strerror(rc));
		/* A lost connection is acted on at the next dispatch. */
	}
	return 0;
}

int lt_mqtt_publish_n(struct lt_mqtt *m, const char *topic, const void *payload, size_t len,
		      int qos, int retain, unsigned samples)
{
	size_t tlen = strlen(topic), cost;
	struct mq_msg *msg;

	if (qos < 0)
		qos = m->conf.qos;
	if (qos > 2 || !tlen || tlen > 65535 || len > PAYLOAD_MAX ||
	    mosquitto_pub_topic_check2(topic, tlen) != MOSQ_ERR_SUCCESS || !lt_utf8_ok(topic, tlen))
		return -EINVAL;
	cost = tlen + len;
	/* Data goes to the spool while it cannot go now, or after what waits there. */
	if (m->spool && samples && !m->spool_failing &&
	    (!lt_mqtt_connected(m) || !spool_empty(m->spool) ||
	     m->queued + cost > m->conf.queue_bytes / 2) &&
	    spool_keep(m, topic, payload, len, qos, retain, samples) == 0)
		return 0;
	if (cost > m->conf.queue_bytes - m->queued)
		return -ENOBUFS;
	msg = malloc(sizeof(*msg) + tlen + 1 + len);
	if (!msg)
		return -ENOBUFS;
	*msg = (struct mq_msg){
		.len = len,
		.cost = cost,
		.samples = samples,
		.qos = (unsigned char)qos,
		.retain = retain != 0,
		.topic = msg->data,
	};
	memcpy(msg->data, topic, tlen + 1);
	if (len)
		memcpy(msg->data + tlen + 1, payload, len);
	TAILQ_INSERT_TAIL(&m->q, msg, link);
	if (!m->next)
		m->next = msg;
	m->queued += cost;
	m->pending += samples;
	update_queued(m);
	pump(m);
	/* A lost connection is acted on at the next dispatch (we may be in a handler). */
	return 0;
}

int lt_mqtt_publish(struct lt_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		    int retain)
{
	return lt_mqtt_publish_n(m, topic, payload, len, qos, retain, 1);
}

void lt_mqtt_poll(struct lt_mqtt *m, struct pollfd *pfd, int64_t *deadline_ns)
{
	pfd->fd = -1;
	pfd->events = pfd->revents = 0;
	if (m->spool) {
		int64_t due = spool_sync_due(m->spool);

		if (due < *deadline_ns)
			*deadline_ns = due;
	} else if (m->spool_retry && m->spool_retry < *deadline_ns) {
		*deadline_ns = m->spool_retry;
	}
	if (m->lost || !STAILQ_EMPTY(&m->inbox)) {
		/* Recorded outside dispatch (publish, subscribe), or messages wait: at once. */
		*deadline_ns = 0;
		if (m->lost)
			return;
	}
	switch (m->state) {
	case LT_DCC_CONNECTING:
		pfd->fd = mosquitto_socket(m->mosq);
		/*
		 * Writable once TCP is up; after that the TLS handshake and the
		 * CONNACK are waited for by reading, since libmosquitto's
		 * want_write stays true for the queued CONNECT until the
		 * handshake ends (asking POLLOUT then would spin).
		 */
		pfd->events = POLLIN | (m->tcp_up ? 0 : POLLOUT);
		if (m->hold == 1 && m->hold_until < *deadline_ns)
			*deadline_ns = m->hold_until;
		break;
	case LT_DCC_UP:
		pfd->fd = mosquitto_socket(m->mosq);
		pfd->events = POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
		if (m->ep && m->probe.at < *deadline_ns)
			*deadline_ns = m->probe.at;
		/* Room in the memory queue for spooled messages: replay now. */
		if (m->spool && !m->flushing && m->queued < m->conf.queue_bytes / 2 &&
		    spool_unread(m->spool))
			*deadline_ns =
				m->replay_wait < *deadline_ns ? m->replay_wait : *deadline_ns;
		break;
	case LT_DCC_BACKOFF:
		break;
	default:
		return;
	}
	if (m->timer_ns < *deadline_ns)
		*deadline_ns = m->timer_ns;
}

/*
 * With TLS 1.3 the server checks the client certificate after the client
 * has finished its handshake: a refusal (revoked, unknown CA) comes as an
 * alert just after. If the CONNECT went out at once, it could reach a
 * server that has already closed, whose reset then destroys the alert,
 * and the log would say "connection reset" instead of "certificate
 * revoked". So with a client certificate the CONNECT waits until the
 * server has sent something (its session tickets, or the alert), at most
 * HOLD_NS. TLS 1.2 refuses within the handshake: no wait.
 */
#define HOLD_NS (200 * MSEC)

static int hold_connect(struct lt_mqtt *m, short revents, int64_t now)
{
	SSL *ssl;

	if (m->hold == 2 || !m->ssl_ctx || !m->conf.tls.cert)
		return 0;
	ssl = mosquitto_ssl_get(m->mosq);
	if (!ssl || !SSL_is_init_finished(ssl))
		return 0; /* loop_write does nothing during the handshake anyway */
	m->tls_done = 1;
	if (SSL_version(ssl) != TLS1_3_VERSION) {
		m->hold = 2;
		return 0;
	}
	if (!m->hold) {
		m->hold = 1;
		m->hold_until = now + (int64_t)HOLD_NS;
		return 1;
	}
	if ((revents & POLLIN) || now >= m->hold_until) {
		m->hold = 2;
		return 0;
	}
	return 1;
}

/* The result of a mosquitto_loop_*() call. */
static void lt_mqtt_dispatch_io(struct lt_mqtt *m, short revents, int64_t now_ns);

static void loop_rc(struct lt_mqtt *m, int rc)
{
	if (rc == MOSQ_ERR_SUCCESS)
		return;
	if (rc == MOSQ_ERR_ERRNO)
		mark_lost(m, "%s", strerror(errno));
	else if (rc == MOSQ_ERR_TLS && m->lib_error[0])
		mark_lost(m, "%s", m->lib_error);
	else
		mark_lost(m, "%s", mosquitto_strerror(rc));
}

/*
 * Connected to another broker than the first: probe the first on the
 * back-off's schedule (a TCP connection, probe.h); when it answers, leave
 * the current broker politely and connect to the first. If that fails, the
 * usual failover moves on down the list.
 */
static void probe_preferred(struct lt_mqtt *m, int64_t now)
{
	char port[16];

	if (m->state != LT_DCC_UP || m->lost || !m->ep)
		return;
	snprintf(port, sizeof(port), "%u",
		 m->eps[0].port ? m->eps[0].port : lt_mqtt_port(&m->conf));
	if (!lt_probe_step(&m->probe, m->eps[0].host, port, &m->bo, m->conf.connect_timeout_ns,
			   now))
		return;
	lt_probe_cancel(&m->probe);
	mq_log(m, LOG_NOTICE, "%s:%u answers again: leaving %s for it", m->eps[0].host,
	       m->eps[0].port ? m->eps[0].port : lt_mqtt_port(&m->conf), m->peer);
	if (mosquitto_disconnect(m->mosq) == MOSQ_ERR_SUCCESS)
		mosquitto_loop_write(m->mosq, 1);
	destroy_client(m);
	unhand_all(m);
	requeue(m, 0);
	set_ep(m, 0);
	attempt(m, now);
}

void lt_mqtt_dispatch(struct lt_mqtt *m, short revents, int64_t now_ns)
{
	if (m->spool) {
		int r = spool_sync(m->spool, (uint64_t)now_ns, 0);

		if (r < 0)
			mq_log(m, LOG_ERR, "cannot sync the spool: %s", strerror(-r));
	} else {
		spool_retry(m, now_ns);
	}
	lt_mqtt_dispatch_io(m, revents, now_ns);
	probe_preferred(m, now_ns);
	replay(m, now_ns);
}

static void lt_mqtt_dispatch_io(struct lt_mqtt *m, short revents, int64_t now_ns)
{
	m->in_round = 0;
	if (!STAILQ_EMPTY(&m->inbox) || m->in_dropped) {
		deliver_inbox(m, now_ns);
		/* Not read on while messages wait: the broker holds the rest. */
		if (!STAILQ_EMPTY(&m->inbox))
			revents &= (short)~POLLIN;
	}
	if (m->mosq && revents && !m->lost) {
		if (m->state == LT_DCC_CONNECTING) {
			if ((revents & (POLLOUT | POLLERR | POLLHUP)) == POLLOUT)
				m->tcp_up = 1;
			/*
			 * Read first: the handshake advances in loop_read, and
			 * what the server said before it closed (a TLS alert,
			 * "certificate revoked") is read before its reset.
			 */
			loop_rc(m, mosquitto_loop_read(m->mosq, 1));
			/*
			 * A first read may only tell libmosquitto that the
			 * handshake is over: read on before the hang-up counts.
			 */
			for (int i = 0; i < 3 && !m->lost && (revents & (POLLERR | POLLHUP)) &&
					mosquitto_socket(m->mosq) >= 0;
			     i++)
				loop_rc(m, mosquitto_loop_read(m->mosq, 1));
			if (!m->lost && (revents & (POLLERR | POLLHUP))) {
				int e = lt_so_error(mosquitto_socket(m->mosq));
				const char *why =
					m->tcp_up ? "closed by the broker" : "connection refused";

				/* libmosquitto would retry a handshake on a dead socket forever. */
				mark_lost(m, "%s", e ? strerror(e) : why);
			}
			/* The CONNECT goes in loop_write. */
			if (!m->lost && mosquitto_socket(m->mosq) >= 0 &&
			    !hold_connect(m, revents, now_ns))
				loop_rc(m, mosquitto_loop_write(m->mosq, 1));
		} else if (m->state == LT_DCC_UP) {
			if (revents & (POLLIN | POLLERR | POLLHUP))
				loop_rc(m, mosquitto_loop_read(m->mosq, WINDOW));
			if (m->in_dropped)
				deliver_inbox(m, now_ns); /* only to warn of the drops */
			if (!m->lost && m->state == LT_DCC_UP && mosquitto_socket(m->mosq) >= 0 &&
			    (revents & POLLOUT))
				loop_rc(m, mosquitto_loop_write(m->mosq, WINDOW));
		}
	}
	if (!m->lost && m->state == LT_DCC_CONNECTING && m->hold == 1 && !revents &&
	    !hold_connect(m, 0, now_ns))
		loop_rc(m, mosquitto_loop_write(m->mosq, 1));
	if (!m->lost) {
		if (m->state == LT_DCC_CONNECTING && now_ns >= m->timer_ns) {
			mark_lost(m, "no answer from the broker within %llu ms",
				  (unsigned long long)(m->conf.connect_timeout_ns / MSEC));
		} else if (m->state == LT_DCC_UP && now_ns >= m->timer_ns) {
			/* Keepalive: PINGREQ when due, and a missing PINGRESP noticed. */
			loop_rc(m, mosquitto_loop_misc(m->mosq));
			uint64_t step = (uint64_t)m->conf.keepalive_s * LT_NSEC_PER_SEC / 4;
			if (step < LT_NSEC_PER_SEC)
				step = LT_NSEC_PER_SEC;
			m->timer_ns = now_ns + (int64_t)step;
		} else if (m->state == LT_DCC_BACKOFF && now_ns >= m->timer_ns) {
			attempt(m, now_ns);
			return;
		}
	}
	if (m->mosq || m->lost)
		settle(m, now_ns);
}

static int flush_queue(struct lt_mqtt *m, int64_t deadline_ns, int spool);

int lt_mqtt_flush(struct lt_mqtt *m, int64_t deadline_ns)
{
	if (m->spool) {
		/* Deliver for half the time left, then keep the rest in the spool. */
		int64_t now = (int64_t)lt_mono_ns();
		struct mq_msg *msg;

		/* Connected: the spool is replayed too, it may empty. */
		if (lt_mqtt_connected(m))
			flush_queue(m, now + (deadline_ns - now) / 2, 1);
		m->flushing = 1;
		requeue(m, 1);
		spool_sync(m->spool, lt_mono_ns(), 1);
		TAILQ_FOREACH(msg, &m->q, link)
		if (msg->samples)
			return -ETIMEDOUT; /* the spool refused them */
		return 0;
	}
	/* Do not sit out a long back-off: try once now, then follow the schedule. */
	if (m->state == LT_DCC_BACKOFF)
		m->timer_ns = (int64_t)lt_mono_ns();
	return flush_queue(m, deadline_ns, 0);
}

/*
 * Run the client until the queue is empty, and with @spool the spool too
 * (0), or until @deadline_ns (-ETIMEDOUT).
 */
static int flush_queue(struct lt_mqtt *m, int64_t deadline_ns, int spool)
{
	while (!TAILQ_EMPTY(&m->q) || (spool && m->spool && !spool_empty(m->spool))) {
		int64_t now = (int64_t)lt_mono_ns(), dl = deadline_ns, wait;
		struct pollfd pfd;
		int n;

		if (now >= deadline_ns || m->state == LT_DCC_IDLE)
			return -ETIMEDOUT;
		lt_mqtt_poll(m, &pfd, &dl);
		wait = dl > now ? (dl - now + (int64_t)MSEC - 1) / (int64_t)MSEC : 0;
		n = poll(&pfd, 1, wait > INT_MAX ? INT_MAX : (int)wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		lt_mqtt_dispatch(m, n > 0 ? pfd.revents : 0, (int64_t)lt_mono_ns());
	}
	return 0;
}

int lt_mqtt_connected(const struct lt_mqtt *m)
{
	return m->state == LT_DCC_UP && !m->lost;
}

size_t lt_mqtt_queued(const struct lt_mqtt *m)
{
	return m->queued;
}

int lt_mqtt_spooling(const struct lt_mqtt *m)
{
	return m->spool != NULL;
}

void lt_mqtt_free(struct lt_mqtt *m)
{
	struct mq_msg *msg;
	uint64_t msgs = 0, samples = 0;

	if (!m)
		return;
	if (m->mosq && m->state == LT_DCC_UP && !m->lost) {
		/* Polite but without waiting: the DISCONNECT goes if the socket takes it. */
		if (mosquitto_disconnect(m->mosq) == MOSQ_ERR_SUCCESS)
			mosquitto_loop_write(m->mosq, 1);
	}
	destroy_client(m);
	lt_probe_cancel(&m->probe);
	inbox_clear(m);
	/* The data messages still in memory are kept for the next start. */
	requeue(m, 1);
	if (m->spool) {
		spool_count(m);
		spool_close(m->spool);
		m->spool = NULL;
	}
	free(m->enc);
	while ((msg = TAILQ_FIRST(&m->q))) {
		msgs++;
		samples += msg->samples;
		msg->handed = 0;
		msg_remove(m, msg);
	}
	/* The daemon warns of the bytes left after its flush; this says what they were. */
	count(&m->stats->dropped, samples);
	if (msgs)
		mq_log(m, LOG_INFO, "%llu messages (%llu samples) not delivered to %s",
		       (unsigned long long)msgs, (unsigned long long)samples, m->peer);
	for (size_t i = 0; i < m->nsubs; i++)
		free(m->subs[i].topic);
	free(m->subs);
	for (unsigned i = 0; i < m->neps; i++)
		SSL_CTX_free(m->ep_ssl[i]);
	set_state(m, LT_DCC_IDLE);
	update_queued(m);
	free(m->client_id);
	lt_mqtt_conf_clear(&m->conf);
	free(m);
}
