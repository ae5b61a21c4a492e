/* SPDX-License-Identifier: BSD-2-Clause */
/* Modbus value decoding: see modbus_decode.h for the orders and the rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/modbus_decode.h"

static const char *const table_names[MB_NTABLES] = {
	[MB_COIL] = "coil",
	[MB_DISCRETE] = "discrete",
	[MB_HOLDING] = "holding",
	[MB_INPUT] = "input",
};

static const char *const type_names[MB_NTYPES] = {
	[MB_BOOL] = "bool",     [MB_INT16] = "int16",     [MB_UINT16] = "uint16",
	[MB_INT32] = "int32",   [MB_UINT32] = "uint32",   [MB_INT64] = "int64",
	[MB_UINT64] = "uint64", [MB_FLOAT32] = "float32", [MB_FLOAT64] = "float64",
};

static const char *const order_names[MB_NORDERS] = {
	[MB_ABCD] = "ABCD",
	[MB_CDAB] = "CDAB",
	[MB_BADC] = "BADC",
	[MB_DCBA] = "DCBA",
};

static const uint8_t type_regs[MB_NTYPES] = {
	[MB_BOOL] = 1,  [MB_INT16] = 1,  [MB_UINT16] = 1,  [MB_INT32] = 2,   [MB_UINT32] = 2,
	[MB_INT64] = 4, [MB_UINT64] = 4, [MB_FLOAT32] = 2, [MB_FLOAT64] = 4,
};

const char *mb_table_name(enum mb_table t)
{
	return (unsigned)t < MB_NTABLES ? table_names[t] : "?";
}

const char *mb_type_name(enum mb_type t)
{
	return (unsigned)t < MB_NTYPES ? type_names[t] : "?";
}

const char *mb_order_name(enum mb_order o)
{
	return (unsigned)o < MB_NORDERS ? order_names[o] : "?";
}

unsigned mb_type_regs(enum mb_type t)
{
	return (unsigned)t < MB_NTYPES ? type_regs[t] : 1;
}

/* Index of @s in @names (exact match), or -1. */
static int name_index(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int mb_parse_table(const char *s, enum mb_table *out, char *err, size_t errlen)
{
	int i = name_index(table_names, MB_NTABLES, s);

	if (i < 0) {
		snprintf(err, errlen, "unknown table '%s' (coil, discrete, input or holding)", s);
		return -EINVAL;
	}
	*out = (enum mb_table)i;
	return 0;
}

int mb_parse_type(const char *s, enum mb_type *out, char *err, size_t errlen)
{
	int i = name_index(type_names, MB_NTYPES, s);

	if (i < 0) {
		snprintf(err, errlen,
			 "unknown type '%s' (bool, int16, uint16, int32, uint32, int64, uint64, "
			 "float32 or float64)",
			 s);
		return -EINVAL;
	}
	*out = (enum mb_type)i;
	return 0;
}

int mb_parse_order(const char *s, enum mb_order *out, char *err, size_t errlen)
{
	int i = name_index(order_names, MB_NORDERS, s);

	if (i < 0) {
		snprintf(err, errlen, "unknown order '%s' (ABCD, DCBA, BADC or CDAB)", s);
		return -EINVAL;
	}
	*out = (enum mb_order)i;
	return 0;
}

/* A bit number 0..15 at *@p, advancing it; -1 when there is none. */
static int parse_bitno(const char **p)
{
	const char *s = *p;
	int v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && v < 100)
		v = v * 10 + (*s++ - '0');
	*p = s;
	return v;
}

int mb_parse_bits(const char *s, uint8_t *lo, uint8_t *hi, char *err, size_t errlen)
{
	const char *p = s;
	int a, b;

	a = parse_bitno(&p);
	b = a;
	if (a >= 0 && *p == '-') {
		p++;
		b = parse_bitno(&p);
	}
	if (a < 0 || b < 0 || *p) {
		snprintf(err, errlen, "'%s' is not a bit (0..15) or a range of bits (4-7)", s);
		return -EINVAL;
	}
	if (a > 15 || b > 15) {
		snprintf(err, errlen, "'%s': a register has bits 0 to 15", s);
		return -EINVAL;
	}
	if (a > b) {
		snprintf(err, errlen, "'%s': write the lower bit first (%d-%d)", s, b, a);
		return -EINVAL;
	}
	*lo = (uint8_t)a;
	*hi = (uint8_t)b;
	return 0;
}

int mb_value_check(const struct mb_value *v, char *err, size_t errlen)
{
	unsigned width = mb_value_width(v);

	if (mb_table_is_bits(v->table)) {
		if (v->type != MB_BOOL) {
			snprintf(err, errlen,
				 "type: %s does not apply to table %s (coils and discrete inputs "
				 "are bool)",
				 mb_type_name(v->type), mb_table_name(v->table));
			return -EINVAL;
		}
		if (v->has_bits) {
			snprintf(err, errlen,
				 "bits: table %s is single bits already (bits selects a field of "
				 "an input or holding register)",
				 mb_table_name(v->table));
			return -EINVAL;
		}
	} else if (v->has_bits) {
		if (v->type != MB_BOOL && v->type != MB_INT16 && v->type != MB_UINT16) {
			snprintf(err, errlen,
				 "bits: a bit field is of one 16-bit register: type %s cannot have "
				 "one (bool, int16 or uint16)",
				 mb_type_name(v->type));
			return -EINVAL;
		}
	} else if (v->type == MB_BOOL) {
		snprintf(err, errlen,
			 "type: bool on table %s needs bits (the bit of the register, 0 = least "
			 "significant)",
			 mb_table_name(v->table));
		return -EINVAL;
	}
	if ((unsigned)v->address + width - 1 > 65535) {
		snprintf(err, errlen,
			 "address: %s at %u would read %s %u-%u, past the last address 65535",
			 mb_type_name(v->type), v->address,
			 mb_table_is_bits(v->table) ? "bits" : "registers", v->address,
			 v->address + width - 1);
		return -EINVAL;
	}
	return 0;
}

uint64_t mb_assemble(const uint16_t *regs, unsigned n, enum mb_order order)
{
	bool swap_bytes = order == MB_BADC || order == MB_DCBA;
	bool swap_words = order == MB_CDAB || order == MB_DCBA;
	uint64_t raw = 0;

	for (unsigned i = 0; i < n; i++) {
		uint16_t w = regs[swap_words ? n - 1 - i : i];

		if (swap_bytes)
			w = (uint16_t)(w << 8 | w >> 8);
		raw = raw << 16 | w;
	}
	return raw;
}

double mb_decode_regs(const struct mb_value *v, const uint16_t *regs)
{
	uint64_t raw = mb_assemble(regs, mb_type_regs(v->type), v->order);
	double x = 0;

	if (v->has_bits) {
		unsigned width = v->bit_hi - v->bit_lo + 1u;
		uint64_t field = (raw >> v->bit_lo) & ((1u << width) - 1);

		if (v->type == MB_BOOL)
			x = field != 0;
		else if (v->type == MB_INT16 && (field >> (width - 1)) & 1)
			x = (double)field - (double)(1u << width); /* two's complement */
		else
			x = (double)field;
		return x * v->scale + v->offset;
	}
	switch (v->type) {
	case MB_BOOL:
		x = raw != 0;
		break;
	case MB_INT16:
		x = (int16_t)(uint16_t)raw;
		break;
	case MB_UINT16:
	case MB_UINT32:
		x = (double)raw;
		break;
	case MB_INT32:
		x = (int32_t)(uint32_t)raw;
		break;
	case MB_INT64:
		x = (double)(int64_t)raw; /* exact up to 2^53 */
		break;
	case MB_UINT64:
		x = (double)raw;
		break;
	case MB_FLOAT32: {
		uint32_t u = (uint32_t)raw;
		float f;

		memcpy(&f, &u, sizeof(f));
		x = f;
		break;
	}
	case MB_FLOAT64:
		memcpy(&x, &raw, sizeof(x));
		break;
	default:
		break;
	}
	return x * v->scale + v->offset;
}

double mb_decode_bit(const struct mb_value *v, uint8_t bit)
{
	return (bit ? 1.0 : 0.0) * v->scale + v->offset;
}
