#!/usr/bin/env bash
# The Quickstart demo on a Debian 12 machine, as root: installs what is
# missing, builds xlvs, brings up labs/quickstart.clab.yml (a client, an
# FRR router, two xlvs directors, two nginx real servers), sends requests
# through the VIP and shows what happened. The lab stays up for you to
# explore; the last lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --workspace --quiet

lab=labs/quickstart.clab.yml
vip=192.0.2.10
xlvs_lab=target/debug/xlvs-lab
in_lab() { "$xlvs_lab" exec "$lab" "$@"; }

"$xlvs_lab" down "$lab" >/dev/null   # a previous run's lab, if any
"$xlvs_lab" up "$lab"

echo
echo "== waiting for both directors to announce $vip to the router (at most 60 s)"
for _ in $(seq 1 120); do
    hops=$(in_lab r1 -- ip route show "$vip" | grep -c 'nexthop via' || true)
    [ "$hops" -ge 2 ] && break
    sleep 0.5
done

echo
echo "== r1 (FRR): OSPF neighbors, the two directors"
in_lab r1 -- vtysh -c 'show ip ospf neighbor'
echo "== r1: the VIP in the kernel FIB, one next hop per director (ECMP)"
in_lab r1 -- ip route show "$vip"

echo
echo "== 20 HTTP requests from the client to http://$vip/ (each a new connection)"
for _ in $(seq 1 20); do
    in_lab client -- curl -s -m 3 "http://$vip/" || echo "(failed)"
done | sort | uniq -c

echo
echo "== a 1 MiB TCP echo through the VIP, checked byte for byte"
in_lab client -- python3 /usr/local/bin/echo.py check "$vip" 7 1048576

for lb in lb1 lb2; do
    echo
    echo "== $lb: ipvsadm's view (xlvsadm -L -n --stats), and what it announces"
    in_lab "$lb" -- xlvsadm --node "$lb" -L -n --stats
    in_lab "$lb" -- xlvsadm --node "$lb" status
done

cat <<EOT

The lab is up. Try:
  $xlvs_lab exec $lab client -- curl -s http://$vip/
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 -L -n -c        # the connection table
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 -e -t $vip:80 -r 10.0.1.21 -w 0
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 drain            # undrain to return
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 ospf neighbors
  $xlvs_lab exec $lab lb1 -- xlvsadm --node lb1 ospf withdraw $vip
  $xlvs_lab exec $lab r1 -- ip route show $vip          # one next hop left
  $xlvs_lab exec $lab r1 -- vtysh -c 'show ip ospf database'
  $xlvs_lab status $lab
Take it down (leaves nothing behind):
  $xlvs_lab down $lab
EOT
