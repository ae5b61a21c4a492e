/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-tree packages (the drivers, DCCs and transports of src/) are
 * packages like any other, built into PACKAGE.so by Makefile.am with
 * -DLT_PACKAGE_SO: there LT_INTREE_PACKAGE() is LT_PACKAGE(), the one
 * symbol the .so exports. The unit tests link several of them into one
 * program instead, where each descriptor needs a name of its own:
 * lt_package_ID, which they hand to pkg_add_static().
 */
#ifndef LT_INTREE_H
#define LT_INTREE_H

#include <liota/package.h>

#ifdef LT_PACKAGE_SO
#define LT_INTREE_PACKAGE(id, ...) LT_PACKAGE(__VA_ARGS__)
#else
#define LT_INTREE_PACKAGE(id, ...)                                                                 \
	extern const struct lt_package lt_package_##id;                                            \
	const struct lt_package lt_package_##id = { .abi = LT_SDK_ABI, __VA_ARGS__ }
#endif

#endif
