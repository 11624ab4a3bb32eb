//! The SYN flood guard (bpf/sched.h): over `syn_flood_threshold` SYN
//! entries per second on a CPU, DR and TUN SYNs are forwarded to the real
//! Maglev picks without a connection entry; the flow's next packet makes
//! one; NAT and FULLNAT SYNs always make theirs (their replies need the
//! way back).

mod common;

use common::fib::{director_ns, load, through};
use common::*;
use std::time::{Duration, Instant};
use xlvs_dataplane::abi::Globals;
use xlvs_dataplane::{Dataplane, Forward, ServiceSpec, XDP_TX};

/// A DR service on port 80 with reals 10.0.1.21-24.
fn four_reals() -> ServiceSpec {
    dr_spec((21..25).map(|n| real(n, 1)).collect())
}

fn guarded(threshold: u32) -> Dataplane {
    let mut dp = small();
    dp.set_service(&four_reals()).unwrap();
    set_threshold(&mut dp, threshold);
    dp
}

fn set_threshold(dp: &mut Dataplane, threshold: u32) {
    let g = dp.globals().unwrap();
    dp.set_globals(Globals {
        syn_flood_threshold: threshold,
        ..g
    })
    .unwrap();
}

#[test]
fn syns_over_the_threshold_go_to_the_same_real_without_an_entry() {
    stay_on_one_cpu();
    let dp = guarded(5);
    let unguarded = guarded(0);
    let flows: Vec<u16> = (40000..40020).collect();
    let started = Instant::now();
    let reals: Vec<u8> = flows.iter().map(|&p| dr_send(&dp, p, SYN)).collect();
    // (all within the guard's one-second window)
    assert!(started.elapsed() < Duration::from_millis(900));
    let expected: Vec<u8> = flows.iter().map(|&p| dr_send(&unguarded, p, SYN)).collect();
    assert_eq!(reals, expected, "the guard changes no real");
    assert_eq!(dp.stat("conntrack_new").unwrap(), 5);
    assert_eq!(dp.stat("syn_untracked").unwrap(), 15);
    assert_eq!(dp.connections(100).len(), 5);
    assert_eq!(unguarded.stat("syn_untracked").unwrap(), 0);
    assert_eq!(unguarded.connections(100).len(), 20);
    // Every one is a new connection for the counters, tracked or not.
    assert_eq!(dp.service_traffic(1).unwrap().conns, 20);

    // The handshake's ACK finds no entry, goes to the same real and makes
    // one: the guard does not limit it.
    let acked: Vec<u8> = flows.iter().map(|&p| dr_send(&dp, p, ACK)).collect();
    assert_eq!(acked, expected);
    assert_eq!(dp.connections(100).len(), 20);
    assert_eq!(dp.stat("syn_untracked").unwrap(), 15);
    assert_eq!(dp.service_traffic(1).unwrap().conns, 20);

    // A new second, a new allowance.
    std::thread::sleep(Duration::from_millis(1100));
    for p in 41000..41005 {
        dr_send(&dp, p, SYN);
    }
    assert_eq!(dp.stat("syn_untracked").unwrap(), 15);
    assert_eq!(dp.connections(100).len(), 25);
    dr_send(&dp, 41005, SYN);
    assert_eq!(dp.stat("syn_untracked").unwrap(), 16);
}

#[test]
fn a_syn_that_reschedules_a_known_flow_updates_its_entry_even_past_the_threshold() {
    stay_on_one_cpu();
    let mut dp = guarded(0);
    let flows: Vec<u16> = (40000..40100).collect();
    let before: Vec<u8> = flows.iter().map(|&p| dr_send(&dp, p, SYN)).collect();
    // A fifth real: some flows now hash elsewhere, but their entries
    // keep them where they were.
    let mut spec = four_reals();
    spec.reals.push(real(25, 1));
    dp.set_service(&spec).unwrap();
    set_threshold(&mut dp, 1);
    dr_send(&dp, 50000, SYN); // (this second's one entry)
                              // A new SYN on each old 5-tuple: scheduled afresh, and its ACK must
                              // follow it, so the entry is rewritten even past the threshold.
    let mut moved = 0;
    for (i, &p) in flows.iter().enumerate() {
        let syn = dr_send(&dp, p, SYN);
        moved += usize::from(syn != before[i]);
        assert_eq!(
            dr_send(&dp, p, ACK),
            syn,
            "flow {p}: the ACK follows its SYN"
        );
    }
    assert!(moved > 0, "no flow was rescheduled");
    assert_eq!(dp.stat("syn_untracked").unwrap(), 0);
}

#[test]
fn a_reload_of_the_threshold_takes_effect_at_once() {
    stay_on_one_cpu();
    let mut dp = guarded(2);
    for p in 40000..40004 {
        dr_send(&dp, p, SYN);
    }
    assert_eq!(dp.stat("syn_untracked").unwrap(), 2);
    // Off: every SYN has its entry again, within the same second.
    set_threshold(&mut dp, 0);
    for p in 40004..40008 {
        dr_send(&dp, p, SYN);
    }
    assert_eq!(dp.stat("syn_untracked").unwrap(), 2);
    assert_eq!(dp.connections(100).len(), 6);
}

#[test]
fn tun_is_guarded_and_nat_and_fullnat_syns_always_make_their_entry() {
    let cases = [
        ("syntun", Forward::Tun, 9),
        ("synnat", Forward::Nat, 0),
        ("synfnat", Forward::Fullnat, 0),
    ];
    for (tag, forward, untracked) in cases {
        let ns = director_ns(tag);
        let _in = ns.enter();
        stay_on_one_cpu();
        let mut dp = load(forward, 8080, 6);
        let g = dp.globals().unwrap();
        dp.set_globals(Globals {
            tun_src: [10, 0, 1, 1],
            syn_flood_threshold: 1,
            ..g
        })
        .unwrap();
        for p in 40000..40010 {
            let r = through(&dp, &ns, &tcp(CLIENT, p, VIP, 80, SYN).frame());
            assert_eq!(r.action, XDP_TX, "{tag}: flow {p}");
        }
        assert_eq!(dp.stat("syn_untracked").unwrap(), untracked, "{tag}");
        assert_eq!(dp.connections(100).len(), 10 - untracked as usize, "{tag}");
    }
}
