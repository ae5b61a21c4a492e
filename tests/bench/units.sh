#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=units: issue 16, units with udunits2 (docs/benchmarks.md,
# section 10). units_bench: the cost per sample of no conversion, liotad's
# affine converter and udunits2's cv_convert_double, and of loading the unit
# system. Then `liotad -t` (the whole configuration load, packages included)
# on a configuration without a unit and on the same with two units and a
# publish_unit: wall time and maximum RSS from /usr/bin/time -v, medians of
# UNITS_RUNS (7) runs.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
BIN=$top_builddir/tests/bench/units_bench
RUNS=${UNITS_RUNS:-7}
[ -x "$BIN" ] || { echo "units.sh: $BIN is not built (make bench builds it)"; exit 1; }
[ -x /usr/bin/time ] || { echo "units.sh: /usr/bin/time is missing (Debian package time)"; exit 1; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "\$ tests/bench/units_bench"
"$BIN" || exit 1

DIR=$(mktemp -d "${TMPDIR:-/tmp}/liotad-units-bench.XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
cat >"$DIR/none.conf" <<EOT
[device "dev"]
type = sim
[metric "dev.a"]
interval = 1s
[metric "dev.b"]
interval = 1s
EOT
cat >"$DIR/units.conf" <<EOT
[device "dev"]
type = sim
[metric "dev.a"]
interval = 1s
unit = degC
publish_unit = degF
[metric "dev.b"]
interval = 1s
unit = kPa
EOT
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for c in none units; do
	: >"$DIR/$c.ms"
	: >"$DIR/$c.kb"
	: >"$DIR/$c.rss"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(date +%s%N)
		/usr/bin/time -v "$top_builddir/liotad" -t -c "$DIR/$c.conf" >/dev/null 2>"$DIR/out" ||
			{ cat "$DIR/out"; exit 1; }
		echo "$t0 $(date +%s%N)" | awk '{ printf "%.1f\n", ($2 - $1) / 1e6 }' >>"$DIR/$c.ms"
		awk -F': ' '/Maximum resident set size/ { print $2 }' "$DIR/out" >>"$DIR/$c.kb"
		i=$((i + 1))
	done
	# The running daemon's resident set once the configuration is loaded.
	"$top_builddir/liotad" -c "$DIR/$c.conf" -r "$DIR/run" 2>"$DIR/daemon.err" &
	pid=$!
	sleep 1.5
	awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >"$DIR/$c.rss"
	kill -TERM "$pid"
	wait "$pid"
	echo "liotad -t, $c: median $(median <"$DIR/$c.ms") ms wall (date around it), maximum RSS median $(median <"$DIR/$c.kb") kB ($RUNS runs; /usr/bin/time -v liotad -t -c $c.conf); running liotad -c $c.conf: VmRSS $(cat "$DIR/$c.rss") kB after 1.5 s"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
