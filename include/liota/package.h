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

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_PACKAGE_H */
