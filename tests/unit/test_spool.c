/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The durable spool (src/core/spool.c): order, confirmed removal, limits,
 * restart recovery with torn and corrupt tails, a full disk. Each test works
 * in a fresh temporary folder of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "unit.h"
#include "util.h"

struct fixture {
	char dir[64];
	char path[96]; /* the spool folder, DIR/spool */
};

static void fx_init(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/lt-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/spool", f->dir);
}

static void fx_clean(struct fixture *f)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct spool *open_ok(struct fixture *f, const struct spool_conf *c, char *note,
			     size_t notelen)
{
	char err[256] = "", tmp[512];
	struct spool_conf def;
	struct spool *sp = NULL;

	if (!c) {
		spool_conf_defaults(&def);
		c = &def;
	}
	if (!note) {
		note = tmp;
		notelen = sizeof(tmp);
	}
	ck_assert_msg(spool_open(f->path, c, &sp, note, notelen, err, sizeof(err)) == 0, "%s", err);
	return sp;
}

/* Append batch @i: "batch I\n" repeated so that batches differ in size. */
static void put(struct spool *sp, unsigned i)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "batch %u %.*s\n", i, (int)(i % 50),
			 "xxxxxxxxxxxxxxxxx"
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

	ck_assert_int_eq(spool_append(sp, buf, (size_t)n, i + 1, lt_real_ns()), 0);
}

/* The oldest batch must be batch @i; confirm it. */
static void take(struct spool *sp, unsigned i)
{
	const void *data;
	size_t len;
	uint32_t count;
	char want[32];

	ck_assert_int_eq(spool_peek(sp, lt_real_ns(), &data, &len, &count), 0);
	snprintf(want, sizeof(want), "batch %u ", i);
	ck_assert_msg(len >= strlen(want) && !memcmp(data, want, strlen(want)), "want %s got %.*s",
		      want, (int)len, (const char *)data);
	ck_assert_uint_eq(count, i + 1);
	spool_pop(sp);
}

static void expect_empty(struct spool *sp)
{
	const void *data;
	size_t len;
	uint32_t count;

	ck_assert(spool_empty(sp));
	ck_assert_int_eq(spool_peek(sp, lt_real_ns(), &data, &len, &count), -ENOENT);
}

static unsigned count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strlen(de->d_name) > strlen(suffix) &&
		    !strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))
			n++;
	closedir(d);
	return n;
}

/* The path of the newest segment file. */
static void newest_seg(struct fixture *f, char *out, size_t len)
{
	DIR *d = opendir(f->path);
	struct dirent *de;
	char best[300] = "";

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".seg") && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	ck_assert_str_ne(best, "");
	snprintf(out, len, "%s/%s", f->path, best);
}

static off_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(batches_come_back_oldest_first_and_leave_when_confirmed)
{
	struct fixture f;
	struct spool *sp;
	struct spool_stats st;
	const void *data;
	size_t len;
	uint32_t count;

	fx_init(&f);
	sp = open_ok(&f, NULL, NULL, 0);
	expect_empty(sp);
	for (unsigned i = 0; i < 100; i++)
		put(sp, i);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.batches, 100);
	ck_assert_uint_eq(st.samples, 100 * 101 / 2);
	ck_assert_uint_ne(st.oldest_ns, 0);
	/* A peek without a pop hands the same batch again. */
	ck_assert_int_eq(spool_peek(sp, lt_real_ns(), &data, &len, &count), 0);
	take(sp, 0);
	for (unsigned i = 1; i < 100; i++)
		take(sp, i);
	expect_empty(sp);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.samples, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(count_files(f.path, ".seg"), 0);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(a_clean_close_keeps_the_rest_and_the_read_position)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp;
	struct spool_stats st;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.segment_max = 1024; /* several segments */
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 60; i++)
		put(sp, i);
	for (unsigned i = 0; i < 25; i++)
		take(sp, i);
	spool_close(sp);

	sp = open_ok(&f, &c, NULL, 0);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.batches, 35);
	ck_assert_uint_eq(st.recovered, st.samples);
	for (unsigned i = 25; i < 40; i++)
		take(sp, i);
	put(sp, 60);
	spool_close(sp);

	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 40; i <= 60; i++)
		take(sp, i);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(a_torn_tail_is_set_aside_and_the_rest_kept)
{
	struct fixture f;
	struct spool *sp;
	struct spool_stats st;
	char seg[512], note[512];
	off_t size;

	fx_init(&f);
	sp = open_ok(&f, NULL, NULL, 0);
	for (unsigned i = 0; i < 10; i++)
		put(sp, i);
	spool_close(sp);
	/* A crash in the middle of the last write: half of batch 9 is on disk. */
	newest_seg(&f, seg, sizeof(seg));
	size = file_size(seg);
	ck_assert_int_eq(truncate(seg, size - 20), 0);

	sp = open_ok(&f, NULL, note, sizeof(note));
	ck_assert_msg(strstr(note, "torn record") && strstr(note, ".bad"), "note: %s", note);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.batches, 9);
	ck_assert_uint_eq(st.set_aside_bytes,
			  (uint64_t)(SPOOL_HDR_LEN + strlen("batch 9 ") + 9 + 1 - 20));
	ck_assert_uint_eq(count_files(f.path, ".bad"), 1);
	for (unsigned i = 0; i < 9; i++)
		take(sp, i);
	expect_empty(sp);
	/* New batches after the recovery come back too. */
	put(sp, 42);
	take(sp, 42);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(a_corrupt_record_is_set_aside_with_what_follows_in_its_segment)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp;
	struct spool_stats st;
	char seg[512], note[512], name[40];
	int fd;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.segment_max = 512;
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 40; i++)
		put(sp, i);
	spool_close(sp);
	/* Flip a payload byte of the second record of the first segment. */
	snprintf(name, sizeof(name), "%016x.seg", 1); /* the first one made */
	snprintf(seg, sizeof(seg), "%s/%s", f.path, name);
	uint64_t first = SPOOL_HDR_LEN + strlen("batch 0 ") + 1;
	fd = open(seg, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "Y", 1, (off_t)(first + SPOOL_HDR_LEN + 2)), 1);
	close(fd);

	sp = open_ok(&f, &c, note, sizeof(note));
	ck_assert_msg(strstr(note, "corrupt record") && strstr(note, name), "note: %s", note);
	spool_get_stats(sp, &st);
	ck_assert_uint_gt(st.set_aside_bytes, 0);
	/* Batch 0 is kept, the rest of that segment is set aside, later segments are kept. */
	take(sp, 0);
	const void *data;
	size_t len;
	uint32_t count;
	ck_assert_int_eq(spool_peek(sp, lt_real_ns(), &data, &len, &count), 0);
	unsigned next;
	ck_assert_int_eq(sscanf(data, "batch %u", &next), 1);
	ck_assert_uint_gt(next, 1);
	for (unsigned i = next; i < 40; i++)
		take(sp, i);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(the_size_cap_evicts_the_oldest_segments_and_counts_them)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp;
	struct spool_stats st;
	const void *data;
	size_t len;
	uint32_t count;
	unsigned first;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.size_max = 8192;
	c.segment_max = 1024;
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 1000; i++)
		put(sp, i);
	spool_get_stats(sp, &st);
	ck_assert_uint_le(st.bytes, 8192);
	ck_assert_uint_gt(st.evicted_batches, 0);
	/* Nothing is lost uncounted: in the spool + evicted = appended. */
	ck_assert_uint_eq(st.batches + st.evicted_batches, 1000);
	ck_assert_uint_eq(st.samples + st.evicted_samples, 1000 * 1001 / 2);
	/* What is left is the newest, in order. */
	ck_assert_int_eq(spool_peek(sp, lt_real_ns(), &data, &len, &count), 0);
	ck_assert_int_eq(sscanf(data, "batch %u", &first), 1);
	ck_assert_uint_eq(first, 1000 - st.batches);
	for (unsigned i = first; i < 1000; i++)
		take(sp, i);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(batches_older_than_max_age_are_evicted_when_read)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp;
	struct spool_stats st;
	const void *data;
	size_t len;
	uint32_t count;
	uint64_t now = lt_real_ns();

	fx_init(&f);
	spool_conf_defaults(&c);
	c.max_age_ns = 60 * LT_NSEC_PER_SEC;
	sp = open_ok(&f, &c, NULL, 0);
	ck_assert_int_eq(spool_append(sp, "old 1\n", 6, 1, now - 120 * LT_NSEC_PER_SEC), 0);
	ck_assert_int_eq(spool_append(sp, "old 2\n", 6, 2, now - 61 * LT_NSEC_PER_SEC), 0);
	ck_assert_int_eq(spool_append(sp, "new\n", 4, 3, now - 1 * LT_NSEC_PER_SEC), 0);
	ck_assert_int_eq(spool_peek(sp, now, &data, &len, &count), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(count, 3);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.evicted_batches, 2);
	ck_assert_uint_eq(st.evicted_samples, 3);
	spool_pop(sp);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

/*
 * A file system that fills up, as RLIMIT_FSIZE makes it look: a write that
 * crosses the limit is cut short, the next ones fail (EFBIG here, ENOSPC on
 * a full disk: the same path).
 */
START_TEST(a_full_disk_is_counted_and_survived)
{
	struct fixture f;
	struct spool *sp;
	struct spool_stats st;
	struct rlimit rl, lim;
	char seg[512], buf[64], note[256];
	unsigned ok = 0, failed = 0;

	fx_init(&f);
	sp = open_ok(&f, NULL, NULL, 0);
	for (unsigned i = 0; i < 10; i++)
		put(sp, i);
	newest_seg(&f, seg, sizeof(seg));
	off_t before = file_size(seg);

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	lim = rl;
	lim.rlim_cur = (rlim_t)before + 100; /* room for one batch and a part of the next */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (unsigned i = 10; i < 20; i++) {
		int n = snprintf(buf, sizeof(buf), "batch %u %.*s\n", i, (int)(i % 50),
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		int r = spool_append(sp, buf, (size_t)n, i + 1, lt_real_ns());

		if (r == 0) {
			ck_assert_uint_eq(failed, 0); /* in order: the first ones fit */
			ok++;
		} else {
			ck_assert_msg(r == -ENOSPC || r == -EFBIG, "%d", r);
			failed++;
		}
	}
	ck_assert_uint_ge(ok, 1);
	ck_assert_uint_ge(failed, 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.write_errors, failed);
	ck_assert_uint_eq(st.batches, 10 + ok);
	/* The partial record was cut off: the file ends on a whole record. */
	ck_assert_uint_eq((uint64_t)file_size(seg), st.bytes);

	/* Space comes back: appends work again, and everything reads back intact. */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	put(sp, 100);
	spool_close(sp);
	sp = open_ok(&f, NULL, note, sizeof(note));
	ck_assert_str_eq(note, "");
	for (unsigned i = 0; i < 10 + ok; i++)
		take(sp, i);
	take(sp, 100);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(records_parse_only_when_whole_and_intact)
{
	uint8_t buf[SPOOL_HDR_LEN + 16];
	struct spool_rec rec = { 0 };

	spool_rec_header(buf, "0123456789abcdef", 16, 7, 99);
	memcpy(buf + SPOOL_HDR_LEN, "0123456789abcdef", 16);
	ck_assert_int_eq(spool_rec_parse(buf, sizeof(buf), &rec), (ssize_t)sizeof(buf));
	ck_assert_uint_eq(rec.len, 16);
	ck_assert_uint_eq(rec.count, 7);
	ck_assert_uint_eq(rec.ts_ns, 99);
	for (size_t n = 0; n < sizeof(buf); n++)
		ck_assert_int_eq(spool_rec_parse(buf, n, &rec), 0);
	buf[SPOOL_HDR_LEN + 3] ^= 1;
	ck_assert_int_eq(spool_rec_parse(buf, sizeof(buf), &rec), -EBADMSG);
	buf[SPOOL_HDR_LEN + 3] ^= 1;
	buf[8] ^= 1; /* the count is covered by the CRC too */
	ck_assert_int_eq(spool_rec_parse(buf, sizeof(buf), &rec), -EBADMSG);
	buf[8] ^= 1;
	buf[0] = 'X';
	ck_assert_int_eq(spool_rec_parse(buf, 2, &rec), -EBADMSG);
}
END_TEST

START_TEST(a_folder_of_others_is_refused)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp = NULL;
	char err[256] = "", note[64];

	fx_init(&f);
	spool_conf_defaults(&c);
	ck_assert_int_eq(mkdir(f.path, 0777), 0);
	ck_assert_int_eq(chmod(f.path, 0777), 0);
	ck_assert_int_eq(spool_open(f.path, &c, &sp, note, sizeof(note), err, sizeof(err)), -EPERM);
	ck_assert_ptr_null(sp);
	ck_assert_msg(strstr(err, f.path), "%s", err);
	fx_clean(&f);
}
END_TEST

/* Two instances of a DCC (a reload) never write one spool at once. */
START_TEST(a_second_open_waits_for_the_first_close_and_recovers_its_batches)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *a, *b = NULL;
	struct spool_stats st;
	char err[256] = "", note[64];

	fx_init(&f);
	spool_conf_defaults(&c);
	a = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 5; i++)
		put(a, i);
	ck_assert_int_eq(spool_open(f.path, &c, &b, note, sizeof(note), err, sizeof(err)), -EBUSY);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(err, "in use"), "%s", err);
	put(a, 5);
	spool_close(a);
	b = open_ok(&f, &c, NULL, 0);
	spool_get_stats(b, &st);
	ck_assert_uint_eq(st.batches, 6);
	ck_assert_uint_eq(st.recovered, 21);
	for (unsigned i = 0; i < 6; i++)
		take(b, i);
	expect_empty(b);
	spool_close(b);
	fx_clean(&f);
}
END_TEST

/* ---- reading ahead of confirmation ---------------------------------------- */

/* The next batch read ahead must be batch @i. */
static void read_is(struct spool *sp, unsigned i)
{
	const void *data;
	size_t len;
	uint32_t count;
	char want[32];

	ck_assert_int_eq(spool_read(sp, lt_real_ns(), &data, &len, &count), 0);
	snprintf(want, sizeof(want), "batch %u ", i);
	ck_assert_msg(len >= strlen(want) && !memcmp(data, want, strlen(want)), "want %s got %.*s",
		      want, (int)len, (const char *)data);
	ck_assert_uint_eq(count, i + 1);
}

static void read_none(struct spool *sp)
{
	const void *data;
	size_t len;
	uint32_t count;

	ck_assert(!spool_unread(sp));
	ck_assert_int_eq(spool_read(sp, lt_real_ns(), &data, &len, &count), -ENOENT);
}

START_TEST(reading_ahead_keeps_batches_until_confirmed_in_order)
{
	struct fixture f;
	struct spool_conf c;
	struct spool_stats st;
	struct spool *sp;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.segment_max = 1024; /* the read position crosses segments */
	sp = open_ok(&f, &c, NULL, 0);
	read_none(sp);
	for (unsigned i = 0; i < 60; i++)
		put(sp, i);
	ck_assert(count_files(f.path, ".seg") > 3);
	/* 40 in flight: all still in the spool and in its counts. */
	for (unsigned i = 0; i < 40; i++)
		read_is(sp, i);
	ck_assert_uint_eq(spool_inflight(sp), 40);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.batches, 60);
	/* Confirmations leave in the order read, and say how many samples left. */
	for (unsigned i = 0; i < 10; i++)
		ck_assert_uint_eq(spool_confirm(sp), i + 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.batches, 50);
	ck_assert_uint_eq(st.samples, 60 * 61 / 2 - 10 * 11 / 2);
	/* What is appended while reading comes after, in order. */
	put(sp, 60);
	for (unsigned i = 40; i <= 60; i++)
		read_is(sp, i);
	read_none(sp);
	ck_assert_uint_eq(spool_inflight(sp), 51);
	while (spool_inflight(sp))
		spool_confirm(sp);
	ck_assert_uint_eq(spool_confirm(sp), 0); /* nothing in flight: nothing leaves */
	expect_empty(sp);
	ck_assert_uint_eq(count_files(f.path, ".seg"), 0);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(a_rewind_reads_again_what_was_not_confirmed)
{
	struct fixture f;
	struct spool_conf c;
	struct spool *sp;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.segment_max = 1024;
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 30; i++)
		put(sp, i);
	for (unsigned i = 0; i < 25; i++)
		read_is(sp, i);
	for (unsigned i = 0; i < 5; i++)
		spool_confirm(sp);
	/* The connection is lost: 5..24 were in flight, they come again. */
	spool_rewind(sp);
	ck_assert_uint_eq(spool_inflight(sp), 0);
	ck_assert(spool_unread(sp));
	for (unsigned i = 5; i < 12; i++)
		read_is(sp, i);
	spool_confirm(sp);
	spool_confirm(sp);
	/* A clean close saves the confirmed position only: 7 comes first next time. */
	spool_close(sp);
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 7; i < 30; i++)
		read_is(sp, i);
	read_none(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(an_eviction_in_flight_makes_its_confirmations_count_nothing)
{
	struct fixture f;
	struct spool_conf c;
	struct spool_stats st;
	struct spool *sp;
	unsigned first, n = 0;
	const void *data;
	size_t len;
	uint32_t count;

	fx_init(&f);
	spool_conf_defaults(&c);
	c.size_max = 8192;
	c.segment_max = 1024;
	sp = open_ok(&f, &c, NULL, 0);
	for (unsigned i = 0; i < 20; i++)
		put(sp, i);
	for (unsigned i = 0; i < 5; i++)
		read_is(sp, i);
	/* Past the cap: the oldest segments go, with batches in flight. */
	for (unsigned i = 20; i < 200; i++)
		put(sp, i);
	spool_get_stats(sp, &st);
	ck_assert_uint_gt(st.evicted_batches, 5);
	ck_assert_uint_le(st.bytes, 8192);
	/* The 5 confirmations still due count nothing... */
	for (unsigned i = 0; i < 5; i++)
		ck_assert_uint_eq(spool_confirm(sp), 0);
	/* ...and reading goes on at the oldest batch kept, in order, to the newest. */
	ck_assert_int_eq(spool_read(sp, lt_real_ns(), &data, &len, &count), 0);
	ck_assert_int_eq(sscanf(data, "batch %u ", &first), 1);
	ck_assert_uint_eq(count, first + 1);
	ck_assert_uint_eq(spool_confirm(sp), first + 1);
	for (unsigned i = first + 1; i < 200; i++, n++) {
		read_is(sp, i);
		ck_assert_uint_eq(spool_confirm(sp), i + 1);
	}
	ck_assert_uint_eq(n + 1, st.batches);
	expect_empty(sp);
	spool_close(sp);
	fx_clean(&f);
}
END_TEST

START_TEST(spool_options_parse_and_refuse)
{
	struct spool_conf c;
	char err[256];
	int mode = SPOOL_OFF;

	spool_conf_defaults(&c);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(mode, SPOOL_AUTO);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(mode, SPOOL_ON);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 0, "spool", "auto", err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool", "maybe", err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "auto, yes or no"));
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool_size", "1M", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.size_max, 1u << 20);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool_size", "1k", err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool_fsync", "250ms", err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.fsync_ns, 250000000u);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "spool_max_age", "1h", err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.max_age_ns, 3600ull * 1000000000u);
	ck_assert_int_eq(spool_conf_option(&c, &mode, 1, "host", "x", err, sizeof(err)), -ENOENT);
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_test(tc, batches_come_back_oldest_first_and_leave_when_confirmed);
	tcase_add_test(tc, a_clean_close_keeps_the_rest_and_the_read_position);
	tcase_add_test(tc, a_torn_tail_is_set_aside_and_the_rest_kept);
	tcase_add_test(tc, a_corrupt_record_is_set_aside_with_what_follows_in_its_segment);
	tcase_add_test(tc, the_size_cap_evicts_the_oldest_segments_and_counts_them);
	tcase_add_test(tc, batches_older_than_max_age_are_evicted_when_read);
	tcase_add_test(tc, a_full_disk_is_counted_and_survived);
	tcase_add_test(tc, records_parse_only_when_whole_and_intact);
	tcase_add_test(tc, a_folder_of_others_is_refused);
	tcase_add_test(tc, a_second_open_waits_for_the_first_close_and_recovers_its_batches);
	tcase_add_test(tc, reading_ahead_keeps_batches_until_confirmed_in_order);
	tcase_add_test(tc, a_rewind_reads_again_what_was_not_confirmed);
	tcase_add_test(tc, an_eviction_in_flight_makes_its_confirmations_count_nothing);
	tcase_add_test(tc, spool_options_parse_and_refuse);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(spool_suite)
