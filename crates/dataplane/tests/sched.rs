//! The per-director schedulers in XDP (bpf/sequence.h, counts.h,
//! locality.h, persist.h) against their reference model in Rust
//! (src/sched_model.rs), through BPF_PROG_TEST_RUN: each new flow is a
//! SYN from a port of its own, and the real it went to is read from the
//! frame's destination MAC.

mod common;

use common::*;
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_dataplane::abi::{RealLoad, Tmpl, TmplKey};
use xlvs_dataplane::sched_model::{
    self, count_pick, CountKind, Dest, Load, LocalityKind, SequenceKind,
};
use xlvs_dataplane::{
    Dataplane, DataplaneError, Limits, Persistence, RealSpec, Scheduling, ServiceSpec, XDP_DROP,
    XDP_TX,
};

/// A DR service (id 1, VIP:80) with `sched` and reals 10.0.1.21.. at
/// `weights`.
fn spec(sched: Scheduling, weights: &[u32]) -> ServiceSpec {
    ServiceSpec {
        scheduler: sched,
        ..dr_spec(
            weights
                .iter()
                .enumerate()
                .map(|(i, &w)| real(21 + i as u8, w))
                .collect(),
        )
    }
}

/// The real (index into the spec's reals) a packet went to, or None if it
/// was not forwarded.
fn send_from(dp: &Dataplane, client: &str, sport: u16, flags: u8) -> Option<usize> {
    let r = dp
        .run("xlvs", &tcp(client, sport, VIP, 80, flags).frame(), 1)
        .unwrap();
    (r.action == XDP_TX).then(|| usize::from(r.packet[5]) - 21)
}

/// New flows from CLIENT: the reals they went to.
fn new_flows(dp: &Dataplane, ports: std::ops::Range<u16>) -> Vec<usize> {
    ports
        .map(|p| send_from(dp, CLIENT, p, SYN).expect("forwarded"))
        .collect()
}

fn loaded(sched: Scheduling, weights: &[u32]) -> Dataplane {
    stay_on_one_cpu();
    let mut dp = small();
    dp.set_service(&spec(sched, weights)).unwrap();
    dp
}

#[test]
fn rr_wrr_and_fo_follow_their_sequences_exactly() {
    let weights = [3, 1, 0, 2];
    for kind in [SequenceKind::Rr, SequenceKind::Wrr, SequenceKind::Fo] {
        let dp = loaded(Scheduling::Sequence(kind), &weights);
        let cycle = sched_model::sequence(kind, &weights, 251).unwrap();
        let expected: Vec<usize> = cycle.iter().copied().cycle().take(30).collect();
        assert_eq!(new_flows(&dp, 40000..40030), expected, "{kind:?}");
    }
    // the cycles themselves
    let dp = loaded(Scheduling::Sequence(SequenceKind::Wrr), &weights);
    assert_eq!(new_flows(&dp, 40000..40006), [0, 3, 0, 1, 3, 0]);
}

#[test]
fn a_sequence_goes_on_where_it_was_after_a_change() {
    let dp_weights = [1, 1, 1];
    let mut dp = loaded(Scheduling::Sequence(SequenceKind::Rr), &dp_weights);
    assert_eq!(new_flows(&dp, 40000..40002), [0, 1]);
    // a fourth real: the cursor (at 2) goes on
    dp.set_service(&spec(Scheduling::Sequence(SequenceKind::Rr), &[1, 1, 1, 1]))
        .unwrap();
    assert_eq!(new_flows(&dp, 40002..40008), [2, 3, 0, 1, 2, 3]);
    // a shorter sequence: a cursor past its end starts over
    dp.set_service(&spec(Scheduling::Sequence(SequenceKind::Rr), &[1, 0, 1, 0]))
        .unwrap();
    assert_eq!(new_flows(&dp, 40008..40011), [0, 2, 0]);
}

/// The model's view of the reals: weights and the loads as set.
fn dests(weights: &[u32], loads: &[Load]) -> Vec<Dest> {
    weights
        .iter()
        .zip(loads)
        .map(|(&weight, &load)| Dest { weight, load })
        .collect()
}

fn set_loads(dp: &mut Dataplane, loads: &[Load]) {
    for (i, l) in loads.iter().enumerate() {
        let slot = dp.real_slot(1, real(21 + i as u8, 1).addr, 0).unwrap();
        let load = RealLoad {
            active: l.active,
            inactive: l.inactive,
        };
        dp.set_real_load(slot, load).unwrap();
    }
}

fn read_loads(dp: &Dataplane, n: usize) -> Vec<Load> {
    (0..n)
        .map(|i| {
            let slot = dp.real_slot(1, real(21 + i as u8, 1).addr, 0).unwrap();
            let l = dp.real_load(slot).unwrap();
            Load {
                active: l.active,
                inactive: l.inactive,
            }
        })
        .collect()
}

#[test]
fn connection_count_schedulers_follow_the_formulas_with_the_counts_xdp_keeps() {
    let weights = [1, 3, 0, 2, 5];
    let start = [
        Load {
            active: 2,
            inactive: 10,
        },
        Load {
            active: 4,
            inactive: 0,
        },
        Load::default(),
        Load {
            active: 0,
            inactive: 300,
        },
        Load {
            active: 9,
            inactive: 1,
        },
    ];
    for kind in [
        CountKind::Lc,
        CountKind::Wlc,
        CountKind::Sed,
        CountKind::Nq,
        CountKind::Ovf,
    ] {
        let mut dp = loaded(Scheduling::Counts(kind), &weights);
        set_loads(&mut dp, &start);
        let mut model = start;
        let mut open: Vec<(u16, usize)> = Vec::new();
        for port in 40000..40040u16 {
            let expected = count_pick(kind, &dests(&weights, &model));
            let got = send_from(&dp, CLIENT, port, SYN);
            assert_eq!(got, expected, "{kind:?}, flow {port}, loads {model:?}");
            let Some(i) = got else { continue };
            model[i].active += 1;
            open.push((port, i));
            // every third flow ends: its real has an active connection
            // less and an inactive one more
            if port % 3 == 0 {
                let (p, r) = open.remove(0);
                assert_eq!(send_from(&dp, CLIENT, p, FIN | ACK), Some(r));
                model[r].active -= 1;
                model[r].inactive += 1;
            }
        }
        assert_eq!(read_loads(&dp, weights.len()), model, "{kind:?}");
    }
}

#[test]
fn ovf_with_every_real_full_drops_new_flows() {
    let mut dp = loaded(Scheduling::Counts(CountKind::Ovf), &[1, 2]);
    assert_eq!(new_flows(&dp, 40000..40005), [1, 1, 1, 0, 0]);
    assert_eq!(send_from(&dp, CLIENT, 40005, SYN), None);
    assert_eq!(dp.stat("drop_no_real").unwrap(), 1);
    // a recount that finds them gone makes room again
    set_loads(&mut dp, &[Load::default(), Load::default()]);
    assert_eq!(send_from(&dp, CLIENT, 40006, SYN), Some(1));
}

#[test]
fn twos_spreads_new_flows_in_proportion_to_the_weights() {
    let weights = [1, 2, 3, 4];
    let dp = loaded(Scheduling::Counts(CountKind::Twos), &weights);
    let mut seen = [0u32; 4];
    // 10,000 flows from 5 clients
    for c in 0..5 {
        let client = format!("203.0.113.{}", 10 + c);
        for p in 0..2000u16 {
            seen[send_from(&dp, &client, 20000 + p, SYN).unwrap()] += 1;
        }
    }
    for (i, &n) in seen.iter().enumerate() {
        let share = f64::from(weights[i]) / 10.0 * 10_000.0;
        let n = f64::from(n);
        assert!(
            n > share * 0.8 && n < share * 1.2,
            "real {i}: {n} flows of 10,000 for a share of {share} ({seen:?})"
        );
    }
}

#[test]
fn weight_zero_empty_services_one_real_and_256_reals() {
    for sched in [
        Scheduling::Sequence(SequenceKind::Rr),
        Scheduling::Sequence(SequenceKind::Wrr),
        Scheduling::Sequence(SequenceKind::Fo),
        Scheduling::Counts(CountKind::Wlc),
        Scheduling::Counts(CountKind::Twos),
    ] {
        // no real, and every real at weight 0: dropped and counted
        for weights in [&[][..], &[0, 0]] {
            let dp = loaded(sched, weights);
            assert_eq!(send_from(&dp, CLIENT, 40000, SYN), None, "{sched:?}");
            assert_eq!(dp.stat("drop_no_real").unwrap(), 1, "{sched:?}");
        }
        // one real takes everything; weight 0 nothing
        let dp = loaded(sched, &[0, 7, 0]);
        assert_eq!(new_flows(&dp, 40000..40020), [1; 20], "{sched:?}");
    }

    // 256 reals: wlc with no connections takes each once, in order; rr
    // goes round them; a 257th real with a weight is refused for wlc.
    stay_on_one_cpu();
    let many = |n: usize, sched| ServiceSpec {
        scheduler: sched,
        ..dr_spec(
            (0..n)
                .map(|i| RealSpec {
                    addr: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 1, 0)) + i as u32),
                    port: 0,
                    weight: 1,
                    mac: [2, 0xaa, 0, 0, (i >> 8) as u8, i as u8],
                })
                .collect(),
        )
    };
    let target = |dp: &Dataplane, port: u16| {
        let r = dp
            .run("xlvs", &tcp(CLIENT, port, VIP, 80, SYN).frame(), 1)
            .unwrap();
        assert_eq!(r.action, XDP_TX);
        usize::from(u16::from_be_bytes([r.packet[4], r.packet[5]]))
    };
    for sched in [
        Scheduling::Counts(CountKind::Wlc),
        Scheduling::Sequence(SequenceKind::Rr),
    ] {
        let mut dp = Dataplane::load(Limits {
            reals: 1024,
            table_size: xlvs_maglev::TableSize::new(1021).unwrap(),
            ..small_limits()
        })
        .unwrap();
        dp.set_service(&many(256, sched)).unwrap();
        let got: Vec<usize> = (0..512).map(|i| target(&dp, 30000 + i)).collect();
        let expected: Vec<usize> = (0..512).map(|i| i % 256).collect();
        assert_eq!(got, expected, "{sched:?}");
    }
    let mut dp = small_with_reals(1024);
    let err = dp
        .set_service(&many(257, Scheduling::Counts(CountKind::Wlc)))
        .unwrap_err();
    assert!(
        matches!(err, DataplaneError::TooManyDests { count: 257, .. }),
        "{err}"
    );
}

fn small_with_reals(reals: u32) -> Dataplane {
    Dataplane::load(Limits {
        reals,
        ..small_limits()
    })
    .unwrap()
}

#[test]
fn known_flows_keep_their_real_after_a_weight_change_and_a_syn_sent_again_keeps_its_entry() {
    for sched in [
        Scheduling::Sequence(SequenceKind::Rr),
        Scheduling::Counts(CountKind::Wlc),
    ] {
        let mut dp = loaded(sched, &[1, 1, 1]);
        let first = new_flows(&dp, 40000..40003);
        assert_eq!(first, [0, 1, 2], "{sched:?}");
        // the SYN of flow 40000 again: the same real, not the next one
        assert_eq!(send_from(&dp, CLIENT, 40000, SYN), Some(0), "{sched:?}");
        assert_eq!(dp.stat("conntrack_new").unwrap(), 3, "{sched:?}");
        // real 0 goes quiescent: its flow stays, new flows avoid it
        dp.set_service(&spec(sched, &[0, 1, 1])).unwrap();
        assert_eq!(send_from(&dp, CLIENT, 40000, ACK), Some(0), "{sched:?}");
        let next = new_flows(&dp, 40003..40009);
        assert!(!next.contains(&0), "{sched:?}: {next:?}");
    }
}

fn persistent(sched: Scheduling, weights: &[u32], mask: &str) -> ServiceSpec {
    ServiceSpec {
        persistence: Some(Persistence {
            timeout: Duration::from_secs(300),
            mask: mask.parse().unwrap(),
        }),
        ..spec(sched, weights)
    }
}

#[test]
fn persistence_keeps_a_client_on_its_real_for_its_timeout_with_every_scheduler() {
    for sched in [
        Scheduling::Sequence(SequenceKind::Rr),
        Scheduling::Sequence(SequenceKind::Wrr),
        Scheduling::Counts(CountKind::Lc),
        Scheduling::Counts(CountKind::Wlc),
        Scheduling::Counts(CountKind::Sed),
        Scheduling::Counts(CountKind::Nq),
        Scheduling::Counts(CountKind::Twos),
        Scheduling::Locality {
            kind: LocalityKind::Lblc,
            expiry: Duration::from_secs(60),
        },
    ] {
        stay_on_one_cpu();
        let mut dp = small();
        dp.set_service(&persistent(sched, &[1, 1, 1], "255.255.255.0"))
            .unwrap();
        let a = send_from(&dp, "203.0.113.5", 40000, SYN).unwrap();
        // the same client, and one of the same /24: the same real
        for p in 40001..40010 {
            assert_eq!(send_from(&dp, "203.0.113.5", p, SYN), Some(a), "{sched:?}");
            assert_eq!(send_from(&dp, "203.0.113.99", p, SYN), Some(a), "{sched:?}");
        }
        let t = dp.template(1, "203.0.113.0".parse().unwrap()).unwrap();
        assert_eq!(t.real_addr, real(21 + a as u8, 1).addr.octets());
        // another client: another real (but for twos, whose draws may
        // both fall on the busy real)
        let b = send_from(&dp, "198.51.100.1", 40000, SYN).unwrap();
        if sched != Scheduling::Counts(CountKind::Twos) {
            assert_ne!(b, a, "{sched:?}");
        }
        // the template's last packet 301 s ago: a packet of a flow it
        // placed revives it (past the flow cache, whose entries skip the
        // connection table)...
        let clock = dp.clock().unwrap();
        let key = TmplKey {
            svc: 1,
            client: [203, 0, 113, 0],
        };
        let old = Tmpl {
            last: clock.now - 301 * u64::from(clock.hz),
            ..t
        };
        dp.set_template(key, old).unwrap();
        dp.invalidate_flow_cache().unwrap();
        assert_eq!(send_from(&dp, "203.0.113.5", 40000, ACK), Some(a));
        let revived = dp.template(1, "203.0.113.0".parse().unwrap()).unwrap();
        assert!(revived.last > old.last, "{sched:?}");
        // ...and without one, a new flow is a new choice, which the
        // template keeps from then on
        dp.set_template(key, old).unwrap();
        let c = send_from(&dp, "203.0.113.7", 41000, SYN).unwrap();
        let now = dp.template(1, "203.0.113.0".parse().unwrap()).unwrap();
        assert_eq!(
            now.real_addr,
            real(21 + c as u8, 1).addr.octets(),
            "{sched:?}"
        );
        assert!(now.last > old.last, "{sched:?}");
        assert_eq!(
            send_from(&dp, "203.0.113.5", 41001, SYN),
            Some(c),
            "{sched:?}"
        );
    }
}

#[test]
fn a_template_to_a_quiescent_real_is_used_and_one_to_a_removed_real_is_not() {
    stay_on_one_cpu();
    let mut dp = small();
    let sched = Scheduling::Sequence(SequenceKind::Rr);
    dp.set_service(&persistent(sched, &[1, 1, 1], "255.255.255.255"))
        .unwrap();
    assert_eq!(send_from(&dp, "203.0.113.5", 40000, SYN), Some(0));
    assert_eq!(send_from(&dp, "203.0.113.6", 40000, SYN), Some(1));
    // real 0 at weight 0: its client stays
    dp.set_service(&persistent(sched, &[0, 1, 1], "255.255.255.255"))
        .unwrap();
    assert_eq!(send_from(&dp, "203.0.113.5", 40001, SYN), Some(0));
    // real 0 removed: its client goes elsewhere, and its old flow too
    let mut gone = persistent(sched, &[1, 1, 1], "255.255.255.255");
    gone.reals.remove(0);
    dp.set_service(&gone).unwrap();
    let moved = send_from(&dp, "203.0.113.5", 40002, SYN).unwrap();
    assert_ne!(moved, 0, "not the removed real");
    assert_eq!(send_from(&dp, "203.0.113.5", 40003, SYN), Some(moved));
    assert_eq!(send_from(&dp, "203.0.113.6", 40001, SYN), Some(1));
}

#[test]
fn lblc_keeps_a_destination_on_its_real_until_it_is_overloaded() {
    let lblc = Scheduling::Locality {
        kind: LocalityKind::Lblc,
        expiry: Duration::from_secs(60),
    };
    let mut dp = loaded(lblc, &[2, 4, 1]);
    // wlc's choice for the VIP (no connections: the first), then locality
    set_loads(&mut dp, &[Load::default(); 3]);
    assert_eq!(new_flows(&dp, 40000..40003), [0, 0, 0]);
    // real 0: 3 active > weight 2, and real 1 under half its weight:
    // overloaded, the VIP moves to wlc's choice
    assert_eq!(read_loads(&dp, 3)[0].active, 3);
    assert_eq!(new_flows(&dp, 40003..40006), [1, 1, 1]);
    let e = dp.locality_entry(1, VIP.parse().unwrap()).unwrap();
    assert_eq!(e.count, 1);
    // real 1 at weight 0: the VIP moves again
    dp.set_service(&spec(lblc, &[2, 0, 1])).unwrap();
    let next = send_from(&dp, CLIENT, 40006, SYN).unwrap();
    assert_ne!(next, 1);
    assert_eq!(send_from(&dp, CLIENT, 40007, SYN), Some(next));
}

#[test]
fn lblcr_grows_its_set_on_overload_and_shrinks_it_when_it_stays_unchanged() {
    let lblcr = Scheduling::Locality {
        kind: LocalityKind::Lblcr,
        expiry: Duration::from_secs(60),
    };
    let mut dp = loaded(lblcr, &[2, 4, 1]);
    assert_eq!(new_flows(&dp, 40000..40003), [0, 0, 0]);
    // overloaded: wlc's choice joins the set...
    assert_eq!(send_from(&dp, CLIENT, 40003, SYN), Some(1));
    let vip: Ipv4Addr = VIP.parse().unwrap();
    let e = dp.locality_entry(1, vip).unwrap();
    assert_eq!(e.count, 2);
    // ...and the set's least loaded (by wlc's measure) takes the next flows
    assert_eq!(new_flows(&dp, 40004..40006), [1, 1]);
    // the set unchanged for longer than the expiry: its most loaded (real
    // 0: 3 active for weight 2) leaves it
    let clock = dp.clock().unwrap();
    let old = xlvs_dataplane::abi::DstReals {
        changed: clock.now - 61 * u64::from(clock.hz),
        ..dp.locality_entry(1, vip).unwrap()
    };
    dp.set_locality_entry(1, vip, old).unwrap();
    assert_eq!(send_from(&dp, CLIENT, 40006, SYN), Some(1));
    let e = dp.locality_entry(1, vip).unwrap();
    assert_eq!(
        (e.count, e.real[0]),
        (1, dp.real_slot(1, real(22, 1).addr, 0).unwrap())
    );
}

#[test]
fn a_recount_sets_the_counts_from_the_live_entries() {
    let mut dp = loaded(Scheduling::Counts(CountKind::Wlc), &[1, 1]);
    assert_eq!(new_flows(&dp, 40000..40004), [0, 1, 0, 1]);
    assert_eq!(send_from(&dp, CLIENT, 40000, FIN | ACK), Some(0));
    // counts off by what XDP cannot see: the recount puts them right
    set_loads(
        &mut dp,
        &[Load {
            active: 50,
            inactive: 50,
        }; 2],
    );
    let r = dp.recount().unwrap();
    assert_eq!((r.read, r.counted, r.reals), (4, 4, 2));
    let counts = read_loads(&dp, 2);
    assert_eq!(
        counts[0],
        Load {
            active: 1,
            inactive: 1
        }
    );
    assert_eq!(
        counts[1],
        Load {
            active: 2,
            inactive: 0
        }
    );
    // expired entries are not counted
    set_timeouts(&mut dp, 1);
    std::thread::sleep(Duration::from_millis(1100));
    dp.recount().unwrap();
    assert_eq!(read_loads(&dp, 2), [Load::default(); 2]);
    // nothing to count without a counting service
    dp.set_service(&spec(Scheduling::Sequence(SequenceKind::Rr), &[1, 1]))
        .unwrap();
    assert_eq!(dp.recount().unwrap().read, 0);
}

#[test]
fn udp_entries_count_as_inactive_as_ipvs_counts_them() {
    stay_on_one_cpu();
    let mut dp = small();
    let udp_spec = ServiceSpec {
        protocol: xlvs_dataplane::Protocol::Udp,
        ..spec(Scheduling::Counts(CountKind::Wlc), &[1, 1])
    };
    dp.set_service(&udp_spec).unwrap();
    for sport in 40000..40004 {
        let r = dp
            .run("xlvs", &udp(CLIENT, sport, VIP, 80).frame(), 1)
            .unwrap();
        assert_eq!(r.action, XDP_TX);
    }
    // XDP's own counts: every datagram flow inactive, spread by wlc
    let inactive = Load {
        active: 0,
        inactive: 2,
    };
    assert_eq!(read_loads(&dp, 2), [inactive; 2]);
    // and the recount agrees
    set_loads(&mut dp, &[Load::default(); 2]);
    assert_eq!(dp.recount().unwrap().counted, 4);
    assert_eq!(read_loads(&dp, 2), [inactive; 2]);
}

#[test]
fn maglev_services_keep_no_counts_and_no_templates() {
    let mut dp = loaded(Scheduling::Maglev(xlvs_dataplane::HashOn::Flow), &[1, 1]);
    dp.set_service(&persistent(
        Scheduling::Maglev(xlvs_dataplane::HashOn::Flow),
        &[1, 1],
        "255.255.255.0",
    ))
    .unwrap();
    let a = send_from(&dp, "203.0.113.5", 40000, SYN).unwrap();
    // persistence under Maglev: the masked client's hash
    assert_eq!(send_from(&dp, "203.0.113.77", 40001, SYN), Some(a));
    assert!(dp.templates(10).is_empty());
    assert_eq!(read_loads(&dp, 2), [Load::default(); 2]);
    let _ = XDP_DROP;
}
