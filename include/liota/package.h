/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * DOC: packages
 *
 * A package is a shared object in liotad's package folder (`[daemon]
 * package_dir`, by default /usr/lib/liotad) that provides device drivers
 * and DCC drivers, as liota's packages did. liotad loads it when the
 * configuration names a `type` it provides (the file is then `TYPE.so`),
 * when `[daemon] packages` lists it, or on `liotactl load NAME`; it
 * unloads it on `liotactl unload NAME`, first stopping what uses it.
 *
 * A package exports exactly one symbol, its descriptor, with LT_PACKAGE():
 *
 *	static int init(struct lt_package_ctx *ctx, char *err, size_t errlen)
 *	{
 *		return lt_package_add_device_driver(ctx, &my_driver, err, errlen);
 *	}
 *
 *	LT_PACKAGE(.name = "mydev", .version = "1.0", .init = init);
 *
 * and is built against the installed SDK alone:
 *
 *	cc -shared -fPIC -o mydev.so mydev.c $(pkg-config --cflags --libs liotad)
 *
 * The functions of the SDK resolve in the liotad executable, which exports
 * them (and nothing else).
 */
#ifndef LIOTA_PACKAGE_H
#define LIOTA_PACKAGE_H

#include <stddef.h>

#include <liota/abi.h>
#include <liota/dcc.h>
#include <liota/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The symbol liotad looks up in a package. */
#define LT_PACKAGE_SYMBOL "liota_package"

/* The longest package name; names are [a-z0-9][a-z0-9_-]*. */
#define LT_PACKAGE_NAME_MAX 63

/* What a package's init and exit are given: the package being loaded. */
struct lt_package_ctx;

/**
 * struct lt_package - a package's descriptor
 * @abi:     LT_SDK_ABI of the headers it was built with (LT_PACKAGE() sets
 *           it); a package of another ABI is refused.
 * @name:    its name: the file is NAME.so; [a-z0-9][a-z0-9_-]*, at most
 *           LT_PACKAGE_NAME_MAX characters.
 * @version: free text shown by `liotactl list` (e.g. "1.2.0").
 * @depends: NULL-terminated names of the packages it needs loaded first
 *           (loaded before it, unloaded after it), or NULL.
 * @init:    register what it provides (lt_package_add_device_driver(),
 *           lt_package_add_dcc_driver()). Runs in the daemon's main
 *           thread. Returns 0, or a negative errno with the reason in
 *           @err: the package is then unloaded and what it registered
 *           forgotten.
 * @exit:    optional: release what @init set up, after every device and
 *           DCC of its drivers has stopped. Main thread.
 */
struct lt_package {
	unsigned abi;
	const char *name;
	const char *version;
	const char *const *depends;
	int (*init)(struct lt_package_ctx *ctx, char *err, size_t errlen);
	void (*exit)(struct lt_package_ctx *ctx);
};

/* Define the package's descriptor: LT_PACKAGE(.name = "x", .version = "1", .init = f). */
#define LT_PACKAGE(...)                                                                            \
	__attribute__((visibility("default")))                                                     \
	const struct lt_package liota_package = { .abi = LT_SDK_ABI, __VA_ARGS__ }

/**
 * lt_package_add_device_driver - from @init: @drv serves devices of `type =
 * drv->name`. @drv must stay valid until the package is unloaded (a static
 * const struct). Its name must be the package's own or start with
 * "NAME-" or "NAME_" (so that a `type` leads to its package's file), and
 * no other loaded package may provide it. Required callbacks: read, or
 * poll and dispatch (an event-driven device); dispatch whenever poll is
 * given. Returns 0, or -EINVAL (a required callback missing, a bad name)
 * or -EEXIST (the type is taken) with the reason in @err.
 */
int lt_package_add_device_driver(struct lt_package_ctx *ctx, const struct lt_device_driver *drv,
				 char *err, size_t errlen);

/**
 * lt_package_add_dcc_driver - from @init: @drv serves `[dcc] type =
 * drv->name`, on the same terms as lt_package_add_device_driver().
 * Required callbacks: register_entity, publish, poll, dispatch (the
 * publisher calls them unconditionally); the others are optional.
 */
int lt_package_add_dcc_driver(struct lt_package_ctx *ctx, const struct lt_dcc_driver *drv,
			      char *err, size_t errlen);

/**
 * DOC: package APIs
 *
 * A package may also serve other packages, as liotad's transports do (the
 * transport-stream package serves struct lt_stream_api, include/liota/stream.h):
 * its @init hands the core one API, a struct of function pointers, with
 * lt_package_provide(); a package that lists it in @depends gets it in its
 * own @init with lt_package_api(). Packages never link against each
 * other's symbols: each resolves only the SDK, so any load order works and
 * an unload cannot leave a dangling reference (dependents go first). A
 * package needed only by some configurations is loaded when one asks for
 * it, with lt_package_use().
 */

/**
 * lt_package_provide - from @init: @api (a struct of function pointers,
 * valid until the package is unloaded: a static const struct) is what
 * lt_package_api(ctx, this package's name) returns to the packages that
 * depend on it. One per package. Returns 0, or -EEXIST (one was given
 * already) or -EINVAL (@api NULL) with the reason in @err.
 */
int lt_package_provide(struct lt_package_ctx *ctx, const void *api, char *err, size_t errlen);

/**
 * lt_package_api - the API that package @name provides, for @ctx's
 * package, which must list @name in its descriptor's @depends (or have
 * loaded it with lt_package_use()): so it is loaded before @ctx's package
 * and unloaded after it. NULL when @name is no dependency of @ctx's
 * package or provides no API. @ctx stays valid while its package is
 * loaded, so a package may keep it from @init.
 */
const void *lt_package_api(struct lt_package_ctx *ctx, const char *name);

/**
 * lt_package_use - load package @name (with its dependencies) for @ctx's
 * package, which depends on it from then on until it is unloaded itself,
 * as if its @depends listed it; then as lt_package_api(). For what only
 * some configurations need (transport-stream uses transport-tls only for
 * `tls = yes`), so that the others never map its libraries. Main thread,
 * after @init (from a driver's init or option callbacks); what @init
 * needs belongs in @depends. Returns 0 with its API (or NULL: it provides
 * none) in *@api, or a negative errno with the reason in @err.
 */
int lt_package_use(struct lt_package_ctx *ctx, const char *name, const void **api, char *err,
		   size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_PACKAGE_H */
