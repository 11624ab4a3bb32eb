//! Flow sync over a multicast group (`[cluster] group`, docs/sync.md):
//! quickstart's two DR directors, configured with the group and a key but
//! no peer list, find each other by their Hellos, and the entries one
//! makes appear on the other, named by their owner.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use xlvs_tests::{control, quickstart_copy, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const CLUSTER: &str = "[cluster]\ninterface = \"eth1\"\ngroup = \"239.255.84.81\"\n\
                       key = \"quickstart-group-sync-key\"\n\n";

fn socket(lb: &str) -> String {
    format!("/run/xlvs/{lb}.sock")
}

/// The flows `lb` lists for the VIP, with their owner ("" for its own).
fn flows(lb: &str) -> BTreeSet<(String, String)> {
    let Ok(t) = control(Path::new(&socket(lb)), "ipvs.list", &["connections"]) else {
        return BTreeSet::new();
    };
    let conns = t["connections"].as_array().cloned().unwrap_or_default();
    conns
        .iter()
        .filter(|c| c["virtual"].as_str().is_some_and(|v| v.starts_with(VIP)))
        .map(|c| {
            let source = c["source"].as_str().unwrap_or_default().to_string();
            let owner = c["owner"].as_str().unwrap_or_default().to_string();
            (source, owner)
        })
        .collect()
}

#[test]
fn directors_find_each_other_on_a_group_and_share_their_entries() {
    let dir = quickstart_copy();
    for lb in ["lb1", "lb2"] {
        let path = dir.path().join(format!("quickstart/{lb}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let at = text.find("[[service]]").expect("a service");
        std::fs::write(&path, format!("{}{CLUSTER}{}", &text[..at], &text[at..])).unwrap();
    }
    let lab = Lab::up(&dir.path().join("quickstart.clab.yml"));

    // Each learns the other from the group alone.
    for (lb, other) in [("lb1", "10.0.1.12"), ("lb2", "10.0.1.11")] {
        wait_until(
            "the other director up in sync",
            Duration::from_secs(30),
            || {
                let r = control(Path::new(&socket(lb)), "sync", &[])?;
                let peers = r["protocol"]["peers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let up = peers.iter().any(|p| p["addr"] == other && p["up"] == true);
                up.then_some(()).ok_or(format!("{lb}: {peers:?}"))
            },
        );
    }
    // Both directors in the router's ECMP set before the flows start, or
    // every flow may land on the one that was announced first.
    lab.wait_nexthops(
        "r1",
        VIP,
        &["10.0.1.11", "10.0.1.12"],
        Duration::from_secs(30),
    );
    lab.wait_http("client", VIP);
    lab.http_answers("client", VIP, 20);

    // Every flow either director made is on the other too, with its owner.
    wait_until(
        "both directors hold every flow",
        Duration::from_secs(10),
        || {
            let (one, two) = (flows("lb1"), flows("lb2"));
            let own = |s: &BTreeSet<(String, String)>| -> BTreeSet<String> {
                s.iter()
                    .filter(|(_, o)| o.is_empty())
                    .map(|(f, _)| f.clone())
                    .collect()
            };
            let all = |s: &BTreeSet<(String, String)>| -> BTreeSet<String> {
                s.iter().map(|(f, _)| f.clone()).collect()
            };
            // 20 flows hashed over two next hops: both get some
            // (all on one has odds of 2^-19).
            let ok = !own(&one).is_empty()
                && !own(&two).is_empty()
                && own(&one)
                    .iter()
                    .all(|f| two.contains(&(f.clone(), "10.0.1.11".into())))
                && own(&two)
                    .iter()
                    .all(|f| one.contains(&(f.clone(), "10.0.1.12".into())))
                && all(&one) == all(&two);
            ok.then_some(()).ok_or(format!("lb1 {one:?}\nlb2 {two:?}"))
        },
    );
    // Nothing was dropped on the way.
    for lb in ["lb1", "lb2"] {
        let r = control(Path::new(&socket(lb)), "sync", &[]).unwrap();
        let installed = r["table"]["installed"].as_u64().unwrap_or(0);
        assert!(installed > 0, "{lb} installed nothing: {r}");
        for p in r["protocol"]["peers"].as_array().unwrap() {
            let drops = &p["counters"]["drops"];
            assert!(
                drops.as_object().unwrap().values().all(|v| v == 0),
                "{lb}: drops from {}: {drops}",
                p["addr"]
            );
        }
    }
}
