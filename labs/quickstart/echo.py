#!/usr/bin/env python3
"""A TCP echo server and a checking client, for labs and tests.

  echo.py serve PORT              echo every byte back, one thread per client
  echo.py check HOST PORT BYTES   send BYTES random bytes, expect them back
                                  byte for byte; exit 0 only if they match
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["check"]:
        sys.exit(check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        sys.exit(__doc__)
