/* SPDX-License-Identifier: BSD-2-Clause */
/* The package dependency resolver (src/core/pkg_graph.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/pkg_graph.h"
#include "core/util.h"
#include "unit.h"

/* A table of packages; a name missing from it is "not in the folder". */
struct table {
	const struct pkg_node *nodes;
	size_t n;
	unsigned lookups;
};

static const struct pkg_node *lookup(void *ctx, const char *name, char *err, size_t errlen)
{
	struct table *t = ctx;

	t->lookups++;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->nodes[i].name, name))
			return &t->nodes[i];
	snprintf(err, errlen, "no %s.so in the package folder", name);
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

	return pkg_load_order(want, lookup, &t, order, max, err, errlen);
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
	ck_assert_str_eq(err, "package nothing: no nothing.so in the package folder");
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
		pkg_load_order("p0", lookup, &t, order, ARRAY_SIZE(order), err, sizeof(err)),
		-E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "nest deeper than"));
	ck_assert_uint_le(t.lookups, PKG_GRAPH_MAX);
	/* The last PKG_GRAPH_MAX links alone fit. */
	t.lookups = 0;
	ck_assert_int_eq(pkg_load_order(chain_names[CHAIN - PKG_GRAPH_MAX], lookup, &t, order,
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

	n = pkg_unload_order(loaded, ARRAY_SIZE(loaded), "tls", order);
	ck_assert_str_eq(join(order, n), "mqtt iotcc mqtt-transport tls");
	n = pkg_unload_order(loaded, ARRAY_SIZE(loaded), "mqtt", order);
	ck_assert_str_eq(join(order, n), "mqtt");
	n = pkg_unload_order(loaded, ARRAY_SIZE(loaded), "graphite", order);
	ck_assert_str_eq(join(order, n), "graphite");
	ck_assert_int_eq(pkg_unload_order(loaded, ARRAY_SIZE(loaded), "ghost", order), -ENOENT);
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
	return s;
}

LT_UNIT_MAIN(pkg_suite)
