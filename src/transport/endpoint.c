/* SPDX-License-Identifier: BSD-2-Clause */
/* The peers of a stream transport: "HOST[:PORT], ..." (endpoint.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/endpoint.h"
#include "util.h"

void lt_endpoints_free(struct lt_endpoint *v, unsigned n)
{
	if (!v)
		return;
	for (unsigned i = 0; i < n; i++) {
		free(v[i].host);
		free(v[i].port);
	}
	free(v);
}

/* One item of the list, [@p, @end) without blanks around it, into @e (NULL: check only). */
static int parse_one(const char *p, const char *end, const char *defport, unsigned flags,
		     struct lt_endpoint *e, unsigned idx, char *err, size_t errlen)
{
	const char *host = p, *hend = end, *port = NULL, *c;
	size_t colons = 0;

	if (p == end)
		return lt_errf(err, errlen, -EINVAL, "endpoint %u is empty", idx + 1);
	for (c = p; c < end; c++) {
		if (*c == ' ' || *c == '\t')
			return lt_errf(err, errlen, -EINVAL, "endpoint %u (\"%.*s\") has a blank",
				       idx + 1, (int)(end - p), p);
		colons += *c == ':';
	}
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb || rb == p + 1 || (rb + 1 < end && (rb[1] != ':' || rb + 2 == end)))
			return lt_errf(err, errlen, -EINVAL,
				       "endpoint %u (\"%.*s\") is not [ADDRESS] or [ADDRESS]:PORT",
				       idx + 1, (int)(end - p), p);
		host = p + 1;
		hend = rb;
		port = rb + 1 < end ? rb + 2 : NULL;
	} else if (colons == 1) {
		hend = memchr(p, ':', (size_t)(end - p));
		port = hend + 1;
		if (hend == p || port == end)
			return lt_errf(err, errlen, -EINVAL,
				       "endpoint %u (\"%.*s\") is not HOST:PORT", idx + 1,
				       (int)(end - p), p);
	}
	/* A bracket outside the [V6] form or a control character: no name, no address. */
	for (c = host; c < hend; c++)
		if (*c == '[' || *c == ']' || (unsigned char)*c < 0x20 || *c == 0x7f)
			break;
	if (c < hend || hend - host > LT_ENDPOINT_HOST_MAX)
		return lt_errf(err, errlen, -EINVAL, "endpoint %u (\"%.*s\") is not a host name",
			       idx + 1, (int)(end - p), p);
	if (!port && !defport && !(flags & LT_ENDPOINT_PORT_OPTIONAL))
		return lt_errf(err, errlen, -EINVAL, "endpoint %u (\"%.*s\") has no port", idx + 1,
			       (int)(end - p), p);
	/* A service name or number: a colon or bracket there is a mistyped address. */
	for (c = port; port && c < end && (isalnum((unsigned char)*c) || strchr("-_.", *c)); c++)
		;
	if (port && c < end && !(flags & LT_ENDPOINT_NUMERIC_PORT))
		return lt_errf(
			err, errlen, -EINVAL,
			"endpoint %u (\"%.*s\"): port '%.*s' is not a number or service name",
			idx + 1, (int)(end - p), p, (int)(end - port), port);
	if (port && (flags & LT_ENDPOINT_NUMERIC_PORT)) {
		/* Plain digits: the port is the name's too, so no suffix, sign or base. */
		unsigned long v = 0;

		for (c = port; c < end && c - port < 6 && *c >= '0' && *c <= '9'; c++)
			v = v * 10 + (unsigned long)(*c - '0');
		if (c < end || v < 1 || v > 65535)
			return lt_errf(err, errlen, -EINVAL,
				       "endpoint %u (\"%.*s\"): port '%.*s' is not 1..65535",
				       idx + 1, (int)(end - p), p, (int)(end - port), port);
	}
	if (!e)
		return 0;
	e->host = xasprintf("%.*s", (int)(hend - host), host);
	if (port)
		e->port = xasprintf("%.*s", (int)(end - port), port);
	else
		e->port = defport ? xstrdup(defport) : NULL;
	snprintf(e->name, sizeof(e->name), strchr(e->host, ':') ? "[%s]%s%s" : "%s%s%s", e->host,
		 e->port ? ":" : "", e->port ? e->port : "");
	return 0;
}

int lt_endpoints_split(const char *list, const char *defport, unsigned max, unsigned flags,
		       struct lt_endpoint **out, char *err, size_t errlen)
{
	struct lt_endpoint *v = NULL;
	unsigned n = 0;
	const char *p = list;
	int r;

	if (out)
		v = xcalloc(max, sizeof(*v));
	for (;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (n == max) {
			r = lt_errf(err, errlen, -EINVAL, "more than %u endpoints", max);
			goto fail;
		}
		r = parse_one(p, end, defport, flags, v ? &v[n] : NULL, n, err, errlen);
		if (r < 0)
			goto fail;
		n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (out)
		*out = v;
	return (int)n;
fail:
	lt_endpoints_free(v, n);
	return r;
}

int lt_endpoints_parse(const char *list, const char *defport, struct lt_endpoint **out, char *err,
		       size_t errlen)
{
	return lt_endpoints_split(list, defport, LT_ENDPOINTS_MAX, 0, out, err, errlen);
}

int lt_so_error(int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return errno;
	return e;
}
