/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Modbus request planning: which blocks of registers or bits a device reads
 * so that each metric is served by one request per sampling pass. Pure
 * functions, no libmodbus.
 */
#ifndef LT_MODBUS_PLAN_H
#define LT_MODBUS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "devices/modbus_decode.h"

/* Most registers or bits one read request may ask for (MODBUS_MAX_READ_*). */
#define MB_MAX_READ_REGS 125
#define MB_MAX_READ_BITS 2000

/* What one metric reads: @count registers (or bits) of @table from @start. */
struct mb_span {
	uint64_t interval_ns; /* metrics of one interval are due in the same pass */
	enum mb_table table;
	uint16_t start;
	uint16_t count;
};

/* One read request: metrics whose spans it covers share its answer. */
struct mb_block {
	uint64_t interval_ns;
	enum mb_table table;
	uint16_t start;
	uint16_t count; /* at most MB_MAX_READ_REGS, or MB_MAX_READ_BITS for bits */
};

/*
 * mb_plan - group @n spans by (interval, table), sort each group by address
 * and merge neighbours into blocks while the registers left unread between
 * them are at most @max_gap (@max_bit_gap for coils and discrete inputs)
 * and the block stays within the request limit. Overlapping and duplicate
 * spans fall into one block. Writes at most @n blocks into @blocks (in
 * interval, table and address order) and, for each span i, the index of
 * its block into @block_of[i]. Returns the number of blocks, or -ENOMEM.
 */
int mb_plan(const struct mb_span *spans, size_t n, unsigned max_gap, unsigned max_bit_gap,
	    struct mb_block *blocks, unsigned *block_of);

#endif
