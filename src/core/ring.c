/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sample ring (see ring.h for the layout and the contract).
 *
 * Memory-ordering summary:
 *   - records are published by the producer's store-release of head and
 *     read by the consumer after its load-acquire of head;
 *   - slots are handed back by the consumer's store-release of tail, which
 *     the producer load-acquires before overwriting them;
 *   - sleeping: store flag / full barrier / load heads (consumer) against
 *     store head / full barrier / load flag (producer), so at least one of
 *     the two sees the other (Dekker). The barrier is asymmetric where the
 *     kernel offers membarrier(2): the consumer, which goes to sleep rarely,
 *     makes every thread of the process execute a full barrier, and the
 *     producer's commit, which runs for every batch, needs only a compiler
 *     barrier. Without membarrier both sides issue a full fence;
 *   - observers read slots the producer may be rewriting: both sides access
 *     record words atomically (never a data race) and the observer validates
 *     its copy seqlock-style against a re-load of head;
 *   - pages given back (punched) by the consumer: see lane_give_back().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS, fallocate */
#endif
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORDS_PER_RECORD (sizeof(struct lt_sample) / sizeof(uint64_t))

/*
 * How long a consumer that has just drained a stream of records polls the
 * lanes before it announces sleep. A sleep costs the producer an eventfd
 * write and the consumer a scheduler round trip, tens of microseconds in
 * all on a virtual machine; streaming producers commit every few hundred
 * nanoseconds. Spinning about as long as a sleep costs bounds the waste to
 * twice the optimum (the classic spin-then-block rule). It spins only in a
 * stream: when it consumed records since it last prepared to sleep, and
 * that sleep ended within RING_STREAM_NS. Samplers that commit a batch
 * every millisecond or more never make it spin.
 */
#define RING_SPIN_NS   10000
#define RING_STREAM_NS 200000

_Static_assert(sizeof(struct lt_sample) == 4 * sizeof(uint64_t), "a record is four words");
_Static_assert(sizeof(struct lt_lane_prod) == LT_CACHELINE, "producer line");
_Static_assert(sizeof(struct lt_lane_cons) == LT_CACHELINE, "consumer line");

/* What the consumer keeps per lane in private memory. */
struct lt_ring_cstate {
	uint64_t tail;        /* next record to read; only we write it */
	uint64_t cached_head; /* last head loaded */
	uint64_t pub;         /* the lane's shared tail: tail, or a page boundary below it */
	uint64_t crossed_at;  /* CLOCK_MONOTONIC_COARSE ns when tail last crossed a page */
	uint64_t mark;        /* the page boundary below tail at that crossing */
	uint32_t skew;        /* index i starts a page iff (i + skew) % per_page == 0 */
	bool held;            /* slow at its last crossing: pub stays at a page boundary */
};

/* Consumer-private state, allocated apart so its writes never share a line
 * with what producers read from struct lt_ring. */
struct lt_ring_consumer {
	unsigned next_lane;        /* where the next sweep starts */
	bool streaming;            /* consumed records since it last prepared to sleep */
	bool woke_soon;            /* its last sleep ended within RING_STREAM_NS */
	uint64_t slept_at;         /* CLOCK_MONOTONIC ns when it last announced sleep */
	uint64_t release_after;    /* see lt_ring_set_release_after(); UINT64_MAX: off */
	uint64_t page;             /* bytes */
	uint64_t per_page;         /* records per page; 0: lanes too small to give back */
	_Atomic uint64_t released; /* pages punched (status reads it) */
	_Atomic int release_err;   /* errno that turned giving back off */
	struct lt_ring_cstate lane[];
};

/* Read-only after lt_ring_new(): producers and consumer both read it. */
struct lt_ring {
	struct lt_ring_hdr *hdr;
	size_t size;
	int memfd;
	int efd;
	unsigned nlanes;
	uint64_t mask;
	struct lt_ring_consumer *consumer;
	/* membarrier(2) gives the consumer's side of the Dekker barrier; cleared
	 * (for good) only if that call ever failed. */
	_Atomic bool asym;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Registration is per process and idempotent; it needs Linux 4.14. */
static bool membarrier_register(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return false;
	return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

static inline char *lane_base(const struct lt_ring_hdr *hdr, unsigned lane)
{
	return (char *)hdr + hdr->lane_offset + (uint64_t)lane * hdr->lane_stride;
}

static inline struct lt_lane_prod *lane_prod(const struct lt_ring_hdr *hdr, unsigned lane)
{
	return (struct lt_lane_prod *)lane_base(hdr, lane);
}

static inline struct lt_lane_cons *lane_cons(const struct lt_ring_hdr *hdr, unsigned lane)
{
	return (struct lt_lane_cons *)(lane_base(hdr, lane) + sizeof(struct lt_lane_prod));
}

static inline struct lt_sample *lane_rec(const struct lt_ring_hdr *hdr, unsigned lane)
{
	return (struct lt_sample *)(lane_base(hdr, lane) + sizeof(struct lt_lane_prod) +
				    sizeof(struct lt_lane_cons));
}

/* Offset of a lane's record @idx in the segment (the mapping starts at offset 0). */
static inline uint64_t rec_offset(const struct lt_ring_hdr *hdr, unsigned lane, uint64_t idx)
{
	return (uint64_t)((char *)&lane_rec(hdr, lane)[idx] - (char *)hdr);
}

/* A record slot seen as the four words producers and observers access atomically. */
static inline uint64_t *slot_words(struct lt_sample *rec, uint64_t mask, uint64_t idx)
{
	return (uint64_t *)&rec[idx & mask];
}

static uint64_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (uint64_t)page : 4096;
}

static int ring_layout(unsigned nlanes, uint64_t capacity, uint64_t *lane_offset, uint64_t *stride,
		       uint64_t *size)
{
	uint64_t pg = page_size(), recs, total;

	_Static_assert(sizeof(struct lt_ring_hdr) <= 4096, "the header fits in one page");
	if (__builtin_mul_overflow(capacity, (uint64_t)sizeof(struct lt_sample), &recs) ||
	    __builtin_add_overflow(recs, 2 * (uint64_t)LT_CACHELINE, stride) ||
	    __builtin_mul_overflow(*stride, (uint64_t)nlanes, &total) ||
	    __builtin_add_overflow(total, pg + pg - 1, &total) || total > (uint64_t)SIZE_MAX ||
	    total > (uint64_t)LLONG_MAX)
		return -EINVAL;
	*lane_offset = pg;
	*size = total & ~(pg - 1);
	return 0;
}

int lt_ring_new(unsigned nlanes, uint64_t capacity, uint64_t generation, struct lt_ring **out)
{
	uint64_t lane_offset, stride, size;
	struct lt_ring_hdr *hdr;
	struct lt_ring *r;
	int ret;

	if (!out || nlanes == 0 || capacity < 2 || (capacity & (capacity - 1)))
		return -EINVAL;
	ret = ring_layout(nlanes, capacity, &lane_offset, &stride, &size);
	if (ret < 0)
		return ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->consumer = calloc(1, sizeof(*r->consumer) + nlanes * sizeof(r->consumer->lane[0]));
	if (!r->consumer) {
		ret = -ENOMEM;
		goto err_free_ring;
	}

	r->memfd = memfd_create("liotad-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->memfd < 0) {
		ret = -errno;
		goto err_free_cons;
	}
	if (ftruncate(r->memfd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close_memfd;
	}
	hdr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (hdr == MAP_FAILED) {
		ret = -errno;
		goto err_close_memfd;
	}
	/*
	 * Not F_SEAL_FUTURE_WRITE (nor F_SEAL_WRITE): the kernel refuses to
	 * punch holes in a segment sealed so (EPERM), and the consumer gives
	 * slow lanes' pages back by punching. Observers get a read-only fd;
	 * only clients of our own uid or root get one (the control socket's
	 * SO_PEERCRED), and they could reopen it writable through /proc but
	 * can as well write our spool or reload us. F_SEAL_SEAL: nobody adds
	 * the write seals later and turns the punching off.
	 */
	if (fcntl(r->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		goto err_unmap;
	}

	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		ret = -errno;
		goto err_unmap;
	}

	/* The segment is zero-filled: indices and counters start at 0. */
	hdr->magic = LT_RING_MAGIC;
	hdr->abi = LT_RING_ABI;
	hdr->record_size = sizeof(struct lt_sample);
	hdr->nlanes = nlanes;
	hdr->capacity = capacity;
	hdr->lane_offset = lane_offset;
	hdr->lane_stride = stride;
	hdr->size = size;
	hdr->generation = generation;

	r->hdr = hdr;
	r->size = size;
	r->nlanes = nlanes;
	r->mask = capacity - 1;
	/*
	 * Page boundaries fall between records (records are 32-byte aligned,
	 * pages a power of two), and a lane of at least one page is a whole
	 * number of pages, so index i starts a page in every lap or in none.
	 */
	r->consumer->page = page_size();
	if (capacity * sizeof(struct lt_sample) >= LT_RING_RELEASE_MIN_PAGES * r->consumer->page)
		r->consumer->per_page = r->consumer->page / sizeof(struct lt_sample);
	for (unsigned lane = 0; r->consumer->per_page && lane < nlanes; lane++)
		r->consumer->lane[lane].skew =
			(uint32_t)(rec_offset(hdr, lane, 0) % r->consumer->page /
				   sizeof(struct lt_sample));
	lt_ring_set_release_after(r, LT_RING_RELEASE_AFTER_NS);
	atomic_init(&r->asym, membarrier_register());
	*out = r;
	return 0;

err_unmap:
	munmap(hdr, size);
err_close_memfd:
	close(r->memfd);
err_free_cons:
	free(r->consumer);
err_free_ring:
	free(r);
	return ret;
}

void lt_ring_free(struct lt_ring *r)
{
	if (!r)
		return;
	/* Release: an observer that sees retired also sees every record before it. */
	atomic_store_explicit(&r->hdr->retired, 1, memory_order_release);
	munmap(r->hdr, r->size);
	close(r->memfd);
	close(r->efd);
	free(r->consumer);
	free(r);
}

int lt_ring_dup_ro_fd(const struct lt_ring *r)
{
	char path[32];
	int fd;

	/* Reopening (not dup) gives a new open file description, read-only. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r->memfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int lt_ring_eventfd(const struct lt_ring *r)
{
	return r->efd;
}

const struct lt_ring_hdr *lt_ring_hdr(const struct lt_ring *r)
{
	return r->hdr;
}

unsigned lt_ring_nlanes(const struct lt_ring *r)
{
	return r->nlanes;
}

void lt_ring_set_generation(struct lt_ring *r, uint64_t generation)
{
	__atomic_store_n(&r->hdr->generation, generation, __ATOMIC_RELEASE);
}

/* ---- producer -------------------------------------------------------- */

int lt_ring_producer_init(struct lt_ring *r, unsigned lane, struct lt_ring_producer *p)
{
	if (!r || !p || lane >= r->nlanes)
		return -EINVAL;
	p->ring = r;
	p->lane = lane;
	p->prod = lane_prod(r->hdr, lane);
	p->cons = lane_cons(r->hdr, lane);
	p->rec = lane_rec(r->hdr, lane);
	p->mask = r->mask;
	/* Resume where a previous producer of this lane stopped (if any). */
	p->head = atomic_load_explicit(&p->prod->head, memory_order_relaxed);
	p->published = p->head;
	p->dropped = atomic_load_explicit(&p->prod->dropped, memory_order_relaxed);
	p->cached_tail = atomic_load_explicit(&p->cons->tail, memory_order_acquire);
	return 0;
}

bool lt_ring_producer_refresh(struct lt_ring_producer *p)
{
	/* Acquire: the consumer's reads of these slots are done before we overwrite. */
	p->cached_tail = atomic_load_explicit(&p->cons->tail, memory_order_acquire);
	if (p->head - p->cached_tail <= p->mask)
		return true;
	/* Single writer: a plain store of our count, no RMW needed. */
	atomic_store_explicit(&p->prod->dropped, ++p->dropped, memory_order_relaxed);
	return false;
}

void lt_ring_commit(struct lt_ring_producer *p)
{
	struct lt_ring_hdr *hdr = p->ring->hdr;
	uint64_t one = 1;

	if (p->head == p->published)
		return;
	p->published = p->head;
	/* Release: the records before head are visible to whoever acquires it. */
	atomic_store_explicit(&p->prod->head, p->head, memory_order_release);
	atomic_store_explicit(&p->prod->written, p->head, memory_order_relaxed);
	/*
	 * Order the head store before the load of sleeping (pairs with the
	 * barrier in lt_ring_prepare_sleep()). With membarrier the consumer
	 * supplies the full barrier when it goes to sleep, and a compiler
	 * barrier keeps the two accesses in program order here; a full fence
	 * drains the store buffer (the record stores still waiting for their
	 * cache lines) and would cost the producer that wait at every commit.
	 * Either way a release fence orders this head before the slot writes
	 * that follow, which the observer's validation relies on.
	 */
	if (atomic_load_explicit(&p->ring->asym, memory_order_relaxed)) {
		atomic_thread_fence(memory_order_release);
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_thread_fence(memory_order_seq_cst);
	}
	if (!atomic_load_explicit(&hdr->sleeping, memory_order_relaxed))
		return;
	/* Only the producer that clears the flag writes: one wake-up per sleep. */
	if (!atomic_exchange_explicit(&hdr->sleeping, 0, memory_order_relaxed))
		return;
	atomic_fetch_add_explicit(&hdr->wakeups, 1, memory_order_relaxed);
	/* Cannot fail but for a counter overflow, which is already a wake-up. */
	(void)!write(p->ring->efd, &one, sizeof(one));
}

void lt_ring_commit_nowake(struct lt_ring_producer *p)
{
	if (p->head == p->published)
		return;
	p->published = p->head;
	/* As in lt_ring_commit(): release of head, then a release fence for observers. */
	atomic_store_explicit(&p->prod->head, p->head, memory_order_release);
	atomic_store_explicit(&p->prod->written, p->head, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

/* ---- consumer -------------------------------------------------------- */

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void lt_ring_set_release_after(struct lt_ring *r, uint64_t ns)
{
	struct lt_ring_consumer *c = r->consumer;

	c->release_after =
		c->per_page && !atomic_load_explicit(&c->release_err, memory_order_relaxed)
			? ns
			: UINT64_MAX;
}

uint64_t lt_ring_pages_released(const struct lt_ring *r)
{
	return atomic_load_explicit(&r->consumer->released, memory_order_relaxed);
}

int lt_ring_release_error(const struct lt_ring *r)
{
	return atomic_load_explicit(&r->consumer->release_err, memory_order_relaxed);
}

/* Punch the whole pages of segment bytes [start, end). false: giving back is off now. */
static bool punch_pages(struct lt_ring *r, uint64_t start, uint64_t end)
{
	struct lt_ring_consumer *c = r->consumer;

	start = (start + c->page - 1) & ~(c->page - 1);
	end &= ~(c->page - 1);
	if (start >= end)
		return true;
	/*
	 * fallocate() on the memfd rather than madvise(MADV_REMOVE) on our
	 * mapping: both free the segment's pages (in every process that maps
	 * them), but this names the file range directly, with no mapping to
	 * look up. Shared memory supports it since Linux 3.5.
	 */
	if (fallocate(r->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
		      (off_t)(end - start)) < 0) {
		/* Once and quietly: the hot path does not log. */
		atomic_store_explicit(&c->release_err, errno, memory_order_relaxed);
		c->release_after = UINT64_MAX;
		return false;
	}
	atomic_store_explicit(&c->released,
			      atomic_load_explicit(&c->released, memory_order_relaxed) +
				      (end - start) / c->page,
			      memory_order_relaxed);
	return true;
}

/*
 * Records [from, to) of @lane are consumed and the lane's shared tail is
 * still at @from: give back the pages that lie entirely in their bytes.
 * This is the crux of the ordering: the producer writes index j only after
 * it has loaded (acquire) a tail above j - capacity, so while the tail is
 * still @from it cannot write the next lap's records into these slots
 * (indices from + capacity and up), and the records of this lap in them are
 * below the head we loaded, written before it was published. Nobody
 * writes these pages while we punch them. The caller publishes the new
 * tail (store-release) only after fallocate() returned, when the pages are
 * out of every page table; the producer's writes after it loads that tail
 * fault in fresh zero pages. Pages partly outside [from, to) are kept:
 * the lane's first page (its control lines, and the previous lane's last
 * records), its last (the next lane's lines), and those holding records not
 * consumed yet. The span is at most a lap (to - from <= capacity, since
 * the producer never gets more than a lap ahead of the tail): two runs at
 * most, up to the end of the lane and from its start.
 */
static bool lane_give_back(struct lt_ring *r, unsigned lane, uint64_t from, uint64_t to)
{
	uint64_t len = to - from, slot = from & r->mask, first = r->mask + 1 - slot;

	if (first > len)
		first = len;
	return punch_pages(r, rec_offset(r->hdr, lane, slot),
			   rec_offset(r->hdr, lane, slot + first)) &&
	       punch_pages(r, rec_offset(r->hdr, lane, 0), rec_offset(r->hdr, lane, len - first));
}

/*
 * The lane's tail crossed a page boundary (cold: once per page of records).
 * Returns the tail to publish. A slow lane gives back the whole pages read
 * before its previous crossing (cs->mark), at least release_after ago, and
 * its tail is held there: the pages read since stay, to be given back at
 * the next crossing. Not the pages just read: a burst (1,000 metrics of a
 * device read at once) is read by the publisher as soon as it is written,
 * and observers (liotactl tail, every 10 ms) would find it given back
 * before they saw it. A fast lane publishes all it has read, and so does a
 * slow one that would hold more than half its capacity.
 */
static __attribute__((noinline)) uint64_t lane_crossed(struct lt_ring *r, unsigned lane)
{
	struct lt_ring_consumer *c = r->consumer;
	struct lt_ring_cstate *cs = &c->lane[lane];
	/*
	 * The coarse clock (a tick's resolution, 1 to 10 ms) is enough to tell
	 * crossings a second apart, and costs a third of the precise one (8
	 * against 23 ns here): fast lanes read it every 128 records.
	 */
	uint64_t now = clock_ns(CLOCK_MONOTONIC_COARSE), mark = cs->mark, pub = cs->pub;

	cs->held = now - cs->crossed_at >= c->release_after;
	cs->crossed_at = now;
	cs->mark = ((cs->tail + cs->skew) & ~(c->per_page - 1)) - cs->skew;
	if (!cs->held)
		return cs->tail;
	if (mark > pub) {
		if (!lane_give_back(r, lane, pub, mark)) {
			cs->held = false;
			return cs->tail;
		}
		pub = mark;
	}
	if (cs->tail - pub > (r->mask + 1) / 2) {
		cs->held = false; /* the producer needs the room more than we need the pages */
		return cs->tail;
	}
	return pub;
}

/*
 * Hand the records up to cs->tail (read since @from) back to the producer,
 * or a slow lane's up to a page boundary: see lt_ring_set_release_after().
 */
static inline void lane_publish(struct lt_ring *r, unsigned lane, uint64_t from)
{
	struct lt_ring_consumer *c = r->consumer;
	struct lt_ring_cstate *cs = &c->lane[lane];
	struct lt_lane_cons *cons = lane_cons(r->hdr, lane);
	uint64_t pub = cs->tail;

	if (c->release_after != UINT64_MAX) {
		/* A crossing: from and tail differ above the bits of an index within a page. */
		if (((from + cs->skew) ^ (cs->tail + cs->skew)) >= c->per_page)
			pub = lane_crossed(r, lane);
		else if (cs->held)
			pub = cs->pub;
	}
	if (pub != cs->tail) /* for the lane's fill, which would count the held records */
		atomic_store_explicit(&cons->consumed, cs->tail, memory_order_relaxed);
	if (pub == cs->pub)
		return;
	cs->pub = pub;
	/* Release: our reads of the slots (and any punch) happen before their reuse. */
	atomic_store_explicit(&cons->tail, pub, memory_order_release);
}

size_t lt_ring_consume(struct lt_ring *r, struct lt_sample *out, size_t max)
{
	struct lt_ring_consumer *c = r->consumer;
	unsigned lane = c->next_lane;
	size_t n = 0;

	for (unsigned i = 0; i < r->nlanes && n < max; i++) {
		struct lt_ring_cstate *cs = &c->lane[lane];
		uint64_t avail = cs->cached_head - cs->tail;
		uint64_t take, first;
		struct lt_sample *rec;

		if (avail < max - n) {
			/* Acquire: pairs with commit's release; records below head are written. */
			cs->cached_head = atomic_load_explicit(&lane_prod(r->hdr, lane)->head,
							       memory_order_acquire);
			avail = cs->cached_head - cs->tail;
		}
		if (avail) {
			take = avail < max - n ? avail : max - n;
			rec = lane_rec(r->hdr, lane);
			if (take <= 4) {
				/* A call to memcpy costs more than a few records. */
				for (uint64_t k = 0; k < take; k++)
					out[n + k] = rec[(cs->tail + k) & r->mask];
			} else {
				/* At most two runs: to the end of the lane, then from its start. */
				first = r->mask + 1 - (cs->tail & r->mask);
				if (first > take)
					first = take;
				memcpy(out + n, &rec[cs->tail & r->mask], first * sizeof(*out));
				memcpy(out + n + first, rec, (take - first) * sizeof(*out));
			}
			cs->tail += take;
			n += take;
			lane_publish(r, lane, cs->tail - take);
			/* Fairness: the next sweep starts after the last lane served. */
			c->next_lane = lane + 1 < r->nlanes ? lane + 1 : 0;
		}
		lane = lane + 1 < r->nlanes ? lane + 1 : 0;
	}
	if (n)
		c->streaming = true;
	return n;
}

/*
 * Poll the lanes for up to RING_SPIN_NS; true when one has records. Every
 * few polls the CPU is offered to other threads: a producer that shares
 * our CPU cannot commit while we spin, and a sleep would hand it the CPU
 * only to take it back at its next commit, a wake-up per record or two.
 */
static bool spin_for_records(struct lt_ring *r)
{
	struct lt_ring_consumer *c = r->consumer;
	uint64_t deadline = mono_ns() + RING_SPIN_NS;

	for (unsigned i = 1;; i++) {
		for (unsigned lane = 0; lane < r->nlanes; lane++)
			if (atomic_load_explicit(&lane_prod(r->hdr, lane)->head,
						 memory_order_relaxed) != c->lane[lane].tail)
				return true;
		/* The clock costs more than a sweep of a few lanes: read it now and then. */
		if (!(i % 16)) {
			if (mono_ns() >= deadline)
				return false;
			sched_yield();
		}
		cpu_relax();
	}
}

/*
 * Announce sleep, with the consumer's half of the Dekker barrier after the
 * flag store. membarrier makes every running thread of this process (the
 * producers) execute a full barrier before it returns, and orders our own
 * accesses around it; without it, a seq_cst exchange is our full barrier
 * and pairs with the producers' own fences. false: do not sleep this time.
 */
static bool announce_sleep(struct lt_ring *r)
{
	if (!atomic_load_explicit(&r->asym, memory_order_relaxed)) {
		atomic_exchange_explicit(&r->hdr->sleeping, 1, memory_order_seq_cst);
		return true;
	}
	atomic_store_explicit(&r->hdr->sleeping, 1, memory_order_relaxed);
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
		return true;
	/*
	 * Cannot fail once registered. If it did, producers fence for
	 * themselves from now on; one that skipped its fence just before may
	 * still race us, so do not sleep this time.
	 */
	atomic_store_explicit(&r->asym, false, memory_order_seq_cst);
	atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_seq_cst);
	return false;
}

bool lt_ring_prepare_sleep(struct lt_ring *r)
{
	struct lt_ring_consumer *c = r->consumer;

	if (c->streaming && c->woke_soon) {
		c->streaming = false;
		if (spin_for_records(r))
			return false;
	}
	c->streaming = false;
	if (!announce_sleep(r))
		return false;
	for (unsigned lane = 0; lane < r->nlanes; lane++) {
		/* seq_cst: ordered after the flag (pairs with commit). */
		uint64_t head =
			atomic_load_explicit(&lane_prod(r->hdr, lane)->head, memory_order_seq_cst);
		if (head != c->lane[lane].tail) {
			atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
			return false;
		}
	}
	c->slept_at = mono_ns();
	return true;
}

void lt_ring_wake_ack(struct lt_ring *r)
{
	struct lt_ring_consumer *c = r->consumer;
	uint64_t v;

	atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
	/* Non-blocking: EAGAIN just means nobody wrote (a timeout or a spurious poll). */
	(void)!read(r->efd, &v, sizeof(v));
	c->woke_soon = c->slept_at && mono_ns() - c->slept_at < RING_STREAM_NS;
}

uint64_t lt_ring_lane_fill(const struct lt_ring *r, unsigned lane)
{
	uint64_t tail, consumed, head;

	if (lane >= r->nlanes)
		return 0;
	/* Tail first, with acquire, so the head loaded after it is never below it. */
	tail = atomic_load_explicit(&lane_cons(r->hdr, lane)->tail, memory_order_acquire);
	consumed = atomic_load_explicit(&lane_cons(r->hdr, lane)->consumed, memory_order_acquire);
	/* consumed is ahead of tail only while a slow lane's tail is held back. */
	if ((int64_t)(consumed - tail) > 0)
		tail = consumed;
	head = atomic_load_explicit(&lane_prod(r->hdr, lane)->head, memory_order_acquire);
	return head - tail;
}

uint64_t lt_ring_lane_dropped(const struct lt_ring *r, unsigned lane)
{
	if (lane >= r->nlanes)
		return 0;
	return atomic_load_explicit(&lane_prod(r->hdr, lane)->dropped, memory_order_relaxed);
}

uint64_t lt_ring_lane_written(const struct lt_ring *r, unsigned lane)
{
	if (lane >= r->nlanes)
		return 0;
	return atomic_load_explicit(&lane_prod(r->hdr, lane)->written, memory_order_relaxed);
}

/* ---- read-only observer ----------------------------------------------- */

/* Check a copy of a header we do not trust (another process wrote it) against the mapping size. */
static int observer_check(const struct lt_ring_hdr *hdr, size_t size)
{
	uint64_t lane_offset, stride, total;

	if (hdr->magic != LT_RING_MAGIC || hdr->abi != LT_RING_ABI ||
	    hdr->record_size != sizeof(struct lt_sample))
		return -EPROTO;
	if (hdr->nlanes == 0 || hdr->capacity < 2 || (hdr->capacity & (hdr->capacity - 1)) ||
	    hdr->size != size)
		return -EPROTO;
	if (ring_layout(hdr->nlanes, hdr->capacity, &lane_offset, &stride, &total) < 0 ||
	    hdr->lane_stride != stride || hdr->lane_offset < sizeof(*hdr) ||
	    hdr->lane_offset % LT_CACHELINE)
		return -EPROTO;
	/* The page size may differ from the creator's: check the bounds, not the sum. */
	if (__builtin_mul_overflow(stride, (uint64_t)hdr->nlanes, &total) ||
	    __builtin_add_overflow(total, hdr->lane_offset, &total) || total > size)
		return -EPROTO;
	return 0;
}

/* The lane's parts in the observer's mapping, at offsets from its private, checked copy. */
static inline const char *obs_lane(const struct lt_ring_observer *o, unsigned lane)
{
	return (const char *)o->hdr + o->lane_offset + (uint64_t)lane * o->lane_stride;
}

static inline _Atomic uint64_t *obs_head(const struct lt_ring_observer *o, unsigned lane)
{
	return &((struct lt_lane_prod *)obs_lane(o, lane))->head;
}

static inline struct lt_sample *obs_rec(const struct lt_ring_observer *o, unsigned lane)
{
	return (struct lt_sample *)(obs_lane(o, lane) + sizeof(struct lt_lane_prod) +
				    sizeof(struct lt_lane_cons));
}

int lt_ring_observer_open(int fd, struct lt_ring_observer *o)
{
	const struct lt_ring_hdr *hdr;
	struct lt_ring_hdr copy;
	struct stat st;
	size_t size;
	int ret;

	if (fd < 0 || !o)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)sizeof(*hdr) || (uint64_t)st.st_size > SIZE_MAX)
		return -EPROTO;
	size = (size_t)st.st_size;
	hdr = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (hdr == MAP_FAILED)
		return -errno;
	/*
	 * One copy, then only the copy: checking the shared header and reading
	 * it again later would let its writer change it in between.
	 */
	memset(&copy, 0, sizeof(copy));
	memcpy(&copy, (const void *)hdr, offsetof(struct lt_ring_hdr, retired));
	copy.generation = __atomic_load_n(&hdr->generation, __ATOMIC_ACQUIRE);
	ret = observer_check(&copy, size);
	if (ret < 0)
		goto err_unmap;

	o->next = calloc(copy.nlanes, sizeof(o->next[0]));
	if (!o->next) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	o->hdr = hdr;
	o->size = size;
	o->nlanes = copy.nlanes;
	o->capacity = copy.capacity;
	o->lane_offset = copy.lane_offset;
	o->lane_stride = copy.lane_stride;
	o->generation = copy.generation;
	o->lane = 0;
	/* Start at the live end: only records published from now on. */
	for (unsigned lane = 0; lane < o->nlanes; lane++)
		o->next[lane] = atomic_load_explicit(obs_head(o, lane), memory_order_acquire);
	return 0;

err_unmap:
	munmap((void *)hdr, size);
	return ret;
}

void lt_ring_observer_close(struct lt_ring_observer *o)
{
	if (!o || !o->hdr)
		return;
	munmap((void *)o->hdr, o->size);
	free(o->next);
	o->hdr = NULL;
	o->next = NULL;
}

/*
 * Copy what one lane published since o->next[lane] into @out (at most @max).
 * The producer does not wait for us, so a slot may be rewritten while we copy
 * it. It writes index w only once head >= w - (AUTOCOMMIT - 1) is published,
 * and that head store is ordered before the slot writes (the fence in
 * commit), so if our copy saw any part of such a write, the head re-loaded
 * after our (acquire) copy shows it. Hence index idx is intact iff
 * idx + capacity > head_now + AUTOCOMMIT - 1; we keep one record of margin:
 * the newest @window = capacity - AUTOCOMMIT - 1 records below head are
 * trusted. Heads come from shared memory and may be anything (a writer that
 * is not liotad): the arithmetic below is on differences, never wraps, and
 * every slot index is masked by the private capacity.
 */
static size_t observe_lane(struct lt_ring_observer *o, unsigned lane, struct lt_sample *out,
			   size_t max, uint64_t *missed)
{
	_Atomic uint64_t *headp = obs_head(o, lane);
	struct lt_sample *rec = obs_rec(o, lane);
	uint64_t cap = o->capacity, mask = cap - 1;
	uint64_t window = cap > LT_RING_AUTOCOMMIT + 1 ? cap - LT_RING_AUTOCOMMIT - 1 : 0;
	uint64_t next = o->next[lane], head, take, bad = 0;

	/* Acquire: the records below head are written (first version at least). */
	head = atomic_load_explicit(headp, memory_order_acquire);
	if (next > head) /* cannot happen with an intact header; stay sane */
		next = head;
	/* Skip what the check below would reject anyway. */
	if (head - next > window) {
		*missed += head - next - window;
		next = head - window;
	}
	take = head - next < max ? head - next : max;
	for (uint64_t i = 0; i < take; i++) {
		uint64_t w[WORDS_PER_RECORD];
		uint64_t *slot = slot_words(rec, mask, next + i);

		/*
		 * Acquire loads (plain movs on x86-64) rather than relaxed loads
		 * and an acquire fence, which TSan does not model: a word from a
		 * newer write synchronizes with the fence in commit, so the
		 * re-load of head below sees what was published before it.
		 * Backwards, ts_ns (word 0) last: a record never spans pages, so
		 * if its page is punched while we copy it, the words loaded
		 * after the punch are zeros, ts_ns among them, and the check
		 * below drops it.
		 */
		for (size_t k = WORDS_PER_RECORD; k-- > 0;)
			w[k] = __atomic_load_n(&slot[k], __ATOMIC_ACQUIRE);
		memcpy(&out[i], w, sizeof(w));
	}
	head = atomic_load_explicit(headp, memory_order_relaxed);
	if (head < next) /* went back: nothing copied can be trusted */
		bad = take;
	else if (head - next > window)
		bad = head - next - window;
	if (bad > take)
		bad = take;
	/*
	 * Belt and braces: a wrong sequence number means the older ones are
	 * gone too. So does ts_ns 0: a slot whose page the consumer gave back
	 * reads as zeros, and seq 0 would pass for record 0.
	 */
	for (uint64_t i = bad; i < take; i++)
		if (out[i].seq != next + i || out[i].ts_ns == 0)
			bad = i + 1;
	if (bad) {
		memmove(out, out + bad, (take - bad) * sizeof(*out));
		*missed += bad;
	}
	o->next[lane] = next + take;
	return take - bad;
}

long lt_ring_observe(struct lt_ring_observer *o, struct lt_sample *out, size_t max,
		     uint64_t *missed)
{
	unsigned nlanes = o->nlanes, lane = o->lane;
	uint64_t lost = 0;
	size_t n = 0;

	/* Acquire: pairs with the release in lt_ring_free(). */
	if (atomic_load_explicit(&o->hdr->retired, memory_order_acquire))
		return -ESTALE;
	if (max > LONG_MAX)
		max = LONG_MAX;
	for (unsigned i = 0; i < nlanes && n < max; i++) {
		n += observe_lane(o, lane, out + n, max - n, &lost);
		lane = lane + 1 < nlanes ? lane + 1 : 0;
	}
	/* Fairness when @max is small: rotate the starting lane. */
	o->lane = o->lane + 1 < nlanes ? o->lane + 1 : 0;
	if (missed)
		*missed += lost;
	return (long)n;
}

uint64_t lt_ring_observer_generation(const struct lt_ring_observer *o)
{
	return __atomic_load_n(&o->hdr->generation, __ATOMIC_ACQUIRE);
}
