/* SPDX-License-Identifier: BSD-2-Clause */
/* Accessors of the SDK (include/liota/liota.h) over the daemon's model. */
#include "model.h"
#include "rundir.h"
#include "trust.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lt_device_name(const struct lt_device *dev)
{
	return dev->name;
}

void *lt_device_priv(const struct lt_device *dev)
{
	return dev->priv;
}

void lt_device_set_priv(struct lt_device *dev, void *priv)
{
	dev->priv = priv;
}

unsigned lt_device_nmetrics(const struct lt_device *dev)
{
	return dev->nmetrics;
}

struct lt_metric *lt_device_metric(const struct lt_device *dev, unsigned i)
{
	return i < dev->nmetrics ? dev->metrics[i] : NULL;
}

const char *lt_metric_fullname(const struct lt_metric *m)
{
	return m->fullname;
}

const char *lt_metric_name(const struct lt_metric *m)
{
	return m->name;
}

struct lt_device *lt_metric_device(const struct lt_metric *m)
{
	return m->device;
}

const char *lt_metric_unit(const struct lt_metric *m)
{
	return m->unit ? m->unit : "";
}

uint64_t lt_metric_interval_ns(const struct lt_metric *m)
{
	return m->interval_ns;
}

void *lt_metric_priv(const struct lt_metric *m)
{
	return m->priv;
}

void lt_metric_set_priv(struct lt_metric *m, void *priv)
{
	m->priv = priv;
}

const char *lt_dcc_name(const struct lt_dcc *dcc)
{
	return dcc->name;
}

void *lt_dcc_priv(const struct lt_dcc *dcc)
{
	return dcc->priv;
}

void lt_dcc_set_priv(struct lt_dcc *dcc, void *priv)
{
	dcc->priv = priv;
}

struct lt_dcc_stats *lt_dcc_stats(struct lt_dcc *dcc)
{
	return &dcc->stats;
}

int lt_dcc_set_endpoints(struct lt_dcc *dcc, const char *const *names, unsigned n)
{
	char **v = n ? calloc(n, sizeof(*v)) : NULL;

	if (n && !v)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		v[i] = strdup(names[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < dcc->nendpoints; i++)
		free(dcc->endpoints[i]);
	free(dcc->endpoints);
	dcc->endpoints = v;
	dcc->nendpoints = n;
	return 0;
}

void lt_metric_set_event_driven(struct lt_metric *m)
{
	m->event_driven = true;
}

int lt_metric_is_event_driven(const struct lt_metric *m)
{
	return m->event_driven;
}

uint64_t lt_mono_to_real(uint64_t mono_ns)
{
	/* Modular arithmetic: right whichever clock is ahead. */
	return mono_ns + (lt_real_ns() - lt_mono_ns());
}

uint64_t *lt_device_counter(struct lt_device *dev, const char *name)
{
	if (dev->ncounters >= LT_DEVICE_COUNTERS_MAX)
		return NULL;
	dev->counter_names[dev->ncounters] = name;
	lt_count_set(&dev->counters[dev->ncounters], 0);
	return &dev->counters[dev->ncounters++];
}

int lt_device_add_property(struct lt_device *dev, const char *key, const char *value, char *err,
			   size_t errlen)
{
	static const char key_chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
	size_t klen = strlen(key), vlen = strlen(value);
	struct lt_property *p;

	if (!klen || klen > LT_PROPERTY_KEY_MAX || strspn(key, key_chars) != klen)
		return lt_errf(err, errlen, -EINVAL,
			       "bad property name '%.80s': 1 to %d of A-Z a-z 0-9 _ . -", key,
			       LT_PROPERTY_KEY_MAX);
	if (vlen > LT_PROPERTY_VALUE_MAX)
		return lt_errf(err, errlen, -EINVAL, "property '%s': value longer than %d bytes",
			       key, LT_PROPERTY_VALUE_MAX);
	/* They travel in JSON, journal fields and status lines: no line breaks or escapes. */
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return lt_errf(err, errlen, -EINVAL,
				       "property '%s': control character 0x%02x in the value", key,
				       (unsigned)(unsigned char)value[i]);
	/* JSON (status, IoTCC) cannot carry anything else. */
	if (!lt_utf8_ok(value, vlen))
		return lt_errf(err, errlen, -EINVAL, "property '%s': the value is not valid UTF-8",
			       key);
	for (unsigned i = 0; i < dev->nprops; i++)
		if (!strcmp(dev->props[i].key, key))
			return lt_errf(err, errlen, -EEXIST, "property '%s' is set twice", key);
	if (dev->nprops >= LT_DEVICE_PROPERTIES_MAX)
		return lt_errf(err, errlen, -ENOSPC,
			       "property '%s': a device has at most %d properties", key,
			       LT_DEVICE_PROPERTIES_MAX);
	dev->props = xrealloc(dev->props, (dev->nprops + 1) * sizeof(*dev->props));
	p = &dev->props[dev->nprops++];
	p->key = xstrdup(key);
	p->value = xstrdup(value);
	return 0;
}

void lt_device_set_condition(struct lt_device *dev, const char *text)
{
	atomic_store_explicit(&dev->condition, text, memory_order_relaxed);
}

int lt_device_stopping(const struct lt_device *dev)
{
	return atomic_load_explicit(&dev->stopping, memory_order_acquire);
}

void lt_device_set_stop_socket(struct lt_device *dev, int fd)
{
	atomic_store_explicit(&dev->stop_socket, fd, memory_order_relaxed);
}

/* The running model's [daemon] state_dir (NULL: the default); set at start. */
static const char *state_dir;

void sdk_set_state_dir(const char *dir)
{
	state_dir = dir;
}

int lt_state_path(const char *name, char *buf, size_t len, char *err, size_t errlen)
{
	char dir[4096], why[4400];
	int r;

	if (state_dir)
		snprintf(dir, sizeof(dir), "%s", state_dir);
	else
		lt_default_statedir(dir, sizeof(dir));
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
		snprintf(err, errlen, "state path %s/%s is too long", dir, name);
		return -ENAMETOOLONG;
	}
	/* Made by us, or verified ours: the state file is written there (trust.h). */
	r = lt_dir_open_trusted(dir, 0750, LT_DIR_PARENTS | LT_DIR_LINK_OK, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "state folder %s", why);
		return r;
	}
	close(r);
	return 0;
}
