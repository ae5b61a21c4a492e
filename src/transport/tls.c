/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS client settings and contexts (OpenSSL 3), see tls.h.
 *
 * Every file is opened by us first, so that a missing or unreadable one is
 * reported as "ca_file /x: No such file or directory" rather than as a
 * decoder error; what OpenSSL then refuses is reported with its own reason.
 *
 * Why a handshake failed is recorded per context (ex_data), by the verify
 * callback (the certificate's error, depth and subject) and by the info
 * callback (a fatal alert from the peer): libmosquitto owns its SSL object
 * and frees it before the caller could ask SSL_get_verify_result().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "liota/liota.h"
#include "transport/tls.h"
#include "trust.h"
#include "util.h"

void lt_tls_conf_init(struct lt_tls_conf *t)
{
	*t = (struct lt_tls_conf){
		.min_version = TLS1_2_VERSION,
		.verify_hostname = 1,
	};
}

void lt_tls_conf_clear(struct lt_tls_conf *t)
{
	free(t->ca_file);
	free(t->ca_dir);
	free(t->cert);
	free(t->key);
	free(t->crl);
	free(t->ciphers);
	free(t->ciphersuites);
	t->ca_file = t->ca_dir = t->cert = t->key = t->crl = t->ciphers = t->ciphersuites = NULL;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

int lt_tls_conf_copy(struct lt_tls_conf *dst, const struct lt_tls_conf *src)
{
	*dst = *src;
	dst->ca_file = dst->ca_dir = dst->cert = dst->key = dst->crl = NULL;
	dst->ciphers = dst->ciphersuites = NULL;
	if (dup_str(&dst->ca_file, src->ca_file) || dup_str(&dst->ca_dir, src->ca_dir) ||
	    dup_str(&dst->cert, src->cert) || dup_str(&dst->key, src->key) ||
	    dup_str(&dst->crl, src->crl) || dup_str(&dst->ciphers, src->ciphers) ||
	    dup_str(&dst->ciphersuites, src->ciphersuites)) {
		lt_tls_conf_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static const struct lt_opt_name tls_versions[] = {
	{ "1.2", TLS1_2_VERSION },
	{ "1.3", TLS1_3_VERSION },
	{ NULL, 0 },
};

#define TLS_PATH(k, f, h) LT_OPT_STRING(k, struct lt_tls_conf, f, LT_OPT_NONEMPTY, 0, h)

const struct lt_opt lt_tls_opts[] = {
	LT_OPT_BOOL("tls", struct lt_tls_conf, enabled, 0, "use TLS"),
	LT_OPT_BOOL("verify_hostname", struct lt_tls_conf, verify_hostname, 0,
		    "check the peer's name in its certificate"),
	LT_OPT_ENUM("min_tls", struct lt_tls_conf, min_version, 0, tls_versions,
		    "oldest TLS version accepted"),
	TLS_PATH("ca_file", ca_file, "CA certificates (PEM)"),
	TLS_PATH("ca_dir", ca_dir, "folder of hashed CA certificates"),
	TLS_PATH("cert", cert, "client certificate (PEM)"),
	TLS_PATH("key", key, "client key (PEM)"),
	TLS_PATH("crl", crl, "certificate revocation list (PEM)"),
	LT_OPT_STRING("ciphers", struct lt_tls_conf, ciphers, LT_OPT_NONEMPTY, 0,
		      "TLS 1.2 cipher list"),
	LT_OPT_STRING("ciphersuites", struct lt_tls_conf, ciphersuites, LT_OPT_NONEMPTY, 0,
		      "TLS 1.3 cipher suites"),
	LT_OPT_END(),
};

int lt_tls_option(struct lt_tls_conf *t, const char *key, const char *value, char *err,
		  size_t errlen)
{
	return lt_opts_set(lt_tls_opts, t, key, value, err, errlen);
}

/*
 * The rest needs OpenSSL at link time; the settings above do not.
 * Package transport-stream compiles this file with LT_TLS_CONF_ONLY: it
 * takes the TLS keys without mapping OpenSSL, which package transport-tls
 * (tls_pkg.c) brings when a stream has tls = yes.
 */
#ifndef LT_TLS_CONF_ONLY

/* What lt_tls_failure() reports: the first failure of the last handshake. */
struct tls_diag {
	int verify_err; /* X509_V_OK: none */
	int depth;
	char subject[160];
	char alert[64]; /* "": none */
	int passwd_asked;
};

static int diag_index = -1;
static pthread_once_t diag_once = PTHREAD_ONCE_INIT;

static void diag_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

static void diag_init(void)
{
	diag_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, diag_free);
}

static struct tls_diag *ctx_diag(const SSL_CTX *ctx)
{
	return ctx && diag_index >= 0 ? SSL_CTX_get_ex_data(ctx, diag_index) : NULL;
}

/* The first error of OpenSSL's queue (the deepest cause), then clear it. */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (!e)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/*
 * Whether to warn about the key file @st: when others can read it and no
 * warning was given since it became so (same file, same mode). Every model
 * build checks the DCCs (each udev or discovery change, not only a start or
 * a reload): once is enough while nothing changes. A few keys at most: the
 * oldest is forgotten past ARRAY_SIZE(warned).
 */
static bool key_warn(const struct stat *st)
{
	static struct {
		dev_t dev;
		ino_t ino;
		mode_t mode; /* 0: free */
	} warned[16];
	static unsigned next;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool exposed = lt_secret_exposed(st), warn = exposed;

	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < ARRAY_SIZE(warned); i++) {
		if (warned[i].dev != st->st_dev || warned[i].ino != st->st_ino || !warned[i].mode)
			continue;
		if (exposed && warned[i].mode == st->st_mode)
			warn = false;
		else
			warned[i].mode = 0; /* closed, or another mode: forgotten */
	}
	if (warn) {
		unsigned i = next++ % ARRAY_SIZE(warned);

		warned[i].dev = st->st_dev;
		warned[i].ino = st->st_ino;
		warned[i].mode = st->st_mode;
	}
	pthread_mutex_unlock(&lock);
	return warn;
}

int lt_tls_check(const struct lt_tls_conf *t, char *err, size_t errlen)
{
	struct stat st;
	SSL_CTX *ctx;

	if (!t->enabled)
		return 0;
	ctx = lt_tls_ctx_new(t, NULL, err, errlen);
	if (!ctx)
		return -EINVAL;
	SSL_CTX_free(ctx);
	/* As ssh does: a warning, at check time only (not at every connection), once. */
	if (t->key && stat(t->key, &st) == 0 && key_warn(&st))
		lt_log(LOG_WARNING,
		       "key %s: a private key that others can read (mode %04o): "
		       "chmod o-r it",
		       t->key, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A readable regular file (or, @dir, a folder): the reason otherwise. */
static int check_path(const char *key, const char *path, int dir, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;

	if (stat(path, &st) < 0)
		return lt_errf(err, errlen, -EINVAL, "%s %s: %s", key, path, strerror(errno));
	if (dir) {
		if (!S_ISDIR(st.st_mode))
			return lt_errf(err, errlen, -EINVAL, "%s %s: not a folder", key, path);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return lt_errf(err, errlen, -EINVAL, "%s %s: is a folder", key, path);
	f = fopen(path, "r");
	if (!f)
		return lt_errf(err, errlen, -EINVAL, "%s %s: %s", key, path, strerror(errno));
	fclose(f);
	return 0;
}

/*
 * The private key's pass phrase callback: there is nobody to ask (and
 * OpenSSL's default would prompt on the terminal), so an encrypted key is
 * refused, and the flag lets the caller say why.
 */
static int refuse_passwd(char *buf, int size, int rwflag, void *u)
{
	struct tls_diag *d = u;

	d->passwd_asked = 1;
	return -1;
}

static void record_subject(struct tls_diag *d, X509 *cert)
{
	BIO *b;
	long n;
	char *p;

	d->subject[0] = 0;
	if (!cert)
		return;
	b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0)
			snprintf(d->subject, sizeof(d->subject), "%.*s", (int)n, p);
	}
	BIO_free(b);
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_diag *d = ssl ? ctx_diag(SSL_get_SSL_CTX(ssl)) : NULL;

	/* Keep the first error: the later ones are often its consequences. */
	if (!ok && d && d->verify_err == X509_V_OK) {
		d->verify_err = X509_STORE_CTX_get_error(x);
		d->depth = X509_STORE_CTX_get_error_depth(x);
		record_subject(d, X509_STORE_CTX_get_current_cert(x));
	}
	return ok;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_diag *d;

	if (!(where & SSL_CB_READ_ALERT))
		return;
	/* Fatal alerts only: a close_notify is a warning and no failure. */
	if (strcmp(SSL_alert_type_string(ret), "F"))
		return;
	d = ctx_diag(SSL_get_SSL_CTX(ssl));
	if (d && !d->alert[0])
		snprintf(d->alert, sizeof(d->alert), "%s", SSL_alert_desc_string_long(ret));
}

static int load_crls(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	char reason[256];
	X509_CRL *crl;
	int n = 0, r = 0;
	BIO *b;

	b = BIO_new_file(path, "r");
	if (!b)
		return lt_errf(err, errlen, -EINVAL, "crl %s: %s", path,
			       ossl_reason(reason, sizeof(reason)));
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
		if (!X509_STORE_add_crl(store, crl))
			r = lt_errf(err, errlen, -EINVAL, "crl %s: %s", path,
				    ossl_reason(reason, sizeof(reason)));
		X509_CRL_free(crl);
		if (r)
			break;
		n++;
	}
	BIO_free(b);
	if (r)
		return r;
	/* The loop ends on "no start line" at the end of the file: expected,
	 * unless no CRL was read at all (or the end was garbage). */
	if (!n || ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		return lt_errf(err, errlen, -EINVAL, "crl %s: no CRL read (%s)", path,
			       ossl_reason(reason, sizeof(reason)));
	ERR_clear_error();
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}

int lt_tls_host_is_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL_CTX *lt_tls_ctx_new(const struct lt_tls_conf *t, const char *host, char *err, size_t errlen)
{
	struct tls_diag *d;
	char reason[256];
	SSL_CTX *ctx;

	if (!t->cert != !t->key) {
		lt_errf(err, errlen, -EINVAL,
			t->cert ? "cert is set but key is not: give both or neither"
				: "key is set but cert is not: give both or neither");
		return NULL;
	}
	if ((t->ca_file && check_path("ca_file", t->ca_file, 0, err, errlen)) ||
	    (t->ca_dir && check_path("ca_dir", t->ca_dir, 1, err, errlen)) ||
	    (t->cert && check_path("cert", t->cert, 0, err, errlen)) ||
	    (t->key && check_path("key", t->key, 0, err, errlen)) ||
	    (t->crl && check_path("crl", t->crl, 0, err, errlen)))
		return NULL;

	pthread_once(&diag_once, diag_init);
	ERR_clear_error();
	d = calloc(1, sizeof(*d));
	ctx = SSL_CTX_new(TLS_client_method());
	if (!d || !ctx || diag_index < 0 || !SSL_CTX_set_ex_data(ctx, diag_index, d)) {
		lt_errf(err, errlen, -EINVAL, "cannot create a TLS context: %s",
			ossl_reason(reason, sizeof(reason)));
		free(d);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* From here @d belongs to @ctx (freed by diag_free). */
	d->verify_err = X509_V_OK;
	SSL_CTX_set_default_passwd_cb(ctx, refuse_passwd);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, d);

	if (!SSL_CTX_set_min_proto_version(ctx, t->min_version)) {
		lt_errf(err, errlen, -EINVAL, "min_tls: %s", ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}
	if (t->ciphers && !SSL_CTX_set_cipher_list(ctx, t->ciphers)) {
		lt_errf(err, errlen, -EINVAL, "ciphers \"%s\": %s", t->ciphers,
			ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}
	if (t->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, t->ciphersuites)) {
		lt_errf(err, errlen, -EINVAL, "ciphersuites \"%s\": %s", t->ciphersuites,
			ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}

	if (t->ca_file && !SSL_CTX_load_verify_file(ctx, t->ca_file)) {
		lt_errf(err, errlen, -EINVAL, "ca_file %s: %s", t->ca_file,
			ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}
	if (t->ca_dir && !SSL_CTX_load_verify_dir(ctx, t->ca_dir)) {
		lt_errf(err, errlen, -EINVAL, "ca_dir %s: %s", t->ca_dir,
			ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}
	if (!t->ca_file && !t->ca_dir && !SSL_CTX_set_default_verify_paths(ctx)) {
		lt_errf(err, errlen, -EINVAL, "the system's CA store: %s",
			ossl_reason(reason, sizeof(reason)));
		goto err_free;
	}

	if (t->cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
			lt_errf(err, errlen, -EINVAL, "cert %s: %s", t->cert,
				ossl_reason(reason, sizeof(reason)));
			goto err_free;
		}
		d->passwd_asked = 0;
		if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
			unsigned long e = ERR_peek_error();

			if (d->passwd_asked) {
				ERR_clear_error();
				lt_errf(err, errlen, -EINVAL,
					"key %s: encrypted private key: not supported, "
					"decrypt it with openssl pkey",
					t->key);
			} else if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
				   ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
				lt_errf(err, errlen, -EINVAL, "key %s does not match cert %s: %s",
					t->key, t->cert, ossl_reason(reason, sizeof(reason)));
			} else {
				lt_errf(err, errlen, -EINVAL, "key %s: %s", t->key,
					ossl_reason(reason, sizeof(reason)));
			}
			goto err_free;
		}
		/* Also catches a key of the right type but another pair. */
		if (SSL_CTX_check_private_key(ctx) != 1) {
			lt_errf(err, errlen, -EINVAL, "key %s does not match cert %s: %s", t->key,
				t->cert, ossl_reason(reason, sizeof(reason)));
			goto err_free;
		}
	}
	if (t->crl && load_crls(ctx, t->crl, err, errlen) < 0)
		goto err_free;

	/* Nothing here could answer a renegotiation (and TLS 1.3 has none). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (t->verify_hostname && host && *host) {
		X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
		int ok;

		if (lt_tls_host_is_address(host)) {
			ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
		} else {
			X509_VERIFY_PARAM_set_hostflags(param,
							X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = X509_VERIFY_PARAM_set1_host(param, host, 0);
		}
		if (!ok) {
			lt_errf(err, errlen, -EINVAL, "host name \"%s\" for verification: %s", host,
				ossl_reason(reason, sizeof(reason)));
			goto err_free;
		}
	}
	return ctx;

err_free:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int lt_tls_failure(SSL_CTX *ctx, char *buf, size_t len)
{
	struct tls_diag *d = ctx_diag(ctx);
	unsigned long e;
	int r = 1;

	if (d && d->verify_err != X509_V_OK) {
		snprintf(buf, len, "server certificate rejected: %s (depth %d%s%s)",
			 X509_verify_cert_error_string(d->verify_err), d->depth,
			 d->subject[0] ? ", " : "", d->subject);
	} else if (d && d->alert[0]) {
		snprintf(buf, len, "TLS refused by the server: %s", d->alert);
	} else if ((e = ERR_peek_error())) {
		char reason[256];

		snprintf(buf, len, "TLS error: %s", ossl_reason(reason, sizeof(reason)));
	} else {
		if (len)
			buf[0] = 0;
		r = 0;
	}
	lt_tls_failure_clear(ctx);
	return r;
}

void lt_tls_failure_clear(SSL_CTX *ctx)
{
	struct tls_diag *d = ctx_diag(ctx);

	if (d) {
		d->verify_err = X509_V_OK;
		d->depth = 0;
		d->subject[0] = 0;
		d->alert[0] = 0;
	}
	ERR_clear_error();
}

#endif /* LT_TLS_CONF_ONLY */
