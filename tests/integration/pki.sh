#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# A throw-away PKI for the TLS tests, sourced after lib.sh (shared by the
# MQTT and IoTCC tests). lt_pki_make DIR makes, with openssl alone, quietly
# and within a bounded time, under DIR (normally under $LT_TMP):
#
#   ca.crt ca.key           a CA (P-256 keys throughout: fast to make)
#   server.crt server.key   CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.crt client.key   CN=liotad-client (clientAuth)
#   revoked.crt revoked.key CN=liotad-revoked, revoked in crl.pem
#   crl.pem                 the CA's CRL (openssl ca -revoke + -gencrl), valid 30 days
#   expired.crt             server.key's certificate for localhost, expired in 2020
#   wronghost.crt           server.key's certificate for wrong.example / 192.0.2.1 only
#   client-enc.key          client.key encrypted with AES-256 (password "secret")
#   other-ca.crt            a second CA that signed none of the above
#
# and sets LT_PKI to DIR. Exit status 0, or 1 with the failing step and
# openssl's output on stderr.

lt_require_openssl()
{
	[ -x /usr/bin/openssl ] || lt_skip "openssl is not installed (apt-get install openssl)"
}

# lt_pki_run STEP COMMAND...: run a bounded openssl step, quiet unless it fails.
lt_pki_run()
{
	local step=$1 out
	shift
	if ! out=$(timeout 20 "$@" 2>&1); then
		printf 'pki: %s failed:\n%s\n' "$step" "$out" >&2
		return 1
	fi
}

lt_pki_make()
{
	local d=$1 o=/usr/bin/openssl
	mkdir -p "$d/db" || return 1
	: >"$d/db/index.txt"
	echo 1000 >"$d/db/serial"
	echo 1000 >"$d/db/crlnumber"
	cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = lt_ca

[lt_ca]
dir = $d
database = \$dir/db/index.txt
serial = \$dir/db/serial
crlnumber = \$dir/db/crlnumber
new_certs_dir = \$dir/db
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = lt_policy
unique_subject = no
copy_extensions = none

[lt_policy]
commonName = supplied

[req]
distinguished_name = lt_dn
prompt = no

[lt_dn]
CN = liotad test CA

[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid

[wronghost_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example, IP:192.0.2.1
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
	local k
	for k in ca server client revoked other-ca; do
		lt_pki_run "key $k" $o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$d/$k.key" || return 1
	done
	lt_pki_run "CA certificate" $o req -new -x509 -config "$d/ca.cnf" -extensions ca_ext \
		-key "$d/ca.key" -days 30 -out "$d/ca.crt" || return 1
	lt_pki_run "other CA certificate" $o req -new -x509 -config "$d/ca.cnf" -extensions ca_ext \
		-key "$d/other-ca.key" -days 30 -subj "/CN=liotad other CA" -out "$d/other-ca.crt" ||
		return 1
	# lt_pki_sign NAME KEY CN EXTENSIONS [openssl ca options]
	lt_pki_sign()
	{
		local name=$1 key=$2 cn=$3 ext=$4
		shift 4
		lt_pki_run "request $name" $o req -new -config "$d/ca.cnf" -key "$d/$key.key" \
			-subj "/CN=$cn" -out "$d/$name.csr" || return 1
		lt_pki_run "certificate $name" $o ca -batch -notext -config "$d/ca.cnf" \
			-extensions "$ext" -in "$d/$name.csr" -out "$d/$name.crt" "$@"
	}
	lt_pki_sign server server localhost server_ext || return 1
	lt_pki_sign client client liotad-client client_ext || return 1
	lt_pki_sign revoked revoked liotad-revoked client_ext || return 1
	lt_pki_sign expired server localhost server_ext \
		-startdate 20200101000000Z -enddate 20200201000000Z || return 1
	lt_pki_sign wronghost server wrong.example wronghost_ext || return 1
	lt_pki_run "revoke" $o ca -batch -config "$d/ca.cnf" -revoke "$d/revoked.crt" \
		-crl_reason keyCompromise || return 1
	lt_pki_run "CRL" $o ca -batch -config "$d/ca.cnf" -gencrl -out "$d/crl.pem" || return 1
	lt_pki_run "encrypted key" $o pkey -in "$d/client.key" -aes256 -passout pass:secret \
		-out "$d/client-enc.key" || return 1
	# The brokers of the tests may run as another user: certificates and
	# keys readable (they are throw-away, in the test's private folder).
	chmod 0644 "$d"/*.crt "$d"/*.key "$d/crl.pem" || return 1
	# shellcheck disable=SC2034 # for the tests that source this
	LT_PKI=$d
}
