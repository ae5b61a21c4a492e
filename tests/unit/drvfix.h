/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One device of a device driver and its metrics, built by hand as the
 * configuration loader builds them, for the drivers' unit tests
 * (test_devices, test_can, test_gpio, test_iio): options are given to the
 * driver's callbacks directly, and f->err holds the last one's message.
 */
#ifndef LT_DRVFIX_H
#define LT_DRVFIX_H

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct fx {
	struct lt_device *dev;
	char err[256];
	char dir[256]; /* a scratch folder, for the tests that make one */
	int opened;    /* the driver's open succeeded: close is due */
};

/* A device called @devname of @drv, its device_init done. */
static inline void fx_setup(struct fx *f, const struct lt_device_driver *drv, const char *devname)
{
	memset(f, 0, sizeof(*f));
	f->dev = calloc(1, sizeof(*f->dev));
	ck_assert_ptr_nonnull(f->dev);
	f->dev->name = strdup(devname);
	f->dev->drv = drv;
	if (drv->device_init)
		ck_assert_int_eq(drv->device_init(f->dev), 0);
}

static inline int fx_dev_opt(struct fx *f, const char *key, const char *value)
{
	f->err[0] = '\0';
	return f->dev->drv->device_option(f->dev, key, value, f->err, sizeof(f->err));
}

/* A metric of the device, its metric_init done: @interval_ns 0 when its section has none. */
static inline struct lt_metric *fx_new_metric(struct fx *f, const char *name, const char *unit,
					      uint64_t interval_ns)
{
	struct lt_device *dev = f->dev;
	struct lt_metric *m = calloc(1, sizeof(*m));
	char full[160];

	ck_assert_ptr_nonnull(m);
	snprintf(full, sizeof(full), "%s.%s", dev->name, name);
	m->name = strdup(name);
	m->fullname = strdup(full);
	m->unit = strdup(unit);
	m->device = dev;
	m->interval_ns = interval_ns;
	m->aggregation = 1;
	m->id = dev->nmetrics;
	m->dev_index = dev->nmetrics;
	dev->metrics = realloc(dev->metrics, (dev->nmetrics + 1) * sizeof(*dev->metrics));
	ck_assert_ptr_nonnull(dev->metrics);
	dev->metrics[dev->nmetrics++] = m;
	if (dev->drv->metric_init)
		ck_assert_int_eq(dev->drv->metric_init(m), 0);
	return m;
}

static inline int fx_opt(struct fx *f, struct lt_metric *m, const char *key, const char *value)
{
	f->err[0] = '\0';
	return f->dev->drv->metric_option(m, key, value, f->err, sizeof(f->err));
}

static inline int fx_check(struct fx *f, struct lt_metric *m)
{
	f->err[0] = '\0';
	return f->dev->drv->metric_check ? f->dev->drv->metric_check(m, f->err, sizeof(f->err)) : 0;
}

/* Options of @m (key, value, ..., NULL) that must all be taken. */
static inline void fx_opts_va(struct fx *f, struct lt_metric *m, va_list ap)
{
	const char *k, *v;

	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		ck_assert_msg(fx_opt(f, m, k, v) == 0, "%s = %s: %s", k, v, f->err);
	}
}

/* Close the device if it was opened, then free its metrics and itself. */
static inline void fx_release(struct fx *f)
{
	struct lt_device *dev = f->dev;

	if (f->opened && dev->drv->close)
		dev->drv->close(dev);
	for (unsigned i = 0; i < dev->nmetrics; i++) {
		struct lt_metric *m = dev->metrics[i];

		if (dev->drv->metric_free)
			dev->drv->metric_free(m);
		free(m->name);
		free(m->fullname);
		free(m->unit);
		free(m);
	}
	if (dev->drv->device_free)
		dev->drv->device_free(dev);
	free(dev->metrics);
	free(dev->name);
	free(dev);
}

#endif
