/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpio: GPIO lines through the GPIO character device, with libgpiod 1.6
 * (the kernel's v1 uAPI).
 *
 * One device is one chip ("chip =", looked up as gpiod_chip_open_lookup()
 * does: number, label, name or path). Each metric reads one line ("line =",
 * an offset or a line name looked up at open) as one kind:
 *   value      the line's level at each interval (a polled read);
 *   edges      event-driven: each edge is one sample, 1 rising / 0 falling,
 *              stamped with the kernel's event time;
 *   count      edges over each interval window, emitted by a polled read;
 *   frequency  the same, divided by the window's measured length (edges/s).
 *
 * Metrics naming the same line share one request (v1 lets a line be
 * requested once): the request asks for the union of the edges its metrics
 * want and each metric filters, so active_low, bias and debounce are
 * settings of the line, and metrics of one line must agree on them.
 *
 * Event lines are watched through one epoll descriptor handed to the
 * sampler by poll(); dispatch() reads every pending event of every ready
 * line (non-blocking). Each event goes through lt_gpio_edge_feed():
 *   - "merged": on a both-edges line, two events of one type in a row mean
 *     the kernel merged or lost edges (v1 reads the level in a threaded
 *     handler and queues 16 events; losses of pairs stay unseen);
 *   - debounce, in software (v1 has none): an edge sooner than debounce
 *     after the last accepted one is dropped and counted. When the dropped
 *     ones leave the line in the other state than the last reported edge,
 *     that state is reported when the window closes (poll()'s timer), with
 *     the time of the event that made it, so reported edges alternate.
 *
 * Timestamping ("timestamping =" of an event metric): gpiolib's v1 events
 * are stamped in a threaded handler and queued 16 deep, so fast edges merge
 * or are lost unseen. liotad's kernel module (kmod/, gpiots.c) stamps them
 * in the hard-IRQ handler into a ring this driver maps, and its sequence
 * numbers count every lost edge ("lost"). "auto" (the default) uses it when
 * /dev/liota-gpiots opens and the line allows it: the module holds the
 * line, so a line also read as a value, or given a bias, stays on gpiolib;
 * "kernel" makes either a configuration error, and a missing module an open
 * error. The device's condition says which source its edges come from.
 *
 * Chip removal (gpio-sim made non-live, measured on Debian's 6.1): every
 * ioctl on the chip's or a line's descriptor then fails with ENODEV, so a
 * value read finds out at once; but nothing wakes a line's event
 * descriptor (it would say EPOLLHUP|EPOLLERR only when polled again). So a
 * device with event lines also asks the chip once a second from poll()'s
 * timer, and count and frequency reads ask before closing a window. When
 * it is gone the device says "chip gone" and returns -ENODEV: the sampler
 * closes it and opens it again every 5 s until the chip is back.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <liota/liota.h>
#include "core/intree.h"
#include "devices/devices.h"
#include "devices/gpiots.h"

#define NSEC_PER_SEC 1000000000ull
/* How often a device with event lines checks that its chip is still there. */
#define GPIO_CHECK_NS NSEC_PER_SEC
/* The kernel's v1 event queue holds 16 events: read them all at once. */
#define GPIO_EVENT_BATCH 16
/* Reads of one line per dispatch: a line gone wild cannot starve the others. */
#define GPIO_READS_MAX 64
/* Consumer labels and line names are 32 bytes in the v1 uAPI. */
#define GPIO_NAME_MAX 31
/*
 * The module's ring: 16 pages of 128 records (2048 edges, 68 KiB). The
 * reader is woken at a quarter of it, or 10 ms after an edge arrived in an
 * empty ring: a burst costs one wake-up per 512 edges, a lone edge waits
 * 10 ms at most.
 */
#define GPIO_KTS_PAGES      16
#define GPIO_KTS_WATERMARK  512
#define GPIO_KTS_TIMEOUT_MS 10

enum gpio_kind { GPIO_VALUE, GPIO_EDGES, GPIO_COUNT, GPIO_FREQUENCY };

static const struct lt_opt_name gpio_kinds[] = {
	{ "value", GPIO_VALUE },
	{ "edges", GPIO_EDGES },
	{ "count", GPIO_COUNT },
	{ "frequency", GPIO_FREQUENCY },
	{ NULL, 0 },
};

#define EDGE_RISING  1u
#define EDGE_FALLING 2u
#define EDGE_BOTH    (EDGE_RISING | EDGE_FALLING)
_Static_assert(EDGE_RISING == LIOTA_GPIOTS_EDGE_RISING && EDGE_FALLING == LIOTA_GPIOTS_EDGE_FALLING,
	       "the module's edge bits are the driver's");

enum gpio_ts { TS_AUTO, TS_KERNEL, TS_GPIOLIB };

static const struct lt_opt_name gpio_timestampings[] = {
	{ "auto", TS_AUTO },
	{ "kernel", TS_KERNEL },
	{ "gpiolib", TS_GPIOLIB },
	{ NULL, 0 },
};

static const struct lt_opt_name gpio_edges[] = {
	{ "rising", EDGE_RISING },
	{ "falling", EDGE_FALLING },
	{ "both", EDGE_BOTH },
	{ NULL, 0 },
};

enum gpio_bias { BIAS_AS_IS, BIAS_DISABLE, BIAS_PULL_UP, BIAS_PULL_DOWN };

static const char *const gpio_bias_names[] = {
	[BIAS_AS_IS] = "as-is",
	[BIAS_DISABLE] = "disable",
	[BIAS_PULL_UP] = "pull-up",
	[BIAS_PULL_DOWN] = "pull-down",
};

static const struct lt_opt_name gpio_biases[] = {
	{ "as-is", BIAS_AS_IS },
	{ "disable", BIAS_DISABLE },
	{ "pull-up", BIAS_PULL_UP },
	{ "pull-down", BIAS_PULL_DOWN },
	{ NULL, 0 },
};

static const int gpio_bias_flags[] = {
	[BIAS_AS_IS] = 0,
	[BIAS_DISABLE] = GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE,
	[BIAS_PULL_UP] = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP,
	[BIAS_PULL_DOWN] = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN,
};

/* A requested line, while the device is open. */
struct gpio_line {
	struct gpiod_line *line;
	unsigned offset;
	unsigned want; /* EDGE_* its metrics want; 0: levels only */
	bool active_low;
	enum gpio_bias bias;
	uint64_t debounce_ns;
	enum gpio_ts ts; /* its event metrics' timestamping */
	bool has_value;  /* a value metric reads it */
	bool kernel;     /* its edges come from the module's ring */
	int fd;          /* event descriptor, -1 for a levels-only or kernel line */
	struct lt_gpio_edges edges;
};

struct gpio_metric {
	char *line; /* as configured: an offset or a line name */
	enum gpio_kind kind;
	unsigned edge; /* EDGE_*; 0 until metric_check gives the kind's default */
	unsigned seen; /* the keys given (gpio_metric_opts) */
	enum gpio_ts ts;
	bool checked; /* metric_check passed: later metrics of its line compare with it */
	bool active_low;
	enum gpio_bias bias;
	uint64_t debounce_ns;
	/* sampler thread, while open */
	struct gpio_line *ln;
	struct lt_gpio_window win;
	bool failed; /* the last read failed (and was logged) */
};

struct gpio_dev {
	char *chip;
	char *consumer;
	/* declared by the first event metric; only the sampler thread updates them */
	uint64_t *n_edges, *n_debounced, *n_merged, *n_lost;
	/* sampler thread, while open */
	struct gpiod_chip *gc;
	struct gpio_line *lines;
	unsigned nlines;
	int epfd;
	struct lt_gpiots kts; /* the module's ring; kts.fd -1 when not open */
	struct gpio_line *kts_lines[LIOTA_GPIOTS_MAX_LINES]; /* by the module's line number */
	uint64_t kts_lost;                                   /* lt_gpiots_lost() already counted */
	bool kts_losing;     /* the last drain lost edges: the burst was logged */
	uint64_t next_check; /* CLOCK_MONOTONIC ns of the next presence check */
	bool seen;           /* the chip was there once: missing now means gone */
	bool gone;           /* found gone since open (and logged) */
};

static uint64_t gpio_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void gpio_bump(uint64_t *c)
{
	if (c)
		lt_count(c, 1);
}

/* ---- edge bookkeeping and windows (no chip needed: unit-tested) ----------- */

unsigned lt_gpio_edge_feed(struct lt_gpio_edges *e, bool rising, uint64_t ts_ns)
{
	unsigned type = rising ? EDGE_RISING : EDGE_FALLING, r = 0;

	/* The raw stream, before debounce: it is what tells of the kernel's losses. */
	if (e->both && e->last_type == type)
		r |= LT_GPIO_MERGED;
	e->last_type = type;
	e->last_raw_ns = ts_ns;
	if (e->accepted_any && ts_ns - e->last_ns < e->debounce_ns)
		return r;
	e->accepted_any = true;
	e->accepted_type = type;
	e->last_ns = ts_ns;
	return r | LT_GPIO_ACCEPT;
}

uint64_t lt_gpio_edge_settle_at(const struct lt_gpio_edges *e)
{
	/* Only a both-edges stream says which level the line is left at. */
	if (!e->both || !e->accepted_any || e->last_type == e->accepted_type)
		return UINT64_MAX;
	return e->last_ns + e->debounce_ns;
}

bool lt_gpio_edge_settle(struct lt_gpio_edges *e, uint64_t now_ns, bool *rising, uint64_t *ts_ns)
{
	uint64_t at = lt_gpio_edge_settle_at(e);

	if (at == UINT64_MAX || now_ns < at)
		return false;
	*rising = e->last_type == EDGE_RISING;
	*ts_ns = e->last_raw_ns;
	e->accepted_type = e->last_type;
	e->last_ns = e->last_raw_ns;
	return true;
}

int lt_gpio_window_take(struct lt_gpio_window *w, uint64_t now_ns, bool per_second, double *out)
{
	uint64_t len = now_ns - w->start_ns;

	/*
	 * The first read after open starts the first window: there is no
	 * window behind it to report. Edges counted before it (the sampler
	 * reads right after open) belong to the first window.
	 */
	if (!w->started || len == 0) {
		w->started = true;
		w->start_ns = now_ns;
		return -ENODATA;
	}
	*out = per_second ? (double)w->count * 1e9 / (double)len : (double)w->count;
	w->count = 0;
	w->start_ns = now_ns;
	return 0;
}

/* ---- options ---------------------------------------------------------------- */

static int gpio_device_init(struct lt_device *dev)
{
	struct gpio_dev *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->consumer = strdup("liotad");
	if (!g->consumer) {
		free(g);
		return -ENOMEM;
	}
	g->epfd = -1;
	g->kts.fd = -1;
	lt_device_set_priv(dev, g);
	return 0;
}

static const struct lt_opt gpio_dev_opts[] = {
	LT_OPT_STRING("chip", struct gpio_dev, chip, LT_OPT_NONEMPTY, 0,
		      "path, name, label or number of the chip"),
	LT_OPT_STRING("consumer", struct gpio_dev, consumer, LT_OPT_NONEMPTY, GPIO_NAME_MAX,
		      "consumer name the kernel shows for the lines"),
	LT_OPT_END(),
};

static int gpio_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			      size_t errlen)
{
	return lt_opts_set(gpio_dev_opts, lt_device_priv(dev), key, value, err, errlen);
}

static int gpio_metric_init(struct lt_metric *m)
{
	struct gpio_metric *gm = calloc(1, sizeof(*gm));

	if (!gm)
		return -ENOMEM;
	gm->kind = GPIO_VALUE;
	gm->bias = BIAS_AS_IS;
	lt_metric_set_priv(m, gm);
	return 0;
}

/* "7" is line offset 7; anything else is a line name. */
static bool gpio_is_offset(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* line: an offset (0..65535) or a line name of at most GPIO_NAME_MAX characters. */
static int set_line(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t u;
	int r;

	if (!*value) {
		snprintf(err, errlen, "%s must not be empty", key);
		return -EINVAL;
	}
	if (gpio_is_offset(value)) {
		r = lt_parse_uint(value, 0, 65535, &u, err, errlen);
		if (r < 0)
			return r;
	} else if (strlen(value) > GPIO_NAME_MAX) {
		snprintf(err, errlen, "%s: '%s' is too long (at most %d characters)", key, value,
			 GPIO_NAME_MAX);
		return -EINVAL;
	}
	return lt_opts_strdup(field, value, err, errlen);
}

static const struct lt_opt gpio_metric_opts[] = {
	LT_OPT_FUNC("line", struct gpio_metric, line, 0, set_line, "offset or line name"),
	LT_OPT_ENUM("kind", struct gpio_metric, kind, LT_OPT_UNKNOWN_FORM, gpio_kinds,
		    "what is sampled"),
	LT_OPT_ENUM("edge", struct gpio_metric, edge, LT_OPT_UNKNOWN_FORM, gpio_edges,
		    "edges counted"),
	LT_OPT_ENUM("bias", struct gpio_metric, bias, LT_OPT_UNKNOWN_FORM, gpio_biases,
		    "pull-up, pull-down..."),
	LT_OPT_BOOL("active_low", struct gpio_metric, active_low, 0, "invert the level"),
	LT_OPT_ENUM("timestamping", struct gpio_metric, ts, LT_OPT_UNKNOWN_FORM, gpio_timestampings,
		    "who stamps the edges"),
	LT_OPT_DURATION("debounce", struct gpio_metric, debounce_ns, 0, 0, UINT64_MAX,
			"edges closer than this are one"),
	LT_OPT_END_SEEN(struct gpio_metric, seen),
};

static int gpio_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			      size_t errlen)
{
	return lt_opts_set(gpio_metric_opts, lt_metric_priv(m), key, value, err, errlen);
}

/* Whether @key was given in @gm's section. */
static bool gpio_given(const struct gpio_metric *gm, const char *key)
{
	return lt_opts_given(gpio_metric_opts, gm, key) == 1;
}

/* The first line setting two metrics of one line disagree on, or NULL. */
static const char *gpio_conflict(const struct gpio_metric *a, const struct gpio_metric *b)
{
	if (a->active_low != b->active_low)
		return "active_low";
	if (a->bias != b->bias)
		return "bias";
	/* A value metric ignores debounce and timestamping. */
	if (a->kind != GPIO_VALUE && b->kind != GPIO_VALUE && a->debounce_ns != b->debounce_ns)
		return "debounce";
	if (a->kind != GPIO_VALUE && b->kind != GPIO_VALUE && a->ts != b->ts)
		return "timestamping";
	return NULL;
}

/* @a and @b read one line: the module cannot time-stamp it if one is a value. */
static bool gpio_kernel_vs_value(const struct gpio_metric *a, const struct gpio_metric *b)
{
	const struct gpio_metric *v = a->kind == GPIO_VALUE ? a : b, *e = v == a ? b : a;

	return v->kind == GPIO_VALUE && e->kind != GPIO_VALUE && e->ts == TS_KERNEL;
}

static void gpio_kernel_vs_value_msg(char *err, size_t errlen, const struct lt_metric *other,
				     const char *what)
{
	snprintf(err, errlen,
		 "timestamping = kernel: %s is also read by %s, and the kernel module holds the "
		 "lines it time-stamps: a value metric of that line needs timestamping = gpiolib",
		 what, lt_metric_fullname(other));
}

static void gpio_conflict_msg(char *err, size_t errlen, const char *key,
			      const struct lt_metric *other, const char *what)
{
	snprintf(err, errlen,
		 "%s is also read by %s with another %s: the metrics of one line share its "
		 "active_low, bias, debounce and timestamping",
		 what, lt_metric_fullname(other), key);
}

static int gpio_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct gpio_metric *gm = lt_metric_priv(m);
	struct lt_device *dev = lt_metric_device(m);
	struct gpio_dev *g = lt_device_priv(dev);

	if (!g->chip) {
		snprintf(err, errlen,
			 "chip is required in [device \"%s\"] (a path, name, label or number, "
			 "e.g. gpiochip0)",
			 lt_device_name(dev));
		return -EINVAL;
	}
	if (!gm->line) {
		snprintf(err, errlen, "line is required (an offset or a line name)");
		return -EINVAL;
	}
	if (gm->kind == GPIO_VALUE) {
		static const char *const event_keys[] = { "edge", "debounce", "timestamping" };

		for (size_t i = 0; i < 3; i++) {
			if (gpio_given(gm, event_keys[i])) {
				snprintf(
					err, errlen,
					"%s applies to kinds edges, count and frequency, not value",
					event_keys[i]);
				return -EINVAL;
			}
		}
	}
	if (gm->ts == TS_KERNEL && gm->bias != BIAS_AS_IS) {
		snprintf(err, errlen,
			 "bias: timestamping = kernel cannot set a bias (the kernel module takes "
			 "the line as it is); use bias = as-is or timestamping = gpiolib");
		return -EINVAL;
	}
	if (gm->kind == GPIO_EDGES && lt_metric_interval_ns(m)) {
		snprintf(err, errlen,
			 "interval: kind edges has no interval (each edge is one sample); "
			 "use kind count or frequency for edges per interval");
		return -EINVAL;
	}
	if (!gpio_given(gm, "edge"))
		gm->edge = gm->kind == GPIO_EDGES ? EDGE_BOTH : EDGE_RISING;

	/* Early word on metrics naming a line alike; aliases (name and offset) are found at open.
	 */
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct lt_metric *o = lt_device_metric(dev, i);
		struct gpio_metric *go = lt_metric_priv(o);
		const char *key;
		char what[64];

		if (o == m || !go || !go->checked || strcmp(go->line, gm->line) != 0)
			continue;
		key = gpio_conflict(gm, go);
		snprintf(what, sizeof(what), "line \"%s\"", gm->line);
		if (key) {
			gpio_conflict_msg(err, errlen, key, o, what);
			return -EINVAL;
		}
		if (gpio_kernel_vs_value(gm, go)) {
			gpio_kernel_vs_value_msg(err, errlen, o, what);
			return -EINVAL;
		}
	}

	gm->checked = true;
	if (gm->kind == GPIO_EDGES)
		lt_metric_set_event_driven(m);
	if (gm->kind != GPIO_VALUE && !g->n_edges) {
		g->n_edges = lt_device_counter(dev, "edges");
		g->n_debounced = lt_device_counter(dev, "debounced");
		g->n_merged = lt_device_counter(dev, "merged");
		g->n_lost = lt_device_counter(dev, "lost");
	}
	return 0;
}

/* ---- open and close ------------------------------------------------------------ */

/* Append @s to @buf (", "-separated); "..." once it no longer fits. */
static void gpio_list_append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n >= 3 && strcmp(buf + n - 3, "...") == 0)
		return;
	if (n + strlen(s) + 2 + 5 >= len) {
		snprintf(buf + n, len - n, "%s...", n ? ", " : "");
		return;
	}
	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

/* Why the chip cannot be opened, with the chips there are when it does not exist. */
static int gpio_chip_error(const struct gpio_dev *g, int e, char *err, size_t errlen)
{
	struct gpiod_chip_iter *iter;
	struct gpiod_chip *c;
	char chips[160] = "", one[80];

	if (e == ENOTTY) {
		snprintf(err, errlen, "chip: \"%s\" is not a GPIO chip", g->chip);
		return -ENODEV;
	}
	if (e != ENOENT && e != ENODEV) {
		snprintf(err, errlen, "chip: cannot open \"%s\": %s", g->chip, strerror(e));
		return -e;
	}
	iter = gpiod_chip_iter_new();
	if (iter) {
		gpiod_foreach_chip(iter, c)
		{
			snprintf(one, sizeof(one), "%s [%s]", gpiod_chip_name(c),
				 gpiod_chip_label(c));
			gpio_list_append(chips, sizeof(chips), one);
		}
		gpiod_chip_iter_free(iter);
	}
	snprintf(err, errlen, "chip: no GPIO chip \"%s\" (%s%s)", g->chip,
		 iter ? (*chips ? "chips: " : "no GPIO chips at all") : "cannot list the chips",
		 chips);
	return -ENODEV;
}

/* The named lines of the chip, for "no line named X". */
static void gpio_line_names(struct gpiod_chip *gc, char *buf, size_t len)
{
	unsigned n = gpiod_chip_num_lines(gc);

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		struct gpiod_line *l = gpiod_chip_get_line(gc, i);
		const char *name = l ? gpiod_line_name(l) : NULL;

		if (name)
			gpio_list_append(buf, len, name);
	}
}

/* Find @m's line on the chip and attach the metric to it (shared with earlier metrics). */
static int gpio_bind(struct lt_device *dev, struct gpio_dev *g, struct lt_metric *m, char *err,
		     size_t errlen)
{
	struct gpio_metric *gm = lt_metric_priv(m);
	const char *chip = gpiod_chip_name(g->gc);
	unsigned n = gpiod_chip_num_lines(g->gc), offset;
	struct gpiod_line *gl;
	struct gpio_line *ln = NULL;

	if (gpio_is_offset(gm->line)) {
		offset = (unsigned)strtoul(gm->line, NULL, 10);
		if (offset >= n) {
			snprintf(err, errlen, "%s: line: %s has %u lines (0-%u), no line %u",
				 lt_metric_fullname(m), chip, n, n ? n - 1 : 0, offset);
			return -ENOENT;
		}
		gl = gpiod_chip_get_line(g->gc, offset);
	} else {
		gl = gpiod_chip_find_line(g->gc, gm->line);
		if (!gl && errno == ENOENT) {
			char names[128];

			gpio_line_names(g->gc, names, sizeof(names));
			snprintf(err, errlen, "%s: line: no line named \"%s\" on %s (%s%s)",
				 lt_metric_fullname(m), gm->line, chip,
				 *names ? "lines: " : "its lines have no names", names);
			return -ENOENT;
		}
	}
	if (!gl) {
		int e = errno;

		snprintf(err, errlen, "%s: line %s of %s: %s", lt_metric_fullname(m), gm->line,
			 chip, strerror(e));
		return e == ENODEV ? -ENODEV : -EIO;
	}
	offset = gpiod_line_offset(gl);

	for (unsigned i = 0; i < g->nlines; i++)
		if (g->lines[i].offset == offset)
			ln = &g->lines[i];
	if (ln) {
		/* Shared: the metrics already on it must agree with this one. */
		for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
			struct lt_metric *o = lt_device_metric(dev, i);
			struct gpio_metric *go = lt_metric_priv(o);
			const char *key;

			if (o == m || go->ln != ln)
				continue;
			char what[128];

			key = gpio_conflict(gm, go);
			snprintf(what, sizeof(what), "%s: line %u of %s", lt_metric_fullname(m),
				 offset, chip);
			if (key) {
				gpio_conflict_msg(err, errlen, key, o, what);
				return -EINVAL;
			}
			if (gpio_kernel_vs_value(gm, go)) {
				gpio_kernel_vs_value_msg(err, errlen, o, what);
				return -EINVAL;
			}
		}
	} else {
		ln = &g->lines[g->nlines++];
		ln->line = gl;
		ln->offset = offset;
		ln->active_low = gm->active_low;
		ln->bias = gm->bias;
		ln->fd = -1;
	}
	if (gm->kind != GPIO_VALUE) {
		ln->want |= gm->edge;
		ln->debounce_ns = gm->debounce_ns;
		ln->ts = gm->ts;
	} else {
		ln->has_value = true;
	}
	gm->ln = ln;
	memset(&gm->win, 0, sizeof(gm->win));
	gm->failed = false;
	return 0;
}

static bool gpio_bias_refused(int e)
{
	/* 524 is the kernel's ENOTSUPP, which some drivers let out. */
	return e == EINVAL || e == EOPNOTSUPP || e == 524;
}

/* Request one line: as an input, or for the edges its metrics want. */
static int gpio_request(struct lt_device *dev, struct gpio_dev *g, struct gpio_line *ln, char *err,
			size_t errlen)
{
	struct gpiod_line_request_config rc = { .consumer = g->consumer };
	const char *chip = gpiod_chip_name(g->gc), *user;
	char name[48] = "";
	int e, fl;

	if (gpiod_line_name(ln->line))
		snprintf(name, sizeof(name), " (%s)", gpiod_line_name(ln->line));
	switch (ln->want) {
	case EDGE_RISING:
		rc.request_type = GPIOD_LINE_REQUEST_EVENT_RISING_EDGE;
		break;
	case EDGE_FALLING:
		rc.request_type = GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE;
		break;
	case EDGE_BOTH:
		rc.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
		break;
	default:
		rc.request_type = GPIOD_LINE_REQUEST_DIRECTION_INPUT;
		break;
	}
	rc.flags = gpio_bias_flags[ln->bias] |
		   (ln->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0);
	if (gpiod_line_request(ln->line, &rc, 0) < 0) {
		e = errno;
		if (ln->bias != BIAS_AS_IS && gpio_bias_refused(e)) {
			/* Was it the bias? The same request without it tells. */
			rc.flags &= ~gpio_bias_flags[ln->bias];
			if (gpiod_line_request(ln->line, &rc, 0) == 0) {
				gpiod_line_release(ln->line);
				snprintf(err, errlen,
					 "line %u%s of %s: bias %s refused by the kernel or the "
					 "chip (%s; bias needs Linux 5.5 and chip support)",
					 ln->offset, name, chip, gpio_bias_names[ln->bias],
					 strerror(e));
				return -EOPNOTSUPP;
			}
		}
		user = e == EBUSY && gpiod_line_update(ln->line) == 0
			       ? gpiod_line_consumer(ln->line)
			       : NULL;
		snprintf(err, errlen, "line %u%s of %s: cannot request it: %s%s%s%s", ln->offset,
			 name, chip, strerror(e), user ? " (used by \"" : "", user ? user : "",
			 user ? "\")" : "");
		return -e;
	}
	if (ln->want) {
		ln->fd = gpiod_line_event_get_fd(ln->line);
		fl = fcntl(ln->fd, F_GETFL);
		if (fl < 0 || fcntl(ln->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			e = errno;
			snprintf(err, errlen, "line %u of %s: %s", ln->offset, chip, strerror(e));
			return -e;
		}
		memset(&ln->edges, 0, sizeof(ln->edges));
		ln->edges.both = ln->want == EDGE_BOTH;
		ln->edges.debounce_ns = ln->debounce_ns;
	}
	return 0;
}

/* Whether the module may time-stamp @ln: it holds the line, as it is. */
static bool gpio_kernel_can(const struct gpio_line *ln)
{
	return ln->want && ln->ts != TS_GPIOLIB && !ln->has_value && ln->bias == BIAS_AS_IS;
}

/* The edges of the line on the wire: active_low swaps them. */
static unsigned gpio_physical_edges(const struct gpio_line *ln)
{
	if (!ln->active_low || ln->want == EDGE_BOTH)
		return ln->want;
	return ln->want == EDGE_RISING ? EDGE_FALLING : EDGE_RISING;
}

/* Attach @ln to the module's ring (open in g->kts). */
static int gpio_attach_kernel(struct gpio_dev *g, struct gpio_line *ln, char *err, size_t errlen)
{
	unsigned kline, level;
	int r;

	r = lt_gpiots_attach(&g->kts, gpiod_chip_label(g->gc), ln->offset, gpio_physical_edges(ln),
			     &kline, &level, err, errlen);
	if (r < 0)
		return r;
	g->kts_lines[kline] = ln;
	ln->kernel = true;
	ln->fd = -1;
	memset(&ln->edges, 0, sizeof(ln->edges));
	ln->edges.both = ln->want == EDGE_BOTH;
	ln->edges.debounce_ns = ln->debounce_ns;
	return 0;
}

/*
 * The module finds a chip by its label: how many chips carry ours (it
 * would attach the first one's line if several did). 0 when they cannot
 * be listed.
 */
static unsigned gpio_label_count(const char *label)
{
	struct gpiod_chip_iter *iter = gpiod_chip_iter_new();
	struct gpiod_chip *c;
	unsigned n = 0;

	if (!iter)
		return 0;
	gpiod_foreach_chip(iter, c)
	{
		if (strcmp(gpiod_chip_label(c), label) == 0)
			n++;
	}
	gpiod_chip_iter_free(iter);
	return n;
}

/*
 * Open the module's ring when a line may use it. A line that asks for
 * "kernel" makes a failure an error; "auto" lines fall back to gpiolib,
 * the reason in @why for the log.
 */
static int gpio_kernel_open(struct lt_device *dev, struct gpio_dev *g, char *why, size_t whylen,
			    char *err, size_t errlen)
{
	bool want = false, must = false;
	char e[160];
	unsigned n;
	int r;

	for (unsigned i = 0; i < g->nlines; i++) {
		struct gpio_line *ln = &g->lines[i];

		if (ln->ts == TS_KERNEL && ln->want && !gpio_kernel_can(ln)) {
			/* metric_check tells this at its line unless a name and an offset alias */
			snprintf(err, errlen,
				 "line %u: timestamping = kernel, but the line is also "
				 "read as a value or given a bias",
				 ln->offset);
			return -EINVAL;
		}
		want |= gpio_kernel_can(ln);
		must |= ln->want && ln->ts == TS_KERNEL;
	}
	if (!want)
		return 0;
	n = gpio_label_count(gpiod_chip_label(g->gc));
	if (n != 1) {
		snprintf(e, sizeof(e), "the module finds chips by label, and %s \"%s\"",
			 n ? "other chips are labelled" : "cannot list the chips labelled",
			 gpiod_chip_label(g->gc));
		r = -ENOTUNIQ;
		goto failed;
	}
	r = lt_gpiots_open(&g->kts, LIOTA_GPIOTS_DEVICE, GPIO_KTS_PAGES, GPIO_KTS_WATERMARK,
			   GPIO_KTS_TIMEOUT_MS, e, sizeof(e));
	if (r == 0)
		return 0;
failed:
	if (must) {
		snprintf(err, errlen, "timestamping = kernel: %s%s", e,
			 r == -ENOENT ? " (the liota_gpiots module is not loaded: modprobe "
					"liota_gpiots, from package liotad-dkms)"
				      : "");
		lt_device_set_condition(dev, r == -ENOENT     ? "no gpiots module"
					     : r == -ENOTUNIQ ? "chip label shared"
							      : "gpiots failed");
		return r;
	}
	snprintf(why, whylen, "%s", e);
	return 0;
}

/* The device's condition and one log line: where its edges come from. */
static void gpio_say_source(struct lt_device *dev, const struct gpio_dev *g, const char *why)
{
	unsigned nk = 0, ng = 0;

	for (unsigned i = 0; i < g->nlines; i++) {
		nk += g->lines[i].kernel;
		ng += g->lines[i].want && !g->lines[i].kernel;
	}
	if (nk && ng) {
		lt_device_set_condition(dev, "timestamps: kernel+gpiolib");
		lt_device_log(dev, LOG_INFO,
			      "edges of %u line(s) time-stamped by the kernel module liota_gpiots, "
			      "of %u by gpiolib%s%s%s",
			      nk, ng, *why ? " (" : "", why, *why ? ")" : "");
	} else if (nk) {
		lt_device_set_condition(dev, "timestamps: kernel");
		lt_device_log(dev, LOG_INFO,
			      "edges time-stamped by the kernel module liota_gpiots (%s)",
			      LIOTA_GPIOTS_DEVICE);
	} else if (ng) {
		lt_device_set_condition(dev, "timestamps: gpiolib");
		lt_device_log(dev, LOG_INFO, "edges time-stamped by gpiolib%s%s%s",
			      *why ? " (" : "", why, *why ? ")" : "");
	} else {
		lt_device_set_condition(dev, NULL);
	}
}

/* Close the chip, its lines and the epoll descriptor (not the metrics: see gpio_close). */
static void gpio_release(struct gpio_dev *g)
{
	if (g->epfd >= 0)
		close(g->epfd);
	g->epfd = -1;
	/* Detaches the module's lines. */
	lt_gpiots_close(&g->kts);
	memset(g->kts_lines, 0, sizeof(g->kts_lines));
	/* Releases the lines, which closes their descriptors. */
	if (g->gc)
		gpiod_chip_close(g->gc);
	g->gc = NULL;
	free(g->lines);
	g->lines = NULL;
	g->nlines = 0;
}

static void gpio_close(struct lt_device *dev)
{
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct gpio_metric *gm = lt_metric_priv(lt_device_metric(dev, i));

		if (gm)
			gm->ln = NULL;
	}
	gpio_release(lt_device_priv(dev));
}

static int gpio_open(struct lt_device *dev, char *err, size_t errlen)
{
	struct gpio_dev *g = lt_device_priv(dev);
	unsigned n = lt_device_nmetrics(dev), nevents = 0;
	char why[192] = "";
	int r = 0;

	g->gc = gpiod_chip_open_lookup(g->chip);
	if (!g->gc) {
		r = gpio_chip_error(g, errno, err, errlen);
		lt_device_set_condition(dev,
					r == -ENODEV ? (g->seen ? "chip gone" : "no chip") : NULL);
		return r;
	}
	g->seen = true;
	g->gone = false;
	lt_device_set_condition(dev, NULL);
	g->lines = calloc(n ? n : 1, sizeof(*g->lines));
	if (!g->lines) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < n && r == 0; i++)
		r = gpio_bind(dev, g, lt_device_metric(dev, i), err, errlen);
	if (r == 0)
		r = gpio_kernel_open(dev, g, why, sizeof(why), err, errlen);
	for (unsigned i = 0; i < g->nlines && r == 0; i++) {
		struct gpio_line *ln = &g->lines[i];

		if (lt_gpiots_fd(&g->kts) >= 0 && gpio_kernel_can(ln)) {
			r = gpio_attach_kernel(g, ln, err, errlen);
			if (r < 0 && ln->ts == TS_AUTO) {
				/* This line on gpiolib; the reason for the log. */
				snprintf(why, sizeof(why), "%.160s", err);
				r = 0;
			}
			if (ln->kernel || r < 0)
				continue;
		}
		r = gpio_request(dev, g, ln, err, errlen);
		nevents += ln->want != 0;
	}
	if (r < 0)
		goto fail;
	for (unsigned i = 0; i < g->nlines; i++)
		nevents += g->lines[i].kernel;
	if (lt_gpiots_fd(&g->kts) >= 0 && !nevents)
		lt_gpiots_close(&g->kts); /* every attach fell back: do not pin the module */
	if (nevents) {
		g->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (g->epfd < 0) {
			r = -errno;
			snprintf(err, errlen, "epoll: %s", strerror(-r));
			goto fail;
		}
		for (unsigned i = 0; i < g->nlines; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &g->lines[i] };

			if (g->lines[i].fd < 0)
				continue;
			if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->lines[i].fd, &ev) < 0) {
				r = -errno;
				snprintf(err, errlen, "epoll: %s", strerror(-r));
				goto fail;
			}
		}
		if (lt_gpiots_fd(&g->kts) >= 0) {
			/* POLLPRI: a line's chip went away. data.ptr: the ring, not a line. */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI,
						  .data.ptr = &g->kts };

			if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, lt_gpiots_fd(&g->kts), &ev) < 0) {
				r = -errno;
				snprintf(err, errlen, "epoll: %s", strerror(-r));
				goto fail;
			}
		}
	}
	g->kts_lost = 0;
	g->kts_losing = false;
	g->next_check = gpio_mono_ns() + GPIO_CHECK_NS;
	gpio_say_source(dev, g, why);
	return 0;
fail:
	gpio_close(dev);
	return r;
}

/* ---- sampling ---------------------------------------------------------------- */

/*
 * Is the chip still there? Once it is removed, every ioctl on its descriptor
 * fails with ENODEV, and re-reading a line's info is one. @how says what
 * made us look, for the log, written once: the sampler may read the other
 * metrics of its tick before it closes the device.
 */
static int gpio_chip_check(struct lt_device *dev, struct gpio_dev *g, const char *how)
{
	if (g->gone)
		return -ENODEV;
	if (!g->nlines || gpiod_line_update(g->lines[0].line) == 0)
		return 0;
	g->gone = true;
	lt_device_set_condition(dev, "chip gone");
	lt_device_log(dev, LOG_WARNING, "%s gone (%s; the chip answers: %s)",
		      gpiod_chip_name(g->gc), how, strerror(errno));
	return -ENODEV;
}

static int gpio_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct gpio_dev *g = lt_device_priv(dev);
	struct gpio_metric *gm = lt_metric_priv(m);
	char how[96];
	int r, e;

	if (!gm->ln)
		return -ENODEV;
	if (gm->kind != GPIO_VALUE) {
		/* Nothing is read from the kernel here: without asking, a gone chip's windows say
		 * 0. */
		if (gpio_chip_check(dev, g, "closing a window") < 0)
			return -ENODEV;
		return lt_gpio_window_take(&gm->win, gpio_mono_ns(), gm->kind == GPIO_FREQUENCY,
					   value);
	}
	r = gpiod_line_get_value(gm->ln->line);
	if (r < 0) {
		e = errno;
		snprintf(how, sizeof(how), "reading line %u: %s", gm->ln->offset, strerror(e));
		if (gpio_chip_check(dev, g, how) < 0)
			return -ENODEV;
		if (!gm->failed)
			lt_metric_log(m, LOG_WARNING, "cannot read line %u: %s", gm->ln->offset,
				      strerror(e));
		gm->failed = true;
		return -e;
	}
	if (gm->failed)
		lt_metric_log(m, LOG_INFO, "line %u readable again", gm->ln->offset);
	gm->failed = false;
	*value = r;
	return 0;
}

/* Hand an accepted edge of @ln to the metrics that want it. */
static void gpio_report(struct lt_device *dev, struct gpio_dev *g, struct gpio_line *ln,
			bool rising, uint64_t mono_ns, uint64_t mono_to_real)
{
	unsigned bit = rising ? EDGE_RISING : EDGE_FALLING;

	gpio_bump(g->n_edges);
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct lt_metric *m = lt_device_metric(dev, i);
		struct gpio_metric *gm = lt_metric_priv(m);

		if (gm->ln != ln || !(gm->edge & bit))
			continue;
		if (gm->kind == GPIO_EDGES)
			lt_emit(m, rising ? 1 : 0, mono_ns + mono_to_real); /* a full lane counts */
		else if (gm->kind != GPIO_VALUE)
			gm->win.count++;
	}
}

/* A bounce that left the line in the other state is reported once its window closes. */
static void gpio_settle(struct lt_device *dev, struct gpio_dev *g, struct gpio_line *ln,
			uint64_t mono_ns, uint64_t mono_to_real)
{
	uint64_t ts;
	bool rising;

	if (!lt_gpio_edge_settle(&ln->edges, mono_ns, &rising, &ts))
		return;
	/* Dropped, then reported after all: an edge, no longer a debounced one. */
	if (g->n_debounced)
		lt_count_sub(g->n_debounced, 1);
	gpio_report(dev, g, ln, rising, ts, mono_to_real);
}

/* One event of line @ln, stamped @mono_ns by the kernel. */
static void gpio_event(struct lt_device *dev, struct gpio_dev *g, struct gpio_line *ln, bool rising,
		       uint64_t mono_ns, uint64_t mono_to_real)
{
	unsigned v;

	gpio_settle(dev, g, ln, mono_ns, mono_to_real);
	v = lt_gpio_edge_feed(&ln->edges, rising, mono_ns);
	if (v & LT_GPIO_MERGED)
		gpio_bump(g->n_merged);
	if (v & LT_GPIO_ACCEPT)
		gpio_report(dev, g, ln, rising, mono_ns, mono_to_real);
	else
		gpio_bump(g->n_debounced);
}

/* Read every pending event of @ln. 0, or -errno of a failed read. */
static int gpio_drain(struct lt_device *dev, struct gpio_dev *g, struct gpio_line *ln,
		      uint64_t mono_to_real)
{
	struct gpiod_line_event ev[GPIO_EVENT_BATCH];

	for (int round = 0; round < GPIO_READS_MAX; round++) {
		int n = gpiod_line_event_read_fd_multiple(ln->fd, ev, GPIO_EVENT_BATCH);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (int i = 0; i < n; i++) {
			uint64_t ts = (uint64_t)ev[i].ts.tv_sec * NSEC_PER_SEC +
				      (uint64_t)ev[i].ts.tv_nsec;

			gpio_event(dev, g, ln, ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE, ts,
				   mono_to_real);
		}
		if (n < GPIO_EVENT_BATCH)
			return 0;
	}
	return 0; /* more next time: the descriptor stays readable */
}

struct gpio_kts_ctx {
	struct lt_device *dev;
	struct gpio_dev *g;
};

/* One record of the module's ring, checked by lt_gpiots_consume(). */
static void gpio_kts_record(void *arg, const struct liota_gpiots_record *rec, uint64_t lost)
{
	struct gpio_kts_ctx *c = arg;
	struct gpio_line *ln = c->g->kts_lines[rec->line];
	bool rising = (rec->edge == LIOTA_GPIOTS_EDGE_RISING) != ln->active_low;

	(void)lost; /* counted as a whole by lt_gpiots_lost() */
	/* The kernel's own offset to CLOCK_REALTIME at the edge. */
	gpio_event(c->dev, c->g, ln, rising, rec->mono_ns, (uint64_t)rec->realtime_offset_ns);
}

/*
 * Consume what the ring holds (at most its capacity: a line gone wild
 * cannot keep the sampler here), count lost edges, and log a burst of
 * losses once, when it starts. 0, or -ENODEV when the device must be
 * opened again.
 */
static int gpio_kts_drain(struct lt_device *dev, struct gpio_dev *g)
{
	struct gpio_kts_ctx c = { dev, g };
	char err[192];
	uint64_t lost;
	int n;

	n = lt_gpiots_consume(&g->kts, g->kts.capacity, gpio_kts_record, &c, err, sizeof(err));
	if (n < 0) {
		lt_device_log(dev, LOG_WARNING, "liota_gpiots: %s; opening the device again", err);
		return -ENODEV;
	}
	lost = lt_gpiots_lost(&g->kts);
	if (lost > g->kts_lost) {
		if (g->n_lost)
			lt_count(g->n_lost, lost - g->kts_lost);
		if (!g->kts_losing)
			lt_device_log(dev, LOG_WARNING,
				      "edges lost: the kernel module's ring was full (%llu lost "
				      "since open; counter lost)",
				      (unsigned long long)lost);
		g->kts_losing = true;
		g->kts_lost = lost;
	} else if (n > 0) {
		g->kts_losing = false;
	}
	return 0;
}

static void gpio_poll(struct lt_device *dev, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct gpio_dev *g = lt_device_priv(dev);

	uint64_t t;

	if (g->epfd < 0)
		return; /* levels only: each read checks the chip */
	pfd->fd = g->epfd;
	pfd->events = POLLIN;
	t = g->next_check;
	for (unsigned i = 0; i < g->nlines; i++) {
		uint64_t s = lt_gpio_edge_settle_at(&g->lines[i].edges);

		if (s < t)
			t = s;
	}
	if ((int64_t)t < *deadline_ns)
		*deadline_ns = (int64_t)t;
}

static int gpio_dispatch(struct lt_device *dev, short revents, uint64_t now_ns)
{
	struct gpio_dev *g = lt_device_priv(dev);
	/* One offset for the whole batch: events keep their order in real time too. */
	uint64_t mono_to_real = lt_mono_to_real(0);
	struct epoll_event evs[16];
	int n, r;

	if (g->epfd < 0)
		return 0;
	if (revents & POLLIN) {
		n = epoll_wait(g->epfd, evs, 16, 0);
		for (int i = 0; i < n; i++) {
			struct gpio_line *ln = evs[i].data.ptr;

			char how[96];

			if (evs[i].data.ptr == &g->kts) {
				if (gpio_kts_drain(dev, g) < 0)
					return -ENODEV;
				if (!(evs[i].events & (EPOLLPRI | EPOLLERR | EPOLLHUP)) &&
				    !lt_gpiots_gone(&g->kts))
					continue;
				snprintf(how, sizeof(how),
					 "liota_gpiots: the chip of line(s) %#llx "
					 "went away",
					 (unsigned long long)lt_gpiots_gone(&g->kts));
				if (gpio_chip_check(dev, g, how) < 0)
					return -ENODEV;
				lt_device_log(dev, LOG_WARNING, "%s; opening the device again",
					      how);
				return -ENODEV;
			}

			r = gpio_drain(dev, g, ln, mono_to_real);
			if (r == 0 && !(evs[i].events & (EPOLLERR | EPOLLHUP)))
				continue;
			snprintf(how, sizeof(how), "line %u: %s", ln->offset,
				 r < 0 ? strerror(-r) : "error or hang-up on its descriptor");
			if (gpio_chip_check(dev, g, how) < 0)
				return -ENODEV;
			/* The chip is there but the line is not well: start again. */
			lt_device_log(dev, LOG_WARNING, "%s; opening the device again", how);
			return -ENODEV;
		}
	}
	/* Edges still below the ring's watermark come before any settling. */
	if (lt_gpiots_fd(&g->kts) >= 0 && gpio_kts_drain(dev, g) < 0)
		return -ENODEV;
	for (unsigned i = 0; i < g->nlines; i++)
		if (g->lines[i].want)
			gpio_settle(dev, g, &g->lines[i], now_ns, mono_to_real);
	if (now_ns >= g->next_check) {
		g->next_check = now_ns + GPIO_CHECK_NS;
		return gpio_chip_check(dev, g, "periodic check");
	}
	return 0;
}

/* ---- freeing ------------------------------------------------------------------- */

static void gpio_metric_free(struct lt_metric *m)
{
	struct gpio_metric *gm = lt_metric_priv(m);

	if (!gm)
		return;
	free(gm->line);
	free(gm);
	lt_metric_set_priv(m, NULL);
}

static void gpio_device_free(struct lt_device *dev)
{
	struct gpio_dev *g = lt_device_priv(dev);

	if (!g)
		return;
	gpio_release(g); /* the metrics are freed already */
	free(g->chip);
	free(g->consumer);
	free(g);
	lt_device_set_priv(dev, NULL);
}

const struct lt_device_driver lt_device_gpio = {
	.name = "gpio",
	.device_init = gpio_device_init,
	.device_option = gpio_device_option,
	.metric_init = gpio_metric_init,
	.metric_option = gpio_metric_option,
	.metric_check = gpio_metric_check,
	.open = gpio_open,
	.read = gpio_read,
	.poll = gpio_poll,
	.dispatch = gpio_dispatch,
	.close = gpio_close,
	.metric_free = gpio_metric_free,
	.device_free = gpio_device_free,
};

static int gpio_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_gpio, err, errlen);
}

LT_INTREE_PACKAGE(gpio, .name = "gpio", .version = PACKAGE_VERSION, .init = gpio_package_init);
