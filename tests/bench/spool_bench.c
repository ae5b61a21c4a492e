/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * make bench BENCH=spool (issue 13): the two candidate stores of the durable
 * spool, written as the Graphite DCC would write them: batches of carbon
 * lines offered at a fixed rate (1M samples/s by default, paced every
 * millisecond), made durable every second, then replayed oldest first.
 *
 *   log          liotad's spool (src/core/spool.c): one writev() per batch,
 *                fdatasync every second;
 *   sqlite       SQLite in WAL mode, one INSERT transaction per batch
 *                (synchronous=OFF), the commit closing each second with
 *                synchronous=FULL (the WAL is fsync'd then): the same
 *                durability as the log (a process crash loses nothing,
 *                power loss at most a second);
 *   sqlite-tick  the same with one transaction per millisecond tick (a
 *                batch of batches: what a caller could do to help SQLite).
 *
 * Per run: samples/s achieved on the write path, CPU (user+system) per
 * sample written, bytes on disk per sample (allocated blocks of every file
 * in the folder after the write phase), then the replay: samples/s and CPU
 * per sample to read everything back oldest first and remove it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

struct opts {
	const char *store;
	const char *dir;
	double seconds;
	uint64_t rate;
	unsigned batch;
};

struct result {
	double write_rate, write_cpu_ns, bytes_per_sample, replay_rate, replay_cpu_ns;
	uint64_t samples;
};

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * LT_NSEC_PER_SEC +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static uint64_t disk_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;
	char path[4096];
	struct stat st;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* One batch of @n carbon lines, different values each time, like a publisher's. */
static size_t make_batch(char *buf, size_t len, unsigned n, uint64_t seq)
{
	size_t pos = 0;

	for (unsigned i = 0; i < n; i++)
		pos += (size_t)snprintf(buf + pos, len - pos,
					"liotad.gw-0001.bench.m%03u %" PRIu64 ".%02u %" PRIu64 "\n",
					(unsigned)(seq % 100), seq * 7 % 100000, i % 100,
					1733400000 + seq / 10000);
	return pos;
}

/* ---- the stores ---------------------------------------------------------- */

struct store {
	struct spool *sp;
	sqlite3 *db;
	sqlite3_stmt *ins;
	int tick_tx;   /* sqlite-tick: a transaction per tick */
	int sync_next; /* sqlite: the next commit is the durable one */
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "spool_bench: %s: %s\n", what, why);
	exit(1);
}

static void sq(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : "?");
}

static void store_open(struct store *s, const struct opts *o)
{
	char path[4096], err[512], note[512];

	memset(s, 0, sizeof(*s));
	if (!strcmp(o->store, "log")) {
		struct spool_conf c;

		spool_conf_defaults(&c);
		c.size_max = 1ull << 40; /* no eviction in the benchmark */
		if (spool_open(o->dir, &c, &s->sp, note, sizeof(note), err, sizeof(err)) < 0)
			die(o->dir, err);
		return;
	}
	mkdir(o->dir, 0700);
	snprintf(path, sizeof(path), "%s/spool.db", o->dir);
	if (sqlite3_open(path, &s->db) != SQLITE_OK)
		die(path, sqlite3_errmsg(s->db));
	sq(s->db, "PRAGMA journal_mode=WAL");
	sq(s->db, "PRAGMA synchronous=OFF");
	sq(s->db, "CREATE TABLE IF NOT EXISTS spool(id INTEGER PRIMARY KEY, ts INTEGER, "
		  "count INTEGER, data BLOB)");
	if (sqlite3_prepare_v2(s->db, "INSERT INTO spool(ts, count, data) VALUES (?, ?, ?)", -1,
			       &s->ins, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(s->db));
	s->tick_tx = !strcmp(o->store, "sqlite-tick");
}

static void store_append(struct store *s, const char *buf, size_t len, unsigned n)
{
	if (s->sp) {
		int r = spool_append(s->sp, buf, len, n, lt_real_ns());

		if (r < 0)
			die("spool_append", strerror(-r));
		return;
	}
	sqlite3_bind_int64(s->ins, 1, (sqlite3_int64)lt_real_ns());
	sqlite3_bind_int(s->ins, 2, (int)n);
	sqlite3_bind_blob(s->ins, 3, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(s->ins) != SQLITE_DONE)
		die("insert", sqlite3_errmsg(s->db));
	sqlite3_reset(s->ins);
	if (s->sync_next && !s->tick_tx) {
		sq(s->db, "PRAGMA synchronous=OFF");
		s->sync_next = 0;
	}
}

/* The end of a tick; @durable: a second has passed, make it all durable. */
static void store_tick(struct store *s, int begin, int durable)
{
	if (s->sp) {
		if (!begin && durable)
			spool_sync(s->sp, lt_mono_ns(), 1);
		return;
	}
	if (begin) {
		if (s->tick_tx && s->sync_next)
			sq(s->db, "PRAGMA synchronous=FULL"); /* not allowed inside a transaction */
		if (s->tick_tx)
			sq(s->db, "BEGIN");
		return;
	}
	if (!s->tick_tx) {
		/* The next batch's own commit is the one that fsyncs the WAL. */
		if (durable) {
			sq(s->db, "PRAGMA synchronous=FULL");
			s->sync_next = 1;
		}
		return;
	}
	sq(s->db, "COMMIT");
	if (s->sync_next) {
		sq(s->db, "PRAGMA synchronous=OFF");
		s->sync_next = 0;
	}
	/* The next tick's commit fsyncs the WAL: a millisecond later. */
	if (durable)
		s->sync_next = 1;
}

/* Read everything back oldest first, removing it; returns the samples read. */
static uint64_t store_replay(struct store *s)
{
	uint64_t samples = 0;

	if (s->sp) {
		const void *data;
		size_t len;
		uint32_t count;
		volatile char sink = 0;

		while (spool_peek(s->sp, lt_real_ns(), &data, &len, &count) == 0) {
			sink ^= ((const char *)data)[len - 1];
			samples += count;
			spool_pop(s->sp);
		}
		spool_sync(s->sp, lt_mono_ns(), 1);
		return samples;
	}
	sqlite3_stmt *sel, *del;
	if (sqlite3_prepare_v2(s->db, "SELECT id, count, data FROM spool ORDER BY id LIMIT 256", -1,
			       &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM spool WHERE id <= ?", -1, &del, NULL) !=
		    SQLITE_OK)
		die("prepare", sqlite3_errmsg(s->db));
	for (;;) {
		sqlite3_int64 last = -1;
		volatile char sink = 0;

		while (sqlite3_step(sel) == SQLITE_ROW) {
			const char *data = sqlite3_column_blob(sel, 2);
			int len = sqlite3_column_bytes(sel, 2);

			last = sqlite3_column_int64(sel, 0);
			samples += (uint64_t)sqlite3_column_int(sel, 1);
			if (len)
				sink ^= data[len - 1];
		}
		sqlite3_reset(sel);
		if (last < 0)
			break;
		sqlite3_bind_int64(del, 1, last);
		if (sqlite3_step(del) != SQLITE_DONE)
			die("delete", sqlite3_errmsg(s->db));
		sqlite3_reset(del);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	return samples;
}

static void store_close(struct store *s)
{
	spool_close(s->sp);
	if (s->db) {
		sqlite3_finalize(s->ins);
		sqlite3_close(s->db);
	}
}

/* ---- one run --------------------------------------------------------------- */

static void run(const struct opts *o, struct result *res)
{
	uint64_t per_tick = o->rate / 1000, batches_per_tick = (per_tick + o->batch - 1) / o->batch;
	uint64_t ticks = (uint64_t)(o->seconds * 1000), seq = 0, samples = 0;
	size_t cap = (size_t)o->batch * 80;
	char *buf = xmalloc(cap);
	struct store s;
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", o->dir);
	if (system(cmd) != 0)
		die(o->dir, "cannot remove");
	store_open(&s, o);

	uint64_t t0 = lt_mono_ns(), c0 = cpu_ns(), next_sync = t0 + LT_NSEC_PER_SEC;
	struct timespec ts;
	for (uint64_t t = 0; t < ticks; t++) {
		uint64_t now;

		store_tick(&s, 1, 0);
		for (uint64_t b = 0; b < batches_per_tick; b++) {
			size_t len = make_batch(buf, cap, o->batch, seq++);

			store_append(&s, buf, len, o->batch);
			samples += o->batch;
		}
		now = lt_mono_ns();
		store_tick(&s, 0, now >= next_sync);
		if (now >= next_sync)
			next_sync += LT_NSEC_PER_SEC;
		/* Paced: wait for the next millisecond unless behind. */
		ts = lt_ns_ts(t0 + (t + 1) * 1000000ull);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	store_tick(&s, 1, 0);
	store_tick(&s, 0, 1);
	uint64_t t1 = lt_mono_ns(), c1 = cpu_ns();
	uint64_t disk = disk_bytes(o->dir);
	/* Cold replay, as after a restart: from the files, not this process's caches. */
	store_close(&s);
	store_open(&s, o);
	uint64_t t2 = lt_mono_ns(), c2 = cpu_ns();
	uint64_t back = store_replay(&s);
	uint64_t t3 = lt_mono_ns(), c3 = cpu_ns();
	store_close(&s);
	if (back != samples) {
		fprintf(stderr,
			"spool_bench: %s: wrote %" PRIu64 " samples, read back %" PRIu64 "\n",
			o->store, samples, back);
		exit(1);
	}
	/* Time for the samples generated is part of the write path (the DCC encodes them too). */
	res->samples = samples;
	res->write_rate = (double)samples / ((double)(t1 - t0) / 1e9);
	res->write_cpu_ns = (double)(c1 - c0) / (double)samples;
	res->bytes_per_sample = (double)disk / (double)samples;
	res->replay_rate = (double)back / ((double)(t3 - t2) / 1e9);
	res->replay_cpu_ns = (double)(c3 - c2) / (double)back;
	if (system(cmd) != 0)
		die(o->dir, "cannot remove");
	free(buf);
}

/* The encoding alone, to subtract from the write path's CPU per sample. */
static double encode_cpu_ns(const struct opts *o)
{
	size_t cap = (size_t)o->batch * 80;
	char *buf = xmalloc(cap);
	uint64_t n = 0, c0 = cpu_ns();
	volatile size_t sink = 0;

	for (uint64_t seq = 0; n < 5000000; seq++, n += o->batch)
		sink += make_batch(buf, cap, o->batch, seq);
	free(buf);
	return (double)(cpu_ns() - c0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct opts o = { .store = "log",
			  .dir = "spool-bench.tmp",
			  .seconds = 5,
			  .rate = 1000000,
			  .batch = 100 };
	int runs = 3, c;

	while ((c = getopt(argc, argv, "s:d:t:r:b:n:h")) != -1) {
		switch (c) {
		case 's':
			o.store = optarg;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 't':
			o.seconds = atof(optarg);
			break;
		case 'r':
			o.rate = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			o.batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		default:
			printf("usage: spool_bench [-s log|sqlite|sqlite-tick] [-d DIR] [-t "
			       "SECONDS] "
			       "[-r SAMPLES/S] [-b BATCH] [-n RUNS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (strcmp(o.store, "log") && strcmp(o.store, "sqlite") && strcmp(o.store, "sqlite-tick"))
		die(o.store, "unknown store");
	if (runs < 1 || runs > 99 || !o.batch || o.rate < 1000 || o.seconds <= 0)
		die("options", "out of range");

	double wr[99], wc[99], bp[99], rr[99], rc[99], enc = encode_cpu_ns(&o);
	for (int i = 0; i < runs; i++) {
		struct result r;

		run(&o, &r);
		wr[i] = r.write_rate;
		wc[i] = r.write_cpu_ns;
		bp[i] = r.bytes_per_sample;
		rr[i] = r.replay_rate;
		rc[i] = r.replay_cpu_ns;
		printf("  %-11s run %d: %" PRIu64
		       " samples, write %.0f samples/s %.0f ns CPU/sample "
		       "%.1f B/sample; replay %.0f samples/s %.0f ns CPU/sample\n",
		       o.store, i + 1, r.samples, r.write_rate, r.write_cpu_ns, r.bytes_per_sample,
		       r.replay_rate, r.replay_cpu_ns);
	}
	double mwc = median(wc, runs);
	printf("%-11s median of %d: write %.0f samples/s (offered %" PRIu64 "), %.0f ns CPU/sample "
	       "(%.0f of it the store, %.0f encoding), %.1f B on disk/sample; replay %.0f "
	       "samples/s, %.0f ns CPU/sample\n",
	       o.store, runs, median(wr, runs), o.rate, mwc, mwc - enc, enc, median(bp, runs),
	       median(rr, runs), median(rc, runs));
	return 0;
}
