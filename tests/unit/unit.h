/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared glue for the Check unit tests: one suite per program. */
#ifndef LT_UNIT_H
#define LT_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Define main() running the suite returned by @suite_fn; exit 1 on any failure. */
#define LT_UNIT_MAIN(suite_fn)                                                                     \
	int main(void)                                                                             \
	{                                                                                          \
		SRunner *sr = srunner_create(suite_fn());                                          \
		srunner_run_all(sr, CK_NORMAL);                                                    \
		int failed = srunner_ntests_failed(sr);                                            \
		srunner_free(sr);                                                                  \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                       \
	}

#endif
