/* SPDX-License-Identifier: BSD-2-Clause */
/* The median of a benchmark's runs (sorts @v): the upper one of an even count. */
#ifndef LT_BENCH_MEDIAN_H
#define LT_BENCH_MEDIAN_H

#include <stdlib.h>

static inline int bench_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_dcmp);
	return v[n / 2];
}

#endif
