/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A device discovery message (lt_devdisc_parse, src/core/devdisc.c): what
 * anybody who may write to the named pipe or publish on the discovery topic
 * sends. An accepted message must announce a device liotad can make: a
 * known type, a name TYPE_VALUE of device name characters, properties
 * within entity.h's bounds, sorted, without the unique key; written again
 * from the parts it must parse to the same device. A refusal is one line.
 */
#include <errno.h>
#include <string.h>

#include "core/devdisc.h"
#include "fuzz.h"

static const struct lt_devdisc_type types[] = { { "LM35", "SN" }, { "DHT-22", "mac" } };

static bool made_of(const char *s, const char *chars, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, chars) == n;
}

static void check(const struct lt_devdisc_msg *m)
{
	const char *type = types[m->type].type;
	size_t tl = strlen(type);

	FUZZ_CHECK(m->type < 2, "type %u", m->type);
	FUZZ_CHECK(made_of(m->name, LT_NAME_CHARS, LT_NAME_LEN_MAX), "name '%s'", m->name);
	FUZZ_CHECK(!strncmp(m->name, type, tl) && m->name[tl] == '_' && m->name[tl + 1],
		   "name '%s' of type %s", m->name, type);
	FUZZ_CHECK(m->nprops <= LT_DEVICE_PROPERTIES_MAX, "%u properties", m->nprops);
	for (unsigned i = 0; i < m->nprops; i++) {
		FUZZ_CHECK(made_of(m->keys[i], LT_DEVDISC_KEY_CHARS, LT_PROPERTY_KEY_MAX),
			   "key '%s'", m->keys[i]);
		FUZZ_CHECK(made_of(m->values[i], LT_DEVDISC_VALUE_CHARS, LT_PROPERTY_VALUE_MAX),
			   "value '%s'", m->values[i]);
		FUZZ_CHECK(strcmp(m->keys[i], types[m->type].unique_key), "the unique key kept");
		FUZZ_CHECK(!i || strcmp(m->keys[i - 1], m->keys[i]) < 0, "keys not sorted");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lt_devdisc_msg m, again;
	static char text[LT_DEVDISC_MSG_MAX];
	char why[512];
	const struct lt_devdisc_type *t;
	size_t at;
	int r;

	r = lt_devdisc_parse((const char *)data, size, types, 2, &m, why, sizeof(why));
	FUZZ_CHECK(r == 0 || r == -EINVAL, "%d", r);
	if (r < 0) {
		FUZZ_CHECK(*why && !strchr(why, '\n'), "reason '%s'", why);
		return 0;
	}
	check(&m);
	/* The same device written again, unique key last. */
	t = &types[m.type];
	at = (size_t)snprintf(text, sizeof(text), "{\"%s\":{", t->type);
	for (unsigned i = 0; i < m.nprops; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "\"%s\":\"%s\",", m.keys[i],
				       m.values[i]);
	at += (size_t)snprintf(text + at, sizeof(text) - at, "\"%s\":\"%s\"}}", t->unique_key,
			       m.name + strlen(t->type) + 1);
	FUZZ_CHECK(at < sizeof(text), "%zu bytes", at);
	r = lt_devdisc_parse(text, at, types, 2, &again, why, sizeof(why));
	FUZZ_CHECK(r == 0, "written again: %s: %s", text, why);
	FUZZ_CHECK(again.type == m.type && !strcmp(again.name, m.name) && again.nprops == m.nprops,
		   "written again: %s", text);
	for (unsigned i = 0; i < m.nprops; i++)
		FUZZ_CHECK(!strcmp(again.keys[i], m.keys[i]) &&
				   !strcmp(again.values[i], m.values[i]),
			   "property %u written again", i);
	return 0;
}
