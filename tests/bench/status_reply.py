#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""scale-3-status.sh's raw client: the time a daemon takes to answer.

  status_reply.py SOCK
      liotad: connect, send "status", read the reply until liotad closes,
      check that it is one whole JSON document; print "MS BYTES":
      milliseconds from connect to the last byte, and the reply's size.
  status_reply.py --listval SOCK
      collectd's unixsock plugin: the same for LISTVAL ("N Values found",
      then one line per value: time and identifier).
  Exit 1 on a bad reply.
"""
import json
import socket
import sys
import time


def listval(path):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"LISTVAL\n")
    f = s.makefile("rb")
    head = f.readline()
    n = int(head.split()[0])
    size = len(head)
    if n < 0:
        sys.exit("status_reply.py: collectd says %r" % head)
    for _ in range(n):
        line = f.readline()
        if not line.endswith(b"\n"):
            sys.exit("status_reply.py: LISTVAL ended early")
        size += len(line)
    ms = (time.monotonic() - t0) * 1e3
    print("%.2f %d" % (ms, size))


def main():
    if sys.argv[1] == "--listval":
        listval(sys.argv[2])
        return
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(b"status\n")
    parts = []
    while True:
        data = s.recv(1 << 20)
        if not data:
            break
        parts.append(data)
    ms = (time.monotonic() - t0) * 1e3
    reply = b"".join(parts)
    try:
        json.loads(reply)
    except ValueError as e:
        sys.exit("status_reply.py: not one JSON document (%d bytes): %s" % (len(reply), e))
    print("%.2f %d" % (ms, len(reply)))


if __name__ == "__main__":
    main()
