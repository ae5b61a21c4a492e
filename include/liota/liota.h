/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/liota.h - the liotad SDK: what a device driver or a DCC (data-center
 * component) sees of the daemon.
 *
 * liota's six abstractions map to this header as follows:
 *   EdgeSystem -> the edge entity registered first with every DCC
 *   Device     -> struct lt_device       (read through a struct lt_device_driver)
 *   DeviceComms-> struct lt_device_driver
 *   Metric     -> struct lt_metric
 *   DCCComms   -> the transport a DCC driver owns (TCP, file, ...)
 *   DCC        -> struct lt_dcc, driven by a struct lt_dcc_driver
 *
 * Conventions (for every function in this header):
 *   - functions returning int return 0 (or a count) on success and a
 *     negative errno value on failure; they never set errno for the caller;
 *   - strings handed to a driver stay valid until the driver's free callback
 *     of the object that owns them;
 *   - "err, errlen" parameters receive a one-line reason (no file name, no
 *     trailing newline) when the function fails: the daemon prefixes it with
 *     FILE:LINE or the object's name and logs it once;
 *   - thread: configuration callbacks run in the thread that loads the
 *     configuration; device open/read/close callbacks run in that device's
 *     sampler thread; a DCC's start and register_entity run in the thread
 *     that starts the daemon, before the publisher thread exists; every
 *     later DCC callback runs in the publisher thread.
 */
#ifndef LIOTA_LIOTA_H
#define LIOTA_LIOTA_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

/** SDK ABI version: bumped whenever a struct below changes layout. */
#define LT_SDK_ABI 6

struct lt_device;
struct lt_metric;
struct lt_dcc;

/**
 * struct lt_sample - one sample as it travels from a sampler to the DCCs.
 * Exactly 32 bytes: this is also the record format of the shared-memory ring.
 * @ts_ns:     CLOCK_REALTIME time of the sample, in nanoseconds since the epoch.
 * @seq:       per-ring-lane sequence number (0, 1, 2, ...), gaps mean loss.
 * @value:     the value, already scaled into the metric's unit.
 * @metric_id: index of the metric in the daemon's metric table.
 * @flags:     LT_SAMPLE_* bits.
 */
struct lt_sample {
	uint64_t ts_ns;
	uint64_t seq;
	double value;
	uint32_t metric_id;
	uint32_t flags;
};
_Static_assert(sizeof(struct lt_sample) == 32, "a ring record is 32 bytes");

/** The sample was taken late: at least one scheduled tick before it was skipped. */
#define LT_SAMPLE_LATE 0x1u

/* ---- logging ---------------------------------------------------------- */

/** Priorities are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
void lt_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Log on behalf of an object: the journal gets DEVICE=, METRIC= or DCC= fields. */
void lt_device_log(const struct lt_device *dev, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lt_metric_log(const struct lt_metric *m, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lt_dcc_log(const struct lt_dcc *dcc, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- value parsing helpers for option callbacks ------------------------ */

/** Parse a finite double ("1.5", "-3e2"). -EINVAL with a reason in err otherwise. */
int lt_parse_double(const char *s, double *out, char *err, size_t errlen);
/** Parse an unsigned integer in [min, max]; suffixes k, M, G (powers of 1024) allowed. */
int lt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen);
/**
 * Parse a duration: a number with a unit ns, us, ms, s, m or h ("100ms",
 * "1.5s"); a bare number means seconds. Returns nanoseconds in *out.
 */
int lt_parse_duration(const char *s, uint64_t *out, char *err, size_t errlen);
/** Parse a boolean: yes/no, true/false, on/off, 1/0. */
int lt_parse_bool(const char *s, int *out, char *err, size_t errlen);

/* ---- devices and metrics ----------------------------------------------- */

/** Name of the device as written in [device "NAME"]. */
const char *lt_device_name(const struct lt_device *dev);
/** Driver-private data of a device (NULL until set). */
void *lt_device_priv(const struct lt_device *dev);
void lt_device_set_priv(struct lt_device *dev, void *priv);
/** Number of metrics of the device, and the @i-th of them (configuration order). */
unsigned lt_device_nmetrics(const struct lt_device *dev);
struct lt_metric *lt_device_metric(const struct lt_device *dev, unsigned i);

/** Metric name without the device part ("temp" for [metric "boiler.temp"]). */
const char *lt_metric_name(const struct lt_metric *m);
/** "DEVICE.METRIC", as in the [metric "DEVICE.METRIC"] section. */
const char *lt_metric_fullname(const struct lt_metric *m);
/** The device the metric belongs to. */
struct lt_device *lt_metric_device(const struct lt_metric *m);
/** Unit string as configured ("" when none). */
const char *lt_metric_unit(const struct lt_metric *m);
/** Sampling interval in nanoseconds; 0 for an event-driven metric. */
uint64_t lt_metric_interval_ns(const struct lt_metric *m);
void *lt_metric_priv(const struct lt_metric *m);
void lt_metric_set_priv(struct lt_metric *m, void *priv);

/**
 * lt_metric_set_event_driven - the driver produces this metric's samples
 * itself, from its dispatch callback (edges, frames), instead of having
 * them read on a schedule. Call from metric_option or metric_check. Such a
 * metric needs no "interval"; one that is neither event-driven nor given an
 * interval is a configuration error.
 */
void lt_metric_set_event_driven(struct lt_metric *m);
/** Whether lt_metric_set_event_driven() was called for @m. */
int lt_metric_is_event_driven(const struct lt_metric *m);

/**
 * lt_emit - hand one sample of @m to the daemon. Only from @m's device's
 * sampler thread, inside the driver's dispatch callback. @ts_ns is
 * CLOCK_REALTIME (see lt_mono_to_real() for kernel CLOCK_MONOTONIC stamps).
 * Returns 0, or -ENOBUFS when the ring lane is full (the sample is dropped
 * and counted in the lane's overflow) or -EPERM outside dispatch.
 */
int lt_emit(struct lt_metric *m, double value, uint64_t ts_ns);

/**
 * lt_mono_to_real - convert a CLOCK_MONOTONIC time in nanoseconds (the clock
 * of GPIO line events and of most kernel timestamps) to CLOCK_REALTIME
 * nanoseconds, using the current offset between the two clocks.
 */
uint64_t lt_mono_to_real(uint64_t mono_ns);

/** Most counters a device may declare with lt_device_counter(). */
#define LT_DEVICE_COUNTERS_MAX 8

/**
 * lt_device_counter - declare a named counter of @dev (CAN "error_frames",
 * GPIO "events_lost", ...), shown in `liotactl status`. Call from
 * device_init, device_option or metric_check (the configuration thread),
 * never later. @name must be a string literal or otherwise outlive the
 * device. Returns the counter, which the sampler thread updates with
 * relaxed atomics; NULL when LT_DEVICE_COUNTERS_MAX are already declared.
 */
_Atomic uint64_t *lt_device_counter(struct lt_device *dev, const char *name);

/** Bounds of a device's properties (lt_device_add_property()). */
#define LT_PROPERTY_KEY_MAX      64  /* characters of a key: A-Z a-z 0-9 _ . - */
#define LT_PROPERTY_VALUE_MAX    256 /* bytes of a value, no control characters */
#define LT_DEVICE_PROPERTIES_MAX 32

/**
 * struct lt_property - a property of a device, registered with the DCCs
 * that take properties (IoTCC: add_properties); "serial" = "A1B2".
 */
struct lt_property {
	const char *key;
	const char *value;
};

/**
 * lt_device_add_property - give @dev the property @key = @value, registered
 * with the device (struct lt_entity's props). Both strings are copied.
 * Call from device_option or device_check (the configuration thread), never
 * later; `property.KEY = VALUE` in the device's section calls it too.
 * @key: 1 to LT_PROPERTY_KEY_MAX of A-Z a-z 0-9 _ . -; @value: at most
 * LT_PROPERTY_VALUE_MAX bytes of UTF-8, no control characters (empty is fine).
 * Returns 0; -EINVAL for a bad key or value, -EEXIST when @dev has @key
 * already, -ENOSPC past LT_DEVICE_PROPERTIES_MAX; with a reason in @err.
 */
int lt_device_add_property(struct lt_device *dev, const char *key, const char *value, char *err,
			   size_t errlen);

/**
 * lt_device_set_condition - a short description of the device's condition
 * for `liotactl status` ("bus-off", "error-passive", "chip gone"), or NULL
 * for none. @text must be a string literal (it is read by another thread
 * at any time, never copied or freed).
 */
void lt_device_set_condition(struct lt_device *dev, const char *text);

/**
 * lt_device_stopping - whether the daemon has asked @dev's sampler to stop
 * (exit, reload). A driver that makes several blocking attempts in one
 * callback (retries, one request per block) checks it between them and
 * gives up, so that a stop waits for one attempt at most. Any thread.
 */
int lt_device_stopping(const struct lt_device *dev);

/**
 * lt_device_set_stop_socket - name the connected socket a blocking read of
 * @dev waits on, or -1 for none. When the daemon stops the sampler it
 * shuts the socket down (shutdown(2), in the sampler thread itself, so the
 * socket cannot be closed under it), and the blocking call returns at
 * once, with an error. Sampler thread only (open, read); set -1 before
 * closing the socket.
 */
void lt_device_set_stop_socket(struct lt_device *dev, int fd);

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
 *                  skipped, not an error. The daemon does not log read failures: the
 *                  driver logs state changes (failing, working again).
 *                  -ENODEV means the device is gone: the daemon logs it,
 *                  calls close and retries open until it is back.
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

/* ---- state that survives a restart --------------------------------------- */

/**
 * lt_state_path - "STATE_DIR/@name" into @buf, creating STATE_DIR (mode
 * 0750) when missing. STATE_DIR is `[daemon] state_dir`, or by default
 * $STATE_DIRECTORY (systemd), /var/lib/liotad for root, else
 * $XDG_STATE_HOME/liotad or ~/.local/state/liotad. For files a driver keeps
 * across restarts (a DCC's registered ids). Call from the configuration
 * or start callbacks. An existing STATE_DIR must be a real folder (not a
 * symbolic link) of the daemon's user that group and others cannot write;
 * write files there without following links (O_EXCL|O_NOFOLLOW, then
 * rename). Returns 0, -ENAMETOOLONG, -EPERM or -ELOOP for an untrusted
 * folder, or a negative errno of mkdir or open, with a reason in @err.
 */
int lt_state_path(const char *name, char *buf, size_t len, char *err, size_t errlen);

/* ---- DCCs --------------------------------------------------------------- */

/** Kinds of entity registered with a DCC, in the order they are registered. */
enum lt_entity_kind { LT_ENTITY_EDGE, LT_ENTITY_DEVICE, LT_ENTITY_METRIC };

/**
 * struct lt_entity - what is being registered.
 * @kind: edge system, device or metric.
 * @name: the entity's name (edge system name, device name, metric name).
 * @type: the device's driver name, "edge" or "metric".
 * @id:   the edge system's stable id (a UUID string) for the edge; NULL otherwise.
 * @unit: a metric's unit ("" when none); NULL for other kinds.
 * @props, @nprops: a device's properties, in the order they were added
 *        (configuration, then driver); NULL and 0 for other kinds. Valid
 *        during register_entity only: a DCC that needs them later copies them.
 */
struct lt_entity {
	enum lt_entity_kind kind;
	const char *name;
	const char *type;
	const char *id;
	const char *unit;
	const struct lt_property *props;
	unsigned nprops;
};

/**
 * struct lt_reg - a registered entity: what a DCC answered to a registration.
 * @id:   the DCC-side id, allocated with malloc by the DCC's register
 *        callback and freed by the daemon (for Graphite: the metric path).
 * @priv: anything else the DCC wants to keep per entity; the DCC frees it
 *        in unregister.
 */
struct lt_reg {
	char *id;
	void *priv;
};

/** Connection state a DCC reports in `liotactl status`. */
enum lt_dcc_state {
	LT_DCC_IDLE = 0,   /* not started */
	LT_DCC_CONNECTING, /* connection in progress */
	LT_DCC_UP,         /* connected / writable */
	LT_DCC_BACKOFF,    /* waiting before the next connection attempt */
};

/**
 * struct lt_dcc_stats - counters every DCC keeps; written by the publisher
 * thread, read by the control thread (hence relaxed atomics).
 *
 * Every sample handed to a DCC is counted once in samples_in and then, at
 * any time, in exactly one of sent, dropped, pending or spooled; a DCC
 * with a durable spool also counts what it found there at start in
 * recovered: samples_in + recovered = sent + dropped + pending + spooled.
 * At stop the DCC counts what it still holds in memory as dropped (or moves
 * it to its spool), so pending is 0 once it is stopped; spooled is then
 * what the spool keeps for the next start.
 */
struct lt_dcc_stats {
	_Atomic uint64_t samples_in; /* samples handed to the DCC */
	_Atomic uint64_t sent;       /* samples (lines/messages) written to the transport */
	_Atomic uint64_t dropped;    /* samples lost: queue full, encoding failure */
	_Atomic uint64_t bytes;      /* bytes written to the transport */
	_Atomic uint64_t reconnects; /* connections established after the first */
	_Atomic uint64_t errors;     /* transport errors */
	_Atomic uint64_t queued;     /* bytes waiting in the memory queue now */
	_Atomic int state;           /* enum lt_dcc_state */
	_Atomic uint64_t pending;    /* samples queued or held: neither sent nor dropped yet */
	/* The durable spool (DCCs that have one; 0 otherwise). */
	_Atomic uint64_t recovered;          /* samples found in the spool at start */
	_Atomic uint64_t spooled;            /* samples in the spool now */
	_Atomic uint64_t spool_batches;      /* batches in the spool now */
	_Atomic uint64_t spool_bytes;        /* its size on disk now */
	_Atomic uint64_t spool_oldest_ns;    /* CLOCK_REALTIME of its oldest batch, 0: empty */
	_Atomic uint64_t spool_evicted;      /* samples evicted (size cap, age): also in dropped */
	_Atomic uint64_t spool_write_errors; /* appends the spool refused (disk full, I/O error) */
	/* Lines sent before a connection ended and queued again (no longer in sent). */
	_Atomic uint64_t resent;
	/* Index of the endpoint in use among those named with lt_dcc_set_endpoints(). */
	_Atomic uint32_t endpoint;
	/* Times the DCC moved to another endpoint (failover, and back). */
	_Atomic uint64_t failovers;
};

/** Name of the DCC as written in [dcc "NAME"]. */
const char *lt_dcc_name(const struct lt_dcc *dcc);
void *lt_dcc_priv(const struct lt_dcc *dcc);
void lt_dcc_set_priv(struct lt_dcc *dcc, void *priv);
/** The DCC's counters, to be updated by its driver. */
struct lt_dcc_stats *lt_dcc_stats(struct lt_dcc *dcc);
/**
 * lt_dcc_set_endpoints() - name the peers a DCC delivers to, in its order
 * of preference ("host:port", a broker URL...), for `liotactl status`,
 * which shows the one stats.endpoint indexes. Call from @check (the
 * configuration is read on the main thread; the names are fixed from then
 * on). The core keeps copies; a second call replaces them.
 *
 * Return: 0, or -ENOMEM.
 */
int lt_dcc_set_endpoints(struct lt_dcc *dcc, const char *const *names, unsigned n);

/**
 * struct lt_dcc_driver - a kind of data-center component (liota's DCC).
 *
 * @name:        the value of "type =" that selects this driver.
 * @init, @option, @check: as for devices (see struct lt_device_driver).
 * @start:       open the transport without blocking (a connection may still
 *               be in progress when it returns).
 * @register_entity: register @ent, whose parent registration is @parent
 *               (NULL for the edge system); fill @reg->id. Called before
 *               the first publish.
 * @unregister:  forget an entity; free @reg->priv.
 * @publish:     take @n samples of the metric registered as @reg (already
 *               aggregated, oldest first) and queue them; never blocks.
 *               Returns the number of samples queued; the DCC counts
 *               samples_in, the queued ones in pending (until they are
 *               sent or dropped) and the rest in dropped.
 * @poll:        describe what the DCC waits for: fill @pfd (fd -1 for none)
 *               and lower *@deadline_ns (CLOCK_MONOTONIC) when a timer is due.
 * @dispatch:    handle @revents on the polled fd, or the timer when
 *               @revents is 0 and the deadline has passed.
 * @flush:       try to deliver everything queued until @deadline_ns;
 *               returns 0 when the queue is empty, -ETIMEDOUT otherwise.
 * @stop:        close the transport; what is still queued or held is counted
 *               as dropped (pending becomes 0).
 * @free:        release what init/option allocated.
 * @remove:      optional: the entity registered as @reg left the
 *               configuration while the DCC runs on (a reload, a device
 *               unplugged): tell the data center (IoTCC sends a
 *               remove_resource_request). @unregister follows. Not called
 *               when the DCC itself stops or restarts, nor for an entity
 *               that registers again at once (its device restarts).
 */
struct lt_dcc_driver {
	const char *name;
	int (*init)(struct lt_dcc *dcc);
	int (*option)(struct lt_dcc *dcc, const char *key, const char *value, char *err,
		      size_t errlen);
	int (*check)(struct lt_dcc *dcc, char *err, size_t errlen);
	int (*start)(struct lt_dcc *dcc, char *err, size_t errlen);
	int (*register_entity)(struct lt_dcc *dcc, const struct lt_entity *ent,
			       const struct lt_reg *parent, struct lt_reg *reg);
	void (*unregister)(struct lt_dcc *dcc, struct lt_reg *reg);
	int (*publish)(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
		       size_t n);
	void (*poll)(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns);
	void (*dispatch)(struct lt_dcc *dcc, short revents, int64_t now_ns);
	int (*flush)(struct lt_dcc *dcc, int64_t deadline_ns);
	void (*stop)(struct lt_dcc *dcc);
	void (*free)(struct lt_dcc *dcc);
	void (*remove)(struct lt_dcc *dcc, struct lt_reg *reg);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_LIOTA_H */
