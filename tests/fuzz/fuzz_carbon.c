/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Carbon path escaping and line encoding (src/dcc/carbon.c): names come from
 * configuration files and, for discovered devices, from the network. Input:
 * 8 bytes of value, 8 of timestamp, 1 of output room, then up to four
 * NUL-separated strings "PREFIX\0EDGE\0DEVICE\0METRIC" (a missing one is NULL).
 * A path must be nodes of [A-Za-z0-9_-] joined by single dots, one per
 * non-empty prefix node and per name given; a line must read back as the
 * path, the very same double and the second of the timestamp, whatever
 * room the encoder had.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "dcc/carbon.h"
#include "fuzz.h"
#include "util.h"

static size_t prefix_nodes(const char *p)
{
	size_t n = 0;

	for (; p && *p; p += strspn(p, "."))
		if (*p != '.') {
			n++;
			p += strcspn(p, ".");
		}
	return n;
}

static void check_path(const char *path, size_t nodes)
{
	size_t got = 0;

	for (const char *p = path; *p;) {
		size_t n = strspn(
			p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

		FUZZ_CHECK(n > 0, "empty node or bad byte at %zu in '%s'", (size_t)(p - path),
			   path);
		got++;
		p += n;
		if (*p) {
			FUZZ_CHECK(*p == '.' && p[1], "bad separator in '%s'", path);
			p++;
		}
	}
	FUZZ_CHECK(got == nodes, "'%s' has %zu nodes, %zu expected", path, got, nodes);
}

static void check_line(const char *path, const struct lt_sample *s, size_t room)
{
	size_t pathlen = strlen(path), len = pathlen + room;
	char *out = malloc(len + 1), *end;
	struct carbon_enc e;
	int n;

	FUZZ_CHECK(out, "no memory");
	carbon_enc_init(&e);
	n = carbon_enc_line(&e, out, len, path, pathlen, s);
	if (!isfinite(s->value)) {
		FUZZ_CHECK(n == -EDOM, "non-finite value gave %d", n);
		goto out;
	}
	if (n == -ENOSPC) {
		FUZZ_CHECK(room < CARBON_LINE_ROOM, "-ENOSPC with %zu bytes of room", room);
		goto out;
	}
	FUZZ_CHECK(n > 0 && (size_t)n <= len, "%d for %zu bytes", n, len);
	out[n] = '\0';
	FUZZ_CHECK(out[n - 1] == '\n' && memchr(out, '\n', (size_t)n - 1) == NULL, "'%s'", out);
	FUZZ_CHECK(memcmp(out, path, pathlen) == 0 && out[pathlen] == ' ', "'%s'", out);
	double v = strtod(out + pathlen + 1, &end);
	FUZZ_CHECK(memcmp(&v, &s->value, sizeof(v)) == 0 && *end == ' ', "'%s' for %.17g", out,
		   s->value);
	uint64_t sec = strtoull(end + 1, &end, 10);
	FUZZ_CHECK(sec == s->ts_ns / LT_NSEC_PER_SEC && *end == '\n', "'%s' for %" PRIu64, out,
		   s->ts_ns);
out:
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_sample s = { 0 };
	const char *part[4] = { NULL, NULL, NULL, NULL };
	size_t room, nodes = 0;
	char *text, *path;

	if (size < 17)
		return 0;
	memcpy(&s.value, data, 8);
	memcpy(&s.ts_ns, data + 8, 8);
	room = data[16] % (CARBON_LINE_ROOM + 8);
	text = malloc(size - 17 + 1);
	FUZZ_CHECK(text, "no memory");
	memcpy(text, data + 17, size - 17);
	text[size - 17] = '\0';
	/* Split on NUL: text's last byte is a NUL of ours, so every part ends inside. */
	for (size_t i = 0, off = 0; i < 4 && off <= size - 17; i++) {
		part[i] = text + off;
		off += strlen(part[i]) + 1;
	}
	/* The edge always has a name; the prefix "" or NULL both mean none. */
	if (!part[1])
		part[1] = "";
	nodes = prefix_nodes(part[0]) + 1 + (part[2] != NULL) + (part[3] != NULL);
	path = carbon_path(part[0], part[1], part[2], part[3]);
	FUZZ_CHECK(path, "no memory");
	check_path(path, nodes);
	check_line(path, &s, room);

	/* One node into a tight buffer: either all of it or nothing. */
	char small[16];
	size_t pos = room % sizeof(small);
	memset(small, 'x', sizeof(small));
	int r = carbon_escape_node(small, sizeof(small), &pos, part[1]);
	size_t need = strlen(part[1]) ? strlen(part[1]) : 1;
	FUZZ_CHECK((r == 0) == (room % sizeof(small) + need + 1 <= sizeof(small)), "r %d", r);
	FUZZ_CHECK(r < 0 ? pos == room % sizeof(small) : pos == room % sizeof(small) + need,
		   "pos %zu", pos);
	free(path);
	free(text);
	return 0;
}
