//! FULLNAT across an ECMP cluster (labs/ecmp-fullnat.clab.yml): four
//! two-armed directors behind FRR with L4 ECMP, 200 long-lived TCP
//! connections from eight client addresses, each exchanging data and
//! checking every byte, through the survival cases of tests/survival.rs.
//!
//! A FULLNAT flow is translated to its director's local address and port,
//! and the real answers that address. With flow sync (`[cluster]` in the
//! lab's configs, docs/sync.md) every director holds every translation and
//! announces the others' local addresses at a higher metric, so a flow
//! the router moves keeps working: every case must lose no connection.
//! A second run without `[cluster]` shows what sync saves (docs/fullnat.md
//! keeps both tables).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};
use xlvs_tests::cluster::Cluster;
use xlvs_tests::{control, text, workspace, Child, Lab};

const FULLNAT: Cluster = xlvs_tests::cluster::ECMP_FULLNAT;
const LBS: [&str; 4] = ["lb1", "lb2", "lb3", "lb4"];
const STREAMS: usize = 200;
/// The connections run until the case is done (this is only a bound).
const RUN_S: u32 = 120;
/// A connection silent this long counts as lost: longer than the dead
/// interval (4 s), so waiting for the router is not a loss by itself.
const STALL_S: u32 = 8;
/// Connections flow this long before the change, and after it before the
/// case ends (a flow that moved breaks on its next packet, 20 ms later).
const SETTLE: Duration = Duration::from_secs(3);

/// A flow as the client sees it: "ADDR:PORT".
type Flow = String;

fn outside(lb: &str) -> String {
    format!("10.0.1.1{}", lb.strip_prefix("lb").expect("lbN"))
}

/// Waits until r1 sends the VIP to exactly these directors.
fn wait_directors(lab: &Lab, lbs: &[&str]) {
    let want: Vec<String> = lbs.iter().map(|lb| outside(lb)).collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    lab.wait_nexthops("r1", FULLNAT.vip, &want, Duration::from_secs(60));
}

/// The flows a director forwarded on the echo port within the last two
/// seconds (the streams exchange data every 20 ms); none when its xlvsd
/// does not answer (killed or stopped).
fn live_flows(lb: &str) -> BTreeSet<Flow> {
    let Ok(t) = control(&FULLNAT.socket(lb), "ipvs.list", &["connections"]) else {
        return BTreeSet::new();
    };
    let tcp = t["timeouts"]["tcp_s"].as_u64().expect("timeouts.tcp_s");
    let echo = format!("{}:7", FULLNAT.vip);
    t["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter(|c| c["virtual"] == echo.as_str() && c["state"] == "ESTABLISHED")
        // With sync every director holds every flow: the one that made
        // an entry lists it without an owner.
        .filter(|c| c.get("owner").is_none())
        .filter(|c| tcp.saturating_sub(c["expire_s"].as_u64().unwrap_or(0)) <= 2)
        .map(|c| c["source"].as_str().expect("source").to_string())
        .collect()
}

/// One change of a case, and the directors r1 uses once it took effect.
struct Step<'a> {
    act: Box<dyn FnOnce() + 'a>,
    directors: &'a [&'a str],
}

fn step<'a>(directors: &'a [&'a str], act: impl FnOnce() + 'a) -> Step<'a> {
    Step {
        act: Box::new(act),
        directors,
    }
}

/// One case: what was lost, and whose it was.
#[derive(Clone)]
struct Outcome {
    case: &'static str,
    summary: String,
    lost: usize,
    /// Connections the affected director forwarded, and how many of them
    /// were lost.
    affected_owned: usize,
    affected_lost: usize,
    /// Lost connections of the other directors that r1 moved.
    moved_lost: usize,
    /// Connections r1 moved to another director that survived.
    moved_kept: usize,
    /// Lost connections neither of the affected director nor moved.
    unexplained: Vec<String>,
    /// Flows r1 sent elsewhere than the director that held them before
    /// the change (the ownership readings disagree).
    misread: Vec<String>,
    /// From the change until r1's next hops settled.
    converged: Duration,
}

/// Runs the connections, applies the steps once they flow, and sorts
/// every lost connection by what happened to it: the director that held
/// it before (from the directors' connection tables, checked against
/// r1's FIB) and where r1 sent it after each step.
fn case(lab: &Lab, name: &'static str, affected: &str, steps: Vec<Step>) -> Outcome {
    let began = Instant::now();
    let streams = FULLNAT.streams(STREAMS, RUN_S, STALL_S);
    std::thread::sleep(SETTLE);
    let mut owner: BTreeMap<Flow, Vec<&str>> = BTreeMap::new();
    for lb in LBS {
        for flow in live_flows(lb) {
            owner.entry(flow).or_default().push(lb);
        }
    }
    let flows: Vec<&Flow> = owner.keys().collect();
    assert_eq!(
        flows.len(),
        STREAMS,
        "{name}: every connection live before the change"
    );
    let before = FULLNAT.router_picks(lab, &flows);
    let misread: Vec<String> = flows
        .iter()
        .zip(&before)
        .filter(|(f, pick)| owner[**f] != [pick.as_str()])
        .map(|(f, pick)| format!("{f}: held by {:?}, r1 picks {pick}", owner[*f]))
        .collect();
    let start = Instant::now();
    let mut picks = Vec::new();
    for s in steps {
        (s.act)();
        wait_directors(lab, s.directors);
        picks.push(FULLNAT.router_picks(lab, &flows));
    }
    let converged = start.elapsed();
    std::thread::sleep(SETTLE);
    let report = streams.stop();

    let index: BTreeMap<&Flow, usize> = flows.iter().enumerate().map(|(i, f)| (*f, i)).collect();
    let moved = |i: usize| picks.iter().any(|p| p[i] != before[i]);
    let lost: BTreeSet<&str> = report.lost.iter().map(|(f, _)| f.as_str()).collect();
    let mut out = Outcome {
        case: name,
        summary: report.summary.clone(),
        lost: report.lost.len(),
        affected_owned: before.iter().filter(|p| *p == affected).count(),
        affected_lost: 0,
        moved_lost: 0,
        moved_kept: 0,
        unexplained: Vec::new(),
        misread,
        converged,
    };
    for (flow, why) in &report.lost {
        match index.get(flow) {
            Some(&i) if before[i] == affected => out.affected_lost += 1,
            Some(&i) if moved(i) => out.moved_lost += 1,
            Some(&i) => out
                .unexplained
                .push(format!("{flow} ({why}) stayed on {} throughout", before[i])),
            None => out
                .unexplained
                .push(format!("{flow} ({why}) was not live before")),
        }
    }
    out.moved_kept = (0..flows.len())
        .filter(|&i| moved(i) && before[i] != affected && !lost.contains(flows[i].as_str()))
        .count();
    println!(
        "{name}: {} ({} of the {} on {affected}, {} others' moved by r1, {} unexplained); \
         {} moved and survived; r1 settled after {:.1?}; case took {:.0?}",
        out.summary,
        out.affected_lost,
        out.affected_owned,
        out.moved_lost,
        out.unexplained.len(),
        out.moved_kept,
        out.converged,
        began.elapsed()
    );
    for m in out.misread.iter().chain(&out.unexplained) {
        println!("  {m}");
    }
    for (flow, why) in report.lost.iter().take(5) {
        println!("  lost {flow}: {why}");
    }
    if !out.unexplained.is_empty() {
        announcements();
    }
    out
}

/// What the lab's directors announced and withdrew, from their logs:
/// a route change the steps did not make shows here.
fn announcements() {
    for lb in LBS {
        let log = format!("/run/xlvs-lab/{}/{lb}/xlvsd.log", FULLNAT.lab);
        for line in std::fs::read_to_string(&log).unwrap_or_default().lines() {
            if ["VIP", "reloaded", "neighbor state", "interface"]
                .iter()
                .any(|w| line.contains(w))
            {
                println!("  {lb}: {line}");
            }
        }
    }
}

fn cluster(labs: &Path) -> Lab {
    let began = Instant::now();
    let lab = FULLNAT.up(labs);
    wait_directors(&lab, &LBS);
    // r2 learns each director's local addresses from its inside arm.
    for (n, lb) in LBS.iter().enumerate() {
        let inside = format!("10.0.2.1{}", n + 1);
        for lip in [format!("10.255.{}.1", n + 1), format!("10.255.{}.2", n + 1)] {
            lab.wait_nexthops("r2", &lip, &[&inside], Duration::from_secs(30));
        }
        println!("{lb}: local addresses routed by r2 via {inside}");
    }
    // Announcements are per node, not per interface: each router also
    // learns the other side's addresses (harmless: nothing sends to the
    // VIP from inside or to a local address from outside).
    println!(
        "r1 routes 10.255.1.1 via {:?}; r2 routes {} via {:?}",
        lab.nexthops("r1", "10.255.1.1"),
        FULLNAT.vip,
        lab.nexthops("r2", FULLNAT.vip)
    );
    lab.wait_http("client", FULLNAT.vip);
    // FULLNAT indeed: the reals see local addresses, never the client.
    for (body, _) in lab.http_answers("client", FULLNAT.vip, 8) {
        let seen = body.split_whitespace().nth(1).unwrap_or("");
        assert!(seen.starts_with("10.255."), "a real saw {body:?}");
    }
    println!("lab up and settled after {:.0?}", began.elapsed());
    lab
}

/// SIGTERM on `lb`, and the order it leaves in (xlvsd's leave.rs): its
/// VIP goes first while r2 still sends the answers to its local address,
/// which moves to the peers (their higher metric) only when lb exits.
fn leave(lab: &Lab, lb: &str) {
    let pid = FULLNAT.xlvsd_pid(lab, lb);
    let n = lb.strip_prefix("lb").expect("lbN");
    let local = format!("10.255.{n}.1");
    let inside = |lb: &str| format!("10.0.2.1{}", lb.strip_prefix("lb").expect("lbN"));
    xlvs_tests::signal(pid, libc::SIGTERM);
    let others: Vec<&str> = LBS.iter().copied().filter(|o| *o != lb).collect();
    wait_directors(lab, &others);
    let sent = Instant::now();
    assert!(xlvs_tests::pid_alive(pid), "{lb} still in its grace period");
    assert_eq!(
        lab.nexthops("r2", &local),
        [inside(lb)],
        "{lb}'s local address stays with it while its VIP is withdrawn"
    );
    FULLNAT.stop_xlvsd(pid);
    let mut peers: Vec<String> = others.iter().map(|o| inside(o)).collect();
    peers.sort();
    xlvs_tests::wait_until(
        &format!("r2: {local} via the peers"),
        Duration::from_secs(10),
        || {
            let mut hops = lab.nexthops("r2", &local);
            hops.sort();
            (hops == peers).then_some(()).ok_or(format!("{hops:?}"))
        },
    );
    println!(
        "{lb} left: VIP withdrawn, its local address kept {:.1?} more, then taken by the peers",
        sent.elapsed()
    );
}

/// Every survival case with sync on; their outcomes.
fn with_sync() -> Vec<Outcome> {
    let labs = workspace().join("labs");
    let lab = cluster(&labs);
    let restarted: RefCell<Vec<Child>> = RefCell::new(Vec::new());
    let start = |lb: &str| {
        let child = FULLNAT.start_xlvsd(&labs, lb);
        restarted.borrow_mut().push(child);
    };
    let three = ["lb1", "lb2", "lb3"];
    let mut outcomes = Vec::new();

    // Reload on every director: nothing moves.
    let reload = || {
        for lb in LBS {
            FULLNAT.control(lb, "reload");
        }
    };
    outcomes.push(case(
        &lab,
        "reload every director",
        "-",
        vec![step(&LBS, reload)],
    ));

    // Restart without --cleanup: SIGTERM withdraws lb1's routes (the
    // pinned data plane stays), the new process announces them again.
    let stop_lb1 = || FULLNAT.stop_xlvsd(FULLNAT.xlvsd_pid(&lab, "lb1"));
    outcomes.push(case(
        &lab,
        "restart lb1 (no --cleanup)",
        "lb1",
        vec![
            step(&["lb2", "lb3", "lb4"], stop_lb1),
            step(&LBS, || start("lb1")),
        ],
    ));

    // Drain: lb2 withdraws the VIP and keeps its local addresses.
    let drain = || {
        FULLNAT.control("lb2", "drain");
    };
    outcomes.push(case(
        &lab,
        "drain lb2",
        "lb2",
        vec![step(&["lb1", "lb3", "lb4"], drain)],
    ));
    FULLNAT.control("lb2", "undrain");
    wait_directors(&lab, &LBS);

    // SIGTERM: lb3 leaves (its data plane stays pinned)...
    outcomes.push(case(
        &lab,
        "SIGTERM lb3",
        "lb3",
        vec![step(&["lb1", "lb2", "lb4"], || leave(&lab, "lb3"))],
    ));
    // ...and returns to the running cluster, with the table fetched from
    // a peer before its VIP is announced.
    outcomes.push(case(
        &lab,
        "lb3 returns",
        "lb3",
        vec![step(&LBS, || start("lb3"))],
    ));
    let table = &FULLNAT.control("lb3", "status")["cluster_table"];
    assert_eq!(table["status"], "done", "lb3 fetched the table: {table}");
    assert!(table["entries"].as_u64() > Some(0), "{table}");

    // kill -9: the pinned data plane forwards on until r1's dead
    // interval runs out.
    let kill = || xlvs_tests::signal(FULLNAT.xlvsd_pid(&lab, "lb4"), libc::SIGKILL);
    outcomes.push(case(&lab, "kill -9 lb4", "lb4", vec![step(&three, kill)]));

    // Link down on lb2's outside arm.
    let link_down = || {
        let out = lab.exec("lb2", &["ip", "link", "set", "eth1", "down"]);
        assert!(out.status.success(), "{}", text(&out));
    };
    outcomes.push(case(
        &lab,
        "link down lb2 eth1",
        "lb2",
        vec![step(&["lb1", "lb3"], link_down)],
    ));

    drop(lab);
    drop(restarted);
    outcomes
}

/// One case without sync: SIGTERM on a director (which withdraws its
/// routes, its local addresses with them) loses the connections it held.
fn without_sync() -> Outcome {
    let dir = xlvs_tests::lab_copy(FULLNAT.lab);
    for lb in LBS {
        let path = dir.path().join(FULLNAT.lab).join(format!("{lb}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text
            .find("\n[cluster]")
            .expect("[cluster] in the lab config");
        let end = start
            + text[start..]
                .find("\n[[service]]")
                .expect("a service after it");
        std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    }
    let lab = cluster(dir.path());
    let stop_lb3 = || FULLNAT.stop_xlvsd(FULLNAT.xlvsd_pid(&lab, "lb3"));
    case(
        &lab,
        "SIGTERM lb3, no sync",
        "lb3",
        vec![step(&["lb1", "lb2", "lb4"], stop_lb3)],
    )
}

/// The outcomes as docs/fullnat.md's table.
fn print_table(title: &str, outcomes: &[Outcome]) {
    println!("\n{title}, {STREAMS} connections per case:");
    println!("| case | lost | the affected director's: lost of held | others' moved by r1, lost | moved and survived | r1 settled after |");
    println!("|---|---|---|---|---|---|");
    for o in outcomes {
        println!(
            "| {} | {} of {STREAMS} | {} of {} | {} | {} | {:.1?} |",
            o.case,
            o.lost,
            o.affected_lost,
            o.affected_owned,
            o.moved_lost,
            o.moved_kept,
            o.converged
        );
    }
}

/// A per-director scheduler on every director, with sync: a director
/// leaves, returns, dies. rr or wlc chooses another real on each
/// director, so a moved flow keeps its real only through its synced entry.
fn per_director(scheduler: &str, names: [&'static str; 3]) -> Vec<Outcome> {
    let dir = xlvs_tests::lab_copy(FULLNAT.lab);
    for lb in LBS {
        let path = dir.path().join(FULLNAT.lab).join(format!("{lb}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("scheduler = \"mh\""),
            "{lb}: the lab's scheduler"
        );
        let text = text.replace(
            "scheduler = \"mh\"",
            &format!("scheduler = \"{scheduler}\""),
        );
        std::fs::write(&path, text).unwrap();
    }
    let labs = dir.path().to_path_buf();
    let lab = cluster(&labs);
    let restarted: RefCell<Vec<Child>> = RefCell::new(Vec::new());
    let mut outcomes = vec![case(
        &lab,
        names[0],
        "lb3",
        vec![step(&["lb1", "lb2", "lb4"], || {
            FULLNAT.stop_xlvsd(FULLNAT.xlvsd_pid(&lab, "lb3"))
        })],
    )];
    outcomes.push(case(
        &lab,
        names[1],
        "lb3",
        vec![step(&LBS, || {
            restarted
                .borrow_mut()
                .push(FULLNAT.start_xlvsd(&labs, "lb3"))
        })],
    ));
    let kill = || xlvs_tests::signal(FULLNAT.xlvsd_pid(&lab, "lb4"), libc::SIGKILL);
    outcomes.push(case(
        &lab,
        names[2],
        "lb4",
        vec![step(&["lb1", "lb2", "lb3"], kill)],
    ));
    drop(lab);
    drop(restarted);
    outcomes
}

#[test]
fn per_director_schedulers_with_sync_lose_no_connection() {
    let mut outcomes = per_director(
        "rr",
        ["SIGTERM lb3, rr", "lb3 returns, rr", "kill -9 lb4, rr"],
    );
    outcomes.extend(per_director(
        "wlc",
        ["SIGTERM lb3, wlc", "lb3 returns, wlc", "kill -9 lb4, wlc"],
    ));
    print_table("FULLNAT with rr and wlc", &outcomes);
    for o in &outcomes {
        assert!(o.misread.is_empty(), "{}: {:?}", o.case, o.misread);
        assert_eq!(o.lost, 0, "{} with sync: {}", o.case, o.summary);
    }
}

#[test]
fn fullnat_cluster_with_sync_loses_no_connection() {
    let mut outcomes = with_sync();
    let unsynced = without_sync();
    outcomes.push(unsynced.clone());
    print_table("FULLNAT", &outcomes);
    for o in &outcomes {
        assert!(
            o.misread.is_empty(),
            "{}: r1's FIB and the directors disagree on who held a flow: {:?}",
            o.case,
            o.misread
        );
        assert!(
            o.unexplained.is_empty(),
            "{}: connections lost that the change did not take off their director: {:?}",
            o.case,
            o.unexplained
        );
    }
    for o in &outcomes[..outcomes.len() - 1] {
        assert_eq!(o.lost, 0, "{} with sync: {}", o.case, o.summary);
    }
    // Without sync the change costs the director's connections: what the
    // suite above shows sync saves.
    assert!(
        unsynced.affected_lost > 0,
        "without sync, SIGTERM lost none of lb3's {} connections: {}",
        unsynced.affected_owned,
        unsynced.summary
    );
}
