/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sample ring: ordering and completeness under threads, overflow, commit
 * visibility, the eventfd sleep protocol and the read-only observer.
 *
 * Every record carries a payload derived from its expected sequence number
 * and lane, so a torn, lost, duplicated or reordered record shows. Threads
 * never call ck_assert (it is costly and not meant for them): they record
 * the first error in a string the main thread asserts on.
 *
 * No _GNU_SOURCE here: -I src/core makes <sched.h> (which <pthread.h>
 * includes) resolve to the scheduler's sched.h, and glibc's pthread.h then
 * misses cpu_set_t. Hence the seal constants below and no sched_yield().
 */
#include "unit.h"
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS   1034 /* F_LINUX_SPECIFIC_BASE + 10 */
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW   0x0004
#define F_SEAL_SEAL   0x0001
#define F_SEAL_WRITE  0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#if defined(__SANITIZE_THREAD__)
#define STREAM_RECORDS 500000u
#elif defined(__SANITIZE_ADDRESS__)
#define STREAM_RECORDS 1000000u
#else
#define STREAM_RECORDS 2000000u
#endif
#define BATCH       32
#define DEADLINE_MS 30000
#define POLL_MS     200
#define MAX_LANES   8

static struct lt_ring *ring;

static void ring_setup(unsigned nlanes, uint64_t capacity)
{
	ck_assert_int_eq(lt_ring_new(nlanes, capacity, 7, &ring), 0);
}

static void setup_one_big_lane(void)
{
	ring_setup(1, 65536);
}

static void setup_four_lanes(void)
{
	ring_setup(4, 16384);
}

static void setup_one_small_lane(void)
{
	ring_setup(1, 64);
}

static void setup_two_lanes(void)
{
	ring_setup(2, 256);
}

static void setup_none(void)
{
	ring = NULL;
}

/* Lanes of 32 pages (4 KiB pages) that give pages back at every crossing. */
static void setup_two_releasing_lanes(void)
{
	ring_setup(2, 4096);
	lt_ring_set_release_after(ring, 0);
}

static void setup_two_keeping_lanes(void)
{
	ring_setup(2, 4096);
	lt_ring_set_release_after(ring, UINT64_MAX);
}

static void teardown(void)
{
	lt_ring_free(ring);
	ring = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t payload_id(unsigned lane, uint64_t k)
{
	return (uint32_t)lane << 24 | (uint32_t)((k * 2654435761u) & 0xffffff);
}

/* The record the producer of @lane pushes when its next sequence number is @k. */
static void make_sample(struct lt_sample *s, unsigned lane, uint64_t k)
{
	s->ts_ns = k + 1000;
	s->seq = UINT64_MAX; /* the ring must overwrite it */
	s->value = (double)k * 0.25 + lane;
	s->metric_id = payload_id(lane, k);
	s->flags = (uint32_t)(k & 1);
}

static bool sample_ok(const struct lt_sample *s, unsigned lane, uint64_t k)
{
	return s->seq == k && s->ts_ns == k + 1000 && s->value == (double)k * 0.25 + lane &&
	       s->metric_id == payload_id(lane, k) && s->flags == (uint32_t)(k & 1);
}

/* ---- threaded producer and consumer ----------------------------------- */

struct producer {
	pthread_t thread;
	unsigned lane;
	uint64_t n;        /* records to get accepted */
	uint64_t accepted; /* == next sequence number */
	uint64_t dropped;  /* pushes refused because the lane was full */
	_Atomic bool done;
};

/*
 * Push @n records in batches of BATCH, committing after each. The ring never
 * blocks: on a full lane this test producer counts the drop, backs off
 * briefly and retries, so that all @n records cross the ring (a sampler
 * would simply move on). The payload follows the accepted count.
 */
static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	uint64_t deadline = now_ms() + DEADLINE_MS;
	struct lt_ring_producer p;
	struct lt_sample s;
	unsigned batched = 0;

	if (lt_ring_producer_init(ring, pr->lane, &p) < 0)
		goto out;
	while (pr->accepted < pr->n) {
		make_sample(&s, pr->lane, pr->accepted);
		if (lt_ring_push(&p, &s)) {
			pr->accepted++;
			if (++batched == BATCH) {
				lt_ring_commit(&p);
				batched = 0;
			}
			continue;
		}
		pr->dropped++;
		if (now_ms() > deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
	}
	lt_ring_commit(&p);
out:
	/* Release: the consumer that sees done sees the final head and counts. */
	atomic_store_explicit(&pr->done, true, memory_order_release);
	return NULL;
}

struct consumer {
	pthread_t thread;
	struct producer *prods;
	unsigned nprods;
	uint64_t got[MAX_LANES];
	uint64_t sleeps;
	char err[160];
};

static bool all_done(const struct consumer *c)
{
	for (unsigned i = 0; i < c->nprods; i++)
		if (!atomic_load_explicit(&c->prods[i].done, memory_order_acquire))
			return false;
	return true;
}

/*
 * Drain until every producer is done and the ring is empty, sleeping on the
 * eventfd whenever the ring is empty. Checks order and payload per lane.
 */
static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	uint64_t deadline = now_ms() + DEADLINE_MS;
	unsigned nlanes = lt_ring_nlanes(ring);
	struct lt_sample buf[256];
	struct pollfd pfd = { .fd = lt_ring_eventfd(ring), .events = POLLIN };

	while (!c->err[0]) {
		bool done = all_done(c);
		size_t n = lt_ring_consume(ring, buf, 256);

		for (size_t i = 0; i < n && !c->err[0]; i++) {
			unsigned lane = buf[i].metric_id >> 24;

			if (lane >= nlanes || !sample_ok(&buf[i], lane, c->got[lane]))
				snprintf(c->err, sizeof(c->err),
					 "lane %u: expected seq %llu, got seq %llu ts %llu", lane,
					 (unsigned long long)(lane < nlanes ? c->got[lane] : 0),
					 (unsigned long long)buf[i].seq,
					 (unsigned long long)buf[i].ts_ns);
			else
				c->got[lane]++;
		}
		if (n)
			continue;
		if (done) /* done was read before this empty sweep: nothing more comes */
			break;
		if (now_ms() > deadline) {
			snprintf(c->err, sizeof(c->err), "consumer deadline passed");
			break;
		}
		if (lt_ring_prepare_sleep(ring)) {
			c->sleeps++;
			poll(&pfd, 1, POLL_MS);
			lt_ring_wake_ack(ring);
		}
	}
	return NULL;
}

static void check_stream(struct consumer *c, uint64_t per_lane)
{
	ck_assert_msg(!c->err[0], "%s", c->err);
	for (unsigned i = 0; i < c->nprods; i++) {
		struct producer *pr = &c->prods[i];

		/* Every record pushed either arrived (in order, intact) or was counted dropped. */
		ck_assert_uint_eq(pr->accepted, per_lane);
		ck_assert_uint_eq(c->got[pr->lane], pr->accepted);
		ck_assert_uint_eq(lt_ring_lane_written(ring, pr->lane), pr->accepted);
		ck_assert_uint_eq(lt_ring_lane_dropped(ring, pr->lane), pr->dropped);
		ck_assert_uint_eq(lt_ring_lane_fill(ring, pr->lane), 0);
	}
}

static void run_stream(unsigned nprods, uint64_t per_lane)
{
	struct producer prods[MAX_LANES];
	struct consumer c = { .prods = prods, .nprods = nprods };
	uint64_t t0 = now_ms(), total = 0, dropped = 0;

	memset(prods, 0, sizeof(prods));
	for (unsigned i = 0; i < nprods; i++) {
		prods[i].lane = i;
		prods[i].n = per_lane;
		ck_assert_int_eq(pthread_create(&prods[i].thread, NULL, producer_main, &prods[i]),
				 0);
	}
	consumer_main(&c);
	for (unsigned i = 0; i < nprods; i++) {
		pthread_join(prods[i].thread, NULL);
		total += prods[i].accepted;
		dropped += prods[i].dropped;
	}
	check_stream(&c, per_lane);
	fprintf(stderr,
		"ring: %u producer(s): %llu records in %llu ms (%.1f M/s), %llu dropped, "
		"%llu sleeps, %llu wakeups\n",
		nprods, (unsigned long long)total, (unsigned long long)(now_ms() - t0),
		(double)total / (double)(now_ms() - t0 + 1) / 1000.0, (unsigned long long)dropped,
		(unsigned long long)c.sleeps,
		(unsigned long long)atomic_load(&lt_ring_hdr(ring)->wakeups));
}

START_TEST(single_producer_stream_arrives_complete_and_in_order)
{
	run_stream(1, STREAM_RECORDS);
}
END_TEST

START_TEST(four_producers_on_four_lanes_each_arrive_complete_and_in_order)
{
	/* More threads than cores: a preempted producer must not stall the others. */
	run_stream(4, STREAM_RECORDS / 4);
}
END_TEST

/* ---- single-threaded behaviour ----------------------------------------- */

START_TEST(full_lane_drops_and_counts_without_blocking)
{
	struct lt_ring_producer p;
	struct lt_sample s, out[128];

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 64; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
	}
	for (int i = 0; i < 10; i++) {
		make_sample(&s, 0, 64);
		ck_assert(!lt_ring_push(&p, &s));
	}
	lt_ring_commit(&p);
	ck_assert_uint_eq(lt_ring_lane_dropped(ring, 0), 10);
	ck_assert_uint_eq(lt_ring_lane_written(ring, 0), 64);
	ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 64);

	ck_assert_uint_eq(lt_ring_consume(ring, out, 128), 64);
	for (uint64_t k = 0; k < 64; k++)
		ck_assert(sample_ok(&out[k], 0, k));
	ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 0);

	/* Room again; dropped records took no sequence number. */
	for (uint64_t k = 64; k < 64 + 40; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
	}
	lt_ring_commit(&p);
	ck_assert_uint_eq(lt_ring_consume(ring, out, 128), 40);
	for (uint64_t k = 0; k < 40; k++)
		ck_assert(sample_ok(&out[k], 0, 64 + k));
	ck_assert_uint_eq(lt_ring_lane_dropped(ring, 0), 10);
}
END_TEST

START_TEST(pushed_records_are_invisible_until_commit)
{
	struct lt_ring_producer p;
	struct lt_sample s, out[64];

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 5; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
	}
	ck_assert_uint_eq(lt_ring_consume(ring, out, 64), 0);
	ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 0);
	lt_ring_commit(&p);
	ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 5);
	ck_assert_uint_eq(lt_ring_consume(ring, out, 64), 5);
	for (uint64_t k = 0; k < 5; k++)
		ck_assert(sample_ok(&out[k], 0, k));
}
END_TEST

START_TEST(push_commits_by_itself_every_autocommit_records)
{
	struct lt_ring_producer p;
	struct lt_sample s, out[64];

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < LT_RING_AUTOCOMMIT - 1; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
	}
	ck_assert_uint_eq(lt_ring_consume(ring, out, 64), 0);
	make_sample(&s, 0, LT_RING_AUTOCOMMIT - 1);
	ck_assert(lt_ring_push(&p, &s));
	ck_assert_uint_eq(lt_ring_consume(ring, out, 64), LT_RING_AUTOCOMMIT);
	ck_assert(sample_ok(&out[LT_RING_AUTOCOMMIT - 1], 0, LT_RING_AUTOCOMMIT - 1));
}
END_TEST

START_TEST(consume_serves_lanes_round_robin)
{
	struct lt_ring_producer p0, p1;
	struct lt_sample s, out[8];

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p0), 0);
	ck_assert_int_eq(lt_ring_producer_init(ring, 1, &p1), 0);
	for (uint64_t k = 0; k < 8; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p0, &s));
		make_sample(&s, 1, k);
		ck_assert(lt_ring_push(&p1, &s));
	}
	lt_ring_commit(&p0);
	lt_ring_commit(&p1);
	/* A full lane 0 must not keep lane 1 waiting: the next call starts at lane 1. */
	ck_assert_uint_eq(lt_ring_consume(ring, out, 4), 4);
	ck_assert_uint_eq(out[0].metric_id >> 24, 0);
	ck_assert_uint_eq(lt_ring_consume(ring, out, 4), 4);
	ck_assert_uint_eq(out[0].metric_id >> 24, 1);
	ck_assert(sample_ok(&out[3], 1, 3));
}
END_TEST

/* ---- sleep protocol ----------------------------------------------------- */

static void *push_one_and_commit(void *arg)
{
	struct lt_ring_producer p;
	struct lt_sample s;

	(void)arg;
	if (lt_ring_producer_init(ring, 1, &p) == 0) {
		make_sample(&s, 1, 0);
		lt_ring_push(&p, &s);
		lt_ring_commit(&p);
	}
	return NULL;
}

static int eventfd_readable(int timeout_ms)
{
	struct pollfd pfd = { .fd = lt_ring_eventfd(ring), .events = POLLIN };

	return poll(&pfd, 1, timeout_ms);
}

START_TEST(commit_wakes_a_sleeping_consumer_and_only_then)
{
	const struct lt_ring_hdr *hdr = lt_ring_hdr(ring);
	struct lt_ring_producer p;
	struct lt_sample s, out[8];
	pthread_t t;

	ck_assert(lt_ring_prepare_sleep(ring));
	ck_assert_int_eq(eventfd_readable(0), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, push_one_and_commit, NULL), 0);
	ck_assert_int_eq(eventfd_readable(1000), 1);
	pthread_join(t, NULL);
	ck_assert_uint_eq(atomic_load(&hdr->wakeups), 1);
	lt_ring_wake_ack(ring);
	ck_assert_int_eq(eventfd_readable(0), 0);

	/* Records are waiting: the consumer may not sleep. */
	ck_assert(!lt_ring_prepare_sleep(ring));
	ck_assert_uint_eq(lt_ring_consume(ring, out, 8), 1);
	ck_assert(sample_ok(&out[0], 1, 0));

	/* Awake consumer: commits do not touch the eventfd. */
	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 3; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
		lt_ring_commit(&p);
	}
	ck_assert_int_eq(eventfd_readable(0), 0);
	ck_assert_uint_eq(atomic_load(&hdr->wakeups), 1);

	/* One wake-up per sleep, however many commits follow. */
	ck_assert_uint_eq(lt_ring_consume(ring, out, 8), 3);
	ck_assert(lt_ring_prepare_sleep(ring));
	for (uint64_t k = 3; k < 6; k++) {
		make_sample(&s, 0, k);
		ck_assert(lt_ring_push(&p, &s));
		lt_ring_commit(&p);
	}
	ck_assert_int_eq(eventfd_readable(0), 1);
	ck_assert_uint_eq(atomic_load(&hdr->wakeups), 2);
	lt_ring_wake_ack(ring);
	ck_assert_uint_eq(lt_ring_consume(ring, out, 8), 3);
}
END_TEST

/* ---- read-only observer -------------------------------------------------- */

/* An observer of the test's ring, as liotactl tail opens one (a read-only fd). */
static void open_observer(struct lt_ring_observer *o)
{
	int fd = lt_ring_dup_ro_fd(ring);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lt_ring_observer_open(fd, o), 0);
	close(fd);
}

static void push_n(struct lt_ring_producer *p, unsigned lane, uint64_t first, uint64_t n)
{
	struct lt_sample s;

	for (uint64_t k = first; k < first + n; k++) {
		make_sample(&s, lane, k);
		ck_assert(lt_ring_push(p, &s));
	}
	lt_ring_commit(p);
}

START_TEST(observer_follows_lanes_read_only_and_detects_laps)
{
	struct lt_ring_observer o;
	struct lt_ring_producer p0, p1;
	struct lt_sample out[512], drain[64];
	uint64_t missed = 0, next0, pushed;
	const struct lt_ring_hdr *hdr;
	unsigned seen[2] = { 0, 0 };
	int fd, seals;
	long n;

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p0), 0);
	ck_assert_int_eq(lt_ring_producer_init(ring, 1, &p1), 0);
	push_n(&p0, 0, 0, 10); /* before the observer: not shown */
	ck_assert_uint_eq(lt_ring_consume(ring, drain, 64), 10);

	fd = lt_ring_dup_ro_fd(ring);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lt_ring_observer_open(fd, &o), 0);
	hdr = o.hdr;
	ck_assert_uint_eq(hdr->magic, LT_RING_MAGIC);
	ck_assert_uint_eq(hdr->generation, 7);
	ck_assert_uint_eq(hdr->nlanes, 2);
	ck_assert_uint_eq(hdr->capacity, 256);
	/* Neither this fd nor the segment can be written by the observer's side. */
	ck_assert(mmap(NULL, o.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	ck_assert(write(fd, "x", 1) < 0);
	seals = fcntl(fd, F_GET_SEALS);
	ck_assert_int_ge(seals, 0);
	ck_assert(seals & F_SEAL_GROW);
	ck_assert(seals & F_SEAL_SHRINK);
	ck_assert(seals & F_SEAL_SEAL);
	/* No write seal: the kernel would refuse to punch the pages given back. */
	ck_assert(!(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)));
	close(fd);

	ck_assert_int_eq(lt_ring_observe(&o, out, 512, &missed), 0);
	push_n(&p0, 0, 10, 20);
	push_n(&p1, 1, 0, 5);
	n = lt_ring_observe(&o, out, 512, &missed);
	ck_assert_int_eq(n, 25);
	ck_assert_uint_eq(missed, 0);
	for (long i = 0; i < n; i++) {
		unsigned lane = out[i].metric_id >> 24;

		ck_assert_uint_lt(lane, 2);
		ck_assert(sample_ok(&out[i], lane, lane == 0 ? 10 + seen[0] : seen[1]));
		seen[lane]++;
	}
	ck_assert_uint_eq(lt_ring_consume(ring, drain, 64), 25);

	/* Lap the observer: a consumer keeps the lane moving, the observer sleeps. */
	next0 = 30;
	pushed = 1000;
	for (uint64_t k = next0; k < next0 + pushed; k += 50) {
		push_n(&p0, 0, k, 50);
		ck_assert_uint_eq(lt_ring_consume(ring, drain, 64), 50);
	}
	n = lt_ring_observe(&o, out, 512, &missed);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_gt(missed, 0);
	ck_assert_uint_eq((uint64_t)n + missed, pushed);
	for (long i = 0; i < n; i++) /* the newest ones, in order */
		ck_assert(sample_ok(&out[i], 0, next0 + missed + (uint64_t)i));

	/* The daemon retires the segment: the observer is told to re-attach. */
	lt_ring_free(ring);
	ring = NULL;
	ck_assert_int_eq(lt_ring_observe(&o, out, 512, &missed), -ESTALE);
	lt_ring_observer_close(&o);
}
END_TEST

#if defined(__SANITIZE_THREAD__)
#define OBSERVED_RECORDS 300000u
#else
#define OBSERVED_RECORDS 1000000u
#endif

START_TEST(observer_racing_a_producer_sees_only_intact_records)
{
	struct producer prod = { .lane = 0, .n = OBSERVED_RECORDS };
	struct consumer c = { .prods = &prod, .nprods = 1 };
	struct lt_ring_observer o;
	struct lt_sample out[128];
	uint64_t deadline = now_ms() + DEADLINE_MS, missed = 0, seen = 0, next = 0;
	char err[160] = "";

	open_observer(&o);
	ck_assert_int_eq(pthread_create(&prod.thread, NULL, producer_main, &prod), 0);
	ck_assert_int_eq(pthread_create(&c.thread, NULL, consumer_main, &c), 0);

	for (;;) {
		bool done = atomic_load_explicit(&prod.done, memory_order_acquire);
		uint64_t missed_before = missed;
		long n = lt_ring_observe(&o, out, 128, &missed);

		if (n < 0) {
			snprintf(err, sizeof(err), "observe: %ld", n);
			break;
		}
		for (long i = 0; i < n && !err[0]; i++) {
			/* Gaps are allowed (missed), going back or a torn record is not. */
			if (out[i].seq < next || !sample_ok(&out[i], 0, out[i].seq))
				snprintf(err, sizeof(err), "bad record seq %llu after %llu",
					 (unsigned long long)out[i].seq, (unsigned long long)next);
			next = out[i].seq + 1;
		}
		seen += (uint64_t)n;
		/* Caught up: nothing read, nothing missed (a batch may be all missed). */
		if (err[0] || (done && n == 0 && missed == missed_before))
			break;
		if (now_ms() > deadline) {
			snprintf(err, sizeof(err), "observer deadline passed");
			break;
		}
		if (n == 0) /* an observer has nothing to wait on: it polls, like `tail -f` */
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
	pthread_join(prod.thread, NULL);
	pthread_join(c.thread, NULL);
	lt_ring_observer_close(&o);
	ck_assert_msg(!err[0], "%s", err);
	ck_assert_msg(!c.err[0], "%s", c.err);
	ck_assert_uint_eq(c.got[0], prod.accepted);
	/* Everything accepted was either seen intact or reported missed. */
	ck_assert_uint_eq(seen + missed, prod.accepted);
	fprintf(stderr, "ring: observer saw %llu, missed %llu of %llu\n", (unsigned long long)seen,
		(unsigned long long)missed, (unsigned long long)prod.accepted);
}
END_TEST

/* ---- giving back the pages of slow lanes -------------------------------- */

static size_t page_bytes(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static struct lt_lane_cons *lane_cons_of(unsigned lane)
{
	const struct lt_ring_hdr *hdr = lt_ring_hdr(ring);

	return (struct lt_lane_cons *)((char *)hdr + hdr->lane_offset + lane * hdr->lane_stride +
				       sizeof(struct lt_lane_prod));
}

static struct lt_sample *lane_rec_of(unsigned lane)
{
	return (struct lt_sample *)((char *)lane_cons_of(lane) + sizeof(struct lt_lane_cons));
}

/* Residency of the segment's pages, one byte per page (bit 0: resident). */
static unsigned char *resident_pages(void)
{
	const struct lt_ring_hdr *hdr = lt_ring_hdr(ring);
	size_t npages = hdr->size / page_bytes();
	unsigned char *vec = calloc(npages, 1);

	ck_assert_ptr_nonnull(vec);
	ck_assert_int_eq(mincore((void *)hdr, hdr->size, vec), 0);
	return vec;
}

/* The segment's page that holds @p. */
static size_t page_of(const void *p)
{
	return (size_t)((const char *)p - (const char *)lt_ring_hdr(ring)) / page_bytes();
}

/*
 * Three and a half laps of lane 0 in uneven steps (pushes of 1 to 300
 * records, consumed in reads of 1 to 250, so that reads end anywhere in a
 * page and wrap round the lane), every record checked; then 300 records
 * pushed and left unconsumed. Returns the lane's head.
 */
static uint64_t laps_of_lane0(void)
{
	struct lt_ring_producer p;
	struct lt_sample out[256];
	uint64_t pushed = 0, got = 0, rnd = 12345;

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	while (pushed < 4096 * 3 + 2048) {
		uint64_t n;

		rnd = rnd * 6364136223846793005u + 1442695040888963407u;
		n = 1 + (rnd >> 33) % 300;
		push_n(&p, 0, pushed, n);
		pushed += n;
		while ((n = lt_ring_consume(ring, out, 1 + (rnd >> 20) % 250)) > 0)
			for (uint64_t k = 0; k < n; k++, got++)
				ck_assert_msg(sample_ok(&out[k], 0, got), "record %llu",
					      (unsigned long long)got);
	}
	ck_assert_uint_eq(got, pushed);
	push_n(&p, 0, pushed, 300);
	ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 300);
	ck_assert_uint_eq(lt_ring_lane_dropped(ring, 0), 0);
	return pushed + 300;
}

START_TEST(slow_lane_gives_back_the_pages_it_has_consumed)
{
	const struct lt_ring_hdr *hdr = lt_ring_hdr(ring);
	uint64_t head = laps_of_lane0(), cap = hdr->capacity;
	uint64_t tail = atomic_load(&lane_cons_of(0)->tail);
	struct lt_sample *rec = lane_rec_of(0);
	size_t first = page_of(&rec[0]), last = page_of(&rec[cap - 1]);
	unsigned char *vec = resident_pages();
	unsigned punched = 0;

	ck_assert_int_eq(lt_ring_release_error(ring), 0);
	ck_assert_uint_gt(lt_ring_pages_released(ring), 3 * (cap * 32 / page_bytes()) - 6);
	/*
	 * Held at the page boundary of the previous crossing: what was read
	 * since stays (a consume takes up to 250 records, two pages), for
	 * observers.
	 */
	ck_assert_uint_eq((uintptr_t)&rec[tail & (cap - 1)] % page_bytes(), 0);
	ck_assert_uint_lt(head - 300 - tail, 4 * page_bytes() / 32);
	/* The lanes' first pages (their control lines) and partial pages stay. */
	ck_assert(vec[0] & 1);
	ck_assert(vec[first] & 1);
	ck_assert(vec[last] & 1);
	ck_assert(vec[page_of(lane_cons_of(1))] & 1);
	/* A whole page of lane 0 is resident iff it holds a record not handed back (>= tail). */
	for (size_t pg = first + 1; pg < last; pg++) {
		uint64_t newest = 0;

		for (uint64_t i = head - cap; i < head; i++)
			if (page_of(&rec[i & (cap - 1)]) == pg && i > newest)
				newest = i;
		ck_assert_msg((vec[pg] & 1) == (newest >= tail), "page %zu: newest %llu, tail %llu",
			      pg, (unsigned long long)newest, (unsigned long long)tail);
		punched += !(vec[pg] & 1);
	}
	ck_assert_uint_gt(punched, 20);
	free(vec);

	/* What was held back is handed over when giving back is turned off. */
	{
		struct lt_sample out[512];

		lt_ring_set_release_after(ring, UINT64_MAX);
		ck_assert_uint_eq(lt_ring_consume(ring, out, 512), 300);
		ck_assert(sample_ok(&out[299], 0, head - 1));
		ck_assert_uint_eq(atomic_load(&lane_cons_of(0)->tail), head);
		ck_assert_uint_eq(lt_ring_lane_fill(ring, 0), 0);
	}
}
END_TEST

START_TEST(lane_that_may_not_give_back_keeps_every_page)
{
	const struct lt_ring_hdr *hdr = lt_ring_hdr(ring);
	uint64_t head = laps_of_lane0(), cap = hdr->capacity;
	struct lt_sample *rec = lane_rec_of(0);
	unsigned char *vec = resident_pages();

	ck_assert_uint_eq(lt_ring_pages_released(ring), 0);
	ck_assert_uint_eq(atomic_load(&lane_cons_of(0)->tail), head - 300);
	for (size_t pg = page_of(&rec[0]); pg <= page_of(&rec[cap - 1]); pg++)
		ck_assert_msg(vec[pg] & 1, "page %zu", pg);
	free(vec);
}
END_TEST

START_TEST(lanes_too_small_never_give_back)
{
	struct lt_ring_producer p;
	struct lt_sample out[64];

	/* 256 records of 32 B are two pages: below LT_RING_RELEASE_MIN_PAGES. */
	lt_ring_set_release_after(ring, 0);
	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 1024; k += 64) {
		push_n(&p, 0, k, 64);
		ck_assert_uint_eq(lt_ring_consume(ring, out, 64), 64);
		ck_assert_uint_eq(atomic_load(&lane_cons_of(0)->tail), k + 64);
	}
	ck_assert_uint_eq(lt_ring_pages_released(ring), 0);
}
END_TEST

START_TEST(threaded_stream_through_lanes_giving_back_loses_nothing)
{
	/* Every crossing punches while the producer writes the rest of the lane. */
	run_stream(2, STREAM_RECORDS / 2);
	ck_assert_int_eq(lt_ring_release_error(ring), 0);
	ck_assert_uint_gt(lt_ring_pages_released(ring), STREAM_RECORDS / 128 / 2);
}
END_TEST

/*
 * A device of many metrics writes its lane in bursts, which the consumer
 * reads at once: an observer that looks after that (liotactl tail polls
 * every 10 ms) still sees every record, because a crossing gives back only
 * the pages read by the previous one, and the pages do go back then.
 */
START_TEST(observer_after_the_consumer_sees_every_burst)
{
	struct lt_ring_observer o;
	struct lt_ring_producer p;
	struct lt_sample out[4096], drain[1024];
	uint64_t missed = 0, seen = 0;

	open_observer(&o);
	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 10 * 1000; k += 1000) {
		long n;

		push_n(&p, 0, k, 1000);
		ck_assert_uint_eq(lt_ring_consume(ring, drain, 1024), 1000);
		n = lt_ring_observe(&o, out, 4096, &missed);
		ck_assert_int_eq(n, 1000);
		for (long i = 0; i < n; i++, seen++)
			ck_assert(sample_ok(&out[i], 0, seen));
		ck_assert_uint_eq(missed, 0);
	}
	/*
	 * Ten bursts of 7.8 pages (1,000 records of 32 B) went twice round the
	 * 32-page lane: those of the first nine went back, but for the pages
	 * they shared (measured: 67).
	 */
	ck_assert_uint_ge(lt_ring_pages_released(ring), 60);
	ck_assert_uint_eq(lt_ring_lane_dropped(ring, 0), 0);
	lt_ring_observer_close(&o);
}
END_TEST

START_TEST(observer_counts_records_given_back_as_missed)
{
	struct lt_ring_observer o;
	struct lt_ring_producer p, p1;
	struct lt_sample out[4096], drain[256];
	uint64_t missed = 0, seen[2] = { 0, 0 };
	long n;

	open_observer(&o);
	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p), 0);
	for (uint64_t k = 0; k < 1000; k += 100) {
		push_n(&p, 0, k, 100);
		ck_assert_uint_eq(lt_ring_consume(ring, drain, 256), 100);
	}
	ck_assert_uint_gt(lt_ring_pages_released(ring), 4);
	/*
	 * Lane 1: ten records, the first zeroed by hand as a punch would (its
	 * slot is in the lane's first page, which is never given back). Its
	 * seq, 0, is the one the observer expects: only ts_ns 0 gives it away.
	 */
	ck_assert_int_eq(lt_ring_producer_init(ring, 1, &p1), 0);
	push_n(&p1, 1, 0, 10);
	memset(&lane_rec_of(1)[0], 0, sizeof(struct lt_sample));

	n = lt_ring_observe(&o, out, 4096, &missed);
	ck_assert_int_gt(n, 0);
	for (long i = 0; i < n; i++) {
		unsigned lane = out[i].metric_id >> 24;

		ck_assert_uint_ne(out[i].ts_ns, 0);
		ck_assert_uint_lt(lane, 2);
		/* Lane 0: the newest records, after those in pages given back. */
		ck_assert(sample_ok(&out[i], lane, lane == 0 ? out[i].seq : 1 + seen[1]));
		ck_assert_uint_ge(out[i].seq, lane == 0 ? 1000 - 3 * page_bytes() / 32 : 1);
		seen[lane]++;
	}
	ck_assert_uint_eq(seen[1], 9);
	ck_assert_uint_gt(seen[0], 0);
	ck_assert_uint_eq((uint64_t)n + missed, 1010);
	lt_ring_observer_close(&o);
}
END_TEST

/* ---- bad arguments ----------------------------------------------------- */

START_TEST(bad_sizes_are_rejected_with_einval)
{
	struct lt_ring *r = (struct lt_ring *)&r;

	ck_assert_int_eq(lt_ring_new(1, 100, 0, &r), -EINVAL);
	ck_assert_int_eq(lt_ring_new(1, 0, 0, &r), -EINVAL);
	ck_assert_int_eq(lt_ring_new(1, 1, 0, &r), -EINVAL);
	ck_assert_int_eq(lt_ring_new(0, 64, 0, &r), -EINVAL);
	ck_assert_int_eq(lt_ring_new(4, UINT64_C(1) << 62, 0, &r), -EINVAL);
	ck_assert(r == (struct lt_ring *)&r); /* untouched on failure */
	lt_ring_free(NULL);
}
END_TEST

START_TEST(producer_on_a_missing_lane_is_rejected)
{
	struct lt_ring_producer p;

	ck_assert_int_eq(lt_ring_producer_init(ring, 2, &p), -EINVAL);
}
END_TEST

START_TEST(observer_refuses_what_is_not_a_ring)
{
	struct lt_ring_observer o;
	char junk[8192];
	FILE *f = tmpfile();
	int fd = f ? fileno(f) : -1;

	ck_assert_int_ge(fd, 0);
	memset(junk, 0x5a, sizeof(junk));
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	ck_assert_int_eq(lt_ring_observer_open(fd, &o), -EPROTO);
	ck_assert_int_eq(ftruncate(fd, 16), 0);
	ck_assert_int_eq(lt_ring_observer_open(fd, &o), -EPROTO);
	fclose(f);
	ck_assert_int_eq(lt_ring_observer_open(-1, &o), -EINVAL);
}
END_TEST

/*
 * The segment's writer is not trusted (liotactl may have been handed a
 * segment by somebody else): after the observer checked it, the header's
 * layout and the lane heads change under it. The observer must keep to the
 * layout it checked (no read outside the mapping: ASan/SEGV would say) and
 * return promptly whatever the heads say.
 */
START_TEST(observer_survives_a_segment_changed_after_open)
{
	struct lt_ring_hdr *hdr = (struct lt_ring_hdr *)lt_ring_hdr(ring), saved;
	struct lt_ring_observer o;
	struct lt_ring_producer p0;
	struct lt_sample out[512];
	_Atomic uint64_t *head[2];
	uint64_t missed = 0, t0, h0;

	ck_assert_int_eq(lt_ring_producer_init(ring, 0, &p0), 0);
	push_n(&p0, 0, 0, 10);
	open_observer(&o);
	for (unsigned l = 0; l < 2; l++)
		head[l] = &((struct lt_lane_prod *)((char *)hdr + hdr->lane_offset +
						    l * hdr->lane_stride))
				   ->head;
	h0 = atomic_load(head[0]);
	memcpy(&saved, hdr, offsetof(struct lt_ring_hdr, retired));

	/* The layout, rewritten through the owner's writable mapping. */
	hdr->nlanes = 1u << 30;
	hdr->capacity = UINT64_C(1) << 40;
	hdr->lane_offset = UINT64_C(1) << 44;
	hdr->lane_stride = UINT64_C(1) << 50;
	hdr->size = UINT64_MAX;
	t0 = now_ms();
	/* Heads far ahead, at the top of the range, behind, wrapping. */
	const uint64_t heads[] = { h0 + (UINT64_C(1) << 62), UINT64_MAX, h0 - 5,   0,
				   UINT64_MAX - 3,           3,          h0 + 100, h0 + 1 };
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		atomic_store(head[0], heads[i]);
		atomic_store(head[1], ~heads[i]);
		for (int k = 0; k < 3; k++) {
			long n = lt_ring_observe(&o, out, 512, &missed);

			ck_assert_int_ge(n, 0);
			ck_assert_int_le(n, 512);
		}
	}
	ck_assert_uint_lt(now_ms() - t0, 1000);
	/* Still two lanes of 256 for the observer: it copied them once. */
	ck_assert_uint_eq(o.nlanes, 2);
	ck_assert_uint_eq(o.capacity, 256);
	lt_ring_observer_close(&o);
	memcpy(hdr, &saved, offsetof(struct lt_ring_hdr, retired));
	atomic_store(head[0], h0);
	atomic_store(head[1], 0);
}
END_TEST

static void add_test(Suite *s, const char *name, const TTest *test, void (*setup)(void),
		     int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");

	add_test(s, "stream1", single_producer_stream_arrives_complete_and_in_order,
		 setup_one_big_lane, 60);
	add_test(s, "stream4", four_producers_on_four_lanes_each_arrive_complete_and_in_order,
		 setup_four_lanes, 60);
	add_test(s, "overflow", full_lane_drops_and_counts_without_blocking, setup_one_small_lane,
		 10);
	add_test(s, "commit", pushed_records_are_invisible_until_commit, setup_one_small_lane, 10);
	add_test(s, "autocommit", push_commits_by_itself_every_autocommit_records,
		 setup_one_small_lane, 10);
	add_test(s, "fairness", consume_serves_lanes_round_robin, setup_two_lanes, 10);
	add_test(s, "sleep", commit_wakes_a_sleeping_consumer_and_only_then, setup_two_lanes, 10);
	add_test(s, "observer", observer_follows_lanes_read_only_and_detects_laps, setup_two_lanes,
		 10);
	add_test(s, "observer_race", observer_racing_a_producer_sees_only_intact_records,
		 setup_two_lanes, 60);
	add_test(s, "release", slow_lane_gives_back_the_pages_it_has_consumed,
		 setup_two_releasing_lanes, 10);
	add_test(s, "release_never", lane_that_may_not_give_back_keeps_every_page,
		 setup_two_keeping_lanes, 10);
	add_test(s, "release_small", lanes_too_small_never_give_back, setup_two_lanes, 10);
	add_test(s, "release_stream", threaded_stream_through_lanes_giving_back_loses_nothing,
		 setup_two_releasing_lanes, 60);
	add_test(s, "release_observer", observer_counts_records_given_back_as_missed,
		 setup_two_releasing_lanes, 10);
	add_test(s, "release_burst", observer_after_the_consumer_sees_every_burst,
		 setup_two_releasing_lanes, 10);
	/* The same race, with pages punched under the observer's copies. */
	add_test(s, "release_observer_race", observer_racing_a_producer_sees_only_intact_records,
		 setup_two_releasing_lanes, 60);
	add_test(s, "bad_sizes", bad_sizes_are_rejected_with_einval, setup_none, 10);
	add_test(s, "bad_lane", producer_on_a_missing_lane_is_rejected, setup_two_lanes, 10);
	add_test(s, "bad_observer", observer_refuses_what_is_not_a_ring, setup_none, 10);
	add_test(s, "hostile_segment", observer_survives_a_segment_changed_after_open,
		 setup_two_lanes, 10);
	return s;
}

LT_UNIT_MAIN(ring_suite)
