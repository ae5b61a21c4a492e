/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A DCC package built outside the tree, for graphite_pkg.test: `type =
 * lines` sends "ENTITY VALUE" lines through package transport-stream's API
 * (liota/stream.h), built against include/liota alone. Every key but its
 * own `tag` is the stream's (transport, host, port, tls...).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liota/liota.h>
#include <liota/stream.h>

static const struct lt_stream_api *st;

struct lines {
	struct lt_stream_conf conf;
	struct lt_stream *stream;
	char tag[32];
};

static int lines_init(struct lt_dcc *dcc)
{
	struct lines *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	st->conf_defaults(&l->conf);
	snprintf(l->tag, sizeof(l->tag), "lines");
	lt_dcc_set_priv(dcc, l);
	return 0;
}

static int lines_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
			size_t errlen)
{
	struct lines *l = lt_dcc_priv(dcc);

	if (strcmp(key, "tag"))
		return st->conf_option(&l->conf, key, value, err, errlen);
	snprintf(l->tag, sizeof(l->tag), "%s", value);
	return 0;
}

static int lines_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	return st->conf_check(&((struct lines *)lt_dcc_priv(dcc))->conf, err, errlen);
}

static int lines_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct lines *l = lt_dcc_priv(dcc);
	int r = st->create(&l->conf, dcc, lt_dcc_stats(dcc), &l->stream);

	if (r < 0)
		return lt_errf(err, errlen, r, "cannot create the stream");
	r = st->start(l->stream, err, errlen);
	if (r < 0) {
		st->free(l->stream);
		l->stream = NULL;
	}
	return r;
}

static int lines_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			  const struct lt_reg *parent, struct lt_reg *reg)
{
	(void)dcc;
	(void)parent;
	reg->id = strdup(ent->name);
	return reg->id ? 0 : -ENOMEM;
}

static int lines_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			 size_t n)
{
	struct lines *l = lt_dcc_priv(dcc);
	struct lt_dcc_stats *stats = lt_dcc_stats(dcc);
	char buf[256];

	lt_count(&stats->samples_in, n);
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "%s %s %g\n", l->tag, reg->id, s[i].value);

		if (len < 0 || (size_t)len >= sizeof(buf) ||
		    st->write_lines(l->stream, buf, (size_t)len, 1) < 0)
			lt_count(&stats->dropped, 1);
	}
	return (int)n;
}

static void lines_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	st->poll(((struct lines *)lt_dcc_priv(dcc))->stream, pfd, deadline_ns);
}

static void lines_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	st->dispatch(((struct lines *)lt_dcc_priv(dcc))->stream, revents, now_ns);
}

static int lines_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	return st->flush(((struct lines *)lt_dcc_priv(dcc))->stream, deadline_ns);
}

static void lines_stop(struct lt_dcc *dcc)
{
	struct lines *l = lt_dcc_priv(dcc);

	st->free(l->stream);
	l->stream = NULL;
}

static void lines_free(struct lt_dcc *dcc)
{
	struct lines *l = lt_dcc_priv(dcc);

	if (!l)
		return;
	st->free(l->stream);
	st->conf_clear(&l->conf);
	free(l);
}

static const struct lt_dcc_driver lines_driver = {
	.name = "lines",
	.init = lines_init,
	.option = lines_option,
	.check = lines_check,
	.start = lines_start,
	.register_entity = lines_register,
	.publish = lines_publish,
	.poll = lines_poll,
	.dispatch = lines_dispatch,
	.flush = lines_flush,
	.stop = lines_stop,
	.free = lines_free,
};

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	st = (const struct lt_stream_api *)lt_package_api(ctx, LT_STREAM_API);
	if (!st || st->size < sizeof(*st))
		return lt_errf(err, errlen, -ENOENT, "no stream transport API");
	return lt_package_add_dcc_driver(ctx, &lines_driver, err, errlen);
}

LT_PACKAGE(.name = "lines", .version = "0.1",
	   .depends = (const char *const[]){ LT_STREAM_API, NULL }, .init = init);
