/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/log.h - logging through the daemon: to the journal with structured
 * fields when liotad runs under systemd, else one line on standard error.
 *
 * Every function here may be called from any thread and any callback. A
 * message is one line (no trailing newline needed). The daemon filters by
 * its log_level and suppresses an identical message repeated more than a
 * few times within a few seconds, logging the count when the burst ends:
 * a driver logs state changes ("failing", "working again"), not every
 * failed attempt.
 */
#ifndef LIOTA_LOG_H
#define LIOTA_LOG_H

#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

#ifdef __cplusplus
extern "C" {
#endif

struct lt_device;
struct lt_metric;
struct lt_dcc;

/**
 * lt_log() - log a message of the daemon's own (no object fields).
 * @prio: a syslog priority: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO or
 *        LOG_DEBUG.
 * @fmt:  printf format of the message, then its arguments.
 *
 * Any thread. Never fails (a message that cannot be written is lost).
 */
void lt_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * lt_device_log() - log a message on behalf of a device: the journal gets
 * DEVICE=NAME, standard error the prefix "device NAME: ".
 * @dev:  the device (not NULL).
 * @prio: a syslog priority, as for lt_log().
 * @fmt:  printf format of the message, then its arguments.
 *
 * Any thread. Never fails (a message that cannot be written is lost).
 */
void lt_device_log(const struct lt_device *dev, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * lt_metric_log() - log a message on behalf of a metric: the journal gets
 * METRIC=DEVICE.METRIC and DEVICE=DEVICE, standard error the prefix
 * "metric DEVICE.METRIC: ".
 * @m:    the metric (not NULL).
 * @prio: a syslog priority, as for lt_log().
 * @fmt:  printf format of the message, then its arguments.
 *
 * Any thread. Never fails (a message that cannot be written is lost).
 */
void lt_metric_log(const struct lt_metric *m, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * lt_dcc_log() - log a message on behalf of a DCC: the journal gets
 * DCC=NAME, standard error the prefix "dcc NAME: ".
 * @dcc:  the DCC (NULL logs "dcc ?").
 * @prio: a syslog priority, as for lt_log().
 * @fmt:  printf format of the message, then its arguments.
 *
 * Any thread. Never fails (a message that cannot be written is lost).
 */
void lt_dcc_log(const struct lt_dcc *dcc, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_LOG_H */
