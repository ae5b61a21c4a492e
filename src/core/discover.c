/* SPDX-License-Identifier: BSD-2-Clause */
/* Plug and play, the pure part (discover.h): instances, names, bursts, flaps. */
#include "discover.h"
#include "model.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* The key naming the hardware, per device type, and the udev subsystem it comes from. */
static const struct {
	const char *type, *key, *subsystem, *example;
} hw_keys[] = {
	{ "iio", "device", "iio", "iio:device0" },
	{ "gpio", "chip", "gpio", "gpiochip0" },
	{ "can", "interface", "net", "can0" },
	{ "modbus", "device", "tty", "/dev/ttyUSB0" },
};

const char *lt_discover_hw_key(const char *type, const char **example)
{
	for (size_t i = 0; i < ARRAY_SIZE(hw_keys); i++) {
		if (strcmp(hw_keys[i].type, type) == 0) {
			if (example)
				*example = hw_keys[i].example;
			return hw_keys[i].key;
		}
	}
	return NULL;
}

bool lt_discover_fits(const char *type, const char *subsystem)
{
	for (size_t i = 0; i < ARRAY_SIZE(hw_keys); i++)
		if (strcmp(hw_keys[i].type, type) == 0)
			return subsystem && strcmp(hw_keys[i].subsystem, subsystem) == 0;
	return false;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

int lt_discover_name(const struct lt_udev_dev *u, char *out, size_t outlen, bool *stable)
{
	const char *serial = nonempty(u->serial_short) ? u->serial_short : u->serial;
	size_t n;

	if (!nonempty(u->profile) || outlen < 2)
		return -EINVAL;
	*stable = true;
	if (nonempty(u->name))
		snprintf(out, outlen, "%s", u->name);
	else if (nonempty(serial))
		snprintf(out, outlen, "%s-%s", u->profile, serial);
	else if (nonempty(u->sysname))
		*stable = false, snprintf(out, outlen, "%s-%s", u->profile, u->sysname);
	else
		return -EINVAL;
	n = strlen(out);
	if (n > LT_NAME_LEN_MAX)
		out[n = LT_NAME_LEN_MAX] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strchr(LT_NAME_CHARS, out[i]))
			out[i] = '_';
	return 0;
}

void lt_discovery_init(struct lt_discovery *d)
{
	memset(d, 0, sizeof(*d));
}

static void msg_props_free(struct lt_instance *in)
{
	for (unsigned i = 0; i < in->nmsgprops; i++) {
		free(in->msg_keys[i]);
		free(in->msg_values[i]);
	}
	free(in->msg_keys);
	free(in->msg_values);
	in->msg_keys = in->msg_values = NULL;
	in->nmsgprops = 0;
}

static void instance_free(struct lt_instance *in)
{
	free(in->name);
	free(in->profile);
	free(in->subsystem);
	free(in->hw);
	free(in->syspath);
	for (unsigned i = 0; i < LT_DISCOVER_PROPS; i++)
		free(in->prop_values[i]);
	msg_props_free(in);
	free(in->dtype);
	memset(in, 0, sizeof(*in));
}

void lt_discovery_free(struct lt_discovery *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->ninst; i++)
		instance_free(&d->inst[i]);
	for (unsigned i = 0; i < d->nflaps; i++)
		free(d->flaps[i].name);
	lt_discovery_init(d);
}

static void note(struct lt_discover_notes *nt, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct lt_discover_notes *nt, int prio, const char *fmt, ...)
{
	va_list ap;

	if (nt->n >= ARRAY_SIZE(nt->text))
		return;
	va_start(ap, fmt);
	vsnprintf(nt->text[nt->n], sizeof(nt->text[0]), fmt, ap);
	va_end(ap);
	nt->prio[nt->n++] = prio;
}

static struct lt_instance *find_syspath(struct lt_discovery *d, const char *syspath)
{
	for (unsigned i = 0; i < d->ninst; i++)
		if (strcmp(d->inst[i].syspath, syspath) == 0)
			return &d->inst[i];
	return NULL;
}

static bool name_taken(const struct lt_discovery *d, const char *name)
{
	for (unsigned i = 0; i < d->ninst; i++)
		if (strcmp(d->inst[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Count one appearance or removal of @name. Returns true while the name
 * flaps (more than FLAP_CHANGES in its window): the caller then does not
 * log each change; the flapping itself is noted once per window.
 */
static bool flap_count(struct lt_discovery *d, const char *name, uint64_t now,
		       struct lt_discover_notes *nt)
{
	struct lt_flap *f = NULL;

	for (unsigned i = 0; i < d->nflaps && !f; i++)
		if (strcmp(d->flaps[i].name, name) == 0)
			f = &d->flaps[i];
	if (!f) {
		if (d->nflaps == LT_DISCOVER_FLAP_MAX) {
			/* Forget the oldest window. */
			unsigned old = 0;

			for (unsigned i = 1; i < d->nflaps; i++)
				if (d->flaps[i].window_ns < d->flaps[old].window_ns)
					old = i;
			free(d->flaps[old].name);
			d->flaps[old] = d->flaps[--d->nflaps];
		}
		f = &d->flaps[d->nflaps++];
		*f = (struct lt_flap){ .name = xstrdup(name), .window_ns = now };
	}
	if (now - f->window_ns >= LT_DISCOVER_FLAP_WINDOW_NS) {
		f->window_ns = now;
		f->changes = 0;
		f->reported = false;
	}
	f->changes++;
	if (f->changes <= LT_DISCOVER_FLAP_CHANGES)
		return false;
	if (!f->reported) {
		f->reported = true;
		note(nt, LOG_WARNING,
		     "%s flaps: it came or went %u times in %.0f s; its changes are applied but "
		     "no longer logged until %.0f s after the first",
		     name, f->changes, (double)(now - f->window_ns) / 1e9,
		     (double)LT_DISCOVER_FLAP_WINDOW_NS / 1e9);
	}
	return true;
}

/* A change at @now; @loud: it was logged (a flapping device's are not, nor their apply). */
static void mark(struct lt_discovery *d, uint64_t now, bool loud)
{
	if (!d->dirty)
		d->first_ns = now;
	d->dirty = true;
	d->loud |= loud;
	d->last_ns = now;
}

static int device_gone(struct lt_discovery *d, struct lt_instance *in, uint64_t now,
		       struct lt_discover_notes *nt)
{
	bool loud = !flap_count(d, in->name, now, nt);

	if (loud)
		note(nt, LOG_INFO, "%s (%s) is gone", in->name, in->hw);
	instance_free(in);
	/* Keep the order: the loader makes devices in it. */
	memmove(in, in + 1, (size_t)(&d->inst[d->ninst] - (in + 1)) * sizeof(*in));
	memset(&d->inst[--d->ninst], 0, sizeof(*in));
	mark(d, now, loud);
	return 1;
}

/*
 * A udev property as a device property: what the hardware says must not
 * make the configuration invalid (lt_device_add_property()), so it is cut
 * to LT_PROPERTY_VALUE_MAX bytes at a character's start, a control
 * character becomes '_', and so does every non-ASCII byte of a value that
 * is not valid UTF-8 (the check JSON and the SDK make: utf8.h).
 */
static char *prop_value(const char *v)
{
	size_t n = strlen(v);
	char *s;

	if (n > LT_PROPERTY_VALUE_MAX) {
		n = LT_PROPERTY_VALUE_MAX;
		while (n && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	s = xasprintf("%.*s", (int)n, v);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	if (!lt_utf8_ok(s, n))
		for (char *p = s; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '_';
	return s;
}

static int device_new(struct lt_discovery *d, const struct lt_udev_dev *u, uint64_t now,
		      struct lt_discover_notes *nt)
{
	bool net = u->subsystem && strcmp(u->subsystem, "net") == 0;
	const char *hw = u->subsystem && strcmp(u->subsystem, "tty") == 0 ? u->devnode : u->sysname;
	const char *values[LT_DISCOVER_PROPS] = { u->devpath, u->vendor, u->model,
						  nonempty(u->serial_short) ? u->serial_short
									    : u->serial };
	static const char *const keys[LT_DISCOVER_PROPS] = { "udev_path", "vendor", "model",
							     "serial" };
	char name[LT_NAME_LEN_MAX + 1], base[LT_NAME_LEN_MAX + 1];
	struct lt_instance *in;
	bool stable, loud;

	/*
	 * What liotad opens has a node, but for a network interface. The same
	 * subsystems hold devices without one that a broad rule may tag too:
	 * the legacy sysfs gpiochipNNN beside the real chip, IIO triggers.
	 */
	if ((!net && !nonempty(u->devnode)) || !nonempty(hw)) {
		note(nt, LOG_DEBUG, "%s: no device node: not a device liotad opens", u->syspath);
		return 0;
	}
	if (lt_discover_name(u, name, sizeof(name), &stable) < 0)
		return 0;
	if (name_taken(d, name)) {
		/* Two devices given one name (a rule's LIOTAD_NAME, a serial twice). */
		snprintf(base, sizeof(base), "%s", name);
		struct lt_udev_dev v = *u;
		char *both = xasprintf("%s-%s", base, u->sysname);

		v.name = both;
		lt_discover_name(&v, name, sizeof(name), &stable);
		free(both);
		stable = false;
		if (name_taken(d, name)) {
			note(nt, LOG_WARNING, "%s: the name %s is taken: not taken", u->syspath,
			     base);
			return 0;
		}
		note(nt, LOG_WARNING, "%s: the name %s is taken by another device: named %s",
		     u->syspath, base, name);
	}
	if (d->ninst == LT_DISCOVER_MAX) {
		note(nt, LOG_WARNING, "%s (%s): %u discovered devices already: not taken", name, hw,
		     LT_DISCOVER_MAX);
		return 0;
	}
	in = &d->inst[d->ninst++];
	in->name = xstrdup(name);
	in->profile = xstrdup(u->profile);
	in->subsystem = xstrdup(u->subsystem);
	in->hw = xstrdup(hw);
	in->syspath = xstrdup(u->syspath);
	in->seen = true;
	for (unsigned i = 0; i < LT_DISCOVER_PROPS; i++) {
		in->prop_keys[i] = keys[i];
		in->prop_values[i] = nonempty(values[i]) ? prop_value(values[i]) : NULL;
	}
	loud = !flap_count(d, name, now, nt);
	if (loud) {
		note(nt, LOG_INFO, "%s (%s) appeared: made from [profile \"%s\"]", name, hw,
		     u->profile);
		if (!stable)
			note(nt, LOG_WARNING,
			     "%s: no serial number and no LIOTAD_NAME: the name may change when "
			     "it is plugged again (set ENV{LIOTAD_NAME} in its rule)",
			     name);
	}
	mark(d, now, loud);
	return 1;
}

int lt_discovery_event(struct lt_discovery *d, const struct lt_udev_dev *u, uint64_t now_ns,
		       struct lt_discover_notes *notes)
{
	const char *action = u->action ? u->action : "add";
	struct lt_instance *in;

	notes->n = 0;
	if (!nonempty(u->syspath))
		return 0;
	in = find_syspath(d, u->syspath);
	if (strcmp(action, "remove") == 0)
		return in ? device_gone(d, in, now_ns, notes) : 0;
	if (strcmp(action, "unbind") == 0 || !nonempty(u->profile))
		return 0;
	/* Rules changed, then `udevadm trigger`: the device is made from its new profile. */
	if (in && strcmp(action, "change") == 0 && strcmp(in->profile, u->profile) != 0) {
		device_gone(d, in, now_ns, notes);
		device_new(d, u, now_ns, notes);
		return 1;
	}
	/* A present device's "change", "bind"... or enumeration: it is there already. */
	if (in) {
		in->seen |= !u->action;
		return 0;
	}
	return device_new(d, u, now_ns, notes);
}

/* ---- devices announced by discovery messages (devdisc.h) ---------------- */

static bool msg_props_equal(const struct lt_instance *in, unsigned n, const char *const *keys,
			    const char *const *values)
{
	if (in->nmsgprops != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(in->msg_keys[i], keys[i]) || strcmp(in->msg_values[i], values[i]))
			return false;
	return true;
}

static void msg_props_set(struct lt_instance *in, unsigned n, const char *const *keys,
			  const char *const *values)
{
	msg_props_free(in);
	in->msg_keys = xcalloc(n + 1, sizeof(*in->msg_keys));
	in->msg_values = xcalloc(n + 1, sizeof(*in->msg_values));
	for (unsigned i = 0; i < n; i++) {
		in->msg_keys[i] = xstrdup(keys[i]);
		in->msg_values[i] = xstrdup(values[i]);
	}
	in->nmsgprops = n;
}

int lt_discovery_message(struct lt_discovery *d, const char *name, const char *dtype,
			 const char *profile, unsigned nprops, const char *const *keys,
			 const char *const *values, uint64_t now_ns,
			 struct lt_discover_notes *notes)
{
	struct lt_instance *in = NULL;

	notes->n = 0;
	for (unsigned i = 0; i < d->ninst && !in; i++)
		if (strcmp(d->inst[i].name, name) == 0)
			in = &d->inst[i];
	if (in && !in->message) {
		note(notes, LOG_WARNING,
		     "%s: udev discovered a device of that name (%s): not taken", name,
		     in->syspath);
		return -EEXIST;
	}
	if (in) {
		/* A second message for the device: its properties, nothing else, may change. */
		if (strcmp(in->profile, profile) == 0 && msg_props_equal(in, nprops, keys, values))
			return 0;
		msg_props_set(in, nprops, keys, values);
		free(in->profile);
		in->profile = xstrdup(profile);
		note(notes, LOG_INFO, "%s: properties updated", name);
		mark(d, now_ns, true);
		d->msg_changes++;
		return 1;
	}
	if (d->ninst == LT_DISCOVER_MAX) {
		note(notes, LOG_WARNING, "%s: %u discovered devices already: not taken", name,
		     LT_DISCOVER_MAX);
		return -ENOSPC;
	}
	in = &d->inst[d->ninst++];
	in->name = xstrdup(name);
	in->profile = xstrdup(profile);
	in->hw = xstrdup(dtype);
	in->syspath = xasprintf("message:%s", name);
	in->message = true;
	in->seen = true;
	in->dtype = xstrdup(dtype);
	msg_props_set(in, nprops, keys, values);
	note(notes, LOG_INFO, "%s discovered: made from [profile \"%s\"]", name, profile);
	mark(d, now_ns, true);
	d->msg_changes++;
	return 1;
}

void lt_discovery_resync_begin(struct lt_discovery *d)
{
	/* What messages announced is not udev's to forget. */
	for (unsigned i = 0; i < d->ninst; i++)
		d->inst[i].seen = d->inst[i].message;
}

int lt_discovery_resync_end(struct lt_discovery *d, uint64_t now_ns,
			    struct lt_discover_notes *notes)
{
	notes->n = 0;
	for (unsigned i = 0; i < d->ninst; i++)
		if (!d->inst[i].seen)
			return device_gone(d, &d->inst[i], now_ns, notes);
	return 0;
}

uint64_t lt_discovery_due(const struct lt_discovery *d)
{
	uint64_t due;

	if (!d->dirty)
		return UINT64_MAX;
	due = d->last_ns + LT_DISCOVER_QUIET_NS;
	if (due > d->first_ns + LT_DISCOVER_DELAY_MAX_NS)
		due = d->first_ns + LT_DISCOVER_DELAY_MAX_NS;
	if (d->applied_ns && due < d->applied_ns + LT_DISCOVER_GAP_NS)
		due = d->applied_ns + LT_DISCOVER_GAP_NS;
	return due;
}

void lt_discovery_applied(struct lt_discovery *d, uint64_t now_ns)
{
	d->dirty = false;
	d->loud = false;
	d->applied_ns = now_ns;
}
