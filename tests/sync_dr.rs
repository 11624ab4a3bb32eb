//! DR behind ECMP: the backend set and the director set change at the
//! same moment. Maglev alone keeps a moved flow on its real only while
//! the backends stay as they were: a flow the router moves to another
//! director that has no entry for it is scheduled there again, over the
//! new backends, and lands on another real whenever the new table says
//! so (that real answers with a reset). With flow sync every director
//! already holds the entry and forwards the flow where it went before.
//!
//! The lab is labs/ecmp8-dr cut to four directors (lb1..lb4, lighter on a
//! CI machine than eight), with web4 left out of the service. Once 200
//! long connections run, at the same moment the survivors reload a
//! config that adds web4 (up at once: no `alpha`) and lb2's xlvsd is
//! killed with SIGKILL (its pinned XDP forwards on until r1's dead
//! interval runs out, then r1 spreads lb2's flows over the others, and
//! moves some of the survivors' between them). No connection changes its
//! real, so with `[cluster]` none may be lost; without it (the same lab
//! without `[cluster]`) the moved flows that the new table sends to
//! another real are lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};
use xlvs_tests::cluster::{Cluster, ECMP8_DR};
use xlvs_tests::{control, lab_copy, wait_until, Lab};

const DR4: Cluster = Cluster {
    directors: 4,
    ..ECMP8_DR
};
const LBS: [&str; 4] = ["lb1", "lb2", "lb3", "lb4"];
const VICTIM: &str = "lb2";
const SURVIVORS: [&str; 3] = ["lb1", "lb3", "lb4"];
/// The real the change adds: in the lab from the start (nginx, echo),
/// in no director's service until the change.
const NEW_REAL: (&str, &str) = ("web4", "10.0.1.24");
const KEY: &str = "sync-dr-lab-key-0123456789abcdef";
/// Without sync, each connection r1 moves is lost when the new table
/// (one backend more: a quarter of its slots now go to web4, and Maglev
/// shuffles a few more) sends it to another real. lb2 alone holds about
/// 50 of the 200 (45 and 49 in the first runs, 9 of them lost), and r1
/// moves some of the survivors' too; even if only a fifth of the moved
/// were lost, none at all would happen about once in 0.8^-50 = 70000
/// runs: the count is asserted, not only shown.
const STREAMS: usize = 200;
/// A bound: the connections are stopped when the case is done.
const RUN_S: u32 = 120;
/// A connection silent this long counts as lost: longer than r1's dead
/// interval (4 s), though lb2's pinned XDP forwards on until then.
const STALL_S: u32 = 8;
const SETTLE: Duration = Duration::from_secs(3);

type Flow = String;

/// Removes a node's block (its key line and the deeper lines under it)
/// and its links from a lab file.
fn drop_node(lab_file: &Path, node: &str) {
    let yaml = std::fs::read_to_string(lab_file).unwrap();
    let key = format!("    {node}:");
    let endpoint = format!("\"{node}:");
    let mut out = Vec::new();
    let mut inside = false;
    let (mut block, mut links) = (0, 0);
    for line in yaml.lines() {
        if line == key {
            inside = true;
            block += 1;
            continue;
        }
        if inside && line.starts_with("      ") {
            continue;
        }
        inside = false;
        if line.contains(&endpoint) {
            links += 1;
            continue;
        }
        out.push(line);
    }
    assert!(
        block == 1 && links == 1,
        "{}: {node}: {block} blocks, {links} links",
        lab_file.display()
    );
    std::fs::write(lab_file, out.join("\n") + "\n").unwrap();
}

/// The lab cut to four directors, each serving web1..web3, with
/// `[cluster]` if `sync`; returns the copy and each director's config
/// once web4 is added.
fn prepare(sync: bool) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = lab_copy(DR4.lab);
    let file = dir.path().join(format!("{}.clab.yml", DR4.lab));
    for node in ["lb5", "lb6", "lb7", "lb8", "lb9"] {
        drop_node(&file, node);
    }
    let web4 = format!("[[service.real]]\naddress = \"{}\"\n", NEW_REAL.1);
    let mut after = Vec::new();
    for (i, lb) in LBS.iter().enumerate() {
        let path = DR4.config(dir.path(), lb);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&web4), "{}: no {web4:?}", path.display());
        if sync {
            let peers: Vec<String> = (0..LBS.len())
                .filter(|&j| j != i)
                .map(|j| format!("10.0.1.1{}", j + 1))
                .collect();
            let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
            text.push_str(&xlvs_tests::cluster_toml("eth1", &peers, KEY));
        }
        std::fs::write(&path, text.replace(&web4, "")).unwrap();
        after.push((lb.to_string(), text));
    }
    (dir, after)
}

/// The echo connections in a director's table: by flow, the director
/// that made the entry (listed without an owner) or, with sync, the
/// owner it came from.
fn table(lb: &str) -> BTreeMap<Flow, Option<String>> {
    let t = control(&DR4.socket(lb), "ipvs.list", &["connections"])
        .unwrap_or_else(|e| panic!("{lb}: ipvs.list: {e}"));
    let echo = format!("{}:7", DR4.vip);
    t["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter(|c| c["virtual"] == echo.as_str() && c["state"] == "ESTABLISHED")
        .map(|c| {
            (
                c["source"].as_str().expect("source").to_string(),
                c["owner"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Whether every row of `real` in a director's health report is usable
/// (takes new flows: checked up, MAC known, in the table).
fn usable(lb: &str, real: &str) -> bool {
    let rows = DR4.control(lb, "health");
    let rows: Vec<&serde_json::Value> = rows
        .as_array()
        .expect("health rows")
        .iter()
        .filter(|r| r["real"] == real)
        .collect();
    !rows.is_empty() && rows.iter().all(|r| r["usable"] == true)
}

#[derive(Debug)]
struct Outcome {
    sync: bool,
    summary: String,
    lost: usize,
    /// lb2's connections (all moved), and how many were lost.
    victim_held: usize,
    victim_lost: usize,
    /// The survivors' connections r1 moved between them, and how many
    /// were lost.
    moved: usize,
    moved_lost: usize,
    /// Lost connections that stayed on their director.
    unexplained: Vec<String>,
    /// Flows r1 sent elsewhere than the director whose entry it was.
    misread: Vec<String>,
    /// Connections held by another real after the change than before (on
    /// the reals' sockets: a lost one stays on its old real, nothing
    /// tells it).
    real_changed: Vec<String>,
    /// From the change until web4 took new flows on every survivor, and
    /// until r1 dropped lb2.
    new_real_after: Duration,
    hops_after: Duration,
    took: Duration,
}

fn run_case(sync: bool) -> Outcome {
    let began = Instant::now();
    let what = if sync { "with sync" } else { "without sync" };
    let (dir, after) = prepare(sync);
    let lab: Lab = DR4.up(dir.path());
    for lb in LBS {
        assert!(!usable(lb, NEW_REAL.1), "{lb}: web4 in service already");
    }
    let streams = DR4.streams(STREAMS, RUN_S, STALL_S);
    std::thread::sleep(SETTLE);

    // Each connection: its real (the reals' sockets) and its director
    // (the entry it made), checked against r1's FIB.
    let held = DR4.echo_connections(&lab);
    let real_of: BTreeMap<Flow, &str> = held
        .iter()
        .flat_map(|(web, flows)| flows.iter().map(move |f| (f.clone(), *web)))
        .collect();
    assert_eq!(
        real_of.len(),
        STREAMS,
        "{what}: every connection up: {held:?}"
    );
    assert!(
        held[NEW_REAL.0].is_empty(),
        "{what}: web4 holds connections already"
    );
    let flows: Vec<&Flow> = real_of.keys().collect();
    let maker = wait_until(
        &format!("{what}: every director's entries"),
        Duration::from_secs(10),
        || {
            let mut maker: BTreeMap<&Flow, &str> = BTreeMap::new();
            for lb in LBS {
                let t = table(lb);
                for f in &flows {
                    match t.get(*f) {
                        Some(None) => {
                            maker.insert(f, lb);
                        }
                        // A peer's, installed by sync.
                        Some(Some(_)) => {}
                        None if sync => return Err(format!("{lb} lacks {f}")),
                        None => {}
                    }
                }
            }
            match maker.len() == flows.len() {
                true => Ok(maker),
                false => Err(format!("{} of {} flows made", maker.len(), flows.len())),
            }
        },
    );
    let before = DR4.router_picks(&lab, &flows);
    let misread: Vec<String> = flows
        .iter()
        .zip(&before)
        .filter(|(f, pick)| maker[*f] != pick.as_str())
        .map(|(f, pick)| format!("{f}: made on {}, r1 picks {pick}", maker[*f]))
        .collect();

    // The change: the survivors reload a config with web4 while lb2's
    // xlvsd is killed.
    for (lb, text) in &after {
        std::fs::write(DR4.config(dir.path(), lb), text).unwrap();
    }
    let victim = DR4.xlvsd_pid(&lab, VICTIM);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for lb in SURVIVORS {
            s.spawn(move || DR4.control(lb, "reload"));
        }
        xlvs_tests::signal(victim, libc::SIGKILL);
    });
    let (mut new_real_after, mut hops_after) = (None, None);
    wait_until(
        &format!("{what}: web4 in service and lb2 dropped by r1"),
        Duration::from_secs(60),
        || {
            if new_real_after.is_none() && SURVIVORS.iter().all(|lb| usable(lb, NEW_REAL.1)) {
                new_real_after = Some(t0.elapsed());
            }
            if hops_after.is_none() && lab.nexthops(DR4.router, DR4.vip).len() == 3 {
                hops_after = Some(t0.elapsed());
            }
            match (new_real_after, hops_after) {
                (Some(t), Some(h)) => Ok((t, h)),
                _ => Err(format!(
                    "web4 after {new_real_after:?}, r1 after {hops_after:?}"
                )),
            }
        },
    );
    let (new_real_after, hops_after) = (new_real_after.unwrap(), hops_after.unwrap());
    let survivors: Vec<String> = SURVIVORS.iter().map(|s| s.to_string()).collect();
    DR4.wait_same_tables(&survivors);
    let tables = xlvs_tests::maglev_tables(&DR4.pins(SURVIVORS[0]));
    assert!(
        tables
            .iter()
            .all(|(_, t)| t.iter().any(|r| r == NEW_REAL.1)),
        "{what}: web4 in no Maglev table"
    );
    let picks = DR4.router_picks(&lab, &flows);
    std::thread::sleep(SETTLE);
    let held_after = DR4.echo_connections(&lab);
    let report = streams.stop();

    let lost: BTreeSet<&str> = report.lost.iter().map(|(f, _)| f.as_str()).collect();
    let mut out = Outcome {
        sync,
        summary: report.summary.clone(),
        lost: report.lost.len(),
        victim_held: before.iter().filter(|p| *p == VICTIM).count(),
        victim_lost: 0,
        moved: 0,
        moved_lost: 0,
        unexplained: Vec::new(),
        misread,
        real_changed: Vec::new(),
        new_real_after,
        hops_after,
        took: Duration::ZERO,
    };
    for (i, f) in flows.iter().enumerate() {
        let gone = lost.contains(f.as_str());
        if before[i] == VICTIM {
            out.victim_lost += usize::from(gone);
        } else if picks[i] != before[i] {
            out.moved += 1;
            out.moved_lost += usize::from(gone);
        } else if gone {
            out.unexplained
                .push(format!("{f} stayed on {} throughout", before[i]));
        }
        if !held_after[real_of[*f]].contains(*f) {
            out.real_changed
                .push(format!("{f}: was on {}", real_of[*f]));
        }
    }
    for (f, why) in &report.lost {
        if !real_of.contains_key(f) {
            out.unexplained
                .push(format!("{f} ({why}) was not up before"));
        }
    }
    out.real_changed.extend(
        held_after[NEW_REAL.0]
            .iter()
            .map(|f| format!("{f}: on web4 now")),
    );
    drop(lab);
    drop(dir);
    out.took = began.elapsed();
    println!(
        "{what}: {} ({} of lb2's {}, {} of the {} others' r1 moved, {} unexplained); \
         web4 in service {:.1?} and lb2 out of r1's FIB {:.1?} after the change; case with lab {:.0?}",
        out.summary,
        out.victim_lost,
        out.victim_held,
        out.moved_lost,
        out.moved,
        out.unexplained.len(),
        out.new_real_after,
        out.hops_after,
        out.took
    );
    for m in out
        .misread
        .iter()
        .chain(&out.unexplained)
        .chain(&out.real_changed)
    {
        println!("  {m}");
    }
    for (f, why) in report.lost.iter().take(5) {
        println!("  lost {f}: {why}");
    }
    out
}

#[test]
fn dr_backend_change_and_director_death_lose_nothing_with_sync() {
    let with = run_case(true);
    let without = run_case(false);
    println!("\nDR, web4 added while lb2 is killed, {STREAMS} connections:");
    println!("| | lost | lb2's: lost of held | others' moved by r1: lost of moved | web4 in service after | lb2 out of r1's FIB after |");
    println!("|---|---|---|---|---|---|");
    for o in [&with, &without] {
        println!(
            "| {} | {} of {STREAMS} | {} of {} | {} of {} | {:.1?} | {:.1?} |",
            if o.sync { "sync" } else { "no sync" },
            o.lost,
            o.victim_lost,
            o.victim_held,
            o.moved_lost,
            o.moved,
            o.new_real_after,
            o.hops_after
        );
    }
    for o in [&with, &without] {
        let what = if o.sync { "with sync" } else { "without sync" };
        assert!(
            o.misread.is_empty(),
            "{what}: r1's FIB and the entries disagree: {:?}",
            o.misread
        );
        assert!(o.victim_held > 0, "{what}: lb2 held no connection");
        // The point of the case: the new table is in force before r1
        // moves a flow, so every moved flow meets it.
        assert!(
            o.new_real_after < o.hops_after,
            "{what}: web4 in service after {:?}, lb2 gone from r1 after {:?}",
            o.new_real_after,
            o.hops_after
        );
        assert!(
            o.unexplained.is_empty(),
            "{what}: lost connections r1 did not move: {:?}",
            o.unexplained
        );
    }
    // With sync: no real changed, so nothing may be lost, and every
    // connection is still on its real.
    assert_eq!(with.lost, 0, "with sync: {}", with.summary);
    assert!(
        with.real_changed.is_empty(),
        "with sync: {:?}",
        with.real_changed
    );
    // Without: the moved flows that the new table sends elsewhere.
    assert!(
        without.lost > 0,
        "without sync, no moved connection was lost ({} of lb2's, {} others' moved): {}",
        without.victim_held,
        without.moved,
        without.summary
    );
}
