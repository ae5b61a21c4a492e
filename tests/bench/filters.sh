#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=filters: issue 16, a metric's filters (docs/benchmarks.md,
# section 11). filter_bench: ns per sample of no filter, a range that passes
# and one that drops every sample, an absolute and a percentage deadband,
# min_gap and a window; filter_apply() alone and through sampler_tick(),
# alternating, medians of 7 runs.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
BIN=$top_builddir/tests/bench/filter_bench
[ -x "$BIN" ] || { echo "filters.sh: $BIN is not built (make bench builds it)"; exit 1; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "\$ tests/bench/filter_bench"
"$BIN" || exit 1
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
