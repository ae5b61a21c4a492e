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
 * to 2003; spool, spool_size, spool_max_age, spool_fsync (TCP only). host
 * may name several carbons or relays, "A, B:2004" (stream.h: failover);
 * they are reported with lt_dcc_set_endpoints(), and one spool serves them
 * all: it holds what none of them took, and replays into whichever
 * connection is up.
 *
 * spool = auto (the default) is spool = yes over TCP when the spool can be
 * opened in the state folder, and no spool (with a warning) when it
 * cannot; spool = yes makes that an error at start; spool = no: none.
 *
 * Store and forward (spool on): while carbon is not connected, or the
 * memory queue is past half its size, or the spool still holds anything
 * (so that nothing overtakes what waits there), batches go to the durable
 * spool (src/core/spool.h) in STATE_DIR/spool-NAME. While connected, the
 * spool is replayed oldest first into the memory queue as it drains below
 * half its size: at the rate carbon takes. A batch leaves the spool when
 * the memory queue took it. A stop delivers for half of flush_timeout, then
 * moves what the memory queue still holds into the spool.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <liota/stream.h>

#include "core/intree.h"
#include "dcc/carbon.h"
#include "dcc/dccs.h"
#include "spool.h"
#include "transport/endpoint.h"
#include "util.h"

/* The stream transport: package transport-stream's API, from graphite_package_init(). */
static const struct lt_stream_api *sapi;

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

	/* The durable spool (spool = auto or yes). */
	int spool_on; /* enum spool_mode */
	struct spool_conf spool_conf;
	struct spool *spool;          /* NULL: off, or not open yet (busy, see spool_try_open()) */
	int64_t spool_retry;          /* CLOCK_MONOTONIC of the next attempt to open it */
	int spool_failing;            /* appends fail (disk full): logged once */
	struct spool_reporter report; /* evictions counted and logged */
	size_t replay_need;           /* bytes the next spooled batch needs in the memory queue */
	/*
	 * Lines for the spool, gathered over one publisher round and appended
	 * as one record when the round ends (graphite_poll()): one writev()
	 * and one CRC a round instead of one a metric's batch, which cost the
	 * publisher 2.5 times the CPU of the healthy path (docs/reliability.md,
	 * fault test 5). Counted in spooled meanwhile.
	 */
	char *stage;
	size_t stage_len, stage_cap;
	uint64_t stage_lines;
	uint64_t failed_at; /* CLOCK_MONOTONIC of the last refused append, 0: none */
	uint64_t ok_since;  /* of the first append taken after it, 0: none yet */
};

/* How often a spool that another instance still holds is tried again. */
#define SPOOL_RETRY_NS (100 * 1000000ll)
/*
 * Replay moves at most this much per publisher round, so that the ring's
 * lanes are drained between rounds: 2 MiB at once stalled the publisher
 * long enough for a lane of 4096 records to overflow at 100k samples/s.
 */
#define REPLAY_ROUND (128u << 10)
/* The spool takes batches again when it has taken them, refusing none, this long. */
#define RECOVERED_NS (LT_NSEC_PER_SEC / 2)
/* The stage is appended to the spool before it would grow past this. */
#define STAGE_MAX (256u << 10)
/* After a refused append, batches skip the stage this long (stage_add()). */
#define STAGE_OFF_NS (10 * LT_NSEC_PER_SEC)

/* What a registration keeps besides its path. */
struct graphite_reg {
	size_t pathlen;
};

static int graphite_init(struct lt_dcc *dcc)
{
	struct graphite *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	sapi->conf_defaults(&g->conf);
	spool_conf_defaults(&g->spool_conf);
	carbon_enc_init(&g->enc);
	g->spool_on = SPOOL_AUTO;
	g->conf.port = strdup("2003");
	if (!g->conf.port) {
		free(g);
		return -ENOMEM;
	}
	lt_dcc_set_priv(dcc, g);
	return 0;
}

/* prefix: an empty one means none. */
static int set_prefix(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	char **prefix = field;

	if (*value)
		return lt_opts_strdup(prefix, value, err, errlen);
	free(*prefix);
	*prefix = NULL;
	return 0;
}

static const struct lt_opt graphite_opts[] = {
	LT_OPT_FUNC("prefix", struct graphite, prefix, 0, set_prefix, "put before every path"),
	SPOOL_OPTS(struct graphite, spool_on, spool_conf),
	LT_OPT_END(),
};

/* Its own keys, then the stream's (transport, host, TLS...). */
static int graphite_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
			   size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);
	int r = lt_opts_set(graphite_opts, g, key, value, err, errlen);

	return r == -ENOENT ? sapi->conf_option(&g->conf, key, value, err, errlen) : r;
}

static int graphite_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);
	struct lt_endpoint *ep;
	const char *names[LT_ENDPOINTS_MAX];
	int r, n;

	/* A file or standard output takes every write: nothing to keep for later. */
	if (g->spool_on == SPOOL_ON && g->conf.kind != LT_STREAM_TCP)
		return lt_errf(err, errlen, -EINVAL, "spool = yes needs transport = tcp");
	if (g->conf.kind != LT_STREAM_TCP)
		g->spool_on = SPOOL_OFF;
	r = sapi->conf_check(&g->conf, err, errlen);
	if (r < 0 || g->conf.kind != LT_STREAM_TCP)
		return r;
	n = lt_endpoints_parse(g->conf.host, g->conf.port, &ep, err, errlen);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		names[i] = ep[i].name;
	r = lt_dcc_set_endpoints(dcc, names, (unsigned)n);
	lt_endpoints_free(ep, (unsigned)n);
	return r;
}

/* ---- the spool ------------------------------------------------------------ */

/* The spool's counters into the DCC's (spool_report()); staged lines count as spooled. */
static void spool_count(struct lt_dcc *dcc, struct graphite *g)
{
	spool_report(g->spool, &g->report, dcc, lt_dcc_stats(dcc), g->stage_lines, "batches");
}

/*
 * Open the spool, STATE_DIR/spool-NAME. Another instance of this DCC may
 * hold it for a few more milliseconds (a reload starts the new instance
 * before it stops the old one): then it is tried again later, and batches
 * go to the memory queue meanwhile. Returns 0, -EBUSY, or another negative
 * errno with the reason in @err.
 */
static int spool_try_open(struct lt_dcc *dcc, struct graphite *g, char *err, size_t errlen)
{
	char name[300] = "spool-", path[4400], note[1024];
	size_t pos = strlen(name);
	struct spool_stats ss;
	int r;

	if (carbon_escape_node(name, sizeof(name), &pos, lt_dcc_name(dcc)) < 0)
		return lt_errf(err, errlen, -ENAMETOOLONG, "the DCC name is too long for a spool");
	r = lt_state_path(name, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	r = spool_open(path, &g->spool_conf, &g->spool, note, sizeof(note), err, errlen);
	if (r < 0)
		return r;
	if (note[0])
		lt_dcc_log(dcc, LOG_WARNING, "spool %s: %s", path, note);
	spool_get_stats(g->spool, &ss);
	if (ss.recovered) {
		lt_dcc_log(dcc, LOG_INFO,
			   "spool %s: %llu samples in %llu batches from before, "
			   "replayed first",
			   path, (unsigned long long)ss.recovered, (unsigned long long)ss.batches);
		lt_count_set(&lt_dcc_stats(dcc)->recovered, ss.recovered);
	}
	spool_count(dcc, g);
	return 0;
}

/* Called from the publisher thread until the spool is open. */
static void spool_retry(struct lt_dcc *dcc, struct graphite *g, int64_t now)
{
	char err[512];
	int r;

	if (g->spool || !g->spool_on || now < g->spool_retry)
		return;
	r = spool_try_open(dcc, g, err, sizeof(err));
	if (r == -EBUSY) {
		g->spool_retry = now + SPOOL_RETRY_NS;
		return;
	}
	if (r < 0) {
		lt_dcc_log(dcc, LOG_ERR, "%s; retrying in 10 s", err);
		g->spool_retry = now + 100 * SPOOL_RETRY_NS;
	}
}

static int carbon_up(struct lt_dcc *dcc)
{
	return lt_count_get(&lt_dcc_stats(dcc)->state) == LT_DCC_UP;
}

/* Half the memory queue: past it, batches go to the spool and replay waits. */
static size_t high_water(const struct graphite *g)
{
	return g->conf.queue_bytes / 2;
}

/*
 * Keep @len bytes of @lines lines in the spool. Returns 0, or a negative
 * errno when the spool cannot take them (logged once until it can again).
 */
static int spool_keep(struct lt_dcc *dcc, struct graphite *g, const char *buf, size_t len,
		      uint64_t lines)
{
	int r = spool_append(g->spool, buf, len, (uint32_t)lines, lt_real_ns());
	uint64_t now = lt_mono_ns();

	if (r < 0)
		g->failed_at = now, g->ok_since = 0;
	else if (!g->ok_since)
		g->ok_since = now;

	if (r < 0 && !g->spool_failing) {
		lt_dcc_log(dcc, LOG_ERR,
			   "cannot write to the spool: %s; dropping what does not "
			   "fit in the memory queue",
			   strerror(-r));
		g->spool_failing = 1;
	} else if (r == 0 && g->spool_failing && now - g->ok_since >= RECOVERED_NS &&
		   now - g->failed_at >= 4 * RECOVERED_NS) {
		/*
		 * Not at the first append taken: on a full disk a small batch may
		 * fit in the last page where the last batch did not. Recovered
		 * when appends have been taken for RECOVERED_NS, and none was
		 * refused for four times that.
		 */
		lt_dcc_log(dcc, LOG_NOTICE, "the spool takes batches again");
		g->spool_failing = 0;
	}
	spool_count(dcc, g);
	return r;
}

/*
 * Append the stage to the spool as one record. When the spool refuses it
 * (disk full), its lines go to the memory queue, or are dropped and
 * counted when that is full too.
 */
static void stage_flush(struct lt_dcc *dcc, struct graphite *g)
{
	uint64_t lines = g->stage_lines;

	if (!g->stage_len)
		return;
	g->stage_lines = 0;
	if (spool_keep(dcc, g, g->stage, g->stage_len, lines) < 0 &&
	    (!g->stream || sapi->write_lines(g->stream, g->stage, g->stage_len, lines) < 0))
		lt_count(&lt_dcc_stats(dcc)->dropped, lines);
	g->stage_len = 0;
	spool_count(dcc, g);
}

/*
 * Keep @len bytes of @lines lines for the spool: in the stage, or straight
 * in the spool while it refuses appends (each batch tries it again) and for
 * a while after, or for
 * a batch larger than the stage. Returns 0, or a negative errno when the
 * spool cannot take them (the caller tries the memory queue).
 */
static int stage_add(struct lt_dcc *dcc, struct graphite *g, const char *buf, size_t len,
		     uint64_t lines)
{
	/*
	 * For a while after a refused append, batches go one by one: on a full
	 * disk a small batch may still fit where a round's record does not,
	 * and alternating would log the failure and the recovery every round.
	 */
	if (g->spool_failing || len > STAGE_MAX ||
	    (g->failed_at && lt_mono_ns() - g->failed_at < STAGE_OFF_NS)) {
		stage_flush(dcc, g);
		return spool_keep(dcc, g, buf, len, lines);
	}
	if (g->stage_len + len > STAGE_MAX)
		stage_flush(dcc, g);
	if (g->stage_len + len > g->stage_cap) {
		char *p = realloc(g->stage, STAGE_MAX);

		if (!p)
			return spool_keep(dcc, g, buf, len, lines);
		g->stage = p;
		g->stage_cap = STAGE_MAX;
	}
	memcpy(g->stage + g->stage_len, buf, len);
	g->stage_len += len;
	g->stage_lines += lines;
	spool_count(dcc, g);
	return 0;
}

/* Larger pieces of the memory queue are spooled as several batches (a segment holds 4 MiB). */
#define SPOOL_PIECE_MAX (1u << 20)

/*
 * Move what the memory queue holds into the spool: at a stop, and as soon
 * as the connection is lost (so that a crash during the outage loses
 * nothing of it), in whole lines of at most SPOOL_PIECE_MAX bytes. Returns
 * 0, or the spool's negative errno: what it did not take is back in the
 * memory queue.
 */
static int queue_to_spool(struct lt_dcc *dcc, struct graphite *g)
{
	size_t len = sapi->queued(g->stream), off = 0;
	uint64_t lines;
	char *buf;
	int r = 0;

	if (!len)
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	len = sapi->take(g->stream, buf, len, &lines);
	while (off < len) {
		size_t n = len - off, nl = 0;

		if (n > SPOOL_PIECE_MAX) {
			const char *end = memrchr(buf + off, '\n', SPOOL_PIECE_MAX);

			n = end ? (size_t)(end - (buf + off)) + 1 : n;
		}
		for (const char *p = buf + off; (p = memchr(p, '\n', (size_t)(buf + off + n - p)));
		     p++)
			nl++;
		if (r == 0)
			r = spool_keep(dcc, g, buf + off, n, nl);
		if (r < 0) /* it fits: the queue was just emptied */
			sapi->write_lines(g->stream, buf + off, n, nl);
		off += n;
	}
	free(buf);
	return r;
}

/*
 * Move spooled batches, oldest first, into the memory queue while carbon
 * takes them. A batch that does not fit now waits until the queue has room
 * for it (replay_need); one larger than the whole queue (queue_size was
 * lowered since it was spooled) can never go: it is dropped and counted.
 */
static void spool_replay(struct lt_dcc *dcc, struct graphite *g)
{
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);
	const void *data;
	size_t len;
	uint32_t count;
	int r = 0;

	size_t moved = 0;

	g->replay_need = 0;
	while (carbon_up(dcc) && !spool_empty(g->spool) &&
	       sapi->queued(g->stream) < high_water(g) && moved < REPLAY_ROUND) {
		r = spool_peek(g->spool, lt_real_ns(), &data, &len, &count);
		if (r < 0)
			break;
		if (len > g->conf.queue_bytes) {
			lt_dcc_log(dcc, LOG_WARNING,
				   "spooled batch of %zu bytes is larger than queue_size: %u "
				   "samples dropped",
				   len, count);
			lt_count(&st->dropped, count);
		} else if (sapi->write_lines(g->stream, data, len, count) < 0) {
			g->replay_need = len;
			break;
		}
		moved += len;
		spool_pop(g->spool);
	}
	if (r < 0 && r != -ENOENT) {
		lt_dcc_log(dcc, LOG_ERR, "cannot read the spool: %s", strerror(-r));
		g->replay_need = SIZE_MAX; /* tried again on the next event, not in a loop */
	}
	spool_count(dcc, g);
}

static int graphite_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct graphite *g = lt_dcc_priv(dcc);
	int r;

	r = sapi->create(&g->conf, dcc, lt_dcc_stats(dcc), &g->stream);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the transport: %s", strerror(-r));
		return r;
	}
	r = sapi->start(g->stream, err, errlen);
	if (r < 0) {
		sapi->free(g->stream);
		g->stream = NULL;
		return r;
	}
	if (g->spool_on) {
		r = spool_try_open(dcc, g, err, errlen);
		if (r == -EBUSY) {
			g->spool_retry = (int64_t)lt_mono_ns() + SPOOL_RETRY_NS;
			r = 0;
		}
		if (r < 0 && g->spool_on == SPOOL_AUTO) {
			lt_dcc_log(dcc, LOG_WARNING,
				   "%s: running without a spool (spool = auto; spool = yes makes "
				   "this an error, spool = no silences it)",
				   err);
			g->spool_on = SPOOL_OFF;
			r = 0;
		}
		if (r < 0) {
			sapi->free(g->stream);
			g->stream = NULL;
		}
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

	lt_count(&st->samples_in, n);
	if (!n)
		return 0;
	if (need > g->scratch_len) {
		char *p = realloc(g->scratch, need);

		if (!p) {
			lt_count(&st->dropped, n);
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
		lt_count(&st->dropped, bad);
		lt_dcc_log(dcc, LOG_DEBUG, "dropped %zu non-finite samples of %s", bad, reg->id);
	}
	if (!lines)
		return 0;
	if (g->spool && g->stream &&
	    (!carbon_up(dcc) || g->stage_len || !spool_empty(g->spool) ||
	     sapi->queued(g->stream) + pos > high_water(g)) &&
	    stage_add(dcc, g, g->scratch, pos, lines) == 0)
		return (int)lines;
	if (!g->stream || sapi->write_lines(g->stream, g->scratch, pos, lines) < 0) {
		/* Warn when the queue fills up, not for every batch it refuses. */
		lt_count(&st->dropped, lines);
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
	sapi->poll(g->stream, pfd, deadline_ns);
	if (g->spool_on && !g->spool && g->spool_retry < *deadline_ns)
		*deadline_ns = g->spool_retry;
	if (!g->spool)
		return;
	stage_flush(dcc, g); /* the publisher's round ends here */
	int64_t due = spool_sync_due(g->spool);

	if (due < *deadline_ns)
		*deadline_ns = due;
	/* Room in the memory queue for spooled batches: replay now. */
	if (carbon_up(dcc) && !spool_empty(g->spool) && sapi->queued(g->stream) < high_water(g) &&
	    g->conf.queue_bytes - sapi->queued(g->stream) >= g->replay_need)
		*deadline_ns = 0;
}

static void graphite_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (!g->stream)
		return;
	sapi->dispatch(g->stream, revents, now_ns);
	spool_retry(dcc, g, now_ns);
	if (!g->spool)
		return;
	if (!carbon_up(dcc) && !g->spool_failing)
		queue_to_spool(dcc, g);
	int r = spool_sync(g->spool, (uint64_t)now_ns, 0);

	if (r < 0)
		lt_dcc_log(dcc, LOG_ERR, "cannot sync the spool: %s", strerror(-r));
	spool_replay(dcc, g);
}

static int graphite_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	struct graphite *g = lt_dcc_priv(dcc);
	int64_t now = (int64_t)lt_mono_ns();
	int r;

	if (!g->stream)
		return 0;
	if (!g->spool)
		return sapi->flush(g->stream, deadline_ns);
	stage_flush(dcc, g);
	/* Deliver for half the time left, then keep the rest in the spool. */
	if (!carbon_up(dcc) || sapi->flush(g->stream, now + (deadline_ns - now) / 2) < 0)
		r = queue_to_spool(dcc, g);
	else
		r = 0;
	spool_sync(g->spool, lt_mono_ns(), 1);
	return r < 0 ? -ETIMEDOUT : 0;
}

static void graphite_stop(struct lt_dcc *dcc)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (g->spool)
		stage_flush(dcc, g);
	sapi->free(g->stream);
	g->stream = NULL;
	if (g->spool) {
		spool_count(dcc, g);
		spool_close(g->spool);
		g->spool = NULL;
	}
}

static void graphite_free(struct lt_dcc *dcc)
{
	struct graphite *g = lt_dcc_priv(dcc);

	if (!g)
		return;
	sapi->free(g->stream);
	spool_close(g->spool);
	sapi->conf_clear(&g->conf);
	free(g->prefix);
	free(g->scratch);
	free(g->stage);
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

static const char *const graphite_depends[] = { LT_STREAM_API, NULL };

static int graphite_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	sapi = lt_package_api(ctx, LT_STREAM_API);
	if (!sapi || sapi->size < sizeof(*sapi))
		return lt_errf(err, errlen, -ENOENT, "package %s serves no stream API",
			       LT_STREAM_API);
	return lt_package_add_dcc_driver(ctx, &lt_dcc_graphite, err, errlen);
}

LT_INTREE_PACKAGE(graphite, .name = "graphite", .version = PACKAGE_VERSION,
		  .depends = graphite_depends, .init = graphite_package_init);
