/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one host-list parser (lt_endpoints_split in src/transport/endpoint.c)
 * under the rules of each caller, picked by the first byte (odd: MQTT): a
 * stream's (LT_ENDPOINTS_MAX, a port number or service name, the port key
 * as default) and MQTT's (LT_MQTT_EP_MAX, ports 1..65535 or none;
 * lt_mqtt_endpoints). An accepted list must give 1 to max endpoints, each a
 * host of 1..255 bytes without ',', blanks, brackets or control characters,
 * a port as the rules say (a stream's of [A-Za-z0-9._-]), and a name
 * "HOST:PORT" ("[V6]:PORT"); the list written again from those parts must
 * parse to the very same parts, and lt_mqtt_endpoints() must agree.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transport/endpoint.h"
#include "transport/mqtt.h"

static void check_ep(const struct lt_endpoint *e, int mqtt)
{
	const char *h = e->host;
	char name[sizeof(e->name)];

	FUZZ_CHECK(*h && strlen(h) <= LT_ENDPOINT_HOST_MAX && !strpbrk(h, ", \t[]\x7f"),
		   "host '%s'", h);
	for (const char *p = h; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20, "host '%s'", h);
	if (mqtt) {
		if (e->port) {
			char *end;
			unsigned long v = strtoul(e->port, &end, 10);

			FUZZ_CHECK(v >= 1 && v <= 65535, "port '%s'", e->port);
		}
	} else {
		FUZZ_CHECK(e->port && *e->port, "no port");
		for (const char *p = e->port; *p; p++)
			FUZZ_CHECK(isalnum((unsigned char)*p) || strchr("-_.", *p), "port '%s'",
				   e->port);
	}
	snprintf(name, sizeof(name), strchr(h, ':') ? "[%s]%s%s" : "%s%s%s", h, e->port ? ":" : "",
		 e->port ? e->port : "");
	FUZZ_CHECK(!strcmp(name, e->name), "name '%s' of '%s'", e->name, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int mqtt = size && (data[0] & 1);
	unsigned max = mqtt ? LT_MQTT_EP_MAX : LT_ENDPOINTS_MAX;
	unsigned flags = mqtt ? LT_ENDPOINT_NUMERIC_PORT | LT_ENDPOINT_PORT_OPTIONAL : 0;
	const char *defport = mqtt ? NULL : "2003";
	char *s = fuzz_str(size ? data + 1 : data, size ? size - 1 : 0), err[256], *again;
	struct lt_endpoint *ep, *ep2;
	struct lt_mqtt_ep mep[LT_MQTT_EP_MAX];
	size_t len = 0;
	int n, n2;

	err[0] = 0;
	n = lt_endpoints_split(s, defport, max, flags, &ep, err, sizeof(err));
	if (mqtt)
		FUZZ_CHECK(lt_mqtt_endpoints(s, mep, err, sizeof(err)) == n, "lt_mqtt_endpoints");
	if (n < 0) {
		FUZZ_CHECK(err[0], "refused without a reason");
		goto out;
	}
	FUZZ_CHECK(n >= 1 && (unsigned)n <= max, "%d endpoints", n);
	again = malloc((size_t)n * (LT_ENDPOINT_HOST_MAX + strlen(s) + 8));
	FUZZ_CHECK(again, "no memory");
	for (int i = 0; i < n; i++) {
		int bracket = strchr(ep[i].host, ':') != NULL;

		check_ep(&ep[i], mqtt);
		if (mqtt)
			FUZZ_CHECK(!strcmp(mep[i].host, ep[i].host) &&
					   mep[i].port ==
						   (ep[i].port ? strtoul(ep[i].port, NULL, 10) : 0),
				   "broker %d", i);
		len += (size_t)sprintf(again + len, "%s%s%s%s", i ? "," : "", bracket ? "[" : "",
				       ep[i].host, bracket ? "]" : "");
		if (ep[i].port)
			len += (size_t)sprintf(again + len, ":%s", ep[i].port);
	}
	n2 = lt_endpoints_split(again, defport, max, flags, &ep2, err, sizeof(err));
	FUZZ_CHECK(n2 == n, "'%s' gives %d endpoints, '%s' %d (%s)", s, n, again, n2,
		   n2 < 0 ? err : "");
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(!strcmp(ep[i].name, ep2[i].name), "endpoint %d: '%s', again '%s'", i,
			   ep[i].name, ep2[i].name);
	lt_endpoints_free(ep2, (unsigned)n2);
	lt_endpoints_free(ep, (unsigned)n);
	free(again);
out:
	free(s);
	return 0;
}
