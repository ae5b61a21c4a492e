/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The value parsers every configuration key goes through (src/core/parse.c),
 * the shortest-double formatter their numbers are written back with
 * (lt_fmt_double), and the machine-id reader (lt_edge_id in util.c). The
 * first byte picks the parser; the rest is the value. Accepted values must
 * read back to themselves once formatted, and stay within their bounds.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <liota/liota.h>

#include "fuzz.h"
#include "util.h"

static void parse_double(const char *s)
{
	char err[256], buf[40];
	double v, back;

	if (lt_parse_double(s, &v, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(isfinite(v), "'%s' gave %g", s, v);
	FUZZ_CHECK(lt_fmt_double(buf, sizeof(buf), v) > 0, "'%s': %g not formatted", s, v);
	FUZZ_CHECK(lt_parse_double(buf, &back, err, sizeof(err)) == 0, "'%s' -> '%s': %s", s, buf,
		   err);
	FUZZ_CHECK(memcmp(&v, &back, sizeof(v)) == 0, "'%s' -> '%s' -> %.17g", s, buf, back);
}

static void parse_uint(const char *s, uint64_t min, uint64_t max)
{
	char err[256], buf[32];
	uint64_t v, back;

	if (lt_parse_uint(s, min, max, &v, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(v >= min && v <= max, "'%s' gave %" PRIu64 " outside %" PRIu64 "..%" PRIu64, s,
		   v, min, max);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	FUZZ_CHECK(lt_parse_uint(buf, min, max, &back, err, sizeof(err)) == 0 && back == v,
		   "'%s' -> '%s' does not read back", s, buf);
}

static void parse_duration(const char *s)
{
	char err[256], buf[32];
	uint64_t v, back;

	if (lt_parse_duration(s, &v, err, sizeof(err)) < 0)
		return;
	snprintf(buf, sizeof(buf), "%" PRIu64 "ns", v);
	FUZZ_CHECK(lt_parse_duration(buf, &back, err, sizeof(err)) == 0 && back == v,
		   "'%s' -> '%s' does not read back", s, buf);
}

static void parse_bool(const char *s)
{
	static const char *const words[] = { "yes", "true", "on", "1", "no", "false", "off", "0" };
	char err[256];
	int v = -1, known = 0;

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		known |= strcasecmp(s, words[i]) == 0;
	FUZZ_CHECK((lt_parse_bool(s, &v, err, sizeof(err)) == 0) == known, "'%s'", s);
	FUZZ_CHECK(!known || v == 0 || v == 1, "'%s' gave %d", s, v);
}

/* Any double's shortest form reads back bit for bit (or -EDOM for NaN/inf). */
static void fmt_double(const uint8_t *data, size_t size)
{
	char buf[40];
	double v, back;
	int n;

	if (size < sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	n = lt_fmt_double(buf, sizeof(buf), v);
	if (!isfinite(v)) {
		FUZZ_CHECK(n < 0, "non-finite %g formatted", v);
		return;
	}
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(buf), "%.17g gave %d", v, n);
	back = strtod(buf, NULL);
	FUZZ_CHECK(memcmp(&v, &back, sizeof(v)) == 0, "%.17g -> '%s' -> %.17g", v, buf, back);
}

static void edge_id(const uint8_t *data, size_t size)
{
	char path[32], a[37], b[37];
	int fd = fuzz_file(data, size, path);
	int r = lt_edge_id(path, a);

	if (r == 0) {
		FUZZ_CHECK(strlen(a) == 36 && a[14] == '5', "id '%s'", a);
		FUZZ_CHECK(lt_edge_id(path, b) == 0 && strcmp(a, b) == 0, "not stable: %s", a);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t lo, hi;
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 8) {
	case 0:
		parse_double(s);
		break;
	case 1:
		parse_uint(s, 0, UINT64_MAX);
		break;
	case 2:
		/* Bounds from the value's own digits, so that both edges get hit. */
		lo = strtoull(s, NULL, 10) / 3;
		hi = lo * 2 + 1;
		parse_uint(s, lo, hi);
		break;
	case 3:
		parse_uint(s, 1, 65535);
		break;
	case 4:
		parse_duration(s);
		break;
	case 5:
		parse_bool(s);
		break;
	case 6:
		fmt_double(data + 1, size - 1);
		break;
	case 7:
		edge_id(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
