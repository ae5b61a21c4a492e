/* SPDX-License-Identifier: BSD-2-Clause */
#include "notify.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>

void notify_init(struct lt_notify *n)
{
	uint64_t usec = 0;
	const char *sock = getenv("NOTIFY_SOCKET");

	*n = (struct lt_notify){ .on = sock && *sock };
	if (n->on && sd_watchdog_enabled(0, &usec) > 0)
		n->wd_ns = usec * 1000;
	n->next_ping = n->next_status = lt_mono_ns();
}

int notify_timeout_ms(const struct lt_notify *n, uint64_t now_ns)
{
	uint64_t due;

	if (!n->on)
		return -1;
	/*
	 * With the watchdog on, STATUS= waits for the first ping after it is
	 * due (at most WatchdogSec/4 later): one wake-up for both.
	 */
	due = n->wd_ns ? n->next_ping : n->next_status;
	return due > now_ns ? (int)((due - now_ns + 999999) / 1000000) : 0;
}

static double rate(uint64_t prev, uint64_t cur, uint64_t dt_ns)
{
	return cur >= prev && dt_ns ? (double)(cur - prev) * 1e9 / (double)dt_ns : 0;
}

void notify_status_text(char *buf, size_t len, const struct lt_totals *prev,
			const struct lt_totals *cur, uint64_t dt_ns)
{
	snprintf(buf, len, "%.1f samples/s, %.1f published/s, %llu dropped",
		 rate(prev->taken, cur->taken, dt_ns), rate(prev->published, cur->published, dt_ns),
		 (unsigned long long)cur->dropped);
}

/*
 * A thread busy for half the watchdog period is stuck: with the pings that
 * stop then, systemd restarts liotad at most 1.5 periods after it got stuck.
 */
static void watchdog(struct lt_notify *n, const struct daemon *d, uint64_t now_ns)
{
	uint64_t busy = 0;
	const char *who = d ? daemon_stalled(d, now_ns, n->wd_ns / 2, &busy) : NULL;

	if (who && !n->stalled && !strcmp(who, "publisher"))
		lt_log(LOG_ERR,
		       "publisher busy for %.1f s in one round of DCC work: the watchdog "
		       "is no longer fed",
		       (double)busy / 1e9);
	else if (who && !n->stalled)
		lt_device_log(model_find_device(d->model, who), LOG_ERR,
			      "sampler busy for %.1f s in one device call: the watchdog is no "
			      "longer fed",
			      (double)busy / 1e9);
	else if (!who && n->stalled)
		lt_log(LOG_NOTICE, "every thread makes progress again: the watchdog is fed");
	n->stalled = who != NULL;
	if (!who)
		sd_notify(0, "WATCHDOG=1");
	n->next_ping = now_ns + n->wd_ns / 4;
}

void notify_tick(struct lt_notify *n, const struct daemon *d, uint64_t generation, uint64_t now_ns)
{
	struct lt_totals cur;
	char text[160];

	if (!n->on)
		return;
	if (n->wd_ns && now_ns >= n->next_ping)
		watchdog(n, d, now_ns);
	if (now_ns < n->next_status || !d)
		return;
	daemon_totals(d, &cur);
	if (generation == n->generation) {
		notify_status_text(text, sizeof(text), &n->last, &cur, now_ns - n->last_ns);
		sd_notifyf(0, "STATUS=%s", text);
	}
	n->generation = generation;
	n->last = cur;
	n->last_ns = now_ns;
	n->next_status = now_ns + LT_STATUS_PERIOD_NS;
}
