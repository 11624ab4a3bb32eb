//! Reloads against real FRR (labs/ospf-p2p: lb1 has two /31 links to r1,
//! OSPF on eth1 only at start). A reload changes a running director's
//! OSPF interfaces: an added link goes Full and carries the VIP, a changed
//! one restarts alone, a removed one's neighbor drops at once, a bad
//! reload changes nothing, and the adjacency on eth1 never restarts. A
//! reload that reprograms 1000 services keeps a 2 s dead interval's
//! adjacency Full throughout.

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use xlvs_tests::{control, lab_copy, rewrite, signal, thousand_vips_config, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const LB1: &str = "10.255.0.11";
const SOCKET: &str = "/run/xlvs/lb1.sock";

/// One of r1's OSPF neighbors, from `show ip ospf neighbor detail json`.
#[derive(Debug, Clone, PartialEq)]
struct FrrNeighbor {
    /// r1's interface ("eth1"), without FRR's ":address" suffix.
    iface: String,
    state: String,
    /// How often FRR saw this adjacency change state: it stays put as
    /// long as the adjacency does not restart.
    changes: u64,
}

fn frr_neighbors(lab: &Lab) -> Result<Vec<FrrNeighbor>, String> {
    let v = lab.json("r1", &["vtysh", "-c", "show ip ospf neighbor detail json"])?;
    let by_rid = v.get("neighbors").unwrap_or(&v);
    let mut out = Vec::new();
    for (rid, list) in by_rid.as_object().into_iter().flatten() {
        for n in list.as_array().into_iter().flatten() {
            if rid != LB1 {
                continue;
            }
            let field = |k: &str| n[k].as_str().unwrap_or("?").to_string();
            out.push(FrrNeighbor {
                iface: field("ifaceName")
                    .split(':')
                    .next()
                    .unwrap_or("?")
                    .to_string(),
                state: field("nbrState")
                    .split('/')
                    .next()
                    .unwrap_or("?")
                    .to_string(),
                changes: n["stateChangeCounter"]
                    .as_u64()
                    .ok_or_else(|| format!("no stateChangeCounter: {n}"))?,
            });
        }
    }
    out.sort_by(|a, b| a.iface.cmp(&b.iface));
    Ok(out)
}

/// Waits until r1's neighbor lb1 is in `want` (state per r1 interface).
fn wait_frr(lab: &Lab, want: &[(&str, &str)], limit: Duration) -> Vec<FrrNeighbor> {
    wait_until(&format!("r1 sees lb1 as {want:?}"), limit, || {
        let got = frr_neighbors(lab)?;
        let states: Vec<(&str, &str)> = got
            .iter()
            .map(|n| (n.iface.as_str(), n.state.as_str()))
            .collect();
        (states == want)
            .then_some(got.clone())
            .ok_or(format!("{got:?}"))
    })
}

/// lb1's neighbor on `iface` as its own speaker sees it: (state, seconds
/// since the neighbor was first heard).
fn our_neighbor(iface: &str) -> Option<(String, u64)> {
    let v = control(Path::new(SOCKET), "ospf.neighbors", &[]).ok()?;
    v.as_array()?
        .iter()
        .find(|n| n["interface"] == iface)
        .map(|n| {
            (
                n["state"].as_str().unwrap_or("?").into(),
                n["up_for_s"].as_u64().unwrap_or(0),
            )
        })
}

fn our_interfaces() -> Vec<(String, u64)> {
    let v = control(Path::new(SOCKET), "ospf.interfaces", &[]).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["cost"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Neither side restarted the eth1 adjacency since `before` was taken at
/// `since`: FRR counted no state change, and our neighbor was never
/// forgotten.
fn eth1_untouched(lab: &Lab, before: &FrrNeighbor, since: (Instant, u64)) {
    let now = frr_neighbors(lab).unwrap();
    let eth1 = now
        .iter()
        .find(|n| n.iface == "eth1")
        .expect("eth1 neighbor");
    assert_eq!(eth1, before, "r1's eth1 adjacency untouched");
    let (state, up) = our_neighbor("eth1").expect("our eth1 neighbor");
    assert_eq!(state, "Full");
    let (at, up_then) = since;
    assert!(
        up + 1 >= up_then + at.elapsed().as_secs(),
        "our eth1 neighbor up {up} s, {up_then} s {:?} ago",
        at.elapsed()
    );
}

fn reload() -> Result<Value, String> {
    control(Path::new(SOCKET), "reload", &[])
}

#[test]
fn reload_adds_changes_and_removes_an_ospf_interface_without_touching_the_other() {
    let dir = lab_copy("ospf-p2p");
    let config = dir.path().join("ospf-p2p/lb1.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let lab = Lab::up(&dir.path().join("ospf-p2p.clab.yml"));
    let long = Duration::from_secs(40);
    let first = wait_frr(&lab, &[("eth1", "Full")], long);
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], long);
    let eth1 = first[0].clone();
    let since = (Instant::now(), our_neighbor("eth1").unwrap().1);

    // eth1's block again as eth2: same timers and key as r1's eth2.
    let block_start = original.find("[[ospf.interface]]").unwrap();
    let block_end = original.find("[dataplane]").unwrap();
    let eth2_block = original[block_start..block_end].replace("\"eth1\"", "\"eth2\"");
    let with_eth2 = |extra: &str| {
        let mut c = original.clone();
        c.insert_str(block_end, &format!("{eth2_block}{extra}\n"));
        c
    };

    // Bad reloads: an interface that does not exist, or a router id
    // change, each next to a valid eth2: nothing changes at all.
    let mut bad = with_eth2("");
    bad.insert_str(
        bad.find("[dataplane]").unwrap(),
        "[[ospf.interface]]\nname = \"eth9\"\nnetwork = \"point-to-point\"\n\n",
    );
    std::fs::write(&config, &bad).unwrap();
    let err = reload().unwrap_err();
    assert!(
        err.contains("eth9 does not exist") && err.contains("nothing was changed"),
        "{err}"
    );
    std::fs::write(&config, with_eth2("").replace(LB1, "10.255.0.99")).unwrap();
    let err = reload().unwrap_err();
    assert!(
        err.contains("node.router_id") && err.contains("restart"),
        "{err}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(our_interfaces(), [("eth1".to_string(), 10)]);
    assert_eq!(
        frr_neighbors(&lab).unwrap(),
        std::slice::from_ref(&eth1),
        "no hello on eth2"
    );

    // Add eth2: r1 sees lb1 Full on it and the VIP by both links.
    std::fs::write(&config, with_eth2("")).unwrap();
    let answer = reload().unwrap();
    assert!(answer.to_string().contains("eth2 added"), "{answer}");
    wait_frr(&lab, &[("eth1", "Full"), ("eth2", "Full")], long);
    lab.wait_nexthops("r1", VIP, &["10.0.2.1", "10.0.2.3"], long);
    eth1_untouched(&lab, &eth1, since);

    // A new cost on eth2 restarts eth2 alone; r1 holds the new metric.
    std::fs::write(&config, with_eth2("cost = 20")).unwrap();
    let answer = reload().unwrap();
    assert!(answer.to_string().contains("eth2 changed"), "{answer}");
    wait_until("r1 holds lb1's eth2 link at metric 20", long, || {
        let out = lab.exec(
            "r1",
            &[
                "vtysh",
                "-c",
                &format!("show ip ospf database router {LB1}"),
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let link = text
            .split("Link connected to")
            .find(|l| l.contains("Router Interface address: 10.0.2.3"));
        link.filter(|l| l.contains("TOS 0 Metric: 20"))
            .map(|_| ())
            .ok_or(text)
    });
    wait_frr(&lab, &[("eth1", "Full"), ("eth2", "Full")], long);
    assert_eq!(
        our_interfaces(),
        [("eth1".to_string(), 10), ("eth2".to_string(), 20)]
    );
    eth1_untouched(&lab, &eth1, since);

    // Remove eth2, this time by SIGHUP. The goodbye Hello (no neighbors
    // listed) drops r1's eth2 neighbor to Init at once, which the dead
    // interval alone never does (Full to gone); then it expires.
    std::fs::write(&config, &original).unwrap();
    signal(lab.pid_of("lb1", "xlvsd"), libc::SIGHUP);
    wait_frr(&lab, &[("eth1", "Full"), ("eth2", "Init")], long);
    wait_frr(&lab, &[("eth1", "Full")], Duration::from_secs(10));
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], long);
    assert_eq!(our_interfaces(), [("eth1".to_string(), 10)]);
    eth1_untouched(&lab, &eth1, since);
}

/// A reload that reprograms 1000 services (each gets a second real: new
/// Maglev tables, a thousand map updates) while the OSPF timers are the
/// shortest xlvsd accepts, hello 1 s and dead 2 s on both sides: the
/// speaker runs on its own thread, so r1's adjacency never leaves Full
/// (FRR's state-change counter stays put, and sampled states all say
/// Full), and the reload succeeds.
#[test]
fn a_reload_of_a_thousand_services_keeps_a_two_second_adjacency_full() {
    let dir = lab_copy("ospf-p2p");
    let config = dir.path().join("ospf-p2p/lb1.toml");
    rewrite(
        &dir.path().join("ospf-p2p/r1/frr.conf"),
        "ip ospf dead-interval 4",
        "ip ospf dead-interval 2",
    );
    let base = std::fs::read_to_string(&config)
        .unwrap()
        .replace("dead_interval = \"4s\"", "dead_interval = \"2s\"");
    let thousand = thousand_vips_config(&base);
    assert!(thousand.contains("dead_interval = \"2s\""), "{thousand}");
    std::fs::write(&config, &thousand).unwrap();
    let lab = Lab::up(&dir.path().join("ospf-p2p.clab.yml"));
    let long = Duration::from_secs(60);
    wait_frr(&lab, &[("eth1", "Full")], long);
    wait_until("1000 VIP routes in r1's FIB", long, || {
        let vips = lab.count_routes("r1", "ospf", "198.18.")?;
        (vips == 1000).then_some(()).ok_or(format!("{vips} routes"))
    });
    let before = frr_neighbors(&lab).unwrap();

    let one_real = "address = \"10.0.9.21\"\n";
    let two_reals = "address = \"10.0.9.21\"\n[[service.real]]\naddress = \"10.0.9.22\"\n";
    assert_eq!(thousand.matches(one_real).count(), 1000);
    std::fs::write(&config, thousand.replace(one_real, two_reals)).unwrap();
    let started = Instant::now();
    // Through the control socket, as xlvsadm reload does (a reload gets
    // two minutes to answer: a debug build takes over 10 s for this one).
    let reload = std::thread::spawn(move || {
        let answer = control(Path::new(SOCKET), "reload", &[]);
        (answer, started.elapsed())
    });
    // r1's view of lb1 while the reload runs and for a dead interval and
    // more after it (a Hello held up by the reload would show then).
    let mut seen = Vec::new();
    let mut done_at = None;
    let limit = Duration::from_secs(130);
    while done_at.is_none_or(|t: Instant| t.elapsed() < Duration::from_secs(4)) {
        assert!(
            started.elapsed() < limit,
            "reload still running after {limit:?}"
        );
        if done_at.is_none() && reload.is_finished() {
            done_at = Some(Instant::now());
        }
        seen.push(frr_neighbors(&lab).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (answer, took) = reload.join().expect("reload thread");
    let answer = answer.expect("the reload succeeds");
    println!(
        "reload of 1000 services took {took:?} ({answer}); r1 sampled {} times",
        seen.len()
    );
    let flaps: Vec<&Vec<FrrNeighbor>> = seen.iter().filter(|s| **s != before).collect();
    assert!(
        flaps.is_empty(),
        "r1's adjacency with lb1 changed during the reload ({} of {} samples), first: {:?} (before: {before:?})",
        flaps.len(),
        seen.len(),
        flaps[0]
    );
    let service = lab.listed_service("lb1", 80);
    assert_eq!(
        service["reals"].as_array().map(Vec::len),
        Some(2),
        "reloaded: {service:#}"
    );
}
