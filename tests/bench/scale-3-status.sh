#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=scale, part 3 (issue 17, docs/benchmarks.md section 12):
# `liotactl status` and `status --json` for 10,000 metrics. Target: an
# answer within 100 ms, no lasting growth of the daemon's memory.
#
# A daemon with 10 sim devices x 1,000 metrics (constant, every 1 s), one
# Graphite DCC to a file. After SCALE_STATUS_WARM s: SCALE_STATUS_REQS (20)
# times each, in turn, `liotactl status`, `liotactl status --json` (wall time
# of the command, parsing and printing included) and a raw client
# (status_reply.py: connect to last byte, the daemon's own answer time);
# median and max of each. The daemon's VmRSS and Private_Dirty
# (/proc/PID/smaps_rollup: heap, stacks; the ring's shared segment is not in
# it) before the replies, after them, and after a further SCALE_STATUS_SETTLE
# (60) s: what the replies left behind.
#
# Side by side in the same run: with SCALE_STATUS_BASE set to the build
# folder of another commit (e.g. main; its liotad, liotactl and pkg/), both
# daemons run at once and the requests alternate between them. So does
# collectd 5.12 when installed (/usr/sbin/collectd, its table and unixsock
# plugins): the nearest it has is LISTVAL on its unixsock socket, the
# identifier and time of each of 10,000 gauges a table plugin reads every
# 1 s (no writer: LISTVAL reads collectd's value cache, which writers do not
# touch), timed like the raw client.
# Holds /tmp/liotad-bench.lock while measuring (daemon.sh does too).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
REQS=${SCALE_STATUS_REQS:-20}
WARM=${SCALE_STATUS_WARM:-5}
SETTLE=${SCALE_STATUS_SETTLE:-60}
BASE=${SCALE_STATUS_BASE:-}
NDEV=10
NMET=1000
CLIENT=$top_srcdir/tests/bench/status_reply.py

for b in "$top_builddir/liotad" "$top_builddir/liotactl" ${BASE:+"$BASE/liotad" "$BASE/liotactl"}; do
	[ -x "$b" ] || { echo "scale-3-status.sh: $b is missing"; exit 1; }
done
"$top_builddir/config.status" --config 2>/dev/null | grep -q -- --enable-sanitizers &&
	echo "scale-3-status.sh: warning: $top_builddir is built with sanitizers: times and memory are not the product's"

NAME=scale-3-status
. "$top_srcdir/tests/bench/scale_lib.sh"

now_ns() { date +%s%N; }
dirty_kb() { awk '/^Private_Dirty:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# stats FILE: "MEDIAN MAX" of the numbers in FILE, one a line.
stats()
{
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", m, v[NR] }'
}

# start NAME BUILDDIR: a daemon of that build, its pid in PID_NAME.
start()
{
	mkdir -p "$WORK/$1"
	awk -v D=$NDEV -v M=$NMET -v W="$WORK/$1" 'BEGIN {
		printf "[daemon]\nlog_level = warning\nstate_dir = %s/state\n\n", W
		printf "[dcc \"lines\"]\ntype = graphite\ntransport = file\npath = %s/lines.txt\n\n", W
		for (d = 0; d < D; d++) {
			printf "[device \"d%d\"]\ntype = sim\n\n", d
			for (m = 0; m < M; m++)
				printf "[metric \"d%d.m%d\"]\ninterval = 1s\nfunction = constant\nvalue = %d\n\n", d, m, m
		}
	}' >"$WORK/$1/liotad.conf"
	LIOTAD_PACKAGE_DIR=$2/pkg "$2/liotad" -c "$WORK/$1/liotad.conf" -r "$WORK/$1/run" \
		2>"$WORK/$1/liotad.err" </dev/null &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
}

CD=/usr/sbin/collectd
CD_PLUGINS=/usr/lib/collectd
# start_collectd: collectd with the same number of gauges, its pid in PID_cd.
start_collectd()
{
	collectd_table_conf "$WORK/cd" $((NDEV * NMET))
	cat >>"$WORK/cd/collectd.conf" <<EOF
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$WORK/cd/sock"
  SocketPerms "0600"
</Plugin>
EOF
	"$CD" -f -C "$WORK/cd/collectd.conf" >"$WORK/cd/out" 2>&1 </dev/null &
	PID_cd=$!
	PIDS="$PIDS $!"
}

# collectd_answers: wait (bounded, 30 s) until LISTVAL lists every gauge.
collectd_answers()
{
	i=0
	while [ $i -lt 300 ]; do
		n=$(python3 "$CLIENT" --listval "$WORK/cd/sock" 2>/dev/null | cut -d' ' -f2)
		[ "${n:-0}" -gt $((NDEV * NMET * 30)) ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "scale-3-status.sh: collectd does not list its values: $(tail -n 3 "$WORK/cd/out")"
	exit 1
}

# answers NAME BUILDDIR: wait (bounded, 30 s) until it answers (`list`: no status before
# the first memory reading).
answers()
{
	i=0
	while [ $i -lt 300 ]; do
		[ -S "$WORK/$1/run/liotad.sock" ] &&
			"$2/liotactl" -r "$WORK/$1/run" list >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "scale-3-status.sh: the $1 daemon does not answer: $(tail -n 3 "$WORK/$1/liotad.err")"
	exit 1
}

# once NAME BUILDDIR: one request of each kind, times appended to NAME.{text,json,raw}.
once()
{
	for kind in text json; do
		[ $kind = json ] && arg=--json || arg=
		t0=$(now_ns)
		"$2/liotactl" -r "$WORK/$1/run" status $arg >"$WORK/$1/out" 2>"$WORK/$1/ctl.err" ||
			{ echo "scale-3-status.sh: $1: liotactl status $arg: $(cat "$WORK/$1/ctl.err")"; exit 1; }
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000)) | awk '{ printf "%.3f\n", $1 / 1e3 }' >>"$WORK/$1.$kind"
	done
	r=$(python3 "$CLIENT" "$WORK/$1/run/liotad.sock") || { echo "scale-3-status.sh: $1: $r"; exit 1; }
	echo "${r% *}" >>"$WORK/$1.raw"
	echo "${r#* }" >"$WORK/$1.bytes"
}

# mem NAME WHEN: its VmRSS and Private_Dirty now, as NAME.WHEN.
mem() { eval "pid=\$PID_$1"; echo "$(kb "$pid" VmRSS) $(dirty_kb "$pid")" >"$WORK/$1.$2"; }

NAMES=new
[ -n "$BASE" ] && NAMES="new base"
CDV=
if [ "${SCALE_STATUS_COLLECTD:-1}" = 1 ] && [ -x "$CD" ] && [ -f "$CD_PLUGINS/table.so" ] &&
	[ -f "$CD_PLUGINS/unixsock.so" ]; then
	CDV=$("$CD" -h 2>/dev/null | sed -n 's/^collectd \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)
	NAMES="$NAMES cd"
else
	echo "collectd: not compared (needs $CD with its table and unixsock plugins: Debian package collectd-core)"
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "configuration: $NDEV sim devices x $NMET metrics every 1 s, one Graphite DCC to a file"
echo "this branch: $top_builddir${BASE:+; comparison: $BASE}"
[ -n "$BASE" ] ||
	echo "comparison: none (SCALE_STATUS_BASE=the build folder of another commit, e.g. main's)"
lock
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start new "$top_builddir"
[ -n "$BASE" ] && start base "$BASE"
[ -n "$CDV" ] && start_collectd
answers new "$top_builddir"
[ -n "$BASE" ] && answers base "$BASE"
[ -n "$CDV" ] && collectd_answers
sleep "$WARM"
for n in $NAMES; do mem $n before; done
i=0
while [ $i -lt "$REQS" ]; do
	once new "$top_builddir"
	[ -n "$BASE" ] && once base "$BASE"
	if [ -n "$CDV" ]; then
		r=$(python3 "$CLIENT" --listval "$WORK/cd/sock") ||
			{ echo "scale-3-status.sh: collectd: $r"; exit 1; }
		echo "${r% *}" >>"$WORK/cd.raw"
		echo "${r#* }" >"$WORK/cd.bytes"
	fi
	i=$((i + 1))
done
for n in $NAMES; do mem $n after; done
echo "load average after the replies: $(cut -d' ' -f1-3 /proc/loadavg)"
sleep "$SETTLE"
for n in $NAMES; do mem $n settled; done
unlock

# row LABEL TARGET NEW BASE: one line of the table (ratio new / base when both are numbers).
row()
{
	awk -v l="$1" -v t="$2" -v n="$3" -v b="$4" 'BEGIN {
		split(n, nn, " / "); split(b, bb, " / ")
		r = (b != "-" && bb[1] + 0 > 0) ? sprintf("%.2f", nn[1] / bb[1]) : "-"
		printf "%-44s %-18s %-16s %-16s %s\n", l, t, n, b, r }'
}
pair() { s=$(stats "$1"); echo "${s% *} / ${s#* }"; }
field() { awk -v f="$2" '{ print $f }' "$1"; }
grow() { echo $(($(field "$WORK/$1.$2" "$3") - $(field "$WORK/$1.before" "$3"))); }
b() { if [ -n "$BASE" ]; then "$@"; else echo -; fi; }

echo
echo "$REQS requests of each kind, alternating between the daemons; times in ms (median / max)"
printf "%-44s %-18s %-16s %-16s %s\n" figure target "this branch" comparison ratio
row "liotactl status (wall)" "<= 100 ms" "$(pair "$WORK/new.text")" "$(b pair "$WORK/base.text")"
row "liotactl status --json (wall)" "<= 100 ms" "$(pair "$WORK/new.json")" "$(b pair "$WORK/base.json")"
row "raw reply, connect to last byte" "<= 100 ms" "$(pair "$WORK/new.raw")" "$(b pair "$WORK/base.raw")"
row "reply size (bytes)" "-" "$(cat "$WORK/new.bytes")" "$(b cat "$WORK/base.bytes")"
row "VmRSS before the replies (KB)" "-" "$(field "$WORK/new.before" 1)" "$(b field "$WORK/base.before" 1)"
row "Private_Dirty before the replies (KB)" "-" "$(field "$WORK/new.before" 2)" "$(b field "$WORK/base.before" 2)"
row "VmRSS growth after the replies (KB)" "no lasting growth" "$(grow new after 1)" "$(b grow base after 1)"
row "Private_Dirty growth after the replies (KB)" "no lasting growth" "$(grow new after 2)" "$(b grow base after 2)"
row "VmRSS growth $SETTLE s later (KB)" "no lasting growth" "$(grow new settled 1)" "$(b grow base settled 1)"
row "Private_Dirty growth $SETTLE s later (KB)" "no lasting growth" "$(grow new settled 2)" "$(b grow base settled 2)"
if [ -n "$CDV" ]; then
	echo
	echo "collectd $CDV, the same $((NDEV * NMET)) gauges every 1 s: LISTVAL on its unixsock socket"
	row "raw LISTVAL, connect to last line" "-" "$(pair "$WORK/cd.raw")" "-"
	row "LISTVAL size (bytes)" "-" "$(cat "$WORK/cd.bytes")" "-"
	row "VmRSS before the replies (KB)" "-" "$(field "$WORK/cd.before" 1)" "-"
	row "Private_Dirty before the replies (KB)" "-" "$(field "$WORK/cd.before" 2)" "-"
	row "VmRSS growth after / $SETTLE s later (KB)" "-" \
		"$(grow cd after 1) / $(grow cd settled 1)" "-"
	row "Private_Dirty growth after / later (KB)" "-" \
		"$(grow cd after 2) / $(grow cd settled 2)" "-"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
