/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/options.h - declarative option tables: how a device driver, a DCC
 * or a transport describes the "key = value" lines of its sections, and
 * the one parser in the core that applies them.
 *
 * A table is an array of struct lt_opt ended by LT_OPT_END() (or
 * LT_OPT_END_SEEN()). Each entry names a key, its type and bounds, and
 * where the parsed value goes: an offset into the driver's own struct (the
 * "base", usually its private data), or a setter for the odd keys. Tables
 * compose: an LT_OPT_TABLE() entry applies another table to a struct
 * embedded at an offset (the transport keys, the TLS keys, the spool keys
 * are fragments that every DCC using them includes).
 *
 * A driver's option callback becomes one line:
 *
 *   static int foo_option(struct lt_dcc *dcc, const char *key, const char *value,
 *                         char *err, size_t errlen)
 *   {
 *           return lt_opts_set(foo_opts, lt_dcc_priv(dcc), key, value, err, errlen);
 *   }
 *
 * and its check callback starts with lt_opts_check() for the required keys.
 * The daemon prefixes every reason with FILE:LINE and the key (or the
 * section, for a missing key). Defaults are whatever the driver's init
 * callback stored in the base: a rejected value never replaces them (every
 * value is parsed into a temporary first).
 *
 * Thread: the configuration thread only (as every option callback).
 */
#ifndef LIOTA_OPTIONS_H
#define LIOTA_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum lt_opt_type - what a value is, and where it is stored.
 * @LT_OPT_END:      the end of a table (LT_OPT_END(), LT_OPT_END_SEEN()).
 * @LT_OPT_STRING:   a char * field: the value is copied (malloc), the old
 *                   copy freed; at most @max bytes (0: LT_OPT_STRING_MAX).
 *                   The driver frees the field in its free callback.
 * @LT_OPT_BOOL:     an int, bool or other integer field set to 0 or 1;
 *                   yes/no, true/false, on/off, 1/0 (lt_parse_bool()).
 * @LT_OPT_INT:      a signed integer field (1, 2, 4 or 8 bytes), decimal,
 *                   in [@min.i, @max.i].
 * @LT_OPT_UINT:     an unsigned integer field (1, 2, 4 or 8 bytes) in
 *                   [@min.u, @max.u]; the suffixes k, M and G (powers of
 *                   1024) make it a size ("4M"), as lt_parse_uint().
 * @LT_OPT_DOUBLE:   a double field, finite, in [@min.d, @max.d].
 * @LT_OPT_DURATION: a uint64_t field in nanoseconds ("100ms", "1.5s"; a
 *                   bare number is seconds), in [@min.u, @max.u] ns.
 * @LT_OPT_ENUM:     an int field set to the @names entry's value whose
 *                   name equals the value (case-sensitive).
 * @LT_OPT_FUNC:     @set(base + offset, key, value, err, errlen) does it
 *                   all (a key with a syntax of its own); it returns as a
 *                   table would (0, -EINVAL or -ENOMEM with a reason).
 * @LT_OPT_TABLE:    the keys of @table, applied at base + offset.
 */
enum lt_opt_type {
	LT_OPT_END = 0,
	LT_OPT_STRING,
	LT_OPT_BOOL,
	LT_OPT_INT,
	LT_OPT_UINT,
	LT_OPT_DOUBLE,
	LT_OPT_DURATION,
	LT_OPT_ENUM,
	LT_OPT_FUNC,
	LT_OPT_TABLE,
};

/** Longest string value when an LT_OPT_STRING entry gives no @max. */
#define LT_OPT_STRING_MAX 4096

/* ---- flags (struct lt_opt's @flags) -------------------------------------- */

/** The key must be given: lt_opts_check() fails otherwise (needs LT_OPT_END_SEEN). */
#define LT_OPT_REQUIRED 0x1u
/** LT_OPT_STRING: an empty value is refused ("KEY must not be empty"). */
#define LT_OPT_NONEMPTY 0x2u
/**
 * LT_OPT_ENUM: refuse an unknown name as "unknown KEY 'x' (A, B or C)", the
 * KEY's underscores read as spaces ("unknown byte order 'x' (...)"), the
 * form of the device drivers' messages; without it: "KEY must be A, B or
 * C, not \"x\"", the form of the transports' messages.
 */
#define LT_OPT_UNKNOWN_FORM 0x4u

/** struct lt_opt_name - one name of an LT_OPT_ENUM and the value it stores. */
struct lt_opt_name {
	const char *name;
	int value;
};

/**
 * struct lt_opt - one key of a table. Fill it with the LT_OPT_*() macros
 * below, which compute @offset and @size from the struct and field names.
 * @key:    the key as written in the configuration; NULL for LT_OPT_TABLE.
 * @type:   enum lt_opt_type (an int: the struct's layout does not depend
 *          on the enum's size).
 * @flags:  LT_OPT_REQUIRED, LT_OPT_NONEMPTY, LT_OPT_UNKNOWN_FORM.
 * @offset: of the field (or, for LT_OPT_FUNC and LT_OPT_TABLE, of what is
 *          handed on) in the base; for LT_OPT_END_SEEN, of the "seen" mask.
 * @size:   sizeof the field (integer fields: 1, 2, 4 or 8).
 * @min, @max: the inclusive range (the member that matches @type; @max of
 *          LT_OPT_STRING is its longest length in bytes).
 * @names:  LT_OPT_ENUM: the names, ended by { NULL, 0 }.
 * @set:    LT_OPT_FUNC: the setter.
 * @table:  LT_OPT_TABLE: the table applied at @offset.
 * @help:   one line saying what the key is, for readers of the table and
 *          for tools that list keys; not used in messages.
 */
struct lt_opt {
	const char *key;
	int type;
	unsigned flags;
	size_t offset;
	size_t size;
	union {
		int64_t i;
		uint64_t u;
		double d;
	} min, max;
	const struct lt_opt_name *names;
	int (*set)(void *field, const char *key, const char *value, char *err, size_t errlen);
	const struct lt_opt *table;
	const char *help;
};

#define LT_OPT_FIELD_(T, f) .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)

/** A string of at most @maxlen bytes (0: LT_OPT_STRING_MAX). */
#define LT_OPT_STRING(k, T, f, fl, maxlen, h)                                                      \
	{                                                                                          \
		.key = (k), .type = LT_OPT_STRING, .flags = (fl), LT_OPT_FIELD_(T, f),             \
		.max = { .u = (maxlen) }, .help = (h)                                              \
	}
#define LT_OPT_BOOL(k, T, f, fl, h)                                                                \
	{                                                                                          \
		.key = (k), .type = LT_OPT_BOOL, .flags = (fl), LT_OPT_FIELD_(T, f), .help = (h)   \
	}
#define LT_OPT_INT(k, T, f, fl, lo, hi, h)                                                         \
	{                                                                                          \
		.key = (k), .type = LT_OPT_INT, .flags = (fl), LT_OPT_FIELD_(T, f),                \
		.min = { .i = (lo) }, .max = { .i = (hi) }, .help = (h)                            \
	}
#define LT_OPT_UINT(k, T, f, fl, lo, hi, h)                                                        \
	{                                                                                          \
		.key = (k), .type = LT_OPT_UINT, .flags = (fl), LT_OPT_FIELD_(T, f),               \
		.min = { .u = (lo) }, .max = { .u = (hi) }, .help = (h)                            \
	}
#define LT_OPT_DOUBLE(k, T, f, fl, lo, hi, h)                                                      \
	{                                                                                          \
		.key = (k), .type = LT_OPT_DOUBLE, .flags = (fl), LT_OPT_FIELD_(T, f),             \
		.min = { .d = (lo) }, .max = { .d = (hi) }, .help = (h)                            \
	}
#define LT_OPT_DURATION(k, T, f, fl, lo, hi, h)                                                    \
	{                                                                                          \
		.key = (k), .type = LT_OPT_DURATION, .flags = (fl), LT_OPT_FIELD_(T, f),           \
		.min = { .u = (lo) }, .max = { .u = (hi) }, .help = (h)                            \
	}
#define LT_OPT_ENUM(k, T, f, fl, nm, h)                                                            \
	{                                                                                          \
		.key = (k), .type = LT_OPT_ENUM, .flags = (fl), LT_OPT_FIELD_(T, f),               \
		.names = (nm), .help = (h)                                                         \
	}
/** @fn gets a pointer to field @f of the base. */
#define LT_OPT_FUNC(k, T, f, fl, fn, h)                                                            \
	{                                                                                          \
		.key = (k), .type = LT_OPT_FUNC, .flags = (fl), LT_OPT_FIELD_(T, f), .set = (fn),  \
		.help = (h)                                                                        \
	}
/** @fn gets the base itself: for a key that sets several fields. */
#define LT_OPT_FUNC_BASE(k, fl, fn, h)                                                             \
	{                                                                                          \
		.key = (k), .type = LT_OPT_FUNC, .flags = (fl), .set = (fn), .help = (h)           \
	}
/** The keys of table @tbl, for the struct that is field @f of T. */
#define LT_OPT_TABLE(T, f, tbl)                                                                    \
	{                                                                                          \
		.type = LT_OPT_TABLE, LT_OPT_FIELD_(T, f), .table = (tbl)                          \
	}
/** The end of a table. */
#define LT_OPT_END()                                                                               \
	{                                                                                          \
		.type = LT_OPT_END                                                                 \
	}
/**
 * The end of a table whose keys are recorded, as bit i of the unsigned
 * integer field @f of T for the i-th entry: lt_opts_set() sets it when
 * entry i takes a value, lt_opts_check() reads it. A table with
 * LT_OPT_REQUIRED entries ends so; at most 64 entries then.
 */
#define LT_OPT_END_SEEN(T, f)                                                                      \
	{                                                                                          \
		.type = LT_OPT_END, LT_OPT_FIELD_(T, f)                                            \
	}

/**
 * lt_opts_set - apply one "key = value" of a section with @table to @base.
 *
 * The value is parsed into a temporary and stored only when valid, so a
 * refused value leaves the field (its default, or an earlier value) as it
 * was; a later key replaces an earlier one (a string's old copy is freed).
 * Entries are searched in order, nested tables where they stand: the first
 * entry with @key wins.
 *
 * Return: 0 when taken; -ENOENT when no entry has @key (@err untouched:
 * the caller may try other keys, the daemon reports "unknown key");
 * -EINVAL for a bad value, with the reason in @err: "'x' is not a whole
 * number", "x is out of range (MIN..MAX)" (numbers), "KEY must be at
 * least 10ms" or "KEY must be 5s to 65535s" (durations),
 * "KEY must be A, B or C, not \"x\"", "KEY must not be empty",
 * "KEY: 'x' is too long (at most N characters)"; -ENOMEM with "out of memory" when a string
 * cannot be copied (nothing changed). @err may be NULL when @errlen is 0.
 */
int lt_opts_set(const struct lt_opt *table, void *base, const char *key, const char *value,
		char *err, size_t errlen);

/**
 * lt_opts_check - after the last key of a section: every LT_OPT_REQUIRED
 * entry of @table (and of its nested tables) was given.
 *
 * Return: 0, or -EINVAL with "KEY is required" in @err for the first one
 * missing (the daemon prefixes the section); -EINVAL with "KEY: table has
 * no seen mask" for a REQUIRED entry in a table not ended by
 * LT_OPT_END_SEEN() (a driver bug, found by its first test).
 */
int lt_opts_check(const struct lt_opt *table, const void *base, char *err, size_t errlen);

/**
 * lt_opts_given - whether the entry of @table (nested tables included)
 * with @key took a value (needs LT_OPT_END_SEEN): for checks such as "host
 * is required with transport = tcp". 1, 0, or -ENOENT when no entry has
 * @key or its table records nothing.
 */
int lt_opts_given(const struct lt_opt *table, const void *base, const char *key);

/**
 * lt_opts_strdup - the string setter of LT_OPT_STRING, for LT_OPT_FUNC
 * setters that validate a string first: copy @value into *@dst, freeing
 * the old copy. The one out-of-memory policy of option parsing: the key
 * is refused with -ENOMEM and "out of memory" in @err, *@dst unchanged
 * (the configuration then fails to load; the daemon never aborts on it).
 */
int lt_opts_strdup(char **dst, const char *value, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_OPTIONS_H */
