# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=sh disable=SC3043
#
# Shared helpers of the guest tests (tests/vm/guest/*.test), sourced by
# busybox sh inside the qemu guest: POSIX sh (plus `local`, which busybox
# ash and dash have), busybox applets only.
#
# A test calls vm_init NAME first: it gets a private folder $VM_TMP, and an
# EXIT trap that runs the clean-ups registered with vm_on_exit (gpio-sim
# chips, CAN links), stops the processes it started, and prints the files
# named with vm_show and the end of the kernel log when the test fails.
# Every wait is bounded in time; commands that may hang run under timeout.
# The guest's init also ends a test at its "# vm-timeout: N" line.
#
# Exit statuses (Automake's): 0 pass, 1 fail, 77 skip ("SKIP: reason" first).

# Written by tests/vm/run: VM_KVER (the kernel the host meant to boot),
# VM_VERBOSE (1: print the vm_show files even when the test passes).
# shellcheck disable=SC2034 # for the tests
VM_KVER=
VM_VERBOSE=0
# shellcheck disable=SC1091 # written by tests/vm/run into the image
[ -f /etc/liotad-vm.env ] && . /etc/liotad-vm.env

VM_NAME="test"
VM_TMP=
VM_PIDS=         # processes started by the test, stopped at exit
VM_CLEANUPS=     # commands run at exit, newest first, one a line
VM_SHOW=         # files printed when the test fails
VM_ERRORS=0
VM_START_CS=$(sed 's/ .*//; s/\.//' /proc/uptime)

# ---- messages and verdicts -----------------------------------------------------
vm_elapsed()
{
	local now
	now=$(sed 's/ .*//; s/\.//' /proc/uptime)
	printf '%d.%02d' $(((now - VM_START_CS) / 100)) $(((now - VM_START_CS) % 100))
}
vm_say() { printf '%s [%6ss] %s\n' "$VM_NAME" "$(vm_elapsed)" "$*"; }
vm_fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
vm_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
# vm_error MESSAGE: a failure that lets the test go on (vm_pass then fails).
vm_error() { printf 'FAIL: %s\n' "$*"; VM_ERRORS=$((VM_ERRORS + 1)); }
vm_pass()
{
	[ "$VM_ERRORS" -eq 0 ] || vm_fail "$VM_ERRORS check(s) failed (see the FAIL lines above)"
	printf 'PASS: %s (%ss)\n' "$VM_NAME" "$(vm_elapsed)"
	exit 0
}

# vm_check DESCRIPTION COMMAND...: run COMMAND; fail the test with
# DESCRIPTION if it fails.
vm_check()
{
	local what="$1"
	shift
	if "$@"; then
		vm_say "ok: $what"
	else
		vm_fail "$what"
	fi
}

# vm_show FILE...: files worth reading when the test fails.
vm_show() { VM_SHOW="$VM_SHOW $*"; }

# vm_on_exit COMMAND: run COMMAND (eval'd) when the test exits, before the
# ones registered earlier.
vm_on_exit()
{
	VM_CLEANUPS="$1
$VM_CLEANUPS"
}

# ---- set-up and tear-down --------------------------------------------------------
vm_cleanup()
{
	local rc=$? c pid i alive f
	trap - EXIT INT TERM HUP
	set +e
	for pid in $VM_PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	# Bounded: 3 s for them to go, then SIGKILL.
	i=0
	while [ "$i" -lt 30 ]; do
		alive=0
		for pid in $VM_PIDS; do
			vm_alive "$pid" && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	for pid in $VM_PIDS; do
		if vm_alive "$pid"; then
			echo "$VM_NAME: process $pid still running: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	while IFS= read -r c; do
		[ -n "$c" ] && eval "$c"
	done <<EOF
$VM_CLEANUPS
EOF
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } || [ "$VM_VERBOSE" = 1 ]; then
		for f in $VM_SHOW; do
			[ -s "$f" ] || continue
			echo "---- last lines of $f ----"
			tail -n 40 "$f"
		done
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "---- the kernel's messages since the test started ----"
		vm_dmesg_since "$VM_DMESG_LINES" | tail -n 30
	fi
	[ -n "$VM_TMP" ] && rm -rf "$VM_TMP"
	exit "$rc"
}

# vm_dmesg_since N: the kernel's messages after its first N lines (the
# boot's own are of no interest to a test; the kernel's time stamps do not
# follow /proc/uptime under TCG, so lines are counted instead).
vm_dmesg_since() { dmesg | tail -n +"$(($1 + 1))"; }
VM_DMESG_LINES=$(dmesg | wc -l)

# vm_init NAME: private folder and traps.
vm_init()
{
	VM_NAME=$1
	trap vm_cleanup EXIT
	trap 'echo "$VM_NAME: interrupted"; exit 1' INT HUP
	trap 'echo "FAIL: $VM_NAME: stopped by the time limit or a signal after $(vm_elapsed) s"; exit 1' TERM
	VM_TMP=$(mktemp -d "/tmp/$VM_NAME.XXXXXX") || vm_fail "mktemp -d"
	vm_say "kernel $(uname -r), temp folder $VM_TMP"
}

# vm_alive PID: the process runs (a zombie waiting for us does not count).
vm_alive()
{
	[ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/^[^)]*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) in
	Z | X | '') return 1 ;;
	esac
	return 0
}

# vm_wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it
# succeeds (0) or SECONDS (a whole number) pass (1). COMMAND must be bounded.
vm_wait_until()
{
	local t="$1" end i=0
	shift
	end=$(($(sed 's/ .*//; s/\.//' /proc/uptime) + t * 100))
	# Bounded twice: by the clock and by the count (a stuck clock cannot hang it).
	while [ "$i" -le $((t * 10)) ]; do
		"$@" && return 0
		[ "$(sed 's/ .*//; s/\.//' /proc/uptime)" -lt "$end" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# vm_spawn LOGBASE COMMAND...: COMMAND in the background, output in
# $VM_TMP/LOGBASE.out and .err; its pid in VM_PID (stopped at exit).
vm_spawn()
{
	local base="$1"
	shift
	"$@" >"$VM_TMP/$base.out" 2>"$VM_TMP/$base.err" </dev/null &
	VM_PID=$!
	VM_PIDS="$VM_PIDS $VM_PID"
	vm_show "$VM_TMP/$base.err" "$VM_TMP/$base.out"
}

vm_forget_pid()
{
	local p keep=
	for p in $VM_PIDS; do
		[ "$p" = "$1" ] || keep="$keep $p"
	done
	VM_PIDS=$keep
}

# vm_wait_exit PID SECONDS: wait (bounded) for a child started by vm_spawn;
# its status in VM_RC (124, after SIGKILL, when it did not exit in time).
vm_wait_exit()
{
	local pid="$1"
	if ! vm_wait_until "$2" eval "! vm_alive $pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		vm_forget_pid "$pid"
		VM_RC=124
		return 1
	fi
	wait "$pid"
	VM_RC=$?
	vm_forget_pid "$pid"
	return 0
}

# ---- kernel modules ------------------------------------------------------------------
# vm_modprobe MODULE...: load them (and what they need); fail the test
# naming the module and the kernel's last words otherwise.
vm_modprobe()
{
	local m
	for m in "$@"; do
		timeout 30 modprobe "$m" 2>"$VM_TMP/modprobe.err" ||
			vm_fail "modprobe $m failed: $(cat "$VM_TMP/modprobe.err")"
	done
}

# vm_configfs: configfs mounted on /sys/kernel/config (the guest's init
# mounts it; this makes sure).
vm_configfs()
{
	grep -q ' /sys/kernel/config configfs ' /proc/mounts && return 0
	vm_modprobe configfs
	mount -t configfs configfs /sys/kernel/config || vm_fail "cannot mount configfs on /sys/kernel/config"
}

# ---- gpio-sim --------------------------------------------------------------------------
# vm_gpiosim_chip CHIP NAME...: a live gpio-sim chip, one bank whose lines
# are named NAME... (line 0 first), removed at exit. Sets VM_SIM_DEV (its
# platform device, gpio-sim.N) and VM_SIM_CHIP (gpiochipM, /dev/gpiochipM).
vm_gpiosim_chip()
{
	local chip="$1" d i n
	shift
	vm_modprobe gpio-sim
	vm_configfs
	d=/sys/kernel/config/gpio-sim/$chip
	mkdir "$d" || vm_fail "cannot make gpio-sim chip $d"
	vm_on_exit "vm_gpiosim_remove $chip"
	mkdir "$d/bank0" || vm_fail "cannot make $d/bank0"
	echo "$#" >"$d/bank0/num_lines" || vm_fail "cannot set $d/bank0/num_lines to $#"
	i=0
	for n in "$@"; do
		mkdir "$d/bank0/line$i" || vm_fail "cannot make $d/bank0/line$i"
		echo "$n" >"$d/bank0/line$i/name" || vm_fail "cannot name line $i of $chip '$n'"
		i=$((i + 1))
	done
	echo 1 >"$d/live" || vm_fail "gpio-sim chip $chip does not go live"
	VM_SIM_DEV=$(cat "$d/dev_name")
	VM_SIM_CHIP=$(cat "$d/bank0/chip_name")
	if [ -z "$VM_SIM_DEV" ] || [ -z "$VM_SIM_CHIP" ]; then
		vm_fail "gpio-sim chip $chip is live but names no device ('$VM_SIM_DEV') or chip ('$VM_SIM_CHIP')"
	fi
	# No udevd here: devtmpfs makes the node, maybe a little later.
	vm_wait_until 5 test -c "/dev/$VM_SIM_CHIP" || vm_fail "/dev/$VM_SIM_CHIP did not appear within 5 s"
	vm_say "gpio-sim chip $chip: $VM_SIM_DEV, /dev/$VM_SIM_CHIP, lines: $*"
}

# vm_gpiosim_remove CHIP: take the chip down and remove its configfs folders.
vm_gpiosim_remove()
{
	local d="/sys/kernel/config/gpio-sim/$1" l
	[ -d "$d" ] || return 0
	echo 0 >"$d/live" 2>/dev/null
	for l in "$d"/bank*/line*; do
		[ -d "$l" ] && rmdir "$l"
	done
	for l in "$d"/bank*; do
		[ -d "$l" ] && rmdir "$l"
	done
	rmdir "$d" || echo "$VM_NAME: cannot remove gpio-sim chip $d"
}

# vm_gpiosim_line LINE: the sysfs folder of a line of the last chip made.
vm_gpiosim_line() { echo "/sys/devices/platform/$VM_SIM_DEV/$VM_SIM_CHIP/sim_gpio$1"; }

# vm_gpiosim_pull LINE pull-up|pull-down: drive a line of the last chip
# made from outside (interrupts fire only for lines requested as inputs).
vm_gpiosim_pull()
{
	echo "$2" >"$(vm_gpiosim_line "$1")/pull" || vm_fail "cannot set the pull of $(vm_gpiosim_line "$1") to $2"
}

# vm_gpiosim_value LINE: print the line's value as the simulator sees it.
vm_gpiosim_value() { cat "$(vm_gpiosim_line "$1")/value"; }

# ---- IIO ------------------------------------------------------------------------------------
# vm_iio_find NAME: print the folder under /sys/bus/iio/devices (iio:deviceN
# or triggerN) whose name is NAME; 1 if there is none.
vm_iio_find()
{
	local d
	for d in /sys/bus/iio/devices/*; do
		[ "$(cat "$d/name" 2>/dev/null)" = "$1" ] || continue
		basename "$d"
		return 0
	done
	return 1
}

# vm_iio_dummy NAME: an iio_dummy device (made through configfs), removed
# at exit. Sets VM_IIO_DEV (iio:deviceN, /dev/iio:deviceN).
vm_iio_dummy()
{
	local d="/sys/kernel/config/iio/devices/dummy/$1"
	vm_modprobe iio_dummy
	vm_configfs
	mkdir "$d" || vm_fail "cannot make iio_dummy device $d"
	vm_on_exit "rmdir '$d'"
	VM_IIO_DEV=$(vm_iio_find "$1") || vm_fail "no IIO device named $1 after mkdir $d"
	vm_wait_until 5 test -c "/dev/$VM_IIO_DEV" || vm_fail "/dev/$VM_IIO_DEV did not appear within 5 s"
	vm_say "iio_dummy device $1: $VM_IIO_DEV"
}

# vm_iio_hrtimer NAME: an hrtimer trigger (configfs), removed at exit.
# Sets VM_IIO_TRIGGER (triggerN).
vm_iio_hrtimer()
{
	local d="/sys/kernel/config/iio/triggers/hrtimer/$1"
	vm_modprobe iio-trig-hrtimer
	vm_configfs
	mkdir "$d" || vm_fail "cannot make hrtimer trigger $d"
	vm_on_exit "rmdir '$d'"
	VM_IIO_TRIGGER=$(vm_iio_find "$1") || vm_fail "no IIO trigger named $1 after mkdir $d"
	vm_say "hrtimer trigger $1: $VM_IIO_TRIGGER"
}

# ---- CAN -----------------------------------------------------------------------------------
# vm_link_up IFACE: the interface is administratively up (IFF_UP).
vm_link_up()
{
	local flags
	flags=$(cat "/sys/class/net/$1/flags" 2>/dev/null) || return 1
	[ $((flags & 1)) = 1 ]
}

# vm_vcan_up IFACE: a virtual CAN interface, up, removed at exit.
vm_vcan_up()
{
	vm_modprobe vcan can_raw
	ip link add dev "$1" type vcan || vm_fail "ip link add dev $1 type vcan failed"
	vm_on_exit "vm_vcan_down $1"
	ip link set "$1" up || vm_fail "ip link set $1 up failed"
	vm_wait_until 5 vm_link_up "$1" || vm_fail "$1 is not up within 5 s"
}

vm_vcan_down() { ip link del dev "$1" 2>/dev/null; }

# ---- liotad and liotactl -------------------------------------------------------------------
# vm_ctl RUNDIR ARGS...: liotactl against the daemon of RUNDIR, bounded.
vm_ctl()
{
	local dir="$1"
	shift
	timeout 10 liotactl -r "$dir" "$@"
}

vm_liotad_answers()
{
	vm_alive "$2" || return 1
	[ -S "$1/liotad.sock" ] || return 1
	vm_ctl "$1" status >/dev/null 2>&1
}

# vm_start_liotad LOGBASE CONF [ARGS...]: start liotad in the background
# (pid in VM_LIOTAD_PID, runtime folder in VM_RUNDIR, stderr in
# $VM_TMP/LOGBASE.err) and wait (bounded) until its control socket answers.
vm_start_liotad()
{
	local base="$1" conf="$2"
	shift 2
	VM_RUNDIR=$VM_TMP/run-$base
	mkdir -p "$VM_RUNDIR"
	vm_show "$conf"
	vm_spawn "$base" liotad -c "$conf" -r "$VM_RUNDIR" "$@"
	VM_LIOTAD_PID=$VM_PID
	if ! vm_wait_until 15 vm_liotad_answers "$VM_RUNDIR" "$VM_LIOTAD_PID"; then
		vm_alive "$VM_LIOTAD_PID" || {
			wait "$VM_LIOTAD_PID"
			vm_fail "liotad exited with status $? at start: $(tail -n 3 "$VM_TMP/$base.err")"
		}
		vm_fail "liotad ($VM_LIOTAD_PID) does not answer on $VM_RUNDIR/liotad.sock within 15 s"
	fi
	vm_say "liotad $VM_LIOTAD_PID running ($conf)"
}

# vm_stop_liotad PID ERRFILE: SIGTERM, wait (bounded 15 s), expect exit 0
# and the summary line; VM_TAKEN, VM_PUBLISHED, VM_DROPPED from it.
vm_stop_liotad()
{
	local pid="$1" err="$2" line
	kill -TERM "$pid" 2>/dev/null || vm_fail "liotad $pid is not running any more"
	vm_wait_exit "$pid" 15 || vm_fail "liotad $pid did not stop within 15 s of SIGTERM"
	[ "$VM_RC" -eq 0 ] || vm_fail "liotad exited with status $VM_RC after SIGTERM (expected 0)"
	line=$(tail -n 1 "$err")
	case $line in
	"liotad: notice: stopped after "*" samples taken, "*" deliveries: "*" published, "*" dropped, "*" pending") ;;
	*) vm_fail "the last line of liotad's stderr is not the summary: '$line'" ;;
	esac
	# shellcheck disable=SC2046 # three numbers, split on purpose
	set -- $(echo "$line" | sed 's/.*: \([0-9]*\) samples taken, [0-9]* deliveries: \([0-9]*\) published, \([0-9]*\) dropped, [0-9]* pending$/\1 \2 \3/')
	# shellcheck disable=SC2034 # results for the tests
	VM_TAKEN=$1 VM_PUBLISHED=$2 VM_DROPPED=$3
	vm_say "liotad stopped: $line"
}
