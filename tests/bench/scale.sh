#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench BENCH=scale: issue 17, a gateway with 10,000 metrics and 1,000
# devices (docs/benchmarks.md, section 12). Runs each part, tests/bench/scale-*.sh,
# in name order; each prints its figures beside the issue's target.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
status=0
for part in "$top_srcdir"/tests/bench/scale-*.sh; do
	[ -f "$part" ] || continue
	echo "---- $(basename "$part" .sh)"
	sh "$part" || status=1
done
exit "$status"
