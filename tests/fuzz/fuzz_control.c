/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket's request parsing (control_parse_request in
 * src/core/control.c): whatever a local client sends. The input is the
 * bytes a client sent; its last byte says whether the client then closed
 * its side (bit 0). The answer must agree with a plain reading of the
 * protocol (one line, '\r' dropped, of "status", "metrics" or "ring",
 * within CONTROL_REQUEST_MAX bytes), read no byte past the ones given, and
 * the daemon, which parses again as bytes arrive, must come to the same
 * answer as when all of them came at once.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "control.h"
#include "fuzz.h"

static int reference(const char *buf, size_t len, bool eof, enum control_cmd *cmd)
{
	static const char *const names[] = {
		[CONTROL_STATUS] = "status", [CONTROL_METRICS] = "metrics", [CONTROL_RING] = "ring"
	};
	size_t n;

	for (n = 0; n < len && n < CONTROL_REQUEST_MAX && buf[n] != '\n'; n++)
		;
	if (n == CONTROL_REQUEST_MAX)
		return -EMSGSIZE;
	if (n == len && !eof)
		return 0;
	if (n && buf[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !memcmp(buf, names[i], n)) {
			*cmd = (enum control_cmd)i;
			return 1;
		}
	return -EINVAL;
}

/* control_parse_request() on exactly @len bytes of their own (ASan sees any overread). */
static int parse(const uint8_t *data, size_t len, bool eof, enum control_cmd *cmd)
{
	char *buf = malloc(len ? len : 1);
	int r;

	FUZZ_CHECK(buf, "no memory");
	memcpy(buf, data, len);
	r = control_parse_request(buf, len, eof, cmd);
	free(buf);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum control_cmd cmd = (enum control_cmd) - 1, want_cmd = (enum control_cmd) - 1, c;
	bool eof;
	int r, want;

	if (size < 1 || size > 4 * CONTROL_REQUEST_MAX)
		return 0;
	eof = data[--size] & 1;
	r = parse(data, size, eof, &cmd);
	want = reference((const char *)data, size, eof, &want_cmd);
	FUZZ_CHECK(r == want && (r != 1 || cmd == want_cmd),
		   "%zu bytes, eof %d: %d (cmd %d), "
		   "expected %d (cmd %d)",
		   size, eof, r, cmd, want, want_cmd);

	/* As the daemon reads: byte by byte until an answer, then that answer. */
	for (size_t n = 0; n <= size; n++) {
		int rn = parse(data, n, n == size && eof, &c);

		if (rn == 0)
			continue;
		FUZZ_CHECK(rn == r && (rn != 1 || c == cmd), "after %zu of %zu bytes: %d, then %d",
			   n, size, rn, r);
		break;
	}
	return 0;
}
