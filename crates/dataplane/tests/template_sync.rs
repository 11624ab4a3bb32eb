//! Persistence templates synced between directors, the data plane's half
//! (bpf/persist.h, bpf/sync.h sync_template, src/templates.rs): XDP
//! reports the templates it makes and refreshes, a peer's template
//! installed from user space steers the client's new flows, and the bulk
//! transfer reads the live ones. Real XDP through BPF_PROG_TEST_RUN.

mod common;

use common::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use xlvs_dataplane::abi::{FlowKey, SyncEvent, SyncOp, Tmpl, TmplKey, FWD_DR};
use xlvs_dataplane::sched_model::{CountKind, SequenceKind};
use xlvs_dataplane::{
    Dataplane, Limits, PeerTemplate, Persistence, Scheduling, ServiceSpec, SyncEvents, XDP_TX,
};

const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 2);
const MASKED: &str = "203.0.113.0";

/// A persistent DR service (id 1, VIP:80, clients masked to /24) with
/// `sched` over reals 10.0.1.21-23.
fn persistent(sched: Scheduling) -> ServiceSpec {
    ServiceSpec {
        scheduler: sched,
        persistence: Some(Persistence {
            timeout: Duration::from_secs(300),
            mask: "255.255.255.0".parse().unwrap(),
        }),
        ..dr_spec((21..24).map(|n| real(n, 1)).collect())
    }
}

fn loaded(sched: Scheduling) -> Dataplane {
    require_root();
    stay_on_one_cpu();
    let mut dp = Dataplane::load(Limits {
        flow_cache: 0,
        ..small_limits()
    })
    .unwrap();
    dp.set_service(&persistent(sched)).unwrap();
    dp
}

/// The real (last octet) a SYN from `client`:`sport` went to.
fn syn_from(dp: &Dataplane, client: &str, sport: u16) -> u8 {
    let r = dp
        .run("xlvs", &tcp(client, sport, VIP, 80, SYN).frame(), 1)
        .unwrap();
    assert_eq!(r.action, XDP_TX, "{client}:{sport} forwarded");
    r.packet[5]
}

fn templates(ev: &mut SyncEvents) -> Vec<SyncEvent> {
    ev.drain()
        .filter(|e| e.op() == Some(SyncOp::Template))
        .collect()
}

/// The template key a peer reports for the masked client.
fn template_key() -> FlowKey {
    FlowKey::new(MASKED.parse().unwrap(), 0, VIP.parse().unwrap(), 80, 6)
}

fn peer_template(dp: &Dataplane, n: u8, owner: Ipv4Addr, idle: Duration) -> PeerTemplate {
    let clock = dp.clock().unwrap();
    let idle = idle.as_secs() * u64::from(clock.hz);
    PeerTemplate {
        key: template_key(),
        svc: 1,
        real: dp
            .real_slot(1, Ipv4Addr::new(10, 0, 1, n), 0)
            .expect("a real of the service"),
        owner,
        last: clock.now - idle,
    }
}

#[test]
fn a_template_xdp_makes_is_reported_and_refreshed_no_more_often_than_the_interval() {
    let mut dp = loaded(Scheduling::Sequence(SequenceKind::Rr));
    dp.set_sync(Some(Duration::from_millis(200))).unwrap();
    let mut ev = dp.take_sync_events().unwrap();
    let to = syn_from(&dp, "203.0.113.5", 40000);
    let got = templates(&mut ev);
    assert_eq!(got.len(), 1, "the new template: {got:?}");
    let t = got[0];
    assert_eq!(t.key, template_key(), "the masked client, port 0");
    assert_eq!(
        t.real(),
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, to), 0),
        "its real, the port as configured"
    );
    assert_eq!(
        (t.forward, t.state, t.flags, t.owner()),
        (FWD_DR, 0, 0, None)
    );
    assert_eq!(t.nat(), None);
    // More flows of the client (and its /24) within the interval: the
    // template places them, and is not reported again.
    for p in 40001..40006 {
        assert_eq!(syn_from(&dp, "203.0.113.77", p), to);
    }
    assert_eq!(templates(&mut ev), vec![], "nothing within the interval");
    // After it: once.
    std::thread::sleep(Duration::from_millis(250));
    for p in 40010..40013 {
        assert_eq!(syn_from(&dp, "203.0.113.5", p), to);
    }
    let again = templates(&mut ev);
    assert_eq!(again.len(), 1, "one refresh: {again:?}");
    assert_eq!(again[0].key, t.key);
    // Without sync: nothing is reported.
    dp.set_sync(None).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    syn_from(&dp, "203.0.113.5", 40020);
    assert_eq!(templates(&mut ev), vec![]);
}

#[test]
fn a_peer_template_steers_the_clients_new_flows_with_rr_and_wlc() {
    for sched in [
        Scheduling::Sequence(SequenceKind::Rr),
        Scheduling::Counts(CountKind::Wlc),
    ] {
        let mut dp = loaded(sched);
        dp.set_sync(Some(Duration::from_millis(100))).unwrap();
        let mut ev = dp.take_sync_events().unwrap();
        // The peer's client went to .23; rr and wlc alone would start here
        // with .21.
        dp.install_peer_template(&peer_template(&dp, 23, PEER, Duration::from_secs(5)))
            .unwrap();
        for p in 40000..40010 {
            assert_eq!(syn_from(&dp, "203.0.113.5", p), 23, "{sched:?}");
            assert_eq!(syn_from(&dp, "203.0.113.200", p), 23, "{sched:?}: masked");
        }
        // Another client is scheduled as usual.
        assert_eq!(syn_from(&dp, "198.51.100.1", 40000), 21, "{sched:?}");
        // The owner's view wins: flows here kept the peer's template (its
        // real, its owner), and the refresh they reported names the owner.
        let t = dp.template(1, MASKED.parse().unwrap()).unwrap();
        assert_eq!((t.real_addr, t.owner()), ([10, 0, 1, 23], Some(PEER)));
        let refreshed = templates(&mut ev);
        let of_client: Vec<_> = refreshed
            .iter()
            .filter(|e| e.key == template_key())
            .collect();
        assert_eq!(of_client.len(), 1, "{sched:?}: {refreshed:?}");
        assert_eq!(of_client[0].owner(), Some(PEER), "{sched:?}");
        // A newer view of the owner replaces it.
        dp.install_peer_template(&peer_template(&dp, 22, PEER, Duration::ZERO))
            .unwrap();
        assert_eq!(syn_from(&dp, "203.0.113.5", 41000), 22, "{sched:?}");
    }
}

#[test]
fn peer_templates_are_checked_against_our_services_and_reals() {
    let mut dp = loaded(Scheduling::Sequence(SequenceKind::Rr));
    let ok = peer_template(&dp, 22, PEER, Duration::ZERO);
    let refused = |dp: &mut Dataplane, t: PeerTemplate| dp.install_peer_template(&t).is_err();
    assert!(refused(
        &mut dp,
        PeerTemplate {
            owner: Ipv4Addr::UNSPECIFIED,
            ..ok
        }
    ));
    assert!(refused(&mut dp, PeerTemplate { svc: 2, ..ok }));
    assert!(refused(&mut dp, PeerTemplate { real: 60, ..ok }));
    let mut other_port = ok;
    other_port.key.dport = 81u16.to_be_bytes();
    assert!(refused(&mut dp, other_port), "no service on port 81");
    assert!(dp.template(1, MASKED.parse().unwrap()).is_none());
    // A service without persistence keeps no templates.
    dp.set_service(&ServiceSpec {
        persistence: None,
        ..persistent(Scheduling::Sequence(SequenceKind::Rr))
    })
    .unwrap();
    assert!(refused(&mut dp, ok));
    dp.set_service(&persistent(Scheduling::Sequence(SequenceKind::Rr)))
        .unwrap();
    // The client is masked with our mask: a peer's /32 lands on our /24.
    let mut host = ok;
    host.key.src = [203, 0, 113, 9];
    dp.install_peer_template(&host).unwrap();
    assert!(dp.template(1, MASKED.parse().unwrap()).is_some());
}

#[test]
fn the_bulk_transfer_reads_the_live_templates_after_the_connections() {
    let mut dp = loaded(Scheduling::Sequence(SequenceKind::Rr));
    let ours = syn_from(&dp, "198.51.100.1", 40000);
    dp.install_peer_template(&peer_template(&dp, 23, PEER, Duration::from_secs(7)))
        .unwrap();
    // One expired (its last packet 301 s ago; it lives 300 s).
    let clock = dp.clock().unwrap();
    let live = dp.template(1, MASKED.parse().unwrap()).unwrap();
    dp.set_template(
        TmplKey {
            svc: 1,
            client: [192, 0, 2, 0],
        },
        Tmpl {
            last: clock.now - 301 * u64::from(clock.hz),
            ..live
        },
    )
    .unwrap();

    let mut reader = dp.table_reader().unwrap();
    let mut conns = 0;
    while let Some(chunk) = reader.next_chunk(&dp, 2).unwrap() {
        conns += chunk.len();
    }
    assert_eq!(conns, 1, "the connection table first");
    let mut all = Vec::new();
    while let Some(chunk) = reader.next_templates(&dp, 1).unwrap() {
        all.extend(chunk);
    }
    all.sort_by_key(|t| t.key.src);
    assert_eq!(all.len(), 2, "the live ones, a chunk at a time: {all:?}");
    let (a, b) = (all[0], all[1]);
    assert_eq!(a.key.src, [198, 51, 100, 0]);
    assert_eq!(
        (a.owner, *a.real.ip()),
        ([0; 4], Ipv4Addr::new(10, 0, 1, ours))
    );
    assert_eq!(b.key, template_key());
    assert_eq!(b.owner, PEER.octets());
    assert_eq!(*b.real.ip(), Ipv4Addr::new(10, 0, 1, 23));
    assert!(
        (6..=8).contains(&b.idle.as_secs()),
        "the peer's idle time: {:?}",
        b.idle
    );
    let e = b.event();
    assert_eq!((e.op(), e.owner()), (Some(SyncOp::Template), Some(PEER)));
    assert_eq!(dp.sync_templates().unwrap().len(), 2);
    // A template whose real left the service is left out.
    dp.set_service(&ServiceSpec {
        reals: (21..23).map(|n| real(n, 1)).collect(),
        ..persistent(Scheduling::Sequence(SequenceKind::Rr))
    })
    .unwrap();
    let left: Vec<_> = dp.sync_templates().unwrap();
    assert!(left.iter().all(|t| t.key != template_key()), "{left:?}");
}
