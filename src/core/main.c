/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotad: the main thread. Loads the configuration, starts the running
 * configuration (samplers, ring, publisher, DCCs), serves the control
 * socket and handles signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads.
 */
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "devdisc_run.h"
#include "discover.h"
#include "log.h"
#include "notify.h"
#include "pkg.h"
#include "pkgctl.h"
#include "rundir.h"
#include "sampler.h"
#include "trust.h"
#include "udev.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static const char usage[] =
	"Usage: liotad [OPTION]...\n"
	"Sample sensors on an IoT gateway and deliver the samples to data-center components.\n"
	"\n"
	"  -c, --config=FILE       configuration file; its conf.d/*.conf drop-ins are read too.\n"
	"                          Default: the first of ~/.config/liotad/liotad.conf,\n"
	"                          $LIOTAD_CONF, " SYSCONFDIR "/liotad/liotad.conf (never the\n"
	"                          current folder's). Files and conf.d must belong to root\n"
	"                          or liotad's user and not be writable by group or others\n"
	"  -t, --check-config      check the configuration, print every problem as\n"
	"                          FILE:LINE: reason, and exit (0 when valid)\n"
	"  -r, --runtime-dir=DIR   folder of the control socket (default: $LIOTAD_RUNTIME_DIR,\n"
	"                          $RUNTIME_DIRECTORY, /run/liotad as root,\n"
	"                          $XDG_RUNTIME_DIR/liotad, /tmp/liotad-UID); made mode 0700,\n"
	"                          or refused if it exists and is not liotad's user's own\n"
	"                          real folder that group and others cannot write\n"
	"  -l, --log-level=LEVEL   err, warning, notice, info (default) or debug;\n"
	"                          overrides [daemon] log_level\n"
	"  -R, --rt-priority=PRIO  run the sampler threads SCHED_FIFO at PRIO (1-99):\n"
	"                          samples stay on time when other programs load the\n"
	"                          CPUs; needs CAP_SYS_NICE (default: 0, SCHED_OTHER)\n"
	"  -S, --spin=USEC         wake USEC (up to 1000) before each sampling deadline\n"
	"                          and busy-wait to it: reads start within a few us of\n"
	"                          their deadlines when the machine's timer wake-up\n"
	"                          latency is below USEC, for up to USEC of CPU per\n"
	"                          tick (default: 0, sleep to the deadline)\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n"
	"\n"
	"Signals: SIGTERM or SIGINT stop (the ring is drained and the DCCs flushed),\n"
	"SIGHUP reloads the configuration (a broken one is reported and the running\n"
	"one is kept). Status: liotactl status. Exit status: 0 after a clean stop,\n"
	"1 for a configuration error, 2 for a usage error, 3 when starting failed.\n";

struct opts {
	const char *config;
	const char *rundir;
	int log_level;   /* -1: from the configuration */
	int rt_priority; /* SCHED_FIFO priority of the samplers, 0: none */
	int spin_us;     /* busy-wait before each deadline */
	bool check;
};

/* A whole number from 0 to @max for option @opt, or -1 after saying why. */
static int parse_int(const char *opt, const char *arg, long max, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || end == arg || v < 0 || v > max) {
		fprintf(stderr, "liotad: %s: '%s' is not a number from 0 to %ld\n", opt, arg, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = { { "config", required_argument, NULL, 'c' },
					    { "check-config", no_argument, NULL, 't' },
					    { "runtime-dir", required_argument, NULL, 'r' },
					    { "log-level", required_argument, NULL, 'l' },
					    { "rt-priority", required_argument, NULL, 'R' },
					    { "spin", required_argument, NULL, 'S' },
					    { "help", no_argument, NULL, 'h' },
					    { "version", no_argument, NULL, 'V' },
					    {} };
	int c;

	o->log_level = -1;
	while ((c = getopt_long(argc, argv, "c:tr:l:R:S:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->check = true;
			break;
		case 'r':
			o->rundir = optarg;
			break;
		case 'l':
			o->log_level = log_level_parse(optarg);
			if (o->log_level < 0) {
				fprintf(stderr, "liotad: --log-level: unknown level '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			if (parse_int("--rt-priority", optarg, 99, &o->rt_priority) < 0)
				return 2;
			break;
		case 'S':
			if (parse_int("--spin", optarg, 1000, &o->spin_us) < 0)
				return 2;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("liotad %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fputs("Try 'liotad --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "liotad: unexpected argument '%s'\nTry 'liotad --help'.\n",
			argv[optind]);
		return 2;
	}
	return 0;
}

/*
 * Build a model from the files as read, and report: every problem goes to
 * stderr (the log once running) as FILE:LINE: reason. The devices
 * discovered by udev (@disc) are made from their profiles. Reloading, the
 * first problem is also copied into @first (for liotactl's answer).
 */
static struct lt_model *build(const struct lt_conf *conf, bool reloading,
			      const struct lt_discovery *disc, char *first, size_t firstlen)
{
	struct lt_model *m = NULL;
	char *errors = NULL;

	if (config_build(conf, NULL, disc->inst, disc->ninst, &m, &errors) < 0) {
		if (reloading) {
			char *save, *line = strtok_r(errors, "\n", &save);

			snprintf(first, firstlen, "%s", line ? line : "");
			for (; line; line = strtok_r(NULL, "\n", &save))
				lt_log(LOG_ERR, "reload: %s", line);
		} else if (errors) {
			fputs(errors, stderr);
		}
		free(errors);
		return NULL;
	}
	return m;
}

static void summary(const struct lt_totals *t, uint64_t t0)
{
	char spool[128] = "";

	/* Only with durable spools: deliveries + recovered = published + dropped + spooled. */
	if (t->recovered || t->spooled)
		snprintf(spool, sizeof(spool), "; spools: %llu recovered at start, %llu kept",
			 (unsigned long long)t->recovered, (unsigned long long)t->spooled);
	/* Deliveries: one per sample and DCC of its metric (see struct lt_totals). */
	lt_log(LOG_NOTICE,
	       "stopped after %.1f s: %llu samples taken, %llu deliveries: %llu published, "
	       "%llu dropped, %llu pending%s",
	       (double)(lt_mono_ns() - t0) / 1e9, (unsigned long long)t->taken,
	       (unsigned long long)t->deliveries, (unsigned long long)t->published,
	       (unsigned long long)t->dropped, (unsigned long long)t->pending, spool);
}

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

/*
 * Give the pages of the loader's temporaries (raw sections, the replaced
 * model) back to the kernel: freed memory at the heap's top is returned by
 * free() itself, but a load frees from everywhere in the heap, and those
 * pages would otherwise stay in RSS for the daemon's life (a reload of a
 * 10,000-metric configuration: docs/benchmarks.md, section 12).
 */
static void heap_release(void)
{
	malloc_trim(0);
}

static void started_msg(const struct lt_model *m, const char *path)
{
	lt_log(LOG_INFO, "liotad %s running %s: edge %s (%s), %u device%s, %u metric%s, %u DCC%s",
	       PACKAGE_VERSION, path, m->edge.name, m->edge.id, m->ndevices, plural(m->ndevices),
	       m->nmetrics, plural(m->nmetrics), m->ndccs, plural(m->ndccs));
	sd_notifyf(0, "READY=1\nSTATUS=%u device%s, %u metric%s, %u DCC%s", m->ndevices,
		   plural(m->ndevices), m->nmetrics, plural(m->nmetrics), m->ndccs,
		   plural(m->ndccs));
}

/* The files read by a SIGHUP (@nc) run now: the next udev event builds from them. */
static void conf_take(struct lt_conf **conf, struct lt_conf *nc)
{
	if (!nc)
		return;
	config_free(*conf);
	*conf = nc;
}

/*
 * SIGHUP (@hup), a burst of udev events, or a liotactl package command
 * (package_apply()): the configuration with the devices discovered now is
 * applied to the running daemon as a difference (daemon_apply()): only what changed starts,
 * restarts or stops. An invalid one, or one with a DCC that cannot start, is reported and changes
 * nothing. Only a change of [daemon] or [edge], or more new devices than the ring has spare lanes,
 * restarts everything; if the new configuration then cannot start, the old one is started again.
 * @what names the change in the log ("reload", "udev", "unload square"...); when it is not taken,
 * @why says why.
 */
static bool reload(const char *path, struct lt_conf **conf, const struct lt_discovery *disc,
		   bool hup, const char *what, struct lt_model **model, struct daemon **d,
		   struct lt_totals *past, uint64_t *generation, char *why, size_t whylen)
{
	struct lt_conf *nc = NULL;
	struct lt_model *nm;
	struct daemon *nd;
	char err[512];
	uint64_t t0 = lt_mono_ns();
	int r;

	if (hup) {
		sd_notify(0, "RELOADING=1");
		lt_log(LOG_INFO, "reloading %s", path);
		/* Files as last read are not parsed again: building is what is left. */
		if (config_reuse(*conf, path))
			lt_log(LOG_DEBUG, "%s and its drop-ins are unchanged: not read again",
			       path);
		else
			config_read(path, &nc);
	}
	/* A udev event builds from the files as last read, whatever they hold now. */
	nm = build(nc ? nc : *conf, true, disc, err, sizeof(err));
	if (!nm) {
		lt_log(LOG_ERR, "%s: configuration invalid; keeping the running one", what);
		snprintf(why, whylen, "%s", err);
		config_free(nc);
		if (hup)
			sd_notify(0, "READY=1");
		return false;
	}
	r = daemon_apply(*d, nm, *generation + 1, err, sizeof(err));
	if (r == 0) {
		++*generation;
		model_free(*model);
		*model = nm;
		conf_take(conf, nc);
		heap_release();
		if (hup) {
			lt_log(LOG_INFO, "reloaded %s in %.1f ms: %s", path,
			       (double)(lt_mono_ns() - t0) / 1e6, err);
			started_msg(nm, path);
		} else {
			/* Not for a burst of a flapping device's changes: it was said once. */
			lt_log(disc->loud || strcmp(what, "udev") ? LOG_INFO : LOG_DEBUG,
			       "%s: applied in %.1f ms: %s", what,
			       (double)(lt_mono_ns() - t0) / 1e6, err);
		}
		return true;
	}
	if (r != -EAGAIN) {
		lt_log(LOG_ERR, "%s: %s; keeping the running configuration", what, err);
		snprintf(why, whylen, "%s", err);
		config_free(nc);
		model_free(nm);
		sd_notify(0, "READY=1");
		return false;
	}
	lt_log(LOG_NOTICE, "%s: %s: restarting everything", what, err);
	daemon_stop(*d, past);
	*d = NULL;
	if (daemon_start(nm, ++*generation, &nd, err, sizeof(err)) == 0) {
		model_free(*model);
		*model = nm;
		*d = nd;
		conf_take(conf, nc);
		started_msg(nm, path);
		return true;
	}
	lt_log(LOG_ERR, "%s: %s; restarting the previous configuration", what, err);
	snprintf(why, whylen, "%s", err);
	config_free(nc);
	model_free(nm);
	if (daemon_start(*model, ++*generation, d, err, sizeof(err)) < 0)
		lt_log(LOG_ERR, "cannot restart the previous configuration: %s", err);
	sd_notify(0, "READY=1");
	return false;
}

/* What liotactl load, unload and reload change: the running configuration, as a reload does. */
struct running {
	const char *path;
	struct lt_conf **conf;
	struct lt_discovery *disc;
	struct lt_model **model;
	struct daemon **d;
	struct lt_totals *past;
	uint64_t *generation;
	struct devdisc_run *dd;
};

/* The configuration as last read, with the held packages' sections left out, applied live. */
static int package_apply(void *arg, const char *why, char *err, size_t errlen)
{
	struct running *rs = arg;

	if (!reload(rs->path, rs->conf, rs->disc, false, why, rs->model, rs->d, rs->past,
		    rs->generation, err, errlen))
		return -ECANCELED;
	lt_discovery_applied(rs->disc, lt_mono_ns());
	/* Before liotactl unload frees transport-mqtt: discovery's client goes with it. */
	devdisc_sync(rs->dd, *rs->model);
	return 0;
}

static int package_cmd(void *arg, const struct control_req *req, char *msg, size_t msglen)
{
	const struct pkgctl p = { package_apply, arg };

	return pkgctl_run(&p, req, msg, msglen);
}

/* One device udev reported, or found at start: log what it means for the present set. */
static void on_udev(void *ctx, const struct lt_udev_dev *dev)
{
	struct lt_discover_notes nt;

	lt_discovery_event(ctx, dev, lt_mono_ns(), &nt);
	for (unsigned i = 0; i < nt.n; i++)
		lt_log(nt.prio[i], "udev: %s", nt.text[i]);
}

/*
 * Start discovery: the monitor first, so that what appears during the
 * enumeration comes as an event (taken once: the set is by sys path).
 * Without libudev's monitor the daemon runs on without discovery.
 */
static struct lt_udev *discovery_start(struct lt_discovery *disc)
{
	struct lt_udev *u = NULL;
	char err[256];
	bool running;
	int n;

	if (lt_udev_open(&u, &running, err, sizeof(err)) < 0) {
		lt_log(LOG_WARNING, "udev: %s: devices are not discovered", err);
		return NULL;
	}
	if (!running)
		lt_log(LOG_INFO, "udev: no udev daemon runs here: no device is tagged for liotad "
				 "and none will be discovered");
	n = lt_udev_enumerate(u, on_udev, disc);
	if (n < 0)
		lt_log(LOG_WARNING, "udev: cannot list the devices present: %s", strerror(-n));
	/* What is there now goes into the first model. */
	lt_discovery_applied(disc, lt_mono_ns());
	return u;
}

/*
 * List the devices present again and forget those gone meanwhile: events
 * were lost (the monitor's socket overflowed), or the operator asks for it
 * (SIGHUP). Nothing is forgotten when the listing fails.
 */
static void discovery_resync(struct lt_udev *u, struct lt_discovery *disc)
{
	struct lt_discover_notes nt;
	int n;

	if (!u)
		return;
	lt_discovery_resync_begin(disc);
	n = lt_udev_enumerate(u, on_udev, disc);
	if (n < 0) {
		lt_log(LOG_WARNING, "udev: cannot list the devices present: %s", strerror(-n));
		return;
	}
	while (lt_discovery_resync_end(disc, lt_mono_ns(), &nt) > 0)
		for (unsigned i = 0; i < nt.n; i++)
			lt_log(nt.prio[i], "udev: %s", nt.text[i]);
}

/*
 * The monitor's socket is readable, or failed (an overflow shows as an
 * error, which reading clears). Events were lost: list the devices again.
 * An error that stays would wake poll() at once for ever: discovery stops.
 */
static void discovery_read(struct lt_udev **u, struct lt_discovery *disc, short revents)
{
	/* Bounded per wake-up: a storm of events cannot starve the rest. */
	int n = lt_udev_receive(*u, 64, on_udev, disc);

	if (n == -ENOBUFS) {
		lt_log(LOG_WARNING, "udev: events were lost (the socket overflowed): "
				    "listing the devices present again");
		discovery_resync(*u, disc);
	} else if (n <= 0 && (revents & (POLLERR | POLLHUP | POLLNVAL))) {
		lt_log(LOG_ERR, "udev: the monitor failed (%s): devices are no longer discovered",
		       n < 0 ? strerror(-n) : "poll error");
		lt_udev_close(*u);
		*u = NULL;
	}
}

/* Milliseconds from @now to @due for poll(), rounded up; -1: never. */
static int ms_until(uint64_t due, uint64_t now)
{
	if (due == UINT64_MAX)
		return -1;
	return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

/* Lower the poll() @timeout (ms, -1: none) to @due_ms (-1: nothing due). */
static void sooner(int *timeout, int due_ms)
{
	if (due_ms >= 0 && (*timeout < 0 || due_ms < *timeout))
		*timeout = due_ms;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct lt_totals past = { 0 };
	struct lt_model *model;
	struct daemon *d = NULL;
	char rundir[PATH_MAX], sock[PATH_MAX + 32], err[512];
	char *found = NULL;
	const char *path;
	uint64_t generation = 1, t0 = lt_mono_ns();
	struct lt_notify notify;
	sigset_t mask;
	struct control *ctl = NULL;
	struct lt_discovery *disc;
	struct lt_udev *udev = NULL;
	struct lt_conf *conf = NULL;
	struct devdisc_run *dd;
	int r, sfd = -1, status = 0;

	log_init("liotad");
	r = parse_args(argc, argv, &o);
	if (r)
		return r;
	path = o.config;
	if (!path) {
		found = config_find(err, sizeof(err));
		if (!found) {
			fprintf(stderr, "liotad: %s\n", err);
			return 1;
		}
		path = found;
	}
	disc = xmalloc(sizeof(*disc));
	lt_discovery_init(disc);
	dd = xmalloc(sizeof(*dd));
	devdisc_run_init(dd, disc);
	if (!o.check)
		udev = discovery_start(disc);
	config_read(path, &conf);
	model = build(conf, false, disc, NULL, 0);
	/* The devices discovery messages announced before a restart are in the first model. */
	if (model && !o.check && devdisc_restore(dd, model) > 0) {
		model_free(model);
		model = build(conf, false, disc, NULL, 0);
		lt_discovery_applied(disc, lt_mono_ns());
	}
	if (!model) {
		fprintf(stderr, "liotad: %s: configuration invalid; not starting\n", path);
		config_free(conf);
		lt_udev_close(udev);
		lt_discovery_free(disc);
		free(disc);
		free(dd);
		free(found);
		return 1;
	}
	if (o.check) {
		printf("%s: configuration valid: %u device%s, %u metric%s, %u DCC%s", path,
		       model->ndevices, plural(model->ndevices), model->nmetrics,
		       plural(model->nmetrics), model->ndccs, plural(model->ndccs));
		/* Devices to come: an operator with profiles only must not read "0 devices" alone.
		 */
		if (model->nprofiles)
			printf(", %u profile%s", model->nprofiles, plural(model->nprofiles));
		putchar('\n');
		model_free(model);
		pkg_unload_all();
		config_free(conf);
		free(disc);
		free(dd);
		free(found);
		return 0;
	}
	log_set_level(o.log_level >= 0 ? o.log_level : model->daemon.log_level);

	if (o.rundir)
		snprintf(rundir, sizeof(rundir), "%s", o.rundir);
	else if (model->daemon.runtime_dir)
		snprintf(rundir, sizeof(rundir), "%s", model->daemon.runtime_dir);
	else
		lt_default_rundir(rundir, sizeof(rundir));
	/* Ours alone: whoever could write there could answer liotactl in our place. */
	r = lt_dir_open_trusted(rundir, 0700, LT_DIR_PRIVATE, err, sizeof(err));
	if (r < 0) {
		lt_log(LOG_ERR, "runtime folder %s", err);
		status = 3;
		goto out_model;
	}
	close(r);
	snprintf(sock, sizeof(sock), "%s/%s", rundir, LT_SOCKET_NAME);
	if (control_open(sock, &ctl, err, sizeof(err)) < 0) {
		lt_log(LOG_ERR, "%s", err);
		status = 3;
		goto out_model;
	}

	/* Signals arrive through signalfd; threads inherit the blocked mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sampler_signals_init();
	sampler_set_rt_priority(o.rt_priority);
	sampler_set_spin((uint64_t)o.spin_us * 1000);
	sigdelset(&mask, SIGUSR1);
	sigdelset(&mask, SIGPIPE);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (daemon_start(model, generation, &d, err, sizeof(err)) < 0) {
		lt_log(LOG_ERR, "%s", err);
		status = 3;
		goto out_sock;
	}
	heap_release();
	started_msg(model, path);
	notify_init(&notify);
	if (devdisc_sync(dd, model) < 0) {
		status = 3;
		goto out_stop;
	}

	uint64_t start_real = lt_real_ns();
	unsigned reloads = 0;
	struct running rs = { path, &conf, disc, &model, &d, &past, &generation, dd };

	for (bool run = true; run;) {
		/* The control socket is served here without blocking (control.h). */
		struct pollfd pf[4 + CONTROL_POLLFDS] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = udev ? lt_udev_fd(udev) : -1, .events = POLLIN },
			{ .fd = devdisc_fd(dd), .events = POLLIN }
		};
		int64_t mqtt_due = INT64_MAX;
		uint64_t now = lt_mono_ns();
		int timeout = notify_timeout_ms(&notify, now);

		devdisc_mqtt_poll(dd, &pf[3], &mqtt_due);
		sooner(&timeout, ms_until(lt_discovery_due(disc), now));
		sooner(&timeout, ms_until(devdisc_due(dd), now));
		sooner(&timeout,
		       ms_until(mqtt_due == INT64_MAX ? UINT64_MAX
						      : (uint64_t)(mqtt_due > 0 ? mqtt_due : 0),
				now));
		control_pollfds(ctl, pf + 4, &timeout);
		if (poll(pf, ARRAY_SIZE(pf), timeout) < 0 && errno != EINTR)
			break;
		notify_tick(&notify, d, generation, lt_mono_ns());
		if (d) {
			struct control_ctx ctx = { .daemon = d,
						   .past = &past,
						   .generation = generation,
						   .start_real_ns = start_real,
						   .reloads = reloads,
						   .package = package_cmd,
						   .package_arg = &rs };
			control_dispatch(ctl, pf + 4, &ctx);
			if (!d) { /* a package command restarted everything, and that failed */
				status = 3;
				break;
			}
		}
		if (pf[1].revents)
			discovery_read(&udev, disc, pf[1].revents);
		if (pf[2].revents)
			devdisc_read(dd, model);
		devdisc_mqtt_dispatch(dd, model, pf[3].revents);
		devdisc_tick(dd, lt_mono_ns());
		if (d && lt_discovery_due(disc) <= lt_mono_ns()) {
			/* Named for its source: a burst that messages changed is discovery's. */
			reload(path, &conf, disc, false, devdisc_unsaved(dd) ? "discovery" : "udev",
			       &model, &d, &past, &generation, err, sizeof(err));
			lt_discovery_applied(disc, lt_mono_ns());
			if (!d) {
				status = 3;
				break;
			}
			devdisc_sync(dd, model);
			devdisc_save(dd);
		}
		if (!(pf[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				/* Counts configurations taken, not attempts. */
				/* What is plugged is read again too (the files are). */
				discovery_resync(udev, disc);
				if (reload(path, &conf, disc, true, "reload", &model, &d, &past,
					   &generation, err, sizeof(err))) {
					reloads++;
					lt_discovery_applied(disc, lt_mono_ns());
				}
				if (!d) {
					status = 3;
					run = false;
				} else {
					devdisc_sync(dd, model);
				}
			} else {
				lt_log(LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
				run = false;
			}
		}
	}
out_stop:
	sd_notify(0, "STOPPING=1");
	devdisc_run_close(dd);
	daemon_stop(d, &past);
	summary(&past, t0);
out_sock:
	if (sfd >= 0)
		close(sfd);
	control_close(ctl);
	unlink(sock);
out_model:
	model_free(model);
	pkg_unload_all(); /* after the model: its drivers' free callbacks live in them */
	config_free(conf);
	lt_udev_close(udev);
	lt_discovery_free(disc);
	free(disc);
	free(dd);
	free(found);
	return status;
}
