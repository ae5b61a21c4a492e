/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An MQTT 5 (or 3.1.1) client transport (liota's MqttDccComms) on libmosquitto,
 * driven by the publisher thread's ppoll() loop like the stream transport:
 * lt_mqtt_poll() says what to wait for, lt_mqtt_dispatch() does the I/O.
 * No libmosquitto thread; nothing here blocks on the network, except the
 * resolution of a DNS host name at each connection attempt (getaddrinfo()
 * inside libmosquitto: use an address, or a name the local resolver
 * answers at once).
 *
 * Messages wait in a bounded queue (queue_size bytes of topic + payload)
 * while the client is not connected; what does not fit is refused
 * (-ENOBUFS: the caller counts the drop, never silently). Messages of QoS
 * 1 and 2 stay in the queue until the broker acknowledges them and are
 * sent again after a reconnection, so none is lost (QoS 1 may repeat one
 * whose acknowledgement was lost with the connection). Reconnection uses
 * exponential back-off with full jitter between reconnect_min and
 * reconnect_max. Subscriptions are remembered and made again after every
 * connection.
 *
 * Incoming packets are bounded before libmosquitto buffers them: with MQTT
 * 5 the CONNECT announces a maximum packet size (max_incoming), and the
 * broker drops what is larger instead of sending it. MQTT 3.1.1 has no such
 * announcement and libmosquitto reads any packet whole (up to 256 MiB):
 * there, only the broker's ACL bounds what arrives. What arrives is handed
 * to on_message within a byte budget per lt_mqtt_dispatch() (IN_BUDGET); the
 * rest waits in a bounded inbox for the next round, so that a flood does
 * not hold the publisher thread.
 *
 * A connection that the broker ends before it has lasted reconnect_max does
 * not reset the back-off: two clients taking the same client id from each
 * other slow down instead of storming the broker.
 *
 * Durable spool (spool = auto, the default, or yes; src/core/spool.h, in
 * STATE_DIR/spool-DCCNAME): a message that carries samples (data, not a
 * request such as IoTCC's registrations) goes to the spool instead of the
 * memory queue while the broker is not connected, while the memory queue
 * is past half of queue_size, or while the spool holds anything (nothing
 * overtakes). While connected, spooled messages are read into the memory
 * queue, oldest first, as it drains below half; each leaves the spool only
 * when the broker acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2,
 * written for QoS 0), confirmed in the order read. When the connection is
 * lost, the data messages of the memory queue go to the spool (a crash
 * during the outage loses nothing) and the spool is read again from its
 * confirmed position. lt_mqtt_flush() delivers (the spool included) for
 * half its time, then moves the rest to the spool.
 *
 * Failover: host may name several brokers, "HOST[:PORT], HOST[:PORT]...",
 * the first preferred. A failed or lost connection moves to the next one;
 * while connected to another than the first, the first is probed (a TCP
 * connection) on the reconnection back-off's schedule, and taken back as
 * soon as it answers.
 *
 * Options (lt_mqtt_option(); every other key goes on to lt_tls_option()):
 *   host            broker host name or address, or a comma-separated list
 *                   of HOST[:PORT] (required)
 *   port            default 1883, or 8883 with tls = yes: for a host
 *                   without :PORT
 *   client_id       default: the one given to lt_mqtt_new() (EDGE-ID-DCCNAME)
 *   protocol        5 (default) or 3.1.1 (for brokers without MQTT 5; no
 *                   bound on incoming packets then)
 *   username        \ MQTT credentials (password needs username)
 *   password        /
 *   keepalive       duration, default 60s (5s .. 65535s)
 *   qos             0, 1 (default) or 2: lt_mqtt_publish() with qos < 0
 *   clean_session   yes (default) / no
 *   reconnect_min   duration, default 1s
 *   reconnect_max   duration, default 60s
 *   connect_timeout duration, default 10s: TCP, TLS and the broker's CONNACK
 *   queue_size      bytes, default 4M (4k .. 1G)
 *   spool           auto (default: on when the state folder can hold it),
 *                   yes (a spool that cannot be opened is an error), no
 *   spool_size, spool_max_age, spool_fsync: as the Graphite DCC's
 *   and the TLS keys of tls.h.
 *
 * Thread: everything runs in the caller's thread (the publisher), and the
 * handlers are called from lt_mqtt_dispatch() / lt_mqtt_flush() only.
 */
#ifndef LT_MQTT_H
#define LT_MQTT_H

#include <liota/liota.h>
#include <liota/mqtt.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"
#include "transport/tls.h"

struct lt_mqtt_conf {
	char *host;
	unsigned port;           /* 0: 1883, or 8883 with TLS */
	char *client_id;         /* NULL: the default given to lt_mqtt_new() */
	char *username;          /* NULL: none */
	char *password;          /* NULL: none */
	unsigned keepalive_s;    /* default 60 */
	int qos;                 /* default 1 */
	int clean_session;       /* default 1 */
	uint64_t backoff_min_ns; /* default 1 s */
	uint64_t backoff_max_ns; /* default 60 s */
	size_t queue_bytes;      /* default 4 MiB */
	struct lt_tls_conf tls;
	uint64_t connect_timeout_ns; /* TCP + TLS + CONNACK, default 10 s */
	int protocol;                /* 5 (default) or 4 (MQTT 3.1.1) */
	/*
	 * The largest packet accepted from the broker (MQTT 5's Maximum
	 * Packet Size), set by the owner, not an option: default
	 * LT_MQTT_IN_DEFAULT, enough for acknowledgements and small messages.
	 */
	uint32_t max_incoming;
	/*
	 * What names the client's log lines when it serves no DCC (lt_mqtt_new()
	 * with @dcc NULL), set by the owner, not an option: "discovery mqtt".
	 */
	char log_name[32];
	int spool;                    /* enum spool_mode, default SPOOL_AUTO */
	struct spool_conf spool_conf; /* spool_size, spool_max_age, spool_fsync */
};

/* One broker of the host list. */
struct lt_mqtt_ep {
	char host[256];
	unsigned port; /* 0: lt_mqtt_port() */
};

#define LT_MQTT_EP_MAX 16

#define LT_MQTT_IN_DEFAULT (64u * 1024)

/* Defaults, as listed above. */
void lt_mqtt_conf_init(struct lt_mqtt_conf *c);
/* Free the strings of @c. */
void lt_mqtt_conf_clear(struct lt_mqtt_conf *c);
/*
 * lt_mqtt_option - one "key = value" of a DCC section: the keys above,
 * then the TLS keys. 0, -ENOENT for an unknown key, -EINVAL with a reason.
 */
int lt_mqtt_option(struct lt_mqtt_conf *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* Those keys as a table, for a DCC's: LT_OPT_TABLE(T, conf, lt_mqtt_opts). */
extern const struct lt_opt lt_mqtt_opts[];
/* Missing host, password without username, bad back-off range, TLS files (lt_tls_check()). */
int lt_mqtt_check(const struct lt_mqtt_conf *c, char *err, size_t errlen);
/* The port connected to: c->port, or its default. */
unsigned lt_mqtt_port(const struct lt_mqtt_conf *c);
/*
 * lt_mqtt_endpoints - split @host ("HOST[:PORT], ..."; an IPv6 address
 * with a port in brackets, [::1]:1883) into @ep (at most LT_MQTT_EP_MAX),
 * by the one host-list parser, lt_endpoints_split() (endpoint.h), with
 * numeric ports. Returns how many, or -EINVAL with the reason in @err.
 */
int lt_mqtt_endpoints(const char *host, struct lt_mqtt_ep *ep, char *err, size_t errlen);
/* Name the brokers of @c to @dcc (lt_dcc_set_endpoints()): call at check time. */
int lt_mqtt_set_endpoints(const struct lt_mqtt_conf *c, struct lt_dcc *dcc);

/* struct lt_mqtt_handlers and struct lt_mqtt: liota/mqtt.h (the SDK). */

/*
 * lt_mqtt_new - a client for @c (copied), not connected yet. When
 * c->client_id is NULL, the client id is @client_id (the DCC passes the
 * edge system id) followed by "-" and the name of @dcc, so that two DCCs of
 * one gateway on one broker do not take each other's session. @client_id
 * may be NULL, if lt_mqtt_set_client_id() gives one before lt_mqtt_start()
 * (a DCC learns the edge id at the edge's registration, after start). @dcc
 * (may be NULL) names the messages logged; @stats (may be NULL) receives
 * sent (the samples of each message when it is delivered: written for
 * QoS 0, acknowledged for QoS 1 and 2), bytes (payload bytes delivered),
 * reconnects, errors, queued (bytes waiting, in flight included), pending
 * (the samples of those messages not from the spool), state, the spool's
 * counters (recovered, spooled, spool_*; its evictions also in dropped),
 * endpoint and failovers, and in dropped the samples of the messages
 * still queued when the client is freed; the caller counts samples_in and
 * the messages refused. Builds the TLS context (errors name the file), and
 * opens the spool when @dcc is given (spool = yes: an error if it cannot).
 * NULL with a reason in @err.
 */
struct lt_mqtt *lt_mqtt_new(const struct lt_mqtt_conf *c, const char *client_id,
			    const struct lt_mqtt_handlers *h, void *ctx, struct lt_dcc *dcc,
			    struct lt_dcc_stats *stats, char *err, size_t errlen);
/*
 * lt_mqtt_set_client_id - the client id to use when none is configured
 * (client_id option), from the next connection attempt on, followed by
 * "-DCCNAME" as in lt_mqtt_new(). 0 or -ENOMEM,
 * -EINVAL when @id is empty or not UTF-8.
 */
int lt_mqtt_set_client_id(struct lt_mqtt *m, const char *id);
/*
 * Start connecting; never blocks on the network (see above for DNS names).
 * -EINVAL when there is no client id yet.
 */
int lt_mqtt_start(struct lt_mqtt *m, char *err, size_t errlen);
/*
 * lt_mqtt_subscribe - subscribe to @topic (a filter, + and # allowed) with
 * @qos now if connected, and again after every connection. 0, -EINVAL for
 * an invalid filter, -ENOMEM.
 */
int lt_mqtt_subscribe(struct lt_mqtt *m, const char *topic, int qos);
/*
 * lt_mqtt_publish - queue a message; never blocks. @qos < 0 means the
 * configured qos. Returns 0, -ENOBUFS when the queue has no room for it
 * (nothing queued: the caller counts the drop), -EINVAL for an invalid
 * topic (wildcards, empty, too long) or qos.
 */
int lt_mqtt_publish(struct lt_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		    int retain);
/* lt_mqtt_publish() of a message that carries @samples samples (for the "sent" counter). */
int lt_mqtt_publish_n(struct lt_mqtt *m, const char *topic, const void *payload, size_t len,
		      int qos, int retain, unsigned samples);
/* Fill @pfd (fd -1 for none) and lower *@deadline_ns (CLOCK_MONOTONIC) for timers. */
void lt_mqtt_poll(struct lt_mqtt *m, struct pollfd *pfd, int64_t *deadline_ns);
/* Handle @revents of the polled fd, and the timers due at @now_ns. */
void lt_mqtt_dispatch(struct lt_mqtt *m, short revents, int64_t now_ns);
/*
 * lt_mqtt_flush - deliver the queue (QoS 1/2: until acknowledged) until it
 * is empty (0) or @deadline_ns (CLOCK_MONOTONIC) passes (-ETIMEDOUT). With
 * a spool: while connected, deliver the queue and the spool until both are
 * empty or half the time is left, then move the data messages still queued
 * to the spool (0 unless the spool refused some); nothing is read from the
 * spool from then on.
 */
int lt_mqtt_flush(struct lt_mqtt *m, int64_t deadline_ns);
/* The broker accepted the connection and it is up now. */
int lt_mqtt_connected(const struct lt_mqtt *m);
/* Bytes (topic + payload) waiting, in flight included. */
size_t lt_mqtt_queued(const struct lt_mqtt *m);
/* Whether the client keeps a durable spool (open now). */
int lt_mqtt_spooling(const struct lt_mqtt *m);
/* Disconnect (without waiting) and free. NULL is fine. */
void lt_mqtt_free(struct lt_mqtt *m);

#endif
