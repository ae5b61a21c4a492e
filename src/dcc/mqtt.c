/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The generic MQTT DCC (type = mqtt), liota's AWS IoT style: every
 * aggregated batch of a metric is one JSON message (see mqtt_fmt.h) on the
 * metric's topic, through the MQTT transport: the package mqtt, which
 * depends on transport-mqtt and uses it as any DCC package may, through
 * struct lt_mqtt_api (liota/mqtt.h).
 *
 * [dcc "NAME"] keys: topic (auto: liota/EDGE-ID/request; a fixed topic; or
 * a template with %e %i %d %m), retain, enclose_metadata, and the
 * transport's (host, port, client_id, username, password, keepalive, qos,
 * clean_session, reconnect_min, reconnect_max, connect_timeout,
 * queue_size, spool, spool_size, spool_max_age, spool_fsync) and TLS keys
 * (tls.h). host may list several brokers (failover); the durable spool
 * and the failover live in the transport (mqtt.h), shared with IoTCC.
 *
 * Registration builds each metric's topic and the JSON around its samples
 * once; publishing formats only the samples. The client is created at
 * start (so TLS file problems stop the daemon from starting) and connects
 * at the edge's registration, which brings the edge id, the default
 * client id.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <liota/mqtt.h>

#include "core/intree.h"
#include "dcc/dccs.h"
#include "dcc/mqtt_fmt.h"
#include "util.h"

#define TOPIC_AUTO "liota/%i/request"

/* The transport, from the package's init (it is in .depends). */
static const struct lt_mqtt_api *mq;

struct mqtt_dcc {
	struct lt_mqtt_conf *conf;
	char *topic; /* template; NULL: auto */
	int retain;
	int metadata;
	struct lt_mqtt *client;
	char *edge_name, *edge_id; /* from the edge's registration */
	char *scratch;
	size_t scratch_len;
	uint64_t full_drops; /* samples dropped since the queue became full, 0: not full */
};

/* A registered metric: its topic is reg->id. */
struct mqtt_reg {
	char *head, *tail;
	size_t head_len, tail_len;
};

/* ---- encoding ------------------------------------------------------------ */

int mqtt_topic_check(const char *tmpl, char *err, size_t errlen)
{
	if (!*tmpl) {
		snprintf(err, errlen, "topic must not be empty");
		return -EINVAL;
	}
	for (const char *p = tmpl; *p; p++) {
		if (*p == '+' || *p == '#') {
			snprintf(err, errlen,
				 "topic \"%s\": no wildcard (+ or #) in a topic to publish to",
				 tmpl);
			return -EINVAL;
		}
		if (*p != '%')
			continue;
		if (!p[1] || !strchr("eidm%", p[1])) {
			snprintf(err, errlen,
				 "topic \"%s\": %%%c is not %%e (edge name), %%i (edge id), "
				 "%%d (device), %%m (metric) or %%%%",
				 tmpl, p[1] ? p[1] : ' ');
			return -EINVAL;
		}
		p++;
	}
	if (strlen(tmpl) > 32767) {
		snprintf(err, errlen, "topic is too long");
		return -EINVAL;
	}
	return 0;
}

int mqtt_topic_per_metric(const char *tmpl)
{
	for (const char *p = tmpl; *p; p++)
		if (*p == '%' && p[1]) {
			if (p[1] == 'm')
				return 1;
			p++;
		}
	return 0;
}

/* Append @s, or with @clean its MQTT-safe form, to @out (NULL: only measure). */
static size_t put(char *out, size_t pos, const char *s, int clean)
{
	size_t n = s ? strlen(s) : 0;

	if (out) {
		for (size_t i = 0; i < n; i++)
			out[pos + i] = clean && strchr("/+#", s[i]) ? '_' : s[i];
	}
	return pos + n;
}

char *mqtt_topic_expand(const char *tmpl, const char *edge, const char *edge_id, const char *dev,
			const char *metric)
{
	char *out = NULL;

	/* Two passes: measure, then write. */
	for (int pass = 0; pass < 2; pass++) {
		size_t pos = 0;

		for (const char *p = tmpl; *p; p++) {
			if (*p != '%' || !p[1]) {
				if (out)
					out[pos] = *p;
				pos++;
				continue;
			}
			switch (*++p) {
			case 'e':
				pos = put(out, pos, edge, 1);
				break;
			case 'i':
				pos = put(out, pos, edge_id, 1);
				break;
			case 'd':
				pos = put(out, pos, dev, 1);
				break;
			case 'm':
				pos = put(out, pos, metric, 1);
				break;
			default: /* %% (mqtt_topic_check refused the others) */
				if (out)
					out[pos] = *p;
				pos++;
			}
		}
		if (out) {
			out[pos] = 0;
			return out;
		}
		out = malloc(pos + 1);
		if (!out)
			return NULL;
	}
	return out;
}

size_t mqtt_json_escape(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0;

#define EMIT(c)                                                                                    \
	do {                                                                                       \
		if (pos + 1 < len)                                                                 \
			out[pos] = (c);                                                            \
		pos++;                                                                             \
	} while (0)
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			EMIT('\\');
			EMIT((char)*p);
		} else if (*p < 0x20) {
			EMIT('\\');
			EMIT('u');
			EMIT('0');
			EMIT('0');
			EMIT(hex[*p >> 4]);
			EMIT(hex[*p & 15]);
		} else {
			EMIT((char)*p); /* UTF-8 passes through */
		}
	}
#undef EMIT
	if (len)
		out[pos < len ? pos : len - 1] = 0;
	return pos;
}

/* "KEY":"ESCAPED VALUE" appended at *pos (out NULL: only measure). */
static void json_pair(char *out, size_t len, size_t *pos, const char *key, const char *value)
{
	size_t n;

	n = (size_t)snprintf(out ? out + *pos : NULL, out ? len - *pos : 0, "\"%s\":\"", key);
	*pos += n;
	n = mqtt_json_escape(out ? out + *pos : NULL, out ? len - *pos : 0, value);
	*pos += n;
	if (out)
		memcpy(out + *pos, "\",", 3);
	*pos += 2;
}

char *mqtt_json_head(int metadata, const char *edge, const char *dev, const char *metric)
{
	static const char data[] = "\"metric_data\":[";
	char *out = NULL;
	size_t len = 0;

	for (int pass = 0; pass < 2; pass++) {
		size_t pos = 1;

		if (out)
			out[0] = '{';
		if (metadata) {
			json_pair(out, len, &pos, "edge_system_name", edge);
			json_pair(out, len, &pos, "device_name", dev);
			json_pair(out, len, &pos, "metric_name", metric);
		}
		if (out) {
			memcpy(out + pos, data, sizeof(data));
			return out;
		}
		len = pos + sizeof(data);
		out = malloc(len);
		if (!out)
			return NULL;
	}
	return out;
}

char *mqtt_json_tail(int metadata, const char *unit)
{
	size_t n;
	char *out;

	if (!metadata)
		return strdup("]}");
	n = mqtt_json_escape(NULL, 0, unit);
	out = malloc(n + 13);
	if (!out)
		return NULL;
	memcpy(out, "],\"unit\":\"", 10);
	mqtt_json_escape(out + 10, n + 1, unit);
	memcpy(out + 10 + n, "\"}", 3);
	return out;
}

int mqtt_json_sample(char *out, size_t len, const struct lt_sample *s)
{
	char num[40];
	int r, n;

	r = lt_fmt_double(num, sizeof(num), s->value);
	if (r < 0)
		return r;
	n = snprintf(out, len, "{\"value\":%s,\"timestamp\":%llu}", num,
		     (unsigned long long)(s->ts_ns / 1000000u));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* ---- the driver ------------------------------------------------------------ */

static int mqtt_init(struct lt_dcc *dcc)
{
	struct mqtt_dcc *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->conf = mq->conf_new();
	if (!q->conf) {
		free(q);
		return -ENOMEM;
	}
	q->metadata = 1;
	lt_dcc_set_priv(dcc, q);
	return 0;
}

/* topic: a template (mqtt_topic_check()), or auto for the default one. */
static int set_topic(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	char **topic = field;
	int r;

	if (!strcmp(value, "auto")) {
		free(*topic);
		*topic = NULL;
		return 0;
	}
	r = mqtt_topic_check(value, err, errlen);
	return r < 0 ? r : lt_opts_strdup(topic, value, err, errlen);
}

static const struct lt_opt mqtt_dcc_opts[] = {
	LT_OPT_FUNC("topic", struct mqtt_dcc, topic, 0, set_topic, "topic template, or auto"),
	LT_OPT_BOOL("retain", struct mqtt_dcc, retain, 0, "retained messages"),
	LT_OPT_BOOL("enclose_metadata", struct mqtt_dcc, metadata, 0,
		    "name, unit and edge in each message"),
	LT_OPT_END(),
};

static int mqtt_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
		       size_t errlen)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);
	int r = lt_opts_set(mqtt_dcc_opts, q, key, value, err, errlen);

	return r == -ENOENT ? mq->conf_option(q->conf, key, value, err, errlen) : r;
}

static int mqtt_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);
	return mq->conf_check(q->conf, dcc, err, errlen);
}

static int mqtt_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	q->client = mq->open(q->conf, NULL, NULL, NULL, dcc, lt_dcc_stats(dcc), err, errlen);
	return q->client ? 0 : -EINVAL;
}

static int mqtt_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			 const struct lt_reg *parent, struct lt_reg *reg)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);
	const char *dev = parent && parent->id ? parent->id : "";
	char err[256];
	struct mqtt_reg *qr;
	int r;

	switch (ent->kind) {
	case LT_ENTITY_EDGE:
		free(q->edge_name);
		free(q->edge_id);
		q->edge_name = xstrdup(ent->name);
		q->edge_id = xstrdup(ent->id ? ent->id : ent->name);
		reg->id = xstrdup(ent->name);
		if (!q->client)
			return 0;
		r = mq->set_client_id(q->client, q->edge_id);
		if (r < 0)
			return r;
		r = mq->start(q->client, err, sizeof(err));
		if (r < 0)
			lt_dcc_log(dcc, LOG_ERR, "cannot connect: %s", err);
		return r;
	case LT_ENTITY_DEVICE:
		reg->id = xstrdup(ent->name);
		return 0;
	case LT_ENTITY_METRIC:
		break;
	}
	qr = calloc(1, sizeof(*qr));
	if (!qr)
		return -ENOMEM;
	reg->id = mqtt_topic_expand(q->topic ? q->topic : TOPIC_AUTO, q->edge_name, q->edge_id, dev,
				    ent->name);
	qr->head = mqtt_json_head(q->metadata, q->edge_name, dev, ent->name);
	qr->tail = mqtt_json_tail(q->metadata, ent->unit ? ent->unit : "");
	if (!reg->id || !qr->head || !qr->tail) {
		free(qr->head);
		free(qr->tail);
		free(qr);
		return -ENOMEM;
	}
	qr->head_len = strlen(qr->head);
	qr->tail_len = strlen(qr->tail);
	reg->priv = qr;
	return 0;
}

static void mqtt_unregister(struct lt_dcc *dcc, struct lt_reg *reg)
{
	struct mqtt_reg *qr = reg->priv;

	if (qr) {
		free(qr->head);
		free(qr->tail);
		free(qr);
	}
	reg->priv = NULL;
}

static int mqtt_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			size_t n)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);
	const struct mqtt_reg *qr = reg->priv;
	size_t need, pos, ok = 0, bad = 0;
	int r;

	lt_count(&st->samples_in, n);
	if (!n)
		return 0;
	need = qr->head_len + n * MQTT_SAMPLE_ROOM + qr->tail_len + 1;
	if (need > q->scratch_len) {
		char *p = realloc(q->scratch, need);

		if (!p) {
			lt_count(&st->dropped, n);
			return 0;
		}
		q->scratch = p;
		q->scratch_len = need;
	}
	memcpy(q->scratch, qr->head, qr->head_len);
	pos = qr->head_len;
	for (size_t i = 0; i < n; i++) {
		if (ok)
			q->scratch[pos++] = ',';
		r = mqtt_json_sample(q->scratch + pos, q->scratch_len - pos, &s[i]);
		if (r < 0) {
			/* -EDOM: JSON has no NaN or infinity. */
			if (ok)
				pos--;
			bad++;
			continue;
		}
		pos += (size_t)r;
		ok++;
	}
	if (bad) {
		lt_count(&st->dropped, bad);
		lt_dcc_log(dcc, LOG_DEBUG, "dropped %zu non-finite samples of %s", bad, reg->id);
	}
	if (!ok)
		return 0;
	memcpy(q->scratch + pos, qr->tail, qr->tail_len);
	pos += qr->tail_len;

	r = q->client
		    ? mq->publish(q->client, reg->id, q->scratch, pos, -1, q->retain, (unsigned)ok)
		    : -ENOBUFS;
	if (r < 0) {
		lt_count(&st->dropped, ok);
		/* Warn when the queue fills up, not for every batch it refuses. */
		if (r == -ENOBUFS) {
			lt_dcc_log(dcc, q->full_drops ? LOG_DEBUG : LOG_WARNING,
				   "queue full (%zu bytes): dropped %zu samples of %s",
				   q->client ? mq->queued(q->client) : 0, ok, reg->id);
			q->full_drops += ok;
		} else {
			lt_dcc_log(dcc, LOG_ERR, "cannot publish to %s: %s", reg->id, strerror(-r));
		}
		return 0;
	}
	if (q->full_drops) {
		lt_dcc_log(dcc, LOG_INFO, "queue accepts samples again, %llu dropped while full",
			   (unsigned long long)q->full_drops);
		q->full_drops = 0;
	}
	return (int)ok;
}

static void mqtt_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	if (!q->client) {
		pfd->fd = -1;
		pfd->events = pfd->revents = 0;
		return;
	}
	mq->poll(q->client, pfd, deadline_ns);
}

static void mqtt_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	if (q->client)
		mq->dispatch(q->client, revents, now_ns);
}

static int mqtt_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	return q->client ? mq->flush(q->client, deadline_ns) : 0;
}

static void mqtt_stop(struct lt_dcc *dcc)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	mq->free(q->client);
	q->client = NULL;
}

static void mqtt_free(struct lt_dcc *dcc)
{
	struct mqtt_dcc *q = lt_dcc_priv(dcc);

	if (!q)
		return;
	mq->free(q->client);
	mq->conf_free(q->conf);
	free(q->topic);
	free(q->edge_name);
	free(q->edge_id);
	free(q->scratch);
	free(q);
	lt_dcc_set_priv(dcc, NULL);
}

const struct lt_dcc_driver lt_dcc_mqtt = {
	.name = "mqtt",
	.init = mqtt_init,
	.option = mqtt_option,
	.check = mqtt_check,
	.start = mqtt_start,
	.register_entity = mqtt_register,
	.unregister = mqtt_unregister,
	.publish = mqtt_publish,
	.poll = mqtt_poll,
	.dispatch = mqtt_dispatch,
	.flush = mqtt_flush,
	.stop = mqtt_stop,
	.free = mqtt_free,
};

static int mqtt_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	mq = lt_package_api(ctx, LT_MQTT_PACKAGE);
	if (!mq)
		return lt_errf(err, errlen, -ENOENT, "%s provides no API", LT_MQTT_PACKAGE);
	return lt_package_add_dcc_driver(ctx, &lt_dcc_mqtt, err, errlen);
}

static const char *const mqtt_depends[] = { LT_MQTT_PACKAGE, NULL };

LT_INTREE_PACKAGE(mqtt, .name = "mqtt", .version = PACKAGE_VERSION, .depends = mqtt_depends,
		  .init = mqtt_package_init);
