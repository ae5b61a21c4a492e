/* SPDX-License-Identifier: BSD-2-Clause */
/* Device discovery by message, the state file (devdisc_state.h). */
#include "devdisc_state.h"
#include "devdisc.h"
#include "trust.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lt_devdisc_state_save(const char *path, const struct lt_discovery *d, char *err, size_t errlen)
{
	json_t *root = json_object(), *devs = json_array();
	char *text;
	int r;

	json_object_set_new(root, "version", json_integer(1));
	for (unsigned i = 0; i < d->ninst; i++) {
		const struct lt_instance *in = &d->inst[i];
		json_t *dev, *props;

		if (!in->message)
			continue;
		props = json_object();
		for (unsigned k = 0; k < in->nmsgprops; k++)
			json_object_set_new(props, in->msg_keys[k], json_string(in->msg_values[k]));
		dev = json_pack("{s:s, s:s, s:s, s:o}", "name", in->name, "type", in->dtype,
				"profile", in->profile, "properties", props);
		json_array_append_new(devs, dev);
	}
	json_object_set_new(root, "devices", devs);
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!text)
		return lt_errf(err, errlen, -ENOMEM, "%s: out of memory", path);
	r = lt_file_replace(path, text, strlen(text), 0600, err, errlen);
	free(text);
	return r;
}

/* The file's bytes, of a regular file of ours not larger than LT_DEVDISC_STATE_MAX. */
static int slurp(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT
			       ? 1
			       : lt_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size > LT_DEVDISC_STATE_MAX) {
		close(fd);
		return lt_errf(err, errlen, -EBADMSG,
			       "%s: not a file of liotad's user of at most %d bytes", path,
			       LT_DEVDISC_STATE_MAX);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (n < 0 || n > st.st_size) {
		free(buf);
		return lt_errf(err, errlen, n < 0 ? -errno : -EBADMSG, "%s: cannot read it", path);
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* One saved device: whatever liotad could have saved, properties sorted by key. */
static bool entry_valid(json_t *e)
{
	const char *name, *type, *profile, *key, *prev = "";
	json_t *props, *v;

	if (json_unpack(e, "{s:s, s:s, s:s, s:o}", "name", &name, "type", &type, "profile",
			&profile, "properties", &props) < 0 ||
	    json_object_size(e) != 4 || !json_is_object(props) ||
	    json_object_size(props) > LT_DEVICE_PROPERTIES_MAX)
		return false;
	if (!lt_devdisc_word(name, LT_DEVDISC_KEY_CHARS, LT_NAME_LEN_MAX) ||
	    !lt_devdisc_word(type, LT_DEVDISC_KEY_CHARS, LT_NAME_LEN_MAX - 2) ||
	    strncmp(name, type, strlen(type)) || name[strlen(type)] != '_' ||
	    !lt_devdisc_word(profile, LT_NAME_CHARS, LT_NAME_LEN_MAX))
		return false;
	json_object_foreach(props, key, v)
	{
		if (!lt_devdisc_word(key, LT_DEVDISC_KEY_CHARS, LT_PROPERTY_KEY_MAX) ||
		    strcmp(prev, key) >= 0 || !json_is_string(v) ||
		    !lt_devdisc_word(json_string_value(v), LT_DEVDISC_VALUE_CHARS,
				     LT_PROPERTY_VALUE_MAX))
			return false;
		prev = key;
	}
	return true;
}

static void entry_add(json_t *e, struct lt_discovery *d, uint64_t now_ns)
{
	const char *keys[LT_DEVICE_PROPERTIES_MAX], *values[LT_DEVICE_PROPERTIES_MAX], *key;
	json_t *props = json_object_get(e, "properties"), *v;
	struct lt_discover_notes nt;
	unsigned n = 0;

	json_object_foreach(props, key, v)
	{
		keys[n] = key;
		values[n++] = json_string_value(v);
	}
	lt_discovery_message(d, json_string_value(json_object_get(e, "name")),
			     json_string_value(json_object_get(e, "type")),
			     json_string_value(json_object_get(e, "profile")), n, keys, values,
			     now_ns, &nt);
}

int lt_devdisc_state_load(const char *path, struct lt_discovery *d, uint64_t now_ns, char *err,
			  size_t errlen)
{
	json_error_t jerr;
	json_t *root, *devs, *e;
	char *text = NULL;
	size_t len = 0, i;
	unsigned before = d->ninst;
	int r;

	r = slurp(path, &text, &len, err, errlen);
	if (r)
		return r > 0 ? 0 : r;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		return lt_errf(err, errlen, -EBADMSG, "%s:%d: %s", path, jerr.line, jerr.text);
	devs = json_object_get(root, "devices");
	r = json_integer_value(json_object_get(root, "version")) == 1 && json_is_array(devs) &&
			    json_array_size(devs) <= LT_DISCOVER_MAX
		    ? 0
		    : lt_errf(err, errlen, -EBADMSG,
			      "%s: not liotad's discovered devices (version 1)", path);
	json_array_foreach(devs, i, e)
	{
		if (r == 0 && !entry_valid(e))
			r = lt_errf(err, errlen, -EBADMSG, "%s: device %zu is not valid", path,
				    i + 1);
	}
	if (r == 0)
		json_array_foreach(devs, i, e) entry_add(e, d, now_ns);
	json_decref(root);
	return r < 0 ? r : (int)(d->ninst - before);
}
