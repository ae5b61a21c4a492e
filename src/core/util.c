/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers shared by the daemon: clocks, allocation, the edge id (util.h). */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gcrypt.h>

uint64_t lt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return lt_ts_ns(&ts);
}

uint64_t lt_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return lt_ts_ns(&ts);
}

/* Two vDSO clock reads take well under a microsecond: longer, the thread was preempted. */
#define OFFSET_READ_MAX_NS 20000u

/* Written together by whichever thread finds them old; release/acquire pairs them. */
static _Atomic uint64_t real_offset, real_offset_at;

uint64_t lt_real_at(uint64_t mono_ns)
{
	uint64_t at = atomic_load_explicit(&real_offset_at, memory_order_acquire);

	if (at == 0 || mono_ns >= at + LT_REAL_OFFSET_NS) {
		uint64_t m0, real, m1;

		/*
		 * A thread preempted between the reads would skew every stamp for
		 * a second: take the pair that was not (bounded tries), and the
		 * middle of the monotonic reads around the real-time one.
		 */
		for (int i = 0;; i++) {
			m0 = lt_mono_ns();
			real = lt_real_ns();
			m1 = lt_mono_ns();
			if (m1 - m0 < OFFSET_READ_MAX_NS || i == 4)
				break;
		}
		/* Modular arithmetic: right whichever clock is ahead. */
		atomic_store_explicit(&real_offset, real - (m0 + (m1 - m0) / 2),
				      memory_order_relaxed);
		atomic_store_explicit(&real_offset_at, m1, memory_order_release);
	}
	return mono_ns + atomic_load_explicit(&real_offset, memory_order_relaxed);
}

static void *oom(void)
{
	/* Nothing sensible can be done without memory; say so and stop. */
	fputs("liotad: out of memory\n", stderr);
	abort();
}

void *lt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *lt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom();
}

void *lt_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom();
}

void *lt_grow(void *p, size_t n, size_t size)
{
	if (n & (n - 1))
		return p;
	return lt_xrealloc(p, (n ? 2 * n : 1) * size);
}

char *lt_xstrdup(const char *s)
{
	char *p = strdup(s);

	return p ? p : oom();
}

char *lt_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? oom() : s;
}

/*
 * Namespace of liotad's edge ids (a fixed random UUID). The id is an RFC 4122
 * version-5 UUID of the machine id in this namespace: stable across reboots
 * and re-installs of liotad, and the raw machine id (which systemd asks
 * applications not to expose) cannot be recovered from it.
 */
static const unsigned char edge_ns[16] = { 0x5b, 0x1e, 0x0c, 0x7a, 0x93, 0x4d, 0x4f, 0x21,
					   0xa6, 0x0e, 0x3c, 0x52, 0x8b, 0x17, 0xd9, 0x44 };

int lt_edge_id(const char *machine_id_path, char out[37])
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(machine_id_path ? machine_id_path : "/etc/machine-id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	/* A machine id is 32 lowercase hex digits (machine-id(5)). */
	if (n != 32 || strspn(buf, "0123456789abcdef") != 32)
		return -EBADMSG;

	/*
	 * libgcrypt, not OpenSSL: libsystemd already maps it, while
	 * initialising libcrypto for one hash cost 3.4 MB of resident memory.
	 */
	unsigned char in[16 + 32], md[20];

	if (!gcry_check_version(NULL))
		return -EIO;
	memcpy(in, edge_ns, 16);
	memcpy(in + 16, buf, 32);
	gcry_md_hash_buffer(GCRY_MD_SHA1, md, in, sizeof(in));
	md[6] = (md[6] & 0x0f) | 0x50; /* version 5 */
	md[8] = (md[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10],
		 md[11], md[12], md[13], md[14], md[15]);
	return 0;
}

int lt_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
