/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The built-in device drivers (sim, file) and their registry, driven through
 * their callbacks the way the configuration loader and a sampler do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intree.h"
#include "unit.h"
#include "core/config.h"
#include "devices/devices.h"
#include "model.h"
#include "drvfix.h"

#define NSEC 1000000000ull

/* ---- fixture (drvfix.h): one device of a driver, its metrics, and a scratch folder ---- */

static void fx_init(struct fx *f, const struct lt_device_driver *drv, const char *devname)
{
	const char *tmp = getenv("TMPDIR");

	fx_setup(f, drv, devname);
	snprintf(f->dir, sizeof(f->dir), "%s/lt-devices-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
}

static struct lt_metric *fx_metric(struct fx *f, const char *name)
{
	return fx_new_metric(f, name, "", NSEC);
}

/* Set options (NULL-terminated key, value pairs) that must all be accepted, then check. */
static struct lt_metric *fx_metric_with(struct fx *f, const char *name, ...)
{
	struct lt_metric *m = fx_metric(f, name);
	va_list ap;

	va_start(ap, name);
	fx_opts_va(f, m, ap);
	va_end(ap);
	ck_assert_msg(fx_check(f, m) == 0, "check: %s", f->err);
	return m;
}

static void fx_open(struct fx *f)
{
	if (f->dev->drv->open)
		ck_assert_int_eq(f->dev->drv->open(f->dev, f->err, sizeof(f->err)), 0);
	f->opened = 1;
}

static int fx_read(struct fx *f, struct lt_metric *m, double *v)
{
	return f->dev->drv->read(f->dev, m, v);
}

static double fx_read_ok(struct fx *f, struct lt_metric *m)
{
	double v = NAN;

	ck_assert_int_eq(fx_read(f, m, &v), 0);
	return v;
}

/* Path of @name in the scratch folder, in a static buffer (one at a time). */
static const char *fx_path(struct fx *f, const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

/* Write @len bytes of @content into scratch file @name in place (same inode, truncated). */
static void fx_write_len(struct fx *f, const char *name, const char *content, size_t len)
{
	int fd = open(fx_path(f, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void fx_write(struct fx *f, const char *name, const char *content)
{
	fx_write_len(f, name, content, strlen(content));
}

static void fx_free(struct fx *f)
{
	DIR *d;

	fx_release(f);
	d = opendir(f->dir);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name,
					 e->d_type == DT_DIR ? AT_REMOVEDIR : 0);
		closedir(d);
	}
	rmdir(f->dir);
}

/* Send stderr (where the log goes outside the journal) to a file, to inspect it. */
static int stderr_capture(struct fx *f)
{
	int saved = dup(STDERR_FILENO);
	int fd = open(fx_path(f, "stderr"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

/* Restore stderr and return how many times @needle was logged. */
static int stderr_count(struct fx *f, int saved, const char *needle)
{
	char buf[8192];
	ssize_t n;
	int fd, count = 0;

	fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	fd = open(fx_path(f, "stderr"), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
		count++;
	return count;
}

/* ---- registry ---- */

/* Every device driver is a package's: the in-tree ones are added statically here. */
START_TEST(registry_finds_intree_drivers_by_name)
{
	ck_assert_ptr_eq(pkg_device_driver("sim"), &lt_device_sim);
	ck_assert_ptr_eq(pkg_device_driver("file"), &lt_device_file);
	ck_assert_ptr_eq(pkg_device_driver("can"), &lt_device_can);
	ck_assert_ptr_eq(pkg_device_driver("gpio"), &lt_device_gpio);
	ck_assert_ptr_eq(pkg_device_driver("modbus"), &lt_device_modbus);
	ck_assert_ptr_eq(pkg_device_driver("iio"), &lt_device_iio);
	ck_assert_ptr_null(pkg_device_driver("nope"));
	ck_assert_ptr_null(pkg_device_driver(""));
}
END_TEST

/* Each in-tree device package provides one driver, named as the package (pkg_load_type finds it).
 */
START_TEST(registry_intree_packages_are_named_as_their_driver)
{
	static const char *const names[] = { "sim", "file", "can", "gpio", "iio", "modbus" };
	struct pkg_info info[PKG_MAX];
	size_t n = pkg_list(info);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t j = 0;

		while (j < n && strcmp(info[j].name, names[i]) != 0)
			j++;
		ck_assert_msg(j < n, "package %s not added", names[i]);
		ck_assert_uint_eq(info[j].ndevice_drivers, 1);
		ck_assert_uint_eq(info[j].ndcc_drivers, 0);
		ck_assert_ptr_nonnull(pkg_device_driver(names[i])->read);
	}
}
END_TEST

/* ---- sim ---- */

START_TEST(sim_sine_is_exact_at_known_phases)
{
	const uint64_t period = 60 * NSEC;
	const uint64_t epoch = 1700000040ull * NSEC; /* a multiple of 60 s */

	ck_assert_double_eq_tol(lt_sim_sine(0, 10, 20, period, 0), 20, 1e-12);
	ck_assert_double_eq_tol(lt_sim_sine(15 * NSEC, 10, 20, period, 0), 30, 1e-12);
	ck_assert_double_eq_tol(lt_sim_sine(45 * NSEC, 10, 20, period, 0), 10, 1e-12);
	ck_assert_double_eq_tol(lt_sim_sine(epoch + 15 * NSEC, 10, 20, period, 0), 30, 1e-12);
	/* phase shifts the wave earlier: t = 0 with phase 15 s is the crest */
	ck_assert_double_eq_tol(lt_sim_sine(epoch, 10, 20, period, 15 * NSEC), 30, 1e-12);
	ck_assert_double_eq_tol(lt_sim_sine(epoch, 2, -5, period, 45 * NSEC), -7, 1e-12);
}
END_TEST

START_TEST(sim_sine_read_stays_within_amplitude)
{
	struct fx f;
	struct lt_metric *dflt, *m;

	fx_init(&f, &lt_device_sim, "room");
	dflt = fx_metric_with(&f, "temp", NULL);
	m = fx_metric_with(&f, "fast", "function", "sine", "amplitude", "3", "offset", "-1",
			   "period", "1ms", NULL);
	for (int i = 0; i < 1000; i++) {
		double v = fx_read_ok(&f, dflt);

		ck_assert(v >= 10 && v <= 30);
		v = fx_read_ok(&f, m);
		ck_assert(v >= -4 && v <= 2);
	}
	fx_free(&f);
}
END_TEST

START_TEST(sim_sine_read_follows_realtime_clock)
{
	const uint64_t period = 3600 * NSEC;
	struct timespec t0, t1;
	struct lt_metric *m;
	struct fx f;
	double v, a, b;

	fx_init(&f, &lt_device_sim, "room");
	m = fx_metric_with(&f, "temp", "period", "1h", "phase", "10m", NULL);
	clock_gettime(CLOCK_REALTIME, &t0);
	v = fx_read_ok(&f, m);
	clock_gettime(CLOCK_REALTIME, &t1);
	a = lt_sim_sine((uint64_t)t0.tv_sec * NSEC + (uint64_t)t0.tv_nsec, 10, 20, period,
			600 * NSEC);
	b = lt_sim_sine((uint64_t)t1.tv_sec * NSEC + (uint64_t)t1.tv_nsec, 10, 20, period,
			600 * NSEC);
	/* the wave is slow: between the values at both ends of the read */
	ck_assert(v >= fmin(a, b) - 1e-4 && v <= fmax(a, b) + 1e-4);
	fx_free(&f);
}
END_TEST

START_TEST(sim_counter_counts_from_start_by_step)
{
	struct lt_metric *dflt, *m;
	struct fx f;

	fx_init(&f, &lt_device_sim, "meter");
	dflt = fx_metric_with(&f, "ticks", "function", "counter", NULL);
	m = fx_metric_with(&f, "down", "start", "5", "step", "-3", "function", "counter", NULL);
	for (int i = 0; i < 100; i++) {
		ck_assert(fx_read_ok(&f, dflt) == (double)i);
		ck_assert(fx_read_ok(&f, m) == 5.0 - 3.0 * i);
	}
	fx_free(&f);
}
END_TEST

START_TEST(sim_counter_fractional_step_does_not_drift)
{
	struct lt_metric *m;
	struct fx f;
	double v = 0;

	fx_init(&f, &lt_device_sim, "meter");
	m = fx_metric_with(&f, "energy", "function", "counter", "step", "0.1", NULL);
	for (int i = 0; i < 10000; i++)
		v = fx_read_ok(&f, m);
	ck_assert_double_eq_tol(v, 999.9, 1e-9);
	fx_free(&f);
}
END_TEST

START_TEST(sim_constant_returns_value)
{
	struct lt_metric *dflt, *m;
	struct fx f;

	fx_init(&f, &lt_device_sim, "ref");
	dflt = fx_metric_with(&f, "zero", "function", "constant", NULL);
	m = fx_metric_with(&f, "volt", "function", "constant", "value", "3.3", NULL);
	for (int i = 0; i < 10; i++) {
		ck_assert(fx_read_ok(&f, dflt) == 0.0);
		ck_assert(fx_read_ok(&f, m) == 3.3);
	}
	fx_free(&f);
}
END_TEST

START_TEST(sim_random_walk_is_reproducible_with_same_seed)
{
	struct lt_metric *a, *b, *c;
	struct fx f;
	int differ = 0;

	fx_init(&f, &lt_device_sim, "walker");
	a = fx_metric_with(&f, "a", "function", "random_walk", "seed", "42", NULL);
	b = fx_metric_with(&f, "b", "function", "random_walk", "seed", "42", NULL);
	c = fx_metric_with(&f, "c", "function", "random_walk", "seed", "43", NULL);
	for (int i = 0; i < 1000; i++) {
		double va = fx_read_ok(&f, a), vb = fx_read_ok(&f, b), vc = fx_read_ok(&f, c);

		ck_assert(va == vb);
		differ += va != vc;
	}
	ck_assert_int_gt(differ, 900);
	fx_free(&f);
}
END_TEST

START_TEST(sim_random_walk_default_seed_comes_from_full_name)
{
	struct fx f1, f2;
	struct lt_metric *a1, *b1, *a2;
	int differ = 0;

	fx_init(&f1, &lt_device_sim, "walker");
	fx_init(&f2, &lt_device_sim, "walker");
	a1 = fx_metric_with(&f1, "a", "function", "random_walk", NULL);
	b1 = fx_metric_with(&f1, "b", "function", "random_walk", NULL);
	a2 = fx_metric_with(&f2, "a", "function", "random_walk", NULL);
	for (int i = 0; i < 1000; i++) {
		double va1 = fx_read_ok(&f1, a1), vb1 = fx_read_ok(&f1, b1);

		ck_assert(va1 == fx_read_ok(&f2, a2));
		differ += va1 != vb1;
	}
	ck_assert_int_gt(differ, 900);
	fx_free(&f1);
	fx_free(&f2);
}
END_TEST

START_TEST(sim_random_walk_starts_at_start_and_moves_at_most_step)
{
	struct lt_metric *m;
	struct fx f;
	double prev, v;
	int moved = 0;

	fx_init(&f, &lt_device_sim, "walker");
	m = fx_metric_with(&f, "w", "function", "random_walk", "start", "100", "step", "0.5", NULL);
	prev = fx_read_ok(&f, m);
	ck_assert(prev == 100);
	for (int i = 0; i < 10000; i++) {
		v = fx_read_ok(&f, m);
		ck_assert(fabs(v - prev) <= 0.5);
		moved += v != prev;
		prev = v;
	}
	ck_assert_int_gt(moved, 9000);
	fx_free(&f);
}
END_TEST

START_TEST(sim_random_walk_stays_within_min_and_max)
{
	struct lt_metric *m, *wide;
	struct fx f;
	double prev, v;

	fx_init(&f, &lt_device_sim, "walker");
	m = fx_metric_with(&f, "w", "function", "random_walk", "min", "-5", "max", "5", "step", "2",
			   "seed", "7", NULL);
	/* a step wider than the range: values are still clamped */
	wide = fx_metric_with(&f, "x", "function", "random_walk", "min", "0", "max", "1", "step",
			      "10", NULL);
	prev = fx_read_ok(&f, m);
	for (int i = 0; i < 10000; i++) {
		v = fx_read_ok(&f, m);
		ck_assert(v >= -5 && v <= 5);
		ck_assert(fabs(v - prev) <= 2);
		prev = v;
		v = fx_read_ok(&f, wide);
		ck_assert(v >= 0 && v <= 1);
	}
	fx_free(&f);
}
END_TEST

START_TEST(sim_random_walk_implicit_start_is_moved_into_range)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_sim, "walker");
	m = fx_metric_with(&f, "w", "function", "random_walk", "min", "10", "max", "20", NULL);
	ck_assert(fx_read_ok(&f, m) == 10);
	fx_free(&f);
}
END_TEST

START_TEST(sim_random_walk_rejects_bad_bounds)
{
	struct lt_metric *m, *s, *neg;
	struct fx f;

	fx_init(&f, &lt_device_sim, "walker");
	m = fx_metric(&f, "w");
	ck_assert_int_eq(fx_opt(&f, m, "function", "random_walk"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "min", "5"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "max", "5"), 0);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "min must be lower than max");

	s = fx_metric(&f, "s");
	ck_assert_int_eq(fx_opt(&f, s, "function", "random_walk"), 0);
	ck_assert_int_eq(fx_opt(&f, s, "max", "1"), 0);
	ck_assert_int_eq(fx_opt(&f, s, "start", "2"), 0);
	ck_assert_int_eq(fx_check(&f, s), -EINVAL);
	ck_assert_str_eq(f.err, "start must be between min and max");

	neg = fx_metric(&f, "n");
	ck_assert_int_eq(fx_opt(&f, neg, "function", "random_walk"), 0);
	ck_assert_int_eq(fx_opt(&f, neg, "step", "-1"), 0);
	ck_assert_int_eq(fx_check(&f, neg), -EINVAL);
	ck_assert_str_eq(f.err, "step must not be negative");
	fx_free(&f);
}
END_TEST

START_TEST(sim_rejects_unknown_keys)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_sim, "room");
	m = fx_metric(&f, "temp");
	ck_assert_int_eq(fx_opt(&f, m, "colour", "blue"), -ENOENT);
	ck_assert_int_eq(lt_device_sim.device_option(f.dev, "amplitude", "1", f.err, sizeof(f.err)),
			 -ENOENT);
	fx_free(&f);
}
END_TEST

START_TEST(sim_rejects_bad_values)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_sim, "room");
	m = fx_metric(&f, "temp");
	ck_assert_int_eq(fx_opt(&f, m, "amplitude", "abc"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "period", "soon"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "period", "0"), -EINVAL);
	ck_assert_str_eq(f.err, "period must be longer than 0");
	ck_assert_int_eq(fx_opt(&f, m, "seed", "-1"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "function", "square"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(f.err, "square"));
	/* nothing was taken: the metric is still a valid default sine */
	ck_assert_int_eq(fx_check(&f, m), 0);
	fx_free(&f);
}
END_TEST

START_TEST(sim_rejects_option_of_another_function)
{
	struct lt_metric *m, *before;
	struct fx f;

	fx_init(&f, &lt_device_sim, "room");
	m = fx_metric(&f, "temp");
	ck_assert_int_eq(fx_opt(&f, m, "function", "counter"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "amplitude", "1"), 0);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "amplitude does not apply to function counter");

	/* "function" after the option: same verdict */
	before = fx_metric(&f, "hum");
	ck_assert_int_eq(fx_opt(&f, before, "seed", "1"), 0);
	ck_assert_int_eq(fx_opt(&f, before, "function", "sine"), 0);
	ck_assert_int_eq(fx_check(&f, before), -EINVAL);
	ck_assert_str_eq(f.err, "seed does not apply to function sine");
	fx_free(&f);
}
END_TEST

/* ---- file ---- */

START_TEST(file_reads_scaled_value)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_file, "cpu");
	fx_write(&f, "temp", "42000\n");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), "scale", "0.001", NULL);
	fx_open(&f);
	ck_assert(fx_read_ok(&f, m) == 42.0);
	ck_assert(fx_read_ok(&f, m) == 42.0);
	fx_free(&f);
}
END_TEST

START_TEST(file_applies_offset_after_scale)
{
	struct lt_metric *m, *plain;
	struct fx f;

	fx_init(&f, &lt_device_file, "adc");
	fx_write(&f, "raw", "  100 \n");
	m = fx_metric_with(&f, "v", "path", fx_path(&f, "raw"), "offset", "-1.5", "scale", "2",
			   NULL);
	plain = fx_metric_with(&f, "raw", "path", fx_path(&f, "raw"), NULL);
	fx_open(&f);
	ck_assert(fx_read_ok(&f, m) == 198.5);
	ck_assert(fx_read_ok(&f, plain) == 100);
	fx_free(&f);
}
END_TEST

START_TEST(file_rereads_changed_content)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_file, "cpu");
	fx_write(&f, "temp", "1\n");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	ck_assert(fx_read_ok(&f, m) == 1);
	fx_write(&f, "temp", "-2.5\n");
	ck_assert(fx_read_ok(&f, m) == -2.5);
	fx_write(&f, "temp", "1e3");
	ck_assert(fx_read_ok(&f, m) == 1000);
	fx_free(&f);
}
END_TEST

START_TEST(file_follows_file_replaced_by_rename)
{
	struct lt_metric *m;
	struct fx f;
	char tmp[512];

	fx_init(&f, &lt_device_file, "app");
	fx_write(&f, "value", "1\n");
	m = fx_metric_with(&f, "value", "path", fx_path(&f, "value"), NULL);
	fx_open(&f);
	ck_assert(fx_read_ok(&f, m) == 1);
	fx_write(&f, "value.tmp", "2\n");
	snprintf(tmp, sizeof(tmp), "%s", fx_path(&f, "value.tmp"));
	ck_assert_int_eq(rename(tmp, fx_path(&f, "value")), 0);
	ck_assert(fx_read_ok(&f, m) == 2);
	fx_free(&f);
}
END_TEST

START_TEST(file_rejects_garbage)
{
	const char *bad[] = { "abc\n", "12abc\n", "1 2\n", "nan\n", "inf\n", "1e999\n", "4\x01\n" };
	struct lt_metric *m;
	struct fx f;
	double v = 7;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_write(&f, "temp", "1\n");
	fx_open(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_write(&f, "temp", bad[i]);
		ck_assert_msg(fx_read(&f, m, &v) == -EINVAL, "'%s' taken", bad[i]);
		ck_assert(v == 7); /* untouched on failure */
	}
	fx_write_len(&f, "temp", "4\0002\n", 4); /* an embedded NUL is not white space */
	ck_assert_int_eq(fx_read(&f, m, &v), -EINVAL);
	fx_free(&f);
}
END_TEST

START_TEST(file_rejects_content_longer_than_64_bytes)
{
	char big[100];
	struct lt_metric *m;
	struct fx f;
	double v;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fx_init(&f, &lt_device_file, "cpu");
	fx_write(&f, "temp", big);
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	ck_assert_int_eq(fx_read(&f, m, &v), -EINVAL);
	big[64] = '\0'; /* exactly 64 bytes still fit */
	fx_write(&f, "temp", big);
	ck_assert_int_eq(fx_read(&f, m, &v), 0);
	fx_free(&f);
}
END_TEST

START_TEST(file_empty_is_no_data)
{
	struct lt_metric *m;
	struct fx f;
	double v;

	fx_init(&f, &lt_device_file, "cpu");
	fx_write(&f, "temp", "");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA);
	fx_write(&f, "temp", " \n");
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA);
	fx_write(&f, "temp", "5\n");
	ck_assert(fx_read_ok(&f, m) == 5);
	fx_free(&f);
}
END_TEST

START_TEST(file_fifo_never_waits_and_gives_its_last_line)
{
	struct lt_metric *m;
	struct fx f;
	double v;
	int w;

	fx_init(&f, &lt_device_file, "pipe");
	ck_assert_int_eq(mkfifo(fx_path(&f, "fifo"), 0600), 0);
	m = fx_metric_with(&f, "v", "path", fx_path(&f, "fifo"), NULL);
	fx_open(&f); /* no writer: opening a FIFO used to wait for one */
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA);
	w = open(fx_path(&f, "fifo"), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(w, 0);
	/* Empty, with a writer: no data (reading used to wait), not an error. */
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA);
	ck_assert_int_eq(write(w, "1\n2\n3", 5), 5);
	ck_assert(fx_read_ok(&f, m) == 2);
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA);
	ck_assert_int_eq(write(w, "4\n", 2), 2);
	ck_assert(fx_read_ok(&f, m) == 34); /* the partial line was kept */
	close(w);
	ck_assert_int_eq(fx_read(&f, m, &v), -ENODATA); /* no writer any more */
	ck_assert_uint_eq(atomic_load(&m->errors), 0);
	fx_free(&f);
}
END_TEST

START_TEST(file_missing_at_open_is_retried_at_each_read)
{
	struct lt_metric *m;
	struct fx f;
	double v;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f); /* not fatal */
	ck_assert_int_eq(fx_read(&f, m, &v), -ENOENT);
	ck_assert_int_eq(fx_read(&f, m, &v), -ENOENT);
	fx_write(&f, "temp", "3\n");
	ck_assert(fx_read_ok(&f, m) == 3);
	fx_free(&f);
}
END_TEST

START_TEST(file_deleted_then_recreated_reads_again)
{
	struct lt_metric *m;
	struct fx f;
	double v;

	fx_init(&f, &lt_device_file, "cpu");
	fx_write(&f, "temp", "1\n");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	ck_assert(fx_read_ok(&f, m) == 1);
	ck_assert_int_eq(unlink(fx_path(&f, "temp")), 0);
	ck_assert_int_eq(fx_read(&f, m, &v), -ENOENT);
	fx_write(&f, "temp", "2\n");
	ck_assert(fx_read_ok(&f, m) == 2);
	fx_free(&f);
}
END_TEST

START_TEST(file_read_error_reopens_at_next_read)
{
	struct lt_metric *m;
	struct fx f;
	double v;

	fx_init(&f, &lt_device_file, "hwmon");
	/* a folder opens fine but fails to read (EISDIR), like an unplugged device */
	ck_assert_int_eq(mkdir(fx_path(&f, "temp"), 0755), 0);
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	ck_assert_int_eq(fx_read(&f, m, &v), -EISDIR);
	ck_assert_int_eq(rmdir(fx_path(&f, "temp")), 0);
	fx_write(&f, "temp", "4\n");
	ck_assert(fx_read_ok(&f, m) == 4);
	fx_free(&f);
}
END_TEST

START_TEST(file_logs_each_state_change_once)
{
	struct lt_metric *m;
	struct fx f;
	int saved;
	double v;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	saved = stderr_capture(&f);
	fx_open(&f);
	for (int i = 0; i < 3; i++)
		fx_read(&f, m, &v);
	fx_write(&f, "temp", "1\n");
	for (int i = 0; i < 3; i++)
		fx_read(&f, m, &v);
	fx_write(&f, "temp", "abc\n");
	fx_read(&f, m, &v);
	ck_assert_int_eq(stderr_count(&f, saved, "cannot open"), 1);
	fx_free(&f);
}
END_TEST

START_TEST(file_logs_recovery_and_garbage)
{
	struct lt_metric *m;
	struct fx f;
	char needle[600];
	int saved;
	double v;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric_with(&f, "temp", "path", fx_path(&f, "temp"), NULL);
	fx_open(&f);
	saved = stderr_capture(&f);
	fx_read(&f, m, &v);
	fx_write(&f, "temp", "1\n");
	fx_read(&f, m, &v);
	fx_read(&f, m, &v);
	ck_assert_int_eq(stderr_count(&f, saved, "readable again"), 1);

	saved = stderr_capture(&f);
	fx_write(&f, "temp", "abc\n");
	fx_read(&f, m, &v);
	snprintf(needle, sizeof(needle), "%s: 'abc' is not a number", fx_path(&f, "temp"));
	ck_assert_int_eq(stderr_count(&f, saved, needle), 1);
	fx_free(&f);
}
END_TEST

START_TEST(file_requires_path)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric(&f, "temp");
	ck_assert_int_eq(fx_opt(&f, m, "scale", "2"), 0);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "path is required");
	fx_free(&f);
}
END_TEST

START_TEST(file_rejects_unknown_keys_and_bad_values)
{
	struct lt_metric *m;
	struct fx f;

	fx_init(&f, &lt_device_file, "cpu");
	m = fx_metric(&f, "temp");
	ck_assert_int_eq(fx_opt(&f, m, "function", "sine"), -ENOENT);
	ck_assert_int_eq(lt_device_file.device_option(f.dev, "path", "/x", f.err, sizeof(f.err)),
			 -ENOENT);
	ck_assert_int_eq(fx_opt(&f, m, "scale", "x"), -EINVAL);
	ck_assert_str_ne(f.err, "");
	ck_assert_int_eq(fx_opt(&f, m, "offset", ""), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "path", ""), -EINVAL);
	ck_assert_str_eq(f.err, "path must not be empty");
	/* a path given twice: the last one wins, the first is freed */
	ck_assert_int_eq(fx_opt(&f, m, "path", "/a"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "path", "/b"), 0);
	ck_assert_int_eq(fx_check(&f, m), 0);
	fx_free(&f);
}
END_TEST

static Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *reg = tcase_create("registry");
	TCase *sim = tcase_create("sim");
	TCase *file = tcase_create("file");

	tcase_add_test(reg, registry_finds_intree_drivers_by_name);
	tcase_add_test(reg, registry_intree_packages_are_named_as_their_driver);

	tcase_add_test(sim, sim_sine_is_exact_at_known_phases);
	tcase_add_test(sim, sim_sine_read_stays_within_amplitude);
	tcase_add_test(sim, sim_sine_read_follows_realtime_clock);
	tcase_add_test(sim, sim_counter_counts_from_start_by_step);
	tcase_add_test(sim, sim_counter_fractional_step_does_not_drift);
	tcase_add_test(sim, sim_constant_returns_value);
	tcase_add_test(sim, sim_random_walk_is_reproducible_with_same_seed);
	tcase_add_test(sim, sim_random_walk_default_seed_comes_from_full_name);
	tcase_add_test(sim, sim_random_walk_starts_at_start_and_moves_at_most_step);
	tcase_add_test(sim, sim_random_walk_stays_within_min_and_max);
	tcase_add_test(sim, sim_random_walk_implicit_start_is_moved_into_range);
	tcase_add_test(sim, sim_random_walk_rejects_bad_bounds);
	tcase_add_test(sim, sim_rejects_unknown_keys);
	tcase_add_test(sim, sim_rejects_bad_values);
	tcase_add_test(sim, sim_rejects_option_of_another_function);

	tcase_add_test(file, file_reads_scaled_value);
	tcase_add_test(file, file_applies_offset_after_scale);
	tcase_add_test(file, file_rereads_changed_content);
	tcase_add_test(file, file_follows_file_replaced_by_rename);
	tcase_add_test(file, file_rejects_garbage);
	tcase_add_test(file, file_rejects_content_longer_than_64_bytes);
	tcase_add_test(file, file_empty_is_no_data);
	tcase_add_test(file, file_missing_at_open_is_retried_at_each_read);
	tcase_add_test(file, file_deleted_then_recreated_reads_again);
	tcase_add_test(file, file_read_error_reopens_at_next_read);
	tcase_add_test(file, file_logs_each_state_change_once);
	tcase_add_test(file, file_logs_recovery_and_garbage);
	tcase_add_test(file, file_requires_path);
	tcase_add_test(file, file_fifo_never_waits_and_gives_its_last_line);
	tcase_add_test(file, file_rejects_unknown_keys_and_bad_values);

	suite_add_tcase(s, reg);
	suite_add_tcase(s, sim);
	suite_add_tcase(s, file);
	return s;
}

LT_UNIT_MAIN_INTREE(devices_suite)
