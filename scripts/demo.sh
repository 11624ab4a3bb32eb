#!/usr/bin/env bash
# The Quickstart demo on a Debian 12 machine, as root: installs what is
# missing, builds xlvs, brings up the demo lab and shows what to look at.
# The lab stays up for you to explore; the last lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --workspace --quiet

lab=labs/frr-triangle.clab.yml
xlvs_lab=target/debug/xlvs-lab

"$xlvs_lab" down "$lab" >/dev/null   # a previous run's lab, if any
"$xlvs_lab" up "$lab"

echo
echo "== waiting for OSPF to converge (at most 30 s)"
for _ in $(seq 1 60); do
    full=$("$xlvs_lab" exec "$lab" r1 -- vtysh -c 'show ip ospf neighbor' | grep -c Full || true)
    [ "$full" -ge 2 ] && break
    sleep 0.5
done
# Routes follow adjacencies by an SPF run.
for _ in $(seq 1 20); do
    "$xlvs_lab" exec "$lab" r1 -- ping -c1 -W1 -I 10.255.0.1 10.255.0.3 >/dev/null 2>&1 && break
    sleep 0.5
done

echo
echo "== r1: OSPF neighbors"
"$xlvs_lab" exec "$lab" r1 -- vtysh -c 'show ip ospf neighbor'
echo "== r1: routes learned over OSPF (kernel FIB)"
"$xlvs_lab" exec "$lab" r1 -- ip route show proto ospf
echo
echo "== r1 pings every loopback"
for i in 1 2 3; do
    "$xlvs_lab" exec "$lab" r1 -- ping -c1 -W1 -I 10.255.0.1 "10.255.0.$i" | grep -E 'bytes from|loss'
done

cat <<EOT

The lab is up. Try:
  $xlvs_lab status $lab
  $xlvs_lab exec $lab r2 -- vtysh -c 'show ip ospf database'
  $xlvs_lab exec $lab r3 -- ip route
  $xlvs_lab exec $lab r1 -- ip link set eth1 down    # watch routes move to r3
Take it down (leaves nothing behind):
  $xlvs_lab down $lab
EOT
