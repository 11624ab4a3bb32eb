//! Real traffic through a VIP in TUN mode (labs/tun.clab.yml): a client
//! behind an FRR router talks to a VIP served by two directors that wrap
//! each packet in IPIP to one of two real servers in another subnet. The
//! reals' kernel has no ipip module: xlvs-decap strips the outer header in
//! XDP, nginx and a TCP echo answer from the VIP on lo, straight to the
//! client. Both directions are checked byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use xlvs_tests::{text, wait_until, workspace, Lab};

const VIP: &str = "192.0.2.40";
const DIRECTORS: [&str; 2] = ["10.40.1.11", "10.40.1.12"];
const REALS: [&str; 2] = ["web1", "web2"];

fn decap_pin(web: &str) -> String {
    format!("/run/xlvs/bpf/tun-{web}-decap")
}

/// A real's decapsulation counters (`xlvs-decap stats`), by name.
fn decap_stats(lab: &Lab, web: &str) -> BTreeMap<String, u64> {
    let out = lab.exec(web, &["xlvs-decap", "stats", "--pin", &decap_pin(web)]);
    assert!(out.status.success(), "{web}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
        .collect()
}

#[test]
fn tun_through_two_directors_to_two_reals() {
    let lab = Lab::up(&workspace().join("labs/tun.clab.yml"));
    lab.wait_nexthops("r1", VIP, &DIRECTORS, Duration::from_secs(60));
    // Health checks must pass before a director takes new flows to a real.
    lab.wait_http("client", VIP);
    // Many connections (each from a new source port): every one answered
    // in full by one of the reals, and both reals used.
    let answers = lab.http_answers("client", VIP, 40);
    let keys: Vec<&str> = answers.keys().map(String::as_str).collect();
    assert_eq!(keys, ["web1\n", "web2\n"], "{answers:?}");
    // Both directions byte for byte, full-size segments included.
    lab.echo_checks("client", VIP, &["1", "65536", "1048576"]);

    // The directors encapsulated in XDP (this kernel has no ipip module,
    // so nothing else could have): TUN transmits on both, nothing dropped.
    for (lb, node) in [("lb1", "tun-lb1"), ("lb2", "tun-lb2")] {
        let sock = format!("/run/xlvs/{node}.sock");
        let stats = xlvs_tests::control(Path::new(&sock), "dataplane.stats", &[])
            .unwrap_or_else(|e| panic!("{lb}: {e}"));
        let n = |k: &str| stats[k].as_u64().unwrap_or(0);
        assert!(n("tx_tun") > 0, "{lb} sent nothing by TUN: {stats:#}");
        // The 1 MB echo's packets came mostly from the flow cache.
        assert!(n("flow_cache_hit") > 0, "{lb}: {stats:#}");
        for k in ["tx_dr", "drop_no_real", "drop_no_route", "drop_encap"] {
            assert_eq!(n(k), 0, "{lb} {k}: {stats:#}");
        }
        let listing = lab.exec(lb, &["xlvsadm", "--node", node, "-L", "-n"]);
        let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
        for real in ["10.40.2.21:80", "10.40.2.22:80"] {
            assert!(
                listing
                    .lines()
                    .any(|l| l.contains(&format!("-> {real} ")) && l.contains("Tunnel")),
                "{lb}: {real} not listed as Tunnel: {listing}"
            );
        }
    }
    // ...and each real stripped the outer header in XDP.
    for web in REALS {
        let stats = decap_stats(&lab, web);
        assert!(stats["decap"] > 0, "{web}: {stats:?}");
        assert_eq!(stats["pass_malformed"], 0, "{web}: {stats:?}");
    }

    // down removes the reals' decap pins with everything else.
    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    for web in REALS {
        assert!(!Path::new(&decap_pin(web)).exists(), "{web}'s pin left");
    }
    assert_eq!(xlvs_tests::leftovers("tun"), Vec::<String>::new());
}

/// A director's data plane counters, by name, from its control socket
/// (its node name is tun-lbN).
fn dataplane(lb: &str) -> serde_json::Value {
    let sock = format!("/run/xlvs/tun-{lb}.sock");
    xlvs_tests::control(Path::new(&sock), "dataplane.stats", &[])
        .unwrap_or_else(|e| panic!("{lb}: {e}"))
}

fn log_of(lb: &str) -> String {
    std::fs::read_to_string(format!("/run/xlvs-lab/tun/{lb}/xlvsd.log")).unwrap_or_default()
}

/// Waits until `lb` logged, after its first `skip` bytes of log, the next
/// hop towards each real as via `gateway` with `mac`; returns the log's
/// length then.
fn wait_next_hops(lb: &str, skip: usize, gateway: &str, mac: &str) -> usize {
    wait_until(
        &format!("{lb}: next hops via {gateway} ({mac})"),
        Duration::from_secs(20),
        || {
            let log = log_of(lb);
            let new = log.get(skip..).unwrap_or_default();
            let mut missing = Vec::new();
            for real in ["10.40.2.21", "10.40.2.22"] {
                let seen = new.lines().any(|l| {
                    l.contains("next hop towards real server")
                        && l.contains(&format!("real={real} "))
                        && l.contains(&format!("via={gateway} "))
                        && l.contains(mac)
                });
                if !seen {
                    missing.push(real);
                }
            }
            missing
                .is_empty()
                .then_some(log.len())
                .ok_or(format!("{missing:?} not logged"))
        },
    )
}

fn mac_of(lab: &Lab, node: &str, iface: &str) -> String {
    let v = lab
        .json(node, &["ip", "-j", "link", "show", iface])
        .unwrap_or_else(|e| panic!("{node}: {e}"));
    v[0]["address"].as_str().expect("a MAC").to_string()
}

/// Every connection answered, and each director sent its share by the
/// next hop map.
fn all_answered_by_the_map(lab: &Lab, what: &str) {
    let hits: Vec<u64> = ["lb1", "lb2"]
        .iter()
        .map(|lb| dataplane(lb)["next_hop_hit"].as_u64().unwrap_or(0))
        .collect();
    let answers = lab.http_answers("client", VIP, 40);
    assert_eq!(answers.values().sum::<usize>(), 40, "{what}: {answers:?}");
    for (lb, before) in ["lb1", "lb2"].iter().zip(hits) {
        let stats = dataplane(lb);
        let now = stats["next_hop_hit"].as_u64().unwrap_or(0);
        assert!(
            now > before,
            "{what}: {lb} sent nothing by the map: {stats:#}"
        );
    }
}

#[test]
fn tun_next_hops_follow_the_router_s_mac_and_a_moved_route() {
    let lab = Lab::up(&workspace().join("labs/tun.clab.yml"));
    lab.wait_nexthops("r1", VIP, &DIRECTORS, Duration::from_secs(60));
    lab.wait_http("client", VIP);
    // Both reals are behind r1 (the directors' default route): the map
    // holds r1's MAC for them, and new flows are sent by it.
    let r1_mac = mac_of(&lab, "r1", "eth2");
    let mut seen = BTreeMap::new();
    for lb in ["lb1", "lb2"] {
        seen.insert(lb, wait_next_hops(lb, 0, "10.40.1.1", &r1_mac));
    }
    all_answered_by_the_map(&lab, "at start");

    // r1's interface gets another MAC: frames to the old one are no
    // longer its own. The directors' kernels learn the new one (set here
    // rather than waiting for their probes), and the map follows the
    // neighbour event: every connection is still answered.
    let new_mac = "02:40:00:00:01:01";
    lab.exec_ok("r1", &["ip", "link", "set", "eth2", "address", new_mac]);
    for lb in ["lb1", "lb2"] {
        lab.exec_ok(
            lb,
            &[
                "ip",
                "neigh",
                "replace",
                "10.40.1.1",
                "lladdr",
                new_mac,
                "dev",
                "eth1",
                "nud",
                "reachable",
            ],
        );
    }
    for lb in ["lb1", "lb2"] {
        let at = wait_next_hops(lb, seen[lb], "10.40.1.1", new_mac);
        seen.insert(lb, at);
    }
    all_answered_by_the_map(&lab, "after r1's new MAC");

    // The reals' subnet moves to another gateway address (a second
    // address of r1's): a route event. The directors have no neighbour
    // entry for it yet; xlvsd has the kernel resolve it and fills the
    // map with it.
    lab.exec_ok("r1", &["ip", "addr", "add", "10.40.1.2/24", "dev", "eth2"]);
    for lb in ["lb1", "lb2"] {
        lab.exec_ok(
            lb,
            &[
                "ip",
                "route",
                "add",
                "10.40.2.0/24",
                "via",
                "10.40.1.2",
                "dev",
                "eth1",
            ],
        );
    }
    for lb in ["lb1", "lb2"] {
        wait_next_hops(lb, seen[lb], "10.40.1.2", new_mac);
    }
    all_answered_by_the_map(&lab, "after the route moved");
}
