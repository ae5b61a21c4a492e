/* SPDX-License-Identifier: BSD-2-Clause */
/* The difference between two models (see diff.h). */
#include "diff.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int dcc_index(const struct lt_model *m, const char *name)
{
	const struct lt_dcc *d = model_find_dcc(m, name);

	return d ? (int)d->index : -1;
}

/* Do @a and @b publish to DCCs of the same names? */
static bool targets_same(const struct lt_metric *a, const struct lt_metric *b)
{
	if (a->ntargets != b->ntargets)
		return false;
	for (unsigned i = 0; i < a->ntargets; i++) {
		bool found = false;

		for (unsigned j = 0; j < b->ntargets && !found; j++)
			found = strcmp(a->targets[i].dcc->name, b->targets[j].dcc->name) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* A device and its metrics, compared as one. */
static bool device_same(const struct lt_device *a, const struct lt_device *b)
{
	if (strcmp(a->conf, b->conf) != 0 || a->nmetrics != b->nmetrics)
		return false;
	for (unsigned i = 0; i < a->nmetrics; i++) {
		const struct lt_metric *ma = a->metrics[i],
				       *mb = model_device_metric(b, ma->name, i);

		if (!mb || ma->conf_hash != mb->conf_hash || !targets_same(ma, mb))
			return false;
	}
	return true;
}

static void dccs_compare(const struct lt_model *old, const struct lt_model *nm, struct lt_diff *d)
{
	for (unsigned i = 0; i < old->ndccs; i++)
		d->old_dcc[i] = LT_STOP;
	for (unsigned i = 0; i < nm->ndccs; i++) {
		int o = dcc_index(old, nm->dccs[i]->name);

		d->dcc_old[i] = o;
		if (o < 0)
			d->dcc[i] = LT_START;
		else if (strcmp(old->dccs[o]->conf, nm->dccs[i]->conf) == 0)
			d->dcc[i] = LT_KEEP;
		else
			d->dcc[i] = LT_RESTART;
		if (o >= 0)
			d->old_dcc[o] = d->dcc[i];
		d->dstart += d->dcc[i] == LT_START;
		d->drestart += d->dcc[i] == LT_RESTART;
		d->dkeep += d->dcc[i] == LT_KEEP;
	}
	d->dstop = old->ndccs - d->drestart - d->dkeep;
}

static void devices_compare(const struct lt_model *old, const struct lt_model *nm,
			    struct lt_diff *d)
{
	for (unsigned i = 0; i < old->ndevices; i++)
		d->old_dev[i] = LT_STOP;
	for (unsigned i = 0; i < nm->ndevices; i++) {
		const struct lt_device *od = model_find_device(old, nm->devices[i]->name);

		d->dev_old[i] = od ? (int)od->index : -1;
		if (!od)
			d->dev[i] = LT_START;
		else if (device_same(od, nm->devices[i]))
			d->dev[i] = LT_KEEP;
		else
			d->dev[i] = LT_RESTART;
		if (od)
			d->old_dev[od->index] = d->dev[i];
		d->nstart += d->dev[i] == LT_START;
		d->nrestart += d->dev[i] == LT_RESTART;
		d->nkeep += d->dev[i] == LT_KEEP;
	}
	d->nstop = old->ndevices - d->nrestart - d->nkeep;
}

/* Lanes: kept and restarted devices keep theirs, new ones take free ones. */
static void lanes_assign(const struct lt_model *old, const struct lt_model *nm, unsigned nlanes,
			 struct lt_diff *d)
{
	bool *used = xcalloc(nlanes, sizeof(*used));
	unsigned next = 0;

	for (unsigned i = 0; i < nm->ndevices; i++) {
		if (d->dev[i] == LT_START)
			continue;
		d->lane[i] = old->devices[d->dev_old[i]]->lane;
		if (d->lane[i] < nlanes)
			used[d->lane[i]] = true;
	}
	for (unsigned i = 0; i < nm->ndevices; i++) {
		if (d->dev[i] != LT_START)
			continue;
		while (next < nlanes && used[next])
			next++;
		if (next == nlanes) {
			d->lanes_short = true;
			break;
		}
		d->lane[i] = next;
		used[next] = true;
	}
	free(used);
}

/* Ids: kept metrics keep theirs; the others take ids no old metric had. */
static void ids_assign(const struct lt_model *old, const struct lt_model *nm, struct lt_diff *d)
{
	uint32_t bound = model_id_bound(old) + nm->nmetrics, next = 0;
	bool *used = xcalloc(bound, sizeof(*used));

	for (unsigned i = 0; i < old->nmetrics; i++)
		used[old->metrics[i]->id] = true;
	for (unsigned i = 0; i < nm->nmetrics; i++) {
		const struct lt_metric *mt = nm->metrics[i];
		const struct lt_metric *om;

		d->metric_id[i] = UINT32_MAX;
		if (d->dev[mt->device->index] != LT_KEEP)
			continue;
		/* A kept device has the same metrics (device_same()). */
		om = model_device_metric(old->devices[d->dev_old[mt->device->index]], mt->name,
					 mt->dev_index);
		d->metric_id[i] = om->id;
	}
	for (unsigned i = 0; i < nm->nmetrics; i++) {
		if (d->metric_id[i] != UINT32_MAX)
			continue;
		while (used[next])
			next++;
		d->metric_id[i] = next;
		used[next] = true;
	}
	free(used);
}

int lt_diff_compute(const struct lt_model *old, const struct lt_model *nm, unsigned nlanes,
		    struct lt_diff *out)
{
	struct lt_diff *d = out;

	memset(d, 0, sizeof(*d));
	d->whole = strcmp(old->core_conf ? old->core_conf : "",
			  nm->core_conf ? nm->core_conf : "") != 0;
	d->dcc = xcalloc(nm->ndccs + 1, sizeof(*d->dcc));
	d->dcc_old = xcalloc(nm->ndccs + 1, sizeof(*d->dcc_old));
	d->old_dcc = xcalloc(old->ndccs + 1, sizeof(*d->old_dcc));
	d->dev = xcalloc(nm->ndevices + 1, sizeof(*d->dev));
	d->dev_old = xcalloc(nm->ndevices + 1, sizeof(*d->dev_old));
	d->old_dev = xcalloc(old->ndevices + 1, sizeof(*d->old_dev));
	d->lane = xcalloc(nm->ndevices + 1, sizeof(*d->lane));
	d->metric_id = xcalloc(nm->nmetrics + 1, sizeof(*d->metric_id));
	dccs_compare(old, nm, d);
	devices_compare(old, nm, d);
	lanes_assign(old, nm, nlanes, d);
	ids_assign(old, nm, d);
	return 0;
}

void lt_diff_free(struct lt_diff *d)
{
	free(d->dcc);
	free(d->dcc_old);
	free(d->old_dcc);
	free(d->dev);
	free(d->dev_old);
	free(d->old_dev);
	free(d->lane);
	free(d->metric_id);
	memset(d, 0, sizeof(*d));
}
