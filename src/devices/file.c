/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: one number read from a file at each sample, as raw * scale + offset.
 * Made for sysfs attributes (thermal_zoneN/temp, hwmon tempN_input), which
 * refresh when read again from offset 0, but works with any text file.
 *
 * The file stays open between samples. A file that cannot be opened or read
 * is not fatal: it is reopened at the next read, so a hwmon device that comes
 * back after a hot-unplug, or a file replaced by rename(), is picked up.
 *
 * Nothing waits: files are opened with O_NONBLOCK, since opening a FIFO
 * without a writer, or reading an empty one, would otherwise hold the whole
 * device's sampler. A FIFO (or a character device, a socket) is a stream:
 * each read takes what has arrived and keeps its last complete line; when
 * nothing has, the metric has no sample this time (not an error).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <liota/liota.h>
#include "core/intree.h"
#include "devices/devices.h"

/* Longest content accepted: plenty for any number, bounded for anything else. */
#define FILE_MAX_LEN 64
/* A stream's reads per sample (of STREAM_CHUNK bytes): bounded work for a flood. */
#define STREAM_READS 16
#define STREAM_CHUNK 4096

struct file_metric {
	char *path;
	double scale;
	double offset;
	unsigned seen; /* the keys given (file_opts) */
	int fd;        /* -1 while closed */
	bool failed;   /* the last open or read failed (and was logged) */
	bool stream;   /* a FIFO, character device or socket: no offsets */
	/* a stream's line so far; FILE_MAX_LEN + 1 bytes mean "too long" */
	char part[FILE_MAX_LEN + 1];
	size_t part_len;
};

static int file_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			      size_t errlen)
{
	return -ENOENT;
}

static int file_metric_init(struct lt_metric *m)
{
	struct file_metric *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->scale = 1;
	f->offset = 0;
	f->fd = -1;
	lt_metric_set_priv(m, f);
	return 0;
}

static const struct lt_opt file_opts[] = {
	LT_OPT_STRING("path", struct file_metric, path, LT_OPT_REQUIRED | LT_OPT_NONEMPTY, 0,
		      "file, FIFO or device read for each sample"),
	LT_OPT_DOUBLE("scale", struct file_metric, scale, 0, -DBL_MAX, DBL_MAX,
		      "value = content * scale + offset"),
	LT_OPT_DOUBLE("offset", struct file_metric, offset, 0, -DBL_MAX, DBL_MAX,
		      "value = content * scale + offset"),
	LT_OPT_END_SEEN(struct file_metric, seen),
};

static int file_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			      size_t errlen)
{
	return lt_opts_set(file_opts, lt_metric_priv(m), key, value, err, errlen);
}

static int file_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	return lt_opts_check(file_opts, lt_metric_priv(m), err, errlen);
}

static void file_close_fd(struct file_metric *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

/* Log a failure once: the next message is "readable again". */
static int file_failed(struct lt_metric *m, struct file_metric *f, const char *what, int err)
{
	if (!f->failed)
		lt_metric_log(m, LOG_WARNING, "cannot %s %s: %s", what, f->path, strerror(err));
	f->failed = true;
	return -err;
}

static int file_open_fd(struct lt_metric *m, struct file_metric *f)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return file_failed(m, f, "open", errno);
	f->fd = fd;
	f->stream = fstat(fd, &st) == 0 &&
		    (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode));
	f->part_len = 0;
	return 0;
}

/*
 * Read what a stream holds now, without waiting, into @buf: its last
 * complete line (a partial one is kept for the next read). Returns the
 * line's length, -ENODATA when no line was completed, -EMSGSIZE for a line
 * longer than FILE_MAX_LEN, or a negative errno of read().
 */
static ssize_t file_read_stream(struct file_metric *f, char *buf)
{
	char chunk[STREAM_CHUNK];
	ssize_t got = -ENODATA;

	for (int i = 0; i < STREAM_READS; i++) {
		ssize_t n = read(f->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0) /* no writer: nothing more */
			break;
		for (ssize_t k = 0; k < n; k++) {
			if (chunk[k] != '\n') {
				if (f->part_len <= FILE_MAX_LEN)
					f->part[f->part_len++] = chunk[k];
				continue;
			}
			if (f->part_len > FILE_MAX_LEN) {
				got = -EMSGSIZE;
			} else {
				memcpy(buf, f->part, f->part_len);
				got = (ssize_t)f->part_len;
			}
			f->part_len = 0;
		}
	}
	return got;
}

/* Open every metric's file; the ones that fail are retried at each read. */
static int file_open(struct lt_device *dev, char *err, size_t errlen)
{
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct lt_metric *m = lt_device_metric(dev, i);
		struct file_metric *f = lt_metric_priv(m);

		if (f && f->fd < 0)
			file_open_fd(m, f);
	}
	return 0;
}

/*
 * Parse the @len bytes of @buf (NUL-terminated after them) as one finite
 * number with optional white space around: -ENODATA when blank, -EINVAL for
 * anything else, embedded NUL bytes included.
 */
static int file_parse(const char *buf, size_t len, double *out)
{
	const char *p = buf, *stop = buf + len;
	char *end;
	double v;

	while (p < stop && isspace((unsigned char)*p))
		p++;
	if (p == stop)
		return -ENODATA;
	v = strtod(p, &end);
	if (end == p || !isfinite(v)) /* overflow gives inf: rejected too */
		return -EINVAL;
	while (end < stop && isspace((unsigned char)*end))
		end++;
	if (end != stop)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Log content that is not a number: trimmed, anything unprintable shown as '?'. */
static void file_log_garbage(struct lt_metric *m, const struct file_metric *f, char *buf,
			     size_t len)
{
	char *s = buf, *e = buf + len;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	for (char *p = s; p < e; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	lt_metric_log(m, LOG_WARNING, "%s: '%s' is not a number", f->path, s);
}

static int file_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct file_metric *f = lt_metric_priv(m);
	char buf[FILE_MAX_LEN + 1];
	struct stat st;
	ssize_t n;
	double raw;
	int r;

	/* A file deleted or replaced by rename() keeps the old inode readable: reopen. */
	if (f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_nlink == 0)
		file_close_fd(f);
	if (f->fd < 0) {
		r = file_open_fd(m, f);
		if (r < 0)
			return r;
	}

	if (f->stream) {
		n = file_read_stream(f, buf);
		if (n == -ENODATA)
			return -ENODATA;
		if (n == -EMSGSIZE)
			n = FILE_MAX_LEN + 1;
		else if (n < 0)
			errno = (int)-n;
	} else {
		/* One byte more than accepted, to tell a long file from a full buffer. */
		n = pread(f->fd, buf, FILE_MAX_LEN + 1, 0);
	}
	if (n < 0) {
		r = errno;
		if (r == EINTR) /* the sampler is being woken to stop: not the file's fault */
			return -EINTR;
		file_close_fd(f);
		return file_failed(m, f, "read", r);
	}
	if (f->failed) {
		lt_metric_log(m, LOG_INFO, "%s readable again", f->path);
		f->failed = false;
	}
	if (n > FILE_MAX_LEN) {
		lt_metric_log(m, LOG_WARNING, "%s: more than %d bytes, not a number", f->path,
			      FILE_MAX_LEN);
		return -EINVAL;
	}
	buf[n] = '\0';

	r = file_parse(buf, (size_t)n, &raw);
	if (r == -EINVAL)
		file_log_garbage(m, f, buf, (size_t)n);
	if (r < 0)
		return r;
	*value = raw * f->scale + f->offset;
	return 0;
}

static void file_close(struct lt_device *dev)
{
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct file_metric *f = lt_metric_priv(lt_device_metric(dev, i));

		if (f)
			file_close_fd(f);
	}
}

static void file_metric_free(struct lt_metric *m)
{
	struct file_metric *f = lt_metric_priv(m);

	if (!f)
		return;
	file_close_fd(f);
	free(f->path);
	free(f);
	lt_metric_set_priv(m, NULL);
}

const struct lt_device_driver lt_device_file = {
	.name = "file",
	.device_option = file_device_option,
	.metric_init = file_metric_init,
	.metric_option = file_metric_option,
	.metric_check = file_metric_check,
	.open = file_open,
	.read = file_read,
	.close = file_close,
	.metric_free = file_metric_free,
};

static int file_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_file, err, errlen);
}

LT_INTREE_PACKAGE(file, .name = "file", .version = PACKAGE_VERSION, .init = file_package_init);
