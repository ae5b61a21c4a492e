/* SPDX-License-Identifier: BSD-2-Clause */
/* The durable spool: an append-only log of CRC'd records (see spool.h). */
#include "spool.h"
#include "trust.h"
#include <liota/liota.h>
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#include <zlib.h>

#define HEAD_FILE "head"

/* One segment file; the counts are of the batches not yet confirmed. */
struct seg {
	uint64_t seq;
	uint64_t size;     /* bytes in the file */
	uint64_t batches;  /* not yet popped */
	uint64_t samples;  /* not yet popped */
	uint64_t first_ns; /* stamp of its first batch not yet popped, 0: unknown */
};

struct spool {
	struct spool_conf conf;
	char *dir;
	int dfd;
	struct seg *segs; /* oldest first; the last is the one written when wfd >= 0 */
	size_t nsegs, cap;
	uint64_t next_seq;
	uint64_t disk; /* sum of the segments' sizes */
	int wfd;       /* the newest segment, open for appending; -1: none yet */
	int rfd;       /* segs[0], open for reading; -1: not open */
	uint64_t roff; /* read position in segs[0] */
	uint8_t *rbuf; /* the batch spool_peek() returned */
	size_t rbuf_len;
	uint32_t cur_len, cur_count; /* of that batch; cur_len 0: none */
	int dirty;                   /* appended since the last fdatasync */
	int dir_dirty;               /* a segment was created or removed since then */
	uint64_t synced_ns;          /* CLOCK_MONOTONIC of the last sync */
	/* Reading ahead of confirmation (spool_read()): see spool.h. */
	int afd;           /* segs[aseg], open for reading ahead; -1: not open */
	size_t aseg;       /* segment of the read position, while inflight */
	uint64_t aoff;     /* the read position in it */
	uint64_t inflight; /* batches read, not yet confirmed */
	uint64_t ignore;   /* confirmations still due for batches evicted in flight */
	struct spool_stats st;
};

/* ---- records -------------------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32 of the header with its CRC field zeroed, then of the payload. */
static uint32_t rec_crc(const uint8_t hdr[SPOOL_HDR_LEN], const void *payload, uint32_t len)
{
	uint8_t h[SPOOL_HDR_LEN];
	uLong crc;

	memcpy(h, hdr, sizeof(h));
	put32(h + 12, 0);
	crc = crc32(0L, h, sizeof(h));
	return (uint32_t)crc32(crc, payload, len);
}

void spool_rec_header(uint8_t hdr[SPOOL_HDR_LEN], const void *payload, uint32_t len, uint32_t count,
		      uint64_t ts_ns)
{
	put32(hdr, SPOOL_MAGIC);
	put32(hdr + 4, len);
	put32(hdr + 8, count);
	put32(hdr + 12, 0);
	put64(hdr + 16, ts_ns);
	put32(hdr + 12, rec_crc(hdr, payload, len));
}

ssize_t spool_rec_parse(const void *buf, size_t len, struct spool_rec *rec)
{
	const uint8_t *p = buf;
	uint32_t plen;

	if (len < SPOOL_HDR_LEN)
		return len && (len < 4 ? memcmp(p, "SPL1", len) : get32(p) != SPOOL_MAGIC)
			       ? -EBADMSG
			       : 0;
	if (get32(p) != SPOOL_MAGIC)
		return -EBADMSG;
	plen = get32(p + 4);
	if (plen > SPOOL_PAYLOAD_MAX)
		return -EBADMSG;
	if (len - SPOOL_HDR_LEN < plen)
		return 0;
	if (rec_crc(p, p + SPOOL_HDR_LEN, plen) != get32(p + 12))
		return -EBADMSG;
	rec->payload = p + SPOOL_HDR_LEN;
	rec->len = plen;
	rec->count = get32(p + 8);
	rec->ts_ns = get64(p + 16);
	return (ssize_t)(SPOOL_HDR_LEN + plen);
}

/* ---- segments ------------------------------------------------------------- */

void spool_conf_defaults(struct spool_conf *c)
{
	*c = (struct spool_conf){
		.size_max = 64u << 20,
		.fsync_ns = LT_NSEC_PER_SEC,
	};
}

static void seg_name(char name[32], uint64_t seq)
{
	snprintf(name, 32, "%016" PRIx64 ".seg", seq);
}

static int parse_seg_name(const char *name, uint64_t *seq)
{
	char *end;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg") ||
	    strspn(name, "0123456789abcdef") != 16)
		return -EINVAL;
	*seq = strtoull(name, &end, 16);
	return 0;
}

static struct seg *seg_add(struct spool *sp, uint64_t seq)
{
	if (sp->nsegs == sp->cap) {
		sp->cap = sp->cap ? 2 * sp->cap : 16;
		sp->segs = xrealloc(sp->segs, sp->cap * sizeof(*sp->segs));
	}
	sp->segs[sp->nsegs] = (struct seg){ .seq = seq };
	return &sp->segs[sp->nsegs++];
}

static void close_reader(struct spool *sp)
{
	if (sp->rfd >= 0)
		close(sp->rfd);
	sp->rfd = -1;
	sp->roff = 0;
	sp->cur_len = 0;
}

/* The gauges that follow the segments (the counts are kept as they change). */
static void update_stats(struct spool *sp)
{
	sp->st.bytes = sp->disk;
	sp->st.oldest_ns = 0;
	for (size_t i = 0; i < sp->nsegs && !sp->st.oldest_ns; i++)
		if (sp->segs[i].batches)
			sp->st.oldest_ns = sp->segs[i].first_ns;
}

static void close_ahead(struct spool *sp)
{
	if (sp->afd >= 0)
		close(sp->afd);
	sp->afd = -1;
	sp->aseg = 0;
	sp->aoff = 0;
}

/* Remove the oldest segment (read through or evicted). */
static void drop_oldest(struct spool *sp)
{
	char name[32];

	close_reader(sp);
	if (sp->aseg > 0)
		sp->aseg--; /* the read position is in a later segment: it stays there */
	else
		close_ahead(sp);
	if (sp->nsegs == 1 && sp->wfd >= 0) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->dirty = 0;
	}
	seg_name(name, sp->segs[0].seq);
	unlinkat(sp->dfd, name, 0);
	sp->dir_dirty = 1;
	sp->disk -= sp->segs[0].size;
	memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof(*sp->segs));
	sp->nsegs--;
}

static void evict_oldest(struct spool *sp)
{
	/* Batches of it in flight: their confirmations will come, and count nothing. */
	uint64_t flying = sp->aseg > 0 ? sp->segs[0].batches : sp->inflight;

	sp->ignore += flying;
	sp->inflight -= flying;
	sp->st.evicted_batches += sp->segs[0].batches;
	sp->st.evicted_samples += sp->segs[0].samples;
	sp->st.batches -= sp->segs[0].batches;
	sp->st.samples -= sp->segs[0].samples;
	drop_oldest(sp);
}

/* ---- recovery --------------------------------------------------------------- */

/* Write @len bytes of @p to a new file @name in the spool folder. */
static int write_new(struct spool *sp, const char *name, const void *p, size_t len)
{
	int fd = openat(sp->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	const char *b = p;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		b += n;
		len -= (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r)
		unlinkat(sp->dfd, name, 0);
	return r;
}

/*
 * Move the bytes from @off to the end of segment @seq (mapped at @map,
 * @size bytes, open as @fd) to SEQ-TIME.bad and cut the segment there.
 */
static int set_aside(struct spool *sp, int fd, uint64_t seq, const uint8_t *map, uint64_t off,
		     uint64_t size, const char *why, char *note, size_t notelen)
{
	char bad[64], name[32];
	size_t used = strlen(note);
	int r;

	seg_name(name, seq);
	snprintf(bad, sizeof(bad), "%016" PRIx64 "-%" PRIu64 ".bad", seq, lt_real_ns());
	if (off == 0) {
		r = renameat(sp->dfd, name, sp->dfd, bad) < 0 ? -errno : 0;
	} else {
		r = write_new(sp, bad, map + off, (size_t)(size - off));
		if (!r && (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0))
			r = -errno;
	}
	if (r < 0)
		return r;
	sp->st.set_aside_bytes += size - off;
	if (used < notelen)
		snprintf(note + used, notelen - used,
			 "%s%s: %s at byte %" PRIu64 ", %" PRIu64 " bytes set aside in %s",
			 used ? "; " : "", name, why, off, size - off, bad);
	return 0;
}

/* Read segment @seq whole, keep its good records, set aside the rest. */
static int recover_seg(struct spool *sp, uint64_t seq, char *note, size_t notelen)
{
	char name[32];
	struct stat st;
	uint8_t *map = NULL;
	uint64_t off = 0;
	struct seg *s;
	int fd, r = 0;

	seg_name(name, seq);
	fd = openat(sp->dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_size == 0) {
		unlinkat(sp->dfd, name, 0);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		r = -errno;
		goto out;
	}
	s = seg_add(sp, seq);
	while (off < (uint64_t)st.st_size) {
		struct spool_rec rec;
		ssize_t n = spool_rec_parse(map + off, (size_t)((uint64_t)st.st_size - off), &rec);

		if (n <= 0) {
			r = set_aside(sp, fd, seq, map, off, (uint64_t)st.st_size,
				      n == 0 ? "torn record" : "corrupt record", note, notelen);
			break;
		}
		if (!s->batches)
			s->first_ns = rec.ts_ns;
		s->batches++;
		s->samples += rec.count;
		off += (uint64_t)n;
	}
	s->size = off;
	sp->disk += off;
	if (off == 0)
		sp->nsegs--; /* set aside whole (renamed) */
out:
	if (map)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The read position a clean close saved: skip the batches of segs[0]
 * before it. A position that is not a record boundary of segs[0] is
 * ignored (the segment is handed back whole). Returns the head's seq.
 */
static uint64_t apply_head(struct spool *sp)
{
	char buf[64], name[32];
	uint64_t seq = 0, off = 0, pos = 0;
	int fd = openat(sp->dfd, HEAD_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%" SCNx64 " %" SCNu64, &seq, &off) != 2 || !sp->nsegs ||
	    sp->segs[0].seq != seq || off == 0 || off > sp->segs[0].size)
		return seq;
	/* Walk the records before off (they were checked in recover_seg()). */
	seg_name(name, seq);
	fd = openat(sp->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return seq;
	uint64_t batches = 0, samples = 0;
	while (pos < off) {
		uint8_t h[SPOOL_HDR_LEN];

		if (pread(fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h))
			break;
		batches++;
		samples += get32(h + 8);
		pos += SPOOL_HDR_LEN + get32(h + 4);
	}
	if (pos == off && batches <= sp->segs[0].batches) {
		sp->segs[0].batches -= batches;
		sp->segs[0].samples -= samples;
		sp->roff = off;
		sp->rfd = fd;
		if (sp->segs[0].batches) {
			uint8_t h[SPOOL_HDR_LEN];

			if (pread(fd, h, sizeof(h), (off_t)off) == (ssize_t)sizeof(h))
				sp->segs[0].first_ns = get64(h + 16);
		}
		return seq;
	}
	close(fd);
	return seq;
}

static int recover(struct spool *sp, char *note, size_t notelen, char *err, size_t errlen)
{
	uint64_t *seqs = NULL, seq, head;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd = dup(sp->dfd), r = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return lt_errf(err, errlen, r, "%s: %s", sp->dir, strerror(-r));
	}
	while ((de = readdir(d))) {
		if (parse_seg_name(de->d_name, &seq) < 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			seqs = xrealloc(seqs, cap * sizeof(*seqs));
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (n)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	for (size_t i = 0; i < n && !r; i++) {
		r = recover_seg(sp, seqs[i], note, notelen);
		if (r < 0) {
			char name[32];

			seg_name(name, seqs[i]);
			lt_errf(err, errlen, r, "%s/%s: %s", sp->dir, name, strerror(-r));
		}
	}
	sp->next_seq = n ? seqs[n - 1] + 1 : 0;
	free(seqs);
	if (r < 0)
		return r;
	head = apply_head(sp);
	if (head >= sp->next_seq)
		sp->next_seq = head + 1;
	for (size_t i = 0; i < sp->nsegs; i++) {
		sp->st.batches += sp->segs[i].batches;
		sp->st.samples += sp->segs[i].samples;
	}
	update_stats(sp);
	sp->st.recovered = sp->st.samples;
	return 0;
}

int spool_open(const char *dir, const struct spool_conf *c, struct spool **out, char *note,
	       size_t notelen, char *err, size_t errlen)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	int r;

	if (notelen)
		note[0] = '\0';
	sp->conf = *c;
	if (!sp->conf.segment_max) {
		sp->conf.segment_max = sp->conf.size_max / 8;
		if (sp->conf.segment_max > 4u << 20)
			sp->conf.segment_max = 4u << 20;
	}
	if (sp->conf.segment_max < SPOOL_HDR_LEN + 1)
		sp->conf.segment_max = SPOOL_HDR_LEN + 1;
	sp->dir = xstrdup(dir);
	sp->wfd = sp->rfd = sp->afd = -1;
	sp->dfd = lt_dir_open_trusted(dir, 0700, LT_DIR_PRIVATE, err, errlen);
	if (sp->dfd < 0) {
		r = sp->dfd;
		sp->dfd = -1;
		goto fail;
	}
	/* One writer per folder: a second instance would interleave its records. */
	if (flock(sp->dfd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		lt_errf(err, errlen, r, "%s: %s", dir,
			r == -EBUSY ? "in use by another spool" : strerror(-r));
		goto fail;
	}
	r = recover(sp, note, notelen, err, errlen);
	if (r < 0)
		goto fail;
	sp->synced_ns = lt_mono_ns();
	*out = sp;
	return 0;
fail:
	spool_close(sp);
	return r;
}

/* ---- writing ---------------------------------------------------------------- */

static int new_segment(struct spool *sp)
{
	char name[32];
	int fd;

	if (sp->wfd >= 0) {
		if (sp->dirty && fdatasync(sp->wfd) < 0)
			return -errno;
		close(sp->wfd);
		sp->wfd = -1;
		sp->dirty = 0;
	}
	seg_name(name, sp->next_seq);
	fd = openat(sp->dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	seg_add(sp, sp->next_seq++);
	sp->wfd = fd;
	sp->dir_dirty = 1;
	return 0;
}

int spool_append(struct spool *sp, const void *data, size_t len, uint32_t count, uint64_t now_ns)
{
	uint8_t hdr[SPOOL_HDR_LEN];
	uint64_t reclen = SPOOL_HDR_LEN + (uint64_t)len;
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)data, len } };
	struct seg *w;
	ssize_t n;
	int r;

	if (len > SPOOL_PAYLOAD_MAX || reclen > sp->conf.segment_max || reclen > sp->conf.size_max)
		return -EFBIG;
	while (sp->nsegs && sp->disk + reclen > sp->conf.size_max)
		evict_oldest(sp);
	if (sp->wfd < 0 || sp->segs[sp->nsegs - 1].size + reclen > sp->conf.segment_max) {
		r = new_segment(sp);
		if (r < 0)
			goto fail;
	}
	w = &sp->segs[sp->nsegs - 1];
	spool_rec_header(hdr, data, (uint32_t)len, count, now_ns);
	n = writev(sp->wfd, iov, 2);
	if (n != (ssize_t)reclen) {
		r = n < 0 ? -errno : -ENOSPC;
		/* A partial record would read as a torn tail: cut it off now. */
		if (n > 0 && ftruncate(sp->wfd, (off_t)w->size) < 0) {
			close(sp->wfd);
			sp->wfd = -1; /* the next append starts a new segment */
		}
		goto fail;
	}
	if (!w->batches)
		w->first_ns = now_ns;
	w->size += reclen;
	w->batches++;
	w->samples += count;
	sp->st.batches++;
	sp->st.samples += count;
	sp->disk += reclen;
	sp->dirty = 1;
	if (!sp->conf.fsync_ns)
		spool_sync(sp, lt_mono_ns(), 1);
	update_stats(sp);
	return 0;
fail:
	sp->st.write_errors++;
	update_stats(sp);
	return r;
}

int spool_sync(struct spool *sp, uint64_t now_ns, int force)
{
	int r = 0;

	if (!force && (int64_t)now_ns < spool_sync_due(sp))
		return 0;
	if (sp->dirty && sp->wfd >= 0 && fdatasync(sp->wfd) < 0)
		r = -errno;
	if (sp->dir_dirty && fsync(sp->dfd) < 0 && !r)
		r = -errno;
	if (!r)
		sp->dirty = sp->dir_dirty = 0;
	sp->synced_ns = now_ns;
	return r;
}

int64_t spool_sync_due(const struct spool *sp)
{
	if (!sp->dirty && !sp->dir_dirty)
		return INT64_MAX;
	return (int64_t)(sp->synced_ns + sp->conf.fsync_ns);
}

/* ---- reading ---------------------------------------------------------------- */

/* Leave the current batch of segs[0] (popped, aged out or unreadable). */
static void advance(struct spool *sp, uint32_t reclen, uint32_t count)
{
	struct seg *s = &sp->segs[0];

	sp->roff += reclen;
	s->batches--;
	s->samples -= count;
	sp->st.batches--;
	sp->st.samples -= count;
	sp->cur_len = 0;
	s->first_ns = 0;
	if (s->batches) {
		uint8_t h[SPOOL_HDR_LEN];

		if (pread(sp->rfd, h, sizeof(h), (off_t)sp->roff) == (ssize_t)sizeof(h))
			s->first_ns = get64(h + 16);
	}
}

/* Open segment @seq for reading, unless *@fd is open already. */
static int open_seg(struct spool *sp, uint64_t seq, int *fd)
{
	char name[32];

	if (*fd >= 0)
		return 0;
	seg_name(name, seq);
	*fd = openat(sp->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

/*
 * The record at @off of @s (through *@fd, opened if need be) into sp->rbuf,
 * checked. Returns its length, -errno when the file cannot be read, or
 * -EBADMSG when the record is torn or damaged (the segment changed since
 * recovery or append vouched for it).
 */
static ssize_t read_rec(struct spool *sp, const struct seg *s, int *fd, uint64_t off,
			struct spool_rec *rec)
{
	uint8_t h[SPOOL_HDR_LEN];
	uint32_t plen;
	ssize_t n;
	int r = open_seg(sp, s->seq, fd);

	if (r < 0)
		return r;
	n = pread(*fd, h, sizeof(h), (off_t)off);
	if (n < 0)
		return -errno;
	plen = n == (ssize_t)sizeof(h) ? get32(h + 4) : 0;
	if (n != (ssize_t)sizeof(h) || plen > SPOOL_PAYLOAD_MAX ||
	    off + SPOOL_HDR_LEN + plen > s->size)
		return -EBADMSG;
	if (sp->rbuf_len < SPOOL_HDR_LEN + plen) {
		sp->rbuf_len = SPOOL_HDR_LEN + plen;
		sp->rbuf = xrealloc(sp->rbuf, sp->rbuf_len);
	}
	n = pread(*fd, sp->rbuf, SPOOL_HDR_LEN + plen, (off_t)off);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)(SPOOL_HDR_LEN + plen) || spool_rec_parse(sp->rbuf, (size_t)n, rec) <= 0)
		return -EBADMSG;
	return n;
}

int spool_peek(struct spool *sp, uint64_t now_ns, const void **data, size_t *len, uint32_t *count)
{
	for (;;) {
		struct spool_rec rec;
		struct seg *s;
		ssize_t n;

		if (!sp->nsegs)
			return -ENOENT;
		s = &sp->segs[0];
		if (!s->batches) {
			/* Read through (or set aside whole): the file goes. */
			drop_oldest(sp);
			update_stats(sp);
			continue;
		}
		n = read_rec(sp, s, &sp->rfd, sp->roff, &rec);
		if (n == -EBADMSG) {
			/* Damaged since it was opened: what is left of the segment cannot be
			 * trusted. */
			evict_oldest(sp);
			update_stats(sp);
			continue;
		}
		if (n < 0)
			return (int)n;
		if (sp->conf.max_age_ns && rec.ts_ns + sp->conf.max_age_ns < now_ns) {
			sp->st.evicted_batches++;
			sp->st.evicted_samples += rec.count;
			advance(sp, SPOOL_HDR_LEN + rec.len, rec.count);
			update_stats(sp);
			continue;
		}
		sp->cur_len = SPOOL_HDR_LEN + rec.len;
		sp->cur_count = rec.count;
		*data = rec.payload;
		*len = rec.len;
		*count = rec.count;
		return 0;
	}
}

void spool_pop(struct spool *sp)
{
	if (!sp->cur_len)
		return;
	advance(sp, sp->cur_len, sp->cur_count);
	if (!sp->segs[0].batches)
		drop_oldest(sp); /* read through: the file goes now, not at the next peek */
	update_stats(sp);
}

int spool_empty(const struct spool *sp)
{
	return sp->st.batches == 0;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
}

/* Remember how far segs[0] was read, for the next open (see spool.h). */
static void save_head(struct spool *sp)
{
	char buf[64], path[4200], err[256];
	int n;

	if (!sp->nsegs || sp->rfd < 0 || !sp->roff)
		return;
	n = snprintf(buf, sizeof(buf), "%016" PRIx64 " %" PRIu64 "\n", sp->segs[0].seq, sp->roff);
	snprintf(path, sizeof(path), "%s/%s", sp->dir, HEAD_FILE);
	lt_file_replace(path, buf, (size_t)n, 0600, err, sizeof(err));
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->dfd >= 0) {
		spool_sync(sp, lt_mono_ns(), 1);
		save_head(sp);
		close(sp->dfd);
	}
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->rfd >= 0)
		close(sp->rfd);
	if (sp->afd >= 0)
		close(sp->afd);
	free(sp->rbuf);
	free(sp->segs);
	free(sp->dir);
	free(sp);
}

/* ---- reading ahead of confirmation ---------------------------------------- */

int spool_read(struct spool *sp, uint64_t now_ns, const void **data, size_t *len, uint32_t *count)
{
	if (!sp->inflight) {
		/* At the confirmed position: spool_peek() ages out and sets aside on the way. */
		int r = spool_peek(sp, now_ns, data, len, count);

		if (r < 0)
			return r;
		close_ahead(sp);
		sp->aoff = sp->roff + sp->cur_len;
		sp->inflight = 1;
		return 0;
	}
	for (;;) {
		struct spool_rec rec;
		struct seg *s;
		ssize_t n;

		if (sp->aseg >= sp->nsegs)
			return -ENOENT;
		s = &sp->segs[sp->aseg];
		if (sp->aoff >= s->size) {
			if (sp->aseg + 1 >= sp->nsegs)
				return -ENOENT;
			if (sp->afd >= 0)
				close(sp->afd);
			sp->afd = -1;
			sp->aseg++;
			sp->aoff = 0;
			continue;
		}
		n = read_rec(sp, s, &sp->afd, sp->aoff, &rec);
		/* Damaged since it was written: spool_peek() sets it aside once it is first. */
		if (n == -EBADMSG)
			return -EAGAIN;
		if (n < 0)
			return (int)n;
		sp->aoff += (uint64_t)n;
		sp->inflight++;
		*data = rec.payload;
		*len = rec.len;
		*count = rec.count;
		return 0;
	}
}

uint32_t spool_confirm(struct spool *sp)
{
	uint8_t h[SPOOL_HDR_LEN];
	uint32_t count;

	if (sp->ignore) {
		sp->ignore--;
		return 0;
	}
	if (!sp->inflight || !sp->nsegs)
		return 0;
	/* It was read whole before (spool_read()): its header is sound. */
	if (open_seg(sp, sp->segs[0].seq, &sp->rfd) < 0 ||
	    pread(sp->rfd, h, sizeof(h), (off_t)sp->roff) != (ssize_t)sizeof(h)) {
		/* Gone under us: what is left of the segment cannot be confirmed, only evicted. */
		evict_oldest(sp);
		update_stats(sp);
		return 0;
	}
	count = get32(h + 8);
	advance(sp, SPOOL_HDR_LEN + get32(h + 4), count);
	sp->inflight--;
	if (!sp->segs[0].batches)
		drop_oldest(sp);
	update_stats(sp);
	return count;
}

void spool_rewind(struct spool *sp)
{
	close_ahead(sp);
	sp->inflight = 0;
	sp->ignore = 0;
}

uint64_t spool_inflight(const struct spool *sp)
{
	return sp->inflight;
}

int spool_unread(const struct spool *sp)
{
	if (!sp->inflight)
		return sp->st.batches != 0;
	for (size_t i = sp->aseg; i < sp->nsegs; i++)
		if ((i == sp->aseg ? sp->aoff : 0) < sp->segs[i].size)
			return 1;
	return 0;
}

static int spool_mode_parse(int *mode, int mode_auto, const char *key, const char *value, char *err,
			    size_t errlen)
{
	int r;

	if (mode_auto && !strcmp(value, "auto")) {
		*mode = SPOOL_AUTO;
		return 0;
	}
	r = lt_parse_bool(value, mode, err, errlen);
	if (r < 0 && mode_auto)
		snprintf(err, errlen, "%s must be auto, yes or no, not \"%s\"", key, value);
	return r;
}

int spool_mode_set(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	return spool_mode_parse(field, 1, key, value, err, errlen);
}

const struct lt_opt spool_conf_opts[] = {
	LT_OPT_UINT("spool_size", struct spool_conf, size_max, 0, 64u << 10, 1ull << 40,
		    "bytes on disk"),
	LT_OPT_DURATION("spool_max_age", struct spool_conf, max_age_ns, 0, 0, UINT64_MAX,
			"oldest batch kept, 0: no limit"),
	LT_OPT_DURATION("spool_fsync", struct spool_conf, fsync_ns, 0, 0, UINT64_MAX,
			"fdatasync period, 0: every append"),
	LT_OPT_END(),
};

int spool_conf_option(struct spool_conf *c, int *mode, int mode_auto, const char *key,
		      const char *value, char *err, size_t errlen)
{
	if (!strcmp(key, "spool"))
		return spool_mode_parse(mode, mode_auto, key, value, err, errlen);
	return lt_opts_set(spool_conf_opts, c, key, value, err, errlen);
}

/* Evictions closer than this to the previous one are one burst: logged once. */
#define EVICT_BURST_NS (10 * LT_NSEC_PER_SEC)

void spool_report(const struct spool *sp, struct spool_reporter *r, struct lt_dcc *dcc,
		  struct lt_dcc_stats *st, uint64_t staged, const char *what)
{
	struct spool_stats ss;
	uint64_t n, now;

	spool_get_stats(sp, &ss);
	lt_count_set(&st->spooled, ss.samples + staged);
	lt_count_set(&st->spool_batches, ss.batches);
	lt_count_set(&st->spool_bytes, ss.bytes);
	lt_count_set(&st->spool_oldest_ns, ss.oldest_ns);
	lt_count_set(&st->spool_write_errors, ss.write_errors);
	if (ss.evicted_samples == r->evicted_seen)
		return;
	n = ss.evicted_samples - r->evicted_seen;
	now = lt_mono_ns();
	lt_count(&st->dropped, n);
	lt_count(&st->spool_evicted, n);
	r->evicted_seen = ss.evicted_samples;
	if (!r->evict_logged || now - r->evict_logged >= EVICT_BURST_NS)
		lt_dcc_log(dcc, LOG_WARNING,
			   "spool full (spool_size %llu bytes) or past spool_max_age: evicting the "
			   "oldest %s, %llu samples so far",
			   (unsigned long long)sp->conf.size_max, what,
			   (unsigned long long)ss.evicted_samples);
	r->evict_logged = now;
}
