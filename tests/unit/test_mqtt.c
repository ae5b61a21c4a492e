/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MQTT DCC's encoding (topic templates, the JSON of a batch), the
 * transport's options, and the transport and the DCC against a small fake
 * broker in this process (MQTT 3.1.1 and 5 framing: CONNACK, PUBACK,
 * SUBACK, DISCONNECT), which can hold back acknowledgements, drop the
 * connection or take the session away:
 * QoS 1 messages are kept until acknowledged and sent again on the next
 * connection, subscriptions are made again, the queue bound refuses whole
 * messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "intree.h"
#include "unit.h"
#include "core/config.h"
#include "core/pkg.h"
#include "dcc/dccs.h"
#include "dcc/mqtt_fmt.h"
#include "model.h"
#include "transport/mqtt.h"
#include "utf8.h"
#include "util.h"

#define MS 1000000ll

/* ---- topics ---------------------------------------------------------------- */

static int topic_ok(const char *t)
{
	char err[256] = "";
	int r = mqtt_topic_check(t, err, sizeof(err));

	ck_assert(r == 0 || err[0]);
	return r == 0;
}

START_TEST(mqtt_topic_templates_are_checked)
{
	ck_assert(topic_ok("liota/%i/request"));
	ck_assert(topic_ok("plant/%e/%d/%m"));
	ck_assert(topic_ok("fixed/topic"));
	ck_assert(topic_ok("100%%/x"));
	ck_assert(!topic_ok(""));
	ck_assert(!topic_ok("a/+/b"));
	ck_assert(!topic_ok("a/#"));
	ck_assert(!topic_ok("a/%x"));
	ck_assert(!topic_ok("a/%"));
	ck_assert(mqtt_topic_per_metric("a/%m"));
	ck_assert(!mqtt_topic_per_metric("a/%%m"));
	ck_assert(!mqtt_topic_per_metric("a/%d"));
}
END_TEST

START_TEST(mqtt_topic_templates_expand_and_clean_names)
{
	char *t;

	t = mqtt_topic_expand("liota/%i/request", "gw", "1234-abcd", NULL, NULL);
	ck_assert_str_eq(t, "liota/1234-abcd/request");
	free(t);
	t = mqtt_topic_expand("p/%e/%d/%m", "gw 1", "id", "boiler", "temp");
	ck_assert_str_eq(t, "p/gw 1/boiler/temp");
	free(t);
	/* MQTT's separators and wildcards in a name would change the topic's meaning. */
	t = mqtt_topic_expand("%e/%d/%m", "a/b", "id", "x+y", "#z");
	ck_assert_str_eq(t, "a_b/x_y/_z");
	free(t);
	t = mqtt_topic_expand("100%%-%m", "e", "i", "d", "m");
	ck_assert_str_eq(t, "100%-m");
	free(t);
	t = mqtt_topic_expand("fixed", "e", "i", "d", "m");
	ck_assert_str_eq(t, "fixed");
	free(t);
}
END_TEST

/* ---- JSON -------------------------------------------------------------------- */

/* head + samples + tail, as the DCC builds it. */
static char *message(int metadata, const char *edge, const char *dev, const char *metric,
		     const char *unit, const struct lt_sample *s, size_t n)
{
	char *head = mqtt_json_head(metadata, edge, dev, metric);
	char *tail = mqtt_json_tail(metadata, unit);
	size_t len = strlen(head) + n * MQTT_SAMPLE_ROOM + strlen(tail) + 1, pos;
	char *out = malloc(len);

	ck_assert_ptr_nonnull(out);
	pos = (size_t)sprintf(out, "%s", head);
	for (size_t i = 0; i < n; i++) {
		int r;

		if (i)
			out[pos++] = ',';
		r = mqtt_json_sample(out + pos, len - pos, &s[i]);
		ck_assert_int_gt(r, 0);
		pos += (size_t)r;
	}
	strcpy(out + pos, tail);
	free(head);
	free(tail);
	return out;
}

START_TEST(mqtt_json_batch_is_liota_format)
{
	struct lt_sample s[2] = {
		{ .ts_ns = 1700000000123456789ull, .value = 21.5 },
		{ .ts_ns = 1700000000999999999ull, .value = 0.1 },
	};
	char *msg = message(1, "gw 1", "boiler", "temp", "degC", s, 2);

	ck_assert_str_eq(msg, "{\"edge_system_name\":\"gw 1\",\"device_name\":\"boiler\","
			      "\"metric_name\":\"temp\",\"metric_data\":["
			      "{\"value\":21.5,\"timestamp\":1700000000123},"
			      "{\"value\":0.1,\"timestamp\":1700000000999}],\"unit\":\"degC\"}");
	free(msg);
	msg = message(0, "gw", "d", "m", "u", s, 1);
	ck_assert_str_eq(msg, "{\"metric_data\":[{\"value\":21.5,\"timestamp\":1700000000123}]}");
	free(msg);
}
END_TEST

START_TEST(mqtt_json_escapes_names_and_parses_back)
{
	struct lt_sample s[3] = {
		{ .ts_ns = 1000000, .value = -3e-300 },
		{ .ts_ns = 2000000, .value = 1e21 },
		{ .ts_ns = 3000000, .value = 12345.678 },
	};
	char *msg = message(1, "gw \"quoted\" \\ \x01", "dev", "m\tx",
			    "\xc2\xb0"
			    "C",
			    s, 3);
	json_error_t jerr;
	json_t *j = json_loads(msg, 0, &jerr), *data;

	ck_assert_msg(j, "not JSON (%s): %s", jerr.text, msg);
	ck_assert_str_eq(json_string_value(json_object_get(j, "edge_system_name")),
			 "gw \"quoted\" \\ \x01");
	ck_assert_str_eq(json_string_value(json_object_get(j, "metric_name")), "m\tx");
	ck_assert_str_eq(json_string_value(json_object_get(j, "unit")), "\xc2\xb0"
									"C");
	data = json_object_get(j, "metric_data");
	ck_assert_uint_eq(json_array_size(data), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(data, i);

		/* Exact: the shortest form reads back bit for bit. */
		ck_assert(json_number_value(json_object_get(e, "value")) == s[i].value);
		ck_assert_int_eq(json_integer_value(json_object_get(e, "timestamp")),
				 (json_int_t)(s[i].ts_ns / 1000000));
	}
	json_decref(j);
	free(msg);
}
END_TEST

START_TEST(mqtt_json_sample_refuses_nan_and_small_buffers)
{
	struct lt_sample s = { .ts_ns = 5000000, .value = NAN };
	char buf[64];

	ck_assert_int_eq(mqtt_json_sample(buf, sizeof(buf), &s), -EDOM);
	s.value = INFINITY;
	ck_assert_int_eq(mqtt_json_sample(buf, sizeof(buf), &s), -EDOM);
	s.value = 1;
	ck_assert_int_eq(mqtt_json_sample(buf, 10, &s), -ENOSPC);
	ck_assert_int_eq(mqtt_json_sample(buf, sizeof(buf), &s),
			 (int)strlen("{\"value\":1,\"timestamp\":5}"));
	ck_assert_str_eq(buf, "{\"value\":1,\"timestamp\":5}");
	/* The worst case fits the room the DCC reserves per sample. */
	s.value = -1.2345678901234567e-308;
	s.ts_ns = UINT64_MAX;
	ck_assert_int_lt(mqtt_json_sample(buf, sizeof(buf), &s), MQTT_SAMPLE_ROOM - 1);
}
END_TEST

/* ---- options -------------------------------------------------------------------- */

static int mopt(struct lt_mqtt_conf *c, const char *key, const char *value)
{
	char err[256] = "";
	int r = lt_mqtt_option(c, key, value, err, sizeof(err));

	ck_assert(r == 0 || r == -ENOENT || err[0]);
	return r;
}

START_TEST(mqtt_options_parse_check_and_chain_to_tls)
{
	struct lt_mqtt_conf c;
	char err[256] = "";

	lt_mqtt_conf_init(&c);
	ck_assert_uint_eq(c.keepalive_s, 60);
	ck_assert_int_eq(c.qos, 1);
	ck_assert_int_eq(c.clean_session, 1);
	ck_assert_uint_eq(c.backoff_min_ns, 1000 * MS);
	ck_assert_uint_eq(c.backoff_max_ns, 60000 * MS);
	ck_assert_uint_eq(lt_mqtt_port(&c), 1883);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "host"));
	ck_assert_int_eq(mopt(&c, "host", "broker.example"), 0);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(mopt(&c, "tls", "yes"), 0);
	ck_assert_uint_eq(lt_mqtt_port(&c), 8883);
	ck_assert_int_eq(mopt(&c, "tls", "no"), 0);
	ck_assert_int_eq(mopt(&c, "port", "1884"), 0);
	ck_assert_uint_eq(lt_mqtt_port(&c), 1884);
	ck_assert_int_eq(mopt(&c, "port", "0"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "port", "65536"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "qos", "2"), 0);
	ck_assert_int_eq(c.qos, 2);
	ck_assert_int_eq(mopt(&c, "qos", "3"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "keepalive", "30s"), 0);
	ck_assert_uint_eq(c.keepalive_s, 30);
	ck_assert_int_eq(mopt(&c, "keepalive", "1s"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "clean_session", "no"), 0);
	ck_assert_int_eq(c.clean_session, 0);
	ck_assert_int_eq(mopt(&c, "reconnect_min", "0"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "reconnect_min", "2m"), 0);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "reconnect_min"));
	ck_assert_int_eq(mopt(&c, "reconnect_max", "5m"), 0);
	ck_assert_int_eq(mopt(&c, "queue_size", "1M"), 0);
	ck_assert_uint_eq(c.queue_bytes, 1u << 20);
	ck_assert_int_eq(mopt(&c, "queue_size", "10"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "password", "pw"), 0);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "username"));
	ck_assert_int_eq(mopt(&c, "username", "u"), 0);
	ck_assert_int_eq(mopt(&c, "client_id", "gw-1"), 0);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), 0);
	/* TLS keys pass through; unknown keys are -ENOENT. */
	ck_assert_int_eq(mopt(&c, "ca_file", "/etc/ssl/certs/ca-certificates.crt"), 0);
	ck_assert_str_eq(c.tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	ck_assert_int_eq(mopt(&c, "min_tls", "1.0"), -EINVAL);
	ck_assert_int_eq(mopt(&c, "nope", "1"), -ENOENT);
	/* TLS on with a missing file: the check names it. */
	ck_assert_int_eq(mopt(&c, "tls", "yes"), 0);
	ck_assert_int_eq(mopt(&c, "ca_file", "/nonexistent/ca.pem"), 0);
	ck_assert_int_eq(lt_mqtt_check(&c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/ca.pem"));
	lt_mqtt_conf_clear(&c);
}
END_TEST

/* ---- a fake broker ------------------------------------------------------------------ */

struct pub {
	char topic[128];
	char payload[1024];
	int qos, id, dup;
};

struct broker {
	int lfd, cfd;
	uint16_t port;
	int connects, subscribes;
	int ack;                /* send PUBACK for QoS 1 */
	int level;              /* protocol level of the last CONNECT: 4 (3.1.1) or 5 */
	int64_t max_packet;     /* its Maximum Packet Size, -1: none */
	int64_t session_expiry; /* its Session Expiry Interval, -1: none */
	int take_over;          /* answer each CONNECT with DISCONNECT "session taken over" */
	char client_id[128];    /* of the last CONNECT */
	char sub_topic[128];
	struct pub pubs[64];
	int npubs;
	unsigned char buf[65536];
	size_t len;
};

static void broker_start(struct broker *b)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(b, 0, sizeof(*b));
	b->cfd = -1;
	b->ack = 1;
	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(b->lfd, 0);
	ck_assert_int_eq(bind(b->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(b->lfd, 4), 0);
	ck_assert_int_eq(getsockname(b->lfd, (struct sockaddr *)&a, &al), 0);
	b->port = ntohs(a.sin_port);
}

static void broker_drop(struct broker *b)
{
	if (b->cfd >= 0)
		close(b->cfd);
	b->cfd = -1;
	b->len = 0;
}

static void broker_stop(struct broker *b)
{
	broker_drop(b);
	close(b->lfd);
}

static void send_all(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Handle the complete packets in b->buf. */
static void broker_packets(struct broker *b)
{
	for (;;) {
		size_t rl = 0, pos = 1, mult = 1;
		unsigned char type;

		if (b->len < 2)
			return;
		do {
			if (pos >= b->len)
				return;
			rl += (b->buf[pos] & 127) * mult;
			mult *= 128;
		} while (b->buf[pos++] & 128);
		if (b->len < pos + rl)
			return;
		type = b->buf[0];
		const unsigned char *p = b->buf + pos;

		if ((type >> 4) == 1) { /* CONNECT */
			static const unsigned char connack[] = { 0x20, 2, 0, 0 };
			static const unsigned char connack5[] = { 0x20, 3, 0, 0, 0 };
			static const unsigned char taken[] = { 0xe0, 1, 0x8e };

			b->connects++;
			b->level = p[6];
			b->max_packet = b->session_expiry = -1;
			/* Properties (MQTT 5): after name, level, flags, keepalive; short here. */
			for (size_t i = 11; b->level == 5 && i < 11u + p[10];) {
				uint32_t v = (uint32_t)p[i + 1] << 24 | (uint32_t)p[i + 2] << 16 |
					     (uint32_t)p[i + 3] << 8 | p[i + 4];

				if (p[i] == 0x27)
					b->max_packet = v;
				else if (p[i] == 0x11)
					b->session_expiry = v;
				else
					break;
				i += 5;
			}
			{
				/* The payload starts with the client id. */
				size_t at = b->level == 5 ? 11u + p[10] : 10,
				       n = p[at] << 8 | p[at + 1];

				snprintf(b->client_id, sizeof(b->client_id), "%.*s", (int)n,
					 (const char *)p + at + 2);
			}
			if (b->level == 5)
				send_all(b->cfd, connack5, sizeof(connack5));
			else
				send_all(b->cfd, connack, sizeof(connack));
			if (b->take_over)
				send_all(b->cfd, taken, sizeof(taken));
		} else if ((type >> 4) == 3) { /* PUBLISH */
			struct pub *pb = &b->pubs[b->npubs < 63 ? b->npubs++ : 63];
			size_t tl = (size_t)p[0] << 8 | p[1], off = 2 + tl;

			pb->qos = (type >> 1) & 3;
			pb->dup = (type >> 3) & 1;
			snprintf(pb->topic, sizeof(pb->topic), "%.*s", (int)tl,
				 (const char *)p + 2);
			if (pb->qos) {
				pb->id = p[off] << 8 | p[off + 1];
				off += 2;
			}
			if (b->level == 5)
				off += 1 + p[off]; /* properties (short) */
			snprintf(pb->payload, sizeof(pb->payload), "%.*s", (int)(rl - off),
				 (const char *)p + off);
			if (pb->qos == 1 && b->ack) {
				unsigned char puback[] = { 0x40, 2, p[2 + tl], p[3 + tl] };

				send_all(b->cfd, puback, sizeof(puback));
			}
		} else if ((type >> 4) == 8) { /* SUBSCRIBE */
			unsigned char suback[] = { 0x90, 3, p[0], p[1], 1 };
			unsigned char suback5[] = { 0x90, 4, p[0], p[1], 0, 1 };
			size_t off = b->level == 5 ? 3 + p[2] : 2;
			size_t tl = (size_t)p[off] << 8 | p[off + 1];

			b->subscribes++;
			snprintf(b->sub_topic, sizeof(b->sub_topic), "%.*s", (int)tl,
				 (const char *)p + off + 2);
			if (b->level == 5)
				send_all(b->cfd, suback5, sizeof(suback5));
			else
				send_all(b->cfd, suback, sizeof(suback));
		} else if ((type >> 4) == 12) { /* PINGREQ */
			static const unsigned char pingresp[] = { 0xd0, 0 };

			send_all(b->cfd, pingresp, sizeof(pingresp));
		}
		memmove(b->buf, b->buf + pos + rl, b->len - pos - rl);
		b->len -= pos + rl;
	}
}

/* Send a PUBLISH (QoS 0) to the client. */
static void broker_publish(struct broker *b, const char *topic, const char *payload)
{
	unsigned char pkt[256];
	size_t tl = strlen(topic), pl = strlen(payload), v5 = b->level == 5;

	pkt[0] = 0x30;
	pkt[1] = (unsigned char)(2 + tl + v5 + pl);
	pkt[2] = 0;
	pkt[3] = (unsigned char)tl;
	memcpy(pkt + 4, topic, tl);
	pkt[4 + tl] = 0; /* no properties (MQTT 5) */
	memcpy(pkt + 4 + tl + v5, payload, pl);
	send_all(b->cfd, pkt, 4 + tl + v5 + pl);
}

/* Run the client and brokers @bs (@nb of them, lfd -1: not listening) for @ms, or until @until().
 */
static void run_brokers(struct lt_mqtt *m, struct broker **bs, int nb, int ms, int (*until)(void))
{
	int64_t end = (int64_t)lt_mono_ns() + ms * MS;

	while ((int64_t)lt_mono_ns() < end && !(until && until())) {
		struct pollfd p[5];
		int64_t now = (int64_t)lt_mono_ns(), dl = now + 20 * MS;
		int n;

		lt_mqtt_poll(m, &p[0], &dl);
		for (int i = 0; i < nb; i++) {
			p[1 + 2 * i] = (struct pollfd){ .fd = bs[i]->lfd, .events = POLLIN };
			p[2 + 2 * i] = (struct pollfd){ .fd = bs[i]->cfd, .events = POLLIN };
		}
		n = poll(p, (nfds_t)(1 + 2 * nb), dl > now ? (int)((dl - now) / MS) + 1 : 0);
		ck_assert_int_ge(n, 0);
		for (int i = 0; i < nb; i++) {
			struct broker *b = bs[i];
			int fresh = 0;

			if (p[1 + 2 * i].revents & POLLIN) {
				int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd >= 0) {
					broker_drop(b);
					b->cfd = fd;
					fresh = 1; /* the revents below were of the old one */
				}
			}
			if (b->cfd >= 0 && !fresh &&
			    (p[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR))) {
				ssize_t r =
					recv(b->cfd, b->buf + b->len, sizeof(b->buf) - b->len, 0);

				if (r <= 0)
					broker_drop(b);
				else {
					b->len += (size_t)r;
					broker_packets(b);
				}
			}
		}
		lt_mqtt_dispatch(m, p[0].fd >= 0 ? p[0].revents : 0, (int64_t)lt_mono_ns());
	}
}

/* Run the client and the broker for @ms milliseconds, or until @until() is true. */
static void run(struct lt_mqtt *m, struct broker *b, int ms, int (*until)(void))
{
	run_brokers(m, &b, 1, ms, until);
}

static struct lt_mqtt *cur;
static int received;
static char last_topic[128], last_payload[128];
static int connects_heard, disconnects_heard;

static int queue_empty(void)
{
	return lt_mqtt_queued(cur) == 0;
}

static int is_connected(void)
{
	return lt_mqtt_connected(cur);
}

static void on_connect(void *ctx)
{
	connects_heard++;
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	received++;
	snprintf(last_topic, sizeof(last_topic), "%s", topic);
	snprintf(last_payload, sizeof(last_payload), "%.*s", (int)len, (const char *)payload);
}

static char last_reason[256];

static void on_disconnect(void *ctx, const char *reason)
{
	disconnects_heard++;
	snprintf(last_reason, sizeof(last_reason), "%s", reason);
}

/* The DCC the next client_with() names (its spool's), NULL: none. */
static struct lt_dcc *client_dcc;

/* A client of @b with the options @kv (key, value, ..., NULL) on top of the test's. */
static struct lt_mqtt *client_with(struct broker *b, struct lt_dcc_stats *st, uint32_t max_in,
				   const char *const *kv)
{
	static const struct lt_mqtt_handlers h = { on_connect, on_message, on_disconnect };
	struct lt_mqtt_conf c;
	char port[16], err[256] = "";
	struct lt_mqtt *m;

	lt_mqtt_conf_init(&c);
	snprintf(port, sizeof(port), "%u", b->port);
	ck_assert_int_eq(mopt(&c, "host", "127.0.0.1"), 0);
	ck_assert_int_eq(mopt(&c, "port", port), 0);
	ck_assert_int_eq(mopt(&c, "reconnect_min", "20ms"), 0);
	ck_assert_int_eq(mopt(&c, "reconnect_max", "40ms"), 0);
	for (; kv && kv[0]; kv += 2)
		ck_assert_int_eq(mopt(&c, kv[0], kv[1]), 0);
	if (max_in)
		c.max_incoming = max_in;
	m = lt_mqtt_new(&c, NULL, &h, NULL, client_dcc, st, err, sizeof(err));
	ck_assert_msg(m, "%s", err);
	lt_mqtt_conf_clear(&c);
	/* No client id yet: start refuses. */
	ck_assert_int_eq(lt_mqtt_start(m, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_set_client_id(m, "unit-test"), 0);
	ck_assert_int_eq(lt_mqtt_start(m, err, sizeof(err)), 0);
	cur = m;
	received = connects_heard = disconnects_heard = 0;
	last_reason[0] = '\0';
	return m;
}

static struct lt_mqtt *client(struct broker *b, struct lt_dcc_stats *st, const char *queue_size)
{
	const char *kv[] = { "queue_size", queue_size, NULL };

	return client_with(b, st, 0, queue_size ? kv : NULL);
}

START_TEST(mqtt_qos1_kept_until_acked_and_resent_after_reconnect)
{
	struct lt_dcc_stats st = { 0 };
	struct broker b;
	struct lt_mqtt *m;

	broker_start(&b);
	m = client(&b, &st, NULL);
	ck_assert_int_eq(lt_mqtt_subscribe(m, "cmd/#", 1), 0);
	ck_assert_int_eq(lt_mqtt_subscribe(m, "bad/+x", 1), -EINVAL);
	run(m, &b, 2000, is_connected);
	ck_assert(lt_mqtt_connected(m));
	ck_assert_int_eq(b.connects, 1);
	run(m, &b, 100, NULL);
	ck_assert_int_eq(b.subscribes, 1);
	ck_assert_str_eq(b.sub_topic, "cmd/#");
	ck_assert_int_eq(connects_heard, 1);

	/* Acknowledged: delivered and counted. */
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/a", "one", 3, 1, 0, 5), 0);
	run(m, &b, 2000, queue_empty);
	ck_assert_uint_eq(lt_mqtt_queued(m), 0);
	ck_assert_int_eq(b.npubs, 1);
	ck_assert_str_eq(b.pubs[0].topic, "t/a");
	ck_assert_str_eq(b.pubs[0].payload, "one");
	ck_assert_int_eq(b.pubs[0].qos, 1);
	ck_assert_uint_eq(lt_count_get(&st.sent), 5);
	ck_assert_uint_eq(lt_count_get(&st.bytes), 3);

	/* Not acknowledged: kept (and counted as queued) until the next connection. */
	b.ack = 0;
	ck_assert_int_eq(lt_mqtt_publish(m, "t/b", "two", 3, -1, 0), 0);
	ck_assert_int_eq(lt_mqtt_publish(m, "t/c", "three", 5, 1, 1), 0);
	run(m, &b, 300, NULL);
	ck_assert_int_eq(b.npubs, 3);
	ck_assert_uint_eq(lt_mqtt_queued(m), 3 + 3 + 3 + 5);
	ck_assert_uint_eq(lt_count_get(&st.queued), 14);
	ck_assert_uint_eq(lt_count_get(&st.sent), 5);
	b.ack = 1;
	broker_drop(&b);
	run(m, &b, 3000, queue_empty);
	ck_assert_uint_eq(lt_mqtt_queued(m), 0);
	ck_assert_int_eq(b.connects, 2);
	ck_assert_int_eq(b.subscribes, 2); /* made again */
	ck_assert_int_eq(b.npubs, 5);
	ck_assert_str_eq(b.pubs[3].topic, "t/b"); /* in order */
	ck_assert_str_eq(b.pubs[4].topic, "t/c");
	ck_assert_str_eq(b.pubs[4].payload, "three");
	ck_assert_uint_eq(lt_count_get(&st.sent), 7);
	ck_assert_uint_eq(lt_count_get(&st.reconnects), 1);
	ck_assert_uint_ge(lt_count_get(&st.errors), 1);
	ck_assert_int_eq(disconnects_heard, 1);
	ck_assert_int_eq(connects_heard, 2);

	/* Messages from the broker reach the handler. */
	broker_publish(&b, "cmd/x", "hello");
	run(m, &b, 500, NULL);
	ck_assert_int_eq(received, 1);
	ck_assert_str_eq(last_topic, "cmd/x");
	ck_assert_str_eq(last_payload, "hello");

	/* QoS 0: counted once written. */
	ck_assert_int_eq(lt_mqtt_publish(m, "t/d", "zero", 4, 0, 0), 0);
	ck_assert_int_eq(lt_mqtt_flush(m, (int64_t)lt_mono_ns() + 1000 * MS), 0);
	ck_assert_uint_eq(lt_count_get(&st.sent), 8);
	run(m, &b, 200, NULL);
	ck_assert_int_eq(b.pubs[b.npubs - 1].qos, 0);
	ck_assert_str_eq(b.pubs[b.npubs - 1].topic, "t/d");
	lt_mqtt_free(m);
	broker_stop(&b);
}
END_TEST

static struct lt_dcc_stats *backoff_stats;

static int in_backoff(void)
{
	return lt_count_get(&backoff_stats->state) == LT_DCC_BACKOFF;
}

START_TEST(mqtt_queue_bound_refuses_whole_messages_while_down)
{
	struct lt_dcc_stats st = { 0 };
	static char big[3000];
	struct broker b;
	struct lt_mqtt *m;

	broker_start(&b);
	/* Nobody accepts: the listener is closed, so attempts fail and back off. */
	close(b.lfd);
	b.lfd = socket(AF_INET, SOCK_STREAM, 0);
	m = client(&b, &st, "4k");
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(lt_mqtt_publish(m, "t", big, sizeof(big), 1, 0), 0);
	ck_assert_int_eq(lt_mqtt_publish(m, "t", big, sizeof(big), 1, 0), -ENOBUFS);
	ck_assert_int_eq(lt_mqtt_publish(m, "t", big, 1000, 1, 0), 0);
	ck_assert_uint_eq(lt_mqtt_queued(m), 3000 + 1 + 1000 + 1);
	ck_assert_uint_eq(lt_count_get(&st.pending), 2);
	ck_assert_int_eq(lt_mqtt_publish(m, "t/+", "x", 1, 1, 0), -EINVAL);
	ck_assert_int_eq(lt_mqtt_publish(m, "", "x", 1, 1, 0), -EINVAL);
	ck_assert_int_eq(lt_mqtt_publish(m, "t", "x", 1, 3, 0), -EINVAL);
	run(m, &b, 200, NULL);
	ck_assert(!lt_mqtt_connected(m));
	/* Between attempts (the 200 ms may end while one is being refused). */
	backoff_stats = &st;
	run(m, &b, 500, in_backoff);
	ck_assert_int_eq(lt_count_get(&st.state), LT_DCC_BACKOFF);
	ck_assert_uint_ge(lt_count_get(&st.errors), 2);
	ck_assert_int_eq(lt_mqtt_flush(m, (int64_t)lt_mono_ns() + 50 * MS), -ETIMEDOUT);
	ck_assert_uint_eq(lt_count_get(&st.dropped), 0);
	lt_mqtt_free(m);
	/* What the queue held when the client went is counted, not lost. */
	ck_assert_uint_eq(lt_count_get(&st.dropped), 2);
	ck_assert_uint_eq(lt_count_get(&st.pending), 0);
	close(b.lfd);
}
END_TEST

START_TEST(mqtt5_connect_announces_the_largest_packet_taken)
{
	const char *keep[] = { "clean_session", "no", NULL };
	const char *old[] = { "protocol", "3.1.1", NULL };
	struct lt_dcc_stats st = { 0 };
	struct lt_mqtt_conf c;
	char err[256] = "";
	struct broker b;
	struct lt_mqtt *m;

	lt_mqtt_conf_init(&c);
	ck_assert_int_eq(c.protocol, 5);
	ck_assert_int_eq(lt_mqtt_option(&c, "protocol", "3.1", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "5 or 3.1.1"));
	lt_mqtt_conf_clear(&c);
	broker_start(&b);
	/* The default: MQTT 5, LT_MQTT_IN_DEFAULT, a session that ends with the connection. */
	m = client(&b, &st, NULL);
	run(m, &b, 2000, is_connected);
	ck_assert_int_eq(b.level, 5);
	ck_assert_str_eq(b.client_id, "unit-test"); /* given, and no DCC to add a name */
	ck_assert_int_eq(b.max_packet, LT_MQTT_IN_DEFAULT);
	ck_assert_int_eq(b.session_expiry, -1);
	lt_mqtt_free(m);
	/* The owner's bound; clean_session = no keeps the session as 3.1.1 did. */
	m = client_with(&b, &st, 70000, keep);
	run(m, &b, 2000, is_connected);
	ck_assert(lt_mqtt_connected(m));
	ck_assert_int_eq(b.max_packet, 70000);
	ck_assert_int_eq(b.session_expiry, UINT32_MAX);
	lt_mqtt_free(m);
	/* MQTT 3.1.1 has no properties: nothing announced. */
	m = client_with(&b, &st, 70000, old);
	run(m, &b, 2000, is_connected);
	ck_assert(lt_mqtt_connected(m));
	ck_assert_int_eq(b.level, 4);
	ck_assert_str_eq(b.client_id, "unit-test");
	ck_assert_int_eq(b.max_packet, -1);
	lt_mqtt_free(m);
	broker_stop(&b);
}
END_TEST

START_TEST(mqtt_session_taken_over_is_said_and_backed_off)
{
	const char *kv[] = { "reconnect_min", "20ms", "reconnect_max", "400ms", NULL };
	struct lt_dcc_stats st = { 0 };
	struct broker b;
	struct lt_mqtt *m;

	broker_start(&b);
	b.take_over = 1;
	m = client_with(&b, &st, 0, kv);
	run(m, &b, 1500, NULL);
	ck_assert_msg(strstr(last_reason, "another client connected with the same client id "
					  "\"unit-test\""),
		      "reason: %s", last_reason);
	/*
	 * Each connection is taken away at once, yet the back-off grows: about
	 * 11 attempts in 1.5 s (about 100 if each connection reset it).
	 */
	ck_assert_int_ge(b.connects, 3);
	ck_assert_int_le(b.connects, 25);
	lt_mqtt_free(m);
	broker_stop(&b);
}
END_TEST

/* A QoS 0 PUBLISH (MQTT 5) of @len bytes on "in/x" into @out; its size. */
static size_t flood_packet(unsigned char *out, size_t len)
{
	size_t rl = 2 + 4 + 1 + len, n = 0;

	out[n++] = 0x30;
	do {
		out[n] = rl & 127;
		rl >>= 7;
		out[n++] |= rl ? 128 : 0;
	} while (rl);
	out[n++] = 0;
	out[n++] = 4;
	memcpy(out + n, "in/x", 4);
	n += 4;
	out[n++] = 0; /* no properties */
	memset(out + n, 'f', len);
	return n + len;
}

START_TEST(mqtt_incoming_flood_is_handed_on_within_a_budget)
{
	enum { N = 60, LEN = 8192 };
	static unsigned char out[N * (LEN + 16)];
	struct lt_dcc_stats st = { 0 };
	size_t total = 0, sent = 0;
	int most = 0, big = 1 << 20;
	struct broker b;
	struct lt_mqtt *m;

	broker_start(&b);
	m = client(&b, &st, NULL);
	ck_assert_int_eq(lt_mqtt_subscribe(m, "in/#", 0), 0);
	run(m, &b, 2000, is_connected);
	run(m, &b, 100, NULL);
	/* 100 messages in flight: libmosquitto then parses up to 100 packets per read. */
	b.ack = 0;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(lt_mqtt_publish(m, "t/q", "x", 1, 1, 0), 0);
	run(m, &b, 200, NULL);
	for (int i = 0; i < N; i++)
		total += flood_packet(out + total, LEN);
	setsockopt(b.cfd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	received = 0;
	for (int round = 0; round < 3000 && received < N; round++) {
		int64_t now = (int64_t)lt_mono_ns(), dl = now + 20 * MS;
		int before = received;
		struct pollfd p;
		ssize_t w;

		if (sent < total &&
		    (w = send(b.cfd, out + sent, total - sent, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
			sent += (size_t)w;
		lt_mqtt_poll(m, &p, &dl);
		if (p.fd >= 0 && round == 0)
			setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		ck_assert_int_ge(poll(&p, p.fd >= 0, dl > now ? (int)((dl - now) / MS) + 1 : 0), 0);
		lt_mqtt_dispatch(m, p.fd >= 0 ? p.revents : 0, (int64_t)lt_mono_ns());
		if (received - before > most)
			most = received - before;
	}
	/* Every message arrives, at most 128 KiB of them per dispatch (16 + 1). */
	ck_assert_int_eq(received, N);
	ck_assert_int_le(most, 17);
	ck_assert_int_ge(most, 2);
	lt_mqtt_free(m);
	broker_stop(&b);
}
END_TEST

/* ---- the DCC -------------------------------------------------------------------------- */

static void reg_entity(struct lt_dcc *d, enum lt_entity_kind kind, const char *name, const char *id,
		       const char *unit, const struct lt_reg *parent, struct lt_reg *r)
{
	struct lt_entity e = { .kind = kind, .name = name, .id = id, .unit = unit };

	ck_assert_int_eq(d->drv->register_entity(d, &e, parent, r), 0);
	ck_assert_ptr_nonnull(r->id);
}

static void unreg(struct lt_dcc *d, struct lt_reg *r)
{
	d->drv->unregister(d, r);
	free(r->id);
	r->id = NULL;
}

START_TEST(mqtt_dcc_publishes_one_message_per_batch)
{
	struct lt_dcc d = { .name = "m", .drv = &lt_dcc_mqtt };
	struct lt_reg edge = { 0 }, dev = { 0 }, met = { 0 }, met2 = { 0 };
	struct lt_sample s[3] = {
		{ .ts_ns = 1700000000000000000ull, .value = 21.5 },
		{ .ts_ns = 1700000000500000000ull, .value = NAN },
		{ .ts_ns = 1700000001999999999ull, .value = -3 },
	};
	char err[256] = "", port[16], port_name[32];
	struct broker b;

	/* Its package provides it (tests/unit/intree.h), not the built-in table. */
	ck_assert_ptr_eq(pkg_dcc_driver("mqtt"), &lt_dcc_mqtt);
	broker_start(&b);
	snprintf(port, sizeof(port), "%u", b.port);
	snprintf(port_name, sizeof(port_name), "127.0.0.1:%u", b.port);
	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(d.drv->option(&d, "host", "127.0.0.1", err, sizeof(err)), 0);
	/* The memory queue is under test: no spool in the state folder. */
	ck_assert_int_eq(d.drv->option(&d, "spool", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "port", port, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "topic", "plant/%e/%d/%m", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "topic", "a/#", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(d.drv->option(&d, "retain", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "enclose_metadata", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "nope", "1", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(d.drv->check(&d, err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->start(&d, err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw 1", "0f0e-id", NULL, NULL, &edge);
	reg_entity(&d, LT_ENTITY_DEVICE, "boiler", NULL, NULL, &edge, &dev);
	reg_entity(&d, LT_ENTITY_METRIC, "temp", NULL, "degC", &dev, &met);
	reg_entity(&d, LT_ENTITY_METRIC, "count", NULL, "", &dev, &met2);
	ck_assert_str_eq(met.id, "plant/gw 1/boiler/temp");
	ck_assert_str_eq(met2.id, "plant/gw 1/boiler/count");

	ck_assert_int_eq(d.drv->publish(&d, &met, s, 3), 2);
	ck_assert_int_eq(d.drv->publish(&d, &met2, s + 2, 1), 1);
	/* Drive it through the driver's own poll/dispatch until both are acknowledged. */
	for (int i = 0; i < 200 && lt_count_get(&d.stats.sent) < 3; i++) {
		struct pollfd p[3];
		int64_t now = (int64_t)lt_mono_ns(), dl = now + 10 * MS;

		d.drv->poll(&d, &p[0], &dl);
		p[1] = (struct pollfd){ .fd = b.lfd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = b.cfd, .events = POLLIN };
		ck_assert_int_ge(poll(p, 3, 10), 0);
		if (p[1].revents & POLLIN) {
			int fd = accept4(b.lfd, NULL, NULL, SOCK_NONBLOCK);

			if (fd >= 0)
				b.cfd = fd;
		}
		if (b.cfd >= 0 && (p[2].revents & POLLIN)) {
			ssize_t r = recv(b.cfd, b.buf + b.len, sizeof(b.buf) - b.len, 0);

			if (r > 0) {
				b.len += (size_t)r;
				broker_packets(&b);
			}
		}
		d.drv->dispatch(&d, p[0].fd >= 0 ? p[0].revents : 0, (int64_t)lt_mono_ns());
	}
	/* Its own client id: the edge id and the DCC's name. */
	ck_assert_str_eq(b.client_id, "0f0e-id-m");
	ck_assert_uint_eq(lt_count_get(&d.stats.samples_in), 4);
	ck_assert_uint_eq(lt_count_get(&d.stats.dropped), 1);
	ck_assert_uint_eq(lt_count_get(&d.stats.sent), 3);
	ck_assert_int_eq(b.npubs, 2);
	ck_assert_str_eq(b.pubs[0].topic, "plant/gw 1/boiler/temp");
	ck_assert_str_eq(b.pubs[0].payload,
			 "{\"edge_system_name\":\"gw 1\",\"device_name\":\"boiler\","
			 "\"metric_name\":"
			 "\"temp\",\"metric_data\":[{\"value\":21.5,\"timestamp\":1700000000000},"
			 "{\"value\":-3,\"timestamp\":1700000001999}],\"unit\":\"degC\"}");
	ck_assert_int_eq(b.pubs[0].qos, 1);
	ck_assert_str_eq(b.pubs[1].payload,
			 "{\"edge_system_name\":\"gw 1\",\"device_name\":\"boiler\","
			 "\"metric_name\":"
			 "\"count\",\"metric_data\":[{\"value\":-3,\"timestamp\":1700000001999}],"
			 "\"unit\":\"\"}");
	ck_assert_int_eq(d.drv->flush(&d, (int64_t)lt_mono_ns() + 100 * MS), 0);
	d.drv->stop(&d);
	unreg(&d, &met2);
	unreg(&d, &met);
	unreg(&d, &dev);
	unreg(&d, &edge);
	d.drv->free(&d);
	/* check named its broker (lt_dcc_set_endpoints()): the core frees the names. */
	ck_assert_uint_eq(d.nendpoints, 1);
	ck_assert_str_eq(d.endpoints[0], port_name);
	free(d.endpoints[0]);
	free(d.endpoints);
	broker_stop(&b);
}
END_TEST

START_TEST(mqtt_dcc_auto_topic_is_edge_id)
{
	struct lt_dcc d = { .name = "m", .drv = &lt_dcc_mqtt };
	struct lt_reg edge = { 0 }, dev = { 0 }, met = { 0 };
	char err[256] = "";

	ck_assert_int_eq(d.drv->init(&d), 0);
	ck_assert_int_eq(d.drv->option(&d, "host", "127.0.0.1", err, sizeof(err)), 0);
	/* The memory queue is under test: no spool in the state folder. */
	ck_assert_int_eq(d.drv->option(&d, "spool", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "port", "1", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->option(&d, "topic", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(d.drv->start(&d, err, sizeof(err)), 0);
	reg_entity(&d, LT_ENTITY_EDGE, "gw", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", NULL, NULL,
		   &edge);
	reg_entity(&d, LT_ENTITY_DEVICE, "dev", NULL, NULL, &edge, &dev);
	reg_entity(&d, LT_ENTITY_METRIC, "m", NULL, "", &dev, &met);
	ck_assert_str_eq(met.id, "liota/1b4e28ba-2fa1-11d2-883f-0016d3cca427/request");
	d.drv->stop(&d);
	unreg(&d, &met);
	unreg(&d, &dev);
	unreg(&d, &edge);
	d.drv->free(&d);
}
END_TEST

/* ---- the durable spool and failover --------------------------------------------------- */

static struct lt_dcc_stats *sp_stats;

static int spool_drained(void)
{
	return lt_mqtt_connected(cur) && lt_mqtt_queued(cur) == 0 &&
	       lt_count_get(&sp_stats->spooled) == 0;
}

static int spooled_some(void)
{
	return lt_count_get(&sp_stats->spooled) > 0 && !lt_mqtt_connected(cur);
}

START_TEST(mqtt_spooled_messages_leave_the_spool_only_when_acknowledged)
{
	struct lt_dcc d = { .name = "sp" };
	struct lt_dcc_stats *st = &d.stats;
	char dir[] = "/tmp/lt-mqtt-spool-XXXXXX", cmd[64];
	const char *kv[] = { "spool", "yes", NULL };
	struct broker b;
	struct lt_mqtt *m;
	char err[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sdk_set_state_dir(dir);
	broker_start(&b);
	sp_stats = st;
	client_dcc = &d;
	m = client_with(&b, st, 0, kv);
	ck_assert(lt_mqtt_spooling(m));
	/* Not connected yet: data goes to the spool, a request (no sample) to memory. */
	lt_mqtt_dispatch(m, 0, (int64_t)lt_mono_ns());
	ck_assert(!lt_mqtt_connected(m));
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/1", "a", 1, 1, 0, 2), 0);
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/2", "bb", 2, 1, 0, 3), 0);
	ck_assert_int_eq(lt_mqtt_publish_n(m, "req", "r", 1, 1, 0, 0), 0);
	ck_assert_uint_eq(lt_count_get(&st->spooled), 5);
	ck_assert_uint_eq(lt_count_get(&st->spool_batches), 2);
	ck_assert_uint_eq(lt_count_get(&st->pending), 0);
	ck_assert_uint_eq(lt_mqtt_queued(m), 4); /* the request only */

	/* Connected: replayed oldest first, and confirmed by the PUBACKs. */
	run(m, &b, 3000, spool_drained);
	ck_assert(spool_drained());
	ck_assert_int_eq(b.npubs, 3);
	ck_assert_str_eq(b.pubs[0].topic, "req");
	ck_assert_str_eq(b.pubs[1].topic, "t/1");
	ck_assert_str_eq(b.pubs[2].topic, "t/2");
	ck_assert_str_eq(b.pubs[2].payload, "bb");
	ck_assert_int_eq(b.pubs[2].qos, 1);
	ck_assert_uint_eq(lt_count_get(&st->sent), 5);

	/* Sent, never acknowledged: it stays in the spool across the reconnection. */
	b.ack = 0;
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/3", "ccc", 3, 1, 0, 4), 0);
	ck_assert_uint_eq(lt_count_get(&st->pending), 4); /* memory: the spool was empty */
	run(m, &b, 300, NULL);
	ck_assert_int_eq(b.npubs, 4);
	broker_drop(&b);
	run(m, &b, 1000, spooled_some);
	/* The lost connection moved it from memory to the spool. */
	ck_assert_uint_eq(lt_count_get(&st->spooled), 4);
	ck_assert_uint_eq(lt_count_get(&st->pending), 0);
	ck_assert_uint_eq(lt_mqtt_queued(m), 0);
	run(m, &b, 3000, is_connected);
	run(m, &b, 300, NULL);
	ck_assert_int_eq(b.npubs, 5); /* sent again from the spool... */
	ck_assert_str_eq(b.pubs[4].topic, "t/3");
	ck_assert_uint_eq(lt_count_get(&st->spooled), 4); /* ...and kept: not acknowledged */
	ck_assert_uint_eq(lt_count_get(&st->sent), 5);
	b.ack = 1;
	broker_drop(&b);
	run(m, &b, 3000, spool_drained);
	ck_assert(spool_drained());
	ck_assert_str_eq(b.pubs[b.npubs - 1].topic, "t/3");
	ck_assert_uint_eq(lt_count_get(&st->sent), 9);

	/* A stop keeps what is undelivered for the next start. */
	broker_drop(&b);
	run(m, &b, 1000, spooled_some);
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/4", "dddd", 4, 1, 0, 6), 0);
	ck_assert_int_eq(lt_mqtt_flush(m, (int64_t)lt_mono_ns() + 200 * MS), 0);
	lt_mqtt_free(m);
	ck_assert_uint_eq(lt_count_get(&st->dropped), 0);
	memset(st, 0, sizeof(*st));
	m = client_with(&b, st, 0, kv);
	ck_assert_uint_eq(lt_count_get(&st->recovered), 6);
	run(m, &b, 3000, spool_drained);
	ck_assert(spool_drained());
	ck_assert_str_eq(b.pubs[b.npubs - 1].topic, "t/4");
	ck_assert_uint_eq(lt_count_get(&st->sent), 6);
	lt_mqtt_free(m);
	broker_stop(&b);

	/* spool = yes where no spool can be: an error at start; auto: none, no error. */
	snprintf(cmd, sizeof(cmd), "chmod 0777 %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	{
		struct lt_mqtt_conf c;

		lt_mqtt_conf_init(&c);
		ck_assert_int_eq(mopt(&c, "host", "127.0.0.1"), 0);
		ck_assert_int_eq(mopt(&c, "spool", "yes"), 0);
		ck_assert_ptr_null(lt_mqtt_new(&c, "x", NULL, NULL, &d, st, err, sizeof(err)));
		ck_assert_ptr_nonnull(strstr(err, "spool"));
		ck_assert_int_eq(mopt(&c, "spool", "auto"), 0);
		m = lt_mqtt_new(&c, "x", NULL, NULL, &d, st, err, sizeof(err));
		ck_assert_ptr_nonnull(m);
		ck_assert(!lt_mqtt_spooling(m));
		lt_mqtt_free(m);
		lt_mqtt_conf_clear(&c);
	}
	sdk_set_state_dir(NULL);
	client_dcc = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(mqtt_host_lists_parse_and_refuse)
{
	struct lt_mqtt_ep ep[LT_MQTT_EP_MAX];
	char err[256], many[400] = "";

	ck_assert_int_eq(lt_mqtt_endpoints("a.example", ep, err, sizeof(err)), 1);
	ck_assert_str_eq(ep[0].host, "a.example");
	ck_assert_uint_eq(ep[0].port, 0);
	ck_assert_int_eq(lt_mqtt_endpoints(" a.example:1884 , 10.0.0.2,[::1]:1885, ::2", ep, err,
					   sizeof(err)),
			 4);
	ck_assert_str_eq(ep[0].host, "a.example");
	ck_assert_uint_eq(ep[0].port, 1884);
	ck_assert_str_eq(ep[1].host, "10.0.0.2");
	ck_assert_uint_eq(ep[1].port, 0);
	ck_assert_str_eq(ep[2].host, "::1");
	ck_assert_uint_eq(ep[2].port, 1885);
	ck_assert_str_eq(ep[3].host, "::2");
	ck_assert_uint_eq(ep[3].port, 0);
	ck_assert_int_eq(lt_mqtt_endpoints("a,,b", ep, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	ck_assert_int_eq(lt_mqtt_endpoints("a:0", ep, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "port"));
	ck_assert_int_eq(lt_mqtt_endpoints("a:", ep, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_endpoints("[::1", ep, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_endpoints("a b:1", ep, err, sizeof(err)), -EINVAL);
	/* Found by fuzz_mqtt_hosts (now fuzz_endpoints): a bracket outside [ADDRESS] is no host. */
	ck_assert_int_eq(lt_mqtt_endpoints("a.e::1]b.example:1884", ep, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_endpoints("[[::1]]", ep, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_endpoints("a\tb", ep, err, sizeof(err)), -EINVAL);
	for (int i = 0; i <= LT_MQTT_EP_MAX; i++)
		strcat(many, i ? ",h" : "h");
	ck_assert_int_eq(lt_mqtt_endpoints(many, ep, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than 16"));
}
END_TEST

static struct lt_dcc_stats *fo_stats;
static unsigned fo_want;

static int on_endpoint(void)
{
	return lt_mqtt_connected(cur) && lt_count_get(&fo_stats->endpoint) == fo_want;
}

START_TEST(mqtt_failover_moves_down_the_list_and_back_to_the_first)
{
	struct lt_dcc_stats st = { 0 };
	struct broker a, b, *both[2] = { &a, &b };
	char hosts[64], err[256] = "";
	struct lt_mqtt_conf c;
	struct lt_mqtt *m;
	uint16_t aport;

	broker_start(&a);
	broker_start(&b);
	/* The preferred broker is down at first: its port refuses. */
	aport = a.port;
	close(a.lfd);
	a.lfd = -1;
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%u, 127.0.0.1:%u", aport, b.port);
	lt_mqtt_conf_init(&c);
	ck_assert_int_eq(mopt(&c, "host", hosts), 0);
	ck_assert_int_eq(mopt(&c, "reconnect_min", "20ms"), 0);
	ck_assert_int_eq(mopt(&c, "reconnect_max", "40ms"), 0);
	m = lt_mqtt_new(&c, "unit-test", NULL, NULL, NULL, &st, err, sizeof(err));
	ck_assert_msg(m, "%s", err);
	lt_mqtt_conf_clear(&c);
	ck_assert_int_eq(lt_mqtt_start(m, err, sizeof(err)), 0);
	cur = m;
	fo_stats = &st;
	fo_want = 1;
	run_brokers(m, both, 2, 3000, on_endpoint);
	ck_assert(on_endpoint());
	ck_assert_int_eq(b.connects, 1);
	ck_assert_uint_eq(lt_count_get(&st.failovers), 0); /* the first connection is no move */
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/b", "on b", 4, 1, 0, 1), 0);
	run_brokers(m, both, 2, 1000, queue_empty);
	ck_assert_int_eq(b.npubs, 1);

	/* The preferred broker is back on its port: probed and taken back. */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
					  .sin_port = htons(aport) };
		int one = 1;

		a.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		setsockopt(a.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ck_assert_int_eq(bind(a.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(listen(a.lfd, 4), 0);
	}
	fo_want = 0;
	run_brokers(m, both, 2, 3000, on_endpoint);
	ck_assert(on_endpoint());
	ck_assert_int_ge(a.connects, 1);
	ck_assert_uint_eq(lt_count_get(&st.failovers), 1);
	ck_assert_int_eq(lt_mqtt_publish_n(m, "t/a", "on a", 4, 1, 0, 1), 0);
	run_brokers(m, both, 2, 1000, queue_empty);
	ck_assert_int_eq(a.npubs, 1);
	ck_assert_str_eq(a.pubs[0].topic, "t/a");

	/* The preferred one is lost: the next one takes over. */
	broker_stop(&a);
	a.lfd = -1;
	fo_want = 1;
	run_brokers(m, both, 2, 3000, on_endpoint);
	ck_assert(on_endpoint());
	ck_assert_uint_eq(lt_count_get(&st.failovers), 2);
	lt_mqtt_free(m);
	broker_stop(&b);
}
END_TEST

/*
 * lt_utf8_ok() (core/utf8.c) replaces mosquitto_validate_utf8() where
 * libmosquitto must not be mapped: both say the same of the edge cases and
 * of 200000 short random byte strings (xorshift, fixed seed), mostly of
 * multi-byte leads and continuation bytes. Each string is followed by a NUL
 * (libmosquitto looks at the byte after a truncated sequence).
 */
START_TEST(utf8_rule_is_libmosquittos)
{
	static const char *const cases[] = {
		"",
		"plain/topic",
		"caf\xc3\xa9",
		"\xc3",
		"\xc0\x80",
		"\xc1\xbf",
		"\xe0\x9f\xbf",
		"\xe0\xa0\x80",
		"\xed\xa0\x80",
		"\xef\xbf\xbe",
		"\xef\xbf\xbf",
		"\xef\xb7\x90",
		"\xf0\x8f\xbf\xbf",
		"\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbd",
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\x7f",
		"\xc2\x80",
		"\xc2\xa0",
		"tab\there",
		"\x80",
		"\xff",
	};
	static const unsigned char bytes[] = { 0x00, 0x01, 0x1f, 0x20, 0x41, 0x7f, 0x80, 0x8f,
					       0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
					       0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned char buf[9];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(lt_utf8_ok(cases[i], strlen(cases[i])) ==
				      (mosquitto_validate_utf8(cases[i], (int)strlen(cases[i])) ==
				       MOSQ_ERR_SUCCESS),
			      "case %zu", i);
	for (int n = 0; n < 200000; n++) {
		size_t len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = 1 + x % 8;
		for (size_t k = 0; k < len; k++)
			buf[k] = bytes[(x >> (8 + 5 * k)) % sizeof(bytes)];
		buf[len] = 0;
		ck_assert_msg(lt_utf8_ok((const char *)buf, len) ==
				      (mosquitto_validate_utf8((const char *)buf, (int)len) ==
				       MOSQ_ERR_SUCCESS),
			      "string %d", n);
	}
}
END_TEST

static Suite *mqtt_suite(void)
{
	Suite *s = suite_create("mqtt");
	TCase *tc = tcase_create("encoding");

	tcase_add_test(tc, mqtt_topic_templates_are_checked);
	tcase_add_test(tc, mqtt_topic_templates_expand_and_clean_names);
	tcase_add_test(tc, mqtt_json_batch_is_liota_format);
	tcase_add_test(tc, mqtt_json_escapes_names_and_parses_back);
	tcase_add_test(tc, mqtt_json_sample_refuses_nan_and_small_buffers);
	tcase_add_test(tc, mqtt_options_parse_check_and_chain_to_tls);
	tcase_add_test(tc, utf8_rule_is_libmosquittos);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, mqtt_qos1_kept_until_acked_and_resent_after_reconnect);
	tcase_add_test(tc, mqtt_queue_bound_refuses_whole_messages_while_down);
	tcase_add_test(tc, mqtt5_connect_announces_the_largest_packet_taken);
	tcase_add_test(tc, mqtt_session_taken_over_is_said_and_backed_off);
	tcase_add_test(tc, mqtt_incoming_flood_is_handed_on_within_a_budget);
	tcase_add_test(tc, mqtt_dcc_publishes_one_message_per_batch);
	tcase_add_test(tc, mqtt_dcc_auto_topic_is_edge_id);
	tcase_add_test(tc, mqtt_spooled_messages_leave_the_spool_only_when_acknowledged);
	tcase_add_test(tc, mqtt_host_lists_parse_and_refuse);
	tcase_add_test(tc, mqtt_failover_moves_down_the_list_and_back_to_the_first);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(mqtt_suite)
