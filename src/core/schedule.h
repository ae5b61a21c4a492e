/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sampling schedule: absolute deadlines on CLOCK_MONOTONIC. A metric
 * with interval I started at T0 is due at T0, T0+I, T0+2I, ... whatever the
 * time each read takes, so the schedule never drifts. When a sampler comes
 * back late (a stalled read, a suspended machine), the deadlines it missed
 * are skipped and counted rather than sampled in a burst.
 */
#ifndef LT_SCHEDULE_H
#define LT_SCHEDULE_H

#include <stdint.h>

/*
 * The deadline after @deadline for a tick handled at @now: the first
 * deadline + k * @interval (k >= 1) later than @now. *@skipped receives k - 1,
 * the ticks that were missed.
 */
uint64_t sched_next(uint64_t deadline, uint64_t interval, uint64_t now, uint64_t *skipped);

/*
 * Sleep until @deadline_ns on CLOCK_MONOTONIC (TIMER_ABSTIME). Returns 0 when
 * the deadline is reached, -EINTR when a signal interrupted the sleep.
 */
int sched_sleep_until(uint64_t deadline_ns);

#endif
