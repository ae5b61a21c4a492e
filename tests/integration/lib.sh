#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Shared helpers of the integration tests, sourced by tests/integration/*.test.
#
# A test calls lt_init NAME first: it gets a private folder $LT_TMP (removed
# on exit unless LT_KEEP=1), an EXIT trap that stops every process started
# with lt_spawn, and a watchdog that ends the test after $LT_TEST_TIMEOUT
# seconds whatever happens. Every wait below is bounded in time; every
# command that talks to something that may hang runs under `timeout`.
#
# Exit statuses (Automake): 0 pass, 1 fail, 77 skip (lt_skip prints
# "SKIP: reason" first).

# ---- where things are ------------------------------------------------------
LT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$LT_HERE/../.." && pwd)}"
: "${top_builddir:=$PWD}"
LIOTAD=${LIOTAD:-$top_builddir/liotad}
LIOTACTL=${LIOTACTL:-$top_builddir/liotactl}
# Debian's Python: the python3 first in PATH may not see python3-whisper etc.
PY=/usr/bin/python3
: "${LT_TEST_TIMEOUT:=60}"

LT_NAME="test"
LT_TMP=
LT_PIDS=()          # every process started by lt_spawn, still to be stopped
LT_WATCHDOG=
LT_SHOW_ON_FAIL=()  # log files printed (their end) when the test fails
LT_START_NS=$(date +%s%N)

# ---- messages and verdicts -------------------------------------------------
lt_elapsed()
{
	local now
	now=$(date +%s%N)
	printf '%d.%02d' $(((now - LT_START_NS) / 1000000000)) \
		$((((now - LT_START_NS) / 10000000) % 100))
}

lt_say() { printf '%s [%6ss] %s\n' "$LT_NAME" "$(lt_elapsed)" "$*"; }
lt_fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
lt_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
# lt_error MESSAGE: a failure that does not stop the test (the rest still
# runs and may show more); lt_pass then fails.
LT_ERRORS=0
lt_error() { printf 'FAIL: %s\n' "$*"; LT_ERRORS=$((LT_ERRORS + 1)); }
lt_pass()
{
	[ "$LT_ERRORS" -eq 0 ] || lt_fail "$LT_ERRORS check(s) failed (see the FAIL lines above)"
	printf 'PASS: %s (%ss)\n' "$LT_NAME" "$(lt_elapsed)"
	exit 0
}

# lt_check DESCRIPTION COMMAND...: run COMMAND; fail with DESCRIPTION if it fails.
lt_check()
{
	local what=$1
	shift
	if "$@"; then
		lt_say "ok: $what"
	else
		lt_fail "$what"
	fi
}

# lt_show FILE...: print the files whose end is worth seeing if the test fails.
lt_show() { LT_SHOW_ON_FAIL+=("$@"); }

# ---- set-up and tear-down ----------------------------------------------------
lt_cleanup()
{
	local rc=$? pid f i
	trap - EXIT INT TERM HUP
	set +e
	for pid in "${LT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	# Bounded: 3 s for everyone to go, then SIGKILL.
	for ((i = 0; i < 30; i++)); do
		local alive=0
		for pid in "${LT_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		((alive)) || break
		sleep 0.1
	done
	for pid in "${LT_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "$LT_NAME: process $pid still running: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	if [ -n "$LT_WATCHDOG" ]; then
		kill -TERM "$LT_WATCHDOG" 2>/dev/null
		wait "$LT_WATCHDOG" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "${LT_SHOW_ON_FAIL[@]}"; do
			[ -s "$f" ] || continue
			echo "---- last lines of $f ----"
			tail -n 40 "$f"
		done
	fi
	if [ -n "$LT_TMP" ] && [ -d "$LT_TMP" ]; then
		if [ "${LT_KEEP:-0}" = 1 ]; then
			echo "$LT_NAME: kept $LT_TMP"
		else
			rm -rf "$LT_TMP"
		fi
	fi
	exit "$rc"
}

# lt_init NAME: private folder, traps, watchdog, binaries present.
lt_init()
{
	LT_NAME=$1
	trap lt_cleanup EXIT
	trap 'echo "$LT_NAME: interrupted"; exit 1' INT HUP
	trap 'echo "FAIL: $LT_NAME: stopped by the watchdog or a signal after $(lt_elapsed) s"; exit 1' TERM
	LT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/liotad-$LT_NAME.XXXXXX") || lt_fail "mktemp -d"
	# Unix socket paths are limited to 108 bytes: keep the folder short.
	[ ${#LT_TMP} -lt 60 ] || lt_fail "temp folder path too long for a socket: $LT_TMP"
	# The default state folder (a DCC's spool, IoTCC's ids) of every liotad
	# started here: never the machine's /var/lib/liotad or the user's, never
	# shared by two tests (a test's leftover spool would replay into another's
	# peer).
	export LIOTAD_STATE_DIR=$LT_TMP/state-default
	local main=$$
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "$LT_TEST_TIMEOUT" &
		s=$!
		wait "$s" && kill -TERM "$main" 2>/dev/null
	) &
	LT_WATCHDOG=$!
	local b
	for b in "$LIOTAD" "$LIOTACTL"; do
		[ -x "$b" ] || lt_fail "$b is not built (top_builddir=$top_builddir)"
	done
	[ -x "$PY" ] || lt_skip "$PY (Debian's Python) is not installed"
	lt_say "temp folder $LT_TMP, top_builddir $top_builddir"
}

# lt_spawn LOGBASE COMMAND...: start COMMAND in the background, stdout to
# $LT_TMP/LOGBASE.out and stderr to $LT_TMP/LOGBASE.err; its pid in LT_PID.
lt_spawn()
{
	local base=$1
	shift
	"$@" >"$LT_TMP/$base.out" 2>"$LT_TMP/$base.err" </dev/null &
	LT_PID=$!
	LT_PIDS+=("$LT_PID")
	lt_show "$LT_TMP/$base.err" "$LT_TMP/$base.out"
}

lt_forget_pid()
{
	local p keep=()
	for p in "${LT_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	LT_PIDS=("${keep[@]}")
}

# lt_wait_exit PID SECONDS: wait (bounded) for a child started by lt_spawn to
# exit; its exit status in LT_RC (124 and SIGKILL if it did not exit in time).
lt_wait_exit()
{
	local pid=$1 t=$2
	if ! timeout "$t" tail --pid="$pid" -s 0.05 -f /dev/null; then
		lt_say "process $pid did not exit within $t s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		lt_forget_pid "$pid"
		LT_RC=124
		return 1
	fi
	wait "$pid"
	LT_RC=$?
	lt_forget_pid "$pid"
	return 0
}

# lt_alive PID: the process runs (and is not a zombie waiting for us).
lt_alive() { kill -0 "$1" 2>/dev/null; }

# lt_wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds
# (0) or SECONDS pass (1). COMMAND itself must be bounded.
lt_wait_until()
{
	local t=$1 end
	shift
	end=$(($(date +%s%N) + $(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }') * 1000000))
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ---- network -------------------------------------------------------------------
# lt_free_ports N: print N distinct free TCP ports of 127.0.0.1. They are
# taken below the kernel's ephemeral range when possible, so that no
# outgoing connection can be given one of them as its local port while the
# test's server is down (carbon.test restarts carbon on the same port).
lt_free_ports()
{
	timeout 10 "$PY" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
socks, tries = [], 0
while len(socks) < n and tries < 200 and low > 11000:
    tries += 1
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, low)))
        socks.append(s)
    except OSError:
        s.close()
while len(socks) < n:  # fall back to the kernel's choice
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# lt_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
lt_port_open()
{
	timeout 2 "$PY" -c '
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
s.close()' "$1"
}

# lt_wait_port PORT SECONDS: wait until 127.0.0.1:PORT accepts connections.
lt_wait_port()
{
	timeout $(($2 + 3)) "$PY" - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
while True:
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        s.close()
        sys.exit(0)
    except OSError:
        s.close()
    if time.monotonic() > end:
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# lt_package_dir DIR: make DIR (0755) a package folder holding the build
# tree's packages (pkg/*.so: the in-tree drivers, DCCs and transports), for
# a test that adds packages of its own with [daemon] package_dir = DIR.
lt_package_dir()
{
	local so
	mkdir -p -m 0755 "$1" || lt_fail "cannot make the package folder $1"
	for so in "$top_builddir"/pkg/*.so; do
		[ -f "$so" ] || continue
		install -m 0644 "$so" "$1/" || lt_fail "cannot copy $so into $1"
	done
}

# ---- liotad and liotactl ---------------------------------------------------------
# lt_ctl RUNDIR ARGS...: liotactl against the daemon of RUNDIR, bounded.
lt_ctl()
{
	local dir=$1
	shift
	timeout 10 "$LIOTACTL" -r "$dir" "$@"
}

# lt_status_json RUNDIR FILE: write `liotactl status --json` to FILE and check it parses.
lt_status_json()
{
	lt_ctl "$1" status --json >"$2" 2>"$2.err" || return 1
	timeout 10 "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$2" 2>>"$2.err"
}

# lt_jq FILE EXPRESSION: print a Python EXPRESSION of the JSON document of FILE
# (bound to d), e.g. lt_jq st.json 'd["totals"]["taken"]'.
lt_jq()
{
	timeout 10 "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

# lt_dcc_field RUNDIR DCC FIELD: one counter or the state of a DCC, from status --json.
lt_dcc_field()
{
	local f="$LT_TMP/dcc-field.json"
	lt_status_json "$1" "$f" || return 1
	lt_jq "$f" "[c for c in d['dccs'] if c['name'] == '$2'][0]['$3']"
}

# lt_start_liotad LOGBASE CONF RUNDIR [ARGS...]: start liotad in the background
# (pid in LIOTAD_PID, stderr in $LT_TMP/LOGBASE.err) and wait until its
# control socket answers (bounded). Fails the test if it does not start.
lt_start_liotad()
{
	local base=$1 conf=$2 dir=$3
	shift 3
	lt_spawn "$base" "$LIOTAD" -c "$conf" -r "$dir" "$@"
	LIOTAD_PID=$LT_PID
	if ! lt_wait_until 10 lt_liotad_answers "$dir" "$LIOTAD_PID"; then
		lt_alive "$LIOTAD_PID" || { wait "$LIOTAD_PID"; lt_fail "liotad exited with status $? at start (see $base.err)"; }
		lt_fail "liotad ($LIOTAD_PID) does not answer on $dir/liotad.sock within 10 s"
	fi
	lt_say "liotad $LIOTAD_PID running ($conf, runtime folder $dir)"
}

lt_liotad_answers()
{
	lt_alive "$2" || return 1
	[ -S "$1/liotad.sock" ] || return 1
	lt_ctl "$1" status --json >/dev/null 2>&1
}

# lt_stop_liotad PID ERRFILE: SIGTERM, wait (bounded 15 s), expect exit 0 and
# the summary line; sets LT_TAKEN, LT_DELIVERIES, LT_PUBLISHED, LT_DROPPED and
# LT_PENDING from it.
lt_stop_liotad()
{
	local pid=$1 err=$2 line
	if ! kill -TERM "$pid" 2>/dev/null; then
		wait "$pid"
		LT_RC=$?
		lt_forget_pid "$pid"
		grep -q ': stopping$' "$err" &&
			lt_fail "liotad $pid was stopped (status $LT_RC) by a signal this test did not send: $(grep ': stopping$' "$err") (another process, e.g. a broad pkill/killall?)"
		lt_fail "liotad $pid is not running any more (exit status $LT_RC)"
	fi
	lt_wait_exit "$pid" 15 || lt_fail "liotad $pid did not stop within 15 s of SIGTERM"
	[ "$LT_RC" -eq 0 ] || lt_fail "liotad exited with status $LT_RC after SIGTERM (expected 0)"
	line=$(tail -n 1 "$err")
	if ! [[ $line =~ ^liotad:\ notice:\ stopped\ after\ [0-9.]+\ s:\ ([0-9]+)\ samples\ taken,\ ([0-9]+)\ deliveries:\ ([0-9]+)\ published,\ ([0-9]+)\ dropped,\ ([0-9]+)\ pending(\;\ spools:\ ([0-9]+)\ recovered\ at\ start,\ ([0-9]+)\ kept)?$ ]]; then
		lt_fail "the last line of liotad's stderr is not the summary: '$line'"
	fi
	# shellcheck disable=SC2034 # results for the tests
	LT_TAKEN=${BASH_REMATCH[1]}
	LT_DELIVERIES=${BASH_REMATCH[2]}
	LT_PUBLISHED=${BASH_REMATCH[3]}
	LT_DROPPED=${BASH_REMATCH[4]}
	LT_PENDING=${BASH_REMATCH[5]}
	LT_RECOVERED=${BASH_REMATCH[7]:-0}
	LT_SPOOLED=${BASH_REMATCH[8]:-0}
	lt_say "liotad stopped: $line"
}

# ---- carbon-cache ------------------------------------------------------------------
# lt_require_carbon: skip the test unless Debian's carbon-cache and whisper are there.
lt_require_carbon()
{
	[ -x /usr/bin/carbon-cache ] || lt_skip "carbon-cache is not installed (apt-get install graphite-carbon)"
	[ -x /usr/bin/whisper-fetch ] || lt_skip "whisper-fetch is not installed (apt-get install python3-whisper)"
	timeout 20 "$PY" -c 'import carbon, whisper, twisted' 2>/dev/null ||
		lt_skip "$PY cannot import carbon, whisper and twisted (graphite-carbon, python3-whisper)"
}

# lt_carbon_setup DIR LINE_PORT: carbon.conf (from carbon.conf.in), 1 s
# schema keeping the last value of each second, under DIR.
lt_carbon_setup()
{
	local dir=$1 port=$2
	mkdir -p "$dir/log" "$dir/storage/whisper" "$dir/storage/lists" || return 1
	sed -e "s|@DIR@|$dir|g" -e "s|@LINE_PORT@|$port|g" \
		"$top_srcdir/tests/integration/carbon.conf.in" >"$dir/carbon.conf" || return 1
	cat >"$dir/storage-schemas.conf" <<'EOF'
[default_1s]
pattern = .*
retentions = 1s:1h
EOF
	cat >"$dir/storage-aggregation.conf" <<'EOF'
[default]
pattern = .*
xFilesFactor = 0
aggregationMethod = last
EOF
	LT_CARBON_DIR=$dir
	LT_CARBON_PORT=$port
	LT_CARBON_RUNS=0
}

# lt_carbon_start: start carbon-cache in the foreground (pid in CARBON_PID)
# and wait until it accepts connections (bounded 15 s).
lt_carbon_start()
{
	local dir=$LT_CARBON_DIR
	LT_CARBON_RUNS=$((LT_CARBON_RUNS + 1))
	rm -f "$dir/carbon.pid"
	lt_spawn "carbon$LT_CARBON_RUNS" env PYTHONWARNINGS=ignore "$PY" /usr/bin/carbon-cache --config="$dir/carbon.conf" \
		--pidfile="$dir/carbon.pid" --logdir="$dir/log" --debug start
	CARBON_PID=$LT_PID
	if ! lt_wait_port "$LT_CARBON_PORT" 15; then
		lt_alive "$CARBON_PID" || lt_fail "carbon-cache exited at start (see carbon$LT_CARBON_RUNS.out)"
		lt_fail "carbon-cache does not accept connections on port $LT_CARBON_PORT within 15 s"
	fi
	lt_alive "$CARBON_PID" || lt_fail "carbon-cache exited (port $LT_CARBON_PORT taken by someone else?)"
	lt_say "carbon-cache $CARBON_PID listening on 127.0.0.1:$LT_CARBON_PORT"
}

# lt_carbon_stop: SIGTERM and wait (bounded 15 s).
lt_carbon_stop()
{
	kill -TERM "$CARBON_PID" 2>/dev/null
	lt_wait_exit "$CARBON_PID" 15 || lt_fail "carbon-cache did not stop within 15 s"
	lt_say "carbon-cache $CARBON_PID stopped (status $LT_RC)"
}
