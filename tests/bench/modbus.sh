#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=modbus: liotad's Modbus driver against collectd 5.12's
# modbus plugin, polling the same registers of the same server at the same
# interval.
#
# The server is tests/integration/modbus_server.py (pymodbus 3.0, Modbus/TCP
# on a loopback port), which counts every request it gets. The register
# set: holding registers 1000..1119 of its map, read as 100 uint16 values
# (1000..1099) and 10 float32 values (1100..1119, big-endian), every 1 s,
# delivered as carbon lines to tests/bench/line_sink over loopback TCP.
#   liotad   one modbus device, 110 metrics, interval 1s, default max_gap
#            and aggregation, graphite DCC over TCP.
#   collectd Interval 1; modbus plugin with one <Data> block per value
#            (RegisterBase, RegisterType Uint16 or Float, RegisterCmd
#            ReadHolding, Type gauge), one <Host> (Address, Port, Interval
#            1) with one <Slave 1> collecting all 110; write_graphite over
#            TCP with FlushInterval 1.
# Each daemon runs alone (the other stopped), WARM seconds, then WINDOWS
# windows of about WINDOW seconds, each starting and ending in the quiet
# between two polls (the server's request count still for 300 ms), so a
# window holds whole polls. Per window:
#   polls              the largest per-request count increase at the server
#                      (every request of a poll is asked once per poll)
#   requests/poll      all requests the server got / polls
#   values/s, regs/s   lines the sink got / seconds; registers = values x
#                      120/110 (100 one-register and 10 two-register values)
#   CPU us/poll        daemon CPU (sum of /proc/PID/task/*/schedstat) / polls
#   server CPU us/poll the peer's CPU for answering them, the same way (it
#                      includes the peer writing its counts file, at most
#                      every 100 ms and when a snapshot asks)
# and the report gives the median of the windows and the ratios
# (collectd / liotad).
#
# Environment: top_builddir, top_srcdir (make bench sets them);
# MODBUS_BENCH_WINDOWS (default 5), MODBUS_BENCH_WINDOW (s, default 10),
# MODBUS_BENCH_KEEP=1 keeps the work folder. Holds /tmp/liotad-bench.lock
# for its whole run, unless an ancestor process (flock ... liotad-bench.lock
# make bench) already holds it.
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"

LIOTAD=$top_builddir/liotad
LIOTACTL=$top_builddir/liotactl
SINK=$top_builddir/tests/bench/line_sink
SINK_DURATION=600
. "$top_srcdir/tests/bench/sink.sh"
SERVER=$top_srcdir/tests/integration/modbus_server.py
PY=/usr/bin/python3
WINDOWS=${MODBUS_BENCH_WINDOWS:-5}
WINDOW=${MODBUS_BENCH_WINDOW:-10}
WARM=3
LOCK=/tmp/liotad-bench.lock
NU16=100
NF32=10

for b in "$LIOTAD" "$LIOTACTL" "$SINK"; do
	[ -x "$b" ] || { echo "modbus.sh: $b is missing (make bench builds it)" >&2; exit 1; }
done
if ! "$PY" -c 'import pymodbus, serial_asyncio' 2>/dev/null; then
	echo "modbus.sh: $PY cannot import pymodbus and serial_asyncio (apt-get install python3-pymodbus python3-serial-asyncio): skipped"
	exit 0
fi

# The lock, unless an ancestor (flock LOCK make bench ...) holds it already.
held_by_ancestor()
{
	p=$$
	while [ "$p" -gt 1 ] 2>/dev/null; do
		case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in
		*flock*liotad-bench.lock*) return 0 ;;
		esac
		p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null || echo 0)
	done
	return 1
}
if [ -z "${LT_MODBUS_LOCKED:-}" ] && command -v flock >/dev/null && ! held_by_ancestor; then
	LT_MODBUS_LOCKED=1
	export LT_MODBUS_LOCKED
	exec flock -w 900 "$LOCK" sh "$0" "$@"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/liotad-bench-modbus.XXXXXX")
PIDS=""
NAME=modbus.sh
. "$top_srcdir/tests/bench/bench_lib.sh"
cleanup()
{
	bench_kill
	if [ -n "${MODBUS_BENCH_KEEP:-}" ]; then
		echo "modbus.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_ns PID: CPU time of every thread of PID, in ns (schedstat).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
# total: the server's request count, from its counts file (cheap: no Python).
total() { sed -n 's/.*"total": \([0-9]*\).*/\1/p' "$WORK/counts.json" 2>/dev/null; }

# ---- the server -------------------------------------------------------------
"$PY" "$SERVER" serve --tcp 0 --ready "$WORK/ready.json" --counts "$WORK/counts.json" \
	--max-seconds 900 2>"$WORK/server.err" &
SRV_PID=$!
PIDS="$PIDS $SRV_PID"
i=0
while [ ! -s "$WORK/ready.json" ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "modbus.sh: the server did not start: $(cat "$WORK/server.err")" >&2; exit 1; }
	sleep 0.05
done
PORT=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/ready.json")

# sink_lines DIR: the sink's running count of lines and bad lines.
sink_lines()
{
	sink_snap "$1" | awk '{ print $2, $3 }'
}

# server_counts FILE: fresh counts (SIGUSR1, wait for "dumps" to grow), copied to FILE.
server_counts()
{
	d0=$(sed -n 's/.*"dumps": \([0-9]*\).*/\1/p' "$WORK/counts.json")
	kill -USR1 "$SRV_PID"
	i=0
	while [ "$(sed -n 's/.*"dumps": \([0-9]*\).*/\1/p' "$WORK/counts.json")" = "$d0" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "modbus.sh: the server does not write its counts" >&2; exit 1; }
		sleep 0.01
	done
	cp "$WORK/counts.json" "$1"
}

# snap DIR N DAEMON_PID: wait for the quiet after a poll (requests seen, then
# none for 300 ms; bounded 5 s), then record the server's counts, the
# sink's lines and both processes' CPU as snapshot N.
snap()
{
	prev=$(total) changed=0 still=0 i=0
	while [ $i -lt 250 ]; do
		sleep 0.02
		cur=$(total)
		if [ "$cur" != "$prev" ]; then
			changed=1 still=0 prev=$cur
		else
			still=$((still + 1))
			[ $changed = 1 ] && [ $still -ge 15 ] && break
		fi
		i=$((i + 1))
	done
	[ $changed = 1 ] || echo "modbus.sh: no request for 5 s" >&2
	t=$(date +%s%N)
	server_counts "$1/counts-$2.json"
	set -- "$1" "$2" "$3" "$t" $(sink_lines "$1") "$(cpu_ns "$3")" "$(cpu_ns "$SRV_PID")"
	echo "$4 $5 $6 $7 $8" >"$1/snap-$2"
}

# measure DIR DAEMON_PID: WINDOWS windows after WARM s.
measure()
{
	sleep "$WARM"
	alive "$2" || { echo "modbus.sh: the daemon exited:" >&2; cat "$1"/*.log >&2; exit 1; }
	snap "$1" 0 "$2"
	w=1
	while [ $w -le "$WINDOWS" ]; do
		sleep "$((WINDOW - 1))"
		snap "$1" "$w" "$2"
		w=$((w + 1))
	done
}

# figures DIR: one row per window and the medians, as "KEY VALUE" lines in DIR/fig.
figures()
{
	"$PY" - "$1" "$WINDOWS" "$NU16" "$NF32" <<'EOF'
import json, statistics, sys
d, n, nu, nf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
regs_per_value = (nu + 2 * nf) / (nu + nf)
snaps, counts = [], []
for i in range(n + 1):
    t, lines, bad, cpu, srv = open("%s/snap-%d" % (d, i)).read().split()
    snaps.append((int(t), int(lines), int(bad), int(cpu), int(srv)))
    counts.append(json.load(open("%s/counts-%d.json" % (d, i))))
rows = []
for i in range(1, n + 1):
    (t0, l0, b0, c0, s0), (t1, l1, b1, c1, s1) = snaps[i - 1], snaps[i]
    r0, r1 = counts[i - 1]["by_request"], counts[i]["by_request"]
    deltas = {k: v - r0.get(k, 0) for k, v in r1.items()}
    polls = max(deltas.values()) if deltas else 0
    reqs = counts[i]["total"] - counts[i - 1]["total"]
    dt = (t1 - t0) / 1e9
    vals = (l1 - l0) / dt
    rows.append({"secs": dt, "polls": polls, "req_per_poll": reqs / polls if polls else 0,
                 "values_per_s": vals, "regs_per_s": vals * regs_per_value,
                 "cpu_us_per_poll": (c1 - c0) / 1e3 / polls if polls else 0,
                 "srv_us_per_poll": (s1 - s0) / 1e3 / polls if polls else 0,
                 "bad": b1 - b0, "distinct": len([k for k, v in deltas.items() if v > 0])})
with open("%s/rows" % d, "w") as f:
    for i, r in enumerate(rows, 1):
        f.write("%6d %6.1f %6d %10.2f %10.1f %10.1f %12.1f %12.1f %5d\n" % (
            i, r["secs"], r["polls"], r["req_per_poll"], r["values_per_s"], r["regs_per_s"],
            r["cpu_us_per_poll"], r["srv_us_per_poll"], r["bad"]))
with open("%s/fig" % d, "w") as f:
    for k in ("req_per_poll", "values_per_s", "regs_per_s", "cpu_us_per_poll",
              "srv_us_per_poll", "distinct"):
        f.write("%s %.6g\n" % (k, statistics.median(r[k] for r in rows)))
    f.write("connections %d\n" % (counts[-1]["connections"] - counts[0]["connections"]))
EOF
}

fig() { awk -v k="$2" '$1 == k { print $2 }' "$1/fig"; }
hdr() { printf '%6s %6s %6s %10s %10s %10s %12s %12s %5s\n' window secs polls req/poll values/s regs/s "CPU us/poll" "peer us/poll" bad; }

say "# Section 4: Modbus, liotad against collectd"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "command: make bench BENCH=modbus (sh $top_srcdir/tests/bench/modbus.sh)"
say "server: modbus_server.py (python3-pymodbus $(dpkg-query -W -f '${Version}' python3-pymodbus 2>/dev/null || "$PY" -c 'import pymodbus; print(pymodbus.__version__)')), Modbus/TCP on 127.0.0.1:$PORT"
say "registers: holding 1000..1119 = $NU16 uint16 + $NF32 float32 (ABCD), every 1 s, to line_sink over TCP"
say "$WINDOWS windows of about $WINDOW s after $WARM s, each from the quiet after one poll to the quiet after another"

# ---- liotad -----------------------------------------------------------------------
LT=$WORK/liotad
mkdir -p "$LT/run"
sink_start "$LT"
{
	printf '[daemon]\nlog_level = warning\nruntime_dir = %s\nstate_dir = %s/state\n\n[edge]\nname = bench\n\n' "$LT/run" "$LT/run"
	printf '[dcc "sink"]\ntype = graphite\ntransport = tcp\nhost = 127.0.0.1\nport = %s\nprefix = lt\n\n' "$SINK_PORT"
	printf '[device "plc"]\ntype = modbus\ntransport = tcp\nhost = 127.0.0.1\nport = %s\nunit = 1\n\n' "$PORT"
	a=1000
	while [ $a -lt $((1000 + NU16)) ]; do
		printf '[metric "plc.r%d"]\ntable = holding\naddress = %d\ntype = uint16\ninterval = 1s\n\n' $a $a
		a=$((a + 1))
	done
	i=0
	while [ $i -lt $NF32 ]; do
		a=$((1000 + NU16 + 2 * i))
		printf '[metric "plc.f%d"]\ntable = holding\naddress = %d\ntype = float32\ninterval = 1s\n\n' $a $a
		i=$((i + 1))
	done
} >"$LT/liotad.conf"
"$LIOTAD" -c "$LT/liotad.conf" >"$LT/liotad.log" 2>&1 &
LT_PID=$!
PIDS="$PIDS $LT_PID"
measure "$LT" "$LT_PID"
"$LIOTACTL" -r "$LT/run" status --json >"$LT/status.json" 2>/dev/null || :
stop "$LT_PID"
stop "$SINK_PID"
figures "$LT"
say ""
say "## $("$LIOTAD" --version 2>/dev/null | head -n 1)"
say "1 modbus device, $((NU16 + NF32)) metrics at 1 s (configuration: $(grep -c '^\[metric' "$LT/liotad.conf") [metric] sections)"
hdr
cat "$LT/rows"
say "device counters at the end: $("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([x.get("counters") for x in d["devices"]][0], "condition", [x.get("condition") for x in d["devices"]][0])' "$LT/status.json" 2>/dev/null || echo unavailable)"
say "distinct requests per window: $(fig "$LT" distinct) ($(tr '\n' ' ' <"$WORK/counts.json" | sed -n 's/.*"by_request": \({[^}]*}\).*/\1/p'))"

# ---- collectd -----------------------------------------------------------------------
if ! command -v collectd >/dev/null 2>&1 || [ ! -f /usr/lib/collectd/modbus.so ]; then
	say ""
	say "## collectd: not installed (apt-get install collectd-core libmodbus5): skipped"
	exit 0
fi
CD=$WORK/collectd
mkdir -p "$CD"
sink_start "$CD"
{
	cat <<EOF
Hostname "bench"
FQDNLookup false
BaseDir "$CD"
PIDFile "$CD/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
AutoLoadPlugin false
LoadPlugin modbus
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
<Plugin modbus>
EOF
	a=1000
	while [ $a -lt $((1000 + NU16)) ]; do
		printf '  <Data "r%d">\n    RegisterBase %d\n    RegisterType Uint16\n    RegisterCmd ReadHolding\n    Type gauge\n    Instance "r%d"\n  </Data>\n' $a $a $a
		a=$((a + 1))
	done
	i=0
	while [ $i -lt $NF32 ]; do
		a=$((1000 + NU16 + 2 * i))
		printf '  <Data "f%d">\n    RegisterBase %d\n    RegisterType Float\n    RegisterCmd ReadHolding\n    Type gauge\n    Instance "f%d"\n  </Data>\n' $a $a $a
		i=$((i + 1))
	done
	printf '  <Host "plc">\n    Address "127.0.0.1"\n    Port "%s"\n    Interval 1\n    <Slave 1>\n      Instance "plc"\n' "$PORT"
	a=1000
	while [ $a -lt $((1000 + NU16)) ]; do
		printf '      Collect "r%d"\n' $a
		a=$((a + 1))
	done
	i=0
	while [ $i -lt $NF32 ]; do
		printf '      Collect "f%d"\n' $((1000 + NU16 + 2 * i))
		i=$((i + 1))
	done
	cat <<EOF
    </Slave>
  </Host>
</Plugin>
EOF
	sink_collectd_node "$SINK_PORT"
} >"$CD/collectd.conf"
collectd -f -C "$CD/collectd.conf" >"$CD/collectd.log" 2>&1 &
CD_PID=$!
PIDS="$PIDS $CD_PID"
measure "$CD" "$CD_PID"
stop "$CD_PID"
stop "$SINK_PID"
figures "$CD"
say ""
say "## collectd $(collectd -h 2>&1 | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)"
say "modbus plugin: $((NU16 + NF32)) <Data> blocks (RegisterType Uint16 / Float, RegisterCmd ReadHolding, Type gauge), <Host> Interval 1, <Slave 1>; write_graphite TCP, FlushInterval 1"
hdr
cat "$CD/rows"
say "distinct requests per window: $(fig "$CD" distinct); connections during the windows: $(fig "$CD" connections)"
if grep -qi 'error' "$CD/collectd.log"; then
	say "collectd log (errors): $(grep -i error "$CD/collectd.log" | head -n 3)"
fi

# ---- summary -------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
say ""
say "## Summary (medians of $WINDOWS windows)"
printf '%-28s %12s %12s %8s\n' "" liotad collectd "c/l"
for k in req_per_poll values_per_s regs_per_s cpu_us_per_poll srv_us_per_poll; do
	l=$(fig "$LT" $k) c=$(fig "$CD" $k)
	case $k in
	req_per_poll) name="round trips per poll" ;;
	values_per_s) name="values delivered per s" ;;
	regs_per_s) name="registers delivered per s" ;;
	cpu_us_per_poll) name="daemon CPU us per poll" ;;
	srv_us_per_poll) name="server CPU us per poll" ;;
	esac
	case $k in
	req_per_poll) fmt='%.2f' ;;
	*_per_s) fmt='%.1f' ;;
	*) fmt='%.0f' ;;
	esac
	printf '%-28s %12s %12s %7sx\n' "$name" "$(printf "$fmt" "$l")" "$(printf "$fmt" "$c")" "$(ratio "$c" "$l")"
done
say "round trips per poll for liotad and collectd on the same configuration: $(fig "$LT" req_per_poll) and $(fig "$CD" req_per_poll)"
