/* SPDX-License-Identifier: BSD-2-Clause */
/* The package dependency resolver (src/core/pkg_graph.c) and loader (src/core/pkg.c). */
#include <errno.h>
#include <gcrypt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/model.h"
#include "core/pkg.h"
#include "core/pkg_graph.h"
#include "core/pkg_hold.h"
#include "core/util.h"
#include "unit.h"

/* A table of packages; a name missing from it is "not in the folder". */
struct table {
	const struct pkg_node *nodes;
	size_t n;
	unsigned lookups;
};

static const struct pkg_node *lookup(void *ctx, const char *name, int *rc, char *err, size_t errlen)
{
	struct table *t = ctx;

	t->lookups++;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->nodes[i].name, name))
			return &t->nodes[i];
	snprintf(err, errlen, "no %s.so in the package folder", name);
	*rc = -ENOENT;
	return NULL;
}

#define DEPS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct pkg_node world[] = {
	{ "graphite", NULL },
	{ "stream", NULL },
	{ "tls", NULL },
	{ "mqtt-transport", DEPS("tls") },
	{ "mqtt", DEPS("mqtt-transport") },
	{ "iotcc", DEPS("mqtt-transport", "tls") },
	{ "needs-ghost", DEPS("tls", "ghost") },
	{ "self", DEPS("self") },
	{ "a", DEPS("b") },
	{ "b", DEPS("c") },
	{ "c", DEPS("a") },
};

static int order_of(const char *want, const char **order, size_t max, char *err, size_t errlen)
{
	struct table t = { world, ARRAY_SIZE(world), 0 };

	return pkg_graph_load_order(want, lookup, &t, order, max, err, errlen);
}

static char *join(const char **names, int n)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
					names[i]);
	return buf;
}

START_TEST(test_no_dependencies)
{
	const char *order[8];
	char err[256] = "";
	int n = order_of("graphite", order, 8, err, sizeof(err));

	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(order[0], "graphite");
}
END_TEST

START_TEST(test_dependencies_first_each_once)
{
	const char *order[8];
	char err[256] = "";
	int n = order_of("iotcc", order, 8, err, sizeof(err));

	/* tls is needed twice (through mqtt-transport and directly): loaded once, first. */
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(join(order, n), "tls mqtt-transport iotcc");
	n = order_of("mqtt", order, 8, err, sizeof(err));
	ck_assert_str_eq(join(order, n), "tls mqtt-transport mqtt");
}
END_TEST

START_TEST(test_missing)
{
	const char *order[8];
	char err[256] = "";

	ck_assert_int_eq(order_of("nothing", order, 8, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no nothing.so in the package folder");
	ck_assert_int_eq(order_of("needs-ghost", order, 8, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "package needs-ghost needs ghost: no ghost.so in the package folder");
}
END_TEST

START_TEST(test_cycles)
{
	const char *order[8];
	char err[256] = "";

	ck_assert_int_eq(order_of("self", order, 8, err, sizeof(err)), -ELOOP);
	ck_assert_str_eq(err, "dependency cycle: self -> self");
	ck_assert_int_eq(order_of("a", order, 8, err, sizeof(err)), -ELOOP);
	ck_assert_str_eq(err, "dependency cycle: a -> b -> c -> a");
	ck_assert_int_eq(order_of("b", order, 8, err, sizeof(err)), -ELOOP);
	ck_assert_str_eq(err, "dependency cycle: b -> c -> a -> b");
}
END_TEST

START_TEST(test_too_many)
{
	const char *order[8];
	char err[256] = "";

	ck_assert_int_eq(order_of("iotcc", order, 2, err, sizeof(err)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "more than 2 packages"));
}
END_TEST

/* A chain longer than PKG_GRAPH_MAX: refused, not a stack overflow. */
#define CHAIN (PKG_GRAPH_MAX + 5)
static char chain_names[CHAIN][16];
static const char *chain_deps[CHAIN][2];
static struct pkg_node chain[CHAIN];

START_TEST(test_deep_chain)
{
	const char *order[PKG_GRAPH_MAX];
	char err[256] = "";
	struct table t = { chain, CHAIN, 0 };

	for (int i = 0; i < CHAIN; i++) {
		snprintf(chain_names[i], sizeof(chain_names[i]), "p%d", i);
		chain_deps[i][0] = i + 1 < CHAIN ? chain_names[i + 1] : NULL;
		chain_deps[i][1] = NULL;
		chain[i] = (struct pkg_node){ chain_names[i], chain_deps[i] };
	}
	ck_assert_int_eq(
		pkg_graph_load_order("p0", lookup, &t, order, ARRAY_SIZE(order), err, sizeof(err)),
		-E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "nest deeper than"));
	ck_assert_uint_le(t.lookups, PKG_GRAPH_MAX);
	/* The last PKG_GRAPH_MAX links alone fit. */
	t.lookups = 0;
	ck_assert_int_eq(pkg_graph_load_order(chain_names[CHAIN - PKG_GRAPH_MAX], lookup, &t, order,
					      ARRAY_SIZE(order), err, sizeof(err)),
			 PKG_GRAPH_MAX);
	ck_assert_str_eq(order[0], chain_names[CHAIN - 1]);
}
END_TEST

START_TEST(test_unload_dependents_first)
{
	const struct pkg_node loaded[] = {
		{ "tls", NULL },
		{ "mqtt-transport", DEPS("tls") },
		{ "mqtt", DEPS("mqtt-transport") },
		{ "iotcc", DEPS("mqtt-transport", "tls") },
		{ "graphite", NULL },
	};
	const char *order[ARRAY_SIZE(loaded)];
	int n;

	n = pkg_graph_unload_order(loaded, ARRAY_SIZE(loaded), "tls", order);
	ck_assert_str_eq(join(order, n), "mqtt iotcc mqtt-transport tls");
	n = pkg_graph_unload_order(loaded, ARRAY_SIZE(loaded), "mqtt", order);
	ck_assert_str_eq(join(order, n), "mqtt");
	n = pkg_graph_unload_order(loaded, ARRAY_SIZE(loaded), "graphite", order);
	ck_assert_str_eq(join(order, n), "graphite");
	ck_assert_int_eq(pkg_graph_unload_order(loaded, ARRAY_SIZE(loaded), "ghost", order),
			 -ENOENT);
}
END_TEST

/* ---- the loader, on tests/unit/test_pkgs.c's packages ---------------------------------------- */

static char pkgdir[512], exits[600], tmpdir[64];

static void loader_setup(void)
{
	const char *b = getenv("top_builddir");

	snprintf(pkgdir, sizeof(pkgdir), "%s/tests/unit/pkgs", b ? b : ".");
	ck_assert_int_eq(pkg_set_dir(pkgdir), 0);
	strcpy(tmpdir, "/tmp/liotad-test-pkg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(exits, sizeof(exits), "%s/exits", tmpdir);
	setenv("LT_TEST_PKG_EXITS", exits, 1);
}

static void loader_teardown(void)
{
	char cmd[128];

	pkg_unload_all();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* What the packages' exits wrote, one name a line, joined by spaces. */
static const char *exited(void)
{
	static char buf[256];
	FILE *f = fopen(exits, "r");
	size_t n = 0;
	char line[64];

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", line);
	}
	if (f)
		fclose(f);
	unlink(exits);
	return buf;
}

START_TEST(test_load_registers_drivers)
{
	struct pkg_info info[PKG_MAX];
	char err[512] = "";

	ck_assert_ptr_null(pkg_device_driver("good"));
	ck_assert_msg(pkg_load("good", NULL, err, sizeof(err)) == 1, "%s", err);
	ck_assert_ptr_nonnull(pkg_device_driver("good"));
	ck_assert_ptr_nonnull(pkg_device_driver("good-two"));
	ck_assert_ptr_null(pkg_dcc_driver("good"));
	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), 0); /* loaded already */
	ck_assert_uint_eq(pkg_list(info), 1);
	ck_assert_str_eq(info[0].name, "good");
	ck_assert_str_eq(info[0].version, "1.0");
	ck_assert_uint_eq(info[0].ndevice_drivers, 2);
	ck_assert_int_eq(pkg_unload("good", err, sizeof(err)), 0);
	ck_assert_ptr_null(pkg_device_driver("good"));
	ck_assert_str_eq(exited(), "good");
	ck_assert_uint_eq(pkg_list(info), 0);
}
END_TEST

START_TEST(test_dependencies_loaded_first_unloaded_last)
{
	struct pkg_info info[PKG_MAX];
	const char *order[PKG_MAX];
	char err[512] = "";
	int n;

	ck_assert_msg(pkg_load("needy", NULL, err, sizeof(err)) == 2, "%s", err);
	ck_assert_uint_eq(pkg_list(info), 2);
	ck_assert_str_eq(info[0].name, "good");
	ck_assert_str_eq(info[1].name, "needy");
	ck_assert_uint_eq(info[0].users, 1);
	ck_assert_ptr_nonnull(pkg_dcc_driver("needy"));
	ck_assert_int_eq(pkg_unload("good", err, sizeof(err)), -EBUSY);
	ck_assert_str_eq(err, "package needy needs good: unload it first");
	n = pkg_unload_order("good", order);
	ck_assert_str_eq(join(order, n), "needy good");
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pkg_unload(order[i], err, sizeof(err)), 0);
	ck_assert_str_eq(exited(), "needy good");
}
END_TEST

/* Package APIs: given in init to a dependent, or used later, which makes a dependency. */
START_TEST(test_package_apis)
{
	const struct lt_device_driver *drv;
	struct pkg_info info[PKG_MAX];
	const char *order[PKG_MAX];
	struct lt_device dev = { .name = "d" };
	char err[512] = "";
	double v = 0;
	int n;

	ck_assert_msg(pkg_load("consumer", NULL, err, sizeof(err)) == 2, "%s", err);
	ck_assert_ptr_nonnull(drv = pkg_device_driver("consumer"));
	ck_assert_int_eq(drv->read(&dev, NULL, &v), 0);
	ck_assert_double_eq(v, 42);
	ck_assert_int_eq(pkg_unload("provider", err, sizeof(err)), -EBUSY);
	n = pkg_unload_order("provider", order);
	ck_assert_str_eq(join(order, n), "consumer provider");
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pkg_unload(order[i], err, sizeof(err)), 0);
	ck_assert_str_eq(exited(), "provider");

	/* user loads alone; its device's init brings provider in, and it depends on it then. */
	ck_assert_msg(pkg_load("user", NULL, err, sizeof(err)) == 1, "%s", err);
	ck_assert_uint_eq(pkg_list(info), 1);
	ck_assert_ptr_nonnull(drv = pkg_device_driver("user"));
	ck_assert_int_eq(drv->read(&dev, NULL, &v), 0);
	ck_assert_double_eq(v, -1);
	ck_assert_int_eq(drv->device_init(&dev), 0);
	ck_assert_int_eq(drv->device_init(&dev), 0); /* once is enough: no second dependency */
	ck_assert_int_eq(drv->read(&dev, NULL, &v), 0);
	ck_assert_double_eq(v, 42);
	ck_assert_uint_eq(pkg_list(info), 2);
	ck_assert_str_eq(info[0].name, "user");
	ck_assert_str_eq(info[1].name, "provider");
	ck_assert_str_eq(info[0].depends[0], "provider");
	ck_assert_ptr_null(info[0].depends[1]);
	ck_assert_uint_eq(info[1].users, 1);
	ck_assert_int_eq(pkg_unload("provider", err, sizeof(err)), -EBUSY);
	ck_assert_str_eq(err, "package user needs provider: unload it first");
	n = pkg_unload_order("provider", order);
	ck_assert_str_eq(join(order, n), "user provider");
	pkg_unload_all(); /* user first although provider was loaded after it */
	ck_assert_str_eq(exited(), "user provider");
}
END_TEST

START_TEST(test_failed_init_undoes_the_load)
{
	struct pkg_info info[PKG_MAX];
	char err[512] = "";

	/* failinit needs good: good is loaded, inited, then exited again with failinit. */
	ck_assert_int_eq(pkg_load("failinit", NULL, err, sizeof(err)), -ENODEV);
	ck_assert_str_eq(err, "package failinit: init: the sensor bus is not there");
	ck_assert_uint_eq(pkg_list(info), 0);
	ck_assert_ptr_null(pkg_device_driver("good"));
	ck_assert_str_eq(exited(), "good");
	/* A package loaded before stays. */
	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), 1);
	ck_assert_int_eq(pkg_load("failinit", NULL, err, sizeof(err)), -ENODEV);
	ck_assert_uint_eq(pkg_list(info), 1);
	ck_assert_str_eq(exited(), "");
}
END_TEST

START_TEST(test_refusals)
{
	struct pkg_info info[PKG_MAX];
	char err[512] = "";

	ck_assert_int_eq(pkg_load("nodispatch", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "package nodispatch: init: DCC driver nodispatch lacks dispatch");
	ck_assert_int_eq(pkg_load("misnamed", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "package misnamed: init: device driver \"sim\" must be named "
			      "misnamed, misnamed-... or misnamed_... (its package)");
	ck_assert_int_eq(pkg_load("badabi", NULL, err, sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "badabi.so: built for SDK ABI"));
	ck_assert_int_eq(pkg_load("wrongname", NULL, err, sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "wrongname.so: its descriptor names another package"));
	ck_assert_int_eq(pkg_load("cyca", NULL, err, sizeof(err)), -ELOOP);
	ck_assert_str_eq(err, "dependency cycle: cyca -> cycb -> cyca");
	ck_assert_int_eq(pkg_load("ghost", NULL, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "ghost.so: No such file or directory"));
	/* Never a path: only the folder is searched. */
	ck_assert_int_eq(pkg_load("../pkgs/good", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pkg_load("Good", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pkg_load("", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(pkg_list(info), 0);
}
END_TEST

/* The file's SHA-256 as 64 hex digits. */
static void sha256_hex(const char *path, char hex[65])
{
	static char buf[1 << 20];
	unsigned char md[32];
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_lt(n, sizeof(buf));
	gcry_md_hash_buffer(GCRY_MD_SHA256, md, buf, n);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

START_TEST(test_sha256_pin)
{
	char err[512] = "", path[600], hex[65];

	snprintf(path, sizeof(path), "%s/good.so", pkgdir);
	sha256_hex(path, hex);
	hex[0] = hex[0] == '0' ? '1' : '0';
	ck_assert_int_eq(pkg_load("good", hex, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "not the pinned one"));
	ck_assert_ptr_null(pkg_device_driver("good"));
	ck_assert_int_eq(pkg_load("good", "12ab", err, sizeof(err)), -EINVAL);
	sha256_hex(path, hex);
	ck_assert_msg(pkg_load("good", hex, err, sizeof(err)) == 1, "%s", err);
	hex[0] = hex[0] == '0' ? '1' : '0';
	ck_assert_int_eq(pkg_load("good", hex, err, sizeof(err)), -EPERM);
}
END_TEST

/* Only trusted files: no links, nothing others can write, and the folder likewise. */
START_TEST(test_untrusted_files)
{
	char err[512] = "", src[600], dst[600], cmd[1400];

	ck_assert_int_eq(pkg_set_dir(tmpdir), 0);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	snprintf(src, sizeof(src), "%s/good.so", pkgdir);
	snprintf(dst, sizeof(dst), "%s/good.so", tmpdir);
	ck_assert_int_eq(symlink(src, dst), 0);
	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "a symbolic link (refused)"));
	unlink(dst);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(chmod(dst, 0666), 0);
	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "writable by group or others"));
	ck_assert_int_eq(chmod(dst, 0644), 0);
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "package folder"));
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_msg(pkg_load("good", NULL, err, sizeof(err)) == 1, "%s", err);
	ck_assert_int_eq(pkg_set_dir(NULL), 0);
	ck_assert_int_eq(pkg_load("needy", NULL, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no package folder ([daemon] package_dir)");
}
END_TEST

START_TEST(test_load_by_type)
{
	char err[512] = "";

	ck_assert_msg(pkg_load_type("good-two", 0, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(pkg_device_driver("good-two"));
	ck_assert_int_eq(pkg_load_type("good", 0, err, sizeof(err)), 0);
	ck_assert_int_eq(pkg_load_type("good-three", 0, err, sizeof(err)), -ESRCH);
	ck_assert_str_eq(err, "package good provides no device driver \"good-three\"");
	ck_assert_int_eq(pkg_load_type("good", 1, err, sizeof(err)), -ESRCH);
	ck_assert_int_eq(pkg_load_type("nothing_here", 1, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "nothing.so"));
}
END_TEST

/* liotactl unload holds packages: none loads again, not even as a dependency, until released. */
START_TEST(test_held_packages_do_not_load)
{
	const char *names[PKG_DRIVERS_MAX], *types[] = { "good", "good-two" }, *dcc[] = { "needy" };
	char err[512] = "";

	ck_assert_msg(pkg_load("needy", NULL, err, sizeof(err)) == 2, "%s", err);
	ck_assert_int_eq(pkg_drivers("good", 0, names), 2);
	ck_assert_str_eq(names[1], "good-two");
	ck_assert_int_eq(pkg_drivers("good", 1, names), 0);
	ck_assert_int_eq(pkg_drivers("needy", 1, names), 1);
	ck_assert_int_eq(pkg_drivers("nothing", 0, names), -ENOENT);
	ck_assert_str_eq(pkg_provider(pkg_device_driver("good-two")), "good");
	ck_assert_str_eq(pkg_provider(pkg_dcc_driver("needy")), "needy");
	ck_assert_ptr_null(pkg_provider(names));

	ck_assert_int_eq(pkg_hold("needy", dcc, 1), 0);
	ck_assert_int_eq(pkg_hold("good", types, 2), 0);
	ck_assert_int_eq(pkg_unload("needy", err, sizeof(err)), 0);
	ck_assert_int_eq(pkg_unload("good", err, sizeof(err)), 0);
	ck_assert(pkg_held("good") && pkg_held("needy") && !pkg_held("goo"));
	ck_assert_str_eq(pkg_held_type("good-two"), "good");
	ck_assert_str_eq(pkg_held_type("needy"), "needy");
	ck_assert_ptr_null(pkg_held_type("good-three"));

	ck_assert_int_eq(pkg_load("good", NULL, err, sizeof(err)), -EPERM);
	ck_assert_str_eq(err, "package good was unloaded by liotactl (liotactl load good)");
	/* By type, falling back from good-three to the package good: refused, not loaded. */
	ck_assert_int_eq(pkg_load_type("good-three", 0, err, sizeof(err)), -EPERM);
	ck_assert_ptr_null(pkg_device_driver("good"));
	/* A held dependency is not loaded behind liotactl's back either. */
	pkg_release("needy");
	ck_assert_int_eq(pkg_load("needy", NULL, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "package good was unloaded by liotactl"));
	pkg_release("good");
	pkg_release("good"); /* not held: nothing */
	ck_assert_msg(pkg_load("needy", NULL, err, sizeof(err)) == 2, "%s", err);
	ck_assert_str_eq(exited(), "needy good");
}
END_TEST

static Suite *pkg_suite(void)
{
	Suite *s = suite_create("pkg");
	TCase *tc = tcase_create("graph");

	tcase_add_test(tc, test_no_dependencies);
	tcase_add_test(tc, test_dependencies_first_each_once);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_cycles);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_deep_chain);
	tcase_add_test(tc, test_unload_dependents_first);
	suite_add_tcase(s, tc);
	tc = tcase_create("loader");
	tcase_add_checked_fixture(tc, loader_setup, loader_teardown);
	tcase_add_test(tc, test_load_registers_drivers);
	tcase_add_test(tc, test_dependencies_loaded_first_unloaded_last);
	tcase_add_test(tc, test_package_apis);
	tcase_add_test(tc, test_failed_init_undoes_the_load);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_sha256_pin);
	tcase_add_test(tc, test_untrusted_files);
	tcase_add_test(tc, test_load_by_type);
	tcase_add_test(tc, test_held_packages_do_not_load);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(pkg_suite)
