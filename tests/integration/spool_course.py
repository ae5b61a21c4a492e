"""The blackholed DCC's course in fault test 5 (spool_blackhole.test).

Reads the status polls of spool_poll.py (the DCC "black"): it must stay
connected; its memory queue reaches its high water (half of queue_size)
before the spool takes batches; the spool is seen holding samples before
anything is evicted; at every poll its dropped samples are spool evictions
and nothing else; the spool never holds more than spool_size; and the cap
is reached within the run (something evicted). Prints the course.

usage: spool_course.py POLLS QUEUE_SIZE SPOOL_SIZE
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
queue, cap = int(sys.argv[2]), int(sys.argv[3])
ok = True


def bad(msg):
    global ok
    ok = False
    print("FAIL: " + msg)


rows = [r for r in rows if "black" in r]
if len(rows) < 10:
    bad("only %d status polls answered" % len(rows))
t0 = rows[0]["t"] if rows else 0
first_spool = first_evict = None
max_queue = 0
for r in rows:
    b = r["black"]
    sp = b["spool"] or {}
    ev = sp.get("evicted", 0)
    print("  %5.2f s: %-4s in %9d sent %8d queued %8d B, spool %8d samples %9d B, evicted %8d, "
          "dropped %8d" % (r["t"] - t0, b["state"], b["samples_in"], b["sent"], b["queued_bytes"],
                           sp.get("samples", 0), sp.get("bytes", 0), ev, b["dropped"]))
    if b["state"] != "up":
        bad("the black DCC is %s at %.2f s: a peer that does not read is still connected"
            % (b["state"], r["t"] - t0))
    if b["dropped"] != ev:
        bad("at %.2f s the black DCC dropped %d samples, %d of them by eviction"
            % (r["t"] - t0, b["dropped"], ev))
    if first_spool is None and sp.get("samples", 0) > 0:
        first_spool = r
    if first_evict is None and ev > 0:
        first_evict = r
    if first_spool is None:
        max_queue = max(max_queue, b["queued_bytes"])
    if sp.get("bytes", 0) > cap:
        bad("the spool holds %d bytes, over spool_size %d" % (sp["bytes"], cap))
if first_spool is None:
    bad("the spool never took a batch")
else:
    # The poll that first shows the spool may come a little after it began:
    # the queue's level there counts too (it stays at the high water).
    max_queue = max(max_queue, first_spool["black"]["queued_bytes"])
    if first_evict is first_spool:
        bad("the spool was already evicting when first seen: nothing shows it took batches "
            "before the cap")
if max_queue < 0.9 * queue / 2:
    bad("the memory queue reached %d bytes only; its high water is %d" % (max_queue, queue // 2))
if first_evict is None:
    bad("the spool never reached its cap (nothing evicted)")
elif first_spool is not None:
    print("memory queue up to %d bytes; spool first seen holding samples at %.2f s, first "
          "eviction seen at %.2f s (%d bytes spooled)"
          % (max_queue, first_spool["t"] - t0, first_evict["t"] - t0,
             first_evict["black"]["spool"]["bytes"]))
last = rows[-1]["black"] if rows else None
if last:
    sp = last["spool"] or {}
    print("black DCC at the last poll: %d samples in, %d sent (into the socket before it was "
          "full), %d queued bytes, %d spooled, %d evicted, %d dropped"
          % (last["samples_in"], last["sent"], last["queued_bytes"], sp.get("samples", 0),
             sp.get("evicted", 0), last["dropped"]))
sys.exit(0 if ok else 1)
