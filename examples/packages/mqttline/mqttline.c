/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An out-of-tree DCC package on liotad's MQTT transport: `type = mqttline`
 * publishes each sample as one line of text, "VALUE TIMESTAMP_MS", on the
 * topic PREFIX/DEVICE/METRIC (prefix = "lines" unless the key says
 * otherwise). Every other key of its section is the transport's (host,
 * port, qos, tls, spool...: liota/mqtt.h), as for `type = mqtt`. Built
 * against the SDK alone:
 *
 *	cc -shared -fPIC -o mqttline.so mqttline.c $(pkg-config --cflags liotad)
 *
 * It lists transport-mqtt in its depends, so liotad loads that package
 * first and hands over its table, struct lt_mqtt_api: the DCC never links
 * libmosquitto itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <liota/liota.h>
#include <liota/mqtt.h>

static const struct lt_mqtt_api *mq;

struct line {
	struct lt_mqtt_conf *conf;
	char *prefix; /* NULL: "lines" */
	struct lt_mqtt *client;
};

static const struct lt_opt line_opts[] = {
	LT_OPT_STRING("prefix", struct line, prefix, LT_OPT_NONEMPTY, 1024, "topic prefix"),
	LT_OPT_END(),
};

static int line_init(struct lt_dcc *dcc)
{
	struct line *l = calloc(1, sizeof(*l));

	if (!l || !(l->conf = mq->conf_new())) {
		free(l);
		return -ENOMEM;
	}
	lt_dcc_set_priv(dcc, l);
	return 0;
}

/* Its own key first, then the transport's. */
static int line_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
		       size_t errlen)
{
	struct line *l = lt_dcc_priv(dcc);
	int r = lt_opts_set(line_opts, l, key, value, err, errlen);

	return r == -ENOENT ? mq->conf_option(l->conf, key, value, err, errlen) : r;
}

static int line_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct line *l = lt_dcc_priv(dcc);

	return mq->conf_check(l->conf, dcc, err, errlen);
}

static int line_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct line *l = lt_dcc_priv(dcc);

	l->client = mq->open(l->conf, NULL, NULL, NULL, dcc, lt_dcc_stats(dcc), err, errlen);
	return l->client ? 0 : -EINVAL;
}

/* The edge brings the default client id (EDGE-ID-DCCNAME): connect then. */
static int line_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			 const struct lt_reg *parent, struct lt_reg *reg)
{
	struct line *l = lt_dcc_priv(dcc);
	char err[256];
	int r;

	switch (ent->kind) {
	case LT_ENTITY_EDGE:
		reg->id = lt_xstrdup(ent->name);
		r = mq->set_client_id(l->client, ent->id ? ent->id : ent->name);
		if (r == 0 && (r = mq->start(l->client, err, sizeof(err))) < 0)
			lt_dcc_log(dcc, LOG_ERR, "cannot connect: %s", err);
		return r;
	case LT_ENTITY_DEVICE:
		reg->id = lt_xstrdup(ent->name);
		return 0;
	default:
		reg->id = lt_xasprintf("%s/%s/%s", l->prefix ? l->prefix : "lines",
				       parent && parent->id ? parent->id : "", ent->name);
		return 0;
	}
}

static int line_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			size_t n)
{
	struct line *l = lt_dcc_priv(dcc);
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);
	int queued = 0;

	lt_count(&st->samples_in, n);
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		int len = snprintf(buf, sizeof(buf), "%.17g %llu", s[i].value,
				   (unsigned long long)(s[i].ts_ns / 1000000u));

		/* Refused (queue full): counted, never silently lost. */
		if (mq->publish(l->client, reg->id, buf, (size_t)len, -1, 0, 1) < 0)
			lt_count(&st->dropped, 1);
		else
			queued++;
	}
	return queued;
}

static void line_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct line *l = lt_dcc_priv(dcc);

	mq->poll(l->client, pfd, deadline_ns);
}

static void line_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	struct line *l = lt_dcc_priv(dcc);

	mq->dispatch(l->client, revents, now_ns);
}

static int line_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct line *l = lt_dcc_priv(dcc);

	return mq->flush(l->client, deadline_ns);
}

static void line_stop(struct lt_dcc *dcc)
{
	struct line *l = lt_dcc_priv(dcc);

	mq->free(l->client);
	l->client = NULL;
}

static void line_free(struct lt_dcc *dcc)
{
	struct line *l = lt_dcc_priv(dcc);

	if (!l)
		return;
	mq->free(l->client);
	mq->conf_free(l->conf);
	free(l->prefix);
	free(l);
	lt_dcc_set_priv(dcc, NULL);
}

static const struct lt_dcc_driver line_driver = {
	.name = "mqttline",
	.init = line_init,
	.option = line_option,
	.check = line_check,
	.start = line_start,
	.register_entity = line_register,
	.publish = line_publish,
	.poll = line_poll,
	.dispatch = line_dispatch,
	.flush = line_flush,
	.stop = line_stop,
	.free = line_free,
};

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	mq = lt_package_api(ctx, LT_MQTT_PACKAGE);
	if (!mq)
		return snprintf(err, errlen, "%s provides no API", LT_MQTT_PACKAGE), -ENOENT;
	return lt_package_add_dcc_driver(ctx, &line_driver, err, errlen);
}

static const char *const depends[] = { LT_MQTT_PACKAGE, NULL };

LT_PACKAGE(.name = "mqttline", .version = "1.0", .depends = depends, .init = init);
