/* SPDX-License-Identifier: BSD-2-Clause */
#include "indent.h"
#include "jtok.h"

#include <stdlib.h>
#include <string.h>

/*
 * Output into memory, written out once the whole text is known to be JSON:
 * one scan instead of a check and a second scan (the scan is most of the
 * cost). Without memory for it (twice the reply), through a fixed buffer
 * after a check (@f set): a token at a time through stdio costs as much
 * as the parse.
 */
struct sink {
	FILE *f; /* NULL: into mem (or nowhere once out of memory) */
	char *mem;
	size_t n, cap;
	bool oom;
	char buf[65536];
};

static void put_mem(struct sink *s, const char *p, size_t n)
{
	if (s->oom)
		return;
	if (s->cap - s->n < n) {
		size_t cap = s->cap ? s->cap : 1u << 20;
		char *bigger;

		while (cap - s->n < n)
			cap *= 2;
		bigger = realloc(s->mem, cap);
		if (!bigger) {
			s->oom = true;
			return;
		}
		s->mem = bigger;
		s->cap = cap;
	}
	memcpy(s->mem + s->n, p, n);
	s->n += n;
}

static void put(struct sink *s, const char *p, size_t n)
{
	if (!s->f) {
		put_mem(s, p, n);
		return;
	}
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
	bool ok;

	/* liotad's replies indent to less than twice their size: no copy as it grows. */
	s = (struct sink){ .f = NULL, .cap = 2 * len + 4096 };
	s.mem = malloc(s.cap);
	if (!s.mem)
		s.cap = 0;
	ok = scan(buf, len, &s);
	if (ok && !s.oom)
		fwrite(s.mem, 1, s.n, out);
	free(s.mem);
	if (!ok || !s.oom)
		return ok;
	s = (struct sink){ .f = out };
	scan(buf, len, &s);
	fwrite(s.buf, 1, s.n, out);
	return true;
}
