//! The speaker follows the kernel's links as they change under a running
//! xlvsd (labs/ospf-p2p: lb1's eth1 is a /31 to FRR r1): carrier down and
//! up, the address removed and added again, and the link deleted and
//! created again, which gives it a new interface index and so needs a new
//! socket. Each time the adjacency and the VIP come back in r1's FIB, and
//! xlvsd is never restarted.

use std::time::Duration;
use xlvs_tests::{lab_variant, pid_alive, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const LB1: &str = "10.255.0.11";
/// lb1's and r1's ends of the eth1 /31.
const LB1_ETH1: &str = "10.0.2.1/31";
const R1_ETH1: &str = "10.0.2.0/31";

/// lb1's OSPF interface eth1 as its speaker shows it: "Down",
/// "Point-To-Point", ...
fn our_state(lab: &Lab) -> Result<String, String> {
    let list = lab.json(
        "lb1",
        &["xlvsadm", "--node", "lb1", "--json", "ospf", "interfaces"],
    )?;
    list.as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"] == "eth1")
        .and_then(|i| i["state"].as_str())
        .map(str::to_string)
        .ok_or(format!("no eth1: {list}"))
}

fn wait_our_state(lab: &Lab, down: bool) {
    let what = if down { "down" } else { "up" };
    wait_until(
        &format!("lb1's OSPF eth1 {what}"),
        Duration::from_secs(10),
        || {
            let state = our_state(lab)?;
            ((state == "Down") == down).then_some(()).ok_or(state)
        },
    );
}

/// lb1 is Full on r1 and the VIP is in r1's FIB through lb1's eth1.
fn wait_back(lab: &Lab) {
    let long = Duration::from_secs(40);
    lab.wait_full("r1", &[LB1], long);
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], long);
}

/// lb1 holds no route of r1 and its own interface is down.
fn wait_gone(lab: &Lab) {
    wait_our_state(lab, true);
    // With r1's carrier up (an address removed), after the 4 s dead
    // interval.
    lab.wait_nexthops("r1", VIP, &[], Duration::from_secs(15));
}

#[test]
fn the_speaker_follows_carrier_address_and_a_recreated_link_without_a_restart() {
    let (_dir, file, _) = lab_variant("ospf-p2p", "ospf-links");
    let lab = Lab::up(&file);
    wait_back(&lab);
    let xlvsd = lab.pid_of("lb1", "xlvsd");

    // Carrier: both veth ends go down with lb1's.
    lab.exec_ok("lb1", &["ip", "link", "set", "eth1", "down"]);
    wait_gone(&lab);
    lab.exec_ok("lb1", &["ip", "link", "set", "eth1", "up"]);
    wait_our_state(&lab, false);
    wait_back(&lab);

    // The address goes (r1 keeps its carrier) and comes back.
    lab.exec_ok("lb1", &["ip", "addr", "del", LB1_ETH1, "dev", "eth1"]);
    wait_gone(&lab);
    lab.exec_ok("lb1", &["ip", "addr", "add", LB1_ETH1, "dev", "eth1"]);
    wait_back(&lab);

    // The link is deleted (its veth peer in r1 with it) and created again
    // as xlvs-lab cables it: a new interface of the same name.
    let index_before = lab.ifindex("lb1", "eth1");
    lab.exec_ok("lb1", &["ip", "link", "del", "eth1"]);
    wait_gone(&lab);
    lab.cable(("lb1", "eth1"), ("r1", "eth1"), false);
    lab.exec_ok("lb1", &["ip", "addr", "add", LB1_ETH1, "dev", "eth1"]);
    // zebra may put back the address r1's config gives eth1 by itself.
    lab.exec_ok("r1", &["ip", "addr", "replace", R1_ETH1, "dev", "eth1"]);
    assert_ne!(lab.ifindex("lb1", "eth1"), index_before, "a new interface");
    wait_our_state(&lab, false);
    wait_back(&lab);

    assert_eq!(lab.pid_of("lb1", "xlvsd"), xlvsd, "xlvsd never restarted");
    assert!(pid_alive(xlvsd));
}
