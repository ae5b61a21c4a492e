#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Check what iotcc_peer.py recorded (one JSON object per line) against liota's protocol.

  sequence REC --edge NAME --device NAME:KIND... [--prop DEVICE:KEY=VALUE...]
      every request is well formed (transactionID, version 20171118) and was
      answered under its transactionID; for each device: the edge's
      create_or_find came first, then the device's (after the edge's was
      answered), then create_relationship edge -> device (after both were
      answered), then add_properties with exactly the given properties.
  samples REC --series DEVICE.METRIC... [--counter DEVICE.METRIC...] [--tail FILE]
          [--taken N] [--from T]
      add_stats messages: well formed, for known devices and metrics; no
      sample twice; counters 0, 1, 2... without a gap; every sample that
      `liotactl tail --raw` showed is there with the same millisecond and
      value; their number is N.
  first REC TYPE [--from T]: print the time of the first TYPE message in (or out: TYPE_response)
  count REC TYPE [--from T] [--name NAME]: print how many requests of TYPE came in
"""
import argparse
import json
import sys

errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 30:
        print("  MISMATCH: " + msg)


def load(path, since):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            d = json.loads(line)
            if d["t"] >= since:
                d["line"] = n
                out.append(d)
    return out


def requests(recs):
    return [r for r in recs if r["dir"] == "in" and isinstance(r["msg"], dict)
            and str(r["msg"].get("type", "")).endswith("_request")]


def check_sequence(a, recs):
    reqs = requests(recs)
    answers = {}
    for r in recs:
        m = r["msg"]
        if r["dir"] == "out" and isinstance(m, dict) and str(m.get("type", "")).endswith("_response"):
            answers.setdefault(m.get("transactionID"), []).append(r)
    seen_tids = set()
    for r in reqs:
        m = r["msg"]
        tid = m.get("transactionID")
        if not isinstance(tid, int) or tid <= 0:
            err("line %d: transactionID %r" % (r["line"], tid))
        if tid in seen_tids:
            err("line %d: transactionID %r used twice" % (r["line"], tid))
        seen_tids.add(tid)
        if m.get("version") != 20171118:
            err("line %d: version %r" % (r["line"], m.get("version")))
        if list(m.keys()) != ["transactionID", "version", "type", "body"]:
            err("line %d: keys %r" % (r["line"], list(m.keys())))

    def ok_answer(r):
        """The time of the successful answer to request r, or None."""
        for o in answers.get(r["msg"]["transactionID"], []):
            b = o["msg"].get("body", {})
            if b.get("result") == "succeeded" or "uuid" in b:
                return o["t"]
        return None

    def creates(kind, name):
        return [r for r in reqs if r["msg"]["type"] == "create_or_find_resource_request"
                and r["msg"]["body"] == {"kind": kind, "id": r["msg"]["body"].get("id"),
                                         "name": name}]

    edge = creates("HelixGateway", a.edge)
    if not edge:
        err("no create_or_find_resource_request for the edge %s" % a.edge)
        return
    if reqs[0] is not edge[0]:
        err("the first request is not the edge's create_or_find but %s" % reqs[0]["raw"][:200])
    edge_ref = edge[0]["msg"]["body"]
    edge_ok = min([t for t in map(ok_answer, edge) if t is not None], default=None)
    if edge_ok is None:
        err("the edge's create_or_find was never answered")
        return
    props = {}
    for p in a.prop:
        dev, kv = p.split(":", 1)
        k, v = kv.split("=", 1)
        props.setdefault(dev, {})[k] = v
    for spec in a.device:
        name, kind = spec.split(":", 1)
        dc = creates(kind, name)
        if not dc:
            err("no create_or_find_resource_request for device %s (%s)" % (name, kind))
            continue
        if dc[0]["t"] < edge_ok:
            err("device %s: create_or_find sent before the edge's was answered" % name)
        dref = dc[0]["msg"]["body"]
        dev_ok = min([t for t in map(ok_answer, dc) if t is not None], default=None)
        if dev_ok is None:
            err("device %s: create_or_find never answered" % name)
            continue
        rel = [r for r in reqs if r["msg"]["type"] == "create_relationship_request"
               and r["msg"]["body"].get("child", {}).get("name") == name]
        if not rel:
            err("device %s: no create_relationship_request" % name)
            continue
        for r in rel:
            if r["msg"]["body"] != {"parent": edge_ref, "child": dref}:
                err("device %s: relationship body %r" % (name, r["msg"]["body"]))
            if r["t"] < dev_ok:
                err("device %s: relationship sent before its create_or_find was answered" % name)
        rel_ok = min([t for t in map(ok_answer, rel) if t is not None], default=None)
        if rel_ok is None:
            err("device %s: relationship never answered" % name)
            continue
        got = {}
        for r in reqs:
            m = r["msg"]
            if m["type"] != "add_properties_request" or m["body"].get("name") != name:
                continue
            b = m["body"]
            if (b.get("kind"), b.get("id")) != (kind, dref["id"]):
                err("device %s: properties for %r" % (name, b))
            if not isinstance(b.get("timestamp"), int) or abs(b["timestamp"] / 1000 - r["t"]) > 5:
                err("device %s: properties timestamp %r" % (name, b.get("timestamp")))
            if r["t"] < rel_ok:
                err("device %s: properties sent before the relationship was answered" % name)
            for p in b.get("property_data", []):
                got[p["propertyKey"]] = p["propertyValue"]
        if got != props.get(name, {}):
            err("device %s: properties %r, expected %r" % (name, got, props.get(name, {})))
        print("device %s: create, relationship, properties %s in order" % (name, sorted(got)))


def check_samples(a, recs):
    series = {}
    devs = {}
    for r in recs:
        m = r["msg"]
        if r["dir"] != "in" or not isinstance(m, dict) or m.get("type") != "add_stats":
            continue
        if list(m.keys()) != ["type", "version", "body"] or m["version"] != 20171118:
            err("line %d: add_stats envelope %r" % (r["line"], list(m.keys())))
        b = m["body"]
        devs.setdefault(b.get("name"), set()).add((b.get("kind"), b.get("id")))
        for md in b.get("metric_data", []):
            key = "%s.%s" % (b.get("name"), md.get("statKey"))
            ts, data = md.get("timestamps", []), md.get("data", [])
            if len(ts) != len(data) or not ts:
                err("line %d: %d timestamps for %d values" % (r["line"], len(ts), len(data)))
            series.setdefault(key, []).extend(zip(ts, data))
    for d, ids in devs.items():
        if len(ids) != 1:
            err("device %s published under several (kind, id): %r" % (d, ids))
    total = 0
    for key, pts in sorted(series.items()):
        if key not in a.series:
            err("samples of an unknown metric %s" % key)
        total += len(pts)
        if len(set(pts)) != len(pts):
            err("%s: %d samples repeated" % (key, len(pts) - len(set(pts))))
        if any(pts[i][0] < pts[i - 1][0] for i in range(1, len(pts))):
            err("%s: timestamps out of order" % key)
    for key in a.series:
        if key not in series:
            err("no sample of %s" % key)
    for key in a.counter:
        vals = [v for _, v in series.get(key, [])]
        bad = [i for i, v in enumerate(vals) if v != i]
        if bad:
            err("counter %s: value #%d is %r (lost or repeated samples)" % (key, bad[0], vals[bad[0]]))
        else:
            print("counter %s: 0..%d, no gap" % (key, len(vals) - 1))
    if a.taken is not None and total != a.taken:
        err("%d samples in add_stats, liotad took %d" % (total, a.taken))
    if a.tail:
        have = {(k, t, v) for k, pts in series.items() for t, v in pts}
        n = 0
        with open(a.tail) as f:
            for line in f:
                ts_ns, name, value = line.split()
                n += 1
                if (name, int(ts_ns) // 1000000, float(value)) not in have:
                    err("tail sample %s not in add_stats" % line.strip())
        print("tail: %d samples found in add_stats" % n)
        if n < 10:
            err("tail showed only %d samples" % n)
    print("add_stats: %d samples of %d metrics" % (total, len(series)))


ap = argparse.ArgumentParser()
ap.add_argument("cmd")
ap.add_argument("rec")
ap.add_argument("type", nargs="?")
ap.add_argument("--from", dest="since", type=float, default=0)
ap.add_argument("--edge")
ap.add_argument("--device", action="append", default=[])
ap.add_argument("--prop", action="append", default=[])
ap.add_argument("--series", action="append", default=[])
ap.add_argument("--counter", action="append", default=[])
ap.add_argument("--tail")
ap.add_argument("--taken", type=int)
ap.add_argument("--name")
a = ap.parse_args()
recs = load(a.rec, a.since)
if a.cmd == "sequence":
    check_sequence(a, recs)
elif a.cmd == "samples":
    check_samples(a, recs)
elif a.cmd == "first":
    for r in recs:
        m = r["msg"]
        if isinstance(m, dict) and m.get("type") == a.type:
            print("%.6f" % r["t"])
            sys.exit(0)
    print("none")
    sys.exit(1)
elif a.cmd == "count":
    print(sum(1 for r in requests(recs) if r["msg"]["type"] == a.type + "_request"
              and (a.name is None or r["msg"]["body"].get("name") == a.name)))
    sys.exit(0)
if errors:
    print("%d problems" % len(errors))
    sys.exit(1)
print("all checks passed")
