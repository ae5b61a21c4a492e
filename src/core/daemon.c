/* SPDX-License-Identifier: BSD-2-Clause */
#include "daemon.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Does any metric of @dev publish to @dcc? */
static bool device_uses(const struct lt_device *dev, const struct lt_dcc *dcc)
{
	for (unsigned i = 0; i < dev->nmetrics; i++)
		for (unsigned t = 0; t < dev->metrics[i]->ntargets; t++)
			if (dev->metrics[i]->targets[t].dcc == dcc)
				return true;
	return false;
}

/* A metric's unit strings are NULL in models not built by config.c (tests). */
static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static void reg(struct lt_dcc *dcc, const struct lt_entity *e, const struct lt_reg *parent,
		struct lt_reg *r)
{
	int ret = dcc->drv->register_entity(dcc, e, parent, r);

	if (ret < 0) {
		free(r->id);
		r->id = NULL;
		lt_dcc_log(dcc, LOG_ERR, "registration of %s failed: %s", e->name, strerror(-ret));
	}
}

/*
 * Register the edge system, then devices, then metrics, as liota did;
 * what is registered already (kept across a reload) is left alone.
 */
void daemon_register_missing(struct lt_model *m)
{
	for (unsigned d = 0; d < m->ndccs; d++) {
		struct lt_dcc *dcc = m->dccs[d];
		struct lt_entity e = { .kind = LT_ENTITY_EDGE,
				       .name = m->edge.name,
				       .type = "edge",
				       .id = m->edge.id };

		if (!dcc->edge_reg.id)
			reg(dcc, &e, NULL, &dcc->edge_reg);
	}
	for (unsigned i = 0; i < m->ndevices; i++) {
		struct lt_device *dev = m->devices[i];

		for (unsigned d = 0; d < m->ndccs; d++) {
			struct lt_dcc *dcc = m->dccs[d];
			struct lt_entity e = { .kind = LT_ENTITY_DEVICE,
					       .name = dev->name,
					       .type = dev->drv->name,
					       .props = dev->props,
					       .nprops = dev->nprops };

			if (dcc->edge_reg.id && !dev->regs[d].id && device_uses(dev, dcc))
				reg(dcc, &e, &dcc->edge_reg, &dev->regs[d]);
		}
	}
	for (unsigned i = 0; i < m->nmetrics; i++) {
		struct lt_metric *met = m->metrics[i];

		for (unsigned t = 0; t < met->ntargets; t++) {
			struct lt_target *tg = &met->targets[t];
			struct lt_reg *parent = &met->device->regs[tg->dcc->index];
			struct lt_entity e = { .kind = LT_ENTITY_METRIC,
					       .name = met->name,
					       .type = "metric",
					       .unit = or_empty(met->pub_unit ? met->pub_unit
									      : met->unit),
					       .unit_prefix = or_empty(met->pub_unit_prefix),
					       .unit_name = or_empty(met->pub_unit_name) };

			if (parent->id && !tg->reg.id)
				reg(tg->dcc, &e, parent, &tg->reg);
		}
	}
}

void daemon_unreg(struct lt_dcc *dcc, struct lt_reg *r)
{
	if (r->id && dcc->drv->unregister)
		dcc->drv->unregister(dcc, r);
	free(r->id);
	r->id = NULL;
	r->priv = NULL;
}

/* Unregister in the reverse order: metrics, devices, the edge system. */
static void unregister_all(struct lt_model *m)
{
	for (unsigned i = 0; i < m->nmetrics; i++)
		for (unsigned t = 0; t < m->metrics[i]->ntargets; t++)
			daemon_unreg(m->metrics[i]->targets[t].dcc, &m->metrics[i]->targets[t].reg);
	for (unsigned i = 0; i < m->ndevices; i++)
		for (unsigned d = 0; d < m->ndccs; d++)
			daemon_unreg(m->dccs[d], &m->devices[i]->regs[d]);
	for (unsigned d = 0; d < m->ndccs; d++)
		daemon_unreg(m->dccs[d], &m->dccs[d]->edge_reg);
}

static void stop_dccs(struct lt_model *m, unsigned n)
{
	for (unsigned d = 0; d < n; d++)
		if (m->dccs[d]->drv->stop)
			m->dccs[d]->drv->stop(m->dccs[d]);
}

/*
 * Lanes are cheap until written (the memfd's pages are allocated on first
 * touch), and a device a reload adds must find a free one: running out
 * means restarting everything.
 */
unsigned daemon_spare_lanes(unsigned ndevices)
{
	return ndevices / 4 > 16 ? ndevices / 4 : 16;
}

int daemon_start(struct lt_model *model, uint64_t generation, struct daemon **out, char *err,
		 size_t errlen)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	unsigned started = 0, nlanes = model->ndevices + daemon_spare_lanes(model->ndevices);
	char derr[256];
	int r;

	d->model = model;
	sdk_set_state_dir(model->daemon.state_dir);
	r = lt_ring_new(nlanes, model->daemon.lane_capacity, generation, &d->ring);
	if (r < 0) {
		snprintf(err, errlen, "cannot create the sample ring: %s", strerror(-r));
		goto err_free;
	}
	for (; started < model->ndccs; started++) {
		struct lt_dcc *dcc = model->dccs[started];

		derr[0] = '\0';
		r = dcc->drv->start ? dcc->drv->start(dcc, derr, sizeof(derr)) : 0;
		if (r < 0) {
			snprintf(err, errlen, "dcc %s: cannot start: %s", dcc->name,
				 derr[0] ? derr : strerror(-r));
			goto err_stop_dccs;
		}
	}
	daemon_register_missing(model);
	r = publisher_init(&d->pub, model, d->ring);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the publisher: %s", strerror(-r));
		goto err_unregister;
	}
	r = publisher_start(&d->pub);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the publisher: %s", strerror(-r));
		goto err_pub;
	}
	d->samplers = xcalloc(model->ndevices + 1, sizeof(*d->samplers));
	for (unsigned i = 0; i < model->ndevices; i++) {
		d->samplers[i] = xcalloc(1, sizeof(*d->samplers[i]));
		d->samplers[i]->dev = model->devices[i];
		d->samplers[i]->ring = d->ring;
		d->samplers[i]->lane = model->devices[i]->lane = i;
		r = sampler_start(d->samplers[i]);
		if (r < 0) {
			snprintf(err, errlen, "device %s: cannot start its sampler: %s",
				 model->devices[i]->name, strerror(-r));
			for (unsigned j = 0; j <= i; j++) {
				sampler_stop(d->samplers[j]);
				free(d->samplers[j]);
			}
			free(d->samplers);
			publisher_stop(&d->pub, 0);
			goto err_pub;
		}
	}
	d->started_mono_ns = lt_mono_ns();
	*out = d;
	return 0;

err_pub:
	publisher_destroy(&d->pub);
err_unregister:
	unregister_all(model);
err_stop_dccs:
	stop_dccs(model, started);
	lt_ring_free(d->ring);
err_free:
	free(d);
	return r;
}

/* Counters were added to the totals: a model started again counts from zero. */
static void reset_counters(struct lt_model *m)
{
	for (unsigned i = 0; i < m->nmetrics; i++) {
		atomic_store(&m->metrics[i]->samples, 0);
		atomic_store(&m->metrics[i]->ring_dropped, 0);
		atomic_store(&m->metrics[i]->errors, 0);
		atomic_store(&m->metrics[i]->late, 0);
		if (!m->metrics[i]->filter)
			continue;
		for (int v = 0; v < FILTER_VERDICTS; v++)
			atomic_store(&m->metrics[i]->filter->counts[v], 0);
		/* And the filters' state, as a sampler started anew had it. */
		memset(&m->metrics[i]->filter->state, 0, sizeof(m->metrics[i]->filter->state));
	}
	for (unsigned i = 0; i < m->ndccs; i++)
		memset(&m->dccs[i]->stats, 0, sizeof(m->dccs[i]->stats));
	for (unsigned i = 0; i < m->ndevices; i++)
		atomic_store(&m->devices[i]->read_errors, 0);
}

/*
 * See struct lt_totals. The DCCs count what they were handed (samples_in)
 * as sent, dropped or pending; what the ring lost is dropped once per DCC
 * of its metric; the rest of the deliveries (taken, not lost in the ring,
 * not handed to a DCC yet) is in the ring or a partial batch: pending.
 */
void daemon_totals(const struct daemon *d, struct lt_totals *t)
{
	const struct lt_model *m = d->model;
	uint64_t handed = 0, lost = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < m->ndccs; i++) {
		const struct lt_dcc_stats *s = &m->dccs[i]->stats;

		handed += lt_count_get(&s->samples_in);
		t->published += lt_count_get(&s->sent);
		t->dropped += lt_count_get(&s->dropped);
		t->pending += lt_count_get(&s->pending);
		t->recovered += lt_count_get(&s->recovered);
		t->spooled += lt_count_get(&s->spooled);
	}
	/* Metrics last: a sample handed to a DCC above was taken before. */
	for (unsigned i = 0; i < m->nmetrics; i++) {
		const struct lt_metric *met = m->metrics[i];
		uint64_t taken = atomic_load_explicit(&met->samples, memory_order_relaxed);
		uint64_t kept = model_metric_kept_back(met);

		t->taken += taken;
		t->filtered += kept;
		/* A racing read may see a verdict counted before its sample. */
		t->deliveries += (taken > kept ? taken - kept : 0) * met->ntargets;
		lost += met->ntargets *
			atomic_load_explicit(&met->ring_dropped, memory_order_relaxed);
		t->errors += atomic_load_explicit(&met->errors, memory_order_relaxed);
	}
	t->taken += d->gone.taken;
	t->filtered += d->gone.filtered;
	t->deliveries += d->gone.deliveries;
	t->errors += d->gone.errors;
	lost += d->gone.lost;
	handed += d->gone.handed;
	t->published += d->gone.published;
	t->dropped += d->gone.dropped;
	t->pending += d->gone.pending;
	t->recovered += d->gone.recovered;
	t->spooled += d->gone.spooled;
	t->dropped += lost;
	/* Only a reader racing the threads could see more handed than taken. */
	if (t->deliveries >= lost + handed)
		t->pending += t->deliveries - lost - handed;
}

void daemon_totals_add(struct lt_totals *acc, const struct lt_totals *t)
{
	acc->taken += t->taken;
	acc->filtered += t->filtered;
	acc->deliveries += t->deliveries;
	acc->published += t->published;
	acc->dropped += t->dropped;
	acc->pending += t->pending;
	acc->errors += t->errors;
	acc->recovered += t->recovered;
	acc->spooled += t->spooled;
}

const char *daemon_stalled(const struct daemon *d, uint64_t now_ns, uint64_t limit_ns,
			   uint64_t *busy_ns)
{
	uint64_t t = lt_beat_busy_for(&d->pub.beat, now_ns, NULL);

	if (t >= limit_ns) {
		*busy_ns = t;
		return "publisher";
	}
	for (unsigned i = 0; i < d->model->ndevices; i++) {
		t = lt_beat_busy_for(&d->samplers[i]->beat, now_ns, NULL);
		if (t >= limit_ns) {
			*busy_ns = t;
			return d->model->devices[i]->name;
		}
	}
	return NULL;
}

void daemon_stop(struct daemon *d, struct lt_totals *acc)
{
	struct lt_model *m;
	struct lt_totals t;

	if (!d)
		return;
	m = d->model;
	/* Producers first, so that the publisher's last drain sees every record. */
	for (unsigned i = 0; i < m->ndevices; i++)
		sampler_request_stop(d->samplers[i]);
	for (unsigned i = 0; i < m->ndevices; i++)
		sampler_stop(d->samplers[i]);
	publisher_stop(&d->pub, m->daemon.flush_timeout_ns);
	unregister_all(m);
	/* Counted after the DCCs' stop, which drops (and counts) what they still hold. */
	stop_dccs(m, m->ndccs);
	daemon_totals(d, &t);
	if (acc)
		daemon_totals_add(acc, &t);
	publisher_destroy(&d->pub);
	for (unsigned i = 0; i < m->ndevices; i++)
		free(d->samplers[i]);
	free(d->samplers);
	lt_ring_free(d->ring);
	free(d);
	reset_counters(m);
}
