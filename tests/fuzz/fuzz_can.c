/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CAN signal decoding and ID matching (src/devices/can_signal.c): the frames
 * come from the bus, the signal layouts from configuration. Input:
 *   2 bytes start bit, 1 length, 1 flags (bit 0 Motorola, bit 1 signed),
 *   4 bytes a received can_id, 1 byte n, n (<= 8) matches of 9 bytes
 *   (id, mask, ext; kept within the ID's bits, as configuration does),
 *   then the frame's data bytes (at most 64).
 * Each accepted signal's raw value must equal a bit-by-bit reading of the
 * DBC layout, fail with -ERANGE exactly when the frame is too short, and
 * stay within its width; the kernel filters built for the matches must let
 * through every data frame a match takes, and only those.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "devices/can_signal.h"
#include "fuzz.h"

static unsigned data_bit(const uint8_t *data, unsigned b)
{
	return (data[b / 8] >> (b % 8)) & 1;
}

/* The DBC layout read one bit at a time, the slow and obvious way. */
static uint64_t reference_raw(const struct can_signal *s, const uint8_t *data)
{
	uint64_t v = 0;
	unsigned b = s->start;

	for (unsigned i = 0; i < s->length; i++) {
		if (s->order == CAN_SIG_INTEL) {
			v |= (uint64_t)data_bit(data, b + i) << i;
		} else {
			v = (v << 1) | data_bit(data, b);
			b = b % 8 ? b - 1 : b + 15; /* past bit 0: bit 7 of the next byte */
		}
	}
	if (s->is_signed && s->length < 64 && (v >> (s->length - 1)) & 1)
		v |= ~((UINT64_C(1) << s->length) - 1);
	return v;
}

static void check_signal(const struct can_signal *s, const uint8_t *data, unsigned len)
{
	char err[128];
	uint64_t raw = 0;
	int r;

	if (can_signal_check(s, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(can_signal_bytes(s) >= 1 && can_signal_bytes(s) <= CAN_SIG_MAX_BYTES,
		   "start %u length %u: %u bytes", s->start, s->length, can_signal_bytes(s));
	r = can_signal_raw(s, data, len, &raw);
	if (can_signal_bytes(s) > len) {
		FUZZ_CHECK(r == -ERANGE, "%u bytes, frame of %u: %d", can_signal_bytes(s), len, r);
		return;
	}
	FUZZ_CHECK(r == 0, "%d", r);
	/* The reference may read a padded frame: only bits of the frame count. */
	uint8_t padded[CAN_SIG_MAX_BYTES + 2] = { 0 };
	memcpy(padded, data, len);
	uint64_t want = reference_raw(s, padded);
	FUZZ_CHECK(raw == want, "start %u length %u %s%s: %#" PRIx64 ", expected %#" PRIx64,
		   s->start, s->length, s->order == CAN_SIG_INTEL ? "intel" : "motorola",
		   s->is_signed ? " signed" : "", raw, want);
	if (s->length < 64) {
		uint64_t top = s->is_signed ? (uint64_t)((int64_t)raw >> (s->length - 1))
					    : raw >> s->length;
		FUZZ_CHECK(top == 0 || (s->is_signed && top == UINT64_MAX),
			   "%#" PRIx64 " > %u bits", raw, s->length);
	}
}

static bool filter_passes(const struct can_filter *f, canid_t id)
{
	return (id & f->can_mask) == (f->can_id & f->can_mask); /* as af_can.c does */
}

static void check_filters(const struct can_id_match *m, size_t n, canid_t id)
{
	struct can_filter f[8];
	bool want = false, passed = false;
	int k = can_filters_build(m, n, f, 8);

	FUZZ_CHECK(k >= 0 && (size_t)k <= n && (n == 0 || k > 0), "%d filters for %zu", k, n);
	if (n > 1)
		FUZZ_CHECK(can_filters_build(m, n, f, 0) == -E2BIG, "no room, no -E2BIG");
	for (size_t i = 0; i < n; i++)
		want |= can_id_matches(&m[i], id);
	for (int i = 0; i < k; i++)
		passed |= filter_passes(&f[i], id);
	if (want)
		FUZZ_CHECK(passed, "can_id %#" PRIx32 " matched but filtered out", id);
	/* Error frames pass ID filters in the kernel; the driver drops them itself. */
	if (passed && !(id & CAN_ERR_FLAG))
		FUZZ_CHECK(want, "can_id %#" PRIx32 " let through but matched by none", id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct can_signal s = { .scale = 1 };
	struct can_id_match m[8];
	uint32_t id;
	size_t n, off;

	if (size < 9)
		return 0;
	s.start = (unsigned)(data[0] | data[1] << 8) % 600;
	s.length = data[2] % 70;
	s.order = data[3] & 1 ? CAN_SIG_MOTOROLA : CAN_SIG_INTEL;
	s.is_signed = data[3] & 2;
	memcpy(&id, data + 4, 4);
	n = data[8] % 9;
	off = 9;
	if (size < off + 9 * n)
		n = (size - off) / 9;
	for (size_t i = 0; i < n; i++, off += 9) {
		memcpy(&m[i].id, data + off, 4);
		memcpy(&m[i].mask, data + off + 4, 4);
		m[i].ext = data[off + 8] & 1;
		/* As the configuration checks them (can.c): within the ID's bits. */
		m[i].id &= m[i].ext ? CAN_EFF_MASK : CAN_SFF_MASK;
		m[i].mask &= m[i].ext ? CAN_EFF_MASK : CAN_SFF_MASK;
	}
	size_t len = size - off > CAN_SIG_MAX_BYTES ? CAN_SIG_MAX_BYTES : size - off;
	uint8_t *frame = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
	FUZZ_CHECK(frame, "no memory");
	memcpy(frame, data + off, len);
	check_signal(&s, frame, (unsigned)len);
	check_filters(m, n, id);
	free(frame);
	return 0;
}
