"""Hostile TCP clients for tests that Deno cannot script: Deno.connect has no local-address
option and no SO_LINGER. Bounded in count and time; loopback only.

  --mode rst    connect, then close with SO_LINGER 0 (the peer sees RST), --count times
  --mode stall  connect --count sockets, each bound to its own source address 127.1.x.y when
                --src=spread (else 127.0.0.1), send --min-bytes..--max-bytes of an ephemeral-key
                message, print one JSON line {"connected": n, "failed": m}, then hold them open
                until --hold seconds pass or stdin closes, and close them all.
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["rst", "stall"], required=True)
p.add_argument("--count", type=int, default=1)
p.add_argument("--src", choices=["spread", "single"], default="single")
p.add_argument("--min-bytes", type=int, default=0)
p.add_argument("--max-bytes", type=int, default=0)
p.add_argument("--hold", type=float, default=10.0)
p.add_argument("--connect-timeout", type=float, default=3.0)
a = p.parse_args()

if not a.host.startswith("127."):
    sys.exit("loopback only")
if a.count > 5000 or a.hold > 120:
    sys.exit("bounded: count <= 5000, hold <= 120 s")

LINGER0 = struct.pack("ii", 1, 0)


def source(i):
    if a.src == "single":
        return "127.0.0.1"
    return "127.1.%d.%d" % (1 + i // 250, 1 + i % 250)


def eph_prefix(n):
    # The start of a SecretConnection ephemeral-key message: uvarint 34, field 1, length 32, key.
    msg = b"\x22\x0a\x20" + os.urandom(32)
    return msg[:n]


if a.mode == "rst":
    done = 0
    for i in range(a.count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        s.settimeout(a.connect_timeout)
        try:
            s.bind((source(i), 0))
            s.connect((a.host, a.port))
            done += 1
        except OSError:
            pass
        s.close()
    print(json.dumps({"connected": done, "failed": a.count - done}), flush=True)
    sys.exit(0)

socks = []
failed = 0
for i in range(a.count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    s.settimeout(a.connect_timeout)
    try:
        s.bind((source(i), 0))
        s.connect((a.host, a.port))
        n = random.randint(a.min_bytes, a.max_bytes)
        if n:
            s.sendall(eph_prefix(n))
        socks.append(s)
    except OSError:
        failed += 1
        s.close()
print(json.dumps({"connected": len(socks), "failed": failed}), flush=True)
deadline = time.monotonic() + a.hold
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    r, _, _ = select.select([sys.stdin], [], [], left)
    if r and not sys.stdin.buffer.read1(1):
        break  # stdin closed: the test is done with us
for s in socks:
    s.close()
