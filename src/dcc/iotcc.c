/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IoTCC DCC: liota's protocol (src/dcc/iotcc_proto.h) over MQTT
 * (request and response topics) or WebSocket text frames.
 *
 * Registration is asynchronous. The daemon registers the edge system,
 * devices and metrics before the publisher starts; this only records them
 * and queues the requests, which the publisher thread then sends and
 * follows: edge create_or_find, then each device's create_or_find, then its
 * relationship to the edge, then one add_properties per metric with a unit.
 * A request without an answer within response_timeout, or refused, is sent
 * again (under a new transactionID) after a back-off of 1 s doubling to
 * 60 s. Samples of a device whose uuid is not known yet are held, encoded,
 * up to pending_samples, and released in order when it is.
 *
 * The uuids are kept in STATE_DIR/iotcc-NAME.json per (kind, name). After a
 * restart a known uuid is used at once (data flows without waiting) and
 * create_or_find is still sent, as liota did at every start: IoTCC finds
 * the resource by its id rather than making another, and an answer with a
 * different uuid replaces the saved one. An entity of the file that is not
 * registered in this run (a device removed from the configuration, found at
 * a reload or a restart) gets remove_resource_request, and leaves the file
 * when IoTCC confirms.
 *
 * Over MQTT, the transport's durable spool (spool = auto by default, see
 * transport/mqtt.h) keeps the add_stats messages only: they carry samples
 * and name their device by the uuid that the state file keeps across
 * restarts, so they stay valid however late they go. Registration
 * requests are not data: they are answered on this connection (their
 * transactionID is of this run), and are made again at every start, so a
 * spooled one would only be a stale duplicate; they wait in memory.
 *
 * The package iotcc loads the transport it is configured for, at check
 * (lt_package_use() of transport-mqtt or transport-ws), so that IoTCC over
 * WebSocket never maps libmosquitto, nor IoTCC over MQTT libwebsockets.
 * Both transports' keys are parsed before it knows which one it uses
 * (transport = may come last), by their configuration code compiled in
 * (mqtt_conf.c, ws_conf.c: no library of theirs), into the structs that
 * the transport's open then copies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "core/intree.h"
#include "dcc/dccs.h"
#include "dcc/iotcc_proto.h"
#include "transport/mqtt.h"
#include "transport/ws.h"
#include "util.h"

#define MS              1000000ll
#define RETRY_MIN_NS    (1000 * MS)
#define RETRY_MAX_NS    (60000 * MS)
#define NOTE_WINDOW_NS  (10000 * MS)
#define NOTE_PER_WINDOW 20

struct held {
	struct held *next;
	size_t len;
	unsigned samples;
	char msg[];
};

struct ent;

/*
 * A metric of a device, or (of_device) the device's own properties: either
 * way the owner of an add_properties request about the device, which the
 * request table keys by this address.
 */
struct met {
	struct ent *dev;
	char name[IOTCC_NAME_MAX + 1];
	char unit_name[IOTCC_VALUE_MAX + 1];
	char unit_prefix[32];
	bool has_unit;
	bool of_device;
};

/* An edge system or a device, registered in this run or only in the state file. */
struct ent {
	enum lt_entity_kind lkind;
	char kind[IOTCC_NAME_MAX + 1];
	char name[IOTCC_NAME_MAX + 1];
	char id[IOTCC_ID_MAX + 1];
	char uuid[IOTCC_ID_MAX + 1]; /* "" until known (saved or answered) */
	bool live;                   /* registered in this run (else: to be removed) */
	bool confirmed;              /* create_or_find answered in this run */
	bool related;                /* relationship answered (devices) */
	struct ent *parent;
	struct met **mets;
	size_t nmets;
	struct held *held, **held_tail;
	struct iotcc_prop *props; /* a device's properties that IoTCC takes (owned copies) */
	size_t nprops;
	struct met props_req; /* owner of their add_properties request */
};

struct iotcc {
	struct lt_dcc *dcc;
	bool ws_transport;
	struct lt_mqtt_conf mconf;
	struct lt_ws_conf wconf;
	char *request_topic, *response_topic; /* NULL: liota/EDGE-ID/... */
	uint64_t response_timeout_ns;
	uint64_t pending_max;

	/* the transport's package, loaded at check */
	const struct lt_mqtt_api *mq;
	const struct lt_ws_api *wsa;

	/* run time */
	struct lt_mqtt *mqtt;
	struct lt_ws *ws;
	char *req_topic, *resp_topic;
	struct lt_dcc_stats tstats; /* the transport's counters, merged into the DCC's */
	uint64_t proto_errors;
	uint64_t dropped; /* by the DCC itself; the transport's are in tstats */
	struct ent **ents;
	size_t nents;
	struct ent *edge;
	struct iotcc_table table;
	char state_path[4096];
	bool swept;
	uint64_t held_samples;
	size_t held_bytes;
	uint64_t full_drops;
	int64_t note_window;
	unsigned notes;
	uint64_t notes_hidden;
};

/* ---- helpers ------------------------------------------------------------------------ */

static int64_t now_ns(void)
{
	return (int64_t)lt_mono_ns();
}

/* Rate-limited log of what IoTCC sent that matched nothing: 20 per 10 s. */
static void note(struct iotcc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct iotcc *c, const char *fmt, ...)
{
	int64_t now = now_ns();
	char line[400];
	va_list ap;

	c->proto_errors++;
	if (now - c->note_window >= NOTE_WINDOW_NS) {
		if (c->notes_hidden)
			lt_dcc_log(c->dcc, LOG_WARNING, "%llu more unexpected messages dropped",
				   (unsigned long long)c->notes_hidden);
		c->note_window = now;
		c->notes = 0;
		c->notes_hidden = 0;
	}
	if (c->notes >= NOTE_PER_WINDOW) {
		c->notes_hidden++;
		return;
	}
	c->notes++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lt_dcc_log(c->dcc, LOG_WARNING, "%s", line);
}

static void sync_stats(struct iotcc *c)
{
	struct lt_dcc_stats *st = lt_dcc_stats(c->dcc), *t = &c->tstats;

	/* What the transport itself dropped (a message the broker would refuse). */
	c->dropped += lt_count_xchg(&t->dropped, 0);

#define COPY(f, extra) lt_count_set(&st->f, lt_count_get(&t->f) + (extra))
	COPY(sent, 0);
	COPY(bytes, 0);
	COPY(reconnects, 0);
	COPY(errors, c->proto_errors);
	COPY(queued, c->held_bytes);
	COPY(pending, c->held_samples);
	COPY(dropped, c->dropped);
	COPY(recovered, 0);
	COPY(spooled, 0);
	COPY(spool_batches, 0);
	COPY(spool_bytes, 0);
	COPY(spool_oldest_ns, 0);
	COPY(spool_evicted, 0);
	COPY(spool_write_errors, 0);
	COPY(endpoint, 0);
	COPY(failovers, 0);
#undef COPY
	lt_count_set(&st->state, lt_count_get(&t->state));
}

static void count_dropped(struct iotcc *c, uint64_t n)
{
	c->dropped += n;
	sync_stats(c);
}

static bool tx_up(const struct iotcc *c)
{
	return c->mqtt ? c->mq->connected(c->mqtt) : c->ws && c->wsa->connected(c->ws);
}

static int tx_send(struct iotcc *c, const char *msg, size_t len, unsigned samples, bool keep)
{
	if (c->mqtt) {
		if (!keep && !c->mq->connected(c->mqtt))
			return -ENOTCONN;
		return c->mq->publish(c->mqtt, c->req_topic, msg, len, -1, 0, samples);
	}
	if (c->ws)
		return c->wsa->send(c->ws, msg, len, samples, keep);
	return -ENOTCONN;
}

static size_t tx_queued(const struct iotcc *c)
{
	return c->mqtt ? c->mq->queued(c->mqtt) : c->ws ? c->wsa->queued(c->ws) : 0;
}

static struct iotcc_ref ref_of(const struct ent *e)
{
	return (struct iotcc_ref){ .kind = e->kind, .id = e->id, .name = e->name };
}

/* ---- the state file ------------------------------------------------------------------- */

static void save_state(struct iotcc *c)
{
	struct iotcc_saved *v = calloc(c->nents + 1, sizeof(*v));
	char err[512];
	size_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < c->nents; i++) {
		const struct ent *e = c->ents[i];

		if (!e->uuid[0])
			continue;
		snprintf(v[n].kind, sizeof(v[n].kind), "%s", e->kind);
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->name);
		snprintf(v[n].id, sizeof(v[n].id), "%s", e->id);
		snprintf(v[n].uuid, sizeof(v[n].uuid), "%s", e->uuid);
		n++;
	}
	if (iotcc_state_save(c->state_path, v, n, err, sizeof(err)) < 0)
		lt_dcc_log(c->dcc, LOG_ERR, "%s", err);
	free(v);
}

static struct ent *find_ent(struct iotcc *c, const char *kind, const char *name)
{
	for (size_t i = 0; i < c->nents; i++)
		if (!strcmp(c->ents[i]->kind, kind) && !strcmp(c->ents[i]->name, name))
			return c->ents[i];
	return NULL;
}

static struct ent *add_ent(struct iotcc *c, const char *kind, const char *name)
{
	struct ent **v = realloc(c->ents, (c->nents + 1) * sizeof(*v));
	struct ent *e = calloc(1, sizeof(*e));

	if (v)
		c->ents = v;
	if (!v || !e) {
		free(e);
		return NULL;
	}
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->held_tail = &e->held;
	c->ents[c->nents++] = e;
	return e;
}

static void drop_held(struct iotcc *c, struct ent *e, const char *why)
{
	uint64_t n = 0;

	while (e->held) {
		struct held *h = e->held;

		e->held = h->next;
		n += h->samples;
		c->held_bytes -= h->len;
		free(h);
	}
	e->held_tail = &e->held;
	if (n) {
		c->held_samples -= n;
		count_dropped(c, n);
		lt_dcc_log(c->dcc, LOG_WARNING, "%llu samples of %s dropped: %s",
			   (unsigned long long)n, e->name, why);
	}
}

static void free_props(struct ent *e)
{
	for (size_t i = 0; i < e->nprops; i++) {
		free((char *)e->props[i].key);
		free((char *)e->props[i].value);
	}
	free(e->props);
	e->props = NULL;
	e->nprops = 0;
}

static void free_ents(struct iotcc *c)
{
	for (size_t i = 0; i < c->nents; i++) {
		struct ent *e = c->ents[i];

		drop_held(c, e, "never registered");
		free_props(e);
		for (size_t k = 0; k < e->nmets; k++)
			free(e->mets[k]);
		free(e->mets);
		free(e);
	}
	free(c->ents);
	c->ents = NULL;
	c->nents = 0;
	c->edge = NULL;
}

/* ---- configuration --------------------------------------------------------------------- */

/* The package, from its init: its DCCs load their transport with it. */
static struct lt_package_ctx *iotcc_pkg;

static int iotcc_init(struct lt_dcc *dcc)
{
	struct iotcc *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->dcc = dcc;
	lt_mqtt_conf_init(&c->mconf);
	lt_ws_conf_init(&c->wconf);
	c->response_timeout_ns = 10000 * MS;
	c->pending_max = 10000;
	iotcc_table_init(&c->table);
	lt_dcc_set_priv(dcc, c);
	return 0;
}

static int set_topic(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!*value || strpbrk(value, "+#"))
		return lt_errf(err, errlen, -EINVAL, "%s must be a topic without wildcards", key);
	return lt_opts_strdup(field, value, err, errlen);
}

static const struct lt_opt_name iotcc_transports[] = {
	{ "mqtt", 0 },
	{ "websocket", 1 },
	{ NULL, 0 },
};

static const struct lt_opt iotcc_opts[] = {
	LT_OPT_ENUM("transport", struct iotcc, ws_transport, 0, iotcc_transports,
		    "mqtt or websocket"),
	LT_OPT_FUNC("request_topic", struct iotcc, request_topic, 0, set_topic,
		    "topic of the requests"),
	LT_OPT_FUNC("response_topic", struct iotcc, response_topic, 0, set_topic,
		    "topic of the responses"),
	LT_OPT_DURATION("response_timeout", struct iotcc, response_timeout_ns, 0, 10 * MS,
			UINT64_MAX, "wait for a registration's answer"),
	LT_OPT_UINT("pending_samples", struct iotcc, pending_max, 0, 0, 100000000,
		    "samples held while registrations are pending"),
	LT_OPT_END(),
};

static int iotcc_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
			size_t errlen)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	int r, rm, rw;

	r = lt_opts_set(iotcc_opts, c, key, value, err, errlen);
	if (r != -ENOENT)
		return r;
	/*
	 * Keys of either transport: the chosen one is known only at check
	 * time, so a key both take (queue_size, tls...) goes to both tables.
	 */
	rm = lt_opts_set(lt_mqtt_opts, &c->mconf, key, value, err, errlen);
	if (rm < 0 && rm != -ENOENT)
		return rm;
	rw = lt_opts_set(lt_ws_opts, &c->wconf, key, value, err, errlen);
	if (rw < 0 && rw != -ENOENT)
		return rw;
	return rm == 0 || rw == 0 ? 0 : -ENOENT;
}

/* Load the transport package @name (its API into c->mq or c->wsa). */
static int use_transport(struct iotcc *c, const char *name, char *err, size_t errlen)
{
	const void *api = NULL;
	int r;

	if (!iotcc_pkg)
		return lt_errf(err, errlen, -ENOENT, "the iotcc package is not loaded");
	r = lt_package_use(iotcc_pkg, name, &api, err, errlen);
	if (r < 0)
		return r;
	if (!api)
		return lt_errf(err, errlen, -ENOENT, "%s provides no API", name);
	if (!strcmp(name, LT_WS_PACKAGE))
		c->wsa = api;
	else
		c->mq = api;
	return 0;
}

static int iotcc_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct iotcc *c = lt_dcc_priv(dcc);

	if (c->ws_transport) {
		if (c->mconf.host) {
			snprintf(err, errlen,
				 "host is an MQTT option: transport = websocket takes url");
			return -EINVAL;
		}
		if (c->request_topic || c->response_topic) {
			snprintf(err, errlen, "request_topic and response_topic are MQTT options");
			return -EINVAL;
		}
		if (c->mconf.spool == SPOOL_ON) {
			snprintf(err, errlen, "spool = yes needs transport = mqtt");
			return -EINVAL;
		}
		if (lt_ws_conf_check(&c->wconf, err, errlen) < 0)
			return -EINVAL;
		return use_transport(c, LT_WS_PACKAGE, err, errlen);
	}
	if (c->wconf.url) {
		snprintf(err, errlen, "url is a WebSocket option: set transport = websocket");
		return -EINVAL;
	}
	if (lt_mqtt_check(&c->mconf, err, errlen) < 0)
		return -EINVAL;
	if (lt_mqtt_set_endpoints(&c->mconf, dcc) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return use_transport(c, LT_MQTT_PACKAGE, err, errlen);
}

/*
 * A live entity with the id of @e, not registered in this run: the same
 * edge after a rename (its id comes from the machine id), the same device
 * after a change of type (its id from its name). Removing @e would remove
 * that live entity from IoTCC.
 */
static struct ent *id_in_use(const struct iotcc *c, const struct ent *e)
{
	for (size_t i = 0; i < c->nents; i++)
		if (c->ents[i] != e && c->ents[i]->live && !strcmp(c->ents[i]->id, e->id))
			return c->ents[i];
	return NULL;
}

/* @e lives on under another name or kind: forgotten, never removed. */
static void renamed(struct iotcc *c, struct ent *e, const struct ent *live)
{
	lt_dcc_log(c->dcc, LOG_NOTICE,
		   "%s %s is now %s %s (same id %s): registering it as such, not removing it",
		   e->kind, e->name, live->kind, live->name, e->id);
	iotcc_table_del_owner(&c->table, e);
	e->uuid[0] = '\0';
	save_state(c);
}

/* ---- requests ---------------------------------------------------------------------------- */

static int64_t retry_delay(unsigned attempts)
{
	int64_t d = RETRY_MIN_NS;

	for (unsigned i = 1; i < attempts && d < RETRY_MAX_NS; i++)
		d *= 2;
	return d < RETRY_MAX_NS ? d : RETRY_MAX_NS;
}

static void want(struct iotcc *c, enum iotcc_type t, void *owner)
{
	if (!iotcc_table_has(&c->table, t, owner) && iotcc_table_add(&c->table, t, owner) < 0)
		lt_dcc_log(c->dcc, LOG_ERR, "out of memory for an IoTCC request");
}

/*
 * A device not registered in this run that IoTCC still has (a uuid): an old
 * edge is removed after its devices. Removed ones stay in the table with
 * their uuid cleared, so they must not count (else the edge waited forever).
 */
static bool stale_devices_left(const struct iotcc *c)
{
	for (size_t i = 0; i < c->nents; i++)
		if (!c->ents[i]->live && c->ents[i]->lkind == LT_ENTITY_DEVICE &&
		    c->ents[i]->uuid[0])
			return true;
	return false;
}

/* May @p go out now (what it needs is known)? */
static bool ready(const struct iotcc *c, const struct iotcc_pending *p)
{
	const struct ent *e = p->owner;
	const struct met *m = p->owner;

	switch (p->type) {
	case IOTCC_CREATE:
		return !e->parent || e->parent->uuid[0];
	case IOTCC_RELATE:
		return e->confirmed && e->parent && e->parent->uuid[0];
	case IOTCC_PROPS:
		return m->dev->related;
	case IOTCC_REMOVE:
		return e->lkind != LT_ENTITY_EDGE || !stale_devices_left(c);
	default:
		return false;
	}
}

static const char *owner_name(const struct iotcc_pending *p)
{
	return p->type == IOTCC_PROPS ? ((const struct met *)p->owner)->dev->name
				      : ((const struct ent *)p->owner)->name;
}

/* The entity a request is about (for a relationship: the child). */
static struct iotcc_ref req_ref(const struct iotcc_pending *p)
{
	return p->type == IOTCC_PROPS ? ref_of(((const struct met *)p->owner)->dev)
				      : ref_of(p->owner);
}

static char *build(struct iotcc *c, struct iotcc_pending *p, uint64_t tid)
{
	struct ent *e = p->owner;
	struct met *m = p->owner;
	struct iotcc_ref r, pr;

	switch (p->type) {
	case IOTCC_CREATE:
		r = ref_of(e);
		return iotcc_create_msg(tid, &r);
	case IOTCC_RELATE:
		r = ref_of(e);
		pr = ref_of(e->parent);
		return iotcc_relate_msg(tid, &pr, &r);
	case IOTCC_PROPS: {
		char k1[IOTCC_NAME_MAX + 16], k2[IOTCC_NAME_MAX + 16];
		struct iotcc_prop props[2] = { { k1, m->unit_name }, { k2, m->unit_prefix } };

		if (m->of_device) {
			r = ref_of(m->dev);
			return iotcc_props_msg(tid, &r, lt_real_ns() / 1000000u, m->dev->props,
					       m->dev->nprops);
		}
		snprintf(k1, sizeof(k1), "%s_unit", m->name);
		snprintf(k2, sizeof(k2), "%s_prefix", m->name);
		r = ref_of(m->dev);
		/* liota leaves _prefix out when there is none (IoTCC takes no empty value). */
		return iotcc_props_msg(tid, &r, lt_real_ns() / 1000000u, props,
				       m->unit_prefix[0] ? 2 : 1);
	}
	case IOTCC_REMOVE:
		r = ref_of(e);
		return iotcc_remove_msg(tid, &r);
	default:
		return NULL;
	}
}

/* Send every request that is due and ready, and time out those unanswered. */
static void run_requests(struct iotcc *c, int64_t now)
{
	bool up = tx_up(c);

	for (size_t i = 0; i < c->table.n; i++) {
		struct iotcc_pending *p = &c->table.v[i];

		if (p->tid && p->due_ns <= now) {
			int64_t d = retry_delay(p->attempts);

			lt_dcc_log(
				c->dcc, LOG_WARNING,
				"no answer to %s_request for %s (transaction %llu) within %.3g s: "
				"sending it again in %.3g s",
				iotcc_type_name(p->type), owner_name(p), (unsigned long long)p->tid,
				(double)c->response_timeout_ns / 1e9, (double)d / 1e9);
			iotcc_table_retry(&c->table, p, now + d);
		}
		if (!p->tid && p->type == IOTCC_REMOVE && id_in_use(c, p->owner)) {
			renamed(c, p->owner, id_in_use(c, p->owner)); /* p is gone */
			i--;
			continue;
		}
		if (!p->tid && up && p->due_ns <= now && ready(c, p)) {
			uint64_t tid = iotcc_table_sent(&c->table, p,
							now + (int64_t)c->response_timeout_ns);
			char *msg = build(c, p, tid);
			int r = msg ? tx_send(c, msg, strlen(msg), 0, false) : -ENOMEM;

			if (r < 0) {
				lt_dcc_log(c->dcc, LOG_DEBUG, "%s_request for %s not sent: %s",
					   iotcc_type_name(p->type), owner_name(p), strerror(-r));
				iotcc_table_retry(&c->table, p, now + RETRY_MIN_NS);
			} else {
				lt_dcc_log(c->dcc, LOG_DEBUG,
					   "sent %s_request for %s (transaction %llu)",
					   iotcc_type_name(p->type), owner_name(p),
					   (unsigned long long)tid);
			}
			free(msg);
		}
	}
}

/* The device has a uuid: what it held goes out, in order. */
static void release_held(struct iotcc *c, struct ent *e)
{
	while (e->held) {
		struct held *h = e->held;

		e->held = h->next;
		c->held_samples -= h->samples;
		c->held_bytes -= h->len;
		if (tx_send(c, h->msg, h->len, h->samples, true) < 0) {
			count_dropped(c, h->samples);
			lt_dcc_log(c->dcc, LOG_WARNING, "queue full: %u held samples of %s dropped",
				   h->samples, e->name);
		}
		free(h);
	}
	e->held_tail = &e->held;
}

static void answered(struct iotcc *c, struct iotcc_pending *p, const struct iotcc_resp *r)
{
	struct ent *e = p->owner;
	struct met *m = p->owner;
	enum iotcc_type type = p->type;

	if (!r->ok) {
		int64_t d = retry_delay(p->attempts);

		lt_dcc_log(c->dcc, LOG_WARNING,
			   "IoTCC refused %s_request for %s (%s): again in %.3g s",
			   iotcc_type_name(type), owner_name(p),
			   r->result[0] ? r->result : "no result", (double)d / 1e9);
		iotcc_table_retry(&c->table, p, now_ns() + d);
		return;
	}
	iotcc_table_del(&c->table, p); /* p is gone now */
	switch (type) {
	case IOTCC_CREATE: {
		/* The saved uuid confirmed (each restart): nothing to write, no fsync. */
		bool changed = strcmp(e->uuid, r->uuid) != 0;

		if (e->uuid[0] && changed)
			lt_dcc_log(c->dcc, LOG_NOTICE, "IoTCC gave %s a new uuid %s (was %s)",
				   e->name, r->uuid, e->uuid);
		else if (!e->uuid[0])
			lt_dcc_log(c->dcc, LOG_INFO, "registered %s %s as %s", e->kind, e->name,
				   r->uuid);
		snprintf(e->uuid, sizeof(e->uuid), "%s", r->uuid);
		e->confirmed = true;
		if (changed)
			save_state(c);
		release_held(c, e);
		if (e->parent)
			want(c, IOTCC_RELATE, e);
		break;
	}
	case IOTCC_RELATE:
		e->related = true;
		if (e->nprops)
			want(c, IOTCC_PROPS, &e->props_req);
		for (size_t i = 0; i < e->nmets; i++)
			if (e->mets[i]->has_unit)
				want(c, IOTCC_PROPS, e->mets[i]);
		break;
	case IOTCC_PROPS:
		if (m->of_device)
			lt_dcc_log(c->dcc, LOG_DEBUG, "properties of %s recorded", m->dev->name);
		else
			lt_dcc_log(c->dcc, LOG_DEBUG, "unit of %s.%s recorded", m->dev->name,
				   m->name);
		break;
	case IOTCC_REMOVE:
		lt_dcc_log(c->dcc, LOG_NOTICE, "removed %s %s (%s) from IoTCC", e->kind, e->name,
			   e->uuid);
		e->uuid[0] = '\0';
		save_state(c);
		break;
	default:
		break;
	}
}

/* ---- transport events -------------------------------------------------------------------- */

static void got_message(struct iotcc *c, const char *msg, size_t len)
{
	struct iotcc_resp r;
	struct iotcc_pending *p;
	struct iotcc_ref ent;
	char err[256];
	int ret;

	if (!msg) {
		note(c, "dropped a message of %zu bytes from IoTCC: more than %d", len,
		     IOTCC_MSG_MAX);
		return;
	}
	ret = iotcc_parse(msg, len, &r, err, sizeof(err));
	if (ret == -ENOMSG) {
		note(c, "dropped a message of unknown %s from IoTCC", err);
		return;
	}
	if (ret < 0) {
		note(c, "dropped a malformed message from IoTCC: %s", err);
		return;
	}
	p = iotcc_table_find(&c->table, r.tid);
	if (!p) {
		note(c, "dropped %s %s_response (transaction %llu)",
		     iotcc_table_was_late(&c->table, r.tid) ? "a late" : "an unexpected",
		     iotcc_type_name(r.type), (unsigned long long)r.tid);
		return;
	}
	/*
	 * Only the requests' readers know their ids; still, an answer must be
	 * about what was asked: another type or entity is forged or confused.
	 */
	ent = req_ref(p);
	if (!iotcc_resp_matches(&r, p->type, &ent, err, sizeof(err))) {
		note(c, "dropped a response to transaction %llu (%s_request for %s): %s",
		     (unsigned long long)r.tid, iotcc_type_name(p->type), owner_name(p), err);
		return;
	}
	answered(c, p, &r);
	run_requests(c, now_ns());
}

static void on_connect(void *ctx)
{
	struct iotcc *c = ctx;

	run_requests(c, now_ns());
}

static void on_disconnect(void *ctx, const char *reason)
{
	struct iotcc *c = ctx;

	/* Requests in flight are lost with a WebSocket; with MQTT a resend is harmless. */
	for (size_t i = 0; i < c->table.n; i++)
		if (c->table.v[i].tid)
			iotcc_table_retry(&c->table, &c->table.v[i], 0);
}

static void on_mqtt_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct iotcc *c = ctx;

	if (len > IOTCC_MSG_MAX)
		got_message(c, NULL, len);
	else
		got_message(c, payload, len);
}

static void on_ws_message(void *ctx, const char *msg, size_t len)
{
	got_message(ctx, msg, len);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void stop_transport(struct iotcc *c)
{
	if (c->mqtt)
		c->mq->free(c->mqtt);
	if (c->ws)
		c->wsa->free(c->ws);
	c->mqtt = NULL;
	c->ws = NULL;
}

static void reset(struct iotcc *c)
{
	stop_transport(c);
	free_ents(c);
	iotcc_table_free(&c->table);
	free(c->req_topic);
	free(c->resp_topic);
	c->req_topic = c->resp_topic = NULL;
	c->swept = false;
	memset(&c->tstats, 0, sizeof(c->tstats));
	c->proto_errors = 0;
	c->dropped = 0;
}

static int iotcc_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	struct iotcc_saved *saved;
	char name[300];
	size_t n;
	int r;

	reset(c);
	snprintf(name, sizeof(name), "iotcc-%s.json", lt_dcc_name(dcc));
	r = lt_state_path(name, c->state_path, sizeof(c->state_path), err, errlen);
	if (r < 0)
		return r;
	r = iotcc_state_load(c->state_path, &saved, &n, err, errlen);
	if (r < 0) {
		/* Not fatal: registering again is what a first start does. */
		lt_dcc_log(dcc, LOG_WARNING, "ignoring the saved registrations: %s", err);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct ent *e = add_ent(c, saved[i].kind, saved[i].name);

		if (!e) {
			free(saved);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		e->lkind =
			strcmp(saved[i].kind, IOTCC_KIND_EDGE) ? LT_ENTITY_DEVICE : LT_ENTITY_EDGE;
		snprintf(e->id, sizeof(e->id), "%s", saved[i].id);
		snprintf(e->uuid, sizeof(e->uuid), "%s", saved[i].uuid);
	}
	free(saved);
	return 0;
}

/* The edge is known: topics, then the transport, which starts connecting. */
static int start_transport(struct iotcc *c, const char *edge_id)
{
	char err[512];
	int r;

	if (c->ws_transport ? !c->wsa : !c->mq) {
		lt_dcc_log(c->dcc, LOG_ERR, "cannot start: the transport is not loaded (no check)");
		return -EINVAL;
	}
	if (c->ws_transport) {
		static const struct lt_ws_handlers wh = { on_connect, on_ws_message,
							  on_disconnect };

		c->ws = c->wsa->open(&c->wconf, &wh, c, c->dcc, &c->tstats, err, sizeof(err));
		r = c->ws ? c->wsa->start(c->ws, err, sizeof(err)) : -EINVAL;
	} else {
		static const struct lt_mqtt_handlers mh = { on_connect, on_mqtt_message,
							    on_disconnect };

		c->req_topic = c->request_topic ? xstrdup(c->request_topic)
						: xasprintf("liota/%s/request", edge_id);
		c->resp_topic = c->response_topic ? xstrdup(c->response_topic)
						  : xasprintf("liota/%s/response", edge_id);
		/*
		 * The broker sends nothing larger than a response (its topic,
		 * the MQTT header and properties in 1 KiB): a bigger message is
		 * dropped by the broker, never read into our memory.
		 */
		c->mconf.max_incoming = (uint32_t)(IOTCC_MSG_MAX + strlen(c->resp_topic) + 1024);
		c->mqtt = c->mq->open(&c->mconf, edge_id, &mh, c, c->dcc, &c->tstats, err,
				      sizeof(err));
		r = c->mqtt ? c->mq->subscribe(c->mqtt, c->resp_topic, c->mconf.qos) : -EINVAL;
		if (!r)
			r = c->mq->start(c->mqtt, err, sizeof(err));
	}
	if (r < 0) {
		lt_dcc_log(c->dcc, LOG_ERR, "cannot start the transport: %s", err);
		stop_transport(c);
		return r;
	}
	return 0;
}

static int check_name(struct iotcc *c, const char *what, const char *s)
{
	char err[300];

	if (iotcc_check_text(what, s, IOTCC_NAME_MAX, err, sizeof(err)) < 0) {
		lt_dcc_log(c->dcc, LOG_ERR, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * Copy the properties of a device being registered (again: they may have
 * changed), for its add_properties once the relationship is answered.
 * IoTCC takes only A-Z a-z 0-9 space . _ - in property values, at most 255
 * of them and none empty (see iotcc_check_text()), where a device property
 * may hold any UTF-8 ("/devices/pci0000:00/..."). Such a property is left
 * out with a notice rather than rewritten: a serial number or path with its
 * characters replaced would look right on IoTCC and be wrong, and one that
 * is missing is seen to be. `liotactl status` still shows it.
 */
static int set_props(struct iotcc *c, struct ent *e, const struct lt_entity *ent)
{
	char err[400];

	/* An add_properties of the old set may wait: the relationship queues the new one. */
	iotcc_table_del_owner(&c->table, &e->props_req);
	free_props(e);
	e->props_req.dev = e;
	e->props_req.of_device = true;
	if (!ent->nprops)
		return 0;
	e->props = calloc(ent->nprops, sizeof(*e->props));
	if (!e->props)
		return -ENOMEM;
	for (unsigned i = 0; i < ent->nprops; i++) {
		const struct lt_property *p = &ent->props[i];

		if (iotcc_check_text("property name", p->key, IOTCC_KEY_MAX, err, sizeof(err)) <
			    0 ||
		    iotcc_check_text("its value", p->value, IOTCC_VALUE_MAX, err, sizeof(err)) <
			    0) {
			lt_dcc_log(c->dcc, LOG_NOTICE, "property %s of %s is not sent: %s", p->key,
				   ent->name, err);
			continue;
		}
		e->props[e->nprops].key = xstrdup(p->key);
		e->props[e->nprops++].value = xstrdup(p->value);
	}
	return 0;
}

/* A saved uuid is reused only for the same entity: same kind, name and id. */
static struct ent *live_ent(struct iotcc *c, enum lt_entity_kind lk, const char *kind,
			    const char *name, const char *id)
{
	struct ent *e = find_ent(c, kind, name);

	if (e && e->live)
		return e; /* registered twice: the daemon does not do that */
	if (e && strcmp(e->id, id))
		e->uuid[0] = '\0';
	if (!e)
		e = add_ent(c, kind, name);
	if (!e)
		return NULL;
	e->lkind = lk;
	e->live = true;
	snprintf(e->id, sizeof(e->id), "%s", id);
	return e;
}

static int iotcc_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			  const struct lt_reg *parent, struct lt_reg *reg)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	struct ent *e, *dev;
	struct met *m, **mv;
	char id[37], err[300];
	int r;

	switch (ent->kind) {
	case LT_ENTITY_EDGE:
		if (check_name(c, "edge name", ent->name) || !ent->id)
			return -EINVAL;
		e = live_ent(c, LT_ENTITY_EDGE, IOTCC_KIND_EDGE, ent->name, ent->id);
		if (!e)
			return -ENOMEM;
		c->edge = e;
		if (!c->mqtt && !c->ws) {
			r = start_transport(c, ent->id);
			if (r < 0)
				return r;
		}
		break;
	case LT_ENTITY_DEVICE:
		if (!c->edge || !parent || parent->priv != c->edge)
			return -EINVAL;
		if (check_name(c, "device type", ent->type) ||
		    check_name(c, "device name", ent->name))
			return -EINVAL;
		r = iotcc_local_id(c->edge->id, ent->name, id);
		if (r < 0)
			return r;
		e = live_ent(c, LT_ENTITY_DEVICE, ent->type, ent->name, id);
		if (!e || set_props(c, e, ent) < 0)
			return -ENOMEM;
		e->parent = c->edge;
		break;
	case LT_ENTITY_METRIC:
		dev = parent ? parent->priv : NULL;
		if (!dev || dev->lkind != LT_ENTITY_DEVICE)
			return -EINVAL;
		if (check_name(c, "metric name", ent->name))
			return -EINVAL;
		m = calloc(1, sizeof(*m));
		mv = realloc(dev->mets, (dev->nmets + 1) * sizeof(*mv));
		if (mv)
			dev->mets = mv;
		if (!m || !mv) {
			free(m);
			return -ENOMEM;
		}
		m->dev = dev;
		snprintf(m->name, sizeof(m->name), "%s", ent->name);
		/* The unit's SI prefix and name as udunits2 gives them (config.c). */
		if (ent->unit_name && *ent->unit_name) {
			snprintf(m->unit_name, sizeof(m->unit_name), "%s", ent->unit_name);
			snprintf(m->unit_prefix, sizeof(m->unit_prefix), "%s",
				 ent->unit_prefix ? ent->unit_prefix : "");
			snprintf(err, sizeof(err), "%s_unit", ent->name);
			m->has_unit = iotcc_check_text("key", err, IOTCC_KEY_MAX, err,
						       sizeof(err)) == 0 &&
				      iotcc_check_text("unit", ent->unit_name, IOTCC_VALUE_MAX, err,
						       sizeof(err)) == 0;
			if (!m->has_unit)
				lt_dcc_log(dcc, LOG_NOTICE,
					   "the unit '%s' of %s.%s is not sent: IoTCC takes only "
					   "A-Z a-z 0-9 space . _ - in property values",
					   ent->unit, dev->name, ent->name);
		}
		dev->mets[dev->nmets++] = m;
		reg->id = xstrdup(ent->name);
		reg->priv = m;
		return 0;
	default:
		return -EINVAL;
	}
	want(c, IOTCC_CREATE, e);
	reg->id = xstrdup(e->id);
	reg->priv = e;
	return 0;
}

static void iotcc_unregister(struct lt_dcc *dcc, struct lt_reg *reg)
{
	/* Entities live until stop: requests and held samples refer to them. */
	reg->priv = NULL;
}

/*
 * A device gone from the configuration while the DCC runs (a reload): it
 * is no longer live, and IoTCC removes it, as sweep() does at start for
 * one gone while liotad did not run. Metrics are stat keys of their device,
 * not resources: nothing to remove.
 */
static void iotcc_remove(struct lt_dcc *dcc, struct lt_reg *reg)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	struct ent *e = reg->priv;

	if (!e || e == c->edge)
		return;
	for (size_t i = 0; i < c->nents; i++) {
		if (c->ents[i] != e || e->lkind != LT_ENTITY_DEVICE)
			continue;
		e->live = false;
		iotcc_table_del_owner(&c->table, &e->props_req);
		if (e->uuid[0]) {
			lt_dcc_log(dcc, LOG_NOTICE,
				   "%s %s is no longer configured for this DCC: removing it from "
				   "IoTCC",
				   e->kind, e->name);
			want(c, IOTCC_REMOVE, e);
		}
		return;
	}
}

/* Entities of the state file that this run did not register go away. */
static void sweep(struct iotcc *c)
{
	c->swept = true;
	for (size_t i = 0; i < c->nents; i++) {
		struct ent *e = c->ents[i];
		const struct ent *live;

		if (!e->live && e->uuid[0] && (live = id_in_use(c, e))) {
			renamed(c, e, live);
		} else if (!e->live && e->uuid[0]) {
			lt_dcc_log(c->dcc, LOG_NOTICE,
				   "%s %s is no longer configured for this DCC: removing it from "
				   "IoTCC",
				   e->kind, e->name);
			want(c, IOTCC_REMOVE, e);
		}
	}
}

static int iotcc_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			 size_t n)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);
	const struct met *m = reg->priv;
	struct ent *dev;
	struct iotcc_ref parent;
	size_t at = 0, taken = 0;

	lt_count(&st->samples_in, n);
	if (!m) {
		count_dropped(c, n);
		return 0;
	}
	dev = m->dev;
	parent = ref_of(dev);
	while (at < n) {
		size_t used, bad, len;
		char *msg = iotcc_stats_msg(&parent, m->name, s + at, n - at, &used, &bad, &len);
		unsigned k;

		if (!used) { /* out of memory */
			count_dropped(c, n - at);
			break;
		}
		at += used;
		k = (unsigned)(used - bad);
		if (bad) {
			count_dropped(c, bad);
			lt_dcc_log(dcc, LOG_DEBUG, "dropped %zu non-finite samples of %s.%s", bad,
				   dev->name, m->name);
		}
		if (!msg)
			continue;
		if (!dev->uuid[0]) {
			struct held *h;

			if (c->held_samples + k > c->pending_max ||
			    !(h = malloc(sizeof(*h) + len))) {
				count_dropped(c, k);
				lt_dcc_log(dcc, c->full_drops ? LOG_DEBUG : LOG_WARNING,
					   "%s is not registered yet and %llu samples wait already "
					   "(pending_samples): dropped %u samples of %s",
					   dev->name, (unsigned long long)c->held_samples, k,
					   m->name);
				c->full_drops += k;
				free(msg);
				continue;
			}
			h->next = NULL;
			h->len = len;
			h->samples = k;
			memcpy(h->msg, msg, len);
			*dev->held_tail = h;
			dev->held_tail = &h->next;
			c->held_samples += k;
			c->held_bytes += len;
			taken += k;
		} else if (tx_send(c, msg, len, k, true) < 0) {
			count_dropped(c, k);
			lt_dcc_log(dcc, c->full_drops ? LOG_DEBUG : LOG_WARNING,
				   "queue full: dropped %u samples of %s.%s", k, dev->name,
				   m->name);
			c->full_drops += k;
		} else {
			if (c->full_drops) {
				lt_dcc_log(dcc, LOG_INFO,
					   "samples are queued again, %llu dropped meanwhile",
					   (unsigned long long)c->full_drops);
				c->full_drops = 0;
			}
			taken += k;
		}
		free(msg);
	}
	sync_stats(c); /* pending now, so that samples_in = sent + dropped + pending */
	return (int)taken;
}

static void iotcc_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	bool up;

	pfd->fd = -1;
	pfd->events = pfd->revents = 0;
	if (!c->swept)
		sweep(c);
	if (c->mqtt)
		c->mq->poll(c->mqtt, pfd, deadline_ns);
	else if (c->ws)
		c->wsa->poll(c->ws, pfd, deadline_ns);
	up = tx_up(c);
	for (size_t i = 0; i < c->table.n; i++) {
		const struct iotcc_pending *p = &c->table.v[i];

		if ((p->tid || (up && ready(c, p))) && p->due_ns < *deadline_ns)
			*deadline_ns = p->due_ns;
	}
	sync_stats(c);
}

static void iotcc_dispatch(struct lt_dcc *dcc, short revents, int64_t now)
{
	struct iotcc *c = lt_dcc_priv(dcc);

	if (c->mqtt)
		c->mq->dispatch(c->mqtt, revents, now);
	else if (c->ws)
		c->wsa->dispatch(c->ws, revents, now);
	run_requests(c, now_ns());
	sync_stats(c);
}

/*
 * Stopping: deliver what is queued, and give registrations in progress the
 * same time, so that held samples can still go.
 */
static int iotcc_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct iotcc *c = lt_dcc_priv(dcc);
	bool spool = c->mqtt && c->mq->spooling(c->mqtt);
	int64_t end = deadline_ns;

	if (!c->mqtt && !c->ws)
		return c->held_samples ? -ETIMEDOUT : 0;
	/*
	 * With the spool, the transport delivers its queue and keeps the rest
	 * (lt_mqtt_flush()); here only the held samples get half the time.
	 */
	if (spool)
		end = now_ns() + (deadline_ns - now_ns()) / 2;
	while (spool ? c->held_samples != 0 : tx_queued(c) || c->held_samples) {
		int64_t now = now_ns(), dl = end;
		struct pollfd pfd;
		struct timespec ts;

		if (now >= end) {
			if (spool)
				break;
			sync_stats(c);
			return -ETIMEDOUT;
		}
		iotcc_poll(dcc, &pfd, &dl);
		ts = lt_ns_ts((uint64_t)(dl > now ? dl - now : 0));
		ppoll(&pfd, pfd.fd >= 0 ? 1 : 0, &ts, NULL);
		iotcc_dispatch(dcc, pfd.fd >= 0 ? pfd.revents : 0, now_ns());
	}
	if (spool) {
		int r = c->mq->flush(c->mqtt, deadline_ns);

		sync_stats(c);
		return r;
	}
	sync_stats(c);
	return 0;
}

static void iotcc_stop(struct lt_dcc *dcc)
{
	struct iotcc *c = lt_dcc_priv(dcc);

	for (size_t i = 0; i < c->nents; i++)
		drop_held(c, c->ents[i], "the device was not registered before the stop");
	/* After the transport, which counts what its queue still held as dropped. */
	stop_transport(c);
	sync_stats(c);
}

static void iotcc_free(struct lt_dcc *dcc)
{
	struct iotcc *c = lt_dcc_priv(dcc);

	if (!c)
		return;
	reset(c);
	lt_mqtt_conf_clear(&c->mconf);
	lt_ws_conf_clear(&c->wconf);
	free(c->request_topic);
	free(c->response_topic);
	free(c);
	lt_dcc_set_priv(dcc, NULL);
}

const struct lt_dcc_driver lt_dcc_iotcc = {
	.name = "iotcc",
	.init = iotcc_init,
	.option = iotcc_option,
	.check = iotcc_check,
	.start = iotcc_start,
	.register_entity = iotcc_register,
	.unregister = iotcc_unregister,
	.remove = iotcc_remove,
	.publish = iotcc_publish,
	.poll = iotcc_poll,
	.dispatch = iotcc_dispatch,
	.flush = iotcc_flush,
	.stop = iotcc_stop,
	.free = iotcc_free,
};

static int iotcc_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	iotcc_pkg = ctx;
	return lt_package_add_dcc_driver(ctx, &lt_dcc_iotcc, err, errlen);
}

LT_INTREE_PACKAGE(iotcc, .name = "iotcc", .version = PACKAGE_VERSION, .init = iotcc_package_init);
