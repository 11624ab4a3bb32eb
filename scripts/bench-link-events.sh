#!/usr/bin/env bash
# How fast a router's FIB follows a director's link changes, for
# docs/benchmarks.md: labs/ospf-p2p (xlvs lb1 on a /31 to FRR r1, hello 1 s,
# dead 4 s, MD5), copied to a temporary directory as lab "xlinks". Each case
# runs ROUNDS times; times are from the command on lb1 to r1's kernel FIB
# for the VIP changing (sampled about every 5 ms):
#
#  carrier    `ip link set eth1 down` on lb1 (r1's veth end loses carrier
#             too): VIP gone; `ip link set eth1 up`: VIP back;
#  address    lb1's address removed (r1 keeps carrier, so only the dead
#             interval ends the adjacency): VIP gone; added again: VIP back;
#  recreate   lb1's eth1 deleted (the veth pair goes): VIP gone; the pair
#             created again as xlvs-lab cables it, with its addresses:
#             VIP back (a new interface index: the speaker needs a new socket).
#
#   sudo scripts/bench-link-events.sh
#   sudo BIN_DIR=/tmp/xlvs-main/target/debug scripts/bench-link-events.sh   # another build
#
# Environment: ROUNDS (5), BIN_DIR (target/debug of this checkout, built
# first unless BUILD=0), LIMIT (seconds a change may take, 30). Takes the
# lab tests' host lock, and always takes its lab down again.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
bench=bench-link-events
source scripts/bench-lib.sh
LIMIT=${LIMIT:-30}
lab=xlinks
vip=192.0.2.10
hop=10.0.2.1
bench_start

work=$(mktemp -d /tmp/xlvs-links.XXXXXX)
topo=$work/labs/$lab.clab.yml
lab_up=0
cleanup() {
    set +e
    [ "$lab_up" = 1 ] && "$xlvs_lab" down "$topo" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/labs"
cp -r labs/ospf-p2p "$work/labs/"
sed 's/^name: ospf-p2p$/name: xlinks/' labs/ospf-p2p.clab.yml >"$topo"
lb1=clab-$lab-lb1
r1=clab-$lab-r1

# r1's next hops for the VIP, as one word ("" when it has none).
hops() { ip -n "$r1" -o route show "$vip" | grep -o 'via [0-9.]*' | tr '\n' ' ' || true; }
# Whether lb1's speaker holds its OSPF interface eth1 down (the control
# socket is a file: no need to enter the namespace).
speaker_down() {
    local shown
    shown=$("$BIN_DIR/xlvsadm" --node lb1 --json ospf interfaces 2>/dev/null) || return 1
    [[ "$shown" =~ \"state\":\ *\"Down\" ]]
}
# Polls lb1's speaker and r1's FIB until the speaker holds eth1 down
# (want=gone) or up (want=back), and r1's FIB has no next hop for the VIP
# (gone) or $hop (back), at most LIMIT seconds. Prints the seconds since
# $2 (µs) until each, "never" for one not seen within the limit.
wait_change() {
    local want=$1 start=$2 h speaker="" fib=""
    local end=$((start + LIMIT * 1000000))
    seconds() { seconds_since "$start"; }
    while [ -z "$speaker" ] || [ -z "$fib" ]; do
        if [ -z "$speaker" ]; then
            if speaker_down; then
                [ "$want" = gone ] && speaker=$(seconds)
            else
                [ "$want" = back ] && speaker=$(seconds)
            fi
        fi
        if [ -z "$fib" ]; then
            h=$(hops)
            if { [ "$want" = back ] && [ "$h" = "via $hop " ]; } ||
                { [ "$want" = gone ] && [ -z "$h" ]; }; then
                fib=$(seconds)
            fi
        fi
        if [ "$(now_us)" -ge "$end" ]; then
            break
        fi
        sleep 0.005
    done
    echo "${speaker:-never} ${fib:-never}"
}

"$xlvs_lab" up "$topo" >/dev/null
lab_up=1
[ "$(wait_change back "$(now_us)")" != "never never" ] || die "lb1's VIP never reached r1"

in_lb1() { ip netns exec "$lb1" "$@"; }
in_r1() { ip netns exec "$r1" "$@"; }
# One case's change (down) and its undoing (up), as shell functions.
carrier_down() { in_lb1 ip link set eth1 down; }
carrier_up() { in_lb1 ip link set eth1 up; }
address_down() { in_lb1 ip addr del 10.0.2.1/31 dev eth1; }
address_up() { in_lb1 ip addr add 10.0.2.1/31 dev eth1; }
recreate_down() { in_lb1 ip link del eth1; }
recreate_up() {
    ip link add name eth1 netns "$lb1" type veth peer name eth1 netns "$r1"
    in_lb1 ip addr add 10.0.2.1/31 dev eth1
    in_lb1 ip link set eth1 up
    in_r1 ip addr replace 10.0.2.0/31 dev eth1
    in_r1 ip link set eth1 up
}

echo "seconds from the command on lb1 until lb1's speaker / r1's FIB saw it"
printf '%-9s %-5s %-13s %s\n' case round "down: lb1 r1" "up: lb1 r1"
summary=()
for case in carrier address recreate; do
    rows=()
    for round in $(seq "$ROUNDS"); do
        t=$(now_us)
        "${case}_down"
        gone=$(wait_change gone "$t")
        # Settle: both sides notice the change before it is undone.
        sleep 2
        t=$(now_us)
        "${case}_up"
        back=$(wait_change back "$t")
        printf '%-9s %-5s %-13s %s\n' "$case" "$round" "$gone" "$back"
        rows+=("$gone $back")
        sleep 2
        # A link that never came back leaves nothing to measure.
        [[ "$back" != *never ]] || break
    done
    col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | median; }
    summary+=("$(printf '%-9s down: lb1 %s, r1 %s; up: lb1 %s, r1 %s' "$case" \
        "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)")")
    [[ "${rows[-1]}" != *never ]] || break
done
echo
echo "medians (seconds)"
printf '%s\n' "${summary[@]}"
