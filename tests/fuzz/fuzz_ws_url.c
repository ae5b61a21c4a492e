/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The WebSocket URL of an IoTCC DCC (lt_ws_parse_url in src/transport/ws.c).
 * An accepted URL must give a host without '/' or '@' (and without ':' unless
 * it was in brackets), a port 1..65535 written as plain digits when it was
 * written at all, a path starting with '/', and the URL put together again
 * from those parts must parse to the very same parts.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "transport/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = fuzz_str(data, size), *host = NULL, *path = NULL, *host2, *path2, err[256];
	unsigned port, port2;
	bool tls, tls2;

	if (lt_ws_parse_url(url, &tls, &host, &port, &path, err, sizeof(err)) < 0) {
		FUZZ_CHECK(!host && !path, "parts of a refused url");
		goto out;
	}
	const char *rest = url + (tls ? 6 : 5);
	bool bracket = *rest == '[';
	FUZZ_CHECK(*host && !strpbrk(host, "/@") && (bracket || !strchr(host, ':')), "host '%s'",
		   host);
	FUZZ_CHECK(port >= 1 && port <= 65535 && *path == '/', "port %u path '%s'", port, path);
	/* A port given must be digits only, as lt_parse_uint() wants every number. */
	const char *after = rest + (bracket ? strlen(host) + 2 : strlen(host));
	if (*after == ':')
		FUZZ_CHECK(strspn(after + 1, "0123456789") == strcspn(after + 1, "/"),
			   "port '%.*s' of '%s' is not plain digits", (int)strcspn(after + 1, "/"),
			   after + 1, url);

	size_t n = strlen(host) + strlen(path) + 32;
	char *again = malloc(n);
	FUZZ_CHECK(again, "no memory");
	snprintf(again, n, "%s://%s%s%s:%u%s", tls ? "wss" : "ws", strchr(host, ':') ? "[" : "",
		 host, strchr(host, ':') ? "]" : "", port, path);
	FUZZ_CHECK(lt_ws_parse_url(again, &tls2, &host2, &port2, &path2, err, sizeof(err)) == 0,
		   "'%s' (from '%s') refused: %s", again, url, err);
	FUZZ_CHECK(tls2 == tls && port2 == port && !strcmp(host2, host) && !strcmp(path2, path),
		   "'%s' -> '%s'", url, again);
	free(host2);
	free(path2);
	free(again);
out:
	free(host);
	free(path);
	free(url);
	return 0;
}
