/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared glue for the Check unit tests: one suite per program. */
#ifndef LT_UNIT_H
#define LT_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What @fn writes to stderr (the log, without systemd), as a malloc'd string. */
static inline char *lt_capture_stderr(void (*fn)(void))
{
	char *buf = calloc(1, 65536);
	FILE *f = tmpfile();
	int saved = dup(2);

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	ck_assert_uint_lt(fread(buf, 1, 65535, f), 65535);
	fclose(f);
	return buf;
}

/* Run the suite returned by @suite_fn: EXIT_FAILURE on any failure. */
static inline int lt_unit_run(Suite *(*suite_fn)(void))
{
	SRunner *sr = srunner_create(suite_fn());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Define main() running the suite returned by @suite_fn; exit 1 on any failure. */
#define LT_UNIT_MAIN(suite_fn)                                                                     \
	int main(void)                                                                             \
	{                                                                                          \
		return lt_unit_run(suite_fn);                                                      \
	}

/* LT_UNIT_MAIN() for a test whose configurations name in-tree types (tests/unit/intree.h). */
#define LT_UNIT_MAIN_INTREE(suite_fn)                                                              \
	int main(void)                                                                             \
	{                                                                                          \
		unit_intree();                                                                     \
		return lt_unit_run(suite_fn);                                                      \
	}

#endif
