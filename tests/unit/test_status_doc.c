/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotactl status (src/ctl/status_doc.h): the reply read in one walk gives
 * what json_object_get() on jansson's parse of it gives, for liotad's shape
 * and for odd ones (escapes, members given twice, values of other types),
 * and is refused where jansson refuses it.
 */
#include "ctl/status_doc.h"
#include "unit.h"

#include <string.h>

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* Without member @k (a copy). */
static json_t *without(json_t *v, const char *k)
{
	json_t *c = json_deep_copy(v);

	if (json_is_object(c))
		json_object_del(c, k);
	return c;
}

static void same_metric(json_t *m, const struct status_metric *r)
{
	static const char *const fnames[SD_FILTER_COUNTERS] = {
		"passed",        "dropped",          "window_sent",
		"dropped_range", "dropped_deadband", "dropped_min_gap",
	};
	json_t *lv = json_object_get(m, "last_value");
	json_t *f = json_object_get(m, "filter");

	ck_assert_str_eq(r->name, jstr(m, "name"));
	ck_assert_str_eq(r->unit, jstr(m, "unit"));
	ck_assert(r->interval_s == json_real_value(json_object_get(m, "interval_s")));
	ck_assert_int_eq(r->samples, jint(m, "samples"));
	ck_assert_int_eq(r->errors, jint(m, "errors"));
	ck_assert_int_eq(r->late, jint(m, "late"));
	ck_assert_int_eq(r->has_last, json_is_number(lv));
	if (r->has_last)
		ck_assert(r->last == json_number_value(lv));
	ck_assert_int_eq(r->has_filter, f != NULL);
	if (!f)
		return;
	if (json_string_value(json_object_get(f, "kind")))
		ck_assert_str_eq(r->filter_kind, json_string_value(json_object_get(f, "kind")));
	else
		ck_assert_ptr_null(r->filter_kind);
	for (unsigned k = 0; k < SD_FILTER_COUNTERS; k++)
		ck_assert_int_eq(r->filter[k], jint(f, fnames[k]));
}

/* status_doc_read() of @text gives what jansson's parse of it gives. */
static void same_as_jansson(const char *text)
{
	json_t *doc = json_loads(text, 0, NULL), *devs, *v, *c;
	char *copy = strdup(text);
	struct status_doc d;
	size_t i, j, n = 0;

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(status_doc_read(&d, copy, strlen(copy)), 0);
	c = without(doc, "devices");
	ck_assert_msg(json_equal(c, d.top), "the rest of %s", text);
	json_decref(c);
	devs = json_object_get(doc, "devices");
	ck_assert_uint_eq(d.ndevs, json_array_size(devs));
	json_array_foreach(devs, i, v)
	{
		json_t *ms = json_object_get(v, "metrics"), *m;

		c = without(v, "metrics");
		ck_assert_msg(json_equal(c, d.devs[i].obj), "device %zu of %s", i, text);
		json_decref(c);
		ck_assert_uint_eq(d.devs[i].n, json_array_size(ms));
		json_array_foreach(ms, j, m)
		{
			ck_assert_uint_lt(d.devs[i].first + j, d.nmetrics);
			same_metric(m, &d.metrics[d.devs[i].first + j]);
			n++;
		}
	}
	status_doc_free(&d); /* and copy */
	json_decref(doc);
}

START_TEST(status_doc_reads_what_jansson_parses)
{
	/* liotad's shape (a metric with and one without filter, units, a null last value). */
	json_t *doc = json_pack(
		"{s:{s:s, s:s}, s:I, s:f, s:I, s:[s], s:{s:I, s:I, s:[{s:i, s:s}]}, "
		"s:[{s:s, s:s, s:s, s:{s:I}, s:{s:s}, s:{s:f, s:f, s:f, s:I}, s:["
		"{s:i, s:s, s:s, s:f, s:i, s:I, s:I, s:I, s:f, s:I},"
		"{s:i, s:s, s:s, s:f, s:i, s:I, s:I, s:I, s:n, s:n, "
		"s:{s:s, s:I, s:I, s:I, s:I, s:I, s:I}}]}], "
		"s:[{s:s, s:I}], s:{s:I, s:I}}",
		"edge", "name", "gw", "id", "e1", "pid", (json_int_t)42, "uptime_s", 1.5, "reloads",
		(json_int_t)0, "config_files", "/x.conf", "ring", "generation", (json_int_t)1,
		"wakeups", (json_int_t)7, "lanes", "lane", 0, "device", "d0", "devices", "name",
		"d0", "type", "sim", "state", "running", "counters", "frames", (json_int_t)3,
		"properties", "site", "b\xc3\xa2t \"A\"", "lateness_us", "p50", 3.5, "p99", 80.25,
		"max", 1e3, "count", (json_int_t)10, "metrics", "id", 0, "name", "temp", "unit",
		"\xc2\xb0"
		"C",
		"interval_s", 0.25, "aggregation", 1, "samples", (json_int_t)10, "errors",
		(json_int_t)1, "late", (json_int_t)2, "last_value", 21.5, "last_ts_ns",
		(json_int_t)1700000000000000000ll, "id", 1, "name", "a\"b\\c\n", "unit", "",
		"interval_s", 1.0, "aggregation", 1, "samples", (json_int_t)0, "errors",
		(json_int_t)0, "late", (json_int_t)0, "last_value", "last_ts_ns", "filter", "kind",
		"deadband", "passed", (json_int_t)5, "dropped", (json_int_t)6, "window_sent",
		(json_int_t)7, "dropped_range", (json_int_t)8, "dropped_deadband", (json_int_t)9,
		"dropped_min_gap", (json_int_t)-10, "dccs", "name", "lines", "sent", (json_int_t)9,
		"totals", "taken", (json_int_t)10, "filtered", (json_int_t)11);
	char *text;

	ck_assert_ptr_nonnull(doc);
	text = json_dumps(doc, JSON_COMPACT);
	same_as_jansson(text);
	free(text);
	json_decref(doc);

	/* Odd shapes: values of other types, members given twice, escaped keys, whitespace. */
	static const char *const odd[] = {
		"{\"devices\":[{\"name\":\"x\",\"metrics\":[5,{},[],null,{\"name\":7,"
		"\"interval_s\":2,\"samples\":1.5,\"last_value\":3,\"lateness_us\":[1],"
		"\"filter\":null}]}]}",
		"{\"devices\":[{\"metrics\":[{\"name\":\"a\"}],\"metrics\":[{\"name\":\"b\"},"
		"{\"name\":\"c\",\"name\":\"d\"}]}],\"totals\":{}}",
		"{\"devices\":[{\"metrics\":[{\"name\":\"a\"}],\"metrics\":{}}]}",
		"{\"devices\":[{\"metrics\":[{}]}],\"devices\":[{\"name\":\"z\"}]}",
		"{\"devices\":[{\"metrics\":[{}]}],\"devices\":null}",
		"{\"devices\":[1,\"s\",[],{\"metrics\":[]}]}",
		"{\"devices\":[{\"m\\u0065trics\":[{\"n\\u0061me\":\"\\u00e9\\t\\/\","
		"\"lateness_us\":{\"p99\":1,\"p99\":2e2},\"filter\":{\"kind\":5,\"passed\":1.0,"
		"\"dropped\":-3,\"x\":[{\"y\":[true,false]}]},\"last_value\":-0.0}]}]}",
		" { \"devices\" : [ { \"metrics\" : [ { \"name\" : \"s p\" , \"samples\" : 3 } ] } "
		"] } ",
		"{}",
		"[1,{\"devices\":[]}]",
		"{\"error\":\"no\"}",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		same_as_jansson(odd[i]);
}
END_TEST

START_TEST(status_doc_refuses_what_jansson_refuses)
{
	static const char *const bad[] = {
		"",
		"5",
		"\"s\"",
		"{\"devices\":[{\"metrics\":[{\"name\":\"a\"}",
		"{\"devices\":[{\"metrics\":[{\"name\":\"a\x01\"}]}]}",
		"{\"devices\":[{\"metrics\":[{\"name\":\"\xff\"}]}]}",
		"{\"devices\":[{\"metrics\":[{\"id\":99999999999999999999}]}]}",
		"{\"devices\":[{\"metrics\":[{\"samples\":99999999999999999999}]}]}",
		"{\"devices\":[{\"metrics\":[{\"last_value\":1e999}]}]}",
		"{\"devices\":[{\"metrics\":[{\"x\":[\"\\ud800\"]}]}]}",
		"{\"devices\":[{\"metrics\":[{\"x\":01}]}]}",
		"{\"devices\":[{\"metrics\":[{\"x\":1.}]}]}",
		"{\"devices\":[{\"metrics\":[{\"x\":tru}]}]}",
		"{\"devices\":[{\"name\":\"\\x\"}]}",
		"{\"devices\":[]}x",
		"{\"devices\":[]}{}",
		"{\"a\":1,}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *copy = strdup(bad[i]);
		struct status_doc d;
		json_t *doc = json_loads(bad[i], 0, NULL);

		ck_assert_msg(!doc, "jansson takes %s", bad[i]);
		ck_assert_msg(status_doc_read(&d, copy, strlen(copy)) < 0, "took %s", bad[i]);
		ck_assert_ptr_null(d.top);
		ck_assert_uint_eq(d.nmetrics, 0); /* and copy freed */
	}
}
END_TEST

static Suite *status_doc_suite(void)
{
	Suite *s = suite_create("status_doc");
	TCase *tc = tcase_create("status_doc");

	tcase_add_test(tc, status_doc_reads_what_jansson_parses);
	tcase_add_test(tc, status_doc_refuses_what_jansson_refuses);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(status_doc_suite)
