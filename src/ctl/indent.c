/* SPDX-License-Identifier: BSD-2-Clause */
#include "indent.h"

#include <string.h>

#define DEPTH_MAX 64

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

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool scalar_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '+' || c == '-';
}

/* What the grammar takes next. */
enum want { VALUE, KEY, COLON, NEXT };

static bool scan(const char *b, size_t n, struct sink *s)
{
	char close[DEPTH_MAX];
	unsigned depth = 0;
	enum want want = VALUE;
	bool done = false; /* the top-level value is complete */

	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool value = true; /* a value ended here */
		size_t j;

		if (ws(c))
			continue;
		if (done)
			return false;
		switch (c) {
		case '"':
			if (want != VALUE && want != KEY)
				return false;
			for (j = i + 1; j < n && b[j] != '"'; j += b[j] == '\\' ? 2 : 1)
				if ((unsigned char)b[j] < 0x20)
					return false;
			if (j >= n)
				return false;
			put(s, b + i, j + 1 - i);
			i = j;
			if (want == KEY) {
				want = COLON;
				value = false;
			}
			break;
		case '{':
		case '[':
			if (want != VALUE)
				return false;
			for (j = i + 1; j < n && ws(b[j]); j++)
				;
			if (j < n && b[j] == (c == '{' ? '}' : ']')) {
				put(s, c == '{' ? "{}" : "[]", 2);
				i = j;
				break;
			}
			if (depth == DEPTH_MAX)
				return false;
			close[depth++] = c == '{' ? '}' : ']';
			put(s, &c, 1);
			newline(s, depth);
			want = c == '{' ? KEY : VALUE;
			value = false;
			break;
		case '}':
		case ']':
			if (want != NEXT || !depth || close[depth - 1] != c)
				return false;
			newline(s, --depth);
			put(s, &c, 1);
			break;
		case ',':
			if (want != NEXT || !depth)
				return false;
			put(s, ",", 1);
			newline(s, depth);
			want = close[depth - 1] == '}' ? KEY : VALUE;
			value = false;
			break;
		case ':':
			if (want != COLON)
				return false;
			put(s, ": ", 2);
			want = VALUE;
			value = false;
			break;
		default:
			if (want != VALUE || !(c == '-' || (c >= '0' && c <= '9') || c == 't' ||
					       c == 'f' || c == 'n'))
				return false;
			for (j = i; j < n && scalar_char(b[j]); j++)
				;
			put(s, b + i, j - i);
			i = j - 1;
			break;
		}
		if (value) {
			want = NEXT;
			done = !depth;
		}
	}
	return done;
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
