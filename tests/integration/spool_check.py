"""Every counter sample of liotad's file copies must be in whisper (spool fault tests).

The copies are what the file DCC wrote: the same lines the Graphite DCC
delivers through its spool. Each metric is a counter sampled once a second,
so each sample is its own (path, second) in whisper. A copy's counters must
go 0, 1, 2... without a gap (the copy itself is complete); then every
(path, second, value) of the copies must be in whisper, except those
--lost-after S (epoch seconds, optional): samples from that second on may
be missing (a SIGKILL), and are counted, not failed. --dropped N
(optional): exactly N samples must be missing, those liotad counted as
dropped (a full disk): one more or one fewer is a failure. --whisper may be
given more than once (fault test 7: two carbon-caches behind one DCC's
endpoints): a sample must then be in one of the trees.
"""
import argparse
import os
import sys
import time

import whisper  # python3-whisper: read in-process; whisper-fetch per file took
                # minutes a pass on a loaded machine (a process per file and try)

ap = argparse.ArgumentParser()
ap.add_argument("--whisper", action="append", required=True)
ap.add_argument("--copy", action="append", required=True)
ap.add_argument("--lost-after", type=float, default=None)
ap.add_argument("--dropped", type=int, default=None)
ap.add_argument("--wait", type=float, default=15.0)
a = ap.parse_args()

want = {}  # (path, second) -> value
for copy in a.copy:
    counters = {}
    with open(copy) as f:
        for line in f:
            path, value, ts = line.split()
            want[(path, int(ts))] = float(value)
            counters.setdefault(path, []).append(float(value))
    for path, vals in counters.items():
        if vals != [float(i) for i in range(len(vals))]:
            print("FAIL: %s: the copy %s is not 0, 1, 2...: %s" % (path, copy, vals[:20]))
            sys.exit(1)
paths = sorted({p for p, _ in want})
print("copies: %d samples of %d metrics" % (len(want), len(paths)))


span = {}  # path -> (first second, last second) of its samples
for p, sec in want:
    lo, hi = span.get(p, (sec, sec))
    span[p] = (min(lo, sec), max(hi, sec))


def fetch(path):
    got = {}
    lo, hi = span[path]
    for tree in a.whisper:
        f = os.path.join(tree, *path.split(".")) + ".wsp"
        if not os.path.exists(f):
            continue
        (start, _, step), values = whisper.fetch(f, lo - 1, hi + 1)
        for i, v in enumerate(values):
            t = start + i * step
            # A value this tree holds that is the one sent wins over another tree's.
            if v is not None and (got.get(t) != want.get((path, t))):
                got[t] = v
    return got


deadline = time.monotonic() + a.wait
while True:
    missing, excused, wrong = [], [], []
    for path in paths:
        got = fetch(path)
        for (p, s), v in want.items():
            if p != path:
                continue
            if s not in got:
                (excused if a.lost_after is not None and s >= a.lost_after else missing).append(
                    (p, s))
            elif got[s] != v:
                wrong.append("%s @%d: sent %r, whisper holds %r" % (p, s, v, got[s]))
    if (len(missing) <= (a.dropped or 0) and not wrong) or time.monotonic() > deadline:
        break
    time.sleep(0.5)
print("whisper: %d of %d samples present, %d missing, %d missing but within the allowed loss"
      % (len(want) - len(missing) - len(excused), len(want), len(missing), len(excused)))
for m in wrong[:20]:
    print("  WRONG: " + m)
for p, s in sorted(missing, key=lambda x: (x[1], x[0]))[:20]:
    print("  MISSING: %s @%d" % (p, s))
if a.dropped is not None:
    print("liotad counted %d samples as dropped; %d are missing" % (a.dropped, len(missing)))
    sys.exit(1 if len(missing) != a.dropped or wrong else 0)
sys.exit(1 if missing or wrong else 0)
