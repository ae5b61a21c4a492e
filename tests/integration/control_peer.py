#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Misbehaving peers of the control socket, for control.test.

Clients of liotad's socket (each bounded in time, prints one result line):
  slow SOCK SECONDS     send one byte ("x") every 0.5 s, never a newline;
                        print "closed after T" when liotad drops it, or
                        "open after T" if it was still open after SECONDS
  idle SOCK SECONDS     connect and send nothing; as above
  noread SOCK SECONDS   send "status\\n" and never read the answer; as above
                        ("closed" when liotad gave up writing it)
  sip SOCK OUT CHUNK PAUSE SECONDS
                        send "status\\n", read the answer CHUNK bytes at a
                        time, pausing once after the first 256 KiB (liotad's
                        socket buffer fills meanwhile) for PAUSE s, or until
                        the file PAUSE exists when it is not a number (OUT.paused
                        is made when the pause begins); into OUT;
                        print "closed after T BYTES" when liotad closes, or
                        "open after T BYTES" if it had not after SECONDS

A server in liotad's place, answering the command lines liotactl sends:
  serve SOCK UID NFDS SECONDS
                        bind SOCK, become UID (if not the current one) before
                        listening, so that SO_PEERCRED shows UID; answer
                        "status" with a small status document, "metrics" with
                        an empty table and "ring" with {"generation": 1};
                        every answer carries NFDS descriptors (memfds) by
                        SCM_RIGHTS. Serves until SECONDS pass.
"""
import json
import os
import select
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def closed_by_peer(s, wait):
    """Wait up to @wait s for the peer to close: True when it did."""
    s.settimeout(max(wait, 0.01))
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def client(mode, path, seconds):
    s = connect(path)
    t0 = time.monotonic()
    end = t0 + seconds
    closed = False
    if mode == "noread":
        s.sendall(b"status\n")
        # Not reading: liotad's writes stop when the socket buffer is full.
        while time.monotonic() < end and not closed:
            time.sleep(0.05)
            closed = hung_up(s)
    else:
        while time.monotonic() < end and not closed:
            if mode == "slow":
                try:
                    s.send(b"x")
                except OSError:
                    closed = True
                    break
            closed = closed_by_peer(s, min(0.5, end - time.monotonic()))
    state = "closed" if closed else "open"
    print("%s after %.2f" % (state, time.monotonic() - t0), flush=True)


def sip(path, out, chunk, pause, seconds):
    s = connect(path)
    t0 = time.monotonic()
    end = t0 + seconds
    s.sendall(b"status\n")
    got = bytearray()
    paused = False
    closed = False
    while time.monotonic() < end:
        if not paused and len(got) >= 256 * 1024:
            paused = True
            open(out + ".paused", "w").close()
            try:
                time.sleep(float(pause))
            except ValueError:
                while not os.path.exists(pause) and time.monotonic() < end:
                    time.sleep(0.01)
        s.settimeout(max(end - time.monotonic(), 0.01))
        try:
            data = s.recv(chunk)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not data:
            closed = True
            break
        got += data
    with open(out, "wb") as f:
        f.write(got)
    state = "closed" if closed else "open"
    print("%s after %.2f %d" % (state, time.monotonic() - t0, len(got)), flush=True)


def hung_up(s):
    """Has the peer closed? Looks without reading the (unread) answer."""
    p = select.poll()
    p.register(s, select.POLLHUP)
    return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))


def serve(path, uid, nfds, seconds):
    answers = {
        "status": {"edge": {"name": "impostor", "id": "x"}, "pid": os.getpid(),
                   "uptime_s": 1.0, "reloads": 0, "totals": {}, "devices": [],
                   "ring": {"lanes": []}, "dccs": []},
        "metrics": {"generation": 1, "metrics": []},
        "ring": {"generation": 1},
    }
    fds = [os.memfd_create("fake-ring") for _ in range(nfds)]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    if uid != os.geteuid():
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    srv.listen(4)
    print("listening", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        srv.settimeout(max(end - time.monotonic(), 0.01))
        try:
            c, _ = srv.accept()
        except socket.timeout:
            break
        c.settimeout(2)
        try:
            line = c.recv(128).split(b"\n")[0].decode(errors="replace")
            doc = answers.get(line, {"error": "unknown command: " + line})
            data = json.dumps(doc).encode()
            if fds and line != "metrics":
                socket.send_fds(c, [data], fds)
            else:
                c.sendall(data)
        except OSError as e:
            print("serve: %s" % e, file=sys.stderr)
        c.close()


def main():
    mode = sys.argv[1]
    if mode in ("slow", "idle", "noread"):
        client(mode, sys.argv[2], float(sys.argv[3]))
    elif mode == "sip":
        sip(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    elif mode == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
