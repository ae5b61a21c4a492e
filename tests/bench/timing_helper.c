/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers of tests/bench/timing.sh:
 *   timing_helper sleep N INTERVAL_NS [RT_PRIO [SLACK_NS]]
 *       the machine's floor under the sampler's lateness: N absolute
 *       CLOCK_MONOTONIC sleeps on an INTERVAL_NS grid with the sampler's
 *       timer slack (1 ns; SLACK_NS 0 keeps the default, 50 us), SCHED_FIFO
 *       when RT_PRIO > 0; prints "count N p50_us X p99_us X max_us X"
 *       (exact order statistics).
 *   timing_helper exec FILE PROGRAM [ARG]...
 *       write CLOCK_REALTIME ns to FILE, then exec PROGRAM: the instant
 *       the start-up figure counts from.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int sleep_floor(long n, uint64_t interval, int prio, unsigned long slack)
{
	uint64_t *late = calloc((size_t)n, sizeof(*late));
	uint64_t t0;

	if (!late)
		return 1;
	if (prio > 0) {
		struct sched_param sp = { .sched_priority = prio };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			fprintf(stderr, "timing_helper: SCHED_FIFO: %s\n", strerror(errno));
			return 1;
		}
	}
	if (slack)
		prctl(PR_SET_TIMERSLACK, slack, 0, 0, 0);
	t0 = clock_ns(CLOCK_MONOTONIC) + interval;
	for (long k = 0; k < n; k++) {
		uint64_t d = t0 + (uint64_t)k * interval;
		struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		late[k] = clock_ns(CLOCK_MONOTONIC) - d;
	}
	qsort(late, (size_t)n, sizeof(*late), cmp_u64);
	/* Nearest rank, as liotad's histogram counts ranks (without its buckets). */
	printf("count %ld p50_us %.1f p99_us %.1f max_us %.1f\n", n,
	       late[(n * 50 + 99) / 100 - 1] / 1e3, late[(n * 99 + 99) / 100 - 1] / 1e3,
	       late[n - 1] / 1e3);
	free(late);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "sleep")) {
		long n = atol(argv[2]);
		uint64_t iv = strtoull(argv[3], NULL, 10);

		if (n <= 0 || !iv)
			return 2;
		/* Timer slack 1 ns by default, as the sampler asks. */
		return sleep_floor(n, iv, argc > 4 ? atoi(argv[4]) : 0,
				   argc > 5 ? strtoul(argv[5], NULL, 10) : 1);
	}
	if (argc >= 4 && !strcmp(argv[1], "exec")) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		uint64_t t;

		if (fd < 0)
			return 1;
		/* Stamp as late as possible: only a write and a close before exec. */
		t = clock_ns(CLOCK_REALTIME);
		if (dprintf(fd, "%llu\n", (unsigned long long)t) < 0 || close(fd) < 0)
			return 1;
		execv(argv[3], argv + 3);
		fprintf(stderr, "timing_helper: %s: %s\n", argv[3], strerror(errno));
		return 127;
	}
	fputs("usage: timing_helper sleep N INTERVAL_NS [RT_PRIO [SLACK_NS]]\n"
	      "       timing_helper exec FILE PROGRAM [ARG]...\n",
	      stderr);
	return 2;
}
