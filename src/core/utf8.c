/* SPDX-License-Identifier: BSD-2-Clause */
/* MQTT's UTF-8 (utf8.h): the rules of libmosquitto's mosquitto_validate_utf8(). */
#include "utf8.h"

/* The length of the sequence that @b starts, and its first bits in *@cp; 0 if none. */
static int lead(unsigned char b, unsigned long *cp)
{
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if ((b & 0xE0) == 0xC0 && b >= 0xC2) {
		*cp = b & 0x1Fu;
		return 2;
	}
	if ((b & 0xF0) == 0xE0) {
		*cp = b & 0x0Fu;
		return 3;
	}
	if ((b & 0xF8) == 0xF0 && b <= 0xF4) {
		*cp = b & 0x07u;
		return 4;
	}
	return 0;
}

int lt_utf8_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (!s || len > 65536)
		return 0;
	for (size_t i = 0; i < len;) {
		unsigned long cp;
		int n = lead(u[i], &cp);

		if (!n || u[i] == 0 || len - i < (size_t)n)
			return 0;
		for (int k = 1; k < n; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + k] & 0x3Fu);
		}
		i += (size_t)n;
		if ((cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFF) == 0xFFFE ||
		    (cp & 0xFFFF) == 0xFFFF)
			return 0;
		if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F))
			return 0;
	}
	return 1;
}
