//! Real traffic through a VIP in TUN mode (labs/tun.clab.yml): a client
//! behind an FRR router talks to a VIP served by two directors that wrap
//! each packet in IPIP to one of two real servers in another subnet. The
//! reals' kernel has no ipip module: xlvs-decap strips the outer header in
//! XDP, nginx and a TCP echo answer from the VIP on lo, straight to the
//! client. Both directions are checked byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use xlvs_tests::{text, workspace, Lab};

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
