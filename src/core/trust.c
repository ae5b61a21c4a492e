/* SPDX-License-Identifier: BSD-2-Clause */
/* Folders and files liotad may trust (see trust.h for the rules). */
#include "trust.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mkdir -p of every folder above @path (not @path itself). */
static int make_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Root or us: the users liotad trusts. */
static bool own(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * May the symbolic link @path (lstat @lst) be followed? Only if root or we
 * made it, and nobody else can replace it: its folder is root's or ours and
 * group and others cannot write it, or it is sticky (as /tmp), where only a
 * link's owner may remove it. systemd's StateDirectory= with DynamicUser=
 * is such a link (/var/lib/NAME -> private/NAME, made by root).
 */
static bool link_trusted(const char *path, const struct stat *lst)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int n = !slash || slash == path ? 1 : (int)(slash - path);
	struct stat st;

	if (!own(lst->st_uid) || (size_t)snprintf(parent, sizeof(parent), "%.*s", n,
						  slash ? path : ".") >= sizeof(parent))
		return false;
	return stat(parent, &st) == 0 && own(st.st_uid) &&
	       (!(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX));
}

int lt_dir_open_trusted(const char *path, mode_t mode, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if ((flags & LT_DIR_PARENTS) && (r = make_parents(path, mode)) < 0)
		return lt_errf(err, errlen, r, "%s: cannot create: %s", path, strerror(-r));
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return lt_errf(err, errlen, -errno, "%s: cannot create: %s", path, strerror(errno));
	/* O_NOFOLLOW: a link planted in place of the folder is refused, not followed. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
			return lt_errf(err, errlen, r, "%s: %s", path, strerror(-r));
		if (!(flags & LT_DIR_LINK_OK) || !link_trusted(path, &st))
			return lt_errf(err, errlen, -ELOOP,
				       "%s: is a symbolic link (owner uid %u); liotad uses only a "
				       "real folder of its own",
				       path, (unsigned)st.st_uid);
		/* Nobody else can re-point it: what it leads to is checked below. */
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return lt_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err_close;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		lt_errf(err, errlen, -EPERM,
			"%s: owned by uid %u with mode %04o; liotad (uid %u) uses only a folder "
			"of its own that group and others cannot write: remove it or choose "
			"another",
			path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			(unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	/* Ours and nobody else could write in it: narrowing what others see is safe. */
	if ((flags & LT_DIR_PRIVATE) && (st.st_mode & 077 & ~mode) &&
	    fchmod(fd, (st.st_mode & 07700) | (st.st_mode & mode & 077)) < 0) {
		r = -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return lt_errf(err, errlen, r, "%s: %s", path, strerror(-r));
}

/* Write all of @data to @fd; 0 or a negative errno. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int lt_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
		    size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], tmp[NAME_MAX + 1], why[PATH_MAX + 256];
	const char *base = slash ? slash + 1 : path;
	int dlen = !slash || slash == path ? 1 : (int)(slash - path); /* "." or "/" at least */
	int dfd, fd, r;

	if ((size_t)snprintf(dir, sizeof(dir), "%.*s", dlen, slash ? path : ".") >= sizeof(dir) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", base) >= sizeof(tmp))
		return lt_errf(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	if (!*base)
		return lt_errf(err, errlen, -EISDIR, "%s: not a file name", path);
	dfd = lt_dir_open_trusted(dir, 0700, LT_DIR_LINK_OK, why, sizeof(why));
	if (dfd < 0)
		return lt_errf(err, errlen, dfd, "cannot write %s: folder %s", path, why);
	/* Only we can write here, but a crash may have left a PATH.tmp: remove, never follow. */
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
		r = -errno;
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, data, len);
	/* Data on disk before the rename: after a crash, the old file or the new one. */
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	/* The rename itself on disk: a registration must survive a power loss. */
	if (!r && fsync(dfd) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
out:
	close(dfd);
	if (r)
		lt_errf(err, errlen, r, "cannot write %s: %s", path, strerror(-r));
	return r;
}

bool lt_config_trusted(const struct stat *st, char *why, size_t whylen)
{
	if (!own(st->st_uid)) {
		lt_errf(why, whylen, 0, "owned by uid %u, neither root nor liotad's uid %u",
			(unsigned)st->st_uid, (unsigned)geteuid());
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		lt_errf(why, whylen, 0, "writable by group or others (mode %04o)",
			(unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}

bool lt_secret_exposed(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & S_IROTH);
}
