#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Runs inside the Debian 12 container of installed.test, booted with systemd
# as PID 1, as the oneshot ci.service: installs the package as an operator
# would and checks the service. /in holds the .debs (liotad.deb, the build;
# liotad-newer.deb, the same with a higher version); every line goes to
# /results/guest.log and the verdict (PASS or FAIL) to /results/verdict.
# Every wait is bounded.
set -u
exec >>/results/guest.log 2>&1
export DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER='' SYSTEMD_COLORS=0
START=$(date +%s%N)
NFAIL=0
say()
{
	local ds=$((($(date +%s%N) - START) / 100000000))
	printf 'guest [%3d.%ds] %s\n' $((ds / 10)) $((ds % 10)) "$*"
}
ok() { say "ok: $*"; }
fail() { say "FAIL: $*"; NFAIL=$((NFAIL + 1)); }
# die: a failure after which the rest cannot run.
die() { fail "$*"; finish; }
finish()
{
	say "journal of liotad (last 30 lines):"
	journalctl -u liotad --no-pager -n 30 -o short-monotonic
	if [ "$NFAIL" = 0 ]; then echo PASS >/results/verdict; else echo FAIL >/results/verdict; fi
	exit 0
}
# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds, 0.2 s apart.
wait_for()
{
	local n=$(($1 * 5)) what=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$what (waited $((n / 5)) s)"
	return 1
}
mainpid() { systemctl show -p MainPID --value liotad; }
# jline PATTERN [JOURNALCTL ARGS]: liotad's first journal line matching PATTERN.
jline() { journalctl -u liotad --no-pager -o cat "${@:2}" | grep -m1 -e "$1"; }
# ms_since T0_NS: milliseconds since T0_NS.
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
active() { [ "$(systemctl is-active liotad)" = active ]; }

say "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2)," \
	"$(. /etc/os-release && echo "$PRETTY_NAME")"

# A system call outside the unit's filter kills liotad (SIGSYS) for the
# whole test, where the unit would make it fail with EPERM: every path below
# proves that the filter holds what liotad calls.
mkdir -p /run/systemd/system/liotad.service.d
printf '[Service]\nSystemCallErrorNumber=kill\n' >/run/systemd/system/liotad.service.d/strict.conf

# ---- apt-get install ./liotad_*.deb: its Depends come from the archive --------
# The dependencies' .debs are in apt's cache (installed.test put them there
# when it made the root): apt resolves them from the archive's index.
cp /in/liotad.deb /root/liotad_test.deb
if apt-get install -y -q /root/liotad_test.deb >/results/apt-install.log 2>&1; then
	ok "apt-get install ./liotad_*.deb (its Depends resolved by apt)"
else
	tail -n 20 /results/apt-install.log
	die "apt-get install of the package failed"
fi

# ---- enabled, active only after READY=1, STATUS=, user ------------------------
[ "$(systemctl is-enabled liotad)" = enabled ] && ok "liotad.service is enabled" ||
	fail "liotad.service is $(systemctl is-enabled liotad), not enabled"
wait_for 10 "liotad.service active" active || die "the service did not start"
[ "$(systemctl show -p Type --value liotad)" = notify ] || fail "Type is not notify"
# Type=notify: systemctl start returns once liotad said READY=1, after the
# configuration is loaded and the DCCs started: the control socket answers
# at once, every time.
for i in 1 2 3; do
	systemctl restart liotad && liotactl status >/dev/null 2>&1 || break
done
[ "$i" = 3 ] && liotactl status >/dev/null 2>&1 &&
	ok "after systemctl restart returns, liotactl status answers at once (3 of 3)" ||
	fail "liotactl status right after systemctl restart (try $i):" \
		"$(liotactl status 2>&1 | head -n 2)"
PID=$(mainpid)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$PID/status")
[ "$uid" = "$(id -u liotad)" ] && ok "runs as liotad (uid $uid)" ||
	fail "runs as uid $uid, not liotad"
id -nG liotad | grep -qw dialout && ok "liotad is in dialout" || fail "liotad is not in dialout"
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PID/status")
[ "$capeff" = 0000000000000000 ] && ok "no capabilities" || fail "capabilities $capeff"
stat -c '%U %a' /run/liotad /var/lib/liotad | tr '\n' ' ' | grep -qx 'liotad 700 liotad 700 ' &&
	ok "/run/liotad and /var/lib/liotad: liotad, 0700" ||
	fail "folders: $(stat -c '%n %U %a' /run/liotad /var/lib/liotad | tr '\n' ' ')"
status_rates() { systemctl show -p StatusText --value liotad | grep -q 'samples/s'; }
if wait_for 12 "STATUS= with rates" status_rates; then
	ok "STATUS=$(systemctl show -p StatusText --value liotad)"
	systemctl status liotad --no-pager | grep -q 'Status: ".*samples/s' &&
		ok "systemctl status shows it" || fail "systemctl status does not show STATUS="
fi
liotactl status >/results/status-default.txt 2>&1 &&
	ok "liotactl status (packaged configuration)" ||
	fail "liotactl status: $(cat /results/status-default.txt)"

# ---- reload: a changed configuration is applied, a broken one is not -----------
cat >/etc/liotad/conf.d/test.conf <<'EOF'
[device "boiler"]
type = sim

[metric "boiler.temp"]
unit = degC
interval = 100ms

[device "furnace"]
type = file

[metric "furnace.temp"]
path = /nonexistent/furnace
interval = 1s

[device "serial"]
type = file

[metric "serial.value"]
path = /etc/liotad/dialout-only
interval = 100ms
EOF
# A file only the group dialout may read, as the serial ports are: liotad
# reaches it through its supplementary group, in the unit's user namespace.
echo 7 >/etc/liotad/dialout-only
chown root:dialout /etc/liotad/dialout-only
chmod 0640 /etc/liotad/dialout-only
systemctl reload liotad || fail "systemctl reload"
has_boiler() { liotactl status | grep -q 'boiler'; }
wait_for 10 "reload applies conf.d/test.conf" has_boiler && ok "reload applied conf.d/test.conf"
[ "$(mainpid)" = "$PID" ] || fail "reload changed the main PID"
liotactl tail -n 3 -t 5 'boiler.*' >/results/tail.txt 2>&1
[ "$(grep -c 'boiler.temp' /results/tail.txt)" = 3 ] && ok "liotactl tail shows boiler.temp" ||
	fail "liotactl tail: $(cat /results/tail.txt)"
liotactl tail -n 1 -t 5 --raw 'serial.*' >/results/tail-serial.txt 2>&1
[ "$(cut -d' ' -f2- /results/tail-serial.txt)" = 'serial.value 7' ] &&
	ok "a root:dialout 0640 file is read through the dialout group" ||
	fail "reading a root:dialout 0640 file: $(cat /results/tail-serial.txt)"
printf '[device "broken"]\ntype = no-such-driver\n' >/etc/liotad/conf.d/zz-broken.conf
systemctl reload liotad || fail "systemctl reload (broken)"
broken_logged() { jline 'reload: /etc/liotad/conf.d/zz-broken.conf:2:'; }
wait_for 10 "the broken drop-in reported as FILE:LINE" broken_logged &&
	ok "the broken configuration is reported: $(jline 'zz-broken.conf:2:')"
active && [ "$(mainpid)" = "$PID" ] && has_boiler &&
	ok "after a broken reload: still active, same PID, old configuration" ||
	fail "after a broken reload: $(systemctl is-active liotad), PID $(mainpid) (was $PID)"
# A start on it never becomes active: liotad exits before READY=1, and
# systemctl start says so.
if systemctl restart liotad 2>/dev/null; then
	fail "systemctl restart succeeded on a broken configuration"
else
	ok "systemctl restart on the broken configuration fails:" \
		"$(jline 'configuration invalid; not starting')"
fi
active && fail "active on a broken configuration"
rm /etc/liotad/conf.d/zz-broken.conf
systemctl reset-failed liotad
systemctl restart liotad || fail "restart after removing the broken drop-in"
PID=$(mainpid)

# ---- journald fields: one device's messages -----------------------------------
furnace_logged() { jline nonexistent DEVICE=furnace; }
if wait_for 10 "journalctl -u liotad DEVICE=furnace" furnace_logged; then
	j=$(journalctl -u liotad DEVICE=furnace -o json --no-pager | head -n 1)
	echo "$j" | grep -q '"METRIC":"temp"\|"METRIC":"furnace.temp"' &&
		ok "journalctl -u liotad DEVICE=furnace: $(jline . DEVICE=furnace) (METRIC= too)" ||
		fail "no METRIC= field: $j"
	journalctl -u liotad DEVICE=boiler -o cat --no-pager | grep -q nonexistent &&
		fail "DEVICE=boiler shows furnace's message"
fi

# ---- the watchdog --------------------------------------------------------------
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' >/run/systemd/system/liotad.service.d/wd.conf
systemctl daemon-reload
systemctl restart liotad || fail "restart with WatchdogSec=3s"
wait_for 10 "active with WatchdogSec=3s" active
sleep 4
PID=$(mainpid)
[ "$(systemctl show -p NRestarts --value liotad)" = 0 ] &&
	ok "a healthy daemon is not restarted by a 3 s watchdog" ||
	fail "restarted while healthy: $(jline 'Watchdog timeout')"
# 1. A stopped process.
kill -STOP "$PID"
restarted() { active && [ "$(mainpid)" != "$PID" ] && [ "$(mainpid)" != 0 ]; }
t0=$(date +%s%N)
if wait_for 15 "restart after SIGSTOP" restarted; then
	ok "SIGSTOP: restarted after $(ms_since "$t0") ms: $(jline 'Watchdog timeout')"
fi
# 2. A publisher blocked in write(): a Graphite file DCC on a FIFO whose
# reader never reads fills the pipe, then the publisher blocks for good.
mkfifo -m 600 /var/log/liotad/blocked && chown liotad: /var/log/liotad/blocked
sleep 120 <>/var/log/liotad/blocked &
reader=$!
cat >/etc/liotad/conf.d/blocked.conf <<'EOF'
[dcc "blocked"]
type = graphite
transport = file
path = /var/log/liotad/blocked

[device "fast"]
type = sim

[metric "fast.a"]
interval = 1ms
dcc = blocked
EOF
systemctl restart liotad || fail "restart with the blocked DCC"
PID=$(mainpid)
t0=$(date +%s%N)
if wait_for 20 "restart after the publisher blocked" restarted; then
	ok "blocked publisher: restarted after $(ms_since "$t0") ms: $(jline 'publisher busy')"
fi
rm /etc/liotad/conf.d/blocked.conf
kill "$reader" 2>/dev/null
rm -f /var/log/liotad/blocked
# 3. A sampler blocked in its device: no longer provoked here. The file
# driver's FIFO open, which used to block for good, is non-blocking now, and
# nothing else a packaged driver does blocks without hardware or a hung
# network file system. tests/unit/test_watchdog blocks a sampler in a
# driver read and checks daemon_stalled() names its device.
rm /run/systemd/system/liotad.service.d/wd.conf
systemctl daemon-reload
systemctl restart liotad
wait_for 10 "active again after the watchdog tests" active

# ---- each capability drop-in grants its one capability, and it works -----------------
# with_dropin NAME: liotad restarted with the packaged example drop-in NAME;
# false (reported) when it does not start. drop_dropin removes it.
with_dropin()
{
	mkdir -p /etc/systemd/system/liotad.service.d
	cp "/usr/share/doc/liotad/examples/$1" /etc/systemd/system/liotad.service.d/
	systemctl daemon-reload
	systemctl restart liotad && active && PID=$(mainpid) && return 0
	fail "$1: the service does not start: $(journalctl -u liotad --no-pager -o cat | tail -n 3)"
	return 1
}
drop_dropin()
{
	rm -r /etc/systemd/system/liotad.service.d
	systemctl daemon-reload
	systemctl restart liotad
	wait_for 10 "active again without $1" active
}
# capeff_is NAME HEX CAPABILITY: the main process's effective capabilities.
capeff_is()
{
	local capeff
	capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PID/status")
	[ "$capeff" = "$2" ] && ok "$1: $3 only" || fail "$1: capabilities $capeff"
}
if with_dropin rt-priority.conf; then
	tid=$(grep -lx 's:boiler' /proc/"$PID"/task/*/comm | head -n 1 | cut -d/ -f5)
	chrt -p "$tid" | grep -q 'SCHED_FIFO' &&
		ok "rt-priority.conf: the sampler s:boiler runs SCHED_FIFO" ||
		fail "rt-priority.conf: sampler thread '$tid': $(chrt -p "$tid" 2>&1 | head -n 1)"
	capeff_is rt-priority.conf 0000000000800000 CAP_SYS_NICE
fi
drop_dropin rt-priority.conf
# The container has no CAN interface: only the capability is checked.
if with_dropin can-bitrate.conf; then
	capeff_is can-bitrate.conf 0000000000001000 CAP_NET_ADMIN
fi
drop_dropin can-bitrate.conf

# ---- upgrade keeps a changed conffile -------------------------------------------
echo "# changed by the operator" >>/etc/liotad/liotad.conf
cp /in/liotad-newer.deb /root/liotad_newer.deb
new=$(dpkg-deb -f /root/liotad_newer.deb Version)
if apt-get install -y -q /root/liotad_newer.deb >/results/apt-upgrade.log 2>&1; then
	[ "$(dpkg-query -W -f '${Version}' liotad)" = "$new" ] && ok "upgraded to $new" ||
		fail "version after the upgrade: $(dpkg-query -W -f '${Version}' liotad)"
else
	tail -n 20 /results/apt-upgrade.log
	fail "apt-get install of the newer package failed"
fi
grep -qx '# changed by the operator' /etc/liotad/liotad.conf &&
	ok "the changed conffile was kept" ||
	fail "the upgrade lost the change to /etc/liotad/liotad.conf"
wait_for 10 "active after the upgrade" active && ok "active after the upgrade"

journalctl -u liotad --no-pager | grep -q 'status=31/SYS' &&
	fail "a system call outside the filter killed liotad: $(journalctl -u liotad --no-pager |
		grep -m1 'status=31/SYS')"

# ---- purge leaves nothing but the user and the operator's own file -----------------
# dpkg purges the files it installed or its scripts made; conf.d/test.conf
# is the operator's, and stays (with the folders above it), as Debian does.
rm /etc/liotad/dialout-only
apt-get purge -y -q liotad >/results/apt-purge.log 2>&1 || fail "apt-get purge liotad"
pgrep -x liotad >/dev/null && fail "liotad still runs after purge"
left=$(find / -xdev \( -path /proc -o -path /sys -o -path /results -o -path /in -o -path /root \
	-o -path /etc/liotad \) -prune -o -name '*liotad*' -print)
[ -z "$left" ] && ok "purge left no file named *liotad*" || fail "purge left: $left"
left=$(find /etc/liotad ! -type d)
[ "$left" = /etc/liotad/conf.d/test.conf ] &&
	ok "purge left of /etc/liotad only the operator's conf.d/test.conf" ||
	fail "purge left in /etc/liotad: $left"
getent passwd liotad >/dev/null && ok "the liotad user stays (Debian keeps system users)"
finish
