/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the configuration difference (src/core/diff.c): which DCCs
 * and devices a reload keeps, starts, restarts and stops, which metric ids
 * and ring lanes they get. Models are loaded from configuration text with
 * config_load(), as a reload does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/diff.h"
#include "util.h"
#include "intree.h"
#include "unit.h"
#include "confdir.h"

static struct lt_model *load(const char *text)
{
	struct lt_model *m = NULL;
	char *errors = NULL;

	confdir_put(text);
	ck_assert_msg(config_load(confdir_conf, confdir_mid, &m, &errors) == 0, "%s",
		      errors ? errors : "");
	return m;
}

#define EDGE          "[edge]\nname = gw\n"
#define DCC_G         "[dcc \"g\"]\ntype = graphite\ntransport = stdout\n"
#define DEV(n)        "[device \"" n "\"]\ntype = sim\n"
#define MET(d, m, iv) "[metric \"" d "." m "\"]\ninterval = " iv "\nfunction = counter\n"

static int dev_index(const struct lt_model *m, const char *name)
{
	const struct lt_device *d = model_find_device(m, name);

	ck_assert_ptr_nonnull(d);
	return (int)d->index;
}

static uint32_t new_id(const struct lt_model *m, const struct lt_diff *df, const char *fullname)
{
	for (unsigned i = 0; i < m->nmetrics; i++)
		if (strcmp(m->metrics[i]->fullname, fullname) == 0)
			return df->metric_id[i];
	ck_abort_msg("no metric %s", fullname);
	return 0;
}

START_TEST(same_configuration_keeps_everything)
{
	struct lt_model *a =
		load(EDGE DCC_G DEV("a") MET("a", "x", "1s") DEV("b") MET("b", "y", "1s"));
	/* Other order of sections and keys: the same configuration. */
	struct lt_model *b = load("[metric \"b.y\"]\nfunction = counter\ninterval = 1s\n" DEV("b")
					  DEV("a") MET("a", "x", "1s") DCC_G EDGE);
	struct lt_diff df;

	lt_diff_compute(a, b, 4, &df);
	ck_assert(!df.whole);
	ck_assert(!df.lanes_short);
	ck_assert_uint_eq(df.nkeep, 2);
	ck_assert_uint_eq(df.nstart + df.nrestart + df.nstop, 0);
	ck_assert_uint_eq(df.dkeep, 1);
	for (unsigned i = 0; i < b->ndevices; i++) {
		const struct lt_device *old = model_find_device(a, b->devices[i]->name);

		ck_assert_int_eq(df.dev[i], LT_KEEP);
		ck_assert_int_eq(df.dev_old[i], (int)old->index);
		ck_assert_uint_eq(df.lane[i], old->lane);
	}
	ck_assert_uint_eq(new_id(b, &df, "a.x"), model_find_metric(a, "a.x")->id);
	ck_assert_uint_eq(new_id(b, &df, "b.y"), model_find_metric(a, "b.y")->id);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(added_device_starts_removed_stops_others_kept)
{
	struct lt_model *a =
		load(EDGE DCC_G DEV("a") MET("a", "x", "1s") DEV("b") MET("b", "y", "1s"));
	struct lt_model *b =
		load(EDGE DCC_G DEV("b") MET("b", "y", "1s") DEV("c") MET("c", "z", "1s"));
	struct lt_diff df;
	int ib = dev_index(b, "b"), ic = dev_index(b, "c");

	lt_diff_compute(a, b, 2, &df);
	ck_assert(!df.whole);
	ck_assert_int_eq(df.dev[ib], LT_KEEP);
	ck_assert_int_eq(df.dev[ic], LT_START);
	ck_assert_int_eq(df.dev_old[ic], -1);
	ck_assert_int_eq(df.old_dev[dev_index(a, "a")], LT_STOP);
	ck_assert_int_eq(df.old_dev[dev_index(a, "b")], LT_KEEP);
	ck_assert_uint_eq(df.nstart, 1);
	ck_assert_uint_eq(df.nstop, 1);
	ck_assert_uint_eq(df.nkeep, 1);
	ck_assert_int_eq(df.dcc[0], LT_KEEP);
	/* b keeps its lane and id; c takes a's lane (free once a is drained) ... */
	ck_assert_uint_eq(df.lane[ib], model_find_device(a, "b")->lane);
	ck_assert_uint_eq(df.lane[ic], model_find_device(a, "a")->lane);
	ck_assert_uint_eq(new_id(b, &df, "b.y"), model_find_metric(a, "b.y")->id);
	/* ... but not a's metric id: no old record can be read as c's. */
	ck_assert_uint_ne(new_id(b, &df, "c.z"), model_find_metric(a, "a.x")->id);
	ck_assert_uint_ne(new_id(b, &df, "c.z"), model_find_metric(a, "b.y")->id);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_metric_restarts_its_device_only)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s") MET("a", "w", "1s")
					  DEV("b") MET("b", "y", "1s"));
	struct lt_model *b = load(EDGE DCC_G DEV("a") MET("a", "x", "2s") MET("a", "w", "1s")
					  DEV("b") MET("b", "y", "1s"));
	struct lt_diff df;
	int ia = dev_index(b, "a");
	uint32_t idx, idw;

	lt_diff_compute(a, b, 2, &df);
	ck_assert_int_eq(df.dev[ia], LT_RESTART);
	ck_assert_int_eq(df.old_dev[dev_index(a, "a")], LT_RESTART);
	ck_assert_int_eq(df.dev[dev_index(b, "b")], LT_KEEP);
	ck_assert_uint_eq(df.nrestart, 1);
	ck_assert_uint_eq(df.nstop, 0);
	/* The restarted device keeps its lane; its metrics (even w) get new ids. */
	ck_assert_uint_eq(df.lane[ia], model_find_device(a, "a")->lane);
	idx = new_id(b, &df, "a.x");
	idw = new_id(b, &df, "a.w");
	for (unsigned i = 0; i < a->nmetrics; i++) {
		ck_assert_uint_ne(idx, a->metrics[i]->id);
		ck_assert_uint_ne(idw, a->metrics[i]->id);
	}
	ck_assert_uint_ne(idx, idw);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_property_restarts_its_device_only)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") "property.serial = 1\n" MET("a", "x", "1s")
					  DEV("b") "property.serial = 2\n" MET("b", "y", "1s"));
	struct lt_model *b = load(EDGE DCC_G DEV("a") "property.serial = 3\n" MET("a", "x", "1s")
					  DEV("b") "property.serial = 2\n" MET("b", "y", "1s"));
	struct lt_model *c = load(EDGE DCC_G DEV("a") MET("a", "x", "1s")
					  DEV("b") "property.serial = 2\n" MET("b", "y", "1s"));
	struct lt_diff df;

	lt_diff_compute(a, b, 2, &df);
	ck_assert(!df.whole);
	ck_assert_int_eq(df.dev[dev_index(b, "a")], LT_RESTART);
	ck_assert_int_eq(df.dev[dev_index(b, "b")], LT_KEEP);
	ck_assert_uint_eq(df.nrestart, 1);
	ck_assert_uint_eq(df.nkeep, 1);
	ck_assert_int_eq(df.dcc[0], LT_KEEP);
	lt_diff_free(&df);
	/* A removed property too. */
	lt_diff_compute(b, c, 2, &df);
	ck_assert_int_eq(df.dev[dev_index(c, "a")], LT_RESTART);
	ck_assert_int_eq(df.dev[dev_index(c, "b")], LT_KEEP);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
	model_free(c);
}
END_TEST

START_TEST(added_or_removed_metric_restarts_its_device)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_model *b = load(EDGE DCC_G DEV("a") MET("a", "x", "1s") MET("a", "v", "1s"));
	struct lt_diff df;

	lt_diff_compute(a, b, 1, &df);
	ck_assert_int_eq(df.dev[0], LT_RESTART);
	lt_diff_free(&df);
	lt_diff_compute(b, a, 1, &df);
	ck_assert_int_eq(df.dev[0], LT_RESTART);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_device_section_restarts_it)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_model *b = load(EDGE DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_diff df;

	/* sim devices take no keys of their own: as if a key of [device "a"] changed. */
	free(b->devices[0]->conf);
	b->devices[0]->conf = xstrdup("port=2\ntype=sim\n");
	lt_diff_compute(a, b, 1, &df);
	ck_assert_int_eq(df.dev[0], LT_RESTART);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_dcc_restarts_it_devices_kept)
{
	struct lt_model *a =
		load(EDGE DCC_G "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
			     MET("a", "x", "1s"));
	struct lt_model *b = load(EDGE "[dcc \"g\"]\ntype = graphite\ntransport = stdout\n"
				       "prefix = p\n"
				       "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
					       MET("a", "x", "1s"));
	struct lt_diff df;
	const struct lt_dcc *g = model_find_dcc(b, "g"), *h = model_find_dcc(b, "h");

	lt_diff_compute(a, b, 1, &df);
	ck_assert(!df.whole);
	ck_assert_int_eq(df.dcc[g->index], LT_RESTART);
	ck_assert_int_eq(df.dcc[h->index], LT_KEEP);
	ck_assert_int_eq(df.old_dcc[model_find_dcc(a, "g")->index], LT_RESTART);
	ck_assert_uint_eq(df.drestart, 1);
	ck_assert_uint_eq(df.dkeep, 1);
	/* Entities re-register with the new instance; the device samples on. */
	ck_assert_int_eq(df.dev[0], LT_KEEP);
	ck_assert_uint_eq(new_id(b, &df, "a.x"), model_find_metric(a, "a.x")->id);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(added_and_removed_dcc_keep_devices_that_do_not_use_them)
{
	struct lt_model *a =
		load(EDGE DCC_G "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
			     MET("a", "x", "1s") "dcc = h\n");
	struct lt_model *b = load(EDGE "[dcc \"k\"]\ntype = graphite\ntransport = stdout\n"
				       "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
					       MET("a", "x", "1s") "dcc = h\n");
	struct lt_diff df;

	lt_diff_compute(a, b, 1, &df);
	ck_assert_int_eq(df.dcc[model_find_dcc(b, "k")->index], LT_START);
	ck_assert_int_eq(df.dcc_old[model_find_dcc(b, "k")->index], -1);
	ck_assert_int_eq(df.dcc[model_find_dcc(b, "h")->index], LT_KEEP);
	ck_assert_int_eq(df.old_dcc[model_find_dcc(a, "g")->index], LT_STOP);
	ck_assert_uint_eq(df.dstart, 1);
	ck_assert_uint_eq(df.dstop, 1);
	ck_assert_uint_eq(df.dkeep, 1);
	ck_assert_int_eq(df.dev[0], LT_KEEP);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(added_dcc_restarts_devices_publishing_to_every_dcc)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s") DEV("b")
					  MET("b", "y", "1s") "dcc = g\n");
	struct lt_model *b =
		load(EDGE DCC_G "[dcc \"k\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
			     MET("a", "x", "1s") DEV("b") MET("b", "y", "1s") "dcc = g\n");
	struct lt_diff df;

	lt_diff_compute(a, b, 2, &df);
	/* a.x has no dcc key: its DCCs are now g and k. */
	ck_assert_int_eq(df.dev[dev_index(b, "a")], LT_RESTART);
	ck_assert_int_eq(df.dev[dev_index(b, "b")], LT_KEEP);
	ck_assert_int_eq(df.dcc[model_find_dcc(b, "g")->index], LT_KEEP);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_metric_dcc_list_restarts_its_device)
{
	struct lt_model *a =
		load(EDGE DCC_G "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
			     MET("a", "x", "1s") "dcc = g\n");
	struct lt_model *b =
		load(EDGE DCC_G "[dcc \"h\"]\ntype = graphite\ntransport = stdout\n" DEV("a")
			     MET("a", "x", "1s") "dcc = g, h\n");
	struct lt_diff df;

	lt_diff_compute(a, b, 1, &df);
	ck_assert_int_eq(df.dev[0], LT_RESTART);
	ck_assert_uint_eq(df.dkeep, 2);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

START_TEST(changed_edge_or_daemon_is_whole)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_model *b = load("[edge]\nname = gw2\n" DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_model *c =
		load(EDGE "[daemon]\nlane_capacity = 8192\n" DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_diff df;

	lt_diff_compute(a, b, 1, &df);
	ck_assert(df.whole);
	lt_diff_free(&df);
	lt_diff_compute(a, c, 1, &df);
	ck_assert(df.whole);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
	model_free(c);
}
END_TEST

START_TEST(more_new_devices_than_free_lanes_is_short)
{
	struct lt_model *a = load(EDGE DCC_G DEV("a") MET("a", "x", "1s"));
	struct lt_model *b = load(EDGE DCC_G DEV("a") MET("a", "x", "1s") DEV("b")
					  MET("b", "y", "1s") DEV("c") MET("c", "z", "1s"));
	struct lt_diff df;

	lt_diff_compute(a, b, 3, &df);
	ck_assert(!df.lanes_short);
	ck_assert_uint_ne(df.lane[dev_index(b, "b")], df.lane[dev_index(b, "c")]);
	ck_assert_uint_ne(df.lane[dev_index(b, "b")], df.lane[dev_index(b, "a")]);
	lt_diff_free(&df);
	lt_diff_compute(a, b, 2, &df);
	ck_assert(df.lanes_short);
	lt_diff_free(&df);
	model_free(a);
	model_free(b);
}
END_TEST

static Suite *diff_suite(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, confdir_setup, confdir_teardown);
	tcase_add_test(tc, same_configuration_keeps_everything);
	tcase_add_test(tc, added_device_starts_removed_stops_others_kept);
	tcase_add_test(tc, changed_metric_restarts_its_device_only);
	tcase_add_test(tc, added_or_removed_metric_restarts_its_device);
	tcase_add_test(tc, changed_device_section_restarts_it);
	tcase_add_test(tc, changed_property_restarts_its_device_only);
	tcase_add_test(tc, changed_dcc_restarts_it_devices_kept);
	tcase_add_test(tc, added_and_removed_dcc_keep_devices_that_do_not_use_them);
	tcase_add_test(tc, added_dcc_restarts_devices_publishing_to_every_dcc);
	tcase_add_test(tc, changed_metric_dcc_list_restarts_its_device);
	tcase_add_test(tc, changed_edge_or_daemon_is_whole);
	tcase_add_test(tc, more_new_devices_than_free_lanes_is_short);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(diff_suite)
