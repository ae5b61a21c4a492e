/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a file was when it was read: its identity, times, owner, mode and
 * the hash of its bytes. A SIGHUP with every configuration file as it was
 * reuses the last parse (config_reuse()) instead of reading 10,000 metric
 * sections again; the hash covers a change that keeps size and mtime (a
 * write in the same timestamp tick).
 */
#ifndef LT_FILESIG_H
#define LT_FILESIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct lt_filesig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime; /* ctime: a chmod or chown changes trust */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t hash; /* FNV-1a of the bytes given to lt_filesig_add() */
	uint64_t len;  /* their number */
};

/* Start a signature of the file @st describes; its bytes follow. */
void lt_filesig_init(struct lt_filesig *sig, const struct stat *st);

/* Add @n more bytes of the file, in order. */
void lt_filesig_add(struct lt_filesig *sig, const void *p, size_t n);

/* Were all the file's bytes given (as many as its size)? */
bool lt_filesig_complete(const struct lt_filesig *sig);

/*
 * Does @path hold now what @sig describes: same file, times, owner, mode,
 * size and bytes? false on any error (reading again is then the answer).
 */
bool lt_filesig_same(const struct lt_filesig *sig, const char *path);

/* FNV-1a, 64 bits, of @n bytes at @p, continuing from @h (start: LT_FNV_SEED). */
#define LT_FNV_SEED 0xcbf29ce484222325ull
uint64_t lt_fnv1a(uint64_t h, const void *p, size_t n);

#endif
