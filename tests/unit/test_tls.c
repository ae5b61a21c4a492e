/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS options and contexts (src/transport/tls.c): option parsing, the
 * errors for missing files, a certificate without its key, an encrypted or
 * mismatched key, a bad CRL or cipher list; and the reasons recorded for
 * failed handshakes (expired, wrong host, revoked, refused client
 * certificate), from real handshakes over a socketpair. The PKI is made
 * here with OpenSSL's API, in a private folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "unit.h"
#include "transport/tls.h"

static char dir[64];
static char path_buf[16][128];
static int npath;

/* DIR/NAME, in a buffer that lives until the end of the test. */
static const char *P(const char *name)
{
	char *p = path_buf[npath++ % 16];

	snprintf(p, sizeof(path_buf[0]), "%s/%s", dir, name);
	return p;
}

/* ---- a small PKI ---------------------------------------------------------- */

static EVP_PKEY *ca_key, *srv_key, *cli_key, *other_key;
static X509 *ca_crt, *srv_crt, *expired_crt, *wrong_crt, *cli_crt, *revoked_crt, *srv_revoked_crt;

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static void add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_ptr_nonnull(ext);
	ck_assert(X509_add_ext(crt, ext, -1));
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for @cn with @key, signed by @issuer (NULL: self-signed),
 * valid from @from_days to @to_days around now. @san and @eku may be NULL.
 */
static X509 *new_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		      long serial, int ca, long from_days, long to_days, const char *san,
		      const char *eku)
{
	X509 *crt = X509_new();
	X509_NAME *name = X509_NAME_new();

	ck_assert_ptr_nonnull(crt);
	X509_set_version(crt, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(crt), serial);
	X509_gmtime_adj(X509_getm_notBefore(crt), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(crt), to_days * 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(crt, name);
	X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_set_pubkey(crt, key);
	add_ext(crt, issuer ? issuer : crt, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(crt, issuer ? issuer : crt, NID_key_usage,
		ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(crt, issuer ? issuer : crt, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(crt, issuer, NID_authority_key_identifier, "keyid");
	if (san)
		add_ext(crt, issuer ? issuer : crt, NID_subject_alt_name, san);
	if (eku)
		add_ext(crt, issuer ? issuer : crt, NID_ext_key_usage, eku);
	ck_assert(X509_sign(crt, issuer_key ? issuer_key : key, EVP_sha256()));
	return crt;
}

static void write_cert(const char *name, X509 *crt)
{
	FILE *f = fopen(P(name), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert(PEM_write_X509(f, crt));
	fclose(f);
}

static void write_key(const char *name, EVP_PKEY *key, const char *password)
{
	FILE *f = fopen(P(name), "w");

	ck_assert_ptr_nonnull(f);
	if (password)
		ck_assert(PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(),
					       (const unsigned char *)password,
					       (int)strlen(password), NULL, NULL));
	else
		ck_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	ck_assert_int_eq(chmod(P(name), 0600), 0); /* as keys are kept */
}

/* The CA's CRL revoking the certificates of the given serials. */
static void write_crl(const char *name, const long *serials, int n)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	FILE *f;

	ck_assert_ptr_nonnull(crl);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_crt));
	X509_gmtime_adj(t, -3600);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 30 * 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	for (int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();

		ASN1_INTEGER_set(sn, serials[i]);
		X509_REVOKED_set_serialNumber(r, sn);
		X509_gmtime_adj(t, -60);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(sn);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(crl);
	ck_assert(X509_CRL_sign(crl, ca_key, EVP_sha256()));
	f = fopen(P(name), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert(PEM_write_X509_CRL(f, crl));
	fclose(f);
	X509_CRL_free(crl);
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(P(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void pki_setup(void)
{
	static const long revoked[] = { 6, 7 };

	snprintf(dir, sizeof(dir), "/tmp/liotad-test-tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ca_key = new_key();
	srv_key = new_key();
	cli_key = new_key();
	other_key = new_key();
	ca_crt = new_cert("test CA", ca_key, NULL, NULL, 1, 1, -1, 30, NULL, NULL);
	srv_crt = new_cert("localhost", srv_key, ca_crt, ca_key, 2, 0, -1, 30,
			   "DNS:localhost,IP:127.0.0.1", "serverAuth");
	expired_crt = new_cert("localhost", srv_key, ca_crt, ca_key, 3, 0, -60, -30,
			       "DNS:localhost,IP:127.0.0.1", "serverAuth");
	wrong_crt = new_cert("wrong.example", srv_key, ca_crt, ca_key, 4, 0, -1, 30,
			     "DNS:wrong.example", "serverAuth");
	cli_crt = new_cert("client", cli_key, ca_crt, ca_key, 5, 0, -1, 30, NULL, "clientAuth");
	revoked_crt =
		new_cert("revoked", cli_key, ca_crt, ca_key, 6, 0, -1, 30, NULL, "clientAuth");
	srv_revoked_crt = new_cert("localhost", srv_key, ca_crt, ca_key, 7, 0, -1, 30,
				   "DNS:localhost,IP:127.0.0.1", "serverAuth");
	write_cert("ca.crt", ca_crt);
	write_cert("server.crt", srv_crt);
	write_cert("client.crt", cli_crt);
	write_cert("revoked.crt", revoked_crt);
	write_key("client.key", cli_key, NULL);
	write_key("client-enc.key", cli_key, "secret");
	write_key("other.key", other_key, NULL);
	write_crl("crl.pem", revoked, 2);
	write_text("garbage.pem", "this is not PEM\n");
	npath = 0;
}

static void pki_teardown(void)
{
	const char *names[] = { "ca.crt",      "server.crt", "client.crt",
				"revoked.crt", "client.key", "client-enc.key",
				"other.key",   "crl.pem",    "garbage.pem" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(P(names[i]));
	rmdir(dir);
	X509_free(ca_crt);
	X509_free(srv_crt);
	X509_free(expired_crt);
	X509_free(wrong_crt);
	X509_free(cli_crt);
	X509_free(revoked_crt);
	X509_free(srv_revoked_crt);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	EVP_PKEY_free(other_key);
}

/* ---- helpers ----------------------------------------------------------------- */

static int opt(struct lt_tls_conf *t, const char *key, const char *value, char *err)
{
	err[0] = 0;
	return lt_tls_option(t, key, value, err, 256);
}

/* A TLS-on configuration with the test CA. */
static void conf_ca(struct lt_tls_conf *t)
{
	char err[256];

	lt_tls_conf_init(t);
	ck_assert_int_eq(opt(t, "tls", "yes", err), 0);
	ck_assert_int_eq(opt(t, "ca_file", P("ca.crt"), err), 0);
}

/* lt_tls_ctx_new must fail with a message that contains every one of @want. */
static void expect_ctx_error(const struct lt_tls_conf *t, const char *want1, const char *want2)
{
	char err[512] = "";
	SSL_CTX *ctx = lt_tls_ctx_new(t, "localhost", err, sizeof(err));

	ck_assert_msg(!ctx, "context created, expected an error with \"%s\"", want1);
	ck_assert_msg(strstr(err, want1), "error \"%s\" lacks \"%s\"", err, want1);
	if (want2)
		ck_assert_msg(strstr(err, want2), "error \"%s\" lacks \"%s\"", err, want2);
	ck_assert_msg(!strchr(err, '\n'), "error \"%s\" is not one line", err);
	/* lt_tls_check says the same. */
	err[0] = 0;
	ck_assert_int_eq(lt_tls_check(t, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want1), "check error \"%s\" lacks \"%s\"", err, want1);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

/*
 * A handshake between a client made from @t (verifying @host) and a server
 * presenting @srv (asking for a client certificate when @server_crl is not
 * NULL, checked against that CRL file). Returns 1 when both sides
 * completed; the client's lt_tls_failure() text in @why otherwise.
 */
static int handshake(const struct lt_tls_conf *t, const char *host, X509 *srv,
		     const char *server_crl, char *why, size_t whylen)
{
	char err[512] = "";
	SSL_CTX *cctx = lt_tls_ctx_new(t, host, err, sizeof(err));
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	SSL *c, *s;
	int sv[2], cdone = 0, sdone = 0, failed = 0;

	ck_assert_msg(cctx, "client context: %s", err);
	ck_assert_ptr_nonnull(sctx);
	ck_assert(SSL_CTX_use_certificate(sctx, srv));
	ck_assert(SSL_CTX_use_PrivateKey(sctx, srv_key));
	if (server_crl) {
		X509_STORE *st = SSL_CTX_get_cert_store(sctx);

		ck_assert(X509_STORE_add_cert(st, ca_crt));
		ck_assert(X509_STORE_load_file(st, server_crl));
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
		SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c = SSL_new(cctx);
	s = SSL_new(sctx);
	SSL_set_fd(c, sv[0]);
	SSL_set_fd(s, sv[1]);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	/* Step both sides in turn; a few dozen rounds are plenty. */
	for (int i = 0; i < 100 && !failed && !(cdone && sdone); i++) {
		int r;

		if (!cdone) {
			r = SSL_do_handshake(c);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
				 SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE)
				failed = 1;
		} else {
			char b;

			/* TLS 1.3: the server's verdict on our certificate comes after. */
			r = SSL_read(c, &b, 1);
			if (r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				failed = 1;
		}
		if (!sdone) {
			r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ &&
				 SSL_get_error(s, r) != SSL_ERROR_WANT_WRITE)
				sdone = -1;
		}
		if (sdone == -1 && cdone && i > 50)
			break;
	}
	if (sdone == -1 && !failed) {
		char b;

		/* Let the client read the alert the server sent. */
		for (int i = 0; i < 5 && !failed; i++) {
			int r = SSL_read(c, &b, 1);

			if (r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				failed = 1;
		}
	}
	why[0] = 0;
	if (failed || sdone != 1)
		lt_tls_failure(cctx, why, whylen);
	SSL_free(c);
	SSL_free(s);
	close(sv[0]);
	close(sv[1]);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	ERR_clear_error();
	return !failed && cdone && sdone == 1;
}

/* ---- options ------------------------------------------------------------------ */

START_TEST(tls_options_parse_and_default)
{
	struct lt_tls_conf t, u;
	char err[256];

	lt_tls_conf_init(&t);
	ck_assert_int_eq(t.enabled, 0);
	ck_assert_int_eq(t.min_version, TLS1_2_VERSION);
	ck_assert_int_eq(t.verify_hostname, 1);
	ck_assert_int_eq(opt(&t, "tls", "yes", err), 0);
	ck_assert_int_eq(t.enabled, 1);
	ck_assert_int_eq(opt(&t, "tls", "maybe", err), -EINVAL);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(opt(&t, "min_tls", "1.3", err), 0);
	ck_assert_int_eq(t.min_version, TLS1_3_VERSION);
	ck_assert_int_eq(opt(&t, "min_tls", "1.1", err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "1.2 or 1.3"));
	ck_assert_int_eq(opt(&t, "verify_hostname", "no", err), 0);
	ck_assert_int_eq(t.verify_hostname, 0);
	ck_assert_int_eq(opt(&t, "cert", "", err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "cert must not be empty"));
	ck_assert_int_eq(opt(&t, "ca_file", "/a", err), 0);
	ck_assert_int_eq(opt(&t, "ca_file", "/b", err), 0);
	ck_assert_str_eq(t.ca_file, "/b");
	ck_assert_int_eq(opt(&t, "ca_dir", "/c", err), 0);
	ck_assert_int_eq(opt(&t, "cert", "/d", err), 0);
	ck_assert_int_eq(opt(&t, "key", "/e", err), 0);
	ck_assert_int_eq(opt(&t, "crl", "/f", err), 0);
	ck_assert_int_eq(opt(&t, "ciphers", "HIGH", err), 0);
	ck_assert_int_eq(opt(&t, "ciphersuites", "TLS_AES_128_GCM_SHA256", err), 0);
	/* Not a TLS key: -ENOENT, so that a DCC can chain. */
	ck_assert_int_eq(opt(&t, "host", "x", err), -ENOENT);
	ck_assert_int_eq(opt(&t, "prefix", "x", err), -ENOENT);

	ck_assert_int_eq(lt_tls_conf_copy(&u, &t), 0);
	ck_assert_ptr_ne(u.ca_file, t.ca_file);
	ck_assert_str_eq(u.ca_file, "/b");
	ck_assert_str_eq(u.crl, "/f");
	ck_assert_str_eq(u.ciphersuites, "TLS_AES_128_GCM_SHA256");
	ck_assert_int_eq(u.min_version, TLS1_3_VERSION);
	lt_tls_conf_clear(&u);
	lt_tls_conf_clear(&t);
	ck_assert_ptr_null(t.ca_file);
}
END_TEST

START_TEST(tls_off_is_not_checked)
{
	struct lt_tls_conf t;
	char err[256] = "";

	lt_tls_conf_init(&t);
	ck_assert_int_eq(opt(&t, "cert", "/nonexistent.crt", err), 0);
	ck_assert_int_eq(lt_tls_check(&t, err, sizeof(err)), 0);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_cert_and_key_go_together)
{
	struct lt_tls_conf t;
	char err[256];

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
	expect_ctx_error(&t, "cert is set but key is not", NULL);
	lt_tls_conf_clear(&t);

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
	expect_ctx_error(&t, "key is set but cert is not", NULL);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_missing_files_are_named)
{
	const char *keys[] = { "ca_file", "cert", "key", "crl" };
	struct lt_tls_conf t;
	char err[256];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		conf_ca(&t);
		ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
		ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
		ck_assert_int_eq(opt(&t, keys[i], P("missing.pem"), err), 0);
		expect_ctx_error(&t, P("missing.pem"), "No such file or directory");
		lt_tls_conf_clear(&t);
	}
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "ca_dir", P("missing"), err), 0);
	expect_ctx_error(&t, "ca_dir", "No such file or directory");
	lt_tls_conf_clear(&t);
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "ca_dir", P("ca.crt"), err), 0);
	expect_ctx_error(&t, "ca_dir", "not a folder");
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_encrypted_key_is_refused_without_prompt)
{
	struct lt_tls_conf t;
	char err[256];

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("client-enc.key"), err), 0);
	/* stdin is a pipe with nothing in it: a prompt would fail or hang, not pass. */
	expect_ctx_error(&t, "encrypted private key: not supported, decrypt it with openssl pkey",
			 P("client-enc.key"));
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_mismatched_key_is_found_at_load)
{
	struct lt_tls_conf t;
	char err[256];

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("other.key"), err), 0);
	expect_ctx_error(&t, "does not match", "values mismatch");
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_bad_pem_files_give_openssl_reason)
{
	struct lt_tls_conf t;
	char err[256];

	/* A CRL file without a CRL, and one holding a certificate instead. */
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "crl", P("garbage.pem"), err), 0);
	expect_ctx_error(&t, "crl ", "no CRL read");
	lt_tls_conf_clear(&t);
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "crl", P("ca.crt"), err), 0);
	expect_ctx_error(&t, P("ca.crt"), "no CRL read");
	lt_tls_conf_clear(&t);
	/* Not a certificate. */
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("garbage.pem"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
	expect_ctx_error(&t, P("garbage.pem"), "error:");
	lt_tls_conf_clear(&t);
	/* A CA file with no certificate. */
	lt_tls_conf_init(&t);
	ck_assert_int_eq(opt(&t, "tls", "yes", err), 0);
	ck_assert_int_eq(opt(&t, "ca_file", P("garbage.pem"), err), 0);
	expect_ctx_error(&t, "ca_file", "error:");
	lt_tls_conf_clear(&t);
	/* Cipher lists. */
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "ciphers", "NO-SUCH-CIPHER", err), 0);
	expect_ctx_error(&t, "ciphers \"NO-SUCH-CIPHER\"", "error:");
	lt_tls_conf_clear(&t);
	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "ciphersuites", "TLS_NO_SUCH", err), 0);
	expect_ctx_error(&t, "ciphersuites", "error:");
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_context_has_crl_check_all_and_host)
{
	struct lt_tls_conf t;
	char err[256] = "";
	SSL_CTX *ctx;

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
	ck_assert_int_eq(opt(&t, "crl", P("crl.pem"), err), 0);
	ck_assert_int_eq(opt(&t, "min_tls", "1.3", err), 0);
	ck_assert_int_eq(lt_tls_check(&t, err, sizeof(err)), 0);
	ctx = lt_tls_ctx_new(&t, "localhost", err, sizeof(err));
	ck_assert_msg(ctx, "%s", err);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	ck_assert_int_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(store));
	ck_assert(flags & X509_V_FLAG_CRL_CHECK);
	ck_assert(flags & X509_V_FLAG_CRL_CHECK_ALL);
	ck_assert_str_eq(X509_VERIFY_PARAM_get0_host(SSL_CTX_get0_param(ctx), 0), "localhost");
	SSL_CTX_free(ctx);
	lt_tls_conf_clear(&t);
}
END_TEST

static struct lt_tls_conf key_conf;

static void check_key_conf(void)
{
	char err[256] = "";

	ck_assert_msg(lt_tls_check(&key_conf, err, sizeof(err)) == 0, "%s", err);
}

/* As ssh does: a private key others can read is worth a warning (at check time). */
START_TEST(tls_key_others_can_read_is_warned_about)
{
	char err[256] = "", want[512], *out;

	conf_ca(&key_conf);
	ck_assert_int_eq(opt(&key_conf, "cert", P("client.crt"), err), 0);
	ck_assert_int_eq(opt(&key_conf, "key", P("client.key"), err), 0);
	ck_assert_int_eq(chmod(P("client.key"), 0644), 0);
	out = lt_capture_stderr(check_key_conf);
	snprintf(want, sizeof(want),
		 "liotad: warning: key %s: a private key that others can read (mode 0644): "
		 "chmod o-r it\n",
		 P("client.key"));
	ck_assert_str_eq(out, want);
	free(out);
	/* Once: every model build checks (each udev change), the file is the same. */
	out = lt_capture_stderr(check_key_conf);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(chmod(P("client.key"), 0640), 0);
	out = lt_capture_stderr(check_key_conf);
	ck_assert_str_eq(out, "");
	free(out);
	/* Exposed again: warned again. */
	ck_assert_int_eq(chmod(P("client.key"), 0644), 0);
	out = lt_capture_stderr(check_key_conf);
	ck_assert_str_eq(out, want);
	free(out);
	ck_assert_int_eq(chmod(P("client.key"), 0640), 0);
	lt_tls_conf_clear(&key_conf);
}
END_TEST

/* ---- handshakes ------------------------------------------------------------------ */

START_TEST(tls_handshake_good_server_passes)
{
	struct lt_tls_conf t;
	char why[256];

	conf_ca(&t);
	ck_assert_msg(handshake(&t, "localhost", srv_crt, NULL, why, sizeof(why)), "%s", why);
	ck_assert_msg(handshake(&t, "127.0.0.1", srv_crt, NULL, why, sizeof(why)), "%s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_handshake_reports_expired_server)
{
	struct lt_tls_conf t;
	char why[256];

	conf_ca(&t);
	ck_assert(!handshake(&t, "localhost", expired_crt, NULL, why, sizeof(why)));
	ck_assert_msg(strstr(why, "certificate has expired"), "reason: %s", why);
	ck_assert_msg(strstr(why, "CN=localhost"), "reason: %s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_handshake_reports_wrong_host)
{
	struct lt_tls_conf t;
	char why[256], err[256];

	conf_ca(&t);
	ck_assert(!handshake(&t, "localhost", wrong_crt, NULL, why, sizeof(why)));
	ck_assert_msg(strstr(why, "hostname mismatch"), "reason: %s", why);
	/* An address is checked against the IP SANs. */
	ck_assert(!handshake(&t, "127.0.0.1", wrong_crt, NULL, why, sizeof(why)));
	ck_assert_msg(strstr(why, "mismatch"), "reason: %s", why);
	/* verify_hostname = no accepts it (the CA still signed it). */
	ck_assert_int_eq(opt(&t, "verify_hostname", "no", err), 0);
	ck_assert_msg(handshake(&t, "localhost", wrong_crt, NULL, why, sizeof(why)), "%s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_handshake_reports_unknown_ca)
{
	struct lt_tls_conf t;
	char why[256], err[256];

	lt_tls_conf_init(&t);
	ck_assert_int_eq(opt(&t, "tls", "yes", err), 0);
	/* Trust only the client certificate (not a CA of the server's chain). */
	ck_assert_int_eq(opt(&t, "ca_file", P("client.crt"), err), 0);
	ck_assert(!handshake(&t, "localhost", srv_crt, NULL, why, sizeof(why)));
	ck_assert_msg(strstr(why, "unable to get local issuer certificate"), "reason: %s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_handshake_reports_revoked_server_with_crl)
{
	struct lt_tls_conf t;
	char why[256], err[256];

	conf_ca(&t);
	/* Without the CRL the revoked server certificate passes... */
	ck_assert_msg(handshake(&t, "localhost", srv_revoked_crt, NULL, why, sizeof(why)), "%s",
		      why);
	/* ...with it, it is refused, and the good one still passes (CRL_CHECK_ALL finds the
	 * CA's own entry in the same CRL). */
	ck_assert_int_eq(opt(&t, "crl", P("crl.pem"), err), 0);
	ck_assert(!handshake(&t, "localhost", srv_revoked_crt, NULL, why, sizeof(why)));
	ck_assert_msg(strstr(why, "certificate revoked"), "reason: %s", why);
	ck_assert_msg(handshake(&t, "localhost", srv_crt, NULL, why, sizeof(why)), "%s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

START_TEST(tls_handshake_reports_refused_client_certificate)
{
	struct lt_tls_conf t;
	char why[256], err[256];

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("client.crt"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
	ck_assert_msg(handshake(&t, "localhost", srv_crt, P("crl.pem"), why, sizeof(why)), "%s",
		      why);
	lt_tls_conf_clear(&t);

	conf_ca(&t);
	ck_assert_int_eq(opt(&t, "cert", P("revoked.crt"), err), 0);
	ck_assert_int_eq(opt(&t, "key", P("client.key"), err), 0);
	ck_assert(!handshake(&t, "localhost", srv_crt, P("crl.pem"), why, sizeof(why)));
	ck_assert_msg(strstr(why, "refused by the server: certificate revoked"), "reason: %s", why);
	lt_tls_conf_clear(&t);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("options");

	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_add_test(tc, tls_options_parse_and_default);
	tcase_add_test(tc, tls_off_is_not_checked);
	tcase_add_test(tc, tls_cert_and_key_go_together);
	tcase_add_test(tc, tls_missing_files_are_named);
	tcase_add_test(tc, tls_encrypted_key_is_refused_without_prompt);
	tcase_add_test(tc, tls_mismatched_key_is_found_at_load);
	tcase_add_test(tc, tls_bad_pem_files_give_openssl_reason);
	tcase_add_test(tc, tls_context_has_crl_check_all_and_host);
	tcase_add_test(tc, tls_key_others_can_read_is_warned_about);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshakes");
	tcase_add_checked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tls_handshake_good_server_passes);
	tcase_add_test(tc, tls_handshake_reports_expired_server);
	tcase_add_test(tc, tls_handshake_reports_wrong_host);
	tcase_add_test(tc, tls_handshake_reports_unknown_ca);
	tcase_add_test(tc, tls_handshake_reports_revoked_server_with_crl);
	tcase_add_test(tc, tls_handshake_reports_refused_client_certificate);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(tls_suite)
