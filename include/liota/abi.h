/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/abi.h - the version of the SDK's binary interface.
 *
 * A package is built against one LT_SDK_ABI and the daemon loads it only
 * when its own is the same: the number changes whenever a struct of the SDK
 * changes layout or a function changes meaning. The daemon exports the SDK
 * functions under the symbol version LIOTAD_SDK_<LT_SDK_ABI>
 * (src/liotad.sym).
 */
#ifndef LIOTA_ABI_H
#define LIOTA_ABI_H

/**
 * LT_SDK_ABI - SDK ABI version. 9: struct lt_entity ends with the
 * published unit's SI prefix and name (udunits2's), and @unit is the
 * published unit. 8: packages serve each other APIs
 * (lt_package_provide(), lt_package_api(), lt_package_use()). 7: struct
 * lt_dcc_stats and the device counters are plain uint64_t updated through
 * liota/counter.h (they were C11 _Atomic, which C++ before C++23 cannot
 * include).
 */
#define LT_SDK_ABI 9

#endif /* LIOTA_ABI_H */
