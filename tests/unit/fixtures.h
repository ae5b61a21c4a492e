/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hand-built models for the tests of the sampler and the publisher: a fake
 * device driver whose reads return a per-metric counter, and a fake DCC that
 * records every published batch. Building the model by hand keeps these
 * tests independent of the configuration parser.
 */
#ifndef LT_FIXTURES_H
#define LT_FIXTURES_H

#include "model.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- fake device: metric value = number of reads so far --------------- */
struct fake_metric {
	unsigned reads;
};

static int fake_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	struct fake_metric *f = m->priv;

	(void)dev;
	*v = f->reads++;
	return 0;
}

static const struct lt_device_driver fake_device_driver = { .name = "fake", .read = fake_read };

/* ---- fake DCC: keeps every batch -------------------------------------- */
struct fake_batch {
	uint32_t metric_id;
	size_t n;
	struct lt_sample s[16];
};

struct fake_dcc {
	pthread_mutex_t lock; /* the test reads while the publisher writes */
	struct fake_batch *batches;
	size_t nbatches, cap;
	uint64_t samples;
};

static int fake_register(struct lt_dcc *dcc, const struct lt_entity *e, const struct lt_reg *parent,
			 struct lt_reg *reg)
{
	(void)dcc;
	reg->id = xasprintf("%s/%s", parent ? parent->id : "", e->name);
	return 0;
}

static int fake_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			size_t n)
{
	struct fake_dcc *f = dcc->priv;

	(void)reg;
	pthread_mutex_lock(&f->lock);
	if (f->nbatches == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->batches = xrealloc(f->batches, f->cap * sizeof(*f->batches));
	}
	struct fake_batch *b = &f->batches[f->nbatches++];
	b->metric_id = s[0].metric_id;
	b->n = n;
	memcpy(b->s, s, (n < 16 ? n : 16) * sizeof(*s));
	f->samples += n;
	pthread_mutex_unlock(&f->lock);
	lt_count(&dcc->stats.samples_in, n);
	lt_count(&dcc->stats.sent, n);
	return (int)n;
}

static void fake_poll(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline)
{
	(void)dcc;
	(void)deadline;
	pfd->fd = -1;
}

static void fake_dispatch(struct lt_dcc *dcc, short revents, int64_t now)
{
	(void)dcc;
	(void)revents;
	(void)now;
}

static const struct lt_dcc_driver fake_dcc_driver = { .name = "fake",
						      .register_entity = fake_register,
						      .publish = fake_publish,
						      .poll = fake_poll,
						      .dispatch = fake_dispatch };

/*
 * A model of @ndcc fake DCCs and @ndev fake devices with @nmet metrics each,
 * every metric with @interval_ns and @agg, publishing to every DCC.
 */
static inline struct lt_model *fixture_model(unsigned ndcc, unsigned ndev, unsigned nmet,
					     uint64_t interval_ns, unsigned agg)
{
	struct lt_model *m = xcalloc(1, sizeof(*m));

	m->edge.name = xstrdup("edge");
	strcpy(m->edge.id, "00000000-0000-5000-8000-000000000000");
	m->daemon.lane_capacity = 1024;
	m->ndccs = ndcc;
	m->dccs = xcalloc(ndcc, sizeof(*m->dccs));
	for (unsigned i = 0; i < ndcc; i++) {
		struct lt_dcc *d = xcalloc(1, sizeof(*d));
		struct fake_dcc *f = xcalloc(1, sizeof(*f));

		pthread_mutex_init(&f->lock, NULL);
		d->name = xasprintf("dcc%u", i);
		d->drv = &fake_dcc_driver;
		d->priv = f;
		d->index = i;
		m->dccs[i] = d;
	}
	m->ndevices = ndev;
	m->devices = xcalloc(ndev, sizeof(*m->devices));
	m->nmetrics = ndev * nmet;
	m->metrics = xcalloc(m->nmetrics, sizeof(*m->metrics));
	for (unsigned i = 0; i < ndev; i++) {
		struct lt_device *dev = xcalloc(1, sizeof(*dev));

		dev->name = xasprintf("dev%u", i);
		dev->drv = &fake_device_driver;
		dev->index = i;
		dev->regs = xcalloc(ndcc, sizeof(*dev->regs));
		dev->nmetrics = nmet;
		dev->metrics = xcalloc(nmet, sizeof(*dev->metrics));
		for (unsigned j = 0; j < nmet; j++) {
			struct lt_metric *mt = xcalloc(1, sizeof(*mt));

			mt->id = i * nmet + j;
			mt->dev_index = j;
			mt->name = xasprintf("m%u", j);
			mt->fullname = xasprintf("dev%u.m%u", i, j);
			mt->unit = xstrdup("");
			mt->interval_ns = interval_ns;
			mt->aggregation = agg;
			mt->device = dev;
			mt->priv = xcalloc(1, sizeof(struct fake_metric));
			mt->ntargets = ndcc;
			mt->targets = xcalloc(ndcc, sizeof(*mt->targets));
			for (unsigned t = 0; t < ndcc; t++) {
				mt->targets[t].dcc = m->dccs[t];
				mt->targets[t].reg.id = xasprintf("%s.%s", dev->name, mt->name);
			}
			dev->metrics[j] = mt;
			m->metrics[mt->id] = mt;
		}
		m->devices[i] = dev;
	}
	return m;
}

static inline void fixture_free(struct lt_model *m)
{
	for (unsigned i = 0; i < m->nmetrics; i++) {
		struct lt_metric *mt = m->metrics[i];

		for (unsigned t = 0; t < mt->ntargets; t++)
			free(mt->targets[t].reg.id);
		free(mt->targets);
		free(mt->priv);
		free(mt->name);
		free(mt->fullname);
		free(mt->unit);
		free(mt->filter);
		free(mt);
	}
	for (unsigned i = 0; i < m->ndevices; i++) {
		for (unsigned d = 0; d < m->ndccs; d++)
			free(m->devices[i]->regs[d].id);
		free(m->devices[i]->regs);
		free(m->devices[i]->metrics);
		free(m->devices[i]->name);
		free(m->devices[i]);
	}
	for (unsigned i = 0; i < m->ndccs; i++) {
		struct fake_dcc *f = m->dccs[i]->priv;

		free(f->batches);
		pthread_mutex_destroy(&f->lock);
		free(f);
		free(m->dccs[i]->edge_reg.id);
		free(m->dccs[i]->name);
		free(m->dccs[i]);
	}
	free(m->metrics);
	free(m->devices);
	free(m->dccs);
	free(m->edge.name);
	free(m);
}

#endif
