/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the daemon's small helpers: the SDK's value parsers (tcase "parse"). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <liota/liota.h>

#include "control.h"
#include "log.h"
#include "model.h"
#include "trust.h"
#include "unit.h"
#include "util.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* ---- parse: lt_parse_uint / double / duration / bool --------------------- */

static uint64_t uint_ok(const char *s, uint64_t min, uint64_t max)
{
	char err[128] = "";
	uint64_t v = 12345;

	ck_assert_msg(lt_parse_uint(s, min, max, &v, err, sizeof(err)) == 0, "'%s': %s", s, err);
	return v;
}

/* A rejected value gives -EINVAL, @msg, and leaves the output alone. */
static void uint_bad(const char *s, uint64_t min, uint64_t max, const char *msg)
{
	char err[128] = "";
	uint64_t v = 12345;

	ck_assert_int_eq(lt_parse_uint(s, min, max, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, msg);
	ck_assert_uint_eq(v, 12345);
}

START_TEST(parse_uint_accepts_whole_numbers_and_binary_suffixes)
{
	ck_assert_uint_eq(uint_ok("0", 0, 10), 0);
	ck_assert_uint_eq(uint_ok("42", 0, 100), 42);
	ck_assert_uint_eq(uint_ok("007", 0, 100), 7);
	ck_assert_uint_eq(uint_ok("4k", 0, UINT64_MAX), 4096);
	ck_assert_uint_eq(uint_ok("2M", 0, UINT64_MAX), 2u << 20);
	ck_assert_uint_eq(uint_ok("3G", 0, UINT64_MAX), 3ull << 30);
	ck_assert_uint_eq(uint_ok("18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
	/* the limits themselves are in range */
	ck_assert_uint_eq(uint_ok("1", 1, 10000), 1);
	ck_assert_uint_eq(uint_ok("10000", 1, 10000), 10000);
}
END_TEST

START_TEST(parse_uint_rejects_what_is_not_a_whole_number)
{
	uint_bad("5x", 0, 100, "'5x' is not a whole number");
	uint_bad("", 0, 100, "'' is not a whole number");
	uint_bad("-1", 0, 100, "'-1' is not a whole number");
	uint_bad("+1", 0, 100, "'+1' is not a whole number");
	uint_bad(" 1", 0, 100, "' 1' is not a whole number");
	uint_bad("1.5", 0, 100, "'1.5' is not a whole number");
	uint_bad("0x10", 0, 100, "'0x10' is not a whole number");
	uint_bad("4K", 0, 100000, "'4K' is not a whole number");
	uint_bad("4kk", 0, 100000, "'4kk' is not a whole number");
	uint_bad("4 k", 0, 100000, "'4 k' is not a whole number");
	uint_bad("k", 0, 100000, "'k' is not a whole number");
}
END_TEST

START_TEST(parse_uint_rejects_values_out_of_range)
{
	uint_bad("0", 1, 10000, "0 is out of range (1..10000)");
	uint_bad("10001", 1, 10000, "10001 is out of range (1..10000)");
	uint_bad("10k", 1, 10000, "10k is out of range (1..10000)");
	uint_bad("18446744073709551616", 0, UINT64_MAX,
		 "18446744073709551616 is out of range (0..18446744073709551615)");
	uint_bad("17179869184G", 0, UINT64_MAX,
		 "17179869184G is out of range (0..18446744073709551615)");
}
END_TEST

START_TEST(parse_uint_accepts_a_null_error_buffer)
{
	uint64_t v = 0;

	ck_assert_int_eq(lt_parse_uint("x", 0, 1, &v, NULL, 0), -EINVAL);
}
END_TEST

static double double_ok(const char *s)
{
	char err[128] = "";
	double v = -1;

	ck_assert_msg(lt_parse_double(s, &v, err, sizeof(err)) == 0, "'%s': %s", s, err);
	return v;
}

static void double_bad(const char *s, const char *msg)
{
	char err[128] = "";
	double v = 123;

	ck_assert_int_eq(lt_parse_double(s, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, msg);
	ck_assert_double_eq(v, 123);
}

START_TEST(parse_double_accepts_finite_numbers)
{
	ck_assert_double_eq(double_ok("1.5"), 1.5);
	ck_assert_double_eq(double_ok("-3e2"), -300);
	ck_assert_double_eq(double_ok("0"), 0);
	ck_assert_double_eq(double_ok("+7"), 7);
	ck_assert_double_eq(double_ok(".25"), 0.25);
	ck_assert_double_eq(double_ok("1.7976931348623157e308"), 1.7976931348623157e308);
}
END_TEST

START_TEST(parse_double_rejects_junk_and_non_finite_values)
{
	double_bad("abc", "'abc' is not a number");
	double_bad("", "'' is not a number");
	double_bad(" 1", "' 1' is not a number");
	double_bad("1.5x", "'1.5x' is not a number");
	double_bad("1,5", "'1,5' is not a number");
	double_bad("nan", "'nan' is not a finite number");
	double_bad("inf", "'inf' is not a finite number");
	double_bad("-Infinity", "'-Infinity' is not a finite number");
	double_bad("1e999", "'1e999' is not a finite number");
}
END_TEST

static uint64_t duration_ok(const char *s)
{
	char err[128] = "";
	uint64_t v = 1;

	ck_assert_msg(lt_parse_duration(s, &v, err, sizeof(err)) == 0, "'%s': %s", s, err);
	return v;
}

static void duration_bad(const char *s, const char *msg)
{
	char err[128] = "";
	uint64_t v = 12345;

	ck_assert_int_eq(lt_parse_duration(s, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, msg);
	ck_assert_uint_eq(v, 12345);
}

START_TEST(parse_duration_accepts_every_unit)
{
	ck_assert_uint_eq(duration_ok("5ns"), 5);
	ck_assert_uint_eq(duration_ok("10us"), 10000);
	ck_assert_uint_eq(duration_ok("100ms"), 100000000);
	ck_assert_uint_eq(duration_ok("2s"), 2000000000);
	ck_assert_uint_eq(duration_ok("2m"), 120000000000);
	ck_assert_uint_eq(duration_ok("1h"), 3600000000000);
	ck_assert_uint_eq(duration_ok("0"), 0);
	ck_assert_uint_eq(duration_ok("0ms"), 0);
}
END_TEST

START_TEST(parse_duration_takes_a_bare_number_as_seconds)
{
	ck_assert_uint_eq(duration_ok("10"), 10000000000);
	ck_assert_uint_eq(duration_ok("0.5"), 500000000);
}
END_TEST

START_TEST(parse_duration_accepts_fractions_to_the_nanosecond)
{
	ck_assert_uint_eq(duration_ok("1.5s"), 1500000000);
	ck_assert_uint_eq(duration_ok("0.3s"), 300000000);
	ck_assert_uint_eq(duration_ok(".25ms"), 250000);
	ck_assert_uint_eq(duration_ok("0.1h"), 360000000000);
	ck_assert_uint_eq(duration_ok("1.000000001s"), 1000000001);
	/* rounded to the nearest nanosecond */
	ck_assert_uint_eq(duration_ok("1.5ns"), 2);
	ck_assert_uint_eq(duration_ok("0.4ns"), 0);
	/* a space between the number and its unit is fine */
	ck_assert_uint_eq(duration_ok("10 ms"), 10000000);
}
END_TEST

START_TEST(parse_duration_rejects_bad_numbers_and_units)
{
	static const char *const bad[] = { "10x",   "",    "s",     "-1s",  "+1s",
					   "1.",    "1.s", "1e3s",  "10 ",  "1sms",
					   "1 s s", "10S", "1..5s", "ms10", "1min" };
	char msg[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "bad duration '%s' (use a number with ns, us, ms, s, m or h)", bad[i]);
		duration_bad(bad[i], msg);
	}
}
END_TEST

START_TEST(parse_duration_rejects_what_does_not_fit_in_64_bits)
{
	/* 2^64 ns is about 5124095.58 h */
	ck_assert_uint_eq(duration_ok("18446744073709551615ns"), UINT64_MAX);
	ck_assert_uint_eq(duration_ok("5124095h"), 5124095 * 3600000000000ull);
	duration_bad("5124096h", "duration '5124096h' is too long");
	duration_bad("18446744073709551616ns", "duration '18446744073709551616ns' is too long");
	duration_bad("99999999999999999999999", "duration '99999999999999999999999' is too long");
	duration_bad("18446744073709551615.9ns", "duration '18446744073709551615.9ns' is too long");
}
END_TEST

START_TEST(parse_bool_accepts_the_usual_words)
{
	static const struct {
		const char *s;
		int v;
	} good[] = { { "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 }, { "on", 1 },
		     { "off", 0 }, { "1", 1 },  { "0", 0 },    { "Yes", 1 },   { "FALSE", 0 } };
	char err[128] = "";

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int v = -1;

		ck_assert_msg(lt_parse_bool(good[i].s, &v, err, sizeof(err)) == 0, "%s", good[i].s);
		ck_assert_int_eq(v, good[i].v);
	}
}
END_TEST

START_TEST(parse_bool_rejects_anything_else)
{
	static const char *const bad[] = { "maybe", "", "2", "y", "yess", " yes" };
	char err[128], msg[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int v = -1;

		ck_assert_int_eq(lt_parse_bool(bad[i], &v, err, sizeof(err)), -EINVAL);
		snprintf(msg, sizeof(msg), "'%s' is not a boolean (use yes or no)", bad[i]);
		ck_assert_str_eq(err, msg);
		ck_assert_int_eq(v, -1);
	}
}
END_TEST

START_TEST(parse_errors_are_truncated_to_the_buffer)
{
	char err[8];
	uint64_t v;

	ck_assert_int_eq(lt_parse_uint("abcdefghij", 0, 1, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "'abcdef");
}
END_TEST

static TCase *parse_tcase(void)
{
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_uint_accepts_whole_numbers_and_binary_suffixes);
	tcase_add_test(tc, parse_uint_rejects_what_is_not_a_whole_number);
	tcase_add_test(tc, parse_uint_rejects_values_out_of_range);
	tcase_add_test(tc, parse_uint_accepts_a_null_error_buffer);
	tcase_add_test(tc, parse_double_accepts_finite_numbers);
	tcase_add_test(tc, parse_double_rejects_junk_and_non_finite_values);
	tcase_add_test(tc, parse_duration_accepts_every_unit);
	tcase_add_test(tc, parse_duration_takes_a_bare_number_as_seconds);
	tcase_add_test(tc, parse_duration_accepts_fractions_to_the_nanosecond);
	tcase_add_test(tc, parse_duration_rejects_bad_numbers_and_units);
	tcase_add_test(tc, parse_duration_rejects_what_does_not_fit_in_64_bits);
	tcase_add_test(tc, parse_bool_accepts_the_usual_words);
	tcase_add_test(tc, parse_bool_rejects_anything_else);
	tcase_add_test(tc, parse_errors_are_truncated_to_the_buffer);
	return tc;
}

/* ---- edge id ------------------------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/lt-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(edge_id_is_the_rfc4122_v5_uuid_of_the_machine_id)
{
	char path[128], id[37];

	/*
	 * Cross-checked with Python: uuid.uuid5(UUID("5b1e0c7a-934d-4f21-a60e-3c528b17d944"),
	 * "3d1219c7c4c5404aaa1f6d2a48adfda4").
	 */
	snprintf(path, sizeof(path), "%s/machine-id", tmpdir);
	write_file(path, "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
	ck_assert_int_eq(lt_edge_id(path, id), 0);
	ck_assert_str_eq(id, "4676dba2-fdc1-5623-a984-5fd07f21fd99");
}
END_TEST

START_TEST(edge_id_refuses_a_malformed_or_missing_machine_id)
{
	char path[128], id[37] = "untouched";

	snprintf(path, sizeof(path), "%s/machine-id", tmpdir);
	write_file(path, "not-a-machine-id\n");
	ck_assert_int_eq(lt_edge_id(path, id), -EBADMSG);
	write_file(path, "3D1219C7C4C5404AAA1F6D2A48ADFDA4\n"); /* machine-id(5): lowercase */
	ck_assert_int_eq(lt_edge_id(path, id), -EBADMSG);
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	ck_assert_int_eq(lt_edge_id(path, id), -ENOENT);
	ck_assert_str_eq(id, "untouched");
}
END_TEST

/* ---- log rate limiting ---------------------------------------------------- */

/* Log through stderr redirected into a file; return what was written. */
static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void log_twenty_repeats(void)
{
	log_init("liotad");
	log_set_rate_limit(5, 60ull * 1000000000ull);
	for (int i = 0; i < 20; i++)
		lt_log(LOG_ERR, "sensor %d unreachable", 7);
	lt_log(LOG_ERR, "a different message");
}

START_TEST(repeated_identical_messages_are_rate_limited)
{
	char *out = lt_capture_stderr(log_twenty_repeats);

	ck_assert_uint_eq(count_lines(out, "liotad: error: sensor 7 unreachable\n"), 5);
	ck_assert_uint_eq(count_lines(out, "a different message"), 1);
	free(out);
}
END_TEST

static void log_across_windows(void)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };

	log_init("liotad");
	log_set_rate_limit(2, 20ull * 1000000ull); /* 2 per 20 ms */
	for (int i = 0; i < 6; i++)
		lt_log(LOG_WARNING, "disk full");
	nanosleep(&ts, NULL); /* the window ends */
	lt_log(LOG_WARNING, "disk full");
}

START_TEST(suppressed_repeats_are_counted_when_the_window_ends)
{
	char *out = lt_capture_stderr(log_across_windows);

	ck_assert_uint_eq(count_lines(out, "warning: disk full\n"), 3);
	ck_assert_uint_eq(count_lines(out, "4 repeats of the next message were suppressed"), 1);
	free(out);
}
END_TEST

static void log_below_level(void)
{
	log_init("liotad");
	log_set_rate_limit(5, 1000000000ull);
	log_set_level(LOG_WARNING);
	lt_log(LOG_INFO, "chatty");
	lt_log(LOG_WARNING, "important");
	log_set_level(LOG_INFO);
}

START_TEST(messages_below_the_level_are_not_written)
{
	char *out = lt_capture_stderr(log_below_level);

	ck_assert_str_eq(out, "liotad: warning: important\n");
	free(out);
}
END_TEST

START_TEST(state_path_makes_the_folder_and_reports_failures)
{
	char tmpl[] = "/tmp/liotad-state-test-XXXXXX", dir[256], path[512], err[256] = "";
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/a/b", tmpl);
	sdk_set_state_dir(dir);
	ck_assert_int_eq(lt_state_path("iotcc.json", path, sizeof(path), err, sizeof(err)), 0);
	ck_assert_str_eq(path, strcat(dir, "/iotcc.json"));
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(stat(dir, &st), 0); /* made, with its parent */
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	/* Too long for the buffer: refused, nothing written past it. */
	ck_assert_int_eq(lt_state_path("iotcc.json", path, 8, err, sizeof(err)), -ENAMETOOLONG);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	/* A file in the way: the folder cannot be made, and the reason says so. */
	snprintf(dir, sizeof(dir), "%s/file", tmpl);
	fclose(fopen(dir, "w"));
	strcat(dir, "/sub");
	sdk_set_state_dir(dir);
	ck_assert_int_lt(lt_state_path("x", path, sizeof(path), err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "state folder ") == err && strstr(err, "cannot create"), "%s",
		      err);
	sdk_set_state_dir(NULL);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* ---- trust: folders of our own, files replaced without following links -- */

#define NOBODY 65534

/* lt_dir_open_trusted() on @dir: the fd is closed; returns its result, reason in @err. */
static int open_dir(const char *dir, unsigned flags, char *err, size_t errlen)
{
	int fd = lt_dir_open_trusted(dir, 0700, flags, err, errlen);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

START_TEST(trusted_dir_is_made_owner_only_and_checked_on_reuse)
{
	char dir[300], err[512] = "";
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	ck_assert_int_eq(open_dir(dir, LT_DIR_PRIVATE, err, sizeof(err)), 0);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_uint_eq(st.st_uid, geteuid());
	/* Ours, readable by others but writable by nobody else: narrowed, not refused. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(open_dir(dir, LT_DIR_PRIVATE, err, sizeof(err)), 0);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* The state folder keeps the mode it has when nobody else can write it. */
	ck_assert_int_eq(chmod(dir, 0750), 0);
	ck_assert_int_eq(open_dir(dir, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
}
END_TEST

START_TEST(trusted_dir_refuses_a_folder_others_can_write)
{
	char dir[300], err[512] = "", want[400];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(open_dir(dir, LT_DIR_PRIVATE, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s: owned by uid %u with mode 0777;", dir,
		 (unsigned)geteuid());
	ck_assert_msg(strstr(err, want) == err, "%s", err);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0777); /* refused, left as it was */
	ck_assert_int_eq(chmod(dir, 0720), 0);
	ck_assert_int_eq(open_dir(dir, 0, err, sizeof(err)), -EPERM);
}
END_TEST

START_TEST(trusted_dir_refuses_a_symbolic_link_and_a_file)
{
	char dir[300], link[300], file[300], err[512] = "";

	snprintf(dir, sizeof(dir), "%s/real", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	/* Even to a good folder of ours: who planted the link could re-point it. */
	ck_assert_int_eq(symlink(dir, link), 0);
	ck_assert_int_eq(open_dir(link, 0, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, link) == err && strstr(err, "symbolic link"), "%s", err);
	fclose(fopen(file, "w"));
	ck_assert_int_eq(open_dir(file, 0, err, sizeof(err)), -ENOTDIR);
	ck_assert_msg(strstr(err, file) == err, "%s", err);
}
END_TEST

/*
 * A folder of another user. Tests run as root (here and in CI): the folder
 * is chowned to nobody, which is the "owned by somebody else" case for root.
 * Then, in a child that became nobody, the case: a non-root liotad
 * finding its folder already made, with mode 0777, by another user (root).
 */
START_TEST(trusted_dir_refuses_a_folder_of_another_user)
{
	char dir[300], err[512] = "", want[400];
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("SKIP trusted_dir_refuses_a_folder_of_another_user: needs root to chown\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/theirs", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	ck_assert_int_eq(open_dir(dir, LT_DIR_PRIVATE, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s: owned by uid %u with mode 0700; liotad (uid 0)", dir,
		 NOBODY);
	ck_assert_msg(strstr(err, want) == err, "%s", err);

	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0); /* so that nobody can reach it */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(2);
		_exit(open_dir(dir, LT_DIR_PRIVATE, err, sizeof(err)) == -EPERM &&
				      strstr(err, "owned by uid 0 with mode 0777")
			      ? 0
			      : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "as nobody, a root folder of mode 0777 was not refused (status %d)", status);
}
END_TEST

/*
 * systemd's StateDirectory= with DynamicUser= is a link made by root
 * (/var/lib/NAME -> private/NAME): followed with LT_DIR_LINK_OK when only
 * root or we could have made or re-pointed it, and what it leads to is
 * checked as a folder. (As root, "we" and root are the same user: the
 * other-owner case is the link chowned to nobody.)
 */
START_TEST(trusted_dir_follows_only_a_link_nobody_else_could_plant)
{
	char real[200], link[200], open_dir_path[200], link2[300], err[512] = "";

	snprintf(real, sizeof(real), "%s/private", tmpdir);
	ck_assert_int_eq(mkdir(real, 0700), 0);
	strcat(real, "/state");
	ck_assert_int_eq(mkdir(real, 0750), 0);
	snprintf(link, sizeof(link), "%s/state", tmpdir);
	ck_assert_int_eq(symlink("private/state", link), 0);
	ck_assert_int_eq(open_dir(link, LT_DIR_LINK_OK, err, sizeof(err)), 0);
	ck_assert_int_eq(open_dir(link, 0, err, sizeof(err)), -ELOOP); /* the runtime folder */

	/* In a folder others can write, without the sticky bit: they could re-point it. */
	snprintf(open_dir_path, sizeof(open_dir_path), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(open_dir_path, 0700), 0);
	snprintf(link2, sizeof(link2), "%s/state", open_dir_path);
	ck_assert_int_eq(symlink(real, link2), 0);
	ck_assert_int_eq(chmod(open_dir_path, 0777), 0);
	ck_assert_int_eq(open_dir(link2, LT_DIR_LINK_OK, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, "symbolic link"), "%s", err);
	/* Sticky (as /tmp): only the link's owner could remove it. */
	ck_assert_int_eq(chmod(open_dir_path, 01777), 0);
	ck_assert_int_eq(open_dir(link2, LT_DIR_LINK_OK, err, sizeof(err)), 0);
	/* Leading to a folder others can write: refused as that folder would be. */
	ck_assert_int_eq(chmod(real, 0777), 0);
	ck_assert_int_eq(open_dir(link, LT_DIR_LINK_OK, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(real, 0750), 0);
	if (geteuid() != 0) {
		printf("SKIP trusted_dir_follows_only_a_link...: a link of another owner needs "
		       "root\n");
		return;
	}
	ck_assert_int_eq(lchown(link2, NOBODY, NOBODY), 0);
	ck_assert_int_eq(open_dir(link2, LT_DIR_LINK_OK, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, "owner uid 65534"), "%s", err);
}
END_TEST

START_TEST(state_path_refuses_a_state_folder_others_can_write)
{
	char dir[300], path[400], err[600] = "";

	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	sdk_set_state_dir(dir);
	ck_assert_int_eq(lt_state_path("x.json", path, sizeof(path), err, sizeof(err)), -EPERM);
	sdk_set_state_dir(NULL);
	ck_assert_msg(strstr(err, "state folder ") == err && strstr(err, dir) &&
			      strstr(err, "mode 0777"),
		      "%s", err);
}
END_TEST

START_TEST(file_replace_writes_atomically_and_never_follows_a_link)
{
	char path[300], tmp[320], victim[300], err[512] = "", buf[32] = "";
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s/f.tmp", tmpdir);
	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	f = fopen(victim, "w");
	fputs("keep", f);
	fclose(f);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_int_eq(lt_file_replace(path, "new\n", 4, 0640, err, sizeof(err)), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(lstat(tmp, &st), -1);
	f = fopen(victim, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "keep");
	/* A second save replaces the first. */
	ck_assert_int_eq(lt_file_replace(path, "newer\n", 6, 0640, err, sizeof(err)), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "newer\n");
}
END_TEST

/* ---- control: the request parser (outside input, also fuzzed) ------------- */

START_TEST(control_request_is_one_known_command_line)
{
	struct control_req req = { .cmd = (enum control_cmd) - 1 };
	char big[CONTROL_REQUEST_MAX + 10];

#define PARSE(s, eof) control_parse_request(s, sizeof(s) - 1, eof, &req)
	ck_assert_int_eq(PARSE("status\n", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_STATUS);
	ck_assert_int_eq(PARSE("metrics\r\n", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_METRICS);
	ck_assert_int_eq(PARSE("ring\nextra bytes ignored", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_RING);
	ck_assert_int_eq(PARSE("list\n", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_LIST);
	/* A client that closes its side without a newline (printf status | socat). */
	ck_assert_int_eq(PARSE("status", true), 1);
	ck_assert_int_eq(req.cmd, CONTROL_STATUS);
	/* Not complete yet. */
	ck_assert_int_eq(PARSE("stat", false), 0);
	ck_assert_int_eq(control_parse_request("", 0, false, &req), 0);
	/* Refused. */
	ck_assert_int_eq(PARSE("statusx\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "unknown command");
	ck_assert_int_eq(PARSE("Status\n", false), -EINVAL);
	ck_assert_int_eq(PARSE(" status\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("stat\0us\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("\n", false), -EINVAL);
	ck_assert_int_eq(control_parse_request("", 0, true, &req), -EINVAL);
	ck_assert_int_eq(PARSE("status now\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "this command takes no argument");
	ck_assert_int_eq(PARSE("list \n", false), -EINVAL);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(control_parse_request(big, CONTROL_REQUEST_MAX - 1, false, &req), 0);
	ck_assert_int_eq(control_parse_request(big, CONTROL_REQUEST_MAX, false, &req), -EMSGSIZE);
	big[CONTROL_REQUEST_MAX + 2] = '\n';
	ck_assert_int_eq(control_parse_request(big, sizeof(big), false, &req), -EMSGSIZE);
#undef PARSE
}
END_TEST

START_TEST(control_request_package_commands_take_a_name)
{
	static const char sha[] =
		"f9060af72c4a3ba2b586baabab1689cfbc0cf7c6b8511b58aaecf5aa2e1a3aff";
	struct control_req req = { .cmd = (enum control_cmd) - 1 };
	char line[CONTROL_REQUEST_MAX + 10];
	size_t n;

#define PARSE(s, eof) control_parse_request(s, sizeof(s) - 1, eof, &req)
	ck_assert_int_eq(PARSE("load square\n", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_LOAD);
	ck_assert_str_eq(req.name, "square");
	ck_assert_str_eq(req.sha256, "");
	ck_assert_int_eq(PARSE("unload my-pkg_2\r\n", false), 1);
	ck_assert_int_eq(req.cmd, CONTROL_UNLOAD);
	ck_assert_str_eq(req.name, "my-pkg_2");
	ck_assert_int_eq(PARSE("reload square", true), 1);
	ck_assert_int_eq(req.cmd, CONTROL_RELOAD);
	ck_assert_str_eq(req.name, "square");
	/* The longest request: reload is refused a pin, load takes it, a 63-character name. */
	n = (size_t)snprintf(line, sizeof(line), "load %063d@%s\r\n", 0, sha);
	ck_assert_uint_lt(n, CONTROL_REQUEST_MAX + 1);
	ck_assert_int_eq(control_parse_request(line, n, false, &req), 1);
	ck_assert_str_eq(req.sha256, sha);
	ck_assert_uint_eq(strlen(req.name), LT_PACKAGE_NAME_MAX);
	/* Missing, extra or malformed arguments. */
	ck_assert_int_eq(PARSE("load\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "a package name is needed");
	ck_assert_int_eq(PARSE("unload \n", false), -EINVAL);
	ck_assert_str_eq(req.why, "a package name is needed");
	ck_assert_int_eq(PARSE("unload  square\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "not a package name");
	ck_assert_int_eq(PARSE("unload square extra\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("load Square\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("load ../square\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("load -square\n", false), -EINVAL);
	ck_assert_int_eq(PARSE("load sq\0are\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "a NUL byte in the command");
	n = (size_t)snprintf(line, sizeof(line), "load %064d\n", 0);
	ck_assert_int_eq(control_parse_request(line, n, false, &req), -EINVAL);
	ck_assert_str_eq(req.why, "not a package name");
	ck_assert_int_eq(PARSE("load square@1234\n", false), -EINVAL);
	ck_assert_str_eq(req.why, "the SHA-256 must be 64 hex digits");
	n = (size_t)snprintf(line, sizeof(line), "load square@%.63sg\n", sha);
	ck_assert_int_eq(control_parse_request(line, n, false, &req), -EINVAL);
	ck_assert_str_eq(req.why, "the SHA-256 must be 64 hex digits");
	n = (size_t)snprintf(line, sizeof(line), "unload square@%s\n", sha);
	ck_assert_int_eq(control_parse_request(line, n, false, &req), -EINVAL);
	ck_assert_str_eq(req.why, "only load takes NAME@SHA256");
	ck_assert_int_eq(PARSE("load squ", false), 0);
#undef PARSE
}
END_TEST

/*
 * getsockopt() as the control socket sees it: SO_PEERCRED fails while
 * fail_peercred is set (it cannot be made to fail for real). The test binary's
 * definition takes precedence over libc's for the code linked into it.
 */
static bool fail_peercred;

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (fail_peercred && level == SOL_SOCKET && name == SO_PEERCRED) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}

static void serve_one_client_without_credentials(void)
{
	struct pollfd pf[CONTROL_POLLFDS];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl;
	char err[256], buf[16];
	int timeout = -1, c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", tmpdir);
	ck_assert_int_eq(control_open(sa.sun_path, &ctl, err, sizeof(err)), 0);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fail_peercred = true;
	control_pollfds(ctl, pf, &timeout);
	ck_assert_int_eq(poll(pf, CONTROL_POLLFDS, 5000), 1);
	control_dispatch(ctl, pf, NULL);
	fail_peercred = false;
	/* Refused: closed at once, without an answer. */
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 0);
	close(c);
	control_close(ctl);
}

START_TEST(grow_keeps_room_for_each_appended_element)
{
	unsigned *a = NULL;
	unsigned reallocs = 0;

	/* Under ASan a write past the room lt_grow() gave fails the test. */
	for (unsigned n = 0; n < 5000; n++) {
		unsigned *before = a;

		a = lt_grow(a, n, sizeof(*a));
		if (n & (n - 1))
			ck_assert_ptr_eq(a, before); /* no realloc between powers of two */
		else
			reallocs++;
		a[n] = n;
	}
	for (unsigned n = 0; n < 5000; n++)
		ck_assert_uint_eq(a[n], n);
	ck_assert_uint_eq(reallocs, 14); /* 0, 1, 2, 4, ..., 4096 */
	/* After dropping elements from the end, appending again still has room. */
	for (unsigned n = 3000; n < 3100; n++) {
		a = lt_grow(a, n, sizeof(*a));
		a[n] = n;
	}
	ck_assert_uint_eq(a[3099], 3099);
	free(a);
}
END_TEST

START_TEST(control_refuses_a_client_whose_credentials_cannot_be_read)
{
	char *out = lt_capture_stderr(serve_one_client_without_credentials);

	/* Said as it is: no uid (the old line printed an uninitialised one). */
	ck_assert_str_eq(out, "liotad: warning: control: refused a client whose credentials "
			      "cannot be read: Protocol not available\n");
	free(out);
}
END_TEST

static TCase *edge_log_tcase(void)
{
	/* Local trust too: the folders, the state file, the control socket's parser and peers. */
	TCase *tc = tcase_create("edge_log_trust");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, edge_id_is_the_rfc4122_v5_uuid_of_the_machine_id);
	tcase_add_test(tc, edge_id_refuses_a_malformed_or_missing_machine_id);
	tcase_add_test(tc, repeated_identical_messages_are_rate_limited);
	tcase_add_test(tc, suppressed_repeats_are_counted_when_the_window_ends);
	tcase_add_test(tc, messages_below_the_level_are_not_written);
	tcase_add_test(tc, state_path_makes_the_folder_and_reports_failures);
	tcase_add_test(tc, trusted_dir_is_made_owner_only_and_checked_on_reuse);
	tcase_add_test(tc, trusted_dir_refuses_a_folder_others_can_write);
	tcase_add_test(tc, trusted_dir_refuses_a_symbolic_link_and_a_file);
	tcase_add_test(tc, trusted_dir_refuses_a_folder_of_another_user);
	tcase_add_test(tc, trusted_dir_follows_only_a_link_nobody_else_could_plant);
	tcase_add_test(tc, state_path_refuses_a_state_folder_others_can_write);
	tcase_add_test(tc, file_replace_writes_atomically_and_never_follows_a_link);
	tcase_add_test(tc, control_request_is_one_known_command_line);
	tcase_add_test(tc, control_request_package_commands_take_a_name);
	tcase_add_test(tc, control_refuses_a_client_whose_credentials_cannot_be_read);
	tcase_add_test(tc, grow_keeps_room_for_each_appended_element);
	return tc;
}

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");

	suite_add_tcase(s, parse_tcase());
	suite_add_tcase(s, edge_log_tcase());
	return s;
}

LT_UNIT_MAIN(util_suite)
