#!/usr/bin/env bash
# How fast a director's data plane follows the kernel, for
# docs/benchmarks.md: labs/quickstart (two DR directors lb1 and lb2 and the
# reals web1 and web2 on a bridge; FRR r1), copied to a temporary
# directory as lab "xhost". Each case runs ROUNDS times on lb1:
#
#  mac        lb1's neighbour entry for web1 (10.0.1.21) replaced with
#             another MAC (`ip neigh replace ... nud permanent`), then
#             with web1's own again: seconds from the command until lb1's
#             pinned `reals` map holds the new MAC for every slot of web1
#             (what the XDP program sends web1's packets to, cached flows
#             included once the flow cache is bumped);
#  recreate   lb1's eth1 deleted and at once cabled again to the bridge as
#             xlvs-lab does (a new interface: new index, new MAC), with its
#             address: seconds from the end of those commands until XDP is
#             attached to the new eth1, and until a probe frame (a SYN to
#             the VIP, sent every 5 ms from r1 to lb1's new MAC) is
#             forwarded by XDP (lb1's tx_dr counter grows). The outage is
#             shorter than the health checks' fall x interval (2 s), so
#             the reals stay up.
#
#   sudo scripts/bench-host-events.sh
#   sudo BIN_DIR=/tmp/xlvs-main/target/debug scripts/bench-host-events.sh   # another build
#
# Environment: ROUNDS (5), BIN_DIR (target/debug of this checkout, built
# first unless BUILD=0), LIMIT (seconds a change may take, 10). Takes the
# lab tests' host lock, and always takes its lab down again.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
bench=bench-host-events
source scripts/bench-lib.sh
LIMIT=${LIMIT:-10}
lab=xhost
vip=192.0.2.10
web1=10.0.1.21
other_mac=02:00:00:00:00:99
bench_start
command -v bpftool >/dev/null || die "needs bpftool (scripts/install-deps.sh)"

work=$(mktemp -d /tmp/xlvs-host.XXXXXX)
topo=$work/labs/$lab.clab.yml
lab_up=0
probe_pid=
cleanup() {
    set +e
    [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null
    [ "$lab_up" = 1 ] && "$xlvs_lab" down "$topo" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/labs"
cp -r labs/quickstart "$work/labs/"
sed 's/^name: quickstart$/name: xhost/' labs/quickstart.clab.yml >"$topo"
lb1=clab-$lab-lb1
r1=clab-$lab-r1
sw=clab-$lab-sw
# lb1's config pins under this name whatever the lab is called.
reals_map=/run/xlvs/bpf/quickstart-lb1/reals

in_lb1() { ip netns exec "$lb1" "$@"; }
mac_of() { ip -n "$1" -br link show "$2" | awk '{print $3}'; }
# lb1's data plane counter $1 (the control socket is a file: no need to
# enter the namespace).
counter() {
    local n
    n=$("$BIN_DIR/xlvsadm" --node lb1 --json dataplane 2>/dev/null |
        sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p")
    echo "${n:-0}"
}

# Polls `$2...` (a command that succeeds once the change is seen) every few
# ms from $1 (µs) for at most LIMIT seconds; prints the seconds, or never.
time_until() {
    local start=$1
    shift
    local end=$((start + LIMIT * 1000000))
    until "$@"; do
        [ "$(now_us)" -lt "$end" ] || {
            echo never
            return
        }
        sleep 0.002
    done
    seconds_since "$start" 3
}

"$xlvs_lab" up "$topo" >/dev/null
lab_up=1
web1_mac=$(mac_of "clab-$lab-web1" eth1)
# The slots of web1 in lb1's reals map (one per service port), as hex
# key bytes, once lb1 has programmed them.
web1_slots() {
    bpftool -j map dump pinned "$reals_map" 2>/dev/null | python3 -c '
import json, sys
want = [int(b) for b in sys.argv[1].split(".")]
for e in json.load(sys.stdin):
    v = [int(b, 16) for b in e["value"]]
    if v[:4] == want and v[12] == 1:
        print(" ".join(b[2:] for b in e["key"]))
' "$web1"
}
slots=()
for _ in $(seq 300); do
    mapfile -t slots < <(web1_slots || true)
    [ "${#slots[@]}" -gt 0 ] && break
    sleep 0.1
done
[ "${#slots[@]}" -gt 0 ] || die "lb1 never programmed web1"
# Whether every slot of web1 holds MAC $1 (bytes 7-12 of the value).
programmed() {
    local want slot got
    want=$(printf '0x%s,' ${1//:/ })
    for slot in "${slots[@]}"; do
        # shellcheck disable=SC2086 # the key is four byte words
        got=$(bpftool -j map lookup pinned "$reals_map" key hex $slot 2>/dev/null |
            sed 's/.*"value":\[\([^]]*\)\].*/\1/' | tr -d '"' | cut -d, -f7-12)
        [ "$got," = "$want" ] || return 1
    done
}
time_until "$(now_us)" programmed "$web1_mac" >/dev/null
programmed "$web1_mac" || die "lb1 never programmed web1's MAC"

echo "mac: seconds from 'ip neigh replace' on lb1 until its reals map holds the MAC"
printf '%-6s %-10s %s\n' round "other MAC" "web1's MAC again"
rows=()
for round in $(seq "$ROUNDS"); do
    t=$(now_us)
    in_lb1 ip neigh replace "$web1" lladdr "$other_mac" dev eth1 nud permanent
    away=$(time_until "$t" programmed "$other_mac")
    t=$(now_us)
    in_lb1 ip neigh replace "$web1" lladdr "$web1_mac" dev eth1 nud reachable
    back=$(time_until "$t" programmed "$web1_mac")
    printf '%-6s %-10s %s\n' "$round" "$away" "$back"
    rows+=("$away $back")
    # Health checks to web1 went to the other MAC meanwhile: let them pass
    # again (fall 2 x interval 1 s) before the next round.
    sleep 3
done
col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | median; }
mac_summary="mac       other MAC $(col 1), web1's MAC again $(col 2)"

# A SYN to the VIP from r1 to lb1's MAC $1 every 5 ms (until killed); its
# TCP checksum is left wrong, so the real that gets it drops it silently.
# Run in the background, it is the python process itself (exec), so its
# pid is the one to kill.
probe() {
    exec ip netns exec "$r1" python3 - "$1" "$(mac_of "$r1" eth2)" "$vip" <<'EOF'
import socket, struct, sys, time
dst, src, vip = sys.argv[1], sys.argv[2], sys.argv[3]
mac = lambda m: bytes(int(b, 16) for b in m.split(":"))
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
                 socket.inet_aton("10.0.0.2"), socket.inet_aton(vip))
words = struct.unpack("!10H", ip)
s = sum(words)
while s >> 16:
    s = (s & 0xFFFF) + (s >> 16)
ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
tcp = struct.pack("!HHIIBBHHH", 40999, 80, 1, 0, 5 << 4, 0x02, 64240, 0xDEAD, 0)
frame = mac(dst) + mac(src) + b"\x08\x00" + ip + tcp
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("eth2", 0))
while True:
    sock.send(frame)
    time.sleep(0.005)
EOF
}
attached() { in_lb1 ip link show eth1 2>/dev/null | grep -q 'prog/xdp'; }
forwarding() { [ "$(counter tx_dr)" -gt "$1" ]; }

echo
echo "recreate: seconds from lb1's eth1 cabled again until XDP is attached / forwards"
printf '%-6s %-9s %s\n' round attached forwards
rows=()
for round in $(seq "$ROUNDS"); do
    in_lb1 ip link del eth1
    ip link add name eth1 netns "$lb1" type veth peer name p1 netns "$sw"
    ip -n "$sw" link set p1 master sw
    ip -n "$sw" link set p1 up
    in_lb1 ip addr add 10.0.1.11/24 dev eth1
    in_lb1 ip link set eth1 up
    t=$(now_us)
    before=$(counter tx_dr)
    probe "$(mac_of "$lb1" eth1)" &
    probe_pid=$!
    on=$(time_until "$t" attached)
    fwd=$(time_until "$t" forwarding "$before")
    kill "$probe_pid"
    wait "$probe_pid" 2>/dev/null || true
    probe_pid=
    printf '%-6s %-9s %s\n' "$round" "$on" "$fwd"
    rows+=("$on $fwd")
    # The OSPF adjacency and health checks settle before the next round.
    sleep 5
    # An interface never attached again stays so: one round says it.
    [[ "$on" != never ]] || break
done
echo
echo "medians (seconds)"
echo "$mac_summary"
echo "recreate  attached $(col 1), forwards $(col 2)"
