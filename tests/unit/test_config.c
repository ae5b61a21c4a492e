/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the configuration loader (src/core/config.c) and the model
 * it builds. Each test gets its own folder under /tmp holding liotad.conf,
 * conf.d/ and a machine-id; error tests compare the whole error text.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "core/config.h"
#include "core/filesig.h"
#include "util.h"
#include "intree.h"
#include "unit.h"

#define MACHINE_ID "0123456789abcdef0123456789abcdef\n"

static char dir[64];      /* the test's folder */
static char conf[128];    /* dir/liotad.conf */
static char machine[128]; /* dir/machine-id */

/* ---- fixture and helpers --------------------------------------------------- */

static void rm_rf(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", path, de->d_name);
		rm_rf(sub);
		free(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Create dir/@rel and the folders above it. */
static void mkdir_p(const char *rel)
{
	char *path = xasprintf("%s/%s", dir, rel);

	for (char *p = path + strlen(dir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
	free(path);
}

/* Write @text into dir/@rel, creating the folders it is in. */
static void put(const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", dir, rel), *slash = strrchr(path, '/');
	FILE *f;

	if (slash - path > (ptrdiff_t)strlen(dir)) {
		*slash = '\0';
		mkdir_p(path + strlen(dir) + 1);
		*slash = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

static void setup(void)
{
	strcpy(dir, "/tmp/liotad-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/liotad.conf", dir);
	snprintf(machine, sizeof(machine), "%s/machine-id", dir);
	put("machine-id", MACHINE_ID);
}

static void teardown(void)
{
	rm_rf(dir);
}

/* Load dir/liotad.conf, which must succeed. */
/* A metric's conf_hash of its canonical keys @text ("key=value\n", sorted). */
static uint64_t conf_hash(const char *text)
{
	return lt_fnv1a(LT_FNV_SEED, text, strlen(text));
}

static struct lt_model *load_ok(const char *text)
{
	struct lt_model *m = NULL;
	char *errors = NULL;
	int r;

	put("liotad.conf", text);
	r = config_load(conf, machine, &m, &errors);
	ck_assert_msg(r == 0, "config_load: %d\n%s", r, errors ? errors : "(no errors)");
	ck_assert_ptr_null(errors);
	ck_assert_ptr_nonnull(m);
	return m;
}

/*
 * @tmpl with {dir} replaced by the test's folder, {conf} by its
 * liotad.conf and {pkgs} by the package folder (the build tree's).
 */
static char *expand(const char *tmpl)
{
	const char *pkgs =
		getenv("LIOTAD_PACKAGE_DIR") ? getenv("LIOTAD_PACKAGE_DIR") : LT_PACKAGE_DIR;
	size_t len = 1, most = strlen(conf) > strlen(pkgs) ? strlen(conf) : strlen(pkgs);
	char *out, *p;

	for (const char *s = tmpl; *s; s++)
		len += *s == '{' ? most : 1;
	p = out = xmalloc(len);
	while (*tmpl) {
		if (strncmp(tmpl, "{pkgs}", 6) == 0) {
			p = stpcpy(p, pkgs);
			tmpl += 6;
		} else if (strncmp(tmpl, "{dir}", 5) == 0) {
			p = stpcpy(p, dir);
			tmpl += 5;
		} else if (strncmp(tmpl, "{conf}", 6) == 0) {
			p = stpcpy(p, conf);
			tmpl += 6;
		} else {
			*p++ = *tmpl++;
		}
	}
	*p = '\0';
	return out;
}

/* Load the files already written; loading must fail with exactly @expected. */
static void load_fails_with(const char *expected)
{
	struct lt_model *m = (struct lt_model *)0x1;
	char *errors = NULL, *want = expand(expected);

	ck_assert_int_eq(config_load(conf, machine, &m, &errors), -EINVAL);
	ck_assert_ptr_eq(m, (struct lt_model *)0x1);
	ck_assert_ptr_nonnull(errors);
	ck_assert_str_eq(errors, want);
	free(errors);
	free(want);
}

/* Write @text as liotad.conf; loading must fail with exactly @expected. */
static void assert_errors(const char *text, const char *expected)
{
	put("liotad.conf", text);
	load_fails_with(expected);
}

/* ---- good configurations ---------------------------------------------------- */

static const char full_conf[] = "[daemon]\n"
				"log_level = debug\n"
				"lane_capacity = 8k\n"
				"flush_timeout = 1500ms\n"
				"runtime_dir = /run/liotad-test\n"
				"state_dir = /var/lib/liotad-test\n"
				"\n"
				"[edge]\n"
				"name = hub-1.example\n"
				"\n"
				"; the Graphite server\n"
				"[dcc \"carbon\"]\n"
				"type = graphite\n"
				"transport = stdout\n"
				"\n"
				"[device \"boiler\"]\n"
				"type = sim\n"
				"\n"
				"[device \"disk\"]\n"
				"type = file\n"
				"\n"
				"[metric \"boiler.temp\"]\n"
				"unit = degC\n"
				"interval = 100ms\n"
				"aggregation = 10\n"
				"dcc = carbon\n"
				"function = counter\n"
				"start = 5\n"
				"\n"
				"[metric \"disk.load\"]\n"
				"  interval = 1.5s   ; indented, with a comment\n"
				"path = /proc/loadavg\n"
				"scale = 2\n"
				"\n"
				"[metric \"boiler.pressure\"]\n"
				"interval = 2\n"
				"unit =\n";

START_TEST(full_configuration_builds_the_model)
{
	struct lt_model *m = load_ok(full_conf);
	char id[37];

	ck_assert_int_eq(m->daemon.log_level, LOG_DEBUG);
	ck_assert_uint_eq(m->daemon.lane_capacity, 8192);
	ck_assert_uint_eq(m->daemon.flush_timeout_ns, 1500000000ull);
	ck_assert_str_eq(m->daemon.runtime_dir, "/run/liotad-test");
	ck_assert_str_eq(m->daemon.state_dir, "/var/lib/liotad-test");

	ck_assert_str_eq(m->edge.name, "hub-1.example");
	ck_assert_int_eq(lt_edge_id(machine, id), 0);
	ck_assert_str_eq(m->edge.id, id);

	ck_assert_uint_eq(m->ndccs, 1);
	ck_assert_str_eq(m->dccs[0]->name, "carbon");
	ck_assert_str_eq(m->dccs[0]->drv->name, "graphite");
	ck_assert_uint_eq(m->dccs[0]->index, 0);
	ck_assert_str_eq(m->dccs[0]->origin.file, conf);
	ck_assert_int_eq(m->dccs[0]->origin.line, 12);

	ck_assert_uint_eq(m->ndevices, 2);
	ck_assert_str_eq(m->devices[0]->name, "boiler");
	ck_assert_str_eq(m->devices[0]->drv->name, "sim");
	ck_assert_str_eq(m->devices[1]->name, "disk");
	ck_assert_str_eq(m->devices[1]->drv->name, "file");
	ck_assert_uint_eq(m->devices[1]->index, 1);
	ck_assert_ptr_nonnull(m->devices[0]->regs);
	ck_assert_ptr_null(m->devices[0]->regs[0].id);

	ck_assert_uint_eq(m->nmetrics, 3);
	struct lt_metric *temp = m->metrics[0], *load = m->metrics[1], *pres = m->metrics[2];

	ck_assert_str_eq(temp->fullname, "boiler.temp");
	ck_assert_str_eq(temp->name, "temp");
	ck_assert_str_eq(temp->unit, "degC");
	ck_assert_uint_eq(temp->interval_ns, 100000000);
	ck_assert_uint_eq(temp->aggregation, 10);
	ck_assert_ptr_eq(temp->device, m->devices[0]);
	ck_assert_uint_eq(temp->ntargets, 1);
	ck_assert_ptr_eq(temp->targets[0].dcc, m->dccs[0]);
	ck_assert_int_eq(temp->origin.line, 22);

	ck_assert_str_eq(load->fullname, "disk.load");
	ck_assert_uint_eq(load->interval_ns, 1500000000);
	ck_assert_str_eq(load->unit, "");
	ck_assert_uint_eq(load->aggregation, 1);

	ck_assert_str_eq(pres->unit, "");
	ck_assert_uint_eq(pres->interval_ns, 2000000000);

	for (unsigned i = 0; i < m->nmetrics; i++)
		ck_assert_uint_eq(m->metrics[i]->id, i);
	ck_assert_uint_eq(m->devices[0]->nmetrics, 2);
	ck_assert_ptr_eq(m->devices[0]->metrics[0], temp);
	ck_assert_ptr_eq(m->devices[0]->metrics[1], pres);
	ck_assert_uint_eq(m->devices[1]->nmetrics, 1);
	ck_assert_ptr_eq(m->devices[1]->metrics[0], load);

	ck_assert_ptr_eq(model_find_dcc(m, "carbon"), m->dccs[0]);
	ck_assert_ptr_null(model_find_dcc(m, "boiler"));
	ck_assert_ptr_eq(model_find_device(m, "disk"), m->devices[1]);
	ck_assert_ptr_null(model_find_device(m, "carbon"));
	ck_assert_ptr_eq(model_find_metric(m, "boiler.pressure"), pres);
	ck_assert_ptr_null(model_find_metric(m, "boiler"));

	ck_assert_uint_eq(m->nfiles, 1);
	ck_assert_str_eq(m->files[0], conf);
	model_free(m);
}
END_TEST

START_TEST(defaults_apply_when_keys_are_absent)
{
	struct lt_model *m = load_ok("[device \"dev\"]\ntype = sim\n"
				     "[metric \"dev.x\"]\ninterval = 1s\n");
	char host[256] = "";

	ck_assert_int_eq(m->daemon.log_level, LOG_INFO);
	ck_assert_uint_eq(m->daemon.lane_capacity, 4096);
	ck_assert_uint_eq(m->daemon.flush_timeout_ns, 5 * LT_NSEC_PER_SEC);
	ck_assert_ptr_null(m->daemon.runtime_dir);
	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	ck_assert_str_eq(m->edge.name, host);
	ck_assert_uint_eq(strlen(m->edge.id), 36);
	ck_assert_str_eq(m->metrics[0]->unit, "");
	ck_assert_uint_eq(m->metrics[0]->aggregation, 1);
	ck_assert_uint_eq(m->metrics[0]->ntargets, 0);
	model_free(m);
}
END_TEST

START_TEST(metrics_publish_to_every_dcc_by_default)
{
	struct lt_model *m = load_ok("[dcc \"a\"]\ntype = graphite\ntransport = stdout\n"
				     "[dcc \"b\"]\ntype = graphite\ntransport = stdout\n"
				     "[dcc \"c d\"]\ntype = graphite\ntransport = stdout\n"
				     "[device \"dev\"]\ntype = sim\n"
				     "[metric \"dev.all\"]\ninterval = 1s\n"
				     "[metric \"dev.some\"]\ninterval = 1s\ndcc = c d,a\n"
				     "[metric \"dev.spaced\"]\ninterval = 1s\ndcc = b   a\n");

	ck_assert_uint_eq(m->ndccs, 3);
	ck_assert_uint_eq(m->metrics[0]->ntargets, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_ptr_eq(m->metrics[0]->targets[i].dcc, m->dccs[i]);
	ck_assert_uint_eq(m->metrics[1]->ntargets, 2);
	ck_assert_str_eq(m->metrics[1]->targets[0].dcc->name, "c d");
	ck_assert_str_eq(m->metrics[1]->targets[1].dcc->name, "a");
	ck_assert_uint_eq(m->metrics[2]->ntargets, 2);
	ck_assert_str_eq(m->metrics[2]->targets[0].dcc->name, "b");
	ck_assert_str_eq(m->metrics[2]->targets[1].dcc->name, "a");
	ck_assert_uint_eq(m->devices[0]->nmetrics, 3);
	model_free(m);
}
END_TEST

START_TEST(section_order_does_not_matter)
{
	struct lt_model *m = load_ok("[metric \"dev.x\"]\ninterval = 1s\ndcc = out\n"
				     "[edge]\nname = e\n"
				     "[device \"dev\"]\ntype = sim\n"
				     "[dcc \"out\"]\ntype = graphite\ntransport = stdout\n"
				     "[daemon]\nlog_level = err\n");

	ck_assert_int_eq(m->daemon.log_level, LOG_ERR);
	ck_assert_str_eq(m->edge.name, "e");
	ck_assert_ptr_eq(m->metrics[0]->device, m->devices[0]);
	ck_assert_ptr_eq(m->metrics[0]->targets[0].dcc, m->dccs[0]);
	ck_assert_uint_eq(m->devices[0]->nmetrics, 1);
	model_free(m);
}
END_TEST

/* A conf.d with no drop-in in it (found by tests/fuzz: qsort() of none was given NULL). */
START_TEST(a_dropin_folder_without_dropins_adds_nothing)
{
	struct lt_model *m;

	mkdir_p("conf.d");
	put("conf.d/README", "[nonsense\n");
	m = load_ok("[device \"dev\"]\ntype = sim\n[metric \"dev.x\"]\ninterval = 1s\n");
	ck_assert_uint_eq(m->nfiles, 1);
	ck_assert_uint_eq(m->nmetrics, 1);
	model_free(m);
}
END_TEST

START_TEST(dropins_apply_in_sorted_order_and_override)
{
	struct lt_model *m;

	put("conf.d/20-late.conf", "[metric \"dev.x\"]\ninterval = 3s\n"
				   "[daemon]\nlog_level = warning\n");
	put("conf.d/10-early.conf", "[metric \"dev.x\"]\ninterval = 2s\nunit = K\n"
				    "[metric \"dev.y\"]\ninterval = 1ms\n"
				    "[daemon]\nlog_level = notice\n");
	/* not drop-ins: ignored, however broken */
	put("conf.d/30-other.conf.bak", "this is not a configuration\n");
	put("conf.d/README", "[nonsense\n");
	put("conf.d/.#40-lock.conf", "[nonsense\n");
	m = load_ok("[device \"dev\"]\ntype = sim\n"
		    "[metric \"dev.x\"]\ninterval = 1s\n"
		    "[daemon]\nlane_capacity = 64\n");

	ck_assert_uint_eq(m->nmetrics, 2);
	ck_assert_str_eq(m->metrics[0]->fullname, "dev.x");
	ck_assert_uint_eq(m->metrics[0]->interval_ns, 3 * LT_NSEC_PER_SEC);
	ck_assert_str_eq(m->metrics[0]->unit, "K");
	ck_assert_str_eq(m->metrics[1]->fullname, "dev.y");
	ck_assert_uint_eq(m->metrics[1]->id, 1);
	ck_assert_int_eq(m->daemon.log_level, LOG_WARNING);
	ck_assert_uint_eq(m->daemon.lane_capacity, 64);

	ck_assert_uint_eq(m->nfiles, 3);
	ck_assert_str_eq(m->files[0], conf);
	ck_assert_str_eq(m->metrics[0]->origin.file, conf);
	ck_assert_ptr_eq(m->metrics[1]->origin.file, m->files[1]);
	char *early = expand("{dir}/conf.d/10-early.conf");

	ck_assert_str_eq(m->files[1], early);
	free(early);
	model_free(m);
}
END_TEST

START_TEST(syntax_tolerated_by_inih_is_accepted)
{
	struct lt_model *m = load_ok("\xef\xbb\xbf# a comment\n"
				     "; another\n"
				     "[ device   \"dev\" ]  ; trailing comment\n"
				     "type: sim\n"
				     "property.note = a;b\n"
				     "[metric \"dev.x\"]\n"
				     "\tinterval = 5s ; five seconds\n");

	ck_assert_uint_eq(m->metrics[0]->interval_ns, 5 * LT_NSEC_PER_SEC);
	ck_assert_uint_eq(m->devices[0]->nprops, 1);
	ck_assert_str_eq(m->devices[0]->props[0].value, "a;b");
	model_free(m);
}
END_TEST

START_TEST(edge_id_comes_from_the_machine_id)
{
	struct lt_model *m;
	char id[37];

	put("machine-id", "fedcba9876543210fedcba9876543210\n");
	m = load_ok("[edge]\nname = e\n");
	ck_assert_int_eq(lt_edge_id(machine, id), 0);
	ck_assert_str_eq(m->edge.id, id);
	ck_assert_uint_eq(strlen(m->edge.id), 36);
	model_free(m);
}
END_TEST

START_TEST(model_free_releases_registration_ids)
{
	/* What the publisher stores after registering: ASan reports it if leaked. */
	struct lt_model *m = load_ok(full_conf);

	m->dccs[0]->edge_reg.id = xstrdup("edge");
	m->devices[0]->regs[0].id = xstrdup("edge.boiler");
	m->metrics[0]->targets[0].reg.id = xstrdup("edge.boiler.temp");
	model_free(m);
}
END_TEST

START_TEST(errors_text_is_optional)
{
	struct lt_model *m = NULL;

	put("liotad.conf", "[foo]\n");
	ck_assert_int_eq(config_load(conf, machine, &m, NULL), -EINVAL);
	ck_assert_ptr_null(m);
}
END_TEST

START_TEST(model_free_accepts_null)
{
	model_free(NULL);
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(unknown_section_is_reported)
{
	assert_errors("[daemon]\n[foo]\nkey = 1\n[bar \"x\"]\n",
		      "{conf}:2: unknown section [foo]\n"
		      "{conf}:4: unknown section [bar \"x\"]\n");
}
END_TEST

START_TEST(unknown_key_is_reported_in_every_section)
{
	assert_errors("[daemon]\nfoo = 1\n"
		      "[edge]\ncolour = red\n"
		      "[dcc \"carbon\"]\ntype = graphite\ntransport = stdout\nfoo = 1\n"
		      "[device \"boiler\"]\ntype = sim\nfoo = 2\n"
		      "[metric \"boiler.temp\"]\ninterval = 1s\nfoo = 3\n",
		      "{conf}:2: unknown key 'foo' in [daemon]\n"
		      "{conf}:4: unknown key 'colour' in [edge]\n"
		      "{conf}:8: unknown key 'foo' in [dcc \"carbon\"]\n"
		      "{conf}:11: unknown key 'foo' in [device \"boiler\"]\n"
		      "{conf}:14: unknown key 'foo' in [metric \"boiler.temp\"]\n");
}
END_TEST

START_TEST(unknown_driver_key_of_a_metric_is_reported)
{
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.x\"]\ninterval = 1s\nbogus = 1\n",
		      "{conf}:5: unknown key 'bogus' in [metric \"dev.x\"]\n");
}
END_TEST

START_TEST(driver_option_error_is_prefixed_with_the_key)
{
	char *errors = NULL, *prefix = expand("{conf}:5: function: ");
	struct lt_model *m = NULL;

	put("liotad.conf", "[device \"dev\"]\ntype = sim\n"
			   "[metric \"dev.x\"]\ninterval = 1s\nfunction = bogus\n");
	ck_assert_int_eq(config_load(conf, machine, &m, &errors), -EINVAL);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(strncmp(errors, prefix, strlen(prefix)) == 0, "%s", errors);
	ck_assert_ptr_nonnull(strchr(errors, '\n'));
	ck_assert_str_eq(strchr(errors, '\n'), "\n");
	free(errors);
	free(prefix);
}
END_TEST

START_TEST(bad_values_are_reported_with_the_key)
{
	assert_errors("[daemon]\n"
		      "lane_capacity = 100\n"
		      "flush_timeout = soon\n"
		      "log_level = loud\n"
		      "runtime_dir =\n"
		      "state_dir =\n"
		      "[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.a\"]\ninterval = 10x\naggregation = 5x\n"
		      "[metric \"dev.b\"]\ninterval = 1s\naggregation = 0\n"
		      "[metric \"dev.c\"]\ninterval = 5us\naggregation = 10001\n"
		      "[metric \"dev.d\"]\ninterval = 25h\n"
		      "unit = 123456789012345678901234567890123\n",
		      "{conf}:2: lane_capacity: 100 is not a power of two\n"
		      "{conf}:3: flush_timeout: bad duration 'soon' (use a number with ns, us, ms, "
		      "s, m or h)\n"
		      "{conf}:4: log_level: 'loud' is not a log level (use err, warning, notice, "
		      "info or debug)\n"
		      "{conf}:5: runtime_dir: the path is empty\n"
		      "{conf}:6: state_dir: the path is empty\n"
		      "{conf}:10: interval: bad duration '10x' (use a number with ns, us, ms, s, m "
		      "or h)\n"
		      "{conf}:11: aggregation: '5x' is not a whole number\n"
		      "{conf}:14: aggregation: 0 is out of range (1..10000)\n"
		      "{conf}:16: interval: 5us is out of range (10us..24h)\n"
		      "{conf}:17: aggregation: 10001 is out of range (1..10000)\n"
		      "{conf}:19: interval: 25h is out of range (10us..24h)\n"
		      "{conf}:20: unit: '123456789012345678901234567890123' is too long (at most "
		      "32 characters)\n");
}
END_TEST

START_TEST(units_are_checked_and_converters_made)
{
	struct lt_model *m = load_ok("[device \"dev\"]\ntype = sim\n"
				     "[metric \"dev.t\"]\ninterval = 1s\nunit = degC\n"
				     "publish_unit = degF\n"
				     "[metric \"dev.p\"]\ninterval = 1s\nunit = kPa\n"
				     "[metric \"dev.d\"]\ninterval = 1s\nunit = km\n"
				     "publish_unit = m\n"
				     "[metric \"dev.k\"]\ninterval = 1s\nunit = K\n"
				     "publish_unit = kelvin\n"
				     "[metric \"dev.n\"]\ninterval = 1s\n");
	const struct lt_metric *t = m->metrics[0], *p = m->metrics[1], *d = m->metrics[2],
			       *k = m->metrics[3], *n = m->metrics[4];

	ck_assert_str_eq(t->unit, "degC");
	ck_assert_str_eq(t->pub_unit, "degF");
	ck_assert(t->convert);
	ck_assert_double_eq_tol(lt_unit_convert(&t->conv, 100), 212, 1e-9);
	ck_assert_double_eq_tol(lt_unit_convert(&t->conv, -40), -40, 1e-9);
	ck_assert_str_eq(t->pub_unit_prefix, "");
	ck_assert_str_eq(t->pub_unit_name, "degF"); /* udunits2 has no name for it: as written */
	ck_assert_str_eq(p->pub_unit, "kPa");
	ck_assert(!p->convert);
	ck_assert_str_eq(p->pub_unit_prefix, "kilo");
	ck_assert_str_eq(p->pub_unit_name, "pascal");
	ck_assert(d->convert);
	ck_assert_double_eq_tol(lt_unit_convert(&d->conv, 1.5), 1500, 1e-9);
	ck_assert_str_eq(d->pub_unit_name, "meter");
	ck_assert(!k->convert); /* the same unit: nothing to do per sample */
	ck_assert_str_eq(n->unit, "");
	ck_assert_str_eq(n->pub_unit, "");
	ck_assert_ptr_null(n->pub_unit_name);
	model_free(m);
}
END_TEST

START_TEST(bad_units_are_reported_with_file_and_line)
{
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.a\"]\ninterval = 1s\nunit = kWh\n"
		      "[metric \"dev.b\"]\ninterval = 1s\nunit = Cel\n"
		      "[metric \"dev.c\"]\ninterval = 1s\nunit = degC\npublish_unit = m\n"
		      "[metric \"dev.d\"]\ninterval = 1s\npublish_unit = K\n"
		      "[metric \"dev.e\"]\ninterval = 1s\nunit = dBm\npublish_unit = mW\n"
		      "[metric \"dev.f\"]\ninterval = 1s\nunit = K\npublish_unit = nope\n"
		      "[metric \"dev.g\"]\ninterval = 1s\nunit = K\npublish_unit =\n",
		      "{conf}:5: unit: 'kWh' is not a unit udunits2 knows; did you mean 'kW h'?\n"
		      "{conf}:8: unit: 'Cel' is not a unit udunits2 knows; did you mean "
		      "'celsius'?\n"
		      "{conf}:12: publish_unit: 'degC' cannot be converted to 'm': they measure "
		      "different things\n"
		      "{conf}:15: publish_unit: [metric \"dev.d\"] has no unit to convert from "
		      "(set unit = ...)\n"
		      "{conf}:19: publish_unit: converting 'dBm' to 'mW' is not linear (a "
		      "logarithmic unit?): liotad converts only y = a*x + b\n"
		      "{conf}:23: publish_unit: 'nope' is not a unit udunits2 knows\n"
		      "{conf}:27: publish_unit: the value is empty (remove the key to publish in "
		      "the metric's unit)\n");
}
END_TEST

START_TEST(an_unreadable_unit_database_is_reported_once)
{
	setenv("UDUNITS2_XML_PATH", "/nonexistent/udunits2.xml", 1);
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.a\"]\ninterval = 1s\nunit = K\n"
		      "[metric \"dev.b\"]\ninterval = 1s\nunit = K\n",
		      "{conf}:5: unit: the udunits2 unit database /nonexistent/udunits2.xml "
		      "cannot be read (install the Debian package libudunits2-data or set "
		      "UDUNITS2_XML_PATH)\n");
	unsetenv("UDUNITS2_XML_PATH");
	/* Without a unit, the database is not needed: nothing to read, nothing to fail. */
	setenv("UDUNITS2_XML_PATH", "/nonexistent/udunits2.xml", 1);
	model_free(load_ok("[device \"dev\"]\ntype = sim\n[metric \"dev.a\"]\ninterval = 1s\n"));
	unsetenv("UDUNITS2_XML_PATH");
}
END_TEST

START_TEST(lane_capacity_limits_are_enforced)
{
	assert_errors("[daemon]\nlane_capacity = 32\n",
		      "{conf}:2: lane_capacity: 32 is out of range (64..16777216)\n");
	assert_errors("[daemon]\nlane_capacity = 32M\n",
		      "{conf}:2: lane_capacity: 32M is out of range (64..16777216)\n");
	assert_errors("[daemon]\nlane_capacity = 3k\n",
		      "{conf}:2: lane_capacity: 3k is not a power of two\n");
}
END_TEST

START_TEST(interval_limits_are_inclusive)
{
	struct lt_model *m =
		load_ok("[device \"dev\"]\ntype = sim\n"
			"[metric \"dev.fast\"]\ninterval = 10us\n"
			"[metric \"dev.slow\"]\ninterval = 24h\naggregation = 10000\n");

	ck_assert_uint_eq(m->metrics[0]->interval_ns, 10000);
	ck_assert_uint_eq(m->metrics[1]->interval_ns, 24 * 3600 * LT_NSEC_PER_SEC);
	ck_assert_uint_eq(m->metrics[1]->aggregation, 10000);
	model_free(m);
}
END_TEST

/* ---- filters (filter.h) ------------------------------------------------------ */

START_TEST(filter_keys_make_the_metric_filter)
{
	struct lt_model *m = load_ok("[device \"dev\"]\ntype = sim\n"
				     "[metric \"dev.a\"]\ninterval = 1s\nfilter = not (0, 5]\n"
				     "deadband = 2%\nmin_gap = 6s\nwindow = 1m\n"
				     "[metric \"dev.b\"]\ninterval = 1s\n");
	const struct lt_filter *f = m->metrics[0]->filter;

	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(filter_kind_name(f), "open_closed_reject");
	ck_assert(f->lo == 0 && f->hi == 5);
	ck_assert(f->has_deadband && f->deadband_pct && f->deadband == 2);
	ck_assert_uint_eq(f->min_gap_ns, 6 * LT_NSEC_PER_SEC);
	ck_assert_uint_eq(f->window_ns, 60 * LT_NSEC_PER_SEC);
	/* What a reload compares: a changed filter restarts the metric. */
	ck_assert_uint_eq(m->metrics[0]->conf_hash,
			  conf_hash("deadband=2%\nfilter=not (0, 5]\ninterval=1s\nmin_gap=6s\n"
				    "window=1m\n"));
	/* No key, no filter: the sampler's one branch. */
	ck_assert_ptr_null(m->metrics[1]->filter);
	model_free(m);
}
END_TEST

START_TEST(bad_filter_keys_are_reported_at_their_line)
{
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.a\"]\ninterval = 1s\nfilter = [30, 10]\n"
		      "deadband = -1\nmin_gap = 0\n"
		      "[metric \"dev.b\"]\ninterval = 1s\nfilter = not < 5\n"
		      "[metric \"dev.c\"]\ninterval = 1s\nwindow = 10s\n"
		      "[metric \"dev.d\"]\ninterval = 1s\nmin_gap = 10s\nwindow = 5s\n"
		      "[metric \"dev.e\"]\ninterval = 1s\nfilter = 10..30\n",
		      "{conf}:5: filter: '[30, 10]': the lower bound must be less than the upper "
		      "bound\n"
		      "{conf}:6: deadband: '-1' is negative\n"
		      "{conf}:7: min_gap: min_gap must be 10us to 86400s\n"
		      "{conf}:10: filter: 'not' goes before an interval, not '< 5' (write the "
		      "opposite comparison instead)\n"
		      "{conf}:13: window needs filter, deadband or min_gap: without them every "
		      "sample is sent anyway\n"
		      "{conf}:17: window (5 s) must be longer than min_gap (10 s)\n"
		      "{conf}:20: filter: '10..30' is neither an interval nor a comparison ([LO, "
		      "HI], (LO, HI), [LO, HI) or (LO, HI], each after an optional 'not', or < X, "
		      "<= X, > X, >= X)\n");
}
END_TEST

/* A [profile]'s metric takes the filter keys too, checked when the profile is loaded. */
START_TEST(profile_metrics_take_filter_keys)
{
	assert_errors("[profile \"thermo\"]\ntype = iio\n"
		      "[metric \"thermo.temp\"]\nchannel = in_temp0\ninterval = 1s\n"
		      "filter = (10, 5)\nwindow = 1m\n",
		      "{conf}:6: filter: '(10, 5)': the lower bound must be less than the upper "
		      "bound\n");
	model_free(load_ok("[profile \"thermo\"]\ntype = iio\n"
			   "[metric \"thermo.temp\"]\nchannel = in_temp0\ninterval = 1s\n"
			   "filter = (5, 10)\nwindow = 1m\n"));
}
END_TEST

/* ---- metric templates ([metric "DEV.NAME*"]) -------------------------------- */

static const char template_conf[] = "[device \"host\"]\ntype = file\n"
				    "[metric \"host.zone*\"]\n"
				    "path = {dir}/sys/thermal_zone*/temp\n"
				    "scale = 0.001\nunit = degC\ninterval = 10s\n";

START_TEST(template_makes_one_metric_per_matching_path)
{
	char *text = expand(template_conf);
	struct lt_model *m;
	struct lt_device *dev;
	char err[256];
	double v0 = 0, v1 = 0;

	put("sys/thermal_zone0/temp", "41000\n");
	put("sys/thermal_zone1/temp", "52500\n");
	m = load_ok(text);
	free(text);
	ck_assert_uint_eq(m->nmetrics, 2);
	ck_assert_str_eq(m->metrics[0]->fullname, "host.zone0");
	ck_assert_str_eq(m->metrics[1]->fullname, "host.zone1");
	ck_assert_str_eq(m->metrics[1]->unit, "degC");
	ck_assert_uint_eq(m->metrics[1]->interval_ns, 10 * LT_NSEC_PER_SEC);
	/* Each reads its own file, with the template's scale. */
	dev = model_find_device(m, "host");
	ck_assert_int_eq(dev->drv->open(dev, err, sizeof(err)), 0);
	ck_assert_int_eq(dev->drv->read(dev, m->metrics[0], &v0), 0);
	ck_assert_int_eq(dev->drv->read(dev, m->metrics[1], &v1), 0);
	dev->drv->close(dev);
	ck_assert_double_eq_tol(v0, 41.0, 1e-9);
	ck_assert_double_eq_tol(v1, 52.5, 1e-9);
	model_free(m);
}
END_TEST

START_TEST(template_without_a_match_makes_no_metric)
{
	char *text = expand(template_conf);
	struct lt_model *m = load_ok(text);

	free(text);
	ck_assert_uint_eq(m->nmetrics, 0);
	model_free(m);
}
END_TEST

START_TEST(template_errors_name_the_key)
{
	char *text;

	put("sys/thermal_zone0/temp", "41000\n");
	assert_errors("[device \"host\"]\ntype = file\n"
		      "[metric \"host.zone*\"]\npath = /sys/thermal_zone0/temp\ninterval = 1s\n",
		      "{conf}:3: [metric \"host.zone*\"]: a template (a * in the name) needs one "
		      "key holding a *\n");
	/* A name the template makes is already a metric's, declared in full. */
	text = expand("[device \"host\"]\ntype = file\n"
		      "[metric \"host.zone0\"]\npath = /dev/null\ninterval = 1s\n"
		      "[metric \"host.zone*\"]\npath = {dir}/sys/thermal_zone*/temp\n"
		      "interval = 1s\n");
	put("liotad.conf", text);
	free(text);
	load_fails_with("{conf}:7: [metric \"host.zone*\"]: path matches "
			"'{dir}/sys/thermal_zone0/temp', which makes \"host.zone0\" twice\n");
}
END_TEST

START_TEST(duplicate_section_in_one_file_is_reported)
{
	assert_errors("[device \"boiler\"]\ntype = sim\n"
		      "[daemon]\n"
		      "[device \"boiler\"]\ntype = file\n"
		      "[daemon]\n",
		      "{conf}:4: duplicate section [device \"boiler\"] (first at {conf}:1)\n"
		      "{conf}:6: duplicate section [daemon] (first at {conf}:3)\n");
}
END_TEST

START_TEST(duplicate_key_in_one_section_is_reported)
{
	assert_errors("[device \"boiler\"]\ntype = sim\n"
		      "[metric \"boiler.temp\"]\ninterval = 1s\nunit = K\ninterval = 2s\n",
		      "{conf}:6: duplicate key 'interval' in [metric \"boiler.temp\"] (first at "
		      "line 4)\n");
}
END_TEST

START_TEST(duplicate_in_a_dropin_is_reported_with_its_file)
{
	put("conf.d/a.conf", "[device \"d\"]\n[device \"d\"]\n");
	assert_errors("[device \"d\"]\ntype = sim\n",
		      "{dir}/conf.d/a.conf:2: duplicate section [device \"d\"] (first at "
		      "{dir}/conf.d/a.conf:1)\n");
}
END_TEST

START_TEST(metric_of_a_missing_device_is_reported)
{
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"nodev.temp\"]\ninterval = 1s\n",
		      "{conf}:3: [metric \"nodev.temp\"]: no device \"nodev\"\n");
}
END_TEST

START_TEST(missing_dcc_in_a_dcc_list_is_reported)
{
	assert_errors("[dcc \"carbon\"]\ntype = graphite\ntransport = stdout\n"
		      "[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.x\"]\ninterval = 1s\ndcc = carbon, nope\n"
		      "[metric \"dev.y\"]\ninterval = 1s\ndcc = carbon carbon\n",
		      "{conf}:8: dcc: no DCC named \"nope\"\n"
		      "{conf}:11: dcc: \"carbon\" is listed twice\n");
}
END_TEST

START_TEST(empty_dcc_list_is_reported)
{
	assert_errors("[device \"dev\"]\ntype = sim\n"
		      "[metric \"dev.x\"]\ninterval = 1s\ndcc =\n"
		      "[metric \"dev.y\"]\ninterval = 1s\ndcc = , ,\n",
		      "{conf}:5: dcc: the list is empty (remove the key to use every DCC)\n"
		      "{conf}:8: dcc: the list is empty (remove the key to use every DCC)\n");
}
END_TEST

START_TEST(missing_or_unknown_type_is_reported)
{
	assert_errors(
		"[device \"x\"]\nunit = 1\n"
		"[device \"y\"]\ntype = foo\n"
		"[dcc \"c\"]\nhost = h\n"
		"[dcc \"d\"]\ntype = carbon\n",
		"{conf}:1: [device \"x\"]: type is required (one of: sim, file, can, gpio, iio, "
		"modbus)\n"
		"{conf}:4: type: unknown device type 'foo' (one of: sim, file, can, gpio, iio, "
		"modbus; no package provides it: {pkgs}/foo.so: No such file or directory)\n"
		"{conf}:5: [dcc \"c\"]: type is required (one of: graphite, mqtt, iotcc)\n"
		"{conf}:8: type: unknown DCC type 'carbon' (one of: graphite, mqtt, iotcc; no "
		"package provides it: {pkgs}/carbon.so: No such file or directory)\n");
}
END_TEST

START_TEST(metric_of_a_device_without_driver_gets_no_second_error)
{
	assert_errors("[device \"x\"]\ntype = foo\n"
		      "[metric \"x.m\"]\ninterval = 1s\nfunction = sine\n",
		      "{conf}:2: type: unknown device type 'foo' (one of: sim, file, can, gpio, "
		      "iio, modbus; no package provides it: {pkgs}/foo.so: No such file or "
		      "directory)\n");
}
END_TEST

/* A driver's device check reports at the device section, only when its options were taken. */
START_TEST(device_check_reports_at_the_device_section)
{
	assert_errors("[device \"m\"]\ntype = modbus\ntransport = tcp\n"
		      "[device \"n\"]\ntype = modbus\nhost = h\nparity = mark\n",
		      "{conf}:1: [device \"m\"]: host is required with transport = tcp\n"
		      "{conf}:7: parity: unknown parity 'mark' (none, even or odd)\n");
}
END_TEST

START_TEST(missing_interval_is_reported)
{
	assert_errors("[device \"boiler\"]\ntype = sim\n"
		      "[metric \"boiler.temp\"]\n",
		      "{conf}:3: [metric \"boiler.temp\"]: interval is required\n");
}
END_TEST

START_TEST(bad_names_are_reported)
{
	assert_errors("[device \"a.b\"]\ntype = sim\n"
		      "[dcc \"\"]\n"
		      "[device \"123456789012345678901234567890123456789012345678901\"]\n"
		      "[metric \"nodot\"]\n"
		      "[metric \"a.b.c\"]\n"
		      "[device \"ok name_-9\"]\ntype = sim\n"
		      "[edge]\nname = bad/name\n",
		      "{conf}:1: [device \"a.b\"]: bad name: use 1 to 50 of A-Z a-z 0-9 space _ -\n"
		      "{conf}:3: [dcc \"\"]: bad name: use 1 to 50 of A-Z a-z 0-9 space _ -\n"
		      "{conf}:4: [device \"123456789012345678901234567890123456789012345678901\"]: "
		      "bad name: use 1 to 50 of A-Z a-z 0-9 space _ -\n"
		      "{conf}:5: [metric \"nodot\"]: bad name: use DEVICE.METRIC, each 1 to 50 of "
		      "A-Z a-z 0-9 space _ -\n"
		      "{conf}:6: [metric \"a.b.c\"]: bad name: use DEVICE.METRIC, each 1 to 50 of "
		      "A-Z a-z 0-9 space _ -\n"
		      "{conf}:10: name: 'bad/name' is not a valid edge name: use 1 to 50 of A-Z "
		      "a-z 0-9 space _ - or .\n");
}
END_TEST

START_TEST(malformed_headers_are_reported)
{
	assert_errors("[device]\ntype = sim\n"
		      "[metric]\n"
		      "[device boiler]\n"
		      "[device \"boiler]\n"
		      "[daemon \"x\"]\n"
		      "[edge]\n",
		      "{conf}:1: [device] needs a name: use [device \"NAME\"]\n"
		      "{conf}:3: [metric] needs a name: use [metric \"DEVICE.METRIC\"]\n"
		      "{conf}:4: bad section [device boiler]: use [device \"NAME\"]\n"
		      "{conf}:5: bad section [device \"boiler]: use [device \"NAME\"]\n"
		      "{conf}:6: bad section [daemon \"x\"]: use [daemon]\n");
}
END_TEST

START_TEST(syntax_errors_are_reported_with_their_line)
{
	assert_errors("[daemon]\n"
		      "log_level\n"
		      "[edge\n"
		      "name = ignored-after-a-broken-header\n"
		      "[device \"x\" ; comment]\n"
		      "[daemon]\n"
		      "flush_timeout ; = 1s\n",
		      "{conf}:2: syntax error: expected [section] or key = value\n"
		      "{conf}:3: syntax error: expected [section] or key = value\n"
		      "{conf}:5: syntax error: expected [section] or key = value\n"
		      "{conf}:6: duplicate section [daemon] (first at {conf}:1)\n"
		      "{conf}:7: syntax error: expected [section] or key = value\n");
}
END_TEST

START_TEST(key_outside_any_section_is_reported)
{
	assert_errors("interval = 1s\n[daemon]\n",
		      "{conf}:1: key 'interval' is outside any section\n");
}
END_TEST

START_TEST(overlong_line_is_reported)
{
	char text[400];

	snprintf(text, sizeof(text), "[daemon]\nruntime_dir = /%0250d\n[edge]\nname = e\n", 0);
	assert_errors(text, "{conf}:2: line too long (at most 199 characters)\n");
}
END_TEST

/* Write @len bytes of @text as liotad.conf (fputs stops at a NUL). */
static void put_bytes(const char *text, size_t len)
{
	FILE *f = fopen(conf, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(nul_byte_in_a_line_is_reported)
{
	/* Before the check, inih saw "path = /tmp/ok" and took it. */
	static const char text[] = "[daemon]\n"
				   "[device \"d\"]\ntype = file\n"
				   "[metric \"d.m\"]\ninterval = 1s\n"
				   "path = /tmp/ok\0/../../etc/shadow\n";

	put_bytes(text, sizeof(text) - 1);
	/* The whole line is refused: the metric has no path. */
	load_fails_with("{conf}:4: [metric \"d.m\"]: path is required\n"
			"{conf}:6: NUL byte at column 15: not allowed in a configuration file\n");
}
END_TEST

START_TEST(control_characters_are_reported_but_tabs_and_crlf_are_fine)
{
	assert_errors("[daemon]\r\n\tlog_level = info\r\n[dcc \"g\"]\ntype = graphite\n"
		      "transport = stdout\nprefix = a\033[2Jb\n",
		      "{conf}:6: control character 0x1b at column 11: not allowed in a "
		      "configuration file\n");
}
END_TEST

START_TEST(driver_check_error_is_reported_at_the_header)
{
	char *errors = NULL, *prefix = expand("{conf}:3: [metric \"dev.x\"]: ");
	struct lt_model *m = NULL;

	put("liotad.conf", "[device \"dev\"]\ntype = sim\n"
			   "[metric \"dev.x\"]\ninterval = 1s\nfunction = random_walk\n"
			   "min = 5\nmax = 1\n");
	ck_assert_int_eq(config_load(conf, machine, &m, &errors), -EINVAL);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(strncmp(errors, prefix, strlen(prefix)) == 0, "%s", errors);
	ck_assert_str_eq(strchr(errors, '\n'), "\n");
	free(errors);
	free(prefix);
}
END_TEST

START_TEST(unreadable_main_file_is_reported)
{
	struct lt_model *m = NULL;
	char *errors = NULL,
	     *want = expand("{dir}/absent.conf: cannot read: No such file or "
			    "directory\n"),
	     *path = expand("{dir}/absent.conf");

	ck_assert_int_eq(config_load(path, machine, &m, &errors), -EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(errors, want);
	free(errors);
	free(want);
	free(path);
}
END_TEST

START_TEST(unreadable_dropin_is_reported)
{
	char *sub = expand("{dir}/conf.d/b.conf");

	put("conf.d/a.conf", "[daemon]\n");
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	free(sub);
	assert_errors("[daemon]\n", "{dir}/conf.d/b.conf: cannot read: Is a directory\n");
}
END_TEST

/* Configuration decides what runs: only files and folders nobody else can change. */
START_TEST(files_others_can_write_are_refused)
{
	char *p;

	put("liotad.conf", "[daemon]\n");
	ck_assert_int_eq(chmod(conf, 0664), 0);
	load_fails_with("{conf}: refused: writable by group or others (mode 0664)\n");
	ck_assert_int_eq(chmod(conf, 0644), 0);

	put("conf.d/a.conf", "[daemon]\n");
	p = expand("{dir}/conf.d/a.conf");
	ck_assert_int_eq(chmod(p, 0666), 0);
	free(p);
	load_fails_with("{dir}/conf.d/a.conf: refused: writable by group or others (mode 0666)\n");

	/* Whoever can write conf.d can add and remove drop-ins. */
	p = expand("{dir}/conf.d");
	ck_assert_int_eq(chmod(p, 01777), 0);
	free(p);
	load_fails_with("{dir}/conf.d: refused: writable by group or others (mode 1777)\n");
}
END_TEST

/* As root (tests run as root here and in CI): a file of another user is refused. */
START_TEST(files_of_another_user_are_refused)
{
	if (geteuid() != 0) {
		printf("SKIP files_of_another_user_are_refused: needs root to chown\n");
		return;
	}
	put("liotad.conf", "[daemon]\n");
	ck_assert_int_eq(chown(conf, 65534, 65534), 0);
	load_fails_with("{conf}: refused: owned by uid 65534, neither root nor liotad's uid 0\n");
}
END_TEST

static void load_quietly(void)
{
	struct lt_model *m = NULL;

	if (config_load(conf, machine, &m, NULL) == 0)
		model_free(m);
}

/* As ssh does for keys: a password in a file others can read is warned about. */
START_TEST(password_in_a_file_others_can_read_is_warned_about)
{
	static const char text[] = "[dcc \"m\"]\ntype = mqtt\nhost = 127.0.0.1\n"
				   "username = u\npassword = p\n";
	char *out, *want;

	put("liotad.conf", text);
	ck_assert_int_eq(chmod(conf, 0644), 0);
	out = lt_capture_stderr(load_quietly);
	want = expand("liotad: warning: {conf}:5: holds a password but others can read the file "
		      "(mode 0644): chmod o-r it\n");
	ck_assert_str_eq(out, want);
	free(out);
	free(want);
	/* Readable by its group only (root:liotad 0640): nothing to say. */
	ck_assert_int_eq(chmod(conf, 0640), 0);
	out = lt_capture_stderr(load_quietly);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

/* A build reads the kept sections without copying them; the model owns what it keeps. */
START_TEST(built_model_outlives_the_files_read)
{
	struct lt_model *m = NULL, *m2 = NULL;
	struct lt_conf *c = NULL;

	put("liotad.conf", "[device \"d\"]\ntype = sim\n");
	put("conf.d/m.conf", "[metric \"d.m\"]\ninterval = 1s\n");
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert_int_eq(config_build(c, machine, NULL, 0, &m, NULL), 0);
	/* A second build from the same files, freed: the first is untouched. */
	ck_assert_int_eq(config_build(c, machine, NULL, 0, &m2, NULL), 0);
	ck_assert_ptr_eq(m2->metrics[0]->origin.file, m2->files[1]);
	model_free(m2);
	config_free(c);
	ck_assert_uint_eq(m->nfiles, 2);
	ck_assert_ptr_eq(m->devices[0]->origin.file, m->files[0]);
	ck_assert_int_eq(m->devices[0]->origin.line, 1);
	ck_assert_ptr_eq(m->metrics[0]->origin.file, m->files[1]);
	ck_assert_int_eq(m->metrics[0]->origin.line, 1);
	model_free(m);
}
END_TEST

/* A SIGHUP reuses the last parse only while every file read is as it was. */
START_TEST(unchanged_files_are_reused_and_changes_are_seen)
{
	struct lt_conf *c = NULL;
	char *other = xasprintf("%s/other.conf", dir), *dropin = xasprintf("%s/conf.d/a.conf", dir),
	     *more = xasprintf("%s/conf.d/b.conf", dir), *dropins = xasprintf("%s/conf.d", dir);

	put("liotad.conf", "[daemon]\n");
	put("other.conf", "[daemon]\n");
	put("conf.d/a.conf", "[edge]\nname = e\n");
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert(config_reuse(c, conf));
	ck_assert(!config_reuse(c, other));
	ck_assert(!config_reuse(NULL, conf));
	/* A drop-in more, then gone again: the same files as read. */
	put("conf.d/b.conf", "");
	ck_assert(!config_reuse(c, conf));
	ck_assert_int_eq(unlink(more), 0);
	ck_assert(config_reuse(c, conf));
	/* Trust: a chmod, even back to the same mode, is read again. */
	ck_assert_int_eq(chmod(dropin, 0600), 0);
	ck_assert(!config_reuse(c, conf));
	config_free(c);
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert(config_reuse(c, conf));
	/* The same size, other bytes. */
	put("conf.d/a.conf", "[edge]\nname = f\n");
	ck_assert(!config_reuse(c, conf));
	config_free(c);
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert(config_reuse(c, conf));
	put("liotad.conf", "[daemon]\n");
	ck_assert(!config_reuse(c, conf));
	config_free(c);
	/* Without a conf.d at first, then one with a drop-in. */
	rm_rf(dropins);
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert(config_reuse(c, conf));
	put("conf.d/a.conf", "[edge]\nname = e\n");
	ck_assert(!config_reuse(c, conf));
	config_free(c);
	/* What was not read in full is read again. */
	ck_assert_int_eq(chmod(dropin, 0666), 0);
	ck_assert_int_eq(config_read(conf, &c), 0);
	ck_assert(!config_reuse(c, conf));
	config_free(c);
	free(other);
	free(dropin);
	free(more);
	free(dropins);
}
END_TEST

static struct lt_conf *reused;

static void reuse_quietly(void)
{
	ck_assert(config_reuse(reused, conf));
}

static void read_quietly(void)
{
	ck_assert_int_eq(config_read(conf, &reused), 0);
}

/* Reusing the files logs what reading them logs. */
START_TEST(reuse_warns_about_a_password_again)
{
	static const char text[] = "[dcc \"m\"]\ntype = mqtt\nhost = 127.0.0.1\n"
				   "username = u\npassword = p\n";
	char *read, *again;

	put("liotad.conf", text);
	ck_assert_int_eq(chmod(conf, 0644), 0);
	read = lt_capture_stderr(read_quietly);
	again = lt_capture_stderr(reuse_quietly);
	ck_assert_ptr_nonnull(strstr(read, ":5: holds a password but others can read"));
	ck_assert_str_eq(again, read);
	config_free(reused);
	free(read);
	free(again);
}
END_TEST

START_TEST(missing_machine_id_is_reported)
{
	unlink(machine);
	assert_errors("[edge]\nname = e\n",
		      "{conf}: cannot derive the edge id from {dir}/machine-id: No such file or "
		      "directory\n");
}
END_TEST

START_TEST(all_errors_are_reported_together_in_file_order)
{
	put("conf.d/x.conf", "[metric \"dev.y\"]\ninterval = 0\n");
	unlink(machine);
	assert_errors("[metric \"dev.x\"]\ninterval = 1s\nfoo = 1\n"
		      "[device \"dev\"]\ntype = sim\nbar = 2\n"
		      "[zzz]\n",
		      "{conf}: cannot derive the edge id from {dir}/machine-id: No such file or "
		      "directory\n"
		      "{conf}:3: unknown key 'foo' in [metric \"dev.x\"]\n"
		      "{conf}:6: unknown key 'bar' in [device \"dev\"]\n"
		      "{conf}:7: unknown section [zzz]\n"
		      "{dir}/conf.d/x.conf:2: interval: 0 is out of range (10us..24h)\n");
}
END_TEST

START_TEST(errors_stop_at_one_hundred_lines)
{
	size_t len = 0, lines = 0;
	char *text = xmalloc(200 * 16), *errors = NULL, *want, *p;
	struct lt_model *m = NULL;

	for (int i = 0; i < 150; i++)
		len += (size_t)sprintf(text + len, "[x%d]\n", i);
	put("liotad.conf", text);
	ck_assert_int_eq(config_load(conf, machine, &m, &errors), -EINVAL);
	for (p = errors; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 100);
	want = expand("{conf}: 51 more errors not shown\n");
	ck_assert_str_eq(errors + strlen(errors) - strlen(want), want);
	free(want);
	free(errors);
	free(text);
}
END_TEST

START_TEST(failed_load_leaves_nothing_behind)
{
	/* Drivers initialised before the error are freed (ASan checks for leaks). */
	put("conf.d/z.conf", "[metric \"boiler.temp\"]\nfunction = counter\n");
	assert_errors("[dcc \"carbon\"]\ntype = graphite\ntransport = stdout\n"
		      "[device \"boiler\"]\ntype = sim\n"
		      "[device \"disk\"]\ntype = file\n"
		      "[metric \"disk.load\"]\ninterval = 1s\npath = /proc/loadavg\n"
		      "[metric \"boiler.temp\"]\ninterval = 1s\n"
		      "[metric \"boiler.bad\"]\ninterval = 1s\nnope = 1\n",
		      "{conf}:15: unknown key 'nope' in [metric \"boiler.bad\"]\n");
}
END_TEST

/* ---- config_find -------------------------------------------------------------- */

/* Run config_find() from dir/cwd with HOME=dir/home and LIOTAD_CONF as given. */
static char *find_from(const char *liotad_conf, char *err, size_t errlen)
{
	char *cwd = xasprintf("%s/cwd", dir), *home = xasprintf("%s/home", dir);

	mkdir_p("cwd");
	mkdir_p("home/.config/liotad");
	ck_assert_int_eq(chdir(cwd), 0);
	setenv("HOME", home, 1);
	if (liotad_conf)
		setenv("LIOTAD_CONF", liotad_conf, 1);
	else
		unsetenv("LIOTAD_CONF");
	free(cwd);
	free(home);
	return config_find(err, errlen);
}

START_TEST(config_find_searches_in_order)
{
	char err[512], *found, *want, *env = expand("{dir}/env.conf");

	put("env.conf", "");
	put("home/.config/liotad/liotad.conf", "");
	put("cwd/liotad.conf", "");

	/* Never the current folder's: a service's configuration must not depend on it. */
	found = find_from(env, err, sizeof(err));
	want = expand("{dir}/home/.config/liotad/liotad.conf");
	ck_assert_str_eq(found, want);
	free(found);
	free(want);

	ck_assert_int_eq(unlink("../home/.config/liotad/liotad.conf"), 0);
	found = find_from(env, err, sizeof(err));
	ck_assert_str_eq(found, env);
	free(found);
	free(env);
}
END_TEST

START_TEST(config_find_accepts_a_folder_in_liotad_conf)
{
	char err[512], *found, *want, *env = expand("{dir}/etc");

	mkdir_p("etc");
	put("etc/liotad.conf", "");
	found = find_from(env, err, sizeof(err));
	want = expand("{dir}/etc/liotad.conf");
	ck_assert_str_eq(found, want);
	free(found);
	free(env);

	env = expand("{dir}/etc/");
	found = find_from(env, err, sizeof(err));
	ck_assert_str_eq(found, want);
	free(found);
	free(want);
	free(env);
}
END_TEST

START_TEST(config_find_lists_the_places_tried)
{
	char err[1024], *want, *env = expand("{dir}/nowhere.conf");

	if (access(SYSCONFDIR "/liotad/liotad.conf", F_OK) == 0)
		return; /* installed on this machine: it would be found */
	ck_assert_ptr_null(find_from(env, err, sizeof(err)));
	put("cwd/liotad.conf", "");
	want = expand("no configuration file found (tried: "
		      "{dir}/home/.config/liotad/liotad.conf, {dir}/nowhere.conf, " SYSCONFDIR
		      "/liotad/liotad.conf)");
	ck_assert_str_eq(err, want);
	free(want);
	free(env);
}
END_TEST

/* ---- device properties ------------------------------------------------------- */

START_TEST(properties_are_the_cores_in_configuration_order)
{
	/* sim would report an unknown key if it saw them. */
	struct lt_model *m = load_ok("[device \"d\"]\ntype = sim\nproperty.serial = A1-B2\n"
				     "property.vendor = Acme GmbH & Co. \"KG\"\n"
				     "property.udev.path = /devices/platform/x:y\n"
				     "property.empty =\n");
	const struct lt_device *d = model_find_device(m, "d");

	ck_assert_uint_eq(d->nprops, 4);
	ck_assert_str_eq(d->props[0].key, "serial");
	ck_assert_str_eq(d->props[0].value, "A1-B2");
	ck_assert_str_eq(d->props[1].key, "vendor");
	ck_assert_str_eq(d->props[1].value, "Acme GmbH & Co. \"KG\"");
	ck_assert_str_eq(d->props[2].key, "udev.path");
	ck_assert_str_eq(d->props[2].value, "/devices/platform/x:y");
	ck_assert_str_eq(d->props[3].key, "empty");
	ck_assert_str_eq(d->props[3].value, "");
	/* What a reload compares: a changed property is a changed device. */
	ck_assert_ptr_nonnull(strstr(d->conf, "property.serial=A1-B2\n"));
	model_free(m);
}
END_TEST

/* What a reload compares: the keys sorted, whatever their order in the file. */
START_TEST(conf_text_is_sorted_by_key)
{
	char up[1024] = "[device \"d\"]\ntype = sim\n", down[1024] = "[device \"d\"]\n";
	char want[1024] = "";
	struct lt_model *m;

	/* 21 keys: more than a section usually has (another sort) */
	for (int i = 0; i < 20; i++) {
		snprintf(up + strlen(up), sizeof(up) - strlen(up), "property.k%02d = %d\n", i, i);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "property.k%02d=%d\n", i,
			 i);
	}
	for (int i = 19; i >= 0; i--)
		snprintf(down + strlen(down), sizeof(down) - strlen(down), "property.k%02d = %d\n",
			 i, i);
	strcat(down, "type = sim\n");
	strcat(want, "type=sim\n");
	m = load_ok(up);
	ck_assert_str_eq(model_find_device(m, "d")->conf, want);
	model_free(m);
	m = load_ok(down);
	ck_assert_str_eq(model_find_device(m, "d")->conf, want);
	model_free(m);
	/* A few keys. */
	m = load_ok("[device \"d\"]\ntype = sim\n[metric \"d.m\"]\nvalue = 2\nfunction = constant\n"
		    "interval = 1s\n");
	ck_assert_uint_eq(m->metrics[0]->conf_hash,
			  conf_hash("function=constant\ninterval=1s\nvalue=2\n"));
	model_free(m);
}
END_TEST

START_TEST(device_without_properties_has_none)
{
	struct lt_model *m = load_ok("[device \"d\"]\ntype = sim\n");

	ck_assert_uint_eq(model_find_device(m, "d")->nprops, 0);
	ck_assert_ptr_null(model_find_device(m, "d")->props);
	model_free(m);
}
END_TEST

START_TEST(bad_properties_are_reported_at_their_line)
{
	char text[300];

	snprintf(text, sizeof(text),
		 "[device \"d\"]\ntype = sim\nproperty.b@d = x\nproperty. = x\n"
		 "property.%065d = x\nproperty.%064d = fine\nproperty.tab = a\tb\n",
		 0, 1);
	assert_errors(text,
		      "{conf}:3: bad property name 'b@d': 1 to 64 of A-Z a-z 0-9 _ . -\n"
		      "{conf}:4: bad property name '': 1 to 64 of A-Z a-z 0-9 _ . -\n"
		      "{conf}:5: bad property name '00000000000000000000000000000000000000000000"
		      "000000000000000000000': 1 to 64 of A-Z a-z 0-9 _ . -\n"
		      "{conf}:7: property 'tab': control character 0x09 in the value\n");
}
END_TEST

/* Even without a driver: the properties are the core's. */
START_TEST(bad_property_of_a_device_without_type_is_reported)
{
	assert_errors("[device \"d\"]\nproperty.a b = x\n",
		      "{conf}:1: [device \"d\"]: type is required (one of: sim, file, can, gpio, "
		      "iio, modbus)\n"
		      "{conf}:2: bad property name 'a b': 1 to 64 of A-Z a-z 0-9 _ . -\n");
}
END_TEST

/* The bounds of lt_device_add_property(), as a driver's device_check meets them. */
START_TEST(add_property_enforces_its_bounds)
{
	struct lt_model *m = load_ok("[device \"d\"]\ntype = sim\nproperty.serial = 1\n");
	struct lt_device *d = model_find_device(m, "d");
	char value[LT_PROPERTY_VALUE_MAX + 2], key[16], err[256];

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	ck_assert_int_eq(lt_device_add_property(d, "long", value, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "property 'long': value longer than 256 bytes");
	value[LT_PROPERTY_VALUE_MAX] = '\0';
	ck_assert_int_eq(lt_device_add_property(d, "long", value, err, sizeof(err)), 0);
	ck_assert_str_eq(d->props[1].value, value);

	ck_assert_int_eq(lt_device_add_property(d, "nl", "a\nb", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "property 'nl': control character 0x0a in the value");
	ck_assert_int_eq(lt_device_add_property(d, "del", "a\x7f", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_device_add_property(d, "utf8", "Gr\xc3\xbcn", err, sizeof(err)), 0);
	ck_assert_int_eq(lt_device_add_property(d, "latin1", "Gr\xfcn", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "property 'latin1': the value is not valid UTF-8");

	ck_assert_int_eq(lt_device_add_property(d, "serial", "2", err, sizeof(err)), -EEXIST);
	ck_assert_str_eq(err, "property 'serial' is set twice");
	ck_assert_str_eq(d->props[0].value, "1");

	for (unsigned i = d->nprops; i < LT_DEVICE_PROPERTIES_MAX; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		ck_assert_int_eq(lt_device_add_property(d, key, "x", err, sizeof(err)), 0);
	}
	ck_assert_int_eq(lt_device_add_property(d, "more", "x", err, sizeof(err)), -ENOSPC);
	ck_assert_str_eq(err, "property 'more': a device has at most 32 properties");
	ck_assert_uint_eq(d->nprops, LT_DEVICE_PROPERTIES_MAX);
	model_free(m);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("good"), *bad = tcase_create("errors"),
	      *find = tcase_create("find"), *props = tcase_create("properties");

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_test(good, full_configuration_builds_the_model);
	tcase_add_test(good, template_makes_one_metric_per_matching_path);
	tcase_add_test(good, template_without_a_match_makes_no_metric);
	tcase_add_test(good, defaults_apply_when_keys_are_absent);
	tcase_add_test(good, metrics_publish_to_every_dcc_by_default);
	tcase_add_test(good, section_order_does_not_matter);
	tcase_add_test(good, dropins_apply_in_sorted_order_and_override);
	tcase_add_test(good, a_dropin_folder_without_dropins_adds_nothing);
	tcase_add_test(good, unchanged_files_are_reused_and_changes_are_seen);
	tcase_add_test(good, built_model_outlives_the_files_read);
	tcase_add_test(good, syntax_tolerated_by_inih_is_accepted);
	tcase_add_test(good, edge_id_comes_from_the_machine_id);
	tcase_add_test(good, interval_limits_are_inclusive);
	tcase_add_test(good, filter_keys_make_the_metric_filter);
	tcase_add_test(good, units_are_checked_and_converters_made);
	tcase_add_test(good, model_free_releases_registration_ids);
	tcase_add_test(good, model_free_accepts_null);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, unknown_section_is_reported);
	tcase_add_test(bad, unknown_key_is_reported_in_every_section);
	tcase_add_test(bad, unknown_driver_key_of_a_metric_is_reported);
	tcase_add_test(bad, driver_option_error_is_prefixed_with_the_key);
	tcase_add_test(bad, bad_values_are_reported_with_the_key);
	tcase_add_test(bad, bad_filter_keys_are_reported_at_their_line);
	tcase_add_test(bad, profile_metrics_take_filter_keys);
	tcase_add_test(bad, lane_capacity_limits_are_enforced);
	tcase_add_test(bad, bad_units_are_reported_with_file_and_line);
	tcase_add_test(bad, an_unreadable_unit_database_is_reported_once);
	tcase_add_test(bad, duplicate_section_in_one_file_is_reported);
	tcase_add_test(bad, template_errors_name_the_key);
	tcase_add_test(bad, duplicate_key_in_one_section_is_reported);
	tcase_add_test(bad, duplicate_in_a_dropin_is_reported_with_its_file);
	tcase_add_test(bad, metric_of_a_missing_device_is_reported);
	tcase_add_test(bad, missing_dcc_in_a_dcc_list_is_reported);
	tcase_add_test(bad, empty_dcc_list_is_reported);
	tcase_add_test(bad, missing_or_unknown_type_is_reported);
	tcase_add_test(bad, metric_of_a_device_without_driver_gets_no_second_error);
	tcase_add_test(bad, device_check_reports_at_the_device_section);
	tcase_add_test(bad, missing_interval_is_reported);
	tcase_add_test(bad, bad_names_are_reported);
	tcase_add_test(bad, malformed_headers_are_reported);
	tcase_add_test(bad, syntax_errors_are_reported_with_their_line);
	tcase_add_test(bad, key_outside_any_section_is_reported);
	tcase_add_test(bad, overlong_line_is_reported);
	tcase_add_test(bad, nul_byte_in_a_line_is_reported);
	tcase_add_test(bad, control_characters_are_reported_but_tabs_and_crlf_are_fine);
	tcase_add_test(bad, driver_check_error_is_reported_at_the_header);
	tcase_add_test(bad, unreadable_main_file_is_reported);
	tcase_add_test(bad, unreadable_dropin_is_reported);
	tcase_add_test(bad, files_others_can_write_are_refused);
	tcase_add_test(bad, files_of_another_user_are_refused);
	tcase_add_test(bad, password_in_a_file_others_can_read_is_warned_about);
	tcase_add_test(bad, reuse_warns_about_a_password_again);
	tcase_add_test(bad, missing_machine_id_is_reported);
	tcase_add_test(bad, all_errors_are_reported_together_in_file_order);
	tcase_add_test(bad, errors_stop_at_one_hundred_lines);
	tcase_add_test(bad, failed_load_leaves_nothing_behind);
	tcase_add_test(bad, errors_text_is_optional);
	suite_add_tcase(s, bad);

	tcase_add_checked_fixture(props, setup, teardown);
	tcase_add_test(props, properties_are_the_cores_in_configuration_order);
	tcase_add_test(props, device_without_properties_has_none);
	tcase_add_test(props, conf_text_is_sorted_by_key);
	tcase_add_test(props, bad_properties_are_reported_at_their_line);
	tcase_add_test(props, bad_property_of_a_device_without_type_is_reported);
	tcase_add_test(props, add_property_enforces_its_bounds);
	suite_add_tcase(s, props);

	tcase_add_checked_fixture(find, setup, teardown);
	tcase_add_test(find, config_find_searches_in_order);
	tcase_add_test(find, config_find_accepts_a_folder_in_liotad_conf);
	tcase_add_test(find, config_find_lists_the_places_tried);
	suite_add_tcase(s, find);
	return s;
}

LT_UNIT_MAIN_INTREE(config_suite)
