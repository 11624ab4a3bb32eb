//! Flow-state sync, the data plane's half (bpf/sync.h, src/sync.rs): the
//! events XDP reports in the sync_events ring, peers' entries installed
//! and honoured, the bulk listing. Real XDP through BPF_PROG_TEST_RUN.

mod common;

use common::fib::*;
use common::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};
use xlvs_dataplane::abi::{
    FlowKey, Globals, SyncEvent, SyncOp, CONN_F_PEER, CT_ACTIVE, CT_CLOSING, FWD_DR, FWD_FULLNAT,
    FWD_NAT, FWD_TUN, G_F_SYNC,
};
use xlvs_dataplane::{
    Dataplane, Forward, Installed, Limits, PeerEntry, SyncEvents, XDP_PASS, XDP_TX,
};

const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 2);
const OTHER_PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 3);
/// The peer's FULLNAT local address: not one of ours.
const PEER_LOCAL: &str = "10.0.1.200";

fn drain(ev: &mut SyncEvents) -> Vec<SyncEvent> {
    ev.drain().collect()
}

fn key(sport: u16, proto: u8) -> FlowKey {
    FlowKey::new(
        CLIENT.parse().unwrap(),
        sport,
        VIP.parse().unwrap(),
        80,
        proto,
    )
}

fn no_cache() -> Limits {
    Limits {
        flow_cache: 0,
        ..small_limits()
    }
}

/// `dp` with a DR service of four reals, 10.0.1.21-24.
fn dr4(mut dp: Dataplane) -> Dataplane {
    dp.set_service(&dr_spec((21..25).map(|n| real(n, 1)).collect()))
        .unwrap();
    dp
}

/// Sync on, reporting known flows again after `refresh`; the ring's reader.
fn sync_on(dp: &mut Dataplane, refresh: Duration) -> SyncEvents {
    dp.set_sync(Some(refresh)).unwrap();
    dp.take_sync_events().unwrap()
}

#[test]
fn a_new_entry_is_reported_once_from_its_first_packet_in_every_mode() {
    let ns = director_ns("new");
    let _in = ns.enter();
    let cases = [
        ("dr", Forward::Dr, FWD_DR, 8080, 6),
        ("dr, real port 0", Forward::Dr, FWD_DR, 0, 6),
        ("tun", Forward::Tun, FWD_TUN, 8080, 6),
        ("fullnat", Forward::Fullnat, FWD_FULLNAT, 8080, 6),
        ("nat", Forward::Nat, FWD_NAT, 8080, 6),
        ("nat udp", Forward::Nat, FWD_NAT, 0, 17),
        ("fullnat udp", Forward::Fullnat, FWD_FULLNAT, 5353, 17),
    ];
    for (tag, forward, fwd, real_port, proto) in cases {
        let mut dp = load(forward, real_port, proto);
        tun_source(&mut dp);
        let mut ev = sync_on(&mut dp, Duration::from_secs(100));
        let first = if proto == 6 {
            tcp(CLIENT, 40000, VIP, 80, SYN)
        } else {
            udp(CLIENT, 40000, VIP, 80)
        };
        let r = through(&dp, &ns, &first.frame());
        assert_eq!(r.action, XDP_TX, "{tag}");
        let got = drain(&mut ev);
        assert_eq!(got.len(), 1, "{tag}: one event: {got:?}");
        let e = got[0];
        assert_eq!(e.op(), Some(SyncOp::New), "{tag}");
        assert_eq!(e.key, key(40000, proto), "{tag}: the client's flow");
        let sent_to = if real_port == 0 { 80 } else { real_port };
        assert_eq!(
            e.real(),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 21), sent_to),
            "{tag}: the real, with the port it is sent to"
        );
        assert_eq!((e.forward, e.state), (fwd, CT_ACTIVE), "{tag}");
        assert_eq!((e.owner(), e.flags), (None, 0), "{tag}: ours");
        let (_, c) = dp.connections(10)[0];
        if forward == Forward::Fullnat {
            let nat = e.nat().expect("a local address and port");
            let ip = ip_of(&r.packet);
            let sent_from = SocketAddrV4::new(addr(&ip[12..16]), port(&ip[20..22]));
            assert_eq!(nat, sent_from, "{tag}: the entry's local address and port");
            assert_eq!(nat.ip().octets(), c.nat_addr);
            assert_eq!(nat.port().to_be_bytes(), c.nat_port);
            assert_eq!(*nat.ip(), LOCAL.parse::<Ipv4Addr>().unwrap());
        } else {
            assert_eq!(e.nat(), None, "{tag}: no local address");
        }
        assert_eq!(c.synced, c.last as u32, "{tag}: reported when made");

        // The flow's next packets, within the refresh interval: nothing.
        let next = if proto == 6 {
            tcp(CLIENT, 40000, VIP, 80, ACK)
        } else {
            udp(CLIENT, 40000, VIP, 80)
        };
        for _ in 0..3 {
            assert_eq!(through(&dp, &ns, &next.frame()).action, XDP_TX);
        }
        assert_eq!(drain(&mut ev), vec![], "{tag}: nothing more");
        assert_eq!(dp.stat("sync_ring_full").unwrap(), 0);
    }
}

#[test]
fn known_flows_are_refreshed_after_the_interval_and_closing_is_reported_once() {
    require_root();
    let mut dp = dr4(Dataplane::load(no_cache()).unwrap());
    let mut ev = sync_on(&mut dp, Duration::from_millis(60));
    let to = dr_send(&dp, 40000, SYN);
    let new = drain(&mut ev);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].real_addr, [10, 0, 1, to]);
    dr_send(&dp, 40000, ACK);
    assert_eq!(drain(&mut ev), vec![], "within the interval");

    std::thread::sleep(Duration::from_millis(100));
    dr_send(&dp, 40000, ACK);
    let got = drain(&mut ev);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].op(), Some(SyncOp::Refresh));
    assert_eq!(got[0].state, CT_ACTIVE);
    assert_eq!(got[0].key, new[0].key);
    assert_eq!(got[0].real_addr, new[0].real_addr);
    dr_send(&dp, 40000, ACK);
    assert_eq!(drain(&mut ev), vec![], "reported a moment ago");

    // The FIN turns the entry CLOSING: reported at once, and only once.
    dr_send(&dp, 40000, ACK | FIN);
    let got = drain(&mut ev);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].op(), got[0].state),
        (Some(SyncOp::Closing), CT_CLOSING)
    );
    dr_send(&dp, 40000, ACK | FIN);
    dr_send(&dp, 40000, ACK);
    assert_eq!(drain(&mut ev), vec![], "CLOSING once");
    // A closing flow still refreshes its copies while it lasts.
    std::thread::sleep(Duration::from_millis(100));
    dr_send(&dp, 40000, ACK);
    let got = drain(&mut ev);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].op(), got[0].state),
        (Some(SyncOp::Refresh), CT_CLOSING)
    );
    // An RST of a known flow closes it the same way.
    dr_send(&dp, 40001, SYN);
    dr_send(&dp, 40001, RST);
    let ops: Vec<_> = drain(&mut ev).iter().map(|e| e.op()).collect();
    assert_eq!(ops, [Some(SyncOp::New), Some(SyncOp::Closing)]);

    // Off: no event at all.
    dp.set_sync(None).unwrap();
    for flags in [SYN, ACK, ACK | FIN] {
        dr_send(&dp, 40002, flags);
    }
    std::thread::sleep(Duration::from_millis(100));
    dr_send(&dp, 40000, ACK);
    assert_eq!(drain(&mut ev), vec![], "sync off");
}

#[test]
fn sync_is_off_unless_asked_for() {
    let mut dp = small();
    assert_eq!(dp.globals().unwrap().flags & G_F_SYNC, 0);
    dp.set_service(&dr_spec(vec![real(21, 1)])).unwrap();
    let mut ev = dp.take_sync_events().unwrap();
    for (sport, flags) in [(40000, SYN), (40000, ACK), (40000, FIN), (40001, ACK)] {
        dr_send(&dp, sport, flags);
    }
    assert_eq!(drain(&mut ev), vec![]);
    assert!(
        dp.take_sync_events().is_err(),
        "one reader: the ring is taken"
    );
    // With sync on and no refresh interval set, a third of the shortest
    // timeout (tcpfin: 120 s) applies.
    let g = dp.globals().unwrap();
    dp.set_globals(Globals {
        flags: g.flags | G_F_SYNC,
        ..g
    })
    .unwrap();
    let g = dp.globals().unwrap();
    assert_eq!(g.sync_refresh_ticks, 40 * g.hz);
}

#[test]
fn a_full_ring_loses_events_counted_and_forwarding_goes_on() {
    require_root();
    stay_on_one_cpu();
    let page = 4096; // a record is 48 bytes with its header: 85 fit
    let mut dp = dr4(Dataplane::load(Limits {
        sync_ring: page,
        ..small_limits()
    })
    .unwrap());
    let mut ev = sync_on(&mut dp, Duration::from_secs(100));
    for sport in 0..300u16 {
        // dr_send asserts XDP_TX
        dr_send(&dp, 20000 + sport, SYN);
    }
    let full = dp.stat("sync_ring_full").unwrap();
    let got = drain(&mut ev).len() as u64;
    assert!(full > 0, "the ring filled");
    assert_eq!(got + full, 300, "every event read or counted");
    assert_eq!(dp.connections(1000).len(), 300, "every flow tracked");
    // Room again once read.
    dr_send(&dp, 30000, SYN);
    assert_eq!(drain(&mut ev).len(), 1);
    assert_eq!(dp.stat("sync_ring_full").unwrap(), full);

    let sizes = [0, 1000, 4097, 3 << 12];
    for size in sizes {
        let err = Dataplane::load(Limits {
            sync_ring: size,
            ..small_limits()
        })
        .err()
        .expect("refused");
        assert!(err.to_string().contains("power of two"), "{size}: {err}");
    }
}

#[test]
fn syn_flood_syns_without_an_entry_report_nothing() {
    stay_on_one_cpu();
    let mut dp = dr4(small());
    let g = dp.globals().unwrap();
    dp.set_globals(Globals {
        syn_flood_threshold: 5,
        ..g
    })
    .unwrap();
    let mut ev = sync_on(&mut dp, Duration::from_secs(100));
    for sport in 0..20u16 {
        dr_send(&dp, 20000 + sport, SYN);
    }
    let untracked = dp.stat("syn_untracked").unwrap();
    assert!(untracked >= 10, "{untracked}");
    let got = drain(&mut ev);
    assert_eq!(got.len() as u64, 20 - untracked, "one per entry made");
    assert!(got.iter().all(|e| e.op() == Some(SyncOp::New)));
}

/// The peer's FULLNAT entry for CLIENT:sport, to real 10.0.1.21:8080 of
/// service 3 (common::fib's), from PEER_LOCAL:lport, `idle` ago.
fn peer_fullnat(dp: &Dataplane, sport: u16, lport: u16, idle: Duration) -> PeerEntry {
    let clock = dp.clock().unwrap();
    PeerEntry {
        key: key(sport, 6),
        svc: 3,
        real: dp
            .real_slot(3, Ipv4Addr::new(10, 0, 1, 21), 8080)
            .expect("slot"),
        state: CT_ACTIVE,
        owner: PEER,
        nat: Some(SocketAddrV4::new(PEER_LOCAL.parse().unwrap(), lport)),
        proxy: None,
        last: clock.now - (idle.as_millis() as u64 * u64::from(clock.hz) / 1000),
    }
}

#[test]
fn a_peer_fullnat_entry_forwards_and_translates_as_its_owner_would() {
    let ns = director_ns("peerfull");
    let _in = ns.enter();
    let mut dp = load(Forward::Fullnat, 8080, 6);
    // The flow has been idle a second: its first packet here refreshes
    // the cluster's copies at once.
    let mut ev = sync_on(&mut dp, Duration::from_millis(500));
    let e = peer_fullnat(&dp, 40000, 5555, Duration::from_secs(1));
    assert_eq!(dp.install_peer_entry(&e).unwrap(), Installed::Written);
    let (k, c) = dp.connections(10)[0];
    assert_eq!(k, e.key);
    assert_eq!(
        (c.flags, c.owner(), c.is_peer()),
        (CONN_F_PEER, Some(PEER), true)
    );
    assert_eq!(dp.nat_entries(10).len(), 1, "the way back with it");

    // Mid-stream, the flow moves here: it leaves from the peer's local
    // address and port, not from one of ours.
    let r = through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, ACK).frame());
    assert_eq!(r.action, XDP_TX);
    let out = parsed(&r.packet);
    assert_eq!(
        (out.src, out.sport),
        (PEER_LOCAL.parse().unwrap(), 5555),
        "the peer's local address and port"
    );
    assert_eq!((out.dst, out.dport), (Ipv4Addr::new(10, 0, 1, 21), 8080));
    assert_eq!(dp.nat_entries(10).len(), 1, "no port of ours taken");
    assert_eq!(dp.stat("conntrack_new").unwrap(), 0);
    let got = drain(&mut ev);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].op(), Some(SyncOp::Refresh));
    assert_eq!(got[0].owner(), Some(PEER), "the owner stays");
    assert_eq!(got[0].flags, CONN_F_PEER);
    assert_eq!(
        got[0].nat(),
        Some(SocketAddrV4::new(PEER_LOCAL.parse().unwrap(), 5555))
    );

    // The real's reply to the peer's local address comes back as the VIP's.
    let reply = tcp("10.0.1.21", 8080, PEER_LOCAL, 5555, ACK);
    let r = through(&dp, &ns, &reply.frame());
    assert_eq!(r.action, XDP_TX);
    let back = parsed(&r.packet);
    assert_eq!(back.dst_mac, ROUTER_MAC);
    assert_eq!(
        (back.src, back.sport, back.dst, back.dport),
        (VIP.parse().unwrap(), 80, CLIENT.parse().unwrap(), 40000)
    );
    assert_eq!(dp.stat("tx_reply").unwrap(), 1);
    // Another port of the peer's address is nobody's here.
    let stray = tcp("10.0.1.21", 8080, PEER_LOCAL, 5556, ACK).frame();
    assert_eq!(through(&dp, &ns, &stray).action, XDP_PASS);

    // Our own new flows still take our own local address.
    let r = through(&dp, &ns, &tcp(CLIENT, 40001, VIP, 80, SYN).frame());
    assert_eq!(parsed(&r.packet).src, LOCAL.parse::<Ipv4Addr>().unwrap());
}

#[test]
fn peer_entries_are_checked_against_our_services_and_reals() {
    require_root();
    let mut dp = load(Forward::Fullnat, 8080, 6);
    let good = peer_fullnat(&dp, 40000, 5555, Duration::ZERO);
    let refused = |e: PeerEntry, dp: &mut Dataplane| {
        let err = dp.install_peer_entry(&e).expect_err("refused");
        assert!(err.to_string().starts_with("peer entry 6 "), "{err}");
        err.to_string()
    };
    let why = refused(
        PeerEntry {
            owner: Ipv4Addr::UNSPECIFIED,
            ..good
        },
        &mut dp,
    );
    assert!(why.contains("this director"), "{why}");
    let why = refused(PeerEntry { nat: None, ..good }, &mut dp);
    assert!(why.contains("local address"), "{why}");
    let why = refused(PeerEntry { svc: 2, ..good }, &mut dp);
    assert!(why.contains("another service"), "{why}");
    let why = refused(
        PeerEntry {
            real: good.real + 1,
            ..good
        },
        &mut dp,
    );
    assert!(why.contains("real slot"), "{why}");
    let why = refused(
        PeerEntry {
            key: FlowKey::new(CLIENT.parse().unwrap(), 1, VIP.parse().unwrap(), 81, 6),
            ..good
        },
        &mut dp,
    );
    assert!(why.contains("no service"), "{why}");
    assert!(dp.connections(10).is_empty());
    assert!(dp.nat_entries(10).is_empty());
}

#[test]
fn a_peer_dr_entry_is_honoured_over_maglev_unless_ours_is_newer() {
    let spec = dr_spec((21..25).map(|n| real(n, 1)).collect());
    let mut maglev = small();
    maglev.set_service(&spec).unwrap();
    let mut dp = small();
    dp.set_service(&spec).unwrap();
    let picked = dr_send(&maglev, 40000, ACK);
    let other = if picked == 21 { 22 } else { 21 };
    let slot = dp
        .real_slot(1, Ipv4Addr::new(10, 0, 1, other), 0)
        .expect("slot");
    let e = PeerEntry {
        key: key(40000, 6),
        svc: 1,
        real: slot,
        state: CT_ACTIVE,
        owner: PEER,
        nat: None,
        proxy: None,
        last: dp.clock().unwrap().now,
    };
    assert_eq!(dp.install_peer_entry(&e).unwrap(), Installed::Written);
    for _ in 0..3 {
        assert_eq!(dr_send(&dp, 40000, ACK), other, "the peer's real");
    }
    let none = PeerEntry {
        nat: Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 200), 1)),
        ..e
    };
    assert!(
        dp.install_peer_entry(&none).is_err(),
        "DR has no local address"
    );

    // A flow this director forwards now keeps its own entry against a
    // peer's older one; an older entry of ours gives way.
    let mine = dr_send(&dp, 40001, SYN);
    let theirs = if mine == 21 { 22 } else { 21 };
    let clock = dp.clock().unwrap();
    let late = PeerEntry {
        key: key(40001, 6),
        real: dp.real_slot(1, Ipv4Addr::new(10, 0, 1, theirs), 0).unwrap(),
        last: clock.now - u64::from(clock.hz),
        ..e
    };
    assert_eq!(dp.install_peer_entry(&late).unwrap(), Installed::KeptOurs);
    assert_eq!(dr_send(&dp, 40001, ACK), mine);
    let newer = PeerEntry {
        last: dp.clock().unwrap().now,
        ..late
    };
    assert_eq!(dp.install_peer_entry(&newer).unwrap(), Installed::Written);
    // (The flow is in the flow cache, which would take the change within
    // its lifetime; the daemon bumps nothing per entry.)
    dp.invalidate_flow_cache().unwrap();
    assert_eq!(dr_send(&dp, 40001, ACK), theirs);
}

#[test]
fn remove_peer_entry_removes_only_its_owners_entry_and_way_back() {
    require_root();
    let mut dp = load(Forward::Fullnat, 8080, 6);
    let a = peer_fullnat(&dp, 40000, 5555, Duration::ZERO);
    let b = PeerEntry {
        owner: OTHER_PEER,
        ..peer_fullnat(&dp, 40001, 5556, Duration::ZERO)
    };
    dp.install_peer_entry(&a).unwrap();
    dp.install_peer_entry(&b).unwrap();
    assert_eq!(dp.nat_entries(10).len(), 2);
    assert!(
        !dp.remove_peer_entry(&a.key, OTHER_PEER).unwrap(),
        "not its"
    );
    assert!(!dp.remove_peer_entry(&key(40002, 6), PEER).unwrap(), "none");
    assert_eq!(dp.connections(10).len(), 2);
    assert!(dp.remove_peer_entry(&a.key, PEER).unwrap());
    let left = dp.connections(10);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, b.key);
    let backs = dp.nat_entries(10);
    assert_eq!(backs.len(), 1, "its way back went with it");
    assert_eq!(backs[0].1.cport, 40001u16.to_be_bytes());
    assert!(!dp.remove_peer_entry(&a.key, PEER).unwrap(), "gone already");
}

#[test]
fn our_own_entries_are_not_removed_as_a_peers() {
    let mut dp = small();
    dp.set_service(&dr_spec(vec![real(21, 1)])).unwrap();
    dr_send(&dp, 40000, SYN);
    assert!(!dp.remove_peer_entry(&key(40000, 6), PEER).unwrap());
    assert_eq!(dp.connections(10).len(), 1);
}

#[test]
fn the_bulk_listing_has_every_live_entry_with_its_way_back() {
    let ns = director_ns("bulk");
    let _in = ns.enter();
    let mut dp = load(Forward::Fullnat, 8080, 6);
    let mut ev = sync_on(&mut dp, Duration::from_secs(100));
    through(&dp, &ns, &tcp(CLIENT, 40000, VIP, 80, SYN).frame());
    let reported = drain(&mut ev)[0];
    let peer = peer_fullnat(&dp, 40001, 5555, Duration::from_secs(3));
    dp.install_peer_entry(&peer).unwrap();
    // Idle past the 900 s TCP timeout: not live, not listed.
    let dead = peer_fullnat(&dp, 40002, 5556, Duration::from_secs(901));
    dp.install_peer_entry(&dead).unwrap();
    assert_eq!(dp.connections(10).len(), 3);

    let mut all: Vec<_> = dp.sync_entries().unwrap().collect();
    all.sort_by_key(|e| e.key.sport);
    assert_eq!(all.len(), 2, "{all:?}");
    let (ours, theirs) = (&all[0], &all[1]);
    assert_eq!(ours.key, key(40000, 6));
    assert_eq!(ours.forward, Forward::Fullnat);
    assert_eq!(ours.conn.owner(), None);
    let mut as_reported = reported;
    as_reported.op = xlvs_dataplane::abi::SYNC_OP_REFRESH;
    assert_eq!(ours.event(), as_reported, "the ring's form");
    let back = ours.back.expect("its way back");
    assert_eq!(back.cport, 40000u16.to_be_bytes());
    assert_eq!(theirs.conn.owner(), Some(PEER));
    assert_eq!(theirs.event().owner(), Some(PEER));
    assert_eq!(
        theirs.event().nat(),
        Some(SocketAddrV4::new(PEER_LOCAL.parse().unwrap(), 5555))
    );
    assert_eq!(
        theirs.real,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 21), 8080)
    );
    assert!(theirs.back.is_some());
    assert!(
        theirs.idle >= Duration::from_secs(2) && theirs.idle <= Duration::from_secs(4),
        "{:?}",
        theirs.idle
    );
}

/// Packets served from the flow cache never reach the connection table;
/// the flow's trips through the slow path, every flow_cache_ticks, report
/// it: within sync_refresh_ticks + flow_cache_ticks of the last report.
#[test]
fn cached_flows_are_reported_within_the_refresh_interval_plus_the_cache_lifetime() {
    stay_on_one_cpu();
    let mut dp = dr4(small());
    // Timeouts of 1 s: the cache's lifetime is half of it.
    set_timeouts(&mut dp, 1);
    let g = dp.globals().unwrap();
    let cache = Duration::from_millis(u64::from(g.flow_cache_ticks) * 1000 / u64::from(g.hz));
    let refresh = Duration::from_millis(200);
    let mut ev = sync_on(&mut dp, refresh);
    let start = Instant::now();
    dr_send(&dp, 40000, SYN);
    let mut reports = vec![(Duration::ZERO, drain(&mut ev).len())];
    while start.elapsed() < Duration::from_millis(2500) {
        dr_send(&dp, 40000, ACK);
        let n = drain(&mut ev).len();
        if n > 0 {
            reports.push((start.elapsed(), n));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(reports[0].1, 1, "NEW");
    assert!(reports.len() >= 4, "{reports:?}");
    // A tick's rounding and the loop's pace on a busy machine.
    let bound = refresh + cache + Duration::from_millis(150);
    for w in reports.windows(2) {
        assert!(w[1].0 - w[0].0 <= bound, "{reports:?} over {bound:?}");
        assert_eq!(w[1].1, 1, "one at a time");
    }
    assert!(
        start.elapsed() - reports.last().unwrap().0 <= bound,
        "{reports:?}"
    );
    let hits = dp.stat("flow_cache_hit").unwrap();
    assert!(hits > 50, "mostly from the cache: {hits}");
}

/// What the daemon's AsyncFd waits for: the ring's descriptor turns
/// readable when an event comes, and no longer once it is drained.
#[test]
fn the_rings_descriptor_turns_readable_with_an_event() {
    use std::os::fd::AsRawFd;
    let mut dp = small();
    dp.set_service(&dr_spec(vec![real(21, 1)])).unwrap();
    let mut ev = sync_on(&mut dp, Duration::from_secs(100));
    let readable = |ev: &SyncEvents, ms: i32| {
        let mut fd = libc::pollfd {
            fd: ev.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own.
        let n = unsafe { libc::poll(&mut fd, 1, ms) };
        assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
        n == 1 && fd.revents & libc::POLLIN != 0
    };
    assert!(!readable(&ev, 0), "empty");
    dr_send(&dp, 40000, SYN);
    assert!(readable(&ev, 1000), "an event");
    assert_eq!(drain(&mut ev).len(), 1);
    assert!(!readable(&ev, 0), "drained");
}
