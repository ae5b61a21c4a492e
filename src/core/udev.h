/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Plug and play, the I/O part: libudev's monitor (udevd's events, after
 * its rules ran) and an enumeration of what is there, both limited to
 * devices tagged "liotad" in the subsystems iio, gpio, net and tty. Each
 * device is handed over as a struct lt_udev_dev (discover.h). The monitor's
 * descriptor joins the main thread's poll loop; main thread only.
 */
#ifndef LT_UDEV_H
#define LT_UDEV_H

#include <stdbool.h>

#include "discover.h"

struct lt_udev;

typedef void (*lt_udev_fn)(void *ctx, const struct lt_udev_dev *dev);

/*
 * Open libudev and its monitor. Returns 0, or a negative errno with err
 * saying why (the daemon then runs without discovery). *running tells
 * whether a udev daemon runs here: without one (containers, build
 * machines) nothing is tagged and no event comes, which is no error.
 */
int lt_udev_open(struct lt_udev **out, bool *running, char *err, size_t errlen);
/* NULL is fine. */
void lt_udev_close(struct lt_udev *u);
/* The monitor's descriptor (non-blocking), for poll(). */
int lt_udev_fd(const struct lt_udev *u);
/* Hand every tagged device present now to @fn. Returns how many, or a negative errno. */
int lt_udev_enumerate(struct lt_udev *u, lt_udev_fn fn, void *ctx);
/*
 * Hand at most @max pending events to @fn. Returns how many were read, or
 * a negative errno when the socket failed before any: -ENOBUFS when it
 * overflowed and events were lost (enumerate again).
 */
int lt_udev_receive(struct lt_udev *u, unsigned max, lt_udev_fn fn, void *ctx);

#endif
