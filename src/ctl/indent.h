/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A JSON document as json_dumpf(doc, f, JSON_INDENT(2)) prints it, made
 * from the text liotad sent (json_dumps(JSON_COMPACT)) without building a
 * tree: for a status of 10,000 metrics (2.5 MB), parsing and dumping it
 * again took liotactl 100 ms (reals printed again with "%.17g" above all),
 * this a few. Tokens are copied as they are, so the bytes are jansson's
 * when the text is jansson's compact dump; whitespace between tokens is
 * dropped.
 */
#ifndef LT_CTL_INDENT_H
#define LT_CTL_INDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * json_indent - write @buf (@len bytes) to @out indented, after checking
 * that it is one JSON value with nothing after it, as jtok_next() checks
 * it (jtok.h). A reply cut short or not JSON is refused. false: refused,
 * nothing written.
 */
bool json_indent(const char *buf, size_t len, FILE *out);

#endif
