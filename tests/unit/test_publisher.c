/* SPDX-License-Identifier: BSD-2-Clause */
/* The publisher: aggregation, fan-out to DCCs, and the whole ring pipeline. */
#include "daemon.h"
#include "fixtures.h"
#include "publisher.h"
#include "ring.h"
#include "unit.h"

#include <errno.h>
#include <unistd.h>

static struct lt_sample smp(uint32_t metric, double v, uint64_t ts)
{
	return (struct lt_sample){ .ts_ns = ts, .value = v, .metric_id = metric };
}

START_TEST(aggregation_publishes_full_batches_in_order)
{
	struct lt_model *m = fixture_model(1, 1, 1, 1000, 3);
	struct fake_dcc *f = m->dccs[0]->priv;
	struct publisher p;
	struct lt_sample s[7];

	for (int i = 0; i < 7; i++)
		s[i] = smp(0, i, 100 + i);
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &p.ring), 0);
	struct lt_ring *ring = p.ring;
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	publisher_feed(&p, s, 7);
	ck_assert_uint_eq(f->nbatches, 2);
	for (int b = 0; b < 2; b++) {
		ck_assert_uint_eq(f->batches[b].n, 3);
		for (int i = 0; i < 3; i++) {
			ck_assert_double_eq(f->batches[b].s[i].value, b * 3 + i);
			ck_assert_uint_eq(f->batches[b].s[i].ts_ns, 100 + b * 3 + i);
		}
	}
	/* The seventh sample waits for two more... */
	ck_assert_uint_eq(f->samples, 6);
	/* ...unless the publisher stops: partial batches go out, nothing is lost. */
	publisher_flush_partial(&p);
	ck_assert_uint_eq(f->nbatches, 3);
	ck_assert_uint_eq(f->batches[2].n, 1);
	ck_assert_double_eq(f->batches[2].s[0].value, 6);
	publisher_flush_partial(&p);
	ck_assert_uint_eq(f->nbatches, 3);
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

START_TEST(metrics_aggregate_independently)
{
	struct lt_model *m = fixture_model(1, 1, 2, 1000, 2);
	struct fake_dcc *f = m->dccs[0]->priv;
	struct publisher p;
	struct lt_ring *ring;
	struct lt_sample s[] = { smp(0, 1, 1), smp(1, 10, 1), smp(1, 11, 2), smp(0, 2, 2) };

	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	publisher_feed(&p, s, 4);
	ck_assert_uint_eq(f->nbatches, 2);
	ck_assert_uint_eq(f->batches[0].metric_id, 1);
	ck_assert_double_eq(f->batches[0].s[1].value, 11);
	ck_assert_uint_eq(f->batches[1].metric_id, 0);
	ck_assert_double_eq(f->batches[1].s[1].value, 2);
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

START_TEST(every_dcc_of_a_metric_gets_the_same_batch)
{
	struct lt_model *m = fixture_model(2, 1, 1, 1000, 2);
	struct fake_dcc *a = m->dccs[0]->priv, *b = m->dccs[1]->priv;
	struct publisher p;
	struct lt_ring *ring;
	struct lt_sample s[] = { smp(0, 1.5, 7), smp(0, 2.5, 8) };

	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	publisher_feed(&p, s, 2);
	ck_assert_uint_eq(a->nbatches, 1);
	ck_assert_uint_eq(b->nbatches, 1);
	ck_assert_mem_eq(a->batches[0].s, b->batches[0].s, 2 * sizeof(struct lt_sample));
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/*
 * publish_unit: every DCC gets the converted value, on a copy (the caller's
 * samples, the ring's records, keep the sensor's unit); aggregated or not.
 */
START_TEST(converting_metrics_publish_converted_copies)
{
	struct lt_model *m = fixture_model(2, 1, 2, 1000, 2);
	struct fake_dcc *a = m->dccs[0]->priv, *b = m->dccs[1]->priv;
	struct publisher p;
	struct lt_ring *ring;
	struct lt_sample s[] = { smp(0, 10, 1), smp(0, -40, 2), smp(1, 1.5, 3), smp(1, 2, 4) };

	/* metric 0: degC -> degF, aggregated by 2; metric 1: km -> m, one by one */
	m->metrics[0]->conv = (struct lt_unit_conv){ 1.8, 32 };
	m->metrics[0]->convert = true;
	m->metrics[1]->aggregation = 1;
	m->metrics[1]->conv = (struct lt_unit_conv){ 1000, 0 };
	m->metrics[1]->convert = true;
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	publisher_feed(&p, s, 4);
	ck_assert_uint_eq(a->nbatches, 3);
	ck_assert_uint_eq(b->nbatches, 3);
	ck_assert_uint_eq(a->batches[0].metric_id, 0);
	ck_assert_double_eq(a->batches[0].s[0].value, 50);
	ck_assert_double_eq(a->batches[0].s[1].value, -40);
	ck_assert_uint_eq(a->batches[0].s[1].ts_ns, 2);
	ck_assert_uint_eq(a->batches[1].metric_id, 1);
	ck_assert_double_eq(a->batches[1].s[0].value, 1500);
	ck_assert_uint_eq(a->batches[2].metric_id, 1);
	ck_assert_double_eq(a->batches[2].s[0].value, 2000);
	for (int i = 0; i < 3; i++)
		ck_assert_mem_eq(a->batches[i].s, b->batches[i].s,
				 a->batches[i].n * sizeof(struct lt_sample));
	ck_assert_double_eq(s[0].value, 10);
	ck_assert_double_eq(s[2].value, 1.5);
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

START_TEST(unregistered_target_and_unknown_metric_are_counted_not_lost_silently)
{
	struct lt_model *m = fixture_model(1, 1, 1, 1000, 1);
	struct fake_dcc *f = m->dccs[0]->priv;
	struct publisher p;
	struct lt_ring *ring;
	struct lt_sample s[] = { smp(0, 1, 1), smp(5, 2, 2) };

	free(m->metrics[0]->targets[0].reg.id);
	m->metrics[0]->targets[0].reg.id = NULL; /* as after a failed registration */
	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	publisher_feed(&p, s, 2);
	ck_assert_uint_eq(f->nbatches, 0);
	ck_assert_uint_eq(lt_count_get(&m->dccs[0]->stats.dropped), 1);
	ck_assert_uint_eq(atomic_load(&p.invalid), 1);
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/* ---- the pipeline: producers -> ring -> publisher thread -> DCC -------- */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define PER_PRODUCER 20000
#else
#define PER_PRODUCER 200000
#endif
#define PRODUCERS 3

struct prod_arg {
	struct lt_ring *ring;
	unsigned lane;
	uint64_t pushed, dropped;
};

static void *producer(void *arg)
{
	struct prod_arg *a = arg;
	struct lt_ring_producer p;

	lt_ring_producer_init(a->ring, a->lane, &p);
	for (uint64_t i = 0; i < PER_PRODUCER; i++) {
		struct lt_sample s = smp(a->lane, (double)i, i);

		if (lt_ring_push(&p, &s))
			a->pushed++;
		else
			a->dropped++;
		if (i % 16 == 15)
			lt_ring_commit(&p);
	}
	lt_ring_commit(&p);
	return NULL;
}

START_TEST(pipeline_delivers_every_sample_once_in_order)
{
	/* One metric per lane (device), aggregation 4, one DCC. */
	struct lt_model *m = fixture_model(1, PRODUCERS, 1, 1000, 4);
	struct fake_dcc *f = m->dccs[0]->priv;
	struct prod_arg args[PRODUCERS];
	pthread_t th[PRODUCERS];
	struct publisher p;
	struct lt_ring *ring;
	uint64_t pushed = 0, dropped = 0, next[PRODUCERS] = { 0 };

	ck_assert_int_eq(lt_ring_new(PRODUCERS, 4096, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	ck_assert_int_eq(publisher_start(&p), 0);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		args[i] = (struct prod_arg){ .ring = ring, .lane = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, producer, &args[i]), 0);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		pushed += args[i].pushed;
		dropped += args[i].dropped;
	}
	publisher_stop(&p, 0);
	ck_assert_uint_eq(pushed + dropped, (uint64_t)PRODUCERS * PER_PRODUCER);
	ck_assert_uint_eq(atomic_load(&p.consumed), pushed);
	ck_assert_uint_eq(f->samples, pushed);
	/* Per lane, the ring's sequence numbers arrive 0, 1, 2, ... without gaps. */
	for (size_t b = 0; b < f->nbatches; b++) {
		struct fake_batch *bt = &f->batches[b];

		ck_assert_uint_le(bt->n, 4);
		for (size_t i = 0; i < bt->n; i++) {
			ck_assert_uint_eq(bt->s[i].seq, next[bt->metric_id]);
			next[bt->metric_id]++;
		}
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		ck_assert_uint_eq(next[i], args[i].pushed);
		ck_assert_uint_eq(lt_ring_lane_dropped(ring, i), args[i].dropped);
	}
	publisher_destroy(&p);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

/*
 * A live reload pauses the publisher, drains the ring from another thread
 * and swaps the model under it (publisher_adopt()) while the producers keep
 * writing: every sample still arrives once and in order, kept metrics keep
 * their partial batches, and (under TSan) nothing races.
 */
START_TEST(pause_drain_adopt_while_producing_loses_nothing)
{
	struct lt_model *m = fixture_model(1, PRODUCERS, 1, 1000, 4);
	struct lt_model m2;
	struct fake_dcc *f = m->dccs[0]->priv;
	struct prod_arg args[PRODUCERS];
	pthread_t th[PRODUCERS];
	struct publisher p;
	struct lt_ring *ring;
	uint64_t pushed = 0, next[PRODUCERS] = { 0 };
	unsigned swaps = 0;

	/* The same objects in another model, in another order: as after a reload. */
	m2 = *m;
	m2.metrics = xcalloc(m->nmetrics, sizeof(*m2.metrics));
	for (unsigned i = 0; i < m->nmetrics; i++)
		m2.metrics[i] = m->metrics[m->nmetrics - 1 - i];
	ck_assert_int_eq(lt_ring_new(PRODUCERS, 4096, 1, &ring), 0);
	ck_assert_int_eq(publisher_init(&p, m, ring), 0);
	ck_assert_int_eq(publisher_start(&p), 0);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		args[i] = (struct prod_arg){ .ring = ring, .lane = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, producer, &args[i]), 0);
	}
	for (; swaps < 50; swaps++) {
		publisher_pause(&p);
		publisher_drain(&p);
		publisher_adopt(&p, swaps % 2 ? m : &m2);
		publisher_resume(&p);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		pushed += args[i].pushed;
	}
	publisher_stop(&p, 0);
	ck_assert_ptr_eq(p.model, m);
	ck_assert_uint_eq(atomic_load(&p.consumed), pushed);
	ck_assert_uint_eq(f->samples, pushed);
	for (size_t b = 0; b < f->nbatches; b++) {
		struct fake_batch *bt = &f->batches[b];

		for (size_t i = 0; i < bt->n; i++)
			ck_assert_uint_eq(bt->s[i].seq, next[bt->metric_id]++);
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		ck_assert_uint_eq(next[i], args[i].pushed);
	publisher_destroy(&p);
	lt_ring_free(ring);
	free(m2.metrics);
	fixture_free(m);
}
END_TEST

/* ---- counting: every delivery is published, dropped or pending ---------- */

/* A DCC whose peer is away: it holds what it is given until it is stopped. */
static int holding_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			   size_t n)
{
	(void)reg;
	(void)s;
	lt_count(&dcc->stats.samples_in, n);
	lt_count(&dcc->stats.pending, n);
	return (int)n;
}

static int holding_flush(struct lt_dcc *dcc, int64_t deadline_ns)
{
	(void)deadline_ns;
	return lt_count_get(&dcc->stats.pending) ? -ETIMEDOUT : 0;
}

static void holding_stop(struct lt_dcc *dcc)
{
	lt_count(&dcc->stats.dropped, lt_count_xchg(&dcc->stats.pending, 0));
}

static const struct lt_dcc_driver holding_dcc_driver = { .name = "holding",
							 .register_entity = fake_register,
							 .publish = holding_publish,
							 .poll = fake_poll,
							 .dispatch = fake_dispatch,
							 .flush = holding_flush,
							 .stop = holding_stop };

START_TEST(totals_count_each_delivery_once)
{
	/* 2 metrics to 2 DCCs: 4 deliveries per sample pair. */
	struct lt_model *m = fixture_model(2, 1, 2, 1000, 1);
	struct lt_ring *ring;
	struct daemon d = { .model = m };
	struct lt_totals t;

	ck_assert_int_eq(lt_ring_new(1, 64, 1, &ring), 0);
	d.ring = ring;
	atomic_store(&m->metrics[0]->samples, 10);
	atomic_store(&m->metrics[0]->ring_dropped, 2);
	atomic_store(&m->metrics[1]->samples, 5);
	atomic_store(&m->metrics[1]->errors, 3);
	/* DCC 0 was handed 11 (8 + 3 are still upstream), DCC 1 was handed 12. */
	lt_count_set(&m->dccs[0]->stats.samples_in, 11);
	lt_count_set(&m->dccs[0]->stats.sent, 6);
	lt_count_set(&m->dccs[0]->stats.dropped, 1);
	lt_count_set(&m->dccs[0]->stats.pending, 4);
	lt_count_set(&m->dccs[1]->stats.samples_in, 12);
	lt_count_set(&m->dccs[1]->stats.sent, 12);
	daemon_totals(&d, &t);
	ck_assert_uint_eq(t.taken, 15);
	ck_assert_uint_eq(t.errors, 3);
	ck_assert_uint_eq(t.deliveries, 30);
	ck_assert_uint_eq(t.published, 18);
	/* 1 by DCC 0, and 2 lost in the ring for each of the 2 DCCs. */
	ck_assert_uint_eq(t.dropped, 5);
	/* 4 in DCC 0's queue, 30 - 4 - 23 = 3 in the ring or a partial batch. */
	ck_assert_uint_eq(t.pending, 7);
	ck_assert_uint_eq(t.published + t.dropped + t.pending, t.deliveries);
	lt_ring_free(ring);
	fixture_free(m);
}
END_TEST

START_TEST(stop_counts_what_a_dcc_still_holds_as_dropped)
{
	/* DCC 0 delivers everything, DCC 1 (peer away) nothing. */
	struct lt_model *m = fixture_model(2, 2, 2, 1000 * 1000, 3);
	struct lt_totals acc = { 0 }, live;
	struct daemon *d;
	char err[256];

	m->dccs[1]->drv = &holding_dcc_driver;
	/* daemon_start() registers the metrics itself. */
	for (unsigned i = 0; i < m->nmetrics; i++)
		for (unsigned t = 0; t < m->metrics[i]->ntargets; t++) {
			free(m->metrics[i]->targets[t].reg.id);
			m->metrics[i]->targets[t].reg.id = NULL;
		}
	sampler_signals_init();
	ck_assert_int_eq(daemon_start(m, 1, &d, err, sizeof(err)), 0);
	/* Until some samples have gone both ways (bounded: 5 s). */
	for (int i = 0; i < 500; i++) {
		daemon_totals(d, &live);
		if (lt_count_get(&m->dccs[1]->stats.pending) >= 20)
			break;
		usleep(10 * 1000);
	}
	ck_assert_uint_ge(lt_count_get(&m->dccs[1]->stats.pending), 20);
	daemon_stop(d, &acc);
	ck_assert_uint_gt(acc.taken, 0);
	ck_assert_uint_eq(acc.deliveries, 2 * acc.taken);
	ck_assert_uint_eq(acc.pending, 0);
	/* Every sample once to DCC 0, and, dropped at the stop, once to DCC 1. */
	ck_assert_uint_eq(acc.published, acc.taken);
	ck_assert_uint_eq(acc.dropped, acc.taken);
	/* The counters start again: a reload adds the next run to acc. */
	ck_assert_uint_eq(atomic_load(&m->metrics[0]->samples), 0);
	ck_assert_uint_eq(lt_count_get(&m->dccs[1]->stats.dropped), 0);
	ck_assert_int_eq(daemon_start(m, 2, &d, err, sizeof(err)), 0);
	daemon_stop(d, &acc);
	ck_assert_uint_eq(acc.published + acc.dropped, acc.deliveries);
	ck_assert_uint_eq(acc.pending, 0);
	fixture_free(m);
}
END_TEST

static Suite *publisher_suite(void)
{
	Suite *s = suite_create("publisher");
	TCase *tc = tcase_create("publisher");

	tcase_add_test(tc, aggregation_publishes_full_batches_in_order);
	tcase_add_test(tc, pause_drain_adopt_while_producing_loses_nothing);
	tcase_add_test(tc, metrics_aggregate_independently);
	tcase_add_test(tc, every_dcc_of_a_metric_gets_the_same_batch);
	tcase_add_test(tc, converting_metrics_publish_converted_copies);
	tcase_add_test(tc, unregistered_target_and_unknown_metric_are_counted_not_lost_silently);
	tcase_add_test(tc, pipeline_delivers_every_sample_once_in_order);
	tcase_add_test(tc, totals_count_each_delivery_once);
	tcase_add_test(tc, stop_counts_what_a_dcc_still_holds_as_dropped);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(publisher_suite)
