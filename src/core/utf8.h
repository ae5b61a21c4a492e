/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The UTF-8 that MQTT strings (topics, client ids) may hold, as
 * libmosquitto's mosquitto_validate_utf8() checks it, without libmosquitto:
 * the core (property values, discovered names) and the MQTT transport's
 * configuration code (compiled into DCCs that must not map libmosquitto)
 * use it.
 */
#ifndef LT_UTF8_H
#define LT_UTF8_H

#include <stddef.h>

/*
 * lt_utf8_ok - @s (@len bytes, at most 65536) is well-formed UTF-8
 * without U+0000, surrogates, overlong forms, code points past U+10FFFF,
 * non-characters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) or control characters
 * (U+0001..U+001F, U+007F..U+009F). 1 if so, 0 if not.
 */
int lt_utf8_ok(const char *s, size_t len);

#endif
