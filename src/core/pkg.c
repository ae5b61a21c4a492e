/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The package loader. A package is opened (not yet run: its descriptor is
 * data) to learn its dependencies, the resolver orders them, then each
 * init runs, dependencies first. A failure anywhere undoes the whole load:
 * inits that ran are exited in reverse order, every handle is closed.
 *
 * Packages never call each other's symbols: each .so resolves only
 * against the SDK that the liotad executable exports and its own
 * libraries, so it can be opened RTLD_NOW | RTLD_LOCAL in any order, and
 * one that references anything else fails at dlopen, not at first call.
 */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include <liota/log.h>
#include "core/pkg.h"
#include "core/pkg_graph.h"
#include "core/pkg_hold.h"
#include "core/trust.h"
#include "core/util.h"

struct lt_package_ctx {
	const struct lt_package *desc;
	void *handle; /* NULL: a static package (pkg_add_static()) */
	uint8_t sha256[32];
	const struct lt_device_driver *dev[PKG_DRIVERS_MAX];
	const struct lt_dcc_driver *dcc[PKG_DRIVERS_MAX];
	unsigned ndev, ndcc;
	const void *api; /* lt_package_provide() */
	/* Its dependencies: the descriptor's, then lt_package_use()'s (names it owns). */
	const char *deps[PKG_DEPS_MAX + 1];
	unsigned ndeps, nused;
	int fd;   /* the file it was loaded from, open while it is loaded; -1: static */
	int live; /* init ran and succeeded: exit is due */
};

static char *pkg_dir;
static struct lt_package_ctx *loaded[PKG_MAX];
static size_t nloaded;

int pkg_set_dir(const char *dir)
{
	char *copy = NULL;

	if (dir && *dir && !(copy = strdup(dir)))
		return -ENOMEM;
	free(pkg_dir);
	pkg_dir = copy;
	return 0;
}

int pkg_valid_name(const char *name)
{
	size_t n = strlen(name);

	/* ASCII ranges, not islower(): a locale must not widen what a name may be. */
	if (!n || n > LT_PACKAGE_NAME_MAX || name[0] == '-' || name[0] == '_')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= '0' && name[i] <= '9') &&
		    name[i] != '-' && name[i] != '_')
			return 0;
	return 1;
}

static int has_dep(const struct lt_package_ctx *c, const char *name)
{
	for (unsigned i = 0; i < c->ndeps; i++)
		if (!strcmp(c->deps[i], name))
			return 1;
	return 0;
}

/* c->deps from the descriptor; -E2BIG beyond PKG_DEPS_MAX. */
static int init_deps(struct lt_package_ctx *c)
{
	for (const char *const *d = c->desc->depends; d && *d; d++) {
		if (c->ndeps == PKG_DEPS_MAX)
			return -E2BIG;
		c->deps[c->ndeps++] = *d;
	}
	return 0;
}

static struct lt_package_ctx *find_loaded(const char *name)
{
	for (size_t i = 0; i < nloaded; i++)
		if (!strcmp(loaded[i]->desc->name, name))
			return loaded[i];
	return NULL;
}

/* ---- opening one file ---------------------------------------------------------------------- */

static int sha256_fd(int fd, uint8_t out[32])
{
	gcry_md_hd_t md;
	char buf[65536];
	ssize_t n;

	if (gcry_md_open(&md, GCRY_MD_SHA256, 0))
		return -ENOMEM;
	while ((n = pread(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
		;
	for (off_t off = 0; n > 0;) {
		gcry_md_write(md, buf, (size_t)n);
		off += n;
		while ((n = pread(fd, buf, sizeof(buf), off)) < 0 && errno == EINTR)
			;
	}
	if (n < 0) {
		int e = errno;

		gcry_md_close(md);
		return -e;
	}
	memcpy(out, gcry_md_read(md, GCRY_MD_SHA256), 32);
	gcry_md_close(md);
	return 0;
}

static int parse_sha256(const char *hex, uint8_t out[32])
{
	if (strlen(hex) != 64)
		return -EINVAL;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) || sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The folder, checked as configuration is: root's or ours, nobody else may write it. */
static int open_dir(int *dfd, char *err, size_t errlen)
{
	struct stat st;
	char why[128];

	if (!pkg_dir)
		return lt_errf(err, errlen, -ENOENT, "no package folder ([daemon] package_dir)");
	*dfd = open(pkg_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dfd < 0)
		return lt_errf(err, errlen, -errno, "package folder %s: %s", pkg_dir,
			       strerror(errno));
	if (fstat(*dfd, &st) < 0 || !lt_config_trusted(&st, why, sizeof(why))) {
		int e = errno;

		close(*dfd);
		return lt_errf(err, errlen, -EPERM, "package folder %s: %s", pkg_dir,
			       e ? strerror(e) : why);
	}
	return 0;
}

/*
 * dlopen the file open on *@fd through /proc/self/fd. glibc recognises an
 * object loaded already by the name it was opened with, and a package
 * unloaded may stay mapped (a library it uses can pin it): a name that
 * matches a loaded object is moved to another descriptor number first.
 */
static void *dlopen_fd(int *fd)
{
	char path[40];

	for (int tries = 0; tries < 16; tries++) {
		void *h;
		int nfd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
		h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
		if (!h)
			return dlopen(path, RTLD_NOW | RTLD_LOCAL);
		dlclose(h);
		nfd = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1);
		if (nfd < 0)
			return NULL;
		close(*fd);
		*fd = nfd;
	}
	return NULL;
}

/* Why the descriptor @d of @name.so is refused, or NULL. */
static const char *bad_descriptor(const struct lt_package *d, const char *name, char *why,
				  size_t whylen)
{
	if (d->abi != LT_SDK_ABI) {
		snprintf(why, whylen, "built for SDK ABI %u, this liotad has %d: rebuild it",
			 d->abi, LT_SDK_ABI);
		return why;
	}
	if (!d->name || strcmp(d->name, name))
		return "its descriptor names another package";
	if (!d->version || !d->init)
		return d->version ? "its descriptor has no init" : "its descriptor has no version";
	size_t n = 0;

	for (const char *const *dep = d->depends; dep && *dep; dep++, n++)
		if (!pkg_valid_name(*dep)) {
			snprintf(why, whylen, "depends on \"%.64s\", not a package name", *dep);
			return why;
		}
	if (n > PKG_DEPS_MAX) {
		snprintf(why, whylen, "depends on more than %d packages", PKG_DEPS_MAX);
		return why;
	}
	return NULL;
}

/*
 * Open @name.so: checked, hashed, compared with @pin (NULL: none), loaded
 * from the checked descriptor (kept open while the package is loaded, so
 * that its number names it alone), its descriptor checked. Runs nothing of
 * the package but its ELF constructors (a package should have none).
 * NULL with *@rc and @err on failure.
 */
static struct lt_package_ctx *open_pkg(int dfd, const char *name, const uint8_t *pin, int *rc,
				       char *err, size_t errlen)
{
	char file[LT_PACKAGE_NAME_MAX + 4], why[160];
	const char *bad = NULL;
	struct lt_package_ctx *c;
	struct stat st;
	int r;

	snprintf(file, sizeof(file), "%s.so", name);
	c = calloc(1, sizeof(*c));
	if (!c) {
		*rc = lt_errf(err, errlen, -ENOMEM, "%s: out of memory", file);
		return NULL;
	}
	c->fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (c->fd < 0) {
		r = -errno;
		*rc = lt_errf(err, errlen, r, "%s/%s: %s", pkg_dir, file,
			      r == -ELOOP ? "a symbolic link (refused)" : strerror(-r));
		free(c);
		return NULL;
	}
	r = 0;
	if (fstat(c->fd, &st) < 0)
		r = -errno, bad = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		r = -EPERM, bad = "not a regular file";
	else if (!lt_config_trusted(&st, why, sizeof(why)))
		r = -EPERM, bad = why;
	else if ((r = sha256_fd(c->fd, c->sha256)) < 0)
		bad = strerror(-r);
	else if (pin && memcmp(pin, c->sha256, 32)) {
		char got[65];

		for (int i = 0; i < 32; i++)
			snprintf(got + 2 * i, 3, "%02x", c->sha256[i]);
		snprintf(why, sizeof(why), "SHA-256 %s, not the pinned one", got);
		r = -EPERM, bad = why;
	} else if (!(c->handle = dlopen_fd(&c->fd))) {
		snprintf(why, sizeof(why), "%s", dlerror());
		r = -ENOEXEC, bad = why;
	} else if (!(c->desc = dlsym(c->handle, LT_PACKAGE_SYMBOL))) {
		r = -ENOEXEC, bad = "no " LT_PACKAGE_SYMBOL " descriptor (LT_PACKAGE())";
	} else if ((bad = bad_descriptor(c->desc, name, why, sizeof(why)))) {
		r = -ENOEXEC;
	} else {
		init_deps(c); /* bad_descriptor() bounded them */
	}
	if (r < 0) {
		*rc = lt_errf(err, errlen, r, "%s/%s: %s", pkg_dir, file, bad);
		if (c->handle)
			dlclose(c->handle);
		close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

/* ---- loading with dependencies ------------------------------------------------------------- */

struct opening {
	int dfd;
	const char *want;
	const uint8_t *pin;
	struct pkg_node loaded[PKG_MAX];              /* loaded before: no dependencies to walk */
	struct lt_package_ctx *opened[PKG_GRAPH_MAX]; /* opened by this load */
	struct pkg_node nodes[PKG_GRAPH_MAX];
	size_t n;
};

static struct pkg_node loaded_node(const struct lt_package_ctx *c)
{
	return (struct pkg_node){ c->desc->name, c->deps };
}

static const struct pkg_node *lookup(void *ctx, const char *name, int *rc, char *err, size_t errlen)
{
	struct opening *o = ctx;
	struct lt_package_ctx *c;

	for (size_t i = 0; i < nloaded; i++)
		if (!strcmp(o->loaded[i].name, name))
			return &o->loaded[i];
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->nodes[i].name, name))
			return &o->nodes[i];
	if (!pkg_valid_name(name)) {
		*rc = lt_errf(err, errlen, -EINVAL, "not a package name");
		return NULL;
	}
	if (pkg_held(name)) {
		*rc = lt_errf(err, errlen, -EPERM,
			      "package %s was unloaded by liotactl (liotactl load %s)", name, name);
		return NULL;
	}
	if (o->n == PKG_GRAPH_MAX) {
		*rc = lt_errf(err, errlen, -E2BIG, "more than %d packages", PKG_GRAPH_MAX);
		return NULL;
	}
	c = open_pkg(o->dfd, name, !strcmp(name, o->want) ? o->pin : NULL, rc, err, errlen);
	if (!c)
		return NULL;
	o->opened[o->n] = c;
	o->nodes[o->n] = loaded_node(c);
	return &o->nodes[o->n++];
}

static void forget(struct lt_package_ctx *c)
{
	if (c->live && c->desc->exit)
		c->desc->exit(c);
	for (unsigned i = c->ndeps - c->nused; i < c->ndeps; i++)
		free((char *)c->deps[i]);
	if (c->handle)
		dlclose(c->handle);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Undo a failed load: what never ran, then what ran, in reverse order of its init. */
static void undo(struct opening *o, size_t first)
{
	for (size_t k = 0; k < o->n; k++)
		if (!o->opened[k]->live)
			forget(o->opened[k]);
	while (nloaded > first)
		forget(loaded[--nloaded]);
}

int pkg_load(const char *name, const char *sha256, char *err, size_t errlen)
{
	struct opening o = { .dfd = -1, .want = name };
	const char *order[PKG_GRAPH_MAX];
	struct lt_package_ctx *c;
	uint8_t pin[32];
	size_t first = nloaded;
	int n, r;

	if (!pkg_valid_name(name))
		return lt_errf(err, errlen, -EINVAL,
			       "\"%s\" is not a package name ([a-z0-9][a-z0-9_-]*, at most %d)",
			       name, LT_PACKAGE_NAME_MAX);
	if (sha256 && parse_sha256(sha256, pin) < 0)
		return lt_errf(err, errlen, -EINVAL, "package %s: sha256 must be 64 hex digits",
			       name);
	o.pin = sha256 ? pin : NULL;
	if ((c = find_loaded(name))) {
		if (o.pin && memcmp(c->sha256, pin, 32))
			return lt_errf(
				err, errlen, -EPERM,
				"package %s is loaded with another SHA-256 than the pinned one",
				name);
		return 0;
	}
	r = open_dir(&o.dfd, err, errlen);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nloaded; i++)
		o.loaded[i] = (struct pkg_node){ loaded[i]->desc->name, NULL };
	n = pkg_graph_load_order(name, lookup, &o, order, ARRAY_SIZE(order), err, errlen);
	close(o.dfd);
	if (n >= 0 && nloaded + o.n > PKG_MAX)
		n = lt_errf(err, errlen, -E2BIG,
			    "package %s: more than %d packages would be loaded", name, PKG_MAX);
	/* Init in order, dependencies first; packages loaded before are in order too: skip them. */
	for (int i = 0; i < n; i++) {
		c = NULL;
		for (size_t k = 0; k < o.n && !c; k++)
			if (!strcmp(o.opened[k]->desc->name, order[i]))
				c = o.opened[k];
		if (!c)
			continue;
		err[0] = '\0';
		r = c->desc->init(c, err, errlen);
		if (r < 0 || r > 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s",
				 err[0] ? err : strerror(r < 0 ? -r : EINVAL));
			n = lt_errf(err, errlen, r < 0 ? r : -EINVAL, "package %s: init: %s",
				    c->desc->name, why);
			break;
		}
		c->live = 1;
		loaded[nloaded++] = c;
	}
	if (n < 0) {
		undo(&o, first);
		return n;
	}
	for (size_t i = first; i < nloaded; i++)
		lt_log(LOG_INFO, "package %s %s loaded from %s/%s.so", loaded[i]->desc->name,
		       loaded[i]->desc->version, pkg_dir, loaded[i]->desc->name);
	return (int)(nloaded - first);
}

int pkg_load_type(const char *type, int dcc, char *err, size_t errlen)
{
	char name[LT_PACKAGE_NAME_MAX + 1];
	int r = -ENOENT;

	if (dcc ? pkg_dcc_driver(type) != NULL : pkg_device_driver(type) != NULL)
		return 0;
	if (!pkg_valid_name(type))
		return lt_errf(err, errlen, -ENOENT, "no driver \"%s\"", type);
	snprintf(name, sizeof(name), "%s", type);
	/* "a-b_c" tries a-b_c, then a-b, then a: cut at the last separator each time. */
	while ((r = pkg_load(name, NULL, err, errlen)) < 0) {
		char *cut = strrchr(name, '-'), *under = strrchr(name, '_');

		if (!cut || (under && under > cut))
			cut = under;

		if (r != -ENOENT || !cut)
			return r;
		*cut = '\0';
	}
	if (dcc ? pkg_dcc_driver(type) == NULL : pkg_device_driver(type) == NULL)
		return lt_errf(err, errlen, -ESRCH, "package %s provides no %s driver \"%s\"", name,
			       dcc ? "DCC" : "device", type);
	return 0;
}

/* ---- unloading ----------------------------------------------------------------------------- */

static size_t loaded_nodes(struct pkg_node *nodes)
{
	for (size_t i = 0; i < nloaded; i++)
		nodes[i] = loaded_node(loaded[i]);
	return nloaded;
}

int pkg_unload_order(const char *name, const char **order)
{
	struct pkg_node nodes[PKG_MAX];
	size_t n = loaded_nodes(nodes);

	return pkg_graph_unload_order(nodes, n, name, order);
}

int pkg_unload(const char *name, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < nloaded && strcmp(loaded[i]->desc->name, name); i++)
		;
	if (i == nloaded)
		return lt_errf(err, errlen, -ENOENT, "package %s is not loaded", name);
	for (size_t k = 0; k < nloaded; k++)
		if (has_dep(loaded[k], name))
			return lt_errf(err, errlen, -EBUSY, "package %s needs %s: unload it first",
				       loaded[k]->desc->name, name);
	struct lt_package_ctx *c = loaded[i];
	char pname[LT_PACKAGE_NAME_MAX + 1];

	snprintf(pname, sizeof(pname), "%s", c->desc->name); /* the name lives in the .so */
	memmove(&loaded[i], &loaded[i + 1], (nloaded - i - 1) * sizeof(*loaded));
	nloaded--;
	forget(c);
	lt_log(LOG_INFO, "package %s unloaded", pname);
	return 0;
}

static int needed(const struct lt_package_ctx *c)
{
	for (size_t k = 0; k < nloaded; k++)
		if (has_dep(loaded[k], c->desc->name))
			return 1;
	return 0;
}

void pkg_unload_all(void)
{
	while (nloaded) {
		/*
		 * The last loaded that nothing needs: load order is dependency
		 * order, except for what lt_package_use() loaded later.
		 */
		size_t i = nloaded - 1;
		struct lt_package_ctx *c;

		while (i > 0 && needed(loaded[i]))
			i--;
		c = loaded[i];
		memmove(&loaded[i], &loaded[i + 1], (nloaded - i - 1) * sizeof(*loaded));
		nloaded--;
		forget(c);
	}
}

/* ---- the registry ---------------------------------------------------------------------------- */

const struct lt_device_driver *pkg_device_driver(const char *type)
{
	for (size_t i = 0; i < nloaded; i++)
		for (unsigned k = 0; k < loaded[i]->ndev; k++)
			if (!strcmp(loaded[i]->dev[k]->name, type))
				return loaded[i]->dev[k];
	return NULL;
}

const struct lt_dcc_driver *pkg_dcc_driver(const char *type)
{
	for (size_t i = 0; i < nloaded; i++)
		for (unsigned k = 0; k < loaded[i]->ndcc; k++)
			if (!strcmp(loaded[i]->dcc[k]->name, type))
				return loaded[i]->dcc[k];
	return NULL;
}

/* A driver's name: the package's own, or "PACKAGE-..." / "PACKAGE_...". */
static int check_name(const struct lt_package_ctx *c, const char *name, const char *what, char *err,
		      size_t errlen)
{
	size_t n = strlen(c->desc->name);

	if (!name || !pkg_valid_name(name))
		return lt_errf(err, errlen, -EINVAL,
			       "%s driver name \"%s\" is not [a-z0-9][a-z0-9_-]*", what,
			       name ? name : "(null)");
	if (strncmp(name, c->desc->name, n) || (name[n] && name[n] != '-' && name[n] != '_'))
		return lt_errf(err, errlen, -EINVAL,
			       "%s driver \"%s\" must be named %s, %s-... or %s_... (its package)",
			       what, name, c->desc->name, c->desc->name, c->desc->name);
	return 0;
}

int lt_package_add_device_driver(struct lt_package_ctx *ctx, const struct lt_device_driver *drv,
				 char *err, size_t errlen)
{
	int r = check_name(ctx, drv ? drv->name : NULL, "device", err, errlen);

	if (r < 0)
		return r;
	if (!drv->read && !(drv->poll && drv->dispatch))
		return lt_errf(err, errlen, -EINVAL,
			       "device driver %s has neither read nor poll and dispatch",
			       drv->name);
	if (drv->poll && !drv->dispatch)
		return lt_errf(err, errlen, -EINVAL, "device driver %s has poll without dispatch",
			       drv->name);
	if (ctx->ndev == PKG_DRIVERS_MAX)
		return lt_errf(err, errlen, -E2BIG, "more than %d device drivers", PKG_DRIVERS_MAX);
	if (pkg_device_driver(drv->name))
		return lt_errf(err, errlen, -EEXIST, "device driver %s is provided already",
			       drv->name);
	for (unsigned k = 0; k < ctx->ndev; k++)
		if (!strcmp(ctx->dev[k]->name, drv->name))
			return lt_errf(err, errlen, -EEXIST, "device driver %s registered twice",
				       drv->name);
	ctx->dev[ctx->ndev++] = drv;
	return 0;
}

int lt_package_add_dcc_driver(struct lt_package_ctx *ctx, const struct lt_dcc_driver *drv,
			      char *err, size_t errlen)
{
	int r = check_name(ctx, drv ? drv->name : NULL, "DCC", err, errlen);

	if (r < 0)
		return r;
	if (!drv->register_entity || !drv->publish || !drv->poll || !drv->dispatch)
		return lt_errf(err, errlen, -EINVAL, "DCC driver %s lacks %s", drv->name,
			       !drv->register_entity ? "register_entity"
			       : !drv->publish       ? "publish"
			       : !drv->poll          ? "poll"
						     : "dispatch");
	if (ctx->ndcc == PKG_DRIVERS_MAX)
		return lt_errf(err, errlen, -E2BIG, "more than %d DCC drivers", PKG_DRIVERS_MAX);
	if (pkg_dcc_driver(drv->name))
		return lt_errf(err, errlen, -EEXIST, "DCC driver %s is provided already",
			       drv->name);
	for (unsigned k = 0; k < ctx->ndcc; k++)
		if (!strcmp(ctx->dcc[k]->name, drv->name))
			return lt_errf(err, errlen, -EEXIST, "DCC driver %s registered twice",
				       drv->name);
	ctx->dcc[ctx->ndcc++] = drv;
	return 0;
}

size_t pkg_list(struct pkg_info *out)
{
	for (size_t i = 0; i < nloaded; i++) {
		const struct lt_package_ctx *c = loaded[i];

		out[i] = (struct pkg_info){
			.name = c->desc->name,
			.version = c->desc->version,
			.depends = c->deps,
			.ndevice_drivers = c->ndev,
			.ndcc_drivers = c->ndcc,
		};
		memcpy(out[i].sha256, c->sha256, 32);
		for (size_t k = 0; k < nloaded; k++)
			out[i].users += (unsigned)has_dep(loaded[k], c->desc->name);
	}
	return nloaded;
}

/* ---- static packages and package APIs ---------------------------------------------------- */

int pkg_add_static(const struct lt_package *desc, char *err, size_t errlen)
{
	struct lt_package_ctx *c;
	const char *bad;
	char why[160];
	int r;

	if (!desc->name || !pkg_valid_name(desc->name))
		return lt_errf(err, errlen, -EINVAL, "static package: no valid name");
	if ((bad = bad_descriptor(desc, desc->name, why, sizeof(why))))
		return lt_errf(err, errlen, -EINVAL, "static package %s: %s", desc->name, bad);
	if (find_loaded(desc->name))
		return lt_errf(err, errlen, -EEXIST, "package %s is loaded already", desc->name);
	if (nloaded == PKG_MAX)
		return lt_errf(err, errlen, -E2BIG, "more than %d packages", PKG_MAX);
	for (const char *const *d = desc->depends; d && *d; d++)
		if (!find_loaded(*d))
			return lt_errf(err, errlen, -ENOENT,
				       "static package %s needs %s added first", desc->name, *d);
	c = calloc(1, sizeof(*c));
	if (!c)
		return lt_errf(err, errlen, -ENOMEM, "out of memory");
	c->desc = desc;
	c->fd = -1;
	init_deps(c);
	err[0] = '\0';
	r = desc->init(c, err, errlen);
	if (r) {
		char reason[256];

		snprintf(reason, sizeof(reason), "%s",
			 err[0] ? err : strerror(r < 0 ? -r : EINVAL));
		free(c);
		return lt_errf(err, errlen, r < 0 ? r : -EINVAL, "package %s: init: %s", desc->name,
			       reason);
	}
	c->live = 1;
	loaded[nloaded++] = c;
	return 0;
}

int lt_package_provide(struct lt_package_ctx *ctx, const void *api, char *err, size_t errlen)
{
	if (!api)
		return lt_errf(err, errlen, -EINVAL, "package %s: no API given", ctx->desc->name);
	if (ctx->api)
		return lt_errf(err, errlen, -EEXIST, "package %s provides an API already",
			       ctx->desc->name);
	ctx->api = api;
	return 0;
}

const void *lt_package_api(struct lt_package_ctx *ctx, const char *name)
{
	const struct lt_package_ctx *dep;

	if (!ctx || !name || !has_dep(ctx, name) || !(dep = find_loaded(name)))
		return NULL;
	return dep->api;
}

const void *pkg_api(const char *name)
{
	const struct lt_package_ctx *p = find_loaded(name);

	return p ? p->api : NULL;
}

int lt_package_use(struct lt_package_ctx *ctx, const char *name, const void **api, char *err,
		   size_t errlen)
{
	char *copy;
	int r;

	*api = NULL;
	if (has_dep(ctx, name)) {
		*api = lt_package_api(ctx, name);
		return 0;
	}
	if (!ctx->live)
		return lt_errf(err, errlen, -EBUSY,
			       "package %s: use of %s from init (list it in depends)",
			       ctx->desc->name, name);
	if (!strcmp(name, ctx->desc->name))
		return lt_errf(err, errlen, -ELOOP, "package %s cannot use itself", name);
	if (ctx->ndeps == PKG_DEPS_MAX)
		return lt_errf(err, errlen, -E2BIG, "package %s: more than %d dependencies",
			       ctx->desc->name, PKG_DEPS_MAX);
	r = pkg_load(name, NULL, err, errlen);
	if (r < 0)
		return r;
	/* A package @name already depends on, directly or not, would make a cycle. */
	{
		const char *order[PKG_MAX];
		int n = pkg_unload_order(ctx->desc->name, order);

		for (int i = 0; i < n; i++)
			if (!strcmp(order[i], name))
				return lt_errf(err, errlen, -ELOOP,
					       "package %s depends on %s: it cannot use it", name,
					       ctx->desc->name);
	}
	if (!(copy = strdup(name)))
		return lt_errf(err, errlen, -ENOMEM, "out of memory");
	ctx->deps[ctx->ndeps++] = copy;
	ctx->nused++;
	*api = lt_package_api(ctx, name);
	return 0;
}

static void name_add(char *buf, size_t len, const char *name, size_t namelen)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%.*s", n ? ", " : "", (int)namelen, name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pkg_type_names(int dcc, char *buf, size_t len)
{
	char *files[PKG_MAX];
	size_t nfiles = 0;
	struct dirent *e;
	DIR *dir;
	int dfd;

	for (size_t i = 0; i < nloaded; i++) {
		const struct lt_package_ctx *c = loaded[i];

		for (unsigned k = 0; k < (dcc ? c->ndcc : c->ndev); k++) {
			const char *n = dcc ? c->dcc[k]->name : c->dev[k]->name;

			name_add(buf, len, n, strlen(n));
		}
	}
	/* Packages of the folder not loaded yet: their NAME is a type they may provide. */
	if (open_dir(&dfd, NULL, 0) < 0)
		return;
	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return;
	}
	while ((e = readdir(dir)) && nfiles < PKG_MAX) {
		size_t n = strlen(e->d_name);
		char name[LT_PACKAGE_NAME_MAX + 1];

		if (n < 4 || n - 3 > LT_PACKAGE_NAME_MAX || strcmp(e->d_name + n - 3, ".so"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 3), e->d_name);
		if (pkg_valid_name(name) && !find_loaded(name) && (files[nfiles] = strdup(name)))
			nfiles++;
	}
	closedir(dir);
	qsort(files, nfiles, sizeof(*files), cmp_names);
	for (size_t i = 0; i < nfiles; i++) {
		name_add(buf, len, files[i], strlen(files[i]));
		free(files[i]);
	}
}

int pkg_drivers(const char *name, int dcc, const char **out)
{
	const struct lt_package_ctx *c = find_loaded(name);
	unsigned n;

	if (!c)
		return -ENOENT;
	n = dcc ? c->ndcc : c->ndev;
	for (unsigned k = 0; k < n; k++)
		out[k] = dcc ? c->dcc[k]->name : c->dev[k]->name;
	return (int)n;
}

const char *pkg_provider(const void *drv)
{
	for (size_t i = 0; i < nloaded; i++) {
		for (unsigned k = 0; k < loaded[i]->ndev; k++)
			if ((const void *)loaded[i]->dev[k] == drv)
				return loaded[i]->desc->name;
		for (unsigned k = 0; k < loaded[i]->ndcc; k++)
			if ((const void *)loaded[i]->dcc[k] == drv)
				return loaded[i]->desc->name;
	}
	return NULL;
}
