/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * options: the one parser of declarative option tables (liota/options.h).
 * Every driver, DCC and transport key goes through lt_opts_set(), so a
 * type has one syntax, one range message and one out-of-memory policy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liota/liota.h>
#include <liota/options.h>

#include "util.h"

static void *at(void *base, size_t offset)
{
	return (char *)base + offset;
}

/* Store @v into an unsigned field of @size bytes (the range check made it fit). */
static void store_u(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

static void store_i(void *p, size_t size, int64_t v)
{
	switch (size) {
	case 1:
		*(int8_t *)p = (int8_t)v;
		break;
	case 2:
		*(int16_t *)p = (int16_t)v;
		break;
	case 4:
		*(int32_t *)p = (int32_t)v;
		break;
	default:
		*(int64_t *)p = v;
		break;
	}
}

/* A duration in seconds or its largest exact smaller unit: "10ms", "5s", "65535s". */
static void fmt_duration(char *buf, size_t len, uint64_t ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "s", LT_NSEC_PER_SEC }, { "ms", 1000000 }, { "us", 1000 }, { "ns", 1 } };
	size_t i = 0;

	while (ns && ns % units[i].ns)
		i++;
	snprintf(buf, len, "%" PRIu64 "%s", ns / units[i].ns, units[i].unit);
}

/* A decimal integer, optionally negative: digits only, as lt_parse_uint() wants. */
static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out, char *err, size_t errlen)
{
	const char *p = s + (*s == '-');
	unsigned long long mag;

	if (!*p || strspn(p, "0123456789") != strlen(p))
		return lt_errf(err, errlen, -EINVAL, "'%s' is not a whole number", s);
	errno = 0;
	mag = strtoull(p, NULL, 10);
	if (errno == ERANGE || mag > (unsigned long long)INT64_MAX + (*s == '-'))
		goto range;
	*out = *s == '-' ? (int64_t)(0 - (uint64_t)mag) : (int64_t)mag;
	if (*out < lo || *out > hi)
		goto range;
	return 0;
range:
	return lt_errf(err, errlen, -EINVAL, "%s is out of range (%" PRId64 "..%" PRId64 ")", s, lo,
		       hi);
}

static int set_enum(const struct lt_opt *o, void *field, const char *value, char *err,
		    size_t errlen)
{
	char list[256] = "";
	size_t n = 0, len = 0;

	for (const struct lt_opt_name *nm = o->names; nm->name; nm++) {
		if (strcmp(nm->name, value) == 0) {
			store_i(field, o->size, nm->value);
			return 0;
		}
		n++;
	}
	/* "A, B or C" */
	for (size_t i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i == 0       ? ""
					: i + 1 == n ? " or "
						     : ", ",
					o->names[i].name);
	if (o->flags & LT_OPT_UNKNOWN_FORM) {
		char noun[64];
		size_t i;

		for (i = 0; o->key[i] && i < sizeof(noun) - 1; i++)
			noun[i] = o->key[i] == '_' ? ' ' : o->key[i];
		noun[i] = '\0';
		return lt_errf(err, errlen, -EINVAL, "unknown %s '%s' (%s)", noun, value, list);
	}
	return lt_errf(err, errlen, -EINVAL, "%s must be %s, not \"%s\"", o->key, list, value);
}

static int set_string(const struct lt_opt *o, void *field, const char *value, char *err,
		      size_t errlen)
{
	size_t max = o->max.u ? o->max.u : LT_OPT_STRING_MAX;

	if ((o->flags & LT_OPT_NONEMPTY) && !*value)
		return lt_errf(err, errlen, -EINVAL, "%s must not be empty", o->key);
	if (strlen(value) > max)
		return lt_errf(err, errlen, -EINVAL,
			       "%s: '%s' is too long (at most %zu characters)", o->key, value, max);
	return lt_opts_strdup(field, value, err, errlen);
}

int lt_opts_strdup(char **dst, const char *value, char *err, size_t errlen)
{
	/* Refuse the key, keep the old value: the load fails with a reason, no abort. */
	char *s = strdup(value);

	if (!s)
		return lt_errf(err, errlen, -ENOMEM, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

/* Parse @value for @o into @field. */
static int set_one(const struct lt_opt *o, void *field, const char *value, char *err, size_t errlen)
{
	char lo[32], hi[32];
	uint64_t u = 0;
	int64_t i = 0;
	double d = 0;
	int b = 0, r;

	switch (o->type) {
	case LT_OPT_STRING:
		return set_string(o, field, value, err, errlen);
	case LT_OPT_BOOL:
		r = lt_parse_bool(value, &b, err, errlen);
		if (r == 0)
			store_u(field, o->size, (uint64_t)b);
		return r;
	case LT_OPT_INT:
		r = parse_int(value, o->min.i, o->max.i, &i, err, errlen);
		if (r == 0)
			store_i(field, o->size, i);
		return r;
	case LT_OPT_UINT:
		r = lt_parse_uint(value, o->min.u, o->max.u, &u, err, errlen);
		if (r == 0)
			store_u(field, o->size, u);
		return r;
	case LT_OPT_DOUBLE:
		r = lt_parse_double(value, &d, err, errlen);
		if (r < 0)
			return r;
		if (d < o->min.d || d > o->max.d)
			return lt_errf(err, errlen, -EINVAL, "%s is out of range (%g..%g)", value,
				       o->min.d, o->max.d);
		*(double *)field = d;
		return 0;
	case LT_OPT_DURATION:
		r = lt_parse_duration(value, &u, err, errlen);
		if (r < 0)
			return r;
		if (u >= o->min.u && u <= o->max.u) {
			*(uint64_t *)field = u;
			return 0;
		}
		fmt_duration(lo, sizeof(lo), o->min.u);
		if (o->max.u == UINT64_MAX)
			return lt_errf(err, errlen, -EINVAL, "%s must be at least %s", o->key, lo);
		fmt_duration(hi, sizeof(hi), o->max.u);
		return lt_errf(err, errlen, -EINVAL, "%s must be %s to %s", o->key, lo, hi);
	case LT_OPT_ENUM:
		return set_enum(o, field, value, err, errlen);
	case LT_OPT_FUNC:
		return o->set(field, o->key, value, err, errlen);
	}
	return lt_errf(err, errlen, -EINVAL, "%s: bad option table entry", o->key);
}

static const struct lt_opt *table_end(const struct lt_opt *t)
{
	while (t->type != LT_OPT_END)
		t++;
	return t;
}

static uint64_t seen_get(const struct lt_opt *end, const void *base)
{
	const void *p = (const char *)base + end->offset;

	switch (end->size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

static void seen_mark(const struct lt_opt *table, const struct lt_opt *o, void *base)
{
	const struct lt_opt *end = table_end(table);
	size_t i = (size_t)(o - table);

	if (end->size && i < end->size * 8)
		store_u(at(base, end->offset), end->size, seen_get(end, base) | 1ull << i);
}

int lt_opts_set(const struct lt_opt *table, void *base, const char *key, const char *value,
		char *err, size_t errlen)
{
	for (const struct lt_opt *o = table; o->type != LT_OPT_END; o++) {
		int r;

		if (o->type == LT_OPT_TABLE) {
			r = lt_opts_set(o->table, at(base, o->offset), key, value, err, errlen);
			if (r != -ENOENT)
				return r;
			continue;
		}
		if (strcmp(o->key, key) != 0)
			continue;
		r = set_one(o, at(base, o->offset), value, err, errlen);
		if (r == 0)
			seen_mark(table, o, base);
		return r;
	}
	return -ENOENT;
}

int lt_opts_check(const struct lt_opt *table, const void *base, char *err, size_t errlen)
{
	const struct lt_opt *end = table_end(table);

	for (const struct lt_opt *o = table; o < end; o++) {
		if (o->type == LT_OPT_TABLE) {
			int r = lt_opts_check(o->table, (const char *)base + o->offset, err,
					      errlen);

			if (r < 0)
				return r;
			continue;
		}
		if (!(o->flags & LT_OPT_REQUIRED))
			continue;
		if (!end->size || (size_t)(o - table) >= end->size * 8)
			return lt_errf(err, errlen, -EINVAL, "%s: table has no seen mask", o->key);
		if (!(seen_get(end, base) & 1ull << (o - table)))
			return lt_errf(err, errlen, -EINVAL, "%s is required", o->key);
	}
	return 0;
}

int lt_opts_given(const struct lt_opt *table, const void *base, const char *key)
{
	const struct lt_opt *end = table_end(table);

	for (const struct lt_opt *o = table; o < end; o++) {
		if (o->type == LT_OPT_TABLE) {
			int r = lt_opts_given(o->table, (const char *)base + o->offset, key);

			if (r != -ENOENT)
				return r;
			continue;
		}
		if (strcmp(o->key, key) != 0)
			continue;
		if (!end->size || (size_t)(o - table) >= end->size * 8)
			return -ENOENT;
		return !!(seen_get(end, base) & 1ull << (o - table));
	}
	return -ENOENT;
}
