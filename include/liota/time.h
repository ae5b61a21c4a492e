/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/time.h - the daemon's clocks, in nanoseconds.
 *
 * Deadlines and intervals are CLOCK_MONOTONIC (the @now_ns and
 * @deadline_ns of the driver callbacks); sample times are CLOCK_REALTIME
 * (struct lt_sample's ts_ns, lt_emit()). Every function here may be called
 * from any thread and never fails.
 */
#ifndef LIOTA_TIME_H
#define LIOTA_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Nanoseconds in a second. */
#define LT_NSEC_PER_SEC 1000000000ull

/**
 * lt_mono_ns() - the current CLOCK_MONOTONIC time.
 *
 * Return: nanoseconds since an unspecified start (the boot, on Linux).
 */
uint64_t lt_mono_ns(void);

/**
 * lt_real_ns() - the current CLOCK_REALTIME time.
 *
 * Return: nanoseconds since the epoch (1970-01-01 UTC).
 */
uint64_t lt_real_ns(void);

/**
 * lt_mono_to_real() - convert a CLOCK_MONOTONIC time to CLOCK_REALTIME.
 * @mono_ns: CLOCK_MONOTONIC nanoseconds (the clock of GPIO line events and
 *           of most kernel timestamps).
 *
 * Uses the offset between the two clocks now: a stamp taken before a step
 * of the real-time clock (NTP, settimeofday) moves with the step.
 *
 * Return: CLOCK_REALTIME nanoseconds since the epoch.
 */
uint64_t lt_mono_to_real(uint64_t mono_ns);

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_TIME_H */
