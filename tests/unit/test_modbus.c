/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Modbus driver: the decoder against hand-computed register images, the
 * request planner, option checking, and the driver's reads, back-off and
 * shared serial ports against a small in-process slave (Modbus TCP on
 * loopback, Modbus RTU on a pseudo-terminal) that counts the requests it
 * gets. The real-server tests (pymodbus, socat) are in tests/integration.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "devices/devices.h"
#include "devices/modbus_decode.h"
#include "devices/modbus_plan.h"
#include "model.h"

#define NSEC 1000000000ull
#define MSEC 1000000ull

/* ---- decoder ------------------------------------------------------------- */

static struct mb_value val(enum mb_table t, enum mb_type type, enum mb_order o)
{
	return (struct mb_value){ .table = t, .type = type, .order = o, .scale = 1, .offset = 0 };
}

static double dec(enum mb_type type, enum mb_order o, uint16_t r0, uint16_t r1, uint16_t r2,
		  uint16_t r3)
{
	struct mb_value v = val(MB_HOLDING, type, o);
	uint16_t regs[4] = { r0, r1, r2, r3 };

	return mb_decode_regs(&v, regs);
}

START_TEST(decode_float32_in_every_order)
{
	/* 1.5f = 0x3FC00000 */
	ck_assert(dec(MB_FLOAT32, MB_ABCD, 0x3FC0, 0x0000, 0, 0) == 1.5);
	ck_assert(dec(MB_FLOAT32, MB_CDAB, 0x0000, 0x3FC0, 0, 0) == 1.5);
	ck_assert(dec(MB_FLOAT32, MB_BADC, 0xC03F, 0x0000, 0, 0) == 1.5);
	ck_assert(dec(MB_FLOAT32, MB_DCBA, 0x0000, 0xC03F, 0, 0) == 1.5);
	/* -273.15f = 0xC3889333 */
	ck_assert(dec(MB_FLOAT32, MB_ABCD, 0xC388, 0x9333, 0, 0) == (double)-273.15f);
	ck_assert(dec(MB_FLOAT32, MB_CDAB, 0x9333, 0xC388, 0, 0) == (double)-273.15f);
	ck_assert(dec(MB_FLOAT32, MB_BADC, 0x88C3, 0x3393, 0, 0) == (double)-273.15f);
	ck_assert(dec(MB_FLOAT32, MB_DCBA, 0x3393, 0x88C3, 0, 0) == (double)-273.15f);
}
END_TEST

START_TEST(decode_float64_in_every_order)
{
	/* -273.15 = 0xC071126666666666 */
	ck_assert(dec(MB_FLOAT64, MB_ABCD, 0xC071, 0x1266, 0x6666, 0x6666) == -273.15);
	ck_assert(dec(MB_FLOAT64, MB_CDAB, 0x6666, 0x6666, 0x1266, 0xC071) == -273.15);
	ck_assert(dec(MB_FLOAT64, MB_BADC, 0x71C0, 0x6612, 0x6666, 0x6666) == -273.15);
	ck_assert(dec(MB_FLOAT64, MB_DCBA, 0x6666, 0x6666, 0x6612, 0x71C0) == -273.15);
	/* 1.5 = 0x3FF8000000000000 */
	ck_assert(dec(MB_FLOAT64, MB_ABCD, 0x3FF8, 0, 0, 0) == 1.5);
	ck_assert(dec(MB_FLOAT64, MB_DCBA, 0, 0, 0, 0xF83F) == 1.5);
}
END_TEST

START_TEST(decode_32bit_integers_in_every_order)
{
	/* -123456789 = 0xF8A432EB */
	ck_assert(dec(MB_INT32, MB_ABCD, 0xF8A4, 0x32EB, 0, 0) == -123456789.0);
	ck_assert(dec(MB_INT32, MB_CDAB, 0x32EB, 0xF8A4, 0, 0) == -123456789.0);
	ck_assert(dec(MB_INT32, MB_BADC, 0xA4F8, 0xEB32, 0, 0) == -123456789.0);
	ck_assert(dec(MB_INT32, MB_DCBA, 0xEB32, 0xA4F8, 0, 0) == -123456789.0);
	/* 0xDEADBEEF: the same bits unsigned */
	ck_assert(dec(MB_UINT32, MB_ABCD, 0xDEAD, 0xBEEF, 0, 0) == 3735928559.0);
	ck_assert(dec(MB_UINT32, MB_CDAB, 0xBEEF, 0xDEAD, 0, 0) == 3735928559.0);
	ck_assert(dec(MB_UINT32, MB_BADC, 0xADDE, 0xEFBE, 0, 0) == 3735928559.0);
	ck_assert(dec(MB_UINT32, MB_DCBA, 0xEFBE, 0xADDE, 0, 0) == 3735928559.0);
	ck_assert(dec(MB_INT32, MB_ABCD, 0xDEAD, 0xBEEF, 0, 0) == -559038737.0);
}
END_TEST

START_TEST(decode_64bit_integers_in_every_order)
{
	/* -1234567890123 = 0xFFFFFEE08E04FB35 */
	ck_assert(dec(MB_INT64, MB_ABCD, 0xFFFF, 0xFEE0, 0x8E04, 0xFB35) == -1234567890123.0);
	ck_assert(dec(MB_INT64, MB_CDAB, 0xFB35, 0x8E04, 0xFEE0, 0xFFFF) == -1234567890123.0);
	ck_assert(dec(MB_INT64, MB_BADC, 0xFFFF, 0xE0FE, 0x048E, 0x35FB) == -1234567890123.0);
	ck_assert(dec(MB_INT64, MB_DCBA, 0x35FB, 0x048E, 0xE0FE, 0xFFFF) == -1234567890123.0);
	/* 0x0102030405060708: word order reverses all four registers */
	const double u = (double)0x0102030405060708ull;

	ck_assert(dec(MB_UINT64, MB_ABCD, 0x0102, 0x0304, 0x0506, 0x0708) == u);
	ck_assert(dec(MB_UINT64, MB_CDAB, 0x0708, 0x0506, 0x0304, 0x0102) == u);
	ck_assert(dec(MB_UINT64, MB_BADC, 0x0201, 0x0403, 0x0605, 0x0807) == u);
	ck_assert(dec(MB_UINT64, MB_DCBA, 0x0807, 0x0605, 0x0403, 0x0201) == u);
	ck_assert(mb_assemble((uint16_t[]){ 0x0708, 0x0506, 0x0304, 0x0102 }, 4, MB_CDAB) ==
		  0x0102030405060708ull);
	ck_assert(dec(MB_UINT64, MB_ABCD, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF) ==
		  18446744073709551615.0);
}
END_TEST

START_TEST(decode_16bit_values_swap_bytes_only)
{
	ck_assert(dec(MB_INT16, MB_ABCD, 0xFFFE, 0, 0, 0) == -2.0);
	ck_assert(dec(MB_UINT16, MB_ABCD, 0xFFFE, 0, 0, 0) == 65534.0);
	ck_assert(dec(MB_INT16, MB_ABCD, 0x8000, 0, 0, 0) == -32768.0);
	ck_assert(dec(MB_UINT16, MB_CDAB, 0x1234, 0, 0, 0) == 0x1234);
	ck_assert(dec(MB_UINT16, MB_BADC, 0x3412, 0, 0, 0) == 0x1234);
	ck_assert(dec(MB_UINT16, MB_DCBA, 0x3412, 0, 0, 0) == 0x1234);
	ck_assert(dec(MB_INT16, MB_DCBA, 0xFEFF, 0, 0, 0) == -2.0);
}
END_TEST

START_TEST(decode_bit_fields)
{
	struct mb_value v = val(MB_INPUT, MB_UINT16, MB_ABCD);
	uint16_t r = 0xA5C3; /* 1010 0101 1100 0011 */

	v.has_bits = true;
	v.bit_lo = v.bit_hi = 0;
	ck_assert(mb_decode_regs(&v, &r) == 1);
	v.bit_lo = 6, v.bit_hi = 7;
	ck_assert(mb_decode_regs(&v, &r) == 3);
	v.bit_lo = 8, v.bit_hi = 15;
	ck_assert(mb_decode_regs(&v, &r) == 0xA5);
	v.bit_lo = 12, v.bit_hi = 15;
	ck_assert(mb_decode_regs(&v, &r) == 10);
	v.type = MB_INT16; /* the field is signed: 1010 is -6 */
	ck_assert(mb_decode_regs(&v, &r) == -6);
	v.bit_lo = 0, v.bit_hi = 15;
	ck_assert(mb_decode_regs(&v, &r) == (double)(int16_t)0xA5C3);
	v.bit_lo = 0, v.bit_hi = 1; /* 11: -1 */
	ck_assert(mb_decode_regs(&v, &r) == -1);
	v.type = MB_BOOL;
	v.bit_lo = v.bit_hi = 2;
	ck_assert(mb_decode_regs(&v, &r) == 0);
	v.bit_lo = v.bit_hi = 15;
	ck_assert(mb_decode_regs(&v, &r) == 1);
	v.bit_lo = 2, v.bit_hi = 5; /* 0000 -> false */
	ck_assert(mb_decode_regs(&v, &r) == 0);
}
END_TEST

START_TEST(decode_scale_and_offset)
{
	struct mb_value v = val(MB_HOLDING, MB_UINT16, MB_ABCD);
	uint16_t r = 1000;

	v.scale = 0.1;
	v.offset = -40;
	ck_assert_double_eq_tol(mb_decode_regs(&v, &r), 60, 1e-12);
	v = val(MB_COIL, MB_BOOL, MB_ABCD);
	ck_assert(mb_decode_bit(&v, 1) == 1 && mb_decode_bit(&v, 0) == 0);
	v.scale = 5;
	v.offset = 2;
	ck_assert(mb_decode_bit(&v, 1) == 7 && mb_decode_bit(&v, 0) == 2);
}
END_TEST

START_TEST(parsers_name_what_they_accept)
{
	char err[256];
	enum mb_table t;
	enum mb_type ty;
	enum mb_order o;
	uint8_t lo, hi;

	ck_assert_int_eq(mb_parse_table("input", &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t, MB_INPUT);
	ck_assert_int_eq(mb_parse_table("register", &t, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "coil, discrete, input or holding"));
	ck_assert_int_eq(mb_parse_type("float64", &ty, err, sizeof(err)), 0);
	ck_assert_int_eq(ty, MB_FLOAT64);
	ck_assert_int_eq(mb_parse_type("float", &ty, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "float32"));
	ck_assert_int_eq(mb_parse_order("DCBA", &o, err, sizeof(err)), 0);
	ck_assert_int_eq(o, MB_DCBA);
	ck_assert_int_eq(mb_parse_order("abcd", &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(mb_parse_bits("15", &lo, &hi, err, sizeof(err)), 0);
	ck_assert(lo == 15 && hi == 15);
	ck_assert_int_eq(mb_parse_bits("4-7", &lo, &hi, err, sizeof(err)), 0);
	ck_assert(lo == 4 && hi == 7);
	ck_assert_int_eq(mb_parse_bits("16", &lo, &hi, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0 to 15"));
	ck_assert_int_eq(mb_parse_bits("7-4", &lo, &hi, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "4-7"));
	ck_assert_int_eq(mb_parse_bits("", &lo, &hi, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(mb_parse_bits("3-", &lo, &hi, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(mb_parse_bits("a", &lo, &hi, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(value_check_rules)
{
	struct mb_value v = val(MB_COIL, MB_BOOL, MB_ABCD);
	char err[256];

	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), 0);
	v.address = 65535;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), 0);
	v.type = MB_INT32;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "type: int32 does not apply to table coil"));
	v = val(MB_DISCRETE, MB_BOOL, MB_ABCD);
	v.has_bits = true;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bits:"));
	v = val(MB_HOLDING, MB_BOOL, MB_ABCD);
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "needs bits"));
	v.has_bits = true;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), 0);
	v.type = MB_FLOAT32;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bits:"));
	v = val(MB_INPUT, MB_UINT64, MB_ABCD);
	v.address = 65532;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), 0);
	v.address = 65533;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "address: uint64 at 65533"));
	ck_assert_ptr_nonnull(strstr(err, "65533-65536"));
	v = val(MB_INPUT, MB_FLOAT32, MB_ABCD);
	v.address = 65535;
	ck_assert_int_eq(mb_value_check(&v, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- planner ------------------------------------------------------------- */

#define SPAN(iv, t, a, n)                                                                          \
	{                                                                                          \
		.interval_ns = (iv), .table = (t), .start = (a), .count = (n)                      \
	}

START_TEST(plan_contiguous_metrics_are_one_request)
{
	struct mb_span s[10];
	struct mb_block b[10];
	unsigned of[10];

	for (unsigned i = 0; i < 10; i++) /* configuration order need not be address order */
		s[i] = (struct mb_span)SPAN(NSEC, MB_HOLDING, (uint16_t)(100 + 2 * (9 - i)), 2);
	ck_assert_int_eq(mb_plan(s, 10, 0, 0, b, of), 1);
	ck_assert_uint_eq(b[0].start, 100);
	ck_assert_uint_eq(b[0].count, 20);
	ck_assert_int_eq(b[0].table, MB_HOLDING);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_uint_eq(of[i], 0);
	ck_assert_int_eq(mb_plan(s, 0, 8, 64, b, of), 0);
}
END_TEST

START_TEST(plan_gap_is_bridged_up_to_max_gap)
{
	struct mb_span s[3] = { SPAN(NSEC, MB_INPUT, 0, 1), SPAN(NSEC, MB_INPUT, 9, 1),
				SPAN(NSEC, MB_INPUT, 19, 2) };
	struct mb_block b[3];
	unsigned of[3];

	/* 8 registers between 0 and 9, 9 between 9 and 19 */
	ck_assert_int_eq(mb_plan(s, 3, 8, 0, b, of), 2);
	ck_assert(b[0].start == 0 && b[0].count == 10);
	ck_assert(b[1].start == 19 && b[1].count == 2);
	ck_assert(of[0] == 0 && of[1] == 0 && of[2] == 1);
	ck_assert_int_eq(mb_plan(s, 3, 9, 0, b, of), 1);
	ck_assert(b[0].start == 0 && b[0].count == 21);
	ck_assert_int_eq(mb_plan(s, 3, 7, 0, b, of), 3);
}
END_TEST

START_TEST(plan_never_exceeds_the_request_limits)
{
	struct mb_span s[4] = { SPAN(NSEC, MB_HOLDING, 0, 1), SPAN(NSEC, MB_HOLDING, 124, 1),
				SPAN(NSEC, MB_HOLDING, 200, 1), SPAN(NSEC, MB_HOLDING, 324, 2) };
	struct mb_block b[4];
	unsigned of[4];

	/* 0..124 is 125 registers: one request; 200..325 would be 126 */
	ck_assert_int_eq(mb_plan(s, 4, 124, 0, b, of), 3);
	ck_assert(b[0].start == 0 && b[0].count == 125);
	ck_assert(b[1].start == 200 && b[1].count == 1);
	ck_assert(b[2].start == 324 && b[2].count == 2);

	struct mb_span bits[3] = { SPAN(NSEC, MB_COIL, 0, 1), SPAN(NSEC, MB_COIL, 1999, 1),
				   SPAN(NSEC, MB_COIL, 2000, 1) };

	ck_assert_int_eq(mb_plan(bits, 3, 0, 1998, b, of), 2);
	ck_assert(b[0].start == 0 && b[0].count == 2000);
	ck_assert(b[1].start == 2000 && b[1].count == 1);
}
END_TEST

START_TEST(plan_groups_by_interval_and_table)
{
	struct mb_span s[6] = {
		SPAN(NSEC, MB_HOLDING, 10, 1),     SPAN(NSEC, MB_INPUT, 11, 1),
		SPAN(2 * NSEC, MB_HOLDING, 11, 1), SPAN(NSEC, MB_HOLDING, 12, 1),
		SPAN(NSEC, MB_COIL, 10, 1),        SPAN(NSEC, MB_DISCRETE, 10, 1),
	};
	struct mb_block b[6];
	unsigned of[6];

	ck_assert_int_eq(mb_plan(s, 6, 8, 64, b, of), 5);
	/* sorted by interval, then table (coil, discrete, holding, input), then address */
	ck_assert(b[0].table == MB_COIL && b[0].interval_ns == NSEC);
	ck_assert(b[1].table == MB_DISCRETE);
	ck_assert(b[2].table == MB_HOLDING && b[2].start == 10 && b[2].count == 3);
	ck_assert(b[3].table == MB_INPUT && b[3].start == 11);
	ck_assert(b[4].table == MB_HOLDING && b[4].interval_ns == 2 * NSEC && b[4].count == 1);
	ck_assert(of[0] == 2 && of[3] == 2 && of[1] == 3 && of[2] == 4 && of[4] == 0 && of[5] == 1);
}
END_TEST

START_TEST(plan_bits_use_max_bit_gap)
{
	struct mb_span s[4] = { SPAN(NSEC, MB_DISCRETE, 0, 1), SPAN(NSEC, MB_DISCRETE, 65, 1),
				SPAN(NSEC, MB_HOLDING, 0, 1), SPAN(NSEC, MB_HOLDING, 65, 1) };
	struct mb_block b[4];
	unsigned of[4];

	/* 64 bits between 0 and 65 are bridged; 64 registers are not (max_gap 8) */
	ck_assert_int_eq(mb_plan(s, 4, 8, 64, b, of), 3);
	ck_assert(b[0].table == MB_DISCRETE && b[0].count == 66);
	ck_assert_int_eq(mb_plan(s, 4, 8, 63, b, of), 4);
}
END_TEST

START_TEST(plan_overlaps_and_duplicates_share_a_block)
{
	struct mb_span s[4] = { SPAN(NSEC, MB_HOLDING, 5, 4), SPAN(NSEC, MB_HOLDING, 5, 1),
				SPAN(NSEC, MB_HOLDING, 5, 1), SPAN(NSEC, MB_HOLDING, 7, 2) };
	struct mb_block b[4];
	unsigned of[4];

	ck_assert_int_eq(mb_plan(s, 4, 0, 0, b, of), 1);
	ck_assert(b[0].start == 5 && b[0].count == 4);
}
END_TEST

/* ---- a small Modbus slave for the driver tests ---------------------------- */

struct slave {
	bool rtu;
	int listen_fd, fd; /* TCP: listening socket and the connection; RTU: the pty master */
	int port;
	char pty[64];
	int stop[2];
	pthread_t thread;
	uint16_t regs[300]; /* holding and input registers both read these */
	uint8_t bits[300];  /* coils and discrete inputs both read these */
	unsigned limit;     /* addresses from here on: Illegal data address */
	int hole;           /* this address too (-1: none) */
	unsigned units;     /* RTU: bit per slave id that answers */
	_Atomic bool silent;
	_Atomic unsigned requests;
	_Atomic unsigned per_unit[4];
};

static uint16_t crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	while (n--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = crc & 1 ? (crc >> 1) ^ 0xA001 : crc >> 1;
	}
	return crc;
}

/* The response PDU to a read request PDU (function, address, count); returns its length. */
static size_t slave_pdu(struct slave *s, const uint8_t *req, uint8_t *rsp)
{
	unsigned fc = req[0], addr = (unsigned)req[1] << 8 | req[2];
	unsigned n = (unsigned)req[3] << 8 | req[4];
	bool bad = fc < 1 || fc > 4 || addr + n > s->limit ||
		   (s->hole >= 0 && (unsigned)s->hole >= addr && (unsigned)s->hole < addr + n);
	size_t len;

	if (bad) {
		rsp[0] = (uint8_t)(fc | 0x80);
		rsp[1] = fc < 1 || fc > 4 ? 1 : 2;
		return 2;
	}
	rsp[0] = (uint8_t)fc;
	if (fc <= 2) {
		len = (n + 7) / 8;
		memset(rsp + 2, 0, len);
		for (unsigned i = 0; i < n; i++)
			if (s->bits[addr + i])
				rsp[2 + i / 8] |= (uint8_t)(1u << (i % 8));
	} else {
		len = 2 * n;
		for (unsigned i = 0; i < n; i++) {
			rsp[2 + 2 * i] = (uint8_t)(s->regs[addr + i] >> 8);
			rsp[3 + 2 * i] = (uint8_t)s->regs[addr + i];
		}
	}
	rsp[1] = (uint8_t)len;
	return 2 + len;
}

/* Read exactly @n bytes, or fail when the stop pipe is written or the peer goes. */
static bool slave_read(struct slave *s, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN },
				       { .fd = s->stop[0], .events = POLLIN } };
		ssize_t r;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return false;
		r = read(s->fd, buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static void *slave_main(void *arg)
{
	struct slave *s = arg;
	uint8_t req[260], rsp[300];

	for (;;) {
		size_t len;

		if (!s->rtu && s->fd < 0) {
			struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
					       { .fd = s->stop[0], .events = POLLIN } };

			if (poll(p, 2, -1) < 0 || p[1].revents)
				return NULL;
			s->fd = accept(s->listen_fd, NULL, NULL);
			continue;
		}
		if (s->rtu) {
			/* slave, function, address, count, CRC: 8 bytes for FC 1-4 */
			if (!slave_read(s, req, 8))
				return NULL;
			if (crc16(req, 6) != (uint16_t)(req[6] | req[7] << 8))
				continue;
			if (!(s->units & (1u << req[0])) || atomic_load(&s->silent))
				continue;
			atomic_fetch_add(&s->requests, 1);
			atomic_fetch_add(&s->per_unit[req[0] & 3], 1);
			rsp[0] = req[0];
			len = 1 + slave_pdu(s, req + 1, rsp + 1);
			uint16_t crc = crc16(rsp, len);

			rsp[len++] = (uint8_t)crc;
			rsp[len++] = (uint8_t)(crc >> 8);
		} else {
			/* MBAP: transaction, protocol, length, unit; then the PDU */
			if (!slave_read(s, req, 7) || !slave_read(s, req + 7, (size_t)req[5] - 1)) {
				close(s->fd);
				s->fd = -1;
				continue;
			}
			if (atomic_load(&s->silent))
				continue;
			atomic_fetch_add(&s->requests, 1);
			len = slave_pdu(s, req + 7, rsp + 7);
			memcpy(rsp, req, 4);
			rsp[4] = (uint8_t)((len + 1) >> 8);
			rsp[5] = (uint8_t)(len + 1);
			rsp[6] = req[6];
			len += 7;
		}
		if (write(s->fd, rsp, len) != (ssize_t)len)
			return NULL;
	}
}

static void slave_init(struct slave *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = s->listen_fd = -1;
	s->limit = 300;
	s->hole = -1;
	s->units = 1u << 1;
	for (unsigned i = 0; i < 300; i++) {
		s->regs[i] = (uint16_t)(1000 + i);
		s->bits[i] = i % 3 == 0;
	}
	ck_assert_int_eq(pipe2(s->stop, O_CLOEXEC), 0);
}

/* A TCP slave on 127.0.0.1, on a port of the kernel's choosing. */
static void slave_start_tcp(struct slave *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->listen_fd, 0);
	ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->listen_fd, 4), 0);
	ck_assert_int_eq(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, slave_main, s), 0);
}

/* An RTU slave on the master side of a pseudo-terminal; the driver opens s->pty. */
static void slave_start_rtu(struct slave *s)
{
	s->rtu = true;
	s->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(grantpt(s->fd), 0);
	ck_assert_int_eq(unlockpt(s->fd), 0);
	ck_assert_int_eq(ptsname_r(s->fd, s->pty, sizeof(s->pty)), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, slave_main, s), 0);
}

static void slave_stop(struct slave *s)
{
	ck_assert_int_eq(write(s->stop[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	if (s->fd >= 0)
		close(s->fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	close(s->stop[0]);
	close(s->stop[1]);
}

/* A port where nothing listens: bound, never listened on, then closed. */
static int dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- driver fixture: devices and metrics the way the loader makes them ---- */

static const struct lt_device_driver *drv = &lt_device_modbus;

/* A device with options (key, value pairs, NULL-terminated), not yet checked. */
static struct lt_device *dev_vnew(const char *name, va_list ap)
{
	struct lt_device *dev = calloc(1, sizeof(*dev));
	const char *k, *v;
	char err[512];

	ck_assert_ptr_nonnull(dev);
	dev->name = strdup(name);
	dev->drv = drv;
	ck_assert_int_eq(drv->device_init(dev), 0);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		err[0] = '\0';
		ck_assert_msg(drv->device_option(dev, k, v, err, sizeof(err)) == 0, "%s = %s: %s",
			      k, v, err);
	}
	return dev;
}

static struct lt_device *dev_unchecked(const char *name, ...)
{
	struct lt_device *dev;
	va_list ap;

	va_start(ap, name);
	dev = dev_vnew(name, ap);
	va_end(ap);
	return dev;
}

static int dev_check(struct lt_device *dev, char *err, size_t len)
{
	err[0] = '\0';
	return drv->device_check(dev, err, len);
}

/* A device as the loader makes it: options, then the device check, which must pass. */
static struct lt_device *dev_new(const char *name, ...)
{
	struct lt_device *dev;
	char err[512];
	va_list ap;

	va_start(ap, name);
	dev = dev_vnew(name, ap);
	va_end(ap);
	ck_assert_msg(dev_check(dev, err, sizeof(err)) == 0, "device %s: %s", name, err);
	return dev;
}

static int dev_opt(struct lt_device *dev, const char *k, const char *v, char *err, size_t len)
{
	err[0] = '\0';
	return drv->device_option(dev, k, v, err, len);
}

/* Add a metric with options (key, value pairs, NULL-terminated); returns metric_check's result. */
static int metric_try(struct lt_device *dev, struct lt_metric **out, char *err, size_t errlen,
		      const char *name, uint64_t interval, va_list ap)
{
	struct lt_metric *m = calloc(1, sizeof(*m));
	char full[160];
	const char *k, *v;
	int r;

	ck_assert_ptr_nonnull(m);
	snprintf(full, sizeof(full), "%s.%s", dev->name, name);
	m->name = strdup(name);
	m->fullname = strdup(full);
	m->unit = strdup("");
	m->device = dev;
	m->interval_ns = interval;
	m->aggregation = 1;
	m->dev_index = dev->nmetrics;
	dev->metrics = realloc(dev->metrics, (dev->nmetrics + 1) * sizeof(*dev->metrics));
	ck_assert_ptr_nonnull(dev->metrics);
	dev->metrics[dev->nmetrics++] = m;
	ck_assert_int_eq(drv->metric_init(m), 0);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		err[0] = '\0';
		r = drv->metric_option(m, k, v, err, errlen);
		if (r < 0)
			return r;
	}
	err[0] = '\0';
	if (out)
		*out = m;
	return drv->metric_check(m, err, errlen);
}

static int metric_err(struct lt_device *dev, char *err, size_t errlen, const char *name, ...)
{
	va_list ap;
	int r;

	va_start(ap, name);
	r = metric_try(dev, NULL, err, errlen, name, NSEC, ap);
	va_end(ap);
	return r;
}

static struct lt_metric *metric_iv(struct lt_device *dev, uint64_t interval, const char *name, ...)
{
	struct lt_metric *m = NULL;
	char err[512];
	va_list ap;
	int r;

	va_start(ap, name);
	r = metric_try(dev, &m, err, sizeof(err), name, interval, ap);
	va_end(ap);
	ck_assert_msg(r == 0, "%s: %s", name, err);
	return m;
}

#define metric(dev, ...) metric_iv(dev, NSEC, __VA_ARGS__)

static void dev_free(struct lt_device *dev)
{
	for (unsigned i = 0; i < dev->nmetrics; i++) {
		struct lt_metric *m = dev->metrics[i];

		drv->metric_free(m);
		free(m->name);
		free(m->fullname);
		free(m->unit);
		free(m);
	}
	drv->device_free(dev);
	free(dev->metrics);
	free(dev->name);
	free(dev);
}

static void dev_open(struct lt_device *dev)
{
	char err[512] = "";

	ck_assert_msg(drv->open(dev, err, sizeof(err)) == 0, "open: %s", err);
}

static uint64_t counter(struct lt_device *dev, const char *name)
{
	for (unsigned i = 0; i < dev->ncounters; i++)
		if (strcmp(dev->counter_names[i], name) == 0)
			return atomic_load(&dev->counters[i]);
	ck_abort_msg("no counter %s", name);
	return 0;
}

static const char *condition(struct lt_device *dev)
{
	return atomic_load(&dev->condition);
}

static int rd(struct lt_device *dev, struct lt_metric *m, double *v)
{
	*v = NAN;
	return drv->read(dev, m, v);
}

static double rd_ok(struct lt_device *dev, struct lt_metric *m)
{
	double v;
	int r = rd(dev, m, &v);

	ck_assert_msg(r == 0, "read %s: %d (%s)", m->fullname, r, strerror(-r));
	return v;
}

static struct lt_device *tcp_dev(const char *name, int port)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", port);
	return dev_new(name, "transport", "tcp", "host", "127.0.0.1", "port", p, "response_timeout",
		       "200ms", NULL);
}

/* ---- option checks -------------------------------------------------------- */

START_TEST(device_options_are_checked)
{
	struct lt_device *dev = dev_unchecked("d", NULL);
	char err[512];

	ck_assert_int_eq(dev_opt(dev, "transport", "udp", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "tcp or rtu"));
	ck_assert_int_eq(dev_opt(dev, "baud", "12345", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a standard rate"));
	ck_assert_int_eq(dev_opt(dev, "parity", "mark", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "none, even or odd"));
	ck_assert_int_eq(dev_opt(dev, "data_bits", "6", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "stop_bits", "3", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "rts", "sideways", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "rs485", "maybe", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "unit", "256", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "port", "0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "response_timeout", "0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "byte_timeout", "0", err, sizeof(err)), 0);
	ck_assert_int_eq(dev_opt(dev, "retries", "11", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "max_gap", "124", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "backoff_max", "100ms", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "host", "", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(dev_opt(dev, "colour", "red", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(dev_check(dev, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "transport is required (tcp or rtu)");
	dev_free(dev);
}
END_TEST

/* What the device check says of a device made of the given options ("" when fine). */
static const char *device_error(char *err, size_t len, ...)
{
	struct lt_device *dev;
	va_list ap;

	va_start(ap, len);
	dev = dev_vnew("d", ap);
	va_end(ap);
	if (dev_check(dev, err, len) == 0)
		err[0] = '\0';
	dev_free(dev);
	return err;
}

START_TEST(device_settings_must_fit_the_transport)
{
	char e[512];

	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "tcp", NULL),
			 "host is required with transport = tcp");
	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "rtu", NULL),
			 "device is required with transport = rtu (/dev/ttyUSB0)");
	ck_assert_str_eq(
		device_error(e, sizeof(e), "transport", "tcp", "host", "h", "baud", "9600", NULL),
		"baud does not apply to transport = tcp");
	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "rtu", "device", "/dev/null",
				      "host", "h", NULL),
			 "host does not apply to transport = rtu");
	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "rtu", "device", "/dev/null",
				      "unit", "248", NULL),
			 "unit 248: RTU slave ids are 0 to 247");
	ck_assert_ptr_nonnull(strstr(
		device_error(e, sizeof(e), "transport", "tcp", "host", "h", "unit", "250", NULL),
		"0 to 247 and 255"));
	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "rtu", "device", "/dev/null",
				      "rts_delay", "1ms", NULL),
			 "rts_delay needs rts = up or down");
	ck_assert_str_eq(
		device_error(e, sizeof(e), "transport", "tcp", "host", "h", "unit", "255", NULL),
		"");
	ck_assert_str_eq(device_error(e, sizeof(e), "transport", "rtu", "device", "/dev/null",
				      "unit", "247", "rts", "up", "rts_delay", "1ms", NULL),
			 "");
}
END_TEST

START_TEST(metric_options_are_checked)
{
	struct lt_device *dev = dev_new("d", "transport", "tcp", "host", "h", NULL);
	struct lt_metric *m;
	char err[512];

	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "a", "address", "0", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "table is required"));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "b", "table", "coil", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "address is required"));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "c", "address", "65536", NULL), -EINVAL);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "d", "table", "coil", "address", "1",
				    "type", "uint16", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "type: uint16 does not apply to table coil"));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "e", "table", "coil", "address", "1",
				    "order", "DCBA", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "order:"));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "f", "table", "input", "address", "1",
				    "bits", "16", NULL),
			 -EINVAL);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "g", "table", "input", "address", "1",
				    "type", "float32", "bits", "3", NULL),
			 -EINVAL);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "h", "table", "input", "address",
				    "65533", "type", "int64", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "address: int64 at 65533"));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "i", "table", "input", "address", "1",
				    "shape", "round", NULL),
			 -ENOENT);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "j", "table", "input", "address", "1",
				    "scale", "x", NULL),
			 -EINVAL);
	/* defaults: uint16 for registers, bool for bits */
	m = metric(dev, "k", "table", "discrete", "address", "9", NULL);
	ck_assert_int_eq(((struct mb_value *)lt_metric_priv(m))->type, MB_BOOL);
	m = metric(dev, "l", "table", "holding", "address", "9", NULL);
	ck_assert_int_eq(((struct mb_value *)lt_metric_priv(m))->type, MB_UINT16);
	dev_free(dev);
}
END_TEST

START_TEST(overlapping_metrics_must_read_alike)
{
	struct lt_device *dev = dev_new("d", "transport", "tcp", "host", "h", NULL);
	char err[512];

	metric(dev, "f", "table", "holding", "address", "10", "type", "float32", NULL);
	/* the same registers the same way, scaled differently: fine */
	metric(dev, "f2", "table", "holding", "address", "10", "type", "float32", "scale", "2",
	       NULL);
	/* other tables do not overlap */
	metric(dev, "in", "table", "input", "address", "11", NULL);
	metric(dev, "lo", "table", "holding", "address", "20", "bits", "0-3", NULL);
	metric(dev, "hi", "table", "holding", "address", "20", "bits", "4-15", "type", "int16",
	       NULL);
	metric(dev, "all", "table", "holding", "address", "20", NULL);
	metric(dev, "c1", "table", "coil", "address", "20", NULL);
	metric(dev, "c2", "table", "coil", "address", "20", NULL);
	ck_assert_int_eq(
		metric_err(dev, err, sizeof(err), "x", "table", "holding", "address", "11", NULL),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "address: holding 11 (uint16) overlaps metric \"d.f\""));
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "y", "table", "holding", "address", "10",
				    "type", "int32", NULL),
			 -EINVAL);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "z", "table", "holding", "address", "10",
				    "type", "float32", "order", "CDAB", NULL),
			 -EINVAL);
	ck_assert_int_eq(metric_err(dev, err, sizeof(err), "w", "table", "holding", "address", "19",
				    "type", "uint32", NULL),
			 -EINVAL);
	dev_free(dev);
}
END_TEST

START_TEST(devices_on_one_serial_line_must_agree)
{
	struct lt_device *a, *b, *c, *d;
	char err[512];

	/* as the loader does it: each device checked after its options, before any metric */
	a = dev_new("a", "transport", "rtu", "device", "/dev/null", "unit", "1", NULL);
	b = dev_unchecked("b", "transport", "rtu", "device", "/dev/null", "unit", "2", "baud",
			  "9600", NULL);
	ck_assert_int_eq(dev_check(b, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "serial port /dev/null is also device \"a\"'s, whose line is "
			      "19200 8E1, not 9600 8E1: devices on one line must agree on baud, "
			      "parity, data_bits, stop_bits, rs485, rts and rts_delay");
	c = dev_new("c", "transport", "rtu", "device", "/dev/zero", "baud", "9600", NULL);
	/* d agrees with a, the first on the port: b's mistake is not d's */
	d = dev_new("d", "transport", "rtu", "device", "/dev/null", "unit", "3", NULL);
	metric(a, "m", "table", "holding", "address", "0", NULL);
	dev_free(a);
	dev_free(b);
	dev_free(c);
	dev_free(d);

	/* A new configuration (devices made after a metric check) is not compared with the old. */
	a = dev_new("a", "transport", "rtu", "device", "/dev/null", NULL);
	metric(a, "m", "table", "holding", "address", "0", NULL);
	b = dev_new("a", "transport", "rtu", "device", "/dev/null", "baud", "9600", NULL);
	metric(b, "m", "table", "holding", "address", "0", NULL);
	dev_free(a);
	dev_free(b);
}
END_TEST

/* ---- the driver against the slave ---------------------------------------- */

START_TEST(tcp_reads_each_block_once_per_pass)
{
	struct slave s;
	struct lt_device *dev;
	struct lt_metric *m[6];

	slave_init(&s);
	s.regs[10] = 0x3FC0, s.regs[11] = 0x0000; /* float32 1.5 */
	s.regs[14] = 0xFFFE;                      /* int16 -2 */
	s.regs[15] = 0xA5C3;
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	m[0] = metric(dev, "f", "table", "holding", "address", "10", "type", "float32", NULL);
	m[1] = metric(dev, "neg", "table", "holding", "address", "14", "type", "int16", NULL);
	m[2] = metric(dev, "bits", "table", "holding", "address", "15", "bits", "6-7", NULL);
	m[3] = metric(dev, "raw", "table", "holding", "address", "16", "scale", "0.5", "offset",
		      "1", NULL);
	m[4] = metric(dev, "coil", "table", "coil", "address", "3", NULL);
	m[5] = metric(dev, "di", "table", "discrete", "address", "4", NULL);
	dev_open(dev);
	for (unsigned pass = 0; pass < 3; pass++) {
		drv->tick(dev, pass * NSEC);
		ck_assert(rd_ok(dev, m[0]) == 1.5);
		ck_assert(rd_ok(dev, m[1]) == -2);
		ck_assert(rd_ok(dev, m[2]) == 3);
		ck_assert(rd_ok(dev, m[3]) == 1016 * 0.5 + 1);
		ck_assert(rd_ok(dev, m[4]) == 1);
		ck_assert(rd_ok(dev, m[5]) == 0);
		/* holding 10-16, coil 3, discrete 4: three requests a pass */
		ck_assert_uint_eq(atomic_load(&s.requests), 3 * (pass + 1));
	}
	ck_assert_uint_eq(counter(dev, "requests"), 9);
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 0);
	ck_assert_ptr_null(condition(dev));
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

START_TEST(tcp_metrics_of_other_intervals_are_other_requests)
{
	struct slave s;
	struct lt_device *dev;
	struct lt_metric *fast, *slow;

	slave_init(&s);
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	fast = metric_iv(dev, NSEC, "fast", "table", "input", "address", "0", NULL);
	slow = metric_iv(dev, 10 * NSEC, "slow", "table", "input", "address", "1", NULL);
	dev_open(dev);
	drv->tick(dev, 0);
	ck_assert(rd_ok(dev, fast) == 1000);
	ck_assert(rd_ok(dev, slow) == 1001);
	ck_assert_uint_eq(atomic_load(&s.requests), 2);
	drv->tick(dev, NSEC); /* only the fast one is due */
	ck_assert(rd_ok(dev, fast) == 1000);
	ck_assert_uint_eq(atomic_load(&s.requests), 3);
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

/* Send stderr (where the log goes outside the journal) to a file, to count messages. */
static int stderr_capture(const char *path)
{
	int saved = dup(STDERR_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static int stderr_count(const char *path, int saved, const char *needle)
{
	char buf[16384];
	int fd, count = 0;
	ssize_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	buf[n > 0 ? n : 0] = '\0';
	for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
		count++;
	return count;
}

START_TEST(tcp_exception_fails_its_block_and_is_logged_once)
{
	char log[] = "/tmp/lt-modbus-log-XXXXXX";
	struct lt_device *dev;
	struct lt_metric *a, *b, *ok;
	struct slave s;
	double v;
	int saved;

	close(mkstemp(log));
	slave_init(&s);
	s.limit = 250;
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	/* two views of one register: one block, not merged, so never split */
	a = metric(dev, "a", "table", "input", "address", "250", NULL);
	b = metric(dev, "b", "table", "input", "address", "250", "bits", "4-7", NULL);
	ok = metric(dev, "ok", "table", "holding", "address", "5", NULL);
	dev_open(dev);
	saved = stderr_capture(log);
	for (unsigned pass = 0; pass < 4; pass++) {
		drv->tick(dev, pass * NSEC);
		ck_assert_int_eq(rd(dev, a, &v), -EREMOTEIO);
		ck_assert_int_eq(rd(dev, b, &v), -EREMOTEIO);
		ck_assert(rd_ok(dev, ok) == 1005);
	}
	s.limit = 300;
	drv->tick(dev, 5 * NSEC);
	ck_assert(rd_ok(dev, b) == ((1250 >> 4) & 15));
	ck_assert_int_eq(stderr_count(log, saved, "input 250 (a, b): Illegal data address"), 1);
	/* exceptions are answers: no retries, no back-off */
	ck_assert_uint_eq(counter(dev, "exceptions"), 4);
	ck_assert_uint_eq(counter(dev, "requests"), 9);
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 0);
	ck_assert_ptr_null(condition(dev));
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

START_TEST(tcp_block_refused_for_a_hole_is_split)
{
	struct lt_device *dev;
	struct lt_metric *a, *b;
	struct slave s;

	slave_init(&s);
	s.hole = 52; /* between the two metrics: the merged block 50-55 is refused */
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	a = metric(dev, "a", "table", "holding", "address", "50", NULL);
	b = metric(dev, "b", "table", "holding", "address", "55", NULL);
	dev_open(dev);
	drv->tick(dev, 0);
	ck_assert(rd_ok(dev, a) == 1050);
	ck_assert(rd_ok(dev, b) == 1055);
	ck_assert_uint_eq(atomic_load(&s.requests), 3); /* refused, then one each */
	drv->tick(dev, NSEC);
	ck_assert(rd_ok(dev, a) == 1050);
	ck_assert(rd_ok(dev, b) == 1055);
	ck_assert_uint_eq(atomic_load(&s.requests), 5);
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

START_TEST(tcp_nan_float_is_no_value)
{
	struct lt_device *dev;
	struct lt_metric *f;
	struct slave s;
	double v;

	slave_init(&s);
	s.regs[0] = 0x7FC0, s.regs[1] = 0;
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	f = metric(dev, "f", "table", "input", "address", "0", "type", "float32", NULL);
	dev_open(dev);
	drv->tick(dev, 0);
	ck_assert_int_eq(rd(dev, f, &v), -ENODATA);
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

START_TEST(tcp_refused_connection_backs_off_without_io)
{
	struct lt_device *dev = tcp_dev("plc", dead_port());
	struct lt_metric *a, *b;
	double v;

	a = metric(dev, "a", "table", "holding", "address", "0", NULL);
	b = metric(dev, "b", "table", "coil", "address", "0", NULL);
	dev_open(dev);
	drv->tick(dev, 100 * NSEC);
	ck_assert_int_eq(rd(dev, a, &v), -EIO);
	ck_assert_int_eq(rd(dev, b, &v), -ENODATA);      /* the same pass: no second attempt */
	ck_assert_uint_eq(counter(dev, "io_errors"), 2); /* the request and its retry */
	ck_assert_uint_eq(counter(dev, "requests"), 0);  /* never connected: nothing sent */
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 1000);
	ck_assert_str_eq(condition(dev), "connecting");
	drv->tick(dev, 100 * NSEC + 900 * MSEC);
	ck_assert_int_eq(rd(dev, a, &v), -ENODATA);
	ck_assert_int_eq(rd(dev, b, &v), -ENODATA);
	ck_assert_uint_eq(counter(dev, "io_errors"), 2);
	drv->tick(dev, 101 * NSEC); /* 1 s later: tried again, then 2 s, 4 s ... */
	ck_assert_int_eq(rd(dev, a, &v), -EIO);
	ck_assert_uint_eq(counter(dev, "io_errors"), 4);
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 2000);
	drv->tick(dev, 102 * NSEC);
	ck_assert_int_eq(rd(dev, a, &v), -ENODATA);
	drv->tick(dev, 103 * NSEC);
	ck_assert_int_eq(rd(dev, a, &v), -EIO);
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 4000);
	drv->close(dev);
	dev_free(dev);
}
END_TEST

START_TEST(tcp_backoff_stops_at_backoff_max_and_ends_when_answered)
{
	char log[] = "/tmp/lt-modbus-log-XXXXXX";
	struct lt_device *dev;
	struct lt_metric *a;
	struct slave s;
	uint64_t t = 0;
	double v;
	int saved;

	close(mkstemp(log));
	slave_init(&s);
	atomic_store(&s.silent, true);
	slave_start_tcp(&s);
	dev = tcp_dev("plc", s.port);
	ck_assert_int_eq(dev_opt(dev, "response_timeout", "20ms", (char[64]){ 0 }, 64), 0);
	ck_assert_int_eq(dev_opt(dev, "retries", "0", (char[64]){ 0 }, 64), 0);
	ck_assert_int_eq(dev_opt(dev, "backoff_max", "3s", (char[64]){ 0 }, 64), 0);
	a = metric(dev, "a", "table", "input", "address", "0", NULL);
	dev_open(dev);
	saved = stderr_capture(log);
	for (unsigned i = 0; i < 4; i++) { /* 1 s, 2 s, 3 s, 3 s */
		drv->tick(dev, t);
		ck_assert_int_eq(rd(dev, a, &v), -ETIMEDOUT);
		t += counter(dev, "backoff_ms") * MSEC;
	}
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 3000);
	ck_assert_uint_eq(counter(dev, "timeouts"), 4);
	ck_assert_str_eq(condition(dev), "not answering");
	atomic_store(&s.silent, false);
	drv->tick(dev, t);
	ck_assert(rd_ok(dev, a) == 1000);
	ck_assert_uint_eq(counter(dev, "backoff_ms"), 0);
	ck_assert_ptr_null(condition(dev));
	/* two messages: not answering, answering again */
	ck_assert_int_eq(stderr_count(log, saved, "device plc: "), 2);
	drv->close(dev);
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

START_TEST(rtu_slaves_share_one_serial_port)
{
	struct lt_device *d1, *d2, *d3;
	struct lt_metric *m1, *m2, *m3;
	struct slave s;
	char err[512];
	double v;

	slave_init(&s);
	s.units = 1u << 1 | 1u << 2;
	slave_start_rtu(&s);
	d1 = dev_new("s1", "transport", "rtu", "device", s.pty, "parity", "none", "unit", "1",
		     "baud", "115200", NULL);
	d2 = dev_new("s2", "transport", "rtu", "device", s.pty, "parity", "none", "unit", "2",
		     "baud", "115200", NULL);
	d3 = dev_new("s3", "transport", "rtu", "device", s.pty, "parity", "none", "unit", "3",
		     "baud", "115200", "response_timeout", "20ms", "retries", "0", NULL);
	m1 = metric(d1, "x", "table", "holding", "address", "1", NULL);
	m2 = metric(d2, "x", "table", "input", "address", "2", "type", "uint32", NULL);
	m3 = metric(d3, "x", "table", "input", "address", "3", NULL);
	dev_open(d1);
	dev_open(d2);
	dev_open(d3);
	for (unsigned pass = 0; pass < 3; pass++) {
		drv->tick(d1, pass * NSEC);
		drv->tick(d2, pass * NSEC);
		drv->tick(d3, pass * NSEC);
		ck_assert(rd_ok(d1, m1) == 1001);
		ck_assert(rd_ok(d2, m2) == 1002 * 65536.0 + 1003);
		ck_assert_int_lt(rd(d3, m3, &v), 0); /* slave 3 does not answer */
	}
	ck_assert_uint_eq(atomic_load(&s.per_unit[1]), 3);
	ck_assert_uint_eq(atomic_load(&s.per_unit[2]), 3);
	ck_assert_str_eq(condition(d3), "not answering");
	ck_assert_ptr_null(condition(d1));

	/* a fourth device on the port with other line settings cannot join it */
	struct lt_device *d4 = dev_new("s4", "transport", "rtu", "device", s.pty, "parity", "none",
				       "baud", "9600", NULL);

	metric(d4, "x", "table", "holding", "address", "1", NULL);
	err[0] = '\0';
	ck_assert_int_lt(drv->open(d4, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "is open for device \"s1\" as 115200 8N1, not 9600 8N1"));
	dev_free(d4);

	/* the port stays open while any device holds it */
	drv->close(d1);
	drv->tick(d2, 5 * NSEC);
	ck_assert(rd_ok(d2, m2) == 1002 * 65536.0 + 1003);
	drv->close(d2);
	drv->close(d3);
	dev_free(d1);
	dev_free(d2);
	dev_free(d3);
	slave_stop(&s);
}
END_TEST

/* Each device in its own thread, as the samplers run them: the port's lock keeps replies apart. */
struct rtu_worker {
	struct lt_device *dev;
	struct lt_metric *m;
	double want;
	unsigned bad;
};

static void *rtu_worker_main(void *arg)
{
	struct rtu_worker *w = arg;
	double v;

	for (unsigned pass = 0; pass < 200; pass++) {
		drv->tick(w->dev, pass * NSEC);
		if (drv->read(w->dev, w->m, &v) != 0 || v != w->want)
			w->bad++;
	}
	return NULL;
}

START_TEST(rtu_devices_in_threads_do_not_mix_replies)
{
	struct rtu_worker w[2];
	pthread_t th[2];
	struct slave s;

	slave_init(&s);
	s.units = 1u << 1 | 1u << 2;
	slave_start_rtu(&s);
	for (unsigned i = 0; i < 2; i++) {
		char unit[4], addr[8];

		snprintf(unit, sizeof(unit), "%u", i + 1);
		snprintf(addr, sizeof(addr), "%u", 10 + 7 * i);
		w[i].dev = dev_new(i ? "b" : "a", "transport", "rtu", "device", s.pty, "parity",
				   "none", "baud", "115200", "unit", unit, NULL);
		w[i].m = metric(w[i].dev, "x", "table", "holding", "address", addr, NULL);
		w[i].want = 1010 + 7 * i;
		w[i].bad = 0;
		dev_open(w[i].dev);
	}
	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, rtu_worker_main, &w[i]), 0);
	for (unsigned i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(w[i].bad, 0);
		ck_assert_uint_eq(counter(w[i].dev, "requests"), 200);
		drv->close(w[i].dev);
		dev_free(w[i].dev);
	}
	slave_stop(&s);
}
END_TEST

START_TEST(rtu_missing_port_fails_open_with_its_path)
{
	struct lt_device *dev =
		dev_new("d", "transport", "rtu", "device", "/nonexistent/ttyUSB9", NULL);
	char err[512] = "";

	metric(dev, "x", "table", "holding", "address", "1", NULL);
	ck_assert_int_lt(drv->open(dev, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "cannot open /nonexistent/ttyUSB9"));
	dev_free(dev);
}
END_TEST

START_TEST(rtu_rs485_refused_by_a_pty_is_a_clear_error)
{
	struct lt_device *dev;
	struct slave s;
	char err[512] = "";

	slave_init(&s);
	slave_start_rtu(&s);
	dev = dev_new("d", "transport", "rtu", "device", s.pty, "parity", "none", "rs485", "yes",
		      NULL);
	metric(dev, "x", "table", "holding", "address", "1", NULL);
	ck_assert_int_lt(drv->open(dev, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "rs485: the serial driver refuses RS-485 mode"));
	dev_free(dev);
	slave_stop(&s);
}
END_TEST

static Suite *modbus_suite(void)
{
	Suite *s = suite_create("modbus");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, decode_float32_in_every_order);
	tcase_add_test(tc, decode_float64_in_every_order);
	tcase_add_test(tc, decode_32bit_integers_in_every_order);
	tcase_add_test(tc, decode_64bit_integers_in_every_order);
	tcase_add_test(tc, decode_16bit_values_swap_bytes_only);
	tcase_add_test(tc, decode_bit_fields);
	tcase_add_test(tc, decode_scale_and_offset);
	tcase_add_test(tc, parsers_name_what_they_accept);
	tcase_add_test(tc, value_check_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("plan");
	tcase_add_test(tc, plan_contiguous_metrics_are_one_request);
	tcase_add_test(tc, plan_gap_is_bridged_up_to_max_gap);
	tcase_add_test(tc, plan_never_exceeds_the_request_limits);
	tcase_add_test(tc, plan_groups_by_interval_and_table);
	tcase_add_test(tc, plan_bits_use_max_bit_gap);
	tcase_add_test(tc, plan_overlaps_and_duplicates_share_a_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, device_options_are_checked);
	tcase_add_test(tc, device_settings_must_fit_the_transport);
	tcase_add_test(tc, metric_options_are_checked);
	tcase_add_test(tc, overlapping_metrics_must_read_alike);
	tcase_add_test(tc, devices_on_one_serial_line_must_agree);
	suite_add_tcase(s, tc);

	tc = tcase_create("driver");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tcp_reads_each_block_once_per_pass);
	tcase_add_test(tc, tcp_metrics_of_other_intervals_are_other_requests);
	tcase_add_test(tc, tcp_exception_fails_its_block_and_is_logged_once);
	tcase_add_test(tc, tcp_block_refused_for_a_hole_is_split);
	tcase_add_test(tc, tcp_nan_float_is_no_value);
	tcase_add_test(tc, tcp_refused_connection_backs_off_without_io);
	tcase_add_test(tc, tcp_backoff_stops_at_backoff_max_and_ends_when_answered);
	tcase_add_test(tc, rtu_slaves_share_one_serial_port);
	tcase_add_test(tc, rtu_devices_in_threads_do_not_mix_replies);
	tcase_add_test(tc, rtu_missing_port_fails_open_with_its_path);
	tcase_add_test(tc, rtu_rs485_refused_by_a_pty_is_a_clear_error);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(modbus_suite)
