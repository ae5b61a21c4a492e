/* SPDX-License-Identifier: BSD-2-Clause */
#include "pkgctl.h"
#include "log.h"
#include "pkg.h"
#include "pkg_hold.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Package names, copied: a loaded package's own name lives in its .so. */
struct names {
	char name[PKG_MAX][LT_PACKAGE_NAME_MAX + 1];
	int n;
};

/* The loaded packages that go with @name, dependents first; -ENOENT when it is not loaded. */
static int unload_set(const char *name, struct names *set)
{
	const char *order[PKG_MAX];
	int n = pkg_unload_order(name, order);

	for (int i = 0; i < n; i++)
		snprintf(set->name[i], sizeof(set->name[i]), "%s", order[i]);
	set->n = n < 0 ? 0 : n;
	return n;
}

/* Hold @name with the names of the drivers it provides (it is loaded). */
static int hold_loaded(const char *name)
{
	const char *types[2 * PKG_DRIVERS_MAX];
	int nd = pkg_drivers(name, 0, types), nc;

	nd = nd < 0 ? 0 : nd;
	nc = pkg_drivers(name, 1, types + nd);
	return pkg_hold(name, types, (unsigned)nd + (unsigned)(nc < 0 ? 0 : nc));
}

static void version_of(const char *name, char *out, size_t len)
{
	struct pkg_info info[PKG_MAX];
	size_t n = pkg_list(info);

	snprintf(out, len, "?");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(info[i].name, name))
			snprintf(out, len, "%s", info[i].version);
}

/* ", a, b" for the set but its last (the package asked for): its dependents. */
static void dependents(const struct names *set, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i + 1 < set->n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s",
					i ? ", " : " and its dependents ", set->name[i]);
}

/*
 * Unload @set (dependents first): hold them, apply the configuration
 * without them, then unload. Nothing changes when the apply fails.
 */
static int unload(const struct pkgctl *p, const char *name, const struct names *set, char *msg,
		  size_t msglen)
{
	char why[32 + LT_PACKAGE_NAME_MAX], err[512] = "";
	int r = 0;

	for (int i = 0; i < set->n && r == 0; i++)
		r = hold_loaded(set->name[i]);
	snprintf(why, sizeof(why), "unload %s", name);
	if (r == 0)
		r = p->apply(p->arg, why, err, sizeof(err));
	if (r < 0) {
		for (int i = 0; i < set->n; i++)
			pkg_release(set->name[i]);
		return lt_errf(msg, msglen, r,
			       "package %s stays loaded: the configuration without it cannot be "
			       "applied: %s",
			       name, err[0] ? err : strerror(-r));
	}
	/* Nothing of theirs runs now, and the previous model (their drivers' objects) is freed. */
	for (int i = 0; i < set->n; i++)
		if (pkg_unload(set->name[i], err, sizeof(err)) < 0)
			lt_log(LOG_ERR, "unload %s: %s", name, err);
	return 0;
}

/* Load @name (pinned to @sha256 unless ""), ending its hold; the hold is back on failure. */
static int load_one(const char *name, const char *sha256, char *msg, size_t msglen)
{
	char **types;
	unsigned nt = pkg_held_types(name, &types);
	bool held = pkg_held(name);
	int r;

	pkg_release(name);
	r = pkg_load(name, sha256[0] ? sha256 : NULL, msg, msglen);
	if (r < 0 && held)
		pkg_hold(name, (const char *const *)types, nt);
	pkg_held_types_free(types, nt);
	return r;
}

/*
 * Apply the configuration with the @nloaded packages just loaded (the last
 * ones of pkg_list()); when it cannot be applied, unload them again and
 * hold @held_again (the ones that were held before).
 */
static int apply_loaded(const struct pkgctl *p, const char *why, const char *name, int nloaded,
			char *msg, size_t msglen)
{
	struct pkg_info info[PKG_MAX];
	struct names back = { .n = 0 };
	char err[512] = "";
	size_t n;
	int r = p->apply(p->arg, why, err, sizeof(err));

	if (r == 0)
		return 0;
	n = pkg_list(info);
	for (size_t i = n - (size_t)nloaded; i < n; i++)
		snprintf(back.name[back.n++], sizeof(back.name[0]), "%s", info[i].name);
	/* Nothing of theirs runs: the configuration with them was not applied. */
	for (int i = back.n - 1; i >= 0; i--) {
		char uerr[256];

		hold_loaded(back.name[i]);
		if (pkg_unload(back.name[i], uerr, sizeof(uerr)) < 0)
			lt_log(LOG_ERR, "%s: %s", why, uerr);
	}
	return lt_errf(msg, msglen, r,
		       "package %s unloaded again: the configuration with it cannot be applied: "
		       "%s",
		       name, err[0] ? err : strerror(-r));
}

static int load(const struct pkgctl *p, const struct control_req *req, char *msg, size_t msglen)
{
	char why[32 + LT_PACKAGE_NAME_MAX], version[64];
	int r = load_one(req->name, req->sha256, msg, msglen);

	if (r < 0)
		return r;
	version_of(req->name, version, sizeof(version));
	if (r == 0) {
		snprintf(msg, msglen, "package %s %s is loaded already", req->name, version);
		return 0;
	}
	snprintf(why, sizeof(why), "load %s", req->name);
	if ((r = apply_loaded(p, why, req->name, r, msg, msglen)) < 0)
		return r;
	snprintf(msg, msglen, "package %s %s loaded", req->name, version);
	return 0;
}

static int reload(const struct pkgctl *p, const char *name, char *msg, size_t msglen)
{
	char why[32 + LT_PACKAGE_NAME_MAX], before[64], after[64], deps[512], failed[640] = "";
	struct names set;
	int r, r2, loaded = 0;

	if (unload_set(name, &set) < 0)
		return lt_errf(msg, msglen, -ENOENT, "package %s is not loaded", name);
	version_of(name, before, sizeof(before));
	r = unload(p, name, &set, msg, msglen);
	if (r < 0)
		return r;
	/* The package first, then what depends on it: the reverse of the unload order. */
	for (int i = set.n - 1; i >= 0 && !failed[0]; i--) {
		char err[512];

		r = load_one(set.name[i], "", err, sizeof(err));
		if (r < 0)
			snprintf(failed, sizeof(failed),
				 "package %s unloaded, not loaded again (nor its dependents): %s",
				 set.name[i], err);
		else
			loaded += r;
	}
	/* What did load runs again, even when a dependent did not. */
	snprintf(why, sizeof(why), "reload %s", name);
	if (loaded && (r2 = apply_loaded(p, why, name, loaded, msg, msglen)) < 0)
		return r2;
	if (failed[0])
		return lt_errf(msg, msglen, r, "%s", failed);
	version_of(name, after, sizeof(after));
	dependents(&set, deps, sizeof(deps));
	snprintf(msg, msglen, "package %s%s reloaded: version %s, was %s", name, deps, after,
		 before);
	return 0;
}

int pkgctl_run(const struct pkgctl *p, const struct control_req *req, char *msg, size_t msglen)
{
	struct names set;
	char deps[512];
	int r;

	switch (req->cmd) {
	case CONTROL_LOAD:
		return load(p, req, msg, msglen);
	case CONTROL_RELOAD:
		return reload(p, req->name, msg, msglen);
	case CONTROL_UNLOAD:
		if (unload_set(req->name, &set) < 0)
			return lt_errf(msg, msglen, -ENOENT, "package %s is not loaded%s",
				       req->name,
				       pkg_held(req->name) ? " (unloaded by liotactl)" : "");
		r = unload(p, req->name, &set, msg, msglen);
		if (r < 0)
			return r;
		dependents(&set, deps, sizeof(deps));
		snprintf(msg, msglen,
			 "package %s%s unloaded; held unloaded across reloads until liotactl load",
			 req->name, deps);
		lt_log(LOG_NOTICE, "%s", msg);
		return 0;
	default:
		return lt_errf(msg, msglen, -EINVAL, "not a package command");
	}
}
