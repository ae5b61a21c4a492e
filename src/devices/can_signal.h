/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the CAN driver wants from a frame, as pure functions (no I/O, unit
 * tested on their own): DBC-style signals (where a value sits in the data
 * bytes and how it scales) and CAN ID matches (which frames carry it, and
 * the kernel filters that let only those through).
 */
#ifndef LT_CAN_SIGNAL_H
#define LT_CAN_SIGNAL_H

#include <linux/can.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Data bytes of the longest frame (CAN FD). */
#define CAN_SIG_MAX_BYTES CANFD_MAX_DLEN

enum can_byte_order {
	CAN_SIG_INTEL,    /* little-endian: start bit is the LSB, bits count upward */
	CAN_SIG_MOTOROLA, /* big-endian: start bit is the MSB in DBC's sawtooth numbering */
};

/*
 * struct can_signal - one signal, as a DBC "SG_" line describes it. Bit b of
 * the data is bit b % 8 (0 = least significant) of byte b / 8.
 * @start:     DBC start bit, 0..511.
 * @length:    bits, 1..64.
 * @order:     byte order.
 * @is_signed: two's complement.
 * @scale, @offset: value = raw * scale + offset.
 */
struct can_signal {
	unsigned start;
	unsigned length;
	enum can_byte_order order;
	bool is_signed;
	double scale;
	double offset;
};

/* Data bytes a frame needs to carry @s (last byte's index + 1), for a valid @s. */
unsigned can_signal_bytes(const struct can_signal *s);
/* -EINVAL with a reason in @err when @s is out of range or ends past byte 64. */
int can_signal_check(const struct can_signal *s, char *err, size_t errlen);
/*
 * The raw bits of @s in @data (@len bytes), sign-extended when signed.
 * -ERANGE when the frame is too short to carry the signal.
 */
int can_signal_raw(const struct can_signal *s, const uint8_t *data, unsigned len, uint64_t *raw);
/*
 * raw * scale + offset. A 64-bit raw value converts to double exactly only
 * up to 2^53 in magnitude; above it rounds to the nearest double.
 */
double can_signal_value(const struct can_signal *s, uint64_t raw);
/* can_signal_raw() then can_signal_value(). */
int can_signal_decode(const struct can_signal *s, const uint8_t *data, unsigned len, double *value);

/*
 * struct can_id_match - the frames a metric listens to: those whose ID
 * equals @id on the bits of @mask, of the same format (@ext: 29-bit).
 */
struct can_id_match {
	uint32_t id;
	uint32_t mask;
	bool ext;
};

/* What one metric takes from the bus: the frames, and the signal in them. */
struct can_metric_conf {
	struct can_id_match match;
	struct can_signal sig;
};

/* Whether a received frame's can_id (flags included) matches @m; never RTR or error frames. */
bool can_id_matches(const struct can_id_match *m, canid_t can_id);
/*
 * The kernel filters (CAN_RAW_FILTER) for @n matches: one per distinct
 * (id & mask, mask, ext), data frames only. Writes at most @max filters;
 * returns how many, or -E2BIG when more than @max are needed.
 */
int can_filters_build(const struct can_id_match *m, size_t n, struct can_filter *out, size_t max);

#endif
