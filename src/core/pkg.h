/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The package loader: shared objects from one trusted folder, each with a
 * descriptor (include/liota/package.h), loaded with their dependencies
 * first and unloaded with their dependents first, and the registry of the
 * device and DCC drivers they provide. Main thread only: loading and
 * unloading change the registry, which the configuration loader reads.
 */
#ifndef LT_PKG_H
#define LT_PKG_H

#include <stddef.h>
#include <stdint.h>

#include <liota/package.h>

/* Packages loaded at once, drivers one package may register, and its dependencies. */
#define PKG_MAX         64
#define PKG_DRIVERS_MAX 16
#define PKG_DEPS_MAX    16

/* A loaded package, as `liotactl list` shows it. */
struct pkg_info {
	const char *name;
	const char *version;
	const char *const *depends;
	uint8_t sha256[32];
	unsigned ndevice_drivers, ndcc_drivers;
	unsigned users; /* loaded packages that depend on it */
};

/*
 * pkg_set_dir - the package folder, "" or NULL: none (no package loads).
 * Taken at the next load; loaded packages stay. Returns 0 or -ENOMEM.
 */
int pkg_set_dir(const char *dir);

/*
 * pkg_valid_name - is @name a package name ([a-z0-9][a-z0-9_-]*, at most
 * LT_PACKAGE_NAME_MAX): never a path, so that only the folder is searched.
 */
int pkg_valid_name(const char *name);

/*
 * pkg_load - load @name and what it depends on (those not loaded yet),
 * dependencies first, running each one's init. Each file is opened in the
 * package folder without following links, must be a regular file owned
 * by root or liotad's user that group and others cannot write (the
 * folder too), and is loaded from the very descriptor that was checked
 * (/proc/self/fd), so that the file hashed and checked is the file run.
 * @sha256 (64 hex digits, or NULL) pins @name's contents: a mismatch
 * refuses it. The descriptor's ABI must be LT_SDK_ABI and its name the
 * file's. On any failure nothing of this call stays loaded. Returns the
 * number of packages loaded by this call (0: it was loaded already), or a
 * negative errno with the reason in @err.
 */
int pkg_load(const char *name, const char *sha256, char *err, size_t errlen);

/*
 * pkg_unload_order - the loaded packages that go with @name, dependents
 * first, @name last, into @order (room for PKG_MAX). The caller stops
 * what uses their drivers, then calls pkg_unload() for each, in order.
 * Returns their count or -ENOENT.
 */
int pkg_unload_order(const char *name, const char **order);

/*
 * pkg_unload - run @name's exit, forget its drivers and dlclose it.
 * Refused (-EBUSY) while a loaded package depends on it. Returns 0,
 * -ENOENT or -EBUSY with the reason in @err.
 */
int pkg_unload(const char *name, char *err, size_t errlen);

/* pkg_unload_all - every package, dependents first (at exit). */
void pkg_unload_all(void);

/* The driver for `type = @type` that a loaded package provides, or NULL. */
const struct lt_device_driver *pkg_device_driver(const char *type);
const struct lt_dcc_driver *pkg_dcc_driver(const char *type);

/*
 * pkg_load_type - make `type = @type` available: 0 when a loaded package
 * provides it already, else load the package named @type, or failing
 * that the one named by @type up to its last '-' or '_' (and so on): a
 * package's driver names are its own name or start with "NAME-"/"NAME_".
 * Returns 0 when a package now provides it, -ENOENT when no package file
 * matches (or there is no package folder), -ESRCH when the package
 * loaded provides no such driver, or pkg_load()'s error, with the reason
 * in @err.
 */
int pkg_load_type(const char *type, int dcc, char *err, size_t errlen);

/*
 * pkg_add_static - a package linked into the program rather than loaded
 * from a file (the unit tests link the in-tree drivers, see
 * src/core/intree.h): its descriptor is checked and its init run as
 * pkg_load() does; its dependencies must be added or loaded first. From
 * then on it is a loaded package like the others (no file, no SHA-256).
 * Returns 0 or a negative errno with the reason in @err.
 */
int pkg_add_static(const struct lt_package *desc, char *err, size_t errlen);

/*
 * pkg_type_names - what `type =` may name, for messages: the device
 * drivers (DCC drivers with @dcc) of the loaded packages, then the
 * packages in the folder not loaded yet (sorted), appended ", "-separated
 * to @buf (a string of @len bytes).
 */
void pkg_type_names(int dcc, char *buf, size_t len);

/* The loaded packages, in load order: fills @out (room for PKG_MAX), returns the count. */
size_t pkg_list(struct pkg_info *out);

/*
 * pkg_drivers - the names of the device (@dcc 0) or DCC drivers that
 * loaded package @name provides, into @out (room for PKG_DRIVERS_MAX),
 * valid while it stays loaded. Returns their count or -ENOENT.
 */
int pkg_drivers(const char *name, int dcc, const char **out);

/*
 * pkg_api - the API loaded package @name provides (lt_package_provide()),
 * or NULL: for the daemon's own use of a package, such as discovery's
 * MQTT client. Valid while @name stays loaded: liotactl unload applies the
 * configuration without it first (pkg_hold.h), which must let it go.
 */
const void *pkg_api(const char *name);

/* pkg_provider - the name of the loaded package that provides driver @drv, or NULL. */
const char *pkg_provider(const void *drv);

#endif
