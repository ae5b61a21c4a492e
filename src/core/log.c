/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging to the journal (with DEVICE=, METRIC=, DCC= fields) or to stderr,
 * with rate limiting of repeated identical messages.
 */
#include "log.h"
#include "model.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <time.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define LOG_SLOTS 32

struct log_slot {
	uint64_t hash;
	uint64_t window_start; /* CLOCK_MONOTONIC ns */
	unsigned count;        /* messages seen in this window */
	unsigned suppressed;
};

static struct {
	const char *ident;
	bool journal;
	_Atomic int level;
	unsigned burst;
	uint64_t window_ns;
	pthread_mutex_t lock; /* guards slots and keeps lines whole on stderr */
	struct log_slot slots[LOG_SLOTS];
} L = { .ident = "liotad",
	.level = LOG_INFO,
	.burst = LT_LOG_BURST,
	.window_ns = (uint64_t)LT_LOG_WINDOW * LT_NSEC_PER_SEC,
	.lock = PTHREAD_MUTEX_INITIALIZER };

/* Is stderr the journal's stream? systemd sets JOURNAL_STREAM=DEV:INODE. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(const char *ident)
{
	L.ident = ident;
	L.journal = stderr_is_journal();
}

void log_set_rate_limit(unsigned burst, unsigned long long window_ns)
{
	pthread_mutex_lock(&L.lock);
	L.burst = burst;
	L.window_ns = window_ns;
	memset(L.slots, 0, sizeof(L.slots));
	pthread_mutex_unlock(&L.lock);
}

void log_set_level(int prio)
{
	atomic_store_explicit(&L.level, prio, memory_order_relaxed);
}

int log_get_level(void)
{
	return atomic_load_explicit(&L.level, memory_order_relaxed);
}

int log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int prio;
	} levels[] = {
		{ "err", LOG_ERR },   { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(s, levels[i].name))
			return levels[i].prio;
	return -1;
}

static uint64_t fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = a; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (const char *p = b; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/*
 * Decide whether a message goes out. Returns false to suppress it; when a
 * window ends with suppressed repeats, *repeats tells how many were hidden
 * so the caller can say so.
 */
static bool rate_ok(uint64_t hash, unsigned *repeats)
{
	uint64_t now = lt_mono_ns(), window = L.window_ns;
	struct log_slot *s = &L.slots[hash % LOG_SLOTS];

	*repeats = 0;
	if (s->hash != hash || now - s->window_start > window) {
		if (s->hash == hash)
			*repeats = s->suppressed;
		s->hash = hash;
		s->window_start = now;
		s->count = 1;
		s->suppressed = 0;
		return true;
	}
	if (++s->count <= L.burst)
		return true;
	s->suppressed++;
	return false;
}

static void emit(int prio, const char *const fields[][2], const char *msg)
{
	static const char *const pname[] = { "emerg",   "alert",  "crit", "error",
					     "warning", "notice", "info", "debug" };

	if (L.journal) {
		struct iovec iov[6];
		char *strs[6];
		int n = 0;

		strs[n++] = xasprintf("MESSAGE=%s", msg);
		strs[n++] = xasprintf("PRIORITY=%d", prio);
		strs[n++] = xasprintf("SYSLOG_IDENTIFIER=%s", L.ident);
		for (int i = 0; fields && fields[i][0] && n < 6; i++)
			strs[n++] = xasprintf("%s=%s", fields[i][0], fields[i][1]);
		for (int i = 0; i < n; i++)
			iov[i] = (struct iovec){ strs[i], strlen(strs[i]) };
		int r = sd_journal_sendv(iov, n);

		for (int i = 0; i < n; i++)
			free(strs[i]);
		if (r >= 0)
			return;
		/* journald is gone (stopped, restarting): never lose the message. */
	}
	fprintf(stderr, "%s: %s: %s\n", L.ident, pname[prio & 7], msg);
}

/* fields: up to 3 {NAME, value} pairs, ended by {NULL, NULL}; may be NULL. */
static void log_fields(int prio, const char *const fields[][2], const char *prefix, const char *fmt,
		       va_list ap)
{
	char msg[1024], line[1100];
	unsigned repeats;

	if (prio > log_get_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (prefix)
		snprintf(line, sizeof(line), "%s: %s", prefix, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);

	pthread_mutex_lock(&L.lock);
	if (rate_ok(fnv1a(prefix, msg), &repeats)) {
		if (repeats) {
			char note[1200];

			snprintf(note, sizeof(note),
				 "%u repeats of the next message were suppressed", repeats);
			emit(prio, fields, note);
		}
		emit(prio, fields, line);
	}
	pthread_mutex_unlock(&L.lock);
}

void log_msgv(int prio, const char *field, const char *value, const char *fmt, va_list ap)
{
	const char *fields[2][2] = { { field, value }, { NULL, NULL } };

	log_fields(prio, field ? fields : NULL, NULL, fmt, ap);
}

void log_msg(int prio, const char *field, const char *value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msgv(prio, field, value, fmt, ap);
	va_end(ap);
}

void lt_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fields(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}

void lt_device_log(const struct lt_device *dev, int prio, const char *fmt, ...)
{
	const char *fields[2][2] = { { "DEVICE", dev->name }, { NULL, NULL } };
	char prefix[96];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "device %s", dev->name);
	va_start(ap, fmt);
	log_fields(prio, fields, prefix, fmt, ap);
	va_end(ap);
}

void lt_metric_log(const struct lt_metric *m, int prio, const char *fmt, ...)
{
	const char *fields[3][2] = { { "METRIC", m->fullname },
				     { "DEVICE", m->device ? m->device->name : "" },
				     { NULL, NULL } };
	char prefix[160];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "metric %s", m->fullname);
	va_start(ap, fmt);
	log_fields(prio, fields, prefix, fmt, ap);
	va_end(ap);
}

void lt_dcc_log(const struct lt_dcc *dcc, int prio, const char *fmt, ...)
{
	const char *fields[2][2] = { { "DCC", dcc ? dcc->name : "" }, { NULL, NULL } };
	char prefix[96];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "dcc %s", dcc ? dcc->name : "?");
	va_start(ap, fmt);
	log_fields(prio, fields, prefix, fmt, ap);
	va_end(ap);
}
