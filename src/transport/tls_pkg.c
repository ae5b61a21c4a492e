/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Package transport-tls: OpenSSL for package transport-stream, which
 * loads it only for a stream with tls = yes (tls_api.h). A file of its
 * own, apart from tls.c, because the MQTT and WebSocket packages compile
 * tls.c too and a package has one descriptor.
 */
#include <openssl/err.h>

#include "core/intree.h"
#include "transport/tls_api.h"

static void ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

static SSL *conn_new(SSL_CTX *ctx, int fd, const char *host)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    (!lt_tls_host_is_address(host) && !SSL_set_tlsext_host_name(ssl, host))) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	lt_tls_failure_clear(ctx);
	return ssl;
}

static const struct lt_tls_api tls_api = {
	.check = lt_tls_check,
	.ctx_new = lt_tls_ctx_new,
	.ctx_free = ctx_free,
	.failure = lt_tls_failure,
	.conn_new = conn_new,
	.conn_free = SSL_free,
	.connect = SSL_connect,
	.read = SSL_read,
	.write = SSL_write,
	.get_error = SSL_get_error,
	.version = SSL_version,
	.version_name = SSL_get_version,
	.shutdown = SSL_shutdown,
	.clear_error = ERR_clear_error,
};

static int tls_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_provide(ctx, &tls_api, err, errlen);
}

LT_INTREE_PACKAGE(transport_tls, .name = LT_TLS_PACKAGE, .version = PACKAGE_VERSION,
		  .init = tls_package_init);
