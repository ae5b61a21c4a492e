#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# A private mosquitto broker for the MQTT tests, sourced after lib.sh and
# pki.sh (shared by the MQTT and IoTCC tests).
#
#   lt_require_mosquitto          skip unless mosquitto, mosquitto_passwd are installed
#   lt_mosquitto_setup DIR [PKI]  write DIR/mosquitto.conf and DIR/passwd; ports below
#   lt_mosquitto_start            start it in the foreground (MOSQ_PID), wait for every port
#   lt_mosquitto_stop             SIGTERM by PID, bounded wait
#
# Listeners, all on 127.0.0.1 (per_listener_settings true):
#   MQ_PORT_PLAIN     anonymous, plain TCP
#   MQ_PORT_AUTH      plain TCP, username MQ_USER with password MQ_PASSWORD only
# and with PKI (a folder made by lt_pki_make):
#   MQ_PORT_TLS       TLS with server.crt, require_certificate, crlfile crl.pem,
#                     use_identity_as_username (the client certificate's CN)
#   MQ_PORT_EXPIRED   TLS with the expired server certificate, no client certificate
#   MQ_PORT_WRONGHOST TLS with a certificate for another host, no client certificate
# and, when LT_MQ_WEBSOCKETS=1 before lt_mosquitto_setup:
#   MQ_PORT_WS        anonymous MQTT over WebSocket
#
# The broker keeps its state in DIR (persistence true, saved when it stops):
# a subscriber with clean_session false and QoS 1 gets, after a restart of
# the broker, what was published while it was away.
#
# Started as root, mosquitto drops to the user "mosquitto", which could not
# read the test's private folder: the configuration says `user` = the user
# running the test, so it keeps that user (root stays root, in a throw-away
# test broker on loopback).

lt_require_mosquitto()
{
	[ -x /usr/sbin/mosquitto ] || lt_skip "mosquitto is not installed (apt-get install mosquitto)"
	[ -x /usr/bin/mosquitto_passwd ] ||
		lt_skip "mosquitto_passwd is not installed (apt-get install mosquitto)"
}

lt_mosquitto_setup()
{
	local dir=$1 pki=${2:-} n=3 ports
	mkdir -p "$dir" || return 1
	[ -n "$pki" ] && n=$((n + 3))
	ports=$(lt_free_ports "$n") || return 1
	# shellcheck disable=SC2086 # word splitting wanted
	set -- $ports
	MQ_PORT_PLAIN=$1 MQ_PORT_AUTH=$2 MQ_PORT_WS=''
	[ "${LT_MQ_WEBSOCKETS:-0}" = 1 ] && MQ_PORT_WS=$3
	MQ_PORT_TLS='' MQ_PORT_EXPIRED='' MQ_PORT_WRONGHOST=''
	[ -n "$pki" ] && MQ_PORT_TLS=$4 MQ_PORT_EXPIRED=$5 MQ_PORT_WRONGHOST=$6
	MQ_USER=liotad
	MQ_PASSWORD='s3cret pass'
	rm -f "$dir/passwd"
	timeout 10 /usr/bin/mosquitto_passwd -c -b "$dir/passwd" "$MQ_USER" "$MQ_PASSWORD" \
		>"$dir/passwd.log" 2>&1 || { cat "$dir/passwd.log" >&2; return 1; }
	chmod 0644 "$dir/passwd"
	{
		echo "# written by tests/integration/mosquitto.sh"
		echo "per_listener_settings true"
		echo "user $(id -un)"
		echo "persistence true"
		echo "persistence_location $dir/"
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		echo "log_type notice"
		echo "log_type information"
		echo "connection_messages true"
		echo "log_timestamp_format %H:%M:%S"
		echo
		echo "listener $MQ_PORT_PLAIN 127.0.0.1"
		echo "allow_anonymous true"
		echo
		echo "listener $MQ_PORT_AUTH 127.0.0.1"
		echo "allow_anonymous false"
		echo "password_file $dir/passwd"
		if [ -n "$MQ_PORT_WS" ]; then
			echo
			echo "listener $MQ_PORT_WS 127.0.0.1"
			echo "protocol websockets"
			echo "allow_anonymous true"
		fi
		if [ -n "$pki" ]; then
			echo
			echo "listener $MQ_PORT_TLS 127.0.0.1"
			echo "allow_anonymous true"
			echo "cafile $pki/ca.crt"
			echo "certfile $pki/server.crt"
			echo "keyfile $pki/server.key"
			echo "require_certificate true"
			echo "use_identity_as_username true"
			echo "crlfile $pki/crl.pem"
			echo
			echo "listener $MQ_PORT_EXPIRED 127.0.0.1"
			echo "allow_anonymous true"
			echo "certfile $pki/expired.crt"
			echo "keyfile $pki/server.key"
			echo
			echo "listener $MQ_PORT_WRONGHOST 127.0.0.1"
			echo "allow_anonymous true"
			echo "certfile $pki/wronghost.crt"
			echo "keyfile $pki/server.key"
		fi
	} >"$dir/mosquitto.conf" || return 1
	LT_MQ_DIR=$dir
	LT_MQ_RUNS=0
}

lt_mosquitto_start()
{
	local p
	LT_MQ_RUNS=$((LT_MQ_RUNS + 1))
	lt_spawn "mosquitto$LT_MQ_RUNS" /usr/sbin/mosquitto -c "$LT_MQ_DIR/mosquitto.conf"
	MOSQ_PID=$LT_PID
	for p in $MQ_PORT_PLAIN $MQ_PORT_AUTH $MQ_PORT_WS $MQ_PORT_TLS $MQ_PORT_EXPIRED \
		$MQ_PORT_WRONGHOST; do
		if ! lt_wait_port "$p" 10; then
			lt_alive "$MOSQ_PID" ||
				lt_fail "mosquitto exited at start (see mosquitto$LT_MQ_RUNS.err)"
			lt_fail "mosquitto does not accept connections on port $p within 10 s"
		fi
	done
	lt_alive "$MOSQ_PID" || lt_fail "mosquitto exited (a port taken by someone else?)"
	lt_say "mosquitto $MOSQ_PID listening on 127.0.0.1 (plain $MQ_PORT_PLAIN, auth $MQ_PORT_AUTH${MQ_PORT_TLS:+, tls $MQ_PORT_TLS, expired $MQ_PORT_EXPIRED, wronghost $MQ_PORT_WRONGHOST}${MQ_PORT_WS:+, ws $MQ_PORT_WS})"
}

lt_mosquitto_stop()
{
	kill -TERM "$MOSQ_PID" 2>/dev/null
	lt_wait_exit "$MOSQ_PID" 10 || lt_fail "mosquitto did not stop within 10 s"
	lt_say "mosquitto $MOSQ_PID stopped (status $LT_RC)"
}
