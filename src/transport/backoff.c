/* SPDX-License-Identifier: BSD-2-Clause */
/* Reconnect back-off with full jitter and the once-per-outage log rule (backoff.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "transport/backoff.h"

/*
 * arc4random (glibc >= 2.36): seeded by the kernel, thread-safe, no state
 * per client, so gateways booted from one image at one time draw apart;
 * the xorshift generators it replaces were seeded from the clock and an
 * address. Its cost (a getrandom() refill now and then) is nothing at the
 * rate of reconnections.
 */
uint64_t lt_random_upto(uint64_t bound)
{
	uint64_t r, span, limit;

	if (bound < UINT32_MAX)
		return arc4random_uniform((uint32_t)bound + 1);
	if (bound == UINT64_MAX) {
		arc4random_buf(&r, sizeof(r));
		return r;
	}
	/* Reject the top partial span so that every value is equally likely. */
	span = bound + 1;
	limit = UINT64_MAX - UINT64_MAX % span;
	do
		arc4random_buf(&r, sizeof(r));
	while (r >= limit);
	return r % span;
}

void lt_backoff_init(struct lt_backoff *b, uint64_t min_ns, uint64_t max_ns)
{
	*b = (struct lt_backoff){ .min_ns = min_ns, .max_ns = max_ns };
}

uint64_t lt_backoff_delay(const struct lt_backoff *b, unsigned level)
{
	uint64_t lo = b->min_ns, cap = b->max_ns, delay;

	if (level < 63 && lo <= (cap >> level))
		cap = lo << level;
	delay = lt_random_upto(cap);
	return delay < lo / 2 ? lo / 2 : delay;
}

uint64_t lt_backoff_next(struct lt_backoff *b)
{
	uint64_t delay = lt_backoff_delay(b, b->level);

	if (b->level < 64)
		b->level++;
	return delay;
}

/* FNV-1a over @s into @h: enough to tell the few reasons of one outage apart. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

int lt_backoff_failed(struct lt_backoff *b, int64_t now, const char *peer, const char *reason)
{
	uint32_t h = fnv1a(fnv1a(2166136261u, peer) * 16777619u, reason) | 1;

	if (b->up_since) {
		if (now - b->up_since >= (int64_t)b->max_ns)
			b->level = 0;
		b->up_since = 0;
	}
	if (!b->down_since) {
		b->down_since = now ? now : 1;
		b->failures = 0;
		memset(b->reasons, 0, sizeof(b->reasons));
	}
	b->failures++;
	for (unsigned i = 0; i < LT_BACKOFF_REASONS; i++)
		if (b->reasons[i] == h)
			return LOG_DEBUG;
	memmove(b->reasons + 1, b->reasons, sizeof(b->reasons) - sizeof(b->reasons[0]));
	b->reasons[0] = h;
	return LOG_WARNING;
}

int lt_backoff_up(struct lt_backoff *b, int64_t now, char *suffix, size_t len)
{
	int prio = LOG_INFO;

	if (len)
		suffix[0] = 0;
	if (b->down_since) {
		snprintf(suffix, len, " after an outage of %.1f s (%u failure%s)",
			 (double)(now - b->down_since) / 1e9, b->failures,
			 b->failures == 1 ? "" : "s");
		prio = LOG_NOTICE;
	}
	b->down_since = 0;
	b->failures = 0;
	b->up_since = now ? now : 1;
	return prio;
}
