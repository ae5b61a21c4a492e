/* SPDX-License-Identifier: BSD-2-Clause */
#include "control.h"
#include "log.h"
#include "pkg.h"
#include "status.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The loaded packages, with the running devices and DCCs whose drivers they provide. */
static json_t *packages_json(const struct control_ctx *ctx)
{
	const struct lt_model *m = ctx->daemon->model;
	struct pkg_info info[PKG_MAX];
	size_t n = pkg_list(info);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *drv[PKG_DRIVERS_MAX];
		json_t *deps = json_array(), *devdrv = json_array(), *dccdrv = json_array();
		json_t *devs = json_array(), *dccs = json_array();
		char hex[65];
		int nd;

		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", info[i].sha256[k]);
		for (const char *const *d = info[i].depends; d && *d; d++)
			json_array_append_new(deps, json_string(*d));
		nd = pkg_drivers(info[i].name, 0, drv);
		for (int k = 0; k < nd; k++)
			json_array_append_new(devdrv, json_string(drv[k]));
		nd = pkg_drivers(info[i].name, 1, drv);
		for (int k = 0; k < nd; k++)
			json_array_append_new(dccdrv, json_string(drv[k]));
		for (unsigned k = 0; k < m->ndevices; k++) {
			const char *p = pkg_provider(m->devices[k]->drv);

			if (p && !strcmp(p, info[i].name))
				json_array_append_new(devs, json_string(m->devices[k]->name));
		}
		for (unsigned k = 0; k < m->ndccs; k++) {
			const char *p = pkg_provider(m->dccs[k]->drv);

			if (p && !strcmp(p, info[i].name))
				json_array_append_new(dccs, json_string(m->dccs[k]->name));
		}
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:o}",
						"name", info[i].name, "version", info[i].version,
						"sha256", hex, "depends", deps, "device_drivers",
						devdrv, "dcc_drivers", dccdrv, "users",
						(int)info[i].users, "devices", devs, "dccs", dccs));
	}
	return json_pack("{s:o}", "packages", arr);
}

/* ---- serving clients from the main loop -------------------------------- */

struct client {
	int fd;            /* -1: a free slot */
	pid_t pid;         /* for the log */
	uint64_t deadline; /* CLOCK_MONOTONIC ns: dropped when not done by then */
	size_t got;        /* request bytes read */
	char req[CONTROL_REQUEST_MAX];
	bool answering;        /* the request is complete: the reply is being sent */
	struct status_out out; /* the reply, or its next bytes while streaming */
	size_t off;            /* of out: sent */
	bool streaming;        /* status: more of the reply comes from st */
	struct status_stream st;
	int pass_fd; /* sent with the reply's first byte, then closed; -1: none */
};

struct control {
	int lfd;
	bool changed; /* a package command ran: ctx is stale until the next round */
	struct client cl[CONTROL_CLIENTS_MAX];
};

/* The argument of a package command: NAME, or for load NAME@SHA256. */
static int parse_package_arg(const char *a, size_t n, struct control_req *req)
{
	const char *at = memchr(a, '@', n);
	size_t nlen = at ? (size_t)(at - a) : n;

	if (!n)
		return req->why = "a package name is needed", -EINVAL;
	if (nlen > LT_PACKAGE_NAME_MAX)
		return req->why = "not a package name", -EINVAL;
	memcpy(req->name, a, nlen);
	req->name[nlen] = '\0';
	if (!pkg_valid_name(req->name))
		return req->why = "not a package name", -EINVAL;
	req->sha256[0] = '\0';
	if (!at)
		return 1;
	if (req->cmd != CONTROL_LOAD)
		return req->why = "only load takes NAME@SHA256", -EINVAL;
	if (n - nlen - 1 != 64)
		return req->why = "the SHA-256 must be 64 hex digits", -EINVAL;
	for (size_t i = 0; i < 64; i++) {
		char c = at[1 + i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F'))
			return req->why = "the SHA-256 must be 64 hex digits", -EINVAL;
		req->sha256[i] = c;
	}
	req->sha256[64] = '\0';
	return 1;
}

int control_parse_request(const char *buf, size_t len, bool eof, struct control_req *req)
{
	static const struct {
		const char *name;
		enum control_cmd cmd;
	} cmds[] = { { "status", CONTROL_STATUS }, { "metrics", CONTROL_METRICS },
		     { "ring", CONTROL_RING },     { "list", CONTROL_LIST },
		     { "load", CONTROL_LOAD },     { "unload", CONTROL_UNLOAD },
		     { "reload", CONTROL_RELOAD } };
	size_t scan = len < CONTROL_REQUEST_MAX ? len : CONTROL_REQUEST_MAX;
	const char *nl = memchr(buf, '\n', scan), *sp;
	size_t n, w;

	if (nl)
		n = (size_t)(nl - buf);
	else if (len >= CONTROL_REQUEST_MAX)
		return -EMSGSIZE;
	else if (!eof)
		return 0;
	else
		n = len;
	if (n && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\0', n))
		return req->why = "a NUL byte in the command", -EINVAL;
	sp = memchr(buf, ' ', n);
	w = sp ? (size_t)(sp - buf) : n;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strlen(cmds[i].name) != w || memcmp(buf, cmds[i].name, w))
			continue;
		req->cmd = cmds[i].cmd;
		if (req->cmd < CONTROL_LOAD)
			return sp ? (req->why = "this command takes no argument", -EINVAL) : 1;
		return parse_package_arg(sp ? sp + 1 : buf + n, sp ? n - w - 1 : 0, req);
	}
	return req->why = "unknown command", -EINVAL;
}

int control_open(const char *path, struct control **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *c;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return lt_errf(err, errlen, -ENAMETOOLONG, "control socket path too long: %s",
			       path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err;
	/* A socket file left by a daemon that died is stale: nobody listens on it. */
	unlink(path);
	mode_t old = umask(0177);
	e = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (e < 0 || listen(fd, 16) < 0)
		goto err_close;
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		goto err_close;
	}
	c->lfd = fd;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		c->cl[i].fd = -1;
		c->cl[i].pass_fd = -1;
	}
	*out = c;
	return 0;

err_close:
	e = errno;
	close(fd);
	errno = e;
err:
	return lt_errf(err, errlen, -errno, "control socket %s: %s", path, strerror(errno));
}

static void client_drop(struct client *cl)
{
	close(cl->fd);
	if (cl->pass_fd >= 0)
		close(cl->pass_fd);
	free(cl->out.buf);
	*cl = (struct client){ .fd = -1, .pass_fd = -1 };
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->cl[i].fd >= 0)
			client_drop(&c->cl[i]);
	close(c->lfd);
	free(c);
}

void control_pollfds(struct control *c, struct pollfd *pf, int *timeout_ms)
{
	uint64_t now = lt_mono_ns();
	bool full = true;

	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		const struct client *cl = &c->cl[i];
		struct pollfd *p = &pf[1 + i];

		*p = (struct pollfd){ .fd = cl->fd, .events = cl->answering ? POLLOUT : POLLIN };
		if (cl->fd < 0) {
			full = false;
			continue;
		}
		/* Rounded up: waking before the deadline would only poll again. */
		uint64_t left = cl->deadline > now ? cl->deadline - now : 0;
		int ms = (int)((left + 999999) / 1000000);

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	/* With every slot taken, new clients wait in the backlog until one frees. */
	pf[0] = (struct pollfd){ .fd = full ? -1 : c->lfd, .events = POLLIN };
}

/* Take a new client into a free slot, if it is our user or root; false: none waits. */
static bool client_accept(struct control *c, struct client *cl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return false;
	/* Only our own user (or root) may look: the socket mode says so too. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		lt_log(LOG_WARNING,
		       "control: refused a client whose credentials cannot be read: %s",
		       strerror(errno));
		close(fd);
		return true;
	}
	if (cred.uid != geteuid() && cred.uid != 0) {
		lt_log(LOG_WARNING, "control: refused a client of uid %u (pid %d)",
		       (unsigned)cred.uid, (int)cred.pid);
		close(fd);
		return true;
	}
	*cl = (struct client){ .fd = fd,
			       .pid = cred.pid,
			       .deadline = lt_mono_ns() + CONTROL_DEADLINE_NS,
			       .pass_fd = -1 };
	return true;
}

/* A request line's printable ASCII, for an error reply (which must stay valid UTF-8 JSON). */
static void shown_line(const struct client *cl, char *shown, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->got && n + 1 < len && cl->req[i] != '\n' && cl->req[i] != '\r';
	     i++)
		shown[n++] = cl->req[i] >= ' ' && cl->req[i] < 0x7f ? cl->req[i] : '?';
	shown[n] = '\0';
}

/* load, unload, reload: the main thread's handler does it. */
static json_t *package_answer(struct control *c, const struct client *cl,
			      const struct control_req *req, const struct control_ctx *ctx)
{
	char msg[1024] = "";
	int r;

	if (!ctx->package)
		return json_pack("{s:s}", "error", "packages cannot be changed here");
	lt_log(LOG_INFO, "control: %s %s%s%s (pid %d)",
	       req->cmd == CONTROL_LOAD     ? "load"
	       : req->cmd == CONTROL_UNLOAD ? "unload"
					    : "reload",
	       req->name, req->sha256[0] ? "@" : "", req->sha256, (int)cl->pid);
	c->changed = true;
	r = ctx->package(ctx->package_arg, req, msg, sizeof(msg));
	if (r < 0 && !msg[0])
		snprintf(msg, sizeof(msg), "%s", strerror(-r));
	return json_pack("{s:s}", r < 0 ? "error" : "ok", msg);
}

/* The request's answer as text in cl->out (and the fd to pass); false: out of memory. */
static bool client_answer(struct control *c, struct client *cl, int parsed,
			  const struct control_req *req, const struct control_ctx *ctx)
{
	json_t *doc = NULL;

	cl->answering = true;
	cl->off = 0;
	if (parsed == -EMSGSIZE) {
		doc = json_pack("{s:s}", "error", "request too long: one command line expected");
	} else if (parsed < 0) {
		char shown[CONTROL_REQUEST_MAX];

		shown_line(cl, shown, sizeof(shown));
		doc = json_pack("{s:s++}", "error", req->why, ": ", shown);
	} else if (req->cmd == CONTROL_STATUS || req->cmd == CONTROL_METRICS) {
		/* Written as the socket takes it (client_write()): status.h. */
		if (req->cmd == CONTROL_STATUS)
			status_stream_begin(&cl->st, ctx);
		else
			status_stream_begin_table(&cl->st, ctx);
		cl->streaming = true;
		return true;
	} else if (req->cmd == CONTROL_LIST) {
		doc = packages_json(ctx);
	} else if (req->cmd >= CONTROL_LOAD) {
		doc = package_answer(c, cl, req, ctx);
	} else {
		int fd = lt_ring_dup_ro_fd(ctx->daemon->ring);

		doc = fd >= 0 ? json_pack("{s:I}", "generation", (json_int_t)ctx->generation)
			      : json_pack("{s:s}", "error", strerror(-fd));
		cl->pass_fd = fd;
	}
	cl->out.buf = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!cl->out.buf)
		return false;
	cl->out.len = cl->out.cap = strlen(cl->out.buf);
	return true;
}

/* Read what the client sent; answer once its line is complete. false: drop it. */
static bool client_read(struct control *c, struct client *cl, const struct control_ctx *ctx)
{
	struct control_req req = { .why = "" };
	bool eof = false;
	int r;

	for (;;) {
		ssize_t n = read(cl->fd, cl->req + cl->got, sizeof(cl->req) - cl->got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return false;
		if (n == 0) {
			eof = true;
			break;
		}
		cl->got += (size_t)n;
		if (cl->got == sizeof(cl->req) || memchr(cl->req + cl->got - n, '\n', (size_t)n))
			break;
	}
	r = control_parse_request(cl->req, cl->got, eof, &req);
	if (r == 0)
		return true;
	if (eof && !cl->got)
		return false; /* connected and left without a word */
	return client_answer(c, cl, r, &req, ctx);
}

/*
 * The next bytes of a streamed reply into cl->out, sent before more are
 * made. false: the reply cannot go on (logged).
 */
static bool client_refill(struct client *cl, const struct control_ctx *ctx)
{
	int r;

	cl->out.len = cl->off = 0;
	/* Room for CONTROL_CHUNK and the piece that crosses it: one send for many pieces. */
	r = status_out_room(&cl->out, 2 * CONTROL_CHUNK);
	if (!r)
		r = status_stream_fill(&cl->st, ctx, &cl->out, CONTROL_CHUNK);
	if (r < 0) {
		lt_log(LOG_WARNING, "control: stopped a reply to a client (pid %d): %s",
		       (int)cl->pid,
		       r == -ESTALE ? "the configuration changed while it was sent" : strerror(-r));
		return false;
	}
	cl->streaming = r > 0;
	return true;
}

/*
 * Send as much of the reply as the socket takes (the fd with its first
 * byte), up to CONTROL_ROUND_BYTES: a client that reads as fast as it is
 * written does not hold the main loop for a whole long reply.
 */
static bool client_write(struct client *cl, const struct control_ctx *ctx)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	size_t sent = 0;

	for (;;) {
		if (cl->off == cl->out.len && cl->streaming && !client_refill(cl, ctx))
			return false;
		if (cl->off == cl->out.len)
			return false; /* all sent: reply then close */
		if (sent >= CONTROL_ROUND_BYTES)
			return true; /* the rest in the next rounds */

		struct iovec iov = { cl->out.buf + cl->off, cl->out.len - cl->off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (cl->pass_fd >= 0) {
			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &cl->pass_fd, sizeof(int));
		}
		ssize_t n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		if (cl->pass_fd >= 0) {
			close(cl->pass_fd);
			cl->pass_fd = -1;
		}
		cl->off += (size_t)n;
		sent += (size_t)n;
	}
}

void control_dispatch(struct control *c, const struct pollfd *pf, const struct control_ctx *ctx)
{
	uint64_t now;

	c->changed = false;
	/* After a package command, the others wait for the next round (poll says again). */
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX && !c->changed; i++) {
		struct client *cl = &c->cl[i];
		short re = pf[1 + i].revents;
		bool keep = true;

		if (cl->fd < 0 || pf[1 + i].fd != cl->fd || !re)
			continue;
		if (!cl->answering && (re & (POLLIN | POLLHUP | POLLERR)))
			keep = client_read(c, cl, ctx);
		else if (cl->answering && (re & (POLLHUP | POLLERR)))
			keep = false;
		/* Most replies fit the socket buffer at once: no extra poll round. */
		if (keep && cl->answering)
			keep = client_write(cl, ctx);
		if (!keep)
			client_drop(cl);
	}
	if (pf[0].fd >= 0 && (pf[0].revents & POLLIN))
		for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
			if (c->cl[i].fd < 0 && !client_accept(c, &c->cl[i]))
				break;
	now = lt_mono_ns();
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client *cl = &c->cl[i];

		if (cl->fd < 0 || now < cl->deadline)
			continue;
		lt_log(LOG_WARNING,
		       "control: dropped a client (pid %d) that did not %s within %llu s",
		       (int)cl->pid, cl->answering ? "read its answer" : "send its command",
		       (unsigned long long)(CONTROL_DEADLINE_NS / LT_NSEC_PER_SEC));
		client_drop(cl);
	}
}
