/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The packages test_pkg loads: one source, built once per variant
 * (-DPKG_<name>) into tests/unit/pkgs/<name>.so against include/liota/
 * alone, as an out-of-tree package is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include <liota/package.h>

__attribute__((unused)) static int dev_read(struct lt_device *dev, struct lt_metric *m,
					    double *value)
{
	(void)dev;
	(void)m;
	*value = 42;
	return 0;
}

__attribute__((unused)) static int dcc_register(struct lt_dcc *dcc, const struct lt_entity *ent,
						const struct lt_reg *parent, struct lt_reg *reg)
{
	(void)dcc;
	(void)ent;
	(void)parent;
	(void)reg;
	return 0;
}

__attribute__((unused)) static int dcc_publish(struct lt_dcc *dcc, const struct lt_reg *reg,
					       const struct lt_sample *s, size_t n)
{
	(void)dcc;
	(void)reg;
	(void)s;
	(void)n;
	return 0;
}

__attribute__((unused)) static void dcc_poll(struct lt_dcc *dcc, struct pollfd *pfd,
					     int64_t *deadline_ns)
{
	(void)dcc;
	(void)pfd;
	(void)deadline_ns;
}

__attribute__((unused)) static void dcc_dispatch(struct lt_dcc *dcc, short revents, int64_t now_ns)
{
	(void)dcc;
	(void)revents;
	(void)now_ns;
}

/* Each exit leaves a mark in $LT_TEST_PKG_EXITS, so the test sees it ran. */
__attribute__((unused)) static void mark_exit(struct lt_package_ctx *ctx, const char *name)
{
	const char *path = getenv("LT_TEST_PKG_EXITS");
	FILE *f = path ? fopen(path, "a") : NULL;

	(void)ctx;
	if (f) {
		fprintf(f, "%s\n", name);
		fclose(f);
	}
}

#if defined(PKG_good)
static const struct lt_device_driver drv = { .name = "good", .read = dev_read };
static const struct lt_device_driver drv2 = { .name = "good-two", .read = dev_read };

static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	int r = lt_package_add_device_driver(ctx, &drv, err, errlen);

	return r < 0 ? r : lt_package_add_device_driver(ctx, &drv2, err, errlen);
}
static void fini(struct lt_package_ctx *ctx)
{
	mark_exit(ctx, "good");
}
LT_PACKAGE(.name = "good", .version = "1.0", .init = init, .exit = fini);

#elif defined(PKG_needy)
static const struct lt_dcc_driver drv = { .name = "needy",
					  .register_entity = dcc_register,
					  .publish = dcc_publish,
					  .poll = dcc_poll,
					  .dispatch = dcc_dispatch };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_dcc_driver(ctx, &drv, err, errlen);
}
static void fini(struct lt_package_ctx *ctx)
{
	mark_exit(ctx, "needy");
}
LT_PACKAGE(.name = "needy", .version = "2.1", .depends = (const char *const[]){ "good", NULL },
	   .init = init, .exit = fini);

#elif defined(PKG_failinit)
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	snprintf(err, errlen, "the sensor bus is not there");
	return -ENODEV;
}
LT_PACKAGE(.name = "failinit", .version = "1", .depends = (const char *const[]){ "good", NULL },
	   .init = init);

#elif defined(PKG_nodispatch)
static const struct lt_dcc_driver drv = { .name = "nodispatch",
					  .register_entity = dcc_register,
					  .publish = dcc_publish,
					  .poll = dcc_poll };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_dcc_driver(ctx, &drv, err, errlen);
}
LT_PACKAGE(.name = "nodispatch", .version = "1", .init = init);

#elif defined(PKG_misnamed)
static const struct lt_device_driver drv = { .name = "sim", .read = dev_read };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &drv, err, errlen);
}
LT_PACKAGE(.name = "misnamed", .version = "1", .init = init);

#elif defined(PKG_badabi)
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}
__attribute__((visibility("default"))) const struct lt_package liota_package = {
	.abi = LT_SDK_ABI + 100, .name = "badabi", .version = "1", .init = init
};

#elif defined(PKG_cyca) || defined(PKG_cycb)
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}
#if defined(PKG_cyca)
LT_PACKAGE(.name = "cyca", .version = "1", .depends = (const char *const[]){ "cycb", NULL },
	   .init = init);
#else
LT_PACKAGE(.name = "cycb", .version = "1", .depends = (const char *const[]){ "cyca", NULL },
	   .init = init);
#endif

#elif defined(PKG_wrongname)
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}
/* Built as wrongname.so, says it is "good": refused, it would shadow good.so. */
LT_PACKAGE(.name = "good", .version = "1", .init = init);

#elif defined(PKG_provider)
/* An API for other packages (as transport-stream serves DCCs): answer() returns 42. */
struct answer_api {
	int (*answer)(void);
};
static int answer(void)
{
	return 42;
}
static const struct answer_api api = { answer };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_provide(ctx, &api, err, errlen);
}
static void fini(struct lt_package_ctx *ctx)
{
	mark_exit(ctx, "provider");
}
LT_PACKAGE(.name = "provider", .version = "1", .init = init, .exit = fini);

#elif defined(PKG_consumer) || defined(PKG_user)
struct answer_api {
	int (*answer)(void);
};
static const struct answer_api *api;
static int read_answer(struct lt_device *dev, struct lt_metric *m, double *value)
{
	(void)dev;
	(void)m;
	*value = api ? api->answer() : -1;
	return 0;
}
#if defined(PKG_consumer)
/* Gets the API in its init: provider is in its depends. */
static const struct lt_device_driver drv = { .name = "consumer", .read = read_answer };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	api = lt_package_api(ctx, "provider");
	if (!api)
		return snprintf(err, errlen, "no provider API"), -ENOENT;
	if (lt_package_api(ctx, "good"))
		return snprintf(err, errlen, "the API of a package it does not depend on"), -EINVAL;
	return lt_package_add_device_driver(ctx, &drv, err, errlen);
}
LT_PACKAGE(.name = "consumer", .version = "1", .depends = (const char *const[]){ "provider", NULL },
	   .init = init);
#else
/* Uses the provider only when a device asks for it (device_init), as transport-tls is. */
static struct lt_package_ctx *self;
static int dev_init(struct lt_device *dev)
{
	const void *got;
	char err[256];
	int r = lt_package_use(self, "provider", &got, err, sizeof(err));

	(void)dev;
	if (r < 0)
		return r;
	api = got;
	return 0;
}
static const struct lt_device_driver drv = { .name = "user",
					     .device_init = dev_init,
					     .read = read_answer };
static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	const void *got;

	self = ctx;
	/* Too early: what init needs belongs in depends. */
	if (lt_package_use(ctx, "provider", &got, err, errlen) != -EBUSY)
		return snprintf(err, errlen, "lt_package_use() from init was not refused"), -EINVAL;
	return lt_package_add_device_driver(ctx, &drv, err, errlen);
}
static void fini(struct lt_package_ctx *ctx)
{
	mark_exit(ctx, "user");
}
LT_PACKAGE(.name = "user", .version = "1", .init = init, .exit = fini);
#endif

#else
#error "build with -DPKG_<variant>"
#endif
