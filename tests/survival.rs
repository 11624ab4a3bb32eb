//! The promise of xlvs, on labs/ecmp8-dr.clab.yml: eight all-active DR
//! directors behind FRR with L4 ECMP; 200 long-lived TCP connections from
//! several client addresses, each exchanging data continuously and
//! checking every byte, survive directors dying, draining, stopping and
//! returning. Each case prints lost/total and the longest stall.

use std::time::{Duration, Instant};
use xlvs_tests::{signal, text, wait_until, workspace, Child, Lab, WaitBounded};

const VIP: &str = "192.0.2.10";
const STREAMS: &str = "200";

fn lab() -> Lab {
    let lab = Lab::up(&workspace().join("labs/ecmp8-dr.clab.yml"));
    wait_hops(&lab, 8);
    lab.wait_echo("client", VIP);
    // Health checks and neighbour resolution settle at different times on
    // each director; once settled, all must hold the same tables.
    wait_until(
        "identical Maglev tables on all directors",
        Duration::from_secs(30),
        || {
            let tables = |n: u32| {
                xlvs_tests::maglev_tables(std::path::Path::new(&format!(
                    "/run/xlvs/bpf/ecmp8-lb{n}"
                )))
            };
            let first = tables(1);
            if let Some(n) = (2..=8).find(|&n| tables(n) != first) {
                return Err(format!("lb{n} differs from lb1"));
            }
            let full = first.iter().all(|(_, t)| t.iter().all(|r| r != "none"));
            full.then_some(()).ok_or("empty slots".into())
        },
    );
    lab
}

fn wait_hops(lab: &Lab, n: usize) -> Duration {
    let start = Instant::now();
    wait_until(
        &format!("{n} next hops for the VIP"),
        Duration::from_secs(90),
        || {
            let hops = lab.nexthops("r1", VIP);
            (hops.len() == n).then_some(()).ok_or(format!("{hops:?}"))
        },
    );
    start.elapsed()
}

/// 200 connections from nine client addresses for `seconds`; a stall over
/// `stall` seconds counts as a lost connection.
fn streams(seconds: u32, stall: u32) -> Child {
    let sources: Vec<String> = (2..=10).map(|a| format!("10.0.0.{a}")).collect();
    let (secs, stall, sources) = (seconds.to_string(), stall.to_string(), sources.join(","));
    xlvs_tests::streams(
        "clab-ecmp8-dr-client",
        &[
            VIP,
            "7",
            STREAMS,
            &secs,
            "--stall",
            &stall,
            "--sources",
            &sources,
        ],
    )
}

fn finish(case: &str, mut s: Child) {
    let out = s.0.wait_with_output_bounded(Duration::from_secs(180));
    println!("{case}: {}", String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success(),
        "{case}: connections lost: {}",
        text(&out)
    );
}

/// New connections, each a fresh HTTP request; all must succeed.
fn new_connections(lab: &Lab, n: usize) -> usize {
    (0..n)
        .filter(|_| {
            let out = lab.exec(
                "client",
                &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
            );
            !out.status.success()
        })
        .count()
}

fn xlvsd_pid(lab: &Lab, lb: &str) -> i32 {
    lab.pid_of(lb, "xlvsd")
}

fn control(lb: &str, command: &str) -> serde_json::Value {
    let sock = format!("/run/xlvs/ecmp8-{lb}.sock");
    xlvs_tests::control(std::path::Path::new(&sock), command, &[]).unwrap()
}

/// Connections each director scheduled on the echo port.
fn shares() -> Vec<u64> {
    (1..=8)
        .map(|n| {
            let lb = format!("lb{n}");
            let sock = format!("/run/xlvs/ecmp8-{lb}.sock");
            let t = xlvs_tests::control(std::path::Path::new(&sock), "ipvs.list", &[]).unwrap();
            t["services"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["port"] == 7)
                .map(|s| s["stats"]["conns"].as_u64().unwrap_or(0))
                .sum()
        })
        .collect()
}

#[test]
fn every_director_carries_traffic_and_death_loses_no_connection() {
    let lab = lab();
    // Stalls are allowed up to the dead interval (4 s) plus TCP's backoff.
    let s = streams(40, 15);
    std::thread::sleep(Duration::from_secs(5));
    let shares = shares();
    println!("connections per director: {shares:?}");
    let fair = 200.0 / 8.0;
    for (i, &n) in shares.iter().enumerate() {
        assert!(n > 0, "lb{} is idle: {shares:?}", i + 1);
        assert!(
            (n as f64) <= 3.0 * fair,
            "lb{} has over 3x its share: {shares:?}",
            i + 1
        );
    }

    // The daemon crashes: its pinned XDP program keeps forwarding until the
    // router drops the director after the dead interval.
    let killed = Instant::now();
    signal(xlvsd_pid(&lab, "lb3"), libc::SIGKILL);
    wait_hops(&lab, 7);
    println!("kill -9 xlvsd: next hop gone after {:?}", killed.elapsed());
    assert_eq!(
        new_connections(&lab, 10),
        0,
        "new connections after the dead interval"
    );

    // The director itself goes: its link drops, so flows hashed to it
    // stall until the router's dead interval, then move to the others.
    let cut = Instant::now();
    let out = lab.exec("lb4", &["ip", "link", "set", "eth1", "down"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_hops(&lab, 6);
    println!("link down: next hop gone after {:?}", cut.elapsed());
    assert_eq!(
        new_connections(&lab, 10),
        0,
        "new connections after the dead interval"
    );
    finish("kill -9 lb3 + link down lb4", s);
}

#[test]
fn drain_and_sigterm_lose_no_connection_and_fail_no_new_one() {
    let lab = lab();
    let s = streams(25, 3);
    std::thread::sleep(Duration::from_secs(3));
    control("lb2", "drain");
    wait_hops(&lab, 7);
    assert_eq!(
        new_connections(&lab, 10),
        0,
        "new connections during the drain"
    );
    signal(xlvsd_pid(&lab, "lb5"), libc::SIGTERM);
    let took = wait_hops(&lab, 6);
    println!("SIGTERM: next hop gone after {took:?}");
    assert_eq!(
        new_connections(&lab, 10),
        0,
        "new connections after SIGTERM"
    );
    finish("drain lb2 + SIGTERM lb5", s);
}

#[test]
fn a_returning_director_loses_no_connection() {
    let lab = lab();
    // lb8 leaves gracefully before the connections start...
    signal(xlvsd_pid(&lab, "lb8"), libc::SIGTERM);
    wait_hops(&lab, 7);
    let s = streams(25, 3);
    std::thread::sleep(Duration::from_secs(3));
    // ...and joins the running cluster again: flows the router now sends
    // to it keep their real (same Maglev table, mid-stream scheduling).
    let config = workspace().join("labs/ecmp8-dr/lb8.toml");
    let _lb8 = xlvs_tests::start_xlvsd("clab-ecmp8-dr-lb8", &config);
    wait_hops(&lab, 8);
    assert_eq!(new_connections(&lab, 10), 0);
    finish("lb8 returns", s);
}
