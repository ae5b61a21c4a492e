/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An out-of-tree DCC package: `[dcc] type = influx` sends every sample as
 * one line of InfluxDB's line protocol,
 *
 *	temperature,edge=gw,device=boiler value=61.5 1733400000000000000
 *
 * through the stream transport of the SDK (liota/stream.h: TCP with
 * reconnect and failover, TLS, or a file), as Telegraf's socket_listener
 * (port 8094, the default here) and QuestDB take it. Built against the
 * installed SDK alone:
 *
 *	cc -shared -fPIC -o influx.so influx.c $(pkg-config --cflags liotad)
 *
 * and dropped in liotad's package folder; `type = influx` loads it, and
 * with it transport-stream, which it depends on.
 */
#define _GNU_SOURCE /* asprintf() */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <liota/liota.h>
#include <liota/stream.h>

static const struct lt_stream_api *st;

struct influx {
	struct lt_stream_conf conf;
	struct lt_stream *stream;
	char *measurement; /* NULL: each metric's own name */
	char *buf;
	size_t buflen;
};

static const struct lt_opt influx_opts[] = {
	LT_OPT_STRING("measurement", struct influx, measurement, LT_OPT_NONEMPTY, 255,
		      "one measurement for all metrics (the metric's name becomes a tag)"),
	LT_OPT_END(),
};

/* Line protocol escapes ',', ' ' and '=' in tag keys and values, ',' and ' ' in measurements. */
static size_t escape(char *out, size_t len, const char *s, const char *special)
{
	size_t n = 0;

	for (; *s; s++) {
		if (strchr(special, *s) && n + 1 < len)
			out[n++] = '\\';
		if (n + 1 < len)
			out[n++] = *s;
	}
	if (len)
		out[n < len ? n : len - 1] = '\0';
	return n;
}

static int influx_init(struct lt_dcc *dcc)
{
	struct influx *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return -ENOMEM;
	st->conf_defaults(&ix->conf);
	ix->conf.port = strdup("8094");
	if (!ix->conf.port) {
		free(ix);
		return -ENOMEM;
	}
	lt_dcc_set_priv(dcc, ix);
	return 0;
}

static int influx_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
			 size_t errlen)
{
	struct influx *ix = lt_dcc_priv(dcc);
	int r = lt_opts_set(influx_opts, ix, key, value, err, errlen);

	/* The keys of the stream transport: transport, host, port, tls... */
	return r == -ENOENT ? st->conf_option(&ix->conf, key, value, err, errlen) : r;
}

static int influx_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct influx *ix = lt_dcc_priv(dcc);

	return st->conf_check(&ix->conf, err, errlen);
}

static int influx_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct influx *ix = lt_dcc_priv(dcc);
	int r = st->create(&ix->conf, dcc, lt_dcc_stats(dcc), &ix->stream);

	if (r < 0)
		return lt_errf(err, errlen, r, "cannot create the transport: %s", strerror(-r));
	r = st->start(ix->stream, err, errlen);
	if (r < 0) {
		st->free(ix->stream);
		ix->stream = NULL;
	}
	return r;
}

/*
 * A registration's id is what its lines start with: the edge's and the
 * device's are tags ("edge=gw", "edge=gw,device=boiler"), a metric's the
 * whole prefix "temperature,edge=gw,device=boiler" (or with measurement
 * set, "liota,edge=gw,device=boiler,metric=temperature").
 */
static int influx_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			   const struct lt_reg *parent, struct lt_reg *reg)
{
	struct influx *ix = lt_dcc_priv(dcc);
	const char *tags = parent && parent->id ? parent->id : "";
	char name[2 * 256], meas[2 * 256];
	int n;

	escape(name, sizeof(name), ent->name, ", =");
	escape(meas, sizeof(meas), ix->measurement ? ix->measurement : ent->name, ", ");
	if (ent->kind == LT_ENTITY_EDGE)
		n = asprintf(&reg->id, "edge=%s", name);
	else if (ent->kind == LT_ENTITY_DEVICE)
		n = asprintf(&reg->id, "%s%sdevice=%s", tags, *tags ? "," : "", name);
	else if (ix->measurement)
		n = asprintf(&reg->id, "%s%s%s,metric=%s", meas, *tags ? "," : "", tags, name);
	else
		n = asprintf(&reg->id, "%s%s%s", meas, *tags ? "," : "", tags);
	if (n < 0) {
		reg->id = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int influx_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			  size_t n)
{
	struct influx *ix = lt_dcc_priv(dcc);
	struct lt_dcc_stats *stats = lt_dcc_stats(dcc);
	size_t idlen = strlen(reg->id), need = n * (idlen + 64), pos = 0, lines = 0;

	lt_count(&stats->samples_in, n);
	if (need > ix->buflen) {
		char *p = realloc(ix->buf, need);

		if (!p) {
			lt_count(&stats->dropped, n);
			return 0;
		}
		ix->buf = p;
		ix->buflen = need;
	}
	for (size_t i = 0; i < n; i++) {
		/* InfluxDB has no NaN or infinity: such a sample cannot be sent. */
		if (!isfinite(s[i].value)) {
			lt_count(&stats->dropped, 1);
			continue;
		}
		pos += (size_t)snprintf(ix->buf + pos, ix->buflen - pos, "%s value=%.17g %llu\n",
					reg->id, s[i].value, (unsigned long long)s[i].ts_ns);
		lines++;
	}
	if (!lines)
		return 0;
	if (!ix->stream || st->write_lines(ix->stream, ix->buf, pos, lines) < 0) {
		lt_count(&stats->dropped, lines);
		lt_dcc_log(dcc, LOG_DEBUG, "queue full: dropped %zu samples of %s", lines, reg->id);
		return 0;
	}
	return (int)lines;
}

static void influx_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct influx *ix = lt_dcc_priv(dcc);

	if (ix->stream) {
		st->poll(ix->stream, pfd, deadline_ns);
	} else {
		pfd->fd = -1;
		pfd->events = 0;
	}
}

static void influx_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	struct influx *ix = lt_dcc_priv(dcc);

	if (ix->stream)
		st->dispatch(ix->stream, revents, now_ns);
}

static int influx_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct influx *ix = lt_dcc_priv(dcc);

	return ix->stream ? st->flush(ix->stream, deadline_ns) : 0;
}

/* What is still queued counts as dropped in the stream's stats when it is freed. */
static void influx_stop(struct lt_dcc *dcc)
{
	struct influx *ix = lt_dcc_priv(dcc);

	st->free(ix->stream);
	ix->stream = NULL;
}

static void influx_free(struct lt_dcc *dcc)
{
	struct influx *ix = lt_dcc_priv(dcc);

	if (!ix)
		return;
	st->conf_clear(&ix->conf);
	free(ix->measurement);
	free(ix->buf);
	free(ix);
	lt_dcc_set_priv(dcc, NULL);
}

static const struct lt_dcc_driver influx_driver = {
	.name = "influx",
	.init = influx_init,
	.option = influx_option,
	.check = influx_check,
	.start = influx_start,
	.register_entity = influx_register,
	.publish = influx_publish,
	.poll = influx_poll,
	.dispatch = influx_dispatch,
	.flush = influx_flush,
	.stop = influx_stop,
	.free = influx_free,
};

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	st = lt_package_api(ctx, LT_STREAM_API);
	if (!st || st->size < sizeof(*st))
		return lt_errf(err, errlen, -ENOENT, "package %s serves no stream API of this SDK",
			       LT_STREAM_API);
	return lt_package_add_dcc_driver(ctx, &influx_driver, err, errlen);
}

LT_PACKAGE(.name = "influx", .version = "1.0",
	   .depends = (const char *const[]){ LT_STREAM_API, NULL }, .init = init);
