/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotactl: talk to a running liotad over its control socket.
 *   status  devices, metrics, ring lanes and DCCs (or the raw JSON)
 *   tail    live samples, read from the daemon's ring mapped read-only
 *   list    the loaded packages (or the raw JSON)
 *   load, unload, reload
 *           change the loaded packages of the running daemon
 */
#include "indent.h"
#include "ring.h"
#include "rundir.h"
#include "status_doc.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"Usage: liotactl [OPTION]... COMMAND [ARG]...\n"
	"Query a running liotad.\n"
	"\n"
	"Commands:\n"
	"  status [--json]         devices (state: running, opening, failed, stopped;\n"
	"                          condition, e.g. 'stuck in read for N s' when a\n"
	"                          driver call lasts past max(2 x interval, 2 s); p99\n"
	"                          lateness of their reads) and their metrics\n"
	"                          (samples, errors, skipped ticks, last value),\n"
	"                          their properties (as registered with the DCCs),\n"
	"                          ring lanes (fill, written, dropped) and DCCs (state,\n"
	"                          samples in, sent, dropped, pending, queued bytes,\n"
	"                          reconnects, errors, lines re-sent after a connection\n"
	"                          ended; durable spools: samples, batches, bytes,\n"
	"                          oldest age, evicted, recovered at start); totals\n"
	"                          count each sample once per DCC of its metric (a\n"
	"                          delivery): deliveries = published + dropped +\n"
	"                          pending, and per DCC in = sent + dropped + pending;\n"
	"                          with spools, + recovered on the left and + spooled\n"
	"                          on the right (exact once stopped; a live reading may\n"
	"                          be off by the samples moving while it is read)\n"
	"  tail [PATTERN]...       print live samples of the metrics whose DEVICE.METRIC\n"
	"                          name matches a shell PATTERN (all when none), read\n"
	"                          from the daemon's ring mapped read-only\n"
	"      -n, --count=N       stop after N samples\n"
	"      -t, --timeout=SEC   stop after SEC seconds (may be fractional)\n"
	"      --raw               print 'TIMESTAMP_NS NAME VALUE' with exact values\n"
	"  list [--json]           the loaded packages: name, version, SHA-256, the\n"
	"                          packages they depend on, the drivers they provide,\n"
	"                          and what uses them (packages, devices, DCCs)\n"
	"  load NAME[@SHA256]      load package NAME (NAME.so of [daemon] package_dir)\n"
	"                          and what it depends on; with SHA256 (64 hex\n"
	"                          digits) only a file of that SHA-256. The\n"
	"                          configuration is then applied again: the devices\n"
	"                          and DCCs of its drivers start\n"
	"  unload NAME             stop the devices and DCCs of the drivers of NAME\n"
	"                          and of the packages that depend on it (the rest\n"
	"                          runs on), then unload them. They stay unloaded\n"
	"                          across reloads (SIGHUP) until 'liotactl load'\n"
	"  reload NAME             unload NAME, then load it again from its file as\n"
	"                          it is now (a new build), with its dependents\n"
	"\n"
	"Options:\n"
	"  -r, --runtime-dir=DIR   folder of the daemon's socket (default: as liotad's)\n"
	"  -s, --socket=PATH       the socket itself\n"
	"  -h, --help              show this help and exit\n"
	"\n"
	"liotactl talks only to a daemon of its own user or root (and, run by root,\n"
	"to the system's daemon: one whose user owns the socket's folder in a folder\n"
	"of root's that nobody else can write, as /run/liotad of the service); the\n"
	"daemon answers only its own user and root.\n"
	"\n"
	"load, unload and reload need the daemon's own user or root, as every\n"
	"command does.\n"
	"\n"
	"Exit status: 0 on success, 1 when the daemon cannot be reached, refuses\n"
	"(a package command that fails: the reason is printed), or is not\n"
	"trusted; 2 for a usage error.\n";

static char sock_path[PATH_MAX];
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Answers are small JSON documents; a bigger one is refused, not buffered. */
#define ANSWER_MAX (64u << 20)
/* Room for more descriptors than liotad sends, so that extra ones arrive and are closed. */
#define FDS_MAX 8

/*
 * Root may also talk to a daemon of a dedicated user (the packaged service
 * runs as liotad in /run/liotad): when @uid owns the socket's folder, a real
 * folder nobody else can write, inside a folder of root's that nobody else
 * can write either. Only root or a service manager can have given @uid that
 * folder, so it is the system's daemon, not another user's plant (a folder
 * of /tmp, which everybody can write, never qualifies).
 */
static bool system_daemon(uid_t uid)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", sock_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return false;
	*slash = '\0';
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022))
		return false;
	slash = strrchr(dir, '/');
	if (!slash)
		return false;
	if (slash == dir)
		slash++; /* the folder is in / itself */
	*slash = '\0';
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022);
}

/* Is the daemon at the other end of @s our own user, root, or (for root) the system's? */
static bool peer_trusted(int s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		fprintf(stderr, "liotactl: %s: cannot tell who serves it: %s\n", sock_path,
			strerror(errno));
		return false;
	}
	if (cred.uid != geteuid() && cred.uid != 0 &&
	    !(geteuid() == 0 && system_daemon(cred.uid))) {
		fprintf(stderr,
			"liotactl: %s is served by uid %u (pid %d), neither you nor root: "
			"not trusting it\n",
			sock_path, (unsigned)cred.uid, (int)cred.pid);
		return false;
	}
	return true;
}

/*
 * Keep the first descriptor of @mh in *@fd when one is wanted (@fd not
 * NULL) and none was kept yet; close every other one. Returns how many
 * arrived in all.
 */
static unsigned take_fds(struct msghdr *mh, int *fd)
{
	unsigned n = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, n++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return n;
}

/*
 * Send @cmd; return the answer's text, NUL-terminated, its length in *@lenp
 * (and a passed fd in *fd when asked). NULL: said why on stderr.
 */
static char *request_text(const char *cmd, int *fd, size_t *lenp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	size_t len = 0, cap = 65536;
	unsigned nfds = 0;
	bool truncated = false;
	char *buf = NULL, *bigger, *text = NULL;
	int s, keep = -1;

	if (fd)
		*fd = -1;
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "liotactl: socket path too long: %s\n", sock_path);
		return NULL;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "liotactl: cannot reach liotad at %s: %s\n", sock_path,
			strerror(errno));
		goto out;
	}
	/* Nothing is sent to, or taken from, a socket another user serves. */
	if (!peer_trusted(s))
		goto out;
	if (dprintf(s, "%s\n", cmd) < 0)
		goto out;
	buf = malloc(cap);
	if (!buf) {
		fprintf(stderr, "liotactl: out of memory\n");
		goto out;
	}
	for (;;) {
		struct iovec iov = { buf + len, cap - len - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		nfds += take_fds(&mh, fd ? &keep : NULL);
		if (mh.msg_flags & MSG_CTRUNC)
			truncated = true;
		len += (size_t)n;
		if (len + 1 == cap) {
			if (cap >= ANSWER_MAX) {
				fprintf(stderr, "liotactl: answer from liotad larger than %u MiB\n",
					ANSWER_MAX >> 20);
				goto out;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				fprintf(stderr, "liotactl: out of memory\n");
				goto out;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	/* liotad sends one descriptor with "ring" and none otherwise. */
	if (truncated || nfds > (fd ? 1u : 0u)) {
		fprintf(stderr, "liotactl: %s: refusing an answer with %s%u file descriptor%s\n",
			sock_path, truncated ? "more than " : "", nfds, nfds == 1 ? "" : "s");
		goto out;
	}
	buf[len] = '\0';
	*lenp = len;
	text = buf;
	buf = NULL;
	if (fd) {
		*fd = keep;
		keep = -1;
	}
out:
	if (keep >= 0)
		close(keep);
	free(buf);
	if (s >= 0)
		close(s);
	return text;
}

/* An answer that is {"error": ...}: say it. */
static bool said_error(json_t *doc)
{
	if (!json_object_get(doc, "error"))
		return false;
	fprintf(stderr, "liotactl: liotad says: %s\n",
		json_string_value(json_object_get(doc, "error")));
	return true;
}

/* Send @cmd; return the JSON answer (and a passed fd in *fd when asked). */
static json_t *request(const char *cmd, int *fd)
{
	size_t len;
	char *text = request_text(cmd, fd, &len);
	json_error_t je;
	json_t *doc;

	if (!text)
		return NULL;
	doc = json_loadb(text, len, 0, &je);
	free(text);
	if (!doc)
		fprintf(stderr, "liotactl: bad answer from liotad: %s\n", je.text);
	if (doc && said_error(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	if (!doc && fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return doc;
}

/*
 * status --json: liotad's text indented as jansson would print it, without
 * the parse a 10,000-metric status made cost 100 ms (indent.h). An error
 * answer is a small object, parsed to say it.
 */
static int status_json(void)
{
	size_t len, i = 0;
	char *text = request_text("status", NULL, &len);
	int rc = 1;

	if (!text)
		return 1;
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	if (!strncmp(text + i, "{\"error\"", 8)) {
		json_t *doc = json_loadb(text, len, 0, NULL);

		if (doc && said_error(doc)) {
			json_decref(doc);
			free(text);
			return 1;
		}
		json_decref(doc);
	}
	if (json_indent(text, len, stdout)) {
		putchar('\n');
		rc = 0;
	} else {
		fprintf(stderr, "liotactl: bad answer from liotad: not one whole JSON document\n");
	}
	free(text);
	return rc;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void fmt_interval(char *b, size_t n, double s)
{
	if (s == 0)
		snprintf(b, n, "event");
	else if (s < 1)
		snprintf(b, n, "%gms", s * 1e3);
	else
		snprintf(b, n, "%gs", s);
}

/* What the metrics' filters passed and dropped, by stage: only metrics that have filters. */
static void status_filters(const struct status_doc *d)
{
	bool hdr = false;

	for (size_t i = 0; i < d->ndevs; i++) {
		const struct status_device *v = &d->devs[i];

		for (size_t j = 0; j < v->n; j++) {
			const struct status_metric *m = &d->metrics[v->first + j];
			const long long *f = m->filter;

			if (!m->has_filter)
				continue;
			if (!hdr)
				printf("\n%-20s %-20s %-18s %10s %10s %8s %8s %8s %8s\n", "DEVICE",
				       "METRIC", "FILTER", "PASSED", "DROPPED", "WINDOW", "RANGE",
				       "DEADBAND", "MIN_GAP");
			hdr = true;
			printf("%-20s %-20s %-18s %10lld %10lld %8lld %8lld %8lld %8lld\n",
			       str(v->obj, "name"), m->name, m->filter_kind ? m->filter_kind : "-",
			       f[SD_PASSED], f[SD_DROPPED], f[SD_WINDOW_SENT], f[SD_DROPPED_RANGE],
			       f[SD_DROPPED_DEADBAND], f[SD_DROPPED_MIN_GAP]);
		}
	}
	if (hdr)
		printf("%lld samples kept back by filters in all (no delivery)\n",
		       num(json_object_get(d->top, "totals"), "filtered"));
}

/*
 * The reply read without a tree of its metrics (status_doc.h): NULL when it
 * is not JSON or is an error (said on stderr).
 */
static json_t *status_read(struct status_doc *d)
{
	size_t len;
	char *text = request_text("status", NULL, &len);

	if (!text)
		return NULL;
	if (status_doc_read(d, text, len) < 0) {
		fprintf(stderr, "liotactl: bad answer from liotad: not one whole JSON document\n");
		return NULL;
	}
	if (said_error(d->top)) {
		status_doc_free(d);
		return NULL;
	}
	return d->top;
}

static int cmd_status(bool as_json)
{
	if (as_json)
		return status_json();

	struct status_doc d;
	json_t *st = status_read(&d), *v;
	size_t i;

	if (!st)
		return 1;
	json_t *edge = json_object_get(st, "edge"), *tot = json_object_get(st, "totals");
	printf("edge %s (%s), pid %lld, up %.1f s, %lld reloads\n", str(edge, "name"),
	       str(edge, "id"), num(st, "pid"), json_real_value(json_object_get(st, "uptime_s")),
	       num(st, "reloads"));
	printf("totals: %lld samples taken, %lld read errors; %lld deliveries: %lld published, "
	       "%lld dropped, %lld pending\n\n",
	       num(tot, "taken"), num(tot, "errors"), num(tot, "deliveries"), num(tot, "published"),
	       num(tot, "dropped"), num(tot, "pending"));

	printf("%-20s %-8s %-8s %-20s %-8s %9s %10s %7s %7s %9s %s\n", "DEVICE", "TYPE", "STATE",
	       "METRIC", "UNIT", "INTERVAL", "SAMPLES", "ERRORS", "LATE", "P99(us)", "LAST");
	for (i = 0; i < d.ndevs; i++) {
		v = d.devs[i].obj;
		for (size_t j = 0; j < d.devs[i].n; j++) {
			const struct status_metric *m = &d.metrics[d.devs[i].first + j];
			json_t *p = json_object_get(json_object_get(v, "lateness_us"), "p99");
			char iv[32], last[64] = "-", p99[32] = "";

			fmt_interval(iv, sizeof(iv), m->interval_s);
			if (m->has_last)
				snprintf(last, sizeof(last), "%.6g", m->last);
			/* How late the device's reads start after their deadlines (99 % of them).
			 */
			if (!j)
				snprintf(p99, sizeof(p99), "%s", "-");
			if (!j && json_is_number(p))
				snprintf(p99, sizeof(p99), "%.1f", json_number_value(p));
			printf("%-20s %-8s %-8s %-20s %-8s %9s %10lld %7lld %7lld %9s %s\n",
			       j ? "" : str(v, "name"), j ? "" : str(v, "type"),
			       j ? "" : str(v, "state"), m->name, m->unit, iv, m->samples,
			       m->errors, m->late, p99, last);
		}
	}
	status_filters(&d);
	/* Driver counters and conditions (CAN error frames, bus-off, ...). */
	bool hdr = false;
	for (i = 0; i < d.ndevs; i++) {
		v = d.devs[i].obj;
		json_t *ctrs = json_object_get(v, "counters"), *n;
		const char *cond = json_string_value(json_object_get(v, "condition")), *k;

		if (!json_object_size(ctrs) && !cond)
			continue;
		if (!hdr)
			printf("\n%-20s %-16s %s\n", "DEVICE", "CONDITION", "COUNTERS");
		hdr = true;
		printf("%-20s %-16s", str(v, "name"), cond ? cond : "-");
		json_object_foreach(ctrs, k, n)
			printf(" %s=%lld", k, (long long)json_integer_value(n));
		printf("\n");
	}
	/* What each device was registered with, those a DCC refused included. */
	hdr = false;
	for (i = 0; i < d.ndevs; i++) {
		v = d.devs[i].obj;
		json_t *pv;
		const char *k;
		bool first = true;

		json_object_foreach(json_object_get(v, "properties"), k, pv)
		{
			if (!hdr)
				printf("\n%-20s %-24s %s\n", "DEVICE", "PROPERTY", "VALUE");
			hdr = true;
			printf("%-20s %-24s %s\n", first ? str(v, "name") : "", k,
			       json_string_value(pv));
			first = false;
		}
	}
	json_t *ring = json_object_get(st, "ring");
	printf("\nRING (generation %lld, %lld consumer wake-ups, %lld pages of slow lanes given "
	       "back)\n%-5s %-20s %10s %10s %12s %10s\n",
	       num(ring, "generation"), num(ring, "wakeups"), num(ring, "pages_released"), "LANE",
	       "DEVICE", "FILL", "CAPACITY", "WRITTEN", "DROPPED");
	json_array_foreach(
		json_object_get(ring, "lanes"), i,
		v) if (*str(v,
			    "device")) /* spare lanes, for devices a reload adds, are not shown */
		printf("%-5lld %-20s %10lld %10lld %12lld %10lld\n", num(v, "lane"),
		       str(v, "device"), num(v, "fill"), num(v, "capacity"), num(v, "written"),
		       num(v, "dropped"));
	printf("\n%-20s %-10s %-10s %12s %12s %10s %10s %12s %10s %7s %8s\n", "DCC", "TYPE",
	       "STATE", "IN", "SENT", "DROPPED", "PENDING", "QUEUED(B)", "RECONNECTS", "ERRORS",
	       "RESENT");
	json_array_foreach(json_object_get(st, "dccs"), i, v)
		printf("%-20s %-10s %-10s %12lld %12lld %10lld %10lld %12lld %10lld %7lld %8lld\n",
		       str(v, "name"), str(v, "type"), str(v, "state"), num(v, "samples_in"),
		       num(v, "sent"), num(v, "dropped"), num(v, "pending"), num(v, "queued_bytes"),
		       num(v, "reconnects"), num(v, "errors"), num(v, "resent"));
	/* Durable spools, for the DCCs that have one. */
	bool spool_hdr = false;
	json_array_foreach(json_object_get(st, "dccs"), i, v)
	{
		json_t *sp = json_object_get(v, "spool"), *age;
		char oldest[32] = "-";

		if (!json_is_object(sp))
			continue;
		if (!spool_hdr)
			printf("\n%-20s %12s %10s %12s %10s %12s %12s %12s\n", "SPOOL", "SAMPLES",
			       "BATCHES", "BYTES", "OLDEST(s)", "EVICTED", "RECOVERED",
			       "WRITE_ERRORS");
		spool_hdr = true;
		age = json_object_get(sp, "oldest_age_s");
		if (json_is_number(age))
			snprintf(oldest, sizeof(oldest), "%.1f", json_number_value(age));
		printf("%-20s %12lld %10lld %12lld %10s %12lld %12lld %12lld\n", str(v, "name"),
		       num(sp, "samples"), num(sp, "batches"), num(sp, "bytes"), oldest,
		       num(sp, "evicted"), num(sp, "recovered"), num(sp, "write_errors"));
	}
	/* Where the DCCs that name their endpoints deliver now. */
	bool ep_hdr = false;
	json_array_foreach(json_object_get(st, "dccs"), i, v)
	{
		if (!json_is_string(json_object_get(v, "endpoint")))
			continue;
		if (!ep_hdr)
			printf("\n%-20s %-40s %10s\n", "DCC", "ENDPOINT", "FAILOVERS");
		ep_hdr = true;
		printf("%-20s %-40s %10lld\n", str(v, "name"), str(v, "endpoint"),
		       num(v, "failovers"));
	}
	status_doc_free(&d);
	return 0;
}

/* A JSON array of strings as "a,b", or "-" when empty. */
static void joined(json_t *arr, char *out, size_t len)
{
	size_t i, off = 0;
	json_t *v;

	snprintf(out, len, "-");
	json_array_foreach(arr, i, v)
	{
		if (off < len)
			off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "",
						json_string_value(v) ? json_string_value(v) : "");
	}
}

static int cmd_list(bool as_json)
{
	json_t *doc = request("list", NULL), *v;
	size_t i;

	if (!doc)
		return 1;
	if (as_json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
		return 0;
	}
	printf("%-16s %-10s %-64s %-16s %-24s %s\n", "PACKAGE", "VERSION", "SHA256", "DEPENDS",
	       "DRIVERS", "USED BY");
	json_array_foreach(json_object_get(doc, "packages"), i, v)
	{
		char deps[256], dev[256], dcc[256], drivers[560], devs[256], dccs[256];
		char used[640];

		joined(json_object_get(v, "depends"), deps, sizeof(deps));
		joined(json_object_get(v, "device_drivers"), dev, sizeof(dev));
		joined(json_object_get(v, "dcc_drivers"), dcc, sizeof(dcc));
		joined(json_object_get(v, "devices"), devs, sizeof(devs));
		joined(json_object_get(v, "dccs"), dccs, sizeof(dccs));
		snprintf(drivers, sizeof(drivers), "device:%s dcc:%s", dev, dcc);
		snprintf(used, sizeof(used), "%lld packages, devices:%s dccs:%s", num(v, "users"),
			 devs, dccs);
		printf("%-16s %-10s %-64s %-16s %-24s %s\n", str(v, "name"), str(v, "version"),
		       str(v, "sha256"), deps, drivers, used);
	}
	json_decref(doc);
	return 0;
}

/* load, unload, reload: one line saying what the daemon did. */
static int cmd_package(const char *cmd, char **args, int nargs)
{
	char line[256];
	json_t *doc;

	if (nargs != 1) {
		fprintf(stderr, "liotactl: %s takes one package name%s\nTry 'liotactl --help'.\n",
			cmd, strcmp(cmd, "load") ? "" : "[@SHA256]");
		return 2;
	}
	/* The daemon checks the name; a line break must not make it two commands. */
	if (strpbrk(args[0], "\r\n") ||
	    (size_t)snprintf(line, sizeof(line), "%s %s", cmd, args[0]) >= sizeof(line)) {
		fprintf(stderr, "liotactl: %s: '%s' is not a package name\n", cmd, args[0]);
		return 2;
	}
	doc = request(line, NULL);
	if (!doc)
		return 1;
	printf("%s\n", str(doc, "ok"));
	json_decref(doc);
	return 0;
}

struct tail_state {
	char **names; /* by metric id */
	char **units;
	bool *want;
	size_t n;            /* one more than the largest id */
	uint64_t generation; /* of the configuration the table describes */
};

static void tail_clear(struct tail_state *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->names[i]);
		free(t->units[i]);
	}
	free(t->names);
	free(t->units);
	free(t->want);
	memset(t, 0, sizeof(*t));
}

/* Ids are not dense after a reload (a kept metric keeps its id): this bounds the table. */
#define TAIL_IDS_MAX (1u << 20)

/*
 * The daemon's metric table. liotad streams it and cuts it short when the
 * configuration changes meanwhile (a reload, a device found): asked again,
 * a few times, before that is an error.
 */
static json_t *metric_table(void)
{
	json_error_t je = { .text = "" };

	for (int attempt = 0; attempt < 3; attempt++) {
		size_t len;
		char *text = request_text("metrics", NULL, &len);
		json_t *doc;

		if (!text)
			return NULL;
		doc = json_loadb(text, len, 0, &je);
		free(text);
		if (doc && said_error(doc)) {
			json_decref(doc);
			return NULL;
		}
		if (doc)
			return doc;
	}
	fprintf(stderr, "liotactl: bad answer from liotad: %s\n", je.text);
	return NULL;
}

/* Fetch the metric table (id -> name, unit, wanted) of the running configuration. */
static int tail_names(struct tail_state *t, char **pat, int npat)
{
	json_t *mt = metric_table(), *v;
	size_t i;

	if (!mt)
		return -1;
	tail_clear(t);
	json_t *arr = json_object_get(mt, "metrics");
	json_array_foreach(arr, i, v)
	{
		long long id = num(v, "id");

		if (id >= 0 && id < TAIL_IDS_MAX && (size_t)id >= t->n)
			t->n = (size_t)id + 1;
	}
	t->generation = (uint64_t)num(mt, "generation");
	t->names = calloc(t->n + 1, sizeof(char *));
	t->units = calloc(t->n + 1, sizeof(char *));
	t->want = calloc(t->n + 1, sizeof(bool));
	if (!t->names || !t->units || !t->want)
		goto err_nomem;
	json_array_foreach(arr, i, v)
	{
		long long lid = num(v, "id");
		size_t id = (size_t)lid;

		if (lid < 0 || id >= t->n || t->names[id])
			continue;
		t->names[id] = strdup(str(v, "name"));
		t->units[id] = strdup(str(v, "unit"));
		if (!t->names[id] || !t->units[id])
			goto err_nomem;
		t->want[id] = npat == 0;
		for (int k = 0; k < npat; k++)
			if (fnmatch(pat[k], t->names[id], 0) == 0)
				t->want[id] = true;
	}
	json_decref(mt);
	return 0;

err_nomem:
	json_decref(mt);
	fprintf(stderr, "liotactl: out of memory\n");
	return -1;
}

/* Fetch the metric table and the ring fd; attach the observer. */
static int tail_attach(struct tail_state *t, struct lt_ring_observer *o, char **pat, int npat)
{
	json_t *rg;
	int fd, r;

	if (tail_names(t, pat, npat) < 0)
		return -1;
	rg = request("ring", &fd);
	if (!rg)
		return -1;
	json_decref(rg);
	if (fd < 0) {
		fprintf(stderr, "liotactl: liotad sent no ring descriptor\n");
		return -1;
	}
	r = lt_ring_observer_open(fd, o);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "liotactl: cannot map the ring: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

static void print_sample(const struct tail_state *t, const struct lt_sample *s, bool raw)
{
	const char *name =
		s->metric_id < t->n && t->names[s->metric_id] ? t->names[s->metric_id] : "?";

	if (raw) {
		printf("%llu %s %.17g\n", (unsigned long long)s->ts_ns, name, s->value);
		return;
	}
	time_t sec = (time_t)(s->ts_ns / 1000000000ull);
	struct tm tm;
	char when[32];

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%06lluZ  %-30s %.10g %s%s\n", when,
	       (unsigned long long)(s->ts_ns % 1000000000ull) / 1000, name, s->value,
	       t->units[s->metric_id] ? t->units[s->metric_id] : "",
	       (s->flags & LT_SAMPLE_LATE) ? " (late)" : "");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_tail(long long count, double timeout, bool raw, char **pat, int npat)
{
	struct lt_ring_observer o = { 0 };
	struct tail_state t = { 0 };
	struct lt_sample buf[256];
	uint64_t missed = 0, reported = 0;
	long long printed = 0;
	double end = timeout > 0 ? now_s() + timeout : INFINITY;
	int status = 0;

	if (tail_attach(&t, &o, pat, npat) < 0) {
		tail_clear(&t);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!interrupted && (count <= 0 || printed < count) && now_s() < end) {
		long n;

		/* A live reload keeps the ring but may give new metrics new ids. */
		if (lt_ring_observer_generation(&o) != t.generation &&
		    tail_names(&t, pat, npat) < 0) {
			status = 1;
			break;
		}
		n = lt_ring_observe(&o, buf, 256, &missed);
		if (n == -ESTALE) {
			/* The daemon reloaded: follow the new ring. */
			lt_ring_observer_close(&o);
			if (tail_attach(&t, &o, pat, npat) < 0) {
				status = 1;
				break;
			}
			continue;
		}
		if (missed > reported) {
			fprintf(stderr, "liotactl: %llu samples went by too fast to show\n",
				(unsigned long long)(missed - reported));
			reported = missed;
		}
		for (long i = 0; i < n && (count <= 0 || printed < count); i++) {
			if (buf[i].metric_id >= t.n || !t.want[buf[i].metric_id])
				continue;
			print_sample(&t, &buf[i], raw);
			printed++;
		}
		if (n == 0) {
			/*
			 * A read-only observer cannot ask producers to wake it (it
			 * must not write to the ring): look again in 10 ms.
			 */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	lt_ring_observer_close(&o);
	tail_clear(&t);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "runtime-dir", required_argument, NULL, 'r' },
					    { "socket", required_argument, NULL, 's' },
					    { "count", required_argument, NULL, 'n' },
					    { "timeout", required_argument, NULL, 't' },
					    { "raw", no_argument, NULL, 'R' },
					    { "json", no_argument, NULL, 'j' },
					    { "help", no_argument, NULL, 'h' },
					    {} };
	char dir[PATH_MAX] = "";
	long long count = 0;
	double timeout = 0;
	bool raw = false, as_json = false;
	char *end;
	int c;

	/* "+" would stop at the command; options may follow it, so permute. */
	while ((c = getopt_long(argc, argv, "r:s:n:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 's':
			snprintf(sock_path, sizeof(sock_path), "%s", optarg);
			break;
		case 'n':
			count = strtoll(optarg, &end, 10);
			if (*end || count <= 0) {
				fprintf(stderr,
					"liotactl: --count: '%s' is not a positive number\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || !(timeout > 0)) {
				fprintf(stderr,
					"liotactl: --timeout: '%s' is not a positive number\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			raw = true;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'liotactl --help'.\n", stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (!sock_path[0]) {
		if (!dir[0])
			lt_default_rundir(dir, sizeof(dir));
		snprintf(sock_path, sizeof(sock_path), "%s/%s", dir, LT_SOCKET_NAME);
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	signal(SIGPIPE, SIG_IGN);

	const char *cmd = argv[optind++];
	if (!strcmp(cmd, "status")) {
		if (optind < argc) {
			fprintf(stderr, "liotactl: status takes no argument\n");
			return 2;
		}
		return cmd_status(as_json);
	}
	if (!strcmp(cmd, "tail"))
		return cmd_tail(count, timeout, raw, argv + optind, argc - optind);
	if (!strcmp(cmd, "list")) {
		if (optind < argc) {
			fprintf(stderr, "liotactl: list takes no argument\n");
			return 2;
		}
		return cmd_list(as_json);
	}
	if (!strcmp(cmd, "load") || !strcmp(cmd, "unload") || !strcmp(cmd, "reload"))
		return cmd_package(cmd, argv + optind, argc - optind);
	fprintf(stderr, "liotactl: unknown command '%s'\nTry 'liotactl --help'.\n", cmd);
	return 2;
}
