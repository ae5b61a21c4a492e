/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of device discovery by message: every rule of the message
 * (src/core/devdisc.c), the limit on logged refusals, and the set of
 * discovered devices a message adds to or updates (lt_discovery_message()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "core/config.h"
#include "core/devdisc.h"
#include "core/devdisc_state.h"
#include "core/discover.h"
#include "intree.h"
#include "unit.h"
#include "confdir.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define S  1000000000ull
#define T0 (1000 * S)

static const struct lt_devdisc_type types[] = { { "LM35", "SN" }, { "DHT-22", "mac" } };

static struct lt_devdisc_msg msg;
static char why[512];

static int parse(const char *text)
{
	why[0] = '\0';
	return lt_devdisc_parse(text, strlen(text), types, ARRAY_SIZE(types), &msg, why,
				sizeof(why));
}

/* Refused, with a reason holding @part. */
#define ck_refused(text, part)                                                                     \
	do {                                                                                       \
		ck_assert_int_eq(parse(text), -EINVAL);                                            \
		ck_assert_msg(strstr(why, part), "reason '%s' lacks '%s'", why, part);             \
		ck_assert(!strchr(why, '\n'));                                                     \
	} while (0)

START_TEST(a_message_names_the_device_type_and_unique_value)
{
	ck_assert_int_eq(parse("{\"LM35\": {\"SN\": \"12345\", \"vendor\": \"TI\", "
			       "\"fw\": \"1.2.3\"}}"),
			 0);
	ck_assert_uint_eq(msg.type, 0);
	ck_assert_str_eq(msg.name, "LM35_12345");
	/* The other keys are the properties, sorted by key; the unique key is not one. */
	ck_assert_uint_eq(msg.nprops, 2);
	ck_assert_str_eq(msg.keys[0], "fw");
	ck_assert_str_eq(msg.values[0], "1.2.3");
	ck_assert_str_eq(msg.keys[1], "vendor");
	ck_assert_str_eq(msg.values[1], "TI");

	ck_assert_int_eq(parse("  {\"DHT-22\":{\"mac\":\"a-b_C\"}}\r "), 0);
	ck_assert_uint_eq(msg.type, 1);
	ck_assert_str_eq(msg.name, "DHT-22_a-b_C");
	ck_assert_uint_eq(msg.nprops, 0);
}
END_TEST

START_TEST(malformed_json_is_refused)
{
	ck_refused("", "malformed JSON");
	ck_refused("{\"LM35\": {\"SN\": \"1\"}", "malformed JSON");
	ck_refused("{\"LM35\": {\"SN\": \"1\"}} {}", "malformed JSON");
	ck_refused("{'LM35': {'SN': '1'}}", "malformed JSON");
	/* Two keys of one name: which would count? */
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"SN\": \"2\"}}", "malformed JSON");
	/* jansson quotes the bytes near the error: a newline there is not logged. */
	ck_refused("{\"LM35\": {\"k\\u00e\n9\": \"v\"}}", "malformed JSON");
	/* A NUL inside a string. */
	ck_refused("{\"LM35\": {\"SN\": \"1\\u0000\"}}", "malformed JSON");
	ck_assert_int_eq(lt_devdisc_parse("{\"LM35\": {\"SN\": \"1\"}}",
					  sizeof("{\"LM35\": {\"SN\": \"1\"}}"), types, 2, &msg,
					  why, sizeof(why)),
			 -EINVAL);
}
END_TEST

START_TEST(one_object_with_one_type)
{
	ck_refused("[]", "not one object");
	ck_refused("\"LM35\"", "malformed JSON"); /* jansson: an object or an array */
	ck_refused("{}", "not one object");
	ck_refused("{\"LM35\": {\"SN\": \"1\"}, \"DHT-22\": {\"mac\": \"2\"}}", "not one object");
	ck_refused("{\"LM35\": [\"SN\", \"1\"]}", "LM35: not an object");
	ck_refused("{\"LM35\": \"SN\"}", "LM35: not an object");
}
END_TEST

START_TEST(type_and_keys_are_word_characters)
{
	ck_refused("{\"LM 35\": {\"SN\": \"1\"}}", "device type 'LM 35'");
	ck_refused("{\"LM.35\": {\"SN\": \"1\"}}", "device type 'LM.35'");
	ck_refused("{\"\": {\"SN\": \"1\"}}", "device type ''");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"a.b\": \"2\"}}", "key 'a.b'");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"\": \"2\"}}", "key ''");
	/* Bytes outside printable ASCII are not echoed to the log. */
	ck_refused("{\"LM\\u00e935\": {\"SN\": \"1\"}}", "device type 'LM?"
							 "?35'");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"k\\nx\": \"2\"}}", "key 'k?x'");
}
END_TEST

START_TEST(values_are_strings_of_word_characters_and_dots)
{
	ck_refused("{\"LM35\": {\"SN\": 12345}}", "SN: the value is not a string");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"on\": true}}", "on: the value is not a string");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"x\": null}}", "x: the value is not a string");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"x\": {}}}", "x: the value is not a string");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"x\": \"a b\"}}", "x: value 'a b'");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"x\": \"a/b\"}}", "x: value 'a/b'");
	ck_refused("{\"LM35\": {\"SN\": \"1\", \"x\": \"\"}}", "x: value ''");
	ck_refused("{\"LM35\": {\"SN\": \"\\u00e9\"}}", "SN: value '?"
							"?'");
}
END_TEST

START_TEST(unknown_type_and_missing_unique_key)
{
	ck_refused("{\"LM36\": {\"SN\": \"1\"}}",
		   "unknown device type 'LM36' (known: LM35, DHT-22)");
	/* Types are matched exactly, as liota's mapping was. */
	ck_refused("{\"lm35\": {\"SN\": \"1\"}}", "unknown device type 'lm35'");
	ck_refused("{\"LM35\": {\"sn\": \"1\"}}", "LM35: the unique key SN is missing");
	ck_refused("{\"LM35\": {}}", "LM35: the unique key SN is missing");
	ck_assert_int_eq(lt_devdisc_parse("{\"LM35\": {\"SN\": \"1\"}}", 21, types, 0, &msg, why,
					  sizeof(why)),
			 -EINVAL);
	ck_assert_msg(strstr(why, "no [profile] has discovery_type"), "%s", why);
}
END_TEST

START_TEST(the_device_name_must_be_a_device_name)
{
	char text[256];

	/* A dot is fine in a property, not in a name. */
	ck_refused("{\"LM35\": {\"SN\": \"1.2\"}}", "LM35: SN '1.2' cannot name a device");
	/* LM35_ and 45 characters: 50. */
	snprintf(text, sizeof(text), "{\"LM35\": {\"SN\": \"%045d\"}}", 7);
	ck_assert_int_eq(parse(text), 0);
	ck_assert_uint_eq(strlen(msg.name), LT_NAME_LEN_MAX);
	snprintf(text, sizeof(text), "{\"LM35\": {\"SN\": \"%046d\"}}", 7);
	ck_refused(text, "cannot name a device");
}
END_TEST

START_TEST(property_bounds_are_the_devices)
{
	size_t cap = 64 * 1024;
	char *text = malloc(cap);
	size_t at;

	/* A key of LT_PROPERTY_KEY_MAX characters, a value of LT_PROPERTY_VALUE_MAX. */
	at = (size_t)snprintf(text, cap, "{\"LM35\": {\"SN\": \"1\", \"%0*d\": \"%0*d\"}}",
			      LT_PROPERTY_KEY_MAX, 0, LT_PROPERTY_VALUE_MAX, 0);
	ck_assert_int_eq(parse(text), 0);
	ck_assert_uint_eq(strlen(msg.keys[0]), LT_PROPERTY_KEY_MAX);
	ck_assert_uint_eq(strlen(msg.values[0]), LT_PROPERTY_VALUE_MAX);
	snprintf(text, cap, "{\"LM35\": {\"SN\": \"1\", \"%0*d\": \"1\"}}", LT_PROPERTY_KEY_MAX + 1,
		 0);
	ck_refused(text, "key '");
	snprintf(text, cap, "{\"LM35\": {\"SN\": \"1\", \"k\": \"%0*d\"}}",
		 LT_PROPERTY_VALUE_MAX + 1, 0);
	ck_refused(text, "k: value '0000");
	ck_assert_uint_lt(strlen(why), 200);

	/* LT_DEVICE_PROPERTIES_MAX properties beside the unique key, then one more. */
	at = (size_t)snprintf(text, cap, "{\"LM35\": {\"SN\": \"1\"");
	for (int i = 0; i < LT_DEVICE_PROPERTIES_MAX; i++)
		at += (size_t)snprintf(text + at, cap - at, ", \"k%02d\": \"v\"", i);
	snprintf(text + at, cap - at, "}}");
	ck_assert_int_eq(parse(text), 0);
	ck_assert_uint_eq(msg.nprops, LT_DEVICE_PROPERTIES_MAX);
	snprintf(text + at, cap - at, ", \"k99\": \"v\"}}");
	ck_refused(text, "more than 32 properties");
	free(text);
}
END_TEST

START_TEST(a_message_over_64_kib_is_refused_unread)
{
	size_t n = LT_DEVDISC_MSG_MAX + 1;
	char *text = malloc(n);
	int at;

	/* Valid JSON, padded with white space to one byte too many. */
	memset(text, ' ', n);
	at = snprintf(text, n, "{\"LM35\": {\"SN\": \"1\"}}");
	text[at] = ' ';
	ck_assert_int_eq(lt_devdisc_parse(text, n, types, 2, &msg, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "longer than 65536 bytes"), "%s", why);
	ck_assert_int_eq(lt_devdisc_parse(text, n - 1, types, 2, &msg, why, sizeof(why)), 0);
	free(text);
}
END_TEST

START_TEST(deep_nesting_is_refused_not_recursed)
{
	size_t n = LT_DEVDISC_MSG_MAX;
	char *text = malloc(n);

	memset(text, '[', n);
	ck_assert_int_eq(lt_devdisc_parse(text, n, types, 2, &msg, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "malformed JSON"), "%s", why);
	free(text);
}
END_TEST

/* ---- [discovery] mqtt.topic -------------------------------------------------- */

START_TEST(an_mqtt_topic_filter_is_checked_as_the_protocol_says)
{
	static const char *const good[] = {
		"a",    "liotad/gw1/discovery", "+", "#", "a/+/b", "a/#", "+/+/#", "/a/",
		"a//b", "caf\xc3\xa9"
	};
	static const struct {
		const char *topic, *reason;
	} bad[] = { { "", "1 to 65535 bytes" },
		    { "a/#/b", "'#' must be the whole last level" },
		    { "a#", "'#' must be the whole last level" },
		    { "a/b+", "'+' must be a whole level" },
		    { "+a/b", "'+' must be a whole level" },
		    { "a\tb", "a control character at byte 2" },
		    { "caf\xc3", "not UTF-8" } };
	char *huge = malloc(LT_DEVDISC_TOPIC_MAX + 2);

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(lt_devdisc_topic_check(good[i], why, sizeof(why)) == 0, "%s: %s",
			      good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_int_eq(lt_devdisc_topic_check(bad[i].topic, why, sizeof(why)), -EINVAL);
		ck_assert_msg(strstr(why, bad[i].reason), "%s: %s", bad[i].topic, why);
	}
	memset(huge, 'a', LT_DEVDISC_TOPIC_MAX);
	huge[LT_DEVDISC_TOPIC_MAX] = '\0';
	ck_assert_int_eq(lt_devdisc_topic_check(huge, why, sizeof(why)), 0);
	huge[LT_DEVDISC_TOPIC_MAX] = 'a';
	huge[LT_DEVDISC_TOPIC_MAX + 1] = '\0';
	ck_assert_int_eq(lt_devdisc_topic_check(huge, why, sizeof(why)), -EINVAL);
	free(huge);
}
END_TEST

/* ---- the limit on logged refusals ------------------------------------------- */

START_TEST(refusals_are_logged_up_to_a_burst_then_counted)
{
	struct lt_devdisc_limit l = { 0 };
	unsigned ended, logged = 0;

	ck_assert_uint_eq(lt_devdisc_limit_due(&l), UINT64_MAX);
	for (unsigned i = 0; i < 1000; i++) {
		logged += lt_devdisc_limit_take(&l, T0 + i * 1000000ull, &ended);
		ck_assert_uint_eq(ended, 0);
	}
	ck_assert_uint_eq(logged, LT_DEVDISC_LOG_BURST);
	ck_assert_uint_eq(lt_devdisc_limit_due(&l), T0 + LT_DEVDISC_LOG_WINDOW_NS);
	/* Not yet ... */
	ck_assert_uint_eq(lt_devdisc_limit_flush(&l, T0 + LT_DEVDISC_LOG_WINDOW_NS - 1), 0);
	/* ... then the count, once, and a new window logs again. */
	ck_assert(lt_devdisc_limit_take(&l, T0 + LT_DEVDISC_LOG_WINDOW_NS, &ended));
	ck_assert_uint_eq(ended, 1000 - LT_DEVDISC_LOG_BURST);
	ck_assert_uint_eq(lt_devdisc_limit_due(&l), UINT64_MAX);
	ck_assert_uint_eq(lt_devdisc_limit_flush(&l, T0 + 3 * LT_DEVDISC_LOG_WINDOW_NS), 0);
}
END_TEST

/* ---- the set of discovered devices -------------------------------------------- */

START_TEST(a_message_adds_a_device_and_a_second_updates_it)
{
	struct lt_discovery *d = malloc(sizeof(*d));
	struct lt_discover_notes nt;
	const char *k1[] = { "fw", "vendor" }, *v1[] = { "1.0", "TI" }, *v2[] = { "1.1", "TI" };

	lt_discovery_init(d);
	ck_assert_int_eq(lt_discovery_message(d, "LM35_1", "LM35", "lm35", 2, k1, v1, T0, &nt), 1);
	ck_assert_uint_eq(nt.n, 1);
	ck_assert_msg(strstr(nt.text[0], "LM35_1 discovered"), "%s", nt.text[0]);
	ck_assert_uint_eq(d->ninst, 1);
	ck_assert(d->inst[0].message);
	ck_assert_str_eq(d->inst[0].profile, "lm35");
	ck_assert_str_eq(d->inst[0].msg_values[0], "1.0");
	ck_assert_uint_lt(lt_discovery_due(d), UINT64_MAX);
	lt_discovery_applied(d, T0 + S);

	/* The same again: nothing to apply. */
	ck_assert_int_eq(lt_discovery_message(d, "LM35_1", "LM35", "lm35", 2, k1, v1, T0 + S, &nt),
			 0);
	ck_assert_uint_eq(nt.n, 0);
	ck_assert_uint_eq(lt_discovery_due(d), UINT64_MAX);
	/* Another value: the same device, updated. */
	ck_assert_int_eq(lt_discovery_message(d, "LM35_1", "LM35", "lm35", 2, k1, v2, T0 + S, &nt),
			 1);
	ck_assert_msg(strstr(nt.text[0], "properties updated"), "%s", nt.text[0]);
	ck_assert_uint_eq(d->ninst, 1);
	ck_assert_str_eq(d->inst[0].msg_values[0], "1.1");
	/* A property less is a change too. */
	ck_assert_int_eq(
		lt_discovery_message(d, "LM35_1", "LM35", "lm35", 1, k1 + 1, v1 + 1, T0 + S, &nt),
		1);
	ck_assert_uint_eq(d->inst[0].nmsgprops, 1);

	/* A udev resync keeps what messages announced. */
	lt_discovery_resync_begin(d);
	ck_assert_int_eq(lt_discovery_resync_end(d, T0 + 2 * S, &nt), 0);
	ck_assert_uint_eq(d->ninst, 1);
	lt_discovery_free(d);
	free(d);
}
END_TEST

START_TEST(a_message_cannot_take_a_udev_name_or_overflow_the_set)
{
	struct lt_discovery *d = malloc(sizeof(*d));
	struct lt_discover_notes nt;
	struct lt_udev_dev u = { .action = "add",
				 .syspath = "/sys/devices/iio/iio:device0",
				 .subsystem = "iio",
				 .sysname = "iio:device0",
				 .devnode = "/dev/iio:device0",
				 .profile = "thermo",
				 .name = "LM35_1" };
	char name[32];

	lt_discovery_init(d);
	ck_assert_int_eq(lt_discovery_event(d, &u, T0, &nt), 1);
	ck_assert_int_eq(lt_discovery_message(d, "LM35_1", "LM35", "lm35", 0, NULL, NULL, T0, &nt),
			 -EEXIST);
	ck_assert_msg(strstr(nt.text[0], "udev discovered a device of that name"), "%s",
		      nt.text[0]);
	for (unsigned i = 1; i < LT_DISCOVER_MAX; i++) {
		snprintf(name, sizeof(name), "LM35_x%u", i);
		ck_assert_int_eq(
			lt_discovery_message(d, name, "LM35", "lm35", 0, NULL, NULL, T0, &nt), 1);
	}
	ck_assert_int_eq(lt_discovery_message(d, "LM35_y", "LM35", "lm35", 0, NULL, NULL, T0, &nt),
			 -ENOSPC);
	ck_assert_msg(strstr(nt.text[0], "256 discovered devices already"), "%s", nt.text[0]);
	lt_discovery_free(d);
	free(d);
}
END_TEST

/* ---- the state file ------------------------------------------------------------- */

START_TEST(the_state_file_keeps_announced_devices_only)
{
	struct lt_discovery *d = malloc(sizeof(*d)), *e = malloc(sizeof(*e));
	struct lt_discover_notes nt;
	struct lt_udev_dev u = { .action = "add",
				 .syspath = "/sys/devices/iio/iio:device0",
				 .subsystem = "iio",
				 .sysname = "iio:device0",
				 .devnode = "/dev/iio:device0",
				 .profile = "thermo" };
	const char *k[] = { "fw", "vendor" }, *v[] = { "1.2", "TI" };
	char path[128], err[512];

	snprintf(path, sizeof(path), "%s/discovered.json", confdir);
	lt_discovery_init(d);
	lt_discovery_init(e);
	/* No file yet: nothing, and no error. */
	ck_assert_int_eq(lt_devdisc_state_load(path, e, T0, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_discovery_event(d, &u, T0, &nt), 1);
	ck_assert_int_eq(lt_discovery_message(d, "LM35_1", "LM35", "lm35", 2, k, v, T0, &nt), 1);
	ck_assert_int_eq(lt_discovery_message(d, "LM35_2", "LM35", "lm35", 0, NULL, NULL, T0, &nt),
			 1);
	ck_assert_int_eq(lt_devdisc_state_save(path, d, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_devdisc_state_load(path, e, T0, err, sizeof(err)), 2);
	ck_assert_uint_eq(e->ninst, 2);
	ck_assert_str_eq(e->inst[0].name, "LM35_1");
	ck_assert(e->inst[0].message);
	ck_assert_str_eq(e->inst[0].profile, "lm35");
	ck_assert_str_eq(e->inst[0].dtype, "LM35");
	ck_assert_uint_eq(e->inst[0].nmsgprops, 2);
	ck_assert_str_eq(e->inst[0].msg_keys[1], "vendor");
	ck_assert_str_eq(e->inst[0].msg_values[1], "TI");
	ck_assert_uint_eq(e->inst[1].nmsgprops, 0);
	lt_discovery_free(e);

	/* What liotad could not have written: refused whole, nothing added. */
	confdir_write(path, "{\"version\": 1, \"devices\": [{\"name\": \"LM35_1\", \"type\": "
			    "\"LM35\", \"profile\": \"lm35\", \"properties\": {}}, {\"name\": "
			    "\"x/y\", \"type\": \"LM35\", \"profile\": \"lm35\", "
			    "\"properties\": {}}]}");
	ck_assert_int_eq(lt_devdisc_state_load(path, e, T0, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "device 2 is not valid"), "%s", err);
	ck_assert_uint_eq(e->ninst, 0);
	confdir_write(path, "{\"version\": 1, \"devices\": [");
	ck_assert_int_eq(lt_devdisc_state_load(path, e, T0, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "discovered.json:1: "), "%s", err);
	confdir_write(path, "{\"version\": 2, \"devices\": []}");
	ck_assert_int_eq(lt_devdisc_state_load(path, e, T0, err, sizeof(err)), -EBADMSG);
	unlink(path);
	lt_discovery_free(d);
	free(d);
	free(e);
}
END_TEST

/* ---- devices made from profiles -------------------------------------------------- */

#define EDGE  "[edge]\nname = gw\n"
#define DCC_G "[dcc \"g\"]\ntype = graphite\ntransport = stdout\n"
#define STATIC                                                                                     \
	"[device \"host\"]\ntype = sim\n[metric \"host.n\"]\ninterval = 1s\nfunction = counter\n"
#define LM35                                                                                       \
	"[profile \"lm35\"]\ntype = sim\ndiscovery_type = LM35\nunique_key = SN\n"                 \
	"property.site = lab\n"                                                                    \
	"[metric \"lm35.temp\"]\nfunction = sine\ninterval = 100ms\n"

/* Load @text with the discovered devices of @d (confdir.h). */
static struct lt_model *load(const char *text, const struct lt_discovery *d, char **errors)
{
	return confdir_load_found(text, d, errors);
}

static void announce(struct lt_discovery *d, const char *name, unsigned n, const char *const *k,
		     const char *const *v)
{
	struct lt_discover_notes nt;

	ck_assert_int_ge(lt_discovery_message(d, name, "LM35", "lm35", n, k, v, T0, &nt), 0);
}

START_TEST(a_profile_maps_a_discovery_type_and_its_unique_key)
{
	struct lt_model *m =
		load(EDGE DCC_G STATIC LM35 "[discovery]\npipe = /run/x/d.fifo\n", NULL, NULL);

	ck_assert_uint_eq(m->ndevices, 1);
	ck_assert_uint_eq(m->nprofiles, 1);
	ck_assert_uint_eq(m->discovery.ntypes, 1);
	ck_assert_str_eq(m->discovery.types[0].type, "LM35");
	ck_assert_str_eq(m->discovery.types[0].unique_key, "SN");
	ck_assert_str_eq(m->discovery.profiles[0], "lm35");
	ck_assert_str_eq(m->discovery.pipe, "/run/x/d.fifo");
	model_free(m);
	/* Without [discovery] there is no pipe. */
	m = load(EDGE DCC_G STATIC LM35, NULL, NULL);
	ck_assert_ptr_null(m->discovery.pipe);
	model_free(m);
}
END_TEST

START_TEST(an_announced_device_is_made_from_its_profile_with_its_properties)
{
	struct lt_discovery d;
	const char *k[] = { "fw", "site" }, *v[] = { "1.2", "elsewhere" };
	struct lt_model *m;
	struct lt_device *dev;
	struct lt_metric *mt;

	lt_discovery_init(&d);
	announce(&d, "LM35_12345", 2, k, v);
	m = load(EDGE DCC_G STATIC LM35, &d, NULL);
	ck_assert_uint_eq(m->ndevices, 2);
	dev = model_find_device(m, "LM35_12345");
	ck_assert_ptr_nonnull(dev);
	ck_assert_str_eq(dev->drv->name, "sim");
	/* The discovery keys are the profile's, not the device's. */
	ck_assert_ptr_null(strstr(dev->conf, "discovery_type"));
	ck_assert_ptr_null(strstr(dev->conf, "unique_key"));
	/* The profile's property wins over the message's. */
	ck_assert_uint_eq(dev->nprops, 2);
	ck_assert_str_eq(dev->props[0].key, "site");
	ck_assert_str_eq(dev->props[0].value, "lab");
	ck_assert_str_eq(dev->props[1].key, "fw");
	ck_assert_str_eq(dev->props[1].value, "1.2");
	mt = model_find_metric(m, "LM35_12345.temp");
	ck_assert_ptr_nonnull(mt);
	ck_assert_uint_eq(mt->interval_ns, 100 * 1000000ull);
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(an_announced_device_that_does_not_fit_is_left_out)
{
	struct lt_discovery d;
	const char *k[LT_DEVICE_PROPERTIES_MAX], *v[LT_DEVICE_PROPERTIES_MAX];
	char keys[LT_DEVICE_PROPERTIES_MAX][8];
	struct lt_model *m;

	for (unsigned i = 0; i < LT_DEVICE_PROPERTIES_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%02u", i);
		k[i] = keys[i];
		v[i] = "v";
	}
	lt_discovery_init(&d);
	/* 32 of its own and the profile's site: one too many. */
	announce(&d, "LM35_1", LT_DEVICE_PROPERTIES_MAX, k, v);
	/* Named like a configured device. */
	ck_assert_int_eq(lt_discovery_message(&d, "host", "LM35", "lm35", 0, NULL, NULL, T0,
					      &(struct lt_discover_notes){ 0 }),
			 1);
	m = load(EDGE DCC_G STATIC LM35, &d, NULL);
	ck_assert_uint_eq(m->ndevices, 1);
	ck_assert_ptr_null(model_find_device(m, "LM35_1"));
	model_free(m);
	/* A profile that lost its discovery_type makes none either. */
	lt_discovery_free(&d);
	announce(&d, "LM35_2", 0, NULL, NULL);
	m = load(EDGE DCC_G STATIC "[profile \"lm35\"]\ntype = sim\ndiscovery_type = LM36\n"
				   "unique_key = SN\n",
		 &d, NULL);
	ck_assert_uint_eq(m->ndevices, 1);
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(discovery_configuration_errors_name_their_line)
{
	char *err;

	ck_assert_ptr_null(
		load(EDGE "[profile \"a\"]\ntype = sim\ndiscovery_type = LM35\n", NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:5: [profile \"a\"]: discovery_type needs "
				  "unique_key too"),
		      "%s", err);
	free(err);
	ck_assert_ptr_null(load(EDGE "[profile \"a\"]\ntype = sim\nunique_key = SN\n", NULL, &err));
	ck_assert_msg(
		strstr(err, "liotad.conf:5: [profile \"a\"]: unique_key needs discovery_type"),
		"%s", err);
	free(err);
	ck_assert_ptr_null(load(EDGE "[profile \"a\"]\ntype = sim\ndiscovery_type = LM.35\n"
				     "unique_key = SN\n",
				NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:5: discovery_type: 'LM.35'"), "%s", err);
	free(err);
	ck_assert_ptr_null(load(EDGE "[profile \"a\"]\ntype = sim\ndiscovery_type = LM35\n"
				     "unique_key = S N\n",
				NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:6: unique_key: 'S N'"), "%s", err);
	free(err);
	ck_assert_ptr_null(load(EDGE LM35 "[profile \"b\"]\ntype = sim\ndiscovery_type = LM35\n"
					  "unique_key = ID\n",
				NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:13: discovery_type: LM35 is the type of [profile "
				  "\"lm35\"] already"),
		      "%s", err);
	free(err);
	/* The driver checks the profile's keys as a device's, before any message. */
	ck_assert_ptr_null(load(EDGE "[profile \"a\"]\ntype = sim\ndiscovery_type = LM35\n"
				     "unique_key = SN\nbogus = 1\n",
				NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:7: unknown key 'bogus'"), "%s", err);
	free(err);
	ck_assert_ptr_null(load(EDGE "[discovery]\npipe = relative.fifo\nmqtt = x\n", NULL, &err));
	ck_assert_msg(strstr(err, "liotad.conf:4: pipe: 'relative.fifo' is not the absolute path"),
		      "%s", err);
	ck_assert_msg(strstr(err, "liotad.conf:5: unknown key 'mqtt' in [discovery]"), "%s", err);
	free(err);
}
END_TEST

static Suite *devdisc_suite(void)
{
	Suite *s = suite_create("devdisc");
	TCase *tc = tcase_create("message");

	tcase_add_test(tc, a_message_names_the_device_type_and_unique_value);
	tcase_add_test(tc, malformed_json_is_refused);
	tcase_add_test(tc, one_object_with_one_type);
	tcase_add_test(tc, type_and_keys_are_word_characters);
	tcase_add_test(tc, values_are_strings_of_word_characters_and_dots);
	tcase_add_test(tc, unknown_type_and_missing_unique_key);
	tcase_add_test(tc, the_device_name_must_be_a_device_name);
	tcase_add_test(tc, property_bounds_are_the_devices);
	tcase_add_test(tc, a_message_over_64_kib_is_refused_unread);
	tcase_add_test(tc, deep_nesting_is_refused_not_recursed);
	tcase_add_test(tc, an_mqtt_topic_filter_is_checked_as_the_protocol_says);
	suite_add_tcase(s, tc);

	tc = tcase_create("limit");
	tcase_add_test(tc, refusals_are_logged_up_to_a_burst_then_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_test(tc, a_message_adds_a_device_and_a_second_updates_it);
	tcase_add_test(tc, a_message_cannot_take_a_udev_name_or_overflow_the_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("profiles");
	tcase_add_checked_fixture(tc, confdir_setup, confdir_teardown);
	tcase_add_test(tc, a_profile_maps_a_discovery_type_and_its_unique_key);
	tcase_add_test(tc, an_announced_device_is_made_from_its_profile_with_its_properties);
	tcase_add_test(tc, an_announced_device_that_does_not_fit_is_left_out);
	tcase_add_test(tc, discovery_configuration_errors_name_their_line);
	tcase_add_test(tc, the_state_file_keeps_announced_devices_only);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(devdisc_suite)
