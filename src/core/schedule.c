/* SPDX-License-Identifier: BSD-2-Clause */
#include "schedule.h"
#include "util.h"

#include <errno.h>
#include <time.h>

uint64_t sched_next(uint64_t deadline, uint64_t interval, uint64_t now, uint64_t *skipped)
{
	uint64_t next = deadline + interval;

	*skipped = 0;
	if (next > now)
		return next;
	/* Late: jump to the first future tick of the same phase, no catch-up burst. */
	uint64_t k = (now - next) / interval + 1;
	*skipped = k;
	return next + k * interval;
}

int sched_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = lt_ns_ts(deadline_ns);
	int r;

	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return r == 0 ? 0 : -r;
}
