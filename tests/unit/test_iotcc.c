/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IoTCC protocol without a peer: every request as exact JSON, add_stats,
 * response parsing and matching, name and property rules, the local
 * ids, the state file, and a fuzz test of the response parser.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intree.h"
#include "unit.h"
#include "dcc/iotcc_proto.h"
#include "transport/ws.h"
#include "util.h"

static const struct iotcc_ref EDGE = { "HelixGateway", "0b5e4c1a-77f4-5b2c-9a53-3f3c1e2d4a10",
				       "gw-1" };
static const struct iotcc_ref DEV = { "sim", "5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f", "boiler 1" };

static char *parse_ok(const char *msg, struct iotcc_resp *r)
{
	static char err[256];
	int ret = iotcc_parse(msg, strlen(msg), r, err, sizeof(err));

	ck_assert_msg(ret == 0, "parse of %s: %d %s", msg, ret, err);
	return err;
}

static int parse_err(const char *msg, char *err, size_t errlen)
{
	struct iotcc_resp r;

	return iotcc_parse(msg, strlen(msg), &r, err, errlen);
}

/* ---- requests ------------------------------------------------------------ */

START_TEST(create_request)
{
	char *m = iotcc_create_msg(2, &EDGE);

	ck_assert_str_eq(
		m, "{\"transactionID\":2,\"version\":20171118,"
		   "\"type\":\"create_or_find_resource_request\",\"body\":{"
		   "\"kind\":\"HelixGateway\",\"id\":\"0b5e4c1a-77f4-5b2c-9a53-3f3c1e2d4a10\","
		   "\"name\":\"gw-1\"}}");
	free(m);
}
END_TEST

START_TEST(relate_request)
{
	char *m = iotcc_relate_msg(4, &EDGE, &DEV);

	ck_assert_str_eq(
		m, "{\"transactionID\":4,\"version\":20171118,"
		   "\"type\":\"create_relationship_request\",\"body\":{"
		   "\"parent\":{\"kind\":\"HelixGateway\","
		   "\"id\":\"0b5e4c1a-77f4-5b2c-9a53-3f3c1e2d4a10\",\"name\":\"gw-1\"},"
		   "\"child\":{\"kind\":\"sim\",\"id\":\"5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f\","
		   "\"name\":\"boiler 1\"}}}");
	free(m);
}
END_TEST

START_TEST(props_request)
{
	struct iotcc_prop p[] = { { "temp_unit", "pascal" }, { "temp_prefix", "kilo" } };
	char *m = iotcc_props_msg(6, &DEV, 1700000000123ull, p, 2);

	ck_assert_str_eq(m, "{\"transactionID\":6,\"version\":20171118,"
			    "\"type\":\"add_properties_request\",\"body\":{\"kind\":\"sim\","
			    "\"id\":\"5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f\",\"name\":\"boiler 1\","
			    "\"timestamp\":1700000000123,\"property_data\":["
			    "{\"propertyKey\":\"temp_unit\",\"propertyValue\":\"pascal\"},"
			    "{\"propertyKey\":\"temp_prefix\",\"propertyValue\":\"kilo\"}]}}");
	free(m);
}
END_TEST

START_TEST(remove_request)
{
	char *m = iotcc_remove_msg(8, &DEV);

	ck_assert_str_eq(m,
			 "{\"transactionID\":8,\"version\":20171118,"
			 "\"type\":\"remove_resource_request\",\"body\":{\"kind\":\"sim\","
			 "\"id\":\"5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f\",\"name\":\"boiler 1\"}}");
	free(m);
}
END_TEST

START_TEST(stats_message)
{
	struct lt_sample s[] = {
		{ .ts_ns = 1700000000123456789ull, .value = 21.5 },
		{ .ts_ns = 1700000000223000000ull, .value = NAN },
		{ .ts_ns = 1700000000323999999ull, .value = -0.1 },
		{ .ts_ns = 1700000000423000000ull, .value = 1e21 },
	};
	size_t used, bad, len;
	char *m = iotcc_stats_msg(&DEV, "temp", s, 4, &used, &bad, &len);

	ck_assert_uint_eq(used, 4);
	ck_assert_uint_eq(bad, 1);
	ck_assert_uint_eq(len, strlen(m));
	ck_assert_str_eq(m,
			 "{\"type\":\"add_stats\",\"version\":20171118,\"body\":{\"kind\":\"sim\","
			 "\"id\":\"5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f\",\"name\":\"boiler 1\","
			 "\"metric_data\":[{\"statKey\":\"temp\",\"timestamps\":[1700000000123,"
			 "1700000000323,1700000000423],\"data\":[21.5,-0.1,1e+21]}]}}");
	/* It is JSON, and the values read back exactly. */
	json_error_t jerr;
	json_t *j = json_loads(m, 0, &jerr);

	ck_assert_msg(j != NULL, "%s", jerr.text);
	json_decref(j);
	free(m);

	struct lt_sample nan1 = { .ts_ns = 1, .value = INFINITY };

	m = iotcc_stats_msg(&DEV, "temp", &nan1, 1, &used, &bad, &len);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(bad, 1);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* A batch too big for one message is split, no sample lost or repeated. */
START_TEST(stats_split)
{
	size_t n = 5000, at = 0, msgs = 0, got = 0;
	struct lt_sample *s = calloc(n, sizeof(*s));

	for (size_t i = 0; i < n; i++) {
		s[i].ts_ns = 1700000000000000000ull + i * 1000000ull;
		s[i].value = (double)i + 0.123456789;
	}
	while (at < n) {
		size_t used, bad, len;
		char *m = iotcc_stats_msg(&DEV, "x", s + at, n - at, &used, &bad, &len);
		json_t *j, *data, *ts;

		ck_assert_ptr_nonnull(m);
		ck_assert_uint_le(len, IOTCC_MSG_MAX);
		ck_assert_uint_gt(used, 0);
		j = json_loads(m, 0, NULL);
		ck_assert_ptr_nonnull(j);
		data = json_object_get(
			json_array_get(json_object_get(json_object_get(j, "body"), "metric_data"),
				       0),
			"data");
		ts = json_object_get(
			json_array_get(json_object_get(json_object_get(j, "body"), "metric_data"),
				       0),
			"timestamps");
		ck_assert_uint_eq(json_array_size(data), used);
		ck_assert_uint_eq(json_array_size(ts), used);
		for (size_t i = 0; i < used; i++) {
			ck_assert(json_real_value(json_array_get(data, i)) == s[at + i].value);
			ck_assert_int_eq(json_integer_value(json_array_get(ts, i)),
					 (json_int_t)(s[at + i].ts_ns / 1000000u));
		}
		json_decref(j);
		free(m);
		got += used;
		at += used;
		msgs++;
	}
	ck_assert_uint_eq(got, n);
	ck_assert_uint_ge(msgs, 2);
	free(s);
}
END_TEST

/* ---- responses --------------------------------------------------------------- */

START_TEST(parse_create)
{
	struct iotcc_resp r;

	parse_ok("{\"transactionID\":2,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":"
		 "\"3c7b1b9e-0d5f-5a3e-9a0b-6f2e9d8c7b6a\",\"id\":\"abc-1\"}}",
		 &r);
	ck_assert_uint_eq(r.tid, 2);
	ck_assert_int_eq(r.type, IOTCC_CREATE);
	ck_assert(r.ok);
	ck_assert_str_eq(r.uuid, "3c7b1b9e-0d5f-5a3e-9a0b-6f2e9d8c7b6a");
	ck_assert_str_eq(r.id, "abc-1");
	/* A failure, and liota's "null" uuid, are answers but not successes. */
	parse_ok("{\"transactionID\":4,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"result\":\"failed\"}}",
		 &r);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.result, "failed");
	parse_ok("{\"transactionID\":4,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"null\"}}",
		 &r);
	ck_assert(!r.ok);
	parse_ok("{\"transactionID\":4,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"u-1\","
		 "\"result\":\"failed\"}}",
		 &r);
	ck_assert(!r.ok);
}
END_TEST

START_TEST(parse_others)
{
	static const char *types[] = { "create_relationship_response", "add_properties_response",
				       "remove_resource_response" };
	static const enum iotcc_type want[] = { IOTCC_RELATE, IOTCC_PROPS, IOTCC_REMOVE };
	struct iotcc_resp r;
	char msg[256];

	for (int i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg),
			 "{\"transactionID\":10,\"version\":20171118,\"type\":\"%s\","
			 "\"body\":{\"result\":\"succeeded\"}}",
			 types[i]);
		parse_ok(msg, &r);
		ck_assert_int_eq(r.type, want[i]);
		ck_assert(r.ok);
		snprintf(msg, sizeof(msg),
			 "{\"transactionID\":10,\"version\":20171118,\"type\":\"%s\",\"body\":{}}",
			 types[i]);
		parse_ok(msg, &r);
		ck_assert(!r.ok);
	}
}
END_TEST

START_TEST(parse_refused)
{
	char err[256], big[IOTCC_MSG_MAX + 100];

	ck_assert_int_eq(parse_err("", err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2", err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(parse_err("[1,2]", err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"add_properties_response\"}",
				   err, sizeof(err)),
			 -EBADMSG); /* no body */
	ck_assert_int_eq(parse_err("{\"transactionID\":\"2\",\"version\":20171118,\"type\":"
				   "\"add_properties_response\",\"body\":{}}",
				   err, sizeof(err)),
			 -EBADMSG); /* a string id */
	ck_assert_int_eq(parse_err("{\"transactionID\":2.5,\"version\":20171118,\"type\":"
				   "\"add_properties_response\",\"body\":{}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":-2,\"version\":20171118,\"type\":"
				   "\"add_properties_response\",\"body\":{}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":99999999999999999999999,\"version\":"
				   "20171118,\"type\":\"add_properties_response\",\"body\":{}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"create_or_find_resource_response\",\"body\":{\"uuid\":7}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"create_or_find_resource_response\",\"body\":{\"uuid\":"
				   "\"a\\\"b\"}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"add_properties_response\",\"body\":{\"result\":[]}}",
				   err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"add_properties_response\",\"body\":{},\"body\":{}}",
				   err, sizeof(err)),
			 -EBADMSG); /* duplicate key */
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171023,\"type\":"
				   "\"add_properties_response\",\"body\":{}}",
				   err, sizeof(err)),
			 -EPROTO);
	ck_assert_str_eq(err, "protocol version 20171023, expected 20171118");
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"action_request\",\"body\":{}}",
				   err, sizeof(err)),
			 -ENOMSG);
	ck_assert_str_eq(err, "type \"action_request\"");
	/* A request type is not a response. */
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"add_properties_request\",\"body\":{}}",
				   err, sizeof(err)),
			 -ENOMSG);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse_err(big, err, sizeof(err)), -EMSGSIZE);
}
END_TEST

/* ---- matching ------------------------------------------------------------------ */

START_TEST(table_matching)
{
	struct iotcc_table t;
	int a, b;
	uint64_t ta, tb, ta2;

	iotcc_table_init(&t);
	ck_assert_int_eq(iotcc_table_add(&t, IOTCC_CREATE, &a), 0);
	ck_assert_int_eq(iotcc_table_add(&t, IOTCC_CREATE, &b), 0);
	ck_assert(iotcc_table_has(&t, IOTCC_CREATE, &a));
	ck_assert(!iotcc_table_has(&t, IOTCC_RELATE, &a));
	ta = iotcc_table_sent(&t, &t.v[0], 100);
	tb = iotcc_table_sent(&t, &t.v[1], 200);
	ck_assert_uint_ne(ta, tb);
	ck_assert_uint_eq(ta % 2, 0);
	ck_assert_ptr_eq(iotcc_table_find(&t, tb)->owner, &b);
	ck_assert_ptr_null(iotcc_table_find(&t, 12345));
	ck_assert_ptr_null(iotcc_table_find(&t, 0));
	/* a timed-out request goes out again under a new id; the old one is late */
	iotcc_table_retry(&t, &t.v[0], 300);
	ck_assert_ptr_null(iotcc_table_find(&t, ta));
	ck_assert(iotcc_table_was_late(&t, ta));
	ck_assert(!iotcc_table_was_late(&t, tb));
	ta2 = iotcc_table_sent(&t, &t.v[0], 400);
	ck_assert_uint_ne(ta2, ta);
	ck_assert_uint_eq(t.v[0].attempts, 2);
	ck_assert_ptr_eq(iotcc_table_find(&t, ta2)->owner, &a);
	iotcc_table_del(&t, iotcc_table_find(&t, ta2));
	ck_assert_uint_eq(t.n, 1);
	ck_assert_ptr_eq(iotcc_table_find(&t, tb)->owner, &b);
	iotcc_table_del_owner(&t, &b);
	ck_assert_uint_eq(t.n, 0);
	ck_assert(iotcc_table_was_late(&t, tb));
	/* the late memory is bounded */
	for (int i = 0; i < IOTCC_LATE_MEMORY + 1; i++) {
		iotcc_table_add(&t, IOTCC_PROPS, &a);
		iotcc_table_sent(&t, &t.v[0], 0);
		iotcc_table_del_owner(&t, &a);
	}
	ck_assert(!iotcc_table_was_late(&t, ta));
	iotcc_table_free(&t);
}
END_TEST

START_TEST(transaction_ids_are_unpredictable_even_and_exact_in_json)
{
	struct iotcc_table t;
	uint64_t prev = 0, most = 0;
	int a, steps_of_two = 0;

	iotcc_table_init(&t);
	ck_assert_int_eq(iotcc_table_add(&t, IOTCC_CREATE, &a), 0);
	for (int i = 0; i < 64; i++) {
		uint64_t tid = iotcc_table_sent(&t, &t.v[0], 0);

		ck_assert_uint_ne(tid, 0);
		ck_assert_uint_eq(tid % 2, 0);
		ck_assert_uint_lt(tid, 1ull << 53);
		ck_assert_uint_ne(tid, prev);
		steps_of_two += tid == prev + 2;
		most = tid > most ? tid : most;
		prev = tid;
		iotcc_table_retry(&t, &t.v[0], 0);
	}
	/* Not a counter (2, 4, 6...): spread over the 53 bits. */
	ck_assert_int_le(steps_of_two, 1);
	ck_assert_uint_gt(most, 1ull << 40);
	iotcc_table_free(&t);
}
END_TEST

START_TEST(responses_match_their_request_type_and_entity)
{
	const struct iotcc_ref dev = { .kind = "Sim", .id = "abc-1", .name = "boiler" };
	struct iotcc_resp r;
	char why[256];

	parse_ok("{\"transactionID\":2,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"u-1\","
		 "\"id\":\"abc-1\",\"kind\":\"Sim\",\"name\":\"boiler\"}}",
		 &r);
	ck_assert_str_eq(r.kind, "Sim");
	ck_assert_str_eq(r.name, "boiler");
	ck_assert(iotcc_resp_matches(&r, IOTCC_CREATE, &dev, why, sizeof(why)));
	ck_assert(!iotcc_resp_matches(&r, IOTCC_REMOVE, &dev, why, sizeof(why)));
	ck_assert_str_eq(why, "a create_or_find_resource_response to a remove_resource_request");
	/* Another entity: forged, or the answer to someone else. */
	parse_ok("{\"transactionID\":2,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"u-1\","
		 "\"kind\":\"Sim\",\"name\":\"evil\"}}",
		 &r);
	ck_assert(!iotcc_resp_matches(&r, IOTCC_CREATE, &dev, why, sizeof(why)));
	ck_assert_str_eq(why, "it names name \"evil\", the request was for \"boiler\"");
	parse_ok("{\"transactionID\":2,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"u-1\","
		 "\"id\":\"abc-2\"}}",
		 &r);
	ck_assert(!iotcc_resp_matches(&r, IOTCC_CREATE, &dev, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "id \"abc-2\""));
	parse_ok("{\"transactionID\":2,\"version\":20171118,\"type\":"
		 "\"create_or_find_resource_response\",\"body\":{\"uuid\":\"u-1\","
		 "\"kind\":\"Other\"}}",
		 &r);
	ck_assert(!iotcc_resp_matches(&r, IOTCC_CREATE, &dev, why, sizeof(why)));
	/* An answer that names nothing matches on its type (and its transactionID). */
	parse_ok("{\"transactionID\":4,\"version\":20171118,\"type\":"
		 "\"remove_resource_response\",\"body\":{\"result\":\"succeeded\"}}",
		 &r);
	ck_assert(iotcc_resp_matches(&r, IOTCC_REMOVE, &dev, why, sizeof(why)));
	/* A kind or name that is not a name is malformed. */
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"remove_resource_response\",\"body\":{\"kind\":7}}",
				   why, sizeof(why)),
			 -EBADMSG);
	ck_assert_int_eq(parse_err("{\"transactionID\":2,\"version\":20171118,\"type\":"
				   "\"remove_resource_response\",\"body\":{\"name\":\"\"}}",
				   why, sizeof(why)),
			 -EBADMSG);
}
END_TEST

/* ---- names, properties, ids ------------------------------------------------------- */

START_TEST(name_rules)
{
	char err[256], s[IOTCC_VALUE_MAX + 2];

	ck_assert_int_eq(iotcc_check_text("name", "Boiler 1.main_loop-2", 50, err, sizeof(err)), 0);
	memset(s, 'a', 50);
	s[50] = '\0';
	ck_assert_int_eq(iotcc_check_text("name", s, 50, err, sizeof(err)), 0);
	s[50] = 'a';
	s[51] = '\0';
	ck_assert_int_eq(iotcc_check_text("name", s, 50, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "51 characters"));
	ck_assert_int_eq(iotcc_check_text("device name", "a/b", 50, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "device name 'a/b' has a character IoTCC refuses (allowed: A-Z a-z "
			      "0-9 space . _ -)");
	ck_assert_int_eq(iotcc_check_text("name", "", 50, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(iotcc_check_text("name", "caf\xc3\xa9", 50, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(iotcc_check_text("name", "tab\there", 50, err, sizeof(err)), -EINVAL);
	/* property keys and values: 100 and 255 */
	memset(s, 'k', 100);
	s[100] = '\0';
	ck_assert_int_eq(iotcc_check_text("key", s, IOTCC_KEY_MAX, err, sizeof(err)), 0);
	s[100] = 'k';
	s[101] = '\0';
	ck_assert_int_eq(iotcc_check_text("key", s, IOTCC_KEY_MAX, err, sizeof(err)), -EINVAL);
	memset(s, 'v', 255);
	s[255] = '\0';
	ck_assert_int_eq(iotcc_check_text("value", s, IOTCC_VALUE_MAX, err, sizeof(err)), 0);
	s[255] = 'v';
	s[256] = '\0';
	ck_assert_int_eq(iotcc_check_text("value", s, IOTCC_VALUE_MAX, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(local_ids)
{
	char a[37], b[37], c[37];

	ck_assert_int_eq(iotcc_local_id(EDGE.id, "boiler", a), 0);
	ck_assert_int_eq(iotcc_local_id(EDGE.id, "boiler", b), 0);
	ck_assert_int_eq(iotcc_local_id(EDGE.id, "pump", c), 0);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert_int_eq(a[14], '5'); /* version 5 */
	ck_assert_ptr_nonnull(strchr("89ab", a[19]));
	/* RFC 4122 appendix B's DNS namespace and "python.org": Python's uuid5 gives this. */
	ck_assert_int_eq(iotcc_local_id("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", a),
			 0);
	ck_assert_str_eq(a, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	ck_assert_int_eq(iotcc_local_id("not-a-uuid", "x", a), -EINVAL);
	ck_assert_int_eq(iotcc_local_id("6ba7b810-9dad-11d1-80b4-00c04fd430c", "x", a), -EINVAL);
}
END_TEST

/* ---- the state file -------------------------------------------------------------- */

static char *tmp_path(const char *name)
{
	static char dir[64];
	static char path[128];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/test_iotcc.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(dir));
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

START_TEST(state_round_trip)
{
	struct iotcc_saved in[2] = {
		{ "HelixGateway", "gw-1", "0b5e4c1a-77f4-5b2c-9a53-3f3c1e2d4a10", "u-edge-1" },
		{ "sim", "boiler 1", "5f0c2d6e-1c1a-5e8e-8f7e-2b9d1c3a4e5f", "u-dev-2" },
	};
	struct iotcc_saved *out;
	char err[256], path[128], tmp[160];
	struct stat st;
	size_t n;

	snprintf(path, sizeof(path), "%s", tmp_path("iotcc-x.json"));
	ck_assert_int_eq(iotcc_state_load(path, &out, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
	ck_assert_int_eq(iotcc_state_save(path, in, 2, err, sizeof(err)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(stat(tmp, &st), -1); /* renamed into place, nothing left over */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(iotcc_state_load(path, &out, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, in, sizeof(in));
	free(out);

	/* garbage is an error, bad entries are skipped */
	FILE *f = fopen(path, "w");

	fputs("{\"entities\": [", f);
	fclose(f);
	ck_assert_int_eq(iotcc_state_load(path, &out, &n, err, sizeof(err)), -EBADMSG);
	f = fopen(path, "w");
	fputs("{\"version\":1,\"entities\":[{\"kind\":\"sim\",\"name\":\"a/b\",\"id\":\"x\","
	      "\"uuid\":\"y\"},{\"kind\":\"sim\",\"name\":\"ok\",\"id\":\"x\",\"uuid\":7},"
	      "42,{\"kind\":\"sim\",\"name\":\"good\",\"id\":\"x-1\",\"uuid\":\"y-2\"}]}",
	      f);
	fclose(f);
	ck_assert_int_eq(iotcc_state_load(path, &out, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].name, "good");
	free(out);
	unlink(path);
	/* a folder that cannot be written: the error names the file */
	ck_assert_int_lt(iotcc_state_save("/proc/nonexistent/x.json", in, 1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/proc/nonexistent/x.json"));
}
END_TEST

/* @path holds exactly @text. */
static void file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "re");

	ck_assert_ptr_nonnull(f);
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
	fclose(f);
	ck_assert_str_eq(buf, text);
}

/*
 * A link planted at PATH.tmp (as another local user could in a folder
 * others can write) must not make the save write through it: the old
 * O_CREAT|O_TRUNC open overwrote the link's target with the JSON.
 */
START_TEST(state_save_never_writes_through_a_planted_link)
{
	static const struct iotcc_saved in[] = {
		{ "HelixGateway", "gw-1", "0b5e4c1a-77f4-5b2c-9a53-3f3c1e2d4a10", "u-edge-1" },
	};
	char err[512], path[200], tmp[220], victim[160], dir[128];
	struct iotcc_saved *out;
	struct stat st;
	size_t n;

	snprintf(victim, sizeof(victim), "%s", tmp_path("victim"));
	snprintf(path, sizeof(path), "%s", tmp_path("iotcc-link.json"));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(victim, "we");
	ck_assert_ptr_nonnull(f);
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(victim, tmp), 0);

	/* In our own folder: the stale link is removed, not followed; the save succeeds. */
	ck_assert_int_eq(iotcc_state_save(path, in, 1, err, sizeof(err)), 0);
	file_is(victim, "precious\n");
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(lstat(tmp, &st), -1);
	ck_assert_int_eq(iotcc_state_load(path, &out, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	free(out);

	/* In a folder others can write (the old /tmp/liotad-state-UID taken over): refused. */
	snprintf(dir, sizeof(dir), "%s", tmp_path("open"));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/iotcc.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_int_eq(iotcc_state_save(path, in, 1, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, dir) && strstr(err, "mode 0777"), "%s", err);
	file_is(victim, "precious\n");
	ck_assert_int_eq(lstat(path, &st), -1);
	unlink(tmp);
	rmdir(dir);
	unlink(victim);
}
END_TEST

/* ---- fuzz ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* An independent check that an accepted message really is a response of ours. */
static void check_accepted(const char *buf, size_t len, const struct iotcc_resp *r)
{
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL), *body;
	const char *type;
	char want[64];

	ck_assert_msg(j && json_is_object(j), "accepted a non-object: %.*s", (int)len, buf);
	ck_assert(json_integer_value(json_object_get(j, "version")) == IOTCC_VERSION);
	ck_assert(json_is_integer(json_object_get(j, "transactionID")));
	ck_assert_uint_eq(r->tid,
			  (uint64_t)json_integer_value(json_object_get(j, "transactionID")));
	type = json_string_value(json_object_get(j, "type"));
	ck_assert_ptr_nonnull(type);
	ck_assert_int_lt(r->type, IOTCC_NTYPES);
	snprintf(want, sizeof(want), "%s_response", iotcc_type_name(r->type));
	ck_assert_str_eq(type, want);
	body = json_object_get(j, "body");
	ck_assert(json_is_object(body));
	if (r->ok && r->type == IOTCC_CREATE) {
		ck_assert_uint_gt(strlen(r->uuid), 0);
		ck_assert_str_eq(r->uuid, json_string_value(json_object_get(body, "uuid")));
		ck_assert_uint_eq(strspn(r->uuid, "0123456789abcdefghijklmnopqrstuvwxyz"
						  "ABCDEFGHIJKLMNOPQRSTUVWXYZ-"),
				  strlen(r->uuid));
	}
	if (r->ok && r->type != IOTCC_CREATE)
		ck_assert_str_eq(json_string_value(json_object_get(body, "result")), "succeeded");
	for (const char *p = r->result; *p; p++)
		ck_assert(*p >= 0x20 && *p < 0x7f);
	json_decref(j);
}

static const char *const corpus[] = {
	"{\"transactionID\":2,\"version\":20171118,\"type\":\"create_or_find_resource_response\","
	"\"body\":{\"uuid\":\"3c7b1b9e-0d5f-5a3e-9a0b-6f2e9d8c7b6a\",\"id\":\"abc\"}}",
	"{\"transactionID\":4,\"version\":20171118,\"type\":\"create_relationship_response\","
	"\"body\":{\"result\":\"succeeded\"}}",
	"{\"transactionID\":6,\"version\":20171118,\"type\":\"add_properties_response\","
	"\"body\":{\"result\":\"failed\"}}",
	"{\"transactionID\":8,\"version\":20171118,\"type\":\"remove_resource_response\","
	"\"body\":{\"result\":\"succeeded\",\"extra\":[1,2,{\"a\":null}]}}",
	"{\"type\":\"add_stats\",\"version\":20171118,\"body\":{}}",
	"{\"transactionID\":1e3,\"version\":\"20171118\",\"type\":5,\"body\":[]}",
};

static const char *const pieces[] = {
	"{",
	"}",
	"[",
	"]",
	"\"",
	":",
	",",
	"null",
	"true",
	"-1",
	"1e999999",
	"0.0",
	"18446744073709551616",
	"\"uuid\"",
	"\"result\"",
	"\"succeeded\"",
	"\\u0000",
	"\\ud800",
	"\xff",
	"\xc3\x28",
	" ",
	"\"transactionID\"",
	"\"body\"",
	"{\"uuid\":\"u\"}",
};

START_TEST(fuzz_parser)
{
	char *buf = malloc(IOTCC_MSG_MAX + 64);
	unsigned accepted = 0, refused = 0;

	for (int iter = 0; iter < 30000; iter++) {
		size_t len = 0;
		int mode = (int)(rnd() % 6);
		struct iotcc_resp r;
		char err[256];
		int ret;

		if (mode == 0) { /* random bytes */
			len = rnd() % 200;
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)rnd();
		} else if (mode == 1) { /* pieces of JSON glued together */
			int k = (int)(rnd() % 30);

			for (int i = 0; i < k; i++) {
				const char *p = pieces[rnd() % ARRAY_SIZE(pieces)];

				memcpy(buf + len, p, strlen(p));
				len += strlen(p);
			}
		} else if (mode == 2) { /* deep nesting */
			size_t depth = 1 + rnd() % 20000;

			for (size_t i = 0; i < depth && len < IOTCC_MSG_MAX; i++)
				buf[len++] = rnd() % 2 ? '[' : '{';
		} else { /* mutations and truncations of good messages */
			const char *c = corpus[rnd() % ARRAY_SIZE(corpus)];
			int k = (int)(rnd() % 4);

			len = strlen(c);
			memcpy(buf, c, len);
			for (int i = 0; i < k && len; i++) {
				size_t at = rnd() % len;

				switch (rnd() % 4) {
				case 0:
					buf[at] ^= (char)(1u << (rnd() % 8));
					break;
				case 1:
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
					break;
				case 2: {
					const char *p = pieces[rnd() % ARRAY_SIZE(pieces)];
					size_t pl = strlen(p);

					memmove(buf + at + pl, buf + at, len - at);
					memcpy(buf + at, p, pl);
					len += pl;
					break;
				}
				default:
					len = at;
					break;
				}
			}
		}
		ret = iotcc_parse(buf, len, &r, err, sizeof(err));
		ck_assert_msg(ret == 0 || ret == -EBADMSG || ret == -EPROTO || ret == -ENOMSG ||
				      ret == -EMSGSIZE,
			      "unexpected %d", ret);
		ck_assert_uint_lt(strlen(err), sizeof(err));
		if (ret == 0) {
			check_accepted(buf, len, &r);
			accepted++;
		} else {
			refused++;
		}
	}
	/* The corpus mutations must exercise both outcomes. */
	ck_assert_uint_gt(accepted, 100);
	ck_assert_uint_gt(refused, 10000);
	/* Oversized, of every kind. */
	memset(buf, '[', IOTCC_MSG_MAX + 1);
	{
		struct iotcc_resp r;
		char err[64];

		ck_assert_int_eq(iotcc_parse(buf, IOTCC_MSG_MAX + 1, &r, err, sizeof(err)),
				 -EMSGSIZE);
	}
	free(buf);
}
END_TEST

/*
 * An IoTCC WebSocket url: the port in plain digits, as every number of the
 * configuration, and no brackets inside the host (found by tests/fuzz).
 */
START_TEST(ws_url_port_is_plain_digits_and_host_has_no_brackets)
{
	static const char *const bad[] = { "ws://h:+80/",     "ws://h: 80/",    "ws://h:-0/",
					   "wss://h:+5536/x", "ws://[::1]:+1/", "ws://[[1]/",
					   "ws://a]b/",       "ws://[1]]/" };
	char *host, *path, err[256];
	unsigned port;
	bool tls;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(lt_ws_parse_url(bad[i], &tls, &host, &port, &path, err,
					      sizeof(err)) == -EINVAL,
			      "%s accepted", bad[i]);
		ck_assert_ptr_null(host);
		ck_assert_ptr_null(path);
	}
	ck_assert_int_eq(lt_ws_parse_url("ws://[::1]:8080/liota", &tls, &host, &port, &path, err,
					 sizeof(err)),
			 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 8080);
	ck_assert_str_eq(path, "/liota");
	free(host);
	free(path);
}
END_TEST

static Suite *iotcc_suite(void)
{
	Suite *s = suite_create("iotcc");
	TCase *tc = tcase_create("proto");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, create_request);
	tcase_add_test(tc, relate_request);
	tcase_add_test(tc, props_request);
	tcase_add_test(tc, remove_request);
	tcase_add_test(tc, stats_message);
	tcase_add_test(tc, stats_split);
	tcase_add_test(tc, parse_create);
	tcase_add_test(tc, parse_others);
	tcase_add_test(tc, parse_refused);
	tcase_add_test(tc, table_matching);
	tcase_add_test(tc, transaction_ids_are_unpredictable_even_and_exact_in_json);
	tcase_add_test(tc, responses_match_their_request_type_and_entity);
	tcase_add_test(tc, name_rules);
	tcase_add_test(tc, local_ids);
	tcase_add_test(tc, state_round_trip);
	tcase_add_test(tc, state_save_never_writes_through_a_planted_link);
	tcase_add_test(tc, fuzz_parser);
	suite_add_tcase(s, tc);
	tc = tcase_create("websocket");
	tcase_add_test(tc, ws_url_port_is_plain_digits_and_host_has_no_brackets);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(iotcc_suite)
