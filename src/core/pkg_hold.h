/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packages held unloaded: `liotactl unload` takes a package out, and it
 * stays out across SIGHUP reloads and udev events until `liotactl load`.
 * While held, the configuration's sections of the drivers it provided are
 * left out (with a notice naming it), and [daemon] packages skips it.
 * Main thread only, as the loader.
 */
#ifndef LT_PKG_HOLD_H
#define LT_PKG_HOLD_H

#include <stdbool.h>

/*
 * pkg_hold - hold @name unloaded, remembering the @ntypes driver names
 * @types it provides (call it while it is still loaded). Holding it again
 * replaces them. Returns 0 or -E2BIG (PKG_MAX held already).
 */
int pkg_hold(const char *name, const char *const *types, unsigned ntypes);

/* pkg_release - @name may load again (nothing when it is not held). */
void pkg_release(const char *name);

/* pkg_held - is @name held? */
bool pkg_held(const char *name);

/*
 * pkg_held_types - copies of the driver names remembered for held @name
 * (to hold it again after a load that failed): their count, 0 with *@types
 * NULL when it is not held. Free with pkg_held_types_free().
 */
unsigned pkg_held_types(const char *name, char ***types);
void pkg_held_types_free(char **types, unsigned n);

/*
 * pkg_held_type - the held package that provided driver @type (or is named
 * @type), or NULL: a `type = @type` section is left out while it is held.
 */
const char *pkg_held_type(const char *type);

#endif
