/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Modbus value decoding (src/devices/modbus_decode.c): the registers come
 * from a slave on the wire, the layout from configuration. Input:
 *   1 byte table, 1 type, 1 order, 1 bits flag, 1 low bit, 1 high bit,
 *   2 address, 8 bytes of registers (big-endian, as on the wire), then an
 *   option value ("holding", "float32", "CDAB", "3-5") for the parsers.
 * A consistent layout must decode to what reading its bytes in the named
 * order gives, bit fields within their width; an accepted option value must
 * be the name of what it parsed to (or, for bits, read back the same).
 */
#include <math.h>
#include <string.h>

#include "devices/modbus_decode.h"
#include "fuzz.h"

/* The value's bytes A B C D... (A most significant) from the wire image, per order. */
static uint64_t reference_raw(const uint8_t *wire, unsigned nregs, enum mb_order o)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < nregs; i++) {
		unsigned r = o == MB_CDAB || o == MB_DCBA ? nregs - 1 - i : i;
		uint8_t hi = wire[2 * r], lo = wire[2 * r + 1];

		if (o == MB_BADC || o == MB_DCBA)
			v = v << 16 | (uint64_t)lo << 8 | hi;
		else
			v = v << 16 | (uint64_t)hi << 8 | lo;
	}
	return v;
}

static double reference_value(const struct mb_value *v, uint64_t raw)
{
	if (v->has_bits) {
		unsigned w = v->bit_hi - v->bit_lo + 1u;
		uint64_t f = (raw >> v->bit_lo) & ((UINT64_C(1) << w) - 1);

		if (v->type == MB_BOOL)
			return f != 0;
		if (v->type == MB_INT16 && f >> (w - 1))
			return (double)f - (double)(UINT64_C(1) << w);
		return (double)f;
	}
	switch (v->type) {
	case MB_BOOL:
		return raw != 0;
	case MB_INT16:
		return (int16_t)raw;
	case MB_INT32:
		return (int32_t)raw;
	case MB_INT64:
		return (double)(int64_t)raw;
	case MB_FLOAT32: {
		uint32_t u = (uint32_t)raw;
		float f;

		memcpy(&f, &u, 4);
		return f;
	}
	case MB_FLOAT64: {
		double d;

		memcpy(&d, &raw, 8);
		return d;
	}
	default:
		return (double)raw;
	}
}

static void check_decode(const uint8_t *data)
{
	struct mb_value v = {
		.table = (enum mb_table)(data[0] % MB_NTABLES),
		.type = (enum mb_type)(data[1] % MB_NTYPES),
		.order = (enum mb_order)(data[2] % MB_NORDERS),
		.has_bits = data[3] & 1,
		.bit_lo = data[4] % 16,
		.bit_hi = data[5] % 16,
		.address = (uint16_t)(data[6] << 8 | data[7]),
		.scale = 1,
		.offset = 0,
	};
	const uint8_t *wire = data + 8;
	uint16_t regs[4];
	char err[256];

	if (v.bit_lo > v.bit_hi) /* mb_parse_bits() never gives that */
		return;
	if (mb_value_check(&v, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(v.address + mb_value_width(&v) - 1 <= 65535, "address %u width %u", v.address,
		   mb_value_width(&v));
	if (mb_table_is_bits(v.table)) {
		FUZZ_CHECK(mb_decode_bit(&v, wire[0] & 1) == (wire[0] & 1), "bit");
		return;
	}
	for (unsigned i = 0; i < 4; i++) /* what libmodbus hands over: host-order words */
		regs[i] = (uint16_t)(wire[2 * i] << 8 | wire[2 * i + 1]);
	unsigned n = mb_type_regs(v.type);
	double got = mb_decode_regs(&v, regs);
	/* The same scaling (1, 0): it turns -0 into 0, as the driver's does. */
	double want = reference_value(&v, reference_raw(wire, n, v.order)) * v.scale + v.offset;
	FUZZ_CHECK(memcmp(&got, &want, sizeof(got)) == 0 || (isnan(got) && isnan(want)),
		   "%s %s %s bits %d %u-%u: %.17g, expected %.17g", mb_table_name(v.table),
		   mb_type_name(v.type), mb_order_name(v.order), v.has_bits, v.bit_lo, v.bit_hi,
		   got, want);
	if (v.has_bits) {
		double lim = (double)(1u << (v.bit_hi - v.bit_lo + 1));

		FUZZ_CHECK(v.type == MB_INT16 ? got >= -lim / 2 && got < lim / 2
					      : got >= 0 && got < lim,
			   "field %g of %u bits", got, v.bit_hi - v.bit_lo + 1);
	}
}

static void check_options(const char *s)
{
	enum mb_table t;
	enum mb_type ty;
	enum mb_order o;
	uint8_t lo, hi, lo2, hi2;
	char err[256], back[16];

	if (mb_parse_table(s, &t, err, sizeof(err)) == 0)
		FUZZ_CHECK(strcmp(mb_table_name(t), s) == 0, "'%s' -> %s", s, mb_table_name(t));
	if (mb_parse_type(s, &ty, err, sizeof(err)) == 0)
		FUZZ_CHECK(strcmp(mb_type_name(ty), s) == 0, "'%s' -> %s", s, mb_type_name(ty));
	if (mb_parse_order(s, &o, err, sizeof(err)) == 0)
		FUZZ_CHECK(strcmp(mb_order_name(o), s) == 0, "'%s' -> %s", s, mb_order_name(o));
	if (mb_parse_bits(s, &lo, &hi, err, sizeof(err)) == 0) {
		FUZZ_CHECK(lo <= hi && hi <= 15, "'%s' -> %u-%u", s, lo, hi);
		snprintf(back, sizeof(back), "%u-%u", lo, hi);
		FUZZ_CHECK(mb_parse_bits(back, &lo2, &hi2, err, sizeof(err)) == 0 && lo2 == lo &&
				   hi2 == hi,
			   "'%s' -> '%s'", s, back);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 16)
		return 0;
	check_decode(data);
	s = fuzz_str(data + 16, size - 16);
	check_options(s);
	free(s);
	return 0;
}
