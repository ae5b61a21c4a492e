/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring_bench: liotad's ring against other queues (issue 3, section 1).
 *
 * Every queue moves the same 32-byte record, the same number of records,
 * in calls of 1 or 32 records, from 1, 2 or 4 producer threads to one
 * consumer, several times per configuration; the report gives medians of
 * items/s and ns/item and liotad's ratio to each queue. The consumer checks
 * that every record arrived exactly once and in order per producer; a run
 * that fails the check is invalid and does not count. Runs are repeated in
 * rounds (run 1 of every queue, then run 2, ...) so that slow drifts of the
 * machine hit every queue alike.
 *
 * A watchdog bounds every run: a run that moves fewer than --stall-rate
 * items/s over 250 ms, or lasts longer than --timeout, is stopped and
 * reported as stalled with the rate it reached. /proc/stat is read around
 * the timed window; CPU time the machine spent beyond this process's own
 * (getrusage) means another process ran; a cache-line round trip between
 * two CPUs, probed before and after each run, shows a slowed-down host
 * (see c2c_probe()). Such runs are flagged and left out of the medians
 * when at least half the runs are clean.
 *
 * Then, for liotad's ring only: the wake-up latency from commit to the
 * sleeping consumer, and what an idle ring costs its sleeping consumer.
 */
#include "queues/queue.h"
#include "ring.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_RUNS        32
#define MAX_CFG         8
#define STALL_WINDOW_NS 250000000ull

static const struct queue_impl *const impls[] = {
	&bench_liotad_sleep, &bench_liotad_spin, &bench_ck_spsc, &bench_ck_mpsc, &bench_ck_mpmc,
	&bench_rte_spsc,     &bench_rte_mpsc,    &bench_rte_rts, &bench_wfcq,    &bench_mutex,
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))

static struct {
	uint64_t items;
	unsigned runs;
	unsigned prod[MAX_CFG], nprodcfg;
	unsigned batch[MAX_CFG], nbatchcfg;
	int pin_modes[2], npin; /* 1 = pinned, 0 = not */
	uint64_t capacity;
	double timeout;
	double stall_rate;
	double max_other; /* fraction of the machine's CPU */
	unsigned latency; /* samples; 0 = skip */
	double idle;      /* seconds; 0 = skip */
	char queues[256];
} opt = {
	.items = 10000000,
	.runs = 5,
	.prod = { 1, 2, 4 },
	.nprodcfg = 3,
	.batch = { 1, 32 },
	.nbatchcfg = 2,
	.pin_modes = { 1, 0 },
	.npin = 2,
	.capacity = 4096,
	.timeout = 10,
	.stall_rate = 1e6,
	.max_other = 0.03,
	.latency = 2000,
	.idle = 2,
};

static int cpus[256], ncpus;
static long clk_tck;

/* ---- helpers shared with the adapters ---------------------------------- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_fail(struct bench_run *r, const struct lt_sample *s, const char *why)
{
	if (!r->bad++) {
		if (s)
			snprintf(r->error, sizeof(r->error),
				 "%s: producer %u record %llu, expected %llu after %llu received",
				 why, s->metric_id, (unsigned long long)s->ts_ns,
				 s->metric_id < r->nprod ? (unsigned long long)r->next[s->metric_id]
							 : 0ull,
				 (unsigned long long)atomic_load(&r->received));
		else
			snprintf(r->error, sizeof(r->error), "%s", why);
	}
	atomic_store(&r->stop, 1);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ring_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* ---- CPU accounting ----------------------------------------------------- */

struct cpu_sample {
	double busy; /* seconds, all CPUs: user nice system irq softirq steal */
	double steal;
	double own; /* this process, user + system */
};

static void cpu_sample(struct cpu_sample *c)
{
	unsigned long long v[8] = { 0 };
	struct rusage ru;
	FILE *f = fopen("/proc/stat", "re");

	memset(c, 0, sizeof(*c));
	if (f) {
		/* cpu user nice system idle iowait irq softirq steal */
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
			memset(v, 0, sizeof(v));
		fclose(f);
	}
	c->busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)clk_tck;
	c->steal = (double)v[7] / (double)clk_tck;
	getrusage(RUSAGE_SELF, &ru);
	c->own = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- threads ------------------------------------------------------------ */

static void thread_start(pthread_t *t, void *(*fn)(void *), void *arg, int cpu)
{
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (ret)
		die("pthread_create: %s", strerror(ret));
}

static void thread_join(pthread_t t, const char *what)
{
	struct timespec ts;
	int ret;

	/* Every loop checks the stop flag, so 10 s means something is broken. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	ret = pthread_timedjoin_np(t, NULL, &ts);
	if (ret)
		die("%s thread did not stop within 10 s after the run ended (%s)", what,
		    strerror(ret));
}

/* ---- core-to-core probe ------------------------------------------------- */

/*
 * The machine changes under us, unseen by /proc/stat: a virtual machine's
 * vCPUs move between host cores that share a cache and cores that do not
 * (or the host runs other guests on them), and every queue slows down
 * alike, two to four times, for seconds or minutes. One cache line's
 * round trip between the first two CPUs, probed before and after every
 * run, shows it: a run whose probes both took more than twice the best
 * probe of the whole process ran on a slowed-down host and is flagged
 * like a disturbed one. Hence the tables are printed after all the runs.
 */
#define C2C_TRIPS       5000
#define C2C_CALIBRATION 10

static double c2c_best = NAN;       /* the fastest probe so far, ns */
static double c2c_limit = INFINITY; /* set once every run is done */
static unsigned c2c_probes;

struct c2c_ctx {
	alignas(64) _Atomic uint64_t ball;
	_Atomic int abort;
};

static void *c2c_echo(void *arg)
{
	struct c2c_ctx *c = arg;

	for (uint64_t k = 1; k < 2 * C2C_TRIPS; k += 2) {
		while (atomic_load_explicit(&c->ball, memory_order_acquire) != k)
			if (atomic_load_explicit(&c->abort, memory_order_relaxed))
				return NULL;
		atomic_store_explicit(&c->ball, k + 1, memory_order_release);
	}
	return NULL;
}

/*
 * The serving side, on the first CPU: ns per round trip, the best of 5
 * chunks (an interrupt in one chunk is not a slow host); NAN on a 1 s
 * timeout.
 */
static double c2c_serve(struct c2c_ctx *c)
{
	uint64_t limit = bench_now_ns() + 1000000000u, chunk = C2C_TRIPS / 5, best = UINT64_MAX;

	for (uint64_t k = 0; k < 2 * C2C_TRIPS; k += 2 * chunk) {
		uint64_t t0 = bench_now_ns();

		for (uint64_t j = k; j < k + 2 * chunk; j += 2) {
			atomic_store_explicit(&c->ball, j + 1, memory_order_release);
			while (atomic_load_explicit(&c->ball, memory_order_acquire) != j + 2)
				if (bench_now_ns() > limit)
					return NAN;
		}
		if (bench_now_ns() - t0 < best)
			best = bench_now_ns() - t0;
	}
	return (double)best / chunk;
}

/* ns per round trip between the first two CPUs; NAN with one CPU. */
static double c2c_probe(void)
{
	struct c2c_ctx *c;
	cpu_set_t set, old;
	pthread_t t;
	double ns;

	if (ncpus < 2 || !(c = aligned_alloc(64, sizeof(*c))))
		return NAN;
	memset(c, 0, sizeof(*c));
	pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
	CPU_ZERO(&set);
	CPU_SET(cpus[0], &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	thread_start(&t, c2c_echo, c, cpus[1]);
	ns = c2c_serve(c);
	atomic_store(&c->abort, 1);
	thread_join(t, "the core-to-core probe");
	pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
	free(c);
	c2c_probes++;
	if (!isnan(ns) && (isnan(c2c_best) || ns < c2c_best))
		c2c_best = ns;
	return ns;
}

static void c2c_calibrate(void)
{
	for (int i = 0; i < C2C_CALIBRATION; i++)
		c2c_probe();
}

static void c2c_set_limit(void)
{
	if (!isnan(c2c_best))
		c2c_limit = 2 * c2c_best;
}

/* ---- one run ------------------------------------------------------------ */

enum status { ST_OK, ST_STALLED, ST_INVALID, ST_FAILED };

struct result {
	enum status status;
	double secs;  /* timed window: start signal to the consumer's last record */
	double rate;  /* items/s (for a stalled run: what it reached) */
	double other; /* CPU seconds used by others during the window */
	double steal;
	bool disturbed;  /* other processes ran */
	double c2c;      /* the faster core-to-core probe, before or after, ns */
	bool host_slow;  /* ... above c2c_limit (set once every run is done) */
	uint64_t sleeps; /* consumer */
	uint64_t full;   /* producers' refused enqueue calls */
	char why[256];
};

static int cpu_of_consumer(int pinned)
{
	return pinned ? cpus[0] : -1;
}

static int cpu_of_producer(int pinned, unsigned i)
{
	return pinned ? cpus[(1 + i) % (unsigned)ncpus] : -1;
}

static void run_once(const struct queue_impl *impl, unsigned nprod, unsigned batch, int pinned,
		     struct result *res)
{
	struct bench_run *r;
	struct worker w[BENCH_MAX_PROD + 1];
	pthread_t th[BENCH_MAX_PROD + 1];
	struct cpu_sample c0, c1;
	uint64_t t0, now, limit, win_t, win_n, left;
	double now_c2c;
	bool stalled = false;
	int ret;

	memset(res, 0, sizeof(*res));
	res->c2c = c2c_probe();
	r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
	if (!r)
		die("out of memory");
	memset(r, 0, sizeof(*r));
	r->impl = impl;
	r->nprod = nprod;
	r->batch = batch;
	r->per_prod = opt.items / nprod;
	r->total = r->per_prod * nprod;
	r->capacity = opt.capacity;
	ret = impl->setup(r);
	if (ret < 0) {
		res->status = ST_FAILED;
		snprintf(res->why, sizeof(res->why), "setup failed: %s", strerror(-ret));
		free(r);
		return;
	}

	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i <= nprod; i++) {
		w[i].run = r;
		w[i].id = i < nprod ? i : BENCH_MAX_PROD;
	}
	thread_start(&th[nprod], impl->consumer, &w[nprod], cpu_of_consumer(pinned));
	for (unsigned i = 0; i < nprod; i++)
		thread_start(&th[i], impl->producer, &w[i], cpu_of_producer(pinned, i));

	/* Start when every thread runs (on its CPU), bounded. */
	limit = bench_now_ns() + 5000000000ull;
	while (atomic_load(&r->ready) < nprod + 1 && bench_now_ns() < limit)
		sleep_ns(1000000);
	if (atomic_load(&r->ready) < nprod + 1)
		atomic_store(&r->stop, 1);

	cpu_sample(&c0);
	t0 = bench_now_ns();
	atomic_store_explicit(&r->go, 1, memory_order_release);

	/* Watchdog: poll progress every 10 ms. */
	limit = t0 + (uint64_t)(opt.timeout * 1e9);
	win_t = t0;
	win_n = 0;
	while (!atomic_load_explicit(&r->done, memory_order_acquire) && !bench_stopped(r)) {
		uint64_t n;

		sleep_ns(10000000);
		now = bench_now_ns();
		n = atomic_load_explicit(&r->received, memory_order_relaxed);
		if (now - win_t >= STALL_WINDOW_NS) {
			if ((double)(n - win_n) < opt.stall_rate * (double)(now - win_t) / 1e9) {
				stalled = true;
				snprintf(res->why, sizeof(res->why),
					 "stalled: %llu records in %.0f ms after %llu",
					 (unsigned long long)(n - win_n), (now - win_t) / 1e6,
					 (unsigned long long)win_n);
				break;
			}
			win_t = now;
			win_n = n;
		}
		if (now >= limit) {
			stalled = true;
			snprintf(res->why, sizeof(res->why), "not done after %.1f s", opt.timeout);
			break;
		}
	}
	if (stalled || bench_stopped(r)) {
		atomic_store(&r->stop, 1);
		if (impl->wake)
			impl->wake(r);
	}
	for (unsigned i = 0; i <= nprod; i++)
		thread_join(th[i], i < nprod ? "a producer" : "the consumer");
	cpu_sample(&c1);

	res->secs = (double)((r->t_end_ns > t0 ? r->t_end_ns : bench_now_ns()) - t0) / 1e9;
	res->rate = (double)atomic_load(&r->received) / res->secs;
	res->other = (c1.busy - c0.busy) - (c1.own - c0.own);
	res->steal = c1.steal - c0.steal;
	/* /proc/stat counts in ticks: allow one tick per CPU of rounding. */
	res->disturbed =
		res->other > 1.0 / (double)clk_tck * ncpus + opt.max_other * res->secs * ncpus;
	res->sleeps = w[nprod].sleeps;
	for (unsigned i = 0; i < nprod; i++)
		res->full += w[i].full;

	left = impl->leftover ? impl->leftover(r) : 0;
	if (r->bad) {
		res->status = ST_INVALID;
		snprintf(res->why, sizeof(res->why), "INVALID: %llu bad records; first: %s",
			 (unsigned long long)r->bad, r->error);
	} else if (stalled || atomic_load(&r->received) != r->total) {
		res->status = ST_STALLED;
		if (!res->why[0])
			snprintf(res->why, sizeof(res->why), "stopped after %llu of %llu records",
				 (unsigned long long)atomic_load(&r->received),
				 (unsigned long long)r->total);
	} else {
		res->status = ST_OK;
		for (unsigned p = 0; p < nprod; p++) {
			if (r->next[p] != r->per_prod) {
				res->status = ST_INVALID;
				snprintf(res->why, sizeof(res->why),
					 "INVALID: producer %u: %llu of %llu records arrived", p,
					 (unsigned long long)r->next[p],
					 (unsigned long long)r->per_prod);
			}
		}
		if (left) {
			res->status = ST_INVALID;
			snprintf(res->why, sizeof(res->why),
				 "INVALID: %llu records left in the queue after all arrived",
				 (unsigned long long)left);
		}
	}
	impl->teardown(r);
	free(r);
	/* Slow modes last seconds: slow before and after, not a passing blip. */
	now_c2c = c2c_probe();
	if (isnan(res->c2c) || now_c2c < res->c2c)
		res->c2c = now_c2c;
}

/* ---- statistics and tables --------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct summary {
	bool present;
	double med; /* items/s over the runs that count */
	double min, max;
	unsigned nrun, nok, nstalled, ninvalid, nfailed, ndisturbed, nhost, nused;
	bool used_disturbed; /* too few clean runs: medians include disturbed ones */
	double med_all;      /* items/s over every valid run */
	double sleeps_med, full_med;
	char why[256]; /* first problem seen */
};

/*
 * Runs that count: valid ones (stalled runs count with the rate they
 * reached), clean ones if at least half are clean.
 */
static void summarize(const struct result *res, unsigned n, struct summary *s)
{
	double v[MAX_RUNS], sl[MAX_RUNS], fu[MAX_RUNS], all[MAX_RUNS];
	unsigned nclean = 0, nvalid = 0;

	memset(s, 0, sizeof(*s));
	s->present = true;
	s->nrun = n;
	for (unsigned i = 0; i < n; i++) {
		const struct result *x = &res[i];

		if (x->status == ST_OK)
			s->nok++;
		else if (x->status == ST_STALLED)
			s->nstalled++;
		else if (x->status == ST_INVALID)
			s->ninvalid++;
		else
			s->nfailed++;
		if (x->status != ST_OK && !s->why[0])
			snprintf(s->why, sizeof(s->why), "%s", x->why);
		if (x->status == ST_OK || x->status == ST_STALLED) {
			all[nvalid++] = x->rate;
			if (x->disturbed)
				s->ndisturbed++;
			if (x->host_slow)
				s->nhost++;
			if (!x->disturbed && !x->host_slow)
				nclean++;
		}
	}
	s->med_all = median(all, nvalid);
	s->used_disturbed = nclean * 2 < nvalid || nclean == 0;
	s->min = INFINITY;
	s->max = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct result *x = &res[i];

		if (x->status != ST_OK && x->status != ST_STALLED)
			continue;
		if ((x->disturbed || x->host_slow) && !s->used_disturbed)
			continue;
		v[s->nused] = x->rate;
		sl[s->nused] = (double)x->sleeps;
		fu[s->nused] = (double)x->full;
		s->nused++;
		if (x->rate < s->min)
			s->min = x->rate;
		if (x->rate > s->max)
			s->max = x->rate;
	}
	s->med = median(v, s->nused);
	s->sleeps_med = median(sl, s->nused);
	s->full_med = median(fu, s->nused);
}

static const char *fmt_rate(char *buf, size_t len, double r)
{
	if (isnan(r))
		snprintf(buf, len, "-");
	else if (r >= 1e6)
		snprintf(buf, len, "%.1f M", r / 1e6);
	else if (r >= 1e3)
		snprintf(buf, len, "%.1f k", r / 1e3);
	else
		snprintf(buf, len, "%.0f", r);
	return buf;
}

static const char *fmt_ns(char *buf, size_t len, double r)
{
	if (isnan(r) || r <= 0)
		snprintf(buf, len, "-");
	else if (1e9 / r >= 100000)
		snprintf(buf, len, "%.0f", 1e9 / r);
	else
		snprintf(buf, len, "%.1f", 1e9 / r);
	return buf;
}

/* All the results: [pin][nprod index][batch index][impl] */
static struct result (*results)[MAX_CFG][MAX_CFG][NIMPL][MAX_RUNS];
static struct summary sums[2][MAX_CFG][MAX_CFG][NIMPL];

static bool impl_applies(const struct queue_impl *q, unsigned nprod)
{
	char name[64], *tok, *save, list[256];
	bool want = false;

	if (q->skipped || nprod < q->min_prod || nprod > q->max_prod)
		return false;
	if (!opt.queues[0])
		return true;
	snprintf(list, sizeof(list), "%s", opt.queues);
	snprintf(name, sizeof(name), "%s", q->name);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strncmp(name, tok, strlen(tok)))
			want = true;
	return want;
}

/*
 * liotad's ratio to a queue, paired by round: run r of both ran seconds
 * apart, so a machine that slows down for a while mostly slows both.
 * Median over the rounds where both runs are valid and clean; if fewer
 * than two are, over every round where both are valid, and *clean is
 * false (the host may have slowed one side only). NAN if none.
 */
static double paired_ratio(int pin, unsigned pi, unsigned bi, unsigned qa, unsigned qb,
			   bool *clean_out)
{
	double clean[MAX_RUNS], all[MAX_RUNS];
	unsigned nclean = 0, nall = 0;

	for (unsigned r = 0; r < opt.runs; r++) {
		const struct result *x = &results[pin][pi][bi][qa][r];
		const struct result *y = &results[pin][pi][bi][qb][r];

		if ((x->status != ST_OK && x->status != ST_STALLED) ||
		    (y->status != ST_OK && y->status != ST_STALLED) || !(y->rate > 0))
			continue;
		all[nall++] = x->rate / y->rate;
		if (!x->disturbed && !x->host_slow && !y->disturbed && !y->host_slow)
			clean[nclean++] = x->rate / y->rate;
	}
	if (clean_out)
		*clean_out = nclean >= 2;
	return nclean >= 2 ? median(clean, nclean) : median(all, nall);
}

/*
 * Every run's rate, in run order: s = stalled, d = disturbed by other
 * processes, h = slowed-down host (core-to-core probe), ! = invalid.
 */
static void print_runs(const struct result *res, unsigned n)
{
	char a[32];

	printf("  %-24s runs:", "");
	for (unsigned i = 0; i < n; i++)
		printf(" %s%s%s%s%s", fmt_rate(a, sizeof(a), res[i].rate),
		       res[i].status == ST_STALLED ? "s" : "", res[i].disturbed ? "d" : "",
		       res[i].host_slow ? "h" : "",
		       res[i].status == ST_INVALID || res[i].status == ST_FAILED ? "!" : "");
	printf("   (probe ns:");
	for (unsigned i = 0; i < n; i++)
		printf(" %.0f", res[i].c2c);
	printf(")\n");
}

static void print_config_table(int pin, unsigned pi, unsigned bi)
{
	unsigned nprod = opt.prod[pi], batch = opt.batch[bi];
	const struct summary *ref = &sums[pin][pi][bi][0];
	char a[32], b[32], c[32], d[32], e[32];

	printf("\n%s, %u producer%s, batch %u: %llu records per run, %u runs\n",
	       pin ? "PINNED" : "UNPINNED", nprod, nprod > 1 ? "s" : "", batch,
	       (unsigned long long)(opt.items / nprod * nprod), opt.runs);
	printf("  %-11s %-12s %10s %9s %21s %10s %18s %9s %s\n", "queue", "mode", "items/s",
	       "ns/item", "range items/s", "all runs", "ok/stl/inv/dst/hst", "liotad x", "notes");
	for (unsigned q = 0; q < NIMPL; q++) {
		const struct summary *s = &sums[pin][pi][bi][q];
		char ratio[32] = "", notes[256] = "";

		if (!s->present)
			continue;
		if (ref->present) {
			bool clean;
			double rt = paired_ratio(pin, pi, bi, 0, q, &clean);

			if (!isnan(rt))
				snprintf(ratio, sizeof(ratio), "%.2f%s", rt, clean ? "" : "*");
		}
		if (s->nstalled)
			snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes),
				 "STALLED in %u/%u runs; ", s->nstalled, s->nrun);
		if (s->ninvalid)
			snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes),
				 "INVALID in %u runs (excluded); ", s->ninvalid);
		if (s->used_disturbed)
			snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes),
				 "too few clean runs: median includes disturbed ones; ");
		if (impls[q]->liotad)
			snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes),
				 "consumer sleeps %.0f; ", s->sleeps_med);
		snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "full %.0f",
			 s->full_med);
		printf("  %-11s %-12s %10s %9s %10s-%-10s %10s %8u/%u/%u/%u/%u %9s %s\n",
		       impls[q]->name, impls[q]->mode, fmt_rate(a, sizeof(a), s->med),
		       fmt_ns(b, sizeof(b), s->med), fmt_rate(c, sizeof(c), s->min),
		       fmt_rate(d, sizeof(d), s->max), fmt_rate(e, sizeof(e), s->med_all), s->nok,
		       s->nstalled, s->ninvalid, s->ndisturbed, s->nhost, ratio, notes);
		print_runs(results[pin][pi][bi][q], s->nrun);
		if (s->why[0])
			printf("  %-24s first problem: %s\n", "", s->why);
	}
	fflush(stdout);
}

/*
 * The first run of a process is slower (page faults, thread stacks, the
 * first membarrier): one short run of every queue, discarded, first.
 */
static void warm_up(int pin)
{
	uint64_t items = opt.items;
	struct result res;

	opt.items = items / 10 > 1000 ? items / 10 : items;
	for (unsigned q = 0; q < NIMPL; q++)
		if (impl_applies(impls[q], impls[q]->min_prod))
			run_once(impls[q], impls[q]->min_prod, opt.batch[0], pin, &res);
	opt.items = items;
}

static void run_matrix(void)
{
	for (int pm = 0; pm < opt.npin; pm++) {
		int pin = opt.pin_modes[pm];

		warm_up(pin);

		for (unsigned pi = 0; pi < opt.nprodcfg; pi++) {
			for (unsigned bi = 0; bi < opt.nbatchcfg; bi++) {
				unsigned nprod = opt.prod[pi], batch = opt.batch[bi];

				fprintf(stderr, "ring_bench: %s, %u producer(s), batch %u\n",
					pin ? "pinned" : "unpinned", nprod, batch);
				for (unsigned run = 0; run < opt.runs; run++) {
					for (unsigned q = 0; q < NIMPL; q++)
						if (impl_applies(impls[q], nprod))
							run_once(impls[q], nprod, batch, pin,
								 &results[pin][pi][bi][q][run]);
				}
			}
		}
	}
}

/* Flag the runs on a slowed-down host, now that the best probe is known; print. */
static void report_matrix(void)
{
	c2c_set_limit();
	printf("\ncore-to-core probe: best %.0f ns in %u probes; runs whose probes before and "
	       "after\n"
	       "  both took more than %.0f ns are flagged h (slowed-down host)\n",
	       c2c_best, c2c_probes, c2c_limit);
	for (int pm = 0; pm < opt.npin; pm++) {
		int pin = opt.pin_modes[pm];

		for (unsigned pi = 0; pi < opt.nprodcfg; pi++) {
			for (unsigned bi = 0; bi < opt.nbatchcfg; bi++) {
				for (unsigned q = 0; q < NIMPL; q++) {
					if (!impl_applies(impls[q], opt.prod[pi]))
						continue;
					for (unsigned run = 0; run < opt.runs; run++) {
						struct result *x = &results[pin][pi][bi][q][run];

						x->host_slow = x->c2c > c2c_limit;
					}
					summarize(results[pin][pi][bi][q], opt.runs,
						  &sums[pin][pi][bi][q]);
				}
				print_config_table(pin, pi, bi);
			}
		}
	}
}

/* ---- targets ------------------------------------------------------------ */

static int find_prod(unsigned n)
{
	for (unsigned i = 0; i < opt.nprodcfg; i++)
		if (opt.prod[i] == n)
			return (int)i;
	return -1;
}

static int find_batch(unsigned n)
{
	for (unsigned i = 0; i < opt.nbatchcfg; i++)
		if (opt.batch[i] == n)
			return (int)i;
	return -1;
}

static int find_impl(const struct queue_impl *q)
{
	for (unsigned i = 0; i < NIMPL; i++)
		if (impls[i] == q)
			return (int)i;
	return -1;
}

static unsigned nmet, nmissed;

static void verdict(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] ", ok ? "met   " : "MISSED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		nmet++;
	else
		nmissed++;
}

/* A target whose reference queue was not measured (skipped or filtered out). */
static void not_evaluated(const char *what, unsigned batch, const struct queue_impl *q)
{
	printf("  [n/a   ] %s, batch %u: %s %s was not measured%s\n", what, batch, q->name, q->mode,
	       q->skipped ? " (SKIPPED at build time)" : "");
}

/* Paired ratio of queue @a to queue @b (see paired_ratio()); says when it is not clean. */
static double ratio_of(int pin, unsigned nprod, unsigned batch, const struct queue_impl *a,
		       const struct queue_impl *b)
{
	int pi = find_prod(nprod), bi = find_batch(batch), qa = find_impl(a), qb = find_impl(b);
	bool clean = true;
	double rt;

	if (pi < 0 || bi < 0 || qa < 0 || qb < 0)
		return NAN;
	rt = paired_ratio(pin, (unsigned)pi, (unsigned)bi, (unsigned)qa, (unsigned)qb, &clean);
	if (!clean && !isnan(rt))
		printf("  (next: %s %s against %s %s, fewer than 2 clean rounds: ratio over all "
		       "rounds)\n",
		       a->name, a->mode, b->name, b->mode);
	return rt;
}

static const struct summary *sum_of(int pin, unsigned nprod, unsigned batch,
				    const struct queue_impl *q)
{
	int pi = find_prod(nprod), bi = find_batch(batch), qi = find_impl(q);

	if (pi < 0 || bi < 0 || qi < 0 || !sums[pin][pi][bi][qi].present ||
	    isnan(sums[pin][pi][bi][qi].med))
		return NULL;
	return &sums[pin][pi][bi][qi];
}

static void check_targets(int pin)
{
	const struct queue_impl *lt = &bench_liotad_sleep;
	char a[32], b[32];

	printf("\nTargets, %s (ratios paired by round, see the tables):\n",
	       pin ? "PINNED" : "UNPINNED");
	for (unsigned bi = 0; bi < opt.nbatchcfg; bi++) {
		unsigned batch = opt.batch[bi];
		const struct summary *l2 = sum_of(pin, 2, batch, lt),
				     *l1 = sum_of(pin, 1, batch, lt);
		const struct summary *l4 = sum_of(pin, 4, batch, lt);
		const struct summary *x;
		double rt;

		if (l2) {
			const struct queue_impl *ckmp[] = { &bench_ck_mpsc, &bench_ck_mpmc };

			for (unsigned i = 0; i < 2; i++) {
				if (!(x = sum_of(pin, 2, batch, ckmp[i]))) {
					not_evaluated("2 producers, 5 x ck_ring", batch, ckmp[i]);
					continue;
				}
				rt = ratio_of(pin, 2, batch, lt, ckmp[i]);
				verdict(rt >= 5,
					"2 producers, batch %u: liotad (%s/s) >= 5 x ck_ring %s "
					"(%s/s): ratio %.2f",
					batch, fmt_rate(a, sizeof(a), l2->med), ckmp[i]->mode,
					fmt_rate(b, sizeof(b), x->med), rt);
			}
			if (batch > 1 && !(x = sum_of(pin, 2, batch, &bench_rte_mpsc)))
				not_evaluated("2 producers, >= rte_ring mp burst", batch,
					      &bench_rte_mpsc);
			else if (batch > 1 &&
				 !isnan(rt = ratio_of(pin, 2, batch, lt, &bench_rte_mpsc)))
				verdict(rt >= 1,
					"2 producers, batch %u: liotad (%s/s) >= rte_ring mp burst "
					"(%s/s): ratio %.2f",
					batch, fmt_rate(a, sizeof(a), l2->med),
					fmt_rate(b, sizeof(b), x->med), rt);
		}
		if (l4 && l2) {
			int pi = find_prod(4), qi = find_impl(lt);
			double worst = INFINITY;
			unsigned incomplete = 0;

			/* Disturbed runs say more about the machine than about the ring. */
			for (unsigned r = 0; r < opt.runs; r++) {
				const struct result *x4 = &results[pin][pi][bi][qi][r];

				if (x4->status != ST_OK)
					incomplete++;
				if (!x4->disturbed && !x4->host_slow && x4->rate < worst)
					worst = x4->rate;
			}
			if (!incomplete && (isinf(worst) || l2->used_disturbed))
				printf("  [n/a   ] 4 producers on %d CPUs, batch %u: every liotad "
				       "run completes, but the speed cannot be judged: too few "
				       "clean runs (d, h) with %s producers\n",
				       ncpus, batch, isinf(worst) ? "4" : "2");
			else
				verdict(!incomplete && worst >= 0.75 * l2->med,
					"4 producers on %d CPUs, batch %u: every liotad run "
					"completes (%u of %u did not) and the slowest clean one, "
					"%s/s, is >= 75%% of the 2-producer median %s/s (%.0f%%)",
					ncpus, batch, incomplete, opt.runs,
					fmt_rate(a, sizeof(a), worst),
					fmt_rate(b, sizeof(b), l2->med), 100 * worst / l2->med);
		}
		if (l1) {
			const struct queue_impl *sp[] = { &bench_ck_spsc, &bench_rte_spsc };
			const struct summary *best = NULL;
			const char *bname = "";
			double worst_rt = INFINITY;

			/* The best SPSC is the one liotad leads least. */
			for (unsigned i = 0; i < 2; i++)
				if ((x = sum_of(pin, 1, batch, sp[i])) &&
				    (rt = ratio_of(pin, 1, batch, lt, sp[i])) < worst_rt) {
					worst_rt = rt;
					best = x;
					bname = sp[i]->name;
				}
			if (!best)
				not_evaluated("1 producer, >= best SPSC", batch, &bench_ck_spsc);
			else
				verdict(worst_rt >= 1,
					"1 producer, batch %u: liotad (%s/s) >= best SPSC (%s, "
					"%s/s): ratio %.2f",
					batch, fmt_rate(a, sizeof(a), l1->med), bname,
					fmt_rate(b, sizeof(b), best->med), worst_rt);
		}
		for (unsigned n = 1; n <= 2; n++) {
			const struct summary *sl = sum_of(pin, n, batch, lt);
			const struct summary *sp = sum_of(pin, n, batch, &bench_liotad_spin);

			if (sl && sp) {
				rt = ratio_of(pin, n, batch, lt, &bench_liotad_spin);
				verdict(rt >= 0.9,
					"%u producer%s, batch %u: sleep protocol costs %.1f%% "
					"against pure spinning (%s/s vs %s/s; target < 10%%)",
					n, n > 1 ? "s" : "", batch, 100.0 * (1 - rt),
					fmt_rate(a, sizeof(a), sl->med),
					fmt_rate(b, sizeof(b), sp->med));
			}
		}
	}
}

/* ---- wake-up latency ---------------------------------------------------- */

struct lat_ctx {
	struct lt_ring *ring;
	unsigned n;
	uint64_t period_ns;
	_Atomic int stop;
	_Atomic unsigned ready;
	uint64_t *lat; /* consumer: ns from the producer's timestamp to having the record */
	unsigned got;
	uint64_t sleeps, polls_woken;
	uint64_t cons_cpu_ns;
};

static void *lat_producer(void *arg)
{
	struct lat_ctx *c = arg;
	struct lt_ring_producer p;
	struct timespec next;

	if (lt_ring_producer_init(c->ring, 0, &p) < 0)
		return NULL;
	atomic_fetch_add(&c->ready, 1);
	while (atomic_load(&c->ready) < 2)
		sleep_ns(100000);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned i = 0; i < c->n && !atomic_load(&c->stop); i++) {
		struct lt_sample s;

		next.tv_nsec += (long)c->period_ns;
		while (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		bench_make(&s, 0, i);
		s.ts_ns = bench_now_ns();
		lt_ring_push(&p, &s);
		lt_ring_commit(&p);
	}
	return NULL;
}

static void *lat_consumer(void *arg)
{
	struct lat_ctx *c = arg;
	struct pollfd pfd = { .fd = lt_ring_eventfd(c->ring), .events = POLLIN };
	uint64_t deadline;
	struct lt_sample buf[64];
	struct timespec ts;

	atomic_fetch_add(&c->ready, 1);
	deadline = bench_now_ns() + (uint64_t)c->n * c->period_ns + 5000000000ull;
	while (c->got < c->n && bench_now_ns() < deadline) {
		size_t n = lt_ring_consume(c->ring, buf, 64);

		if (n) {
			uint64_t now = bench_now_ns();

			for (size_t i = 0; i < n && c->got < c->n; i++)
				c->lat[c->got++] = now - buf[i].ts_ns;
			continue;
		}
		if (!lt_ring_prepare_sleep(c->ring))
			continue;
		c->sleeps++;
		if (poll(&pfd, 1, 100) > 0)
			c->polls_woken++;
		lt_ring_wake_ack(c->ring);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	c->cons_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, unsigned n, double p)
{
	unsigned i = (unsigned)ceil(p / 100.0 * n);

	return v[i ? i - 1 : 0];
}

static bool latency_test(int pin)
{
	struct lat_ctx c = { .n = opt.latency, .period_ns = 1000000 };
	struct cpu_sample c0, c1;
	double other, secs, probe[2];
	bool ok, disturbed, host_slow;
	pthread_t tp, tc;

	if (lt_ring_new(1, opt.capacity, 1, &c.ring) < 0)
		die("lt_ring_new failed");
	c.lat = calloc(c.n, sizeof(*c.lat));
	if (!c.lat)
		die("out of memory");
	probe[0] = c2c_probe();
	cpu_sample(&c0);
	thread_start(&tc, lat_consumer, &c, cpu_of_consumer(pin));
	thread_start(&tp, lat_producer, &c, cpu_of_producer(pin, 0));
	thread_join(tp, "the latency producer");
	atomic_store(&c.stop, 1);
	thread_join(tc, "the latency consumer");
	cpu_sample(&c1);
	probe[1] = c2c_probe();
	/* Two seconds: a slow-down during them shows in either probe. */
	host_slow = fmax(probe[0], probe[1]) > c2c_limit;
	qsort(c.lat, c.got, sizeof(*c.lat), cmp_u64);
	printf("\nWake-up latency, %s: commit of one record every %.1f ms to the consumer sleeping "
	       "in poll() on the eventfd\n",
	       pin ? "PINNED" : "UNPINNED", c.period_ns / 1e6);
	if (!c.got) {
		printf("  no sample arrived\n");
		ok = false;
	} else {
		printf("  samples %u, consumer slept %llu times (woken by the eventfd %llu), ring "
		       "wake-ups %llu\n",
		       c.got, (unsigned long long)c.sleeps, (unsigned long long)c.polls_woken,
		       (unsigned long long)atomic_load(&lt_ring_hdr(c.ring)->wakeups));
		printf("  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
		       pct(c.lat, c.got, 50) / 1e3, pct(c.lat, c.got, 90) / 1e3,
		       pct(c.lat, c.got, 99) / 1e3, pct(c.lat, c.got, 99.9) / 1e3,
		       c.lat[c.got - 1] / 1e3);
		other = (c1.busy - c0.busy) - (c1.own - c0.own);
		secs = c.n * c.period_ns / 1e9;
		disturbed = other > 1.0 / (double)clk_tck * ncpus + opt.max_other * secs * ncpus;
		printf("  CPU used by other processes meanwhile: %.2f s over %.1f s%s\n", other,
		       secs, disturbed ? " (DISTURBED: their wake-ups and ours compete)" : "");
		printf("  core-to-core probe: %.0f ns before, %.0f ns after%s\n", probe[0],
		       probe[1], host_slow ? " (SLOWED-DOWN HOST)" : "");
		ok = c.got == c.n && pct(c.lat, c.got, 99) < 100000;
		verdict(ok, "wake-up latency, %s: p99 %.1f us < 100 us (%u of %u samples)%s%s",
			pin ? "pinned" : "unpinned", pct(c.lat, c.got, 99) / 1e3, c.got, c.n,
			disturbed ? ", DISTURBED" : "", host_slow ? ", SLOWED-DOWN HOST" : "");
	}
	free(c.lat);
	lt_ring_free(c.ring);
	return ok;
}

/* ---- idle ring ---------------------------------------------------------- */

struct idle_ctx {
	struct lt_ring *ring;
	uint64_t ns;
	_Atomic int stop;
	uint64_t polls, woken, consumed, cpu_ns;
	long nvcsw, nivcsw;
};

/* A sampler with nothing to sample: attached to its lane, blocked. */
static void *idle_producer(void *arg)
{
	struct idle_ctx *c = arg;
	struct lt_ring_producer p;

	lt_ring_producer_init(c->ring, 0, &p);
	while (!atomic_load(&c->stop))
		sleep_ns(50000000);
	return NULL;
}

static void *idle_consumer(void *arg)
{
	struct idle_ctx *c = arg;
	struct pollfd pfd = { .fd = lt_ring_eventfd(c->ring), .events = POLLIN };
	struct timespec t0, t1;
	struct rusage ru0, ru1;
	uint64_t end = bench_now_ns() + c->ns;
	struct lt_sample buf[64];

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	getrusage(RUSAGE_THREAD, &ru0);
	for (uint64_t now = bench_now_ns(); now < end; now = bench_now_ns()) {
		int ms = (int)((end - now + 999999) / 1000000);

		c->consumed += lt_ring_consume(c->ring, buf, 64);
		if (!lt_ring_prepare_sleep(c->ring))
			continue;
		c->polls++;
		if (poll(&pfd, 1, ms) > 0)
			c->woken++;
		lt_ring_wake_ack(c->ring);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	getrusage(RUSAGE_THREAD, &ru1);
	c->cpu_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
		    (uint64_t)t0.tv_nsec;
	c->nvcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
	c->nivcsw = ru1.ru_nivcsw - ru0.ru_nivcsw;
	return NULL;
}

static void idle_test(void)
{
	struct idle_ctx c = { .ns = (uint64_t)(opt.idle * 1e9) };
	pthread_t tp, tc;
	uint64_t w0;
	bool ok;

	if (lt_ring_new(2, opt.capacity, 1, &c.ring) < 0)
		die("lt_ring_new failed");
	w0 = atomic_load(&lt_ring_hdr(c.ring)->wakeups);
	thread_start(&tp, idle_producer, &c, -1);
	thread_start(&tc, idle_consumer, &c, -1);
	thread_join(tc, "the idle consumer");
	atomic_store(&c.stop, 1);
	thread_join(tp, "the idle producer");
	printf("\nIdle ring: consumer sleeping for %.1f s on a 2-lane ring with an attached, "
	       "silent producer\n",
	       opt.idle);
	printf("  poll() calls %llu, woken by the eventfd %llu, ring wake-ups %llu, records %llu\n",
	       (unsigned long long)c.polls, (unsigned long long)c.woken,
	       (unsigned long long)(atomic_load(&lt_ring_hdr(c.ring)->wakeups) - w0),
	       (unsigned long long)c.consumed);
	printf("  consumer CPU %.1f us (%.4f%% of the window), context switches %ld voluntary, %ld "
	       "involuntary\n",
	       c.cpu_ns / 1e3, 100.0 * c.cpu_ns / c.ns, c.nvcsw, c.nivcsw);
	ok = c.woken == 0 && atomic_load(&lt_ring_hdr(c.ring)->wakeups) == w0 &&
	     c.cpu_ns < c.ns / 10000;
	verdict(ok, "idle ring: 0 wake-ups and consumer CPU < 0.01%% of the window");
	lt_ring_free(c.ring);
}

/* ---- main --------------------------------------------------------------- */

static unsigned parse_list(const char *s, unsigned *out, const char *what)
{
	unsigned n = 0;
	char *end;

	while (*s) {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v == 0 || n == MAX_CFG)
			die("bad %s list", what);
		out[n++] = (unsigned)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			die("bad %s list", what);
	}
	return n;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ring_bench [options]\n"
		   "  --items N        records per run, all producers together (default 10000000)\n"
		   "  --runs N         runs per configuration (default 5)\n"
		   "  --producers L    producer counts (default 1,2,4)\n"
		   "  --batch L        records per enqueue/dequeue call (default 1,32)\n"
		   "  --pin MODE       pinned, unpinned or both (default both)\n"
		   "  --queues L       name prefixes: liotad,ck_ring,rte_ring,urcu,mutex (default "
		   "all)\n"
		   "  --capacity N     records per producer (liotad lane; shared queues get N x "
		   "producers)\n"
		   "  --timeout S      hard limit per run (default 10)\n"
		   "  --stall-rate R   a run below R items/s over 250 ms is stalled (default 1e6)\n"
		   "  --max-other F    flag runs where others used more than F of the CPUs "
		   "(default 0.03)\n"
		   "  --latency N      wake-up latency samples, 0 to skip (default 2000)\n"
		   "  --idle S         idle-ring seconds, 0 to skip (default 2)\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "items", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "producers", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'b' },
		{ "pin", required_argument, NULL, 'P' },
		{ "queues", required_argument, NULL, 'q' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stall-rate", required_argument, NULL, 's' },
		{ "max-other", required_argument, NULL, 'o' },
		{ "latency", required_argument, NULL, 'l' },
		{ "idle", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			opt.items = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			opt.runs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			opt.nprodcfg = parse_list(optarg, opt.prod, "producer");
			break;
		case 'b':
			opt.nbatchcfg = parse_list(optarg, opt.batch, "batch");
			break;
		case 'P':
			if (!strcmp(optarg, "pinned")) {
				opt.pin_modes[0] = 1;
				opt.npin = 1;
			} else if (!strcmp(optarg, "unpinned")) {
				opt.pin_modes[0] = 0;
				opt.npin = 1;
			} else if (!strcmp(optarg, "both")) {
				opt.npin = 2;
			} else {
				die("--pin: pinned, unpinned or both");
			}
			break;
		case 'q':
			snprintf(opt.queues, sizeof(opt.queues), "%s", optarg);
			break;
		case 'c':
			opt.capacity = strtoull(optarg, NULL, 0);
			break;
		case 't':
			opt.timeout = strtod(optarg, NULL);
			break;
		case 's':
			opt.stall_rate = strtod(optarg, NULL);
			break;
		case 'o':
			opt.max_other = strtod(optarg, NULL);
			break;
		case 'l':
			opt.latency = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			opt.idle = strtod(optarg, NULL);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (opt.runs < 1 || opt.runs > MAX_RUNS || opt.items < 1 || opt.timeout <= 0 ||
	    opt.capacity < 64 || (opt.capacity & (opt.capacity - 1)))
		die("bad --runs (1-%d), --items, --timeout or --capacity (a power of two >= 64)",
		    MAX_RUNS);
	for (unsigned i = 0; i < opt.nprodcfg; i++)
		if (opt.prod[i] > BENCH_MAX_PROD)
			die("at most %d producers", BENCH_MAX_PROD);
	for (unsigned i = 0; i < opt.nbatchcfg; i++)
		if (opt.batch[i] > BENCH_MAX_BATCH)
			die("batch at most %d", BENCH_MAX_BATCH);
}

static void print_machine(int argc, char **argv)
{
	char model[256] = "unknown", line[512];
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
				snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(f);
	}
	uname(&u);
	printf("ring_bench: liotad's ring against other queues (issue 3, section 1)\n");
	printf("command:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\nmachine: %ld CPUs online, %d usable by this process, %s; Linux %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), ncpus, model, u.release);
	printf("record: %zu bytes; capacity: %llu records per producer (liotad: per lane; shared "
	       "queues: %llu x producers)\n",
	       sizeof(struct lt_sample), (unsigned long long)opt.capacity,
	       (unsigned long long)opt.capacity);
	printf("pinned: the consumer on CPU %d, producer i on CPU list[(1 + i) %% %d] of the "
	       "usable CPUs;\n"
	       "  with more threads than CPUs, pinned threads share a CPU and preempt each other\n"
	       "  (on 2 CPUs with 4 producers: producers 0 and 2 on the second CPU, 1 and 3 with "
	       "the consumer).\n"
	       "unpinned: the kernel places and migrates every thread.\n",
	       cpus[0], ncpus);
	printf("a run counts when every record arrived exactly once, in order per producer; a run "
	       "is\n"
	       "  stalled below %.0f items/s over 250 ms or after %.0f s; disturbed (d) when other "
	       "processes\n"
	       "  used more than %.0f%% of the CPUs during it (/proc/stat minus our own "
	       "getrusage); on a\n"
	       "  slowed-down host (h) when a cache line's round trip between CPU %d and CPU %d, "
	       "probed\n"
	       "  before and after it, took more than twice the process's best probe both times "
	       "(the\n"
	       "  faster of the two is listed after each row's runs).\n"
	       "  Medians leave d and h runs out when at least half the runs are clean; \"all "
	       "runs\" does not.\n",
	       opt.stall_rate, opt.timeout, opt.max_other * 100, cpus[0],
	       ncpus > 1 ? cpus[1] : cpus[0]);
	printf("queues:\n");
	for (unsigned q = 0; q < NIMPL; q++) {
		if (impls[q]->skipped)
			printf("  %-11s %-12s SKIPPED: %s\n", impls[q]->name, impls[q]->mode,
			       impls[q]->skipped);
		else
			printf("  %-11s %-12s %s\n", impls[q]->name, impls[q]->mode,
			       impls[q]->about);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint64_t start = bench_now_ns();
	cpu_set_t set;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	clk_tck = sysconf(_SC_CLK_TCK);
	if (clk_tck <= 0)
		clk_tck = 100;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		die("sched_getaffinity: %s", strerror(errno));
	for (int i = 0; i < CPU_SETSIZE && ncpus < (int)(sizeof(cpus) / sizeof(cpus[0])); i++)
		if (CPU_ISSET(i, &set))
			cpus[ncpus++] = i;
	results = calloc(2, sizeof(*results));
	if (!results)
		die("out of memory");
	c2c_calibrate();
	print_machine(argc, argv);

	run_matrix();
	report_matrix();
	for (int pm = 0; pm < opt.npin; pm++)
		check_targets(opt.pin_modes[pm]);
	if (opt.latency) {
		for (int pm = 0; pm < opt.npin; pm++)
			latency_test(opt.pin_modes[pm]);
	}
	if (opt.idle > 0)
		idle_test();
	printf("\ntargets: %u met, %u missed (ring_bench ran %.0f s)\n", nmet, nmissed,
	       (bench_now_ns() - start) / 1e9);
	for (unsigned q = 0; q < NIMPL; q++)
		if (impls[q]->skipped)
			printf("WARNING: %s %s was SKIPPED: %s\n", impls[q]->name, impls[q]->mode,
			       impls[q]->skipped);
	free(results);
	return 0;
}
