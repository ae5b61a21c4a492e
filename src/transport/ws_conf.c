/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The WebSocket transport's configuration (ws.h): its keys and checks,
 * apart from the client so that a DCC can parse them without
 * libwebsockets (see mqtt_conf.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/link_opts.h"
#include "transport/ws.h"
#include "util.h"

#define MS 1000000ll
/* ---- configuration -------------------------------------------------------------- */

void lt_ws_conf_init(struct lt_ws_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->queue_bytes = 4u << 20;
	c->max_message = 64u << 10;
	c->backoff_min_ns = 1000 * MS;
	c->backoff_max_ns = 60000 * MS;
	c->connect_timeout_ns = 10000 * MS;
	lt_tls_conf_init(&c->tls);
}

void lt_ws_conf_clear(struct lt_ws_conf *c)
{
	free(c->url);
	c->url = NULL;
	lt_tls_conf_clear(&c->tls);
}

const struct lt_opt lt_ws_opts[] = {
	LT_OPT_STRING("url", struct lt_ws_conf, url, 0, 0, "ws://HOST[:PORT]/PATH or wss://..."),
	LT_LINK_OPTS(struct lt_ws_conf),
	LT_OPT_TABLE(struct lt_ws_conf, tls, lt_tls_opts),
	LT_OPT_END(),
};

int lt_ws_conf_option(struct lt_ws_conf *c, const char *key, const char *value, char *err,
		      size_t errlen)
{
	return lt_opts_set(lt_ws_opts, c, key, value, err, errlen);
}

int lt_ws_parse_url(const char *url, bool *tls, char **host, unsigned *port, char **path, char *err,
		    size_t errlen)
{
	const char *p, *h, *he, *slash;
	unsigned long pn;
	char *end;

	*host = *path = NULL;
	if (!strncmp(url, "ws://", 5)) {
		*tls = false;
		p = url + 5;
	} else if (!strncmp(url, "wss://", 6)) {
		*tls = true;
		p = url + 6;
	} else {
		snprintf(err, errlen, "url '%s' is not ws://HOST[:PORT]/PATH or wss://...", url);
		return -EINVAL;
	}
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if (*p == '[') { /* [IPv6]:port */
		h = p + 1;
		he = memchr(h, ']', (size_t)(slash - h));
		if (!he) {
			snprintf(err, errlen, "url '%s': no ']' after the IPv6 address", url);
			return -EINVAL;
		}
		p = he + 1;
	} else {
		h = p;
		he = memchr(p, ':', (size_t)(slash - p));
		if (!he)
			he = slash;
		p = he;
	}
	if (he == h || memchr(h, '@', (size_t)(he - h))) {
		snprintf(err, errlen, "url '%s' has no host (user@ is not supported)", url);
		return -EINVAL;
	}
	/* Neither a host name nor an IPv6 address has brackets inside ("ws://[[1]/"). */
	if (memchr(h, '[', (size_t)(he - h)) || memchr(h, ']', (size_t)(he - h))) {
		snprintf(err, errlen, "url '%s': '[' or ']' inside the host", url);
		return -EINVAL;
	}
	pn = *tls ? 443 : 80;
	if (*p == ':') {
		/* strtoul() would take white space and a sign ("+80", " 80", "-0"). */
		errno = 0;
		pn = strtoul(p + 1, &end, 10);
		if (!isdigit((unsigned char)p[1]) || errno || end != slash || pn == 0 ||
		    pn > 65535) {
			snprintf(err, errlen, "url '%s': the port is not 1..65535", url);
			return -EINVAL;
		}
	} else if (p != slash) {
		snprintf(err, errlen, "url '%s': unexpected text after the host", url);
		return -EINVAL;
	}
	*host = strndup(h, (size_t)(he - h));
	*path = strdup(*slash ? slash : "/");
	*port = (unsigned)pn;
	if (!*host || !*path) {
		free(*host);
		free(*path);
		*host = *path = NULL;
		return -ENOMEM;
	}
	return 0;
}

int lt_ws_conf_check(const struct lt_ws_conf *c, char *err, size_t errlen)
{
	char *host, *path;
	unsigned port;
	bool tls;
	int r;

	if (!c->url) {
		snprintf(err, errlen, "transport = websocket needs url = ws://HOST:PORT/PATH");
		return -EINVAL;
	}
	r = lt_ws_parse_url(c->url, &tls, &host, &port, &path, err, errlen);
	if (r)
		return r;
	free(host);
	free(path);
	if (c->tls.enabled && !tls) {
		snprintf(err, errlen, "tls = yes needs a wss:// url");
		return -EINVAL;
	}
	if (c->backoff_min_ns > c->backoff_max_ns) {
		snprintf(err, errlen, "reconnect_min is longer than reconnect_max");
		return -EINVAL;
	}
	if (tls) {
		struct lt_tls_conf t = c->tls;

		t.enabled = 1;
		return lt_tls_check(&t, err, errlen);
	}
	return 0;
}
