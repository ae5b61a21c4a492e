/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the declarative option tables (liota/options.h, src/core/options.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <liota/liota.h>
#include <liota/options.h>

#include "transport/mqtt.h"
#include "transport/stream.h"
#include "transport/ws.h"
#include "unit.h"

/* strdup() that fails on demand: the out-of-memory path of string keys. */
static bool fail_strdup;

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fail_strdup)
		return NULL;
	p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

struct inner {
	int tls;
	char *ca;
	unsigned seen;
};

enum colour { RED = 1, GREEN = 2, BLUE = 7 };

struct conf {
	char *name;
	char *tag;
	bool on;
	int flag;
	int8_t i8;
	int64_t i64;
	uint16_t u16;
	size_t size;
	double ratio;
	uint64_t wait_ns;
	uint64_t timeout_ns;
	int colour;
	int byte_order;
	int odd;
	struct inner in;
	uint32_t seen;
};

static const struct lt_opt_name colours[] = {
	{ "red", RED }, { "green", GREEN }, { "blue", BLUE }, { NULL, 0 }
};

static int set_odd(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "odd") != 0) {
		snprintf(err, errlen, "%s wants odd", key);
		return -EINVAL;
	}
	*(int *)field = 1;
	return 0;
}

static const struct lt_opt inner_opts[] = {
	LT_OPT_BOOL("tls", struct inner, tls, 0, "TLS on"),
	LT_OPT_STRING("ca", struct inner, ca, LT_OPT_REQUIRED | LT_OPT_NONEMPTY, 0, "CA file"),
	LT_OPT_END_SEEN(struct inner, seen),
};

#define NS_MS 1000000ull

static const struct lt_opt opts[] = {
	LT_OPT_STRING("name", struct conf, name, LT_OPT_REQUIRED | LT_OPT_NONEMPTY, 8, "name"),
	LT_OPT_STRING("tag", struct conf, tag, 0, 0, "tag"),
	LT_OPT_BOOL("on", struct conf, on, 0, "a bool field"),
	LT_OPT_BOOL("flag", struct conf, flag, 0, "an int field"),
	LT_OPT_INT("i8", struct conf, i8, 0, -100, 100, "small"),
	LT_OPT_INT("i64", struct conf, i64, 0, INT64_MIN, INT64_MAX, "wide"),
	LT_OPT_UINT("u16", struct conf, u16, 0, 1, 65535, "port"),
	LT_OPT_UINT("size", struct conf, size, 0, 4096, 1ull << 30, "size"),
	LT_OPT_DOUBLE("ratio", struct conf, ratio, 0, 0.0, 1.0, "ratio"),
	LT_OPT_DURATION("wait", struct conf, wait_ns, 0, 10 * NS_MS, UINT64_MAX, "wait"),
	LT_OPT_DURATION("timeout", struct conf, timeout_ns, 0, 5000 * NS_MS, 65535000 * NS_MS,
			"timeout"),
	LT_OPT_ENUM("colour", struct conf, colour, 0, colours, "colour"),
	LT_OPT_ENUM("byte_order", struct conf, byte_order, LT_OPT_UNKNOWN_FORM, colours,
		    "other form"),
	LT_OPT_FUNC("odd", struct conf, odd, 0, set_odd, "odd"),
	LT_OPT_TABLE(struct conf, in, inner_opts),
	LT_OPT_END_SEEN(struct conf, seen),
};

static struct conf c;
static char err[256];

static void setup(void)
{
	memset(&c, 0, sizeof(c));
	c.u16 = 42;
	c.colour = GREEN;
	err[0] = '\0';
	fail_strdup = false;
}

static void teardown(void)
{
	free(c.name);
	free(c.tag);
	free(c.in.ca);
}

static int set(const char *k, const char *v)
{
	err[0] = '\0';
	return lt_opts_set(opts, &c, k, v, err, sizeof(err));
}

/* @k = @v is refused with -EINVAL and exactly @msg. */
static void refused(const char *k, const char *v, const char *msg)
{
	ck_assert_int_eq(set(k, v), -EINVAL);
	ck_assert_str_eq(err, msg);
}

START_TEST(strings)
{
	ck_assert_int_eq(set("name", "abc"), 0);
	ck_assert_str_eq(c.name, "abc");
	/* a later value replaces the earlier one (the old copy is freed: ASan) */
	ck_assert_int_eq(set("name", "12345678"), 0);
	ck_assert_str_eq(c.name, "12345678");
	refused("name", "123456789", "name: '123456789' is too long (at most 8 characters)");
	refused("name", "", "name must not be empty");
	ck_assert_str_eq(c.name, "12345678");
	ck_assert_int_eq(set("tag", ""), 0);
	ck_assert_str_eq(c.tag, "");
}
END_TEST

START_TEST(string_default_limit)
{
	char *big = malloc(LT_OPT_STRING_MAX + 2);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', LT_OPT_STRING_MAX);
	big[LT_OPT_STRING_MAX] = '\0';
	ck_assert_int_eq(set("tag", big), 0);
	big[LT_OPT_STRING_MAX] = 'x';
	big[LT_OPT_STRING_MAX + 1] = '\0';
	ck_assert_int_eq(set("tag", big), -EINVAL);
	/* the reason names the key first: a long value is cut at the end of err */
	ck_assert_int_eq(strncmp(err, "tag: 'xxxx", 10), 0);
	ck_assert_uint_eq(strlen(c.tag), LT_OPT_STRING_MAX);
	free(big);
}
END_TEST

START_TEST(out_of_memory)
{
	ck_assert_int_eq(set("tag", "old"), 0);
	fail_strdup = true;
	ck_assert_int_eq(set("tag", "new"), -ENOMEM);
	fail_strdup = false;
	ck_assert_str_eq(err, "out of memory");
	ck_assert_str_eq(c.tag, "old");
}
END_TEST

START_TEST(bools)
{
	ck_assert_int_eq(set("on", "yes"), 0);
	ck_assert(c.on);
	ck_assert_int_eq(set("flag", "on"), 0);
	ck_assert_int_eq(c.flag, 1);
	ck_assert_int_eq(set("flag", "0"), 0);
	ck_assert_int_eq(c.flag, 0);
	ck_assert_int_eq(set("on", "maybe"), -EINVAL);
	ck_assert(c.on);
}
END_TEST

START_TEST(ints)
{
	ck_assert_int_eq(set("i8", "-100"), 0);
	ck_assert_int_eq(c.i8, -100);
	ck_assert_int_eq(set("i8", "100"), 0);
	ck_assert_int_eq(c.i8, 100);
	refused("i8", "101", "101 is out of range (-100..100)");
	refused("i8", "-101", "-101 is out of range (-100..100)");
	refused("i8", "1k", "'1k' is not a whole number");
	refused("i8", "-", "'-' is not a whole number");
	refused("i8", " 1", "' 1' is not a whole number");
	refused("i8", "+1", "'+1' is not a whole number");
	ck_assert_int_eq(c.i8, 100);
	ck_assert_int_eq(set("i64", "-9223372036854775808"), 0);
	ck_assert(c.i64 == INT64_MIN);
	ck_assert_int_eq(set("i64", "9223372036854775807"), 0);
	ck_assert(c.i64 == INT64_MAX);
	ck_assert_int_eq(set("i64", "9223372036854775808"), -EINVAL);
	ck_assert_int_eq(set("i64", "-9223372036854775809"), -EINVAL);
	ck_assert(c.i64 == INT64_MAX);
}
END_TEST

START_TEST(uints_and_sizes)
{
	ck_assert_int_eq(set("u16", "65535"), 0);
	ck_assert_uint_eq(c.u16, 65535);
	refused("u16", "0", "0 is out of range (1..65535)");
	refused("u16", "65536", "65536 is out of range (1..65535)");
	refused("u16", "-1", "'-1' is not a whole number");
	ck_assert_uint_eq(c.u16, 65535);
	ck_assert_int_eq(set("size", "8k"), 0);
	ck_assert_uint_eq(c.size, 8192);
	ck_assert_int_eq(set("size", "1G"), 0);
	ck_assert_uint_eq(c.size, 1u << 30);
	ck_assert_int_eq(set("size", "1k"), -EINVAL);
	ck_assert_int_eq(set("size", "2G"), -EINVAL);
	ck_assert_uint_eq(c.size, 1u << 30);
}
END_TEST

START_TEST(doubles)
{
	ck_assert_int_eq(set("ratio", "0.25"), 0);
	ck_assert_double_eq(c.ratio, 0.25);
	ck_assert_int_eq(set("ratio", "1"), 0);
	refused("ratio", "1.5", "1.5 is out of range (0..1)");
	refused("ratio", "x", "'x' is not a number");
	refused("ratio", "inf", "'inf' is not a finite number");
	ck_assert_double_eq(c.ratio, 1.0);
}
END_TEST

START_TEST(durations)
{
	ck_assert_int_eq(set("wait", "10ms"), 0);
	ck_assert_uint_eq(c.wait_ns, 10 * NS_MS);
	ck_assert_int_eq(set("wait", "2"), 0);
	ck_assert_uint_eq(c.wait_ns, 2000 * NS_MS);
	refused("wait", "9ms", "wait must be at least 10ms");
	refused("wait", "0", "wait must be at least 10ms");
	ck_assert_uint_eq(c.wait_ns, 2000 * NS_MS);
	ck_assert_int_eq(set("timeout", "5s"), 0);
	ck_assert_int_eq(set("timeout", "65535s"), 0);
	refused("timeout", "4.9s", "timeout must be 5s to 65535s");
	refused("timeout", "65536s", "timeout must be 5s to 65535s");
	ck_assert_int_eq(set("timeout", "soon"), -EINVAL);
	ck_assert_uint_eq(c.timeout_ns, 65535000 * NS_MS);
}
END_TEST

START_TEST(enums)
{
	ck_assert_int_eq(c.colour, GREEN);
	ck_assert_int_eq(set("colour", "blue"), 0);
	ck_assert_int_eq(c.colour, BLUE);
	ck_assert_int_eq(set("colour", "red"), 0);
	ck_assert_int_eq(c.colour, RED);
	refused("colour", "Red", "colour must be red, green or blue, not \"Red\"");
	refused("colour", "", "colour must be red, green or blue, not \"\"");
	ck_assert_int_eq(c.colour, RED);
	refused("byte_order", "x", "unknown byte order 'x' (red, green or blue)");
	ck_assert_int_eq(set("byte_order", "blue"), 0);
	ck_assert_int_eq(c.byte_order, BLUE);
}
END_TEST

START_TEST(setters_and_nested_tables)
{
	ck_assert_int_eq(set("odd", "odd"), 0);
	ck_assert_int_eq(c.odd, 1);
	refused("odd", "even", "odd wants odd");
	ck_assert_int_eq(set("tls", "yes"), 0);
	ck_assert_int_eq(c.in.tls, 1);
	ck_assert_int_eq(set("ca", "/x"), 0);
	ck_assert_str_eq(c.in.ca, "/x");
	/* the nested table records its keys in its own mask */
	ck_assert_uint_eq(c.in.seen, 3);
	ck_assert_int_eq(lt_opts_given(opts, &c, "ca"), 1);
}
END_TEST

START_TEST(unknown_keys)
{
	strcpy(err, "untouched");
	ck_assert_int_eq(lt_opts_set(opts, &c, "colour2", "red", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "untouched");
	ck_assert_int_eq(lt_opts_set(opts, &c, "", "red", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(lt_opts_set(opts, &c, "Name", "x", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(lt_opts_given(opts, &c, "nope"), -ENOENT);
	ck_assert_uint_eq(c.seen, 0);
}
END_TEST

START_TEST(required_keys)
{
	ck_assert_int_eq(lt_opts_check(opts, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "name is required");
	ck_assert_int_eq(lt_opts_given(opts, &c, "name"), 0);
	/* a refused value does not count as given */
	ck_assert_int_eq(set("name", ""), -EINVAL);
	ck_assert_int_eq(lt_opts_given(opts, &c, "name"), 0);
	ck_assert_int_eq(set("name", "n"), 0);
	ck_assert_int_eq(lt_opts_given(opts, &c, "name"), 1);
	ck_assert_int_eq(lt_opts_check(opts, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "ca is required");
	ck_assert_int_eq(set("ca", "/ca.pem"), 0);
	ck_assert_int_eq(lt_opts_check(opts, &c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(duplicates_replace)
{
	/* The configuration refuses a key twice in one file; a drop-in overrides: last wins. */
	ck_assert_int_eq(set("u16", "1"), 0);
	ck_assert_int_eq(set("u16", "2"), 0);
	ck_assert_uint_eq(c.u16, 2);
	ck_assert_int_eq(set("tag", "a"), 0);
	ck_assert_int_eq(set("tag", "b"), 0);
	ck_assert_str_eq(c.tag, "b");
}
END_TEST

/* A REQUIRED key in a table that records nothing is a driver bug: said, not ignored. */
struct bare {
	char *s;
};
static const struct lt_opt bare_opts[] = {
	LT_OPT_STRING("s", struct bare, s, LT_OPT_REQUIRED, 0, "s"),
	LT_OPT_END(),
};

START_TEST(required_needs_seen_mask)
{
	struct bare b = { NULL };

	ck_assert_int_eq(lt_opts_check(bare_opts, &b, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "s: table has no seen mask");
	ck_assert_int_eq(lt_opts_set(bare_opts, &b, "s", "v", err, sizeof(err)), 0);
	ck_assert_int_eq(lt_opts_given(bare_opts, &b, "s"), -ENOENT);
	free(b.s);
}
END_TEST

/*
 * The transport keys are one fragment: the stream, WebSocket and MQTT
 * transports take the same range for each (they had 1ms, 1ms and 10ms).
 */
START_TEST(transports_share_one_minimum)
{
	static const char *const keys[] = { "reconnect_min", "reconnect_max", "connect_timeout" };
	struct lt_stream_conf sc;
	struct lt_ws_conf wc;
	struct lt_mqtt_conf mc;
	int r[3];

	stream_conf_defaults(&sc);
	lt_ws_conf_init(&wc);
	lt_mqtt_conf_init(&mc);
	for (size_t i = 0; i < 3; i++) {
		r[0] = stream_conf_option(&sc, keys[i], "9ms", err, sizeof(err));
		r[1] = lt_ws_conf_option(&wc, keys[i], "9ms", err, sizeof(err));
		r[2] = lt_mqtt_option(&mc, keys[i], "9ms", err, sizeof(err));
		for (size_t t = 0; t < 3; t++)
			ck_assert_int_eq(r[t], -EINVAL);
		ck_assert_int_eq(strncmp(err, keys[i], strlen(keys[i])), 0);
		ck_assert_str_eq(err + strlen(keys[i]), " must be at least 10ms");
		ck_assert_int_eq(stream_conf_option(&sc, keys[i], "10ms", err, sizeof(err)), 0);
		ck_assert_int_eq(lt_ws_conf_option(&wc, keys[i], "10ms", err, sizeof(err)), 0);
		ck_assert_int_eq(lt_mqtt_option(&mc, keys[i], "10ms", err, sizeof(err)), 0);
	}
	ck_assert_uint_eq(sc.backoff_min_ns, 10000000);
	ck_assert_uint_eq(wc.connect_timeout_ns, 10000000);
	ck_assert_uint_eq(mc.backoff_max_ns, 10000000);
	ck_assert_int_eq(stream_conf_option(&sc, "queue_size", "4095", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_ws_conf_option(&wc, "queue_size", "4095", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_option(&mc, "queue_size", "4095", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_mqtt_option(&mc, "queue_size", "1G", err, sizeof(err)), 0);
	ck_assert_uint_eq(mc.queue_bytes, 1u << 30);
	/* the nested TLS table, from each */
	ck_assert_int_eq(lt_ws_conf_option(&wc, "min_tls", "1.1", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "min_tls must be 1.2 or 1.3, not \"1.1\"");
	ck_assert_int_eq(stream_conf_option(&sc, "ca_file", "/ca.pem", err, sizeof(err)), 0);
	ck_assert_str_eq(sc.tls.ca_file, "/ca.pem");
	stream_conf_clear(&sc);
	lt_ws_conf_clear(&wc);
	lt_mqtt_conf_clear(&mc);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, strings);
	tcase_add_test(tc, string_default_limit);
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, bools);
	tcase_add_test(tc, ints);
	tcase_add_test(tc, uints_and_sizes);
	tcase_add_test(tc, doubles);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, enums);
	tcase_add_test(tc, setters_and_nested_tables);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, required_keys);
	tcase_add_test(tc, duplicates_replace);
	tcase_add_test(tc, required_needs_seen_mask);
	tcase_add_test(tc, transports_share_one_minimum);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(options_suite)
