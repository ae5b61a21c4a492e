/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An out-of-tree device package, as liota's user-defined methods were: a
 * device `type = square` whose metrics read the squares 0, 1, 4, 9, ...
 * (or `scale` times them). Built against the SDK alone:
 *
 *	cc -shared -fPIC -o square.so square.c $(pkg-config --cflags liotad)
 *
 * and dropped in liotad's package folder (/usr/lib/liotad), owned by root
 * and writable by nobody else; `type = square` in a [device] loads it.
 */
#include <errno.h>
#include <stdlib.h>

#include <liota/liota.h>

struct square {
	double scale;
	unsigned long n;
};

static const struct lt_opt square_opts[] = {
	LT_OPT_DOUBLE("scale", struct square, scale, 0, -1e9, 1e9, "factor of every value"),
	LT_OPT_END(),
};

static int metric_init(struct lt_metric *m)
{
	struct square *sq = calloc(1, sizeof(*sq));

	if (!sq)
		return -ENOMEM;
	sq->scale = 1;
	lt_metric_set_priv(m, sq);
	return 0;
}

static int metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			 size_t errlen)
{
	return lt_opts_set(square_opts, lt_metric_priv(m), key, value, err, errlen);
}

static int square_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct square *sq = lt_metric_priv(m);

	(void)dev;
	*value = sq->scale * (double)sq->n * (double)sq->n;
	sq->n++;
	return 0;
}

static void metric_free(struct lt_metric *m)
{
	free(lt_metric_priv(m));
	lt_metric_set_priv(m, NULL);
}

static const struct lt_device_driver square_driver = {
	.name = "square",
	.metric_init = metric_init,
	.metric_option = metric_option,
	.read = square_read,
	.metric_free = metric_free,
};

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &square_driver, err, errlen);
}

LT_PACKAGE(.name = "square", .version = "1.0", .init = init);
