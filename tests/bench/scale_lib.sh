# SPDX-License-Identifier: BSD-2-Clause
#
# What the parts of make bench BENCH=scale (tests/bench/scale-*.sh) share,
# sourced after they set NAME (for messages) and, optionally, WORK_IN (the
# folder to make the work folder in):
#   WORK, PIDS     the work folder (removed at exit unless SCALE_KEEP=1) and
#                  the processes started, stopped at exit (SIGTERM, 0.2 s,
#                  SIGKILL)
#   lock, unlock   the machine's bench lock (/tmp/liotad-bench.lock, fd 9,
#                  which the parts close in what they start: nothing may
#                  outlive a run holding it); lock waits at most 300 s
#   stop PID       SIGTERM, up to 10 s, then SIGKILL
#   say, alive PID, kb PID FIELD (a /proc/PID/status figure in kB), median
#   collectd_table_conf DIR N
#                  DIR/table with N values and DIR/collectd.conf reading it
#                  every second with the table plugin; the caller appends
#                  its output plugin
: "${NAME:?}"
LOCK=/tmp/liotad-bench.lock
WORK=$(mktemp -d "${WORK_IN:-${TMPDIR:-/tmp}}/liotad-$NAME.XXXXXX") || exit 1
PIDS=""

scale_cleanup()
{
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || :
	done
	sleep 0.2
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null || :
	done
	if [ -n "${SCALE_KEEP:-}" ]; then
		echo "$NAME: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap scale_cleanup EXIT
trap 'exit 130' INT TERM

if (: >>"$LOCK") 2>/dev/null; then
	exec 9>>"$LOCK"
else
	exec 9>/dev/null
fi
lock()
{
	flock -w 300 9 2>/dev/null ||
		echo "$NAME: the bench lock is still held after 300 s: measuring anyway (figures noisier)"
}
unlock() { flock -u 9 2>/dev/null || :; }

say() { printf '%s\n' "$*"; }
alive() { kill -0 "$1" 2>/dev/null; }
kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

stop()
{
	PIDS=$(echo " $PIDS " | sed "s/ $1 / /")
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while alive "$1" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}

collectd_table_conf()
{
	mkdir -p "$1" || return 1
	awk -v N="$2" 'BEGIN { for (i = 0; i < N; i++) printf "m%d %d\n", i, i }' >"$1/table"
	cat >"$1/collectd.conf" <<EOF
Hostname "bench"
FQDNLookup false
BaseDir "$1"
PIDFile "$1/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval 1
AutoLoadPlugin false
LoadPlugin table
<Plugin table>
  <Table "$1/table">
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
}
