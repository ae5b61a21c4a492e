#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=spool: issue 13, the durable spool's store. liotad's
# segment log (src/core/spool.c) against SQLite in WAL mode, written as the
# Graphite DCC writes (batches of 100 carbon lines, 1M samples/s offered,
# durable every second) and replayed oldest first; 5 runs of 5 s per store,
# medians. The folder is in the build tree (the disk the state folder is on
# in a default build); SPOOL_BENCH_DIR moves it, SPOOL_BENCH_ARGS adds
# options for a quick look (e.g. "-n 1 -t 2"; see spool_bench -h).
# Then the whole daemon with its spool (tests/bench/daemon.sh in
# DAEMON_BENCH_MODE=spool): the healthy path's cost of spool = yes, the
# write path with the peer down and the replay when it is back, at 1M
# samples/s offered; SPOOL_ROUNDS and SPOOL_IO_RUNS set how many runs (5, 3),
# SPOOL_RATE the offered rate, SPOOL_STORE=no skips the store benchmark.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
BIN=$top_builddir/tests/bench/spool_bench
LOCK=/tmp/liotad-bench.lock
DIR=${SPOOL_BENCH_DIR:-$top_builddir/spool-bench.tmp}
ARGS="-n 5 -t 5 -r 1000000 -b 100 ${SPOOL_BENCH_ARGS:-}"

if [ ! -x "$BIN" ]; then
	echo "spool.sh: $BIN is not built (make bench builds it)"
	exit 1
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
	"Linux $(uname -r); folder $DIR on $(df -T "$(dirname "$DIR")" | awk 'NR==2 {print $2}')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
LOCKED=
command -v flock >/dev/null 2>&1 && LOCKED="flock $LOCK"
status=0
STORES="log sqlite sqlite-tick"
[ "${SPOOL_STORE:-yes}" = no ] && STORES=""
for store in $STORES; do
	echo "\$ spool_bench -s $store -d $DIR $ARGS"
	# shellcheck disable=SC2086
	$LOCKED "$BIN" -s "$store" -d "$DIR" $ARGS || status=1
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo ""
DAEMON_BENCH_MODE=spool sh "$top_srcdir/tests/bench/daemon.sh" || status=1
exit $status
