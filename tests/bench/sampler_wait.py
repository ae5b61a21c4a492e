#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Two liotad builds side by side: how a sampler waits (issue 15).

  tests/bench/sampler_wait.py [-r RUNS] LIOTAD_A LIOTAD_B [LIOTACTL]

docs/benchmarks.md (section 3, "The sampler's wait") compares the
signal (this tree) with the timerfd experiment of commit 2da6a8b, built
in a worktree of its own:
  git worktree add /tmp/tfd 2da6a8b && cd /tmp/tfd && autoreconf -fi &&
  mkdir build && cd build && ../configure -q && make -j2 liotad

Each run measures both builds in turn (A, B, A, B, ...), so the machine's
load drifts over both alike; the medians of the runs are printed:
  1. one sim metric at 1 kHz (aggregation 100) for K1_S s: lateness
     p50/p99/max from liotad's own histogram (status --json), CPU per
     sample of the whole process and of the sampler threads alone
     (/proc/PID/task/*/schedstat), context switches per sample
     (/proc/PID/task/*/status), ticks skipped;
  2. 1,000 sim devices x 1 metric at 1 Hz (aggregation 10) for D_S s: the
     median over the devices of their p50 and p99, the largest max, CPU
     per sample as above, open descriptors (/proc/PID/fd); then the time
     from SIGTERM to the process' exit;
  3. idle: one 1 Hz metric, aggregation 1, for IDLE_S s after a 2 s
     settle: wake-ups (context switches) per second of each thread.
Every configuration sends to a Graphite DCC with transport = file to
/dev/null. Holds /tmp/liotad-bench.lock for the whole run.
"""
import fcntl
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# Shorter runs for a quick look (the recorded figures use the defaults).
K1_S = int(os.environ.get("SW_K1_S", 15))
D_S = int(os.environ.get("SW_MANY_S", 20))
IDLE_S = int(os.environ.get("SW_IDLE_S", 15))
DEVICES = int(os.environ.get("SW_DEVICES", 1000))


def conf(path, rundir, devices, interval, aggregation, function):
    with open(path, "w") as f:
        f.write(f"[daemon]\nlog_level = warning\nruntime_dir = {rundir}\n"
                f"state_dir = {rundir}/state\n\n[edge]\nname = bench\n\n"
                "[dcc \"sink\"]\ntype = graphite\ntransport = file\npath = /dev/null\n"
                "prefix = bench\n\n")
        for d in range(devices):
            f.write(f"[device \"d{d}\"]\ntype = sim\n\n[metric \"d{d}.m\"]\n"
                    f"interval = {interval}\naggregation = {aggregation}\nfunction = {function}\n\n")


def snap(pid):
    """(uptime, {tid: (comm, voluntary, involuntary, cpu_ns)})"""
    rows = {}
    up = float(open("/proc/uptime").read().split()[0])
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            base = f"/proc/{pid}/task/{tid}"
            comm = open(f"{base}/comm").read().strip()
            vol = invol = 0
            for line in open(f"{base}/status"):
                if line.startswith("voluntary_ctxt_switches"):
                    vol = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    invol = int(line.split()[1])
            cpu = int(open(f"{base}/schedstat").read().split()[0])
            rows[tid] = (comm, vol, invol, cpu)
        except OSError:
            pass
    return up, rows


def delta(a, b):
    cpu = sum(b[1][t][3] - a[1][t][3] for t in b[1] if t in a[1])
    sw = sum(b[1][t][1] + b[1][t][2] - a[1][t][1] - a[1][t][2] for t in b[1] if t in a[1])
    return b[0] - a[0], cpu, sw


def sampler_cpu(a, b):
    """CPU time of the sampler threads ("s:DEVICE") alone."""
    return sum(b[1][t][3] - a[1][t][3] for t in b[1] if t in a[1] and b[1][t][0].startswith("s:"))


class Daemon:
    def __init__(self, liotad, liotactl, tmp, name):
        self.ctl, self.run = liotactl, f"{tmp}/{name}"
        os.makedirs(self.run, exist_ok=True)
        self.conf = f"{tmp}/{name}.conf"
        self.liotad, self.name, self.tmp = liotad, name, tmp

    def start(self):
        self.log = open(f"{self.tmp}/{self.name}.log", "w")
        self.p = subprocess.Popen([self.liotad, "-c", self.conf], stdout=self.log,
                                  stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(f"{self.run}/liotad.sock"):
                return
            time.sleep(0.05)
        raise SystemExit(f"liotad did not start: {open(self.log.name).read()}")

    def status(self):
        out = subprocess.run([self.ctl, "-r", self.run, "status", "--json"], check=True,
                             capture_output=True, timeout=30).stdout
        return json.loads(out)

    def stop(self):
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        return time.monotonic() - t0


def metrics(st):
    return [m for d in st["devices"] for m in d["metrics"]]


def samples(st):
    return sum(m["samples"] for m in metrics(st))


def k1(liotad, ctl, tmp):
    d = Daemon(liotad, ctl, tmp, "k1")
    conf(d.conf, d.run, 1, "1ms", 100, "counter")
    d.start()
    time.sleep(1)
    s1, a = samples(d.status()), snap(d.p.pid)
    time.sleep(K1_S)
    b, st = snap(d.p.pid), d.status()
    d.stop()
    secs, cpu, sw = delta(a, b)
    n = samples(st) - s1
    lat = st["devices"][0]["lateness_us"]  # the device's, of its one metric
    return {"p50": lat["p50"], "p99": lat["p99"], "max": lat["max"],
            "cpu_us": cpu / 1e3 / n, "sampler_cpu_us": sampler_cpu(a, b) / 1e3 / n, "cs": sw / n,
            "late": metrics(st)[0]["late"]}


def many(liotad, ctl, tmp):
    d = Daemon(liotad, ctl, tmp, "many")
    conf(d.conf, d.run, DEVICES, "1s", 10, "sine")
    d.start()
    time.sleep(3)
    s1, a = samples(d.status()), snap(d.p.pid)
    fds = len(os.listdir(f"/proc/{d.p.pid}/fd"))
    time.sleep(D_S)
    b, st = snap(d.p.pid), d.status()
    stop_s = d.stop()
    secs, cpu, sw = delta(a, b)
    n = samples(st) - s1
    ds = st["devices"]  # lateness is per device: its metrics' reads
    return {"p50": statistics.median(d["lateness_us"]["p50"] for d in ds),
            "p99": statistics.median(d["lateness_us"]["p99"] for d in ds),
            "max": max(d["lateness_us"]["max"] for d in ds),
            "cpu_us": cpu / 1e3 / n, "sampler_cpu_us": sampler_cpu(a, b) / 1e3 / n, "cs": sw / n,
            "fds": fds, "stop_ms": stop_s * 1e3 if stop_s else -1}


def idle(liotad, ctl, tmp):
    d = Daemon(liotad, ctl, tmp, "idle")
    conf(d.conf, d.run, 1, "1s", 1, "sine")
    d.start()
    time.sleep(2)
    a = snap(d.p.pid)
    time.sleep(IDLE_S)
    b = snap(d.p.pid)
    d.stop()
    secs, cpu, sw = delta(a, b)
    per = {"sampler": 0, "publisher": 0, "main": 0}
    for t in b[1]:
        if t not in a[1]:
            continue
        role = "main" if t == str(d.p.pid) else (
            "sampler" if b[1][t][0].startswith("s:") else "publisher")
        per[role] += b[1][t][1] + b[1][t][2] - a[1][t][1] - a[1][t][2]
    r = {k: v / secs for k, v in per.items()}
    r["total"] = sw / secs
    r["cpu_us_s"] = cpu / 1e3 / secs
    return r


def main():
    args = sys.argv[1:]
    runs = 3
    if args[:1] == ["-r"]:
        runs, args = int(args[1]), args[2:]
    if len(args) not in (2, 3):
        raise SystemExit(__doc__)
    builds = args[:2]
    ctl = args[2] if len(args) == 3 else os.path.join(os.path.dirname(builds[0]), "liotactl")
    lock = open("/tmp/liotad-bench.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}; nproc {os.cpu_count()}")
    tmp = tempfile.mkdtemp(prefix="liotad-sw.")
    res = {b: {"k1": [], "many": [], "idle": []} for b in builds}
    try:
        for r in range(runs):
            for b in builds:
                for name, fn in (("k1", k1), ("many", many), ("idle", idle)):
                    x = fn(b, ctl, tmp)
                    res[b][name].append(x)
                    print(f"run {r + 1} {b} {name}: " +
                          ", ".join(f"{k} {v:.2f}" for k, v in x.items()), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at end: {open('/proc/loadavg').read().split()[:3]}")
    print(f"medians of {runs} runs")
    for name in ("k1", "many", "idle"):
        for b in builds:
            keys = res[b][name][0].keys()
            print(f"{name:5} {b}: " + ", ".join(
                f"{k} {statistics.median(x[k] for x in res[b][name]):.2f}" for k in keys))


if __name__ == "__main__":
    main()
