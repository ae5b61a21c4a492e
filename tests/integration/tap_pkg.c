/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A DCC package for packages_live.test: `type = tap` writes what the core
 * tells it to the file `path` ("start", "reg NAME", "NAME VALUE",
 * "unreg NAME", "stop"), so that the test sees the order of a DCC's life
 * when its package is unloaded. It depends on square, to be unloaded with
 * it (dependents first).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liota/liota.h>

struct tap {
	char *path;
	FILE *f;
};

static int tap_init(struct lt_dcc *dcc)
{
	struct tap *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	lt_dcc_set_priv(dcc, t);
	return 0;
}

static int tap_option(struct lt_dcc *dcc, const char *key, const char *value, char *err,
		      size_t errlen)
{
	struct tap *t = lt_dcc_priv(dcc);

	if (strcmp(key, "path"))
		return lt_errf(err, errlen, -ENOENT, "unknown key");
	free(t->path);
	t->path = strdup(value);
	return t->path ? 0 : -ENOMEM;
}

static int tap_check(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct tap *t = lt_dcc_priv(dcc);

	return t->path ? 0 : lt_errf(err, errlen, -EINVAL, "path is required");
}

static int tap_start(struct lt_dcc *dcc, char *err, size_t errlen)
{
	struct tap *t = lt_dcc_priv(dcc);

	t->f = fopen(t->path, "a");
	if (!t->f)
		return lt_errf(err, errlen, -errno, "%s: %s", t->path, strerror(errno));
	setvbuf(t->f, NULL, _IOLBF, 0);
	fprintf(t->f, "start\n");
	return 0;
}

static int tap_register(struct lt_dcc *dcc, const struct lt_entity *ent,
			const struct lt_reg *parent, struct lt_reg *reg)
{
	struct tap *t = lt_dcc_priv(dcc);

	(void)parent;
	reg->id = strdup(ent->name);
	if (!reg->id)
		return -ENOMEM;
	fprintf(t->f, "reg %s\n", ent->name);
	return 0;
}

static void tap_unregister(struct lt_dcc *dcc, struct lt_reg *reg)
{
	struct tap *t = lt_dcc_priv(dcc);

	if (t->f && reg->id)
		fprintf(t->f, "unreg %s\n", reg->id);
}

static int tap_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
		       size_t n)
{
	struct tap *t = lt_dcc_priv(dcc);
	struct lt_dcc_stats *st = lt_dcc_stats(dcc);

	for (size_t i = 0; i < n; i++)
		fprintf(t->f, "%s %g\n", reg->id, s[i].value);
	lt_count(&st->samples_in, n);
	lt_count(&st->sent, n);
	return (int)n;
}

static void tap_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns)
{
	(void)dcc;
	(void)deadline_ns;
	pfd->fd = -1;
}

static void tap_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	(void)dcc;
	(void)revents;
	(void)now_ns;
}

static void tap_stop(struct lt_dcc *dcc)
{
	struct tap *t = lt_dcc_priv(dcc);

	if (!t->f)
		return;
	fprintf(t->f, "stop\n");
	fclose(t->f);
	t->f = NULL;
}

static void tap_free(struct lt_dcc *dcc)
{
	struct tap *t = lt_dcc_priv(dcc);

	if (t)
		free(t->path);
	free(t);
}

static const struct lt_dcc_driver tap_driver = {
	.name = "tap",
	.init = tap_init,
	.option = tap_option,
	.check = tap_check,
	.start = tap_start,
	.register_entity = tap_register,
	.unregister = tap_unregister,
	.publish = tap_publish,
	.poll = tap_poll,
	.dispatch = tap_dispatch,
	.stop = tap_stop,
	.free = tap_free,
};

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_dcc_driver(ctx, &tap_driver, err, errlen);
}

LT_PACKAGE(.name = "tap", .version = "0.1", .depends = (const char *const[]){ "square", NULL },
	   .init = init);
