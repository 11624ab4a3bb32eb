#!/usr/bin/env python3
"""A TCP echo server and a checking client, for labs and tests.

  echo.py serve PORT              echo every byte back, one thread per client
  echo.py check HOST PORT BYTES   send BYTES random bytes, expect them back
                                  byte for byte; exit 0 only if they match
  echo.py streams HOST PORT N SECONDS [--stall S] [--sources A,B,...]
                                  N long-lived connections, each sending and
                                  checking data continuously for SECONDS; a
                                  connection is lost on a reset, a stall over
                                  S seconds (default 3) or a wrong byte.
                                  Prints "lost L of N, longest stall T", then
                                  "lost ADDR:PORT: REASON" on stderr for each
                                  lost one (its local address and port; the
                                  reason ends with the connection's age), and
                                  exits 0 only if none was lost. SIGINT ends
                                  the run early: each connection stops after
                                  its current echo and the report follows.
"""
import os
import socket
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(port):
    with Server(("0.0.0.0", port), Echo) as s:
        s.serve_forever()


def check(host, port, size):
    sent = os.urandom(size)
    with socket.create_connection((host, port), timeout=10) as s:
        s.settimeout(10)
        got = bytearray()
        view = memoryview(sent)
        offset = 0
        while len(got) < size:
            if offset < size:
                offset += s.send(view[offset:offset + 65536])
            try:
                s.setblocking(offset >= size)
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            finally:
                s.settimeout(10)
            if not chunk:
                break
            got += chunk
    if bytes(got) != sent:
        print(f"MISMATCH: sent {size} bytes, got {len(got)} back", file=sys.stderr)
        return 1
    print(f"OK {size} bytes echoed")
    return 0


def stream(host, port, seconds, stall, source, results, i, stop):
    """One connection: 1 KiB chunks, each echoed before the next, until
    `seconds` pass or `stop` is set. Records None (kept) or the reason it
    was lost, its longest stall and its local ADDR:PORT."""
    import time
    begun = time.monotonic()
    longest = 0.0
    local = "?"
    try:
        src = (source, 0) if source else None
        with socket.create_connection((host, port), timeout=stall, source_address=src) as s:
            local = "%s:%d" % s.getsockname()[:2]
            s.settimeout(stall)
            end = time.monotonic() + seconds
            last = time.monotonic()
            while time.monotonic() < end and not stop.is_set():
                chunk = os.urandom(1024)
                s.sendall(chunk)
                got = b""
                while len(got) < len(chunk):
                    part = s.recv(len(chunk) - len(got))
                    if not part:
                        raise ConnectionError("closed by peer")
                    got += part
                if got != chunk:
                    raise ValueError("wrong bytes")
                now = time.monotonic()
                longest = max(longest, now - last)
                last = now
                time.sleep(0.02)
        results[i] = (None, longest, local)
    except Exception as e:  # reset, timeout (a stall), mismatch
        at = time.monotonic() - begun
        results[i] = (f"{type(e).__name__}: {e} (at {at:.1f}s)", longest, local)


def streams(argv):
    import argparse
    import signal
    import threading
    ap = argparse.ArgumentParser(prog="echo.py streams")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--stall", type=float, default=3.0,
                    help="seconds without an echo that count as a lost connection")
    ap.add_argument("--sources", default="",
                    help="comma-separated local addresses, used in turn")
    a = ap.parse_args(argv)
    sources = [x for x in a.sources.split(",") if x] or [None]
    results = [None] * a.count
    stop = threading.Event()
    # Tests end the run when their cases are done rather than guess a length.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [
        threading.Thread(target=stream, args=(a.host, a.port, a.seconds, a.stall,
                                              sources[i % len(sources)], results, i,
                                              stop))
        for i in range(a.count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = [r for r in results if r[0]]
    longest = max(r[1] for r in results)
    print(f"lost {len(lost)} of {a.count}, longest stall {longest:.2f}s")
    for reason, _, local in lost:
        print(f"lost {local}: {reason}", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["streams"]:
        sys.exit(streams(sys.argv[2:]))
    elif sys.argv[1:2] == ["check"]:
        sys.exit(check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        sys.exit(__doc__)
