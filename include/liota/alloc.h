/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/alloc.h - memory with the daemon's out-of-memory policy.
 *
 * liotad cannot do anything useful without memory: these functions never
 * return NULL. When the allocation fails they write "liotad: out of
 * memory" on standard error and abort() (systemd then restarts the
 * service). Drivers use them for configuration-time allocations so that
 * they need no error path of their own; a driver that can recover (a large
 * buffer it can do without) calls malloc() itself. Any thread. The memory
 * is released with free().
 */
#ifndef LIOTA_ALLOC_H
#define LIOTA_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * lt_xmalloc() - malloc(@n) (at least one byte, so never NULL for 0).
 * @n: size in bytes.
 *
 * Return: the uninitialised memory; aborts when there is none.
 */
void *lt_xmalloc(size_t n);

/**
 * lt_xcalloc() - calloc(@n, @size), zeroed (at least one byte).
 * @n:    number of elements.
 * @size: size of one element in bytes.
 *
 * Return: the zeroed memory; aborts when there is none (or @n * @size
 * overflows).
 */
void *lt_xcalloc(size_t n, size_t size);

/**
 * lt_xrealloc() - realloc(@p, @n) (at least one byte).
 * @p: memory from these functions or malloc(), or NULL.
 * @n: the new size in bytes.
 *
 * Return: the memory, moved or not; aborts when there is none (@p is then
 * not freed, but the process ends).
 */
void *lt_xrealloc(void *p, size_t n);

/**
 * lt_xstrdup() - strdup(@s).
 * @s: a NUL-terminated string (not NULL).
 *
 * Return: the copy; aborts when there is no memory.
 */
char *lt_xstrdup(const char *s);

/**
 * lt_xasprintf() - a string formatted by printf rules, allocated to size.
 * @fmt: printf format, then its arguments.
 *
 * Return: the string; aborts when there is no memory (or the format
 * fails: a conversion error counts as out of memory).
 */
char *lt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_ALLOC_H */
