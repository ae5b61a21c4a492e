/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging: to the journal with structured fields when stderr is the
 * journal's stream (JOURNAL_STREAM matches), otherwise one line per message
 * on stderr. Identical messages repeated more than LT_LOG_BURST times within
 * LT_LOG_WINDOW seconds are suppressed and counted; the count is logged
 * when the window ends.
 */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <syslog.h>
#include <stdarg.h>

#define LT_LOG_BURST  5
#define LT_LOG_WINDOW 10

void log_init(const char *ident);
/* Change the rate limit (tests): @burst messages per @window_ns. */
void log_set_rate_limit(unsigned burst, unsigned long long window_ns);
void log_set_level(int prio);
int log_get_level(void);
/* Parse "err", "warning", "notice", "info" or "debug" into a syslog priority; -1 if unknown. */
int log_level_parse(const char *s);
/* The one function all logging goes through. field/value may be NULL. */
void log_msgv(int prio, const char *field, const char *value, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void log_msg(int prio, const char *field, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
