/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sample ring: one shared-memory segment (memfd) holding one lock-free
 * single-producer/single-consumer lane per producer thread. Records are
 * struct lt_sample (32 bytes). Producers never block: a full lane drops the
 * new record and counts it. The consumer sleeps on an eventfd only when
 * every lane is empty; producers write the eventfd only when the consumer
 * said it sleeps. Other processes may map the segment read-only (through a
 * read-only fd; the segment is sealed against resizing) and follow the
 * lanes without gating the producers.
 *
 * Segment layout (all offsets from the start of the mapping, 64-bit
 * free-running indices, no pointers):
 *   struct lt_ring_hdr                       (one page)
 *   lane 0: struct lt_lane_prod (64 B), struct lt_lane_cons (64 B),
 *           capacity * struct lt_sample
 *   lane 1: ...
 */
#ifndef LT_RING_H
#define LT_RING_H

#include <liota/liota.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LT_RING_MAGIC 0x4c54524eu /* "LTRN" */
#define LT_RING_ABI   1
#define LT_CACHELINE  64

struct lt_ring_hdr {
	uint32_t magic;
	uint32_t abi;
	uint32_t record_size; /* sizeof(struct lt_sample) */
	uint32_t nlanes;
	uint64_t capacity;        /* records per lane, power of two */
	uint64_t lane_offset;     /* offset of lane 0 */
	uint64_t lane_stride;     /* bytes from one lane to the next */
	uint64_t size;            /* total segment size */
	_Atomic uint32_t retired; /* set when the daemon stops using this segment */
	uint32_t pad0;
	uint64_t generation; /* the configuration's; set again by every live reload */
	alignas(LT_CACHELINE) _Atomic uint32_t sleeping; /* consumer is (about to be) asleep */
	_Atomic uint64_t wakeups;                        /* eventfd writes done by producers */
};

struct lt_lane_prod {
	alignas(LT_CACHELINE) _Atomic uint64_t head; /* next record index to write (published) */
	_Atomic uint64_t dropped;                    /* records dropped because the lane was full */
	_Atomic uint64_t written; /* records accepted (== head, kept for readers' clarity) */
};

struct lt_lane_cons {
	alignas(LT_CACHELINE) _Atomic uint64_t tail; /* records below it may be overwritten */
	/*
	 * Next record index to read, when it is above tail: a slow lane's tail
	 * is held at a page boundary (see lt_ring_set_release_after()). Stale
	 * (below tail) otherwise, and only read for the lane's fill.
	 */
	_Atomic uint64_t consumed;
};

struct lt_ring; /* process-private handle of the owner (daemon) */

/*
 * Create a ring of @nlanes (>= 1) lanes of @capacity records (power of two,
 * >= 2). Returns 0, -EINVAL for bad sizes, or the negative errno of the
 * failing system call (*out untouched on failure).
 */
int lt_ring_new(unsigned nlanes, uint64_t capacity, uint64_t generation, struct lt_ring **out);
/* Mark retired (observers then get -ESTALE), unmap and close. NULL is fine.
 * No producer or consumer may use the ring any more. */
void lt_ring_free(struct lt_ring *r);
/* A read-only fd of the segment, for another process (caller closes it);
 * negative errno on failure. */
int lt_ring_dup_ro_fd(const struct lt_ring *r);
/* The eventfd the consumer waits on (readable after a wake-up). */
int lt_ring_eventfd(const struct lt_ring *r);
const struct lt_ring_hdr *lt_ring_hdr(const struct lt_ring *r);
unsigned lt_ring_nlanes(const struct lt_ring *r);
/* Announce a new configuration generation to observers (metric ids changed). */
void lt_ring_set_generation(struct lt_ring *r, uint64_t generation);

/*
 * Producer side: one struct lt_ring_producer per producer thread, private to
 * it. Records are invisible until lt_ring_commit(); commit every batch or at
 * the end of a sampling tick. push() also commits by itself every
 * LT_RING_AUTOCOMMIT records so a long batch is not held back.
 */
#define LT_RING_AUTOCOMMIT 32
struct lt_ring_producer {
	struct lt_ring *ring;
	struct lt_lane_prod *prod;
	struct lt_lane_cons *cons;
	struct lt_sample *rec;
	uint64_t mask;
	uint64_t head;        /* local, unpublished head */
	uint64_t cached_tail; /* last tail seen */
	uint64_t published;   /* head as last published */
	uint64_t dropped;     /* local copy of the drop counter */
	unsigned lane;
};
int lt_ring_producer_init(struct lt_ring *r, unsigned lane, struct lt_ring_producer *p);
/* Publish pushed records and wake the consumer if it sleeps. */
void lt_ring_commit(struct lt_ring_producer *p);
/* push()'s slow path, when the lane looks full: reload the consumer's tail;
 * false (and the drop counted) if it is full indeed. */
bool lt_ring_producer_refresh(struct lt_ring_producer *p);

/*
 * Copy @s into the lane (its seq is set by the ring). false = lane full,
 * dropped. Inline: a sampler pushes every record, and the call would cost
 * as much as the copy.
 */
static inline bool lt_ring_push(struct lt_ring_producer *p, const struct lt_sample *s)
{
	uint64_t head = p->head, w[4];
	uint64_t *slot;

	_Static_assert(sizeof(*s) == sizeof(w) && offsetof(struct lt_sample, seq) == sizeof(w[0]),
		       "a record is four words, seq the second");
	if (__builtin_expect(head - p->cached_tail > p->mask, 0) && !lt_ring_producer_refresh(p))
		return false;
	memcpy(w, s, sizeof(w));
	/*
	 * Relaxed atomic stores (plain movs on x86-64): an observer may read
	 * this slot concurrently, and must not race. The consumer is ordered
	 * by the release of head in commit.
	 */
	slot = (uint64_t *)&p->rec[head & p->mask];
	__atomic_store_n(&slot[0], w[0], __ATOMIC_RELAXED);
	__atomic_store_n(&slot[1], head, __ATOMIC_RELAXED); /* seq */
	__atomic_store_n(&slot[2], w[2], __ATOMIC_RELAXED);
	__atomic_store_n(&slot[3], w[3], __ATOMIC_RELAXED);
	p->head = head + 1;
	/* Observers rely on never more than AUTOCOMMIT - 1 unpublished records. */
	if (p->head - p->published >= LT_RING_AUTOCOMMIT)
		lt_ring_commit(p);
	return true;
}
/*
 * Publish pushed records without waking the consumer: for a producer that
 * knows the consumer has nothing to do with them yet (the sampler, while no
 * aggregation batch is complete). A sleeping consumer takes them at its next
 * wake-up; a consumer about to sleep sees them and does not.
 */
void lt_ring_commit_nowake(struct lt_ring_producer *p);

/*
 * Consumer side (one thread). lt_ring_consume() copies up to @max records
 * into @out and returns how many: it sweeps the lanes once, starting after
 * the lane it served last (so a busy lane cannot starve the others), and
 * takes what each lane holds until @max is reached. Records of one lane
 * come out in sequence order. lt_ring_prepare_sleep() returns true when the consumer
 * may now block on the eventfd (every lane checked empty after announcing
 * sleep); otherwise records arrived and it must consume again. When the
 * consumer has just drained a stream (records since its last sleep, which
 * ended soon), prepare_sleep() first polls the lanes for a few microseconds:
 * the next commit usually comes sooner, and a sleep would cost both sides a
 * system call. After
 * waking (by the eventfd, a timeout or another fd), call lt_ring_wake_ack():
 * it clears the flag and drains the eventfd. A wake-up may be spurious
 * (the eventfd readable with nothing to consume): just consume again.
 */
size_t lt_ring_consume(struct lt_ring *r, struct lt_sample *out, size_t max);
bool lt_ring_prepare_sleep(struct lt_ring *r);
void lt_ring_wake_ack(struct lt_ring *r);
/*
 * Giving back the pages of slow lanes. A lane's pages are allocated when
 * first written and would stay resident once its head has gone round: 128
 * KiB per lane of 4096 records however slowly it is written (1,000 devices
 * at 1 Hz: 128 MB after 68 minutes). So when a lane's tail crosses a page
 * boundary, the consumer reads CLOCK_MONOTONIC_COARSE, and if the lane's
 * previous crossing was @ns or more ago (the lane is slow), it punches the
 * whole pages it had consumed by that previous crossing out of the segment
 * before it lets the producer have them again. Between crossings a slow
 * lane's shared tail stays at the page boundary of its previous crossing
 * (records consumed but not yet given to the producer, at most half the
 * lane, else it is handed over whole): that is what makes those pages safe
 * to punch, and the pages read since the previous crossing stay for
 * observers, which would otherwise find a burst read by the consumer as it
 * came given back before they saw it. A slow lane then holds a few pages
 * (its first, those read since its previous crossing, the one being
 * written); each punch costs
 * the consumer a fallocate() and the producer a page fault when it comes
 * round, once per page crossing of a slow lane: at most one per @ns per
 * lane. Fast lanes (crossings less than @ns apart) pay one clock read per
 * page crossing (128 records) and keep their pages. @ns: 0 gives back at
 * every crossing (tests), UINT64_MAX never; the default is
 * LT_RING_RELEASE_AFTER_NS. Rings whose lanes are smaller than
 * LT_RING_RELEASE_MIN_PAGES pages never give pages back (holding one page
 * back would cost them too much of their room). Call it from the consumer's
 * thread, or before the consumer starts. If the kernel refuses the punch,
 * giving back is turned off for the ring, and lt_ring_release_error() says
 * why.
 */
#define LT_RING_RELEASE_AFTER_NS  1000000000u
#define LT_RING_RELEASE_MIN_PAGES 8
void lt_ring_set_release_after(struct lt_ring *r, uint64_t ns);
/* Pages punched so far, and the errno that turned giving back off (0: on or never tried). */
uint64_t lt_ring_pages_released(const struct lt_ring *r);
int lt_ring_release_error(const struct lt_ring *r);

/* Records waiting in @lane, and its counters, for status. */
uint64_t lt_ring_lane_fill(const struct lt_ring *r, unsigned lane);
uint64_t lt_ring_lane_dropped(const struct lt_ring *r, unsigned lane);
uint64_t lt_ring_lane_written(const struct lt_ring *r, unsigned lane);

/*
 * Read-only observer (another process, e.g. liotactl tail): maps an fd
 * read-only and follows each lane's producer index; it never writes, so it
 * never gates producers. Records it was too slow to read are detected
 * through their sequence numbers and reported as missed. So are records
 * whose page the consumer gave back (see lt_ring_set_release_after()): they
 * read as zeros, and a slot whose ts_ns is 0 counts as missed (samples are
 * never stamped 0: lt_emit() stamps a 0 with the current time). ts_ns is
 * loaded last, so a record whose page is punched while it is copied shows
 * ts_ns 0 too. A given-back page was read by the consumer @ns (1 s) or more
 * before: an observer keeping up never meets one. Reading such a slot
 * allocates its page again (a read fault on a hole in shared memory does),
 * and the page is given back at the lane's next lap. Because up to
 * LT_RING_AUTOCOMMIT - 1 records may be written but unpublished, the
 * observer only trusts the newest capacity - LT_RING_AUTOCOMMIT records of
 * a lane: give rings meant to be observed a capacity well above that.
 * The segment is not trusted: its header is copied and checked once, and
 * indices read from it later (lane heads) may be anything without making
 * the observer read outside the mapping or loop for long.
 */
struct lt_ring_observer {
	const struct lt_ring_hdr *hdr; /* the mapping; read for "retired" only */
	size_t size;
	/*
	 * The layout, copied once from the header and checked against the
	 * mapping size: the segment's writer may change its header at any
	 * time, so nothing else is ever read from it.
	 */
	unsigned nlanes;
	uint64_t capacity, lane_offset, lane_stride, generation;
	uint64_t *next; /* per lane: next sequence number to read */
	unsigned lane;  /* lane the next sweep starts at (fairness) */
};
int lt_ring_observer_open(int fd, struct lt_ring_observer *o);
void lt_ring_observer_close(struct lt_ring_observer *o);
/*
 * Copy newly published records of all lanes into @out (up to @max); *missed
 * grows by the number of records overwritten before they could be read.
 * Returns the number of records copied, or -ESTALE when the daemon retired
 * the segment.
 */
long lt_ring_observe(struct lt_ring_observer *o, struct lt_sample *out, size_t max,
		     uint64_t *missed);
/*
 * The generation the daemon announces now: when it differs from the one the
 * observer's metric table was fetched for, fetch the table again (a live
 * reload keeps the segment but may add metric ids).
 */
uint64_t lt_ring_observer_generation(const struct lt_ring_observer *o);

#endif
