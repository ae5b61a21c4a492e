/* SPDX-License-Identifier: BSD-2-Clause */
#include "jtok.h"

#include <string.h>

enum want { VALUE, KEY, COLON, NEXT };

/* What a byte is inside a string: one look-up per byte (strings are most of a reply). */
enum { PLAIN, END, ESCAPE, BAD };
static const unsigned char in_string[256] = { [0 ... 0x1f] = BAD, ['"'] = END, ['\\'] = ESCAPE };

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool scalar_char(char c)
{
	return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
	       c == '+' || c == '-';
}

/* The end of the number at b[i], as JSON writes numbers (as jansson reads them); 0: not one. */
static size_t number_end(const char *b, size_t i, size_t n)
{
	if (i < n && b[i] == '-')
		i++;
	if (i < n && b[i] == '0')
		i++;
	else if (i < n && digit(b[i]))
		while (i < n && digit(b[i]))
			i++;
	else
		return 0;
	if (i < n && b[i] == '.') {
		if (++i >= n || !digit(b[i]))
			return 0;
		while (i < n && digit(b[i]))
			i++;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		if (++i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		if (i >= n || !digit(b[i]))
			return 0;
		while (i < n && digit(b[i]))
			i++;
	}
	return i;
}

/* The end of the literal at b[i]; 0: not one. */
static size_t literal_end(const char *b, size_t i, size_t n)
{
	static const char *const lit[] = { "true", "false", "null" };

	for (unsigned k = 0; k < 3; k++) {
		size_t l = strlen(lit[k]);

		if (n - i >= l && !memcmp(b + i, lit[k], l))
			return i + l;
	}
	return 0;
}

void jtok_init(struct jtok_scan *s, const char *buf, size_t len)
{
	*s = (struct jtok_scan){ .b = buf, .n = len, .want = VALUE };
}

int jtok_next(struct jtok_scan *s, struct jtok *t)
{
	const char *b = s->b;
	size_t n = s->n, i = s->i, j;
	bool value = true; /* a value ends with this token */
	char c;

	while (i < n && ws(b[i]))
		i++;
	if (i == n) {
		s->i = i;
		return s->done ? 0 : -1;
	}
	if (s->done)
		return -1;
	c = b[i];
	t->p = b + i;
	t->empty = false;
	switch (c) {
	case '"':
		if (s->want != VALUE && s->want != KEY)
			return -1;
		for (j = i + 1; j < n; j++) {
			unsigned char k = in_string[(unsigned char)b[j]];

			if (k == END)
				break;
			if (k == BAD)
				return -1;
			if (k == ESCAPE)
				j++;
		}
		if (j >= n)
			return -1;
		j++;
		t->kind = JTOK_STRING;
		if (s->want == KEY) {
			t->kind = JTOK_KEY;
			s->want = COLON;
			value = false;
		}
		break;
	case '{':
	case '[':
		if (s->want != VALUE)
			return -1;
		t->kind = (enum jtok_kind)c;
		for (j = i + 1; j < n && ws(b[j]); j++)
			;
		if (j < n && b[j] == (c == '{' ? '}' : ']')) {
			t->empty = true;
			j++;
			break;
		}
		if (s->depth == JTOK_DEPTH_MAX)
			return -1;
		s->close[s->depth++] = c == '{' ? '}' : ']';
		s->want = c == '{' ? KEY : VALUE;
		value = false;
		j = i + 1;
		break;
	case '}':
	case ']':
		if (s->want != NEXT || !s->depth || s->close[s->depth - 1] != c)
			return -1;
		s->depth--;
		t->kind = (enum jtok_kind)c;
		j = i + 1;
		break;
	case ',':
		if (s->want != NEXT || !s->depth)
			return -1;
		s->want = s->close[s->depth - 1] == '}' ? KEY : VALUE;
		t->kind = JTOK_COMMA;
		value = false;
		j = i + 1;
		break;
	case ':':
		if (s->want != COLON)
			return -1;
		s->want = VALUE;
		t->kind = JTOK_COLON;
		value = false;
		j = i + 1;
		break;
	default:
		if (s->want != VALUE)
			return -1;
		t->kind = c == '-' || digit(c) ? JTOK_NUMBER : JTOK_LITERAL;
		j = t->kind == JTOK_NUMBER ? number_end(b, i, n) : literal_end(b, i, n);
		/* "1x", "nullx", "1.2.3": not a scalar. */
		if (!j || (j < n && scalar_char(b[j])))
			return -1;
		break;
	}
	t->len = j - i;
	t->depth = s->depth;
	s->i = j;
	if (value) {
		s->want = NEXT;
		s->done = !s->depth;
	}
	return 1;
}

int jtok_skip(struct jtok_scan *s, const struct jtok *first, const char **end)
{
	struct jtok t = *first;

	if ((first->kind == JTOK_BEGIN_OBJECT || first->kind == JTOK_BEGIN_ARRAY) && !first->empty)
		do
			if (jtok_next(s, &t) != 1)
				return -1;
		while (t.depth >= first->depth);
	*end = t.p + t.len;
	return 0;
}
