/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Units of measure, checked with udunits2 while a configuration is loaded.
 *
 * A metric's `unit` and `publish_unit` are parsed by udunits2; a conversion
 * between them is reduced to y = a * x + b once, at configuration time, so
 * that the publisher converts a sample with one multiply-add and no library
 * call, and the unit system (its XML database parsed into memory) is freed
 * as soon as the configuration is built: see docs/architecture.md, "Units".
 *
 * Nothing here is thread-safe (udunits2 is not): one loader thread uses a
 * struct lt_units at a time.
 */
#ifndef LT_UNITS_H
#define LT_UNITS_H

#include <stdbool.h>
#include <stddef.h>

/* A converter precomputed from udunits2's: y = a * x + b. */
struct lt_unit_conv {
	double a, b;
};

static inline double lt_unit_convert(const struct lt_unit_conv *c, double x)
{
	return c->a * x + c->b;
}

/* The unit system, loaded by lt_units_open(); NULL until a unit is used. */
struct lt_units;

/*
 * lt_units_open - load udunits2's unit database (UDUNITS2_XML_PATH or the
 * installed one). Returns NULL with @err set when it cannot be read.
 */
struct lt_units *lt_units_open(char *err, size_t errlen);
void lt_units_close(struct lt_units *u);

/*
 * lt_units_check - 0 if @spec is a unit udunits2 knows; else -EINVAL and
 * @err says so, with "did you mean X?" when a known unit is close (a case
 * variant, a name it begins, a product written without its space such as
 * "kWh", or a small edit distance).
 */
int lt_units_check(struct lt_units *u, const char *spec, char *err, size_t errlen);

/*
 * lt_units_converter - the affine converter from unit @from to unit @to
 * (both checked). -EINVAL with @err when they measure different things, or
 * when the conversion is not affine (logarithmic units such as dBm): those
 * are refused rather than converted by a library call per sample.
 */
int lt_units_converter(struct lt_units *u, const char *from, const char *to,
		       struct lt_unit_conv *cv, char *err, size_t errlen);

/*
 * lt_units_describe - the SI prefix name and the unit's name as udunits2
 * names them, for DCCs that register units (IoTCC): "kPa" -> "kilo",
 * "pascal"; "degC" -> "", "degree Celsius"; "km/h" -> "kilo", "meter per
 * hour". A unit udunits2 has no name for (a product, a power, a bare number
 * such as "%") gets no prefix and its name as written. Returns malloc'd
 * strings in @prefix and @name; 0, or -EINVAL when @spec is not a unit.
 */
int lt_units_describe(struct lt_units *u, const char *spec, char **prefix, char **name);

#endif
