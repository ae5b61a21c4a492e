/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The streamed status reply (status.h): the bytes of jansson's compact dump
 * whether made whole or a piece at a time, in bounded memory; totals from
 * the start of the reply; a changed configuration ends it.
 */
#include "control.h"
#include "fixtures.h"
#include "ring.h"
#include "sampler.h"
#include "schedule.h"
#include "status.h"
#include "unit.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>

#define NDEV 3
#define NMET 40

struct st_fixture {
	struct lt_model *m;
	struct sampler s[NDEV];
	struct sampler *sp[NDEV];
	struct daemon d;
	struct lt_totals past;
	struct control_ctx ctx;
};

static void set_last(struct lt_metric *mt, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	atomic_store(&mt->last_bits, bits);
	atomic_store(&mt->last_ts, 1700000000123456789ull);
}

static void rename_metric(struct lt_metric *mt, const char *name)
{
	free((char *)mt->name);
	mt->name = xstrdup(name);
}

/* Values and names that test the writer's formats: reals, escapes, UTF-8. */
static void st_setup(struct st_fixture *f)
{
	static const double vals[] = { 0.1,     -0.0,     1e21,
				       1e-7,    -2.5e300, 123456789.0,
				       1.0 / 3, 4e-320,   9007199254740993.0,
				       100.0,   -1e-5 };

	memset(f, 0, sizeof(*f));
	f->m = fixture_model(2, NDEV, NMET, 1000000000ull, 1);
	f->m->metrics[3]->interval_ns = 2500000; /* 0.0025 s */
	f->m->metrics[4]->interval_ns = 0;       /* an event metric */
	ck_assert_int_eq(lt_ring_new(NDEV + 1, 1024, 1, &f->d.ring), 0);
	for (unsigned i = 0; i < NDEV; i++) {
		f->s[i].dev = f->m->devices[i];
		f->s[i].met = xcalloc(NMET, sizeof(*f->s[i].met));
		f->sp[i] = &f->s[i];
		f->m->devices[i]->lane = i;
	}
	for (unsigned j = 0; j < NMET; j++) {
		set_last(f->m->devices[0]->metrics[j], vals[j % (sizeof(vals) / sizeof(vals[0]))]);
		atomic_store(&f->m->devices[0]->metrics[j]->samples, 1000000007ull * j);
		lat_record(&f->s[0].lat, 1000 + 977 * j);
		lat_record(&f->s[0].lat, 3000000000ull + j);
	}
	set_last(f->m->devices[1]->metrics[0], NAN); /* jansson has no NaN: null */
	set_last(f->m->devices[1]->metrics[1], INFINITY);
	rename_metric(f->m->devices[1]->metrics[2], "quote\" back\\slash\nnl\ttab\x01\x1f");
	free((char *)f->m->devices[1]->metrics[2]->unit);
	f->m->devices[1]->metrics[2]->unit = xstrdup("\xc2\xb0"
						     "C"); /* degrees C in UTF-8 */
	rename_metric(f->m->devices[1]->metrics[3], "not\xff"
						    "utf8"); /* left out, as before */
	f->d.model = f->m;
	f->d.samplers = f->sp;
	f->ctx = (struct control_ctx){ .daemon = &f->d, .past = &f->past, .generation = 7 };
}

static void st_teardown(struct st_fixture *f)
{
	for (unsigned i = 0; i < NDEV; i++)
		free(f->s[i].met);
	lt_ring_free(f->d.ring);
	fixture_free(f->m);
}

/* The whole reply in one buffer (the caller frees it). */
static char *whole(struct st_fixture *f, size_t *len)
{
	struct status_stream s;
	struct status_out o = { 0 };

	status_stream_begin(&s, &f->ctx);
	ck_assert_int_eq(status_stream_fill(&s, &f->ctx, &o, SIZE_MAX), 0);
	*len = o.len;
	return o.buf;
}

/* The document without its one reading of the clock ("uptime_s"). */
static json_t *parsed(const char *buf, size_t len)
{
	json_error_t e;
	json_t *doc = json_loadb(buf, len, 0, &e);

	ck_assert_msg(doc, "not JSON: %s at %d: %.80s", e.text, e.position, buf + e.position);
	ck_assert_int_eq(json_object_del(doc, "uptime_s"), 0);
	return doc;
}

START_TEST(streamed_bytes_are_janssons_compact_dump)
{
	struct st_fixture f;
	size_t len;
	char *buf, *again;
	json_t *doc, *mets, *m;

	st_setup(&f);
	buf = whole(&f, &len);
	doc = json_loadb(buf, len, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	/* jansson's dump of what it parsed is the same bytes: same formats, same order. */
	again = json_dumps(doc, JSON_COMPACT);
	ck_assert_uint_eq(strlen(again), len);
	ck_assert(!memcmp(again, buf, len));
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "devices")), NDEV);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(doc, "ring"), "lanes")),
			  NDEV + 1);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "dccs")), 2);
	mets = json_object_get(json_array_get(json_object_get(doc, "devices"), 0), "metrics");
	ck_assert_uint_eq(json_array_size(mets), NMET);
	m = json_array_get(mets, 3);
	ck_assert(json_real_value(json_object_get(m, "interval_s")) == 0.0025);
	ck_assert(json_real_value(json_object_get(m, "last_value")) == 1e-7);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "samples")), 3000000021ll);
	/* Lateness is the device's: every read of its metrics; none in a metric. */
	ck_assert_ptr_null(json_object_get(json_array_get(mets, 5), "lateness_us"));
	m = json_object_get(json_array_get(json_object_get(doc, "devices"), 0), "lateness_us");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "count")), 2 * NMET);
	ck_assert(json_real_value(json_object_get(m, "max")) == (3000000000.0 + NMET - 1) / 1e3);
	m = json_object_get(json_array_get(json_object_get(doc, "devices"), 1), "lateness_us");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "count")), 0);
	ck_assert(json_is_null(json_object_get(m, "p99")));
	/* Device 1: NaN and infinity are null; escapes and UTF-8 kept; bad UTF-8 left out. */
	mets = json_object_get(json_array_get(json_object_get(doc, "devices"), 1), "metrics");
	ck_assert_uint_eq(json_array_size(mets), NMET - 1);
	ck_assert(json_is_null(json_object_get(json_array_get(mets, 0), "last_value")));
	ck_assert(json_is_null(json_object_get(json_array_get(mets, 1), "last_value")));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mets, 2), "name")),
			 "quote\" back\\slash\nnl\ttab\x01\x1f");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mets, 2), "unit")),
			 "\xc2\xb0"
			 "C");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mets, 3), "name")), "m4");
	free(again);
	json_decref(doc);
	free(buf);
	st_teardown(&f);
}
END_TEST

/*
 * The rest of the reply @s, one piece per call (the smallest limit), as
 * client_refill() with a client that reads slowly, appended to @all; the
 * largest buffer a piece needed in *@maxcap. Returns the calls it took.
 */
static unsigned by_pieces(struct st_fixture *f, struct status_stream *s, struct status_out *all,
			  size_t *maxcap)
{
	struct status_out o = { 0 };
	unsigned calls = 0;
	int r;

	do {
		o.len = 0;
		r = status_stream_fill(s, &f->ctx, &o, 1);
		ck_assert_int_ge(r, 0);
		ck_assert_uint_gt(o.len, 0);
		ck_assert_int_eq(status_out_room(all, o.len), 0);
		memcpy(all->buf + all->len, o.buf, o.len);
		all->len += o.len;
		*maxcap = o.cap > *maxcap ? o.cap : *maxcap;
		calls++;
	} while (r > 0 && calls < 100000);
	ck_assert_int_eq(r, 0);
	free(o.buf);
	return calls;
}

START_TEST(small_pieces_make_the_same_document_in_bounded_memory)
{
	struct st_fixture f;
	struct status_stream s;
	struct status_out o = { 0 }, all = { 0 };
	size_t len, maxcap = 0;
	unsigned calls = 0;
	char *buf;
	json_t *a, *b;

	st_setup(&f);
	buf = whole(&f, &len);
	/* As client_refill() does, with the smallest limit: one piece per call. */
	status_stream_begin(&s, &f.ctx);
	calls = by_pieces(&f, &s, &all, &maxcap);
	/* Head, lanes, devices, metrics, device ends, DCCs, totals, end: one piece each. */
	ck_assert_uint_ge(calls, 1 + (NDEV + 1) + NDEV * (NMET + 2) + 2);
	ck_assert_uint_lt(maxcap, len / 4);
	ck_assert_uint_le(maxcap, 4096);
	a = parsed(buf, len);
	b = parsed(all.buf, all.len);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	free(o.buf);
	free(all.buf);
	free(buf);
	st_teardown(&f);
}
END_TEST

START_TEST(totals_are_read_when_the_reply_starts)
{
	struct st_fixture f;
	struct status_stream s;
	struct status_out o = { 0 };
	struct lt_metric *mt;
	uint64_t taken;
	json_t *doc;

	st_setup(&f);
	mt = f.m->devices[2]->metrics[0];
	status_stream_begin(&s, &f.ctx);
	taken = s.totals.taken;
	/* Samples taken while the reply is on its way: in the metric, not in the totals. */
	atomic_fetch_add(&mt->samples, 5);
	ck_assert_int_eq(status_stream_fill(&s, &f.ctx, &o, SIZE_MAX), 0);
	doc = parsed(o.buf, o.len);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(doc, "totals"), "taken")),
		(json_int_t)taken);
	ck_assert_int_eq(
		json_integer_value(json_object_get(
			json_array_get(
				json_object_get(json_array_get(json_object_get(doc, "devices"), 2),
						"metrics"),
				0),
			"samples")),
		5);
	json_decref(doc);
	free(o.buf);
	st_teardown(&f);
}
END_TEST

START_TEST(changed_configuration_ends_the_reply)
{
	struct st_fixture f;
	struct status_stream s;
	struct status_out o = { 0 };

	st_setup(&f);
	status_stream_begin(&s, &f.ctx);
	ck_assert_int_eq(status_stream_fill(&s, &f.ctx, &o, 1), 1);
	f.ctx.generation++; /* a reload, a package command, a device found */
	o.len = 0;
	ck_assert_int_eq(status_stream_fill(&s, &f.ctx, &o, 1), -ESTALE);
	ck_assert_uint_eq(o.len, 0);
	free(o.buf);
	st_teardown(&f);
}
END_TEST

/* The metric table as the daemon built it whole before it was streamed. */
static char *table_built_whole(const struct st_fixture *f)
{
	json_t *arr = json_array(), *doc;
	char *text;

	for (unsigned i = 0; i < f->m->nmetrics; i++) {
		const struct lt_metric *mt = f->m->metrics[i];

		json_array_append_new(arr,
				      json_pack("{s:i, s:s, s:s}", "id", (int)mt->id, "name",
						mt->fullname, "unit", mt->unit ? mt->unit : ""));
	}
	doc = json_pack("{s:I, s:o}", "generation", (json_int_t)f->ctx.generation, "metrics", arr);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

START_TEST(metric_table_streams_the_bytes_built_whole)
{
	struct st_fixture f;
	struct status_stream s;
	struct status_out o = { 0 }, all = { 0 };
	size_t maxcap = 0;
	unsigned calls = 0;
	char *want;

	st_setup(&f);
	/* Full names to escape, and one that is not UTF-8: left out, as jansson did. */
	free(f.m->devices[1]->metrics[0]->fullname);
	f.m->devices[1]->metrics[0]->fullname = xstrdup("dev1.q\"b\\s\n\x01");
	free(f.m->devices[1]->metrics[1]->fullname);
	f.m->devices[1]->metrics[1]->fullname = xstrdup("dev1.not\xff"
							"utf8");
	want = table_built_whole(&f);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_null(strstr(want, "not"));
	/* One piece per call, as with a client that reads slowly. */
	status_stream_begin_table(&s, &f.ctx);
	calls = by_pieces(&f, &s, &all, &maxcap);
	ck_assert_int_eq(status_out_room(&all, 1), 0);
	all.buf[all.len] = '\0';
	ck_assert_str_eq(all.buf, want);
	ck_assert_uint_ge(calls, NDEV * NMET - 1 + 2); /* head, each metric, end */
	ck_assert_uint_le(maxcap, 4096);
	/* A changed configuration ends it, as the status. */
	status_stream_begin_table(&s, &f.ctx);
	o.len = 0;
	ck_assert_int_eq(status_stream_fill(&s, &f.ctx, &o, 1), 1);
	f.ctx.generation++;
	ck_assert_int_eq(status_stream_fill(&s, &f.ctx, &o, 1), -ESTALE);
	free(want);
	free(o.buf);
	free(all.buf);
	st_teardown(&f);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("status");

	tcase_add_test(tc, streamed_bytes_are_janssons_compact_dump);
	tcase_add_test(tc, small_pieces_make_the_same_document_in_bounded_memory);
	tcase_add_test(tc, totals_are_read_when_the_reply_starts);
	tcase_add_test(tc, changed_configuration_ends_the_reply);
	tcase_add_test(tc, metric_table_streams_the_bytes_built_whole);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(status_suite)
