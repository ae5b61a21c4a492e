/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket: a Unix stream socket in the runtime folder, mode 0600,
 * peers checked with SO_PEERCRED (same user or root). A client sends one
 * command line and reads the answer until the daemon closes:
 *   status   JSON: edge, ring lanes, devices with metrics, DCCs, totals
 *   metrics  JSON: the metric table (id -> name, unit) of the ring
 *   ring     JSON {"generation": N} with a read-only fd of the ring segment
 *            attached (SCM_RIGHTS)
 * Served by the main thread, one short exchange at a time (1 s timeouts).
 */
#ifndef LT_CONTROL_H
#define LT_CONTROL_H

#include "daemon.h"

struct control_ctx {
	const struct daemon *daemon;
	const struct lt_totals *past; /* totals of earlier configurations (reloads) */
	uint64_t generation;
	uint64_t start_real_ns;
	unsigned reloads;
};

/* Bind and listen on @path (an old socket file there is replaced). */
int control_open(const char *path, int *fd_out, char *err, size_t errlen);
/* Accept and serve one client of the listening socket @fd. */
void control_serve(int fd, const struct control_ctx *ctx);
/* The status document (also used by tests). Caller json_decref()s. */
struct json_t *control_status_json(const struct control_ctx *ctx);

#endif
