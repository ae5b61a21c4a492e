/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS client settings shared by the transports (liota's Identity and
 * TLSConf): the options of a DCC section, and an OpenSSL 3 client context
 * built from them.
 *
 * Options (the table lt_tls_opts, which each transport's table nests):
 *   tls             yes/no (default no)
 *   ca_file         PEM file of trusted CAs      \ neither: the system's
 *   ca_dir          c_rehash'ed folder of CAs    / default store
 *   cert, key       client certificate and its private key (PEM), both or
 *                   neither; an encrypted key is refused (no prompt)
 *   min_tls         1.2 (default) or 1.3
 *   ciphers         TLS 1.2 cipher list (OpenSSL syntax)
 *   ciphersuites    TLS 1.3 suites (OpenSSL syntax)
 *   verify_hostname yes (default): the server certificate must name the
 *                   host connected to (DNS name, or IP address for a
 *                   numeric host); no: any certificate the CAs signed
 *   crl             PEM file of CRLs: every certificate of the server's
 *                   chain is checked (X509_V_FLAG_CRL_CHECK_ALL), so it
 *                   must hold a current CRL of each CA of the chain
 *
 * The server certificate is always verified against the CAs; there is no
 * option to turn that off.
 *
 * Thread: a context is used by one thread (the publisher) at a time.
 */
#ifndef LT_TLS_H
#define LT_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include <liota/options.h>
#include <liota/stream.h>

/* struct lt_tls_conf is part of a stream's settings in the SDK (liota/stream.h). */

/* Defaults: TLS off, TLS 1.2 minimum, host name verified. */
void lt_tls_conf_init(struct lt_tls_conf *t);
/* Free the strings of @t (it can be given to lt_tls_conf_init again). */
void lt_tls_conf_clear(struct lt_tls_conf *t);
/* Deep copy of @src into @dst (uninitialised); -ENOMEM, @dst then cleared. */
int lt_tls_conf_copy(struct lt_tls_conf *dst, const struct lt_tls_conf *src);

/* The keys above, for struct lt_tls_conf: LT_OPT_TABLE(T, tls, lt_tls_opts). */
extern const struct lt_opt lt_tls_opts[];

/*
 * lt_tls_option - lt_opts_set() with lt_tls_opts: 0, -ENOENT when @key is
 * not a TLS key, -EINVAL or -ENOMEM with a reason in @err.
 */
int lt_tls_option(struct lt_tls_conf *t, const char *key, const char *value, char *err,
		  size_t errlen);

/*
 * lt_tls_check - for the DCC's check callback (also --check-config): with
 * TLS on, cert without key (or key without cert) is an error, and the
 * files are loaded as lt_tls_ctx_new() would, so that a missing or
 * unreadable file, an encrypted key, a key that does not match the
 * certificate or a bad CRL are reported before the daemon starts. With TLS
 * off, setting TLS options is not an error. 0 or -EINVAL with a reason.
 * A private key file that others can read is logged as a warning.
 */
int lt_tls_check(const struct lt_tls_conf *t, char *err, size_t errlen);

/*
 * lt_tls_ctx_new - a client context: peer verification on, minimum
 * version, ciphers, CAs, client certificate and key (checked to match),
 * CRLs, and the name (or address) @host checked against the server's
 * certificate when verify_hostname is on (@host NULL: no name check).
 * Errors name the file and give OpenSSL's reason. The context records why
 * a handshake failed, see lt_tls_failure(). Free with SSL_CTX_free().
 */
SSL_CTX *lt_tls_ctx_new(const struct lt_tls_conf *t, const char *host, char *err, size_t errlen);

/*
 * lt_tls_failure - why the last handshake of a connection made with @ctx
 * failed, in one line: the certificate verification error, as
 * X509_verify_cert_error_string() words it, with the depth and subject of
 * the certificate ("server certificate rejected: certificate has expired
 * (depth 0, CN=localhost)"), else the alert the server sent ("refused by
 * the server: certificate revoked"), else the first error of OpenSSL's
 * queue of this thread. Writes "" and returns 0 when nothing was
 * recorded; returns 1 otherwise. Clears the record and the error queue.
 */
int lt_tls_failure(SSL_CTX *ctx, char *buf, size_t len);

/* Forget what lt_tls_failure() would report (call before a new handshake). */
void lt_tls_failure_clear(SSL_CTX *ctx);

/* Whether @host is an IPv4 or IPv6 address (no SNI, and verified as an address). */
int lt_tls_host_is_address(const char *host);

#endif
