/* SPDX-License-Identifier: BSD-2-Clause */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "filesig.h"

uint64_t lt_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t k = 0; k < n; k++)
		h = (h ^ b[k]) * 0x100000001b3ull;
	return h;
}

void lt_filesig_init(struct lt_filesig *sig, const struct stat *st)
{
	*sig = (struct lt_filesig){ .dev = st->st_dev,
				    .ino = st->st_ino,
				    .size = st->st_size,
				    .mtime = st->st_mtim,
				    .ctime = st->st_ctim,
				    .mode = st->st_mode,
				    .uid = st->st_uid,
				    .gid = st->st_gid,
				    .hash = LT_FNV_SEED };
}

void lt_filesig_add(struct lt_filesig *sig, const void *p, size_t n)
{
	sig->hash = lt_fnv1a(sig->hash, p, n);
	sig->len += n;
}

bool lt_filesig_complete(const struct lt_filesig *sig)
{
	return sig->size >= 0 && sig->len == (uint64_t)sig->size;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool lt_filesig_same(const struct lt_filesig *sig, const char *path)
{
	struct lt_filesig now;
	char buf[65536];
	struct stat st;
	bool same = false;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0)
		goto out;
	lt_filesig_init(&now, &st);
	if (now.dev != sig->dev || now.ino != sig->ino || now.size != sig->size ||
	    !ts_eq(now.mtime, sig->mtime) || !ts_eq(now.ctime, sig->ctime) ||
	    now.mode != sig->mode || now.uid != sig->uid || now.gid != sig->gid)
		goto out;
	/* Bounded by the size: a file growing meanwhile is a change. */
	while (now.len <= (uint64_t)sig->size) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		lt_filesig_add(&now, buf, (size_t)n);
	}
	same = now.len == sig->len && now.hash == sig->hash;
out:
	close(fd);
	return same;
}
