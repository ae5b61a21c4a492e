/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A folder of one's own for unit tests that load configuration text:
 * confdir_setup() makes it (a Check fixture), confdir_put() writes
 * liotad.conf and a machine-id there, confdir_conf / confdir_mid are their
 * paths, confdir_load() loads it through the daemon's configuration
 * loader, confdir_teardown() removes them.
 */
#ifndef LT_CONFDIR_H
#define LT_CONFDIR_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/discover.h"

static char confdir[64], confdir_conf[96], confdir_mid[96];

static inline void confdir_setup(void)
{
	snprintf(confdir, sizeof(confdir), "/tmp/liotad-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(confdir));
	snprintf(confdir_conf, sizeof(confdir_conf), "%s/liotad.conf", confdir);
	snprintf(confdir_mid, sizeof(confdir_mid), "%s/machine-id", confdir);
}

static inline void confdir_teardown(void)
{
	unlink(confdir_conf);
	unlink(confdir_mid);
	rmdir(confdir);
}

static inline void confdir_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* liotad.conf holding @text, beside a fixed machine-id. */
static inline void confdir_put(const char *text)
{
	confdir_write(confdir_mid, "0123456789abcdef0123456789abcdef\n");
	confdir_write(confdir_conf, text);
}

/* Load liotad.conf holding @text: the model, or NULL with the errors in *@errors. */
static inline struct lt_model *confdir_load(const char *text, char **errors)
{
	struct lt_model *m = NULL;

	confdir_put(text);
	*errors = NULL;
	config_load(confdir_conf, confdir_mid, &m, errors);
	return m;
}

/*
 * Load liotad.conf holding @text with the discovered devices of @d (NULL:
 * none); @errors gets the problems, or NULL: it must load.
 */
static inline struct lt_model *confdir_load_found(const char *text, const struct lt_discovery *d,
						  char **errors)
{
	struct lt_model *m = NULL;
	struct lt_conf *c;
	char *err = NULL;
	int r;

	confdir_put(text);
	ck_assert_int_eq(config_read(confdir_conf, &c), 0);
	r = config_build(c, confdir_mid, d ? d->inst : NULL, d ? d->ninst : 0, &m, &err);
	config_free(c);
	if (errors) {
		*errors = err;
	} else {
		ck_assert_msg(r == 0, "%s", err ? err : "");
		ck_assert_ptr_nonnull(m);
		free(err);
	}
	return m;
}

#endif
