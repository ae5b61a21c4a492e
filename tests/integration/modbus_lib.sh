#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Helpers of the Modbus integration tests (modbus*.test), sourced after
# lib.sh. The peer is tests/integration/modbus_server.py (pymodbus 3.0): its
# register map and expected values live there, and these helpers only start
# it, ask it for its request counts, and have it write liotad's metric
# sections and check liotad's output.

MB_SERVER=$top_srcdir/tests/integration/modbus_server.py
MB_PREFIX=it.gw # the graphite prefix and edge name of mb_conf_head

# mb_require: skip unless pymodbus 3.x, serial_asyncio (pymodbus needs it
# even for TCP) and a liotad that has the modbus driver are there.
mb_require()
{
	timeout 20 "$PY" -c '
import sys
import pymodbus, serial_asyncio
sys.exit(0 if pymodbus.__version__.split(".")[0] == "3" else 1)' 2>/dev/null ||
		lt_skip "$PY cannot import pymodbus 3.x and serial_asyncio (apt-get install python3-pymodbus python3-serial-asyncio)"
	printf '[device "d"]\ntype = modbus\n' >"$LT_TMP/probe.conf"
	timeout 10 "$LIOTAD" --check-config -c "$LT_TMP/probe.conf" >"$LT_TMP/probe.out" 2>&1
	if grep -qi "unknown.*type.*modbus\|type.*modbus.*unknown" "$LT_TMP/probe.out"; then
		lt_skip "this liotad has no modbus driver: $(head -n 1 "$LT_TMP/probe.out")"
	fi
}

# mb_start NAME SERVER-ARGS...: start modbus_server.py serve (pid in
# MB_PID_NAME, port in MB_PORT_NAME for TCP), its counts in
# $LT_TMP/NAME.counts.json; wait (bounded 10 s) until it serves.
mb_start()
{
	local name=$1 ready=$LT_TMP/$1.ready.json
	shift
	rm -f "$ready"
	lt_spawn "$name" "$PY" "$MB_SERVER" serve --ready "$ready" \
		--counts "$LT_TMP/$name.counts.json" --max-seconds "$LT_TEST_TIMEOUT" "$@"
	local pid=$LT_PID
	mb_ready() { [ -s "$1" ]; }
	if ! lt_wait_until 10 mb_ready "$ready"; then
		lt_alive "$pid" || lt_fail "modbus_server.py $name exited at start (see $name.err): $(tail -n 3 "$LT_TMP/$name.err")"
		lt_fail "modbus_server.py $name did not start serving within 10 s"
	fi
	printf -v "MB_PID_$name" '%s' "$pid"
	printf -v "MB_PORT_$name" '%s' "$(lt_jq "$ready" 'd["port"]')"
	lt_say "modbus server $name ($pid): $(tail -n 1 "$LT_TMP/$name.err")"
}

# mb_counts NAME: fresh counts of server NAME in $LT_TMP/NAME.counts.json
# (SIGUSR1, then wait, bounded 5 s, until "dumps" has grown).
mb_counts()
{
	local name=$1 f=$LT_TMP/$1.counts.json pidvar="MB_PID_$1" before
	before=$(lt_jq "$f" 'd["dumps"]' 2>/dev/null || echo 0)
	kill -USR1 "${!pidvar}" 2>/dev/null || lt_fail "modbus server $name is not running"
	mb_dumped() { [ "$(lt_jq "$1" 'd["dumps"]' 2>/dev/null || echo 0)" -gt "$2" ]; }
	lt_wait_until 5 mb_dumped "$f" "$before" || lt_fail "modbus server $name does not write its counts"
}

# mb_count NAME EXPRESSION: a Python expression of NAME's last counts (d).
mb_count() { lt_jq "$LT_TMP/$1.counts.json" "$2"; }

# mb_conf_head FILE: daemon, edge "gw" and a graphite file DCC to
# $LT_TMP/copy.txt (prefix "it": paths it.gw.DEVICE.METRIC).
mb_conf_head()
{
	cat >"$1" <<EOF
[daemon]
log_level = info

[edge]
name = gw

[dcc "copy"]
type = graphite
transport = file
path = $LT_TMP/copy.txt
prefix = it

EOF
}

# mb_metrics DEVICE CONF-ARGS...: [metric] sections of the map's points
# (modbus_server.py conf: --only RE, --exclude RE, --interval I, --unit U,
# --extra 'key = value').
mb_metrics() { timeout 20 "$PY" "$MB_SERVER" conf "$@"; }

# mb_check DEVICE CHECK-ARGS...: liotad's lines for DEVICE in copy.txt hold
# exactly the expected values (modbus_server.py check).
mb_check()
{
	local dev=$1
	shift
	timeout 30 "$PY" "$MB_SERVER" check --copy "$LT_TMP/copy.txt" \
		--path-prefix "$MB_PREFIX.$dev" "$@"
}

# mb_lines DEVICE METRIC: how many lines copy.txt holds for DEVICE.METRIC.
mb_lines() { grep -c "^$MB_PREFIX\.$1\.$2 " "$LT_TMP/copy.txt" || :; }

# mb_status FILE: liotactl status --json of the running liotad ($MB_RUN).
mb_status() { lt_status_json "$MB_RUN" "$1" || lt_fail "liotactl status --json: $(cat "$1.err")"; }

# mb_dev FILE DEVICE EXPRESSION: a Python expression of device DEVICE (dv)
# in a status document.
mb_dev()
{
	lt_jq "$1" "(lambda dv: $3)([x for x in d['devices'] if x['name'] == '$2'][0])"
}

# mb_min_samples FILE DEVICE: the fewest samples of any metric of DEVICE.
mb_min_samples() { mb_dev "$1" "$2" "min(m['samples'] for m in dv['metrics'])"; }

# mb_wait_samples DEVICE N SECONDS: until every metric of DEVICE has N samples.
mb_wait_samples()
{
	local f=$LT_TMP/wait.json
	mb_enough() { mb_status "$f" && [ "$(mb_min_samples "$f" "$1")" -ge "$2" ]; }
	lt_wait_until "$3" mb_enough "$1" "$2" ||
		lt_fail "device $1: fewer than $2 samples per metric after $3 s: $(mb_dev "$f" "$1" "[(m['name'], m['samples'], m['errors']) for m in dv['metrics']][:8]"), counters $(mb_dev "$f" "$1" "dv['counters']")"
}
