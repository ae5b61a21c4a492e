/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * DOC: the MQTT transport
 *
 * liotad's MQTT 5 (or 3.1.1) client, as the package transport-mqtt serves
 * it to DCC packages (liota's MqttDccComms): a DCC lists
 * LT_MQTT_PACKAGE in its descriptor's @depends, or loads it with
 * lt_package_use() when only some of its configurations speak MQTT, and
 * gets struct lt_mqtt_api:
 *
 *	const struct lt_mqtt_api *mqtt = lt_package_api(ctx, LT_MQTT_PACKAGE);
 *
 * The client is driven by the publisher thread's ppoll() loop, from the
 * DCC's poll and dispatch callbacks; it never blocks on the network (but
 * for the resolution of a DNS host name). It queues messages (bounded)
 * while the broker is away, keeps QoS 1 and 2 messages until they are
 * acknowledged, reconnects with exponential back-off, fails over between
 * the brokers of its host list, subscribes again after each connection,
 * and keeps a durable spool of the messages that carry samples (spool =
 * auto by default). Its keys are those of `type = mqtt`'s section (host,
 * port, client_id, username, password, keepalive, qos, clean_session,
 * protocol, reconnect_min, reconnect_max, connect_timeout, queue_size,
 * spool, spool_size, spool_max_age, spool_fsync, and the TLS keys: tls,
 * ca_file, ca_dir, cert, key, crl, ciphers, ciphersuites, min_tls,
 * verify_hostname), parsed by the transport itself into a
 * struct lt_mqtt_conf that the DCC only holds.
 *
 * Thread: conf_* in the configuration thread (a DCC's init, option and
 * check callbacks); the client's functions in one thread at a time (the
 * publisher's), and its handlers are called from dispatch and flush only.
 */
#ifndef LIOTA_MQTT_H
#define LIOTA_MQTT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <liota/dcc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The package that provides struct lt_mqtt_api. */
#define LT_MQTT_PACKAGE "transport-mqtt"

/* A client's configuration: the keys above, defaults included (opaque). */
struct lt_mqtt_conf;

/* A client (opaque). */
struct lt_mqtt;

/**
 * struct lt_mqtt_handlers - what the owner of a client hears; each may be
 * NULL. Called from dispatch or flush; they may publish and subscribe, not
 * free the client.
 * @on_connect:    the broker accepted the connection; the remembered
 *                 subscriptions are already sent again.
 * @on_message:    a message arrived on a subscribed topic; @payload (not
 *                 NUL-terminated) and @topic are valid during the call.
 * @on_disconnect: the connection was lost or refused; @reason is one line
 *                 (already logged by the transport).
 */
struct lt_mqtt_handlers {
	void (*on_connect)(void *ctx);
	void (*on_message)(void *ctx, const char *topic, const void *payload, size_t len);
	void (*on_disconnect)(void *ctx, const char *reason);
};

/**
 * struct lt_mqtt_api - the MQTT transport, from lt_package_api() or
 * lt_package_use() of LT_MQTT_PACKAGE.
 * @conf_new:      a configuration with the defaults, or NULL (no memory).
 * @conf_free:     free it (NULL is fine).
 * @conf_option:   one "key = value" of the DCC's section: 0, -ENOENT for
 *                 a key that is not the transport's (the DCC's own, or
 *                 unknown), -EINVAL or -ENOMEM with the reason in @err.
 * @conf_check:    at the DCC's check: a host is given, password has a
 *                 username, the back-off range and the TLS files are
 *                 sound; names the brokers to @dcc (lt_dcc_set_endpoints())
 *                 when @dcc is not NULL. 0 or a negative errno with the
 *                 reason in @err.
 * @open:          a client for @c (copied: @c may be freed), not connected
 *                 yet. Its client id is @c's client_id, or else @client_id
 *                 (may be NULL until @set_client_id) followed by "-" and
 *                 @dcc's name. @dcc (may be NULL) names what is logged and
 *                 keeps the spool's name; @stats (may be NULL) receives
 *                 sent, bytes, reconnects, errors, queued, pending, state,
 *                 the spool's counters, endpoint, failovers, and in dropped
 *                 what is still queued when the client is freed: the DCC
 *                 counts samples_in and the messages refused. Builds the
 *                 TLS context (errors name the file). NULL with the reason
 *                 in @err.
 * @set_client_id: the id used when none is configured, from the next
 *                 connection on (a DCC learns the edge id at the edge's
 *                 registration). 0, -EINVAL (empty, not UTF-8), -ENOMEM.
 * @start:         start connecting, without blocking. -EINVAL without a
 *                 client id.
 * @subscribe:     subscribe to the filter @topic with @qos now if
 *                 connected, and after every connection. 0, -EINVAL,
 *                 -ENOMEM.
 * @publish:       queue a message that carries @samples samples (counted
 *                 in sent when delivered); @qos < 0: the configured one.
 *                 Never blocks. 0, -ENOBUFS when the queue has no room
 *                 (nothing queued: the DCC counts the drop), -EINVAL for a
 *                 bad topic or qos. A message with @samples > 0 may go to
 *                 the durable spool; one with none (a request) never does.
 * @poll:          fill @pfd (fd -1 for none) and lower *@deadline_ns
 *                 (CLOCK_MONOTONIC) for its timers: from the DCC's poll.
 * @dispatch:      handle @revents of that descriptor and the timers due at
 *                 @now_ns: from the DCC's dispatch.
 * @flush:         deliver the queue until it is empty (0) or @deadline_ns
 *                 passes (-ETIMEDOUT); with a spool, move what is left to
 *                 it at half the time. From the DCC's flush.
 * @connected:     the broker accepted the connection and it is up.
 * @queued:        bytes (topic + payload) waiting, in flight included.
 * @spooling:      the client keeps a durable spool (open now).
 * @free:          disconnect without waiting and free (NULL is fine).
 */
struct lt_mqtt_api {
	struct lt_mqtt_conf *(*conf_new)(void);
	void (*conf_free)(struct lt_mqtt_conf *c);
	int (*conf_option)(struct lt_mqtt_conf *c, const char *key, const char *value, char *err,
			   size_t errlen);
	int (*conf_check)(const struct lt_mqtt_conf *c, struct lt_dcc *dcc, char *err,
			  size_t errlen);
	struct lt_mqtt *(*open)(const struct lt_mqtt_conf *c, const char *client_id,
				const struct lt_mqtt_handlers *h, void *ctx, struct lt_dcc *dcc,
				struct lt_dcc_stats *stats, char *err, size_t errlen);
	int (*set_client_id)(struct lt_mqtt *m, const char *id);
	int (*start)(struct lt_mqtt *m, char *err, size_t errlen);
	int (*subscribe)(struct lt_mqtt *m, const char *topic, int qos);
	int (*publish)(struct lt_mqtt *m, const char *topic, const void *payload, size_t len,
		       int qos, int retain, unsigned samples);
	void (*poll)(struct lt_mqtt *m, struct pollfd *pfd, int64_t *deadline_ns);
	void (*dispatch)(struct lt_mqtt *m, short revents, int64_t now_ns);
	int (*flush)(struct lt_mqtt *m, int64_t deadline_ns);
	int (*connected)(const struct lt_mqtt *m);
	size_t (*queued)(const struct lt_mqtt *m);
	int (*spooling)(const struct lt_mqtt *m);
	void (*free)(struct lt_mqtt *m);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_MQTT_H */
