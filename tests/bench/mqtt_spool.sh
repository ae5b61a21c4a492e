#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=mqtt_spool: issue 13, the healthy-path cost of the MQTT
# transport's durable spool (on by default, spool = auto) against none
# (spool = no). liotad publishes METRICS sim counters every 10 ms, 10
# samples a message, QoS 1, to a private mosquitto on loopback that stays
# up; the CPU time of liotad (utime + stime of /proc/PID/stat) over a
# window of SECS seconds after a 2 s warm-up, divided by the samples it
# took in that window. RUNS runs of each, alternating; medians. Every run
# must end with nothing dropped, pending or spooled.
#   MQTT_SPOOL_BENCH="METRICS SECS RUNS" (default "100 10 5": 10,000 samples/s)
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
LOCK=/tmp/liotad-bench.lock
# One measurement at a time on this machine: the whole benchmark holds the lock.
if [ -z "${MQTT_SPOOL_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	MQTT_SPOOL_LOCKED=1 exec flock "$LOCK" sh "$0"
fi
LIOTAD=$top_builddir/liotad
LIOTACTL=$top_builddir/liotactl
# shellcheck disable=SC2086
set -- ${MQTT_SPOOL_BENCH:-100 10 5}
METRICS=$1 SECS=$2 RUNS=$3
[ -x /usr/sbin/mosquitto ] || { echo "mqtt_spool.sh: mosquitto is not installed"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/liotad-bench-mqs.XXXXXX") || exit 1
MOSQ=
cleanup() { [ -n "$MOSQ" ] && kill "$MOSQ" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$PORT" "$(id -un)" >"$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
MOSQ=$!
sleep 1
TICK=$(getconf CLK_TCK)
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$METRICS counters every 10 ms (aggregation 10, QoS 1) to mosquitto on 127.0.0.1:$PORT; window $SECS s; $RUNS runs each"

conf()
{ # FILE SPOOL
	{
		printf '[daemon]\nstate_dir = %s/state\n\n[edge]\nname = bench\n\n' "$WORK"
		printf '[dcc "mq"]\ntype = mqtt\nhost = 127.0.0.1\nport = %s\nqos = 1\nspool = %s\n' "$PORT" "$2"
		printf 'topic = b/%%d/%%m\n\n[device "sim"]\ntype = sim\n'
		i=0
		while [ "$i" -lt "$METRICS" ]; do
			printf '\n[metric "sim.c%03d"]\ninterval = 10ms\naggregation = 10\nfunction = counter\n' "$i"
			i=$((i + 1))
		done
	} >"$1"
}

cpu() { awk -v t="$TICK" '{ printf "%.0f", ($14 + $15) * 1e9 / t }' "/proc/$1/stat"; }
taken() { "$LIOTACTL" -r "$WORK/run" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["totals"]["taken"])'; }

run()
{ # SPOOL: prints ns of CPU per sample
	conf "$WORK/c.conf" "$1"
	rm -rf "$WORK/state"
	"$LIOTAD" -c "$WORK/c.conf" -r "$WORK/run" 2>"$WORK/liotad.err" &
	pid=$!
	sleep 2
	c0=$(cpu "$pid") n0=$(taken)
	sleep "$SECS"
	c1=$(cpu "$pid") n1=$(taken)
	kill -TERM "$pid"
	wait "$pid"
	line=$(tail -n 1 "$WORK/liotad.err")
	case "$line" in
	*" 0 dropped, 0 pending" | *" 0 dropped, 0 pending; spools: "*" 0 kept") ;;
	*) echo "spool = $1: not everything delivered: $line" >&2 ;;
	esac
	awk -v c="$((c1 - c0))" -v n="$((n1 - n0))" 'BEGIN { printf "%.0f\n", n ? c / n : 0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$WORK/auto"
: >"$WORK/no"
i=0
while [ "$i" -lt "$RUNS" ]; do
	for s in auto no; do
		v=$(run "$s")
		echo "run $((i + 1)) spool = $s: $v ns CPU per sample"
		echo "$v" >>"$WORK/$s"
	done
	i=$((i + 1))
done
A=$(median <"$WORK/auto") N=$(median <"$WORK/no")
echo "median: spool = auto $A ns, spool = no $N ns CPU per sample ($(awk -v a="$A" -v n="$N" 'BEGIN { printf "%+.1f %%", (a - n) * 100 / n }'))"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
