/* SPDX-License-Identifier: BSD-2-Clause */
/* The sampling schedule: absolute deadlines, no drift, no catch-up burst. */
#include "fixtures.h"
#include "ring.h"
#include "sampler.h"
#include "schedule.h"
#include "unit.h"

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
	f->s.next = xcalloc(2, sizeof(uint64_t));
	f->s.late = xcalloc(2, sizeof(bool));
}

static void tick_teardown(struct tick_fixture *f)
{
	free(f->s.next);
	free(f->s.late);
	lt_ring_free(f->ring);
	fixture_free(f->m);
}

START_TEST(tick_reads_only_due_metrics_and_returns_earliest_deadline)
{
	struct tick_fixture f;
	struct lt_sample out[16];

	tick_setup(&f, 10 * MS);
	ck_assert_uint_eq(sampler_tick(&f.s, &f.p, 0), 10 * MS); /* both due at 0 */
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
	ck_assert_uint_eq(f.s.next[0], 60 * MS);
	ck_assert_uint_eq(f.s.next[1], 60 * MS);
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

START_TEST(sampler_thread_samples_in_order_and_stops_promptly)
{
	struct lt_model *m = fixture_model(1, 1, 2, 2 * MS, 1);
	struct lt_ring *ring;
	struct sampler s = { 0 };
	struct lt_sample out[256];
	uint64_t next_val[2] = { 0, 0 }, got = 0, t0;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	sampler_signals_init();
	ck_assert_int_eq(lt_ring_new(1, 4096, 1, &ring), 0);
	s.dev = m->devices[0];
	s.ring = ring;
	s.lane = 0;
	ck_assert_int_eq(sampler_start(&s), 0);
	nanosleep(&ts, NULL);
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

static Suite *sched_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");

	tcase_add_test(tc, on_time_tick_advances_by_one_interval);
	tcase_add_test(tc, late_tick_skips_missed_deadlines_and_keeps_phase);
	tcase_add_test(tc, schedule_does_not_drift_with_slow_reads);
	tcase_add_test(tc, tick_reads_only_due_metrics_and_returns_earliest_deadline);
	tcase_add_test(tc, stalled_sampler_takes_one_sample_not_a_burst);
	tcase_add_test(tc, sampler_thread_samples_in_order_and_stops_promptly);
	tcase_add_test(tc, stop_interrupts_a_long_sleep);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(sched_suite)
