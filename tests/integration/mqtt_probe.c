/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqtt_probe HOST PORT CLIENT_ID IN_TOPIC OUT_TOPIC SECONDS - an echo
 * client on the MQTT transport (src/transport/mqtt.c), for mqtt.test: it
 * subscribes to IN_TOPIC (QoS 1, clean session, so the broker forgets the
 * subscription with the connection) and publishes "echo:PAYLOAD" to
 * OUT_TOPIC for every message. Prints "connected N" at each connection.
 * An echo after a broker restart shows the subscription was made again.
 * Runs SECONDS at most, or until SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/mqtt.h"
#include "util.h"

static struct lt_mqtt *client;
static const char *out_topic;
static int connections;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static void on_connect(void *ctx)
{
	printf("connected %d\n", ++connections);
	fflush(stdout);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "echo:%.*s", (int)(len < 400 ? len : 400),
			 (const char *)payload);

	if (lt_mqtt_publish(client, out_topic, buf, (size_t)n, 1, 0) < 0)
		fprintf(stderr, "mqtt_probe: cannot queue the echo\n");
}

static void set(struct lt_mqtt_conf *c, const char *key, const char *value)
{
	char err[256];

	if (lt_mqtt_option(c, key, value, err, sizeof(err)) < 0) {
		fprintf(stderr, "mqtt_probe: %s: %s\n", key, err);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	static const struct lt_mqtt_handlers h = { .on_connect = on_connect,
						   .on_message = on_message };
	struct lt_mqtt_conf c;
	char err[256] = "";
	int64_t end;

	if (argc != 7) {
		fprintf(stderr,
			"usage: mqtt_probe HOST PORT CLIENT_ID IN_TOPIC OUT_TOPIC SECONDS\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	out_topic = argv[5];
	lt_mqtt_conf_init(&c);
	set(&c, "host", argv[1]);
	set(&c, "port", argv[2]);
	set(&c, "client_id", argv[3]);
	set(&c, "reconnect_min", "100ms");
	set(&c, "reconnect_max", "400ms");
	client = lt_mqtt_new(&c, NULL, &h, NULL, NULL, NULL, err, sizeof(err));
	lt_mqtt_conf_clear(&c);
	if (!client || lt_mqtt_subscribe(client, argv[4], 1) < 0 ||
	    lt_mqtt_start(client, err, sizeof(err)) < 0) {
		fprintf(stderr, "mqtt_probe: %s\n", err[0] ? err : "cannot subscribe");
		return 1;
	}
	end = (int64_t)lt_mono_ns() + (int64_t)(atof(argv[6]) * 1e9);
	while (!stop && (int64_t)lt_mono_ns() < end) {
		struct pollfd p;
		int64_t now = (int64_t)lt_mono_ns(), dl = now + 100000000;
		int n;

		lt_mqtt_poll(client, &p, &dl);
		n = poll(&p, 1, dl > now ? (int)((dl - now) / 1000000) + 1 : 0);
		if (n < 0 && errno != EINTR)
			break;
		lt_mqtt_dispatch(client, n > 0 ? p.revents : 0, (int64_t)lt_mono_ns());
	}
	lt_mqtt_flush(client, (int64_t)lt_mono_ns() + 1000000000);
	lt_mqtt_free(client);
	return 0;
}
