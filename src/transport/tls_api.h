/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What package transport-tls (tls_pkg.c) serves package transport-stream:
 * tls.h's contexts and the OpenSSL calls of a client connection, as
 * function pointers, so that transport-stream links no OpenSSL and maps it
 * only for a stream with tls = yes (lt_package_use()). Private to the two
 * in-tree packages: not installed, no stable ABI.
 */
#ifndef LT_TLS_API_H
#define LT_TLS_API_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "transport/tls.h"

/* The package that serves it. */
#define LT_TLS_PACKAGE "transport-tls"

struct lt_tls_api {
	/* lt_tls_check(), lt_tls_ctx_new(), lt_tls_failure() of tls.h. */
	int (*check)(const struct lt_tls_conf *t, char *err, size_t errlen);
	SSL_CTX *(*ctx_new)(const struct lt_tls_conf *t, const char *host, char *err,
			    size_t errlen);
	void (*ctx_free)(SSL_CTX *ctx);
	int (*failure)(SSL_CTX *ctx, char *buf, size_t len);
	/*
	 * A client connection on the connected socket @fd: SNI for a host
	 * name (not for an address), partial writes, the context's failure
	 * record cleared. NULL when out of memory (the error queue cleared).
	 */
	SSL *(*conn_new)(SSL_CTX *ctx, int fd, const char *host);
	void (*conn_free)(SSL *ssl);
	/* The OpenSSL calls of the same names. */
	int (*connect)(SSL *ssl);
	int (*read)(SSL *ssl, void *buf, int len);
	int (*write)(SSL *ssl, const void *buf, int len);
	int (*get_error)(const SSL *ssl, int ret);
	int (*version)(const SSL *ssl);
	const char *(*version_name)(const SSL *ssl);
	int (*shutdown)(SSL *ssl);
	void (*clear_error)(void);
};

#endif
