/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * iio: Industrial I/O sensors through libiio 0.24's local context.
 *
 * One device is one IIO device ("device =": its name, its label or its id
 * iio:deviceN). Each metric reads one channel ("channel =": in_temp0,
 * in_accel_x, in_voltage1-voltage2, ...; "in_" may be left out) in one mode:
 *   direct    polled at the metric's interval: the channel's processed
 *             value (_input) when the driver offers one, else
 *             (_raw + _offset) x _scale, offset and scale read at open;
 *   buffered  event-driven: every scan the kernel pushes into the device's
 *             buffer is one sample, decoded from the scan element's format
 *             (iio_scan.c), then (value + offset) x scale.
 * Either way the value is in the unit the IIO ABI defines for the channel
 * type (milli-degrees Celsius, m/s^2, ...) and is published in the metric's
 * "unit" through the table of iio_scan.c (empty unit: the ABI unit).
 *
 * Buffered metrics share the device's one buffer: open enables their scan
 * elements (and the timestamp channel when the device has one), attaches
 * "trigger =" when given, sets "sampling_frequency =" (on the trigger when
 * it has that attribute, such as an hrtimer trigger, else on the device),
 * and creates a non-blocking buffer of "buffer =" scans. poll() hands the
 * buffer's descriptor to the sampler; dispatch() refills until the kernel
 * has no more (many scans per wake-up). A scan is stamped with its
 * timestamp channel, converted from the device's current_timestamp_clock
 * to CLOCK_REALTIME; without one, with the time it was read.
 *
 * "attributes =" names device attributes (sampling_frequency) and channel
 * attributes (in_voltage0.scale) whose values, read when the configuration
 * is loaded, become the device's properties "iio.NAME" (registered with
 * the DCCs, shown by liotactl status). A device absent then is a warning
 * (it may come later; its properties are then missing until the
 * configuration is loaded again), an attribute it lacks an error.
 *
 * Device removal: reads of a removed device's sysfs files fail with ENOENT
 * or ENODEV, and a read of its buffer with ENODEV; but nothing wakes the
 * buffer's descriptor of a removed device, so a buffered device also
 * refills once a second from poll()'s timer. A gone device says "device
 * gone" and returns -ENODEV: the sampler closes it and opens it again
 * every 5 s until it is back.
 */
#include <errno.h>
#include <iio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <liota/liota.h>
#include "core/intree.h"
#include "devices/devices.h"
#include "devices/iio_scan.h"
#include "util.h"

#define NSEC_PER_SEC 1000000000ull
/* How often a buffered device looks for a removal nothing else would show. */
#define IIO_CHECK_NS NSEC_PER_SEC
/* Refills per dispatch: a device pushing faster than we read cannot starve the others. */
#define IIO_REFILLS_MAX 16
#define IIO_TYPE_MAX    24

enum iio_mode { IIO_DIRECT, IIO_BUFFERED };

struct iio_metric {
	char *channel; /* the channel id, without "in_" / "out_" */
	bool output;
	enum iio_mode mode;
	unsigned element; /* which value of a repeated scan element */
	char type[IIO_TYPE_MAX];
	double mul, add; /* ABI unit -> the metric's unit */
	/* sampler thread, while open */
	struct iio_channel *ch;
	bool has_input;
	double offset, scale;
	struct lt_iio_format fmt;
	const unsigned char *first; /* this channel in the scans of the last refill */
	bool failed;
};

/* One of "attributes =": a device attribute, or an attribute of a channel. */
struct iio_attr {
	char *name;    /* as the property names it after "iio.": "in_voltage0.scale" */
	char *channel; /* the channel id without "in_"/"out_"; NULL for a device attribute */
	bool output;
	const char *attr; /* in name: "scale" */
};

struct iio_dev {
	char *device;
	struct iio_attr *attrs;
	unsigned nattrs;
	char *trigger;
	double freq;        /* sampling_frequency, 0 = leave as it is */
	uint64_t scans;     /* buffer length in scans */
	uint64_t watermark; /* scans per wake-up; 0 = from the rate */
	/* declared by the first buffered metric */
	uint64_t *n_scans, *n_refills;
	/* sampler thread, while open */
	struct iio_context *ctx;
	struct iio_device *dev;
	struct iio_buffer *buf;
	struct iio_channel *ts;
	struct lt_iio_format ts_fmt;
	clockid_t ts_clock;
	uint64_t refill; /* scans per refill: the watermark */
	uint64_t next_check;
	bool seen, gone;
};

/* ---- options --------------------------------------------------------------- */

static void iio_attrs_free(struct iio_dev *d)
{
	for (unsigned i = 0; i < d->nattrs; i++) {
		free(d->attrs[i].name);
		free(d->attrs[i].channel);
	}
	free(d->attrs);
	d->attrs = NULL;
	d->nattrs = 0;
}

/* One item of "attributes =": ATTR or CHANNEL.ATTR ("in_" may be left out). */
static int iio_attr_parse(struct iio_attr *a, const char *item, size_t len, char *err,
			  size_t errlen)
{
	char text[LT_PROPERTY_KEY_MAX + 1], type[IIO_TYPE_MAX];
	const char *dot, *attr, *id = text;
	bool output;

	if (!len) {
		snprintf(err, errlen, "an empty item in the list");
		return -EINVAL;
	}
	/* What the property's key ("iio." and this) can hold. */
	if (len > LT_PROPERTY_KEY_MAX - 4) {
		snprintf(err, errlen, "'%.*s...' is longer than %d characters", 20, item,
			 LT_PROPERTY_KEY_MAX - 4);
		return -EINVAL;
	}
	memcpy(text, item, len);
	text[len] = '\0';
	dot = strchr(text, '.');
	attr = dot ? dot + 1 : text;
	if (!*attr || strspn(attr, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(attr)) {
		snprintf(err, errlen,
			 "'%s': attribute names are a-z 0-9 _ (sampling_frequency, "
			 "in_voltage0.scale)",
			 text);
		return -EINVAL;
	}
	if (!dot) {
		a->name = xstrdup(text);
		a->attr = a->name;
		return 0;
	}
	text[dot - text] = '\0';
	output = strncmp(text, "out_", 4) == 0;
	id += output ? 4 : strncmp(text, "in_", 3) == 0 ? 3 : 0;
	if (lt_iio_channel_type(id, type, sizeof(type)) < 0) {
		snprintf(err, errlen, "'%s.%s': '%s' is not an IIO channel id (in_temp0, ...)",
			 text, attr, text);
		return -EINVAL;
	}
	a->name = xasprintf("%s_%s.%s", output ? "out" : "in", id, attr);
	a->attr = strchr(a->name, '.') + 1;
	a->channel = xstrdup(id);
	a->output = output;
	return 0;
}

/* "attributes = A, B, ...": replaces what an earlier file gave. */
static int iio_attrs_option(void *base, const char *key, const char *value, char *err,
			    size_t errlen)
{
	struct iio_dev *d = base;
	struct iio_attr *v = xcalloc(LT_DEVICE_PROPERTIES_MAX, sizeof(*v));
	unsigned n = 0;
	int r = 0;

	for (const char *p = value;; p++) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (n == LT_DEVICE_PROPERTIES_MAX) {
			snprintf(err, errlen, "more than %d attributes", LT_DEVICE_PROPERTIES_MAX);
			r = -EINVAL;
			break;
		}
		r = iio_attr_parse(&v[n], p, len, err, errlen);
		if (r < 0)
			break;
		for (unsigned i = 0; i < n && r == 0; i++) {
			if (strcmp(v[i].name, v[n].name) == 0) {
				snprintf(err, errlen, "%s is named twice", v[n].name);
				r = -EINVAL;
			}
		}
		n++;
		p = strchr(p, ',');
		if (r < 0 || !p)
			break;
	}
	if (r < 0) {
		struct iio_dev parsed = { .attrs = v, .nattrs = n };

		iio_attrs_free(&parsed);
		return r;
	}
	iio_attrs_free(d);
	d->attrs = v;
	d->nattrs = n;
	return 0;
}

static int iio_device_init(struct lt_device *dev)
{
	struct iio_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->scans = 256;
	lt_device_set_priv(dev, d);
	return 0;
}

static int set_freq(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	double f;
	int r = lt_parse_double(value, &f, err, errlen);

	if (r < 0)
		return r;
	if (!(f > 0))
		return lt_errf(err, errlen, -EINVAL, "%s must be above 0 (Hz)", key);
	*(double *)field = f;
	return 0;
}

static const struct lt_opt iio_dev_opts[] = {
	LT_OPT_STRING("device", struct iio_dev, device, LT_OPT_NONEMPTY, 0,
		      "IIO device: name, label or iio:deviceN"),
	LT_OPT_STRING("trigger", struct iio_dev, trigger, LT_OPT_NONEMPTY, 0,
		      "trigger of buffered capture"),
	LT_OPT_FUNC_BASE("attributes", 0, iio_attrs_option, "attributes read as properties"),
	LT_OPT_FUNC("sampling_frequency", struct iio_dev, freq, 0, set_freq, "Hz, above 0"),
	LT_OPT_UINT("buffer", struct iio_dev, scans, 0, 2, 1u << 20, "buffer length in scans"),
	LT_OPT_UINT("watermark", struct iio_dev, watermark, 0, 1, 1u << 19, "scans per wake-up"),
	LT_OPT_END(),
};

static int iio_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return lt_opts_set(iio_dev_opts, lt_device_priv(dev), key, value, err, errlen);
}

static struct iio_device *iio_find(struct iio_context *ctx, const char *want, bool trigger,
				   char *list, size_t len);
static void iio_append(char *buf, size_t len, const char *s);

/* The value of one of "attributes =" into @buf, without its newline. */
static int iio_attr_read(struct iio_device *idev, const struct iio_attr *a, char *buf, size_t len,
			 char *err, size_t errlen)
{
	struct iio_channel *ch = NULL;
	char list[200] = "";
	ssize_t n;
	bool has;

	if (a->channel) {
		ch = iio_device_find_channel(idev, a->channel, a->output);
		if (!ch) {
			snprintf(err, errlen, "attributes: %s has no channel %s_%s",
				 iio_device_get_id(idev), a->output ? "out" : "in", a->channel);
			return -ENOENT;
		}
		has = iio_channel_find_attr(ch, a->attr) != NULL;
		for (unsigned i = 0; !has && i < iio_channel_get_attrs_count(ch); i++)
			iio_append(list, sizeof(list), iio_channel_get_attr(ch, i));
	} else {
		has = iio_device_find_attr(idev, a->attr) != NULL;
		for (unsigned i = 0; !has && i < iio_device_get_attrs_count(idev); i++)
			iio_append(list, sizeof(list), iio_device_get_attr(idev, i));
	}
	if (!has) {
		snprintf(err, errlen, "attributes: %s has no attribute %s (%s: %s)",
			 iio_device_get_id(idev), a->name,
			 a->channel ? "the channel has" : "it has", *list ? list : "none");
		return -ENOENT;
	}
	n = ch ? iio_channel_attr_read(ch, a->attr, buf, len)
	       : iio_device_attr_read(idev, a->attr, buf, len);
	if (n < 0) {
		snprintf(err, errlen, "attributes: cannot read %s of %s: %s", a->name,
			 iio_device_get_id(idev), strerror((int)-n));
		return (int)n;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Read "attributes =" into the device's properties, at configuration time
 * (device_check), so that they are registered with the device.
 */
static int iio_attrs_read(struct lt_device *dev, struct iio_dev *d, char *err, size_t errlen)
{
	struct iio_context *ctx = iio_create_local_context();
	struct iio_device *idev;
	char list[160], key[LT_PROPERTY_KEY_MAX + 8], value[4096], why[300];
	int r = 0;

	idev = ctx ? iio_find(ctx, d->device, false, list, sizeof(list)) : NULL;
	if (!idev) {
		/* Not an error: the device may be plugged in later. */
		lt_device_log(dev, LOG_WARNING,
			      "IIO device \"%s\" is not present: its attributes (%s%s) are not "
			      "registered",
			      d->device, d->attrs[0].name, d->nattrs > 1 ? ", ..." : "");
		goto out;
	}
	for (unsigned i = 0; i < d->nattrs && r == 0; i++) {
		r = iio_attr_read(idev, &d->attrs[i], value, sizeof(value), err, errlen);
		if (r < 0)
			break;
		snprintf(key, sizeof(key), "iio.%s", d->attrs[i].name);
		r = lt_device_add_property(dev, key, value, why, sizeof(why));
		if (r < 0)
			snprintf(err, errlen, "attributes: %s", why);
	}
out:
	if (ctx)
		iio_context_destroy(ctx);
	return r;
}

static int iio_device_check(struct lt_device *dev, char *err, size_t errlen)
{
	struct iio_dev *d = lt_device_priv(dev);

	if (!d->device) {
		snprintf(err, errlen,
			 "device: missing (an IIO device's name, label or iio:deviceN)");
		return -EINVAL;
	}
	/* The kernel would wait for more scans than the buffer can hold: never wake us. */
	if (d->watermark > d->scans / 2) {
		snprintf(err, errlen, "watermark: %llu scans is more than half the buffer (%llu)",
			 (unsigned long long)d->watermark, (unsigned long long)d->scans);
		return -EINVAL;
	}
	return d->nattrs ? iio_attrs_read(dev, d, err, errlen) : 0;
}

/*
 * Scans per wake-up: as configured, else about ten wake-ups a second at
 * the configured rate (1 when the rate is the device's business).
 */
static uint64_t iio_watermark(const struct iio_dev *d)
{
	uint64_t w = d->watermark;

	if (!w)
		w = d->freq >= 20 ? (uint64_t)(d->freq / 10) : 1;
	return w > d->scans / 2 ? d->scans / 2 : w;
}

static int iio_metric_init(struct lt_metric *m)
{
	struct iio_metric *im = calloc(1, sizeof(*im));

	if (!im)
		return -ENOMEM;
	im->mul = 1;
	lt_metric_set_priv(m, im);
	return 0;
}

/* channel: "in_temp0", "out_voltage0" or "temp0"; the type is checked now. */
static int set_channel(void *base, const char *key, const char *value, char *err, size_t errlen)
{
	struct iio_metric *im = base;
	bool output = strncmp(value, "out_", 4) == 0;
	const char *id = value + (output ? 4 : strncmp(value, "in_", 3) == 0 ? 3 : 0);
	char type[IIO_TYPE_MAX];
	int r;

	if (lt_iio_channel_type(id, type, sizeof(type)) < 0)
		return lt_errf(err, errlen, -EINVAL,
			       "channel: '%s' is not an IIO channel id (in_temp0, in_accel_x, ...)",
			       value);
	if (!*id)
		return lt_errf(err, errlen, -EINVAL, "%s must not be empty", key);
	r = lt_opts_strdup(&im->channel, id, err, errlen);
	if (r < 0)
		return r;
	im->output = output;
	memcpy(im->type, type, sizeof(type));
	return 0;
}

static const struct lt_opt_name iio_modes[] = {
	{ "direct", IIO_DIRECT },
	{ "buffered", IIO_BUFFERED },
	{ NULL, 0 },
};

static const struct lt_opt iio_metric_opts[] = {
	LT_OPT_FUNC_BASE("channel", 0, set_channel, "IIO channel id (in_temp0)"),
	LT_OPT_ENUM("mode", struct iio_metric, mode, LT_OPT_UNKNOWN_FORM, iio_modes,
		    "direct (sysfs) or buffered"),
	LT_OPT_UINT("element", struct iio_metric, element, 0, 0, 1023,
		    "which value of a repeated scan element"),
	LT_OPT_END(),
};

static int iio_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return lt_opts_set(iio_metric_opts, lt_metric_priv(m), key, value, err, errlen);
}

static int iio_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct iio_metric *im = lt_metric_priv(m);
	struct lt_device *dev = lt_metric_device(m);
	struct iio_dev *d = lt_device_priv(dev);
	int r;

	if (!im->channel) {
		snprintf(err, errlen, "channel: missing (an IIO channel id such as in_temp0)");
		return -EINVAL;
	}
	r = lt_iio_unit_conv(im->type, lt_metric_unit(m), &im->mul, &im->add, err, errlen);
	if (r < 0)
		return -EINVAL;
	if (im->mode == IIO_BUFFERED) {
		if (im->output) {
			snprintf(err, errlen, "mode buffered: only input channels are captured");
			return -EINVAL;
		}
		if (lt_metric_interval_ns(m)) {
			snprintf(
				err, errlen,
				"interval: mode buffered has no interval (each scan is one sample; "
				"the rate is the device's sampling_frequency)");
			return -EINVAL;
		}
		lt_metric_set_event_driven(m);
		if (!d->n_scans) {
			d->n_scans = lt_device_counter(dev, "scans");
			d->n_refills = lt_device_counter(dev, "refills");
		}
	} else if (im->element) {
		snprintf(err, errlen, "element applies to mode buffered only");
		return -EINVAL;
	}
	return 0;
}

/* ---- open and close ----------------------------------------------------------- */

static void iio_append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

static struct iio_device *iio_find(struct iio_context *ctx, const char *want, bool trigger,
				   char *list, size_t len)
{
	unsigned n = iio_context_get_devices_count(ctx);

	list[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		struct iio_device *dev = iio_context_get_device(ctx, i);
		const char *id = iio_device_get_id(dev), *name = iio_device_get_name(dev),
			   *label = iio_device_get_label(dev);

		if (iio_device_is_trigger(dev) != trigger)
			continue;
		if (strcmp(id, want) == 0 || (name && strcmp(name, want) == 0) ||
		    (label && strcmp(label, want) == 0))
			return dev;
		iio_append(list, len, name ? name : id);
	}
	return NULL;
}

/* The CLOCK_* of the device's timestamps (its current_timestamp_clock). */
static clockid_t iio_ts_clock(struct iio_device *dev)
{
	static const struct {
		const char *name;
		clockid_t id;
	} clocks[] = {
		{ "realtime", CLOCK_REALTIME },
		{ "monotonic", CLOCK_MONOTONIC },
		{ "monotonic_raw", CLOCK_MONOTONIC_RAW },
		{ "realtime_coarse", CLOCK_REALTIME_COARSE },
		{ "monotonic_coarse", CLOCK_MONOTONIC_COARSE },
		{ "boottime", CLOCK_BOOTTIME },
		{ "tai", CLOCK_TAI },
	};
	char buf[32];

	/* Without the attribute (older kernels) IIO stamps with CLOCK_REALTIME. */
	if (iio_device_attr_read(dev, "current_timestamp_clock", buf, sizeof(buf)) <= 0)
		return CLOCK_REALTIME;
	buf[strcspn(buf, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
		if (strcmp(buf, clocks[i].name) == 0)
			return clocks[i].id;
	return CLOCK_REALTIME;
}

/* What to add to a time of @clock to make it CLOCK_REALTIME, now. */
static uint64_t iio_clock_to_real(clockid_t clock)
{
	struct timespec c;

	if (clock == CLOCK_MONOTONIC)
		return lt_mono_to_real(0);
	if (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)
		return 0;
	clock_gettime(clock, &c);
	return lt_real_ns() - ((uint64_t)c.tv_sec * NSEC_PER_SEC + (uint64_t)c.tv_nsec);
}

static double iio_attr_or(struct iio_channel *ch, const char *attr, double dflt)
{
	double v;

	if (!iio_channel_find_attr(ch, attr) || iio_channel_attr_read_double(ch, attr, &v) < 0)
		return dflt;
	return v;
}

static int iio_bind(struct iio_dev *d, struct lt_metric *m, char *err, size_t errlen)
{
	struct iio_metric *im = lt_metric_priv(m);
	const struct iio_data_format *df;
	char list[160] = "";
	int r;

	im->ch = iio_device_find_channel(d->dev, im->channel, im->output);
	if (!im->ch) {
		for (unsigned i = 0; i < iio_device_get_channels_count(d->dev); i++) {
			struct iio_channel *c = iio_device_get_channel(d->dev, i);
			char one[64];

			snprintf(one, sizeof(one), "%s_%s", iio_channel_is_output(c) ? "out" : "in",
				 iio_channel_get_id(c));
			iio_append(list, sizeof(list), one);
		}
		snprintf(err, errlen, "%s: channel: %s has no channel %s_%s (channels: %s)",
			 lt_metric_fullname(m), iio_device_get_id(d->dev),
			 im->output ? "out" : "in", im->channel, list);
		return -ENOENT;
	}
	im->offset = iio_attr_or(im->ch, "offset", 0);
	im->scale = iio_attr_or(im->ch, "scale", 1);
	im->failed = false;
	if (im->mode == IIO_DIRECT) {
		im->has_input = iio_channel_find_attr(im->ch, "input") != NULL;
		if (!im->has_input && !iio_channel_find_attr(im->ch, "raw")) {
			snprintf(err, errlen, "%s: channel %s has neither _input nor _raw to read",
				 lt_metric_fullname(m), im->channel);
			return -EINVAL;
		}
		return 0;
	}
	if (!iio_channel_is_scan_element(im->ch)) {
		snprintf(err, errlen,
			 "%s: channel %s is not captured in the buffer (no scan "
			 "element): use mode direct",
			 lt_metric_fullname(m), im->channel);
		return -EINVAL;
	}
	df = iio_channel_get_data_format(im->ch);
	im->fmt = (struct lt_iio_format){ .bits = df->bits,
					  .storage_bits = df->length,
					  .shift = df->shift,
					  .repeat = df->repeat ? df->repeat : 1,
					  .is_signed = df->is_signed,
					  .is_be = df->is_be };
	r = lt_iio_format_check(&im->fmt, list, sizeof(list));
	if (r < 0) {
		snprintf(err, errlen, "%s: channel %s: %s", lt_metric_fullname(m), im->channel,
			 list);
		return r;
	}
	if (im->element >= im->fmt.repeat) {
		snprintf(err, errlen, "%s: element %u: channel %s has %u value(s) per scan",
			 lt_metric_fullname(m), im->element, im->channel, im->fmt.repeat);
		return -EINVAL;
	}
	iio_channel_enable(im->ch);
	lt_metric_log(m, LOG_INFO, "buffered %s: %s:%c%u/%uX%u>>%u, offset %g, scale %g",
		      im->channel, im->fmt.is_be ? "be" : "le", im->fmt.is_signed ? 's' : 'u',
		      im->fmt.bits, im->fmt.storage_bits, im->fmt.repeat, im->fmt.shift, im->offset,
		      im->scale);
	return 0;
}

/* Trigger and rate: what the operator named, before the buffer starts. */
static int iio_setup_trigger(struct lt_device *dev, struct iio_dev *d, char *err, size_t errlen)
{
	const struct iio_device *trig = NULL;
	char list[160];
	int r;

	if (d->trigger) {
		trig = iio_find(d->ctx, d->trigger, true, list, sizeof(list));
		if (!trig) {
			snprintf(err, errlen, "trigger: no IIO trigger \"%s\" (%s%s)", d->trigger,
				 *list ? "triggers: " : "no triggers at all", list);
			return -ENODEV;
		}
		r = iio_device_set_trigger(d->dev, trig);
		if (r < 0) {
			snprintf(err, errlen, "trigger %s: cannot attach it: %s", d->trigger,
				 strerror(-r));
			return r;
		}
	}
	if (!d->freq)
		return 0;
	if (trig && iio_device_find_attr(trig, "sampling_frequency"))
		r = iio_device_attr_write_double(trig, "sampling_frequency", d->freq);
	else if (iio_device_find_attr(d->dev, "sampling_frequency"))
		r = iio_device_attr_write_double(d->dev, "sampling_frequency", d->freq);
	else
		r = -ENOENT;
	if (r < 0) {
		snprintf(err, errlen, "sampling_frequency %g: %s", d->freq,
			 r == -ENOENT ? "neither the trigger nor the device has that attribute"
				      : strerror(-r));
		return r;
	}
	lt_device_log(dev, LOG_INFO, "sampling_frequency %g Hz set on %s", d->freq,
		      trig && iio_device_find_attr(trig, "sampling_frequency") ? "the trigger"
									       : "the device");
	return 0;
}

static int iio_start_buffer(struct lt_device *dev, struct iio_dev *d, char *err, size_t errlen)
{
	int r;

	d->ts = iio_device_find_channel(d->dev, "timestamp", false);
	if (d->ts && iio_channel_is_scan_element(d->ts)) {
		const struct iio_data_format *df = iio_channel_get_data_format(d->ts);

		d->ts_fmt = (struct lt_iio_format){ .bits = df->bits,
						    .storage_bits = df->length,
						    .shift = df->shift,
						    .repeat = 1,
						    .is_signed = df->is_signed,
						    .is_be = df->is_be };
		if (lt_iio_format_check(&d->ts_fmt, err, errlen) < 0)
			d->ts = NULL;
		else
			iio_channel_enable(d->ts);
	} else {
		d->ts = NULL;
	}
	d->ts_clock = iio_ts_clock(d->dev);
	r = iio_setup_trigger(dev, d, err, errlen);
	if (r < 0)
		return r;
	/*
	 * libiio 0.24's local backend makes the kernel's buffer "kernel buffers
	 * count" times the scans of one refill, and its watermark one refill:
	 * so a refill is a watermark, and the count makes up the length.
	 */
	d->refill = iio_watermark(d);
	r = iio_device_set_kernel_buffers_count(d->dev, (unsigned)(d->scans / d->refill));
	if (r < 0) {
		snprintf(err, errlen, "buffer: %llu kernel blocks: %s",
			 (unsigned long long)(d->scans / d->refill), strerror(-r));
		return r;
	}
	d->buf = iio_device_create_buffer(d->dev, (size_t)d->refill, false);
	if (!d->buf) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot start its buffer: %s%s",
			 iio_device_get_id(d->dev), strerror(-r),
			 r == -EINVAL || r == -EBUSY ? " (does it need a trigger? see trigger =)"
						     : "");
		return r;
	}
	r = iio_buffer_set_blocking_mode(d->buf, false);
	if (r < 0) {
		snprintf(err, errlen, "buffer: %s", strerror(-r));
		return r;
	}
	d->next_check = lt_mono_ns() + IIO_CHECK_NS;
	return 0;
}

/* Stop the buffer and drop the context (not the metrics: see iio_close). */
static void iio_release(struct iio_dev *d)
{
	if (d->buf)
		iio_buffer_destroy(d->buf);
	d->buf = NULL;
	if (d->ctx)
		iio_context_destroy(d->ctx);
	d->ctx = NULL;
	d->dev = NULL;
	d->ts = NULL;
}

static void iio_close(struct lt_device *dev)
{
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct iio_metric *im = lt_metric_priv(lt_device_metric(dev, i));

		if (im)
			im->ch = NULL;
	}
	iio_release(lt_device_priv(dev));
}

static int iio_open(struct lt_device *dev, char *err, size_t errlen)
{
	struct iio_dev *d = lt_device_priv(dev);
	unsigned n = lt_device_nmetrics(dev), nbuf = 0;
	char list[160];
	int r = 0;

	d->ctx = iio_create_local_context();
	if (!d->ctx) {
		r = -errno;
		snprintf(err, errlen, "cannot open the local IIO context: %s", strerror(-r));
		lt_device_set_condition(dev, "no IIO");
		return r;
	}
	d->dev = iio_find(d->ctx, d->device, false, list, sizeof(list));
	if (!d->dev) {
		snprintf(err, errlen, "device: no IIO device \"%s\" (%s%s)", d->device,
			 *list ? "devices: " : "no IIO devices at all", list);
		lt_device_set_condition(dev, d->seen ? "device gone" : "no device");
		r = -ENODEV;
		goto fail;
	}
	d->seen = true;
	d->gone = false;
	lt_device_set_condition(dev, NULL);
	/* Only the channels of our metrics go into the scans. */
	for (unsigned i = 0; i < iio_device_get_channels_count(d->dev); i++)
		iio_channel_disable(iio_device_get_channel(d->dev, i));
	for (unsigned i = 0; i < n && r == 0; i++) {
		struct lt_metric *m = lt_device_metric(dev, i);

		r = iio_bind(d, m, err, errlen);
		nbuf += ((struct iio_metric *)lt_metric_priv(m))->mode == IIO_BUFFERED;
	}
	if (r == 0 && nbuf)
		r = iio_start_buffer(dev, d, err, errlen);
	if (r < 0)
		goto fail;
	return 0;
fail:
	iio_close(dev);
	return r;
}

/* ---- sampling ---------------------------------------------------------------- */

/* A failed read or refill: is the device gone? Logged once. */
static int iio_failed(struct lt_device *dev, struct iio_dev *d, int r, const char *what)
{
	if (r != -ENODEV && r != -ENOENT)
		return r;
	if (!d->gone)
		lt_device_log(dev, LOG_WARNING, "%s gone (%s: %s)", d->device, what, strerror(-r));
	d->gone = true;
	lt_device_set_condition(dev, "device gone");
	return -ENODEV;
}

static int iio_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct iio_dev *d = lt_device_priv(dev);
	struct iio_metric *im = lt_metric_priv(m);
	double v;
	int r;

	if (!im->ch)
		return -ENODEV;
	r = iio_channel_attr_read_double(im->ch, im->has_input ? "input" : "raw", &v);
	if (r < 0) {
		if (iio_failed(dev, d, r, "reading a channel") == -ENODEV)
			return -ENODEV;
		if (!im->failed)
			lt_metric_log(m, LOG_WARNING, "cannot read %s: %s", im->channel,
				      strerror(-r));
		im->failed = true;
		return r;
	}
	if (im->failed)
		lt_metric_log(m, LOG_INFO, "%s readable again", im->channel);
	im->failed = false;
	if (!im->has_input)
		v = (v + im->offset) * im->scale;
	*value = v * im->mul + im->add;
	return 0;
}

/* Emit every scan of the last refill (@bytes of them). */
static void iio_emit_scans(struct lt_device *dev, struct iio_dev *d, size_t bytes)
{
	ptrdiff_t step = iio_buffer_step(d->buf);
	const unsigned char *ts = d->ts ? iio_buffer_first(d->buf, d->ts) : NULL;
	uint64_t to_real = d->ts ? iio_clock_to_real(d->ts_clock) : 0, now = lt_real_ns();
	size_t nscans = step > 0 ? bytes / (size_t)step : 0;
	unsigned n = lt_device_nmetrics(dev);

	for (unsigned i = 0; i < n; i++) {
		struct iio_metric *im = lt_metric_priv(lt_device_metric(dev, i));

		im->first = im->mode == IIO_BUFFERED ? iio_buffer_first(d->buf, im->ch) : NULL;
	}
	for (size_t k = 0; k < nscans; k++) {
		size_t at = k * (size_t)step;
		uint64_t t = ts ? lt_iio_value_u64(&d->ts_fmt, ts + at, 0) + to_real : now;

		for (unsigned i = 0; i < n; i++) {
			struct lt_metric *m = lt_device_metric(dev, i);
			struct iio_metric *im = lt_metric_priv(m);
			double v;

			if (!im->first)
				continue;
			v = lt_iio_value(&im->fmt, im->first + at, im->element);
			lt_emit(m, (v + im->offset) * im->scale * im->mul + im->add, t);
		}
	}
	if (d->n_scans)
		lt_count(d->n_scans, nscans);
}

static void iio_poll(struct lt_device *dev, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct iio_dev *d = lt_device_priv(dev);

	if (!d->buf)
		return;
	pfd->fd = iio_buffer_get_poll_fd(d->buf);
	pfd->events = POLLIN;
	if ((int64_t)d->next_check < *deadline_ns)
		*deadline_ns = (int64_t)d->next_check;
}

static int iio_dispatch(struct lt_device *dev, short revents, uint64_t now_ns)
{
	struct iio_dev *d = lt_device_priv(dev);
	size_t full;
	ssize_t got;

	if (!d->buf)
		return 0;
	if (now_ns >= d->next_check)
		d->next_check = now_ns + IIO_CHECK_NS;
	full = (size_t)d->refill * (size_t)iio_buffer_step(d->buf);
	for (int round = 0; round < IIO_REFILLS_MAX; round++) {
		got = iio_buffer_refill(d->buf);
		if (got == -EAGAIN)
			return 0;
		if (got < 0) {
			int r = iio_failed(dev, d, (int)got, "reading its buffer");

			if (r != -ENODEV)
				lt_device_log(dev, LOG_WARNING,
					      "reading its buffer: %s; opening the device again",
					      strerror(-r));
			return -ENODEV;
		}
		if (d->n_refills)
			lt_count(d->n_refills, 1);
		iio_emit_scans(dev, d, (size_t)got);
		if ((size_t)got < full)
			return 0; /* drained */
	}
	return 0; /* more next time: the descriptor stays readable */
}

/* ---- freeing ------------------------------------------------------------------- */

static void iio_metric_free(struct lt_metric *m)
{
	struct iio_metric *im = lt_metric_priv(m);

	if (!im)
		return;
	free(im->channel);
	free(im);
	lt_metric_set_priv(m, NULL);
}

static void iio_device_free(struct lt_device *dev)
{
	struct iio_dev *d = lt_device_priv(dev);

	if (!d)
		return;
	iio_release(d); /* the metrics are freed already */
	free(d->device);
	free(d->trigger);
	iio_attrs_free(d);
	free(d);
	lt_device_set_priv(dev, NULL);
}

const struct lt_device_driver lt_device_iio = {
	.name = "iio",
	.device_init = iio_device_init,
	.device_option = iio_device_option,
	.device_check = iio_device_check,
	.metric_init = iio_metric_init,
	.metric_option = iio_metric_option,
	.metric_check = iio_metric_check,
	.open = iio_open,
	.read = iio_read,
	.poll = iio_poll,
	.dispatch = iio_dispatch,
	.close = iio_close,
	.metric_free = iio_metric_free,
	.device_free = iio_device_free,
};

static int iio_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_iio, err, errlen);
}

LT_INTREE_PACKAGE(iio, .name = "iio", .version = PACKAGE_VERSION, .init = iio_package_init);
