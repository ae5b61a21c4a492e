# SPDX-License-Identifier: BSD-2-Clause
#
# What the parts of make bench BENCH=scale (tests/bench/scale-*.sh) share,
# sourced after they set NAME (for messages) and, optionally, WORK_IN (the
# folder to make the work folder in):
#   WORK, PIDS     the work folder (removed at exit unless SCALE_KEEP=1) and
#                  the processes started, stopped at exit (SIGTERM, 0.2 s,
#                  SIGKILL)
#   lock, unlock, stop PID, say, alive PID: bench_lib.sh's (the bench lock
#                  opened as fd 9)
#   kb PID FIELD (a /proc/PID/status figure in kB), median
#   collectd_table_conf DIR N
#                  DIR/table with N values and DIR/collectd.conf reading it
#                  every second with the table plugin; the caller appends
#                  its output plugin
: "${NAME:?}"
WORK=$(mktemp -d "${WORK_IN:-${TMPDIR:-/tmp}}/liotad-$NAME.XXXXXX") || exit 1
PIDS=""
. "$top_srcdir/tests/bench/bench_lib.sh"

scale_cleanup()
{
	bench_kill
	if [ -n "${SCALE_KEEP:-}" ]; then
		echo "$NAME: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap scale_cleanup EXIT
trap 'exit 130' INT TERM
bench_lock_fd

kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

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
