/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The whole configuration loader (config_load in src/core/config.c, with
 * libinih and every driver's option parser): the input is liotad.conf; a
 * form feed splits off the rest as a drop-in, conf.d/50-fuzz.conf. A
 * refused file must give at most 100 lines "FILE:LINE: reason" naming one of
 * the two files and a line it has; an accepted one a consistent model (ids,
 * back-pointers, full names, targets, schedules), and loading it again must
 * give the same model; a file with a NUL or another control character
 * (but tab, and CR before LF) must be refused.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/intree.h"
#include "config.h"
#include "fuzz.h"

static char dir[64], main_path[96], dropin_path[112], id_path[96];

static void put(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "write %s", path);
	close(fd);
}

static void remove_dir(void)
{
	char p[96];

	unlink(main_path);
	unlink(dropin_path);
	unlink(id_path);
	snprintf(p, sizeof(p), "%s/conf.d", dir);
	rmdir(p);
	rmdir(dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[96];

	if (!tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/liotad-fuzz-XXXXXX", tmp);
	FUZZ_CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	snprintf(main_path, sizeof(main_path), "%s/liotad.conf", dir);
	snprintf(p, sizeof(p), "%s/conf.d", dir);
	FUZZ_CHECK(mkdir(p, 0700) == 0, "mkdir %s", p);
	snprintf(dropin_path, sizeof(dropin_path), "%s/50-fuzz.conf", p);
	snprintf(id_path, sizeof(id_path), "%s/machine-id", dir);
	put(id_path, (const uint8_t *)"0123456789abcdef0123456789abcdef\n", 33);
	atexit(remove_dir);
	/* Every driver is a package's: the in-tree ones, linked in, as the unit tests add them. */
	unit_intree();
}

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* A control character other than tab, or CR but before LF or at the end. */
static bool has_control(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((d[i] < 0x20 || d[i] == 0x7f) && d[i] != '\t' && d[i] != '\n' &&
		    !(d[i] == '\r' && (i + 1 == n || d[i + 1] == '\n')))
			return true;
	return false;
}

static void check_errors(const char *errors, size_t main_lines, size_t dropin_lines)
{
	unsigned n = 0;

	FUZZ_CHECK(errors && *errors, "refused without a reason");
	for (const char *l = errors; *l; n++) {
		const char *nl = strchr(l, '\n'), *end = nl ? nl : l + strlen(l);
		size_t lines = 0, plen = 0;

		if (!strncmp(l, main_path, strlen(main_path)))
			plen = strlen(main_path), lines = main_lines;
		else if (!strncmp(l, dropin_path, strlen(dropin_path)))
			plen = strlen(dropin_path), lines = dropin_lines;
		FUZZ_CHECK(plen && l[plen] == ':', "'%.*s' names no file of ours", (int)(end - l),
			   l);
		/* "FILE:LINE: reason", or "FILE: reason" about the file as a whole. */
		const char *p = l + plen + 1;
		if (*p != ' ') {
			char *e;
			unsigned long line = strtoul(p, &e, 10);

			FUZZ_CHECK(isdigit((unsigned char)*p) && line >= 1 && line <= lines &&
					   *e == ':',
				   "'%.*s': not a line of %zu", (int)(end - l), l, lines);
			p = e + 1;
		}
		FUZZ_CHECK(p[0] == ' ' && p + 1 < end && p[1] != ' ', "'%.*s': no reason",
			   (int)(end - l), l);
		l = nl ? nl + 1 : end;
	}
	FUZZ_CHECK(n >= 1 && n <= 100, "%u error lines", n);
}

static void check_model(const struct lt_model *m)
{
	unsigned total = 0;

	FUZZ_CHECK(strlen(m->edge.id) == 36, "edge id '%s'", m->edge.id);
	FUZZ_CHECK(m->daemon.lane_capacity &&
			   !(m->daemon.lane_capacity & (m->daemon.lane_capacity - 1)),
		   "lane_capacity %u", m->daemon.lane_capacity);
	for (unsigned i = 0; i < m->ndccs; i++)
		FUZZ_CHECK(m->dccs[i]->index == i && m->dccs[i]->drv && *m->dccs[i]->name, "dcc %u",
			   i);
	for (unsigned d = 0; d < m->ndevices; d++) {
		const struct lt_device *dev = m->devices[d];

		FUZZ_CHECK(dev->index == d && dev->drv && *dev->name, "device %u", d);
		for (unsigned k = 0; k < dev->nmetrics; k++) {
			const struct lt_metric *mt = dev->metrics[k];
			size_t dl = strlen(dev->name);

			FUZZ_CHECK(mt->device == dev && mt->dev_index == k, "%s", mt->fullname);
			FUZZ_CHECK(mt->id < m->nmetrics && m->metrics[mt->id] == mt, "%s",
				   mt->fullname);
			FUZZ_CHECK(!strncmp(mt->fullname, dev->name, dl) &&
					   mt->fullname[dl] == '.' &&
					   !strcmp(mt->fullname + dl + 1, mt->name),
				   "'%s' of '%s'", mt->fullname, dev->name);
			FUZZ_CHECK(mt->aggregation >= 1 &&
					   (mt->event_driven || mt->interval_ns > 0),
				   "%s: aggregation %u interval %llu", mt->fullname,
				   mt->aggregation, (unsigned long long)mt->interval_ns);
			for (unsigned t = 0; t < mt->ntargets; t++) {
				const struct lt_dcc *dcc = mt->targets[t].dcc;

				FUZZ_CHECK(dcc && dcc->index < m->ndccs &&
						   m->dccs[dcc->index] == dcc,
					   "%s target %u", mt->fullname, t);
			}
		}
		total += dev->nmetrics;
	}
	FUZZ_CHECK(total == m->nmetrics, "%u metrics in devices, %u in the model", total,
		   m->nmetrics);
}

static bool same_model(const struct lt_model *a, const struct lt_model *b)
{
	if (a->ndccs != b->ndccs || a->ndevices != b->ndevices || a->nmetrics != b->nmetrics ||
	    strcmp(a->edge.name, b->edge.name) || strcmp(a->edge.id, b->edge.id))
		return false;
	for (unsigned i = 0; i < a->nmetrics; i++)
		if (strcmp(a->metrics[i]->fullname, b->metrics[i]->fullname) ||
		    strcmp(a->metrics[i]->unit, b->metrics[i]->unit) ||
		    a->metrics[i]->interval_ns != b->metrics[i]->interval_ns ||
		    a->metrics[i]->ntargets != b->metrics[i]->ntargets)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *ff = memchr(data, '\f', size);
	size_t main_size = ff ? (size_t)(ff - data) : size;
	struct lt_model *m = NULL, *again = NULL;
	char *errors = NULL;

	if (!dir[0])
		setup();
	put(main_path, data, main_size);
	if (ff)
		put(dropin_path, ff + 1, size - main_size - 1);
	else
		unlink(dropin_path);

	if (config_load(main_path, id_path, &m, &errors) < 0) {
		check_errors(errors, count_lines(data, main_size),
			     ff ? count_lines(ff + 1, size - main_size - 1) : 0);
		free(errors);
		return 0;
	}
	FUZZ_CHECK(!errors, "accepted with errors '%s'", errors);
	FUZZ_CHECK(!has_control(data, main_size) &&
			   (!ff || !has_control(ff + 1, size - main_size - 1)),
		   "a NUL or control character accepted");
	check_model(m);
	FUZZ_CHECK(config_load(main_path, id_path, &again, NULL) == 0 && same_model(m, again),
		   "loaded twice, two models");
	model_free(again);
	model_free(m);
	return 0;
}
