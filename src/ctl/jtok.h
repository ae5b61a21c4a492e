/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A pull tokenizer for the JSON text liotad sends, checking its grammar as
 * it goes, without building a tree: `status --json` re-indents a reply of
 * 10,000 metrics with it (indent.h) and `status` keeps only the fields its
 * table prints (status_doc.h); a jansson parse of those 2.5 MB (~300,000
 * values) cost liotactl 60-80 ms. Tokens point into the text.
 */
#ifndef LT_CTL_JTOK_H
#define LT_CTL_JTOK_H

#include <stdbool.h>
#include <stddef.h>

#define JTOK_DEPTH_MAX 64

enum jtok_kind {
	JTOK_BEGIN_OBJECT = '{',
	JTOK_BEGIN_ARRAY = '[',
	JTOK_END_OBJECT = '}',
	JTOK_END_ARRAY = ']',
	JTOK_COMMA = ',',
	JTOK_COLON = ':',
	JTOK_KEY = 'k',    /* a string before ':' */
	JTOK_STRING = '"', /* a string value */
	JTOK_NUMBER = '0',
	JTOK_LITERAL = 't', /* true, false, null */
};

struct jtok {
	enum jtok_kind kind;
	const char *p; /* its text: strings with their quotes */
	size_t len;
	/* A { or [ immediately closed: p, len span both; no END token follows. */
	bool empty;
	/* Containers open after the token. */
	unsigned depth;
};

struct jtok_scan {
	const char *b;
	size_t n, i;
	unsigned depth;
	int want;  /* what the grammar takes next (jtok.c) */
	bool done; /* the top-level value is complete */
	char close[JTOK_DEPTH_MAX];
};

/* jtok_init - scan @len bytes of @buf. */
void jtok_init(struct jtok_scan *s, const char *buf, size_t len);

/*
 * jtok_next - the next token in *@t: 1; 0 when the text ended after one
 * whole value (at most JTOK_DEPTH_MAX deep); -1 when it is not JSON or was
 * cut short. Checked: the grammar of objects and arrays, strings without
 * control characters, numbers as JSON writes them, true, false, null;
 * escapes and UTF-8 are not decoded (jansson does it where a string is used).
 */
int jtok_next(struct jtok_scan *s, struct jtok *t);

/*
 * jtok_skip - consume the rest of the value that @first (a value's first
 * token, just read) began; *@end: the byte after its last one. 0, or -1 as
 * jtok_next (an END reached, the text cut short).
 */
int jtok_skip(struct jtok_scan *s, const struct jtok *first, const char **end);

#endif
