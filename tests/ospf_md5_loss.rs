//! MD5 adjacencies with FRR when packets are lost, so that retransmissions
//! must happen (RFC 2328 D.5.2: a receiver drops a packet whose
//! cryptographic sequence number went back). Each director loses its first
//! DBD and its first LSU, then a withdrawal's first LSU (tests/loss.rs).
//! The router's kernel FIB is the final truth. BIRD's side of the same is
//! in tests/bird_interop.rs.

use std::path::Path;
use std::time::Duration;
use xlvs_tests::loss::{
    assert_first_packets_lost, dropped, lose_first_packets, withdraw_losing_the_first_lsu,
};
use xlvs_tests::{lab_variant, rewrite, wait_until, Lab, XLVS_MD5};

const VIP: &str = "192.0.2.10";
const VIP2: &str = "192.0.2.11";
const R1: &str = "10.255.0.1";

/// Waits until our speaker on `lb` has r1 Full.
fn wait_full_here(lab: &Lab, lb: &str) {
    wait_until(
        &format!("{lb}: r1 Full"),
        Duration::from_secs(60),
        || match lab.seen_by(lb, R1)? {
            (state, _) if state == "Full" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
}

/// Our speakers dropped nothing for authentication, and FRR's ospfd has
/// no sequence-number complaint in its log.
fn assert_no_auth_failures(lab: &Lab, lbs: &[&str]) {
    for lb in lbs {
        let stats = lab
            .json(lb, &["xlvsadm", "--node", lb, "--json", "ospf", "stats"])
            .unwrap();
        assert_eq!(stats["auth_failures"], 0, "{lb}: {stats:#}");
    }
    let log = Path::new("/run/xlvs-lab")
        .join(&lab.name)
        .join("r1/ospfd.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        !log.contains("bad sequence"),
        "r1 dropped packets of ours as replays:\n{log}"
    );
}

/// A broadcast segment whose DR is FRR, two directors (DROther) with MD5.
#[test]
fn md5_on_a_broadcast_segment_with_frr_as_dr_survives_lost_packets() {
    let (_dir, file, lab_dir) = lab_variant("ospf-broadcast", "ospf-bcast-md5");
    rewrite(
        &lab_dir.join("r1/frr.conf"),
        " ip ospf dead-interval 12\n",
        " ip ospf dead-interval 12\n ip ospf authentication message-digest\n \
         ip ospf message-digest-key 7 md5 xlvs-lab-key\n",
    );
    for lb in ["lb1", "lb2"] {
        rewrite(
            &lab_dir.join(format!("{lb}.toml")),
            "network = \"broadcast\"",
            &format!("network = \"broadcast\"\n{XLVS_MD5}"),
        );
    }
    lose_first_packets(
        &file,
        &[
            "ip addr add 10.0.1.11/24 dev eth1",
            "ip addr add 10.0.1.12/24 dev eth1",
        ],
    );
    let lab = Lab::up(&file);
    for lb in ["lb1", "lb2"] {
        wait_full_here(&lab, lb);
    }
    let both = ["10.0.1.11", "10.0.1.12"];
    for vip in [VIP, VIP2] {
        lab.wait_nexthops("r1", vip, &both, Duration::from_secs(30));
    }
    assert_first_packets_lost(&lab, &["lb1", "lb2"]);

    withdraw_losing_the_first_lsu(&lab, "lb1", VIP2);
    lab.wait_nexthops("r1", VIP2, &["10.0.1.12"], Duration::from_secs(30));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    assert_eq!(lab.nexthops("r1", VIP), both, "the other VIP untouched");
    assert_no_auth_failures(&lab, &["lb1", "lb2"]);
}

/// The same on a point-to-point link (labs/ospf-p2p runs MD5 already).
#[test]
fn md5_on_point_to_point_with_frr_survives_lost_packets() {
    let (_dir, file, _) = lab_variant("ospf-p2p", "ospf-p2p-md5");
    lose_first_packets(&file, &["ip addr add 10.0.2.1/31 dev eth1"]);
    let lab = Lab::up(&file);
    wait_full_here(&lab, "lb1");
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], Duration::from_secs(30));
    assert_first_packets_lost(&lab, &["lb1"]);

    withdraw_losing_the_first_lsu(&lab, "lb1", VIP);
    lab.wait_nexthops("r1", VIP, &[], Duration::from_secs(30));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    assert_no_auth_failures(&lab, &["lb1"]);
}
