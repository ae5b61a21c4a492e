/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/sample.h - one sample, as it travels from a sampler to the DCCs.
 */
#ifndef LIOTA_SAMPLE_H
#define LIOTA_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct lt_sample - one sample as it travels from a sampler to the DCCs.
 * Exactly 32 bytes: this is also the record format of the shared-memory ring.
 * @ts_ns:     CLOCK_REALTIME time of the sample, in nanoseconds since the epoch.
 * @seq:       per-ring-lane sequence number (0, 1, 2, ...), gaps mean loss.
 * @value:     the value, already scaled into the metric's unit.
 * @metric_id: index of the metric in the daemon's metric table.
 * @flags:     LT_SAMPLE_* bits.
 */
struct lt_sample {
	uint64_t ts_ns;
	uint64_t seq;
	double value;
	uint32_t metric_id;
	uint32_t flags;
};

#ifdef __cplusplus
static_assert(sizeof(struct lt_sample) == 32, "a ring record is 32 bytes");
#else
_Static_assert(sizeof(struct lt_sample) == 32, "a ring record is 32 bytes");
#endif

/** The sample was taken late: at least one scheduled tick before it was skipped. */
#define LT_SAMPLE_LATE 0x1u

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_SAMPLE_H */
