/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MQTT transport's configuration (mqtt.h): its keys, defaults and
 * checks, apart from the client so that a DCC that parses the keys of a
 * transport it may not use (IoTCC takes MQTT's and WebSocket's before it
 * knows which) can compile this in without libmosquitto.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/endpoint.h"
#include "transport/link_opts.h"
#include "transport/mqtt.h"
#include "utf8.h"
#include "util.h"
void lt_mqtt_conf_init(struct lt_mqtt_conf *c)
{
	*c = (struct lt_mqtt_conf){
		.keepalive_s = 60,
		.qos = 1,
		.clean_session = 1,
		.backoff_min_ns = LT_NSEC_PER_SEC,
		.backoff_max_ns = 60 * LT_NSEC_PER_SEC,
		.queue_bytes = 4u << 20,
		.connect_timeout_ns = 10 * LT_NSEC_PER_SEC,
		.protocol = 5,
		.max_incoming = LT_MQTT_IN_DEFAULT,
		.spool = SPOOL_AUTO,
	};
	spool_conf_defaults(&c->spool_conf);
	lt_tls_conf_init(&c->tls);
}

void lt_mqtt_conf_clear(struct lt_mqtt_conf *c)
{
	free(c->host);
	free(c->client_id);
	free(c->username);
	free(c->password);
	c->host = c->client_id = c->username = c->password = NULL;
	lt_tls_conf_clear(&c->tls);
}

/* host: the broker list's syntax now (lt_mqtt_endpoints()). */
static int set_host(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	struct lt_mqtt_ep ep[LT_MQTT_EP_MAX];
	int r;

	if (!*value)
		return lt_errf(err, errlen, -EINVAL, "%s must not be empty", key);
	r = lt_mqtt_endpoints(value, ep, err, errlen);
	return r < 0 ? r : lt_opts_strdup(field, value, err, errlen);
}

/* MQTT strings are UTF-8; brokers refuse ids with control characters. */
static int set_client_id(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!*value)
		return lt_errf(err, errlen, -EINVAL, "%s must not be empty", key);
	if (!lt_utf8_ok(value, strlen(value)) || strlen(value) > 65535)
		return lt_errf(err, errlen, -EINVAL,
			       "client_id is not valid UTF-8 of at most 65535 bytes");
	return lt_opts_strdup(field, value, err, errlen);
}

/* keepalive: libmosquitto refuses less than 5 s; MQTT's field is 16 bits of seconds. */
static int set_keepalive(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t v;
	int r = lt_parse_duration(value, &v, err, errlen);

	if (r < 0)
		return r;
	if (v < 5 * LT_NSEC_PER_SEC || v > 65535 * LT_NSEC_PER_SEC)
		return lt_errf(err, errlen, -EINVAL, "%s must be 5s to 65535s", key);
	*(unsigned *)field = (unsigned)(v / LT_NSEC_PER_SEC);
	return 0;
}

static const struct lt_opt_name mqtt_protocols[] = {
	{ "5", 5 },
	{ "3.1.1", 4 },
	{ NULL, 0 },
};

const struct lt_opt lt_mqtt_opts[] = {
	LT_OPT_FUNC("host", struct lt_mqtt_conf, host, 0, set_host, "brokers, in order"),
	SPOOL_OPTS(struct lt_mqtt_conf, spool, spool_conf),
	LT_OPT_FUNC("client_id", struct lt_mqtt_conf, client_id, 0, set_client_id,
		    "MQTT client id"),
	LT_OPT_STRING("username", struct lt_mqtt_conf, username, LT_OPT_NONEMPTY, 0, "user name"),
	LT_OPT_STRING("password", struct lt_mqtt_conf, password, LT_OPT_NONEMPTY, 0, "password"),
	LT_OPT_UINT("port", struct lt_mqtt_conf, port, 0, 1, 65535,
		    "port of the brokers that name none"),
	LT_OPT_UINT("qos", struct lt_mqtt_conf, qos, 0, 0, 2, "MQTT QoS of the messages"),
	LT_OPT_BOOL("clean_session", struct lt_mqtt_conf, clean_session, 0,
		    "no session kept by the broker"),
	LT_OPT_ENUM("protocol", struct lt_mqtt_conf, protocol, 0, mqtt_protocols,
		    "MQTT version: 5 or 3.1.1"),
	LT_OPT_FUNC("keepalive", struct lt_mqtt_conf, keepalive_s, 0, set_keepalive,
		    "MQTT keep-alive, 5s to 65535s"),
	LT_LINK_OPTS(struct lt_mqtt_conf),
	LT_OPT_TABLE(struct lt_mqtt_conf, tls, lt_tls_opts),
	LT_OPT_END(),
};

int lt_mqtt_option(struct lt_mqtt_conf *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	return lt_opts_set(lt_mqtt_opts, c, key, value, err, errlen);
}

int lt_mqtt_check(const struct lt_mqtt_conf *c, char *err, size_t errlen)
{
	if (!c->host)
		return lt_errf(err, errlen, -EINVAL, "host is required");
	if (c->password && !c->username)
		return lt_errf(err, errlen, -EINVAL, "password is set but username is not");
	if (c->backoff_min_ns > c->backoff_max_ns)
		return lt_errf(err, errlen, -EINVAL, "reconnect_min is larger than reconnect_max");
	return lt_tls_check(&c->tls, err, errlen);
}

unsigned lt_mqtt_port(const struct lt_mqtt_conf *c)
{
	if (c->port)
		return c->port;
	return c->tls.enabled ? 8883 : 1883;
}

/* The one host-list parser (endpoint.h), with numeric ports, into the brokers' form. */
int lt_mqtt_endpoints(const char *host, struct lt_mqtt_ep *ep, char *err, size_t errlen)
{
	struct lt_endpoint *v;
	int n = lt_endpoints_split(host, NULL, LT_MQTT_EP_MAX,
				   LT_ENDPOINT_NUMERIC_PORT | LT_ENDPOINT_PORT_OPTIONAL, &v, err,
				   errlen);

	for (int i = 0; i < n; i++) {
		snprintf(ep[i].host, sizeof(ep[i].host), "%s", v[i].host);
		ep[i].port = v[i].port ? (unsigned)strtoul(v[i].port, NULL, 10) : 0;
	}
	if (n > 0)
		lt_endpoints_free(v, (unsigned)n);
	return n;
}

static void ep_name(char *buf, size_t len, const struct lt_mqtt_ep *ep, unsigned defport)
{
	snprintf(buf, len, strchr(ep->host, ':') ? "[%s]:%u" : "%s:%u", ep->host,
		 ep->port ? ep->port : defport);
}

int lt_mqtt_set_endpoints(const struct lt_mqtt_conf *c, struct lt_dcc *dcc)
{
	struct lt_mqtt_ep ep[LT_MQTT_EP_MAX];
	char names[LT_MQTT_EP_MAX][300], err[256];
	const char *v[LT_MQTT_EP_MAX];
	int n = c->host ? lt_mqtt_endpoints(c->host, ep, err, sizeof(err)) : 0;

	for (int i = 0; i < n; i++) {
		ep_name(names[i], sizeof(names[i]), &ep[i], lt_mqtt_port(c));
		v[i] = names[i];
	}
	return n > 0 ? lt_dcc_set_endpoints(dcc, v, (unsigned)n) : 0;
}
