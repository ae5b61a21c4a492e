/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * make bench BENCH=filters (issue 16): what a metric's filters cost per
 * sample, in the sampler thread, before the ring push.
 *
 * Seven cases, each a metric section's filter keys (CASES below): none,
 * a range every sample passes, a range every sample fails, an absolute
 * and a percentage deadband, a minimum gap, a window. All read the same
 * fixed pseudo-random walk (values that stay within the deadband and
 * values that jump), so that the compiler cannot fold them.
 *
 * Two measurements, alternating case by case within each run (the first
 * case rotating from run to run), median of RUNS runs, CPU time of the
 * thread:
 *   filter: filter_apply() alone, in a loop over the walk with a fake
 *     clock (SAMPLE_STEP_NS per sample); without a filter, the loop pays
 *     only the test of the filter pointer, as the sampler does.
 *   sampler: sampler_tick() on one device of METRICS metrics, each due at
 *     every tick, a driver read returning the walk, the ring push of what
 *     passes; the filters see the real clock there (sampler.c). The lane
 *     is drained between timed batches of TICKS ticks, outside the timing.
 * Each line also gives the share of samples sent (the result observed).
 */
#include "bench_median.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter.h"
#include "ring.h"
#include "sampler.h"
#include "util.h"

#define N              4096 /* the walk's length, a power of two */
#define ROUNDS         250  /* filter: passes over the walk per run */
#define SAMPLE_STEP_NS 10000ull
#define METRICS        250
#define TICKS          200 /* sampler: ticks per timed batch (METRICS * TICKS < LANE) */
#define BATCHES        5
#define LANE           65536
#define RUNS           15

struct bench_case {
	const char *name;
	const char *keys[2][2]; /* up to two "key", "value" pairs */
};

static const struct bench_case CASES[] = {
	{ "(a) no filter", { { NULL } } },
	{ "(b) filter = [-1000, 1000]", { { "filter", "[-1000, 1000]" } } },
	{ "(c) filter = [1000, 2000]", { { "filter", "[1000, 2000]" } } },
	{ "(d) deadband = 2", { { "deadband", "2" } } },
	{ "(e) deadband = 4%", { { "deadband", "4%" } } },
	{ "(f) min_gap = 25us", { { "min_gap", "25us" } } },
	{ "(g) deadband = 2, window = 100us", { { "deadband", "2" }, { "window", "100us" } } },
};
#define NCASES (sizeof(CASES) / sizeof(CASES[0]))

static double walk[N];

/*
 * The thread's CPU time, not the wall clock: on a machine shared with other
 * work, a run during which the thread was preempted is not counted longer.
 */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Around 50, within [20, 80]: half the steps under 1 (within the deadbands), half up to 8. */
static void make_walk(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double v = 50;

	for (size_t i = 0; i < N; i++) {
		double u;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u = (double)(x >> 11) / (double)(1ull << 53) * 2 - 1; /* [-1, 1) */
		v += (x & 1) ? u : 8 * u;
		if (v < 20 || v > 80)
			v = 50;
		walk[i] = v;
	}
}

static int make_filter(const struct bench_case *c, struct lt_filter **out)
{
	char err[256];
	struct lt_filter *f;

	*out = NULL;
	if (!c->keys[0][0])
		return 0;
	f = xcalloc(1, sizeof(*f));
	for (int k = 0; k < 2 && c->keys[k][0]; k++)
		if (filter_set(f, c->keys[k][0], c->keys[k][1], err, sizeof(err)) < 0) {
			fprintf(stderr, "filter_bench: %s = %s: %s\n", c->keys[k][0], c->keys[k][1],
				err);
			free(f);
			return -1;
		}
	if (filter_check(f, err, sizeof(err)) < 0) {
		fprintf(stderr, "filter_bench: %s: %s\n", c->name, err);
		free(f);
		return -1;
	}
	*out = f;
	return 0;
}

/* ---- filter_apply() alone ---------------------------------------------- */

struct alone {
	struct lt_filter *f;
	struct filter_state st;
	uint64_t now;
	uint64_t sent, samples;
};

/* One pass over the walk, as the sampler decides: no filter, or filter_apply(). */
static __attribute__((noinline)) unsigned alone_pass(struct alone *a)
{
	const struct lt_filter *f = a->f;
	uint64_t now = a->now;
	unsigned sent = 0;

	for (size_t i = 0; i < N; i++) {
		now += SAMPLE_STEP_NS;
		/* The pointer is tested at each sample (the sampler loads it per metric). */
		__asm__ volatile("" : "+r"(f));
		if (!f || filter_sends(filter_apply(f, &a->st, walk[i], now)))
			sent++;
	}
	a->now = now;
	return sent;
}

static double alone_run(struct alone *a)
{
	double t0 = now_ns();
	uint64_t sent = 0;

	for (int j = 0; j < ROUNDS; j++)
		sent += alone_pass(a);
	a->sent += sent;
	a->samples += (uint64_t)N * ROUNDS;
	return (now_ns() - t0) / ((double)N * ROUNDS);
}

/* ---- sampler_tick() ---------------------------------------------------- */

struct path {
	struct lt_device dev;
	struct lt_ring *ring;
	struct lt_ring_producer p;
	struct sampler s;
	uint64_t now;
	uint64_t sent, samples;
};

/* The driver: each metric reads the walk from its own offset (its priv). */
static int walk_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	uintptr_t i = (uintptr_t)m->priv;

	(void)dev;
	*value = walk[i & (N - 1)];
	m->priv = (void *)(i + 1);
	return 0;
}

static const struct lt_device_driver walk_driver = { .name = "walk", .read = walk_read };

static int path_init(struct path *pa, const struct bench_case *c)
{
	memset(pa, 0, sizeof(*pa));
	pa->dev.name = "bench";
	pa->dev.drv = &walk_driver;
	pa->dev.nmetrics = METRICS;
	pa->dev.metrics = xcalloc(METRICS, sizeof(*pa->dev.metrics));
	for (unsigned i = 0; i < METRICS; i++) {
		struct lt_metric *m = xcalloc(1, sizeof(*m));

		m->id = i;
		m->dev_index = i;
		m->interval_ns = 1; /* due at every tick: the bench steps now by 1 */
		m->aggregation = 1;
		m->device = &pa->dev;
		m->priv = (void *)(uintptr_t)(i * 997);
		if (make_filter(c, &m->filter) < 0)
			return -1;
		pa->dev.metrics[i] = m;
	}
	if (lt_ring_new(1, LANE, 1, &pa->ring) < 0 ||
	    lt_ring_producer_init(pa->ring, 0, &pa->p) < 0) {
		fprintf(stderr, "filter_bench: cannot make a ring\n");
		return -1;
	}
	pa->s.dev = &pa->dev;
	pa->s.ring = pa->ring;
	pa->s.met = xcalloc(METRICS, sizeof(*pa->s.met));
	pa->now = 1;
	return 0;
}

static void path_free(struct path *pa)
{
	for (unsigned i = 0; i < METRICS; i++) {
		free(pa->dev.metrics[i]->filter);
		free(pa->dev.metrics[i]);
	}
	free(pa->dev.metrics);
	free(pa->s.met);
	lt_ring_free(pa->ring);
}

static double path_run(struct path *pa)
{
	static struct lt_sample out[LANE];
	double busy = 0;

	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();

		for (int k = 0; k < TICKS; k++)
			sampler_tick(&pa->s, &pa->p, pa->now++);
		busy += now_ns() - t0;
		pa->sent += lt_ring_consume(pa->ring, out, LANE);
		pa->samples += (uint64_t)METRICS * TICKS;
	}
	return busy / ((double)METRICS * TICKS * BATCHES);
}

/* What the sampler counted agrees with what the ring got: nothing dropped, nothing lost. */
static int path_check(const struct path *pa)
{
	uint64_t samples = 0, sent = 0;

	for (unsigned i = 0; i < METRICS; i++) {
		const struct lt_metric *m = pa->dev.metrics[i];

		samples += atomic_load(&m->samples);
		if (m->filter) {
			/* One atomic_load() a statement: two nest its temporaries (-Wshadow). */
			sent += atomic_load(&m->filter->counts[FILTER_PASS]);
			sent += atomic_load(&m->filter->counts[FILTER_WINDOW]);
		} else
			sent += atomic_load(&m->samples);
		if (atomic_load(&m->ring_dropped) || atomic_load(&m->errors)) {
			fprintf(stderr, "filter_bench: samples dropped by the ring or errors\n");
			return -1;
		}
	}
	if (samples != pa->samples || sent != pa->sent) {
		fprintf(stderr, "filter_bench: %llu samples, %llu sent; expected %llu, %llu\n",
			(unsigned long long)samples, (unsigned long long)sent,
			(unsigned long long)pa->samples, (unsigned long long)pa->sent);
		return -1;
	}
	return 0;
}

int main(void)
{
	static struct alone al[NCASES];
	static struct path pa[NCASES];
	static double ta[NCASES][RUNS], tp[NCASES][RUNS];
	double ma[NCASES], mp[NCASES];
	int rc = 0;

	make_walk();
	for (size_t c = 0; c < NCASES; c++)
		if (make_filter(&CASES[c], &al[c].f) < 0 || path_init(&pa[c], &CASES[c]) < 0)
			return 1;
	/* Warm-up: the state of each filter past its start, the lanes touched once. */
	for (size_t c = 0; c < NCASES; c++) {
		alone_pass(&al[c]);
		path_run(&pa[c]);
		al[c].sent = al[c].samples = 0;
	}
	for (int r = 0; r < RUNS; r++)
		for (size_t k = 0; k < NCASES; k++) {
			size_t c = (k + (size_t)r) % NCASES;

			ta[c][r] = alone_run(&al[c]);
			tp[c][r] = path_run(&pa[c]);
		}
	for (size_t c = 0; c < NCASES; c++) {
		if (path_check(&pa[c]) < 0)
			rc = 1;
		ma[c] = bench_median(ta[c], RUNS);
		mp[c] = bench_median(tp[c], RUNS);
	}
	printf("filter: filter_apply() alone, %d x %d samples a run, one every %llu us (fake "
	       "clock)\n",
	       ROUNDS, N, SAMPLE_STEP_NS / 1000);
	printf("sampler: sampler_tick(), %d metrics due at every tick, %d x %d ticks a run "
	       "(real clock)\n",
	       METRICS, BATCHES, TICKS);
	printf("median of %d runs, alternating case by case; ns per sample, added to (a), ratio "
	       "to (a), share of samples sent\n",
	       RUNS);
	printf("  %-34s %9s %7s %6s %6s   %9s %7s %6s %6s\n", "case", "filter", "added", "ratio",
	       "sent", "sampler", "added", "ratio", "sent");
	for (size_t c = 0; c < NCASES; c++)
		printf("  %-34s %6.2f ns %+7.2f %6.2f %5.1f%%   %6.2f ns %+7.2f %6.2f %5.1f%%\n",
		       CASES[c].name, ma[c], ma[c] - ma[0], ma[c] / ma[0],
		       100.0 * al[c].sent / al[c].samples, mp[c], mp[c] - mp[0], mp[c] / mp[0],
		       100.0 * pa[c].sent / pa[c].samples);
	for (size_t c = 0; c < NCASES; c++) {
		free(al[c].f);
		path_free(&pa[c]);
	}
	return rc;
}
