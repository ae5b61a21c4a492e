#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=scale, part 2 (issue 17): wake-ups of an idle daemon, and
# what a tick costs with 1,000 devices (docs/benchmarks.md, section 12).
#
# 1. Idle: one sim metric at 1 Hz. Wake-ups = voluntary context switches of
#    each thread (/proc/PID/task/*/status) over SCALE_IDLE_S seconds after a
#    3 s settle: a thread that sleeps and is woken switches once. Preemptions
#    (involuntary switches: a thread that wakes another on its own CPU, or
#    a peer that our write wakes) are printed beside them. Runs:
#    aggregation 1 to a Graphite file (/dev/null) and over TCP to a line
#    sink; aggregation 1000 (no batch completes: nothing is due for the
#    publisher); collectd 5.12 with one value a second (table plugin,
#    write_graphite over TCP to the same kind of sink).
# 2. 1,000 devices x 1 metric at 1 Hz, Graphite DCC to a file, aggregation
#    1 and 10, against the floor (tests/bench/tick_floor: 1,000 bare threads
#    on one absolute 1 Hz grid, one record each to memory), alternating,
#    SCALE_RUNS runs of SCALE_TICK_S seconds after a 5 s settle; CPU per
#    sample = utime+stime (/proc/PID/stat) / (1,000 x seconds); medians.
#    Also the floor with its threads spread over the second (the shape of
#    samplers that each keep the grid of their own start).
#
# Environment: top_builddir, top_srcdir (set by make bench); SCALE_IDLE_S
# (default 30), SCALE_TICK_S (default 20), SCALE_RUNS (default 3).
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"

LIOTAD=$top_builddir/liotad
LIOTACTL=$top_builddir/liotactl
FLOOR=$top_builddir/tests/bench/tick_floor
SINK=$top_builddir/tests/bench/line_sink
IDLE_S=${SCALE_IDLE_S:-30}
TICK_S=${SCALE_TICK_S:-20}
RUNS=${SCALE_RUNS:-3}
DEVICES=1000
TCK=$(getconf CLK_TCK)
export LIOTAD_PACKAGE_DIR="${LIOTAD_PACKAGE_DIR:-$top_builddir/pkg}"

for b in "$LIOTAD" "$LIOTACTL" "$FLOOR" "$SINK"; do
	[ -x "$b" ] || { echo "scale-2-wakeups: $b is missing (make bench builds it)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "scale-2-wakeups: needs python3" >&2; exit 1; }

NAME=scale-2-wakeups
. "$top_srcdir/tests/bench/scale_lib.sh"
. "$top_srcdir/tests/bench/sink.sh" # sink_collectd_node
# One measurement at a time on this machine, for the whole run.
lock

# snap PID FILE: per thread "TID COMM VOLUNTARY INVOLUNTARY"; one awk for
# all threads (1,000 of them: a process per thread would load the machine).
snap()
{
	awk '/^Name:/ { n = $2 } /^Pid:/ { t = $2 } /^voluntary_ctxt_switches:/ { v = $2 }
		/^nonvoluntary_ctxt_switches:/ { print t, n, v, $2 }' /proc/"$1"/task/*/status \
		>"$2" 2>/dev/null || :
}

# wakeups A B SECS PID KIND: one line, per role (liotad: main, publisher,
# sampler; collectd: per thread name), wake-ups and preemptions per second.
wakeups()
{
	python3 - "$@" <<'EOF'
import sys
a_path, b_path, secs, pid, kind = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
def rows(p):
    r = {}
    for line in open(p):
        f = line.split()
        if f[0] != "cpu" and len(f) == 4:
            r[f[0]] = (f[1], int(f[2]), int(f[3]))
    return r
a, b = rows(a_path), rows(b_path)
roles, vol, inv = {}, 0, 0
for t in sorted(b, key=int):
    if t not in a:
        continue
    comm = b[t][0]
    if kind == "liotad":
        role = "main" if t == pid else ("sampler" if comm.startswith("s:") else "publisher")
    else:
        role = comm
    v, n = b[t][1] - a[t][1], b[t][2] - a[t][2]
    rv, rn = roles.get(role, (0, 0))
    roles[role] = (rv + v, rn + n)
    vol += v
    inv += n
parts = ", ".join(f"{r} {v / secs:.2f}" for r, (v, n) in roles.items())
pre = ", ".join(f"{r} {n / secs:.2f}" for r, (v, n) in roles.items() if n)
print(f"{vol / secs:.2f} {inv / secs:.2f} wake-ups/s: {vol / secs:.2f} ({parts}); "
      f"preemptions/s: {inv / secs:.2f}{' (' + pre + ')' if pre else ''}")
for r, (v, n) in roles.items():
    print(f"role {r} {v / secs:.2f}")
EOF
}

# liotad_start DIR CONF: start liotad on DIR/liotad.conf; sets PID.
liotad_start()
{
	"$LIOTAD" -c "$1/liotad.conf" >"$1/liotad.log" 2>&1 9>&- &
	PID=$!
	PIDS="$PIDS $PID"
	i=0
	while [ ! -S "$1/run/liotad.sock" ]; do
		i=$((i + 1))
		if ! alive "$PID" || [ $i -ge 300 ]; then
			echo "scale-2-wakeups: liotad did not start:" >&2
			cat "$1/liotad.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}

# conf DIR DEVICES AGGREGATION DCC_LINES: sim devices x 1 metric at 1 s.
conf()
{
	awk -v RUN="$1/run" -v D="$2" -v AG="$3" -v DCC="$4" 'BEGIN {
		printf "[daemon]\nlog_level = warning\nruntime_dir = %s\nstate_dir = %s/state\n\n", RUN, RUN
		printf "[edge]\nname = bench\n\n[dcc \"sink\"]\ntype = graphite\n"
		gsub(/;/, "\n", DCC)
		printf "%s\n\n", DCC
		for (d = 0; d < D; d++)
			printf "[device \"d%d\"]\ntype = sim\n\n[metric \"d%d.m0\"]\nfunction = sine\ninterval = 1s\naggregation = %d\n\n", d, d, AG
	}' >"$1/liotad.conf"
}

# run_ns PID: CPU time of all its threads (schedstat), ns: finer than ticks.
run_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "MISSED") }'; }

say "# Scale, part 2: wake-ups and the cost of a tick (issue 17)"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say

# ---- 1. idle ----------------------------------------------------------------
say "== 1. idle: one sim metric at 1 Hz, ${IDLE_S} s after 3 s"
SINK_OUT=$WORK/sink.out
"$SINK" --duration $((IDLE_S * 4 + 60)) --out "$SINK_OUT" 2>"$WORK/sink.err" 9>&- &
SINK_PID=$!
PIDS="$PIDS $SINK_PID"
i=0
until grep -q '^port ' "$SINK_OUT" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 250 ] || { echo "scale-2-wakeups: the sink did not start" >&2; exit 1; }
	sleep 0.02
done
SINK_PORT=$(awk '/^port /{ print $2; exit }' "$SINK_OUT")

for run in "1 file" "1 tcp" "1000 file"; do
	# shellcheck disable=SC2086 # two words on purpose
	set -- $run
	D=$WORK/idle-$1-$2
	mkdir -p "$D"
	if [ "$2" = file ]; then
		conf "$D" 1 "$1" "transport = file;path = /dev/null"
	else
		conf "$D" 1 "$1" "transport = tcp;host = 127.0.0.1;port = $SINK_PORT"
	fi
	liotad_start "$D"
	sleep 3
	snap "$PID" "$D/a"
	sleep "$IDLE_S"
	snap "$PID" "$D/b"
	wakeups "$D/a" "$D/b" "$IDLE_S" "$PID" liotad >"$D/w"
	stop "$PID"
	read -r total pre rest <"$D/w"
	line=$(sed -n 1p "$D/w" | cut -d' ' -f3-)
	pub=$(awk '$1 == "role" && $2 == "publisher" { print $3 }' "$D/w")
	say "liotad, aggregation $1, Graphite $2: $line"
	if [ "$1" = 1 ]; then
		say "  target: <= 2.05 wake-ups/s of the whole process: $(verdict "$total" 2.05)" \
			"(with preemptions: $(awk -v a="$total" -v b="$pre" 'BEGIN { printf "%.2f", a + b }')/s)"
	else
		say "  target: publisher 0 wake-ups/s when nothing is due: ${pub:-0}/s, $(verdict "${pub:-0}" 0)"
	fi
done

if command -v collectd >/dev/null 2>&1 && [ -f /usr/lib/collectd/table.so ] &&
	[ -f /usr/lib/collectd/write_graphite.so ]; then
	D=$WORK/idle-collectd
	collectd_table_conf "$D" 1
	cat >>"$D/collectd.conf" <<EOF
ReadThreads 1
WriteThreads 1
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
EOF
	sink_collectd_node "$SINK_PORT" >>"$D/collectd.conf"
	collectd -f -C "$D/collectd.conf" >"$D/collectd.log" 2>&1 9>&- &
	PID=$!
	PIDS="$PIDS $PID"
	sleep 3
	if alive "$PID"; then
		snap "$PID" "$D/a"
		sleep "$IDLE_S"
		snap "$PID" "$D/b"
		wakeups "$D/a" "$D/b" "$IDLE_S" "$PID" collectd >"$D/w"
		say "collectd $(collectd -h 2>&1 | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)," \
			"Interval 1, one table value, write_graphite TCP, ReadThreads 1, WriteThreads 1:" \
			"$(sed -n 1p "$D/w" | cut -d' ' -f3-)"
	else
		say "collectd: exited at start: $(tail -n 3 "$D/collectd.log")"
	fi
	stop "$PID"
else
	say "collectd: not installed (apt-get install collectd-core): skipped"
fi
stop "$SINK_PID"
say

# ---- 2. 1,000 devices -----------------------------------------------------------
say "== 2. $DEVICES devices x 1 metric at 1 Hz: CPU per sample against the floor," \
	"$RUNS runs of $TICK_S s after 5 s, alternating"
say "floor: tick_floor $DEVICES 1000 (one grid), tick_floor $DEVICES 1000 spread;" \
	"liotad: sim devices, Graphite DCC transport = file (a file in the work folder)"
for ag in 1 10; do
	mkdir -p "$WORK/k$ag"
	conf "$WORK/k$ag" "$DEVICES" "$ag" "transport = file;path = $WORK/k$ag/out.txt"
done
: >"$WORK/results"
r=1
while [ $r -le "$RUNS" ]; do
	for what in floor spread liotad1 liotad10; do
		case $what in
		floor | spread)
			if [ $what = floor ]; then
				"$FLOOR" "$DEVICES" 1000 >"$WORK/floor.out" 9>&- &
			else
				"$FLOOR" "$DEVICES" 1000 spread >"$WORK/floor.out" 9>&- &
			fi
			PID=$!
			PIDS="$PIDS $PID"
			;;
		liotad*)
			liotad_start "$WORK/k${what#liotad}"
			;;
		esac
		sleep 5
		t0=""
		if [ "${what#liotad}" != "$what" ]; then
			t0=$WORK/status0.json
			"$LIOTACTL" -s "$WORK/k${what#liotad}/run/liotad.sock" status --json >"$t0"
		fi
		snap "$PID" "$WORK/a"
		m0=$(date +%s%N)
		c0=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
		r0=$(run_ns "$PID")
		sleep "$TICK_S"
		c1=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
		r1=$(run_ns "$PID")
		m1=$(date +%s%N)
		snap "$PID" "$WORK/b"
		secs=$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
		extra=""
		if [ -n "$t0" ]; then
			t1=$WORK/status1.json
			"$LIOTACTL" -s "$WORK/k${what#liotad}/run/liotad.sock" status --json >"$t1"
			extra=$(python3 -c '
import json, sys, statistics
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ms = [m for d in b["devices"] for m in d["metrics"]]
late = sum(m["late"] for m in ms) - sum(m["late"] for d in a["devices"] for m in d["metrics"])
p50 = statistics.median(d["lateness_us"]["p50"] for d in b["devices"])
p99 = statistics.median(d["lateness_us"]["p99"] for d in b["devices"])
taken = b["totals"]["taken"] - a["totals"]["taken"]
print(f"{taken} {late} {p50:.1f} {p99:.1f}")
' "$t0" "$t1")
		fi
		pub=$(for t in /proc/"$PID"/task/*; do
			case $(cat "$t/comm") in s:* | tick_floor) ;; *) [ "${t##*/}" = "$PID" ] || echo "${t##*/}" ;; esac
		done | head -n 1)
		pubsw=""
		if [ -n "$pub" ] && [ "${what#liotad}" != "$what" ]; then
			pubsw=$(join "$WORK/a" "$WORK/b" 2>/dev/null | awk -v t="$pub" -v s="$secs" \
				'$1 == t { printf "%.1f", ($6 - $3) / s }')
		fi
		stop "$PID"
		us=$(awk -v c=$((c1 - c0)) -v hz="$TCK" -v s="$secs" -v n="$DEVICES" \
			'BEGIN { printf "%.2f", c / hz * 1e6 / (s * n) }')
		rs=$(awk -v c="$r0" -v d="$r1" -v s="$secs" -v n="$DEVICES" \
			'BEGIN { printf "%.2f", (d - c) / 1e3 / (s * n) }')
		echo "$what $us $extra ${pubsw:+pubwake $pubsw} sched $rs" >>"$WORK/results"
		say "run $r: $what: $us us per sample (schedstat: $rs) over $secs s${extra:+ (samples taken between the status calls around the window, ticks skipped, median p50 and p99 lateness in us: $extra)}${pubsw:+; publisher wake-ups $pubsw/s}"
	done
	r=$((r + 1))
done
say
python3 - "$WORK/results" <<'EOF'
import sys, statistics
res = {}
for line in open(sys.argv[1]):
    f = line.split()
    res.setdefault(f[0], []).append(f)
med = {k: statistics.median(float(r[1]) for r in v) for k, v in res.items()}
sch = {k: statistics.median(float(r[r.index("sched") + 1]) for r in v) for k, v in res.items()}
fl = med["floor"]
print(f"floor (one grid): {fl:.2f} us per sample (median of {len(res['floor'])}; schedstat {sch['floor']:.2f})")
print(f"floor, threads spread over the second: {med['spread']:.2f} us per sample (schedstat {sch['spread']:.2f})")
for ag in ("1", "10"):
    k = "liotad" + ag
    rows = res[k]
    ratio = med[k] / fl if fl else float("inf")
    p50 = statistics.median(float(r[4]) for r in rows if len(r) > 5)
    p99 = statistics.median(float(r[5]) for r in rows if len(r) > 5)
    pw = [float(r[r.index("pubwake") + 1]) for r in rows if "pubwake" in r]
    print(f"liotad, aggregation {ag}: {med[k]:.2f} us per sample, {ratio:.2f}x the floor "
          f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}; schedstat {sch[k]:.2f} us, "
          f"{sch[k] / sch['floor']:.2f}x); lateness median p50 {p50:.1f} us, "
          f"p99 {p99:.1f} us; publisher wake-ups {statistics.median(pw) if pw else 0:.1f}/s")
EOF
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
