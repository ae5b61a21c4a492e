/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpiots: the gpio driver's client of liotad's kernel module
 * (/dev/liota-gpiots, kmod/, <linux/liota_gpiots.h>): GPIO edges stamped
 * in the hard-IRQ handler, read from a ring mapped from the kernel.
 *
 * One struct lt_gpiots is one open file: its ring and its lines. The
 * sampler thread alone uses it. Each record is copied out of the shared
 * ring once, then checked (the mapping is writable by this process, so a
 * bug here could corrupt it; the kernel never trusts it either), and each
 * line's sequence numbers tell how many edges it lost.
 */
#ifndef LT_GPIOTS_H
#define LT_GPIOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/liota_gpiots.h>

struct lt_gpiots {
	int fd; /* -1: a ring given by lt_gpiots_use_ring() (tests) */
	void *map;
	size_t map_size;
	struct liota_gpiots_header *hdr;
	const struct liota_gpiots_record *data;
	uint32_t capacity;
	uint64_t tail; /* our copy; the header's is written, never read back */
	uint64_t gaps; /* edges missing from the lines' sequence numbers */
	bool attached[LIOTA_GPIOTS_MAX_LINES];
	uint64_t last_seq[LIOTA_GPIOTS_MAX_LINES];
};

/*
 * Open @path, set up a ring of @data_pages pages that wakes poll() at
 * @watermark records or once one waited @timeout_ms, and map it.
 * 0, or -errno with the reason in @err (-ENOENT: no module loaded).
 */
int lt_gpiots_open(struct lt_gpiots *t, const char *path, unsigned data_pages, unsigned watermark,
		   unsigned timeout_ms, char *err, size_t errlen);

/*
 * For the tests: use @mem (@size bytes, a header page then the records, as
 * the kernel lays them out) as the ring, without a device.
 */
int lt_gpiots_use_ring(struct lt_gpiots *t, void *mem, size_t size, char *err, size_t errlen);

/* Unmap and close (the kernel releases the lines); idempotent once opened. */
void lt_gpiots_close(struct lt_gpiots *t);

/*
 * Attach line @offset of the chip labelled @label for @edges
 * (LIOTA_GPIOTS_EDGE_*): the number its records carry in *@line, the
 * line's level at attach time in *@level. 0, or -errno with the reason.
 */
int lt_gpiots_attach(struct lt_gpiots *t, const char *label, unsigned offset, unsigned edges,
		     unsigned *line, unsigned *level, char *err, size_t errlen);

/* The descriptor to poll (POLLIN: records; POLLPRI: a line's chip went away). */
static inline int lt_gpiots_fd(const struct lt_gpiots *t)
{
	return t->fd;
}

/*
 * Consume at most @max records, in ring order: @fn gets each one, checked,
 * with the edges its line lost just before it (sequence gap). Returns the
 * number consumed, or -EPROTO with the reason in @err when the ring or a
 * record is not what the kernel writes (the caller opens it again).
 */
int lt_gpiots_consume(struct lt_gpiots *t, unsigned max,
		      void (*fn)(void *arg, const struct liota_gpiots_record *rec, uint64_t lost),
		      void *arg, char *err, size_t errlen);

/*
 * Edges lost so far: the ring's overflow count, or the sequence gaps seen
 * when more (a dropped edge shows as a gap only once its line's next edge
 * arrives; the overflow count at once).
 */
uint64_t lt_gpiots_lost(const struct lt_gpiots *t);

/* Lines whose chip went away (bit N: line N), as the kernel says. */
uint64_t lt_gpiots_gone(const struct lt_gpiots *t);

#endif
