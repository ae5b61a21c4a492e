# SPDX-License-Identifier: BSD-2-Clause
#
# What the daemon benchmarks (daemon.sh, modbus.sh, and scale-*.sh through
# scale_lib.sh) share, sourced after they set NAME (for messages) and PIDS
# (the processes they start, stopped at exit):
#   say TEXT, alive PID
#   stop PID          SIGTERM, up to 10 s, then SIGKILL; PID leaves PIDS
#   bench_kill        every process of PIDS: SIGTERM, 0.2 s, SIGKILL (at exit)
#   bench_lock_fd     open the machine's bench lock (/tmp/liotad-bench.lock)
#                     as fd 9, for lock and unlock; what a benchmark starts
#                     must not inherit it (9>&-): nothing may outlive a run
#                     holding it
#   lock, unlock      take and leave it; lock waits at most 300 s
: "${NAME:?}"
LOCK=/tmp/liotad-bench.lock

say() { printf '%s\n' "$*"; }
alive() { kill -0 "$1" 2>/dev/null; }

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

bench_kill()
{
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || :
	done
	sleep 0.2
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null || :
	done
}

bench_lock_fd()
{
	if (: >>"$LOCK") 2>/dev/null; then
		exec 9>>"$LOCK"
	else
		exec 9>/dev/null
	fi
}
lock()
{
	flock -w 300 9 2>/dev/null ||
		echo "$NAME: the bench lock is still held after 300 s: measuring anyway (figures noisier)"
}
unlock() { flock -u 9 2>/dev/null || :; }
