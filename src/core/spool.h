/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The durable spool of a DCC: encoded batches that could not be delivered,
 * kept on disk in the state folder and handed back oldest first.
 *
 * An append-only log of segment files (NNNNNNNNNNNNNNNN.seg, 16 hex
 * digits, in a folder of its own, mode 0700), each a sequence of records:
 * a 24-byte header (magic, payload length, sample count, CRC-32 of header
 * and payload, CLOCK_REALTIME of the append) and the payload. Chosen over
 * SQLite by measurement (docs/benchmarks.md, section "spool").
 *
 * Writes go to the newest segment with one writev() per batch and are
 * fdatasync'd at most every conf.fsync_ns (0: at every append), so a crash
 * of the process loses nothing (the page cache has it) and a power loss at
 * most that interval. Reads are oldest first, and a batch leaves the spool
 * only when the caller confirms it (spool_pop()); a segment is unlinked
 * when its last batch left. A clean close saves the read position in the
 * file "head", so the next run does not hand back what was confirmed; after
 * a crash the oldest segment is handed back from its start (its batches
 * confirmed before the crash come again).
 *
 * On open, every segment is read and checked: the first torn or corrupt
 * record of a segment and everything after it in that segment are moved to
 * NNNNNNNNNNNNNNNN-TIME.bad beside it (set aside, never deleted), the rest
 * is kept. Limits: conf.size_max bytes on disk (the oldest segments are
 * evicted to make room), conf.max_age_ns (older batches are evicted when
 * read). Evictions and failed appends (disk full) are counted in the stats,
 * never logged here: the caller logs.
 *
 * One thread at a time (the DCC's: the publisher). Functions return 0 or a
 * negative errno.
 */
#ifndef LT_SPOOL_H
#define LT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <liota/options.h>

struct spool_conf {
	uint64_t size_max;    /* bytes on disk, default 64 MiB */
	uint64_t max_age_ns;  /* 0: no limit (the default) */
	uint64_t fsync_ns;    /* default 1 s; 0: fdatasync at every append */
	uint64_t segment_max; /* bytes per segment, default min(4 MiB, size_max / 8) */
};

struct spool_stats {
	uint64_t batches;   /* in the spool now */
	uint64_t samples;   /* in the spool now */
	uint64_t bytes;     /* on disk now (the segments' sizes) */
	uint64_t oldest_ns; /* CLOCK_REALTIME of the oldest batch, 0: empty */
	uint64_t recovered; /* samples found by spool_open() */
	uint64_t evicted_batches, evicted_samples; /* size cap, age, corruption found late */
	uint64_t write_errors;                     /* appends refused: disk full, I/O error */
	uint64_t set_aside_bytes;                  /* torn or corrupt bytes moved to .bad files */
};

/* ---- records (pure, for the fuzz target) -------------------------------- */

#define SPOOL_HDR_LEN     24u
#define SPOOL_MAGIC       0x314c5053u /* "SPL1" little-endian */
#define SPOOL_PAYLOAD_MAX (16u << 20)

struct spool_rec {
	const void *payload;
	uint32_t len;   /* payload bytes */
	uint32_t count; /* samples */
	uint64_t ts_ns; /* CLOCK_REALTIME of the append */
};

/* Fill @hdr (SPOOL_HDR_LEN bytes) for a record of @len bytes at @payload. */
void spool_rec_header(uint8_t hdr[SPOOL_HDR_LEN], const void *payload, uint32_t len, uint32_t count,
		      uint64_t ts_ns);
/*
 * Read the record at the start of @buf (@len bytes). Returns its whole size
 * (header and payload) with *@rec filled (payload points into @buf); 0 when
 * @buf holds only the start of a record (a torn tail); -EBADMSG when the
 * bytes are not a record (bad magic, a length over SPOOL_PAYLOAD_MAX, a CRC
 * mismatch). *@rec is untouched on 0 or error.
 */
ssize_t spool_rec_parse(const void *buf, size_t len, struct spool_rec *rec);

/* ---- the spool ---------------------------------------------------------- */

struct spool;

/* Fill @c with the defaults above. */
void spool_conf_defaults(struct spool_conf *c);
/*
 * Open the spool in the folder @dir, making it (0700) when missing; an
 * existing one must pass lt_dir_open_trusted() (ours, not a link, nobody
 * else can write it), and locks it (flock): -EBUSY while another spool
 * has it open. Recovers what is there: what was set aside is described in
 * @note (empty when nothing: the caller logs it). Returns 0 with *@out, or
 * a negative errno with the reason in @err.
 */
int spool_open(const char *dir, const struct spool_conf *c, struct spool **out, char *note,
	       size_t notelen, char *err, size_t errlen);
/*
 * Append a batch of @count samples, @len bytes, stamped @now_ns
 * (CLOCK_REALTIME), evicting the oldest segments when the size cap needs
 * room. -EFBIG: the batch is larger than a segment may be; -ENOSPC, -EIO...:
 * the write failed (the partial record is cut off again; counted in
 * write_errors); nothing was added then.
 */
int spool_append(struct spool *sp, const void *data, size_t len, uint32_t count, uint64_t now_ns);
/*
 * The oldest batch, without removing it: *@data (valid until the next call
 * on @sp), *@len, *@count. Batches older than max_age at @now_ns
 * (CLOCK_REALTIME) and batches found corrupt are evicted on the way.
 * -ENOENT when the spool is empty; another negative errno when the segment
 * cannot be read.
 */
int spool_peek(struct spool *sp, uint64_t now_ns, const void **data, size_t *len, uint32_t *count);
/* Confirm that the batch spool_peek() returned was delivered: it leaves. */
void spool_pop(struct spool *sp);
/* Whether the spool holds no batch. */
int spool_empty(const struct spool *sp);
/*
 * fdatasync what was appended if conf.fsync_ns passed since the last sync
 * (CLOCK_MONOTONIC @now_ns), or always when @force. Returns 0 or a negative
 * errno of fdatasync.
 */
int spool_sync(struct spool *sp, uint64_t now_ns, int force);
/* When spool_sync() has work next (CLOCK_MONOTONIC), INT64_MAX for never. */
int64_t spool_sync_due(const struct spool *sp);
void spool_get_stats(const struct spool *sp, struct spool_stats *st);
/*
 * ---- reading ahead of confirmation (a peer that acknowledges) ----------
 *
 * A transport with acknowledgements (MQTT QoS 1/2) keeps many batches in
 * flight: it reads ahead with spool_read(), and confirms with
 * spool_confirm() as the peer acknowledges, in the order they were read.
 * Two cursors: the confirmed position (where spool_peek() reads, saved in
 * "head" at close) and the read position, ahead of it. Every batch between
 * them is in flight; it stays in the spool (and in its counts) until it is
 * confirmed. spool_rewind() brings the read position back to the confirmed
 * one (the connection was lost: what was in flight is read again). A spool
 * is read either with peek/pop or with read/confirm, not both at once.
 */
/*
 * The batch after the read position, which then moves past it; like
 * spool_peek() otherwise (*@data valid until the next call on @sp; batches
 * past max_age at the confirmed position are evicted on the way). -ENOENT:
 * every batch is read already; -EAGAIN: a corrupt record is next, which is
 * set aside once the batches in flight before it are confirmed.
 */
int spool_read(struct spool *sp, uint64_t now_ns, const void **data, size_t *len, uint32_t *count);
/*
 * The oldest batch in flight was delivered: it leaves the spool. Returns
 * its samples, 0 when it had been evicted meanwhile (the size cap counted
 * it in evicted_samples), or when nothing is in flight.
 */
uint32_t spool_confirm(struct spool *sp);
/* Read again from the confirmed position: nothing is in flight any more. */
void spool_rewind(struct spool *sp);
/* Batches read and not yet confirmed. */
uint64_t spool_inflight(const struct spool *sp);
/* Whether spool_read() has a batch to hand (none read yet, or more appended). */
int spool_unread(const struct spool *sp);

/* spool = auto (the default of the MQTT transport): on when a state folder can hold it. */
enum spool_mode { SPOOL_OFF = 0, SPOOL_ON = 1, SPOOL_AUTO = 2 };
/*
 * One of the spool keys of a DCC section: spool (yes, no, and auto when
 * @mode_auto), spool_size, spool_max_age, spool_fsync, into *@mode and
 * @c. 0, -ENOENT for another key, -EINVAL with the reason in @err.
 */
int spool_conf_option(struct spool_conf *c, int *mode, int mode_auto, const char *key,
		      const char *value, char *err, size_t errlen);
/* The keys spool_size, spool_max_age and spool_fsync of struct spool_conf. */
extern const struct lt_opt spool_conf_opts[];
/* LT_OPT_FUNC setter of "spool" (auto, yes or no) into an int field. */
int spool_mode_set(void *field, const char *key, const char *value, char *err, size_t errlen);
/* The spool keys of a DCC: its int @mode field and its struct spool_conf @conf of T. */
#define SPOOL_OPTS(T, mode, conf)                                                                  \
	LT_OPT_FUNC("spool", T, mode, 0, spool_mode_set, "auto, yes or no"),                       \
		LT_OPT_TABLE(T, conf, spool_conf_opts)

/* What spool_report() remembers between calls; zeroed at the start. */
struct spool_reporter {
	uint64_t evicted_seen; /* evictions already counted */
	uint64_t evict_logged; /* CLOCK_MONOTONIC of the last eviction warning, 0: none */
};
struct lt_dcc;
struct lt_dcc_stats;
/*
 * The spool's counters into a DCC's @st, @staged samples on their way in
 * counted as spooled too; new evictions are lost samples: added to dropped
 * and spool_evicted, and a warning naming @dcc (may be NULL) is logged once
 * per burst (evictions less than 10 s apart). @what names a batch in it.
 */
void spool_report(const struct spool *sp, struct spool_reporter *r, struct lt_dcc *dcc,
		  struct lt_dcc_stats *st, uint64_t staged, const char *what);

/* Sync, save the read position, close. NULL is fine. */
void spool_close(struct spool *sp);

#endif
