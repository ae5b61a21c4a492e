#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=ring: issue 3, section 1. liotad's ring against
# Concurrency Kit's ck_ring, DPDK's rte_ring, liburcu's wfcqueue and a
# mutex + condition variable queue: 10 million 32-byte records per run,
# batches of 1 and 32, 1, 2 and 4 producers and one consumer, 5 runs per
# configuration (medians), every record checked to arrive exactly once;
# then liotad's wake-up latency and its idle cost. Pinned runs first, then
# unpinned, each in its own ring_bench process holding
# /tmp/liotad-bench.lock (shared with the other benchmarks) for about two
# minutes, so the two never overlap another benchmark.
#
# RING_BENCH_ARGS adds options for a quick look, e.g. "--items 1000000
# --runs 1" (the recorded figures use the defaults; see ring_bench --help).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
BIN=$top_builddir/tests/bench/ring_bench
LOCK=/tmp/liotad-bench.lock
ARGS="--items 10000000 --runs 5 ${RING_BENCH_ARGS:-}"

if [ ! -x "$BIN" ]; then
	echo "ring.sh: $BIN is not built (make bench builds it)"
	exit 1
fi

echo "machine: $(nproc) CPUs online ($(getconf _NPROCESSORS_CONF) configured)," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
	"Linux $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v flock >/dev/null 2>&1; then
	LOCKED="flock $LOCK"
else
	echo "WARNING: flock (util-linux) is missing: runs are not serialised with the other benchmarks"
	LOCKED=
fi
cat <<'EOF'
Pinned means: the consumer on the first usable CPU, producer i on CPU
(1 + i) mod N. On 2 CPUs, 1 producer has a CPU of its own; 2 producers are
one per CPU, the second sharing the consumer's; 4 producers are two per
CPU, so threads preempt one another even pinned (the case where ck_ring's
and classic rte_ring's commit spins stall). Unpinned: the kernel places and
migrates every thread. In the tables, "liotad x" is liotad's rate over
the queue's, run by run in the same round, median over the rounds (> 1:
liotad faster), over the clean rounds (* when fewer than two were clean);
runs are listed in order with s = stalled, d = disturbed by other
processes, h = slowed-down host, ! = invalid.
EOF

status=0
for pin in pinned unpinned; do
	# The idle test does not depend on pinning: once is enough.
	extra=
	[ "$pin" = pinned ] && extra="--idle 0"
	echo
	echo "command: $LOCKED $BIN $ARGS --pin $pin $extra"
	t0=$(date +%s)
	# shellcheck disable=SC2086 # word splitting of the option lists is wanted
	$LOCKED "$BIN" $ARGS --pin "$pin" $extra || status=1
	echo "($pin: $(($(date +%s) - t0)) s, waiting for the lock included)"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
