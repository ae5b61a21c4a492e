/* SPDX-License-Identifier: BSD-2-Clause */
#include "control.h"
#include "log.h"
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

static const char *const dcc_state_names[] = { "idle", "connecting", "up", "backoff" };

int control_open(const char *path, int *fd_out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
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
	*fd_out = fd;
	return 0;

err_close:
	e = errno;
	close(fd);
	errno = e;
err:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	return -errno;
}

/* Lateness in microseconds, for people and scripts: {p50, p99, max, count}. */
static json_t *lateness_json(const struct lt_lateness *h)
{
	struct lt_lat_summary ls = { 0 };

	if (h)
		lat_summary(h, &ls);
	if (!ls.count)
		return json_pack("{s:n, s:n, s:n, s:i}", "p50", "p99", "max", "count", 0);
	return json_pack("{s:f, s:f, s:f, s:I}", "p50", (double)ls.p50 / 1e3, "p99",
			 (double)ls.p99 / 1e3, "max", (double)ls.max / 1e3, "count",
			 (json_int_t)ls.count);
}

static json_t *metric_json(const struct lt_metric *m, const struct lt_lateness *lat)
{
	uint64_t bits = atomic_load_explicit(&m->last_bits, memory_order_relaxed);
	uint64_t ts = atomic_load_explicit(&m->last_ts, memory_order_relaxed);
	double last;

	memcpy(&last, &bits, sizeof(last));
	return json_pack("{s:i, s:s, s:s, s:f, s:i, s:I, s:I, s:I, s:o, s:o, s:o}", "id",
			 (int)m->id, "name", m->name, "unit", m->unit ? m->unit : "", "interval_s",
			 (double)m->interval_ns / 1e9, "aggregation", (int)m->aggregation, "samples",
			 (json_int_t)atomic_load(&m->samples), "errors",
			 (json_int_t)atomic_load(&m->errors), "late", (json_int_t)atomic_load(&m->late),
			 "last_value", ts ? json_real(last) : json_null(), "last_ts_ns",
			 ts ? json_integer((json_int_t)ts) : json_null(), "lateness_us",
			 lateness_json(lat));
}

static const char *device_state_name(int st)
{
	switch (st) {
	case LT_DEVICE_RUNNING:
		return "running";
	case LT_DEVICE_OPENING:
		return "opening";
	case LT_DEVICE_FAILED:
		return "failed";
	default:
		return "stopped";
	}
}

static json_t *dcc_json(const struct lt_dcc *d)
{
	const struct lt_dcc_stats *s = &d->stats;
	int st = atomic_load(&s->state);

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
			 d->name, "type", d->drv->name, "state",
			 st >= 0 && st < 4 ? dcc_state_names[st] : "unknown", "samples_in",
			 (json_int_t)atomic_load(&s->samples_in), "sent",
			 (json_int_t)atomic_load(&s->sent), "dropped",
			 (json_int_t)atomic_load(&s->dropped), "pending",
			 (json_int_t)atomic_load(&s->pending), "bytes",
			 (json_int_t)atomic_load(&s->bytes), "reconnects",
			 (json_int_t)atomic_load(&s->reconnects), "errors",
			 (json_int_t)atomic_load(&s->errors), "queued_bytes",
			 (json_int_t)atomic_load(&s->queued));
}

json_t *control_status_json(const struct control_ctx *ctx)
{
	const struct daemon *d = ctx->daemon;
	const struct lt_model *m = d->model;
	const struct lt_ring_hdr *h = lt_ring_hdr(d->ring);
	json_t *devs = json_array(), *dccs = json_array(), *lanes = json_array();
	json_t *files = json_array();
	struct lt_totals t;

	for (unsigned i = 0; i < m->nfiles; i++)
		json_array_append_new(files, json_string(m->files[i]));
	for (unsigned i = 0; i < m->ndevices; i++) {
		const struct lt_device *dev = m->devices[i];
		json_t *mets = json_array();
		int st = atomic_load(&dev->state);

		/* Samplers start and stop in the main thread, which serves this: met is live. */
		const struct sampler_metric *sm = d->samplers ? d->samplers[i].met : NULL;

		for (unsigned j = 0; j < dev->nmetrics; j++)
			json_array_append_new(mets, metric_json(dev->metrics[j],
								sm ? &sm[j].lat : NULL));
		json_t *ctrs = json_object();
		const char *cond = atomic_load_explicit(&dev->condition, memory_order_relaxed);
		char stuck[64];

		/* A driver call that does not return says more than the driver's condition. */
		if (d->samplers &&
		    sampler_stuck(&d->samplers[i], lt_mono_ns(), stuck, sizeof(stuck)))
			cond = stuck;

		for (unsigned c = 0; c < dev->ncounters; c++)
			json_object_set_new(ctrs, dev->counter_names[c],
					    json_integer((json_int_t)atomic_load_explicit(
						    &dev->counters[c], memory_order_relaxed)));
		json_array_append_new(devs, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o}", "name",
						      dev->name, "type", dev->drv->name, "state",
						      device_state_name(st),
						      "condition", cond, "counters", ctrs, "metrics",
						      mets));
	}
	for (unsigned i = 0; i < m->ndccs; i++)
		json_array_append_new(dccs, dcc_json(m->dccs[i]));
	for (unsigned l = 0; l < lt_ring_nlanes(d->ring); l++)
		json_array_append_new(
			lanes, json_pack("{s:i, s:s, s:I, s:I, s:I, s:I}", "lane", (int)l, "device",
					 l < m->ndevices ? m->devices[l]->name : "", "capacity",
					 (json_int_t)h->capacity, "fill",
					 (json_int_t)lt_ring_lane_fill(d->ring, l), "written",
					 (json_int_t)lt_ring_lane_written(d->ring, l), "dropped",
					 (json_int_t)lt_ring_lane_dropped(d->ring, l)));
	daemon_totals(d, &t);
	daemon_totals_add(&t, ctx->past);
	return json_pack(
		"{s:{s:s, s:s}, s:I, s:f, s:I, s:o, s:{s:I, s:I, s:o}, s:o, s:o, s:{s:I, s:I, s:I, "
		"s:I, s:I, s:I}}",
		"edge", "name", m->edge.name, "id", m->edge.id, "pid", (json_int_t)getpid(),
		"uptime_s", (double)(lt_real_ns() - ctx->start_real_ns) / 1e9, "reloads",
		(json_int_t)ctx->reloads, "config_files", files, "ring", "generation",
		(json_int_t)ctx->generation, "wakeups", (json_int_t)atomic_load(&h->wakeups),
		"lanes", lanes, "devices", devs, "dccs", dccs, "totals", "taken",
		(json_int_t)t.taken, "deliveries", (json_int_t)t.deliveries, "published",
		(json_int_t)t.published, "dropped", (json_int_t)t.dropped, "pending",
		(json_int_t)t.pending, "errors", (json_int_t)t.errors);
}

static json_t *metrics_json(const struct control_ctx *ctx)
{
	const struct lt_model *m = ctx->daemon->model;
	json_t *arr = json_array();

	for (unsigned i = 0; i < m->nmetrics; i++)
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "id", (int)i, "name",
						     m->metrics[i]->fullname, "unit",
						     m->metrics[i]->unit ? m->metrics[i]->unit : ""));
	return json_pack("{s:I, s:o}", "generation", (json_int_t)ctx->generation, "metrics", arr);
}

/* Send @doc (and @fd with it, when >= 0) then the connection is closed by the caller. */
static void reply(int c, json_t *doc, int fd)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0, off = 0;
	char cbuf[CMSG_SPACE(sizeof(int))];

	if (!text)
		return;
	while (off < len) {
		struct iovec iov = { text + off, len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (fd >= 0 && off == 0) {
			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(c, &mh, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
}

void control_serve(int lfd, const struct control_ctx *ctx)
{
	struct timeval tv = { .tv_sec = 1 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char cmd[128];
	size_t got = 0;
	int c;

	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	/* Only our own user (or root) may look: the socket mode says so too. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0)) {
		lt_log(LOG_WARNING, "control: refused a client of uid %u", (unsigned)cred.uid);
		goto out;
	}
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(cmd) - 1) {
		ssize_t n = read(c, cmd + got, sizeof(cmd) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(cmd, '\n', got))
			break;
	}
	cmd[got] = '\0';
	cmd[strcspn(cmd, "\r\n")] = '\0';

	json_t *doc = NULL;
	int fd = -1;
	if (!strcmp(cmd, "status")) {
		doc = control_status_json(ctx);
	} else if (!strcmp(cmd, "metrics")) {
		doc = metrics_json(ctx);
	} else if (!strcmp(cmd, "ring")) {
		fd = lt_ring_dup_ro_fd(ctx->daemon->ring);
		doc = fd >= 0 ? json_pack("{s:I}", "generation", (json_int_t)ctx->generation)
			      : json_pack("{s:s}", "error", strerror(-fd));
	} else {
		doc = json_pack("{s:s+}", "error", "unknown command: ", cmd);
	}
	if (doc)
		reply(c, doc, fd);
	json_decref(doc);
	if (fd >= 0)
		close(fd);
out:
	close(c);
}
