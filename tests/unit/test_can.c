/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CAN driver: DBC signal decoding value by value (vectors derived by
 * hand from the DBC bit numbering, written out next to each), ID matching
 * and kernel filters, option parsing, and the receive path (dispatch, read,
 * error frames) fed through a Unix datagram socket pair, since the build
 * machine's kernel has no CAN. The raw socket itself is tested in the
 * guest (tests/vm/guest/can.test).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>

#include "drvfix.h"
#include "unit.h"
#include "devices/can_signal.h"
#include "devices/devices.h"
#include "model.h"
#include "ring.h"
#include "sampler.h"
#include "util.h"

#define NSEC 1000000000ull

/* ---- signals ------------------------------------------------------------ */

static const uint8_t D[8] = { 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0 };

static struct can_signal sig(unsigned start, unsigned length, enum can_byte_order o, bool sgn)
{
	struct can_signal s = { .start = start,
				.length = length,
				.order = o,
				.is_signed = sgn,
				.scale = 1,
				.offset = 0 };
	return s;
}

static uint64_t raw_ok(struct can_signal s, const uint8_t *data, unsigned len)
{
	uint64_t raw = 0xdeadbeef;

	ck_assert_int_eq(can_signal_raw(&s, data, len, &raw), 0);
	return raw;
}

static double value_ok(struct can_signal s, const uint8_t *data, unsigned len)
{
	double v = NAN;

	ck_assert_int_eq(can_signal_decode(&s, data, len, &v), 0);
	return v;
}

START_TEST(intel_unsigned_values)
{
	/* Intel: bit b is bit b%8 of byte b/8, the signal's LSB at start, upward. */
	ck_assert_uint_eq(raw_ok(sig(0, 8, CAN_SIG_INTEL, false), D, 8), 0x12);
	ck_assert_uint_eq(raw_ok(sig(8, 8, CAN_SIG_INTEL, false), D, 8), 0x34);
	/* little-endian 16 bits: byte 0 low, byte 1 high */
	ck_assert_uint_eq(raw_ok(sig(0, 16, CAN_SIG_INTEL, false), D, 8), 0x3412);
	/* bits 4..11: 0x12 >> 4 = 0x1 low nibble, 0x34 & 0xF = 0x4 high nibble */
	ck_assert_uint_eq(raw_ok(sig(4, 8, CAN_SIG_INTEL, false), D, 8), 0x41);
	/* bits 12..23: 0x34 >> 4 = 0x3, then all of 0x56 above it */
	ck_assert_uint_eq(raw_ok(sig(12, 12, CAN_SIG_INTEL, false), D, 8), 0x563);
	/* single bits of 0x12 = 0b00010010 */
	ck_assert_uint_eq(raw_ok(sig(0, 1, CAN_SIG_INTEL, false), D, 8), 0);
	ck_assert_uint_eq(raw_ok(sig(1, 1, CAN_SIG_INTEL, false), D, 8), 1);
	ck_assert_uint_eq(raw_ok(sig(4, 1, CAN_SIG_INTEL, false), D, 8), 1);
	ck_assert_uint_eq(raw_ok(sig(7, 1, CAN_SIG_INTEL, false), D, 8), 0);
	/* bits 1..3 of 0x12: 0b001 */
	ck_assert_uint_eq(raw_ok(sig(1, 3, CAN_SIG_INTEL, false), D, 8), 1);
	/* 24 bits from bit 8: 0x785634 */
	ck_assert_uint_eq(raw_ok(sig(8, 24, CAN_SIG_INTEL, false), D, 8), 0x785634);
	/* 7 bits from bit 29: 0x78 bits 5..7 = 0b011 low, 0x9A bits 0..3 = 0xA above */
	ck_assert_uint_eq(raw_ok(sig(29, 7, CAN_SIG_INTEL, false), D, 8), (0xA << 3) | 0x3);
	/* the last byte alone, and the whole frame */
	ck_assert_uint_eq(raw_ok(sig(56, 8, CAN_SIG_INTEL, false), D, 8), 0xF0);
	ck_assert_uint_eq(raw_ok(sig(0, 64, CAN_SIG_INTEL, false), D, 8), 0xF0DEBC9A78563412ull);
	ck_assert_double_eq(value_ok(sig(0, 16, CAN_SIG_INTEL, false), D, 8), 13330.0);
}
END_TEST

START_TEST(motorola_unsigned_values)
{
	/* Motorola: start is the MSB; bits go down within a byte, then on at bit 7 of the next. */
	ck_assert_uint_eq(raw_ok(sig(7, 8, CAN_SIG_MOTOROLA, false), D, 8), 0x12);
	/* big-endian 16 bits: byte 0 high, byte 1 low */
	ck_assert_uint_eq(raw_ok(sig(7, 16, CAN_SIG_MOTOROLA, false), D, 8), 0x1234);
	ck_assert_uint_eq(raw_ok(sig(15, 16, CAN_SIG_MOTOROLA, false), D, 8), 0x3456);
	/* MSB at byte 0 bit 3: 0x12 & 0xF = 0x2 on top of all of 0x34 */
	ck_assert_uint_eq(raw_ok(sig(3, 12, CAN_SIG_MOTOROLA, false), D, 8), 0x234);
	/* byte 0 bits 7..4 */
	ck_assert_uint_eq(raw_ok(sig(7, 4, CAN_SIG_MOTOROLA, false), D, 8), 0x1);
	/* byte 0 bits 5..3 of 0b00010010: 0, 1, 0 */
	ck_assert_uint_eq(raw_ok(sig(5, 3, CAN_SIG_MOTOROLA, false), D, 8), 2);
	/* byte 0 bits 1..0: 0b10 */
	ck_assert_uint_eq(raw_ok(sig(1, 2, CAN_SIG_MOTOROLA, false), D, 8), 2);
	/* 10 bits from byte 1 bit 3: 0x34 & 0xF = 0x4, then 0x56 bits 7..2 = 0b010101 */
	ck_assert_uint_eq(raw_ok(sig(11, 10, CAN_SIG_MOTOROLA, false), D, 8), (0x4 << 6) | 0x15);
	/* three bytes: 0x12 bits 4..0 = 0b10010, all of 0x34, 0x56 bits 7..5 = 0b010 */
	ck_assert_uint_eq(raw_ok(sig(4, 16, CAN_SIG_MOTOROLA, false), D, 8),
			  (0x12u << 11) | (0x34u << 3) | 0x2u);
	/* the whole frame, and a 64-bit value from bit 0 of byte 0 would need 9 bytes */
	ck_assert_uint_eq(raw_ok(sig(7, 64, CAN_SIG_MOTOROLA, false), D, 8), 0x123456789ABCDEF0ull);
	ck_assert_double_eq(value_ok(sig(7, 16, CAN_SIG_MOTOROLA, false), D, 8), 4660.0);
}
END_TEST

START_TEST(motorola_continues_at_bit_7_of_next_byte)
{
	/* start 0: the MSB is byte 0 bit 0, the next bit byte 1 bit 7 */
	const uint8_t f[2] = { 0x01, 0x80 }, g[2] = { 0x00, 0x80 }, h[2] = { 0x01, 0x7F };

	ck_assert_uint_eq(raw_ok(sig(0, 2, CAN_SIG_MOTOROLA, false), f, 2), 3);
	ck_assert_uint_eq(raw_ok(sig(0, 2, CAN_SIG_MOTOROLA, false), g, 2), 1);
	ck_assert_uint_eq(raw_ok(sig(0, 2, CAN_SIG_MOTOROLA, false), h, 2), 2);
	/* the Intel signal of the same start and length is byte 0 bits 0..1 */
	ck_assert_uint_eq(raw_ok(sig(0, 2, CAN_SIG_INTEL, false), f, 2), 1);
}
END_TEST

START_TEST(signed_values)
{
	const uint8_t ff[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	const uint8_t fe[8] = { 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	const uint8_t a[2] = { 0x80, 0x7F }, b[2] = { 0x30, 0xFF }, c[2] = { 0xFF, 0x38 };
	const uint8_t d[1] = { 0x04 }, e[1] = { 0x03 };

	ck_assert_double_eq(value_ok(sig(0, 8, CAN_SIG_INTEL, true), ff, 1), -1);
	ck_assert_double_eq(value_ok(sig(0, 8, CAN_SIG_INTEL, true), a, 2), -128);
	ck_assert_double_eq(value_ok(sig(8, 8, CAN_SIG_INTEL, true), a, 2), 127);
	/* bits 4..15: 0x3 | 0xFF << 4 = 0xFF3, 12-bit two's complement: -13 */
	ck_assert_double_eq(value_ok(sig(4, 12, CAN_SIG_INTEL, true), b, 2), -13);
	ck_assert_double_eq(value_ok(sig(4, 12, CAN_SIG_INTEL, false), b, 2), 0xFF3);
	/* Motorola 0xFF38 = -200 */
	ck_assert_double_eq(value_ok(sig(7, 16, CAN_SIG_MOTOROLA, true), c, 2), -200);
	/* 3 odd bits (byte 0 bits 2..0 = 0b100): -4 signed, 4 unsigned; 0b011: 3 */
	ck_assert_double_eq(value_ok(sig(2, 3, CAN_SIG_MOTOROLA, true), d, 1), -4);
	ck_assert_double_eq(value_ok(sig(2, 3, CAN_SIG_MOTOROLA, false), d, 1), 4);
	ck_assert_double_eq(value_ok(sig(2, 3, CAN_SIG_MOTOROLA, true), e, 1), 3);
	/* one signed bit: 0 or -1 */
	ck_assert_double_eq(value_ok(sig(0, 1, CAN_SIG_INTEL, true), e, 1), -1);
	ck_assert_double_eq(value_ok(sig(2, 1, CAN_SIG_INTEL, true), e, 1), 0);
	/* 64 bits: all ones is -1 signed, 2^64 - 1 unsigned */
	ck_assert_double_eq(value_ok(sig(0, 64, CAN_SIG_INTEL, true), ff, 8), -1);
	ck_assert_double_eq(value_ok(sig(0, 64, CAN_SIG_INTEL, true), fe, 8), -2);
	ck_assert_uint_eq(raw_ok(sig(0, 64, CAN_SIG_INTEL, false), ff, 8), UINT64_MAX);
	ck_assert_double_eq(value_ok(sig(0, 64, CAN_SIG_INTEL, false), ff, 8),
			    18446744073709551616.0);
	ck_assert_uint_eq(raw_ok(sig(0, 64, CAN_SIG_INTEL, true), D, 8), 0xF0DEBC9A78563412ull);
	ck_assert_double_eq(value_ok(sig(0, 64, CAN_SIG_INTEL, true), D, 8),
			    (double)-1090226688147180526ll);
	/* the 64-bit Motorola D is positive: 0x12... */
	ck_assert_double_eq(value_ok(sig(7, 64, CAN_SIG_MOTOROLA, true), D, 8),
			    (double)1311768467463790320ll);
}
END_TEST

START_TEST(scale_and_offset)
{
	const uint8_t kmh[2] = { 0x10, 0x27 }, t[2] = { 0xFF, 0x38 };
	struct can_signal s = sig(0, 16, CAN_SIG_INTEL, false);

	/* 0x2710 = 10000 */
	s.scale = 0.5;
	s.offset = -40;
	ck_assert_double_eq(value_ok(s, kmh, 2), 4960);
	s.scale = 0.01;
	s.offset = 0;
	ck_assert_double_eq_tol(value_ok(s, kmh, 2), 100.0, 1e-9);
	/* signed -200 * 0.5 + 10 */
	s = sig(7, 16, CAN_SIG_MOTOROLA, true);
	s.scale = 0.5;
	s.offset = 10;
	ck_assert_double_eq(value_ok(s, t, 2), -90);
	/* offset only; a negative scale */
	s = sig(0, 8, CAN_SIG_INTEL, false);
	s.offset = 1000;
	ck_assert_double_eq(value_ok(s, D, 1), 1018);
	s.scale = -2;
	s.offset = 0;
	ck_assert_double_eq(value_ok(s, D, 1), -36);
}
END_TEST

START_TEST(fd_lengths)
{
	uint8_t fd[64];

	for (unsigned i = 0; i < 64; i++)
		fd[i] = (uint8_t)i;
	/* byte 63 (bits 504..511) needs the whole 64 bytes */
	ck_assert_uint_eq(raw_ok(sig(504, 8, CAN_SIG_INTEL, false), fd, 64), 63);
	ck_assert_uint_eq(raw_ok(sig(511, 8, CAN_SIG_MOTOROLA, false), fd, 64), 63);
	/* Motorola from byte 49 bit 7: 49 << 8 | 50, needs 51 bytes */
	ck_assert_uint_eq(raw_ok(sig(399, 16, CAN_SIG_MOTOROLA, false), fd, 64), (49u << 8) | 50);
	ck_assert_uint_eq(raw_ok(sig(399, 16, CAN_SIG_MOTOROLA, false), fd, 51), (49u << 8) | 50);
	/* bits 380..391: 47 = 0x2F >> 4 = 0x2, then 48 = 0x30 above: 0x302; needs 49 bytes */
	ck_assert_uint_eq(raw_ok(sig(380, 12, CAN_SIG_INTEL, false), fd, 49), 0x302);
	/* 64 bits at the end of the frame: bytes 56..63 little-endian */
	ck_assert_uint_eq(raw_ok(sig(448, 64, CAN_SIG_INTEL, false), fd, 64),
			  0x3F3E3D3C3B3A3938ull);
	ck_assert_uint_eq(raw_ok(sig(455, 64, CAN_SIG_MOTOROLA, false), fd, 64),
			  0x38393A3B3C3D3E3Full);
}
END_TEST

START_TEST(signal_outside_the_frame_is_a_range_error)
{
	uint8_t fd[64] = { 0 };
	struct can_signal s;
	uint64_t raw = 42;
	double v = 42;

	/* FD lengths: 48 bytes end at bit 383 */
	s = sig(504, 8, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_raw(&s, fd, 48, &raw), -ERANGE);
	s = sig(380, 12, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_raw(&s, fd, 48, &raw), -ERANGE);
	s = sig(399, 16, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_raw(&s, fd, 50, &raw), -ERANGE);
	/* classic: 9 bits from bit 56 need a 9th byte */
	s = sig(56, 9, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_raw(&s, D, 8, &raw), -ERANGE);
	/* a short frame: 16 Motorola bits from byte 0 need 2 bytes */
	s = sig(7, 16, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_raw(&s, D, 1, &raw), -ERANGE);
	ck_assert_int_eq(can_signal_decode(&s, D, 1, &v), -ERANGE);
	s = sig(0, 2, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_raw(&s, D, 1, &raw), -ERANGE);
	/* a frame without data */
	s = sig(0, 1, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_raw(&s, D, 0, &raw), -ERANGE);
	/* outputs untouched */
	ck_assert_uint_eq(raw, 42);
	ck_assert_double_eq(v, 42);
}
END_TEST

START_TEST(bytes_needed)
{
	struct can_signal s;

	s = sig(0, 8, CAN_SIG_INTEL, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 1);
	s = sig(1, 8, CAN_SIG_INTEL, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 2);
	s = sig(0, 64, CAN_SIG_INTEL, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 8);
	s = sig(7, 8, CAN_SIG_MOTOROLA, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 1);
	s = sig(6, 8, CAN_SIG_MOTOROLA, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 2);
	s = sig(0, 1, CAN_SIG_MOTOROLA, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 1);
	s = sig(7, 64, CAN_SIG_MOTOROLA, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 8);
	/* 1 bit in byte 0, 63 more over 8 bytes */
	s = sig(0, 64, CAN_SIG_MOTOROLA, false);
	ck_assert_uint_eq(can_signal_bytes(&s), 9);
}
END_TEST

START_TEST(signal_check_rejects_what_cannot_fit)
{
	char err[128];
	struct can_signal s;

	s = sig(0, 0, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "length must be 1 to 64 bits");
	s = sig(0, 65, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	s = sig(512, 1, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "start_bit must be 0 to 511");
	/* Intel 505..512 ends in a 65th byte; 504..511 fits */
	s = sig(505, 8, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "8 bits from start bit 505 (intel) end past the 64th data byte");
	s = sig(504, 8, CAN_SIG_INTEL, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), 0);
	/* Motorola from byte 63 bit 7: 8 bits fit, 9 do not; from bit 0 of byte 63, 2 do not */
	s = sig(511, 8, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), 0);
	s = sig(511, 9, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	s = sig(504, 2, CAN_SIG_MOTOROLA, false);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), -EINVAL);
	s = sig(7, 64, CAN_SIG_MOTOROLA, true);
	ck_assert_int_eq(can_signal_check(&s, err, sizeof(err)), 0);
}
END_TEST

/*
 * The DBC definition read literally, one bit at a time, against the
 * byte-wise decoder, for every start and length over pseudo-random data.
 */
static uint64_t ref_raw(unsigned start, unsigned length, bool motorola, const uint8_t *data)
{
	uint64_t v = 0;
	unsigned pos = start;

	for (unsigned k = 0; k < length; k++) {
		unsigned bit = (data[pos / 8] >> (pos % 8)) & 1;

		if (motorola) {
			v = v << 1 | bit; /* MSB first */
			pos = pos % 8 ? pos - 1 : pos + 15;
		} else {
			v |= (uint64_t)bit << k; /* LSB first */
			pos++;
		}
	}
	return v;
}

START_TEST(decoder_agrees_with_bit_by_bit_reading)
{
	uint8_t data[64];
	uint64_t x = 0x9E3779B97F4A7C15ull;
	unsigned checked = 0;
	char err[128];

	for (unsigned i = 0; i < 64; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (uint8_t)x;
	}
	for (int o = 0; o < 2; o++) {
		for (unsigned start = 0; start < 512; start++) {
			for (unsigned len = 1; len <= 64; len++) {
				enum can_byte_order bo = o ? CAN_SIG_MOTOROLA : CAN_SIG_INTEL;
				struct can_signal s = sig(start, len, bo, false);
				unsigned n = can_signal_bytes(&s);
				uint64_t raw;

				if (can_signal_check(&s, err, sizeof(err)) < 0)
					continue;
				ck_assert_int_eq(can_signal_raw(&s, data, n, &raw), 0);
				ck_assert_msg(raw == ref_raw(start, len, o, data),
					      "order %d start %u length %u", o, start, len);
				checked++;
			}
		}
	}
	ck_assert_uint_gt(checked, 60000);
}
END_TEST

/* ---- ID matching and kernel filters ------------------------------------ */

START_TEST(id_matching)
{
	struct can_id_match std = { 0x123, 0x7FF, false }, ext = { 0x123, CAN_EFF_MASK, true };
	struct can_id_match range = { 0x120, 0x7F0, false };
	struct can_id_match big = { 0x1ABCDEF0, 0x1FFFFF00, true };

	ck_assert(can_id_matches(&std, 0x123));
	ck_assert(!can_id_matches(&std, 0x124));
	ck_assert(!can_id_matches(&std, 0x123 | CAN_EFF_FLAG));
	ck_assert(!can_id_matches(&std, 0x123 | CAN_RTR_FLAG));
	ck_assert(!can_id_matches(&std, 0x123 | CAN_ERR_FLAG));
	ck_assert(can_id_matches(&ext, 0x123 | CAN_EFF_FLAG));
	ck_assert(!can_id_matches(&ext, 0x123));
	ck_assert(!can_id_matches(&ext, 0x10000123 | CAN_EFF_FLAG));
	ck_assert(can_id_matches(&range, 0x120));
	ck_assert(can_id_matches(&range, 0x12F));
	ck_assert(!can_id_matches(&range, 0x130));
	ck_assert(!can_id_matches(&range, 0x520));
	ck_assert(can_id_matches(&big, 0x1ABCDE12 | CAN_EFF_FLAG));
	ck_assert(!can_id_matches(&big, 0x1ABCDF12 | CAN_EFF_FLAG));
}
END_TEST

START_TEST(filters_one_per_distinct_match)
{
	const struct can_id_match m[] = {
		{ 0x123, 0x7FF, false },
		{ 0x123, 0x7FF, false }, /* the same frame twice */
		{ 0x123, 0x7FF, true },
		{ 0x12F, 0x7F0, false },
		{ 0x120, 0x7F0, false }, /* the same filter as 0x12F/0x7F0 */
		{ 0x1ABCDEF0, CAN_EFF_MASK, true },
	};
	struct can_filter f[8];
	const canid_t std = CAN_EFF_FLAG | CAN_RTR_FLAG;

	ck_assert_int_eq(can_filters_build(m, 6, f, 8), 4);
	ck_assert_uint_eq(f[0].can_id, 0x123);
	ck_assert_uint_eq(f[0].can_mask, 0x7FF | std);
	ck_assert_uint_eq(f[1].can_id, 0x123 | CAN_EFF_FLAG);
	ck_assert_uint_eq(f[1].can_mask, 0x7FF | std);
	ck_assert_uint_eq(f[2].can_id, 0x120);
	ck_assert_uint_eq(f[2].can_mask, 0x7F0 | std);
	ck_assert_uint_eq(f[3].can_id, 0x1ABCDEF0 | CAN_EFF_FLAG);
	ck_assert_uint_eq(f[3].can_mask, CAN_EFF_MASK | std);
	/* the kernel's rule, (id & mask) == (filter id & mask), on a few frames */
	ck_assert_uint_eq(0x12A & f[2].can_mask, f[2].can_id & f[2].can_mask);
	ck_assert_uint_ne((0x12A | CAN_RTR_FLAG) & f[2].can_mask, f[2].can_id & f[2].can_mask);
	ck_assert_uint_ne((0x123 | CAN_EFF_FLAG) & f[0].can_mask, f[0].can_id & f[0].can_mask);
	ck_assert_int_eq(can_filters_build(m, 0, f, 8), 0);
	ck_assert_int_eq(can_filters_build(m, 6, f, 3), -E2BIG);
	ck_assert_int_eq(can_filters_build(m, 6, f, 4), 4);
}
END_TEST

/* ---- the driver: options ------------------------------------------------ */

static void fx_init(struct fx *f)
{
	fx_setup(f, &lt_device_can, "bus");
}

/* A metric with @interval_ns (0: event-driven) and its options (key, value, ..., NULL). */
static struct lt_metric *fx_metric_v(struct fx *f, const char *name, uint64_t interval_ns,
				     va_list ap)
{
	struct lt_metric *m = fx_new_metric(f, name, "", interval_ns);

	fx_opts_va(f, m, ap);
	return m;
}

/* A metric whose options and check must all pass. */
static struct lt_metric *fx_metric(struct fx *f, const char *name, uint64_t interval_ns, ...)
{
	struct lt_metric *m;
	va_list ap;

	va_start(ap, interval_ns);
	m = fx_metric_v(f, name, interval_ns, ap);
	va_end(ap);
	ck_assert_msg(fx_check(f, m) == 0, "check: %s", f->err);
	return m;
}

/* A metric whose options pass and whose check fails with @want. */
static void fx_metric_fails(struct fx *f, const char *want, ...)
{
	struct lt_metric *m;
	va_list ap;

	va_start(ap, want);
	m = fx_metric_v(f, "bad", 0, ap);
	va_end(ap);
	ck_assert_int_eq(fx_check(f, m), -EINVAL);
	ck_assert_str_eq(f->err, want);
}

/* The driver's metric data begins with its struct can_metric_conf. */
static const struct can_signal *fx_sig(struct lt_metric *m)
{
	return &((const struct can_metric_conf *)lt_metric_priv(m))->sig;
}

static const struct can_id_match *fx_match(struct lt_metric *m)
{
	return &((const struct can_metric_conf *)lt_metric_priv(m))->match;
}

START_TEST(device_options)
{
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "vcan0"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", ""), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "a-name-too-long-for-linux"), -EINVAL);
	ck_assert_str_eq(f.err,
			 "'a-name-too-long-for-linux' is not an interface name (can0, vcan0)");
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "can/0"), -EINVAL);
	static const char *const fd_ok[] = { "auto", "yes", "no", "on", "0" };

	for (unsigned i = 0; i < 5; i++)
		ck_assert_int_eq(fx_dev_opt(&f, "fd", fd_ok[i]), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "fd", "maybe"), -EINVAL);
	ck_assert_str_eq(f.err, "'maybe' is not auto, yes or no");
	ck_assert_int_eq(fx_dev_opt(&f, "error_frames", "no"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "error_frames", "sometimes"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "bitrate", "500000"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "bitrate", "500k"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "bitrate", "1M"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "bitrate", "10k"), 0);
	for (const char *const *v =
		     (const char *const[]){ "2M", "999", "500kb", "k", "", "-1", "1.5M", NULL };
	     *v; v++) {
		ck_assert_msg(fx_dev_opt(&f, "bitrate", *v) == -EINVAL, "bitrate %s", *v);
	}
	ck_assert_str_eq(f.err, "'1.5M' is not a bitrate from 1000 to 1000000 (or 10k to 1M)");
	ck_assert_int_eq(fx_dev_opt(&f, "receive_own", "yes"), -ENOENT);
	ck_assert_int_eq(fx_dev_opt(&f, "frame_id", "0x123"), -ENOENT);
	fx_release(&f);
}
END_TEST

START_TEST(metric_options_and_defaults)
{
	struct fx f;
	struct lt_metric *m;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "vcan0"), 0);
	m = fx_metric(&f, "speed", 0, "frame_id", "0x123", "start_bit", "8", "length", "16", NULL);
	ck_assert_uint_eq(fx_match(m)->id, 0x123);
	ck_assert_uint_eq(fx_match(m)->mask, CAN_SFF_MASK);
	ck_assert(!fx_match(m)->ext);
	ck_assert_uint_eq(fx_sig(m)->start, 8);
	ck_assert_uint_eq(fx_sig(m)->length, 16);
	ck_assert_int_eq(fx_sig(m)->order, CAN_SIG_INTEL);
	ck_assert(!fx_sig(m)->is_signed);
	ck_assert_double_eq(fx_sig(m)->scale, 1);
	ck_assert_double_eq(fx_sig(m)->offset, 0);
	ck_assert(lt_metric_is_event_driven(m)); /* no interval */

	m = fx_metric(&f, "rpm", NSEC, "frame_id", "291", "start_bit", "7", "length", "12",
		      "byte_order", "motorola", "signed", "yes", "scale", "0.25", "offset", "-40",
		      NULL);
	ck_assert_uint_eq(fx_match(m)->id, 0x123);
	ck_assert_int_eq(fx_sig(m)->order, CAN_SIG_MOTOROLA);
	ck_assert(fx_sig(m)->is_signed);
	ck_assert_double_eq(fx_sig(m)->scale, 0.25);
	ck_assert_double_eq(fx_sig(m)->offset, -40);
	ck_assert(!lt_metric_is_event_driven(m)); /* polled */

	/* aliases; a leading 0 is decimal, not octal */
	m = fx_metric(&f, "a", 0, "frame_id", "0123", "start_bit", "0", "length", "1", "byte_order",
		      "big_endian", NULL);
	ck_assert_uint_eq(fx_match(m)->id, 123);
	ck_assert_int_eq(fx_sig(m)->order, CAN_SIG_MOTOROLA);
	m = fx_metric(&f, "b", 0, "frame_id", "0X7ff", "start_bit", "0", "length", "64",
		      "byte_order", "little_endian", NULL);
	ck_assert_uint_eq(fx_match(m)->id, 0x7FF);
	ck_assert(!fx_match(m)->ext);
	ck_assert_int_eq(fx_sig(m)->order, CAN_SIG_INTEL);
	fx_release(&f);
}
END_TEST

START_TEST(extended_ids_and_masks)
{
	struct fx f;
	struct lt_metric *m;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "can0"), 0);
	/* auto: above 0x7FF is extended */
	m = fx_metric(&f, "e", 0, "frame_id", "0x800", "start_bit", "0", "length", "8", NULL);
	ck_assert(fx_match(m)->ext);
	ck_assert_uint_eq(fx_match(m)->mask, CAN_EFF_MASK);
	m = fx_metric(&f, "big", 0, "frame_id", "0x1FFFFFFF", "start_bit", "0", "length", "8",
		      NULL);
	ck_assert(fx_match(m)->ext);
	/* a low ID that is extended on the bus */
	m = fx_metric(&f, "low", 0, "frame_id", "0x123", "extended", "yes", "start_bit", "0",
		      "length", "8", NULL);
	ck_assert(fx_match(m)->ext);
	ck_assert_uint_eq(fx_match(m)->mask, CAN_EFF_MASK);
	m = fx_metric(&f, "std", 0, "frame_id", "0x123", "extended", "auto", "start_bit", "0",
		      "length", "8", "mask", "0x7F0", NULL);
	ck_assert(!fx_match(m)->ext);
	ck_assert_uint_eq(fx_match(m)->mask, 0x7F0);
	m = fx_metric(&f, "emask", 0, "frame_id", "0x18FEF100", "mask", "0x3FFFF00", "start_bit",
		      "0", "length", "8", NULL);
	ck_assert_uint_eq(fx_match(m)->mask, 0x3FFFF00);

	fx_metric_fails(&f, "frame_id 0x800 does not fit in a standard 11-bit ID (extended = no)",
			"frame_id", "0x800", "extended", "no", "start_bit", "0", "length", "8",
			NULL);
	fx_metric_fails(&f, "mask 0x800 has bits outside the 11-bit ID (0x7FF)", "frame_id",
			"0x123", "mask", "0x800", "start_bit", "0", "length", "8", NULL);
	fx_release(&f);
}
END_TEST

START_TEST(metric_option_errors)
{
	struct fx f;
	struct lt_metric *m;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "vcan0"), 0);
	m = fx_metric(&f, "m", 0, "frame_id", "0x123", "start_bit", "0", "length", "8", NULL);
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", "0x"), -EINVAL);
	ck_assert_str_eq(f.err, "'0x' is not a number (0x1A3 or 419)");
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", "12a"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", "-1"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", " 1"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", "0x20000000"), -EINVAL);
	ck_assert_str_eq(f.err, "'0x20000000' is out of range (at most 0x1FFFFFFF)");
	ck_assert_int_eq(fx_opt(&f, m, "frame_id", "99999999999999999999999"), -EINVAL);
	ck_assert_uint_eq(fx_match(m)->id, 0x123); /* rejected values change nothing */
	ck_assert_int_eq(fx_opt(&f, m, "mask", "0xZZ"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "extended", "perhaps"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "start_bit", "512"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "length", "0"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "length", "65"), -EINVAL);
	ck_assert_uint_eq(fx_sig(m)->start, 0);
	ck_assert_uint_eq(fx_sig(m)->length, 8);
	ck_assert_int_eq(fx_opt(&f, m, "byte_order", "middle"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown byte order 'middle' (intel, motorola, little_endian or "
				"big_endian)");
	ck_assert_int_eq(fx_opt(&f, m, "signed", "maybe"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "scale", "x"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "offset", "inf"), -EINVAL);
	ck_assert_double_eq(fx_sig(m)->scale, 1);
	ck_assert_int_eq(fx_opt(&f, m, "bogus", "1"), -ENOENT);
	ck_assert_int_eq(fx_opt(&f, m, "interface", "vcan0"), -ENOENT); /* a device key */
	fx_release(&f);
}
END_TEST

START_TEST(metric_check_errors)
{
	struct fx f;

	fx_init(&f);
	/* A missing interface is the device's error, reported once at its section. */
	ck_assert_int_eq(lt_device_can.device_check(f.dev, f.err, sizeof(f.err)), -EINVAL);
	ck_assert_str_eq(f.err, "interface is required (interface = can0)");
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "vcan0"), 0);
	ck_assert_int_eq(lt_device_can.device_check(f.dev, f.err, sizeof(f.err)), 0);
	fx_metric_fails(&f, "frame_id is required", "start_bit", "0", "length", "8", NULL);
	fx_metric_fails(&f, "start_bit is required", "frame_id", "1", "length", "8", NULL);
	fx_metric_fails(&f, "length is required", "frame_id", "1", "start_bit", "0", NULL);
	fx_metric_fails(&f, "8 bits from start bit 505 (intel) end past the 64th data byte",
			"frame_id", "1", "start_bit", "505", "length", "8", NULL);
	/* 9 bytes fit a CAN FD frame: fine unless the device has fd = no */
	fx_metric(&f, "fd", 0, "frame_id", "1", "start_bit", "64", "length", "8", NULL);
	ck_assert_int_eq(fx_dev_opt(&f, "fd", "no"), 0);
	fx_metric_fails(&f,
			"the signal needs 9 data bytes, more than a classic CAN frame's 8 "
			"(the device has fd = no)",
			"frame_id", "1", "start_bit", "64", "length", "8", NULL);
	fx_metric(&f, "classic", 0, "frame_id", "1", "start_bit", "63", "length", "1", NULL);
	fx_release(&f);
}
END_TEST

START_TEST(open_reports_a_missing_interface)
{
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "interface", "ltnocan0"), 0);
	f.err[0] = '\0';
	ck_assert_int_eq(lt_device_can.open(f.dev, f.err, sizeof(f.err)), -ENODEV);
	ck_assert_str_eq(f.err, "no CAN interface ltnocan0");
	fx_release(&f);
}
END_TEST

/* ---- the driver: receiving, through a Unix socket pair ----------------- */

struct rx {
	struct fx f;
	int sp[2]; /* sp[0] stands for the raw socket, the test writes frames into sp[1] */
	struct lt_ring *ring;
	struct lt_ring_producer p;
	struct sampler s;
};

static void rx_init(struct rx *r)
{
	int sndbuf = 1 << 20;

	memset(r, 0, sizeof(*r));
	fx_init(&r->f);
	ck_assert_int_eq(fx_dev_opt(&r->f, "interface", "vcan0"), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, r->sp), 0);
	setsockopt(r->sp[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	ck_assert_int_eq(lt_ring_new(1, 1024, 1, &r->ring), 0);
	lt_ring_producer_init(r->ring, 0, &r->p);
	r->s.dev = r->f.dev;
	r->s.ring = r->ring;
}

/* Once the metrics are in: the device "opens" on sp[0]. */
static void rx_start(struct rx *r, bool fd_frames)
{
	r->s.met = xcalloc(r->f.dev->nmetrics, sizeof(*r->s.met));
	ck_assert_int_eq(lt_can_test_attach(r->f.dev, r->sp[0], fd_frames), 0);
}

static void rx_send_mtu(struct rx *r, canid_t id, const void *data, unsigned len, size_t mtu)
{
	struct canfd_frame f;

	memset(&f, 0, sizeof(f));
	f.can_id = id;
	f.len = (uint8_t)len;
	memcpy(f.data, data, len);
	ck_assert_int_eq(send(r->sp[1], &f, mtu, MSG_DONTWAIT), (ssize_t)mtu);
}

static void rx_send(struct rx *r, canid_t id, const void *data, unsigned len)
{
	rx_send_mtu(r, id, data, len, CAN_MTU);
}

static int rx_dispatch(struct rx *r)
{
	return sampler_dispatch(&r->s, &r->p, POLLIN, lt_mono_ns());
}

static size_t rx_collect(struct rx *r, struct lt_sample *out, size_t max)
{
	return lt_ring_consume(r->ring, out, max);
}

static uint64_t rx_counter(struct rx *r, const char *name)
{
	for (unsigned i = 0; i < r->f.dev->ncounters; i++)
		if (strcmp(r->f.dev->counter_names[i], name) == 0)
			return atomic_load(&r->f.dev->counters[i]);
	ck_abort_msg("no counter %s", name);
	return 0;
}

static const char *rx_condition(struct rx *r)
{
	return atomic_load(&r->f.dev->condition);
}

static void rx_free(struct rx *r)
{
	fx_release(&r->f); /* closes sp[0] */
	close(r->sp[1]);
	free(r->s.met);
	lt_ring_free(r->ring);
}

START_TEST(counters_are_declared_at_init)
{
	struct fx f;
	const char *want[] = { "frames", "error_frames", "bus_off", "decode_errors", "rx_dropped" };

	fx_init(&f);
	ck_assert_uint_eq(f.dev->ncounters, 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_str_eq(f.dev->counter_names[i], want[i]);
	fx_release(&f);
}
END_TEST

START_TEST(event_metrics_emit_one_sample_per_matching_frame_and_signal)
{
	struct rx r;
	struct lt_sample out[8];
	const uint8_t a[4] = { 0x10, 0x27, 0xFF, 0x38 }, b[1] = { 7 };
	uint64_t t0, t1;

	rx_init(&r);
	fx_metric(&r.f, "speed", 0, "frame_id", "0x123", "start_bit", "0", "length", "16", "scale",
		  "0.5", NULL);
	/* Motorola from byte 2 bit 7: 0xFF38 = -200 */
	fx_metric(&r.f, "rpm", 0, "frame_id", "0x123", "start_bit", "23", "length", "16",
		  "byte_order", "motorola", "signed", "yes", NULL);
	fx_metric(&r.f, "other", 0, "frame_id", "0x200", "start_bit", "0", "length", "8", NULL);
	rx_start(&r, false);

	t0 = lt_real_ns();
	rx_send(&r, 0x123, a, 4);
	rx_send(&r, 0x124, a, 4);                /* another ID */
	rx_send(&r, 0x123 | CAN_EFF_FLAG, a, 4); /* the same number, extended */
	rx_send(&r, 0x123 | CAN_RTR_FLAG, a, 0); /* a remote request */
	rx_send(&r, 0x200, b, 1);
	t1 = lt_real_ns();
	/* the time stamp is the kernel's, from when the frame came in, not dispatch's */
	usleep(100 * 1000);
	ck_assert_int_eq(rx_dispatch(&r), 0);

	ck_assert_uint_eq(rx_collect(&r, out, 8), 3);
	ck_assert_uint_eq(out[0].metric_id, 0);
	ck_assert_double_eq(out[0].value, 5000);
	ck_assert_uint_eq(out[1].metric_id, 1);
	ck_assert_double_eq(out[1].value, -200);
	ck_assert_uint_eq(out[2].metric_id, 2);
	ck_assert_double_eq(out[2].value, 7);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_ge(out[i].ts_ns, t0);
		ck_assert_uint_le(out[i].ts_ns, t1);
	}
	ck_assert_uint_eq(rx_counter(&r, "frames"), 2);
	ck_assert_uint_eq(rx_counter(&r, "decode_errors"), 0);
	ck_assert_uint_eq(atomic_load(&r.f.dev->metrics[0]->samples), 1);
	/* nothing more pending: a dispatch emits nothing */
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 8), 0);
	rx_free(&r);
}
END_TEST

START_TEST(polled_metric_reads_the_latest_value_once)
{
	struct rx r;
	struct lt_metric *m;
	struct lt_sample out[4];
	double v = -1;

	rx_init(&r);
	m = fx_metric(&r.f, "speed", NSEC, "frame_id", "0x7FF", "start_bit", "0", "length", "8",
		      NULL);
	rx_start(&r, false);
	ck_assert_int_eq(lt_device_can.read(r.f.dev, m, &v), -ENODATA);
	for (uint8_t i = 1; i <= 3; i++)
		rx_send(&r, 0x7FF, &i, 1);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 0); /* polled: not emitted */
	ck_assert_int_eq(lt_device_can.read(r.f.dev, m, &v), 0);
	ck_assert_double_eq(v, 3);
	v = -1;
	ck_assert_int_eq(lt_device_can.read(r.f.dev, m, &v), -ENODATA);
	ck_assert_double_eq(v, -1);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 3);
	/* a close forgets the value: a reopened device reports only new frames */
	rx_send(&r, 0x7FF, &(uint8_t){ 9 }, 1);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	lt_device_can.close(r.f.dev);
	ck_assert_int_eq(lt_device_can.read(r.f.dev, m, &v), -ENODATA);
	rx_free(&r);
}
END_TEST

START_TEST(short_frame_counts_a_decode_error)
{
	struct rx r;
	struct lt_sample out[4];
	const uint8_t d[4] = { 1, 2, 3, 4 };

	rx_init(&r);
	/* bytes 2..3 */
	fx_metric(&r.f, "m", 0, "frame_id", "0x10", "start_bit", "16", "length", "16", NULL);
	rx_start(&r, false);
	rx_send(&r, 0x10, d, 3);
	rx_send(&r, 0x10, d, 0);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 0);
	ck_assert_uint_eq(rx_counter(&r, "decode_errors"), 2);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 2);
	rx_send(&r, 0x10, d, 4);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 1);
	ck_assert_double_eq(out[0].value, 0x0403);
	ck_assert_uint_eq(rx_counter(&r, "decode_errors"), 2);
	rx_free(&r);
}
END_TEST

START_TEST(error_frames_are_counted_and_set_the_condition)
{
	struct rx r;
	struct lt_sample out[4];
	uint8_t e[CAN_ERR_DLC] = { 0 };

	rx_init(&r);
	fx_metric(&r.f, "m", 0, "frame_id", "0x40", "start_bit", "0", "length", "8", NULL);
	rx_start(&r, false);
	ck_assert_ptr_null(rx_condition(&r));

	e[1] = CAN_ERR_CRTL_RX_WARNING;
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_CRTL, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "error-warning");
	e[1] = CAN_ERR_CRTL_TX_PASSIVE;
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_CRTL, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "error-passive");
	/* a bus error alone says nothing of the state */
	e[1] = 0;
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_PROT | CAN_ERR_BUSERROR, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "error-passive");
	ck_assert_uint_eq(rx_counter(&r, "bus_off"), 0);
	/* the error flag wins over the ID bits: 0x40 is also CAN_ERR_BUSOFF */
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_BUSOFF, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "bus-off");
	ck_assert_uint_eq(rx_counter(&r, "bus_off"), 1);
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_RESTARTED, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "error-active");
	e[1] = CAN_ERR_CRTL_ACTIVE;
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_BUSOFF, e, CAN_ERR_DLC);
	rx_send(&r, CAN_ERR_FLAG | CAN_ERR_CRTL, e, CAN_ERR_DLC);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_str_eq(rx_condition(&r), "error-active");
	ck_assert_uint_eq(rx_counter(&r, "bus_off"), 2);
	ck_assert_uint_eq(rx_counter(&r, "error_frames"), 7);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 0);
	/* closing forgets the condition */
	lt_device_can.close(r.f.dev);
	ck_assert_ptr_null(rx_condition(&r));
	rx_free(&r);
}
END_TEST

START_TEST(fd_frames_carry_64_bytes)
{
	struct rx r;
	struct lt_sample out[4];
	uint8_t d[64];

	for (unsigned i = 0; i < 64; i++)
		d[i] = (uint8_t)(i + 1);
	rx_init(&r);
	fx_metric(&r.f, "last", 0, "frame_id", "0x1", "start_bit", "504", "length", "8", NULL);
	fx_metric(&r.f, "first", 0, "frame_id", "0x1", "start_bit", "0", "length", "8", NULL);
	rx_start(&r, true);
	rx_send_mtu(&r, 0x1, d, 64, CANFD_MTU);
	rx_send_mtu(&r, 0x1, d, 48, CANFD_MTU); /* too short for "last" */
	rx_send(&r, 0x1, d, 8);                 /* classic frames still come in */
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 4);
	ck_assert_uint_eq(out[0].metric_id, 0);
	ck_assert_double_eq(out[0].value, 64);
	ck_assert_uint_eq(out[1].metric_id, 1);
	ck_assert_double_eq(out[1].value, 1);
	ck_assert_double_eq(out[2].value, 1);
	ck_assert_double_eq(out[3].value, 1);
	ck_assert_uint_eq(rx_counter(&r, "decode_errors"), 2);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 3);
	rx_free(&r);
}
END_TEST

START_TEST(fd_records_are_ignored_without_fd)
{
	struct rx r;
	struct lt_sample out[4];
	uint8_t d[8] = { 5 };

	rx_init(&r);
	fx_metric(&r.f, "m", 0, "frame_id", "0x1", "start_bit", "0", "length", "8", NULL);
	rx_start(&r, false);
	rx_send_mtu(&r, 0x1, d, 8, CANFD_MTU);
	rx_send_mtu(&r, 0x1, d, 8, 10); /* nothing a CAN socket sends */
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 4), 0);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 0);
	rx_free(&r);
}
END_TEST

START_TEST(dispatch_takes_at_most_256_frames_per_call)
{
	struct rx r;
	struct lt_sample out[512];

	rx_init(&r);
	fx_metric(&r.f, "m", 0, "frame_id", "0x1", "start_bit", "0", "length", "16", NULL);
	rx_start(&r, false);
	for (unsigned i = 0; i < 300; i++)
		rx_send(&r, 0x1, &(uint16_t){ (uint16_t)i }, 2);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out, 512), 256);
	ck_assert_int_eq(rx_dispatch(&r), 0);
	ck_assert_uint_eq(rx_collect(&r, out + 256, 512), 44);
	for (unsigned i = 0; i < 300; i++)
		ck_assert_double_eq(out[i].value, i);
	ck_assert_uint_eq(rx_counter(&r, "frames"), 300);
	rx_free(&r);
}
END_TEST

START_TEST(poll_waits_on_the_socket)
{
	struct rx r;
	struct pollfd pfd = { .fd = -1 };
	int64_t deadline = INT64_MAX;

	rx_init(&r);
	fx_metric(&r.f, "m", 0, "frame_id", "0x1", "start_bit", "0", "length", "8", NULL);
	lt_device_can.poll(r.f.dev, &pfd, &deadline);
	ck_assert_int_eq(pfd.fd, -1); /* not open */
	rx_start(&r, false);
	lt_device_can.poll(r.f.dev, &pfd, &deadline);
	ck_assert_int_eq(pfd.fd, r.sp[0]);
	ck_assert_int_eq(pfd.events, POLLIN);
	ck_assert_int_eq(deadline, INT64_MAX); /* no controller state to read on a non-"can" link */
	rx_free(&r);
}
END_TEST

static Suite *can_suite(void)
{
	Suite *s = suite_create("can");
	TCase *sg = tcase_create("signals");
	TCase *id = tcase_create("ids");
	TCase *opt = tcase_create("options");
	TCase *rx = tcase_create("receive");

	tcase_add_test(sg, intel_unsigned_values);
	tcase_add_test(sg, motorola_unsigned_values);
	tcase_add_test(sg, motorola_continues_at_bit_7_of_next_byte);
	tcase_add_test(sg, signed_values);
	tcase_add_test(sg, scale_and_offset);
	tcase_add_test(sg, fd_lengths);
	tcase_add_test(sg, signal_outside_the_frame_is_a_range_error);
	tcase_add_test(sg, bytes_needed);
	tcase_add_test(sg, signal_check_rejects_what_cannot_fit);
	tcase_add_test(sg, decoder_agrees_with_bit_by_bit_reading);

	tcase_add_test(id, id_matching);
	tcase_add_test(id, filters_one_per_distinct_match);

	tcase_add_test(opt, device_options);
	tcase_add_test(opt, metric_options_and_defaults);
	tcase_add_test(opt, extended_ids_and_masks);
	tcase_add_test(opt, metric_option_errors);
	tcase_add_test(opt, metric_check_errors);
	tcase_add_test(opt, open_reports_a_missing_interface);

	tcase_add_test(rx, counters_are_declared_at_init);
	tcase_add_test(rx, event_metrics_emit_one_sample_per_matching_frame_and_signal);
	tcase_add_test(rx, polled_metric_reads_the_latest_value_once);
	tcase_add_test(rx, short_frame_counts_a_decode_error);
	tcase_add_test(rx, error_frames_are_counted_and_set_the_condition);
	tcase_add_test(rx, fd_frames_carry_64_bytes);
	tcase_add_test(rx, fd_records_are_ignored_without_fd);
	tcase_add_test(rx, dispatch_takes_at_most_256_frames_per_call);
	tcase_add_test(rx, poll_waits_on_the_socket);

	suite_add_tcase(s, sg);
	suite_add_tcase(s, id);
	suite_add_tcase(s, opt);
	suite_add_tcase(s, rx);
	return s;
}

LT_UNIT_MAIN(can_suite)
