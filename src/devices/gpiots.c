/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpiots: client of /dev/liota-gpiots (see gpiots.h and the uapi header).
 *
 * Ordering, as the header says (the perf ring buffer's): head is loaded
 * with acquire before the records it covers are read; tail is stored with
 * release after they were copied, so the kernel does not overwrite a slot
 * being read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/gpiots.h"

/* "@path: @what: reason"; -@e. */
static int gpiots_fail(int e, char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "%s: %s%s%s", path, what, *what ? ": " : "", strerror(e));
	return -e;
}

/* The header as the kernel writes it, for the ring of @size bytes. */
static int gpiots_check_header(struct lt_gpiots *t, void *mem, size_t size, char *err,
			       size_t errlen)
{
	const struct liota_gpiots_header *h = mem;
	size_t need;

	if (size < sizeof(*h) || h->magic != LIOTA_GPIOTS_MAGIC ||
	    h->version != LIOTA_GPIOTS_VERSION ||
	    h->record_size != sizeof(struct liota_gpiots_record)) {
		snprintf(err, errlen,
			 "the ring's header is not version %d of liota_gpiots (magic %#x, "
			 "version %u): module and liotad do not match",
			 LIOTA_GPIOTS_VERSION, size >= sizeof(*h) ? h->magic : 0,
			 size >= sizeof(*h) ? h->version : 0);
		return -EPROTO;
	}
	need = (size_t)h->data_offset + (size_t)h->capacity * sizeof(struct liota_gpiots_record);
	if (!h->capacity || (h->capacity & (h->capacity - 1)) || h->data_offset < sizeof(*h) ||
	    need > size) {
		snprintf(err, errlen,
			 "the ring's header is inconsistent (capacity %u, data at %u, "
			 "%zu bytes mapped)",
			 h->capacity, h->data_offset, size);
		return -EPROTO;
	}
	t->map = mem;
	t->map_size = size;
	t->hdr = mem;
	t->data = (const struct liota_gpiots_record *)((char *)mem + h->data_offset);
	t->capacity = h->capacity;
	t->tail = __atomic_load_n(&t->hdr->tail, __ATOMIC_RELAXED);
	t->gaps = 0;
	memset(t->attached, 0, sizeof(t->attached));
	memset(t->last_seq, 0, sizeof(t->last_seq));
	return 0;
}

int lt_gpiots_use_ring(struct lt_gpiots *t, void *mem, size_t size, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	return gpiots_check_header(t, mem, size, err, errlen);
}

int lt_gpiots_open(struct lt_gpiots *t, const char *path, unsigned data_pages, unsigned watermark,
		   unsigned timeout_ms, char *err, size_t errlen)
{
	struct liota_gpiots_setup s = { .data_pages = data_pages,
					.watermark = watermark,
					.timeout_ms = timeout_ms };
	long page = sysconf(_SC_PAGESIZE);
	size_t size = (size_t)(1 + data_pages) * (size_t)page;
	void *mem;
	int r;

	memset(t, 0, sizeof(*t));
	t->fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (t->fd < 0)
		return gpiots_fail(errno, err, errlen, path, "");
	if (ioctl(t->fd, LIOTA_GPIOTS_SETUP, &s) < 0) {
		r = gpiots_fail(errno, err, errlen, path, "setting the ring up");
		goto fail;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (mem == MAP_FAILED) {
		r = gpiots_fail(errno, err, errlen, path, "mapping the ring");
		goto fail;
	}
	r = gpiots_check_header(t, mem, size, err, errlen);
	if (r < 0) {
		munmap(mem, size);
		goto fail;
	}
	return 0;
fail:
	close(t->fd);
	t->fd = -1;
	t->map = NULL;
	return r;
}

void lt_gpiots_close(struct lt_gpiots *t)
{
	if (t->map && t->fd >= 0)
		munmap(t->map, t->map_size);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->map = NULL;
	t->hdr = NULL;
}

int lt_gpiots_attach(struct lt_gpiots *t, const char *label, unsigned offset, unsigned edges,
		     unsigned *line, unsigned *level, char *err, size_t errlen)
{
	struct liota_gpiots_attach a;
	int e;

	memset(&a, 0, sizeof(a));
	if (strlen(label) >= sizeof(a.chip)) {
		snprintf(err, errlen,
			 "chip label \"%s\" is too long for liota_gpiots (at most %zu)", label,
			 sizeof(a.chip) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(a.chip, label, strlen(label));
	a.offset = offset;
	a.edges = edges;
	if (ioctl(t->fd, LIOTA_GPIOTS_ATTACH, &a) < 0) {
		e = errno;
		snprintf(err, errlen, "liota_gpiots cannot attach line %u of \"%s\": %s%s", offset,
			 label, strerror(e), e == EBUSY ? " (the line is requested already)" : "");
		return -e;
	}
	if (a.line >= LIOTA_GPIOTS_MAX_LINES) {
		snprintf(err, errlen, "liota_gpiots gave line number %u (at most %d)", a.line,
			 LIOTA_GPIOTS_MAX_LINES - 1);
		return -EPROTO;
	}
	t->attached[a.line] = true;
	t->last_seq[a.line] = 0;
	*line = a.line;
	*level = a.level ? 1 : 0;
	return 0;
}

/* What is wrong with @r (copied out of the ring), or NULL. */
static const char *gpiots_bad_record(const struct lt_gpiots *t, const struct liota_gpiots_record *r)
{
	if (r->line >= LIOTA_GPIOTS_MAX_LINES || !t->attached[r->line])
		return "a line that is not attached";
	if (r->edge != LIOTA_GPIOTS_EDGE_RISING && r->edge != LIOTA_GPIOTS_EDGE_FALLING)
		return "an edge that is neither rising nor falling";
	if (r->level > 1)
		return "a level that is neither 0 nor 1";
	if (r->seq <= t->last_seq[r->line])
		return "a sequence number that does not advance";
	return NULL;
}

int lt_gpiots_consume(struct lt_gpiots *t, unsigned max,
		      void (*fn)(void *arg, const struct liota_gpiots_record *rec, uint64_t lost),
		      void *arg, char *err, size_t errlen)
{
	uint64_t head = __atomic_load_n(&t->hdr->head, __ATOMIC_ACQUIRE);
	unsigned n = 0;
	int r = 0;

	if (head - t->tail > t->capacity) {
		snprintf(err, errlen, "the ring's head %llu is not within %u records of tail %llu",
			 (unsigned long long)head, t->capacity, (unsigned long long)t->tail);
		return -EPROTO;
	}
	while (t->tail != head && n < max) {
		struct liota_gpiots_record rec;
		const char *bad;
		uint64_t lost;

		/* Once, out of the shared page: what is checked is what is used. */
		memcpy(&rec, &t->data[t->tail & (t->capacity - 1)], sizeof(rec));
		bad = gpiots_bad_record(t, &rec);
		if (bad) {
			snprintf(err, errlen, "record %llu has %s (line %u, edge %u, seq %llu)",
				 (unsigned long long)t->tail, bad, rec.line, rec.edge,
				 (unsigned long long)rec.seq);
			r = -EPROTO;
			break;
		}
		lost = rec.seq - t->last_seq[rec.line] - 1;
		t->last_seq[rec.line] = rec.seq;
		t->gaps += lost;
		t->tail++;
		n++;
		fn(arg, &rec, lost);
	}
	/* The slots read are the kernel's again. */
	__atomic_store_n(&t->hdr->tail, t->tail, __ATOMIC_RELEASE);
	return r < 0 ? r : (int)n;
}

uint64_t lt_gpiots_lost(const struct lt_gpiots *t)
{
	uint64_t o = __atomic_load_n(&t->hdr->overflow, __ATOMIC_RELAXED);

	return o > t->gaps ? o : t->gaps;
}

uint64_t lt_gpiots_gone(const struct lt_gpiots *t)
{
	return __atomic_load_n(&t->hdr->gone, __ATOMIC_RELAXED);
}
