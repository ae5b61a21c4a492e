/* SPDX-License-Identifier: BSD-2-Clause */
/* Modbus request planning: see modbus_plan.h. */
#include <errno.h>
#include <stdlib.h>

#include "devices/modbus_plan.h"

static int span_cmp(const void *a, const void *b, void *arg)
{
	const struct mb_span *spans = arg;
	const struct mb_span *x = &spans[*(const unsigned *)a], *y = &spans[*(const unsigned *)b];

	if (x->interval_ns != y->interval_ns)
		return x->interval_ns < y->interval_ns ? -1 : 1;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* then by index: the plan does not depend on qsort's stability */
	return *(const unsigned *)a < *(const unsigned *)b ? -1 : 1;
}

int mb_plan(const struct mb_span *spans, size_t n, unsigned max_gap, unsigned max_bit_gap,
	    struct mb_block *blocks, unsigned *block_of)
{
	unsigned *idx;
	int nb = 0;

	if (n == 0)
		return 0;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = (unsigned)i;
	qsort_r(idx, n, sizeof(*idx), span_cmp, (void *)spans);

	for (size_t k = 0; k < n; k++) {
		const struct mb_span *s = &spans[idx[k]];
		struct mb_block *b = nb ? &blocks[nb - 1] : NULL;
		uint32_t s_end = (uint32_t)s->start + s->count; /* one past the last */

		if (b && b->interval_ns == s->interval_ns && b->table == s->table) {
			bool bits = mb_table_is_bits(s->table);
			uint32_t b_end = (uint32_t)b->start + b->count;
			uint32_t gap = s->start > b_end ? s->start - b_end : 0;
			uint32_t end = s_end > b_end ? s_end : b_end;

			if (gap <= (bits ? max_bit_gap : max_gap) &&
			    end - b->start <= (bits ? MB_MAX_READ_BITS : MB_MAX_READ_REGS)) {
				b->count = (uint16_t)(end - b->start);
				block_of[idx[k]] = (unsigned)(nb - 1);
				continue;
			}
		}
		blocks[nb] = (struct mb_block){ .interval_ns = s->interval_ns,
						.table = s->table,
						.start = s->start,
						.count = s->count };
		block_of[idx[k]] = (unsigned)nb++;
	}
	free(idx);
	return nb;
}
