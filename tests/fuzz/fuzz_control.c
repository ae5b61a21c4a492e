/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket's request parsing (control_parse_request in
 * src/core/control.c): whatever a local client sends. The input is the
 * bytes a client sent; its last byte says whether the client then closed
 * its side (bit 0). The answer must agree with a plain reading of the
 * protocol (one line, '\r' dropped, within CONTROL_REQUEST_MAX bytes, of
 * "status", "metrics", "ring" or "list", or of "load NAME[@SHA256]",
 * "unload NAME" or "reload NAME"), read no byte past the ones given, and
 * the daemon, which parses again as bytes arrive, must come to the same
 * answer as when all of them came at once.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "control.h"
#include "fuzz.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool hex_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int reference(const char *buf, size_t len, bool eof, struct control_req *req)
{
	static const char *const names[] = {
		[CONTROL_STATUS] = "status", [CONTROL_METRICS] = "metrics",
		[CONTROL_RING] = "ring",     [CONTROL_LIST] = "list",
		[CONTROL_LOAD] = "load",     [CONTROL_UNLOAD] = "unload",
		[CONTROL_RELOAD] = "reload",
	};
	size_t n, w, a, k;

	for (n = 0; n < len && n < CONTROL_REQUEST_MAX && buf[n] != '\n'; n++)
		;
	if (n == CONTROL_REQUEST_MAX)
		return -EMSGSIZE;
	if (n == len && !eof)
		return 0;
	if (n && buf[n - 1] == '\r')
		n--;
	for (w = 0; w < n && buf[w] != ' '; w++)
		if (!buf[w])
			return -EINVAL;
	for (k = w; k < n; k++)
		if (!buf[k])
			return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) != w || memcmp(buf, names[i], w))
			continue;
		req->cmd = (enum control_cmd)i;
		if (i < CONTROL_LOAD)
			return w == n ? 1 : -EINVAL;
		/* NAME: [a-z0-9][a-z0-9_-]*, at most LT_PACKAGE_NAME_MAX. */
		a = w + 1;
		for (k = a; k < n && name_char(buf[k]); k++)
			;
		if (a >= n || k == a || k - a > LT_PACKAGE_NAME_MAX || buf[a] == '-' ||
		    buf[a] == '_')
			return -EINVAL;
		memcpy(req->name, buf + a, k - a);
		req->name[k - a] = '\0';
		req->sha256[0] = '\0';
		if (k == n)
			return 1;
		if (i != CONTROL_LOAD || buf[k] != '@' || n - k - 1 != 64)
			return -EINVAL;
		for (size_t h = k + 1; h < n; h++)
			if (!hex_char(buf[h]))
				return -EINVAL;
		memcpy(req->sha256, buf + k + 1, 64);
		req->sha256[64] = '\0';
		return 1;
	}
	return -EINVAL;
}

/* The same request, as far as an answer tells. */
static bool same(const struct control_req *a, const struct control_req *b)
{
	return a->cmd == b->cmd && (a->cmd < CONTROL_LOAD ||
				    (!strcmp(a->name, b->name) && !strcmp(a->sha256, b->sha256)));
}

/* control_parse_request() on exactly @len bytes of their own (ASan sees any overread). */
static int parse(const uint8_t *data, size_t len, bool eof, struct control_req *req)
{
	char *buf = malloc(len ? len : 1);
	int r;

	FUZZ_CHECK(buf, "no memory");
	memcpy(buf, data, len);
	r = control_parse_request(buf, len, eof, req);
	free(buf);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_req req = { .cmd = (enum control_cmd) - 1 }, want_req = req, c = req;
	bool eof;
	int r, want;

	if (size < 1 || size > 4 * CONTROL_REQUEST_MAX)
		return 0;
	eof = data[--size] & 1;
	r = parse(data, size, eof, &req);
	want = reference((const char *)data, size, eof, &want_req);
	FUZZ_CHECK(r == want && (r != 1 || same(&req, &want_req)),
		   "%zu bytes, eof %d: %d (cmd %d %s@%s), "
		   "expected %d (cmd %d %s@%s)",
		   size, eof, r, req.cmd, req.name, req.sha256, want, want_req.cmd, want_req.name,
		   want_req.sha256);

	/* As the daemon reads: byte by byte until an answer, then that answer. */
	for (size_t n = 0; n <= size; n++) {
		int rn = parse(data, n, n == size && eof, &c);

		if (rn == 0)
			continue;
		FUZZ_CHECK(rn == r && (rn != 1 || same(&c, &req)),
			   "after %zu of %zu bytes: %d, then %d", n, size, rn, r);
		break;
	}
	return 0;
}
