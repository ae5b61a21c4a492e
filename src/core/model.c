/* SPDX-License-Identifier: BSD-2-Clause */
/* Lookups in a model and its destruction (the model is built by config.c). */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "devdisc.h"

#include <liota/mqtt.h>

char lt_no_unit[] = "";

struct lt_dcc *model_find_dcc(const struct lt_model *m, const char *name)
{
	for (unsigned i = 0; i < m->ndccs; i++)
		if (strcmp(m->dccs[i]->name, name) == 0)
			return m->dccs[i];
	return NULL;
}

struct lt_device *model_find_device(const struct lt_model *m, const char *name)
{
	for (unsigned i = 0; i < m->ndevices; i++)
		if (strcmp(m->devices[i]->name, name) == 0)
			return m->devices[i];
	return NULL;
}

struct lt_metric *model_find_metric(const struct lt_model *m, const char *fullname)
{
	for (unsigned i = 0; i < m->nmetrics; i++)
		if (strcmp(m->metrics[i]->fullname, fullname) == 0)
			return m->metrics[i];
	return NULL;
}

struct lt_metric *model_device_metric(const struct lt_device *dev, const char *name, unsigned hint)
{
	if (hint < dev->nmetrics && strcmp(dev->metrics[hint]->name, name) == 0)
		return dev->metrics[hint];
	for (unsigned j = 0; j < dev->nmetrics; j++)
		if (strcmp(dev->metrics[j]->name, name) == 0)
			return dev->metrics[j];
	return NULL;
}

uint32_t model_id_bound(const struct lt_model *m)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < m->nmetrics; i++)
		if (m->metrics[i]->id >= n)
			n = m->metrics[i]->id + 1;
	return n;
}

uint64_t model_metric_kept_back(const struct lt_metric *mt)
{
	uint64_t n = 0;

	if (!mt->filter)
		return 0;
	for (int v = FILTER_DROP_RANGE; v < FILTER_VERDICTS; v++)
		n += atomic_load_explicit(&mt->filter->counts[v], memory_order_relaxed);
	return n;
}

/*
 * A driver is set on a device or DCC only once its init callback succeeded,
 * so its free callbacks run exactly for the objects it initialised.
 */
static void metric_free(struct lt_metric *mt)
{
	const struct lt_device_driver *drv = mt->device ? mt->device->drv : NULL;

	if (drv && drv->metric_free)
		drv->metric_free(mt);
	for (unsigned i = 0; i < mt->ntargets; i++)
		free(mt->targets[i].reg.id);
	free(mt->targets);
	free(mt->fullname); /* and name, within it */
	if (mt->unit != lt_no_unit)
		free(mt->unit);
	if (mt->pub_unit != lt_no_unit)
		free(mt->pub_unit);
	free(mt->pub_unit_prefix);
	free(mt->pub_unit_name);
	free(mt->filter);
	free(mt);
}

static void device_free(struct lt_device *dev, unsigned ndccs)
{
	if (dev->drv && dev->drv->device_free)
		dev->drv->device_free(dev);
	if (dev->regs)
		for (unsigned i = 0; i < ndccs; i++)
			free(dev->regs[i].id);
	free(dev->regs);
	for (unsigned i = 0; i < dev->nprops; i++) {
		free((char *)dev->props[i].key);
		free((char *)dev->props[i].value);
	}
	free(dev->props);
	free(dev->metrics);
	free(dev->name);
	free(dev->conf);
	free(dev);
}

void model_drop_last_device(struct lt_model *m)
{
	struct lt_device *dev = m->devices[--m->ndevices];

	while (m->nmetrics && m->metrics[m->nmetrics - 1]->device == dev)
		metric_free(m->metrics[--m->nmetrics]);
	device_free(dev, m->ndccs);
}

static void dcc_free(struct lt_dcc *dcc)
{
	if (dcc->drv && dcc->drv->free)
		dcc->drv->free(dcc);
	free(dcc->edge_reg.id);
	for (unsigned i = 0; i < dcc->nendpoints; i++)
		free(dcc->endpoints[i]);
	free(dcc->endpoints);
	free(dcc->name);
	free(dcc->conf);
	free(dcc);
}

static void discovery_conf_free(struct lt_discovery_conf *c)
{
	for (unsigned i = 0; i < c->ntypes; i++) {
		free((char *)c->types[i].type);
		free((char *)c->types[i].unique_key);
		free(c->profiles[i]);
	}
	free(c->types);
	free(c->profiles);
	free(c->pipe);
	if (c->mqtt)
		c->mqtt_api->conf_free(c->mqtt);
	free(c->mqtt_topic);
	free(c->mqtt_canon);
}

void model_free(struct lt_model *m)
{
	if (!m)
		return;
	/* Metrics before their devices: metric_free may still look at the device. */
	for (unsigned i = 0; i < m->nmetrics; i++)
		metric_free(m->metrics[i]);
	for (unsigned i = 0; i < m->ndevices; i++)
		device_free(m->devices[i], m->ndccs);
	for (unsigned i = 0; i < m->ndccs; i++)
		dcc_free(m->dccs[i]);
	for (unsigned i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->metrics);
	free(m->devices);
	free(m->dccs);
	free(m->files);
	free(m->edge.name);
	free(m->core_conf);
	free(m->daemon.runtime_dir);
	free(m->daemon.state_dir);
	free(m->daemon.package_dir);
	free(m->daemon.packages);
	discovery_conf_free(&m->discovery);
	free(m);
}
