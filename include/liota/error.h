/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/error.h - how SDK functions and driver callbacks report failures.
 *
 * Conventions (for every function of the SDK and every driver callback):
 *   - functions returning int return 0 (or a count) on success and a
 *     negative errno value on failure; they never set errno for the caller;
 *   - "err, errlen" parameters receive a one-line reason (no file name, no
 *     trailing newline) when the function fails: the daemon prefixes it with
 *     FILE:LINE or the object's name and logs it once.
 */
#ifndef LIOTA_ERROR_H
#define LIOTA_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * lt_errf() - write a one-line reason into @err and return @rc, so that a
 * function that reports failures through err/errlen fails in one line:
 * `return lt_errf(err, errlen, -EINVAL, "'%s' is not a number", value);`
 * @err:    where the reason goes; may be NULL (nothing is written).
 * @errlen: size of @err in bytes; 0: nothing is written. A longer reason
 *          is truncated, always NUL-terminated.
 * @rc:     returned unchanged (a negative errno value, by convention).
 * @fmt:    printf format of the reason, then its arguments.
 *
 * Any thread; does not allocate.
 *
 * Return: @rc.
 */
int lt_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_ERROR_H */
