/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/parse.h - parsing of option values, the way the daemon parses its
 * own keys, so that every key of every section accepts numbers, durations
 * and booleans alike.
 *
 * Every function here: @s is the value as written (NUL-terminated, not
 * NULL); on success it stores the value in *@out and returns 0; on failure
 * it returns -EINVAL, leaves *@out untouched and writes a one-line reason
 * that quotes @s into @err (see liota/error.h; @err may be NULL). Pure
 * functions: any thread, no allocation.
 */
#ifndef LIOTA_PARSE_H
#define LIOTA_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * lt_parse_double() - parse a finite number ("1.5", "-3e2") as strtod()
 * reads it, without leading white space or trailing characters.
 * @s:      the value.
 * @out:    receives the number.
 * @err:    receives the reason on failure; may be NULL.
 * @errlen: size of @err.
 *
 * Return: 0, or -EINVAL for anything else, an infinity or NaN.
 */
int lt_parse_double(const char *s, double *out, char *err, size_t errlen);

/**
 * lt_parse_uint() - parse a decimal whole number in [@min, @max], with an
 * optional suffix k, M or G (times 1024, 1024^2, 1024^3): "512", "64k".
 * @s:        the value; no sign, no white space.
 * @min, @max: the range, suffix applied ("1k" is 1024 when compared).
 * @out:      receives the number.
 * @err:      receives the reason on failure ("... is out of range
 *            (MIN..MAX)"); may be NULL.
 * @errlen:   size of @err.
 *
 * Return: 0, or -EINVAL for a malformed or out-of-range value.
 */
int lt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen);

/**
 * lt_parse_duration() - parse a duration: a number (a fraction allowed)
 * with a unit ns, us, ms, s, m or h ("100ms", "1.5s", "2 m"); a bare
 * number means seconds.
 * @s:      the value.
 * @out:    receives the duration in nanoseconds.
 * @err:    receives the reason on failure; may be NULL.
 * @errlen: size of @err.
 *
 * Return: 0, or -EINVAL for a malformed duration or one longer than
 * UINT64_MAX nanoseconds.
 */
int lt_parse_duration(const char *s, uint64_t *out, char *err, size_t errlen);

/**
 * lt_parse_bool() - parse a boolean: yes/no, true/false, on/off, 1/0, in
 * any case.
 * @s:      the value.
 * @out:    receives 1 or 0.
 * @err:    receives the reason on failure; may be NULL.
 * @errlen: size of @err.
 *
 * Return: 0, or -EINVAL for any other word.
 */
int lt_parse_bool(const char *s, int *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_PARSE_H */
