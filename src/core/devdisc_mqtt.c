/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message, the MQTT endpoint (liota's MQTT discovery
 * listener): a client of transport-mqtt (the same client, TLS, credentials,
 * back-off and failover as the MQTT DCCs'), subscribed to [discovery]
 * mqtt.topic and driven by the main thread's poll loop as the pipe is.
 * Each message is one discovery message for devdisc_take(). The package
 * stays loaded while the client lives: liotactl unload applies the
 * configuration without it first, and devdisc_sync() then closes the
 * client (main.c).
 */
#include "devdisc_run.h"
#include "log.h"
#include "util.h"

#include <liota/mqtt.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "transport/mqtt.h"

void devdisc_mqtt_close(struct devdisc_run *r)
{
	if (r->mqtt) {
		r->mq->free(r->mqtt);
		lt_log(LOG_INFO, "discovery: %s closed", r->mqtt_from);
	}
	r->mqtt = NULL;
	r->mq = NULL;
	free(r->mqtt_canon);
	free(r->mqtt_from);
	r->mqtt_canon = r->mqtt_from = NULL;
}

static void on_connect(void *ctx)
{
	struct devdisc_run *r = ctx;

	lt_log(LOG_INFO, "discovery: reading messages from %s", r->mqtt_from);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct devdisc_run *r = ctx;

	(void)topic; /* the subscription's, or one of its filter's: the message says the rest */
	devdisc_take(r, r->mqtt_from, payload, len > LT_DEVDISC_MSG_MAX ? LT_DEVDISC_MSG_MAX : len,
		     len > LT_DEVDISC_MSG_MAX);
}

int devdisc_mqtt_sync(struct devdisc_run *r, const struct lt_model *m)
{
	static const struct lt_mqtt_handlers h = { on_connect, on_message, NULL };
	const struct lt_discovery_conf *c = &m->discovery;
	char err[512] = "", *id;
	int rc;

	if (r->mqtt && c->mqtt && !strcmp(r->mqtt_canon, c->mqtt_canon))
		return 0;
	devdisc_mqtt_close(r);
	if (!c->mqtt)
		return 0;
	r->mq = c->mqtt_api;
	r->mqtt_canon = xstrdup(c->mqtt_canon);
	r->mqtt_from = xasprintf("mqtt topic %s", c->mqtt_topic);
	/* EDGE-ID-discovery, unless mqtt.client_id says: the DCCs' are EDGE-ID-DCCNAME. */
	id = xasprintf("%s-discovery", m->edge.id);
	r->mqtt = r->mq->open(c->mqtt, id, &h, r, NULL, NULL, err, sizeof(err));
	free(id);
	rc = r->mqtt ? r->mq->subscribe(r->mqtt, c->mqtt_topic, c->mqtt->qos) : -1;
	if (rc == 0)
		rc = r->mq->start(r->mqtt, err, sizeof(err));
	else if (r->mqtt)
		snprintf(err, sizeof(err), "cannot subscribe to %s", c->mqtt_topic);
	if (rc < 0) {
		lt_log(LOG_ERR, "discovery: %s: %s; devices are not discovered through it",
		       r->mqtt_from, err);
		devdisc_mqtt_close(r);
		return -1;
	}
	return 0;
}

void devdisc_mqtt_poll(struct devdisc_run *r, struct pollfd *pfd, int64_t *deadline_ns)
{
	pfd->fd = -1;
	pfd->events = 0;
	if (r->mqtt)
		r->mq->poll(r->mqtt, pfd, deadline_ns);
}

void devdisc_mqtt_dispatch(struct devdisc_run *r, const struct lt_model *m, short revents)
{
	if (!r->mqtt)
		return;
	r->model = m;
	r->mq->dispatch(r->mqtt, revents, (int64_t)lt_mono_ns());
}
