//! The flow cache (bpf/flowcache.h): packets it forwards leave exactly as
//! the slow path would send them, and no change of services, reals,
//! routes or timeouts is hidden by it for longer than documented.

mod common;

use common::fib::*;
use common::*;
use std::time::{Duration, Instant};
use xlvs_dataplane::abi::CT_CLOSING;
use xlvs_dataplane::{Dataplane, Forward, Limits, XDP_DROP, XDP_TX};

fn with_cache(entries: u32) -> Limits {
    Limits {
        flow_cache: entries,
        ..small_limits()
    }
}

/// A client's flow, the real's replies (NAT and FULLNAT), and its end:
/// each packet through a director with the flow cache and one without
/// must give the same action, the same bytes and the same counters.
/// Returns the cached director's flow cache hits.
fn twins(tag: &str, forward: Forward, proto: u8) -> u64 {
    let ns = director_ns(tag);
    let _in = ns.enter();
    stay_on_one_cpu();
    let mut cached = load_with(with_cache(1024), forward, 8080, proto);
    let mut plain = load_with(with_cache(0), forward, 8080, proto);
    tun_source(&mut cached);
    tun_source(&mut plain);
    let client = |flags: u8, payload: &[u8]| {
        let p = if proto == 6 {
            tcp(CLIENT, 40000, VIP, 80, flags)
        } else {
            udp(CLIENT, 40000, VIP, 80)
        };
        Pkt {
            payload: payload.to_vec(),
            ..p
        }
        .frame()
    };
    let both = |frame: &[u8]| {
        let a = through(&cached, &ns, frame);
        let b = through(&plain, &ns, frame);
        assert_eq!(a.action, b.action, "{tag}: action");
        assert_eq!(a.packet, b.packet, "{tag}: bytes");
        assert_eq!(a.action, XDP_TX, "{tag}: forwarded");
        a.packet
    };
    let first = both(&client(SYN, b""));
    for payload in [&b""[..], b"GET / HTTP/1.1\r\n\r\n", b""] {
        both(&client(ACK, payload));
    }
    if matches!(forward, Forward::Nat | Forward::Fullnat) {
        // The real answers the address and port it saw.
        let seen = parsed(&first);
        let reply = |flags: u8, payload: &[u8]| {
            let p = if proto == 6 {
                tcp("10.0.1.21", 8080, &seen.src.to_string(), seen.sport, flags)
            } else {
                udp("10.0.1.21", 8080, &seen.src.to_string(), seen.sport)
            };
            Pkt {
                payload: payload.to_vec(),
                ..p
            }
            .frame()
        };
        both(&reply(SYN | ACK, b""));
        both(&reply(ACK, b"HTTP/1.1 200 OK\r\n\r\n"));
        both(&reply(ACK, b""));
    }
    both(&client(ACK | FIN, b""));
    both(&client(ACK, b""));

    let hits = cached.stat("flow_cache_hit").unwrap();
    assert_eq!(plain.stat("flow_cache_hit").unwrap(), 0);
    let counters = |dp: &Dataplane| {
        let mut s = dp.stats().unwrap();
        s.retain(|(name, _)| *name != "flow_cache_hit");
        (s, dp.service_traffic(3).unwrap())
    };
    assert_eq!(counters(&cached), counters(&plain), "{tag}: counters");
    hits
}

#[test]
fn cached_packets_leave_as_the_slow_path_sends_them_in_every_mode() {
    // Hits: every packet without SYN, FIN or RST after the first of its
    // direction, except where a FIB answer is reused: there a packet
    // longer than the one the MTU was checked for (the requests and
    // answers here) takes the slow path. DR: 3 of the client's first four
    // packets and its ACK after the FIN; TUN: the two bare ACKs and the
    // one after the FIN; NAT and FULLNAT: those and the real's last bare
    // ACK; UDP has no flags: its "FIN" is a hit too.
    assert_eq!(twins("dr", Forward::Dr, 6), 4);
    assert_eq!(twins("tun", Forward::Tun, 6), 3);
    assert_eq!(twins("nat", Forward::Nat, 6), 4);
    assert_eq!(twins("fullnat", Forward::Fullnat, 6), 4);
    assert_eq!(twins("natudp", Forward::Nat, 17), 5);
    assert_eq!(twins("fullnatudp", Forward::Fullnat, 17), 5);
}

#[test]
fn a_removed_real_loses_its_cached_flows_at_once() {
    stay_on_one_cpu();
    let mut dp = small();
    dp.set_service(&dr_spec(vec![real(21, 1), real(22, 1)]))
        .unwrap();
    let on = dr_send(&dp, 40000, SYN);
    assert_eq!(dr_send(&dp, 40000, ACK), on);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 1, "cached");
    let other = if on == 21 { 22 } else { 21 };
    dp.set_service(&dr_spec(vec![real(other, 1)])).unwrap();
    assert_eq!(dr_send(&dp, 40000, ACK), other, "the next packet moves");
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 1, "not from the cache");
    assert_eq!(dr_send(&dp, 40000, ACK), other);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2, "cached again");
}

#[test]
fn fin_and_rst_go_to_the_connection_table() {
    stay_on_one_cpu();
    let mut dp = small();
    dp.set_service(&dr_spec(vec![real(21, 1)])).unwrap();
    for sport in [40000, 40001] {
        dr_send(&dp, sport, SYN);
        dr_send(&dp, sport, ACK);
    }
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2);
    dr_send(&dp, 40000, ACK | FIN);
    dr_send(&dp, 40001, RST);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2);
    let conns = dp.connections(10);
    assert_eq!(conns.len(), 2);
    for (k, c) in conns {
        assert_eq!(c.state, CT_CLOSING, "{k:?}: shorter timeout from now on");
    }
}

#[test]
fn cached_flows_keep_their_connection_entries_fresh() {
    stay_on_one_cpu();
    let mut dp = small();
    let mut spec = dr_spec((21..25).map(|n| real(n, 1)).collect());
    dp.set_service(&spec).unwrap();
    // ipvsadm --set 1 1 1: an entry idle for a second is gone.
    set_timeouts(&mut dp, 1);
    let flows: Vec<u16> = (40000..40100).collect();
    let first: Vec<u8> = flows.iter().map(|&p| dr_send(&dp, p, SYN)).collect();
    // A fifth real: flows whose entries expired would move (the expiry
    // fixture shows some do).
    spec.reals.push(real(25, 1));
    dp.set_service(&spec).unwrap();
    // 1.5 s of traffic, a packet per flow every 100 ms: mostly from the
    // cache, and no entry may expire meanwhile.
    let start = Instant::now();
    for round in 0..15 {
        for (&p, &r) in flows.iter().zip(&first) {
            assert_eq!(dr_send(&dp, p, ACK), r, "round {round}: flow {p} moved");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(start.elapsed() > Duration::from_secs(1));
    let hits = dp.stat("flow_cache_hit").unwrap();
    assert!(hits > 1000, "{hits} of 1500 packets from the cache");
}

#[test]
fn a_packet_longer_than_the_cached_one_meets_the_mtu() {
    let ns = director_ns("mtu");
    ns.run("link set in0 mtu 1000");
    let _in = ns.enter();
    stay_on_one_cpu();
    let mut dp = load(Forward::Tun, 0, 6);
    tun_source(&mut dp);
    let sized = |ip_len: usize| {
        let mut p = tcp(CLIENT, 40000, VIP, 80, ACK);
        p.payload = vec![7; ip_len - 40];
        p.frame()
    };
    assert_eq!(through(&dp, &ns, &sized(100)).action, XDP_TX);
    assert_eq!(through(&dp, &ns, &sized(100)).action, XDP_TX);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 1);
    // 990 + the 20-byte outer header does not fit.
    assert_eq!(through(&dp, &ns, &sized(990)).action, XDP_DROP);
    assert_eq!(dp.stat("drop_too_big").unwrap(), 1);
    // 980 + 20 does, and is cached from then on.
    assert_eq!(through(&dp, &ns, &sized(980)).action, XDP_TX);
    assert_eq!(through(&dp, &ns, &sized(980)).action, XDP_TX);
    assert_eq!(through(&dp, &ns, &sized(990)).action, XDP_DROP);
    assert_eq!(dp.stat("drop_too_big").unwrap(), 2);
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2);
}

#[test]
fn a_new_next_hop_reaches_cached_flows_within_a_second() {
    let ns = director_ns("neigh");
    let _in = ns.enter();
    stay_on_one_cpu();
    let dp = load(Forward::Nat, 8080, 6);
    let ack = tcp(CLIENT, 40000, VIP, 80, ACK).frame();
    assert_eq!(parsed(&through(&dp, &ns, &ack).packet).dst_mac, mac(21));
    ns.run("neigh replace 10.0.1.21 lladdr 02:aa:00:00:00:99 dev in0 nud permanent");
    let changed = Instant::now();
    let mut first = None;
    // Bounded: the cache's lifetime is a second with default timeouts.
    while changed.elapsed() < Duration::from_millis(1500) {
        let r = through(&dp, &ns, &ack);
        assert_eq!(r.action, XDP_TX);
        let new = parsed(&r.packet).dst_mac == mac(0x99);
        assert!(new || first.is_none(), "back to the old MAC");
        if new && first.is_none() {
            first = Some(changed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = first.expect("the new MAC used");
    assert!(first <= Duration::from_millis(1100), "after {first:?}");
    assert!(dp.stat("flow_cache_hit").unwrap() > 10);
}

/// What xlvsd does on the kernel's neighbour and route events: the bump
/// makes a cached flow take the changed neighbour with its next packet.
#[test]
fn an_invalidated_cache_sends_cached_flows_to_a_changed_neighbour_at_once() {
    let ns = director_ns("bump");
    let _in = ns.enter();
    stay_on_one_cpu();
    let mut dp = load(Forward::Nat, 8080, 6);
    let ack = tcp(CLIENT, 40000, VIP, 80, ACK).frame();
    let dst_mac = |dp: &Dataplane| {
        let r = through(dp, &ns, &ack);
        assert_eq!(r.action, XDP_TX);
        parsed(&r.packet).dst_mac
    };
    assert_eq!(dst_mac(&dp), mac(21));
    assert_eq!(dst_mac(&dp), mac(21));
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 1, "cached");
    ns.run("neigh replace 10.0.1.21 lladdr 02:aa:00:00:00:99 dev in0 nud permanent");
    // The slot still holds the old next hop: this is what the bump is for.
    assert_eq!(dst_mac(&dp), mac(21));
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2);
    dp.invalidate_flow_cache().unwrap();
    assert_eq!(dst_mac(&dp), mac(0x99));
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 2, "the slow path");
    assert_eq!(dst_mac(&dp), mac(0x99));
    assert_eq!(dp.stat("flow_cache_hit").unwrap(), 3, "cached again");
}

#[test]
fn the_cache_size_is_a_power_of_two_or_none() {
    require_root();
    let err = Dataplane::load(with_cache(1000)).err().expect("refused");
    assert!(err.to_string().contains("power of two"), "{err}");
    let dp = Dataplane::load(with_cache(0)).expect("no cache");
    assert_eq!(
        dp.globals().unwrap().flags & xlvs_dataplane::abi::G_F_FLOW_CACHE,
        0
    );
}
