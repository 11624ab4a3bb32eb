#!/usr/bin/env python3
"""A TCP echo server and a checking client, for labs and tests.

  echo.py serve PORT              echo every byte back, one thread per client
  echo.py check HOST PORT BYTES   send BYTES random bytes, expect them back
                                  byte for byte; exit 0 only if they match
  echo.py streams HOST PORT N SECONDS
                                  N long-lived connections, each sending and
                                  checking data continuously for SECONDS; a
                                  connection is lost on a reset, a stall over
                                  3 s or a wrong byte. Prints "lost L of N"
                                  and exits 0 only if none was lost.
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


STALL = 3.0


def stream(host, port, seconds, results, i):
    """One connection: 1 KiB chunks, each echoed before the next."""
    import time
    try:
        with socket.create_connection((host, port), timeout=STALL) as s:
            s.settimeout(STALL)
            end = time.monotonic() + seconds
            sent = 0
            while time.monotonic() < end:
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
                sent += len(chunk)
                time.sleep(0.02)
        results[i] = None
    except Exception as e:  # reset, timeout (stall), mismatch
        results[i] = f"{type(e).__name__}: {e}"


def streams(host, port, n, seconds):
    import threading
    results = [None] * n
    threads = [threading.Thread(target=stream, args=(host, port, seconds, results, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = [r for r in results if r]
    print(f"lost {len(lost)} of {n}")
    for r in lost[:10]:
        print(f"  {r}", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["streams"]:
        sys.exit(streams(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    elif sys.argv[1:2] == ["check"]:
        sys.exit(check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        sys.exit(__doc__)
