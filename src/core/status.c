/* SPDX-License-Identifier: BSD-2-Clause */
#include "status.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int status_out_room(struct status_out *o, size_t n)
{
	size_t cap = o->cap;
	char *b;

	if (o->cap - o->len >= n)
		return 0;
	while (cap - o->len < n)
		cap = cap ? 2 * cap : 4096;
	b = realloc(o->buf, cap);
	if (!b)
		return -ENOMEM;
	o->buf = b;
	o->cap = cap;
	return 0;
}

static const char *const dcc_state_names[] = { "idle", "connecting", "up", "backoff" };

/*
 * A metric, the piece a large status has thousands of, is written here
 * directly rather than built with jansson and dumped: the same bytes as
 * json_dumps(JSON_COMPACT) (integers as json_int_t, reals as jansson's
 * "%.17g" with ".0" added and the exponent's "+" and leading zeros dropped,
 * strings escaped as jansson does) at a fraction of the cost.
 */
static char *put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define PUT_LIT(p, s) put_mem(p, s, sizeof(s) - 1)

static char *put_int(char *p, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	char t[20];
	int n = 0;

	if (v < 0)
		*p++ = '-';
	do
		t[n++] = (char)('0' + u % 10);
	while (u /= 10);
	while (n)
		*p++ = t[--n];
	return p;
}

/* At most REAL_MAX bytes: jansson's jsonp_dtostr(). */
#define REAL_MAX 32
static char *put_real(char *p, double v)
{
	int n = snprintf(p, REAL_MAX, "%.17g", v);
	char *e;

	if (n < 0 || n >= REAL_MAX - 2)
		return PUT_LIT(p, "null"); /* cannot be: 24 bytes at most */
	if (!memchr(p, '.', (size_t)n) && !memchr(p, 'e', (size_t)n)) {
		memcpy(p + n, ".0", 2);
		n += 2;
	}
	e = memchr(p, 'e', (size_t)n);
	if (e) {
		char *start = e + 1 + (e[1] == '-'), *end = e + 2;

		while (end < p + n && *end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)(p + n - end));
			n -= (int)(end - start);
		}
	}
	return p + n;
}

/* Worst case bytes of put_str(): every byte as \u00XX. */
#define STR_MAX(len) (6 * (len) + 2)
static char *put_str(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c >= 0x20) {
			*p++ = (char)c;
		} else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
			*p++ = '\\';
			*p++ = "btnvfr"[c - '\b']; /* \b \t \n (\v unused) \f \r */
		} else {
			p = PUT_LIT(p, "\\u00");
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p++ = '"';
	return p;
}

/* What jansson takes as a string (json_string()): else the metric is left out, as it was. */
static bool str_ok(const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c >= 0x80)
			return lt_utf8_ok(s, strlen(s));
	return true;
}

/*
 * One metric. The "filter" object, only for a metric with filters (scripts
 * test its presence), says what they passed and dropped, by stage;
 * window_sent is within passed (samples the filters refused, sent by the
 * window). 0: written; 1: left out (a name that is not UTF-8); -ENOMEM.
 */
static int put_metric(struct status_out *o, bool sep, const struct lt_metric *m)
{
	uint64_t bits = atomic_load_explicit(&m->last_bits, memory_order_relaxed);
	uint64_t ts = atomic_load_explicit(&m->last_ts, memory_order_relaxed);
	const char *unit = m->unit ? m->unit : "";
	const char *kind = m->filter ? filter_kind_name(m->filter) : NULL;
	double last;
	char *p;
	int r;

	if (!str_ok(m->name) || !str_ok(unit))
		return 1;
	r = status_out_room(o, 1024 + STR_MAX(strlen(m->name)) + STR_MAX(strlen(unit)) +
				       (kind ? STR_MAX(strlen(kind)) : 0));
	if (r < 0)
		return r;
	memcpy(&last, &bits, sizeof(last));
	p = o->buf + o->len;
	if (sep)
		*p++ = ',';
	p = put_int(PUT_LIT(p, "{\"id\":"), (int)m->id);
	p = put_str(PUT_LIT(p, ",\"name\":"), m->name);
	p = put_str(PUT_LIT(p, ",\"unit\":"), unit);
	p = put_real(PUT_LIT(p, ",\"interval_s\":"), (double)m->interval_ns / 1e9);
	p = put_int(PUT_LIT(p, ",\"aggregation\":"), (int)m->aggregation);
	p = put_int(PUT_LIT(p, ",\"samples\":"), (json_int_t)atomic_load(&m->samples));
	p = put_int(PUT_LIT(p, ",\"errors\":"), (json_int_t)atomic_load(&m->errors));
	p = put_int(PUT_LIT(p, ",\"late\":"), (json_int_t)atomic_load(&m->late));
	p = PUT_LIT(p, ",\"last_value\":");
	/* jansson has no real for NaN or infinities: null (the metric was left out). */
	p = ts && isfinite(last) ? put_real(p, last) : PUT_LIT(p, "null");
	p = PUT_LIT(p, ",\"last_ts_ns\":");
	p = ts ? put_int(p, (json_int_t)ts) : PUT_LIT(p, "null");
	if (m->filter) {
		const _Atomic uint64_t *c = m->filter->counts;
		uint64_t n[FILTER_VERDICTS];

		for (int v = 0; v < FILTER_VERDICTS; v++)
			n[v] = atomic_load_explicit(&c[v], memory_order_relaxed);
		p = PUT_LIT(p, ",\"filter\":{\"kind\":");
		/* Filter kinds are short fixed words: within the room above. */
		p = kind ? put_str(p, kind) : PUT_LIT(p, "null");
		p = put_int(PUT_LIT(p, ",\"passed\":"),
			    (json_int_t)(n[FILTER_PASS] + n[FILTER_WINDOW]));
		p = put_int(PUT_LIT(p, ",\"dropped\":"), (json_int_t)model_metric_kept_back(m));
		p = put_int(PUT_LIT(p, ",\"window_sent\":"), (json_int_t)n[FILTER_WINDOW]);
		p = put_int(PUT_LIT(p, ",\"dropped_range\":"), (json_int_t)n[FILTER_DROP_RANGE]);
		p = put_int(PUT_LIT(p, ",\"dropped_deadband\":"),
			    (json_int_t)n[FILTER_DROP_DEADBAND]);
		p = put_int(PUT_LIT(p, ",\"dropped_min_gap\":"), (json_int_t)n[FILTER_DROP_GAP]);
		*p++ = '}';
	}
	*p++ = '}';
	o->len = (size_t)(p - o->buf);
	return 0;
}

static const char *device_state_name(int st)
{
	switch (st) {
	case LT_DEVICE_RUNNING:
		return "running";
	case LT_DEVICE_OPENING:
		return "opening";
	case LT_DEVICE_FAILED:
		return "failed";
	default:
		return "stopped";
	}
}

/* The durable spool of a DCC that has one; null otherwise. */
static json_t *spool_json(const struct lt_dcc_stats *s)
{
	uint64_t oldest = lt_count_get(&s->spool_oldest_ns), now = lt_real_ns();
	uint64_t recovered = lt_count_get(&s->recovered), bytes = lt_count_get(&s->spool_bytes);
	uint64_t spooled = lt_count_get(&s->spooled), evicted = lt_count_get(&s->spool_evicted);
	uint64_t werr = lt_count_get(&s->spool_write_errors);

	if (!recovered && !bytes && !spooled && !evicted && !werr)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "samples", (json_int_t)spooled,
			 "batches", (json_int_t)lt_count_get(&s->spool_batches), "bytes",
			 (json_int_t)bytes, "recovered", (json_int_t)recovered, "evicted",
			 (json_int_t)evicted, "write_errors", (json_int_t)werr, "oldest_age_s",
			 oldest ? json_real(now > oldest ? (double)(now - oldest) / 1e9 : 0)
				: json_null());
}

/* The endpoint in use, when the DCC named its endpoints; null otherwise. */
static json_t *endpoint_json(const struct lt_dcc *d)
{
	uint32_t i = lt_count_get(&d->stats.endpoint);

	return i < d->nendpoints ? json_string(d->endpoints[i]) : json_null();
}

static json_t *dcc_json(const struct lt_dcc *d)
{
	const struct lt_dcc_stats *s = &d->stats;
	int st = lt_count_get(&s->state);

	return json_pack(
		"{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I}",
		"name", d->name, "type", d->drv->name, "state",
		st >= 0 && st < 4 ? dcc_state_names[st] : "unknown", "samples_in",
		(json_int_t)lt_count_get(&s->samples_in), "sent",
		(json_int_t)lt_count_get(&s->sent), "dropped",
		(json_int_t)lt_count_get(&s->dropped), "pending",
		(json_int_t)lt_count_get(&s->pending), "bytes", (json_int_t)lt_count_get(&s->bytes),
		"reconnects", (json_int_t)lt_count_get(&s->reconnects), "errors",
		(json_int_t)lt_count_get(&s->errors), "queued_bytes",
		(json_int_t)lt_count_get(&s->queued), "resent",
		(json_int_t)lt_count_get(&s->resent), "spool", spool_json(s), "endpoint",
		endpoint_json(d), "failovers", (json_int_t)lt_count_get(&s->failovers));
}

/* The document up to the first lane: the head, its "lanes" array left open. */
static json_t *head_json(const struct control_ctx *ctx)
{
	const struct daemon *d = ctx->daemon;
	const struct lt_model *m = d->model;
	const struct lt_ring_hdr *h = lt_ring_hdr(d->ring);
	json_t *files = json_array();

	for (unsigned i = 0; i < m->nfiles; i++)
		json_array_append_new(files, json_string(m->files[i]));
	return json_pack("{s:{s:s, s:s}, s:I, s:f, s:I, s:o, s:{s:I, s:I, s:I, s:[]}}", "edge",
			 "name", m->edge.name, "id", m->edge.id, "pid", (json_int_t)getpid(),
			 "uptime_s", (double)(lt_real_ns() - ctx->start_real_ns) / 1e9, "reloads",
			 (json_int_t)ctx->reloads, "config_files", files, "ring", "generation",
			 (json_int_t)ctx->generation, "wakeups",
			 (json_int_t)atomic_load(&h->wakeups), "pages_released",
			 (json_int_t)lt_ring_pages_released(d->ring), "lanes");
}

static json_t *lane_json(const struct daemon *d, unsigned l)
{
	const struct lt_model *m = d->model;
	const char *dev = "";

	/*
	 * The last device on the lane, if several claim it (as the table built
	 * whole had it). A scan per lane: 1,000 devices make a million steps, a
	 * millisecond, against keeping a table per reply.
	 */
	for (unsigned i = m->ndevices; i-- > 0;)
		if (m->devices[i]->lane == l) {
			dev = m->devices[i]->name;
			break;
		}
	return json_pack("{s:i, s:s, s:I, s:I, s:I, s:I}", "lane", (int)l, "device", dev,
			 "capacity", (json_int_t)lt_ring_hdr(d->ring)->capacity, "fill",
			 (json_int_t)lt_ring_lane_fill(d->ring, l), "written",
			 (json_int_t)lt_ring_lane_written(d->ring, l), "dropped",
			 (json_int_t)lt_ring_lane_dropped(d->ring, l));
}

/*
 * How late the device's reads start after their deadlines, in microseconds,
 * for people and scripts: {p50, p99, max, count}, nulls before any read.
 */
static json_t *lateness_json(const struct lt_lateness *lat)
{
	struct lt_lat_summary ls = { 0 };

	if (lat)
		lat_summary(lat, &ls);
	if (!ls.count)
		return json_pack("{s:n, s:n, s:n, s:i}", "p50", "p99", "max", "count", 0);
	return json_pack("{s:f, s:f, s:f, s:I}", "p50", (double)ls.p50 / 1e3, "p99",
			 (double)ls.p99 / 1e3, "max", (double)ls.max / 1e3, "count",
			 (json_int_t)ls.count);
}

/* A device with its "metrics" array empty: the metrics follow one by one. */
static json_t *device_json(const struct daemon *d, unsigned i)
{
	const struct lt_device *dev = d->model->devices[i];
	const char *cond = atomic_load_explicit(&dev->condition, memory_order_relaxed);
	int st = atomic_load(&dev->state);
	json_t *ctrs = json_object(), *props = json_object();
	char stuck[64];

	/* A driver call that does not return says more than the driver's condition. */
	if (d->samplers && sampler_stuck(d->samplers[i], lt_mono_ns(), stuck, sizeof(stuck)))
		cond = stuck;
	for (unsigned c = 0; c < dev->ncounters; c++)
		json_object_set_new(ctrs, dev->counter_names[c],
				    json_integer((json_int_t)lt_count_get(&dev->counters[c])));
	/* As registered: fixed while the device runs, so read without a lock. */
	for (unsigned p = 0; p < dev->nprops; p++)
		json_object_set_new(props, dev->props[p].key, json_string(dev->props[p].value));
	/* Samplers start and stop in the main thread, which serves this. */
	return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:[]}", "name", dev->name, "type",
			 dev->drv->name, "state", device_state_name(st), "condition", cond,
			 "counters", ctrs, "properties", props, "lateness_us",
			 lateness_json(d->samplers ? &d->samplers[i]->lat : NULL), "metrics");
}

static json_t *totals_json(const struct lt_totals *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "taken",
			 (json_int_t)t->taken, "filtered", (json_int_t)t->filtered, "deliveries",
			 (json_int_t)t->deliveries, "published", (json_int_t)t->published,
			 "dropped", (json_int_t)t->dropped, "pending", (json_int_t)t->pending,
			 "errors", (json_int_t)t->errors, "recovered", (json_int_t)t->recovered,
			 "spooled", (json_int_t)t->spooled);
}

/*
 * Append @lit, then @v dumped compactly without its last bytes @cut (the
 * closing "]}" of an array left open). 0, -ENOMEM, or -EINVAL: @v cannot be
 * dumped or does not end with @cut.
 */
static int put(struct status_out *o, const char *lit, const json_t *v, const char *cut)
{
	size_t ll = strlen(lit), cl = strlen(cut);

	for (;;) {
		size_t room = o->cap - o->len, n = 0;

		if (v)
			n = room > ll ? json_dumpb(v, o->buf + o->len + ll, room - ll, JSON_COMPACT)
				      : json_dumpb(v, NULL, 0, JSON_COMPACT);
		if (v && n < cl)
			return -EINVAL;
		if (ll + n <= room) {
			if (memcmp(o->buf + o->len + ll + n - cl, cut, cl))
				return -EINVAL;
			memcpy(o->buf + o->len, lit, ll);
			o->len += ll + n - cl;
			return 0;
		}
		if (status_out_room(o, ll + n) < 0)
			return -ENOMEM;
	}
}

/*
 * put() an element of an array (@sep: a comma before it, set once one is
 * written) or, with @sep NULL, a piece of the frame. An element that could
 * not be built (@v NULL) is left out, as json_array_append_new(a, NULL)
 * did when the document was built whole. Takes @v.
 */
static int emit(struct status_out *o, bool *sep, const char *lit, json_t *v, const char *cut)
{
	int r;

	if (sep && !v)
		return 0;
	r = put(o, sep && *sep ? "," : lit, v, cut);
	json_decref(v);
	if (!r && sep)
		*sep = true;
	return r;
}

/*
 * One entry of the metric table (the `metrics` reply: control.h), as
 * json_pack("{s:i, s:s, s:s}") dumped it. 0: written; 1: left out (a name
 * or unit that is not UTF-8, as before); -ENOMEM.
 */
static int put_table_entry(struct status_out *o, bool sep, const struct lt_metric *m)
{
	const char *unit = m->unit ? m->unit : "";
	char *p;
	int r;

	if (!str_ok(m->fullname) || !str_ok(unit))
		return 1;
	r = status_out_room(o, 64 + STR_MAX(strlen(m->fullname)) + STR_MAX(strlen(unit)));
	if (r < 0)
		return r;
	p = o->buf + o->len;
	if (sep)
		*p++ = ',';
	p = put_int(PUT_LIT(p, "{\"id\":"), (int)m->id);
	p = put_str(PUT_LIT(p, ",\"name\":"), m->fullname);
	p = put_str(PUT_LIT(p, ",\"unit\":"), unit);
	*p++ = '}';
	o->len = (size_t)(p - o->buf);
	return 0;
}

enum {
	ST_HEAD,
	ST_LANES,
	ST_DEVICES,
	ST_METRICS,
	ST_DCCS,
	ST_END,
	ST_DONE,
	ST_TABLE_HEAD,
	ST_TABLE
};

/* On to the next array of the document, at its first element. */
static void next_array(struct status_stream *s, unsigned phase)
{
	s->phase = phase;
	s->i = 0;
	s->sep = false;
}

void status_stream_begin(struct status_stream *s, const struct control_ctx *ctx)
{
	*s = (struct status_stream){ .generation = ctx->generation };
	daemon_totals(ctx->daemon, &s->totals);
	daemon_totals_add(&s->totals, ctx->past);
}

void status_stream_begin_table(struct status_stream *s, const struct control_ctx *ctx)
{
	*s = (struct status_stream){ .generation = ctx->generation, .phase = ST_TABLE_HEAD };
}

int status_stream_fill(struct status_stream *s, const struct control_ctx *ctx, struct status_out *o,
		       size_t limit)
{
	const struct daemon *d = ctx->daemon;
	const struct lt_model *m = d->model;

	if (ctx->generation != s->generation)
		return -ESTALE;
	while (s->phase != ST_DONE && o->len < limit) {
		const struct lt_device *dev;
		json_t *v;
		int r;

		switch (s->phase) {
		case ST_HEAD:
			v = head_json(ctx);
			if (!v)
				return -ENOMEM;
			r = emit(o, NULL, "", v, "]}}");
			if (!r)
				s->phase = ST_LANES;
			break;
		case ST_LANES:
			if (s->i < lt_ring_nlanes(d->ring)) {
				r = emit(o, &s->sep, "", lane_json(d, s->i), "");
				s->i += !r;
			} else {
				r = emit(o, NULL, "]},\"devices\":[", NULL, "");
				if (!r)
					next_array(s, ST_DEVICES);
			}
			break;
		case ST_DEVICES:
			if (s->i < m->ndevices) {
				v = device_json(d, s->i);
				bool built = v;

				r = emit(o, &s->dsep, "", v, "]}");
				if (!r && built) {
					s->phase = ST_METRICS;
					s->j = 0;
					s->sep = false;
				} else if (!r) {
					s->i++; /* a device that cannot be built: none of it */
				}
			} else {
				r = emit(o, NULL, "],\"dccs\":[", NULL, "");
				if (!r)
					next_array(s, ST_DCCS);
			}
			break;
		case ST_METRICS:
			dev = m->devices[s->i];
			if (s->j < dev->nmetrics) {
				r = put_metric(o, s->sep, dev->metrics[s->j]);
				if (r >= 0) {
					s->sep |= !r;
					s->j++;
					r = 0;
				}
			} else {
				r = emit(o, NULL, "]}", NULL, "");
				if (!r) {
					s->phase = ST_DEVICES;
					s->i++;
				}
			}
			break;
		case ST_DCCS:
			if (s->i < m->ndccs) {
				r = emit(o, &s->sep, "", dcc_json(m->dccs[s->i]), "");
				s->i += !r;
			} else {
				v = totals_json(&s->totals);
				if (!v)
					return -ENOMEM;
				r = emit(o, NULL, "],\"totals\":", v, "");
				if (!r)
					s->phase = ST_END;
			}
			break;
		case ST_TABLE_HEAD: {
			char head[64];

			snprintf(head, sizeof(head), "{\"generation\":%" PRId64 ",\"metrics\":[",
				 (int64_t)s->generation);
			r = emit(o, NULL, head, NULL, "");
			if (!r)
				next_array(s, ST_TABLE);
			break;
		}
		case ST_TABLE:
			if (s->i < m->nmetrics) {
				r = put_table_entry(o, s->sep, m->metrics[s->i]);
				if (r >= 0) {
					s->sep |= !r;
					s->i++;
					r = 0;
				}
			} else {
				r = emit(o, NULL, "]}", NULL, "");
				if (!r)
					s->phase = ST_DONE;
			}
			break;
		default:
			r = emit(o, NULL, "}", NULL, "");
			if (!r)
				s->phase = ST_DONE;
			break;
		}
		if (r < 0)
			return r;
	}
	return s->phase != ST_DONE;
}

json_t *control_status_json(const struct control_ctx *ctx)
{
	struct status_stream s;
	struct status_out o = { 0 };
	json_t *doc = NULL;

	status_stream_begin(&s, ctx);
	if (status_stream_fill(&s, ctx, &o, SIZE_MAX) == 0)
		doc = json_loadb(o.buf, o.len, 0, NULL);
	free(o.buf);
	return doc;
}
