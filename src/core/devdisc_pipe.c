/* SPDX-License-Identifier: BSD-2-Clause */
/* Device discovery by message, the named pipe (devdisc_pipe.h). */
#include "devdisc_pipe.h"
#include "devdisc.h"
#include "trust.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A whole message and one byte more: a full buffer without a newline is too long. */
#define BUF_SIZE (LT_DEVDISC_MSG_MAX + 1)

struct lt_devdisc_pipe {
	int fd;
	char *path;
	bool dropping; /* the rest of a line too long, up to its newline */
	size_t fill;
	char buf[BUF_SIZE];
};

/* The pipe @base in the opened folder @dfd: made, or an existing one of ours. */
static int fifo_open(int dfd, const char *path, const char *base, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (mkfifoat(dfd, base, 0600) < 0 && errno != EEXIST)
		return lt_errf(err, errlen, -errno, "%s: cannot make the pipe: %s", path,
			       strerror(errno));
	/* Read-write: a writer that closes is no end of file, and open never waits. */
	fd = openat(dfd, base, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return lt_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return lt_errf(err, errlen, -EEXIST, "%s: exists and is not a named pipe", path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return lt_errf(err, errlen, -EPERM,
			       "%s: belongs to uid %u, not liotad's user: remove it", path,
			       (unsigned)st.st_uid);
	}
	/* Only liotad's user may announce devices, as liota allowed only the pipe's owner. */
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) {
		close(fd);
		return lt_errf(err, errlen, -errno, "%s: cannot make it mode 0600: %s", path,
			       strerror(errno));
	}
	return fd;
}

int lt_devdisc_pipe_open(const char *path, struct lt_devdisc_pipe **out, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], why[PATH_MAX + 256];
	struct lt_devdisc_pipe *p;
	int dfd, fd;

	if (!slash || !slash[1] ||
	    (size_t)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
			     path) >= sizeof(dir))
		return lt_errf(err, errlen, -EINVAL, "%s: not the absolute path of a file", path);
	/* Whoever could write in the folder could put another file in the pipe's place. */
	dfd = lt_dir_open_trusted(dir, 0700, LT_DIR_LINK_OK, why, sizeof(why));
	if (dfd < 0)
		return lt_errf(err, errlen, dfd, "%s: folder %s", path, why);
	fd = fifo_open(dfd, path, slash + 1, err, errlen);
	close(dfd);
	if (fd < 0)
		return fd;
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->path = xstrdup(path);
	*out = p;
	return 0;
}

void lt_devdisc_pipe_close(struct lt_devdisc_pipe *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p->path);
	free(p);
}

int lt_devdisc_pipe_fd(const struct lt_devdisc_pipe *p)
{
	return p->fd;
}

const char *lt_devdisc_pipe_path(const struct lt_devdisc_pipe *p)
{
	return p->path;
}

/* Hand over the complete lines of the buffer; keep an incomplete one, drop a too long one. */
static void lines(struct lt_devdisc_pipe *p, lt_devdisc_line_fn fn, void *ctx)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(p->buf + start, '\n', p->fill - start))) {
		size_t len = (size_t)(nl - (p->buf + start));

		if (p->dropping)
			p->dropping = false; /* the end of the line too long */
		else if (len)
			fn(ctx, p->buf + start, len, false);
		start += len + 1;
	}
	if (p->dropping) {
		p->fill = 0;
	} else if (p->fill == BUF_SIZE && start == 0) {
		fn(ctx, p->buf, p->fill, true);
		p->dropping = true;
		p->fill = 0;
	} else {
		memmove(p->buf, p->buf + start, p->fill - start);
		p->fill -= start;
	}
}

long lt_devdisc_pipe_read(struct lt_devdisc_pipe *p, size_t max, lt_devdisc_line_fn fn, void *ctx)
{
	size_t total = 0;

	while (total < max) {
		size_t room = BUF_SIZE - p->fill;
		ssize_t n;

		if (room > max - total)
			room = max - total;
		n = read(p->fd, p->buf + p->fill, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return total ? (long)total : -errno;
		if (n == 0)
			break;
		total += (size_t)n;
		p->fill += (size_t)n;
		lines(p, fn, ctx);
	}
	return (long)total;
}
