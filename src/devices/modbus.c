/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus: coils, discrete inputs, input and holding registers of Modbus
 * slaves, over TCP or RTU (serial), through libmodbus.
 *
 * Requests: at open, the device's metrics are planned into blocks
 * (modbus_plan.c): per (interval, table), metrics at most max_gap registers
 * apart share one read request of up to 125 registers or 2000 bits. The
 * sampler calls tick at the start of each pass, which forgets the previous
 * pass; the first read of a block in a pass fetches it, later reads of the
 * pass decode from it (modbus_decode.c). A block whose request is refused
 * with "Illegal data address" is split for good into one request per metric,
 * since the gap it bridged may hold registers the slave does not have.
 *
 * Failures: a request is tried 1 + retries times. An exception response
 * fails the block's metrics for the pass and is logged by name, once per
 * change. A timeout or a lost connection puts the device into back-off
 * (1 s, 2 s, 4 s ... backoff_max): until the next attempt reads return
 * -ENODATA at once, without I/O, so that a dead slave costs neither its
 * other blocks nor other devices their timing. Going into and out of
 * back-off is logged once and shown as the device's condition.
 *
 * Connections: TCP, one per device, connected lazily and again after a
 * failure. RTU, one libmodbus context per serial port, shared by every
 * device (slave) on that line through a process-wide registry keyed by the
 * port's real path: each device has its own sampler thread, so the port's
 * mutex is held for a whole transaction (slave id, timeouts, request,
 * response). Devices on one line must agree on its settings: checked when
 * the configuration is loaded and again when a device joins the port.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <modbus.h>

#include <liota/liota.h>
#include "core/intree.h"
#include "devices/devices.h"
#include "devices/modbus_decode.h"
#include "devices/modbus_plan.h"

#define NSEC_PER_SEC  1000000000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_USEC 1000ull

enum mb_transport { MB_NO_TRANSPORT, MB_TCP, MB_RTU };

/* Keys of the device section, to tell which were given and for which transport. */
enum mb_key {
	K_HOST,
	K_PORT,
	K_DEVICE,
	K_BAUD,
	K_PARITY,
	K_DATA_BITS,
	K_STOP_BITS,
	K_RS485,
	K_RTS,
	K_RTS_DELAY,
	K_UNIT,
	K_NKEYS
};

static const struct {
	const char *name;
	enum mb_transport only; /* MB_NO_TRANSPORT: either */
} mb_keys[K_NKEYS] = {
	[K_HOST] = { "host", MB_TCP },
	[K_PORT] = { "port", MB_TCP },
	[K_DEVICE] = { "device", MB_RTU },
	[K_BAUD] = { "baud", MB_RTU },
	[K_PARITY] = { "parity", MB_RTU },
	[K_DATA_BITS] = { "data_bits", MB_RTU },
	[K_STOP_BITS] = { "stop_bits", MB_RTU },
	[K_RS485] = { "rs485", MB_RTU },
	[K_RTS] = { "rts", MB_RTU },
	[K_RTS_DELAY] = { "rts_delay", MB_RTU },
	[K_UNIT] = { "unit", MB_NO_TRANSPORT },
};

/* Settings of a serial line: every device on one port must agree on all of them. */
struct mb_line {
	int baud;
	char parity; /* 'N', 'E' or 'O', as modbus_new_rtu() wants it */
	int data_bits;
	int stop_bits;
	bool rs485;
	int rts;          /* MODBUS_RTU_RTS_* */
	int rts_delay_us; /* -1: libmodbus's default, one character time */
};

/* A libmodbus context and what is known of its link. */
struct mb_conn {
	modbus_t *ctx;
	bool connected;
	bool dirty; /* a request failed: stale bytes may follow, flush before the next */
};

/* A serial port shared by the devices on its line (the registry below). */
struct mb_port {
	struct mb_port *next;
	char *key;  /* the real path: two names of one port are one port */
	char *path; /* as configured by the device that opened it */
	char owner[64];
	struct mb_line line;
	unsigned refs;
	pthread_mutex_t lock; /* held for each transaction */
	struct mb_conn conn;
};

enum mb_health { MB_HEALTHY, MB_NOT_ANSWERING, MB_CONNECTING };

static const char *const mb_health_text[] = {
	[MB_HEALTHY] = NULL,
	[MB_NOT_ANSWERING] = "not answering",
	[MB_CONNECTING] = "connecting",
};

/* A block of the plan and what the current pass made of it. */
struct mb_bstate {
	struct mb_block b;
	bool fetched; /* this pass */
	bool split;   /* refused as a whole: each metric reads its own registers */
	int err;      /* this pass: 0 or a negative errno for read() */
	int logged;   /* error code last logged for the block, 0 when fine */
	union {
		uint16_t *regs;
		uint8_t *bits;
		void *buf;
	};
};

struct mb_dev {
	/* options */
	enum mb_transport transport;
	char *host;
	char port[8];
	char *path;
	struct mb_line line;
	int unit;
	uint64_t response_timeout_ns, byte_timeout_ns, backoff_max_ns;
	unsigned retries, max_gap, max_bit_gap;
	uint32_t seen; /* the keys given (mb_dev_opts) */
	/* configuration checks (configuration thread) */
	struct mb_dev *conf_next;
	unsigned conf_gen;
	const char *name;
	/* counters, declared in device_init */
	uint64_t *n_requests, *n_timeouts, *n_exceptions, *n_io_errors, *g_backoff_ms;
	/* sampler thread, while open */
	struct lt_device *dev;
	struct mb_conn tcp;  /* TCP: the device's own connection */
	struct mb_port *rtu; /* RTU: the shared port */
	struct mb_bstate *blocks;
	unsigned nblocks;
	uint64_t now_ns; /* CLOCK_MONOTONIC start of the current pass */
	enum mb_health health;
	uint64_t backoff_ns;  /* current back-off, 0 when healthy */
	uint64_t retry_at_ns; /* no I/O before this pass time while in back-off */
	uint64_t failing_since_ns;
};

struct mb_metric {
	struct mb_value v; /* first: the unit tests read it through lt_metric_priv() */
	bool checked;
	unsigned seen; /* the keys given (mb_metric_opts) */
	unsigned block;
	int logged;       /* split blocks: error code last logged for this metric */
	uint16_t regs[4]; /* split blocks: this pass's own registers (or bit) */
};

/* What one transaction came to. */
enum mb_result { MB_OK, MB_EXCEPTION, MB_TIMEOUT, MB_PROTOCOL, MB_LINK, MB_CONNECT };

/* ---- configuration-time registry (configuration thread) ------------------ */

/*
 * Every configured device, newest first, to check that devices on one serial
 * line agree on its settings. The loader builds every device of a
 * configuration before any metric, so a device_init after a metric_check
 * starts a new configuration (a reload, --check-config): only devices of
 * one generation are compared.
 */
static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_dev *conf_devs;
static unsigned conf_gen;
static bool conf_checking;

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static bool is_exception(int code)
{
	return code >= EMBXILFUN && code <= EMBXGTAR;
}

/* Malformed or unexpected answers: the line works, the bytes were wrong. */
static bool is_protocol_error(int code)
{
	return code == EMBBADCRC || code == EMBBADDATA || code == EMBBADEXC || code == EMBUNKEXC ||
	       code == EMBMDATA || code == EMBBADSLAVE;
}

/* "19200 8E1", "9600 8N2 rs485 rts=up/500us" */
static void line_describe(const struct mb_line *l, char *buf, size_t len)
{
	static const char *const rts[] = { "", " rts=up", " rts=down" };
	char delay[32] = "";

	if (l->rts != MODBUS_RTU_RTS_NONE && l->rts_delay_us >= 0)
		snprintf(delay, sizeof(delay), "/%dus", l->rts_delay_us);
	snprintf(buf, len, "%d %d%c%d%s%s%s", l->baud, l->data_bits, l->parity, l->stop_bits,
		 l->rs485 ? " rs485" : "", rts[l->rts], delay);
}

static bool line_equal(const struct mb_line *a, const struct mb_line *b)
{
	return a->baud == b->baud && a->parity == b->parity && a->data_bits == b->data_bits &&
	       a->stop_bits == b->stop_bits && a->rs485 == b->rs485 && a->rts == b->rts &&
	       a->rts_delay_us == b->rts_delay_us;
}

/* The real path of a serial port, or the path itself when it cannot be resolved. */
static char *port_key(const char *path)
{
	char *real = realpath(path, NULL);

	return real ? real : strdup(path);
}

static void ns_to_timeval(uint64_t ns, uint32_t *sec, uint32_t *usec)
{
	*sec = (uint32_t)(ns / NSEC_PER_SEC);
	*usec = (uint32_t)(ns % NSEC_PER_SEC / NSEC_PER_USEC);
}

/* ---- options ---------------------------------------------------------------- */

static int mb_device_init(struct lt_device *dev)
{
	struct mb_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->name = lt_device_name(dev);
	snprintf(d->port, sizeof(d->port), "502");
	d->line = (struct mb_line){ .baud = 19200,
				    .parity = 'E',
				    .data_bits = 8,
				    .stop_bits = 1,
				    .rts = MODBUS_RTU_RTS_NONE,
				    .rts_delay_us = -1 };
	d->unit = 1;
	d->response_timeout_ns = NSEC_PER_SEC;
	d->byte_timeout_ns = 100 * NSEC_PER_MSEC;
	d->backoff_max_ns = 60 * NSEC_PER_SEC;
	d->retries = 1;
	d->max_gap = 8;
	d->max_bit_gap = 64;
	d->n_requests = lt_device_counter(dev, "requests");
	d->n_timeouts = lt_device_counter(dev, "timeouts");
	d->n_exceptions = lt_device_counter(dev, "exceptions");
	d->n_io_errors = lt_device_counter(dev, "io_errors");
	d->g_backoff_ms = lt_device_counter(dev, "backoff_ms");
	lt_device_set_priv(dev, d);

	pthread_mutex_lock(&conf_lock);
	if (conf_checking) {
		conf_gen++;
		conf_checking = false;
	}
	d->conf_gen = conf_gen;
	d->conf_next = conf_devs;
	conf_devs = d;
	pthread_mutex_unlock(&conf_lock);

	if (!d->n_requests || !d->n_timeouts || !d->n_exceptions || !d->n_io_errors ||
	    !d->g_backoff_ms)
		return -ENOSPC; /* device_free releases d */
	return 0;
}

/* A duration in [min, max] nanoseconds; @what names the bounds in the message. */
static int parse_duration_into(uint64_t *dst, const char *value, uint64_t min, uint64_t max,
			       const char *what, char *err, size_t errlen)
{
	uint64_t v;
	int r = lt_parse_duration(value, &v, err, errlen);

	if (r < 0)
		return r;
	if (v < min || v > max) {
		snprintf(err, errlen, "'%s' is out of range (%s)", value, what);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

/* The baud rates termios has a constant for: libmodbus would quietly use 9600 for others. */
static bool baud_supported(uint64_t b)
{
	static const unsigned rates[] = { 110,     300,     600,     1200,    2400,    4800,
					  9600,    19200,   38400,   57600,   115200,  230400,
					  460800,  500000,  576000,  921600,  1000000, 1152000,
					  1500000, 2000000, 2500000, 3000000, 3500000, 4000000 };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i] == b)
			return true;
	return false;
}

/* host and device: not empty, said with an example. */
static int set_host(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!*value) {
		snprintf(err, errlen, "must not be empty (a host name or an address)");
		return -EINVAL;
	}
	return lt_opts_strdup(field, value, err, errlen);
}

static int set_path(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!*value) {
		snprintf(err, errlen, "must not be empty (/dev/ttyUSB0)");
		return -EINVAL;
	}
	return lt_opts_strdup(field, value, err, errlen);
}

/* port: a number, kept as the text libmodbus wants. */
static int set_port(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t v;
	int r = lt_parse_uint(value, 1, 65535, &v, err, errlen);

	if (r == 0)
		snprintf(field, sizeof(((struct mb_dev *)0)->port), "%u", (unsigned)v);
	return r;
}

static int set_baud(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t v;
	int r = lt_parse_uint(value, 1, 4000000, &v, err, errlen);

	if (r < 0)
		return r;
	if (!baud_supported(v)) {
		snprintf(err, errlen,
			 "%s is not a standard rate (1200, 2400, 4800, 9600, 19200, 38400, "
			 "57600, 115200 ... 4000000)",
			 value);
		return -EINVAL;
	}
	*(int *)field = (int)v;
	return 0;
}

/* rts_delay: libmodbus takes microseconds. */
static int set_rts_delay(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t v;
	int r = parse_duration_into(&v, value, 0, NSEC_PER_SEC, "0 to 1s", err, errlen);

	if (r == 0)
		*(int *)field = (int)(v / NSEC_PER_USEC);
	return r;
}

static int set_byte_timeout(void *field, const char *key, const char *value, char *err,
			    size_t errlen)
{
	uint64_t *ns = field;
	int r = parse_duration_into(ns, value, 0, 60 * NSEC_PER_SEC, "0 to 60s; 0 disables it", err,
				    errlen);

	if (r == 0 && *ns && *ns < NSEC_PER_USEC)
		*ns = NSEC_PER_USEC; /* libmodbus counts microseconds */
	return r;
}

static int set_response_timeout(void *field, const char *key, const char *value, char *err,
				size_t errlen)
{
	return parse_duration_into(field, value, NSEC_PER_MSEC, 60 * NSEC_PER_SEC, "1ms to 60s",
				   err, errlen);
}

static int set_backoff_max(void *field, const char *key, const char *value, char *err,
			   size_t errlen)
{
	return parse_duration_into(field, value, NSEC_PER_SEC, 24 * 3600 * NSEC_PER_SEC,
				   "1s to 24h", err, errlen);
}

static const struct lt_opt_name mb_transports[] = {
	{ "tcp", MB_TCP },
	{ "rtu", MB_RTU },
	{ NULL, 0 },
};

static const struct lt_opt_name mb_parities[] = {
	{ "none", 'N' },
	{ "even", 'E' },
	{ "odd", 'O' },
	{ NULL, 0 },
};

static const struct lt_opt_name mb_rts_modes[] = {
	{ "none", MODBUS_RTU_RTS_NONE },
	{ "up", MODBUS_RTU_RTS_UP },
	{ "down", MODBUS_RTU_RTS_DOWN },
	{ NULL, 0 },
};

#define MD struct mb_dev

static const struct lt_opt mb_dev_opts[] = {
	LT_OPT_ENUM("transport", MD, transport, LT_OPT_UNKNOWN_FORM, mb_transports, "tcp or rtu"),
	LT_OPT_FUNC("host", MD, host, 0, set_host, "TCP: host name or address"),
	LT_OPT_FUNC("port", MD, port, 0, set_port, "TCP: port (502)"),
	LT_OPT_FUNC("device", MD, path, 0, set_path, "RTU: serial port"),
	LT_OPT_FUNC("baud", MD, line.baud, 0, set_baud, "RTU: a standard rate"),
	LT_OPT_ENUM("parity", MD, line.parity, LT_OPT_UNKNOWN_FORM, mb_parities,
		    "RTU: none, even or odd"),
	LT_OPT_UINT("data_bits", MD, line.data_bits, 0, 7, 8, "RTU: 7 or 8"),
	LT_OPT_UINT("stop_bits", MD, line.stop_bits, 0, 1, 2, "RTU: 1 or 2"),
	LT_OPT_BOOL("rs485", MD, line.rs485, 0, "RTU: RS-485 mode"),
	LT_OPT_ENUM("rts", MD, line.rts, LT_OPT_UNKNOWN_FORM, mb_rts_modes,
		    "RTU: RTS driven around sending"),
	LT_OPT_FUNC("rts_delay", MD, line.rts_delay_us, 0, set_rts_delay, "RTU: 0 to 1s"),
	LT_OPT_UINT("unit", MD, unit, 0, 0, 255, "slave (unit) id"),
	LT_OPT_FUNC("response_timeout", MD, response_timeout_ns, 0, set_response_timeout,
		    "1ms to 60s"),
	LT_OPT_FUNC("byte_timeout", MD, byte_timeout_ns, 0, set_byte_timeout,
		    "0 to 60s; 0 disables it"),
	LT_OPT_UINT("retries", MD, retries, 0, 0, 10, "attempts after a timeout"),
	LT_OPT_UINT("max_gap", MD, max_gap, 0, 0, MB_MAX_READ_REGS - 2,
		    "registers read across to merge two blocks"),
	LT_OPT_UINT("max_bit_gap", MD, max_bit_gap, 0, 0, MB_MAX_READ_BITS - 2,
		    "bits read across to merge two blocks"),
	LT_OPT_FUNC("backoff_max", MD, backoff_max_ns, 0, set_backoff_max,
		    "longest wait of a failing device, 1s to 24h"),
	LT_OPT_END_SEEN(MD, seen),
};

static int mb_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			    size_t errlen)
{
	return lt_opts_set(mb_dev_opts, lt_device_priv(dev), key, value, err, errlen);
}

static bool mb_given(const struct mb_dev *d, const char *key)
{
	return lt_opts_given(mb_dev_opts, d, key) == 1;
}

/* The device's own settings, whole: 0 or -EINVAL with a reason naming the key. */
static int mb_device_check(const struct mb_dev *d, char *err, size_t errlen)
{
	const char *tname = d->transport == MB_TCP ? "tcp" : "rtu";

	if (d->transport == MB_NO_TRANSPORT) {
		snprintf(err, errlen, "transport is required (tcp or rtu)");
		return -EINVAL;
	}
	for (unsigned k = 0; k < K_NKEYS; k++) {
		if (mb_given(d, mb_keys[k].name) && mb_keys[k].only != MB_NO_TRANSPORT &&
		    mb_keys[k].only != d->transport) {
			snprintf(err, errlen, "%s does not apply to transport = %s",
				 mb_keys[k].name, tname);
			return -EINVAL;
		}
	}
	if (d->transport == MB_TCP && !d->host) {
		snprintf(err, errlen, "host is required with transport = tcp");
		return -EINVAL;
	}
	if (d->transport == MB_RTU && !d->path) {
		snprintf(err, errlen, "device is required with transport = rtu (/dev/ttyUSB0)");
		return -EINVAL;
	}
	if (d->transport == MB_RTU && d->unit > 247) {
		snprintf(err, errlen, "unit %d: RTU slave ids are 0 to 247", d->unit);
		return -EINVAL;
	}
	/* libmodbus 3.1.6's modbus_set_slave() refuses 248-254 even over TCP. */
	if (d->transport == MB_TCP && d->unit > 247 && d->unit != 255) {
		snprintf(err, errlen, "unit %d: libmodbus takes TCP unit ids 0 to 247 and 255",
			 d->unit);
		return -EINVAL;
	}
	if (d->line.rts == MODBUS_RTU_RTS_NONE && mb_given(d, "rts_delay")) {
		snprintf(err, errlen, "rts_delay needs rts = up or down");
		return -EINVAL;
	}
	return 0;
}

/*
 * Devices of this configuration on the same serial port must agree on its
 * line: each is compared with the first one configured on the port, so a
 * device that disagrees is reported once, and the ones after it that agree
 * with the first are not.
 */
static int mb_line_check(const struct mb_dev *d, char *err, size_t errlen)
{
	const struct mb_dev *first = NULL;
	char *key = port_key(d->path), *okey;
	char mine[64], theirs[64];

	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&conf_lock);
	for (const struct mb_dev *o = d->conf_next; o; o = o->conf_next) { /* newest first */
		if (o->conf_gen != d->conf_gen || o->transport != MB_RTU || !o->path)
			continue;
		okey = port_key(o->path);
		if (okey && strcmp(okey, key) == 0)
			first = o;
		free(okey);
	}
	if (first && !line_equal(&first->line, &d->line)) {
		line_describe(&d->line, mine, sizeof(mine));
		line_describe(&first->line, theirs, sizeof(theirs));
		snprintf(err, errlen,
			 "serial port %s is also device \"%s\"'s, whose line is %s, not %s: "
			 "devices on one line must agree on baud, parity, data_bits, stop_bits, "
			 "rs485, rts and rts_delay",
			 d->path, first->name, theirs, mine);
	}
	pthread_mutex_unlock(&conf_lock);
	free(key);
	return first && !line_equal(&first->line, &d->line) ? -EINVAL : 0;
}

static int mb_device_check_cb(struct lt_device *dev, char *err, size_t errlen)
{
	struct mb_dev *d = lt_device_priv(dev);
	int r = mb_device_check(d, err, errlen);

	if (r == 0 && d->transport == MB_RTU)
		r = mb_line_check(d, err, errlen);
	return r;
}

static int mb_metric_init(struct lt_metric *m)
{
	struct mb_metric *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return -ENOMEM;
	mm->v.type = MB_UINT16;
	mm->v.order = MB_ABCD;
	mm->v.scale = 1;
	mm->v.offset = 0;
	lt_metric_set_priv(m, mm);
	return 0;
}

static int set_table(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	return mb_parse_table(value, field, err, errlen);
}

static int set_type(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	return mb_parse_type(value, field, err, errlen);
}

static int set_order(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	return mb_parse_order(value, field, err, errlen);
}

static int set_bits(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	struct mb_value *v = field;
	int r = mb_parse_bits(value, &v->bit_lo, &v->bit_hi, err, errlen);

	v->has_bits |= r == 0;
	return r;
}

#define MM struct mb_metric

static const struct lt_opt mb_metric_opts[] = {
	LT_OPT_FUNC("table", MM, v.table, 0, set_table, "coil, discrete, input or holding"),
	LT_OPT_UINT("address", MM, v.address, 0, 0, 65535, "protocol address"),
	LT_OPT_FUNC("type", MM, v.type, 0, set_type, "how the registers are read"),
	LT_OPT_FUNC("order", MM, v.order, 0, set_order, "word and byte order"),
	LT_OPT_FUNC("bits", MM, v, 0, set_bits, "bit field of a register"),
	LT_OPT_DOUBLE("scale", MM, v.scale, 0, -DBL_MAX, DBL_MAX, "value = raw * scale + offset"),
	LT_OPT_DOUBLE("offset", MM, v.offset, 0, -DBL_MAX, DBL_MAX, "value = raw * scale + offset"),
	LT_OPT_END_SEEN(MM, seen),
};

static int mb_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			    size_t errlen)
{
	return lt_opts_set(mb_metric_opts, lt_metric_priv(m), key, value, err, errlen);
}

static bool mb_metric_given(const struct mb_metric *mm, const char *key)
{
	return lt_opts_given(mb_metric_opts, mm, key) == 1;
}

/* "holding 100-101 (uint32)", "coil 7" */
static void span_describe(const struct mb_value *v, char *buf, size_t len)
{
	unsigned w = mb_value_width(v);

	if (w == 1)
		snprintf(buf, len, "%s %u (%s)", mb_table_name(v->table), v->address,
			 mb_type_name(v->type));
	else
		snprintf(buf, len, "%s %u-%u (%s)", mb_table_name(v->table), v->address,
			 v->address + w - 1, mb_type_name(v->type));
}

/*
 * Metrics of a device may share registers only when they read the same ones
 * the same way: one register read as several bit fields, or as int16 and
 * uint16, or a value read twice with different scales. Anything else means
 * that one of them has the wrong address or type.
 */
static int mb_overlap_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct lt_device *dev = lt_metric_device(m);
	const struct mb_value *a = &((struct mb_metric *)lt_metric_priv(m))->v;
	unsigned wa = mb_value_width(a);

	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct lt_metric *o = lt_device_metric(dev, i);
		const struct mb_metric *om = lt_metric_priv(o);
		const struct mb_value *b;
		char sa[64], sb[64];
		unsigned wb;

		if (o == m || !om || !om->checked)
			continue;
		b = &om->v;
		wb = mb_value_width(b);
		if (b->table != a->table || a->address + wa <= b->address ||
		    b->address + wb <= a->address)
			continue;
		if (a->address == b->address && wa == wb &&
		    (wa == 1 || (a->type == b->type && a->order == b->order)))
			continue;
		span_describe(a, sa, sizeof(sa));
		span_describe(b, sb, sizeof(sb));
		snprintf(err, errlen,
			 "address: %s overlaps metric \"%s\", %s: metrics may share registers only "
			 "when they read the same ones the same way (bit fields of one register "
			 "are fine)",
			 sa, lt_metric_fullname(o), sb);
		return -EINVAL;
	}
	return 0;
}

static int mb_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct mb_metric *mm = lt_metric_priv(m);
	int r;

	pthread_mutex_lock(&conf_lock);
	conf_checking = true;
	pthread_mutex_unlock(&conf_lock);
	if (lt_metric_is_event_driven(m) || lt_metric_interval_ns(m) == 0) {
		snprintf(err, errlen, "interval is required (Modbus metrics are polled)");
		return -EINVAL;
	}
	if (!mb_metric_given(mm, "table")) {
		snprintf(err, errlen, "table is required (coil, discrete, input or holding)");
		return -EINVAL;
	}
	if (!mb_metric_given(mm, "address")) {
		snprintf(err, errlen, "address is required (0 to 65535, the protocol address)");
		return -EINVAL;
	}
	if (!mb_metric_given(mm, "type"))
		mm->v.type = mb_table_is_bits(mm->v.table) ? MB_BOOL : MB_UINT16;
	if (mb_metric_given(mm, "order") && mb_table_is_bits(mm->v.table)) {
		snprintf(err, errlen, "order: table %s is single bits, they have no byte order",
			 mb_table_name(mm->v.table));
		return -EINVAL;
	}
	r = mb_value_check(&mm->v, err, errlen);
	if (r == 0)
		r = mb_overlap_check(m, err, errlen);
	mm->checked = r == 0;
	return r;
}

/* ---- connections -------------------------------------------------------------- */

/* Connect @c; an RTU port also gets its line's RS-485 and RTS settings. */
static int conn_connect(struct mb_conn *c, const struct mb_line *line, const char *what, char *err,
			size_t errlen)
{
	if (modbus_connect(c->ctx) < 0) {
		snprintf(err, errlen, "cannot %s: %s", what, modbus_strerror(errno));
		return -EIO;
	}
	if (line && line->rs485 && modbus_rtu_set_serial_mode(c->ctx, MODBUS_RTU_RS485) < 0) {
		snprintf(err, errlen,
			 "rs485: the serial driver refuses RS-485 mode (%s): set rs485 = no if "
			 "the adapter switches direction by itself",
			 modbus_strerror(errno));
		modbus_close(c->ctx);
		return -EIO;
	}
	if (line && line->rts != MODBUS_RTU_RTS_NONE) {
		if (modbus_rtu_set_rts(c->ctx, line->rts) < 0 ||
		    (line->rts_delay_us >= 0 &&
		     modbus_rtu_set_rts_delay(c->ctx, line->rts_delay_us) < 0)) {
			snprintf(err, errlen, "rts: %s", modbus_strerror(errno));
			modbus_close(c->ctx);
			return -EIO;
		}
	}
	c->connected = true;
	c->dirty = false;
	return 0;
}

static void conn_close(struct mb_conn *c)
{
	if (c->ctx && c->connected)
		modbus_close(c->ctx);
	c->connected = false;
}

/*
 * The device's own TCP connection: a stop shuts its socket down, which ends
 * a wait for an answer at once (libmodbus waits again after EINTR).
 */
static void tcp_connected(struct mb_dev *d)
{
	lt_device_set_stop_socket(d->dev, modbus_get_socket(d->tcp.ctx));
}

static void tcp_close(struct mb_dev *d)
{
	lt_device_set_stop_socket(d->dev, -1);
	conn_close(&d->tcp);
}

/* The registry of shared serial ports (any sampler thread). */
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_port *ports;

static void port_free(struct mb_port *p)
{
	if (p->conn.ctx) {
		conn_close(&p->conn);
		modbus_free(p->conn.ctx);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->key);
	free(p->path);
	free(p);
}

/* Take a reference to @d's serial port, opening it for the first device on it. */
static int port_get(struct mb_dev *d, char *err, size_t errlen)
{
	struct mb_port *p;
	char *key = port_key(d->path);
	char what[300];
	int r = 0;

	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&ports_lock);
	for (p = ports; p; p = p->next)
		if (strcmp(p->key, key) == 0)
			break;
	if (p) {
		if (!line_equal(&p->line, &d->line)) {
			char mine[64], theirs[64];

			line_describe(&d->line, mine, sizeof(mine));
			line_describe(&p->line, theirs, sizeof(theirs));
			snprintf(err, errlen,
				 "serial port %s is open for device \"%s\" as %s, not %s: devices "
				 "on one line must agree on its settings",
				 d->path, p->owner, theirs, mine);
			r = -EINVAL;
		} else {
			p->refs++;
			d->rtu = p;
		}
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(d->path))) {
		free(p);
		r = -ENOMEM;
		goto out;
	}
	p->key = key;
	key = NULL;
	p->line = d->line;
	p->refs = 1;
	snprintf(p->owner, sizeof(p->owner), "%s", d->name);
	pthread_mutex_init(&p->lock, NULL);
	p->conn.ctx = modbus_new_rtu(d->path, d->line.baud, d->line.parity, d->line.data_bits,
				     d->line.stop_bits);
	if (!p->conn.ctx) {
		snprintf(err, errlen, "%s: %s", d->path, modbus_strerror(errno));
		port_free(p);
		r = -EINVAL;
		goto out;
	}
	snprintf(what, sizeof(what), "open %s", d->path);
	r = conn_connect(&p->conn, &p->line, what, err, errlen);
	if (r < 0) {
		port_free(p);
		goto out;
	}
	p->next = ports;
	ports = p;
	d->rtu = p;
out:
	pthread_mutex_unlock(&ports_lock);
	free(key);
	return r;
}

static void port_put(struct mb_port *p)
{
	pthread_mutex_lock(&ports_lock);
	if (--p->refs == 0) {
		for (struct mb_port **pp = &ports; *pp; pp = &(*pp)->next) {
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		}
		port_free(p);
	}
	pthread_mutex_unlock(&ports_lock);
}

/* ---- transactions ----------------------------------------------------------- */

/*
 * One read request for @count registers or bits of @table from @start into
 * @buf, connecting first if need be. Counts it; on failure *@code is the
 * libmodbus or system error, and for MB_CONNECT @why says what failed.
 */
static enum mb_result mb_transact(struct mb_dev *d, enum mb_table table, uint16_t start,
				  uint16_t count, void *buf, int *code, char *why, size_t whylen)
{
	struct mb_conn *c = d->rtu ? &d->rtu->conn : &d->tcp;
	enum mb_result res = MB_OK;
	uint32_t sec, usec;
	int rc;

	if (d->rtu)
		pthread_mutex_lock(&d->rtu->lock);
	/* Before connecting: libmodbus waits for a TCP connection as long as for an answer. */
	modbus_set_slave(c->ctx, d->unit);
	ns_to_timeval(d->response_timeout_ns, &sec, &usec);
	modbus_set_response_timeout(c->ctx, sec, usec);
	ns_to_timeval(d->byte_timeout_ns, &sec, &usec);
	modbus_set_byte_timeout(c->ctx, sec, usec);
	if (!c->connected) {
		char what[300];

		if (d->rtu)
			snprintf(what, sizeof(what), "open %s", d->path);
		else
			snprintf(what, sizeof(what), "connect to %s port %s", d->host, d->port);
		if (conn_connect(c, d->rtu ? &d->rtu->line : NULL, what, why, whylen) < 0) {
			*code = errno;
			lt_count(d->n_io_errors, 1);
			res = MB_CONNECT;
			goto out;
		}
		if (!d->rtu)
			tcp_connected(d);
	}
	if (c->dirty) {
		modbus_flush(c->ctx);
		c->dirty = false;
	}
	lt_count(d->n_requests, 1);
	switch (table) {
	case MB_COIL:
		rc = modbus_read_bits(c->ctx, start, count, buf);
		break;
	case MB_DISCRETE:
		rc = modbus_read_input_bits(c->ctx, start, count, buf);
		break;
	case MB_HOLDING:
		rc = modbus_read_registers(c->ctx, start, count, buf);
		break;
	default:
		rc = modbus_read_input_registers(c->ctx, start, count, buf);
		break;
	}
	if (rc == count)
		goto out;
	*code = rc < 0 ? errno : EMBMDATA;
	if (is_exception(*code)) {
		lt_count(d->n_exceptions, 1);
		res = MB_EXCEPTION;
		goto out;
	}
	c->dirty = true;
	if (*code == ETIMEDOUT) {
		lt_count(d->n_timeouts, 1);
		res = MB_TIMEOUT;
	} else if (is_protocol_error(*code)) {
		lt_count(d->n_io_errors, 1);
		res = MB_PROTOCOL;
	} else {
		/* The socket or the serial port itself failed: open it again next time. */
		lt_count(d->n_io_errors, 1);
		if (d->rtu)
			conn_close(c);
		else
			tcp_close(d);
		res = MB_LINK;
	}
out:
	if (d->rtu)
		pthread_mutex_unlock(&d->rtu->lock);
	return res;
}

/*
 * The request with its retries: exceptions are answers, never retried. A
 * stop ends the retries: it waits for one attempt at most (none over TCP,
 * whose socket the stop shuts down).
 */
static enum mb_result mb_request(struct mb_dev *d, enum mb_table table, uint16_t start,
				 uint16_t count, void *buf, int *code, char *why, size_t whylen)
{
	enum mb_result res = MB_OK;

	for (unsigned attempt = 0; attempt <= d->retries; attempt++) {
		res = mb_transact(d, table, start, count, buf, code, why, whylen);
		if (res == MB_OK || res == MB_EXCEPTION || lt_device_stopping(d->dev))
			break;
	}
	return res;
}

/* ---- health and back-off ----------------------------------------------------- */

static void mb_set_backoff(struct mb_dev *d, uint64_t ns)
{
	d->backoff_ns = ns;
	lt_count_set(d->g_backoff_ms, ns / NSEC_PER_MSEC);
}

/* The slave answered (data or an exception): leave back-off. */
static void mb_answered(struct lt_device *dev, struct mb_dev *d)
{
	if (d->health == MB_HEALTHY)
		return;
	lt_device_log(dev, LOG_NOTICE, "answering again after %.1f s",
		      (double)(mono_ns() - d->failing_since_ns) / 1e9);
	d->health = MB_HEALTHY;
	mb_set_backoff(d, 0);
	lt_device_set_condition(dev, NULL);
}

/* No answer (@res: a timeout, a lost or refused connection): back off. */
static void mb_not_answering(struct lt_device *dev, struct mb_dev *d, enum mb_result res,
			     const char *what)
{
	enum mb_health h = res == MB_TIMEOUT ? MB_NOT_ANSWERING : MB_CONNECTING;
	uint64_t first = d->backoff_max_ns < NSEC_PER_SEC ? d->backoff_max_ns : NSEC_PER_SEC;
	uint64_t next = d->backoff_ns ? d->backoff_ns * 2 : first;

	if (next > d->backoff_max_ns)
		next = d->backoff_max_ns;
	mb_set_backoff(d, next);
	d->retry_at_ns = d->now_ns + next;
	if (d->health == MB_HEALTHY)
		d->failing_since_ns = mono_ns();
	if (d->health != h) {
		lt_device_log(dev, LOG_WARNING, "%s: %s; retrying in %g s, backing off up to %g s",
			      h == MB_NOT_ANSWERING ? "not answering" : "no connection", what,
			      (double)next / 1e9, (double)d->backoff_max_ns / 1e9);
		d->health = h;
		lt_device_set_condition(dev, mb_health_text[h]);
	}
}

/* Whether the device is in back-off and must not do I/O in this pass. */
static bool mb_backing_off(const struct mb_dev *d)
{
	return d->health != MB_HEALTHY && d->now_ns < d->retry_at_ns;
}

/* "a, b, c" : the metrics a block serves (for messages). */
static void block_metrics(struct lt_device *dev, const struct mb_dev *d, unsigned block, char *buf,
			  size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < lt_device_nmetrics(dev) && n < len; i++) {
		struct lt_metric *m = lt_device_metric(dev, i);
		const struct mb_metric *mm = lt_metric_priv(m);

		if (mm->block != block)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", lt_metric_name(m));
	}
}

/* Map a failed request to read()'s return value. */
static int result_errno(enum mb_result res)
{
	switch (res) {
	case MB_OK:
		return 0;
	case MB_EXCEPTION:
		return -EREMOTEIO;
	case MB_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/*
 * After a request that reached (or failed to reach) the slave: the device's
 * health, and the exceptions and garbled answers of @subject, logged when
 * they change (*@logged keeps the last).
 */
static void mb_account(struct lt_device *dev, struct mb_dev *d, enum mb_result res, int code,
		       const char *why, int *logged, struct lt_metric *m, const char *subject)
{
	if (res == MB_TIMEOUT || res == MB_LINK || res == MB_CONNECT) {
		char what[512];

		if (res == MB_CONNECT)
			snprintf(what, sizeof(what), "%s", why);
		else
			snprintf(what, sizeof(what), "%s: %s", subject, modbus_strerror(code));
		mb_not_answering(dev, d, res, what);
		return;
	}
	mb_answered(dev, d);
	if (res == MB_OK) {
		if (*logged) {
			if (m)
				lt_metric_log(m, LOG_INFO, "%s: read again", subject);
			else
				lt_device_log(dev, LOG_INFO, "%s: read again", subject);
		}
		*logged = 0;
		return;
	}
	if (*logged == code)
		return;
	*logged = code;
	if (m)
		lt_metric_log(m, LOG_WARNING, "%s: %s", subject, modbus_strerror(code));
	else
		lt_device_log(dev, LOG_WARNING, "%s: %s", subject, modbus_strerror(code));
}

/* ---- the sampler's callbacks ---------------------------------------------------- */

static void mb_tick(struct lt_device *dev, uint64_t now_ns)
{
	struct mb_dev *d = lt_device_priv(dev);

	d->now_ns = now_ns;
	for (unsigned i = 0; i < d->nblocks; i++)
		d->blocks[i].fetched = false;
}

/* "holding 100-109 (temp, flow)" */
static void block_describe(struct lt_device *dev, const struct mb_dev *d, unsigned i, char *buf,
			   size_t len)
{
	const struct mb_block *b = &d->blocks[i].b;
	char names[256];

	block_metrics(dev, d, i, names, sizeof(names));
	if (b->count == 1)
		snprintf(buf, len, "%s %u (%s)", mb_table_name(b->table), b->start, names);
	else
		snprintf(buf, len, "%s %u-%u (%s)", mb_table_name(b->table), b->start,
			 b->start + b->count - 1u, names);
}

/* Whether the metrics of block @i read more than one distinct span. */
static bool block_is_merged(struct lt_device *dev, unsigned i)
{
	const struct mb_value *first = NULL;

	for (unsigned k = 0; k < lt_device_nmetrics(dev); k++) {
		const struct mb_metric *mm = lt_metric_priv(lt_device_metric(dev, k));

		if (mm->block != i)
			continue;
		if (!first)
			first = &mm->v;
		else if (mm->v.address != first->address ||
			 mb_value_width(&mm->v) != mb_value_width(first))
			return true;
	}
	return false;
}

static void mb_fetch_block(struct lt_device *dev, struct mb_dev *d, unsigned i)
{
	struct mb_bstate *bs = &d->blocks[i];
	char subject[400], why[400] = "";
	enum mb_result res;
	int code = 0;

	bs->fetched = true;
	bs->err = 0;
	if (mb_backing_off(d) || lt_device_stopping(dev)) {
		bs->err = -ENODATA;
		return;
	}
	res = mb_request(d, bs->b.table, bs->b.start, bs->b.count, bs->buf, &code, why,
			 sizeof(why));
	if (res != MB_OK && lt_device_stopping(dev)) {
		bs->err = -ENODATA; /* cut short by the stop: the slave is not to blame */
		return;
	}
	if (res == MB_OK && !bs->logged && d->health == MB_HEALTHY)
		return; /* the usual case: nothing to log, nothing to describe */
	block_describe(dev, d, i, subject, sizeof(subject));
	if (res == MB_EXCEPTION && code == EMBXILADD && block_is_merged(dev, i)) {
		/* The gap may hold addresses the slave lacks: ask for each metric's own. */
		lt_device_log(dev, LOG_NOTICE,
			      "%s: %s for the merged request; reading these metrics one by one",
			      subject, modbus_strerror(code));
		mb_answered(dev, d);
		bs->split = true;
		bs->err = 0;
		return;
	}
	mb_account(dev, d, res, code, why, &bs->logged, NULL, subject);
	bs->err = result_errno(res);
}

/* A metric of a split block: its own request, each pass. */
static int mb_fetch_metric(struct lt_device *dev, struct mb_dev *d, struct lt_metric *m,
			   struct mb_metric *mm)
{
	char subject[64], why[400] = "";
	enum mb_result res;
	int code = 0;

	if (mb_backing_off(d) || lt_device_stopping(dev))
		return -ENODATA;
	res = mb_request(d, mm->v.table, mm->v.address, (uint16_t)mb_value_width(&mm->v), mm->regs,
			 &code, why, sizeof(why));
	if (res != MB_OK && lt_device_stopping(dev))
		return -ENODATA;
	span_describe(&mm->v, subject, sizeof(subject));
	mb_account(dev, d, res, code, why, &mm->logged, m, subject);
	return result_errno(res);
}

static int mb_value_out(const struct mb_value *v, const void *at, double *value)
{
	double x = mb_table_is_bits(v->table) ? mb_decode_bit(v, *(const uint8_t *)at)
					      : mb_decode_regs(v, at);

	if (!isfinite(x))
		return -ENODATA; /* a float register holding NaN: "no value" on many devices */
	*value = x;
	return 0;
}

static int mb_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct mb_dev *d = lt_device_priv(dev);
	struct mb_metric *mm = lt_metric_priv(m);
	struct mb_bstate *bs = &d->blocks[mm->block];
	unsigned off;
	int r;

	if (!bs->split && !bs->fetched)
		mb_fetch_block(dev, d, mm->block);
	if (bs->split) {
		r = mb_fetch_metric(dev, d, m, mm);
		return r < 0 ? r : mb_value_out(&mm->v, mm->regs, value);
	}
	if (bs->err)
		return bs->err;
	off = mm->v.address - bs->b.start;
	if (mb_table_is_bits(bs->b.table))
		return mb_value_out(&mm->v, &bs->bits[off], value);
	return mb_value_out(&mm->v, &bs->regs[off], value);
}

static void mb_free_blocks(struct mb_dev *d)
{
	for (unsigned i = 0; i < d->nblocks; i++)
		free(d->blocks[i].buf);
	free(d->blocks);
	d->blocks = NULL;
	d->nblocks = 0;
}

/* Plan the device's requests: one block per group of neighbouring metrics. */
static int mb_plan_blocks(struct lt_device *dev, struct mb_dev *d)
{
	unsigned n = lt_device_nmetrics(dev);
	struct mb_span *spans = calloc(n ? n : 1, sizeof(*spans));
	struct mb_block *blocks = calloc(n ? n : 1, sizeof(*blocks));
	unsigned *block_of = calloc(n ? n : 1, sizeof(*block_of));
	int nb, r = -ENOMEM;

	if (!spans || !blocks || !block_of)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct lt_metric *m = lt_device_metric(dev, i);
		const struct mb_metric *mm = lt_metric_priv(m);

		spans[i] = (struct mb_span){ .interval_ns = lt_metric_interval_ns(m),
					     .table = mm->v.table,
					     .start = mm->v.address,
					     .count = (uint16_t)mb_value_width(&mm->v) };
	}
	nb = mb_plan(spans, n, d->max_gap, d->max_bit_gap, blocks, block_of);
	if (nb < 0)
		goto out;
	d->blocks = calloc(nb ? (size_t)nb : 1, sizeof(*d->blocks));
	if (!d->blocks)
		goto out;
	d->nblocks = (unsigned)nb;
	for (int i = 0; i < nb; i++) {
		size_t unit = mb_table_is_bits(blocks[i].table) ? 1 : 2;

		d->blocks[i].b = blocks[i];
		d->blocks[i].buf = calloc(blocks[i].count, unit);
		if (!d->blocks[i].buf)
			goto out;
	}
	for (unsigned i = 0; i < n; i++)
		((struct mb_metric *)lt_metric_priv(lt_device_metric(dev, i)))->block = block_of[i];
	r = 0;
out:
	if (r < 0)
		mb_free_blocks(d);
	free(spans);
	free(blocks);
	free(block_of);
	return r;
}

static void mb_close(struct lt_device *dev)
{
	struct mb_dev *d = lt_device_priv(dev);

	if (d->tcp.ctx) {
		tcp_close(d);
		modbus_free(d->tcp.ctx);
		d->tcp.ctx = NULL;
	}
	if (d->rtu) {
		port_put(d->rtu);
		d->rtu = NULL;
	}
	mb_free_blocks(d);
	d->health = MB_HEALTHY;
	mb_set_backoff(d, 0);
	lt_device_set_condition(dev, NULL);
}

static int mb_open(struct lt_device *dev, char *err, size_t errlen)
{
	struct mb_dev *d = lt_device_priv(dev);
	int r;

	/* A device without metrics was never checked. */
	r = mb_device_check(d, err, errlen);
	if (r < 0)
		return r;
	r = mb_plan_blocks(dev, d);
	if (r < 0) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	d->dev = dev;
	d->health = MB_HEALTHY;
	mb_set_backoff(d, 0);
	d->now_ns = mono_ns();
	if (d->transport == MB_TCP) {
		/* Connected by the first request: a refused connection backs off, not fails. */
		d->tcp.ctx = modbus_new_tcp_pi(d->host, d->port);
		if (!d->tcp.ctx) {
			snprintf(err, errlen, "host %s, port %s: %s", d->host, d->port,
				 modbus_strerror(errno));
			mb_close(dev);
			return -EINVAL;
		}
		return 0;
	}
	r = port_get(d, err, errlen);
	if (r < 0)
		mb_close(dev);
	return r;
}

static void mb_metric_free(struct lt_metric *m)
{
	free(lt_metric_priv(m));
	lt_metric_set_priv(m, NULL);
}

static void mb_device_free(struct lt_device *dev)
{
	struct mb_dev *d = lt_device_priv(dev);

	if (!d)
		return;
	pthread_mutex_lock(&conf_lock);
	for (struct mb_dev **pp = &conf_devs; *pp; pp = &(*pp)->conf_next) {
		if (*pp == d) {
			*pp = d->conf_next;
			break;
		}
	}
	pthread_mutex_unlock(&conf_lock);
	free(d->host);
	free(d->path);
	free(d);
	lt_device_set_priv(dev, NULL);
}

const struct lt_device_driver lt_device_modbus = {
	.name = "modbus",
	.device_init = mb_device_init,
	.device_option = mb_device_option,
	.device_check = mb_device_check_cb,
	.metric_init = mb_metric_init,
	.metric_option = mb_metric_option,
	.metric_check = mb_metric_check,
	.open = mb_open,
	.read = mb_read,
	.tick = mb_tick,
	.close = mb_close,
	.metric_free = mb_metric_free,
	.device_free = mb_device_free,
};

static int modbus_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_modbus, err, errlen);
}

LT_INTREE_PACKAGE(modbus, .name = "modbus", .version = PACKAGE_VERSION,
		  .init = modbus_package_init);
