/* SPDX-License-Identifier: BSD-2-Clause */
/* IIO scan element decoding and the IIO ABI's units: see iio_scan.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/iio_scan.h"

int lt_iio_format_check(const struct lt_iio_format *f, char *err, size_t errlen)
{
	unsigned sb = f->storage_bits;

	if (sb != 8 && sb != 16 && sb != 32 && sb != 64) {
		snprintf(err, errlen, "storage of %u bits (8, 16, 32 or 64 are supported)", sb);
		return -EINVAL;
	}
	if (f->bits == 0 || f->bits > sb || f->shift >= sb || f->bits + f->shift > sb) {
		snprintf(err, errlen, "%u bits shifted by %u do not fit in %u storage bits",
			 f->bits, f->shift, sb);
		return -EINVAL;
	}
	if (f->repeat == 0) {
		snprintf(err, errlen, "a repeat of 0");
		return -EINVAL;
	}
	return 0;
}

/* The decimal number at *@s, moving *@s past it; -1 when there is none. */
static long fmt_number(const char **s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**s))
		return -1;
	errno = 0;
	v = strtol(*s, &end, 10);
	if (errno || v > 1024)
		return -1;
	*s = end;
	return v;
}

int lt_iio_format_parse(const char *s, struct lt_iio_format *out, char *err, size_t errlen)
{
	struct lt_iio_format f = { .repeat = 1 };
	const char *p = s;
	long bits, sb, rep = 1, shift;
	int r;

	if (strncmp(p, "le:", 3) != 0 && strncmp(p, "be:", 3) != 0)
		goto bad;
	f.is_be = p[0] == 'b';
	p += 3;
	if (*p != 's' && *p != 'S' && *p != 'u' && *p != 'U')
		goto bad;
	f.is_signed = *p == 's' || *p == 'S';
	p++;
	bits = fmt_number(&p);
	if (bits < 0 || *p++ != '/')
		goto bad;
	sb = fmt_number(&p);
	if (sb < 0)
		goto bad;
	if (*p == 'X') {
		p++;
		rep = fmt_number(&p);
		if (rep < 0)
			goto bad;
	}
	if (strncmp(p, ">>", 2) != 0)
		goto bad;
	p += 2;
	shift = fmt_number(&p);
	if (shift < 0 || *p)
		goto bad;
	f.bits = (unsigned)bits;
	f.storage_bits = (unsigned)sb;
	f.repeat = (unsigned)rep;
	f.shift = (unsigned)shift;
	r = lt_iio_format_check(&f, err, errlen);
	if (r < 0)
		return r;
	*out = f;
	return 0;
bad:
	snprintf(err, errlen, "scan element type '%s' is not [lb]e:[su]BITS/STORAGE[Xn]>>SHIFT", s);
	return -EINVAL;
}

uint64_t lt_iio_value_u64(const struct lt_iio_format *f, const void *p, unsigned i)
{
	unsigned nbytes = f->storage_bits / 8;
	const unsigned char *b = (const unsigned char *)p + (size_t)i * nbytes;
	uint64_t w = 0;

	for (unsigned k = 0; k < nbytes; k++) {
		unsigned idx = f->is_be ? k : nbytes - 1 - k;

		w = w << 8 | b[idx];
	}
	w >>= f->shift;
	if (f->bits < 64) {
		uint64_t mask = (UINT64_C(1) << f->bits) - 1;

		w &= mask;
		if (f->is_signed && (w >> (f->bits - 1)) & 1)
			w |= ~mask;
	}
	return w;
}

double lt_iio_value(const struct lt_iio_format *f, const void *p, unsigned i)
{
	uint64_t w = lt_iio_value_u64(f, p, i);

	return f->is_signed ? (double)(int64_t)w : (double)w;
}

/* ---- units ----------------------------------------------------------------- */

/* A unit a channel type can be published in: value_in_abi_unit * mul + add. */
struct iio_unit {
	const char *name;
	double mul, add;
};

#define IIO_UNITS_MAX 5

/*
 * The channel types whose unit the IIO ABI defines, the first unit being
 * that ABI unit (what the kernel's processed or scaled value is in). Names
 * are udunits2's, since the core checks a metric's unit with it and DCCs
 * register udunits2's name: "gravity" (g would be the gram), "degree",
 * "gauss", "mpercent" (milli-percent), "count".
 */
static const struct iio_type_units {
	const char *type;
	struct iio_unit units[IIO_UNITS_MAX];
} iio_types[] = {
	{ "voltage", { { "mV", 1, 0 }, { "V", 1e-3, 0 }, { "uV", 1e3, 0 } } },
	{ "altvoltage", { { "mV", 1, 0 }, { "V", 1e-3, 0 } } },
	{ "current", { { "mA", 1, 0 }, { "A", 1e-3, 0 }, { "uA", 1e3, 0 } } },
	{ "power", { { "mW", 1, 0 }, { "W", 1e-3, 0 } } },
	{ "temp",
	  { { "m°C", 1, 0 }, { "°C", 1e-3, 0 }, { "degC", 1e-3, 0 }, { "K", 1e-3, 273.15 } } },
	{ "accel", { { "m/s^2", 1, 0 }, { "gravity", 1 / 9.80665, 0 } } },
	{ "gravity", { { "m/s^2", 1, 0 }, { "gravity", 1 / 9.80665, 0 } } },
	{ "anglvel", { { "rad/s", 1, 0 }, { "degree/s", 180 / M_PI, 0 } } },
	{ "angl", { { "rad", 1, 0 }, { "degree", 180 / M_PI, 0 } } },
	{ "magn", { { "gauss", 1, 0 }, { "T", 1e-4, 0 }, { "uT", 100, 0 } } },
	{ "pressure", { { "kPa", 1, 0 }, { "Pa", 1e3, 0 }, { "hPa", 10, 0 } } },
	{ "humidityrelative", { { "mpercent", 1, 0 }, { "%", 1e-3, 0 } } },
	{ "illuminance", { { "lx", 1, 0 } } },
	{ "capacitance", { { "nF", 1, 0 }, { "pF", 1e3, 0 }, { "uF", 1e-3, 0 } } },
	{ "distance", { { "m", 1, 0 }, { "cm", 100, 0 }, { "mm", 1e3, 0 } } },
	{ "velocity", { { "m/s", 1, 0 }, { "km/h", 3.6, 0 } } },
	{ "positionrelative", { { "mpercent", 1, 0 }, { "%", 1e-3, 0 } } },
	{ "steps", { { "count", 1, 0 } } },
	{ "timestamp", { { "ns", 1, 0 }, { "us", 1e-3, 0 }, { "ms", 1e-6, 0 }, { "s", 1e-9, 0 } } },
};

static const struct iio_type_units *iio_type_find(const char *type)
{
	for (size_t i = 0; i < sizeof(iio_types) / sizeof(iio_types[0]); i++)
		if (strcmp(iio_types[i].type, type) == 0)
			return &iio_types[i];
	return NULL;
}

const char *lt_iio_abi_unit(const char *type)
{
	const struct iio_type_units *t = iio_type_find(type);

	return t ? t->units[0].name : NULL;
}

int lt_iio_unit_conv(const char *type, const char *unit, double *mul, double *add, char *err,
		     size_t errlen)
{
	const struct iio_type_units *t = iio_type_find(type);
	char list[128] = "";
	size_t n = 0;

	if (!*unit) {
		*mul = 1;
		*add = 0;
		return 0;
	}
	if (!t) {
		snprintf(err, errlen,
			 "unit: liotad does not know the unit of IIO channel type %s; leave unit "
			 "empty to publish its value as the kernel gives it",
			 type);
		return -ENOENT;
	}
	for (size_t i = 0; i < IIO_UNITS_MAX && t->units[i].name; i++) {
		if (strcmp(t->units[i].name, unit) == 0) {
			*mul = t->units[i].mul;
			*add = t->units[i].add;
			return 0;
		}
		n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s",
				      i ? ", " : "", t->units[i].name);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
	}
	snprintf(err, errlen, "unit: IIO %s channels are in %s; '%s' is not one of %s", type,
		 t->units[0].name, unit, list);
	return -EINVAL;
}

int lt_iio_channel_type(const char *id, char *buf, size_t len)
{
	size_t n = 0;

	if (strncmp(id, "in_", 3) == 0)
		id += 3;
	else if (strncmp(id, "out_", 4) == 0)
		id += 4;
	while (islower((unsigned char)id[n]))
		n++;
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(buf, id, n);
	buf[n] = '\0';
	return 0;
}
