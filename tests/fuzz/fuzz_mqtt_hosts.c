/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The broker list of an MQTT DCC's host key (lt_mqtt_endpoints in
 * src/transport/mqtt.c). An accepted list must give 1 to LT_MQTT_EP_MAX
 * brokers, each a non-empty host without ',', blanks, brackets or control
 * characters and a port 0 (the port key's) or 1..65535, and the list
 * written again from those parts (an address with ':' in brackets) must
 * parse to the very same parts.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "transport/mqtt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_mqtt_ep ep[LT_MQTT_EP_MAX], ep2[LT_MQTT_EP_MAX];
	char *s = fuzz_str(data, size), err[256], *again;
	size_t len = 0;
	int n, n2;

	n = lt_mqtt_endpoints(s, ep, err, sizeof(err));
	if (n < 0) {
		FUZZ_CHECK(err[0], "refused without a reason");
		goto out;
	}
	FUZZ_CHECK(n >= 1 && n <= LT_MQTT_EP_MAX, "%d brokers", n);
	again = malloc((size_t)n * (sizeof(ep[0].host) + 16));
	FUZZ_CHECK(again, "no memory");
	for (int i = 0; i < n; i++) {
		const char *h = ep[i].host;
		int bracket = strchr(h, ':') || h[0] == '[';

		FUZZ_CHECK(*h && !strpbrk(h, ", \t[]\x7f"), "host '%s'", h);
		for (const char *p = h; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20, "host '%s'", h);
		FUZZ_CHECK(ep[i].port <= 65535, "port %u", ep[i].port);
		len += (size_t)sprintf(again + len, "%s%s%s%s", i ? "," : "", bracket ? "[" : "", h,
				       bracket ? "]" : "");
		if (ep[i].port)
			len += (size_t)sprintf(again + len, ":%u", ep[i].port);
	}
	n2 = lt_mqtt_endpoints(again, ep2, err, sizeof(err));
	FUZZ_CHECK(n2 == n, "'%s' gives %d brokers, '%s' %d (%s)", s, n, again, n2,
		   n2 < 0 ? err : "");
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(!strcmp(ep[i].host, ep2[i].host) && ep[i].port == ep2[i].port,
			   "broker %d: '%s' %u, again '%s' %u", i, ep[i].host, ep[i].port,
			   ep2[i].host, ep2[i].port);
	free(again);
out:
	free(s);
	return 0;
}
