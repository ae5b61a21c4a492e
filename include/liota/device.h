/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/device.h - devices, their metrics, and the drivers that read them
 * (liota's Device, Metric and DeviceComms).
 *
 * Thread and callback context: the configuration callbacks of struct
 * lt_device_driver (device_init, device_option, device_check, metric_init,
 * metric_option, metric_check) run in the thread that loads the
 * configuration (at start and at each reload); open, read, tick, poll,
 * dispatch and close run in the device's own sampler thread; metric_free
 * and device_free run when the configuration that holds the device is
 * freed, never while its sampler runs. The accessors below may be called
 * from any of these callbacks unless they say otherwise. Errors follow
 * liota/error.h.
 */
#ifndef LIOTA_DEVICE_H
#define LIOTA_DEVICE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <liota/entity.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_device;
struct lt_metric;

/* ---- devices and metrics ------------------------------------------------ */

/** lt_device_name() - name of the device as written in [device "NAME"]. */
const char *lt_device_name(const struct lt_device *dev);

/** lt_device_priv() - driver-private data of a device (NULL until set). */
void *lt_device_priv(const struct lt_device *dev);

/**
 * lt_device_set_priv() - set the driver-private data of a device, which
 * the driver frees in device_free; usually from device_init.
 */
void lt_device_set_priv(struct lt_device *dev, void *priv);

/** lt_device_nmetrics() - number of metrics of the device. */
unsigned lt_device_nmetrics(const struct lt_device *dev);

/**
 * lt_device_metric() - the @i-th metric of the device, in configuration
 * order.
 *
 * Return: the metric, or NULL when @i >= lt_device_nmetrics().
 */
struct lt_metric *lt_device_metric(const struct lt_device *dev, unsigned i);

/** lt_metric_name() - metric name without the device part ("temp" for [metric "boiler.temp"]). */
const char *lt_metric_name(const struct lt_metric *m);

/** lt_metric_fullname() - "DEVICE.METRIC", as in the [metric "DEVICE.METRIC"] section. */
const char *lt_metric_fullname(const struct lt_metric *m);

/** lt_metric_device() - the device the metric belongs to. */
struct lt_device *lt_metric_device(const struct lt_metric *m);

/** lt_metric_unit() - unit string as configured ("" when none, never NULL). */
const char *lt_metric_unit(const struct lt_metric *m);

/** lt_metric_interval_ns() - sampling interval in nanoseconds; 0 for an event-driven metric. */
uint64_t lt_metric_interval_ns(const struct lt_metric *m);

/** lt_metric_priv() - driver-private data of a metric (NULL until set). */
void *lt_metric_priv(const struct lt_metric *m);

/**
 * lt_metric_set_priv() - set the driver-private data of a metric, which
 * the driver frees in metric_free; usually from metric_init.
 */
void lt_metric_set_priv(struct lt_metric *m, void *priv);

/**
 * lt_metric_set_event_driven() - the driver produces this metric's samples
 * itself, from its dispatch callback (edges, frames), instead of having
 * them read on a schedule. Call from metric_option or metric_check. Such a
 * metric needs no "interval"; one that is neither event-driven nor given an
 * interval is a configuration error.
 */
void lt_metric_set_event_driven(struct lt_metric *m);

/** lt_metric_is_event_driven() - whether lt_metric_set_event_driven() was called for @m: 1 or 0. */
int lt_metric_is_event_driven(const struct lt_metric *m);

/**
 * lt_emit() - hand one sample of @m to the daemon.
 * @m:     the metric, of the device being dispatched.
 * @value: the value, in the metric's unit.
 * @ts_ns: CLOCK_REALTIME nanoseconds (lt_mono_to_real() converts kernel
 *         CLOCK_MONOTONIC stamps); 0 stamps the sample with the current
 *         time.
 *
 * Only from @m's device's sampler thread, inside the driver's dispatch
 * callback.
 *
 * Return: 0, also when the metric's filters (filter, deadband, min_gap,
 * window in its section) keep the sample back; -ENOBUFS when the ring lane
 * is full (the sample is dropped and counted in the lane's overflow);
 * -EPERM outside dispatch.
 */
int lt_emit(struct lt_metric *m, double value, uint64_t ts_ns);

/* ---- counters, properties and conditions ----------------------------------- */

/** Most counters a device may declare with lt_device_counter(). */
#define LT_DEVICE_COUNTERS_MAX 8

/**
 * lt_device_counter() - declare a named counter of @dev (CAN
 * "error_frames", GPIO "events_lost", ...), shown in `liotactl status`.
 * @dev:  the device.
 * @name: the counter's name; a string literal or otherwise outliving the
 *        device (it is not copied).
 *
 * Call from device_init, device_option or metric_check (the configuration
 * thread), never later. The sampler thread updates the counter with
 * lt_count() and the other functions of liota/counter.h (the control
 * thread reads it at any time); it starts at 0.
 *
 * Return: the counter (8-byte aligned), or NULL when
 * LT_DEVICE_COUNTERS_MAX are already declared.
 */
uint64_t *lt_device_counter(struct lt_device *dev, const char *name);

/**
 * lt_device_add_property() - give @dev the property @key = @value,
 * registered with the device (struct lt_entity's props).
 * @dev:    the device.
 * @key:    1 to LT_PROPERTY_KEY_MAX of A-Z a-z 0-9 _ . - (copied).
 * @value:  at most LT_PROPERTY_VALUE_MAX bytes of UTF-8, no control
 *          characters; empty is fine (copied).
 * @err:    receives the reason on failure.
 * @errlen: size of @err.
 *
 * Call from device_option or device_check (the configuration thread),
 * never later; `property.KEY = VALUE` in the device's section calls it too.
 *
 * Return: 0; -EINVAL for a bad key or value, -EEXIST when @dev has @key
 * already, -ENOSPC past LT_DEVICE_PROPERTIES_MAX; with a reason in @err.
 */
int lt_device_add_property(struct lt_device *dev, const char *key, const char *value, char *err,
			   size_t errlen);

/**
 * lt_device_set_condition() - a short description of the device's
 * condition for `liotactl status` ("bus-off", "error-passive", "chip
 * gone"), or NULL for none.
 * @dev:  the device.
 * @text: a string literal or NULL (it is read by another thread at any
 *        time, never copied or freed).
 *
 * Any thread.
 */
void lt_device_set_condition(struct lt_device *dev, const char *text);

/* ---- stopping ---------------------------------------------------------------- */

/**
 * lt_device_stopping() - whether the daemon has asked @dev's sampler to
 * stop (exit, reload). A driver that makes several blocking attempts in
 * one callback (retries, one request per block) checks it between them and
 * gives up, so that a stop waits for one attempt at most. Any thread.
 *
 * Return: non-zero when stopping, 0 otherwise.
 */
int lt_device_stopping(const struct lt_device *dev);

/**
 * lt_device_set_stop_socket() - name the connected socket a blocking read
 * of @dev waits on, or -1 for none. When the daemon stops the sampler it
 * shuts the socket down (shutdown(2), in the sampler thread itself, so the
 * socket cannot be closed under it), and the blocking call returns at
 * once, with an error. Sampler thread only (open, read); set -1 before
 * closing the socket.
 */
void lt_device_set_stop_socket(struct lt_device *dev, int fd);

/* ---- the driver ------------------------------------------------------------- */

/**
 * struct lt_device_driver - how a kind of device is read (liota's DeviceComms).
 *
 * Option callbacks receive every key of the device's (or metric's) section
 * that the daemon itself does not know. They return 0 when the key was
 * taken, -ENOENT when the driver does not know the key (the daemon then
 * reports "unknown key"), or -EINVAL with a reason in err.
 *
 * @name:           the value of "type =" that selects this driver.
 * @device_init:    allocate private data with defaults; may be NULL.
 * @device_option:  one "key = value" of the device section; may be NULL.
 * @device_check:   called once all options of the device section are read
 *                  (and taken), to report missing or inconsistent settings
 *                  at the section; may be NULL. Devices are checked in
 *                  configuration order, before any metric.
 * @metric_init:    allocate a metric's private data with defaults; may be NULL.
 * @metric_option:  one "key = value" of a metric section; may be NULL.
 * @metric_check:   called once all options are read, to report missing or
 *                  inconsistent settings; may be NULL.
 * @open:           called in the sampler thread before the first read.
 *                  A failure is logged and retried every 5 s.
 * @read:           read one polled metric into *value; negative errno on
 *                  failure (*value untouched; the sample is skipped and
 *                  counted as an error). -ENODATA means "no value right
 *                  now" (no new CAN frame, a Modbus slave in back-off):
 *                  skipped, not an error. The daemon does not log read
 *                  failures: the driver logs state changes (failing,
 *                  working again). -ENODEV means the device is gone: the
 *                  daemon logs it, calls close and retries open until it
 *                  is back.
 * @tick:           called at the start of each sampling pass, before the
 *                  reads of the metrics due at @now_ns (CLOCK_MONOTONIC);
 *                  may be NULL. A driver that reads several metrics with
 *                  one request (Modbus blocks) fetches in the first read
 *                  of a pass and forgets here what the previous pass
 *                  fetched. Metrics of one device with the same interval
 *                  are always due in the same pass.
 * @poll:           for devices with event-driven metrics (or anything to
 *                  watch between reads): fill @pfd with the one descriptor
 *                  to wait on (fd -1 for none; an epoll descriptor can
 *                  stand for several) and lower *@deadline_ns
 *                  (CLOCK_MONOTONIC) for a timer. Called before every
 *                  wait; may be NULL.
 * @dispatch:       handle @revents of that descriptor (0 when only the
 *                  timer is due); emit samples with lt_emit(). Returns 0,
 *                  or -ENODEV when the device is gone (as for read). Must
 *                  not block: the descriptor is non-blocking.
 * @close:          called in the sampler thread after the last read.
 * @metric_free:    release what metric_init/metric_option allocated.
 * @device_free:    release what device_init/device_option allocated.
 */
struct lt_device_driver {
	const char *name;
	int (*device_init)(struct lt_device *dev);
	int (*device_option)(struct lt_device *dev, const char *key, const char *value, char *err,
			     size_t errlen);
	int (*device_check)(struct lt_device *dev, char *err, size_t errlen);
	int (*metric_init)(struct lt_metric *m);
	int (*metric_option)(struct lt_metric *m, const char *key, const char *value, char *err,
			     size_t errlen);
	int (*metric_check)(struct lt_metric *m, char *err, size_t errlen);
	int (*open)(struct lt_device *dev, char *err, size_t errlen);
	int (*read)(struct lt_device *dev, struct lt_metric *m, double *value);
	void (*tick)(struct lt_device *dev, uint64_t now_ns);
	void (*poll)(struct lt_device *dev, struct pollfd *pfd, int64_t *deadline_ns);
	int (*dispatch)(struct lt_device *dev, short revents, uint64_t now_ns);
	void (*close)(struct lt_device *dev);
	void (*metric_free)(struct lt_metric *m);
	void (*device_free)(struct lt_device *dev);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_DEVICE_H */
