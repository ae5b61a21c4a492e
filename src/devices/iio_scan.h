/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IIO scan elements and units, without libiio: how one channel's value is
 * stored in a buffered scan (the kernel's scan_elements/<ch>_type format,
 * "le:s12/16>>4", "be:u13/16X2>>0"), and the table of the IIO ABI's units
 * (Documentation/ABI/testing/sysfs-bus-iio) with the conversions liotad
 * offers. Pure functions: the unit tests check them against hand-made scans.
 */
#ifndef LT_IIO_SCAN_H
#define LT_IIO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * struct lt_iio_format - one scan element.
 * @bits:         bits of the value (realbits), 1..64;
 * @storage_bits: bits it takes in the scan: 8, 16, 32 or 64, >= bits + shift;
 * @shift:        right shift to apply to the stored word first;
 * @repeat:       how many values of this layout follow each other (>= 1);
 * @is_signed:    two's complement, sign-extended from bit @bits - 1;
 * @is_be:        the stored word is big-endian (else little-endian).
 */
struct lt_iio_format {
	unsigned bits, storage_bits, shift, repeat;
	bool is_signed, is_be;
};

/*
 * Parse the kernel's scan element type ("le:s12/16>>4", with an optional
 * "X<repeat>" after the storage bits) into *@f. 0, or -EINVAL with a reason
 * in @err (and *@f untouched).
 */
int lt_iio_format_parse(const char *s, struct lt_iio_format *f, char *err, size_t errlen);

/* Check a format (from libiio or the parser): 0, or -EINVAL with a reason. */
int lt_iio_format_check(const struct lt_iio_format *f, char *err, size_t errlen);

/*
 * The @i-th value (i < repeat) of the element stored at @p (storage_bits /
 * 8 bytes per value, no alignment needed): shifted, masked to @bits and,
 * when signed, sign-extended. lt_iio_value_u64 gives the bits as a uint64_t
 * (a signed value as its two's complement), lt_iio_value the number.
 */
uint64_t lt_iio_value_u64(const struct lt_iio_format *f, const void *p, unsigned i);
double lt_iio_value(const struct lt_iio_format *f, const void *p, unsigned i);

/*
 * The IIO ABI's unit of channel type @type ("temp", "accel", ... as in the
 * channel's id), or NULL when liotad's table does not know the type.
 */
const char *lt_iio_abi_unit(const char *type);

/*
 * How to publish a value of channel type @type in @unit: value * *@mul +
 * *@add. An empty @unit is the ABI unit (1, 0). -ENOENT when the type is not
 * in the table (only an empty unit then), -EINVAL when @unit is not one the
 * type converts to; both with a reason in @err that lists the units.
 */
int lt_iio_unit_conv(const char *type, const char *unit, double *mul, double *add, char *err,
		     size_t errlen);

/*
 * The channel type of a channel id ("temp" of "temp0", "accel" of
 * "accel_x", "voltage" of "voltage1-voltage2"), a leading "in_" or "out_"
 * skipped, into @buf. 0, or -EINVAL when @id does not start with a type.
 */
int lt_iio_channel_type(const char *id, char *buf, size_t len);

#endif
