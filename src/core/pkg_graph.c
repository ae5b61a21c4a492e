/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Load order: a depth-first walk from the wanted package, each dependency
 * placed before its dependent (post-order), with the names on the current
 * path kept to report a cycle as the chain that closes it. Unload order:
 * the reverse of a post-order walk over "who depends on me".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/pkg_graph.h"
#include "core/util.h"

struct walk {
	pkg_lookup_fn lookup;
	void *ctx;
	const char **order; /* placed so far (post-order) */
	size_t n, max;
	const char *path[PKG_GRAPH_MAX]; /* the chain being walked */
	size_t depth;
	char *err;
	size_t errlen;
};

static int placed(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->order[i], name))
			return 1;
	return 0;
}

/* "a -> b -> c -> a" from where @name first appears on the path. */
static int cycle(struct walk *w, size_t from, const char *name)
{
	size_t off = 0;

	w->err[0] = '\0';
	off += (size_t)snprintf(w->err, w->errlen, "dependency cycle: ");
	for (size_t i = from; i < w->depth && off < w->errlen; i++)
		off += (size_t)snprintf(w->err + off, w->errlen - off, "%s -> ", w->path[i]);
	if (off < w->errlen)
		snprintf(w->err + off, w->errlen - off, "%s", name);
	return -ELOOP;
}

/* Place @name after everything it depends on; @dependent names who asked (NULL: the user). */
static int visit(struct walk *w, const char *name, const char *dependent)
{
	const struct pkg_node *node;
	char why[256];
	int r, rc = -ENOENT;

	if (placed(w, name))
		return 0;
	for (size_t i = 0; i < w->depth; i++)
		if (!strcmp(w->path[i], name))
			return cycle(w, i, name);
	if (w->depth == PKG_GRAPH_MAX)
		return lt_errf(w->err, w->errlen, -E2BIG,
			       "dependencies of %s nest deeper than %d packages", w->path[0],
			       PKG_GRAPH_MAX);
	why[0] = '\0';
	node = w->lookup(w->ctx, name, &rc, why, sizeof(why));
	if (!node) {
		rc = rc < 0 ? rc : -ENOENT;
		if (dependent)
			return lt_errf(w->err, w->errlen, rc, "package %s needs %s: %s", dependent,
				       name, why[0] ? why : "not found");
		return lt_errf(w->err, w->errlen, rc, "%s", why[0] ? why : "not found");
	}
	w->path[w->depth++] = node->name;
	for (const char *const *d = node->depends; d && *d; d++) {
		r = visit(w, *d, node->name);
		if (r < 0)
			return r;
	}
	w->depth--;
	if (w->n == w->max)
		return lt_errf(w->err, w->errlen, -E2BIG,
			       "package %s and its dependencies are more than %zu packages",
			       w->path[0] ? w->path[0] : name, w->max);
	w->order[w->n++] = node->name;
	return 0;
}

int pkg_graph_load_order(const char *want, pkg_lookup_fn lookup, void *ctx, const char **order,
			 size_t max, char *err, size_t errlen)
{
	struct walk w = {
		.lookup = lookup,
		.ctx = ctx,
		.order = order,
		.max = max < PKG_GRAPH_MAX ? max : PKG_GRAPH_MAX,
		.err = err,
		.errlen = errlen,
	};
	int r = visit(&w, want, NULL);

	return r < 0 ? r : (int)w.n;
}

static const struct pkg_node *find(const struct pkg_node *loaded, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(loaded[i].name, name))
			return &loaded[i];
	return NULL;
}

static int depends_on(const struct pkg_node *node, const char *name)
{
	for (const char *const *d = node->depends; d && *d; d++)
		if (!strcmp(*d, name))
			return 1;
	return 0;
}

/* Post-order over dependents: @name after everything that depends on it. */
static void visit_dependents(const struct pkg_node *loaded, size_t n, const char *name,
			     const char **order, size_t *k)
{
	for (size_t i = 0; i < *k; i++)
		if (!strcmp(order[i], name))
			return;
	for (size_t i = 0; i < n; i++)
		if (depends_on(&loaded[i], name))
			visit_dependents(loaded, n, loaded[i].name, order, k);
	order[(*k)++] = find(loaded, n, name)->name;
}

int pkg_graph_unload_order(const struct pkg_node *loaded, size_t n, const char *name,
			   const char **order)
{
	size_t k = 0;

	if (!find(loaded, n, name))
		return -ENOENT;
	visit_dependents(loaded, n, name, order, &k);
	return (int)k;
}
