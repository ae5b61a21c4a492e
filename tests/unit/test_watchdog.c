/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the systemd watchdog covers: daemon_stalled() names a publisher or a
 * sampler stuck in one piece of work, and never a thread that only waits;
 * and the STATUS= text's rates.
 */
#include "daemon.h"
#include "fixtures.h"
#include "notify.h"
#include "unit.h"

#include <unistd.h>

#define SEC LT_NSEC_PER_SEC
/* Busy this long is stuck here: a round of real work takes microseconds. */
#define LIMIT (200 * LT_NSEC_PER_SEC / 1000)

/* A call that blocks until the test releases it (at most 10 s). */
static _Atomic bool entered, released;

static void block_until_released(void)
{
	atomic_store(&entered, true);
	for (int i = 0; i < 10000 && !atomic_load(&released); i++)
		usleep(1000);
}

static void wait_entered(void)
{
	for (int i = 0; i < 5000 && !atomic_load(&entered); i++)
		usleep(1000);
	ck_assert_msg(atomic_load(&entered), "the blocking call was never made");
}

static int blocking_publish(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
			    size_t n)
{
	block_until_released();
	return fake_publish(dcc, reg, s, n);
}

static int blocking_read(struct lt_device *dev, struct lt_metric *m, double *v)
{
	block_until_released();
	return fake_read(dev, m, v);
}

static struct daemon *start(struct lt_model *m)
{
	struct daemon *d = NULL;
	char err[256] = "";

	/* daemon_start() registers every metric itself. */
	for (unsigned i = 0; i < m->nmetrics; i++)
		for (unsigned t = 0; t < m->metrics[i]->ntargets; t++) {
			free(m->metrics[i]->targets[t].reg.id);
			m->metrics[i]->targets[t].reg.id = NULL;
		}
	sampler_signals_init(); /* the stop signal of sampler threads */
	atomic_store(&entered, false);
	atomic_store(&released, false);
	ck_assert_msg(daemon_start(m, 1, &d, err, sizeof(err)) == 0, "daemon_start: %s", err);
	return d;
}

/*
 * Start @m, whose one blocking call never returns until released: once it is
 * made, no thread is stuck yet, and 300 ms later (only a thread stuck in its
 * work stays busy that long) daemon_stalled() names @who. Then stop.
 */
static void assert_stalled(struct lt_model *m, const char *who)
{
	struct daemon *d = start(m);
	uint64_t busy = 0;
	const char *got;

	wait_entered();
	ck_assert_ptr_null(daemon_stalled(d, lt_mono_ns(), 10 * SEC, &busy));
	usleep(300000);
	got = daemon_stalled(d, lt_mono_ns(), LIMIT, &busy);
	ck_assert_msg(got && !strcmp(got, who), "stalled: %s, expected %s", got ? got : "none",
		      who);
	ck_assert_uint_ge(busy, LIMIT);
	atomic_store(&released, true);
	daemon_stop(d, NULL);
	fixture_free(m);
}

START_TEST(publisher_stuck_in_a_dcc_call_is_stalled)
{
	struct lt_model *m = fixture_model(1, 1, 1, 3600 * SEC, 1);
	struct lt_dcc_driver drv = fake_dcc_driver;

	drv.publish = blocking_publish;
	m->dccs[0]->drv = &drv;
	assert_stalled(m, "publisher");
}
END_TEST

START_TEST(sampler_stuck_in_a_read_is_stalled_by_its_device)
{
	struct lt_model *m = fixture_model(1, 2, 1, 3600 * SEC, 1);
	struct lt_device_driver drv = fake_device_driver;

	drv.read = blocking_read;
	m->devices[1]->drv = &drv;
	assert_stalled(m, "dev1");
}
END_TEST

START_TEST(threads_that_wait_are_never_stalled)
{
	/* Hourly metrics: after the first reads every thread waits. */
	struct lt_model *m = fixture_model(1, 2, 2, 3600 * SEC, 1);
	struct fake_dcc *f = m->dccs[0]->priv;
	uint64_t busy = 0, n = 0;
	struct daemon *d = start(m);

	for (int i = 0; i < 5000 && n < 4; i++) {
		usleep(1000);
		pthread_mutex_lock(&f->lock);
		n = f->samples;
		pthread_mutex_unlock(&f->lock);
	}
	ck_assert_uint_eq(n, 4);
	usleep(200000); /* the publisher goes back to its wait */
	ck_assert_ptr_null(daemon_stalled(d, lt_mono_ns() + 3600 * SEC, SEC, &busy));
	daemon_stop(d, NULL);
	fixture_free(m);
}
END_TEST

START_TEST(status_gives_rates_over_the_period)
{
	struct lt_totals prev = { .taken = 100, .published = 10 };
	struct lt_totals cur = { .taken = 150, .published = 22, .dropped = 3 };
	char text[160];

	notify_status_text(text, sizeof(text), &prev, &cur, 5 * SEC);
	ck_assert_str_eq(text, "10.0 samples/s, 2.4 published/s, 3 dropped");
}
END_TEST

static Suite *watchdog_suite(void)
{
	Suite *s = suite_create("watchdog");
	TCase *tc = tcase_create("watchdog");

	tcase_add_test(tc, publisher_stuck_in_a_dcc_call_is_stalled);
	tcase_add_test(tc, sampler_stuck_in_a_read_is_stalled_by_its_device);
	tcase_add_test(tc, threads_that_wait_are_never_stalled);
	tcase_add_test(tc, status_gives_rates_over_the_period);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(watchdog_suite)
