//! Persistence across an ECMP cluster (labs/ecmp-fullnat, four FULLNAT
//! directors with [cluster]): the web service runs "rr" with
//! `persistence = "10m"`. One client address opens connection after
//! connection (a new source port each); r1's L4 ECMP spreads them over
//! the directors, and every one must reach the same real: the director
//! that placed the client's first connection reports its template, and
//! the others install it (docs/sync.md, "Persistence templates").

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use xlvs_tests::cluster::Cluster;
use xlvs_tests::control;

const LAB: Cluster = xlvs_tests::cluster::ECMP_FULLNAT;
const LBS: [&str; 4] = ["lb1", "lb2", "lb3", "lb4"];
const CONNECTIONS: usize = 24;

/// The directors that made (own) an entry of a connection to port 80.
fn makers(lb: &str) -> usize {
    let Ok(t) = control(&LAB.socket(lb), "ipvs.list", &["connections"]) else {
        return 0;
    };
    let web = format!("{}:80", LAB.vip);
    t["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter(|c| c["virtual"] == web.as_str() && c.get("owner").is_none())
        .count()
}

fn templates(lb: &str) -> serde_json::Value {
    let r = control(&LAB.socket(lb), "sync", &[]).expect("sync report");
    r["table"]["templates"].clone()
}

#[test]
fn a_clients_connections_reach_one_real_whichever_director_ecmp_picks() {
    let began = Instant::now();
    let dir = xlvs_tests::lab_copy(LAB.lab);
    for lb in LBS {
        let path = dir.path().join(LAB.lab).join(format!("{lb}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("scheduler = \"mh\""), "{lb}: mh in the lab");
        let text = text.replace(
            "scheduler = \"mh\"",
            "scheduler = \"rr\"\npersistence = \"10m\"",
        );
        std::fs::write(&path, text).unwrap();
    }
    let lab = LAB.up(dir.path());
    let all: Vec<String> = LBS
        .iter()
        .map(|lb| format!("10.0.1.1{}", &lb[2..]))
        .collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    lab.wait_nexthops("r1", LAB.vip, &all, Duration::from_secs(60));
    lab.wait_http("client", LAB.vip);
    println!("lab up after {:.0?}", began.elapsed());
    // wait_http's probes made the client's template already; let it reach
    // every peer (a report leaves within a tick, a datagram within 2 ms).
    std::thread::sleep(Duration::from_millis(500));

    let answers = lab.http_answers("client", LAB.vip, CONNECTIONS);
    // A body is "REAL SEEN-FROM" (the real's name, then the director's
    // local address it saw): the real is the first word.
    let reals: BTreeSet<&str> = answers
        .keys()
        .map(|body| body.split_whitespace().next().unwrap_or(""))
        .collect();
    let made: BTreeMap<&str, usize> = LBS.iter().map(|lb| (*lb, makers(lb))).collect();
    println!("{CONNECTIONS} connections of one client: answers {answers:?}");
    println!("connections made per director (ECMP's spread): {made:?}");
    for lb in LBS {
        println!("{lb} templates: {}", templates(lb));
    }
    let spread = made.values().filter(|&&n| n > 0).count();
    assert!(
        spread >= 2,
        "ECMP sent the client to {spread} director(s): the test shows nothing"
    );
    assert_eq!(
        reals.len(),
        1,
        "one client, one real, over {spread} directors: {answers:?}"
    );
    // The template travelled: the directors that did not make it installed
    // it from a peer.
    let installed: u64 = LBS
        .iter()
        .map(|lb| templates(lb)["installed"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        installed >= 3,
        "templates installed on the peers: {installed}"
    );
    // ipvsadm's PersistConn column counts it on every director, its own
    // template or a peer's, against that real.
    let real = reals.iter().next().expect("one real");
    let addr = format!("10.0.3.2{}", real.trim_start_matches("web"));
    for lb in LBS {
        let out = std::process::Command::new(xlvs_tests::bin("xlvsadm"))
            .args(["--socket", &LAB.socket(lb).to_string_lossy()])
            .args(["-L", "-n", "--persistent-conn"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{lb}: {text}");
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{addr}:80 ")))
            .unwrap_or_else(|| panic!("{lb}: no line for {addr}:80\n{text}"));
        let persist: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(persist >= 1, "{lb}: PersistConn of {addr}: {line}");
    }
    println!("done after {:.0?}", began.elapsed());
}
