/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Carbon plaintext protocol: "PATH VALUE TIMESTAMP\n".
 *
 * A path is made of dot-separated nodes. Carbon splits on dots, breaks the
 * line on white space and stores each node as a file or folder name, so
 * every character of a node outside [A-Za-z0-9_-] (dots, white space,
 * slashes, control characters, non-ASCII bytes) becomes '_'. A prefix is a
 * path itself: its dots separate nodes and are kept, each node escaped.
 */
#ifndef LT_CARBON_H
#define LT_CARBON_H

#include <liota/liota.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Append the escaped node @name to @out (size @len) at *@pos, NUL-terminated,
 * and advance *@pos past it. Returns 0, or -ENOSPC (nothing written, *@pos
 * unchanged). An empty node becomes "_".
 */
int carbon_escape_node(char *out, size_t len, size_t *pos, const char *name);
/*
 * Build "PREFIX.EDGE.DEVICE.METRIC" (prefix may be "" or NULL: then no
 * leading dot) into a malloc'd string. Each node is escaped; the prefix's
 * empty nodes ("a..b", leading or trailing dots) are dropped; a NULL
 * edge, device or metric is left out ("PREFIX.EDGE" for the edge itself).
 * NULL on allocation failure.
 */
char *carbon_path(const char *prefix, const char *edge, const char *device, const char *metric);
/*
 * Encode one line for @path and sample @s into @out (size @len): value in
 * the shortest form that reads back as the same double, timestamp in whole
 * seconds (floor of ts_ns). The line is not NUL-terminated. Returns its
 * length including the '\n', or -ENOSPC (nothing useful written), or -EDOM
 * for NaN/infinite values (carbon cannot store them).
 */
int carbon_line(char *out, size_t len, const char *path, size_t pathlen, const struct lt_sample *s);

/*
 * An encoder for a stream of lines: it keeps the " TIMESTAMP\n" tail of the
 * last second seen, since consecutive samples mostly share their second.
 * Not thread-safe: one per writer.
 */
struct carbon_enc {
	uint64_t sec; /* second of ts, UINT64_MAX: none yet */
	size_t tslen;
	char ts[24]; /* " SECONDS\n" (not NUL-terminated) */
};

void carbon_enc_init(struct carbon_enc *e);
/* carbon_enc_line() formats in place when this much room follows the path. */
#define CARBON_LINE_ROOM 64

/*
 * carbon_line() through @e. The fastest when @len is at least @pathlen +
 * CARBON_LINE_ROOM: the line is then formatted in place, and bytes of @out
 * after the returned length may be overwritten.
 */
int carbon_enc_line(struct carbon_enc *e, char *out, size_t len, const char *path, size_t pathlen,
		    const struct lt_sample *s);

#endif
