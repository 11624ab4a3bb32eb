//! BFD between xlvsd and FRR's bfdd (issue 17), on variants of the
//! ospf-broadcast and ospf-p2p labs with `bfd = { interval = "100ms",
//! multiplier = 3 }` on the directors and `ip ospf bfd` with a 100 ms x 3
//! profile on r1:
//!
//! - sessions come Up on a broadcast segment and on a point-to-point link,
//!   with the negotiated intervals on both sides;
//! - kill -9 of a director's xlvsd: its next hop leaves r1's kernel FIB in
//!   well under the 12 s dead interval (asserted < 2 s, figure printed);
//! - r1 falls silent on the link: our neighbor and session go within the
//!   detection time, not the 4 s dead interval; r1's end of the link goes
//!   down: they go at once;
//! - a reload changes the interval live, and turning BFD off sends
//!   AdminDown;
//! - BFD on one side only, either way: OSPF still Full, and each side says
//!   the other runs no BFD;
//! - malformed and foreign packets against the live daemon: dropped,
//!   counted by reason, the session stays Up.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use xlvs_tests::{lab_variant, pid_alive, rewrite, signal, text, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const R1: &str = "10.255.0.1";
const LB1: &str = "10.255.0.11";
const BFD_LINE: &str = "bfd = { interval = \"100ms\", multiplier = 3 }";
/// Long enough to come Up at the slow rate (1 s) and settle.
const UP_LIMIT: Duration = Duration::from_secs(30);

/// Where BFD runs in a lab variant.
struct Sides {
    frr: bool,
    xlvs: bool,
}

/// labs/`base` as lab `name`, with BFD on r1's eth1 and on the directors'
/// eth1 as `sides` says.
fn bfd_lab(base: &str, name: &str, lbs: &[&str], sides: Sides) -> (tempfile::TempDir, PathBuf) {
    let (dir, file, _) = bfd_lab_dir(base, name, lbs, sides);
    (dir, file)
}

/// [`bfd_lab`], and the directory of the lab's configs.
fn bfd_lab_dir(
    base: &str,
    name: &str,
    lbs: &[&str],
    sides: Sides,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, file, lab_dir) = lab_variant(base, name);
    if sides.frr {
        let daemons = lab_dir.join("daemons");
        let mut d = std::fs::read_to_string(&daemons).unwrap();
        d.push_str("bfdd=yes\nbfdd_options=\"  -A 127.0.0.1\"\n");
        std::fs::write(&daemons, d).unwrap();
        let conf = lab_dir.join("r1/frr.conf");
        rewrite(
            &conf,
            "interface eth1\n",
            "interface eth1\n ip ospf bfd\n ip ospf bfd profile fast\n",
        );
        rewrite(
            &conf,
            "router ospf\n",
            "bfd\n profile fast\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n exit\nexit\n!\nrouter ospf\n",
        );
    }
    if sides.xlvs {
        for lb in lbs {
            let toml = lab_dir.join(format!("{lb}.toml"));
            rewrite(
                &toml,
                "name = \"eth1\"\n",
                &format!("name = \"eth1\"\n{BFD_LINE}\n"),
            );
        }
    }
    (dir, file, lab_dir)
}

/// `xlvsadm bfd --json` on a director.
fn our_bfd(lab: &Lab, lb: &str) -> Result<Value, String> {
    lab.json(lb, &["xlvsadm", "--node", lb, "--json", "bfd"])
}

/// Our session with `peer`, if any.
fn our_session(lab: &Lab, lb: &str, peer: &str) -> Result<Option<Value>, String> {
    let v = our_bfd(lab, lb)?;
    let sessions = v["sessions"].as_array().cloned().unwrap_or_default();
    Ok(sessions.into_iter().find(|s| s["peer"] == peer))
}

/// FRR's `show bfd peers json` entry for `peer`.
fn frr_peer(lab: &Lab, peer: &str) -> Result<Value, String> {
    let v = lab.json("r1", &["vtysh", "-c", "show bfd peers json"])?;
    v.as_array()
        .into_iter()
        .flatten()
        .find(|p| p["peer"] == peer)
        .cloned()
        .ok_or(format!("r1 has no BFD peer {peer}: {v}"))
}

/// Both ends Up, with 100 ms x 3 negotiated; returns (ours, FRR's).
fn wait_up(lab: &Lab, lb: &str, lb_addr: &str, r1_addr: &str) -> (Value, Value) {
    wait_until(&format!("{lb} and r1 BFD Up"), UP_LIMIT, || {
        let ours = our_session(lab, lb, r1_addr)?.ok_or("no session on our side")?;
        let theirs = frr_peer(lab, lb_addr)?;
        let up = ours["state"] == "Up" && theirs["status"] == "up";
        // Up, and past the Poll/Final that takes both to the fast rate.
        let fast = ours["tx_interval_us"] == 100_000 && ours["polling"] == false;
        (up && fast)
            .then(|| (ours.clone(), theirs.clone()))
            .ok_or(format!("ours {ours}\nFRR's {theirs}"))
    })
}

/// The intervals each side shows agree: 100 ms both ways, 300 ms
/// detection, and each side's discriminators are the other's.
fn check_negotiated(lb: &str, ours: &Value, theirs: &Value) {
    println!("{lb}: ours {ours:#}\nFRR's {theirs:#}");
    assert_eq!(ours["tx_interval_us"], 100_000, "{ours:#}");
    assert_eq!(ours["detection_time_us"], 300_000, "{ours:#}");
    assert_eq!(ours["remote_desired_min_tx_us"], 100_000, "{ours:#}");
    assert_eq!(ours["remote_required_min_rx_us"], 100_000, "{ours:#}");
    assert_eq!(ours["remote_multiplier"], 3, "{ours:#}");
    assert_eq!(theirs["remote-transmit-interval"], 100, "{theirs:#}");
    assert_eq!(theirs["remote-receive-interval"], 100, "{theirs:#}");
    assert_eq!(theirs["remote-detect-multiplier"], 3, "{theirs:#}");
    assert_eq!(
        theirs["remote-id"], ours["local_discriminator"],
        "{theirs:#}"
    );
    assert_eq!(theirs["id"], ours["remote_discriminator"], "{theirs:#}");
}

/// The next hops of the VIP in r1's FIB, read straight from its namespace
/// (fast enough to time a failover to a few milliseconds).
fn fib_hops(netns: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", netns, "route", "show", VIP])
        .output()
        .expect("ip route");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A process's log file, from the lab's status.
fn log_of(lab: &Lab, node: &str, process: &str) -> String {
    let p = lab.process(node, process);
    let path = p["log"].as_str().unwrap_or_else(|| panic!("no log: {p}"));
    std::fs::read_to_string(Path::new(path)).unwrap_or_default()
}

#[test]
fn broadcast_sessions_come_up_and_a_killed_director_leaves_the_fib_within_a_second() {
    let sides = Sides {
        frr: true,
        xlvs: true,
    };
    let (_dir, file) = bfd_lab("ospf-broadcast", "bfd-bcast", &["lb1", "lb2"], sides);
    let lab = Lab::up(&file);
    let long = Duration::from_secs(60);
    lab.wait_full("r1", &["10.255.0.11", "10.255.0.12"], long);
    lab.wait_nexthops("r1", VIP, &["10.0.1.11", "10.0.1.12"], long);
    for (lb, addr) in [("lb1", "10.0.1.11"), ("lb2", "10.0.1.12")] {
        let (ours, theirs) = wait_up(&lab, lb, addr, "10.0.1.1");
        check_negotiated(lb, &ours, &theirs);
    }
    // The two directors are 2-Way neighbors (DROthers): a session too.
    let between = wait_until("lb1-lb2 BFD Up", UP_LIMIT, || {
        let s = our_session(&lab, "lb1", "10.0.1.12")?.ok_or("none")?;
        (s["state"] == "Up")
            .then_some(s.clone())
            .ok_or(s.to_string())
    });
    assert_eq!(between["router_id"], "10.255.0.12");
    let text = lab.exec("lb1", &["xlvsadm", "--node", "lb1", "bfd"]);
    println!(
        "lb1$ xlvsadm bfd\n{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // kill -9: no goodbye, no AdminDown. r1's bfdd notices the silence
    // within 300 ms and ospfd drops the neighbor, long before the 12 s
    // dead interval.
    let netns = lab.netns("r1");
    assert!(fib_hops(&netns).contains("10.0.1.11"));
    let xlvsd = lab.pid_of("lb1", "xlvsd");
    let t0 = Instant::now();
    signal(xlvsd, libc::SIGKILL);
    let gone = loop {
        if !fib_hops(&netns).contains("10.0.1.11") {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "lb1 still in r1's FIB after 15 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    println!("bfd-bcast: kill -9 of lb1's xlvsd to its next hop out of r1's FIB: {gone:?}");
    assert!(!pid_alive(xlvsd));
    assert!(gone < Duration::from_secs(2), "took {gone:?}");
    assert!(fib_hops(&netns).contains("10.0.1.12"), "lb2 stays");
    // r1's ospfd dropped the neighbor, and with it bfdd's session.
    if let Ok(p) = frr_peer(&lab, "10.0.1.11") {
        assert_ne!(p["status"], "up", "{p:#}");
    }
    // lb2 lost its session with lb1 too, and with it the neighbor.
    wait_until(
        "lb2 forgets lb1",
        Duration::from_secs(5),
        || match our_session(&lab, "lb2", "10.0.1.11")? {
            None => Ok(()),
            Some(s) => Err(s.to_string()),
        },
    );
    let log = log_of(&lab, "lb2", "xlvsd");
    assert!(
        log.contains("BFD session down: OSPF neighbor declared down"),
        "lb2's log: {log}"
    );
}

#[test]
fn point_to_point_session_a_silent_router_and_its_link_down_take_the_neighbor_at_once() {
    let sides = Sides {
        frr: true,
        xlvs: true,
    };
    let (_dir, file) = bfd_lab("ospf-p2p", "bfd-p2p", &["lb1"], sides);
    let lab = Lab::up(&file);
    let long = Duration::from_secs(60);
    lab.wait_full("r1", &[LB1], long);
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], long);
    let (ours, theirs) = wait_up(&lab, "lb1", "10.0.2.1", "10.0.2.0");
    check_negotiated("lb1", &ours, &theirs);

    // r1 goes silent on eth1 (every packet it sends there is dropped; the
    // carrier stays up, so only BFD or the 4 s dead interval can tell).
    let netns = lab.netns("r1");
    let nft = |args: &str| {
        let out = Command::new("ip")
            .args(["netns", "exec", &netns, "nft"])
            .args(args.split(' '))
            .output()
            .unwrap();
        assert!(out.status.success(), "nft {args}: {}", text(&out));
    };
    nft("add table inet cut");
    nft("add chain inet cut out { type filter hook output priority 0 ; }");
    let t0 = Instant::now();
    nft("add rule inet cut out oifname eth1 drop");
    let gone = loop {
        let nbrs = lab
            .json(
                "lb1",
                &["xlvsadm", "--node", "lb1", "--json", "ospf", "neighbors"],
            )
            .unwrap();
        if nbrs
            .as_array()
            .is_some_and(|n| n.iter().all(|n| n["router_id"] != R1))
        {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "r1 still our neighbor: {nbrs}"
        );
    };
    println!("bfd-p2p: r1 silent to r1 out of lb1's neighbors: {gone:?} (dead interval 4 s)");
    // The detection time (300 ms) plus the time one xlvsadm call takes.
    assert!(gone < Duration::from_millis(1500), "took {gone:?}");
    assert_eq!(
        our_session(&lab, "lb1", "10.0.2.0").unwrap(),
        None,
        "session gone with it"
    );
    let log = log_of(&lab, "lb1", "xlvsd");
    let line = log
        .lines()
        .find(|l| l.contains("BFD session down: OSPF neighbor declared down"))
        .unwrap_or_else(|| panic!("no BFD down in lb1's log: {log}"));
    assert!(line.contains("Control Detection Time Expired"), "{line}");

    // r1 speaks again: the adjacency and the session come back.
    nft("delete table inet cut");
    lab.wait_full("r1", &[LB1], long);
    wait_up(&lab, "lb1", "10.0.2.1", "10.0.2.0");

    // r1's end of the link goes down: lb1's end loses its carrier, and our
    // neighbor and session go at once (no detection time to wait).
    let t0 = Instant::now();
    lab.exec_ok("r1", &["ip", "link", "set", "eth1", "down"]);
    let gone = wait_until("r1 and its session gone", Duration::from_secs(5), || {
        let nbr = our_neighbor(&lab);
        let session = our_session(&lab, "lb1", "10.0.2.0")?;
        (nbr.is_err() && session.is_none())
            .then(|| t0.elapsed())
            .ok_or(format!("neighbor {nbr:?}, session {session:?}"))
    });
    println!("bfd-p2p: r1's eth1 down to r1 and its session out of lb1's view: {gone:?}");
    assert!(gone < Duration::from_millis(1500), "took {gone:?}");
    lab.exec_ok("r1", &["ip", "link", "set", "eth1", "up"]);
    lab.wait_full("r1", &[LB1], long);
    wait_up(&lab, "lb1", "10.0.2.1", "10.0.2.0");
}

#[test]
fn bfd_on_one_side_only_leaves_ospf_full_and_says_so() {
    // FRR with BFD, xlvs without.
    {
        let sides = Sides {
            frr: true,
            xlvs: false,
        };
        let (_dir, file) = bfd_lab("ospf-p2p", "bfd-frr-only", &["lb1"], sides);
        let lab = Lab::up(&file);
        lab.wait_full("r1", &[LB1], Duration::from_secs(60));
        // Long past any BFD detection time: still Full.
        std::thread::sleep(Duration::from_secs(5));
        lab.wait_full("r1", &[LB1], Duration::from_secs(1));
        let peer = frr_peer(&lab, "10.0.2.1").unwrap();
        assert_eq!(
            peer["status"], "down",
            "FRR shows our side silent: {peer:#}"
        );
        let ours = our_bfd(&lab, "lb1").unwrap();
        assert_eq!(ours["sessions"], Value::Array(vec![]), "{ours:#}");
        assert_eq!(ours["counters"]["sent"], 0, "{ours:#}");
    }
    // xlvs with BFD, FRR without.
    let sides = Sides {
        frr: false,
        xlvs: true,
    };
    let (_dir, file) = bfd_lab("ospf-p2p", "bfd-xlvs-only", &["lb1"], sides);
    let lab = Lab::up(&file);
    lab.wait_full("r1", &[LB1], Duration::from_secs(60));
    let s = wait_until("the silent-peer note", Duration::from_secs(15), || {
        let s = our_session(&lab, "lb1", "10.0.2.0")?.ok_or("no session")?;
        s["note"].as_str().map(|_| s.clone()).ok_or(s.to_string())
    });
    println!("lb1's session with a peer without BFD: {s:#}");
    assert_eq!(s["state"], "Down");
    assert!(s["note"].as_str().unwrap().contains("is BFD on"), "{s:#}");
    let text = lab.exec("lb1", &["xlvsadm", "--node", "lb1", "bfd"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("note: no BFD packet from the peer"));
    let log = log_of(&lab, "lb1", "xlvsd");
    assert!(
        log.contains("is BFD on for this neighbor"),
        "lb1's log: {log}"
    );
    std::thread::sleep(Duration::from_secs(3));
    lab.wait_full("r1", &[LB1], Duration::from_secs(1));
}

/// Sends each `ttl:hex` datagram to `dst`:3784 from r1, `times` times.
const SENDER: &str = "
import socket, sys
dst, times = sys.argv[1], int(sys.argv[2])
for arg in sys.argv[3:]:
    ttl, payload = arg.split(':')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
    for _ in range(times):
        s.sendto(bytes.fromhex(payload), (dst, 3784))
";

#[test]
fn bad_packets_are_dropped_and_counted_and_the_session_stays_up() {
    let sides = Sides {
        frr: true,
        xlvs: true,
    };
    let (_dir, file) = bfd_lab("ospf-p2p", "bfd-input", &["lb1"], sides);
    let lab = Lab::up(&file);
    lab.wait_full("r1", &[LB1], Duration::from_secs(60));
    let (before, _) = wait_up(&lab, "lb1", "10.0.2.1", "10.0.2.0");
    let xlvsd = lab.pid_of("lb1", "xlvsd");

    // Version 1, Down, multiplier 3, length 24, my discriminator 0x11111111,
    // your discriminator 0xdeadbeef (none of ours), 1 s, 1 s, no echo.
    let good = |b0: &str, mult: &str, len: &str, mine: &str| {
        format!("{b0}40{mult}{len}{mine}deadbeef000f4240000f424000000000")
    };
    let cases = [
        ("truncated", "255:204003".to_string()),
        (
            "bad_version",
            format!("255:{}", good("40", "03", "18", "11111111")),
        ),
        (
            "bad_length",
            format!("255:{}", good("20", "03", "30", "11111111")),
        ),
        (
            "zero_discriminator",
            format!("255:{}", good("20", "03", "18", "00000000")),
        ),
        (
            "zero_multiplier",
            format!("255:{}", good("20", "00", "18", "11111111")),
        ),
        ("ttl", format!("254:{}", good("20", "03", "18", "11111111"))),
        (
            "unknown_session",
            format!("255:{}", good("20", "03", "18", "11111111")),
        ),
    ];
    let mut args = vec!["python3", "-c", SENDER, "10.0.2.1", "10"];
    args.extend(cases.iter().map(|(_, a)| a.as_str()));
    let out = lab.exec("r1", &args);
    assert!(out.status.success(), "sender: {}", text(&out));

    let after = wait_until("every drop counted", Duration::from_secs(5), || {
        let v = our_bfd(&lab, "lb1")?;
        let dropped = &v["counters"]["dropped"];
        let short: Vec<&str> = cases
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| dropped[r].as_u64().unwrap_or(0) < 10)
            .collect();
        short
            .is_empty()
            .then_some(v.clone())
            .ok_or(format!("short of 10: {short:?} in {dropped}"))
    });
    println!("lb1 counters after the bad input: {:#}", after["counters"]);
    let out = lab.exec("lb1", &["xlvsadm", "--node", "lb1", "bfd"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    println!("lb1$ xlvsadm bfd\n{shown}");
    assert!(shown.contains("zero_multiplier 10"), "{shown}");

    // The daemon and the session are as they were.
    assert!(pid_alive(xlvsd));
    let now = our_session(&lab, "lb1", "10.0.2.0")
        .unwrap()
        .expect("session");
    assert_eq!(now["state"], "Up");
    assert_eq!(now["local_discriminator"], before["local_discriminator"]);
    assert_eq!(frr_peer(&lab, "10.0.2.1").unwrap()["status"], "up");
    lab.wait_full("r1", &[LB1], Duration::from_secs(1));

    // SIGTERM: the routes are flushed through OSPF first, and AdminDown
    // goes out only as the speaker stops. (FRR usually drops its session
    // before that: our last Hellos list no neighbor, its adjacency goes to
    // Init and its bfdd takes the session down; then nothing is left to
    // put AdminDown.)
    signal(xlvsd, libc::SIGTERM);
    wait_until("xlvsd exits", Duration::from_secs(20), || {
        (!pid_alive(xlvsd))
            .then_some(())
            .ok_or("running".to_string())
    });
    let log = log_of(&lab, "lb1", "xlvsd");
    let flush = log
        .find("withdrawing every route")
        .unwrap_or_else(|| panic!("no flush in lb1's log: {log}"));
    for admin_down in ["to=AdminDown", "BFD sessions AdminDown"] {
        if let Some(at) = log.find(admin_down) {
            assert!(at > flush, "AdminDown before the flush: {log}");
        }
    }
    assert!(log.contains("OSPF speaker stopped"), "{log}");
}

/// lb1's OSPF neighbor r1: (state, up for seconds).
fn our_neighbor(lab: &Lab) -> Result<(String, u64), String> {
    let v = lab.json(
        "lb1",
        &["xlvsadm", "--node", "lb1", "--json", "ospf", "neighbors"],
    )?;
    let n = v
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["router_id"] == R1)
        .ok_or(format!("no r1: {v}"))?;
    Ok((
        n["state"].as_str().unwrap_or("?").to_string(),
        n["up_for_s"].as_u64().unwrap_or(0),
    ))
}

/// The adjacency with r1 never restarted since `(at, up_then)`.
fn adjacency_kept(lab: &Lab, since: (Instant, u64)) {
    let (state, up) = our_neighbor(lab).unwrap();
    assert_eq!(state, "Full");
    let (at, up_then) = since;
    assert!(
        up + 1 >= up_then + at.elapsed().as_secs(),
        "our neighbor r1 up {up} s, {up_then} s {:?} ago: it restarted",
        at.elapsed()
    );
}

fn reload(lab: &Lab) -> String {
    let v = lab.json("lb1", &["xlvsadm", "--node", "lb1", "--json", "reload"]);
    v.unwrap_or_else(|e| panic!("reload: {e}")).to_string()
}

#[test]
fn a_reload_changes_bfd_live_and_turning_it_off_sends_admin_down() {
    let sides = Sides {
        frr: true,
        xlvs: true,
    };
    let (_dir, file, lab_dir) = bfd_lab_dir("ospf-p2p", "bfd-reload", &["lb1"], sides);
    let config = lab_dir.join("lb1.toml");
    let lab = Lab::up(&file);
    lab.wait_full("r1", &[LB1], Duration::from_secs(60));
    let (before, _) = wait_up(&lab, "lb1", "10.0.2.1", "10.0.2.0");
    let since = (Instant::now(), our_neighbor(&lab).unwrap().1);

    // Slower and more tolerant: through a Poll/Final, the session stays Up.
    rewrite(
        &config,
        BFD_LINE,
        "bfd = { interval = \"300ms\", multiplier = 5 }",
    );
    let answer = reload(&lab);
    assert!(answer.contains("eth1 BFD changed (live)"), "{answer}");
    let (ours, theirs) = wait_until("300 ms x 5 on both sides", Duration::from_secs(10), || {
        let ours = our_session(&lab, "lb1", "10.0.2.0")?.ok_or("no session")?;
        let theirs = frr_peer(&lab, "10.0.2.1")?;
        let done = ours["desired_min_tx_us"] == 300_000
            && ours["multiplier"] == 5
            && ours["polling"] == false
            && theirs["remote-transmit-interval"] == 300
            && theirs["remote-detect-multiplier"] == 5;
        done.then(|| (ours.clone(), theirs.clone()))
            .ok_or(format!("ours {ours}\nFRR's {theirs}"))
    });
    println!("after the reload: ours {ours:#}\nFRR's {theirs:#}");
    assert_eq!(ours["state"], "Up");
    assert_eq!(theirs["status"], "up");
    assert_eq!(
        ours["local_discriminator"], before["local_discriminator"],
        "the same session"
    );
    // FRR's detection time of us: 5 x 300 ms.
    assert_eq!(theirs["remote-receive-interval"], 300, "{theirs:#}");
    adjacency_kept(&lab, since);

    // BFD off: AdminDown goes out first (RFC 5882: a router that follows
    // it keeps the adjacency; FRR 8.4's ospfd takes an AdminDown as a
    // Down and restarts the adjacency once). Either way OSPF is Full again
    // and stays so: FRR's new session never comes Up.
    rewrite(
        &config,
        "bfd = { interval = \"300ms\", multiplier = 5 }\n",
        "",
    );
    let answer = reload(&lab);
    assert!(answer.contains("eth1 BFD changed (live)"), "{answer}");
    let status = wait_until("the session gone", Duration::from_secs(5), || {
        let v = our_bfd(&lab, "lb1")?;
        let empty = v["sessions"].as_array().is_some_and(|s| s.is_empty());
        empty.then_some(v.clone()).ok_or(v.to_string())
    });
    assert_eq!(
        status["state_changes"]["AdminDown"], 1,
        "AdminDown sent: {status:#}"
    );
    let log = log_of(&lab, "lb1", "xlvsd");
    assert!(log.contains("BFD off on the interface"), "lb1's log: {log}");
    lab.wait_full("r1", &[LB1], Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(5));
    lab.wait_full("r1", &[LB1], Duration::from_secs(1));
    assert_eq!(our_neighbor(&lab).unwrap().0, "Full");
}
