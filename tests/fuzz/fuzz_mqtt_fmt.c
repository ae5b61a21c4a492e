/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The generic MQTT DCC's topic templates and JSON (src/dcc/mqtt.c,
 * mqtt_fmt.h). Input: 1 byte flags (bit 0 enclose_metadata, bits 1-7 a
 * buffer size), 8 bytes value, 8 bytes timestamp, then NUL-separated
 * "TEMPLATE\0EDGE\0EDGE_ID\0DEVICE\0METRIC\0UNIT".
 * An accepted template must expand as its escapes say, with no wildcard and
 * no '/' from a name; a message (head, samples, tail) must be JSON that
 * jansson reads back to the same names, unit, value and timestamp whenever
 * the names are UTF-8 (configuration allows only [A-Za-z0-9_-] and dots);
 * the escaper must cut its output like snprintf.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "dcc/mqtt_fmt.h"
#include "fuzz.h"
#include "util.h"

/* Template expansion the obvious way, for comparison. */
static char *reference_expand(const char *t, const char *const names[4])
{
	size_t cap = strlen(t) + 1;
	char *out, *o;

	for (int i = 0; i < 4; i++)
		cap += names[i] ? strlen(names[i]) * (strlen(t) / 2 + 1) : 0;
	o = out = malloc(cap);
	FUZZ_CHECK(out, "no memory");
	for (; *t; t++) {
		const char *which = t[0] == '%' ? strchr("eidm", t[1]) : NULL;

		if (which && t[1]) {
			for (const char *n = names[which - "eidm"]; n && *n; n++)
				*o++ = strchr("/+#", *n) ? '_' : *n;
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			*o++ = '%';
			t++;
		} else {
			*o++ = *t;
		}
	}
	*o = '\0';
	return out;
}

static void check_topic(const char *tmpl, const char *const names[4])
{
	char err[256];
	int per_metric = 0;

	if (mqtt_topic_check(tmpl, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(*tmpl && !strpbrk(tmpl, "+#"), "'%s' accepted", tmpl);
	for (const char *p = tmpl; *p; p++)
		if (*p == '%')
			per_metric |= *++p == 'm';
	FUZZ_CHECK(!mqtt_topic_per_metric(tmpl) == !per_metric, "'%s': per metric %d", tmpl,
		   per_metric);
	char *got = mqtt_topic_expand(tmpl, names[0], names[1], names[2], names[3]);
	char *want = reference_expand(tmpl, names);
	FUZZ_CHECK(got && strcmp(got, want) == 0, "'%s' gave '%s', expected '%s'", tmpl,
		   got ? got : "(null)", want);
	FUZZ_CHECK(!strpbrk(got, "+#"), "wildcard in '%s'", got);
	free(got);
	free(want);
}

static bool utf8(const char *s)
{
	json_t *j = json_string(s); /* jansson checks UTF-8 */
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static void check_str(json_t *o, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(o, key));

	FUZZ_CHECK(got && strcmp(got, want) == 0, "%s: '%s', expected '%s'", key,
		   got ? got : "(none)", want);
}

static void check_json(int metadata, const char *const n[4], const char *unit,
		       const struct lt_sample *s)
{
	char sample[MQTT_SAMPLE_ROOM];
	int sn = mqtt_json_sample(sample, sizeof(sample), s);

	if (!isfinite(s->value)) {
		FUZZ_CHECK(sn == -EDOM, "non-finite value gave %d", sn);
		return;
	}
	FUZZ_CHECK(sn > 0 && sn < MQTT_SAMPLE_ROOM, "%d", sn);
	char *head = mqtt_json_head(metadata, n[0], n[2], n[3]);
	char *tail = mqtt_json_tail(metadata, unit);
	FUZZ_CHECK(head && tail, "no memory");
	size_t len = strlen(head) + 2 * (size_t)sn + 1 + strlen(tail) + 1;
	char *msg = malloc(len);
	FUZZ_CHECK(msg, "no memory");
	snprintf(msg, len, "%s%s,%s%s", head, sample, sample, tail);

	bool names_ok = !metadata || (utf8(n[0]) && utf8(n[2]) && utf8(n[3]) && utf8(unit));
	json_error_t jerr;
	json_t *j = json_loads(msg, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &jerr);
	if (!names_ok)
		goto out; /* bytes pass through: not JSON, but configuration never allows them */
	FUZZ_CHECK(j, "'%s' is not JSON: %s", msg, jerr.text);
	if (metadata) {
		check_str(j, "edge_system_name", n[0]);
		check_str(j, "device_name", n[2]);
		check_str(j, "metric_name", n[3]);
		check_str(j, "unit", unit);
	}
	json_t *data = json_object_get(j, "metric_data");
	FUZZ_CHECK(json_array_size(data) == 2, "metric_data in '%s'", msg);
	json_t *e = json_array_get(data, 1);
	double v = json_number_value(json_object_get(e, "value"));
	FUZZ_CHECK(v == s->value, "value %.17g for %.17g in '%s'", v, s->value, msg);
	double ts = json_number_value(json_object_get(e, "timestamp"));
	uint64_t ms = s->ts_ns / 1000000u;
	if (ms < (UINT64_C(1) << 53))
		FUZZ_CHECK(ts == (double)ms, "timestamp %.17g for %llu ms", ts,
			   (unsigned long long)ms);
out:
	json_decref(j);
	free(msg);
	free(head);
	free(tail);
}

/* Cut like snprintf: the length it needs, a NUL-terminated prefix of the whole. */
static void check_escape(const char *s, size_t small)
{
	size_t need = mqtt_json_escape(NULL, 0, s);
	char *whole = malloc(need + 1), *cut = malloc(small + 1);

	FUZZ_CHECK(whole && cut, "no memory");
	FUZZ_CHECK(mqtt_json_escape(whole, need + 1, s) == need && strlen(whole) == need, "len");
	FUZZ_CHECK(mqtt_json_escape(cut, small, s) == need, "len with %zu", small);
	if (small) {
		size_t kept = need < small ? need : small - 1;

		FUZZ_CHECK(strlen(cut) == kept && memcmp(cut, whole, kept) == 0, "cut at %zu",
			   small);
	}
	free(whole);
	free(cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_sample s = { 0 };
	const char *part[6] = { "", "", "", "", "", "" };
	char *text;

	if (size < 17)
		return 0;
	memcpy(&s.value, data + 1, 8);
	memcpy(&s.ts_ns, data + 9, 8);
	text = fuzz_str(data + 17, size - 17);
	for (size_t i = 0, off = 0; i < 6 && off <= size - 17; i++) {
		part[i] = text + off;
		off += strlen(part[i]) + 1;
	}
	const char *names[4] = { part[1], part[2], part[3], part[4] };
	check_topic(part[0], names);
	check_json(data[0] & 1, names, part[5], &s);
	check_escape(part[3], data[0] >> 1);
	free(text);
	return 0;
}
