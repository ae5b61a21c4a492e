/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The gpio driver without a chip: its options and their errors through the
 * driver callbacks and the configuration loader, open errors when there is
 * no such chip, and the event logic (debounce, merged edges, count and
 * frequency windows), and the kernel module's ring as its client reads it
 * (a ring laid out in memory as the kernel lays it out). With a chip,
 * tests/vm/guest/gpio.test and gpio-kernel.test drive it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confdir.h"
#include "drvfix.h"
#include "intree.h"
#include "unit.h"
#include "core/config.h"
#include "devices/devices.h"
#include "devices/gpiots.h"
#include "model.h"
#include "util.h"

#define MS   1000000ull
#define NSEC 1000000000ull

/* ---- fixture: one gpio device and its metrics, as the loader builds them ---- */

static void fx_init(struct fx *f, const char *chip)
{
	fx_setup(f, &lt_device_gpio, "door");
	if (chip)
		ck_assert_int_eq(fx_dev_opt(f, "chip", chip), 0);
}

/* A metric as the loader makes it: @interval_ns 0 when the section has none. */
static struct lt_metric *fx_metric(struct fx *f, const char *name, uint64_t interval_ns)
{
	return fx_new_metric(f, name, "", interval_ns);
}

/* A metric whose options (NULL-terminated key, value pairs) must all be taken. */
static struct lt_metric *fx_metric_with(struct fx *f, const char *name, uint64_t interval_ns, ...)
{
	struct lt_metric *m = fx_metric(f, name, interval_ns);
	va_list ap;

	va_start(ap, interval_ns);
	fx_opts_va(f, m, ap);
	va_end(ap);
	return m;
}

static int fx_open(struct fx *f)
{
	f->err[0] = '\0';
	return lt_device_gpio.open(f->dev, f->err, sizeof(f->err));
}

/* Index of the device counter called @name, or -1. */
static int counter_index(const struct lt_device *dev, const char *name)
{
	for (unsigned i = 0; i < dev->ncounters; i++)
		if (strcmp(dev->counter_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- registry and options ---- */

START_TEST(registered_as_gpio)
{
	ck_assert_ptr_eq(pkg_device_driver("gpio"), &lt_device_gpio);
	ck_assert_ptr_nonnull(lt_device_gpio.poll);
	ck_assert_ptr_nonnull(lt_device_gpio.dispatch);
}
END_TEST

START_TEST(device_options_and_their_errors)
{
	struct fx f;

	fx_init(&f, NULL);
	ck_assert_int_eq(fx_dev_opt(&f, "chip", ""), -EINVAL);
	ck_assert_str_eq(f.err, "chip must not be empty");
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "gpiochip0"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "/dev/gpiochip1"), 0); /* the last one wins */
	ck_assert_int_eq(fx_dev_opt(&f, "consumer", "hub"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "consumer", "0123456789012345678901234567890"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "consumer", "01234567890123456789012345678901"), -EINVAL);
	ck_assert_str_eq(f.err, "consumer: '01234567890123456789012345678901' is too long "
				"(at most 31 characters)");
	ck_assert_int_eq(fx_dev_opt(&f, "line", "3"), -ENOENT);
	fx_release(&f);
}
END_TEST

START_TEST(metric_options_are_parsed)
{
	const char *kinds[] = { "value", "edges", "count", "frequency" };
	const char *bias[] = { "as-is", "disable", "pull-up", "pull-down" };
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, "gpiochip0");
	m = fx_metric(&f, "state", NSEC);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(fx_opt(&f, m, "kind", kinds[i]), 0);
		ck_assert_int_eq(fx_opt(&f, m, "bias", bias[i]), 0);
	}
	ck_assert_int_eq(fx_opt(&f, m, "line", "0"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "line", "65535"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "line", "door-sensor_1"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "edge", "falling"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "edge", "both"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "edge", "rising"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "active_low", "yes"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "active_low", "0"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "debounce", "5ms"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "debounce", "0"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "timestamping", "kernel"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "timestamping", "gpiolib"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "timestamping", "auto"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "function", "sine"), -ENOENT);
	ck_assert_int_eq(fx_opt(&f, m, "chip", "gpiochip0"), -ENOENT);
	fx_release(&f);
}
END_TEST

START_TEST(metric_option_errors_say_why)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, "gpiochip0");
	m = fx_metric(&f, "state", NSEC);
	ck_assert_int_eq(fx_opt(&f, m, "kind", "level"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown kind 'level' (value, edges, count or frequency)");
	ck_assert_int_eq(fx_opt(&f, m, "edge", "up"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown edge 'up' (rising, falling or both)");
	ck_assert_int_eq(fx_opt(&f, m, "edge", ""), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "bias", "pull_up"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown bias 'pull_up' (as-is, disable, pull-up or pull-down)");
	ck_assert_int_eq(fx_opt(&f, m, "active_low", "maybe"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "debounce", "soon"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "timestamping", "hardware"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown timestamping 'hardware' (auto, kernel or gpiolib)");
	ck_assert_int_eq(fx_opt(&f, m, "line", ""), -EINVAL);
	ck_assert_str_eq(f.err, "line must not be empty");
	ck_assert_int_eq(fx_opt(&f, m, "line", "65536"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "line", "a-line-name-longer-than-31-chars"), -EINVAL);
	ck_assert_str_eq(f.err, "line: 'a-line-name-longer-than-31-chars' is too long "
				"(at most 31 characters)");
	/* Nothing was taken: still a value metric without a line. */
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "line is required (an offset or a line name)");
	fx_release(&f);
}
END_TEST

START_TEST(check_requires_chip_and_line)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, NULL);
	m = fx_metric_with(&f, "state", NSEC, "line", "3", NULL);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "chip is required in [device \"door\"] (a path, name, label or "
				"number, e.g. gpiochip0)");
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "gpiochip0"), 0);
	ck_assert_int_eq(fx_check(&f, m), 0);
	fx_release(&f);
}
END_TEST

START_TEST(check_rejects_options_that_do_not_apply_to_value)
{
	struct lt_metric *a, *b;
	struct fx f;

	fx_init(&f, "gpiochip0");
	a = fx_metric_with(&f, "a", NSEC, "line", "1", "edge", "rising", NULL);
	ck_assert_int_eq(fx_check(&f, a), -EINVAL);
	ck_assert_str_eq(f.err, "edge applies to kinds edges, count and frequency, not value");
	/* "kind" after the option: checked once all are read */
	b = fx_metric_with(&f, "b", NSEC, "debounce", "1ms", "line", "2", "kind", "value", NULL);
	ck_assert_int_eq(fx_check(&f, b), -EINVAL);
	ck_assert_str_eq(f.err, "debounce applies to kinds edges, count and frequency, not value");
	b = fx_metric_with(&f, "c", NSEC, "line", "3", "timestamping", "kernel", NULL);
	ck_assert_int_eq(fx_check(&f, b), -EINVAL);
	ck_assert_str_eq(f.err,
			 "timestamping applies to kinds edges, count and frequency, not value");
	fx_release(&f);
}
END_TEST

START_TEST(kernel_timestamping_takes_the_line_as_it_is)
{
	struct lt_metric *a, *b, *c, *d, *e;
	struct fx f;

	fx_init(&f, "gpiochip0");
	/* The module sets no bias: asking for both is a mistake said at once. */
	a = fx_metric_with(&f, "pulled", 0, "line", "1", "kind", "edges", "timestamping", "kernel",
			   "bias", "pull-up", NULL);
	ck_assert_int_eq(fx_check(&f, a), -EINVAL);
	ck_assert_str_eq(f.err, "bias: timestamping = kernel cannot set a bias (the kernel module "
				"takes the line as it is); use bias = as-is or timestamping = "
				"gpiolib");
	/* The module holds the line: gpiolib cannot read its level too. */
	b = fx_metric_with(&f, "level", NSEC, "line", "door", NULL);
	ck_assert_int_eq(fx_check(&f, b), 0);
	c = fx_metric_with(&f, "edges", 0, "line", "door", "kind", "edges", "timestamping",
			   "kernel", NULL);
	ck_assert_int_eq(fx_check(&f, c), -EINVAL);
	ck_assert_str_eq(f.err, "timestamping = kernel: line \"door\" is also read by door.level, "
				"and the kernel module holds the lines it time-stamps: a value "
				"metric of that line needs timestamping = gpiolib");
	/* auto falls back to gpiolib for such a line: no error */
	d = fx_metric_with(&f, "auto", 0, "line", "door", "kind", "edges", NULL);
	ck_assert_int_eq(fx_check(&f, d), 0);
	/* event metrics of one line agree on it */
	e = fx_metric_with(&f, "count", NSEC, "line", "door", "kind", "count", "timestamping",
			   "gpiolib", NULL);
	ck_assert_int_eq(fx_check(&f, e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(f.err, "also read by door.auto with another timestamping"));
	fx_release(&f);
}
END_TEST

/* ---- the kernel module's ring, laid out in memory ---- */

#define RING_PAGE 4096u
#define RING_CAP  8u

struct fake_ring {
	struct liota_gpiots_header hdr;
	char pad[RING_PAGE - sizeof(struct liota_gpiots_header)];
	struct liota_gpiots_record rec[RING_CAP];
};

static void ring_init(struct fake_ring *r)
{
	memset(r, 0, sizeof(*r));
	r->hdr.magic = LIOTA_GPIOTS_MAGIC;
	r->hdr.version = LIOTA_GPIOTS_VERSION;
	r->hdr.record_size = sizeof(struct liota_gpiots_record);
	r->hdr.capacity = RING_CAP;
	r->hdr.data_offset = RING_PAGE;
}

/* The kernel's side: one record at head (no check of room: the tests keep it). */
static void ring_put(struct fake_ring *r, unsigned line, uint64_t seq, unsigned edge, uint64_t mono)
{
	struct liota_gpiots_record *rec = &r->rec[r->hdr.head % RING_CAP];

	memset(rec, 0, sizeof(*rec));
	rec->mono_ns = mono;
	rec->realtime_offset_ns = 1000;
	rec->seq = seq;
	rec->line = (uint16_t)line;
	rec->edge = (uint8_t)edge;
	rec->level = edge == LIOTA_GPIOTS_EDGE_RISING;
	r->hdr.head++;
}

struct seen {
	unsigned n;
	uint64_t seq[16], lost[16], mono[16];
	unsigned line[16];
};

static void seen_one(void *arg, const struct liota_gpiots_record *rec, uint64_t lost)
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->n, 16);
	s->seq[s->n] = rec->seq;
	s->line[s->n] = rec->line;
	s->mono[s->n] = rec->mono_ns;
	s->lost[s->n++] = lost;
}

START_TEST(ring_records_are_consumed_in_order_and_released)
{
	static struct fake_ring r;
	struct lt_gpiots t;
	struct seen s = { 0 };
	char err[160];

	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	ck_assert_uint_eq(t.capacity, RING_CAP);
	t.attached[0] = t.attached[3] = true;
	ring_put(&r, 0, 1, LIOTA_GPIOTS_EDGE_RISING, 100);
	ring_put(&r, 3, 1, LIOTA_GPIOTS_EDGE_FALLING, 200);
	ring_put(&r, 0, 2, LIOTA_GPIOTS_EDGE_FALLING, 300);
	/* at most max at a time; the rest stays for the next call */
	ck_assert_int_eq(lt_gpiots_consume(&t, 2, seen_one, &s, err, sizeof(err)), 2);
	ck_assert_uint_eq(r.hdr.tail, 2);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 1);
	ck_assert_uint_eq(r.hdr.tail, 3);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.mono[0], 100);
	ck_assert_uint_eq(s.line[1], 3);
	ck_assert_uint_eq(s.seq[2], 2);
	ck_assert_uint_eq(s.lost[0] + s.lost[1] + s.lost[2], 0);
	ck_assert_uint_eq(lt_gpiots_lost(&t), 0);
	/* the indices run on past the ring's size */
	for (uint64_t i = 3; i < 3 + 2 * RING_CAP; i++) {
		ring_put(&r, 3, i - 1, i % 2 ? LIOTA_GPIOTS_EDGE_RISING : LIOTA_GPIOTS_EDGE_FALLING,
			 i * 100);
		s.n = 0;
		ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 1);
		ck_assert_uint_eq(s.seq[0], i - 1);
	}
	ck_assert_uint_eq(lt_gpiots_lost(&t), 0);
}
END_TEST

START_TEST(ring_gaps_and_overflow_count_as_lost)
{
	static struct fake_ring r;
	struct lt_gpiots t;
	struct seen s = { 0 };
	char err[160];

	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	t.attached[1] = true;
	/* the ring was full for seq 2..4: the kernel counted them and kept seq going */
	ring_put(&r, 1, 1, LIOTA_GPIOTS_EDGE_RISING, 10);
	r.hdr.overflow = 3;
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 1);
	/* the overflow tells before the line's next edge shows the gap */
	ck_assert_uint_eq(lt_gpiots_lost(&t), 3);
	ring_put(&r, 1, 5, LIOTA_GPIOTS_EDGE_FALLING, 50);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 1);
	ck_assert_uint_eq(s.lost[1], 3);
	ck_assert_uint_eq(lt_gpiots_lost(&t), 3); /* not counted twice */
	/* a gap the overflow does not explain is lost all the same */
	ring_put(&r, 1, 8, LIOTA_GPIOTS_EDGE_RISING, 80);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), 1);
	ck_assert_uint_eq(s.lost[2], 2);
	ck_assert_uint_eq(lt_gpiots_lost(&t), 5);
}
END_TEST

START_TEST(ring_bad_records_are_refused)
{
	static struct fake_ring r;
	struct lt_gpiots t;
	struct seen s = { 0 };
	char err[160];

	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	t.attached[0] = true;
	ring_put(&r, 0, 1, LIOTA_GPIOTS_EDGE_RISING, 10);
	ring_put(&r, 2, 1, LIOTA_GPIOTS_EDGE_RISING, 20); /* line 2 is not attached */
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "record 1 has a line that is not attached (line 2, edge 1, seq 1)");
	ck_assert_uint_eq(s.n, 1); /* the good one before it was taken */
	ck_assert_uint_eq(r.hdr.tail, 1);

	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	t.attached[0] = true;
	ring_put(&r, 0, 1, 3, 10);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "neither rising nor falling"));

	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	t.attached[0] = true;
	ring_put(&r, 0, 2, LIOTA_GPIOTS_EDGE_RISING, 10);
	ring_put(&r, 0, 2, LIOTA_GPIOTS_EDGE_FALLING, 20);
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "does not advance"));

	/* a head further than the ring's size from tail */
	ring_init(&r);
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), 0);
	r.hdr.head = RING_CAP + 1;
	ck_assert_int_eq(lt_gpiots_consume(&t, 16, seen_one, &s, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "the ring's head 9 is not within 8 records of tail 0");
}
END_TEST

START_TEST(ring_header_must_be_the_modules)
{
	static struct fake_ring r;
	struct lt_gpiots t;
	char err[160];

	ring_init(&r);
	r.hdr.version = LIOTA_GPIOTS_VERSION + 1;
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "module and liotad do not match"));
	ring_init(&r);
	r.hdr.capacity = 6; /* not a power of two */
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), -EPROTO);
	ring_init(&r);
	r.hdr.capacity = 16; /* more than is mapped */
	ck_assert_int_eq(lt_gpiots_use_ring(&t, &r, sizeof(r), err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "inconsistent"));
}
END_TEST

START_TEST(open_without_the_module_names_it)
{
	struct lt_gpiots t;
	char err[160];

	/* The build machine loads no modules: a path that cannot exist stands for it. */
	ck_assert_int_eq(lt_gpiots_open(&t, "/nonexistent/liota-gpiots", 1, 1, 0, err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/liota-gpiots: No such file or directory");
	ck_assert_int_eq(t.fd, -1);
	lt_gpiots_close(&t); /* harmless */
}
END_TEST

START_TEST(edges_are_event_driven_and_take_no_interval)
{
	struct lt_metric *bad, *ev, *count, *freq;
	struct fx f;

	fx_init(&f, "gpiochip0");
	bad = fx_metric_with(&f, "bad", NSEC, "line", "1", "kind", "edges", NULL);
	ck_assert_int_eq(fx_check(&f, bad), -EINVAL);
	ck_assert_str_eq(f.err, "interval: kind edges has no interval (each edge is one sample); "
				"use kind count or frequency for edges per interval");
	ev = fx_metric_with(&f, "ev", 0, "line", "2", "kind", "edges", NULL);
	ck_assert_int_eq(fx_check(&f, ev), 0);
	ck_assert(lt_metric_is_event_driven(ev));
	/* count and frequency are read at each interval: not event-driven */
	count = fx_metric_with(&f, "count", NSEC, "line", "2", "kind", "count", NULL);
	freq = fx_metric_with(&f, "freq", NSEC, "line", "2", "kind", "frequency", NULL);
	ck_assert_int_eq(fx_check(&f, count), 0);
	ck_assert_int_eq(fx_check(&f, freq), 0);
	ck_assert(!lt_metric_is_event_driven(count));
	ck_assert(!lt_metric_is_event_driven(freq));
	fx_release(&f);
}
END_TEST

START_TEST(counters_are_declared_once_by_event_metrics)
{
	struct lt_metric *v, *e1, *e2;
	struct fx f;

	fx_init(&f, "gpiochip0");
	v = fx_metric_with(&f, "v", NSEC, "line", "1", NULL);
	ck_assert_int_eq(fx_check(&f, v), 0);
	ck_assert_uint_eq(f.dev->ncounters, 0); /* levels only: nothing to count */
	e1 = fx_metric_with(&f, "e1", 0, "line", "2", "kind", "edges", NULL);
	e2 = fx_metric_with(&f, "e2", NSEC, "line", "3", "kind", "count", NULL);
	ck_assert_int_eq(fx_check(&f, e1), 0);
	ck_assert_int_eq(fx_check(&f, e2), 0);
	ck_assert_uint_eq(f.dev->ncounters, 4);
	ck_assert_int_ge(counter_index(f.dev, "lost"), 0);
	ck_assert_int_ge(counter_index(f.dev, "edges"), 0);
	ck_assert_int_ge(counter_index(f.dev, "debounced"), 0);
	ck_assert_int_ge(counter_index(f.dev, "merged"), 0);
	fx_release(&f);
}
END_TEST

START_TEST(metrics_of_one_line_must_agree_on_its_settings)
{
	struct lt_metric *a, *b, *c, *d, *e, *g;
	struct fx f;

	fx_init(&f, "gpiochip0");
	a = fx_metric_with(&f, "level", NSEC, "line", "door", NULL);
	ck_assert_int_eq(fx_check(&f, a), 0);
	b = fx_metric_with(&f, "inverted", NSEC, "line", "door", "active_low", "yes", NULL);
	ck_assert_int_eq(fx_check(&f, b), -EINVAL);
	ck_assert_str_eq(f.err, "line \"door\" is also read by door.level with another "
				"active_low: the metrics of one line share its active_low, bias, "
				"debounce and timestamping");
	c = fx_metric_with(&f, "pulled", NSEC, "line", "door", "bias", "pull-up", NULL);
	ck_assert_int_eq(fx_check(&f, c), -EINVAL);
	ck_assert_ptr_nonnull(strstr(f.err, "with another bias"));
	/* debounce does not matter to a value metric... */
	d = fx_metric_with(&f, "edges", 0, "line", "door", "kind", "edges", "debounce", "10ms",
			   NULL);
	ck_assert_int_eq(fx_check(&f, d), 0);
	/* ...but two event metrics of the line share it */
	e = fx_metric_with(&f, "count", NSEC, "line", "door", "kind", "count", NULL);
	ck_assert_int_eq(fx_check(&f, e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(f.err, "also read by door.edges with another debounce"));
	/* another line: free to differ */
	g = fx_metric_with(&f, "other", NSEC, "line", "window", "active_low", "yes", NULL);
	ck_assert_int_eq(fx_check(&f, g), 0);
	fx_release(&f);
}
END_TEST

/* ---- open without a chip ---- */

START_TEST(open_names_a_missing_chip)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, "lt-test-no-such-chip");
	m = fx_metric_with(&f, "state", NSEC, "line", "3", NULL);
	ck_assert_int_eq(fx_check(&f, m), 0);
	ck_assert_int_eq(fx_open(&f), -ENODEV);
	ck_assert_msg(strncmp(f.err, "chip: no GPIO chip \"lt-test-no-such-chip\" (", 43) == 0,
		      "%s", f.err);
	ck_assert_str_eq(atomic_load(&f.dev->condition), "no chip");
	/* closing a device whose open failed is harmless */
	lt_device_gpio.close(f.dev);
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "/dev/gpiochip999"), 0);
	ck_assert_int_eq(fx_open(&f), -ENODEV);
	ck_assert_msg(strncmp(f.err, "chip: no GPIO chip \"/dev/gpiochip999\" (", 39) == 0, "%s",
		      f.err);
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "4242"), 0);
	ck_assert_int_eq(fx_open(&f), -ENODEV);
	ck_assert_msg(strncmp(f.err, "chip: no GPIO chip \"4242\" (", 27) == 0, "%s", f.err);
	fx_release(&f);
}
END_TEST

START_TEST(open_refuses_what_is_not_a_gpio_chip)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, "/dev/null");
	m = fx_metric_with(&f, "state", NSEC, "line", "3", NULL);
	ck_assert_int_eq(fx_check(&f, m), 0);
	ck_assert_int_eq(fx_open(&f), -ENODEV);
	ck_assert_str_eq(f.err, "chip: \"/dev/null\" is not a GPIO chip");
	fx_release(&f);
}
END_TEST

START_TEST(read_of_a_closed_device_is_device_gone)
{
	struct lt_metric *m;
	struct fx f;
	double v = 7;

	fx_init(&f, "gpiochip0");
	m = fx_metric_with(&f, "state", NSEC, "line", "3", NULL);
	ck_assert_int_eq(fx_check(&f, m), 0);
	ck_assert_int_eq(lt_device_gpio.read(f.dev, m, &v), -ENODEV);
	ck_assert(v == 7);
	fx_release(&f);
}
END_TEST

/* ---- debounce and merged edges ---- */

START_TEST(both_edges_alternating_are_all_accepted)
{
	struct lt_gpio_edges e = { .both = true };

	for (unsigned i = 0; i < 100; i++)
		ck_assert_uint_eq(lt_gpio_edge_feed(&e, i % 2 == 0, i * MS), LT_GPIO_ACCEPT);
}
END_TEST

START_TEST(same_edge_twice_on_a_both_line_is_merged)
{
	struct lt_gpio_edges e = { .both = true };

	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 1 * MS), LT_GPIO_ACCEPT);
	/* the falling edge between them was lost or merged by the kernel */
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 2 * MS), LT_GPIO_ACCEPT | LT_GPIO_MERGED);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 3 * MS), LT_GPIO_ACCEPT);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 4 * MS), LT_GPIO_ACCEPT | LT_GPIO_MERGED);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 5 * MS), LT_GPIO_ACCEPT | LT_GPIO_MERGED);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 6 * MS), LT_GPIO_ACCEPT);
}
END_TEST

START_TEST(one_edge_lines_never_merge)
{
	struct lt_gpio_edges e = { .both = false };

	for (unsigned i = 0; i < 10; i++)
		ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, i * MS), LT_GPIO_ACCEPT);
}
END_TEST

START_TEST(debounce_drops_edges_soon_after_the_last_accepted_one)
{
	struct lt_gpio_edges e = { .both = true, .debounce_ns = 5 * MS };
	/* a contact bouncing every 1 ms from t = 100 ms, then quiet */
	unsigned accepted = 0, dropped = 0;

	for (unsigned i = 0; i < 12; i++) {
		unsigned v = lt_gpio_edge_feed(&e, i % 2 == 0, 100 * MS + i * MS);

		accepted += !!(v & LT_GPIO_ACCEPT);
		dropped += !(v & LT_GPIO_ACCEPT);
	}
	/* kept: 100, 105, 110 ms (each 5 ms after the last kept one, not after the last bounce) */
	ck_assert_uint_eq(accepted, 3);
	ck_assert_uint_eq(dropped, 9);
	ck_assert_uint_eq(e.last_ns, 110 * MS);
	/* exactly the debounce time later is kept; a nanosecond less is not */
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 115 * MS - 1) & LT_GPIO_ACCEPT, 0);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 115 * MS) & LT_GPIO_ACCEPT, LT_GPIO_ACCEPT);
}
END_TEST

START_TEST(first_edge_is_kept_whatever_its_time)
{
	struct lt_gpio_edges e = { .both = true, .debounce_ns = 10 * NSEC };

	/* kernel times start near boot: an edge at 1 ms must not look "too soon" */
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 1 * MS), LT_GPIO_ACCEPT);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 2 * MS), 0);
}
END_TEST

START_TEST(merged_is_seen_in_edges_that_debounce_drops)
{
	struct lt_gpio_edges e = { .both = true, .debounce_ns = 5 * MS };

	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 10 * MS), LT_GPIO_ACCEPT);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, false, 11 * MS), 0); /* debounced */
	/* rising after a dropped falling: the kernel lost nothing */
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 12 * MS), 0);
	/* rising after rising, dropped or not: the kernel merged edges */
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 13 * MS), LT_GPIO_MERGED);
	ck_assert_uint_eq(lt_gpio_edge_feed(&e, true, 20 * MS), LT_GPIO_ACCEPT | LT_GPIO_MERGED);
}
END_TEST

/*
 * The edges the driver reports for @events ("r0 f5 ...": rising or falling
 * at N ms, in order), as it does: a settled edge before each event, then a
 * timer at @end_ms. Written as "r0 f5" into @out.
 */
static void run_edges(struct lt_gpio_edges *e, const char *events, uint64_t end_ms, char *out,
		      size_t len)
{
	const char *p = events;
	unsigned long ms;
	uint64_t ts;
	bool rising;
	char type;
	int n;

	out[0] = '\0';
#define REPORT(r, t)                                                                               \
	snprintf(out + strlen(out), len - strlen(out), "%s%c%llu", *out ? " " : "",                \
		 (r) ? 'r' : 'f', (unsigned long long)((t) / MS))
	while (sscanf(p, " %c%lu%n", &type, &ms, &n) == 2) {
		p += n;
		if (lt_gpio_edge_settle(e, ms * MS, &rising, &ts))
			REPORT(rising, ts);
		if (lt_gpio_edge_feed(e, type == 'r', ms * MS) & LT_GPIO_ACCEPT)
			REPORT(type == 'r', ms * MS);
	}
	if (lt_gpio_edge_settle(e, end_ms * MS, &rising, &ts))
		REPORT(rising, ts);
#undef REPORT
}

START_TEST(bounce_ending_in_the_other_state_is_reported_when_it_settles)
{
	struct lt_gpio_edges e = { .both = true, .debounce_ns = 30 * MS };
	char out[128];
	bool rising;
	uint64_t ts;

	/* closes at 0, bounces, ends open at 15: reported at 15, once the window closed */
	run_edges(&e, "r0 f5 r10 f15", 29, out, sizeof(out));
	ck_assert_str_eq(out, "r0");
	ck_assert_uint_eq(lt_gpio_edge_settle_at(&e), 30 * MS);
	ck_assert(lt_gpio_edge_settle(&e, 30 * MS, &rising, &ts));
	ck_assert(!rising);
	ck_assert_uint_eq(ts, 15 * MS);
	ck_assert_uint_eq(lt_gpio_edge_settle_at(&e), UINT64_MAX);
	ck_assert(!lt_gpio_edge_settle(&e, 100 * MS, &rising, &ts));
}
END_TEST

START_TEST(settled_edges_keep_the_reported_edges_alternating)
{
	struct lt_gpio_edges e;
	char out[128];

	/* a bounce that ends where it started needs nothing more */
	e = (struct lt_gpio_edges){ .both = true, .debounce_ns = 30 * MS };
	run_edges(&e, "r0 f5 r10", 100, out, sizeof(out));
	ck_assert_str_eq(out, "r0");
	/* slow edges pass untouched */
	e = (struct lt_gpio_edges){ .both = true, .debounce_ns = 30 * MS };
	run_edges(&e, "r0 f40 r80 f120", 200, out, sizeof(out));
	ck_assert_str_eq(out, "r0 f40 r80 f120");
	/* the next edge comes before the timer: the settled one is reported first */
	e = (struct lt_gpio_edges){ .both = true, .debounce_ns = 30 * MS };
	run_edges(&e, "r0 f5 r40", 40, out, sizeof(out));
	ck_assert_str_eq(out, "r0 f5 r40");
	/* and the next window starts at the settled edge: 50 is 10 ms after 40 */
	e = (struct lt_gpio_edges){ .both = true, .debounce_ns = 30 * MS };
	run_edges(&e, "r0 f5 r40 f50", 60, out, sizeof(out));
	ck_assert_str_eq(out, "r0 f5 r40");
	run_edges(&e, "", 70, out, sizeof(out));
	ck_assert_str_eq(out, "f50");
	/* a rising edge lost by the kernel (f, f) within the window: low either way */
	e = (struct lt_gpio_edges){ .both = true, .debounce_ns = 30 * MS };
	run_edges(&e, "r0 f5 f34", 200, out, sizeof(out));
	ck_assert_str_eq(out, "r0 f5");
}
END_TEST

START_TEST(one_edge_lines_never_settle)
{
	struct lt_gpio_edges e = { .both = false, .debounce_ns = 30 * MS };
	char out[128];

	run_edges(&e, "r0 r5 r10 r40 r45", 200, out, sizeof(out));
	ck_assert_str_eq(out, "r0 r40");
	ck_assert_uint_eq(lt_gpio_edge_settle_at(&e), UINT64_MAX);
}
END_TEST

/* ---- count and frequency windows ---- */

START_TEST(first_take_starts_the_first_window)
{
	struct lt_gpio_window w = { 0 };
	double v = -1;

	w.count = 2; /* edges between open and the first read */
	ck_assert_int_eq(lt_gpio_window_take(&w, 5 * NSEC, false, &v), -ENODATA);
	ck_assert(v == -1);
	w.count += 3;
	ck_assert_int_eq(lt_gpio_window_take(&w, 6 * NSEC, false, &v), 0);
	ck_assert(v == 5); /* they belong to the first window */
	ck_assert_int_eq(lt_gpio_window_take(&w, 7 * NSEC, false, &v), 0);
	ck_assert(v == 0);
}
END_TEST

START_TEST(count_is_per_window_and_frequency_per_second)
{
	struct lt_gpio_window c = { 0 }, fq = { 0 };
	double v;

	ck_assert_int_eq(lt_gpio_window_take(&c, 10 * NSEC, false, &v), -ENODATA);
	ck_assert_int_eq(lt_gpio_window_take(&fq, 10 * NSEC, true, &v), -ENODATA);
	c.count = fq.count = 25;
	ck_assert_int_eq(lt_gpio_window_take(&c, 12 * NSEC, false, &v), 0);
	ck_assert(v == 25);
	ck_assert_int_eq(lt_gpio_window_take(&fq, 12 * NSEC, true, &v), 0);
	ck_assert_double_eq_tol(v, 12.5, 1e-12);
	/* a late read: the window is longer, and the rate says so */
	fq.count = 30;
	ck_assert_int_eq(lt_gpio_window_take(&fq, 15 * NSEC, true, &v), 0);
	ck_assert_double_eq_tol(v, 10, 1e-12);
	fq.count = 1;
	ck_assert_int_eq(lt_gpio_window_take(&fq, 15 * NSEC + 250 * MS, true, &v), 0);
	ck_assert_double_eq_tol(v, 4, 1e-12);
	ck_assert_int_eq(lt_gpio_window_take(&fq, 16 * NSEC, true, &v), 0);
	ck_assert(v == 0);
}
END_TEST

START_TEST(empty_window_has_no_rate)
{
	struct lt_gpio_window w = { 0 };
	double v = -1;

	ck_assert_int_eq(lt_gpio_window_take(&w, 1 * NSEC, true, &v), -ENODATA);
	w.count = 1;
	ck_assert_int_eq(lt_gpio_window_take(&w, 1 * NSEC, true, &v), -ENODATA);
	ck_assert(v == -1);
	ck_assert_int_eq(lt_gpio_window_take(&w, 2 * NSEC, true, &v), 0);
	ck_assert(v == 1);
}
END_TEST

/* ---- through the configuration loader: FILE:LINE and the daemon's own checks ---- */

static const char conf_head[] = "[dcc \"f\"]\n"
				"type = graphite\n"
				"transport = stdout\n"
				"[device \"door\"]\n"
				"type = gpio\n"
				"chip = gpio-sim.0-node0\n"
				"consumer = test\n";

START_TEST(config_with_every_kind_loads)
{
	char text[1024], *errors;
	struct lt_model *m;

	snprintf(text, sizeof(text),
		 "%s[metric \"door.level\"]\nline = door\ninterval = 100ms\nactive_low = yes\n"
		 "bias = pull-up\n"
		 "[metric \"door.edges\"]\nline = door\nkind = edges\ndebounce = 2ms\n"
		 "active_low = on\nbias = pull-up\n"
		 "[metric \"door.count\"]\nline = 4\nkind = count\ninterval = 1s\nedge = both\n"
		 "[metric \"door.rate\"]\nline = 4\nkind = frequency\ninterval = 1s\n",
		 conf_head);
	m = confdir_load(text, &errors);
	ck_assert_msg(m != NULL, "%s", errors ? errors : "");
	ck_assert_uint_eq(m->ndevices, 1);
	ck_assert_uint_eq(m->nmetrics, 4);
	ck_assert(!m->metrics[0]->event_driven);
	ck_assert(m->metrics[1]->event_driven);
	ck_assert_uint_eq(m->metrics[1]->interval_ns, 0);
	ck_assert_uint_eq(m->devices[0]->ncounters, 4);
	model_free(m);
}
END_TEST

START_TEST(config_errors_name_file_and_line)
{
	char text[1024], *errors, *want;
	struct lt_model *m;

	snprintf(text, sizeof(text),
		 "%s[metric \"door.edges\"]\nline = door\nkind = edges\ninterval = 1s\n"
		 "[metric \"door.count\"]\nline = door\nkind = count\n"
		 "[metric \"door.bad\"]\nline = door\nkind = pulses\ninterval = 1s\n",
		 conf_head);
	m = confdir_load(text, &errors);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(errors);
	want = xasprintf("%s:8: [metric \"door.edges\"]: interval: kind edges has no interval "
			 "(each edge is one sample); use kind count or frequency for edges per "
			 "interval\n"
			 "%s:12: [metric \"door.count\"]: interval is required\n"
			 "%s:17: kind: unknown kind 'pulses' (value, edges, count or frequency)\n",
			 confdir_conf, confdir_conf, confdir_conf);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

START_TEST(config_kernel_timestamping_errors_name_file_and_line)
{
	char text[1024], *errors, *want;
	struct lt_model *m;

	snprintf(text, sizeof(text),
		 "%s[metric \"door.edges\"]\nline = 3\nkind = edges\ntimestamping = kernel\n"
		 "bias = pull-down\n"
		 "[metric \"door.fast\"]\nline = 4\nkind = edges\ntimestamping = kernel\n",
		 conf_head);
	m = confdir_load(text, &errors);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(errors);
	want = xasprintf("%s:8: [metric \"door.edges\"]: bias: timestamping = kernel cannot set "
			 "a bias (the kernel module takes the line as it is); use bias = as-is "
			 "or timestamping = gpiolib\n",
			 confdir_conf);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

static Suite *gpio_suite(void)
{
	Suite *s = suite_create("gpio");
	TCase *opts = tcase_create("options");
	TCase *open = tcase_create("open");
	TCase *edges = tcase_create("edges");
	TCase *win = tcase_create("windows");
	TCase *conf = tcase_create("config");
	TCase *ring = tcase_create("kernel ring");

	tcase_add_test(opts, registered_as_gpio);
	tcase_add_test(opts, device_options_and_their_errors);
	tcase_add_test(opts, metric_options_are_parsed);
	tcase_add_test(opts, metric_option_errors_say_why);
	tcase_add_test(opts, check_requires_chip_and_line);
	tcase_add_test(opts, check_rejects_options_that_do_not_apply_to_value);
	tcase_add_test(opts, edges_are_event_driven_and_take_no_interval);
	tcase_add_test(opts, counters_are_declared_once_by_event_metrics);
	tcase_add_test(opts, metrics_of_one_line_must_agree_on_its_settings);
	tcase_add_test(opts, kernel_timestamping_takes_the_line_as_it_is);

	tcase_add_test(open, open_names_a_missing_chip);
	tcase_add_test(open, open_refuses_what_is_not_a_gpio_chip);
	tcase_add_test(open, read_of_a_closed_device_is_device_gone);
	tcase_add_test(open, open_without_the_module_names_it);

	tcase_add_test(ring, ring_records_are_consumed_in_order_and_released);
	tcase_add_test(ring, ring_gaps_and_overflow_count_as_lost);
	tcase_add_test(ring, ring_bad_records_are_refused);
	tcase_add_test(ring, ring_header_must_be_the_modules);

	tcase_add_test(edges, both_edges_alternating_are_all_accepted);
	tcase_add_test(edges, same_edge_twice_on_a_both_line_is_merged);
	tcase_add_test(edges, one_edge_lines_never_merge);
	tcase_add_test(edges, debounce_drops_edges_soon_after_the_last_accepted_one);
	tcase_add_test(edges, first_edge_is_kept_whatever_its_time);
	tcase_add_test(edges, merged_is_seen_in_edges_that_debounce_drops);
	tcase_add_test(edges, bounce_ending_in_the_other_state_is_reported_when_it_settles);
	tcase_add_test(edges, settled_edges_keep_the_reported_edges_alternating);
	tcase_add_test(edges, one_edge_lines_never_settle);

	tcase_add_test(win, first_take_starts_the_first_window);
	tcase_add_test(win, count_is_per_window_and_frequency_per_second);
	tcase_add_test(win, empty_window_has_no_rate);

	tcase_add_checked_fixture(conf, confdir_setup, confdir_teardown);
	tcase_add_test(conf, config_with_every_kind_loads);
	tcase_add_test(conf, config_errors_name_file_and_line);
	tcase_add_test(conf, config_kernel_timestamping_errors_name_file_and_line);

	suite_add_tcase(s, opts);
	suite_add_tcase(s, open);
	suite_add_tcase(s, edges);
	suite_add_tcase(s, win);
	suite_add_tcase(s, conf);
	suite_add_tcase(s, ring);
	return s;
}

LT_UNIT_MAIN_INTREE(gpio_suite)
