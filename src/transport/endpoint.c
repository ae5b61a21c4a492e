/* SPDX-License-Identifier: BSD-2-Clause */
/* The peers of a stream transport: "HOST[:PORT], ..." (endpoint.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int parse_one(const char *p, const char *end, const char *defport, struct lt_endpoint *e,
		     unsigned idx, char *err, size_t errlen)
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
	if (!port && !defport)
		return lt_errf(err, errlen, -EINVAL, "endpoint %u (\"%.*s\") has no port", idx + 1,
			       (int)(end - p), p);
	if (!e)
		return 0;
	e->host = xasprintf("%.*s", (int)(hend - host), host);
	e->port = port ? xasprintf("%.*s", (int)(end - port), port) : xstrdup(defport);
	snprintf(e->name, sizeof(e->name), strchr(e->host, ':') ? "[%s]:%s" : "%s:%s", e->host,
		 e->port);
	return 0;
}

int lt_endpoints_parse(const char *list, const char *defport, struct lt_endpoint **out, char *err,
		       size_t errlen)
{
	struct lt_endpoint *v = NULL;
	unsigned n = 0;
	const char *p = list;
	int r;

	if (out)
		v = xcalloc(LT_ENDPOINTS_MAX, sizeof(*v));
	for (;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (n == LT_ENDPOINTS_MAX) {
			r = lt_errf(err, errlen, -EINVAL, "more than %d endpoints",
				    LT_ENDPOINTS_MAX);
			goto fail;
		}
		r = parse_one(p, end, defport, v ? &v[n] : NULL, n, err, errlen);
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
