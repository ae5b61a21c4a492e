/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sampling schedule: absolute deadlines, no drift, no catch-up burst;
 * the lateness histogram; when the sampler wakes the publisher.
 */
#include "control.h"
#include "fixtures.h"
#include "ring.h"
#include "sampler.h"
#include "schedule.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS 1000000ull

START_TEST(on_time_tick_advances_by_one_interval)
{
	uint64_t skipped = 99;

	ck_assert_uint_eq(sched_next(1000 * MS, 100 * MS, 1000 * MS + 5, &skipped), 1100 * MS);
	ck_assert_uint_eq(skipped, 0);
}
END_TEST

START_TEST(late_tick_skips_missed_deadlines_and_keeps_phase)
{
	uint64_t skipped;

	/* Handled 3.5 intervals late: the next deadline stays on the 100 ms grid. */
	ck_assert_uint_eq(sched_next(1000 * MS, 100 * MS, 1350 * MS, &skipped), 1400 * MS);
	ck_assert_uint_eq(skipped, 3);
	/* Exactly on a later deadline: that one counts as missed too. */
	ck_assert_uint_eq(sched_next(1000 * MS, 100 * MS, 1200 * MS, &skipped), 1300 * MS);
	ck_assert_uint_eq(skipped, 2);
}
END_TEST

START_TEST(schedule_does_not_drift_with_slow_reads)
{
	uint64_t d = 0, skipped, total = 0;

	/* Each tick handled 30 ms after its deadline: deadlines stay k * 100 ms. */
	for (int k = 0; k < 1000; k++) {
		d = sched_next(d, 100 * MS, d + 30 * MS, &skipped);
		total += skipped;
	}
	ck_assert_uint_eq(d, 1000 * 100 * MS);
	ck_assert_uint_eq(total, 0);
}
END_TEST

START_TEST(first_deadline_off_the_grid_joins_it)
{
	uint64_t skipped = 99;

	/*
	 * A sampler started at 1234 ms samples then, and next on the metric's
	 * grid (multiples of the interval on CLOCK_MONOTONIC), which every
	 * device's metrics of that interval share: their ticks come together.
	 */
	ck_assert_uint_eq(sched_next(1234 * MS, 100 * MS, 1234 * MS + 5, &skipped), 1300 * MS);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_uint_eq(sched_next(1234 * MS, 1000 * MS, 1234 * MS, &skipped), 2000 * MS);
	ck_assert_uint_eq(skipped, 0);
	/* Late from the start: the grid's later points, the missed ones counted. */
	ck_assert_uint_eq(sched_next(1234 * MS, 100 * MS, 1450 * MS, &skipped), 1500 * MS);
	ck_assert_uint_eq(skipped, 2);
}
END_TEST

START_TEST(real_time_from_the_offset_matches_the_clock)
{
	for (int i = 0; i < 3; i++) {
		uint64_t before = lt_real_ns(), mono = lt_mono_ns(), at = lt_real_at(mono);
		uint64_t after = lt_real_ns();

		/* Unless the real-time clock was stepped within the last second. */
		ck_assert_uint_ge(at + 1000000, before);
		ck_assert_uint_le(at, after + 1000000);
		/*
		 * A later monotonic time maps through the same offset, or through
		 * one read again meanwhile (a refresh is due once a second), which
		 * differs only by the time between its two clock reads.
		 */
		uint64_t later = lt_real_at(mono + 5 * MS) - at;

		ck_assert_uint_ge(later, 5 * MS - 100000);
		ck_assert_uint_le(later, 5 * MS + 100000);
	}
}
END_TEST

struct tick_fixture {
	struct lt_model *m;
	struct lt_ring *ring;
	struct lt_ring_producer p;
	struct sampler s;
};

static void tick_setup(struct tick_fixture *f, uint64_t interval)
{
	f->m = fixture_model(1, 1, 2, interval, 1);
	f->m->metrics[1]->interval_ns = 3 * interval;
	ck_assert_int_eq(lt_ring_new(1, 1024, 1, &f->ring), 0);
	ck_assert_int_eq(lt_ring_producer_init(f->ring, 0, &f->p), 0);
	memset(&f->s, 0, sizeof(f->s));
	f->s.dev = f->m->devices[0];
	f->s.ring = f->ring;
	f->s.met = xcalloc(2, sizeof(*f->s.met));
}

static void tick_teardown(struct tick_fixture *f)
{
	free(f->s.met);
	lt_ring_free(f->ring);
	fixture_free(f->m);
}

START_TEST(tick_reads_only_due_metrics_and_returns_earliest_deadline)
{
	struct tick_fixture f;
	struct lt_sample out[16];

	tick_setup(&f, 10 * MS);
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 0), 10 * MS);       /* both due at 0 */
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 10 * MS), 20 * MS); /* only m0 */
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 20 * MS), 30 * MS);
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 30 * MS), 40 * MS); /* both */
	ck_assert_uint_eq(lt_ring_consume(f.ring, out, 16), 6);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[0]->samples), 4);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[1]->samples), 2);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(out[i].seq, (uint64_t)i);
	tick_teardown(&f);
}
END_TEST

START_TEST(stalled_sampler_takes_one_sample_not_a_burst)
{
	struct tick_fixture f;
	struct lt_sample out[16];
	size_t n;

	tick_setup(&f, 10 * MS);
	sampler_tick(&f.s, &f.p, 0);
	lt_ring_consume(f.ring, out, 16);
	/*
	 * The sampler comes back at 55 ms: m0's 10 ms tick is taken late and
	 * the ticks of 20..50 ms are skipped, not sampled in a burst; m1's
	 * 30 ms tick is taken late and nothing of it is skipped.
	 */
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 55 * MS), 60 * MS);
	n = lt_ring_consume(f.ring, out, 16);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[0]->late), 4);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[1]->late), 0);
	ck_assert_uint_eq(f.s.met[0].next, 60 * MS);
	ck_assert_uint_eq(f.s.met[1].next, 60 * MS);
	/* The first sample after skipped ticks carries the LATE flag; later ones do not. */
	sampler_tick(&f.s, &f.p, 60 * MS);
	n = lt_ring_consume(f.ring, out, 16);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].metric_id, 0);
	ck_assert(out[0].flags & LT_SAMPLE_LATE);
	ck_assert(!(out[1].flags & LT_SAMPLE_LATE));
	sampler_tick(&f.s, &f.p, 70 * MS);
	ck_assert_uint_eq(lt_ring_consume(f.ring, out, 16), 1);
	ck_assert(!(out[0].flags & LT_SAMPLE_LATE));
	tick_teardown(&f);
}
END_TEST

START_TEST(lateness_buckets_are_exact_then_within_one_quarter)
{
	/* Exact below 8 ns. */
	for (uint64_t v = 0; v < 8; v++) {
		ck_assert_uint_eq(lat_bucket_low(lat_bucket(v)), v);
		ck_assert_uint_eq(lat_bucket_high(lat_bucket(v)), v);
	}
	/* Every value lies in its bucket, buckets are contiguous and at most 1/4 wide. */
	for (unsigned i = 1; i < LT_LAT_BUCKETS; i++)
		ck_assert_uint_eq(lat_bucket_low(i), lat_bucket_high(i - 1) + 1);
	for (uint64_t v = 1; v < (1ull << 37); v = v * 3 + 1) {
		unsigned b = lat_bucket(v);

		ck_assert_uint_le(lat_bucket_low(b), v);
		ck_assert_uint_ge(lat_bucket_high(b), v);
		ck_assert_uint_le(lat_bucket_high(b) - lat_bucket_low(b), v / 4);
	}
	/* Values past the range share the last bucket. */
	ck_assert_uint_eq(lat_bucket(UINT64_MAX), LT_LAT_BUCKETS - 1);
	ck_assert_uint_eq(lat_bucket((1ull << 37) - 1), LT_LAT_BUCKETS - 1);
	ck_assert_uint_eq(lat_bucket_high(LT_LAT_BUCKETS - 1), (1ull << 37) - 1);
}
END_TEST

START_TEST(lateness_percentiles_of_known_inputs)
{
	struct lt_lateness *h = xcalloc(1, sizeof(*h));
	struct lt_lat_summary ls;

	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.count, 0);
	ck_assert_uint_eq(ls.p50, 0);
	ck_assert_uint_eq(ls.p99, 0);
	ck_assert_uint_eq(ls.max, 0);

	/* 1..1000 us: p50 is 500 us, p99 990 us, each within its bucket (25 %). */
	for (uint64_t us = 1000; us >= 1; us--)
		lat_record(h, us * 1000);
	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.count, 1000);
	ck_assert_uint_eq(ls.max, 1000 * 1000);
	ck_assert_uint_ge(ls.p50, 500 * 1000);
	ck_assert_uint_le(ls.p50, 500 * 1000 + 500 * 1000 / 4);
	ck_assert_uint_eq(ls.p50, lat_bucket_high(lat_bucket(500 * 1000)));
	ck_assert_uint_ge(ls.p99, 990 * 1000);
	ck_assert_uint_le(ls.p99, 1000 * 1000); /* capped at max */

	/* One outlier in 100 does not move p99; two do. */
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 99; i++)
		lat_record(h, 7);
	lat_record(h, 5 * 1000 * 1000);
	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.p50, 7);
	ck_assert_uint_eq(ls.p99, 7);
	ck_assert_uint_eq(ls.max, 5 * 1000 * 1000);
	lat_record(h, 4 * 1000 * 1000);
	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.count, 101);
	ck_assert_uint_ge(ls.p99, 4 * 1000 * 1000);
	ck_assert_uint_le(ls.p99, 4 * 1000 * 1000 + 4 * 1000 * 1000 / 4);

	/* A single value is every quantile, exactly (capped at max). */
	memset(h, 0, sizeof(*h));
	lat_record(h, 123456);
	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.p50, 123456);
	ck_assert_uint_eq(ls.p99, 123456);
	free(h);
}
END_TEST

START_TEST(full_lateness_bucket_halves_all_and_keeps_quantiles)
{
	struct lt_lateness *h = xcalloc(1, sizeof(*h));
	unsigned a = lat_bucket(40 * 1000), b = lat_bucket(900 * 1000);
	struct lt_lat_summary ls;

	/* 97 % of the values near 40 us, 3 % near 900 us: p50 and p99 fall apart. */
	atomic_store(&h->bucket[a], UINT16_MAX);
	atomic_store(&h->bucket[b], UINT16_MAX / 97 * 3);
	atomic_store(&h->bucket[0], 1); /* an odd 1 stays 1 */
	atomic_store(&h->count, 5);
	atomic_store(&h->max, 900 * 1000);
	lat_record(h, 40 * 1000); /* would overflow: all halve first */
	ck_assert_uint_eq(atomic_load(&h->bucket[a]), UINT16_MAX / 2 + 1 + 1);
	ck_assert_uint_eq(atomic_load(&h->bucket[b]), (UINT16_MAX / 97 * 3 + 1) / 2);
	ck_assert_uint_eq(atomic_load(&h->bucket[0]), 1);
	lat_summary(h, &ls);
	ck_assert_uint_eq(ls.count, 6); /* exact, not the halved sum */
	ck_assert_uint_eq(ls.p50, lat_bucket_high(a));
	ck_assert_uint_eq(ls.p99, 900 * 1000); /* bucket b, capped at max */
	free(h);
}
END_TEST

START_TEST(quantile_ranks_round_up)
{
	uint64_t counts[LT_LAT_BUCKETS] = { 0 };

	/* Ten values 1..10 ns: the 0.5 quantile is the 5th, the 0.99 one the 10th. */
	for (int v = 1; v <= 10; v++)
		counts[lat_bucket((uint64_t)v)]++;
	ck_assert_uint_eq(lat_quantile(counts, 10, 10, 0.50), 5);
	ck_assert_uint_eq(lat_quantile(counts, 10, 10, 0.51), 6);
	ck_assert_uint_eq(lat_quantile(counts, 10, 10, 0.99), 10);
	ck_assert_uint_eq(lat_quantile(counts, 10, 10, 1.0), 10);
	ck_assert_uint_eq(lat_quantile(counts, 10, 10, 0.0), 1);
	ck_assert_uint_eq(lat_quantile(counts, 0, 0, 0.5), 0);
}
END_TEST

START_TEST(tick_records_lateness_of_each_read)
{
	struct tick_fixture f;
	struct lt_lat_summary ls;
	uint64_t t0;

	tick_setup(&f, 10 * MS);
	/*
	 * Deadlines on the real clock: a tick reads it for every metric after
	 * its first (m1 here), and their lateness counts from the tick's start.
	 * t0 on both metrics' grids (10 and 30 ms), so that the next
	 * deadlines are t0 + 10, 20 and 30 ms.
	 */
	t0 = lt_mono_ns() / (30 * MS) * (30 * MS);
	f.s.met[0].next = f.s.met[1].next = t0;
	sampler_tick(&f.s, &f.p, t0);           /* both on time (plus the reads themselves) */
	sampler_tick(&f.s, &f.p, t0 + 13 * MS); /* m0 3 ms late */
	sampler_tick(&f.s, &f.p, t0 + 20 * MS); /* m0 on time */
	/* One histogram per device: m0's three reads and m1's one. */
	lat_summary(&f.s.lat, &ls);
	ck_assert_uint_eq(ls.count, 4);
	ck_assert_uint_ge(ls.max, 3 * MS);
	ck_assert_uint_lt(ls.max, 3 * MS + 500 * MS); /* + real time spent in the tick */
	ck_assert_uint_lt(ls.p50, 1 * MS);
	tick_teardown(&f);
}
END_TEST

START_TEST(tick_stamps_samples_with_the_real_time_of_the_read)
{
	struct tick_fixture f;
	struct lt_sample out[4];
	uint64_t before, after;

	tick_setup(&f, 10 * MS);
	before = lt_real_ns();
	sampler_tick(&f.s, &f.p, lt_mono_ns()); /* both metrics due */
	after = lt_real_ns();
	ck_assert_uint_eq(lt_ring_consume(f.ring, out, 4), 2);
	for (int i = 0; i < 2; i++) {
		/* Within the tick, give or take the refresh's own microseconds. */
		ck_assert_uint_ge(out[i].ts_ns + 1000000, before);
		ck_assert_uint_le(out[i].ts_ns, after + 1000000);
	}
	ck_assert_uint_le(out[0].ts_ns, out[1].ts_ns);
	tick_teardown(&f);
}
END_TEST

START_TEST(tick_wakes_the_publisher_only_when_a_batch_is_complete)
{
	struct tick_fixture f;
	struct lt_sample out[16];
	const struct lt_ring_hdr *h;

	tick_setup(&f, 10 * MS);
	f.m->metrics[0]->aggregation = 3;
	f.m->metrics[1]->interval_ns = 0; /* one polled metric */
	h = lt_ring_hdr(f.ring);
	/* The consumer sleeps; two samples of a batch of three do not wake it... */
	ck_assert(lt_ring_prepare_sleep(f.ring));
	sampler_tick(&f.s, &f.p, 0);
	sampler_tick(&f.s, &f.p, 10 * MS);
	ck_assert_uint_eq(atomic_load(&h->wakeups), 0);
	/* ...but they are published: observers and the ring's fill see them. */
	ck_assert_uint_eq(lt_ring_lane_fill(f.ring, 0), 2);
	/* The third completes the batch and wakes it. */
	sampler_tick(&f.s, &f.p, 20 * MS);
	ck_assert_uint_eq(atomic_load(&h->wakeups), 1);
	lt_ring_wake_ack(f.ring);
	ck_assert_uint_eq(lt_ring_consume(f.ring, out, 16), 3);
	tick_teardown(&f);
}
END_TEST

START_TEST(tick_wakes_the_publisher_when_the_lane_is_half_full)
{
	struct tick_fixture f;
	const struct lt_ring_hdr *h;
	uint64_t t = 0;

	tick_setup(&f, 10 * MS);
	f.m->metrics[0]->aggregation = 100000; /* a batch larger than the 1024-record lane */
	f.m->metrics[1]->interval_ns = 0;
	h = lt_ring_hdr(f.ring);
	ck_assert(lt_ring_prepare_sleep(f.ring));
	for (int i = 0; i < 511; i++, t += 10 * MS)
		sampler_tick(&f.s, &f.p, t);
	ck_assert_uint_eq(atomic_load(&h->wakeups), 0);
	sampler_tick(&f.s, &f.p, t);
	ck_assert_uint_eq(atomic_load(&h->wakeups), 1);
	ck_assert_uint_eq(lt_ring_lane_dropped(f.ring, 0), 0);
	tick_teardown(&f);
}
END_TEST

START_TEST(status_json_shows_lateness_per_device)
{
	struct tick_fixture f;
	struct lt_totals past = { 0 };
	struct daemon d = { 0 };
	struct control_ctx ctx = { .daemon = &d, .past = &past, .generation = 1 };
	struct sampler *sp[1];
	json_t *st, *dev, *mets, *lat;
	uint64_t now;

	tick_setup(&f, 10 * MS);
	d.model = f.m;
	d.ring = f.ring;
	sp[0] = &f.s;
	d.samplers = sp;
	now = lt_mono_ns();
	f.s.met[0].next = f.s.met[1].next = now - 2 * MS;
	sampler_tick(&f.s, &f.p, now); /* both metrics 2 ms late */
	st = control_status_json(&ctx);
	ck_assert_ptr_nonnull(st);
	dev = json_array_get(json_object_get(st, "devices"), 0);
	mets = json_object_get(dev, "metrics");
	ck_assert_ptr_null(json_object_get(json_array_get(mets, 0), "lateness_us"));
	lat = json_object_get(dev, "lateness_us");
	ck_assert_int_eq(json_integer_value(json_object_get(lat, "count")), 2);
	/* Microseconds: 2 ms plus the time the tick took before the read. */
	ck_assert(json_real_value(json_object_get(lat, "p50")) >= 2000.0);
	ck_assert(json_real_value(json_object_get(lat, "p99")) >= 2000.0);
	ck_assert(json_real_value(json_object_get(lat, "max")) < 2000.0 + 500e3);
	json_decref(st);

	/* No sampler (or no read yet): null quantiles, count 0. */
	d.samplers = NULL;
	st = control_status_json(&ctx);
	lat = json_object_get(json_array_get(json_object_get(st, "devices"), 0), "lateness_us");
	ck_assert(json_is_null(json_object_get(lat, "p99")));
	ck_assert_int_eq(json_integer_value(json_object_get(lat, "count")), 0);
	json_decref(st);
	tick_teardown(&f);
}
END_TEST

/*
 * A metric's filters decide before the ring push: what they keep back takes
 * no ring space, completes no batch and is in no delivery, but is a sample
 * taken; status counts it per stage.
 */
START_TEST(filtered_samples_take_no_ring_space_and_are_counted)
{
	struct tick_fixture f;
	struct lt_totals past = { 0 };
	struct daemon d = { 0 };
	struct control_ctx ctx = { .daemon = &d, .past = &past, .generation = 1 };
	struct lt_sample out[16];
	struct lt_metric *m;
	json_t *st, *mets, *flt, *tot;
	char err[128];
	size_t n;

	tick_setup(&f, 10 * MS);
	m = f.m->metrics[0];
	m->aggregation = 2;
	f.m->metrics[1]->interval_ns = 0; /* one polled metric */
	m->filter = xcalloc(1, sizeof(*m->filter));
	ck_assert_int_eq(filter_set(m->filter, "filter", ">= 3", err, sizeof(err)), 0);
	ck_assert(lt_ring_prepare_sleep(f.ring));
	/* The fake reads 0, 1, 2, ...: 0..2 are kept back, and wake nobody. */
	for (int i = 0; i < 3; i++)
		sampler_tick(&f.s, &f.p, (uint64_t)i * 10 * MS);
	ck_assert_uint_eq(lt_ring_lane_fill(f.ring, 0), 0);
	ck_assert_uint_eq(atomic_load(&lt_ring_hdr(f.ring)->wakeups), 0);
	ck_assert_uint_eq(atomic_load(&m->samples), 3);
	for (int i = 3; i < 6; i++)
		sampler_tick(&f.s, &f.p, (uint64_t)i * 10 * MS);
	/* 3 and 4 complete a batch of two; 5 waits for its partner. */
	ck_assert_uint_eq(atomic_load(&lt_ring_hdr(f.ring)->wakeups), 1);
	lt_ring_wake_ack(f.ring);
	n = lt_ring_consume(f.ring, out, 16);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert(out[i].value == 3.0 + (double)i);
	ck_assert_uint_eq(atomic_load(&m->samples), 6);
	ck_assert_uint_eq(atomic_load(&m->filter->counts[FILTER_PASS]), 3);
	ck_assert_uint_eq(atomic_load(&m->filter->counts[FILTER_DROP_RANGE]), 3);

	d.model = f.m;
	d.ring = f.ring;
	st = control_status_json(&ctx);
	ck_assert_ptr_nonnull(st);
	mets = json_object_get(json_array_get(json_object_get(st, "devices"), 0), "metrics");
	flt = json_object_get(json_array_get(mets, 0), "filter");
	ck_assert_str_eq(json_string_value(json_object_get(flt, "kind")), "at_least");
	ck_assert_int_eq(json_integer_value(json_object_get(flt, "passed")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(flt, "dropped")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(flt, "dropped_range")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(flt, "window_sent")), 0);
	/* A metric without filters has no filter object. */
	ck_assert_ptr_null(json_object_get(json_array_get(mets, 1), "filter"));
	/* Totals: 6 taken, 3 kept back, so 3 deliveries to the one DCC. */
	tot = json_object_get(st, "totals");
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "taken")), 6);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "filtered")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(tot, "deliveries")), 3);
	json_decref(st);
	tick_teardown(&f);
}
END_TEST

START_TEST(sampler_thread_samples_in_order_and_stops_promptly)
{
	struct lt_model *m = fixture_model(1, 1, 2, 2 * MS, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct lt_sample out[256];
	uint64_t next_val[2] = { 0, 0 }, got = 0, t0, seen = 0;
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 4096, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	s.lane = 0;
	ck_assert_int_eq(sampler_start(&s), 0);
	/* Status reads the histogram while the sampler writes it (TSan watches). */
	for (int i = 0; i < 10; i++) {
		struct lt_lat_summary ls;

		nanosleep(&ts, NULL);
		lat_summary(&s.lat, &ls);
		ck_assert_uint_ge(ls.count, seen);
		ck_assert_uint_le(ls.p50, ls.max);
		seen = ls.count;
	}
	ck_assert_uint_gt(seen, 0);
	t0 = lt_mono_ns();
	sampler_stop(&s);
	/* Stopping interrupts the sleep: well under a second even under TSan. */
	ck_assert_uint_lt(lt_mono_ns() - t0, 1000 * MS);
	for (size_t n; (n = lt_ring_consume(ring, out, 256));) {
		for (size_t i = 0; i < n; i++) {
			uint32_t id = out[i].metric_id;

			ck_assert_uint_lt(id, 2);
			/* Values count reads: each metric's samples arrive in order, none lost. */
			ck_assert_uint_eq((uint64_t)out[i].value, next_val[id]);
			next_val[id]++;
			ck_assert_uint_eq(out[i].seq, got);
			got++;
		}
	}
	ck_assert_uint_gt(got, 2);
	ck_assert_uint_eq(got, atomic_load(&m->metrics[0]->samples) +
				       atomic_load(&m->metrics[1]->samples));
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

START_TEST(stop_interrupts_a_long_sleep)
{
	struct lt_model *m = fixture_model(1, 1, 1, 3600 * 1000 * MS, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t t0;

	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	nanosleep(&ts, NULL); /* first sample taken, now asleep for an hour */
	t0 = lt_mono_ns();
	sampler_stop(&s);
	ck_assert_uint_lt(lt_mono_ns() - t0, 2000 * MS);
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->samples), 1);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/* ---- the tick callback: once per pass, before that pass's reads ----------- */
static unsigned tick_calls, reads_since_tick;
static uint64_t tick_now;

static void counting_tick(struct lt_device *dev, uint64_t now)
{
	(void)dev;
	tick_calls++;
	tick_now = now;
	reads_since_tick = 0;
}

static int counting_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	(void)dev;
	(void)m;
	ck_assert_uint_gt(tick_calls, 0); /* a pass starts with tick */
	*v = ++reads_since_tick;
	return 0;
}

START_TEST(tick_callback_starts_each_pass)
{
	static const struct lt_device_driver drv = { .name = "t",
						     .read = counting_read,
						     .tick = counting_tick };
	struct tick_fixture f;

	tick_setup(&f, 10 * MS); /* m0 every 10 ms, m1 every 30 ms */
	f.s.dev->drv = &drv;
	tick_calls = 0;
	sampler_tick(&f.s, &f.p, 0);
	ck_assert_uint_eq(tick_calls, 1);
	ck_assert_uint_eq(reads_since_tick, 2); /* both metrics read after one tick */
	sampler_tick(&f.s, &f.p, 10 * MS);
	ck_assert_uint_eq(tick_calls, 2);
	ck_assert_uint_eq(tick_now, 10 * MS);
	ck_assert_uint_eq(reads_since_tick, 1);
	tick_teardown(&f);
}
END_TEST

static int nodata_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	(void)dev;
	(void)v;
	return m->dev_index ? -EIO : -ENODATA;
}

START_TEST(nodata_is_skipped_not_an_error)
{
	static const struct lt_device_driver drv = { .name = "n", .read = nodata_read };
	struct tick_fixture f;

	tick_setup(&f, 10 * MS);
	f.s.dev->drv = &drv;
	sampler_tick(&f.s, &f.p, 0); /* both due: m0 has no data, m1 fails */
	ck_assert_uint_eq(atomic_load(&f.m->metrics[0]->errors), 0);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[0]->samples), 0);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[1]->errors), 1);
	ck_assert_uint_eq(atomic_load(&f.m->metrics[1]->samples), 0);
	tick_teardown(&f);
}
END_TEST

/* ---- event-driven devices: poll/dispatch and lt_emit() -------------------- */

/* Each byte written to the pipe is one sample (its value); 0xff: "device gone". */
struct ev_dev {
	int fds[2];
	_Atomic unsigned opens, closes;
	_Atomic int fail_open; /* opens that fail before one succeeds */
};

static int ev_open(struct lt_device *dev, char *err, size_t errlen)
{
	struct ev_dev *e = dev->priv;

	if (atomic_load(&e->fail_open) > 0) {
		atomic_fetch_sub(&e->fail_open, 1);
		snprintf(err, errlen, "not there yet");
		return -ENOENT;
	}
	atomic_fetch_add(&e->opens, 1);
	return 0;
}

static void ev_close(struct lt_device *dev)
{
	struct ev_dev *e = dev->priv;

	atomic_fetch_add(&e->closes, 1);
}

static void ev_poll(struct lt_device *dev, struct pollfd *pfd, int64_t *deadline)
{
	struct ev_dev *e = dev->priv;

	(void)deadline;
	pfd->fd = e->fds[0];
	pfd->events = POLLIN;
}

static int ev_dispatch(struct lt_device *dev, short revents, uint64_t now)
{
	struct ev_dev *e = dev->priv;
	unsigned char buf[64];
	ssize_t n = read(e->fds[0], buf, sizeof(buf));

	(void)revents;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == 0xff)
			return -ENODEV;
		ck_assert_int_eq(lt_emit(dev->metrics[0], buf[i], lt_mono_to_real(now)), 0);
	}
	return 0;
}

static const struct lt_device_driver ev_driver = {
	.name = "ev",
	.open = ev_open,
	.close = ev_close,
	.poll = ev_poll,
	.dispatch = ev_dispatch,
};

static struct lt_model *ev_model(struct ev_dev *e, unsigned agg)
{
	struct lt_model *m = fixture_model(1, 1, 1, 0, agg);

	memset(e, 0, sizeof(*e));
	ck_assert_int_eq(pipe2(e->fds, O_NONBLOCK | O_CLOEXEC), 0);
	m->devices[0]->drv = &ev_driver;
	m->devices[0]->priv = e;
	lt_metric_set_event_driven(m->metrics[0]);
	return m;
}

/* Reads the lane until @want records arrived (5 s at most); returns how many. */
static size_t ev_collect(struct lt_ring *ring, struct lt_sample *out, size_t want)
{
	size_t got = 0;

	for (int i = 0; i < 5000 && got < want; i++) {
		struct timespec ts = { 0, 1000 * 1000 };

		got += lt_ring_consume(ring, out + got, want - got);
		if (got < want)
			nanosleep(&ts, NULL);
	}
	return got;
}

START_TEST(emit_outside_dispatch_is_refused)
{
	struct ev_dev e;
	struct lt_model *m = ev_model(&e, 1);

	ck_assert_int_eq(lt_emit(m->metrics[0], 1.0, 0), -EPERM);
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->samples), 0);
	close(e.fds[0]);
	close(e.fds[1]);
	fixture_free(m);
}
END_TEST

START_TEST(event_device_emits_each_event_once_in_order)
{
	struct ev_dev e;
	struct lt_model *m = ev_model(&e, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct lt_sample out[8];
	const unsigned char bytes[] = { 1, 2, 3, 4, 5 };
	uint64_t t0;

	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	ck_assert_int_eq(write(e.fds[1], bytes, 2), 2);
	ck_assert_int_eq(write(e.fds[1], bytes + 2, 3), 3);
	ck_assert_uint_eq(ev_collect(ring, out, 5), 5);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_double_eq(out[i].value, bytes[i]);
		ck_assert_uint_eq(out[i].seq, i);
		ck_assert_uint_eq(out[i].metric_id, 0);
		ck_assert_uint_gt(out[i].ts_ns, 1500000000ull * 1000000000ull); /* wall clock */
	}
	/* The sampler blocks on the descriptor: nothing more without events. */
	ck_assert_uint_eq(ev_collect(ring, out, 1), 0);
	t0 = lt_mono_ns();
	sampler_stop(&s);
	ck_assert_uint_lt(lt_mono_ns() - t0, 2000 * MS); /* the stop signal ends ppoll */
	ck_assert_uint_eq(atomic_load(&e.opens), 1);
	ck_assert_uint_eq(atomic_load(&e.closes), 1);
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->samples), 5);
	lt_ring_free(ring);
	close(e.fds[0]);
	close(e.fds[1]);
	fixture_free(m);
}
END_TEST

/* lt_emit() filters too: what is kept back returns 0 (ev_dispatch asserts it) and skips the ring.
 */
START_TEST(event_metric_is_filtered_before_the_ring)
{
	struct ev_dev e;
	struct lt_model *m = ev_model(&e, 1);
	struct lt_metric *mt = m->metrics[0];
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct lt_sample out[8];
	const unsigned char bytes[] = { 1, 2, 3, 4, 5 };
	char err[128];

	mt->filter = xcalloc(1, sizeof(*mt->filter));
	ck_assert_int_eq(filter_set(mt->filter, "filter", "not [2, 4]", err, sizeof(err)), 0);
	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	ck_assert_int_eq(write(e.fds[1], bytes, 5), 5);
	ck_assert_uint_eq(ev_collect(ring, out, 2), 2);
	ck_assert_double_eq(out[0].value, 1);
	ck_assert_double_eq(out[1].value, 5);
	ck_assert_uint_eq(ev_collect(ring, out, 1), 0);
	sampler_stop(&s);
	ck_assert_uint_eq(atomic_load(&mt->samples), 5);
	ck_assert_uint_eq(atomic_load(&mt->filter->counts[FILTER_PASS]), 2);
	ck_assert_uint_eq(atomic_load(&mt->filter->counts[FILTER_DROP_RANGE]), 3);
	ck_assert_uint_eq(atomic_load(&mt->ring_dropped), 0);
	lt_ring_free(ring);
	close(e.fds[0]);
	close(e.fds[1]);
	fixture_free(m);
}
END_TEST

START_TEST(gone_device_is_closed_and_reopened)
{
	struct ev_dev e;
	struct lt_model *m = ev_model(&e, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct lt_sample out[4];
	const unsigned char gone = 0xff, seven = 7;

	sampler_signals_init();
	sampler_set_open_retry(10 * MS);
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	atomic_store(&e.fail_open, 2); /* not there at start: retried */
	ck_assert_int_eq(sampler_start(&s), 0);
	ck_assert_int_eq(write(e.fds[1], &gone, 1), 1);
	for (int i = 0; i < 500 && atomic_load(&e.opens) < 2; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	ck_assert_uint_eq(atomic_load(&e.opens), 2);
	ck_assert_uint_ge(atomic_load(&e.closes), 1);
	/* Back, and working again. */
	ck_assert_int_eq(write(e.fds[1], &seven, 1), 1);
	ck_assert_uint_eq(ev_collect(ring, out, 1), 1);
	ck_assert_double_eq(out[0].value, 7);
	ck_assert_int_eq(atomic_load(&m->devices[0]->state), 1);
	sampler_stop(&s);
	sampler_set_open_retry(5000 * MS);
	ck_assert_uint_eq(atomic_load(&e.closes), 2);
	lt_ring_free(ring);
	close(e.fds[0]);
	close(e.fds[1]);
	fixture_free(m);
}
END_TEST

START_TEST(device_counters_and_condition_show_in_status)
{
	struct tick_fixture f;
	struct lt_totals past = { 0 };
	struct daemon d = { 0 };
	struct control_ctx ctx = { .daemon = &d, .past = &past, .generation = 1 };
	struct lt_device *dev;
	uint64_t *c;
	json_t *st, *jd;

	tick_setup(&f, 10 * MS);
	d.model = f.m;
	d.ring = f.ring;
	dev = f.m->devices[0];
	/* None declared: an empty object and a null condition. */
	st = control_status_json(&ctx);
	jd = json_array_get(json_object_get(st, "devices"), 0);
	ck_assert_int_eq(json_object_size(json_object_get(jd, "counters")), 0);
	ck_assert(json_is_null(json_object_get(jd, "condition")));
	json_decref(st);

	for (unsigned i = 0; i < LT_DEVICE_COUNTERS_MAX; i++)
		ck_assert_ptr_nonnull(lt_device_counter(dev, i ? "other" : "error_frames"));
	ck_assert_ptr_null(lt_device_counter(dev, "one_too_many"));
	c = &dev->counters[0];
	lt_count(c, 3);
	lt_device_set_condition(dev, "bus-off");
	ck_assert_str_eq(atomic_load(&dev->condition), "bus-off");
	ck_assert_str_eq(dev->counter_names[0], "error_frames");
	ck_assert_uint_eq(lt_count_get(c), 3);
	st = control_status_json(&ctx);
	jd = json_array_get(json_object_get(st, "devices"), 0);
	ck_assert_int_eq(json_integer_value(
				 json_object_get(json_object_get(jd, "counters"), "error_frames")),
			 3);
	ck_assert_str_eq(json_string_value(json_object_get(jd, "condition")), "bus-off");
	json_decref(st);
	tick_teardown(&f);
}
END_TEST

/* ---- a driver call that does not return shows in status ------------------ */

/* A device whose open or first read waits on a pipe (blocking) until the test writes. */
static int hang_fds[2] = { -1, -1 };
static bool hang_in_open;

static int hang_open(struct lt_device *dev, char *err, size_t errlen)
{
	char c;

	(void)dev;
	(void)err;
	(void)errlen;
	if (hang_in_open && read(hang_fds[0], &c, 1) < 0)
		return -errno; /* interrupted by the stop: not open */
	return 0;
}

static int hang_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	char c;
	ssize_t n;

	(void)dev;
	(void)m;
	n = read(hang_fds[0], &c, 1);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENODATA; /* the test closed the pipe: no more waiting */
	*v = c;
	return 0;
}

static const struct lt_device_driver hang_driver = { .name = "hang",
						     .open = hang_open,
						     .read = hang_read };

/* The device's state and condition in `status --json`, into @state and @cond ("" for none). */
static void device_status(struct control_ctx *ctx, char *state, char *cond, size_t len)
{
	json_t *st = control_status_json(ctx);
	json_t *jd = json_array_get(json_object_get(st, "devices"), 0);
	const char *c = json_string_value(json_object_get(jd, "condition"));

	snprintf(state, len, "%s", json_string_value(json_object_get(jd, "state")));
	snprintf(cond, len, "%s", c ? c : "");
	json_decref(st);
}

/* Until the device's condition starts with @prefix (bounded: 5 s). */
static bool wait_condition(struct control_ctx *ctx, const char *prefix, char *state, char *cond,
			   size_t len)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (int i = 0; i < 250; i++) {
		device_status(ctx, state, cond, len);
		if (!strncmp(cond, prefix, strlen(prefix)))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void stuck_case(bool in_open, const char *want_state, const char *want_cond)
{
	struct lt_model *m = fixture_model(1, 1, 2, 10 * MS, 1);
	struct lt_totals past = { 0 };
	struct daemon d = { 0 };
	struct control_ctx ctx = { .daemon = &d, .past = &past, .generation = 1 };
	struct sampler s = { 0 }, *sp[1] = { &s };
	char state[64], cond[64];

	ck_assert_int_eq(pipe(hang_fds), 0);
	hang_in_open = in_open;
	m->devices[0]->drv = &hang_driver;
	sampler_signals_init();
	sampler_set_stuck_min(100 * MS);
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &d.ring), 0);
	d.model = m;
	d.samplers = sp;
	s.dev = m->devices[0];
	s.ring = d.ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	ck_assert_msg(wait_condition(&ctx, want_cond, state, cond, sizeof(cond)),
		      "condition '%s', expected '%s...'", cond, want_cond);
	ck_assert_str_eq(state, want_state);
	/* The call returns (and later ones do not wait): no longer stuck. */
	ck_assert_int_eq(write(hang_fds[1], "x", 1), 1);
	close(hang_fds[1]);
	for (int i = 0; i < 250 && cond[0]; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		device_status(&ctx, state, cond, sizeof(cond));
	}
	ck_assert_str_eq(cond, "");
	ck_assert_str_eq(state, "running");
	sampler_stop(&s);
	sampler_set_stuck_min(2000 * MS);
	close(hang_fds[0]);
	lt_ring_free(d.ring);
	fixture_free(m);
}

START_TEST(device_stuck_in_a_read_shows_it_in_status)
{
	stuck_case(false, "running", "stuck in read for ");
}
END_TEST

START_TEST(device_stuck_in_its_first_open_is_opening_not_stopped)
{
	stuck_case(true, "opening", "stuck in open for ");
}
END_TEST

/* ---- a stop ends a read that waits on a socket, even one retried on EINTR -- */

static int sock_pair[2] = { -1, -1 };

static int sock_open(struct lt_device *dev, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	lt_device_set_stop_socket(dev, sock_pair[0]);
	return 0;
}

/* As libmodbus does: wait again after EINTR, give up only on the stop. */
static int sock_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	char c;
	ssize_t n;

	(void)m;
	while ((n = recv(sock_pair[0], &c, 1, 0)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return lt_device_stopping(dev) ? -ENODATA : -EIO;
	*v = c;
	return 0;
}

static const struct lt_device_driver sock_driver = { .name = "sock",
						     .open = sock_open,
						     .read = sock_read };

START_TEST(stop_shuts_down_the_socket_a_read_waits_on)
{
	struct lt_model *m = fixture_model(1, 1, 1, 10 * MS, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	char c;
	uint64_t t0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock_pair), 0);
	m->devices[0]->drv = &sock_driver;
	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	ck_assert(!lt_device_stopping(s.dev));
	nanosleep(&ts, NULL); /* in recv(), which a signal alone does not end */
	t0 = lt_mono_ns();
	sampler_stop(&s);
	/* Well under sampler_stop()'s 5 s "slow to stop", even under TSan. */
	ck_assert_uint_lt(lt_mono_ns() - t0, 1000 * MS);
	ck_assert(lt_device_stopping(s.dev));
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->errors), 0);
	/* Shut down for reading: the peer's end sees the end of the stream. */
	ck_assert_int_eq(recv(sock_pair[1], &c, 1, MSG_DONTWAIT), 0);
	close(sock_pair[0]);
	close(sock_pair[1]);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/* ---- a stop is prompt whatever the sampler is waiting in ------------------ */

/* A read blocked in read(2) on a pipe that nobody writes: only the stop's signal ends it. */
static int pipe_fds[2] = { -1, -1 };

static int pipe_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	char c;
	ssize_t n;

	(void)dev;
	(void)m;
	n = read(pipe_fds[0], &c, 1);
	if (n < 0)
		return -errno;
	*v = c;
	return n ? 0 : -ENODATA;
}

static const struct lt_device_driver pipe_driver = { .name = "pipe", .read = pipe_read };

START_TEST(stop_interrupts_a_read_blocked_in_a_system_call)
{
	struct lt_model *m = fixture_model(1, 1, 1, 10 * MS, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	bool in_read = false;
	uint64_t t0;

	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	m->devices[0]->drv = &pipe_driver;
	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	ck_assert_int_eq(sampler_start(&s), 0);
	/* Wait (5 s at most) until it is in read(), which no timer or descriptor can end. */
	for (int i = 0; i < 500 && !in_read; i++) {
		unsigned call = SAMPLER_CALL_NONE;

		in_read =
			lt_beat_busy_for(&s.beat, lt_mono_ns(), &call) && call == SAMPLER_CALL_READ;
		if (!in_read)
			nanosleep(&ts, NULL);
	}
	ck_assert_msg(in_read, "the sampler never entered its read");
	t0 = lt_mono_ns();
	sampler_stop(&s);
	ck_assert_uint_lt(lt_mono_ns() - t0, 1000 * MS);
	/* The interrupted read (EINTR) is the only one, and nothing was sampled. */
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->errors), 1);
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->samples), 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/*
 * A stop that comes at any point of the thread's start (before its first
 * wait, while it arms its timer, in the wait) ends it: none is lost. An
 * hourly metric, so the thread would otherwise wait for an hour; a device
 * with nothing to poll (event-driven metrics, no descriptor), which parks.
 */
static void stop_at_every_point(uint64_t interval)
{
	struct lt_model *m = fixture_model(1, 1, 1, interval, 1);
	struct lt_ring *ring;
	uint64_t worst = 0;

	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	for (unsigned i = 0; i < 100; i++) {
		struct sampler s = { .dev = m->devices[0], .ring = ring };
		struct timespec ts = { 0, (long)(i % 10) * 100 * 1000 }; /* 0 to 0.9 ms */
		uint64_t t0;

		ck_assert_int_eq(sampler_start(&s), 0);
		nanosleep(&ts, NULL);
		t0 = lt_mono_ns();
		sampler_stop(&s);
		if (lt_mono_ns() - t0 > worst)
			worst = lt_mono_ns() - t0;
		while (lt_ring_consume(ring, &(struct lt_sample){ 0 }, 1))
			;
	}
	/* A lost wake-up would wait an hour, or forever when parked. */
	ck_assert_uint_lt(worst, 1000 * MS);
	lt_ring_free(ring);
	fixture_free(m);
}

START_TEST(stop_at_any_point_of_the_start_is_never_lost)
{
	stop_at_every_point(3600 * 1000 * MS);
}
END_TEST

START_TEST(stop_ends_a_parked_sampler)
{
	stop_at_every_point(0);
}
END_TEST

static Suite *sched_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");

	tcase_add_test(tc, on_time_tick_advances_by_one_interval);
	tcase_add_test(tc, late_tick_skips_missed_deadlines_and_keeps_phase);
	tcase_add_test(tc, schedule_does_not_drift_with_slow_reads);
	tcase_add_test(tc, first_deadline_off_the_grid_joins_it);
	tcase_add_test(tc, real_time_from_the_offset_matches_the_clock);
	tcase_add_test(tc, tick_reads_only_due_metrics_and_returns_earliest_deadline);
	tcase_add_test(tc, stalled_sampler_takes_one_sample_not_a_burst);
	tcase_add_test(tc, lateness_buckets_are_exact_then_within_one_quarter);
	tcase_add_test(tc, lateness_percentiles_of_known_inputs);
	tcase_add_test(tc, quantile_ranks_round_up);
	tcase_add_test(tc, full_lateness_bucket_halves_all_and_keeps_quantiles);
	tcase_add_test(tc, tick_records_lateness_of_each_read);
	tcase_add_test(tc, tick_stamps_samples_with_the_real_time_of_the_read);
	tcase_add_test(tc, tick_wakes_the_publisher_only_when_a_batch_is_complete);
	tcase_add_test(tc, tick_wakes_the_publisher_when_the_lane_is_half_full);
	tcase_add_test(tc, status_json_shows_lateness_per_device);
	tcase_add_test(tc, filtered_samples_take_no_ring_space_and_are_counted);
	tcase_add_test(tc, sampler_thread_samples_in_order_and_stops_promptly);
	tcase_add_test(tc, stop_interrupts_a_long_sleep);
	tcase_add_test(tc, tick_callback_starts_each_pass);
	tcase_add_test(tc, nodata_is_skipped_not_an_error);
	tcase_add_test(tc, emit_outside_dispatch_is_refused);
	tcase_add_test(tc, event_device_emits_each_event_once_in_order);
	tcase_add_test(tc, event_metric_is_filtered_before_the_ring);
	tcase_add_test(tc, gone_device_is_closed_and_reopened);
	tcase_add_test(tc, device_counters_and_condition_show_in_status);
	tcase_add_test(tc, device_stuck_in_a_read_shows_it_in_status);
	tcase_add_test(tc, device_stuck_in_its_first_open_is_opening_not_stopped);
	tcase_add_test(tc, stop_shuts_down_the_socket_a_read_waits_on);
	tcase_add_test(tc, stop_interrupts_a_read_blocked_in_a_system_call);
	tcase_add_test(tc, stop_at_any_point_of_the_start_is_never_lost);
	tcase_add_test(tc, stop_ends_a_parked_sampler);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(sched_suite)
