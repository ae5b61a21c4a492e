"""Poll `liotactl status --json` while a spool fault test runs (fault tests 5 and 6).

Every --every seconds, for --secs seconds at most, one JSON object per line
to --out: the monotonic time, the named DCCs' counters (samples_in, sent,
dropped, pending, queued_bytes, state and the spool object) and the sums
over all metrics of `late` (ticks skipped by late samplers) and over all
ring lanes of `dropped`. A status that does not answer is a line with
"error". Bounded: each liotactl call has a timeout, the loop a deadline.
"""
import argparse
import json
import subprocess
import time

ap = argparse.ArgumentParser()
ap.add_argument("--liotactl", required=True)
ap.add_argument("--rundir", required=True)
ap.add_argument("--dcc", action="append", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--secs", type=float, required=True)
ap.add_argument("--every", type=float, default=0.25)
a = ap.parse_args()

end = time.monotonic() + a.secs
with open(a.out, "w") as out:
    while time.monotonic() < end:
        row = {"t": time.monotonic()}
        try:
            p = subprocess.run([a.liotactl, "-r", a.rundir, "status", "--json"],
                               capture_output=True, text=True, timeout=5)
            d = json.loads(p.stdout)
            for c in d["dccs"]:
                if c["name"] in a.dcc:
                    row[c["name"]] = {k: c[k] for k in ("state", "samples_in", "sent", "dropped",
                                                        "pending", "queued_bytes", "spool")}
            row["late"] = sum(m["late"] for dev in d["devices"] for m in dev["metrics"])
            row["lane_dropped"] = sum(la["dropped"] for la in d["ring"]["lanes"])
            row["taken"] = d["totals"]["taken"]
        except (subprocess.SubprocessError, ValueError, KeyError, TypeError) as e:
            row["error"] = str(e)
        out.write(json.dumps(row) + "\n")
        out.flush()
        time.sleep(max(0.0, min(a.every, end - time.monotonic())))
