/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The package transport-mqtt: the MQTT client (mqtt.c) served to DCC
 * packages as struct lt_mqtt_api (liota/mqtt.h), so that only a
 * configuration with an MQTT DCC maps libmosquitto.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/intree.h"
#include "transport/mqtt.h"
#include "util.h"

static struct lt_mqtt_conf *conf_new(void)
{
	struct lt_mqtt_conf *c = malloc(sizeof(*c));

	if (c)
		lt_mqtt_conf_init(c);
	return c;
}

static void conf_free(struct lt_mqtt_conf *c)
{
	if (!c)
		return;
	lt_mqtt_conf_clear(c);
	free(c);
}

static int conf_check(const struct lt_mqtt_conf *c, struct lt_dcc *dcc, char *err, size_t errlen)
{
	int r = lt_mqtt_check(c, err, errlen);

	if (r == 0 && dcc && lt_mqtt_set_endpoints(c, dcc) < 0)
		return lt_errf(err, errlen, -ENOMEM, "out of memory");
	return r;
}

static const struct lt_mqtt_api api = {
	.conf_new = conf_new,
	.conf_free = conf_free,
	.conf_option = lt_mqtt_option,
	.conf_check = conf_check,
	.open = lt_mqtt_new,
	.set_client_id = lt_mqtt_set_client_id,
	.start = lt_mqtt_start,
	.subscribe = lt_mqtt_subscribe,
	.publish = lt_mqtt_publish_n,
	.poll = lt_mqtt_poll,
	.dispatch = lt_mqtt_dispatch,
	.flush = lt_mqtt_flush,
	.connected = lt_mqtt_connected,
	.queued = lt_mqtt_queued,
	.spooling = lt_mqtt_spooling,
	.free = lt_mqtt_free,
};

static int transport_mqtt_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_provide(ctx, &api, err, errlen);
}

LT_INTREE_PACKAGE(transport_mqtt, .name = LT_MQTT_PACKAGE, .version = PACKAGE_VERSION,
		  .init = transport_mqtt_init);
