/* SPDX-License-Identifier: BSD-2-Clause */
#include "indent.h"
#include "jtok.h"

#include <string.h>

/* Output through one buffer: a token at a time through stdio costs as much as the parse. */
struct sink {
	FILE *f; /* NULL: check only */
	size_t n;
	char buf[65536];
};

static void put(struct sink *s, const char *p, size_t n)
{
	if (!s->f)
		return;
	while (n) {
		size_t k = sizeof(s->buf) - s->n < n ? sizeof(s->buf) - s->n : n;

		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
		if (s->n == sizeof(s->buf)) {
			fwrite(s->buf, 1, s->n, s->f);
			s->n = 0;
		}
	}
}

/* A new line indented for @depth: jansson's dump_indent() with JSON_INDENT(2). */
static void newline(struct sink *s, unsigned depth)
{
	static const char spaces[] = "                                ";

	put(s, "\n", 1);
	for (unsigned k = 2 * depth; k; k -= k < 32 ? k : 32)
		put(s, spaces, k < 32 ? k : 32);
}

/* One token as jansson's dump prints it after the tokens before it. */
static void put_tok(struct sink *s, const struct jtok *t)
{
	switch (t->kind) {
	case JTOK_BEGIN_OBJECT:
	case JTOK_BEGIN_ARRAY:
		if (t->empty) {
			put(s, t->kind == JTOK_BEGIN_OBJECT ? "{}" : "[]", 2);
			break;
		}
		put(s, t->p, 1);
		newline(s, t->depth);
		break;
	case JTOK_END_OBJECT:
	case JTOK_END_ARRAY:
		newline(s, t->depth);
		put(s, t->p, 1);
		break;
	case JTOK_COMMA:
		put(s, ",", 1);
		newline(s, t->depth);
		break;
	case JTOK_COLON:
		put(s, ": ", 2);
		break;
	default:
		put(s, t->p, t->len);
		break;
	}
}

static bool scan(const char *b, size_t n, struct sink *s)
{
	struct jtok_scan sc;
	struct jtok t;
	int r;

	jtok_init(&sc, b, n);
	while ((r = jtok_next(&sc, &t)) == 1)
		put_tok(s, &t);
	return r == 0;
}

bool json_indent(const char *buf, size_t len, FILE *out)
{
	static struct sink s;

	s = (struct sink){ .f = NULL };
	if (!scan(buf, len, &s))
		return false;
	s.f = out;
	scan(buf, len, &s);
	fwrite(s.buf, 1, s.n, out);
	return true;
}
