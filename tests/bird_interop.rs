//! Our OSPF speaker against real BIRD 2 (Debian's bird2), the second
//! router implementation beside FRR (tests/ospf_interop.rs): broadcast and
//! point-to-point, with and without MD5. BIRD's kernel protocol installs
//! what it learns, so the router's kernel FIB is the final truth.
//!
//! Variants of labs/bird-broadcast and labs/bird-p2p (MD5 on or off, 1000
//! VIPs) are rewritten into a temporary directory at test time.

use std::time::{Duration, Instant};
use xlvs_tests::loss::{
    assert_first_packets_lost, dropped, lose_first_packets, withdraw_losing_the_first_lsu,
};
use xlvs_tests::{
    lab_variant, leftovers, pid_alive, rewrite, signal, text, wait_until, workspace, Lab, XLVS_MD5,
};

const VIP: &str = "192.0.2.10";
const VIP2: &str = "192.0.2.11";
/// The directors' router ids and addresses on the broadcast segment.
const LB1: &str = "10.255.0.11";
const LB2: &str = "10.255.0.12";
const LB1_ADDR: &str = "10.0.1.11";
const LB2_ADDR: &str = "10.0.1.12";
/// lb1's address on the point-to-point link.
const P2P_ADDR: &str = "10.0.2.1";
/// MD5 in a bird.conf interface, as labs/bird-p2p writes it.
const BIRD_MD5: &str = "authentication cryptographic;\n            \
                        password \"xlvs-lab-key\" { id 7; algorithm keyed md5; };";

/// BIRD's log of the lab's router r1 (bird logs to stderr, which xlvs-lab
/// keeps in the node's directory).
fn bird_log(lab: &Lab) -> String {
    let path = format!("/run/xlvs-lab/{}/r1/bird.log", lab.name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Neither side dropped a packet for its authentication.
fn assert_no_auth_failures(lab: &Lab, directors: &[&str]) {
    let log = bird_log(lab);
    assert!(!log.contains("Authentication failed"), "BIRD's log:\n{log}");
    for lb in directors {
        let stats = lab
            .json(lb, &["xlvsadm", "--node", lb, "--json", "ospf", "stats"])
            .unwrap();
        assert_eq!(stats["auth_failures"], 0, "{lb}: {stats:#}");
    }
}

/// r1's kernel route to `prefix` is one route from BIRD whose next hops
/// are `hops` (ECMP as one multipath route, not several routes).
fn assert_one_bird_route(lab: &Lab, prefix: &str, hops: &[&str]) {
    let routes = lab
        .json("r1", &["ip", "-j", "route", "show", prefix])
        .unwrap();
    let list = routes.as_array().unwrap();
    assert_eq!(list.len(), 1, "{routes:#}");
    assert_eq!(list[0]["protocol"], "bird", "{routes:#}");
    assert_eq!(lab.nexthops("r1", prefix), hops, "{routes:#}");
}

/// BIRD as the DR of two directors: both Full, each VIP one multipath
/// kernel route over both; a withdrawal, SIGTERM (flushed: gone well
/// before the dead interval), kill -9 (gone after it) and a restart (back,
/// and BIRD holds our newest Router-LSA); down leaves nothing.
#[test]
fn broadcast_ecmp_withdraw_stop_kill_and_return() {
    let lab = Lab::up(&workspace().join("labs/bird-broadcast.clab.yml"));
    let started = Instant::now();
    let bird_pid = lab.pid_of("r1", "bird");
    // BIRD elects itself DR after its wait timer (4 x hello = 4 s), not
    // after a dead interval as FRR does.
    lab.wait_full("r1", &[LB1, LB2], Duration::from_secs(30));
    println!("both Full after {:?}", started.elapsed());
    for vip in [VIP, VIP2] {
        lab.wait_nexthops("r1", vip, &[LB1_ADDR, LB2_ADDR], Duration::from_secs(20));
        assert_one_bird_route(&lab, vip, &[LB1_ADDR, LB2_ADDR]);
    }
    println!("ECMP routes after {:?}", started.elapsed());
    // How BIRD looks from our side: the DR, Full.
    assert_eq!(
        lab.seen_by("lb1", "10.255.0.1"),
        Ok(("Full".into(), "DR".into()))
    );

    // Withdraw one VIP at runtime: only that VIP loses lb1.
    lab.withdraw("lb1", VIP2);
    lab.wait_nexthops("r1", VIP2, &[LB2_ADDR], Duration::from_secs(15));
    assert_eq!(lab.nexthops("r1", VIP), [LB1_ADDR, LB2_ADDR]);

    // SIGTERM lb2: it flushes its Router-LSA, so BIRD drops it within its
    // SPF tick (1 s), not after the 12 s dead interval.
    signal(lab.pid_of("lb2", "xlvsd"), libc::SIGTERM);
    let took = lab.wait_nexthops("r1", VIP, &[LB1_ADDR], Duration::from_secs(12));
    println!("SIGTERM: next hop gone after {took:?} (dead interval 12 s)");
    assert!(took < Duration::from_secs(4), "took {took:?}: not flushed");
    // Flushed: gone, or kept at MaxAge until BIRD removes it.
    let lsas = lab.router_lsas("r1", LB2);
    assert!(
        lsas.iter().all(|&(_, age)| age == 3600),
        "lb2's Router-LSA flushed: {lsas:?}"
    );

    // kill -9 lb1: nothing is flushed; the route goes after the dead
    // interval.
    let before = lab.router_lsas("r1", LB1);
    assert_eq!(before.len(), 1, "{before:?}");
    let killed = Instant::now();
    signal(lab.pid_of("lb1", "xlvsd"), libc::SIGKILL);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        lab.nexthops("r1", VIP),
        [LB1_ADDR],
        "still there within the dead interval"
    );
    lab.wait_nexthops("r1", VIP, &[], Duration::from_secs(20));
    println!(
        "kill -9: next hop gone after {:?} (dead interval 12 s)",
        killed.elapsed()
    );
    assert!(killed.elapsed() >= Duration::from_secs(10));

    // Restart lb1: back in the FIB, and BIRD holds one current instance of
    // its Router-LSA, newer than before the kill and the same as ours.
    let config = workspace().join("labs/bird-broadcast/lb1.toml");
    let restarted_at = Instant::now();
    let _restarted = xlvs_tests::start_xlvsd("clab-bird-bcast-lb1", &config);
    lab.wait_nexthops("r1", VIP, &[LB1_ADDR], Duration::from_secs(30));
    println!("restart: back after {:?}", restarted_at.elapsed());
    let (seq_before, _) = before[0];
    lab.wait_lsa_taken_over("r1", "lb1", LB1, seq_before);

    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
    assert!(!pid_alive(bird_pid), "bird {bird_pid} outlived the lab");
    println!("whole test after up: {:?}", started.elapsed());
}

/// The broadcast lab with MD5 on every interface, each director losing
/// its first DBD and its first LSU (tests/loss.rs), so retransmissions
/// must pass authentication: both adjacencies Full, ECMP, a withdrawal
/// whose first LSU is lost, and a flush on SIGTERM, with no packet
/// dropped for authentication on either side.
#[test]
fn broadcast_with_md5_survives_lost_packets() {
    let (_dir, file, lab_dir) = lab_variant("bird-broadcast", "bird-bcast-md5");
    lose_first_packets(
        &file,
        &[
            "ip addr add 10.0.1.11/24 dev eth1",
            "ip addr add 10.0.1.12/24 dev eth1",
        ],
    );
    rewrite(
        &lab_dir.join("r1/bird.conf"),
        "hello 1;",
        &format!("hello 1;\n            {BIRD_MD5}"),
    );
    for lb in ["lb1", "lb2"] {
        rewrite(
            &lab_dir.join(format!("{lb}.toml")),
            "network = \"broadcast\"",
            &format!("network = \"broadcast\"\n{XLVS_MD5}"),
        );
    }
    let lab = Lab::up(&file);
    let started = Instant::now();
    lab.wait_full("r1", &[LB1, LB2], Duration::from_secs(30));
    lab.wait_nexthops("r1", VIP, &[LB1_ADDR, LB2_ADDR], Duration::from_secs(20));
    assert_one_bird_route(&lab, VIP, &[LB1_ADDR, LB2_ADDR]);
    println!("MD5: ECMP route after {:?}", started.elapsed());
    assert_first_packets_lost(&lab, &["lb1", "lb2"]);
    withdraw_losing_the_first_lsu(&lab, "lb1", VIP2);
    lab.wait_nexthops("r1", VIP2, &[LB2_ADDR], Duration::from_secs(20));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    signal(lab.pid_of("lb2", "xlvsd"), libc::SIGTERM);
    let took = lab.wait_nexthops("r1", VIP, &[LB1_ADDR], Duration::from_secs(12));
    println!("MD5, SIGTERM: next hop gone after {took:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}: not flushed");
    assert_no_auth_failures(&lab, &["lb1"]);
}

/// labs/bird-p2p: MD5 on a point-to-point /31, lb1 losing its first DBD
/// and its first LSU. Full, the VIP in the FIB; then kill -9 and a
/// restart within the dead interval, while BIRD still holds the last MD5
/// sequence number of the killed process: the new process's numbers (from
/// the clock) are not lower, so it is Full again at once, with nothing
/// dropped for authentication; last, a withdrawal whose first LSU is lost.
#[test]
fn point_to_point_with_md5_lost_packets_and_a_restart() {
    let (_dir, file, lab_dir) = lab_variant("bird-p2p", "bird-p2p-md5");
    lose_first_packets(&file, &["ip addr add 10.0.2.1/31 dev eth1"]);
    let lab = Lab::up(&file);
    let started = Instant::now();
    lab.wait_full("r1", &[LB1], Duration::from_secs(30));
    lab.wait_nexthops("r1", VIP, &[P2P_ADDR], Duration::from_secs(20));
    println!("p2p MD5: route after {:?}", started.elapsed());
    assert_first_packets_lost(&lab, &["lb1"]);
    assert_no_auth_failures(&lab, &["lb1"]);

    let pid = lab.pid_of("lb1", "xlvsd");
    signal(pid, libc::SIGKILL);
    // Until it is gone it still answers on the control socket, and a new
    // xlvsd would refuse to start.
    wait_until("the killed xlvsd gone", Duration::from_secs(10), || {
        (!pid_alive(pid)).then_some(()).ok_or("alive".to_string())
    });
    let restarted_at = Instant::now();
    let _restarted = xlvs_tests::start_xlvsd("clab-bird-p2p-md5-lb1", &lab_dir.join("lb1.toml"));
    // The new process knows r1 only through a new adjacency.
    wait_until(
        "the new lb1 Full with r1",
        Duration::from_secs(20),
        || match lab.seen_by("lb1", "10.255.0.1")? {
            (state, _) if state == "Full" => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    println!("p2p restart: Full after {:?}", restarted_at.elapsed());
    lab.wait_full("r1", &[LB1], Duration::from_secs(5));
    lab.wait_nexthops("r1", VIP, &[P2P_ADDR], Duration::from_secs(20));
    withdraw_losing_the_first_lsu(&lab, "lb1", VIP);
    lab.wait_nexthops("r1", VIP, &[], Duration::from_secs(20));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    assert_no_auth_failures(&lab, &["lb1"]);
}

/// Point-to-point without authentication, and 1000 VIPs as AS-external
/// LSAs: every one of them reaches BIRD's kernel routes.
#[test]
fn point_to_point_without_md5_a_thousand_vips() {
    let (_dir, file, lab_dir) = lab_variant("bird-p2p", "bird-p2p-1000");
    rewrite(
        &lab_dir.join("r1/bird.conf"),
        BIRD_MD5,
        "authentication none;",
    );
    let lb1 = lab_dir.join("lb1.toml");
    rewrite(&lb1, &format!("{XLVS_MD5}\n"), "");
    let config = xlvs_tests::thousand_vips_config(&std::fs::read_to_string(&lb1).unwrap());
    std::fs::write(&lb1, config).unwrap();
    let lab = Lab::up(&file);
    let started = Instant::now();
    lab.wait_full("r1", &[LB1], Duration::from_secs(30));
    wait_until(
        "1000 VIP routes in r1's FIB",
        Duration::from_secs(60),
        || {
            let vips = lab.count_routes("r1", "bird", "198.18.")?;
            (vips == 1000).then_some(()).ok_or(format!("{vips} routes"))
        },
    );
    println!("1000 VIPs in the FIB after {:?}", started.elapsed());
    assert_eq!(lab.nexthops("r1", "198.18.3.250"), [P2P_ADDR]);
}
