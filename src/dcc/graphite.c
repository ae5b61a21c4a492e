/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Graphite DCC: samples as carbon plaintext lines over a stream
 * (TCP to carbon-cache or carbon-relay, or a file / stdout).
 *
 * Registration builds each metric's full path once,
 * PREFIX.EDGE.DEVICE.METRIC, so that publishing only appends the value and
 * the timestamp. A batch of samples becomes one buffer and one queue write.
 *
 * [dcc "NAME"] keys: prefix, and the stream's (transport, host, port, path,
 * queue_size, reconnect_min, reconnect_max, connect_timeout); port defaults
 * to 2003.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "dcc/carbon.h"
#include "dcc/dccs.h"
#include "transport/stream.h"
#include "util.h"

/* Room after each path: carbon_enc_line() then formats the line in place. */
#define LINE_EXTRA CARBON_LINE_ROOM

struct graphite {
	struct lt_stream_conf conf;
	char *prefix; /* NULL: none */
	struct lt_stream *stream;
	char *scratch; /* the lines of one publish call */
	size_t scratch_len;
	struct carbon_enc enc;
	uint64_t full_drops; /* samples dropped since the queue became full, 0: not full */
};

/* What a registration keeps besides its path. */
struct graphite_reg {
	size_t pathlen;
};

static int graphite_init(struct lt_dcc *dcc)
{
	struct graphite *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	stream_conf_defaults(&g->conf);
	carbon_enc_init(&g->enc);
	g->conf.port = strdup("2003");
	if (!g->conf.port) {
		free(g);
		return -ENOMEM;
	}
	lt_dcc_set_priv(dcc, g);
	return 0;
}

static int graphite_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
                           size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (!strcmp(key, "prefix")) {
		free(g->prefix);
		g->prefix = *value ? xstrdup(value) : NULL;
		return 0;
	}
	return stream_conf_option(&g->conf, key, value, err, errlen);
}

static int graphite_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);

	return stream_conf_check(&g->conf, err, errlen);
}

static int graphite_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);
	int r;

	r = stream_new(&g->conf, dcc, lt_dcc_stats(dcc), &g->stream);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the transport: %s", strerror(-r));
		return r;
	}
	r = stream_start(g->stream, err, errlen);
	if (r < 0) {
		stream_free(g->stream);
		g->stream = NULL;
	}
	return r;
}

static int graphite_register(struct lt_dcc *dcc, const struct lt_entity *ent,
                             const struct lt_reg *parent, struct lt_reg *reg)
{
	struct graphite *g = lt_dcc_priv(dcc);
	struct graphite_reg *gr;
	char *id;

	if (ent->kind == LT_ENTITY_EDGE || !parent || !parent->id) {
		id = carbon_path(g->prefix, ent->name, NULL, NULL);
	} else {
		size_t plen = strlen(parent->id), pos = plen + 1;
		size_t len = pos + strlen(ent->name) + 2;

		id = malloc(len);
		if (id) {
			memcpy(id, parent->id, plen);
			id[plen] = '.';
			carbon_escape_node(id, len, &pos, ent->name);
		}
	}
	if (!id)
		return -ENOMEM;
	gr = malloc(sizeof(*gr));
	if (!gr) {
		free(id);
		return -ENOMEM;
	}
	gr->pathlen = strlen(id);
	reg->id = id;
	reg->priv = gr;
	return 0;
}

static void graphite_unregister(struct lt_dcc *dcc, struct lt_reg *reg)
{
	free(reg->priv);
	reg->priv = NULL;
}

static int graphite_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
                            size_t n)
{
	struct graphite *g = lt_dcc_priv(dcc);
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);
	const struct graphite_reg *gr = reg->priv;
	size_t pathlen = gr ? gr->pathlen : strlen(reg->id);
	size_t need = n * (pathlen + LINE_EXTRA), pos = 0, lines = 0, bad = 0;

	atomic_fetch_add_explicit(&st->samples_in, n, memory_order_relaxed);
	if (!n)
		return 0;
	if (need > g->scratch_len) {
		char *p = realloc(g->scratch, need);

		if (!p) {
			atomic_fetch_add_explicit(&st->dropped, n, memory_order_relaxed);
			return 0;
		}
		g->scratch = p;
		g->scratch_len = need;
	}
	for (size_t i = 0; i < n; i++) {
		char *out = g->scratch + pos;
		int r = carbon_enc_line(&g->enc, out, g->scratch_len - pos, reg->id, pathlen,
		                        &s[i]);

		if (r < 0) {
			/* -EDOM: carbon has no NaN or infinity; LINE_EXTRA makes -ENOSPC
			 * impossible. */
			bad++;
			continue;
		}
		pos += (size_t)r;
		lines++;
	}
	if (bad) {
		atomic_fetch_add_explicit(&st->dropped, bad, memory_order_relaxed);
		lt_dcc_log(dcc, LOG_DEBUG, "dropped %zu non-finite samples of %s", bad, reg->id);
	}
	if (!lines)
		return 0;
	if (!g->stream || stream_write_lines(g->stream, g->scratch, pos, lines) < 0) {
		/* Warn when the queue fills up, not for every batch it refuses. */
		atomic_fetch_add_explicit(&st->dropped, lines, memory_order_relaxed);
		lt_dcc_log(dcc, g->full_drops ? LOG_DEBUG : LOG_WARNING,
		           "queue full (%zu bytes): dropped %zu samples of %s", g->conf.queue_bytes,
		           lines, reg->id);
		g->full_drops += lines;
		return 0;
	}
	if (g->full_drops) {
		lt_dcc_log(dcc, LOG_INFO, "queue accepts samples again, %llu dropped while full",
		           (unsigned long long)g->full_drops);
		g->full_drops = 0;
	}
	return (int)lines;
}

static void graphite_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (!g->stream) {
		pfd->fd = -1;
		pfd->events = pfd->revents = 0;
		return;
	}
	stream_poll(g->stream, pfd, deadline_ns);
}

static void graphite_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (g->stream)
		stream_dispatch(g->stream, revents, now_ns);
}

static int graphite_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct graphite *g = lt_dcc_priv(dcc);

	return g->stream ? stream_flush(g->stream, deadline_ns) : 0;
}

static void graphite_stop(struct lt_dcc *dcc)
{
	struct graphite *g = lt_dcc_priv(dcc);

	stream_free(g->stream);
	g->stream = NULL;
}

static void graphite_free(struct lt_dcc *dcc)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (!g)
		return;
	stream_free(g->stream);
	stream_conf_clear(&g->conf);
	free(g->prefix);
	free(g->scratch);
	free(g);
	lt_dcc_set_priv(dcc, NULL);
}

const struct lt_dcc_driver lt_dcc_graphite = {
	.name = "graphite",
	.init = graphite_init,
	.option = graphite_option,
	.check = graphite_check,
	.start = graphite_start,
	.register_entity = graphite_register,
	.unregister = graphite_unregister,
	.publish = graphite_publish,
	.poll = graphite_poll,
	.dispatch = graphite_dispatch,
	.flush = graphite_flush,
	.stop = graphite_stop,
	.free = graphite_free,
};
