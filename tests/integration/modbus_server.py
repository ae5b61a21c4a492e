#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The Modbus peer of liotad's integration tests and of make bench.

One module holds the register map and the value every point must read as,
so that the server, the configurations the tests give liotad and the
checks of liotad's output all come from the same place.

  modbus_server.py serve (--tcp PORT | --rtu PATH) [options]
      A pymodbus 3.0 server. --tcp 0 takes a free loopback port; the port
      is written to --ready FILE (JSON {"port": P, "pid": N}) once the
      server accepts connections (for RTU, once the serial port is open).
  modbus_server.py points [--unit U]
      The map as JSON: one object per point with its expected value.
  modbus_server.py conf DEVICE [--unit U] [--only RE] [--exclude RE] [--interval I]
      [metric "DEVICE.NAME"] sections for liotad, one per selected point.
  modbus_server.py check --copy FILE --path-prefix P.EDGE.DEVICE [--unit U] [--only RE]
      [--exclude RE] [--min-samples N]
      Check graphite lines liotad wrote (a transport = file DCC): every
      selected point has at least N lines, every line of the device is a
      known point and holds exactly the expected value.

The map (0-based protocol addresses; unit 1's values):

  holding (FC 3), registers 0..89 and 1000..1199; anything else raises
  "Illegal data address":
     0 uint16 1234          1 uint16 65535         2 int16 -1234
     3 int16 -32768         4 int16 32767
     5 uint16 raw 2500, scale 0.5, offset -100     -> 1150
     6 int16 raw -1234, scale 0.1, offset 273.15   -> -1234*0.1+273.15
     7 0xA5C3, a bit-field register, read whole and as bits 0, 2, 4-7,
       8-15, 15
     8, 9 filler (0)
    10 + 20*k for order k in ABCD, DCBA, BADC, CDAB (20 registers each):
       +0 int32, +2 uint32, +4 float32, +6 int64, +10 uint64, +14 float64,
       +18, +19 filler. Values in ORDER_VALUES below, one set per order.
  1000..1099 uint16, 1100..1119 float32 ABCD (10 values), 1120..1199
       uint16: the "block" used for merging tests and the benchmark
       (values from block_u16() and block_f32()).
  input (FC 4), registers 0..49:
     0 uint16 4321          1 int16 -4321          2 float32 ABCD 21.5
     4 int32 CDAB -70000    6 float64 DCBA -0.0001 10 uint32 BADC 0x12345678
    12 0x0038 read as bits 3-5 (7)
    13 uint16 raw 100, scale -2, offset 1          -> -199
    14..49 filler
  coils (FC 1), 0..31: 0..15 = COILS below, 16..31 filler (0)
  discrete inputs (FC 2), 0..31: 0..15 = DISCRETES below, 16..31 filler

Byte orders, for a value whose big-endian bytes are A B C D (E F G H):
ABCD big-endian, high word first; CDAB words swapped (low word first);
BADC bytes swapped in each word, high word first; DCBA little-endian. For
64-bit values the word order is reversed as a whole (CDAB: GH EF CD AB).

Unit 2 (RTU tests: two slaves on one line) serves the same layout with
different values: every integer halved (floor), every float halved, every
bit inverted. Other units are not served: requests to them are counted
and never answered, as on a real bus.

Counting: every request is counted per function code, per unit and per
(unit, function, address, count); the counts go to --counts FILE (JSON,
replaced atomically) every 100 ms when they changed, on SIGUSR1 and at the
end. "dumps" grows by one with every write, so a script can ask for fresh
counts with SIGUSR1 and wait for it to change.

Misbehaving:
  --close-after N   close the connection after answering its Nth request
                    (--close-times K connections, default 1; TCP only)
  --mute-after N    answer the first N requests, then none (the request is
                    read and counted, no reply): --mute-for S seconds from
                    the first unanswered one, 0 (default) for ever
  --fail T:A[:C]    answer every request of table T (coil, discrete,
                    input, holding) covering address A with exception code C
                    (default 4, slave device failure); repeatable
  --max-seconds S   stop after S seconds whatever happens (default 120)
"""
import argparse
import json
import math
import os
import re
import signal
import struct
import sys
import time

# ---- the map -----------------------------------------------------------------

ORDERS = ("ABCD", "DCBA", "BADC", "CDAB")
TYPES = {  # name: (registers, struct code of the big-endian value, integer?)
    "int16": (1, ">h", True), "uint16": (1, ">H", True),
    "int32": (2, ">i", True), "uint32": (2, ">I", True),
    "int64": (4, ">q", True), "uint64": (4, ">Q", True),
    "float32": (2, ">f", False), "float64": (4, ">d", False),
}
TABLES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}

# One value set per order, so that a metric read with the wrong order or at
# the wrong place cannot come out right by chance. Integers have distinct
# bytes; the 64-bit ones are mostly exact in a double, two on purpose not.
ORDER_VALUES = {
    "ABCD": {"int32": -123456789, "uint32": 0xDEADBEEF, "float32": -1234.5678,
             "int64": -0x0102030405060780, "uint64": 0xF1E2D3C4B5A69800,
             "float64": 3.141592653589793},
    "DCBA": {"int32": 0x01234567, "uint32": 0x89ABCDEF, "float32": 3.14159274,
             "int64": 0x7FEDCBA987654000, "uint64": 2**64 - 1,
             "float64": -2.718281828459045e-100},
    "BADC": {"int32": -0x789ABCDF, "uint32": 0x10203040, "float32": 1.0e-3,
             "int64": -2**63, "uint64": 0x0123456789ABCDEF,
             "float64": 6.02214076e+23},
    "CDAB": {"int32": 0x13579BDF, "uint32": 4000000000, "float32": 6.02214076e23,
             "int64": 1234567890123, "uint64": 42, "float64": 1234.5},
}
COILS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1]
DISCRETES = [0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1]
REGIONS = {"holding": [(0, 90), (1000, 200)], "input": [(0, 50)],
           "coil": [(0, 32)], "discrete": [(0, 32)]}


def block_u16(addr):
    return (addr * 40503 + 12345) & 0xFFFF


def block_f32(i):
    return 0.5 * i - 2.25


def _point(name, table, address, typ=None, value=None, order=None, bits=None,
           scale=None, offset=None, extra=False):
    return {"name": name, "table": table, "address": address, "type": typ,
            "order": order, "bits": bits, "scale": scale, "offset": offset,
            "raw": value, "extra": extra}


def _base_points():
    p = []
    hr = "holding"
    p.append(_point("hr_u16", hr, 0, "uint16", 1234))
    p.append(_point("hr_u16_max", hr, 1, "uint16", 65535))
    p.append(_point("hr_i16", hr, 2, "int16", -1234))
    p.append(_point("hr_i16_min", hr, 3, "int16", -32768))
    p.append(_point("hr_i16_max", hr, 4, "int16", 32767))
    p.append(_point("hr_scaled", hr, 5, "uint16", 2500, scale=0.5, offset=-100.0))
    p.append(_point("hr_scaled_dec", hr, 6, "int16", -1234, scale=0.1, offset=273.15))
    p.append(_point("hr_bits_raw", hr, 7, "uint16", 0xA5C3))
    for bits in ("0", "2", "4-7", "8-15", "15"):
        p.append(_point("hr_bits" + bits.replace("-", "_"), hr, 7, "uint16", 0xA5C3,
                        bits=bits))
    for k, order in enumerate(ORDERS):
        base = 10 + 20 * k
        v = ORDER_VALUES[order]
        for typ, off in (("int32", 0), ("uint32", 2), ("float32", 4), ("int64", 6),
                         ("uint64", 10), ("float64", 14)):
            p.append(_point("hr_%s_%s" % (typ, order.lower()), hr, base + off, typ,
                            v[typ], order=order))
    ir = "input"
    p.append(_point("ir_u16", ir, 0, "uint16", 4321))
    p.append(_point("ir_i16", ir, 1, "int16", -4321))
    p.append(_point("ir_f32", ir, 2, "float32", 21.5, order="ABCD"))
    p.append(_point("ir_i32_cdab", ir, 4, "int32", -70000, order="CDAB"))
    p.append(_point("ir_f64_dcba", ir, 6, "float64", -0.0001, order="DCBA"))
    p.append(_point("ir_u32_badc", ir, 10, "uint32", 0x12345678, order="BADC"))
    p.append(_point("ir_bits3_5", ir, 12, "uint16", 0x0038, bits="3-5"))
    p.append(_point("ir_scaled", ir, 13, "uint16", 100, scale=-2.0, offset=1.0))
    for i, b in enumerate(COILS):
        p.append(_point("co_%d" % i, "coil", i, "bool", b))
    for i, b in enumerate(DISCRETES):
        p.append(_point("di_%d" % i, "discrete", i, "bool", b))
    # The block: not configured unless asked for by name (extra).
    for a in list(range(1000, 1100)) + list(range(1120, 1200)):
        p.append(_point("blk_u16_%d" % a, hr, a, "uint16", block_u16(a), extra=True))
    for i in range(10):
        p.append(_point("blk_f32_%d" % (1100 + 2 * i), hr, 1100 + 2 * i, "float32",
                        block_f32(i), order="ABCD", extra=True))
    return p


def _for_unit(raw, typ, unit):
    if unit == 1:
        return raw
    if typ == "bool":
        return 1 - raw
    if TYPES[typ][2]:
        return raw // 2
    return raw / 2


def to_words(value, typ, order):
    """The registers holding @value of @typ in @order."""
    n, code, _ = TYPES[typ]
    data = struct.pack(code, value)
    words = [data[2 * i:2 * i + 2] for i in range(n)]
    order = order or "ABCD"
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]


def decode(raw, typ):
    """What liotad must make of @raw before scale and offset: a double."""
    if typ == "bool":
        return float(raw)
    n, code, integer = TYPES[typ]
    if integer:
        return float(raw)
    return struct.unpack(code, struct.pack(code, raw))[0]  # float32 rounding


def bit_field(word, bits):
    lo, _, hi = bits.partition("-")
    lo = int(lo)
    hi = int(hi) if hi else lo
    return (word >> lo) & ((1 << (hi - lo + 1)) - 1)


def points(unit=1):
    """Every point with its raw value and its expected value for @unit."""
    out = []
    for p in _base_points():
        q = dict(p)
        q["raw"] = _for_unit(p["raw"], p["type"], unit)
        if p["bits"] is not None:
            v = float(bit_field(q["raw"], p["bits"]))
        else:
            v = decode(q["raw"], p["type"])
        if p["scale"] is not None or p["offset"] is not None:
            v = v * (p["scale"] if p["scale"] is not None else 1.0) + \
                (p["offset"] if p["offset"] is not None else 0.0)
        q["expect"] = v
        out.append(q)
    return out


def tables(unit=1):
    """{table: {address: value}}: every register or bit the unit serves."""
    t = {name: {} for name in TABLES}
    for name, regions in REGIONS.items():
        for start, count in regions:
            for a in range(start, start + count):
                t[name][a] = 0
    for p in points(unit):
        if p["table"] in ("coil", "discrete"):
            t[p["table"]][p["address"]] = p["raw"]
            continue
        typ = "uint16" if p["bits"] is not None else p["type"]
        for i, w in enumerate(to_words(p["raw"], typ, p["order"])):
            a = p["address"] + i
            assert a in t[p["table"]], "point %s outside the regions" % p["name"]
            t[p["table"]][a] = w
    return t


def select(pts, only=None, exclude=None):
    res = []
    for p in pts:
        if only:
            if not re.fullmatch(only, p["name"]):
                continue
        elif p["extra"]:
            continue
        if exclude and re.fullmatch(exclude, p["name"]):
            continue
        res.append(p)
    return res


# ---- conf and check -------------------------------------------------------------

def cmd_points(a):
    json.dump(select(points(a.unit), a.only, a.exclude), sys.stdout, indent=1)
    print()


def cmd_conf(a):
    for p in select(points(a.unit), a.only, a.exclude):
        print('[metric "%s.%s"]' % (a.device, p["name"]))
        print("table = %s" % p["table"])
        print("address = %d" % p["address"])
        print("type = %s" % p["type"])
        if p["order"]:
            print("order = %s" % p["order"])
        if p["bits"] is not None:
            print("bits = %s" % p["bits"])
        if p["scale"] is not None:
            print("scale = %r" % p["scale"])
        if p["offset"] is not None:
            print("offset = %r" % p["offset"])
        print("interval = %s" % a.interval)
        for kv in a.extra:
            print(kv)
        print()


def cmd_check(a):
    want = {p["name"]: p for p in select(points(a.unit), a.only, a.exclude)}
    prefix = a.path_prefix + "."
    seen = {n: 0 for n in want}
    errors = 0

    def err(msg):
        nonlocal errors
        errors += 1
        if errors <= 30:
            print("  MISMATCH: " + msg)

    with open(a.copy) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 3 or not parts[0].startswith(prefix):
                continue
            name = parts[0][len(prefix):]
            if name not in want:
                if a.strict:
                    err("line %d: %s is not a point of this check" % (n, parts[0]))
                continue
            seen[name] += 1
            try:
                v = float(parts[1])
            except ValueError:
                err("line %d: %r is not a number" % (n, parts[1]))
                continue
            exp = want[name]["expect"]
            if not (v == exp or (math.isnan(v) and math.isnan(exp))):
                p = want[name]
                err("%s (%s %d %s%s%s): liotad %s, expected %r (raw %r)"
                    % (name, p["table"], p["address"], p["type"],
                       " " + p["order"] if p["order"] else "",
                       " bits " + p["bits"] if p["bits"] is not None else "",
                       parts[1], exp, p["raw"]))
    for name, c in sorted(seen.items()):
        if c < a.min_samples:
            err("%s: %d samples, expected at least %d" % (name, c, a.min_samples))
    total = sum(seen.values())
    print("check %s (unit %d): %d points, %d samples, %d problems"
          % (a.path_prefix, a.unit, len(want), total, errors))
    sys.exit(1 if errors else 0)


# ---- the server ----------------------------------------------------------------------

class State:
    def __init__(self, a):
        self.a = a
        self.total = 0
        self.answered = 0
        self.exceptions = 0
        self.muted = 0
        self.connections = 0
        self.closes = 0
        self.by_fc = {}
        self.by_unit = {}
        self.by_request = {}
        self.mute_start = None
        self.mute_over = False
        self.dumps = 0
        self.dirty = True
        self.fail = []
        for f in a.fail:
            parts = f.split(":")
            if parts[0] not in TABLES or len(parts) not in (2, 3):
                raise SystemExit("--fail %s: expected TABLE:ADDRESS[:CODE]" % f)
            self.fail.append((TABLES[parts[0]], int(parts[1]),
                              int(parts[2]) if len(parts) == 3 else 4))

    def count(self, req):
        fc = req.function_code
        addr = getattr(req, "address", -1)
        cnt = getattr(req, "count", 0)
        self.total += 1
        self.by_fc[str(fc)] = self.by_fc.get(str(fc), 0) + 1
        self.by_unit[str(req.unit_id)] = self.by_unit.get(str(req.unit_id), 0) + 1
        key = "%d/%d/%d/%d" % (req.unit_id, fc, addr, cnt)
        self.by_request[key] = self.by_request.get(key, 0) + 1
        self.dirty = True

    def is_muted(self):
        a = self.a
        if a.mute_after is None or self.total <= a.mute_after or self.mute_over:
            return False
        now = time.monotonic()
        if self.mute_start is None:
            self.mute_start = now
            log("muted after %d requests%s" % (a.mute_after,
                " for %g s" % a.mute_for if a.mute_for else ""))
        if a.mute_for and now - self.mute_start >= a.mute_for:
            self.mute_over = True
            log("answering again after %d unanswered requests" % self.muted)
            return False
        self.muted += 1
        return True

    def failure(self, req):
        fc = req.function_code
        addr = getattr(req, "address", None)
        cnt = getattr(req, "count", 1)
        for f_fc, f_addr, code in self.fail:
            if fc == f_fc and addr is not None and addr <= f_addr < addr + cnt:
                return code
        return None

    def dump(self):
        if not self.a.counts:
            return
        self.dumps += 1
        d = {"dumps": self.dumps, "time": time.time(), "total": self.total,
             "answered": self.answered, "exceptions": self.exceptions,
             "muted": self.muted, "mute_over": self.mute_over,
             "connections": self.connections, "closes": self.closes,
             "by_fc": self.by_fc, "by_unit": self.by_unit, "by_request": self.by_request}
        tmp = self.a.counts + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f, sort_keys=True)
        os.replace(tmp, self.a.counts)
        self.dirty = False


STATE = None


def log(msg):
    print("modbus_server: %s" % msg, file=sys.stderr, flush=True)


def make_handler(base):
    class Handler(base):
        answered_here = 0

        def connection_made(self, transport):
            STATE.connections += 1
            STATE.dirty = True
            super().connection_made(transport)

        def execute(self, request, *addr):
            st = STATE
            st.count(request)
            if request.unit_id not in st.units:
                return  # nobody there: no answer, as on a bus
            if st.is_muted():
                return
            code = st.failure(request)
            if code is not None:
                response = request.doException(code)
                response.transaction_id = request.transaction_id
                response.unit_id = request.unit_id
                self.send(response, *addr)
            else:
                super().execute(request, *addr)
            self.answered_here += 1
            a = st.a
            if (a.close_after and self.answered_here == a.close_after
                    and st.closes < a.close_times and hasattr(self, "client_address")):
                st.closes += 1
                log("closing connection %d after %d requests" % (st.connections,
                                                                 self.answered_here))
                self.transport.close()  # after what is written: the reply goes first

        def send(self, message, *addr, **kwargs):
            STATE.answered += 1
            if message.isError():
                STATE.exceptions += 1
            STATE.dirty = True
            super().send(message, *addr, **kwargs)
    return Handler


async def serve(a):
    import asyncio
    import logging
    from pymodbus.datastore import (ModbusServerContext, ModbusSlaveContext,
                                    ModbusSparseDataBlock)
    from pymodbus.server.async_io import (ModbusConnectedRequestHandler, ModbusSerialServer,
                                          ModbusSingleRequestHandler, ModbusTcpServer)
    from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

    # pymodbus logs a closed connection as an ERROR: not news here.
    logging.basicConfig(level=logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    global STATE
    STATE = State(a)
    units = [int(u) for u in a.units.split(",")]
    slaves = {}
    for u in units:
        t = tables(u)
        # zero_mode: protocol address N is index N (otherwise N + 1).
        slaves[u] = ModbusSlaveContext(
            co=ModbusSparseDataBlock(t["coil"]), di=ModbusSparseDataBlock(t["discrete"]),
            hr=ModbusSparseDataBlock(t["holding"]), ir=ModbusSparseDataBlock(t["input"]),
            zero_mode=True)
    STATE.units = set(units)

    class AllUnits(ModbusServerContext):
        """Every unit id reaches execute(), so that requests to units that
        are not served are counted too (and left unanswered there)."""

        def slaves(self):
            return list(range(248))

    ctx = AllUnits(slaves=slaves, single=False)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, STATE.dump)
    loop.call_later(a.max_seconds, lambda: (log("--max-seconds %g reached" % a.max_seconds),
                                            stop.set()))

    async def ticker():
        while True:
            await asyncio.sleep(0.1)
            if STATE.dirty:
                STATE.dump()

    if a.tcp is not None:
        server = ModbusTcpServer(ctx, framer=ModbusSocketFramer, address=("127.0.0.1", a.tcp),
                                 handler=make_handler(ModbusConnectedRequestHandler),
                                 allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await asyncio.wait([server.serving, task], return_when=asyncio.FIRST_COMPLETED)
        if not server.serving.done():
            raise SystemExit("cannot listen on 127.0.0.1:%d" % a.tcp)
        port = server.server.sockets[0].getsockname()[1]
        where = "127.0.0.1:%d" % port
    else:
        server = ModbusSerialServer(ctx, framer=ModbusRtuFramer, port=a.rtu, baudrate=a.baud,
                                    parity=a.parity, bytesize=a.bytesize, stopbits=a.stopbits,
                                    handler=make_handler(ModbusSingleRequestHandler))
        await server.start()
        if server.transport is None:
            raise SystemExit("cannot open %s" % a.rtu)
        port = None
        where = "%s %d %s%d%d" % (a.rtu, a.baud, a.parity, a.bytesize, a.stopbits)
    STATE.dump()
    tick = asyncio.create_task(ticker())
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            json.dump({"port": port, "pid": os.getpid()}, f)
        os.replace(a.ready + ".tmp", a.ready)
    log("serving units %s on %s" % (a.units, where))
    await stop.wait()
    tick.cancel()
    STATE.dump()
    log("stopping: %d requests, %d answered, %d exceptions, %d unanswered, %d connections"
        % (STATE.total, STATE.answered, STATE.exceptions,
           STATE.muted, STATE.connections))
    # Stop without waiting for handlers blocked on a peer.
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--tcp", type=int, metavar="PORT", help="listen on 127.0.0.1:PORT (0: any)")
    g.add_argument("--rtu", metavar="PATH", help="serve RTU on this serial device")
    s.add_argument("--baud", type=int, default=19200)
    s.add_argument("--parity", choices="NEO", default="N")
    s.add_argument("--bytesize", type=int, default=8)
    s.add_argument("--stopbits", type=int, default=1)
    s.add_argument("--units", default="1", help="unit ids served, e.g. 1,2")
    s.add_argument("--ready", help="write {port, pid} here once serving")
    s.add_argument("--counts", help="write the request counts here")
    s.add_argument("--close-after", type=int, default=0)
    s.add_argument("--close-times", type=int, default=1)
    s.add_argument("--mute-after", type=int)
    s.add_argument("--mute-for", type=float, default=0)
    s.add_argument("--fail", action="append", default=[])
    s.add_argument("--max-seconds", type=float, default=120)
    for name in ("points", "conf", "check"):
        c = sub.add_parser(name)
        if name == "conf":
            c.add_argument("device")
            c.add_argument("--interval", default="1s")
            c.add_argument("--extra", action="append", default=[],
                           help="a line added to every section")
        if name == "check":
            c.add_argument("--copy", required=True)
            c.add_argument("--path-prefix", required=True)
            c.add_argument("--min-samples", type=int, default=1)
            c.add_argument("--strict", action="store_true",
                           help="a line of the prefix for another point is an error")
        c.add_argument("--unit", type=int, default=1)
        c.add_argument("--only", help="points whose name matches (block points included)")
        c.add_argument("--exclude")
    a = ap.parse_args()
    if a.cmd == "serve":
        import asyncio
        asyncio.run(serve(a))
    else:
        {"points": cmd_points, "conf": cmd_conf, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    main()
