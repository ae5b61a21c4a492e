/* SPDX-License-Identifier: BSD-2-Clause */
#include "pkg_hold.h"
#include "pkg.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct held {
	char *name;
	char **types; /* the driver names it provided when it was unloaded */
	unsigned ntypes;
};

static struct held held[PKG_MAX];
static unsigned nheld;

static struct held *find(const char *name)
{
	for (unsigned i = 0; i < nheld; i++)
		if (!strcmp(held[i].name, name))
			return &held[i];
	return NULL;
}

static void clear(struct held *h)
{
	for (unsigned k = 0; k < h->ntypes; k++)
		free(h->types[k]);
	free(h->types);
	free(h->name);
}

int pkg_hold(const char *name, const char *const *types, unsigned ntypes)
{
	struct held *h = find(name);

	if (h) {
		clear(h);
	} else {
		if (nheld == PKG_MAX)
			return -E2BIG;
		h = &held[nheld++];
	}
	h->name = xstrdup(name);
	h->types = xcalloc(ntypes + 1, sizeof(*h->types));
	h->ntypes = ntypes;
	for (unsigned k = 0; k < ntypes; k++)
		h->types[k] = xstrdup(types[k]);
	return 0;
}

void pkg_release(const char *name)
{
	struct held *h = find(name);

	if (!h)
		return;
	clear(h);
	*h = held[--nheld];
}

bool pkg_held(const char *name)
{
	return find(name) != NULL;
}

unsigned pkg_held_types(const char *name, char ***types)
{
	const struct held *h = find(name);

	*types = NULL;
	if (!h)
		return 0;
	*types = xcalloc(h->ntypes + 1, sizeof(**types));
	for (unsigned k = 0; k < h->ntypes; k++)
		(*types)[k] = xstrdup(h->types[k]);
	return h->ntypes;
}

void pkg_held_types_free(char **types, unsigned n)
{
	for (unsigned k = 0; types && k < n; k++)
		free(types[k]);
	free(types);
}

const char *pkg_held_type(const char *type)
{
	for (unsigned i = 0; i < nheld; i++) {
		if (!strcmp(held[i].name, type))
			return held[i].name;
		for (unsigned k = 0; k < held[i].ntypes; k++)
			if (!strcmp(held[i].types[k], type))
				return held[i].name;
	}
	return NULL;
}
