/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * DBC-style signal decoding and CAN ID matching (see can_signal.h).
 *
 * DBC numbers bit b of the data as bit b % 8 of byte b / 8. An Intel
 * signal's start bit is its LSB and its bits follow upward, crossing into
 * the next byte at its bit 0. A Motorola signal's start bit is its MSB; its
 * bits follow downward within a byte and continue at bit 7 of the next
 * byte (the "sawtooth"): start 7, length 16 is byte 0 then byte 1,
 * big-endian.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/can_signal.h"

unsigned can_signal_bytes(const struct can_signal *s)
{
	unsigned first = s->start / 8, in_first;

	if (s->order == CAN_SIG_INTEL)
		return (s->start + s->length - 1) / 8 + 1;
	in_first = s->start % 8 + 1; /* the MSB's bit and the ones below it */
	if (s->length <= in_first)
		return first + 1;
	return first + 1 + (s->length - in_first + 7) / 8;
}

int can_signal_check(const struct can_signal *s, char *err, size_t errlen)
{
	if (s->length < 1 || s->length > 64) {
		snprintf(err, errlen, "length must be 1 to 64 bits");
		return -EINVAL;
	}
	if (s->start >= CAN_SIG_MAX_BYTES * 8) {
		snprintf(err, errlen, "start_bit must be 0 to %d", CAN_SIG_MAX_BYTES * 8 - 1);
		return -EINVAL;
	}
	if (can_signal_bytes(s) > CAN_SIG_MAX_BYTES) {
		snprintf(err, errlen, "%u bits from start bit %u (%s) end past the 64th data byte",
			 s->length, s->start, s->order == CAN_SIG_INTEL ? "intel" : "motorola");
		return -EINVAL;
	}
	return 0;
}

static inline uint64_t low_bits(unsigned n)
{
	return n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
}

int can_signal_raw(const struct can_signal *s, const uint8_t *data, unsigned len, uint64_t *raw)
{
	unsigned pos = s->start, got = 0;
	uint64_t v = 0;

	if (can_signal_bytes(s) > len)
		return -ERANGE;
	/* A byte's worth of bits at a time: at most 9 steps for 64 bits. */
	if (s->order == CAN_SIG_INTEL) {
		while (got < s->length) {
			unsigned sh = pos % 8, n = 8 - sh;

			if (n > s->length - got)
				n = s->length - got;
			v |= (uint64_t)((data[pos / 8] >> sh) & low_bits(n)) << got;
			got += n;
			pos += n;
		}
	} else {
		while (got < s->length) {
			unsigned avail = pos % 8 + 1, n = avail; /* from bit pos down to bit 0 */

			if (n > s->length - got)
				n = s->length - got;
			/* n <= 8, so v << n never shifts by 64; v has length - got free bits */
			v = (v << n) | ((data[pos / 8] >> (avail - n)) & low_bits(n));
			got += n;
			pos = (pos / 8 + 1) * 8 + 7; /* bit 7 of the next byte */
		}
	}
	if (s->is_signed && s->length < 64 && (v >> (s->length - 1)) & 1)
		v |= ~low_bits(s->length);
	*raw = v;
	return 0;
}

double can_signal_value(const struct can_signal *s, uint64_t raw)
{
	double r = s->is_signed ? (double)(int64_t)raw : (double)raw;

	return r * s->scale + s->offset;
}

int can_signal_decode(const struct can_signal *s, const uint8_t *data, unsigned len, double *value)
{
	uint64_t raw;
	int r = can_signal_raw(s, data, len, &raw);

	if (r == 0)
		*value = can_signal_value(s, raw);
	return r;
}

bool can_id_matches(const struct can_id_match *m, canid_t can_id)
{
	bool ext = can_id & CAN_EFF_FLAG;

	if (can_id & (CAN_ERR_FLAG | CAN_RTR_FLAG))
		return false;
	if (ext != m->ext)
		return false;
	return ((can_id & CAN_EFF_MASK) ^ m->id) & m->mask ? false : true;
}

int can_filters_build(const struct can_id_match *m, size_t n, struct can_filter *out, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		/*
		 * The format and RTR flags join the mask: a standard filter then
		 * lets no extended frame through (nor the reverse), and no
		 * remote frame, which carries no data to decode.
		 */
		struct can_filter f = {
			.can_id = (m[i].id & m[i].mask) | (m[i].ext ? CAN_EFF_FLAG : 0),
			.can_mask = m[i].mask | CAN_EFF_FLAG | CAN_RTR_FLAG,
		};
		size_t j;

		for (j = 0; j < k; j++)
			if (out[j].can_id == f.can_id && out[j].can_mask == f.can_mask)
				break;
		if (j < k)
			continue;
		if (k == max)
			return -E2BIG;
		out[k++] = f;
	}
	return (int)k;
}
