/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A list of peers for one transport, in order of preference: the "host"
 * key of a stream DCC, "HOST[:PORT], HOST[:PORT]...". An IPv6 address
 * with a port is written in brackets ("[::1]:2003"); one without brackets
 * is a whole address (no port). A peer without a port takes the DCC's
 * "port" key.
 */
#ifndef LT_ENDPOINT_H
#define LT_ENDPOINT_H

#include <stddef.h>

/* More would only lengthen a failover round: a cluster has a few relays. */
#define LT_ENDPOINTS_MAX 8

struct lt_endpoint {
	char *host;
	char *port;
	char name[300]; /* "HOST:PORT" or "[V6]:PORT", for messages and status */
};

/*
 * Split @list into at most LT_ENDPOINTS_MAX endpoints, the port of those
 * without one being @defport (may be NULL: then each must name its port).
 * Returns the count (>= 1) with the array in *@out (lt_endpoints_free()),
 * or a negative errno with the reason in @err. With @out NULL, only checks.
 */
int lt_endpoints_parse(const char *list, const char *defport, struct lt_endpoint **out, char *err,
		       size_t errlen);
void lt_endpoints_free(struct lt_endpoint *v, unsigned n);

#endif
