#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Count the counter samples of liotad's MQTT or IoTCC messages in captures.

  mqtt_count.py --format mqtt|iotcc --received FILE [--received FILE2]
                [--topic-prefix P] [--taken N | --copy FILE [--max-lost N]] [--wait S]

Every metric is a sim counter (0, 1, 2...): a metric's distinct values
must be 0..max without a gap, and their number (all metrics) must be
--taken (every sample liotad took arrived) or at least --at-least.
Repeats (QoS 1 delivers at least once) are counted, not errors. Prints
one line "offered N delivered D lost L duplicates X metrics M messages K"
and exits 1 on a gap or a loss (after re-reading for --wait seconds, the
capture may lag). With --copy (the lines of a Graphite file DCC that took
the same samples: PREFIX.EDGE.DEVICE.METRIC VALUE TIME), what was offered
is what the copy has, metric by metric (DEVICE/METRIC), and up to
--max-lost of it may be missing (a liotad killed: the samples it had taken
and not yet handed to the DCC).
"""
import argparse
import json
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--format", choices=["mqtt", "iotcc"], required=True)
ap.add_argument("--received", action="append", required=True)
ap.add_argument("--topic-prefix", default="")
ap.add_argument("--taken", type=int)
ap.add_argument("--at-least", type=int, default=0)
ap.add_argument("--wait", type=float, default=10)
ap.add_argument("--copy", action="append", default=[])
ap.add_argument("--copy-prefix", default="")
ap.add_argument("--max-lost", type=int, default=0)
a = ap.parse_args()


def samples(topic, payload):
    """(metric key, [values]) of one message, or None when not a data message."""
    try:
        m = json.loads(payload)
    except ValueError:
        return None
    if a.format == "mqtt":
        if not isinstance(m, dict) or "metric_data" not in m:
            return None
        return "/".join(topic.split("/")[-2:]), [d["value"] for d in m["metric_data"]]
    if not isinstance(m, dict) or m.get("type") != "add_stats":
        return None
    out = []
    for md in m["body"]["metric_data"]:
        out.append((m["body"]["name"] + "/" + md["statKey"], md["data"]))
    return out


def count():
    series, total, msgs = {}, 0, 0
    for path in a.received:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # being written
                r = json.loads(line)
                if not r["topic"].startswith(a.topic_prefix):
                    continue
                got = samples(r["topic"], r["payload"])
                if got is None:
                    continue
                msgs += 1
                for key, vals in (got if isinstance(got, list) else [got]):
                    s = series.setdefault(key, set())
                    for v in vals:
                        s.add(int(v))
                        total += 1
    distinct = sum(len(s) for s in series.values())
    gaps = {k: (max(s) + 1 - len(s)) for k, s in series.items() if max(s) + 1 != len(s)}
    return series, total, distinct, gaps, msgs


def copied():
    """DEVICE/METRIC: the set of values in the Graphite copies."""
    out = {}
    for path in a.copy:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3 or not parts[0].startswith(a.copy_prefix):
                    continue
                key = "/".join(parts[0].split(".")[-2:])
                out.setdefault(key, set()).add(int(float(parts[1])))
    return out


end = time.monotonic() + a.wait
while True:
    series, total, distinct, gaps, msgs = count()
    if a.copy:
        copy = copied()
        offered = sum(len(s) for s in copy.values())
        lost = sum(len(s - series.get(k, set())) for k, s in copy.items())
        ok = not gaps and lost <= a.max_lost
    else:
        want = a.taken if a.taken is not None else a.at_least
        offered = a.taken if a.taken is not None else sum(max(s) + 1 for s in series.values())
        lost = offered - distinct
        ok = not gaps and distinct >= want and (a.taken is None or distinct == a.taken)
    if ok or time.monotonic() >= end:
        break
    time.sleep(0.5)
print("offered %d delivered %d lost %d duplicates %d metrics %d messages %d" %
      (offered, distinct, lost, total - distinct, len(series), msgs))
for k in sorted(gaps)[:5]:
    s = series[k]
    missing = sorted(set(range(max(s) + 1)) - s)
    print("gap: %s misses %d values, first %s" % (k, gaps[k], missing[:10]))
if a.taken is not None and distinct > a.taken:
    print("more distinct samples (%d) than liotad took (%d)" % (distinct, a.taken))
sys.exit(0 if ok else 1)
