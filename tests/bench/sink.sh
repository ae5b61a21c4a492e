# SPDX-License-Identifier: BSD-2-Clause
#
# The line sink of the daemon benchmarks (tests/bench/line_sink), sourced by
# daemon.sh, modbus.sh and scale-*.sh. Needs SINK (the program) and PIDS (processes the
# caller stops at exit); SINK_DURATION bounds the sink's life (default 120 s).

# sink_start DIR [ARGS]: start a sink writing DIR/sink.out; sets SINK_PID, SINK_PORT.
sink_start()
{
	d=$1
	shift
	"$SINK" --duration "${SINK_DURATION:-120}" --out "$d/sink.out" "$@" 2>"$d/sink.err" &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	i=0
	while ! grep -q '^port ' "$d/sink.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 250 ] || { echo "$0: the sink did not start" >&2; exit 1; }
		sleep 0.02
	done
	SINK_PORT=$(awk '/^port /{ print $2; exit }' "$d/sink.out")
}

# sink_snap DIR: ask the sink for its totals; prints "MONO_NS LINES BAD".
sink_snap()
{
	n0=$(grep -c '^snap ' "$1/sink.out" || :)
	kill -USR1 "$SINK_PID"
	i=0
	while [ "$(grep -c '^snap ' "$1/sink.out" || :)" -le "$n0" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "$0: the sink does not answer" >&2; exit 1; }
		sleep 0.01
	done
	grep '^snap ' "$1/sink.out" | tail -n 1 | awk '{ print $2, $3, $4 }'
}

# sink_collectd_node PORT: collectd's write_graphite block sending to the sink
# on PORT over TCP, its metrics prefixed "cd." (appended to a collectd.conf).
sink_collectd_node()
{
	cat <<EOF
<Plugin write_graphite>
  <Node "sink">
    Host "127.0.0.1"
    Port "$1"
    Protocol "tcp"
    Prefix "cd."
  </Node>
</Plugin>
EOF
}
