/* SPDX-License-Identifier: BSD-2-Clause */
/* Accessors of the SDK (include/liota/liota.h) over the daemon's model. */
#include "model.h"

const char *lt_device_name(const struct lt_device *dev)
{
	return dev->name;
}

void *lt_device_priv(const struct lt_device *dev)
{
	return dev->priv;
}

void lt_device_set_priv(struct lt_device *dev, void *priv)
{
	dev->priv = priv;
}

unsigned lt_device_nmetrics(const struct lt_device *dev)
{
	return dev->nmetrics;
}

struct lt_metric *lt_device_metric(const struct lt_device *dev, unsigned i)
{
	return i < dev->nmetrics ? dev->metrics[i] : NULL;
}

const char *lt_metric_fullname(const struct lt_metric *m)
{
	return m->fullname;
}

const char *lt_metric_name(const struct lt_metric *m)
{
	return m->name;
}

struct lt_device *lt_metric_device(const struct lt_metric *m)
{
	return m->device;
}

const char *lt_metric_unit(const struct lt_metric *m)
{
	return m->unit ? m->unit : "";
}

uint64_t lt_metric_interval_ns(const struct lt_metric *m)
{
	return m->interval_ns;
}

void *lt_metric_priv(const struct lt_metric *m)
{
	return m->priv;
}

void lt_metric_set_priv(struct lt_metric *m, void *priv)
{
	m->priv = priv;
}

const char *lt_dcc_name(const struct lt_dcc *dcc)
{
	return dcc->name;
}

void *lt_dcc_priv(const struct lt_dcc *dcc)
{
	return dcc->priv;
}

void lt_dcc_set_priv(struct lt_dcc *dcc, void *priv)
{
	dcc->priv = priv;
}

struct lt_dcc_stats *lt_dcc_stats(struct lt_dcc *dcc)
{
	return &dcc->stats;
}
