#!/usr/bin/env bash
# The Quickstart demo on a Debian 12 machine, as root: installs what is
# missing, builds xlvs, brings up the demo lab (an FRR router and two xlvs
# directors announcing two VIPs over OSPF) and shows what to look at.
# The lab stays up for you to explore; the last lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --workspace --quiet

lab=labs/ospf-broadcast.clab.yml
xlvs_lab=target/debug/xlvs-lab
in_lab() { "$xlvs_lab" exec "$lab" "$@"; }

"$xlvs_lab" down "$lab" >/dev/null   # a previous run's lab, if any
"$xlvs_lab" up "$lab"

echo
echo "== waiting for both directors' routes on r1 (FRR first waits a dead"
echo "   interval, 12 s, before it elects itself DR; at most 60 s)"
for _ in $(seq 1 120); do
    hops=$(in_lab r1 -- ip route show 192.0.2.10 | grep -c 'nexthop via' || true)
    [ "$hops" -ge 2 ] && break
    sleep 0.5
done

echo
echo "== r1 (FRR): OSPF neighbors: the two directors, Full"
in_lab r1 -- vtysh -c 'show ip ospf neighbor'
echo "== r1: the VIPs in the kernel FIB, one next hop per director (ECMP)"
in_lab r1 -- ip route show proto ospf
echo
echo "== lb1 (xlvs): its view, through xlvsadm"
in_lab lb1 -- xlvsadm --node lb1 ospf neighbors
in_lab lb1 -- xlvsadm --node lb1 status

cat <<EOT

The lab is up. Try:
  $xlvs_lab status $lab
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 ospf withdraw 192.0.2.11
  $xlvs_lab exec $lab r1 -- ip route show 192.0.2.11     # one next hop left
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 ospf database
  $xlvs_lab exec $lab r1 -- vtysh -c 'show ip ospf database'
Take it down (leaves nothing behind):
  $xlvs_lab down $lab
EOT
