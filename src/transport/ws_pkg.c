/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The package transport-ws: the WebSocket client (ws.c) served to DCC
 * packages as struct lt_ws_api (liota/ws.h), so that only a configuration
 * with a WebSocket DCC maps libwebsockets and libuv.
 */
#include <stdlib.h>

#include "core/intree.h"
#include "transport/ws.h"

static struct lt_ws_conf *conf_new(void)
{
	struct lt_ws_conf *c = malloc(sizeof(*c));

	if (c)
		lt_ws_conf_init(c);
	return c;
}

static void conf_free(struct lt_ws_conf *c)
{
	if (!c)
		return;
	lt_ws_conf_clear(c);
	free(c);
}

static const struct lt_ws_api api = {
	.conf_new = conf_new,
	.conf_free = conf_free,
	.conf_option = lt_ws_conf_option,
	.conf_check = lt_ws_conf_check,
	.open = lt_ws_new,
	.start = lt_ws_start,
	.send = lt_ws_send,
	.connected = lt_ws_connected,
	.queued = lt_ws_queued,
	.poll = lt_ws_poll,
	.dispatch = lt_ws_dispatch,
	.flush = lt_ws_flush,
	.free = lt_ws_free,
};

static int transport_ws_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_provide(ctx, &api, err, errlen);
}

LT_INTREE_PACKAGE(transport_ws, .name = LT_WS_PACKAGE, .version = PACKAGE_VERSION,
		  .init = transport_ws_init);
