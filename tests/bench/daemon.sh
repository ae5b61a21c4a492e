#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench, section 2: the whole daemon against collectd.
#
# One loopback TCP sink (tests/bench/line_sink: counts and checks carbon
# lines) receives from liotad, then from collectd 5.12, under the same
# offered loads, rising step by step until a daemon delivers less than it is
# offered. Per step: delivered lines/s (from the sink), daemon CPU per
# delivered line (utime+stime of /proc/PID/stat), RSS (VmRSS sampled every
# second, VmHWM), and what was lost (liotad: ring lane drops, DCC drops,
# ticks the samplers skipped).
#
# How each daemon is loaded:
#   liotad   4 sim devices (one sampler thread each) x M metrics every 1 ms
#            (2 ms for the 50k step), functions counter, sine, random_walk
#            and constant in turn, aggregation = 10 samples per published
#            batch, lane_capacity = 16384 records (16 ms of a lane at 1 M/s:
#            room for the publisher being descheduled on a busy 2-CPU
#            machine), graphite DCC over TCP with the default 4 MiB queue.
#   collectd Interval 1; the table plugin reads a tmpfs file of N rows
#            ("mI VALUE") every second, one gauge per row; write_graphite over
#            TCP with FlushInterval 1. collectd samples once per interval, so
#            N values per interval = N values/s.
# The knee is the highest step delivered at >= 99 % of the offered rate with
# RSS not growing (last second's RSS within 10 % + 4 MiB of the first).
# A failing step is run once more before it counts (the machine is shared),
# and no step above a failure is run. Then liotad is offered more than it
# can take, twice, sampling RSS every second: 8 M samples/s (CPU-bound), and
# 1 M/s towards a sink that stops reading (its queue fills).
#
# Environment: top_builddir, top_srcdir (set by make bench);
# DAEMON_BENCH_STEPS overrides the steps ("50000 100000 ..."), and
# DAEMON_BENCH_KEEP=1 keeps the work folder (configurations, logs, sink output).
# Every measurement holds /tmp/liotad-bench.lock (others benchmark on this
# machine too); figures taken while other work runs are noisy.
# shellcheck disable=SC2046 # figures are split into words on purpose
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"

LIOTAD=$top_builddir/liotad
LIOTACTL=$top_builddir/liotactl
SINK=$top_builddir/tests/bench/line_sink
. "$top_srcdir/tests/bench/sink.sh"
STEPS=${DAEMON_BENCH_STEPS:-"50000 100000 200000 500000 1000000 2000000 4000000"}
OVERLOAD=8000000
WARM=2          # seconds before measuring (liotad)
CD_WARM=3       # collectd: its first flush comes after one interval
MEAS=6          # seconds measured per step
OVER_SECS=12    # seconds of each overload run
TCK=$(getconf CLK_TCK)

for b in "$LIOTAD" "$LIOTACTL" "$SINK"; do
	[ -x "$b" ] || { echo "daemon.sh: $b is missing (make bench builds it)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/liotad-bench-daemon.XXXXXX")
SHM=$(mktemp -d /dev/shm/liotad-bench.XXXXXX 2>/dev/null || echo "$WORK/shm")
mkdir -p "$SHM"
PIDS=""
NAME=daemon.sh
. "$top_srcdir/tests/bench/bench_lib.sh"
cleanup()
{
	bench_kill
	rm -rf "$SHM"
	if [ -n "${DAEMON_BENCH_KEEP:-}" ]; then
		echo "daemon.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One measurement at a time on this machine: the shared lock (fd 9).
bench_lock_fd

# calc EXPR: floating-point arithmetic through awk.
calc() { awk "BEGIN { printf \"%s\", ($1) }"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# sink_snap_quiet DIR: the last sink_snap before a burst of lines begins
# after a pause of 100 ms or more, or the latest one after 2.5 s without such
# a start. collectd reads and flushes once a second: its bursts start a fixed
# delay after each read, while their ends vary with how long the writing
# takes (and trail off after short pauses), so a window from one burst start
# to another holds whole intervals.
sink_snap_quiet()
{
	prev=$(sink_snap "$1")
	still=0 i=0
	while [ $i -lt 120 ]; do
		sleep 0.01
		cur=$(sink_snap "$1")
		if [ "$(echo "$cur" | cut -d' ' -f2)" = "$(echo "$prev" | cut -d' ' -f2)" ]; then
			still=$((still + 1))
		elif [ $still -ge 5 ]; then
			echo "$prev"
			return
		else
			still=0
		fi
		prev=$cur
		i=$((i + 1))
	done
	echo "$cur"
}

# status_counts FILE: "LANE_DROPPED DCC_DROPPED LATE TAKEN" from liotactl status --json.
status_counts()
{
	tr -d ' \n' <"$1" | awk '
	function sum(t, key,   r, m) {
		r = 0
		while (match(t, "\"" key "\":[0-9]+")) {
			m = substr(t, RSTART, RLENGTH)
			sub(/.*:/, "", m)
			r += m
			t = substr(t, RSTART + RLENGTH)
		}
		return r
	}
	{
		i = index($0, "\"lanes\":"); j = index($0, "\"devices\":")
		k = index($0, "\"dccs\":"); l = index($0, "\"totals\":")
		if (!i || !j || !k || !l) { print "0 0 0 0"; exit }
		printf "%d %d %d %d\n", sum(substr($0, i, j - i), "dropped"),
			sum(substr($0, k, l - k), "dropped"), sum(substr($0, j, k - j), "late"),
			sum(substr($0, l), "taken")
	}'
}

# liotad_conf RATE PORT RUNDIR: devices x metrics x interval giving RATE
# samples/s. LT_DAEMON_KEYS and LT_DCC_KEYS ("key = value" lines separated
# by ";", default none) go into [daemon] and the DCC's section;
# DAEMON_BENCH_AGGREGATION sets the metrics' aggregation (default 10).
liotad_conf()
{
	awk -v R="$1" -v P="$2" -v RUN="$3" -v DK="${LT_DAEMON_KEYS:-}" -v CK="${LT_DCC_KEYS:-}" \
	    -v AG="${DAEMON_BENCH_AGGREGATION:-10}" 'BEGIN {
		D = 4; I = R < 100000 ? 2 : 1; M = int(R * I / 1000 / D + 0.5)
		printf "[daemon]\nlog_level = warning\nlane_capacity = 16384\nflush_timeout = 2s\n"
		gsub(/;/, "\n", DK)
		gsub(/;/, "\n", CK)
		if (DK != "")
			printf "%s\n", DK
		printf "runtime_dir = %s\n", RUN
		# spool = auto (the default) keeps its spool in the run folder, not the user'"'"'s
		if (DK !~ /state_dir/)
			printf "state_dir = %s/state\n", RUN
		printf "\n[edge]\nname = bench\n\n"
		printf "[dcc \"sink\"]\ntype = graphite\ntransport = tcp\nhost = 127.0.0.1\n"
		printf "port = %d\nprefix = lt\n", P
		if (CK != "")
			printf "%s\n", CK
		printf "\n"
		split("counter sine random_walk constant", fn, " ")
		for (d = 0; d < D; d++) {
			printf "[device \"d%d\"]\ntype = sim\n\n", d
			for (m = 0; m < M; m++)
				printf "[metric \"d%d.m%d\"]\nfunction = %s\ninterval = %dms\naggregation = %d\n\n",
					d, m, fn[m % 4 + 1], I, AG
		}
		printf "# %d devices x %d metrics every %d ms\n", D, M, I
	}'
}

# collectd_conf N PORT TABLE DIR
collectd_conf()
{
	cat <<EOF
Hostname "bench"
FQDNLookup false
BaseDir "$4"
PIDFile "$4/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
AutoLoadPlugin false
LoadPlugin table
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
<Plugin table>
  <Table "$3">
    Instance "t"
    Separator " "
    <Result>
      Type gauge
      InstancesFrom 0
      ValuesFrom 1
    </Result>
  </Table>
</Plugin>
EOF
	sink_collectd_node "$2"
}

# measure DIR PID SECS [quiet]: sample while the daemon runs; writes DIR/m with
# "DELIVERED_PER_S CPU_US_PER_LINE CORES RSS_FIRST RSS_LAST RSS_MAX HWM BAD"
# and DIR/rss (VmRSS every second). quiet: a sender with a 1 s interval,
# measured from burst start to burst start over a whole number of seconds.
measure()
{
	d=$1 pid=$2 secs=$3 snap=sink_snap q=0
	if [ "${4:-}" = quiet ]; then
		snap=sink_snap_quiet q=1
	fi
	set -- $($snap "$d")
	c0=$(cpu_ticks "$pid")
	[ $# = 3 ] || { echo "daemon.sh: no figures from the sink" >&2; exit 1; }
	t0=$1 l0=$2 b0=$3
	first=$(rss_kb "$pid") max=$first last=$first
	i=0
	while [ $i -lt "$secs" ]; do
		sleep 1
		last=$(rss_kb "$pid")
		[ "$last" -gt "$max" ] && max=$last
		printf '%s ' "$last" >>"$d/rss"
		i=$((i + 1))
	done
	set -- $($snap "$d")
	c1=$(cpu_ticks "$pid")
	[ $# = 3 ] || { echo "daemon.sh: no figures from the sink" >&2; exit 1; }
	t1=$1 l1=$2 b1=$3
	awk -v t0="$t0" -v t1="$t1" -v l0="$l0" -v l1="$l1" -v c0="$c0" -v c1="$c1" \
	    -v tck="$TCK" -v f="$first" -v la="$last" -v mx="$max" -v h="$(hwm_kb "$pid")" \
	    -v bad=$((b1 - b0)) -v q="$q" 'BEGIN {
		dt = (t1 - t0) / 1e9; n = l1 - l0; cpu = (c1 - c0) / tck
		# burst-aligned: the window holds whole 1 s intervals of the sender
		if (q && dt > 0.5)
			dt = int(dt + 0.5)
		printf "%.0f %.3f %.2f %d %d %d %d %d\n", n / dt, n ? cpu * 1e6 / n : 0, cpu / dt,
			f, la, mx, h, bad }' >"$d/m"
}

# ok OFFERED: the step in STEP_DIR passed (>= 99 % delivered, RSS not growing).
ok()
{
	set -- "$1" $(cat "$STEP_DIR/m")
	awk -v o="$1" -v dl="$2" -v f="$5" -v la="$6" \
		'BEGIN { exit !(dl >= 0.99 * o && la <= f * 1.1 + 4096) }'
}

# near OFFERED: a failed step came near (>= 90 %): worth running again,
# since another process may have taken the CPUs for a while.
near()
{
	set -- "$1" $(cat "$STEP_DIR/m")
	awk -v o="$1" -v dl="$2" 'BEGIN { exit !(dl >= 0.9 * o) }'
}

# ---- liotad -----------------------------------------------------------------

# liotad_step RATE [SINK ARGS]: one run; leaves its figures in STEP_DIR.
liotad_step()
{
	rate=$1
	shift
	STEP_DIR=$WORK/liotad-$rate-$$-$(date +%s%N)
	mkdir -p "$STEP_DIR/run"
	lock
	sink_start "$STEP_DIR" "$@"
	liotad_conf "$rate" "$SINK_PORT" "$STEP_DIR/run" >"$STEP_DIR/liotad.conf"
	"$LIOTAD" -c "$STEP_DIR/liotad.conf" >"$STEP_DIR/liotad.log" 2>&1 &
	lp=$!
	PIDS="$PIDS $lp"
	sleep "$WARM"
	if ! alive "$lp"; then
		echo "daemon.sh: liotad exited:" >&2
		cat "$STEP_DIR/liotad.log" >&2
		exit 1
	fi
	"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/s0" 2>/dev/null || :
	measure "$STEP_DIR" "$lp" "${MEAS_SECS:-$MEAS}"
	"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/s1" 2>/dev/null || :
	stop "$lp"
	stop "$SINK_PID"
	unlock
	set -- $(status_counts "$STEP_DIR/s0") $(status_counts "$STEP_DIR/s1")
	echo "$(($5 - $1)) $(($6 - $2)) $(($7 - $3))" >"$STEP_DIR/lost"
	tail -n 1 "$STEP_DIR/liotad.conf" | sed 's/^# //' >"$STEP_DIR/shape"
}

row_hdr()
{
	printf '%10s %12s %7s %9s %6s %9s %9s %9s %s\n' offered/s delivered/s "%" "CPU us" cores \
		"RSS kB" "HWM kB" bad "$1"
}

# row RATE EXTRA: one table row from STEP_DIR.
row()
{
	set -- "$1" "$2" $(cat "$STEP_DIR/m")
	printf '%10d %12d %7s %9s %6s %9d %9d %9d %s\n' "$1" "$3" "$(calc "100 * $3 / $1" | \
		awk '{ printf "%.1f", $1 }')" "$4" "$5" "$8" "$9" "${10}" "$2"
}

# ---- DAEMON_BENCH_MODE=spool: the whole daemon with its durable spool -------
# (make bench BENCH=spool runs it after the store benchmark; section 6 of
# docs/benchmarks.md.) The same load as the 1M step above, the Graphite DCC
# to the sink:
#   healthy path  SPOOL_ROUNDS rounds (default 5) of two runs, spool = no
#                 then spool = yes, the sink reading: CPU per delivered
#                 sample side by side, medians;
#   write path    spool = yes, spool_size 4G, the sink not there (a closed
#                 port): every batch goes to the spool. Samples/s spooled,
#                 CPU per sample spooled, bytes on disk per sample (the
#                 segments' allocated blocks / samples they hold);
#   replay        then the sink starts on that port: from then until status
#                 shows the spool empty (at most SPOOL_REPLAY_SECS, 20),
#                 samples/s delivered, CPU per delivered sample, the net
#                 drain rate and time (new samples keep coming at 1M/s and
#                 go behind the spool meanwhile).
# SPOOL_RATE changes the offered rate (default 1000000) for a look at
# where the replay keeps up.

# spool_fig FILE EXPR: a figure from a status --json file (d; s = the DCC's spool object).
spool_fig()
{
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["dccs"] if c["name"] == "sink"][0]
s = c["spool"] or {}
print(eval(sys.argv[2]))' "$1" "$2"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

spool_section()
{
	rate=${SPOOL_RATE:-1000000}
	rounds=${SPOOL_ROUNDS:-5}
	REPLAY_SECS=${SPOOL_REPLAY_SECS:-20}
	say "# Section 6: the whole daemon with its durable spool, $rate samples/s offered"
	say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
	say "state folder on: $(df -T "$WORK" | awk 'NR==2 { print $2 }') ($WORK)"
	say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	say "command: make bench BENCH=spool (DAEMON_BENCH_MODE=spool sh $top_srcdir/tests/bench/daemon.sh)"
	say ""
	say "## Healthy path: the sink reading, spool = no then yes, $rounds rounds"
	say "${MEAS} s measured after ${WARM} s; CPU us = utime+stime per delivered line"
	row_hdr "spool; lost (ring/dcc/late); spool at the end"
	off="" on=""
	r=1
	while [ $r -le "$rounds" ]; do
		for sp in no yes; do
			LT_DAEMON_KEYS="state_dir = $WORK/state-$r-$sp" LT_DCC_KEYS="spool = $sp" \
				liotad_step "$rate"
			cpu=$(cut -d' ' -f2 "$STEP_DIR/m")
			left=$(spool_fig "$STEP_DIR/s1" 's.get("samples", 0)' 2>/dev/null || echo "?")
			row "$rate" "spool = $sp; $(tr ' ' / <"$STEP_DIR/lost"); $left samples spooled"
			if [ $sp = no ]; then off="$off $cpu"; else on="$on $cpu"; fi
		done
		r=$((r + 1))
	done
	if [ -n "$off" ]; then
		moff=$(echo "$off" | median) mon=$(echo "$on" | median)
		say "median CPU us per delivered sample: spool = no $moff, spool = yes $mon:" \
			"$(calc "100 * ($mon - $moff) / $moff" | awk '{ printf "%+.1f", $1 }') % (target < +10 %)"
		say "  per round (no/yes):$(awk -v a="$off" -v b="$on" 'BEGIN { n = split(a, x, " "); split(b, y, " ")
			for (i = 1; i <= n; i++) printf " %s/%s", x[i], y[i] }')"
	fi

	say ""
	say "## Write path (the sink absent) and replay (the sink back), spool = yes"
	io=1 # not i: sink_start uses it
	while [ $io -le "${SPOOL_IO_RUNS:-3}" ]; do
		spool_io_step "$rate"
		io=$((io + 1))
	done
}

# spool_io_step RATE: one write-then-replay run; prints its figures.
spool_io_step()
{
	STEP_DIR=$WORK/spool-io-$$-$(date +%s%N)
	mkdir -p "$STEP_DIR/run" "$STEP_DIR/probe"
	lock
	# A port for the sink to take later: nothing listens there meanwhile.
	sink_start "$STEP_DIR/probe"
	port=$SINK_PORT
	stop "$SINK_PID"
	LT_DAEMON_KEYS="state_dir = $STEP_DIR/state" \
	LT_DCC_KEYS="spool = yes;spool_size = 4G;reconnect_min = 50ms;reconnect_max = 100ms" \
		liotad_conf "$1" "$port" "$STEP_DIR/run" >"$STEP_DIR/liotad.conf"
	"$LIOTAD" -c "$STEP_DIR/liotad.conf" >"$STEP_DIR/liotad.log" 2>&1 &
	lp=$!
	PIDS="$PIDS $lp"
	sleep "$WARM"
	alive "$lp" || { echo "daemon.sh: liotad exited:" >&2; cat "$STEP_DIR/liotad.log" >&2; exit 1; }
	"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/w0"
	c0=$(cpu_ticks "$lp") t0=$(date +%s%N)
	sleep "$MEAS"
	"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/w1"
	c1=$(cpu_ticks "$lp") t1=$(date +%s%N)
	disk=$(du -s -B1 "$STEP_DIR/state" | cut -f1)
	# The peer comes back: up to REPLAY_SECS, or until the spool is empty.
	SINK_DURATION=$((REPLAY_SECS + 30)) sink_start "$STEP_DIR" --port "$port"
	c2=$(cpu_ticks "$lp") t2=$(date +%s%N)
	set -- $(sink_snap "$STEP_DIR")
	l2=$2
	"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/r0"
	left=1 until=$((t2 + REPLAY_SECS * 1000000000))
	while [ "$(date +%s%N)" -lt $until ]; do
		sleep 0.25
		"$LIOTACTL" -r "$STEP_DIR/run" status --json >"$STEP_DIR/r1"
		left=$(spool_fig "$STEP_DIR/r1" 's.get("samples", 0)')
		[ "$left" -gt 0 ] || break
	done
	c3=$(cpu_ticks "$lp") t3=$(date +%s%N)
	set -- $(sink_snap "$STEP_DIR")
	l3=$2 bad=$3
	stop "$lp"
	stop "$SINK_PID"
	unlock
	taken=$(( $(spool_fig "$STEP_DIR/w1" 'd["totals"]["taken"]') - $(spool_fig "$STEP_DIR/w0" 'd["totals"]["taken"]') ))
	sp0=$(spool_fig "$STEP_DIR/w0" 's.get("samples", 0)')
	sp1=$(spool_fig "$STEP_DIR/w1" 's.get("samples", 0)')
	b1=$(spool_fig "$STEP_DIR/w1" 's.get("bytes", 0)')
	r0=$(spool_fig "$STEP_DIR/r0" 's.get("samples", 0)')
	rtaken=$(( $(spool_fig "$STEP_DIR/r1" 'd["totals"]["taken"]') - $(spool_fig "$STEP_DIR/r0" 'd["totals"]["taken"]') ))
	drop=$(spool_fig "$STEP_DIR/r1" 'c["dropped"]')
	awk -v dt=$((t1 - t0)) -v tk="$TCK" -v c=$((c1 - c0)) -v taken="$taken" -v sp=$((sp1 - sp0)) \
	    -v spn="$sp1" -v b="$b1" -v disk="$disk" -v rt=$((t3 - t2)) -v rc=$((c3 - c2)) \
	    -v lines=$((l3 - l2)) -v bad="$bad" -v drop="$drop" -v r0="$r0" -v left="$left" \
	    -v rtaken="$rtaken" 'BEGIN {
		printf "write:  %.0f samples/s taken, %.0f/s into the spool; %.3f us CPU per sample spooled; %.1f bytes on disk per sample (allocated blocks; %.1f by the segments sizes), %d samples spooled\n",
			taken / dt * 1e9, sp / dt * 1e9, sp ? c / tk * 1e6 / sp : 0, spn ? disk / spn : 0, spn ? b / spn : 0, spn
		printf "replay: %s after %.2f s; %.0f samples/s delivered, %.0f/s taken meanwhile, spool %d -> %d samples (%.0f/s net); %.3f us CPU per delivered sample; %d malformed lines, %d dropped\n",
			(left > 0 ? "NOT empty" : "empty"), rt / 1e9, lines / rt * 1e9, rtaken / rt * 1e9, r0, left,
			(r0 - left) / rt * 1e9, lines ? rc / tk * 1e6 / lines : 0, bad, drop
	}'
}

if [ "${DAEMON_BENCH_MODE:-}" = spool ]; then
	spool_section
	exit 0
fi

say "# Section 2: the whole daemon against collectd"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work makes the figures noisy)"
say "command: make bench BENCH=daemon (sh $top_srcdir/tests/bench/daemon.sh)"
say ""
say "## liotad $("$LIOTAD" --version 2>/dev/null | head -n 1)"
say "4 sim devices, 1 ms (50k: 2 ms), aggregation 10, lane_capacity 16384"
say "${MEAS} s measured after ${WARM} s; CPU us = utime+stime per delivered line; RSS = highest VmRSS of the ${MEAS} s"
say "lost = samples dropped in ring lanes / in the DCC queue / ticks skipped by late samplers"
row_hdr "shape; lost (ring/dcc/late)"
LT_KNEE=0
for rate in $STEPS; do
	liotad_step "$rate"
	if ! ok "$rate" && near "$rate"; then
		row "$rate" "(failed once: run again)"
		liotad_step "$rate"
	fi
	row "$rate" "$(cat "$STEP_DIR/shape"); $(tr ' ' / <"$STEP_DIR/lost")"
	eval "LT_M_$rate=\"\$(cat \"\$STEP_DIR/m\")\""
	if ok "$rate"; then
		LT_KNEE=$rate
	else
		break
	fi
done

say ""
say "liotad offered more than it can deliver (RSS every second, kB):"
# CPU-bound: twice the top step.
MEAS_SECS=$OVER_SECS liotad_step "$OVERLOAD"
say "  $OVERLOAD/s offered, delivered $(cut -d' ' -f1 "$STEP_DIR/m")/s," \
	"lost (ring/dcc/late) $(tr ' ' / <"$STEP_DIR/lost"): $(cat "$STEP_DIR/rss")"
OVER1_RSS="$(cat "$STEP_DIR/rss")"
# The sink stops reading: the DCC queue fills and then drops.
MEAS_SECS=$OVER_SECS liotad_step 1000000 --stall
say "  1000000/s to a sink that stops reading, delivered $(cut -d' ' -f1 "$STEP_DIR/m")/s," \
	"lost (ring/dcc/late) $(tr ' ' / <"$STEP_DIR/lost"): $(cat "$STEP_DIR/rss")"
OVER2_RSS="$(cat "$STEP_DIR/rss")"

# ---- collectd ---------------------------------------------------------------

say ""
if ! command -v collectd >/dev/null 2>&1 || [ ! -f /usr/lib/collectd/table.so ]; then
	say "## collectd: not installed (apt-get install collectd-core): skipped"
	exit 0
fi
say "## collectd $(collectd -h 2>&1 | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)"
say "table plugin, N rows of a tmpfs file read every Interval 1 (N values/s); write_graphite TCP, FlushInterval 1"
say "${MEAS} s measured after ${CD_WARM} s, from the start of a burst of lines to the start of another"
row_hdr ""
CD_KNEE=0
for rate in $STEPS; do
	for attempt in 1 2; do
		STEP_DIR=$WORK/collectd-$rate-$attempt
		mkdir -p "$STEP_DIR"
		awk -v N="$rate" 'BEGIN { for (i = 0; i < N; i++) printf "m%d %d.%d\n", i, i % 1000, i % 7 }' \
			>"$SHM/table"
		lock
		sink_start "$STEP_DIR"
		collectd_conf "$rate" "$SINK_PORT" "$SHM/table" "$STEP_DIR" >"$STEP_DIR/collectd.conf"
		collectd -f -C "$STEP_DIR/collectd.conf" >"$STEP_DIR/collectd.log" 2>&1 &
		cp=$!
		PIDS="$PIDS $cp"
		sleep "$CD_WARM"
		if ! alive "$cp"; then
			echo "daemon.sh: collectd exited:" >&2
			cat "$STEP_DIR/collectd.log" >&2
			exit 1
		fi
		measure "$STEP_DIR" "$cp" "$MEAS" quiet
		stop "$cp"
		stop "$SINK_PID"
		unlock
		if ok "$rate" || ! near "$rate" || [ $attempt = 2 ]; then
			break
		fi
		row "$rate" "(failed once: run again)"
	done
	row "$rate" "RSS each s: $(cat "$STEP_DIR/rss")"
	eval "CD_M_$rate=\"\$(cat \"\$STEP_DIR/m\")\""
	if ok "$rate"; then
		CD_KNEE=$rate
	else
		break
	fi
done
rm -f "$SHM/table"

# ---- summary ----------------------------------------------------------------

# fig DAEMON RATE FIELD: a figure of a step (1 delivered, 2 CPU us, 6 RSS max, 7 HWM).
fig()
{
	eval "v=\${${1}_M_$2:-}"
	[ -n "$v" ] || { echo "-"; return; }
	echo "$v" | cut -d' ' -f"$3"
}

say ""
say "## Summary"
say "knee (highest step >= 99 % delivered, RSS bounded): liotad $LT_KNEE/s, collectd $CD_KNEE/s," \
	"ratio $(calc "$CD_KNEE > 0 ? $LT_KNEE / $CD_KNEE : 0" | awk '{ printf "%.1f", $1 }')x (target >= 20x)"
if [ "$CD_KNEE" -gt 0 ]; then
	for r in $(echo 100000 "$CD_KNEE" | tr ' ' '\n' | sort -un); do
		lc=$(fig LT "$r" 2) cc=$(fig CD "$r" 2) lr=$(fig LT "$r" 6) cr=$(fig CD "$r" 6)
		if [ "$lc" = - ] || [ "$cc" = - ]; then
			continue
		fi
		say "at $r/s: CPU per sample liotad $lc us, collectd $cc us ($(calc "$cc / $lc" | \
			awk '{ printf "%.1f", $1 }')x); RSS liotad $lr kB, collectd $cr kB ($(calc "$cr / $lr" | \
			awk '{ printf "%.1f", $1 }')x)"
	done
fi
lc=$(fig LT 1000000 2) lr=$(fig LT 1000000 6)
if [ "$lc" != - ]; then
	say "liotad at 1000000/s: $lc us CPU per sample (target <= 0.25), RSS $lr kB (target <= 16384)"
fi
say "liotad RSS over time when overloaded (kB): $OVERLOAD/s: $OVER1_RSS; stalled sink: $OVER2_RSS"
