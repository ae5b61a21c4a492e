#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=scale, part 1 (issue 17): memory per configured metric,
# start-up and reload (docs/benchmarks.md, section 12, "Memory, start-up and
# reload").
#
# Configurations (sim devices, type constant, one Graphite DCC writing to a
# file on tmpfs):
#   base      1 device x 1 metric
#   10x1000   10 devices x 1,000 metrics
#   1000x1    1,000 devices x 1 metric
# For each, with interval = 1 s:
#   RSS       VmRSS (and its anonymous / shared-memory parts) after
#             SCALE_SETTLE seconds (default 8; the ring lanes of 10x1000 have
#             cycled by then), before any liotactl status (see run());
#             per metric beyond the base: (RSS - base RSS) / (metrics - 1).
#             Target <= 1 KB.
#   reload    SIGHUP with the configuration unchanged, SCALE_RELOADS times
#             (default 3): the daemon's own "reloaded ... in X ms" (target
#             <= 50 ms for 10,000 metrics), and whether sampling had a gap:
#             ticks skipped ("late") or samples dropped (ring lanes, DCC) meanwhile
#             (liotactl status --json before and after), and seconds missing in
#             the Graphite file for the first and last metric.
# and ring lanes that have gone round (the consumer gives slow lanes' pages back):
#   lanes     SCALE_ROUND_DEVICES devices (default 200) x 1 metric at
#             SCALE_ROUND_INTERVAL (default 10ms: 100 records a second a lane,
#             a page of 128 records every 1.28 s, slow by the ring's 1 s rule;
#             a lane of 4,096 records goes round in 41 s): RssShmem and VmRSS
#             4 s and SCALE_ROUND_AT s (default 45) after the start, every
#             build at once (within a minute), against devices x one page.
# and with interval = 1 h (the only sample of each metric is its first):
#   start-up  exec (timing_helper exec's stamp) -> first sample of any
#             metric and -> every metric sampled once (last_ts_ns in
#             status --json), median of SCALE_STARTS runs (default 3).
#             Target <= 150 ms for 10,000 metrics.
# SCALE_BASE=DIR also runs the liotad of another build folder (DIR/liotad,
# DIR/pkg/), alternately with this one, run for run: before/after side by side.
# collectd 5.12 (when installed): RSS with the table plugin reading N values
# from a tmpfs file every second, written by write_graphite to a loopback
# sink: N = 1 (its base), 1,000 and 10,000.
# Every wait is bounded; the work folder is removed at exit (SCALE_KEEP=1 keeps it).
# shellcheck disable=SC2046,SC2086 # figures are split into words on purpose
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"

LIOTAD=$top_builddir/liotad
LIOTACTL=$top_builddir/liotactl
HELPER=$top_builddir/tests/bench/timing_helper
SINK=$top_builddir/tests/bench/line_sink
PY=/usr/bin/python3
SETTLE=${SCALE_SETTLE:-8}
RELOADS=${SCALE_RELOADS:-3}
STARTS=${SCALE_STARTS:-3}
for b in "$LIOTAD" "$LIOTACTL" "$HELPER" "$SINK"; do
	[ -x "$b" ] || { echo "scale-1-memory.sh: $b is missing (make bench builds it)" >&2; exit 1; }
done
BUILDS=$top_builddir
if [ -n "${SCALE_BASE:-}" ]; then
	[ -x "$SCALE_BASE/liotad" ] || { echo "scale-1-memory.sh: no $SCALE_BASE/liotad" >&2; exit 1; }
	BUILDS="$SCALE_BASE $top_builddir"
fi

NAME=scale-1-memory
WORK_IN=/dev/shm
[ -d /dev/shm ] && [ -w /dev/shm ] || WORK_IN=
. "$top_srcdir/tests/bench/scale_lib.sh"
tag() { if [ "$1" = "$top_builddir" ]; then echo this; else echo base; fi; }

# conf DEVICES METRICS INTERVAL DIR: the configuration, in DIR/liotad.conf.
conf()
{
	awk -v D="$1" -v M="$2" -v I="$3" -v dir="$4" 'BEGIN {
		printf "[dcc \"file\"]\ntype = graphite\ntransport = file\npath = %s/out.txt\n", dir
		for (d = 0; d < D; d++) {
			printf "\n[device \"d%d\"]\ntype = sim\n", d
			for (m = 0; m < M; m++)
				printf "\n[metric \"d%d.m%d\"]\ninterval = %s\nfunction = constant\nvalue = %d\n",
					d, m, I, m
		}
	}' >"$4/liotad.conf"
}

# run BUILD DIR [HELPER ARGS]: start BUILD's liotad on DIR/liotad.conf; sets LP.
# Waits (up to 30 s) for its control socket to appear. Not for an answer:
# building a status --json of 10,000 metrics leaves megabytes in the heap
# (issue 17's streaming status is another part), which RSS would then count.
run()
{
	b=$1 d=$2
	shift 2
	LIOTAD_PACKAGE_DIR=$b/pkg "$@" "$b/liotad" -c "$d/liotad.conf" -r "$d/run" \
		>"$d/liotad.log" 2>&1 9>&- &
	LP=$!
	PIDS="$PIDS $LP"
	i=0
	while ! [ -S "$d/run/liotad.sock" ]; do
		alive "$LP" || { echo "scale-1-memory.sh: liotad exited: $(tail -n 5 "$d/liotad.log")" >&2; exit 1; }
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "scale-1-memory.sh: liotad did not start in 30 s" >&2; exit 1; }
		sleep 0.1
	done
}

status() { timeout 20 "$1/liotactl" -r "$2/run" status --json >"$3" 2>/dev/null; }

# counts FILE: "SAMPLES LATE DROPPED" of a status --json (ticks skipped summed over the
# metrics; samples dropped in the ring lanes and the DCC: totals).
counts()
{
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
ms = [m for dev in d["devices"] for m in dev["metrics"]]
print(sum(m["samples"] for m in ms), sum(m["late"] for m in ms), d["totals"]["dropped"])' "$1"
}

# ---- RSS and reload -----------------------------------------------------------

# rss_reload BUILD DEVICES METRICS: sets RES to "RSS_KB ANON_KB SHMEM_KB THREADS RELOAD_MS_MEDIAN
# GAPS RSS_AFTER_KB" (VmRSS after the last reload). (Not in a subshell: the daemons it starts must be in PIDS for cleanup.)
rss_reload()
{
	b=$1 dv=$2 mt=$3
	d=$WORK/$(tag "$b")-$dv-$mt-$(date +%s%N)
	mkdir -p "$d/run"
	conf "$dv" "$mt" 1s "$d"
	lock
	run "$b" "$d"
	sleep "$SETTLE"
	set -- $(kb "$LP" VmRSS) $(kb "$LP" RssAnon) $(kb "$LP" RssShmem) $(kb "$LP" Threads)
	rss=$1 anon=$2 shm=$3 thr=$4
	ms="" gaps=0
	r=0
	while [ "$r" -lt "$RELOADS" ]; do
		status "$b" "$d" "$d/before.json"
		n0=$(grep -c 'reloaded .* in ' "$d/liotad.log" || :)
		kill -HUP "$LP"
		i=0
		while [ "$(grep -c 'reloaded .* in ' "$d/liotad.log" || :)" -le "$n0" ]; do
			i=$((i + 1))
			[ $i -lt 300 ] || { echo "scale-1-memory.sh: no 'reloaded' line in 30 s" >&2; exit 1; }
			sleep 0.1
		done
		ms="$ms $(grep 'reloaded .* in ' "$d/liotad.log" | tail -n 1 | sed 's/.* in \([0-9.]*\) ms.*/\1/')"
		sleep 2 # samples taken during the reload reach the file
		status "$b" "$d" "$d/after.json"
		set -- $(counts "$d/before.json") $(counts "$d/after.json")
		gaps=$((gaps + $5 - $2 + $6 - $3))
		r=$((r + 1))
	done
	rss2=$(kb "$LP" VmRSS) # what the reloads left (a kept block per page pins the page)
	stop "$LP"
	unlock
	# Seconds without a line, between the first and last second, of the first and last metric.
	for m in d0.m0 "d$((dv - 1)).m$((mt - 1))"; do
		miss=$(grep "\.$m " "$d/out.txt" | awk '{ print $3 }' | sort -n | awk '
			NR > 1 && $1 > p + 1 { miss += $1 - p - 1 } { p = $1 } END { print miss + 0 }')
		gaps=$((gaps + miss))
	done
	RES="$rss $anon $shm $thr $(echo "$ms" | median) $gaps $rss2"
	[ -n "${SCALE_KEEP:-}" ] || rm -rf "$d"
}

# ---- ring lanes gone round ---------------------------------------------------------

ROUND_DEVICES=${SCALE_ROUND_DEVICES:-200}
ROUND_INTERVAL=${SCALE_ROUND_INTERVAL:-10ms}
ROUND_AT=${SCALE_ROUND_AT:-45}

# lanes_round: every build's liotad at once (the figures do not depend on the CPU, and
# two runs one after the other would take twice as long); prints a line per build.
lanes_round()
{
	started="" dirs="" early=""
	lock
	for b in $BUILDS; do
		d=$WORK/$(tag "$b")-round-$(date +%s%N)
		mkdir -p "$d/run"
		conf "$ROUND_DEVICES" 1 "$ROUND_INTERVAL" "$d"
		run "$b" "$d"
		started="$started $(tag "$b"):$LP" dirs="$dirs $d"
	done
	sleep 4
	for s in $started; do
		early="$early $(kb "${s#*:}" RssShmem)/$(kb "${s#*:}" VmRSS)"
	done
	sleep $((ROUND_AT - 4))
	set -- $early
	for s in $started; do
		p=${s#*:}
		alive "$p" || { echo "scale-1-memory.sh: liotad (${s%%:*}) exited" >&2; exit 1; }
		shm=$(kb "$p" RssShmem) rss=$(kb "$p" VmRSS)
		printf '%-5s %14s %14s %14s %14s %14s\n' "${s%%:*}" "${1%/*}" "$shm" "${1#*/}" "$rss" \
			"$(awk -v s="$shm" -v n="$ROUND_DEVICES" 'BEGIN { printf "%.1f", s / n }')"
		shift
	done
	for s in $started; do
		stop "${s#*:}"
	done
	unlock
	[ -n "${SCALE_KEEP:-}" ] || for d in $dirs; do rm -rf "$d"; done
}

# startup BUILD DEVICES METRICS: sets RES to "FIRST_MS ALL_MS" (exec -> first sample, -> all
# sampled).
startup()
{
	b=$1 dv=$2 mt=$3
	d=$WORK/$(tag "$b")-start-$dv-$mt-$(date +%s%N)
	mkdir -p "$d/run"
	conf "$dv" "$mt" 1h "$d"
	lock
	run "$b" "$d" "$HELPER" exec "$d/t0"
	i=0
	while :; do
		status "$b" "$d" "$d/s.json"
		if res=$("$PY" -c '
import json, sys
t0 = int(open(sys.argv[1]).read())
d = json.load(open(sys.argv[2]))
ts = [m["last_ts_ns"] for dev in d["devices"] for m in dev["metrics"]]
if None in ts:
    sys.exit(1)
print(f"{(min(ts) - t0) / 1e6:.1f} {(max(ts) - t0) / 1e6:.1f}")' "$d/t0" "$d/s.json"); then
			break
		fi
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "scale-1-memory.sh: metrics not all sampled in 10 s" >&2; exit 1; }
		sleep 0.1
	done
	stop "$LP"
	unlock
	RES=$res
	[ -n "${SCALE_KEEP:-}" ] || rm -rf "$d"
}

say "# Scale, part 1: memory per metric, start-up and reload"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work makes the figures noisy)"
say "command: make bench BENCH=scale (sh $top_srcdir/tests/bench/scale-1-memory.sh)${SCALE_BASE:+, SCALE_BASE=$SCALE_BASE}"
say "sim devices, function constant, one Graphite DCC to a file on tmpfs; RSS after $SETTLE s at interval 1 s"
say ""

for b in $BUILDS; do
	say "## liotad ($(tag "$b"): $b)"
	printf '%-9s %8s %8s %8s %7s %12s %10s %8s %12s %s\n' config "RSS kB" "anon kB" "shmem kB" threads \
		"B/metric" "reload ms" "gaps" "RSS after kB" \
		"(target: <= 1024 B/metric; reload <= 50 ms, 0 gaps; RSS after the reloads)"
	rss_reload "$b" 1 1
	base=$RES
	for shape in 10x1000 1000x1; do
		dv=${shape%x*} mt=${shape#*x}
		rss_reload "$b" "$dv" "$mt"
		set -- $RES
		per=$(awk -v r="$1" -v b="${base%% *}" -v n=$((dv * mt)) 'BEGIN { printf "%.0f", (r - b) * 1024 / (n - 1) }')
		printf '%-9s %8d %8d %8d %7d %12s %10s %8s %12s\n' "$shape" "$1" "$2" "$3" "$4" "$per" "$5" \
			"$6" "$7"
	done
	set -- $base
	printf '%-9s %8d %8d %8d %7d %12s %10s %8s %12s\n' base "$1" "$2" "$3" "$4" - "$5" "$6" "$7"
	say ""
done

say "## ring lanes gone round: $ROUND_DEVICES devices x 1 metric at $ROUND_INTERVAL, every build at once"
say "against $ROUND_DEVICES lanes x one page: $((ROUND_DEVICES * $(getconf PAGESIZE) / 1024)) kB"
printf '%-5s %14s %14s %14s %14s %14s\n' build "shmem kB 4 s" "shmem kB ${ROUND_AT} s" "VmRSS kB 4 s" \
	"VmRSS kB ${ROUND_AT} s" "shmem kB/lane"
lanes_round
say ""

say "## start-up: exec -> first sample / -> every metric sampled once, ms (interval 1 h), medians of $STARTS runs"
say "target: 10,000 metrics <= 150 ms to the first sample"
for shape in 1x1 10x1000 1000x1; do
	dv=${shape%x*} mt=${shape#*x}
	line=$(printf '%-9s' "$shape")
	for b in $BUILDS; do
		eval "F_$(tag "$b")=''; A_$(tag "$b")=''"
	done
	n=0
	while [ $n -lt "$STARTS" ]; do
		for b in $BUILDS; do
			startup "$b" "$dv" "$mt"
			set -- $RES
			eval "F_$(tag "$b")=\"\$F_$(tag "$b") $1\"; A_$(tag "$b")=\"\$A_$(tag "$b") $2\""
		done
		n=$((n + 1))
	done
	for b in $BUILDS; do
		f="" a=""
		eval "f=\$F_$(tag "$b") a=\$A_$(tag "$b")"
		line="$line  $(tag "$b"): first $(echo "$f" | median) ms, all $(echo "$a" | median) ms ($f /$a)"
	done
	say "$line"
done
say ""

# ---- collectd -------------------------------------------------------------------
if ! command -v collectd >/dev/null 2>&1 || [ ! -f /usr/lib/collectd/table.so ]; then
	say "## collectd: not installed (apt-get install collectd-core): skipped"
	exit 0
fi
. "$top_srcdir/tests/bench/sink.sh"
say "## collectd $(collectd -h 2>&1 | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1): table plugin, N values of a tmpfs file every 1 s, write_graphite to a loopback sink; RSS after $SETTLE s"
say "(collectd has no devices nor per-metric schedules: N values of one table read is the closest it can express)"
cbase=0
for n in 1 1000 10000; do
	d=$WORK/collectd-$n
	collectd_table_conf "$d" "$n"
	lock
	SINK_DURATION=$((SETTLE + 20)) sink_start "$d"
	cat >>"$d/collectd.conf" <<EOF
LoadPlugin write_graphite
EOF
	sink_collectd_node "$SINK_PORT" >>"$d/collectd.conf"
	collectd -f -C "$d/collectd.conf" >"$d/collectd.log" 2>&1 9>&- &
	cp=$!
	PIDS="$PIDS $cp"
	sleep "$SETTLE"
	alive "$cp" || { echo "scale-1-memory.sh: collectd exited: $(tail -n 5 "$d/collectd.log")" >&2; exit 1; }
	rss=$(kb "$cp" VmRSS)
	set -- $(sink_snap "$d")
	stop "$cp"
	stop "$SINK_PID"
	unlock
	[ "$n" = 1 ] && cbase=$rss
	per=-
	[ "$n" = 1 ] || per=$(awk -v r="$rss" -v b="$cbase" -v n="$n" 'BEGIN { printf "%.0f", (r - b) * 1024 / (n - 1) }')
	say "collectd N=$n: RSS $rss kB, $per B/value beyond N=1; $2 lines delivered"
done
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
