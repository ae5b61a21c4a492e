/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * make bench BENCH=units (issue 16): what a unit conversion costs per
 * sample, and what udunits2 costs while a configuration loads.
 *
 * Per sample, the publisher's path (src/core/publisher.c, published()):
 * copy the 32-byte sample, and when the metric converts, y = a*x + b. Side
 * by side: no conversion, that affine converter, and udunits2's own
 * cv_convert_double() on the same converter (what keeping a cv_converter
 * would cost). degC -> degF, an offset and a factor; the median of RUNS runs
 * of ROUNDS passes over N samples each.
 *
 * Loading: lt_units_open() (ut_read_xml of the installed database), one
 * check, converter and describe, lt_units_close(); wall time (median of
 * RUNS) and the process's resident set before, while open and after close.
 */
#include "bench_median.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <udunits2.h>

#include <liota/sample.h>

#include "units.h"

#define N      4096
#define ROUNDS 2000
#define RUNS   7

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

enum kind { COPY, AFFINE, UDUNITS };

struct metric {
	int convert;
	struct lt_unit_conv conv;
	cv_converter *cv;
};

/* One pass: each sample as the publisher hands it to the DCCs, into @out. */
static __attribute__((noinline)) void pass(enum kind k, const struct metric *m,
					   const struct lt_sample *in, struct lt_sample *out)
{
	for (size_t i = 0; i < N; i++) {
		struct lt_sample o = in[i];

		if (k == AFFINE && m->convert)
			o.value = lt_unit_convert(&m->conv, o.value);
		else if (k == UDUNITS)
			o.value = cv_convert_double(m->cv, o.value);
		out[i] = o;
	}
}

static double per_sample_ns(enum kind k, const struct metric *m, const struct lt_sample *in,
			    struct lt_sample *out)
{
	double t[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		for (int j = 0; j < ROUNDS; j++) {
			pass(k, m, in, out);
			__asm__ volatile("" ::"r"(out) : "memory");
		}
		t[r] = (now_ns() - t0) / ((double)N * ROUNDS);
	}
	return bench_median(t, RUNS);
}

int main(void)
{
	static struct lt_sample in[N], out[N];
	struct metric m = { .convert = 1 };
	double t[RUNS], copy, affine, udu, mid;
	long rss0, rss_open = 0, rss_closed;
	char err[512], *p, *n;
	struct lt_units *u;
	ut_system *sys;
	ut_unit *c, *f;

	rss0 = rss_kb();
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		u = lt_units_open(err, sizeof(err));
		if (!u || lt_units_check(u, "degC", err, sizeof(err)) < 0 ||
		    lt_units_converter(u, "degC", "degF", &m.conv, err, sizeof(err)) < 0 ||
		    lt_units_describe(u, "kPa", &p, &n) < 0) {
			fprintf(stderr, "units_bench: %s\n", err);
			return 1;
		}
		free(p);
		free(n);
		if (r == 0)
			rss_open = rss_kb();
		lt_units_close(u);
		t[r] = (now_ns() - t0) / 1e6;
	}
	rss_closed = rss_kb();
	mid = bench_median(t, RUNS); /* sorts t */
	printf("load: lt_units_open + check + converter + describe + close: median %.2f ms "
	       "(min %.2f, max %.2f) of %d\n",
	       mid, t[0], t[RUNS - 1], RUNS);
	printf("load: VmRSS %ld kB before, %ld kB with the unit system open, %ld kB after close "
	       "(7 loads)\n",
	       rss0, rss_open, rss_closed);

	sys = ut_read_xml(NULL);
	c = ut_parse(sys, "degC", UT_ASCII);
	f = ut_parse(sys, "degF", UT_ASCII);
	m.cv = ut_get_converter(c, f);
	for (size_t i = 0; i < N; i++)
		in[i] = (struct lt_sample){
			.ts_ns = i, .seq = i, .value = 20.0 + (double)(i % 97) / 7, .metric_id = 0
		};
	copy = per_sample_ns(COPY, &m, in, out);
	affine = per_sample_ns(AFFINE, &m, in, out);
	udu = per_sample_ns(UDUNITS, &m, in, out);
	printf("per sample (degC -> degF, median of %d runs of %d x %d samples):\n", RUNS, ROUNDS,
	       N);
	printf("  %-34s %7.2f ns\n", "no conversion (copy)", copy);
	printf("  %-34s %7.2f ns  (+%.2f ns)\n", "affine y = a*x + b (liotad)", affine,
	       affine - copy);
	printf("  %-34s %7.2f ns  (+%.2f ns)\n", "cv_convert_double (udunits2)", udu, udu - copy);
	cv_free(m.cv);
	ut_free(c);
	ut_free(f);
	ut_free_system(sys);
	return 0;
}
