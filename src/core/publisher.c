/* SPDX-License-Identifier: BSD-2-Clause */
#include "publisher.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#define PUB_BATCH 1024
/* Under sustained load the ring never runs dry: still serve DCC I/O this often. */
#define PUB_SERVICE_NS (5 * 1000 * 1000ull)
/*
 * Under load, drain the ring at most this often (see publisher_main()): a
 * lane must hold this long of its device's samples (4096 records: 4 M/s).
 */
#define PUB_NAP_NS (1000 * 1000ull)

/*
 * A metric's aggregation buffer: none for aggregation 1, whose samples go
 * out one by one as they arrive; 48 bytes of heap a metric fewer.
 */
static void agg_init(struct lt_agg *a, struct lt_metric *mt)
{
	a->buf = mt->aggregation > 1 ? xcalloc(mt->aggregation, sizeof(struct lt_sample)) : NULL;
	a->size = mt->aggregation;
	a->metric = mt;
}

int publisher_init(struct publisher *p, struct lt_model *m, struct lt_ring *ring)
{
	memset(p, 0, sizeof(*p));
	p->model = m;
	p->ring = ring;
	p->batch_max = PUB_BATCH;
	p->batch = xcalloc(PUB_BATCH, sizeof(*p->batch));
	p->nagg = model_id_bound(m);
	p->agg = xcalloc(p->nagg + 1, sizeof(*p->agg));
	for (unsigned i = 0; i < m->nmetrics; i++)
		agg_init(&p->agg[m->metrics[i]->id], m->metrics[i]);
	pthread_mutex_init(&p->park_lock, NULL);
	pthread_cond_init(&p->park_cond, NULL);
	p->pfds = xcalloc(m->ndccs + 2, sizeof(*p->pfds));
	p->deadlines = xcalloc(m->ndccs + 1, sizeof(*p->deadlines));
	p->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->stop_fd < 0) {
		int e = -errno;

		publisher_destroy(p);
		return e;
	}
	return 0;
}

void publisher_destroy(struct publisher *p)
{
	if (p->agg)
		for (unsigned i = 0; i < p->nagg; i++)
			free(p->agg[i].buf);
	free(p->agg);
	if (p->batch) {
		pthread_mutex_destroy(&p->park_lock);
		pthread_cond_destroy(&p->park_cond);
	}
	free(p->batch);
	free(p->pfds);
	free(p->deadlines);
	if (p->stop_fd > 0)
		close(p->stop_fd);
	p->agg = NULL;
	p->batch = NULL;
	p->pfds = NULL;
	p->stop_fd = -1;
}

/* Hand one batch of a metric to each of its DCCs. */
static void fan_out(struct lt_metric *m, const struct lt_sample *s, size_t n)
{
	for (unsigned t = 0; t < m->ntargets; t++) {
		struct lt_target *tg = &m->targets[t];

		if (!tg->reg.id) {
			/* Registration failed at start: count, do not pretend. */
			lt_count(&tg->dcc->stats.samples_in, n);
			lt_count(&tg->dcc->stats.dropped, n);
			continue;
		}
		tg->dcc->drv->publish(tg->dcc, &tg->reg, s, n);
	}
}

/*
 * A sample as the DCCs get it: in the metric's publish_unit. Converted on a
 * copy, so that the ring (and liotactl watch, status) keep the sensor's
 * unit; the converter was reduced to a multiply-add by config.c.
 */
static inline struct lt_sample published(const struct lt_metric *m, const struct lt_sample *s)
{
	struct lt_sample o = *s;

	if (m->convert)
		o.value = lt_unit_convert(&m->conv, o.value);
	return o;
}

void publisher_feed(struct publisher *p, const struct lt_sample *s, size_t n)
{
	const uint32_t nagg = p->nagg;

	for (size_t i = 0; i < n; i++) {
		uint32_t id = s[i].metric_id;
		struct lt_agg *a = &p->agg[id < nagg ? id : nagg];

		if (!a->metric) {
			atomic_fetch_add_explicit(&p->invalid, 1, memory_order_relaxed);
			continue;
		}
		if (a->size == 1) {
			struct lt_sample one = published(a->metric, &s[i]);

			fan_out(a->metric, &one, 1);
			continue;
		}
		a->buf[a->n++] = published(a->metric, &s[i]);
		if (a->n == a->size) {
			fan_out(a->metric, a->buf, a->n);
			a->n = 0;
		}
	}
}

void publisher_flush_partial(struct publisher *p)
{
	for (unsigned i = 0; i < p->nagg; i++) {
		struct lt_agg *a = &p->agg[i];

		if (a->n) {
			fan_out(a->metric, a->buf, a->n);
			a->n = 0;
		}
	}
}

/* Drain everything the ring holds now. Returns true if anything was read. */
static size_t drain_once(struct publisher *p)
{
	size_t n = lt_ring_consume(p->ring, p->batch, p->batch_max);

	if (n) {
		publisher_feed(p, p->batch, n);
		atomic_fetch_add_explicit(&p->consumed, n, memory_order_relaxed);
	}
	return n;
}

enum wait_mode {
	WAIT_NONE,  /* records are still coming: only look at the DCCs */
	WAIT_SLEEP, /* the ring is empty: sleep until a producer wakes us */
	WAIT_NAP,   /* sleep until a given time; producers do not wake us */
};

/*
 * Wait as @mode says (and for a stop request, DCC socket events and DCC
 * timers), then dispatch DCC work. Returns when the wait ended.
 */
static uint64_t service(struct publisher *p, enum wait_mode mode, uint64_t nap_until)
{
	struct lt_model *m = p->model;
	int64_t now;

	/*
	 * A nap goes on after DCC work: the first round usually just sends
	 * what the drains queued (POLLOUT is ready at once). Bounded, in case
	 * a DCC keeps reporting a timer that is already due.
	 */
	for (int round = 0;; round++) {
		int64_t deadline = INT64_MAX;
		bool slept = false;
		struct timespec ts, *tsp = NULL;

		/* While napping the eventfd stays out: producers do not wake a nap. */
		p->pfds[0] =
			(struct pollfd){ .fd = mode == WAIT_NAP ? -1 : lt_ring_eventfd(p->ring),
					 .events = POLLIN };
		p->pfds[1] = (struct pollfd){ .fd = p->stop_fd, .events = POLLIN };
		for (unsigned i = 0; i < m->ndccs; i++) {
			p->pfds[2 + i] = (struct pollfd){ .fd = -1 };
			p->deadlines[i] = INT64_MAX;
			m->dccs[i]->drv->poll(m->dccs[i], &p->pfds[2 + i], &p->deadlines[i]);
			if (p->deadlines[i] < deadline)
				deadline = p->deadlines[i];
		}
		if (mode == WAIT_NAP && (int64_t)nap_until < deadline)
			deadline = (int64_t)nap_until;
		if (mode == WAIT_SLEEP && lt_ring_prepare_sleep(p->ring))
			slept = true;
		if (slept || mode == WAIT_NAP) {
			if (deadline != INT64_MAX) {
				now = (int64_t)lt_mono_ns();
				ts = lt_ns_ts(deadline > now ? (uint64_t)(deadline - now) : 0);
				tsp = &ts;
			}
		} else {
			ts = (struct timespec){ 0, 0 };
			tsp = &ts;
		}
		lt_beat_idle(&p->beat);
		ppoll(p->pfds, m->ndccs + 2, tsp, NULL);
		lt_beat_busy(&p->beat, 1, lt_mono_ns());
		/*
		 * The stop eventfd only wakes us (p->pause and p->stop say why):
		 * empty it here, where it woke us, else every later ppoll() would
		 * return at once. Emptied anywhere else (once on leaving park()),
		 * a pause asked between our waking and that read was lost, and we
		 * slept while the caller waited for us: a reload hung.
		 */
		if (p->pfds[1].revents) {
			uint64_t v;
			ssize_t r = read(p->stop_fd, &v, sizeof(v));

			(void)r; /* EAGAIN: another wake-up emptied it */
		}
		if (slept)
			lt_ring_wake_ack(p->ring);
		now = (int64_t)lt_mono_ns();
		for (unsigned i = 0; i < m->ndccs; i++) {
			short rev = p->pfds[2 + i].revents;

			if (p->pfds[2 + i].fd >= 0 && rev)
				m->dccs[i]->drv->dispatch(m->dccs[i], rev, now);
			else if (p->deadlines[i] <= now)
				m->dccs[i]->drv->dispatch(m->dccs[i], 0, now);
		}
		if (mode != WAIT_NAP || now >= (int64_t)nap_until || p->pfds[1].revents ||
		    round == 8)
			return (uint64_t)now;
	}
}

/*
 * publisher_pause() asked: say so and wait. Between two drains nothing of
 * the publisher's is in use, so the caller may change it all.
 */
static void park(struct publisher *p)
{
	/* Parked is idle for the watchdog: the main thread is busy in its place. */
	lt_beat_idle(&p->beat);
	pthread_mutex_lock(&p->park_lock);
	p->parked = true;
	pthread_cond_broadcast(&p->park_cond);
	while (atomic_load_explicit(&p->pause, memory_order_acquire))
		pthread_cond_wait(&p->park_cond, &p->park_lock);
	p->parked = false;
	pthread_mutex_unlock(&p->park_lock);
	lt_beat_busy(&p->beat, 1, lt_mono_ns());
}

/*
 * The loop. Under load a wake-up per producer commit (thousands per second,
 * each a context switch here and an eventfd write in a sampler) would cost
 * more than the records it brings. So a sleep that a producer cut short
 * (less than PUB_NAP_NS) starts a busy spell: the thread then naps PUB_NAP_NS
 * between drains instead of sleeping until woken, and producers, seeing it
 * awake, skip the eventfd. A drain that finds nothing ends the spell: the
 * next wait is a true sleep again, so an idle daemon does not wake by
 * itself and a lone sample costs one wake-up and is delivered at once.
 */
static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	uint64_t last_service = lt_mono_ns();
	bool got = false;     /* records since the last wait ended */
	bool busy = false;    /* in a busy spell: nap rather than sleep */
	bool partial = false; /* the last drain found records, less than a batch */

	lt_beat_busy(&p->beat, 1, last_service);
	for (;;) {
		if (atomic_load_explicit(&p->pause, memory_order_acquire)) {
			park(p);
			got = busy = false;
			last_service = lt_mono_ns();
		}
		size_t n = drain_once(p);
		uint64_t now = lt_mono_ns();

		/*
		 * Two partial drains in a row: records trickle in, as when a
		 * thousand samplers wake together on their grid. Draining again at
		 * once would spin through their burst, scanning every lane each
		 * time; nap instead and take them in one or two drains. A lone
		 * record (one partial drain, then an empty one) still goes out at
		 * once.
		 */
		bool trickle = partial && n && n < p->batch_max;

		partial = n && n < p->batch_max;
		got |= n != 0;
		/*
		 * Serve the DCCs when the ring is empty (or every 5 ms), not after
		 * every drain: what the drains queued then leaves in one write.
		 */
		if (n && !trickle && now - last_service < PUB_SERVICE_NS)
			continue;
		if (n == 0 && atomic_load_explicit(&p->stop, memory_order_acquire)) {
			/* Producers are gone: one last sweep catches their final commits. */
			while (drain_once(p))
				;
			lt_beat_idle(&p->beat);
			break;
		}
		if (n && !trickle) {
			last_service = service(p, WAIT_NONE, 0);
		} else if (trickle || (busy && got)) {
			last_service = service(p, WAIT_NAP, now + PUB_NAP_NS);
			got = false;
			busy = true;
			partial = false;
		} else {
			last_service = service(p, WAIT_SLEEP, 0);
			busy = last_service - now < PUB_NAP_NS;
			got = false;
		}
	}
	return NULL;
}

int publisher_start(struct publisher *p)
{
	int r = pthread_create(&p->thread, NULL, publisher_main, p);

	if (r)
		return -r;
	p->started = true;
	return 0;
}

void publisher_stop(struct publisher *p, uint64_t flush_timeout_ns)
{
	uint64_t one = 1;
	ssize_t w;

	if (!p->started)
		return;
	atomic_store_explicit(&p->stop, true, memory_order_release);
	w = write(p->stop_fd, &one, sizeof(one));
	(void)w; /* a full eventfd is still readable: the wake-up is not lost */
	pthread_join(p->thread, NULL);
	p->started = false;

	/* The thread is gone: its DCCs are ours now. Deliver what is queued. */
	publisher_flush_partial(p);
	int64_t deadline = (int64_t)(lt_mono_ns() + flush_timeout_ns);
	for (unsigned i = 0; i < p->model->ndccs; i++) {
		struct lt_dcc *d = p->model->dccs[i];

		/* The DCC's stop counts them as dropped. */
		if (d->drv->flush && d->drv->flush(d, deadline) < 0)
			lt_dcc_log(d, LOG_WARNING,
				   "%llu samples (%llu bytes) still queued after the flush "
				   "timeout: dropped",
				   (unsigned long long)lt_count_get(&d->stats.pending),
				   (unsigned long long)lt_count_get(&d->stats.queued));
	}
}

void publisher_pause(struct publisher *p)
{
	uint64_t one = 1;
	ssize_t w;

	atomic_store_explicit(&p->pause, true, memory_order_release);
	w = write(p->stop_fd, &one, sizeof(one));
	(void)w;
	pthread_mutex_lock(&p->park_lock);
	while (!p->parked)
		pthread_cond_wait(&p->park_cond, &p->park_lock);
	pthread_mutex_unlock(&p->park_lock);
}

void publisher_resume(struct publisher *p)
{
	pthread_mutex_lock(&p->park_lock);
	atomic_store_explicit(&p->pause, false, memory_order_release);
	pthread_cond_broadcast(&p->park_cond);
	pthread_mutex_unlock(&p->park_lock);
}

void publisher_drain(struct publisher *p)
{
	while (drain_once(p))
		;
}

void publisher_flush_metric(struct publisher *p, struct lt_metric *mt)
{
	struct lt_agg *a = mt->id < p->nagg ? &p->agg[mt->id] : NULL;

	if (a && a->metric == mt && a->n) {
		fan_out(mt, a->buf, a->n);
		a->n = 0;
	}
}

void publisher_adopt(struct publisher *p, struct lt_model *m)
{
	uint32_t nagg = model_id_bound(m);
	struct lt_agg *agg = xcalloc(nagg + 1, sizeof(*agg));

	for (unsigned i = 0; i < m->nmetrics; i++) {
		struct lt_metric *mt = m->metrics[i];
		struct lt_agg *a = &agg[mt->id];

		if (mt->id < p->nagg && p->agg[mt->id].metric == mt) {
			*a = p->agg[mt->id];
			p->agg[mt->id].buf = NULL;
			continue;
		}
		agg_init(a, mt);
	}
	for (unsigned i = 0; i < p->nagg; i++)
		free(p->agg[i].buf);
	free(p->agg);
	p->agg = agg;
	p->nagg = nagg;
	free(p->pfds);
	free(p->deadlines);
	p->pfds = xcalloc(m->ndccs + 2, sizeof(*p->pfds));
	p->deadlines = xcalloc(m->ndccs + 1, sizeof(*p->deadlines));
	p->model = m;
}
