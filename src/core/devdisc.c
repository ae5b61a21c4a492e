/* SPDX-License-Identifier: BSD-2-Clause */
/* Device discovery by message, the pure part (devdisc.h): parsing, the log limit. */
#include "devdisc.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * @s as a reason may quote it: whoever writes to the pipe chooses these
 * bytes, and they go to the log. At most 40 printable ASCII characters,
 * every other byte '?', "..." when cut.
 */
static const char *shown(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s), max = size - 4 < 40 ? size - 4 : 40, i;

	for (i = 0; i < n && i < max; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (n > max)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	return buf;
}

bool lt_devdisc_word(const char *s, const char *chars, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, chars) == n;
}

/* Sort the properties by key: two messages with the same keys compare equal. */
static void props_sort(struct lt_devdisc_msg *m)
{
	for (unsigned i = 1; i < m->nprops; i++) {
		for (unsigned j = i; j > 0 && strcmp(m->keys[j - 1], m->keys[j]) > 0; j--) {
			char k[LT_PROPERTY_KEY_MAX + 1], v[LT_PROPERTY_VALUE_MAX + 1];

			memcpy(k, m->keys[j], sizeof(k));
			memcpy(v, m->values[j], sizeof(v));
			memcpy(m->keys[j], m->keys[j - 1], sizeof(k));
			memcpy(m->values[j], m->values[j - 1], sizeof(v));
			memcpy(m->keys[j - 1], k, sizeof(k));
			memcpy(m->values[j - 1], v, sizeof(v));
		}
	}
}

/* The type named @type; -1 with the reason when there is none. */
static int type_find(const char *type, const struct lt_devdisc_type *types, unsigned ntypes,
		     char *why, size_t whylen)
{
	char known[256] = "", s[48];
	size_t at = 0;

	for (unsigned i = 0; i < ntypes; i++)
		if (strcmp(types[i].type, type) == 0)
			return (int)i;
	for (unsigned i = 0; i < ntypes && at < sizeof(known); i++)
		at += (size_t)snprintf(known + at, sizeof(known) - at, "%s%s", i ? ", " : "",
				       types[i].type);
	refuse(why, whylen, "unknown device type '%s' (%s%s)", shown(s, sizeof(s), type),
	       ntypes ? "known: " : "no [profile] has discovery_type", known);
	return -1;
}

/* The members of the type's object: the unique key and the properties. */
static int members_take(json_t *obj, const char *type, const struct lt_devdisc_type *t,
			struct lt_devdisc_msg *out, char *why, size_t whylen)
{
	const char *key, *unique = NULL;
	char s[48];
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *value;

		if (!lt_devdisc_word(key, LT_DEVDISC_KEY_CHARS, LT_PROPERTY_KEY_MAX))
			return refuse(why, whylen, "%s: key '%s': use 1 to %d of A-Z a-z 0-9 _ -",
				      type, shown(s, sizeof(s), key), LT_PROPERTY_KEY_MAX);
		if (!json_is_string(v))
			return refuse(why, whylen, "%s: %s: the value is not a string", type, key);
		value = json_string_value(v);
		if (strlen(value) != json_string_length(v) ||
		    !lt_devdisc_word(value, LT_DEVDISC_VALUE_CHARS, LT_PROPERTY_VALUE_MAX))
			return refuse(why, whylen,
				      "%s: %s: value '%s': use 1 to %d of A-Z a-z 0-9 . _ -", type,
				      key, shown(s, sizeof(s), value), LT_PROPERTY_VALUE_MAX);
		if (strcmp(key, t->unique_key) == 0) {
			unique = value;
			continue;
		}
		if (out->nprops == LT_DEVICE_PROPERTIES_MAX)
			return refuse(why, whylen, "%s: more than %d properties", type,
				      LT_DEVICE_PROPERTIES_MAX);
		snprintf(out->keys[out->nprops], sizeof(out->keys[0]), "%s", key);
		snprintf(out->values[out->nprops], sizeof(out->values[0]), "%s", value);
		out->nprops++;
	}
	if (!unique)
		return refuse(why, whylen, "%s: the unique key %s is missing", type, t->unique_key);
	/* The name is a device name (LT_NAME_CHARS): a dot would have to become something else. */
	if (strchr(unique, '.') || strlen(type) + 1 + strlen(unique) > LT_NAME_LEN_MAX)
		return refuse(why, whylen,
			      "%s: %s '%s' cannot name a device: %s_%s must be 1 to %d of A-Z "
			      "a-z 0-9 _ -",
			      type, t->unique_key, shown(s, sizeof(s), unique), type, t->unique_key,
			      LT_NAME_LEN_MAX);
	/* Fits: checked above. */
	size_t tl = strlen(type);

	memcpy(out->name, type, tl);
	out->name[tl] = '_';
	memcpy(out->name + tl + 1, unique, strlen(unique) + 1);
	props_sort(out);
	return 0;
}

int lt_devdisc_parse(const char *buf, size_t len, const struct lt_devdisc_type *types,
		     unsigned ntypes, struct lt_devdisc_msg *out, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *obj;
	const char *type;
	char s[48];
	int t, r = -EINVAL;

	memset(out, 0, offsetof(struct lt_devdisc_msg, keys));
	if (len > LT_DEVDISC_MSG_MAX)
		return refuse(why, whylen, "longer than %d bytes", LT_DEVDISC_MSG_MAX);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson quotes the input near the error: the same care as shown(). */
		for (char *p = jerr.text; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				*p = '?';
		return refuse(why, whylen, "malformed JSON at column %d: %s", jerr.column,
			      jerr.text);
	}
	if (!json_is_object(root) || json_object_size(root) != 1) {
		refuse(why, whylen,
		       "not one object holding one device type: use {\"TYPE\": "
		       "{\"KEY\": \"VALUE\", ...}}");
		goto out;
	}
	json_object_foreach(root, type, obj) break;
	if (!lt_devdisc_word(type, LT_DEVDISC_KEY_CHARS, LT_NAME_LEN_MAX)) {
		refuse(why, whylen, "device type '%s': use 1 to %d of A-Z a-z 0-9 _ -",
		       shown(s, sizeof(s), type), LT_NAME_LEN_MAX);
		goto out;
	}
	if (!json_is_object(obj)) {
		refuse(why, whylen, "%s: not an object of keys and values", type);
		goto out;
	}
	t = type_find(type, types, ntypes, why, whylen);
	if (t < 0)
		goto out;
	out->type = (unsigned)t;
	r = members_take(obj, type, &types[t], out, why, whylen);
out:
	json_decref(root);
	return r;
}

bool lt_devdisc_limit_take(struct lt_devdisc_limit *l, uint64_t now_ns, unsigned *ended)
{
	*ended = lt_devdisc_limit_flush(l, now_ns);
	if (!l->window_ns) {
		l->window_ns = now_ns ? now_ns : 1;
		l->logged = l->suppressed = 0;
	}
	if (l->logged < LT_DEVDISC_LOG_BURST) {
		l->logged++;
		return true;
	}
	l->suppressed++;
	return false;
}

uint64_t lt_devdisc_limit_due(const struct lt_devdisc_limit *l)
{
	return l->window_ns && l->suppressed ? l->window_ns + LT_DEVDISC_LOG_WINDOW_NS : UINT64_MAX;
}

unsigned lt_devdisc_limit_flush(struct lt_devdisc_limit *l, uint64_t now_ns)
{
	unsigned n;

	if (!l->window_ns || now_ns - l->window_ns < LT_DEVDISC_LOG_WINDOW_NS)
		return 0;
	n = l->suppressed;
	l->window_ns = 0;
	l->logged = l->suppressed = 0;
	return n;
}

int lt_devdisc_topic_check(const char *t, char *why, size_t whylen)
{
	size_t n = strlen(t);

	if (n == 0 || n > LT_DEVDISC_TOPIC_MAX)
		return refuse(why, whylen, "a topic filter has 1 to %d bytes",
			      LT_DEVDISC_TOPIC_MAX);
	for (size_t i = 0; i < n; i++) {
		bool start = i == 0 || t[i - 1] == '/', end = i + 1 == n || t[i + 1] == '/';

		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return refuse(why, whylen, "a control character at byte %zu", i + 1);
		if (t[i] == '+' && !(start && end))
			return refuse(why, whylen, "'+' must be a whole level (a/+/b)");
		if (t[i] == '#' && !(start && i + 1 == n))
			return refuse(why, whylen, "'#' must be the whole last level (a/b/#)");
	}
	if (!lt_utf8_ok(t, n))
		return refuse(why, whylen, "not UTF-8");
	return 0;
}
