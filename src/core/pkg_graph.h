/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The order in which packages load and unload: pure logic over names and
 * dependency lists, apart from the loader (pkg.c) that opens the files, so
 * that it is unit-tested alone.
 */
#ifndef LT_PKG_GRAPH_H
#define LT_PKG_GRAPH_H

#include <stddef.h>

/* At most this many packages take part in one resolution (a load or an unload). */
#define PKG_GRAPH_MAX 64

/* What the resolver needs of a package: its name and what it depends on. */
struct pkg_node {
	const char *name;
	const char *const *depends; /* NULL-terminated names; NULL: none */
};

/*
 * The package called @name, or NULL with a negative errno in *@rc and the
 * reason in @err (not found, unreadable, refused). The loader's answer
 * reads the package's descriptor; a test's answers come from a table. The
 * node must stay valid until pkg_graph_load_order() returns.
 */
typedef const struct pkg_node *(*pkg_lookup_fn)(void *ctx, const char *name, int *rc, char *err,
						size_t errlen);

/*
 * pkg_graph_load_order - the packages to load for @want, dependencies first, each
 * once, @want last, into @order (at most @max names, pointing into the
 * nodes). Returns their count, or the lookup's error when @want or a
 * dependency cannot be had ("package mqtt needs mqtt-transport: <lookup's
 * reason>"), -ELOOP
 * for a cycle ("dependency cycle: a -> b -> a"), -E2BIG when more than
 * @max (or PKG_GRAPH_MAX) packages or a chain deeper than PKG_GRAPH_MAX
 * would take part; the message in @err.
 */
int pkg_graph_load_order(const char *want, pkg_lookup_fn lookup, void *ctx, const char **order,
			 size_t max, char *err, size_t errlen);

/*
 * pkg_graph_unload_order - of the @n loaded packages @loaded, the ones to unload
 * for @name to go: every package that depends on it directly or through
 * others, dependents before what they depend on, @name last, into @order
 * (room for @n). Returns their count, or -ENOENT when @name is not among
 * @loaded. Loaded packages form no cycle (pkg_graph_load_order() refused them).
 */
int pkg_graph_unload_order(const struct pkg_node *loaded, size_t n, const char *name,
			   const char **order);

#endif
