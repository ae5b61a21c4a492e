/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket: a Unix stream socket in the runtime folder, mode 0600,
 * peers checked with SO_PEERCRED (same user or root). A client sends one
 * command line and reads the answer until the daemon closes:
 *   status   JSON: edge, ring lanes, devices with metrics, DCCs, totals
 *   metrics  JSON: the metric table (id -> name, unit) of the ring
 *   ring     JSON {"generation": N} with a read-only fd of the ring segment
 *            attached (SCM_RIGHTS)
 *   list     JSON: the loaded packages (name, version, SHA-256, depends,
 *            drivers, the packages, devices and DCCs that use them)
 *   load NAME[@SHA256], unload NAME, reload NAME
 *            change the loaded packages (ctx->package does it): {"ok": "..."}
 * Anything else, or a command that fails, gets {"error": "..."}. Every
 * command needs the same peer: liotad's own user or root (SO_PEERCRED). Served from the main
 * thread's poll loop without ever blocking it: sockets are non-blocking, at most
 * CONTROL_CLIENTS_MAX clients at once (others wait in the listen backlog),
 * and each client has CONTROL_DEADLINE_NS from its connection to send its
 * line and read the whole answer, or it is dropped. A slow client therefore
 * delays neither signals, nor the watchdog, nor other clients. The status
 * answer is made as the socket takes it, CONTROL_CHUNK bytes at a time
 * (status.h, which says what a streamed answer guarantees): its memory
 * does not grow with the number of metrics; a client is sent at most
 * CONTROL_ROUND_BYTES per round of the loop.
 */
#ifndef LT_CONTROL_H
#define LT_CONTROL_H

#include "daemon.h"

#include <liota/package.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

/* Bytes of a command line, its newline included: "reload NAME@SHA256\r\n" fits. */
#define CONTROL_REQUEST_MAX 160
#define CONTROL_CLIENTS_MAX 8
#define CONTROL_DEADLINE_NS (2 * 1000000000ull)
/* A streamed status is made this many bytes (and one piece) at a time. */
#define CONTROL_CHUNK (16 * 1024)
/* Bytes sent to one client per round of the main loop, at most (and one chunk). */
#define CONTROL_ROUND_BYTES (256 * 1024)
/* The pollfds control_pollfds() fills: the listening socket, then one per client slot. */
#define CONTROL_POLLFDS (1 + CONTROL_CLIENTS_MAX)

enum control_cmd {
	CONTROL_STATUS,
	CONTROL_METRICS,
	CONTROL_RING,
	CONTROL_LIST,
	CONTROL_LOAD, /* the commands from here on take a package name */
	CONTROL_UNLOAD,
	CONTROL_RELOAD,
};

/* A command line, parsed. */
struct control_req {
	enum control_cmd cmd;
	char name[LT_PACKAGE_NAME_MAX + 1]; /* load, unload, reload: the package */
	char sha256[65];                    /* load: the pin, "" for none */
	const char *why;                    /* -EINVAL: what is wrong, for the reply */
};

struct control_ctx {
	const struct daemon *daemon;
	const struct lt_totals *past; /* totals of earlier configurations (reloads) */
	uint64_t generation;
	uint64_t start_real_ns;
	unsigned reloads;
	/*
	 * load, unload, reload: done in the main thread, which may replace the
	 * daemon (ctx->daemon is stale afterwards, so control_dispatch() serves
	 * no other client in that round). Returns 0 or a negative errno, with
	 * what happened, or why not, in @msg.
	 */
	int (*package)(void *arg, const struct control_req *req, char *msg, size_t msglen);
	void *package_arg;
};

/*
 * control_parse_request - the command in the first @len bytes a client sent
 * (any bytes: this is outside input). The command ends at the first "\n"
 * (a "\r" before it is dropped), or at the end of the bytes when @eof (the
 * client closed its side). A line is a command word alone, or for load,
 * unload and reload the word, one space and a package name
 * (pkg_valid_name()), which load may follow with "@" and 64 hex digits.
 * Returns 1 with *@req set; 0 when more bytes are needed (no newline yet,
 * fewer than CONTROL_REQUEST_MAX bytes, not @eof); -EMSGSIZE when
 * CONTROL_REQUEST_MAX bytes hold no newline; -EINVAL with req->why for an
 * unknown command, a missing, extra or malformed argument, or a NUL byte.
 * Pure: no I/O, no allocation.
 */
int control_parse_request(const char *buf, size_t len, bool eof, struct control_req *req);

struct control; /* the listening socket and its clients */

/* Bind and listen on @path (an old socket file there is replaced). */
int control_open(const char *path, struct control **out, char *err, size_t errlen);
/* Close every client and the listening socket (the socket file stays). NULL is fine. */
void control_close(struct control *c);
/*
 * Fill @pf (CONTROL_POLLFDS entries, unused ones with fd -1) for poll(), and
 * lower *@timeout_ms (-1: none) to the nearest client deadline.
 */
void control_pollfds(struct control *c, struct pollfd *pf, int *timeout_ms);
/*
 * After poll(): accept clients, read their requests, answer, write replies as
 * far as the sockets take them, drop clients past their deadline. Never blocks.
 */
void control_dispatch(struct control *c, const struct pollfd *pf, const struct control_ctx *ctx);
/*
 * The status document whole, as a client reads it (status.h makes it): for
 * tests. Caller json_decref()s.
 */
struct json_t *control_status_json(const struct control_ctx *ctx);

#endif
