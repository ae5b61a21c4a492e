/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Value parsing helpers of the SDK (include/liota/liota.h), shared by the
 * configuration loader and the drivers' option callbacks so that every key
 * of every section accepts numbers, durations and booleans the same way.
 * Each writes a one-line reason into err on failure and leaves *out alone.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <liota/liota.h>

#include "util.h"

int lt_parse_double(const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	/* strtod() would skip leading white space and accept "" as 0. */
	if (!*s || isspace((unsigned char)*s))
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a number", s);
	/* Overflow gives inf (refused below); underflow gives a tiny value, which is fine. */
	v = strtod(s, &end);
	if (*end)
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a number", s);
	if (!isfinite(v))
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a finite number", s);
	*out = v;
	return 0;
}

int lt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	/* strtoull() accepts white space and a sign ("-1" wraps around): refuse both. */
	if (!isdigit((unsigned char)*s))
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a whole number", s);
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	}
	if (shift)
		end++;
	if (*end)
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a whole number", s);
	if (errno == ERANGE || v > (UINT64_MAX >> shift) || (v << shift) < min ||
	    (v << shift) > max)
		return lt_errf(err, errlen, -EINVAL, "%s is out of range (%llu..%llu)", s,
			       (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)v << shift;
	return 0;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", 1000000 },
	{ "s", 1000000000 },
	{ "m", 60 * 1000000000ull },
	{ "h", 3600 * 1000000000ull },
};

int lt_parse_duration(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t whole = 0, unit = 0, frac_ns = 0;
	const char *p = s, *num_end;
	double frac = 0;
	size_t nd;

	nd = strspn(p, "0123456789");
	if (nd) {
		errno = 0;
		whole = strtoull(p, NULL, 10);
		if (errno == ERANGE)
			return lt_errf(err, errlen, -EINVAL, "duration '%s' is too long", s);
		p += nd;
	}
	if (*p == '.') {
		/* The fraction goes through a double: it only needs nanosecond precision. */
		size_t fd = strspn(p + 1, "0123456789");

		if (!fd)
			goto bad;
		frac = strtod(p, NULL);
		p += 1 + fd;
		nd += fd;
	}
	if (!nd)
		goto bad;
	num_end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		if (p != num_end)
			goto bad;
		unit = 1000000000;
	}
	for (size_t i = 0; !unit && i < ARRAY_SIZE(duration_units); i++)
		if (strcmp(p, duration_units[i].name) == 0)
			unit = duration_units[i].ns;
	if (!unit)
		goto bad;

	frac_ns = (uint64_t)llround(frac * (double)unit);
	if (whole > (UINT64_MAX - frac_ns) / unit)
		return lt_errf(err, errlen, -EINVAL, "duration '%s' is too long", s);
	*out = whole * unit + frac_ns;
	return 0;
bad:
	return lt_errf(err, errlen, -EINVAL,
		       "bad duration '%s' (use a number with ns, us, ms, s, m or h)", s);
}

int lt_parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return lt_errf(err, errlen, -EINVAL, "'%s' is not a boolean (use yes or no)", s);
}
