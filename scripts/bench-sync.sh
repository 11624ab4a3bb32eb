#!/usr/bin/env bash
# Flow-state sync between directors in a lab, for docs/benchmarks.md:
# labs/ecmp-fullnat (four FULLNAT directors lb1-lb4 with [cluster], FRR r1
# spreading the client's flows over them by ECMP), copied to a temporary
# directory as lab "xsync". Two parts:
#
#  delay      FLOWS SYNs to the VIP from the client, one at a time (raw
#             SYNs from addresses no host has, with a wrong TCP checksum,
#             so nothing answers them: only the SYN matters): for each,
#             the time from its entry appearing in the connection table
#             of the director the router picked (its owner) until it
#             appears in each peer's. The four pinned `conntrack` maps are
#             polled for the flow's key with bpf(2) lookups every 0.5 ms
#             (scripts/bench-sync-probe.py): resolution about 0.6 ms.
#  transfer   ENTRIES more such SYNs at RATE a second (every director
#             holds them all once sync has spread them: timed too), then
#             ROUNDS times: lb4's xlvsd stopped (SIGTERM), its pins removed
#             (maps and links: its XDP program detaches and its table is
#             gone), and xlvsd started again: from its log, the time from
#             its start and from its BulkRequest until the table is
#             fetched and installed, with the entries, the requests made
#             (and the most records one of them got, when it took more
#             than one), what the peers sent it (their sync counters: the
#             transfers and Hellos), and the datagrams lb4's kernel
#             dropped for a full receive buffer (UdpRcvbufErrors in its
#             namespace).
#
#  FILL       (when set) before the restarts, FILL more entries written
#             straight into the four pinned connection tables as a synced
#             cluster holds them (lb1's own, the others' copies of lb1's),
#             for transfers larger than live sync fills in a lab: the
#             directors' tables are then sized for 2,097,152 entries and
#             the restarted lb4's bulk_timeout is 120 s.
#
#   sudo scripts/bench-sync.sh
#   sudo ENTRIES=100000 RATE=10000 ROUNDS=2 scripts/bench-sync.sh
#   sudo FILL=1000000 ROUNDS=2 LIMIT=300 scripts/bench-sync.sh
#
# Environment: FLOWS (200), ENTRIES (50000), RATE (5000 SYNs a second), FILL (0),
# ROUNDS (3 restarts), BIN_DIR (target/debug of this checkout, built first
# unless BUILD=0), LIMIT (seconds a step may take, 60), LOG_DIR (keeps
# the probe's output and the directors' logs). Needs python3. Takes the
# lab tests' host lock, and always takes its lab down again.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
bench=bench-sync
ROUNDS=${ROUNDS:-3}
source scripts/bench-lib.sh
LIMIT=${LIMIT:-60}
FLOWS=${FLOWS:-200}
ENTRIES=${ENTRIES:-50000}
RATE=${RATE:-5000}
lab=xsync
vip=192.0.2.50
[[ "$FLOWS" =~ ^[1-9][0-9]*$ && "$FLOWS" -le 5000 ]] || die "FLOWS must be 1..5000"
[[ "$ENTRIES" =~ ^[1-9][0-9]*$ && "$ENTRIES" -le 1000000 ]] || die "ENTRIES must be 1..1000000"
[[ "$RATE" =~ ^[1-9][0-9]*$ ]] || die "RATE must be a number of SYNs a second"
FILL=${FILL:-0}
[[ "$FILL" =~ ^[0-9]+$ && "$FILL" -le 2000000 ]] || die "FILL must be 0..2000000"
[ "$(uname -m)" = x86_64 ] || die "the probe calls bpf(2) by its x86_64 number"
command -v python3 >/dev/null || die "needs python3"
bench_start

work=$(mktemp -d /tmp/xlvs-sync.XXXXXX)
topo=$work/labs/$lab.clab.yml
lab_up=0
xlvsd_pid=
cleanup() {
    set +e
    if [ -n "${LOG_DIR:-}" ]; then
        mkdir -p "$LOG_DIR"
        cp "$work"/*.txt "$work"/*.log "$LOG_DIR/" 2>/dev/null
        for lb in lb1 lb2 lb3 lb4; do
            cp "/run/xlvs-lab/$lab/$lb/xlvsd.log" "$LOG_DIR/$lb-lab.log" 2>/dev/null
        done
    fi
    [ -n "$xlvsd_pid" ] && kill "$xlvsd_pid" 2>/dev/null
    [ "$lab_up" = 1 ] && "$xlvs_lab" down "$topo" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/labs"
# The client binds quickstart's echo.py.
cp -r labs/ecmp-fullnat labs/quickstart "$work/labs/"
sed 's/^name: ecmp-fullnat$/name: xsync/' labs/ecmp-fullnat.clab.yml >"$topo"
cp scripts/bench-sync-probe.py "$work/"
if [ "$FILL" -gt 0 ]; then
    for f in "$work"/labs/ecmp-fullnat/lb[1-4].toml; do
        sed -i 's/^\[dataplane\]$/[dataplane]\nconntrack_entries = 2097152/' "$f"
        grep -q '^conntrack_entries = 2097152$' "$f" || die "$f: could not size the table for FILL"
    done
fi
lbs=(lb1 lb2 lb3 lb4)
# The directors' configs pin and listen under these names whatever the
# lab is called.
pins() { echo "/run/xlvs/bpf/ecmp-fullnat-$1"; }
sock() { echo "/run/xlvs/ecmp-fullnat-$1.sock"; }
maps=()
for lb in "${lbs[@]}"; do maps+=("$(pins "$lb")/conntrack"); done
probe() { ip netns exec "clab-$lab-client" python3 "$work/bench-sync-probe.py" "$@"; }
# Seconds since epoch microseconds $1, 3 decimals.
since() { seconds_since "$1" 3; }

# Polls `$@` every 50 ms until it succeeds, at most LIMIT seconds.
wait_for() {
    local what=$1 end=$(($(now_us) + LIMIT * 1000000))
    shift
    until "$@"; do
        [ "$(now_us)" -lt "$end" ] || die "$what: not within $LIMIT s"
        sleep 0.05
    done
}
# r1 sends the VIP to every director.
four_hops() { [ "$(ip -n "clab-$lab-r1" -o route show "$vip" | grep -o 'via' | wc -l)" -eq 4 ]; }
# Every director has its three sync peers up (its metrics say so).
peers_up() {
    local lb n
    for lb in "${lbs[@]}"; do
        n=$(ip netns exec "clab-$lab-$lb" curl -s -m 2 http://127.0.0.1:9478/metrics |
            grep -c '^xlvs_sync_peer_up{.*} 1$' || true)
        [ "$n" -eq 3 ] || return 1
    done
}
# One field of a director's `xlvsadm sync` report, by a python expression
# on `r` (the report).
sync_field() {
    "$BIN_DIR/xlvsadm" --socket "$(sock "$1")" --json sync |
        python3 -c "import json, sys; r = json.load(sys.stdin); print($2)"
}
# The sync counters of director $1 for the peer with address $2:
# "datagrams_sent entries_sent".
sent_to() {
    sync_field "$1" "' '.join(str(p['counters'][k]) for p in r['protocol']['peers'] if p['addr'] == '$2' for k in ('datagrams_sent', 'entries_sent'))"
}

# Datagrams lb4's kernel dropped for a full socket receive buffer (its
# namespace's counter: it survives xlvsd restarts).
rcvbuf_errors() {
    ip netns exec "clab-$lab-lb4" awk '$1 == "Udp:" && !h {for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next}
        $1 == "Udp:" {print $c["RcvbufErrors"]}' /proc/net/snmp
}

t=$(now_us)
"$xlvs_lab" up "$topo" >/dev/null
lab_up=1
wait_for "four next hops on r1" four_hops
wait_for "every sync peer up" peers_up
echo "lab $lab up, four next hops and every sync peer up after $(since "$t") s"
for lb in "${lbs[@]}"; do
    echo "  $lb: table $(sync_field "$lb" "r['protocol']['bulk']['status']")"
done

echo
echo "== delay: a new flow's entry on its owner, then on its peers ($FLOWS SYNs) =="
probe delay "$FLOWS" "$vip" 80 "${maps[@]}" | tee "$work/delay.txt" | tail -n 9

echo
echo "== transfer: $ENTRIES entries spread by sync, then lb4 restarted without its pins =="
before=$(probe count "$vip" "${maps[@]}")
probe burst "$ENTRIES" "$RATE" "$vip" 80
t=$(now_us)
# Every director holds every entry: the burst's and the delay part's.
want=$((ENTRIES + FLOWS))
all_held() {
    local n
    for n in $(probe count "$vip" "${maps[@]}"); do
        [ "$n" -ge "$want" ] || return 1
    done
}
wait_for "every director holding $want entries" all_held
echo "every director held $want entries $(since "$t") s after the last SYN (before the burst: $before)"
if [ "$FILL" -gt 0 ]; then
    # lb1's entries, and its peers' copies of them (owner: lb1's sync
    # address).
    probe fill "$FILL" "$vip" 10.0.2.11 "${maps[@]}"
    want=$((want + FILL))
    wait_for "every director holding $want entries" all_held
fi
echo "  entries held: $(probe count "$vip" "${maps[@]}") (lb1 lb2 lb3 lb4)"

if [ "$FILL" -gt 0 ]; then
    # Read when lb4 starts again (at the cluster's cold start every
    # director waits bulk_timeout for a Ready peer: kept short there).
    f=$work/labs/ecmp-fullnat/lb4.toml
    sed -i 's/^\[cluster\]$/[cluster]\nbulk_timeout = "120s"/' "$f"
    grep -q '^bulk_timeout = "120s"$' "$f" || die "$f: could not set bulk_timeout"
fi
lb4_pid=$("$xlvs_lab" status "$topo" --json | python3 -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    if n["name"] == "lb4":
        print(next(p["pid"] for p in n["processes"] if p["name"] == "xlvsd"))')
cols='%-6s %8s %9s %9s %12s %13s %7s %10s %10s %14s %7s %9s\n'
# shellcheck disable=SC2059 # one format for the head and the rows
printf "$cols" round entries requests "start->req" "req->fetched" "start->fetched" \
    server datagrams records "most in a req" rcvbuf "lb4 holds"
rows=()
for round in $(seq "$ROUNDS"); do
    pid=${xlvsd_pid:-$lb4_pid}
    kill -TERM "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    wait_for "lb4's xlvsd gone" gone
    xlvsd_pid=
    rm -rf "$(pins lb4)"
    # What each peer has sent lb4 so far (the server is one of them).
    declare -A sent_before=()
    for lb in lb1 lb2 lb3; do sent_before[$lb]=$(sent_to "$lb" 10.0.2.14); done
    log=$work/lb4-$round.log
    drops0=$(rcvbuf_errors)
    start=$(now_us)
    ip netns exec "clab-$lab-lb4" "$BIN_DIR/xlvsd" --config "$work/labs/ecmp-fullnat/lb4.toml" >"$log" 2>&1 &
    xlvsd_pid=$!
    settled() { grep -qs -e "the cluster's table fetched" -e "no table fetched" "$log"; }
    wait_for "lb4's table" settled
    # From the log's timestamps (µs): start -> first BulkRequest ->
    # fetched and installed (the driver logs it after the Installs).
    read -r entries requests to_req to_done total server best < <(python3 - "$log" "$start" <<'EOF'
import re, sys
from datetime import datetime
log, start = sys.argv[1], int(sys.argv[2]) / 1e6
def at(line):
    return datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
requests, first, done, entries, server, best = 0, None, None, "-", "-", []
for line in open(log):
    if "sync table requested" in line:
        requests += 1
        first = first or at(line)
        server = re.search(r"peer=([0-9.]+)", line).group(1)
    elif "requesting again" in line:
        got = re.search(r"received=(\d+)", line)
        total = re.search(r"total=(\d+)", line)
        best.append((int(got.group(1)), total.group(1) if total else "?"))
    elif "the cluster's table fetched" in line:
        done = at(line)
        entries = re.search(r"entries=(\d+)", line).group(1)
    elif "no table fetched" in line:
        done, entries = at(line), "FAILED"
f = lambda s: f"{s:.3f}"
most = "%d/%s" % max(best) if best else "-"
print(entries, requests, f(first - start) if first else "-",
      f(done - first) if first else "-", f(done - start), server, most)
EOF
)
    # The (last) server, and what the peers sent lb4 since the restart:
    # the transfers, and Hellos.
    case $server in
    10.0.2.1[1-3]) srv=lb${server: -1} ;;
    *) srv=- ;;
    esac
    dgrams=0 records=0
    for lb in lb1 lb2 lb3; do
        read -r d0 e0 <<<"${sent_before[$lb]}"
        read -r d1 e1 <<<"$(sent_to "$lb" 10.0.2.14)"
        dgrams=$((dgrams + d1 - d0)) records=$((records + e1 - e0))
    done
    holds=$(probe count "$vip" "$(pins lb4)/conntrack")
    drops=$(($(rcvbuf_errors) - drops0))
    # shellcheck disable=SC2059
    printf "$cols" "$round" "$entries" "$requests" "$to_req" "$to_done" "$total" \
        "$srv" "$dgrams" "$records" "$best" "$drops" "$holds"
    rows+=("$to_req $to_done $total")
    echo "  lb4 installed $(sync_field lb4 "r['table']['installed']"), left out $(sync_field lb4 "r['table']['not_installed']")"
    # lb4 announces again once its table is in: the next round starts
    # from four next hops.
    wait_for "lb4 back on r1" four_hops
    sleep 2
done
col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | median; }
echo
echo "medians (seconds): start->request $(col 1), request->fetched $(col 2), start->fetched $(col 3)"
