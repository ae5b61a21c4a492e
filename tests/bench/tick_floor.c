/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * make bench BENCH=scale (scale-2-wakeups.sh): the floor under liotad's
 * 1,000 devices at 1 Hz. N bare threads sleep with clock_nanosleep
 * (TIMER_ABSTIME) to an absolute grid of PERIOD_MS and write one record
 * each per tick to memory; nothing else. What a tick costs beyond this is
 * liotad's own.
 *
 * Usage: tick_floor THREADS PERIOD_MS [spread]. All threads tick on one
 * grid, or with "spread" thread i is offset by i/THREADS of the period (as
 * liotad's samplers, each on the grid of its own start, are spread over
 * the start-up). Runs until SIGTERM or SIGINT (each thread stops at its
 * next tick), then prints "records N" (the records written) and exits. The
 * caller reads its CPU time from /proc.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

struct record {
	uint64_t ts_ns;
	double value;
	uint32_t id;
	uint32_t seq;
};

struct worker {
	pthread_t thread;
	uint32_t id;
	uint64_t period_ns;
	uint64_t start_ns;
	struct record rec[64]; /* "memory": a small ring per thread */
	uint64_t written;
} __attribute__((aligned(64)));

static atomic_bool stop;

static void on_stop(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t next = w->start_ns;

	/* As liotad's samplers: exact wake-ups, not the default 50 us slack. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
				       .tv_nsec = (long)(next % 1000000000u) };
		struct record *r;

		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			continue;
		r = &w->rec[w->written % 64];
		r->ts_ns = next;
		r->value = (double)w->written;
		r->id = w->id;
		r->seq = (uint32_t)w->written;
		w->written++;
		next += w->period_ns;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct worker *w;
	struct timespec now;
	unsigned long n, ms;
	int spread;
	uint64_t total = 0, t0;
	sigset_t set;

	if (argc < 3 || argc > 4 || (n = strtoul(argv[1], NULL, 10)) == 0 || n > 100000 ||
	    (ms = strtoul(argv[2], NULL, 10)) == 0 || ms > 3600000 ||
	    (argc == 4 && strcmp(argv[3], "spread") != 0)) {
		fprintf(stderr,
			"usage: tick_floor THREADS(1-100000) PERIOD_MS(1-3600000) [spread]\n");
		return 2;
	}
	spread = argc == 4;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	w = aligned_alloc(64, n * sizeof(*w));
	if (!w) {
		fprintf(stderr, "tick_floor: out of memory\n");
		return 1;
	}
	memset(w, 0, n * sizeof(*w));
	clock_gettime(CLOCK_MONOTONIC, &now);
	t0 = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	/* Workers do not take the stop signal: the main thread does, and they see the flag. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned long i = 0; i < n; i++) {
		int r;

		w[i].id = (uint32_t)i;
		w[i].period_ns = ms * 1000000u;
		/* Grids start 100 ms from now: one shared, or offset per thread. */
		w[i].start_ns = t0 + 100000000u + (spread ? w[i].period_ns * i / n : 0);
		r = pthread_create(&w[i].thread, NULL, run, &w[i]);
		if (r) {
			fprintf(stderr, "tick_floor: thread %lu: %s\n", i, strerror(r));
			return 1;
		}
	}
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	printf("started %lu\n", n);
	fflush(stdout);
	while (!atomic_load(&stop))
		pause();
	for (unsigned long i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].written;
	}
	printf("records %llu\n", (unsigned long long)total);
	free(w);
	return 0;
}
