#!/usr/bin/env python3
"""Flow-sync probes for scripts/bench-sync.sh, run in the lab's client
namespace (the directors' pinned maps are on the host's bpffs, which
`ip netns exec` leaves visible).

  delay COUNT VIP PORT MAP...   COUNT SYNs, one at a time; for each, the
                                time from sending it until its flow's entry
                                is in each director's connection table
                                (MAP: the pinned `conntrack` maps)
  burst COUNT RATE VIP PORT     COUNT SYNs of distinct flows, RATE a second
  count VIP MAP...              entries for VIP in each map
  fill COUNT VIP OWNER OWN PEER...
                                COUNT more entries for VIP written straight
                                into the pinned maps, the way a synced
                                cluster holds them: into OWN (the map of
                                the director with sync address OWNER) as
                                its own, into each PEER map as OWNER's
                                (copied from an entry there that OWNER
                                owns: that director's service and real
                                slots)

The SYNs are raw: sources 10.0.0.100-199, which no host in the lab has
(the router finds no neighbour for the answers and drops them), and a TCP
checksum left wrong, so a real drops the SYN silently after the director
forwarded it. Each creates a connection entry on the director the router
picks, which that director reports to its peers. The maps are read with
the bpf(2) system call directly (BPF_OBJ_GET, BPF_MAP_LOOKUP_ELEM,
BPF_MAP_LOOKUP_BATCH, BPF_MAP_UPDATE_BATCH): a lookup takes microseconds, where a bpftool
process takes milliseconds to start.
"""

import ctypes
import os
import socket
import struct
import sys
import time

NR_BPF = 321  # x86_64
BPF_MAP_LOOKUP_ELEM = 1
BPF_OBJ_GET = 7
BPF_MAP_LOOKUP_BATCH = 24
BPF_MAP_UPDATE_BATCH = 26
BATCH = 8192  # entries per batch call
KEY_LEN = 16  # struct flow_key
VALUE_LEN = 32  # struct conn; owner at offset 24
# Sleep between polling rounds: the resolution, traded against the CPU
# the poller takes from the directors on the same two cores.
POLL_SLEEP = 0.0005
LIMIT = 2.0  # seconds a flow may take to reach every director

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    return r, ctypes.get_errno()


def obj_get(path):
    name = ctypes.create_string_buffer(path.encode())
    attr = (ctypes.c_uint8 * 128)()
    struct.pack_into("=Q", attr, 0, ctypes.addressof(name))
    fd, err = bpf(BPF_OBJ_GET, attr)
    if fd < 0:
        sys.exit(f"{path}: {os.strerror(err)}")
    return fd


class Map:
    def __init__(self, path):
        self.fd = obj_get(path)
        self.key = ctypes.create_string_buffer(KEY_LEN)
        self.next = ctypes.create_string_buffer(KEY_LEN)
        self.value = ctypes.create_string_buffer(VALUE_LEN)
        self.attr = (ctypes.c_uint8 * 32)()

    def lookup(self, key):
        """The entry's value, or None."""
        self.key.raw = key
        struct.pack_into("=IIQQQ", self.attr, 0, self.fd, 0,
                         ctypes.addressof(self.key), ctypes.addressof(self.value), 0)
        r, _ = bpf(BPF_MAP_LOOKUP_ELEM, self.attr)
        return self.value.raw if r == 0 else None

    def batches(self):
        """Every key and value, BATCH at a time (BPF_MAP_LOOKUP_BATCH): a
        million entries in about a second, where a call per key takes
        tens."""
        keys = ctypes.create_string_buffer(KEY_LEN * BATCH)
        values = ctypes.create_string_buffer(VALUE_LEN * BATCH)
        cursor_in = ctypes.create_string_buffer(8)
        cursor_out = ctypes.create_string_buffer(8)
        attr = (ctypes.c_uint8 * 56)()
        first = True
        while True:
            struct.pack_into("=QQQQIIQQ", attr, 0,
                             0 if first else ctypes.addressof(cursor_in),
                             ctypes.addressof(cursor_out), ctypes.addressof(keys),
                             ctypes.addressof(values), BATCH, self.fd, 0, 0)
            r, err = bpf(BPF_MAP_LOOKUP_BATCH, attr)
            n = struct.unpack_from("=I", attr, 32)[0]
            if r != 0 and err != 2:  # ENOENT: the last batch
                sys.exit(f"lookup batch: {os.strerror(err)}")
            raw = keys.raw
            yield [raw[i * KEY_LEN:(i + 1) * KEY_LEN] for i in range(n)], values.raw
            if r != 0:
                return
            cursor_in.raw = cursor_out.raw
            first = False

    def update(self, pairs):
        """Writes (key, value) pairs, BATCH at a time."""
        attr = (ctypes.c_uint8 * 56)()
        for at in range(0, len(pairs), BATCH):
            chunk = pairs[at:at + BATCH]
            keys = ctypes.create_string_buffer(b"".join(k for k, _ in chunk))
            values = ctypes.create_string_buffer(b"".join(v for _, v in chunk))
            struct.pack_into("=QQQQIIQQ", attr, 0, 0, 0, ctypes.addressof(keys),
                             ctypes.addressof(values), len(chunk), self.fd, 0, 0)
            r, err = bpf(BPF_MAP_UPDATE_BATCH, attr)
            if r != 0:
                sys.exit(f"update batch: {os.strerror(err)}")


def flow_key(src, sport, vip, dport):
    return socket.inet_aton(src) + socket.inet_aton(vip) + struct.pack("!HHB3x", sport, dport, 6)


def checksum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, sport, vip, dport):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(vip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    # TCP checksum left wrong on purpose (0xDEAD): the real drops it.
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0xDEAD, 0)
    return ip + tcp


def flow(i):
    """The i-th probe flow: 100 sources, ports from 10000."""
    return f"10.0.0.{100 + i % 100}", 10000 + i // 100


def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    return s


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, -(-len(sorted_values) * p // 100) - 1)
    return sorted_values[int(k)]


def delay(count, vip, port, paths):
    maps = [Map(p) for p in paths]
    names = [os.path.basename(os.path.dirname(p)) for p in paths]
    s = raw_socket()
    # Flows of a range of their own (burst uses 0..): offset 5,000,000.
    base = 5_000_000
    first_peer, each_peer, all_peers, to_owner, lost = [], [], [], [], 0
    owners = [0] * len(maps)
    print("# flow owner send->owner_ms owner->peer_ms... (never: not within 2 s)")
    for i in range(count):
        src, sport = flow(base + i)
        key = flow_key(src, sport, vip, port)
        seen = [None] * len(maps)
        values = [None] * len(maps)
        t0 = time.perf_counter()
        s.sendto(syn(src, sport, vip, port), (vip, 0))
        while None in seen and time.perf_counter() - t0 < LIMIT:
            for j, m in enumerate(maps):
                if seen[j] is None:
                    v = m.lookup(key)
                    if v is not None:
                        seen[j] = time.perf_counter()
                        values[j] = v
            time.sleep(POLL_SLEEP)
        have = [t for t in seen if t is not None]
        if not have:
            print(f"{src}:{sport} nowhere")
            lost += 1
            continue
        owner = seen.index(min(have))
        # The owner's entry says 0 (this director); a peer's, the owner.
        if values[owner][24:28] != b"\0\0\0\0":
            print(f"{src}:{sport}: first seen on {names[owner]}, which holds a peer's copy")
        owners[owner] += 1
        t_owner = seen[owner]
        to_owner.append((t_owner - t0) * 1e3)
        peers = [(t - t_owner) * 1e3 if t is not None else None
                 for j, t in enumerate(seen) if j != owner]
        got = [d for d in peers if d is not None]
        each_peer.extend(got)
        if got:
            first_peer.append(min(got))
        if len(got) == len(peers):
            all_peers.append(max(got))
        else:
            lost += 1
        cells = " ".join("never" if d is None else f"{d:.2f}" for d in peers)
        print(f"{src}:{sport} {names[owner]} {(t_owner - t0) * 1e3:.2f} {cells}")
        # Apart from the last one's reports: each SYN is the first of
        # its tick on its CPU, and the flush of the last batch is done.
        time.sleep(0.05)
    print()
    print(f"flows: {count}, by owner: " + ", ".join(f"{n} {o}" for n, o in zip(names, owners)))
    print(f"not on every director within {LIMIT:.0f} s: {lost}")
    print("| delay (ms) | samples | median | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for what, v in [
        ("SYN sent -> entry on its owner", to_owner),
        ("owner -> entry on a peer (each peer)", each_peer),
        ("owner -> entry on the first peer", first_peer),
        ("owner -> entry on every peer (the last)", all_peers),
    ]:
        v = sorted(v)
        print(f"| {what} | {len(v)} | {percentile(v, 50):.2f} | {percentile(v, 90):.2f} "
              f"| {percentile(v, 99):.2f} | {(v[-1] if v else float('nan')):.2f} |")


def burst(count, rate, vip, port):
    s = raw_socket()
    start = time.perf_counter()
    for i in range(count):
        src, sport = flow(i)
        s.sendto(syn(src, sport, vip, port), (vip, 0))
        if i % 50 == 49:
            ahead = (i + 1) / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    print(f"{count} SYNs in {time.perf_counter() - start:.2f} s")


def count_entries(vip, paths):
    want = socket.inet_aton(vip)
    out = []
    for p in paths:
        n = sum(sum(1 for k in keys if k[4:8] == want) for keys, _ in Map(p).batches())
        out.append(str(n))
    print(" ".join(out))


def fill_flow(i):
    """The i-th filled flow: sources in 10.1.0.0/16 (not the probe's), 16
    ports each."""
    return f"10.1.{(i >> 12) & 255}.{(i >> 4) & 255}", 20000 + (i & 15)


def template(m, vip, owner):
    """The value of an entry for `vip` in map `m` owned by `owner` (4
    bytes; zero: the director's own)."""
    for keys, values in m.batches():
        for i, k in enumerate(keys):
            v = values[i * VALUE_LEN:(i + 1) * VALUE_LEN]
            if k[4:8] == vip and v[24:28] == owner:
                return v
    sys.exit(f"no entry owned by {socket.inet_ntoa(owner)} to copy")


def fill(count, vip, owner, own, peers):
    vip_b, owner_b = socket.inet_aton(vip), socket.inet_aton(owner)
    start = time.perf_counter()
    for path, whose in [(own, bytes(4))] + [(p, owner_b) for p in peers]:
        m = Map(path)
        v = template(m, vip_b, whose)
        pairs = []
        for i in range(count):
            src, sport = fill_flow(i)
            # FULLNAT: a local port per flow (struct conn's nat_port, bytes
            # 18-19), as far as they go; past 64,512 flows ports repeat on
            # other keys, which the table transfer does not mind.
            port = struct.pack("!H", 1024 + i % 64512)
            pairs.append((flow_key(src, sport, vip, 80), v[:18] + port + v[20:]))
        m.update(pairs)
    print(f"{count} entries written into {1 + len(peers)} maps in {time.perf_counter() - start:.2f} s")


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "delay":
        delay(int(args[0]), args[1], int(args[2]), args[3:])
    elif mode == "burst":
        burst(int(args[0]), int(args[1]), args[2], int(args[3]))
    elif mode == "count":
        count_entries(args[0], args[1:])
    elif mode == "fill":
        fill(int(args[0]), args[1], args[2], args[3], args[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
