/* SPDX-License-Identifier: BSD-2-Clause */
/* Device discovery by message in the main loop (devdisc_run.h). */
#include "devdisc_run.h"
#include "devdisc_state.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <liota/state.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

void devdisc_run_init(struct devdisc_run *r, struct lt_discovery *disc)
{
	memset(r, 0, sizeof(*r));
	r->disc = disc;
}

void devdisc_run_close(struct devdisc_run *r)
{
	lt_devdisc_pipe_close(r->pipe);
	r->pipe = NULL;
	devdisc_mqtt_close(r);
}

static int state_path(char *buf, size_t len)
{
	char err[512];
	int r = lt_state_path(LT_DEVDISC_STATE_FILE, buf, len, err, sizeof(err));

	if (r < 0)
		lt_log(LOG_ERR, "discovery: state file: %s", err);
	return r;
}

int devdisc_restore(struct devdisc_run *r, const struct lt_model *m)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	int n;

	/* Its folder is the model's [daemon] state_dir, before the daemon starts with it. */
	sdk_set_state_dir(m->daemon.state_dir);
	if (state_path(path, sizeof(path)) < 0)
		return 0;
	n = lt_devdisc_state_load(path, r->disc, lt_mono_ns(), err, sizeof(err));
	if (n < 0) {
		lt_log(LOG_ERR,
		       "discovery: %s: ignored; the devices discovered before are forgotten", err);
		return 0;
	}
	if (n > 0)
		lt_log(LOG_INFO, "discovery: %d device%s discovered before, from %s", n,
		       n == 1 ? "" : "s", path);
	r->saved = r->disc->msg_changes;
	return n;
}

/* The pipe as @m says. */
static int pipe_sync(struct devdisc_run *r, const struct lt_model *m)
{
	const char *want = m->discovery.pipe;
	char err[PATH_MAX + 256];

	if (r->pipe && want && strcmp(lt_devdisc_pipe_path(r->pipe), want) == 0)
		return 0;
	if (r->pipe)
		lt_log(LOG_INFO, "discovery: pipe %s closed", lt_devdisc_pipe_path(r->pipe));
	lt_devdisc_pipe_close(r->pipe);
	r->pipe = NULL;
	if (!want)
		return 0;
	if (lt_devdisc_pipe_open(want, &r->pipe, err, sizeof(err)) < 0) {
		lt_log(LOG_ERR, "discovery: pipe %s; devices are not discovered through it", err);
		return -1;
	}
	lt_log(LOG_INFO, "discovery: reading messages from pipe %s", want);
	return 0;
}

int devdisc_sync(struct devdisc_run *r, const struct lt_model *m)
{
	int a = pipe_sync(r, m), b = devdisc_mqtt_sync(r, m);

	return a < 0 || b < 0 ? -1 : 0;
}

int devdisc_fd(const struct devdisc_run *r)
{
	return r->pipe ? lt_devdisc_pipe_fd(r->pipe) : -1;
}

/* Log through @l: a flood of messages cannot flood the log. */
static void limited(struct lt_devdisc_limit *l, const char *what, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void limited(struct lt_devdisc_limit *l, const char *what, int prio, const char *fmt, ...)
{
	unsigned ended;
	char text[1024];
	va_list ap;

	if (!lt_devdisc_limit_take(l, lt_mono_ns(), &ended)) {
		return;
	}
	if (ended)
		lt_log(LOG_WARNING, "discovery: %u more %s not logged", ended, what);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	lt_log(prio, "discovery: %s", text);
}

void devdisc_take(struct devdisc_run *r, const char *from, const char *buf, size_t len,
		  bool too_long)
{
	const struct lt_discovery_conf *c = &r->model->discovery;
	const char *keys[LT_DEVICE_PROPERTIES_MAX], *values[LT_DEVICE_PROPERTIES_MAX];
	struct lt_devdisc_msg *m = &r->msg;
	struct lt_discover_notes nt;
	char why[512];
	/* The pipe's messages are named as before; another endpoint's say where they came from. */
	const char *pre = strcmp(from, "pipe") ? " (" : "", *post = *pre ? ")" : "";

	if (!*pre)
		from = "";
	if (too_long) {
		limited(&r->refusals, "refused messages", LOG_WARNING,
			"message refused: longer than %d bytes (dropped%s)%s%s%s",
			LT_DEVDISC_MSG_MAX, *pre ? "" : " up to its newline", pre, from, post);
		return;
	}
	if (lt_devdisc_parse(buf, len, c->types, c->ntypes, m, why, sizeof(why)) < 0) {
		limited(&r->refusals, "refused messages", LOG_WARNING, "message refused: %s%s%s%s",
			why, pre, from, post);
		return;
	}
	for (unsigned i = 0; i < m->nprops; i++) {
		keys[i] = m->keys[i];
		values[i] = m->values[i];
	}
	lt_discovery_message(r->disc, m->name, c->types[m->type].type, c->profiles[m->type],
			     m->nprops, keys, values, lt_mono_ns(), &nt);
	for (unsigned i = 0; i < nt.n; i++)
		limited(&r->notes, "discovery messages", nt.prio[i], "%s", nt.text[i]);
}

static void on_line(void *ctx, const char *line, size_t len, bool too_long)
{
	devdisc_take(ctx, "pipe", line, len, too_long);
}

void devdisc_read(struct devdisc_run *r, const struct lt_model *m)
{
	long n;

	r->model = m;
	if (!r->pipe)
		return;
	n = lt_devdisc_pipe_read(r->pipe, LT_DEVDISC_READ_MAX, on_line, r);
	if (n < 0) {
		/* A pipe we hold open read-write does not fail but by a bug: stop polling it. */
		lt_log(LOG_ERR, "discovery: pipe %s: %s: no longer read",
		       lt_devdisc_pipe_path(r->pipe), strerror((int)-n));
		devdisc_run_close(r);
	}
}

uint64_t devdisc_due(const struct devdisc_run *r)
{
	uint64_t a = lt_devdisc_limit_due(&r->refusals), b = lt_devdisc_limit_due(&r->notes);

	return a < b ? a : b;
}

void devdisc_tick(struct devdisc_run *r, uint64_t now_ns)
{
	unsigned n = lt_devdisc_limit_flush(&r->refusals, now_ns);

	if (n)
		lt_log(LOG_WARNING, "discovery: %u more refused messages not logged", n);
	n = lt_devdisc_limit_flush(&r->notes, now_ns);
	if (n)
		lt_log(LOG_WARNING, "discovery: %u more discovery messages not logged", n);
}

bool devdisc_unsaved(const struct devdisc_run *r)
{
	return r->disc->msg_changes != r->saved;
}

void devdisc_save(struct devdisc_run *r)
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	if (r->disc->msg_changes == r->saved)
		return;
	if (state_path(path, sizeof(path)) < 0)
		return;
	if (lt_devdisc_state_save(path, r->disc, err, sizeof(err)) < 0) {
		lt_log(LOG_ERR, "discovery: state file: %s; tried again at the next change", err);
		return;
	}
	r->saved = r->disc->msg_changes;
}
