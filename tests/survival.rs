//! The promise of xlvs, on two labs: eight all-active directors behind FRR
//! with L4 ECMP, forwarding by DR (labs/ecmp8-dr.clab.yml) and by TUN to
//! reals behind a second router (labs/ecmp8-tun.clab.yml). 200 long-lived
//! TCP connections from nine client addresses each exchange data
//! continuously and check every byte, while directors die, lose their
//! link, drain, stop, return, restart, reload and join, and a real dies.
//!
//! Two lab bring-ups per forwarding method:
//! - faults (a connection is lost past a 15 s stall): 1 every director
//!   carries a share, 2 kill -9, 5 link down, 6 a real dies: only that
//!   real's connections are lost, and new connections avoid it once the
//!   health checks fail it.
//! - zero loss (lost past a 3 s stall): 3 drain and SIGTERM, 4 a director
//!   returns, 8 xlvsd restarts on its pinned data plane, 4b a ninth
//!   director joins, 7 every director reloads a changed config.
//!
//! Each case prints its recovery time; each run prints lost/total.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use xlvs_tests::cluster::{Cluster, StreamReport, ECMP8_DR};
use xlvs_tests::{lab_copy, signal, text, wait_until, workspace, Lab};

/// A survival lab: the cluster, and how its spare director lb9 (link
/// down at lab up, its xlvsd running) joins.
struct Survival {
    cluster: Cluster,
    /// A shell line run in lb9.
    join: &'static str,
}

const DR: Survival = Survival {
    cluster: ECMP8_DR,
    join: "ip link set eth1 up",
};

const TUN: Survival = Survival {
    cluster: Cluster {
        lab: "ecmp8-tun",
        vip: "192.0.2.60",
        router: "r1",
        directors: 8,
        socket_prefix: "/run/xlvs/ecmp8-tun-",
        pin_prefix: "/run/xlvs/bpf/ecmp8-tun-",
        sources: &[
            "10.60.0.2",
            "10.60.0.3",
            "10.60.0.4",
            "10.60.0.5",
            "10.60.0.6",
            "10.60.0.7",
            "10.60.0.8",
            "10.60.0.9",
            "10.60.0.10",
        ],
        reals: &[
            ("web1", "10.60.2.21"),
            ("web2", "10.60.2.22"),
            ("web3", "10.60.2.23"),
            ("web4", "10.60.2.24"),
        ],
    },
    // Its routes went with the link: the reals sit behind r1.
    join: "ip link set eth1 up && ip route add default via 10.60.1.1",
};

const STREAMS: usize = 200;

#[test]
fn dr_faults() {
    faults(&DR);
}

#[test]
fn dr_zero_loss() {
    zero_loss(&DR);
}

#[test]
fn tun_faults() {
    faults(&TUN);
}

#[test]
fn tun_zero_loss() {
    zero_loss(&TUN);
}

/// A run of the connections through a lab, and when it began.
struct Run<'a> {
    c: &'a Cluster,
    lab: &'a Lab,
    t0: Instant,
}

impl Run<'_> {
    /// A case begins: when, in the connections' time (their reports of
    /// losses carry the same clock).
    fn case(&self, name: &str) {
        println!("{}: case {name} at {:?}", self.c.lab, self.t0.elapsed());
    }

    /// After `what`: waits until the router has `hops` next hops, prints
    /// how long that took, and checks that `fresh` new connections all
    /// succeed.
    fn settled(&self, what: &str, hops: usize, fresh: usize) {
        let took = self.c.wait_hops(self.lab, hops);
        println!("{}: {what}: {hops} next hops after {took:?}", self.c.lab);
        let answers = self.c.new_connections(self.lab, fresh);
        let failed = answers.iter().filter(|a| a.is_none()).count();
        assert_eq!(
            failed, 0,
            "{what}: {failed} of {fresh} new connections failed"
        );
    }
}

fn link_down(lab: &Lab, node: &str) {
    let out = lab.exec(node, &["ip", "link", "set", "eth1", "down"]);
    assert!(out.status.success(), "{node}: {}", text(&out));
}

fn report(run: &str, r: &StreamReport) {
    println!(
        "{run}: {} (lost/total {}/{})",
        r.summary,
        r.lost.len(),
        r.total
    );
    for (who, why) in &r.lost {
        println!("  lost {who}: {why}");
    }
}

/// Cases 1, 2, 5 and 6 in one run of the connections.
fn faults(s: &Survival) {
    let c = &s.cluster;
    let lab = c.up(&workspace().join("labs"));
    let ready = Instant::now();
    // Stalls are allowed up to the dead interval (4 s) plus TCP's backoff.
    let streams = c.streams(STREAMS, 180, 15);
    let run = Run {
        c,
        lab: &lab,
        t0: Instant::now(),
    };
    std::thread::sleep(Duration::from_secs(5));

    // 1: every director carries flows, none over 3x its fair share.
    let shares = c.shares();
    println!("{}: case 1: connections per director {shares:?}", c.lab);
    let fair = STREAMS as f64 / c.directors as f64;
    for (i, &n) in shares.iter().enumerate() {
        assert!(n > 0, "lb{} is idle: {shares:?}", i + 1);
        assert!(
            (n as f64) <= 3.0 * fair,
            "lb{} has over 3x its share: {shares:?}",
            i + 1
        );
    }

    // 2: the daemon crashes. Its pinned XDP program forwards on until the
    // router drops the director after the dead interval.
    run.case("2");
    signal(c.xlvsd_pid(&lab, "lb3"), libc::SIGKILL);
    run.settled("case 2, kill -9 lb3", c.directors - 1, 10);

    // 5: the director's link goes: flows hashed to it stall until the
    // router's dead interval, then move to the others.
    run.case("5");
    link_down(&lab, "lb4");
    run.settled("case 5, link down lb4", c.directors - 2, 10);

    // 6: a real dies (its link goes). Only the connections it held are
    // lost; once the live directors' checks fail it, new connections
    // avoid it.
    let held = c.echo_connections(&lab);
    let (dead, dead_addr) = c.reals[1];
    let on_dead = held[dead].clone();
    assert!(!on_dead.is_empty(), "{dead} holds no connection: {held:?}");
    run.case("6");
    link_down(&lab, dead);
    let live: Vec<String> = c
        .lbs()
        .into_iter()
        .filter(|lb| lb != "lb3" && lb != "lb4")
        .collect();
    let took = c.wait_real_down(&live, dead_addr);
    println!(
        "{}: case 6, {dead} dies: out of every live director's tables after {took:?}",
        c.lab
    );
    let answers = c.new_connections(&lab, 20);
    assert!(
        answers
            .iter()
            .all(|a| a.as_deref().is_some_and(|w| w != dead)),
        "new connections after {dead} failed: {answers:?}"
    );

    let r = streams.stop();
    report(&format!("{}: cases 2, 5, 6", c.lab), &r);
    let lost: BTreeSet<String> = r.lost.iter().map(|(who, _)| who.clone()).collect();
    let others: Vec<&String> = lost.difference(&on_dead).collect();
    assert!(
        others.is_empty(),
        "lost connections not on {dead} (cases 2 and 5 must lose none): {others:?}"
    );
    println!(
        "{}: case 6: lost {} of {} on {dead}, 0 elsewhere",
        c.lab,
        lost.len(),
        on_dead.len()
    );
    assert_eq!(
        lost, on_dead,
        "a dead real loses exactly the connections it held"
    );
    println!("{}: faults done in {:?}", c.lab, ready.elapsed());
}

/// Cases 3, 4, 8, 4b and 7 in one run of the connections: not one lost.
fn zero_loss(s: &Survival) {
    let c = &s.cluster;
    let labs = lab_copy(c.lab);
    let lab = c.up(labs.path());
    let ready = Instant::now();
    let streams = c.streams(STREAMS, 180, 3);
    let run = Run {
        c,
        lab: &lab,
        t0: Instant::now(),
    };
    let n = c.directors;
    std::thread::sleep(Duration::from_secs(3));

    // 3: drain one director, stop another.
    run.case("3");
    c.control("lb2", "drain");
    run.settled("case 3, drain lb2", n - 1, 10);
    c.stop_xlvsd(c.xlvsd_pid(&lab, "lb5"));
    run.settled("case 3, SIGTERM lb5", n - 2, 10);

    // 4: both come back.
    run.case("4");
    let lb5 = c.start_xlvsd(labs.path(), "lb5");
    run.settled("case 4, lb5 starts", n - 1, 0);
    c.control("lb2", "undrain");
    run.settled("case 4, undrain lb2", n, 10);

    // 8: xlvsd restarts; its pinned data plane forwards while it is away
    // and the new process takes it over with its counters.
    run.case("8");
    let before = c.forwarded("lb6");
    let stopped = Instant::now();
    c.stop_xlvsd(c.xlvsd_pid(&lab, "lb6"));
    let link = lab.exec("lb6", &["ip", "link", "show", "eth1"]);
    assert!(
        String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "XDP left with the daemon: {}",
        text(&link)
    );
    c.wait_hops(&lab, n - 1);
    let lb6 = c.start_xlvsd(labs.path(), "lb6");
    run.settled("case 8, lb6 restarted", n, 10);
    println!(
        "{}: case 8: back {:?} after the SIGTERM",
        c.lab,
        stopped.elapsed()
    );
    let after = c.forwarded("lb6");
    assert!(
        after >= before,
        "lb6 counters restarted: {before} -> {after}"
    );

    // 4b: a ninth director, never seen by the cluster, joins: the router
    // rehashes running flows onto it and onto the others.
    run.case("4b");
    let out = lab.exec("lb9", &["bash", "-c", s.join]);
    assert!(out.status.success(), "lb9 join: {}", text(&out));
    run.settled("case 4b, lb9 joins", n + 1, 0);
    let all: Vec<String> = (1..=n + 1).map(|n| format!("lb{n}")).collect();
    c.wait_same_tables(&all);
    wait_until(
        "lb9 forwards running flows",
        Duration::from_secs(10),
        || match c.forwarded("lb9") {
            0 => Err("nothing forwarded".into()),
            _ => Ok(()),
        },
    );
    run.settled("case 4b, lb9 forwards", n + 1, 10);

    // 7: every director reloads a changed config (web1 weight 2), by
    // `xlvsadm reload` or SIGHUP in turn: the tables change under running
    // flows, one director after the other.
    run.case("7");
    let reloaded = Instant::now();
    let web1 = c.reals[0].1;
    for (i, lb) in all.iter().enumerate() {
        reweigh(&c.config(labs.path(), lb), web1, 2);
        if i % 2 == 0 {
            c.control(lb, "reload");
            continue;
        }
        let pid = match lb.as_str() {
            "lb5" => lb5.0.id() as i32,
            "lb6" => lb6.0.id() as i32,
            _ => c.xlvsd_pid(&lab, lb),
        };
        signal(pid, libc::SIGHUP);
    }
    wait_until(
        "web1 at weight 2 everywhere",
        Duration::from_secs(10),
        || {
            for lb in &all {
                let rows = c.control(lb, "health");
                let weights: Vec<_> = rows
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["real"] == web1)
                    .map(|r| r["weight"].clone())
                    .collect();
                if weights != [2, 2] {
                    return Err(format!("{lb}: {weights:?}"));
                }
            }
            Ok(())
        },
    );
    c.wait_same_tables(&all);
    println!(
        "{}: case 7, reload on 9 directors: same new tables everywhere after {:?}",
        c.lab,
        reloaded.elapsed()
    );
    run.settled("case 7, reloaded", n + 1, 10);

    // Late stalls show within the stall limit.
    std::thread::sleep(Duration::from_secs(4));
    let r = streams.stop();
    report(&format!("{}: cases 3, 4, 8, 4b, 7", c.lab), &r);
    assert!(r.lost.is_empty(), "connections lost: {:?}", r.lost);
    println!("{}: zero-loss cases done in {:?}", c.lab, ready.elapsed());
}

/// Gives `real` the weight `w` in a node config.
fn reweigh(config: &Path, real: &str, w: u32) {
    let text = std::fs::read_to_string(config).unwrap();
    let line = format!("address = \"{real}\"");
    assert!(text.contains(&line), "{}: no {line}", config.display());
    let changed = text.replace(&line, &format!("{line}\nweight = {w}"));
    std::fs::write(config, changed).unwrap();
}
