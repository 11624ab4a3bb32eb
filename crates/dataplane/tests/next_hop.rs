//! The next hop map (bpf/fib.h table_next_hop): a TUN, NAT or FULLNAT
//! real with a usable entry is sent by it without asking the FIB; without
//! one (none, another real's, too small an MTU, the map off) the FIB
//! answers exactly as before; over pins, no entry outlives its daemon.

mod common;

use common::fib::*;
use common::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::{Dataplane, Forward, NextHop, XDP_DROP, XDP_REDIRECT, XDP_TX};

const REAL: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 21);
/// A MAC the FIB would never answer: a frame to it came from the map.
const MAP_MAC: [u8; 6] = [2, 0xbb, 0, 0, 0, 0x21];
const MAP_SRC: [u8; 6] = [2, 0xbb, 0, 0, 0, 0x01];

fn hop(ifindex: u32, mtu: u16) -> NextHop {
    NextHop {
        ifindex,
        dmac: MAP_MAC,
        smac: MAP_SRC,
        mtu,
    }
}

fn loaded(forward: Forward) -> Dataplane {
    let mut dp = load(forward, 8080, 6);
    tun_source(&mut dp);
    dp.set_next_hop_cache(true).unwrap();
    dp
}

fn counters(dp: &Dataplane) -> (u64, u64) {
    (
        dp.stat("next_hop_hit").unwrap(),
        dp.stat("next_hop_fallback").unwrap(),
    )
}

#[test]
fn an_entry_sends_new_flows_by_its_macs_and_interface() {
    let ns = director_ns("nh-hit");
    let _in = ns.enter();
    for forward in [Forward::Tun, Forward::Fullnat, Forward::Nat] {
        let mut dp = loaded(forward);
        dp.set_next_hop(REAL, Some(hop(ns.ifindex, 1500))).unwrap();
        assert_eq!(
            dp.next_hop_entry(REAL).unwrap(),
            Some(hop(ns.ifindex, 1500))
        );
        for sport in 40000..40010u16 {
            let r = through(&dp, &ns, &tcp(CLIENT, sport, VIP, 80, SYN).frame());
            assert_eq!(r.action, XDP_TX, "{forward:?}");
            assert_eq!(&r.packet[0..6], &MAP_MAC, "{forward:?}: the entry's MAC");
            assert_eq!(&r.packet[6..12], &MAP_SRC, "{forward:?}: its source");
            let ip = ip_of(&r.packet);
            assert_eq!(addr(&ip[16..20]), REAL, "{forward:?}: to the real");
        }
        assert_eq!(counters(&dp), (10, 0), "{forward:?}");
    }
}

#[test]
fn an_entry_saves_the_fib_lookup_itself() {
    // The FIB has no route to this real: every packet to it would be
    // dropped after the lookup. With an entry, none is looked up.
    let ns = unrouted("nh-nofib");
    let _in = ns.enter();
    let mut dp = loaded(Forward::Tun);
    let syn = tcp(CLIENT, 40000, VIP, 80, SYN).frame();
    assert_eq!(through(&dp, &ns, &syn).action, XDP_DROP);
    assert_eq!(dp.stat("drop_no_route").unwrap(), 1);
    dp.set_next_hop(REAL, Some(hop(ns.ifindex, 1500))).unwrap();
    let r = through(&dp, &ns, &syn);
    assert_eq!(r.action, XDP_TX);
    assert_eq!(dp.stat("drop_no_route").unwrap(), 1, "no lookup");
    assert_eq!(dp.stat("tx_tun").unwrap(), 1);
}

/// A namespace whose FIB has no route to the reals.
fn unrouted(tag: &str) -> common::netns::FibNs {
    common::netns::FibNs::new(tag, &["addr add 10.0.9.1/24 dev in0"])
}

#[test]
fn another_interface_is_a_redirect() {
    let ns = director_ns("nh-redir");
    let _in = ns.enter();
    // in1, the veth's other end, as the egress interface.
    // SAFETY: a NUL-terminated name, looked up in the namespace entered.
    let in1 = unsafe { libc::if_nametoindex(c"in1".as_ptr()) };
    assert_ne!(in1, 0);
    let mut dp = loaded(Forward::Fullnat);
    dp.set_next_hop(REAL, Some(hop(in1, 1500))).unwrap();
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    assert_eq!(r.action, XDP_REDIRECT);
    assert_eq!(dp.stat("redirect_fullnat").unwrap(), 1);
    assert_eq!(counters(&dp), (1, 0));
}

#[test]
fn without_a_usable_entry_the_fib_answers_as_before() {
    let ns = director_ns("nh-fallback");
    let _in = ns.enter();
    for forward in [Forward::Tun, Forward::Fullnat] {
        let mut dp = loaded(forward);
        let syn = |sport: u16| tcp(CLIENT, sport, VIP, 80, SYN).frame();
        let by_fib = |dp: &Dataplane, sport: u16| {
            let r = through(dp, &ns, &syn(sport));
            assert_eq!(r.action, XDP_TX, "{forward:?}");
            assert_eq!(&r.packet[0..6], &mac(21), "{forward:?}: the FIB's MAC");
            assert_eq!(&r.packet[6..12], &ns.mac, "{forward:?}");
        };
        // No entry.
        by_fib(&dp, 40000);
        assert_eq!(counters(&dp), (0, 1), "{forward:?}");
        // An entry whose MTU the packet does not fit: a SYN of 40 bytes
        // (60 in IPIP) over an MTU of 30.
        dp.set_next_hop(REAL, Some(hop(ns.ifindex, 30))).unwrap();
        by_fib(&dp, 40001);
        assert_eq!(counters(&dp), (0, 2), "{forward:?}");
        // Cleared again.
        dp.set_next_hop(REAL, None).unwrap();
        assert_eq!(dp.next_hop_entry(REAL).unwrap(), None);
        by_fib(&dp, 40002);
        assert_eq!(counters(&dp), (0, 3), "{forward:?}");
        // The map off: an entry is not even looked at.
        dp.set_next_hop(REAL, Some(hop(ns.ifindex, 1500))).unwrap();
        dp.set_next_hop_cache(false).unwrap();
        by_fib(&dp, 40003);
        assert_eq!(counters(&dp), (0, 3), "{forward:?}");
    }
}

#[test]
fn the_hop_follows_the_real_address_not_its_slot() {
    let ns = director_ns("nh-reuse");
    let _in = ns.enter();
    let mut dp = loaded(Forward::Fullnat);
    dp.set_next_hop(REAL, Some(hop(ns.ifindex, 1500))).unwrap();
    // The service's only real is replaced by 10.0.1.22, which has no hop.
    let mut other = spec(Forward::Fullnat, 8080, 6);
    other.reals[0].addr = Ipv4Addr::new(10, 0, 1, 22);
    dp.set_service(&other).unwrap();
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    assert_eq!(r.action, XDP_TX);
    assert_eq!(&r.packet[0..6], &mac(22), "the FIB's answer for .22");
    assert_eq!(counters(&dp), (0, 1));
    // The old real back (a slot of its own again): its hop comes with it.
    dp.set_service(&spec(Forward::Fullnat, 8080, 6)).unwrap();
    let r = through(&dp, &ns, &tcp(CLIENT, 40001, VIP, 80, SYN).frame());
    assert_eq!(&r.packet[0..6], &MAP_MAC);
    assert_eq!(counters(&dp), (1, 1));
}

#[test]
fn a_changed_entry_reaches_cached_flows_with_their_next_packet() {
    let ns = director_ns("nh-change");
    let _in = ns.enter();
    stay_on_one_cpu();
    let mut dp = loaded(Forward::Tun);
    dp.set_next_hop(REAL, Some(hop(ns.ifindex, 1500))).unwrap();
    let send = |dp: &Dataplane, flags: u8| {
        let r = through(dp, &ns, &tcp(CLIENT, 40000, VIP, 80, flags).frame());
        assert_eq!(r.action, XDP_TX);
        <[u8; 6]>::try_from(&r.packet[0..6]).unwrap()
    };
    assert_eq!(send(&dp, SYN), MAP_MAC);
    assert_eq!(send(&dp, ACK), MAP_MAC);
    let hits = dp.stat("flow_cache_hit").unwrap();
    assert_eq!(hits, 1, "the ACK came from the flow cache");
    // The router's MAC changes (a neighbour event, in the daemon).
    let moved = NextHop {
        dmac: [2, 0xcc, 0, 0, 0, 1],
        ..hop(ns.ifindex, 1500)
    };
    dp.set_next_hop(REAL, Some(moved)).unwrap();
    assert_eq!(send(&dp, ACK), moved.dmac);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), hits, "cache dropped");
    // Gone: the FIB's answer.
    dp.set_next_hop(REAL, None).unwrap();
    assert_eq!(send(&dp, ACK), mac(21));
}

#[test]
fn an_entry_equal_to_the_fibs_answer_gives_the_same_bytes() {
    let ns = director_ns("nh-twins");
    let _in = ns.enter();
    for forward in [Forward::Tun, Forward::Fullnat, Forward::Nat] {
        let mut with = loaded(forward);
        let mut without = load(forward, 8080, 6);
        tun_source(&mut without);
        with.set_next_hop(
            REAL,
            Some(NextHop {
                ifindex: ns.ifindex,
                dmac: mac(21),
                smac: ns.mac,
                mtu: 1500,
            }),
        )
        .unwrap();
        for (sport, flags) in [(40000, SYN), (40000, ACK), (40001, SYN), (40000, FIN)] {
            let f = Pkt {
                payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                ..tcp(CLIENT, sport, VIP, 80, flags)
            }
            .frame();
            let a = through(&with, &ns, &f);
            let b = through(&without, &ns, &f);
            assert_eq!((a.action, &a.packet), (b.action, &b.packet), "{forward:?}");
            assert_eq!(a.action, XDP_TX);
        }
        assert!(with.stat("next_hop_hit").unwrap() >= 3, "{forward:?}");
        assert_eq!(without.stat("next_hop_hit").unwrap(), 0);
    }
}

/// A FULLNAT director over pins in `pins`, its real's entry set.
fn pinned_with_a_hop(pins: &std::path::Path, ifindex: u32) -> Dataplane {
    let mut dp = Dataplane::load_pinned(small_limits(), Some(pins)).unwrap();
    dp.set_local_addresses(&[LOCAL.parse().unwrap()]).unwrap();
    dp.set_service(&spec(Forward::Fullnat, 8080, 6)).unwrap();
    dp.set_next_hop_cache(true).unwrap();
    dp.set_next_hop(REAL, Some(hop(ifindex, 1500))).unwrap();
    dp
}

#[test]
fn a_daemon_loading_over_pins_clears_the_map_for_both_programs() {
    let ns = director_ns("nh-pins");
    let _in = ns.enter();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    let syn = |sport: u16| tcp(CLIENT, sport, VIP, 80, SYN).frame();
    // The first daemon: its entry is in use.
    let old = pinned_with_a_hop(&pins, ns.ifindex);
    assert_eq!(&through(&old, &ns, &syn(40000)).packet[0..6], &MAP_MAC);
    // A new daemon loads over the pins while the old program still runs
    // (as until its program replaces the old one in the attachment):
    // neither uses the entry nobody keeps any more.
    let new = Dataplane::load_pinned(small_limits(), Some(&pins)).unwrap();
    assert_eq!(new.next_hop_entry(REAL).unwrap(), None);
    for dp in [&old, &new] {
        let r = through(dp, &ns, &syn(40001));
        assert_eq!(r.action, XDP_TX);
        assert_eq!(&r.packet[0..6], &mac(21), "the FIB's answer");
    }
    // The pinned counters are shared: one hit, then two fallbacks.
    assert_eq!(counters(&new), (1, 2));
}

#[test]
fn turning_the_map_off_reaches_a_program_left_attached() {
    let ns = director_ns("nh-off");
    let _in = ns.enter();
    let fs = BpfFs::mount();
    let pins = fs.0.path().join("lb1");
    let mut dp = pinned_with_a_hop(&pins, ns.ifindex);
    // What xlvsd does when it exits leaving XDP attached.
    dp.set_next_hop_cache(false).unwrap();
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    assert_eq!(&r.packet[0..6], &mac(21), "the FIB's answer");
    assert_eq!(counters(&dp), (0, 0), "the map not even looked at");
}
