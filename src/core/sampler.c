/* SPDX-License-Identifier: BSD-2-Clause */
#include "sampler.h"
#include "schedule.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

/* SIGUSR1 interrupts clock_nanosleep when the sampler must stop. */
#define SAMPLER_SIGNAL SIGUSR1
/* How often a device that cannot be opened (or went away) is tried again. */
static uint64_t open_retry_ns = 5 * LT_NSEC_PER_SEC;

/* A driver call lasting longer than max(2 x the shortest interval, this) is stuck. */
static uint64_t stuck_min_ns = 2 * LT_NSEC_PER_SEC;

/* SCHED_FIFO priority of new sampler threads; 0: the default policy. */
static int rt_priority;
/* Wake this long before each deadline and busy-wait to it; 0: just sleep. */
static uint64_t spin_ns;

/* The device of this sampler thread (NULL in other threads), for on_wake(). */
static __thread struct lt_device *thread_dev;

/*
 * The stop signal interrupts sleeps (EINTR). A read blocked on a socket
 * whose library retries on EINTR (libmodbus does) would go on waiting: if
 * the driver named that socket, shut it down here, in the thread that
 * owns it, so it cannot be closed and its number reused meanwhile.
 * shutdown() is async-signal-safe.
 */
static void on_wake(int sig)
{
	struct lt_device *dev = thread_dev;
	int fd, e = errno;

	(void)sig;
	if (dev && atomic_load_explicit(&dev->stopping, memory_order_relaxed) &&
	    (fd = atomic_load_explicit(&dev->stop_socket, memory_order_relaxed)) >= 0)
		shutdown(fd, SHUT_RDWR);
	errno = e;
}

void sampler_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake; /* no SA_RESTART: the sleep must return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SAMPLER_SIGNAL, &sa, NULL);
}

/* Status and the watchdog see a call that does not return (sampler_stuck(), daemon_stalled()). */
static void call_begin(struct sampler *s, enum sampler_call c, uint64_t now)
{
	lt_beat_busy(&s->beat, c, now);
}

static void call_end(struct sampler *s)
{
	lt_beat_idle(&s->beat);
}

bool sampler_stuck(const struct sampler *s, uint64_t now_ns, char *buf, size_t len)
{
	static const char *const names[] = { [SAMPLER_CALL_OPEN] = "open",
					     [SAMPLER_CALL_READ] = "read",
					     [SAMPLER_CALL_DISPATCH] = "dispatch",
					     [SAMPLER_CALL_CLOSE] = "close" };
	uint64_t shortest = UINT64_MAX, limit = stuck_min_ns;
	unsigned c;
	uint64_t busy = lt_beat_busy_for(&s->beat, now_ns, &c);

	if (!busy || c == SAMPLER_CALL_NONE || c > SAMPLER_CALL_CLOSE)
		return false;
	/* The shortest interval is the one a call delays first. */
	for (unsigned i = 0; i < s->dev->nmetrics; i++) {
		uint64_t iv = s->dev->metrics[i]->interval_ns;

		if (iv && iv < shortest)
			shortest = iv;
	}
	if (shortest <= UINT64_MAX / 2 && 2 * shortest > limit)
		limit = 2 * shortest;
	if (busy <= limit)
		return false;
	snprintf(buf, len, "stuck in %s for %llu s", names[c],
		 (unsigned long long)(busy / LT_NSEC_PER_SEC));
	return true;
}

static void store_last(struct lt_metric *m, double v, uint64_t ts)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	atomic_store_explicit(&m->last_bits, bits, memory_order_relaxed);
	atomic_store_explicit(&m->last_ts, ts, memory_order_relaxed);
}

/*
 * The metric's filters decide on @v read at @now (CLOCK_MONOTONIC); each
 * verdict is counted. True: push it. Before the push, so that what they
 * keep back takes no ring space and no publisher time, and aggregation
 * batches count only what passed (liota filtered before aggregating).
 */
static bool filter_admits(struct lt_metric *m, double v, uint64_t now)
{
	enum filter_verdict fv = filter_apply(m->filter, &m->filter->state, v, now);
	_Atomic uint64_t *c = &m->filter->counts[fv];

	/* This thread is the only writer: a plain increment, not a locked one. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return filter_sends(fv);
}

/*
 * Wake the publisher only when it has work: it publishes whole batches, so a
 * sample that completes none can wait in the ring. Also when the lane is
 * half full (an aggregation larger than the lane, a slow publisher). Either
 * way the samples are published now: observers see them at once, and the
 * publisher's final drain at stop takes them.
 */
static void commit(struct sampler *s, struct lt_ring_producer *p, unsigned pushed, bool batch_due)
{
	if (batch_due ||
	    lt_ring_lane_fill(s->ring, s->lane) + pushed >= lt_ring_hdr(s->ring)->capacity / 2)
		lt_ring_commit(p);
	else
		lt_ring_commit_nowake(p);
}

uint64_t sampler_tick(struct sampler *s, struct lt_ring_producer *p, uint64_t now)
{
	struct lt_device *dev = s->dev;
	/*
	 * One clock read per tick for a device of one metric: its read starts
	 * at @now (the caller's read after waking) and its CLOCK_REALTIME stamp
	 * comes from lt_real_at(). Later metrics of the tick read
	 * CLOCK_MONOTONIC for their own stamp and lateness. At 1M samples/s a
	 * second clock read per sample was ~10 % of the daemon's CPU.
	 */
	uint64_t earliest = UINT64_MAX, t_start = now;
	unsigned pushed = 0;
	bool first = true, batch_due = false;

	if (dev->drv->tick) {
		dev->drv->tick(dev, now);
		t_start = lt_mono_ns(); /* the reads start after the tick's work */
	}
	for (unsigned i = 0; i < dev->nmetrics; i++) {
		struct lt_metric *m = dev->metrics[i];
		struct sampler_metric *sm = &s->met[i];
		struct lt_sample smp;
		uint64_t skipped;
		double v;
		int r;

		if (m->interval_ns == 0)
			continue; /* event-driven: not polled */
		if (sm->next <= now) {
			uint64_t t = first ? t_start : lt_mono_ns();

			first = false;
			/* From when the read starts: later metrics wait for earlier ones. */
			lat_record(&s->lat, now - sm->next + (t - t_start));
			smp.ts_ns = lt_real_at(t);
			call_begin(s, SAMPLER_CALL_READ, t);
			r = dev->drv->read(dev, m, &v);
			call_end(s);
			if (r == -ENODATA) {
				/* nothing new to report: not an error */
			} else if (r < 0) {
				atomic_fetch_add_explicit(&m->errors, 1, memory_order_relaxed);
				if (r == -ENODEV)
					s->lost = true;
			} else if (m->filter && !filter_admits(m, v, t)) {
				/* Kept back: still a sample taken, and the last value read. */
				atomic_fetch_add_explicit(&m->samples, 1, memory_order_relaxed);
				store_last(m, v, smp.ts_ns);
			} else {
				smp.value = v;
				smp.metric_id = m->id;
				smp.flags = sm->late ? LT_SAMPLE_LATE : 0;
				smp.seq = 0;
				/* A full lane drops the sample; the ring counts it per lane. */
				if (lt_ring_push(p, &smp)) {
					pushed++;
					/* Counted as the publisher counts: batches agree. */
					if (++sm->pending >= m->aggregation) {
						sm->pending = 0;
						batch_due = true;
					}
				} else {
					atomic_fetch_add_explicit(&m->ring_dropped, 1,
								  memory_order_relaxed);
				}
				atomic_fetch_add_explicit(&m->samples, 1, memory_order_relaxed);
				store_last(m, v, smp.ts_ns);
			}
			sm->next = sched_next(sm->next, m->interval_ns, now, &skipped);
			sm->late = skipped > 0;
			if (skipped)
				atomic_fetch_add_explicit(&m->late, skipped, memory_order_relaxed);
		}
		if (sm->next < earliest)
			earliest = sm->next;
	}
	commit(s, p, pushed, batch_due);
	return earliest;
}

int lt_emit(struct lt_metric *m, double value, uint64_t ts_ns)
{
	struct sampler_emit *e = m->device->emit;
	struct lt_sample smp = { .ts_ns = ts_ns, .value = value, .metric_id = m->id };
	struct sampler_metric *sm;

	if (!e)
		return -EPERM;
	/* Ring observers take a record stamped 0 for a slot given back (ring.h). */
	if (__builtin_expect(ts_ns == 0, 0))
		smp.ts_ns = ts_ns = lt_real_ns();
	sm = &e->s->met[m->dev_index];
	atomic_fetch_add_explicit(&m->samples, 1, memory_order_relaxed);
	store_last(m, value, ts_ns);
	if (m->filter && !filter_admits(m, value, lt_mono_ns()))
		return 0; /* kept back by the metric's filters: not an error */
	if (!lt_ring_push(e->p, &smp)) {
		atomic_fetch_add_explicit(&m->ring_dropped, 1, memory_order_relaxed);
		return -ENOBUFS; /* the ring counts it per lane too */
	}
	e->pushed++;
	if (++sm->pending >= m->aggregation) {
		sm->pending = 0;
		e->batch_due = true;
	}
	return 0;
}

int sampler_dispatch(struct sampler *s, struct lt_ring_producer *p, short revents, uint64_t now)
{
	struct sampler_emit e = { .s = s, .p = p };
	int r;

	s->dev->emit = &e;
	call_begin(s, SAMPLER_CALL_DISPATCH, now);
	r = s->dev->drv->dispatch(s->dev, revents, now);
	call_end(s);
	s->dev->emit = NULL;
	commit(s, p, e.pushed, e.batch_due);
	return r;
}

static bool stopping(struct sampler *s)
{
	return atomic_load_explicit(&s->stop, memory_order_acquire);
}

/*
 * Open the device, retrying every open_retry_ns until it opens or the
 * sampler is stopped. Logs the first failure and every change of reason,
 * not each retry. Returns false when stopped.
 */
static bool open_device(struct sampler *s, bool reopening)
{
	struct lt_device *dev = s->dev;
	char err[256] = "", last[256] = "";
	unsigned tries = 0;
	int r;

	while (!stopping(s)) {
		err[0] = '\0';
		call_begin(s, SAMPLER_CALL_OPEN, lt_mono_ns());
		r = dev->drv->open ? dev->drv->open(dev, err, sizeof(err)) : 0;
		call_end(s);
		if (r >= 0) {
			if (tries || reopening)
				lt_device_log(dev, LOG_NOTICE, "open again%s",
					      tries ? " after retrying" : "");
			atomic_store(&dev->state, LT_DEVICE_RUNNING);
			return true;
		}
		atomic_store(&dev->state, LT_DEVICE_FAILED);
		if (strcmp(err, last) != 0) {
			lt_device_log(dev, LOG_ERR, "cannot open: %s (retrying every %g s)", err,
				      (double)open_retry_ns / 1e9);
			snprintf(last, sizeof(last), "%s", err);
		}
		tries++;
		sched_sleep_until(lt_mono_ns() + open_retry_ns);
	}
	return false;
}

/*
 * Wait for the next polled deadline, or (for a device with a poll callback)
 * for its descriptor and timer too, and serve what is due. Returns -ENODEV
 * when the device is gone, 0 when stopped, 1 when nothing is left to wait
 * for (no polled metric, no descriptor).
 */
static int run_device(struct sampler *s, struct lt_ring_producer *p)
{
	struct lt_device *dev = s->dev;
	uint64_t t0 = lt_mono_ns(), deadline = UINT64_MAX;

	s->lost = false;
	for (unsigned i = 0; i < dev->nmetrics; i++) {
		s->met[i].next = t0;
		s->met[i].pending = 0;
		if (dev->metrics[i]->interval_ns)
			deadline = t0;
	}
	while (!stopping(s)) {
		uint64_t wake = deadline - (deadline > spin_ns ? spin_ns : 0);

		if (dev->drv->poll) {
			struct pollfd pfd = { .fd = -1 };
			int64_t timer = INT64_MAX;
			struct timespec ts, *tsp = NULL;
			uint64_t now;
			int n;

			dev->drv->poll(dev, &pfd, &timer);
			if (timer != INT64_MAX && (uint64_t)timer < wake)
				wake = (uint64_t)timer;
			if (pfd.fd < 0 && wake == UINT64_MAX)
				return 1;
			if (wake != UINT64_MAX) {
				now = lt_mono_ns();
				ts = lt_ns_ts(wake > now ? wake - now : 0);
				tsp = &ts;
			}
			n = ppoll(&pfd, 1, tsp, NULL); /* the stop signal ends it (EINTR) */
			if (n < 0)
				continue;
			now = lt_mono_ns();
			if ((n > 0 && pfd.revents) ||
			    (timer != INT64_MAX && now >= (uint64_t)timer)) {
				n = sampler_dispatch(s, p, n > 0 ? pfd.revents : 0, now);
				if (n == -ENODEV)
					return -ENODEV;
			}
			if (now < deadline - (deadline > spin_ns ? spin_ns : 0))
				continue;
		} else {
			if (deadline == UINT64_MAX)
				return 1;
			if (sched_sleep_until(wake) == -EINTR)
				continue;
		}
		if (spin_ns)
			sched_spin_until(deadline);
		uint64_t now = lt_mono_ns();

		deadline = sampler_tick(s, p, now);
		if (s->lost)
			return -ENODEV;
	}
	return 0;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct lt_device *dev = s->dev;
	struct lt_ring_producer p;
	sigset_t set;
	int r = 0;

	sigemptyset(&set);
	sigaddset(&set, SAMPLER_SIGNAL);
	thread_dev = dev;
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* "s:DEVICE" in top -H, perf and /proc/PID/task/ (15 characters at most). */
	char name[16];
	snprintf(name, sizeof(name), "s:%s", dev->name);
	pthread_setname_np(pthread_self(), name);
	/*
	 * The default 50 us timer slack lets the kernel fire our wake-up up to
	 * 50 us after the deadline (to batch timers): that would be most of
	 * each sample's lateness. Ask for exact wake-ups.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	lt_ring_producer_init(s->ring, s->lane, &p);
	/* Not "stopped" while the first open runs (it may be the one that hangs). */
	atomic_store(&dev->state, LT_DEVICE_OPENING);

	/* A device that cannot be opened, or goes away, is retried without stopping the daemon. */
	while (open_device(s, r == -ENODEV)) {
		r = run_device(s, &p);
		if (r == 1) {
			/* Nothing to poll or watch: park until stopped. */
			while (!stopping(s))
				pause();
		}
		if (dev->drv->close) {
			call_begin(s, SAMPLER_CALL_CLOSE, lt_mono_ns());
			dev->drv->close(dev);
			call_end(s);
		}
		if (r != -ENODEV)
			break;
		atomic_store(&dev->state, LT_DEVICE_FAILED);
		lt_device_log(dev, LOG_ERR, "device gone; reopening every %g s",
			      (double)open_retry_ns / 1e9);
		sched_sleep_until(lt_mono_ns() + open_retry_ns);
	}
	atomic_store(&dev->state, LT_DEVICE_STOPPED);
	return NULL;
}

void sampler_set_rt_priority(int prio)
{
	rt_priority = prio;
}

void sampler_set_spin(uint64_t ns)
{
	spin_ns = ns;
}

void sampler_set_open_retry(uint64_t ns)
{
	open_retry_ns = ns;
}

void sampler_set_stuck_min(uint64_t ns)
{
	stuck_min_ns = ns;
}

int sampler_start(struct sampler *s)
{
	unsigned n = s->dev->nmetrics;
	pthread_attr_t attr;
	int r;

	s->met = xcalloc(n ? n : 1, sizeof(*s->met));
	memset(&s->lat, 0, sizeof(s->lat)); /* the thread's own, as met's */
	atomic_store(&s->stop, false);
	atomic_store(&s->dev->stopping, false);
	atomic_store(&s->dev->stop_socket, -1);
	pthread_attr_init(&attr);
	if (rt_priority > 0) {
		struct sched_param sp = { .sched_priority = rt_priority };

		/* Set at creation, so that a missing CAP_SYS_NICE fails the start (EPERM). */
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
	}
	r = pthread_create(&s->thread, &attr, sampler_main, s);
	pthread_attr_destroy(&attr);
	if (r) {
		free(s->met);
		s->met = NULL;
		return -r;
	}
	s->started = true;
	return 0;
}

void sampler_request_stop(struct sampler *s)
{
	if (!s->started)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_release);
	atomic_store_explicit(&s->dev->stopping, true, memory_order_release);
	pthread_kill(s->thread, SAMPLER_SIGNAL);
}

void sampler_stop(struct sampler *s)
{
	if (!s->started)
		return;
	sampler_request_stop(s);
	/*
	 * The signal may land just before the thread enters its sleep and be
	 * missed; repeat it until the thread has gone (bounded by the join).
	 */
	for (int i = 0; i < 500; i++) {
		struct timespec ts;

		pthread_kill(s->thread, SAMPLER_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(s->thread, NULL, &ts) == 0) {
			s->started = false;
			break;
		}
	}
	if (s->started) {
		/* A driver read stuck for 5 s: wait for it rather than free under it. */
		lt_device_log(s->dev, LOG_WARNING, "sampler slow to stop; waiting for it");
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	free(s->met);
	s->met = NULL;
}
