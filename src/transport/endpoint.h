/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A list of peers for one transport, in order of preference: the "host"
 * key of a stream or MQTT DCC, "HOST[:PORT], HOST[:PORT]...". An IPv6 address
 * with a port is written in brackets ("[::1]:2003"); one without brackets
 * is a whole address (no port). A peer without a port takes the DCC's
 * "port" key.
 */
#ifndef LT_ENDPOINT_H
#define LT_ENDPOINT_H

#include <stddef.h>

/* More would only lengthen a failover round: a cluster has a few relays. */
#define LT_ENDPOINTS_MAX 8
/* The longest host name (DNS allows 253 bytes). */
#define LT_ENDPOINT_HOST_MAX 255

struct lt_endpoint {
	char *host;
	char *port;     /* NULL: none given (LT_ENDPOINT_PORT_OPTIONAL) */
	char name[300]; /* "HOST:PORT" or "[V6]:PORT", for messages and status */
};

/* Flags of lt_endpoints_split(). */
enum {
	LT_ENDPOINT_NUMERIC_PORT = 1, /* a port written in the list must be 1..65535 */
	LT_ENDPOINT_PORT_OPTIONAL =
		2 /* no port and no @defport: port NULL (the caller's default) */
};

/*
 * The one parser of host lists (stream and MQTT). Split @list into at most
 * @max endpoints, the port of those without one being @defport (may be
 * NULL: then each must name its port, unless LT_ENDPOINT_PORT_OPTIONAL).
 * A host is at most 255 bytes without blanks, brackets (but the [V6] form)
 * or control characters. Returns the count (>= 1) with the array in *@out
 * (lt_endpoints_free()), or a negative errno with the reason, naming the
 * endpoint, in @err. With @out NULL, only checks.
 */
int lt_endpoints_split(const char *list, const char *defport, unsigned max, unsigned flags,
		       struct lt_endpoint **out, char *err, size_t errlen);
/* lt_endpoints_split() for a stream: LT_ENDPOINTS_MAX, any service name as port. */
int lt_endpoints_parse(const char *list, const char *defport, struct lt_endpoint **out, char *err,
		       size_t errlen);
void lt_endpoints_free(struct lt_endpoint *v, unsigned n);

/*
 * lt_so_error - the pending error of socket @fd (SO_ERROR: how a
 * non-blocking connect() ended), errno when it cannot be read, 0 for
 * none or for @fd < 0.
 */
int lt_so_error(int fd);

#endif
