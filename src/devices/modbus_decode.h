/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Modbus value decoding: what one metric makes of the registers or bits it
 * reads (table, type, byte/word order, bit field, scale and offset). Pure
 * functions, no libmodbus: the unit tests check them against hand-computed
 * register images.
 */
#ifndef LT_MODBUS_DECODE_H
#define LT_MODBUS_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The four Modbus data tables, in function-code order (0x01..0x04 read them). */
enum mb_table { MB_COIL, MB_DISCRETE, MB_HOLDING, MB_INPUT, MB_NTABLES };

enum mb_type {
	MB_BOOL,
	MB_INT16,
	MB_UINT16,
	MB_INT32,
	MB_UINT32,
	MB_INT64,
	MB_UINT64,
	MB_FLOAT32,
	MB_FLOAT64,
	MB_NTYPES
};

/*
 * Byte and word order of a value in its registers, named after where the
 * bytes of a 32-bit value A B C D (A most significant) travel:
 *   ABCD  registers AB CD  big-endian, high word first (the default)
 *   CDAB  registers CD AB  words swapped
 *   BADC  registers BA DC  bytes swapped in each register
 *   DCBA  registers DC BA  little-endian
 * Each name is two independent swaps: bytes within each register (BADC,
 * DCBA) and the order of the registers (CDAB, DCBA). A 64-bit value
 * A..H applies the same two swaps to its four registers, the way Modbus
 * Poll and pymodbus's word order do: ABCD = AB CD EF GH, CDAB = GH EF CD AB,
 * BADC = BA DC FE HG, DCBA = HG FE DC BA. A 16-bit value only has the byte
 * swap: BADC and DCBA read BA, ABCD and CDAB read AB.
 */
enum mb_order { MB_ABCD, MB_CDAB, MB_BADC, MB_DCBA, MB_NORDERS };

/* Coils and discrete inputs are bits; holding and input registers are 16-bit words. */
static inline bool mb_table_is_bits(enum mb_table t)
{
	return t == MB_COIL || t == MB_DISCRETE;
}

/* How one metric reads its value. */
struct mb_value {
	enum mb_table table;
	enum mb_type type;
	enum mb_order order;
	uint16_t address; /* 0-based protocol address of the first register or bit */
	bool has_bits;    /* a bit field lo..hi of one 16-bit register */
	uint8_t bit_lo, bit_hi;
	double scale, offset;
};

/* Names as written in the configuration ("holding", "float32", "CDAB"). */
const char *mb_table_name(enum mb_table t);
const char *mb_type_name(enum mb_type t);
const char *mb_order_name(enum mb_order o);

/*
 * Parsers of the option values ("holding", "float32", "CDAB", "3-5"): 0, or
 * -EINVAL with a reason in @err that lists what would have been accepted.
 */
int mb_parse_table(const char *s, enum mb_table *out, char *err, size_t errlen);
int mb_parse_type(const char *s, enum mb_type *out, char *err, size_t errlen);
int mb_parse_order(const char *s, enum mb_order *out, char *err, size_t errlen);
int mb_parse_bits(const char *s, uint8_t *lo, uint8_t *hi, char *err, size_t errlen);

/* Registers a value of type @t takes (bits: 1; bool counts as one register or bit). */
unsigned mb_type_regs(enum mb_type t);

/* Registers (or bits) the metric reads, from v->address on. */
static inline unsigned mb_value_width(const struct mb_value *v)
{
	return mb_table_is_bits(v->table) ? 1 : mb_type_regs(v->type);
}

/*
 * mb_value_check - whether @v is a consistent combination (type for the
 * table, bits for the type, address range): 0, or -EINVAL with a reason
 * that names the offending key.
 */
int mb_value_check(const struct mb_value *v, char *err, size_t errlen);

/* The value of a register metric: @regs holds its mb_value_width() registers. */
double mb_decode_regs(const struct mb_value *v, const uint16_t *regs);
/* The value of a coil or discrete input metric whose bit reads @bit (0 or 1). */
double mb_decode_bit(const struct mb_value *v, uint8_t bit);

/* The raw integer image of @n registers (1, 2 or 4) in @order, before any type. */
uint64_t mb_assemble(const uint16_t *regs, unsigned n, enum mb_order order);

#endif
