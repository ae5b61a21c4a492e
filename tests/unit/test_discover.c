/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of plug and play without udev: naming, the set of present
 * devices (src/core/discover.c), flaps and bursts, the devices the loader
 * makes from [profile] sections (config_build()), and the
 * difference a device that comes or goes makes to the running model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/config.h"
#include "core/diff.h"
#include "core/discover.h"
#include "util.h"
#include "intree.h"
#include "unit.h"
#include "confdir.h"

#define MS 1000000ull
#define T0 (1000 * 1000 * MS) /* an arbitrary monotonic start */

/* An iio_dummy device as udev reports it, tagged with profile "thermo". */
static struct lt_udev_dev iio_dev(const char *action, const char *sysname)
{
	static char syspath[128];

	snprintf(syspath, sizeof(syspath), "/sys/devices/iio/%s", sysname);
	return (struct lt_udev_dev){ .action = action,
				     .syspath = syspath,
				     .devpath = syspath + 4,
				     .subsystem = "iio",
				     .sysname = sysname,
				     .devnode = "/dev/iio:device0",
				     .profile = "thermo" };
}

/* ---- names ------------------------------------------------------------------ */

START_TEST(name_from_the_rule_comes_first)
{
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	char name[64];
	bool stable;

	u.name = "boiler";
	u.serial_short = "A1";
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_str_eq(name, "boiler");
	ck_assert(stable);
}
END_TEST

START_TEST(name_from_the_serial_short_then_the_serial)
{
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	char name[64];
	bool stable;

	u.serial = "FTDI_FT232R_A1B2";
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_str_eq(name, "thermo-FTDI_FT232R_A1B2");
	ck_assert(stable);
	u.serial_short = "A1B2";
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_str_eq(name, "thermo-A1B2");
}
END_TEST

START_TEST(name_from_the_sysname_is_not_stable_and_is_sanitised)
{
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	char name[64];
	bool stable = true;

	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_str_eq(name, "thermo-iio_device3");
	ck_assert(!stable);
	u.name = "a.b/c:d\xc3\xa9";
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_str_eq(name, "a_b_c_d__");
	u.name = "0123456789012345678901234567890123456789012345678901234567890";
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), 0);
	ck_assert_uint_eq(strlen(name), LT_NAME_LEN_MAX);
	u.profile = NULL;
	ck_assert_int_eq(lt_discover_name(&u, name, sizeof(name), &stable), -EINVAL);
}
END_TEST

START_TEST(hardware_key_and_subsystem_per_type)
{
	const char *ex;

	ck_assert_str_eq(lt_discover_hw_key("iio", &ex), "device");
	ck_assert_str_eq(ex, "iio:device0");
	ck_assert_str_eq(lt_discover_hw_key("gpio", NULL), "chip");
	ck_assert_str_eq(lt_discover_hw_key("can", NULL), "interface");
	ck_assert_str_eq(lt_discover_hw_key("modbus", NULL), "device");
	ck_assert_ptr_null(lt_discover_hw_key("sim", NULL));
	ck_assert(lt_discover_fits("can", "net"));
	ck_assert(lt_discover_fits("modbus", "tty"));
	ck_assert(!lt_discover_fits("gpio", "iio"));
	ck_assert(!lt_discover_fits("sim", "iio"));
}
END_TEST

/* ---- the set of present devices ------------------------------------------------- */

START_TEST(a_tagged_device_comes_and_goes_once)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev(NULL, "iio:device3");

	lt_discovery_init(&d);
	u.serial_short = "S1";
	u.vendor = "ACME";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	ck_assert_uint_eq(d.ninst, 1);
	ck_assert_str_eq(d.inst[0].name, "thermo-S1");
	ck_assert_str_eq(d.inst[0].hw, "iio:device3");
	ck_assert_str_eq(d.inst[0].prop_keys[1], "vendor");
	ck_assert_str_eq(d.inst[0].prop_values[1], "ACME");
	ck_assert_ptr_null(d.inst[0].prop_values[2]); /* no model */
	ck_assert_uint_eq(nt.n, 1);
	ck_assert_int_eq(nt.prio[0], LOG_INFO);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "thermo-S1 (iio:device3) appeared"));
	/* Seen again (a change, or the monitor after the enumeration): nothing new. */
	u.action = "change";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + MS, &nt), 0);
	u.action = "add";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + MS, &nt), 0);
	ck_assert_uint_eq(d.ninst, 1);
	u.action = "remove";
	u.profile = NULL; /* found by its path, whatever the event says */
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 2 * MS, &nt), 1);
	ck_assert_uint_eq(d.ninst, 0);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "thermo-S1 (iio:device3) is gone"));
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 3 * MS, &nt), 0);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_change_to_another_profile_makes_the_device_again)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");

	lt_discovery_init(&d);
	u.name = "room";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	u.action = "change";
	u.profile = "climate";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + MS, &nt), 1);
	ck_assert_uint_eq(d.ninst, 1);
	ck_assert_str_eq(d.inst[0].profile, "climate");
	ck_assert_str_eq(d.inst[0].name, "room");
	ck_assert_uint_eq(nt.n, 2);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "room (iio:device3) is gone"));
	ck_assert_ptr_nonnull(strstr(nt.text[1], "made from [profile \"climate\"]"));
	/* The same profile again: nothing. */
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 2 * MS, &nt), 0);
	lt_discovery_free(&d);
}
END_TEST

/* Events lost (socket overflow), or a SIGHUP: a new listing is the truth. */
START_TEST(a_resync_forgets_what_the_listing_lacks_and_takes_what_it_adds)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u;

	lt_discovery_init(&d);
	u = iio_dev("add", "iio:device1");
	lt_discovery_event(&d, &u, T0, &nt);
	u = iio_dev("add", "iio:device2");
	lt_discovery_event(&d, &u, T0, &nt);
	lt_discovery_applied(&d, T0 + 500 * MS);

	lt_discovery_resync_begin(&d);
	u = iio_dev(NULL, "iio:device2");
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 1000 * MS, &nt), 0);
	u = iio_dev(NULL, "iio:device3");
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 1000 * MS, &nt), 1);
	ck_assert_int_eq(lt_discovery_resync_end(&d, T0 + 1000 * MS, &nt), 1);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "thermo-iio_device1 (iio:device1) is gone"));
	ck_assert_int_eq(lt_discovery_resync_end(&d, T0 + 1000 * MS, &nt), 0);
	ck_assert_uint_eq(d.ninst, 2);
	ck_assert_str_eq(d.inst[0].hw, "iio:device2");
	ck_assert_str_eq(d.inst[1].hw, "iio:device3");
	ck_assert_uint_ne(lt_discovery_due(&d), UINT64_MAX);
	/* A second resync that finds both again changes nothing. */
	lt_discovery_applied(&d, T0 + 2000 * MS);
	lt_discovery_resync_begin(&d);
	u = iio_dev(NULL, "iio:device3");
	lt_discovery_event(&d, &u, T0 + 3000 * MS, &nt);
	u = iio_dev(NULL, "iio:device2");
	lt_discovery_event(&d, &u, T0 + 3000 * MS, &nt);
	ck_assert_int_eq(lt_discovery_resync_end(&d, T0 + 3000 * MS, &nt), 0);
	ck_assert_uint_eq(lt_discovery_due(&d), UINT64_MAX);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_device_without_a_profile_is_ignored)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");

	lt_discovery_init(&d);
	u.profile = "";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 0);
	ck_assert_uint_eq(d.ninst, 0);
	ck_assert_uint_eq(nt.n, 0);
	ck_assert_uint_eq(lt_discovery_due(&d), UINT64_MAX);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_serial_port_is_named_by_its_node_and_warned_unstable)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = { .action = "add",
				 .syspath = "/sys/devices/usb1/ttyUSB0",
				 .subsystem = "tty",
				 .sysname = "ttyUSB0",
				 .devnode = "/dev/ttyUSB0",
				 .profile = "meter" };

	lt_discovery_init(&d);
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	ck_assert_str_eq(d.inst[0].hw, "/dev/ttyUSB0");
	ck_assert_str_eq(d.inst[0].name, "meter-ttyUSB0");
	ck_assert_uint_eq(nt.n, 2);
	ck_assert_int_eq(nt.prio[1], LOG_WARNING);
	ck_assert_ptr_nonnull(strstr(nt.text[1], "may change when it is plugged again"));
	/* Without a node there is nothing to open. */
	u.syspath = "/sys/devices/usb1/ttyUSB1";
	u.devnode = NULL;
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 0);
	ck_assert_uint_eq(d.ninst, 1);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "no device node"));
	lt_discovery_free(&d);
}
END_TEST

/* gpio-sim makes /sys/class/gpio/gpiochip1022 beside gpiochip0: no node, not a chip to open. */
START_TEST(a_device_without_a_node_is_not_taken_but_a_network_interface_is)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = { .action = "add",
				 .syspath = "/sys/devices/platform/gpio-sim.0/gpio/gpiochip1022",
				 .subsystem = "gpio",
				 .sysname = "gpiochip1022",
				 .profile = "relays" };

	lt_discovery_init(&d);
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 0);
	ck_assert_uint_eq(d.ninst, 0);
	ck_assert_int_eq(nt.prio[0], LOG_DEBUG);
	u = (struct lt_udev_dev){ .action = "add",
				  .syspath = "/sys/devices/virtual/net/can0",
				  .subsystem = "net",
				  .sysname = "can0",
				  .profile = "engine" };
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	ck_assert_str_eq(d.inst[0].hw, "can0");
	lt_discovery_free(&d);
}
END_TEST

START_TEST(two_devices_given_one_name_are_told_apart)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");

	lt_discovery_init(&d);
	u.name = "twin";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	u = iio_dev("add", "iio:device4");
	u.name = "twin";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	ck_assert_str_eq(d.inst[1].name, "twin-iio_device4");
	ck_assert_ptr_nonnull(strstr(nt.text[0], "the name twin is taken"));
	lt_discovery_free(&d);
}
END_TEST

START_TEST(the_set_is_bounded)
{
	struct lt_discovery *d = xmalloc(sizeof(*d));
	struct lt_discover_notes nt;
	char sysname[32];

	lt_discovery_init(d);
	for (unsigned i = 0; i <= LT_DISCOVER_MAX; i++) {
		struct lt_udev_dev u;

		snprintf(sysname, sizeof(sysname), "iio:device%u", i);
		u = iio_dev("add", sysname);
		ck_assert_int_eq(lt_discovery_event(d, &u, T0, &nt), i < LT_DISCOVER_MAX);
	}
	ck_assert_uint_eq(d->ninst, LT_DISCOVER_MAX);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "discovered devices already"));
	lt_discovery_free(d);
	free(d);
}
END_TEST

/* ---- flaps and bursts ----------------------------------------------------------- */

START_TEST(a_flapping_device_is_reported_once_per_window)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	unsigned logged = 0, flaps = 0, changes = 0;

	lt_discovery_init(&d);
	u.serial_short = "S1";
	/* 20 plug/unplug cycles within 10 s: 40 changes, all applied. */
	for (unsigned i = 0; i < 40; i++) {
		u.action = i % 2 ? "remove" : "add";
		changes += (unsigned)lt_discovery_event(&d, &u, T0 + i * 250 * MS, &nt);
		for (unsigned k = 0; k < nt.n; k++) {
			if (strstr(nt.text[k], "flaps"))
				flaps++;
			else
				logged++;
		}
	}
	ck_assert_uint_eq(changes, 40);
	ck_assert_uint_eq(flaps, 1);
	ck_assert_uint_eq(logged, LT_DISCOVER_FLAP_CHANGES);
	/* Nor are the applies of its changes. */
	ck_assert(d.loud);
	lt_discovery_applied(&d, T0 + 10 * 1000 * MS);
	u.action = "add";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 11 * 1000 * MS, &nt), 1);
	ck_assert(d.dirty && !d.loud);
	u.action = "remove";
	lt_discovery_event(&d, &u, T0 + 12 * 1000 * MS, &nt);
	/* A new window: logged again. */
	u.action = "add";
	ck_assert_int_eq(
		lt_discovery_event(&d, &u, T0 + LT_DISCOVER_FLAP_WINDOW_NS + 10 * 1000 * MS, &nt),
		1);
	ck_assert_uint_eq(nt.n, 1);
	ck_assert_ptr_nonnull(strstr(nt.text[0], "appeared"));
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_burst_is_applied_once_quiet_and_applies_are_spaced)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	char sysname[32];

	lt_discovery_init(&d);
	ck_assert_uint_eq(lt_discovery_due(&d), UINT64_MAX);
	for (unsigned i = 0; i < 3; i++) {
		struct lt_udev_dev u;

		snprintf(sysname, sizeof(sysname), "iio:device%u", i);
		u = iio_dev("add", sysname);
		lt_discovery_event(&d, &u, T0 + i * 50 * MS, &nt);
	}
	/* Quiet for 200 ms after the last event. */
	ck_assert_uint_eq(lt_discovery_due(&d), T0 + 100 * MS + LT_DISCOVER_QUIET_NS);
	lt_discovery_applied(&d, T0 + 300 * MS);
	ck_assert_uint_eq(lt_discovery_due(&d), UINT64_MAX);

	/* An event 10 ms after an apply waits for the gap between applies. */
	struct lt_udev_dev u = iio_dev("remove", "iio:device0");

	ck_assert_int_eq(lt_discovery_event(&d, &u, T0 + 310 * MS, &nt), 1);
	ck_assert_uint_eq(lt_discovery_due(&d), T0 + 300 * MS + LT_DISCOVER_GAP_NS);
	lt_discovery_applied(&d, T0 + 700 * MS);

	/* Events every 100 ms without end: applied 1 s after the first anyway. */
	for (unsigned i = 0; i < 30; i++) {
		u = iio_dev(i % 2 ? "remove" : "add", "iio:device0");
		lt_discovery_event(&d, &u, T0 + 2000 * MS + i * 100 * MS, &nt);
	}
	ck_assert_uint_eq(lt_discovery_due(&d), T0 + 2000 * MS + LT_DISCOVER_DELAY_MAX_NS);
	lt_discovery_free(&d);
}
END_TEST

/* ---- devices made from profiles ----------------------------------------------------- */

#define EDGE  "[edge]\nname = gw\n"
#define DCC_G "[dcc \"g\"]\ntype = graphite\ntransport = stdout\n"
#define STATIC                                                                                     \
	"[device \"host\"]\ntype = sim\n[metric \"host.n\"]\ninterval = 1s\nfunction = counter\n"
#define PROFILE                                                                                    \
	"[profile \"thermo\"]\ntype = iio\n"                                                       \
	"[metric \"thermo.temp\"]\nchannel = in_temp0\nunit = degC\ninterval = 100ms\n"

/* Load @text with the present devices of @d (confdir.h). */
static struct lt_model *load(const char *text, const struct lt_discovery *d, char **errors)
{
	return confdir_load_found(text, d, errors);
}

static void add(struct lt_discovery *d, const char *sysname, const char *profile)
{
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", sysname);

	u.profile = profile;
	u.serial_short = sysname + strlen("iio:device");
	u.vendor = "ACME";
	ck_assert_int_eq(lt_discovery_event(d, &u, T0, &nt), 1);
}

START_TEST(a_profile_alone_makes_no_device)
{
	struct lt_model *m = load(EDGE DCC_G STATIC PROFILE, NULL, NULL);

	ck_assert_uint_eq(m->ndevices, 1);
	ck_assert_uint_eq(m->nmetrics, 1);
	ck_assert_uint_eq(m->nprofiles, 1);
	ck_assert_ptr_null(model_find_device(m, "thermo"));
	model_free(m);
}
END_TEST

START_TEST(a_present_device_is_made_from_its_profile)
{
	struct lt_discovery d;
	struct lt_model *m;
	struct lt_device *dev;
	struct lt_metric *mt;

	lt_discovery_init(&d);
	add(&d, "iio:device3", "thermo");
	m = load(EDGE DCC_G STATIC PROFILE, &d, NULL);
	ck_assert_uint_eq(m->ndevices, 2);
	dev = model_find_device(m, "thermo-3");
	ck_assert_ptr_nonnull(dev);
	ck_assert_str_eq(dev->drv->name, "iio");
	ck_assert_ptr_nonnull(strstr(dev->conf, "device=iio:device3\n"));
	ck_assert_ptr_nonnull(strstr(dev->conf, "type=iio\n"));
	mt = model_find_metric(m, "thermo-3.temp");
	ck_assert_ptr_nonnull(mt);
	ck_assert_ptr_eq(mt->device, dev);
	ck_assert_str_eq(mt->unit, "degC");
	ck_assert_uint_eq(mt->interval_ns, 100 * MS);
	ck_assert_uint_eq(mt->ntargets, 1);
	ck_assert_ptr_null(model_find_metric(m, "thermo.temp"));
	/* udev's properties, for the DCCs: path, vendor (no model, serial 3). */
	ck_assert_uint_eq(dev->nprops, 3);
	ck_assert_str_eq(dev->props[0].key, "udev_path");
	ck_assert_str_eq(dev->props[0].value, "/devices/iio/iio:device3");
	ck_assert_str_eq(dev->props[1].key, "vendor");
	ck_assert_str_eq(dev->props[1].value, "ACME");
	ck_assert_str_eq(dev->props[2].key, "serial");
	ck_assert_str_eq(dev->props[2].value, "3");
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

/* What udev says cannot make the configuration invalid; what the profile says wins. */
START_TEST(udev_properties_are_bounded_and_yield_to_the_profile)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	char model[400];
	struct lt_model *m;
	struct lt_device *dev;

	memset(model, 'x', sizeof(model) - 1);
	model[sizeof(model) - 1] = '\0';
	model[5] = '\n';
	lt_discovery_init(&d);
	u.model = model;
	u.vendor = "ACME";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	m = load(EDGE DCC_G STATIC "[profile \"thermo\"]\ntype = iio\nproperty.vendor = Ours\n", &d,
		 NULL);
	dev = model_find_device(m, "thermo-iio_device3");
	ck_assert_ptr_nonnull(dev);
	ck_assert_uint_eq(dev->nprops, 3);
	ck_assert_str_eq(dev->props[0].key, "vendor");
	ck_assert_str_eq(dev->props[0].value, "Ours");
	ck_assert_str_eq(dev->props[2].key, "model");
	ck_assert_uint_eq(strlen(dev->props[2].value), LT_PROPERTY_VALUE_MAX);
	ck_assert_int_eq(dev->props[2].value[5], '_');
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(udev_properties_stay_valid_utf8)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	char model[400];
	struct lt_model *m;
	struct lt_device *dev;

	/* 255 ASCII bytes, then "é" across the 256-byte cut: cut before it. */
	memset(model, 'x', sizeof(model));
	memcpy(model + 255, "\xc3\xa9", 2);
	model[300] = '\0';
	lt_discovery_init(&d);
	u.model = model;
	u.vendor = "Caf\xc3\xa9 \xff GmbH"; /* not UTF-8: its non-ASCII bytes go */
	u.serial_short = "M\xc3\xbcller";   /* UTF-8: kept */
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	m = load(EDGE DCC_G STATIC PROFILE, &d, NULL);
	dev = model_find_device(m, "thermo-M__ller");
	ck_assert_ptr_nonnull(dev);
	ck_assert_str_eq(dev->props[1].value, "Caf__ _ GmbH");
	ck_assert_uint_eq(strlen(dev->props[2].value), 255);
	ck_assert_str_eq(dev->props[3].value, "M\xc3\xbcller");
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_device_of_an_unknown_profile_or_subsystem_is_left_out)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = { .action = "add",
				 .syspath = "/sys/class/net/can0",
				 .subsystem = "net",
				 .sysname = "can0",
				 .profile = "thermo" };
	struct lt_model *m;

	lt_discovery_init(&d);
	add(&d, "iio:device3", "nosuch");
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1); /* iio profile, net device */
	m = load(EDGE DCC_G STATIC PROFILE, &d, NULL);
	ck_assert_uint_eq(m->ndevices, 1);
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

START_TEST(a_device_named_like_a_section_is_left_out)
{
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_udev_dev u = iio_dev("add", "iio:device3");
	struct lt_model *m;

	lt_discovery_init(&d);
	u.name = "host";
	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	m = load(EDGE DCC_G STATIC PROFILE, &d, NULL);
	ck_assert_uint_eq(m->ndevices, 1);
	ck_assert_str_eq(m->devices[0]->drv->name, "sim");
	model_free(m);
	lt_discovery_free(&d);
}
END_TEST

static void assert_errors(const char *text, const char *expected)
{
	char *errors = NULL, *want;
	struct lt_model *m = load(text, NULL, &errors);

	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(errors);
	want = xmalloc(strlen(expected) + 4 * strlen(confdir) + 1);
	want[0] = '\0';
	for (const char *p = expected, *at; *p; p = at + 2) {
		at = strstr(p, "%s");
		if (!at) {
			strcat(want, p);
			break;
		}
		strncat(want, p, (size_t)(at - p));
		strcat(want, confdir);
	}
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}

START_TEST(a_profile_is_checked_without_any_device)
{
	/* The metric's mistake is reported at its line, though no device of it is there. */
	assert_errors(
		EDGE DCC_G
		"[profile \"thermo\"]\ntype = iio\n"
		"[metric \"thermo.temp\"]\nchannel = in_temp0\nmode = sometimes\ninterval = 1s\n",
		"%s/liotad.conf:10: mode: unknown mode 'sometimes' (direct or buffered)\n");
}
END_TEST

START_TEST(profile_and_device_names_share_one_name_space)
{
	assert_errors(EDGE DCC_G STATIC "[profile \"host\"]\ntype = iio\n",
		      "%s/liotad.conf:11: [profile \"host\"]: [device \"host\"] has this name "
		      "(at %s/liotad.conf:6): devices and profiles share one name space\n");
}
END_TEST

START_TEST(a_profile_cannot_name_its_hardware_or_an_undiscoverable_type)
{
	assert_errors(EDGE DCC_G "[profile \"thermo\"]\ntype = iio\ndevice = iio:device0\n",
		      "%s/liotad.conf:8: device: udev gives each device of a profile its own "
		      "device: remove the key\n");
	assert_errors(EDGE DCC_G "[profile \"thermo\"]\ntype = sim\n",
		      "%s/liotad.conf:7: type: udev does not discover 'sim' devices (a profile "
		      "is one of: iio, gpio, can, modbus)\n");
	assert_errors(EDGE DCC_G "[profile \"thermo\"]\n",
		      "%s/liotad.conf:6: [profile \"thermo\"]: type is required (one of: iio, "
		      "gpio, can, modbus)\n");
}
END_TEST

/* ---- the difference a device that comes or goes makes ----------------------------------- */

START_TEST(a_device_that_comes_or_goes_starts_or_stops_alone)
{
	static const char text[] = EDGE DCC_G STATIC PROFILE;
	struct lt_discovery d;
	struct lt_discover_notes nt;
	struct lt_model *before, *with, *after;
	struct lt_udev_dev u = iio_dev("remove", "iio:device3");
	struct lt_diff df;

	lt_discovery_init(&d);
	add(&d, "iio:device4", "thermo");
	before = load(text, &d, NULL);
	add(&d, "iio:device3", "thermo");
	with = load(text, &d, NULL);
	ck_assert_int_eq(lt_diff_compute(before, with, 8, &df), 0);
	ck_assert(!df.whole);
	ck_assert_uint_eq(df.nstart, 1);
	ck_assert_uint_eq(df.nkeep, 2);
	ck_assert_uint_eq(df.nrestart + df.nstop, 0);
	ck_assert_uint_eq(df.dkeep, 1);
	ck_assert_int_eq(df.dev[model_find_device(with, "thermo-3")->index], LT_START);
	lt_diff_free(&df);

	ck_assert_int_eq(lt_discovery_event(&d, &u, T0, &nt), 1);
	after = load(text, &d, NULL);
	ck_assert_int_eq(lt_diff_compute(with, after, 8, &df), 0);
	ck_assert_uint_eq(df.nstop, 1);
	ck_assert_uint_eq(df.nkeep, 2);
	ck_assert_uint_eq(df.nstart + df.nrestart, 0);
	ck_assert_int_eq(df.old_dev[model_find_device(with, "thermo-3")->index], LT_STOP);
	lt_diff_free(&df);
	model_free(before);
	model_free(with);
	model_free(after);
	lt_discovery_free(&d);
}
END_TEST

/* A udev event must not apply a file being edited: it builds from the files as read. */
START_TEST(a_build_uses_the_files_as_read_not_as_edited_since)
{
	struct lt_discovery d;
	struct lt_model *m1 = NULL, *m2 = NULL;
	struct lt_conf *c;
	char *err = NULL;

	lt_discovery_init(&d);
	confdir_put(EDGE DCC_G STATIC PROFILE);
	ck_assert_int_eq(config_read(confdir_conf, &c), 0);
	ck_assert_int_eq(config_build(c, confdir_mid, NULL, 0, &m1, &err), 0);
	confdir_put(EDGE DCC_G "[device \"half-written\"]\n");
	add(&d, "iio:device3", "thermo");
	ck_assert_int_eq(config_build(c, confdir_mid, d.inst, d.ninst, &m2, &err), 0);
	ck_assert_ptr_null(err);
	config_free(c);
	ck_assert_uint_eq(m2->ndevices, 2);
	ck_assert_ptr_nonnull(model_find_device(m2, "host"));
	ck_assert_ptr_nonnull(model_find_device(m2, "thermo-3"));
	/* Each model owns its origins: the files read are freed already. */
	ck_assert_ptr_ne(m1->devices[0]->origin.file, m2->devices[0]->origin.file);
	ck_assert_str_eq(m2->devices[0]->origin.file, confdir_conf);
	model_free(m1);
	model_free(m2);
	lt_discovery_free(&d);
}
END_TEST

static Suite *discover_suite(void)
{
	Suite *s = suite_create("discover");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, name_from_the_rule_comes_first);
	tcase_add_test(tc, name_from_the_serial_short_then_the_serial);
	tcase_add_test(tc, name_from_the_sysname_is_not_stable_and_is_sanitised);
	tcase_add_test(tc, hardware_key_and_subsystem_per_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("present");
	tcase_add_test(tc, a_tagged_device_comes_and_goes_once);
	tcase_add_test(tc, a_device_without_a_profile_is_ignored);
	tcase_add_test(tc, a_change_to_another_profile_makes_the_device_again);
	tcase_add_test(tc, a_resync_forgets_what_the_listing_lacks_and_takes_what_it_adds);
	tcase_add_test(tc, a_serial_port_is_named_by_its_node_and_warned_unstable);
	tcase_add_test(tc, a_device_without_a_node_is_not_taken_but_a_network_interface_is);
	tcase_add_test(tc, two_devices_given_one_name_are_told_apart);
	tcase_add_test(tc, the_set_is_bounded);
	tcase_add_test(tc, a_flapping_device_is_reported_once_per_window);
	tcase_add_test(tc, a_burst_is_applied_once_quiet_and_applies_are_spaced);
	suite_add_tcase(s, tc);

	tc = tcase_create("profiles");
	tcase_add_checked_fixture(tc, confdir_setup, confdir_teardown);
	tcase_add_test(tc, a_profile_alone_makes_no_device);
	tcase_add_test(tc, a_present_device_is_made_from_its_profile);
	tcase_add_test(tc, udev_properties_are_bounded_and_yield_to_the_profile);
	tcase_add_test(tc, udev_properties_stay_valid_utf8);
	tcase_add_test(tc, a_device_of_an_unknown_profile_or_subsystem_is_left_out);
	tcase_add_test(tc, a_device_named_like_a_section_is_left_out);
	tcase_add_test(tc, a_profile_is_checked_without_any_device);
	tcase_add_test(tc, profile_and_device_names_share_one_name_space);
	tcase_add_test(tc, a_profile_cannot_name_its_hardware_or_an_undiscoverable_type);
	tcase_add_test(tc, a_device_that_comes_or_goes_starts_or_stops_alone);
	tcase_add_test(tc, a_build_uses_the_files_as_read_not_as_edited_since);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN_INTREE(discover_suite)
