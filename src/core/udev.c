/* SPDX-License-Identifier: BSD-2-Clause */
/* Plug and play through libudev (udev.h). */
#include "udev.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "liotad"

/* What udev finds for liotad: IIO devices, GPIO chips, CAN interfaces, serial ports. */
static const char *const subsystems[] = { "iio", "gpio", "net", "tty" };

struct lt_udev {
	struct udev *udev;
	struct udev_monitor *mon;
};

int lt_udev_open(struct lt_udev **out, bool *running, char *err, size_t errlen)
{
	struct lt_udev *u = xcalloc(1, sizeof(*u));
	struct udev_queue *q;
	int r, fd;

	u->udev = udev_new();
	if (!u->udev) {
		r = errno ? -errno : -ENOMEM;
		r = lt_errf(err, errlen, r, "udev_new: %s", strerror(-r));
		goto err_free;
	}
	/* "udev": events once udevd's rules ran (tags, ENV{LIOTAD_PROFILE}). */
	u->mon = udev_monitor_new_from_netlink(u->udev, "udev");
	if (!u->mon) {
		r = errno ? -errno : -ENOMEM;
		r = lt_errf(err, errlen, r, "udev monitor: %s", strerror(-r));
		goto err_udev;
	}
	r = udev_monitor_filter_add_match_tag(u->mon, TAG);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(subsystems); i++)
		r = udev_monitor_filter_add_match_subsystem_devtype(u->mon, subsystems[i], NULL);
	if (r >= 0)
		r = udev_monitor_enable_receiving(u->mon);
	if (r < 0) {
		r = lt_errf(err, errlen, r, "udev monitor: %s", strerror(-r));
		goto err_mon;
	}
	fd = udev_monitor_get_fd(u->mon);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = lt_errf(err, errlen, -errno, "udev monitor: %s", strerror(errno));
		goto err_mon;
	}
	q = udev_queue_new(u->udev);
	*running = q && udev_queue_get_udev_is_active(q);
	udev_queue_unref(q);
	*out = u;
	return 0;

err_mon:
	udev_monitor_unref(u->mon);
err_udev:
	udev_unref(u->udev);
err_free:
	free(u);
	return r;
}

void lt_udev_close(struct lt_udev *u)
{
	if (!u)
		return;
	udev_monitor_unref(u->mon);
	udev_unref(u->udev);
	free(u);
}

int lt_udev_fd(const struct lt_udev *u)
{
	return udev_monitor_get_fd(u->mon);
}

/* The first of two properties that is set, else NULL. */
static const char *prop(struct udev_device *dev, const char *a, const char *b)
{
	const char *v = udev_device_get_property_value(dev, a);

	return v || !b ? v : udev_device_get_property_value(dev, b);
}

static void hand_over(struct udev_device *dev, lt_udev_fn fn, void *ctx)
{
	struct lt_udev_dev d = {
		.action = udev_device_get_action(dev),
		.syspath = udev_device_get_syspath(dev),
		.devpath = udev_device_get_devpath(dev),
		.subsystem = udev_device_get_subsystem(dev),
		.sysname = udev_device_get_sysname(dev),
		.devnode = udev_device_get_devnode(dev),
		.profile = prop(dev, "LIOTAD_PROFILE", NULL),
		.name = prop(dev, "LIOTAD_NAME", NULL),
		.serial_short = prop(dev, "ID_SERIAL_SHORT", NULL),
		.serial = prop(dev, "ID_SERIAL", NULL),
		.vendor = prop(dev, "ID_VENDOR_FROM_DATABASE", "ID_VENDOR"),
		.model = prop(dev, "ID_MODEL_FROM_DATABASE", "ID_MODEL"),
	};

	fn(ctx, &d);
}

int lt_udev_enumerate(struct lt_udev *u, lt_udev_fn fn, void *ctx)
{
	struct udev_enumerate *e = udev_enumerate_new(u->udev);
	struct udev_list_entry *it;
	int r, n = 0;

	if (!e)
		return -ENOMEM;
	r = udev_enumerate_add_match_tag(e, TAG);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(subsystems); i++)
		r = udev_enumerate_add_match_subsystem(e, subsystems[i]);
	if (r >= 0)
		r = udev_enumerate_scan_devices(e);
	if (r < 0)
		goto out;
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e))
	{
		struct udev_device *dev =
			udev_device_new_from_syspath(u->udev, udev_list_entry_get_name(it));

		if (!dev)
			continue; /* gone meanwhile */
		hand_over(dev, fn, ctx);
		udev_device_unref(dev);
		n++;
	}
	r = n;
out:
	udev_enumerate_unref(e);
	return r;
}

int lt_udev_receive(struct lt_udev *u, unsigned max, lt_udev_fn fn, void *ctx)
{
	unsigned n = 0;

	for (; n < max; n++) {
		struct udev_device *dev;

		errno = 0;
		dev = udev_monitor_receive_device(u->mon);
		if (!dev && (errno == 0 || errno == EAGAIN || errno == EINTR || n))
			return (int)n;
		if (!dev)
			return -errno;
		hand_over(dev, fn, ctx);
		udev_device_unref(dev);
	}
	return (int)n;
}
