/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Plug and play, the pure part: which hardware udev reported is present
 * (the instances of [profile "NAME"] sections), what each is called, when
 * a burst of events is quiet enough to apply, and which devices flap. No
 * I/O here: src/core/udev.c reads libudev and hands each device over as a
 * struct lt_udev_dev; the configuration loader (config.h) turns the
 * instances into devices; the main thread applies the model (daemon_apply()).
 * Main thread only.
 */
#ifndef LT_DISCOVER_H
#define LT_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Present instances at most: udev is outside input. */
#define LT_DISCOVER_MAX 256
/* A burst of events is applied once it has been quiet this long ... */
#define LT_DISCOVER_QUIET_NS (200 * 1000000ull)
/* ... or this long after its first event, whichever comes first ... */
#define LT_DISCOVER_DELAY_MAX_NS (1000 * 1000000ull)
/* ... and never sooner than this after the previous apply (3 a second). */
#define LT_DISCOVER_GAP_NS (333 * 1000000ull)
/* A device that comes or goes more than FLAP_CHANGES times in FLAP_WINDOW flaps. */
#define LT_DISCOVER_FLAP_CHANGES   4
#define LT_DISCOVER_FLAP_WINDOW_NS (60 * 1000000000ull)
/* Names remembered for flap counting (oldest forgotten first). */
#define LT_DISCOVER_FLAP_MAX 64
/* udev properties a device gets as DCC properties: property.udev_path ... */
#define LT_DISCOVER_PROPS 4

/* One device as udev reports it; the strings are borrowed, NULL when absent. */
struct lt_udev_dev {
	const char *action; /* "add", "remove", "change"...; NULL: found by enumeration */
	const char *syspath, *devpath, *subsystem, *sysname, *devnode;
	const char *profile;                                /* ENV{LIOTAD_PROFILE} */
	const char *name;                                   /* ENV{LIOTAD_NAME} */
	const char *serial_short, *serial, *vendor, *model; /* ID_SERIAL_SHORT ... ID_MODEL */
};

/* A present device taken from a profile: what the loader makes a device of. */
struct lt_instance {
	char *name;    /* the device's name */
	char *profile; /* the [profile "NAME"] it is made from */
	char *subsystem;
	char *hw; /* the value of its driver's hardware key (lt_discover_hw_key()) */
	char *syspath;
	bool seen; /* found again by the enumeration of a resync */
	/* "udev_path", "vendor", "model", "serial", and their values (NULL: unknown) */
	const char *prop_keys[LT_DISCOVER_PROPS];
	char *prop_values[LT_DISCOVER_PROPS];
	/*
	 * A device announced by a discovery message (devdisc.h) rather than
	 * udev: kept by a resync, saved in the state file. Its syspath is
	 * "message:NAME", which no udev device has; its properties are the
	 * message's (property.KEY), sorted by key.
	 */
	bool message;
	char *dtype; /* its discovery type: "LM35" */
	unsigned nmsgprops;
	char **msg_keys, **msg_values;
};

struct lt_flap {
	char *name;
	uint64_t window_ns; /* start of the current window */
	unsigned changes;   /* in the current window */
	bool reported;      /* said once in this window */
};

struct lt_discovery {
	struct lt_instance inst[LT_DISCOVER_MAX];
	unsigned ninst;
	struct lt_flap flaps[LT_DISCOVER_FLAP_MAX];
	unsigned nflaps;
	/* coalescing: a change waits for lt_discovery_due() */
	bool dirty;
	bool loud; /* a change of the burst was logged: its apply is logged too */
	uint64_t first_ns, last_ns, applied_ns;
	uint64_t msg_changes; /* changes lt_discovery_message() made: the state file's cue */
};

/* What an event means for the log: up to four lines, each with its priority. */
struct lt_discover_notes {
	unsigned n;
	int prio[4];
	char text[4][256];
};

/*
 * The key of a device type's driver that names the hardware (iio: "device",
 * gpio: "chip", can: "interface", modbus: "device"); NULL for a type udev
 * cannot discover. Whether a udev subsystem fits the type: iio, gpio, net,
 * tty respectively. *@example (when not NULL) gets a value of that key for
 * checking a profile before any device of it is there ("iio:device0").
 */
const char *lt_discover_hw_key(const char *type, const char **example);
bool lt_discover_fits(const char *type, const char *subsystem);

/*
 * The name of a device of @profile: ENV{LIOTAD_NAME}, else
 * PROFILE-SERIAL (ID_SERIAL_SHORT, else ID_SERIAL), else PROFILE-SYSNAME,
 * which is not stable across replugging (*stable false). Characters a
 * device name cannot hold become '_', and it is cut at LT_NAME_LEN_MAX.
 * Returns 0, or -EINVAL when there is nothing to make a name of.
 */
int lt_discover_name(const struct lt_udev_dev *u, char *out, size_t outlen, bool *stable);

void lt_discovery_init(struct lt_discovery *d);
void lt_discovery_free(struct lt_discovery *d);

/*
 * One udev event (or an enumerated device) at @now_ns: an added device with
 * a profile becomes an instance, a removed one stops being one. Returns 1
 * when the set of instances changed (then a burst is pending: see
 * lt_discovery_due()), 0 when not (a device without LIOTAD_PROFILE, a
 * "change" of a present device that keeps its profile (one whose rules now
 * give another profile goes, and comes back made from it), a removal of
 * one never taken, a device
 * without a node outside subsystem net: a legacy sysfs gpiochip, an IIO
 * trigger). @notes gets
 * what to log: the device taken or gone (not while it flaps), that its
 * name is not stable, that it flaps (once per window), why it was refused.
 */
int lt_discovery_event(struct lt_discovery *d, const struct lt_udev_dev *u, uint64_t now_ns,
		       struct lt_discover_notes *notes);

/*
 * Resynchronise with a new enumeration when events may have been lost (the
 * monitor's socket overflowed; SIGHUP): lt_discovery_resync_begin(), every
 * enumerated device to lt_discovery_event(), then lt_discovery_resync_end()
 * until it returns 0: each call removes one instance the enumeration did not
 * find again (1, with @notes, as a removal). Skip the end when the
 * enumeration failed.
 */
void lt_discovery_resync_begin(struct lt_discovery *d);
int lt_discovery_resync_end(struct lt_discovery *d, uint64_t now_ns,
			    struct lt_discover_notes *notes);

/*
 * A device announced by a discovery message, or read back from the state
 * file: device @name of discovery type @dtype, made from [profile
 * "@profile"], with the @nprops properties @keys = @values (sorted by
 * key). Returns 1 when it is new or its properties changed (a burst is
 * then pending, as for udev), 0 when it is there already as it is, or a
 * negative errno with @notes saying why it is not taken: -EEXIST when
 * udev has a device of that name, -ENOSPC when LT_DISCOVER_MAX devices
 * are discovered already.
 */
int lt_discovery_message(struct lt_discovery *d, const char *name, const char *dtype,
			 const char *profile, unsigned nprops, const char *const *keys,
			 const char *const *values, uint64_t now_ns,
			 struct lt_discover_notes *notes);

/* When the pending burst is to be applied (CLOCK_MONOTONIC ns); UINT64_MAX: none pending. */
uint64_t lt_discovery_due(const struct lt_discovery *d);
/* The burst was applied at @now_ns. */
void lt_discovery_applied(struct lt_discovery *d, uint64_t now_ns);

#endif
