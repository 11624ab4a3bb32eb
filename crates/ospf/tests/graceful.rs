//! Graceful restart as the restarting router (RFC 3623 section 2), against
//! our own core as the neighbor. The neighbor is no helper, so these tests
//! check what we send and keep; tests/ospf_graceful.rs runs FRR as helper.
//!
//! a (10.255.0.1) restarts; b (10.255.0.2) is its neighbor.

mod sim;

use sim::{config, ip, p2p_iface, router_lsa_of, Sim};
use std::time::Duration;
use xlvs_ospf::wire::{
    AuthField, Body, GraceLsa, Header, LinkType, Lsa, LsaHeader, LsaType, Packet, PacketType,
    RestartReason, GRACE_LSA_ID,
};
use xlvs_ospf::Auth;

const A: usize = 0;
const B: usize = 1;
const VIP: &str = "192.0.2.10";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn a_config() -> xlvs_ospf::Config {
    config(
        "10.255.0.1",
        vec![p2p_iface("eth1", "10.0.0.0", Auth::md5(1, b"k"))],
    )
}

/// a and b Full, a announcing the VIP.
fn pair() -> Sim {
    let mut s = Sim::new();
    s.add(a_config());
    s.add(config(
        "10.255.0.2",
        vec![p2p_iface("eth1", "10.0.0.1", Auth::md5(1, b"k"))],
    ));
    s.link(&[(A, 0), (B, 0)]);
    s.up_all();
    s.run(secs(10));
    let now = s.now;
    s.nodes[A].inst.announce(now, ip(VIP), 1);
    s.run(secs(10));
    s
}

/// The LSAs of `kind` in the logged LS Updates.
fn sent_lsas(log: &[(usize, Packet)], kind: LsaType) -> Vec<Lsa> {
    log.iter()
        .filter_map(|(_, p)| match &p.body {
            Body::LsUpdate(l) => Some(l),
            _ => None,
        })
        .flatten()
        .filter(|l| l.header.kind == kind)
        .cloned()
        .collect()
}

fn sent(log: &[(usize, Packet)], kind: LsaType) -> Vec<LsaHeader> {
    sent_lsas(log, kind).iter().map(|l| l.header).collect()
}

/// Logs every packet `from` puts on the wire.
fn record(s: &mut Sim, from: usize) -> std::rc::Rc<std::cell::RefCell<Vec<(usize, Packet)>>> {
    let log = std::rc::Rc::<std::cell::RefCell<Vec<(usize, Packet)>>>::default();
    let l = log.clone();
    s.drop = Some(Box::new(move |f, p| {
        if f == from {
            l.borrow_mut().push((f, p.clone()));
        }
        false
    }));
    log
}

fn stub_vips(s: &Sim, at: usize) -> Vec<std::net::Ipv4Addr> {
    let (_, _, r) = router_lsa_of(s, at, "10.255.0.1").expect("a's Router-LSA");
    r.links
        .iter()
        .filter(|l| l.kind == LinkType::Stub && l.data == std::net::Ipv4Addr::BROADCAST)
        .map(|l| l.id)
        .collect()
}

/// a prepares (grace period 60 s) and restarts at once; the new instance
/// resumes. Returns the grace-LSA's sequence number.
fn restart_gracefully(s: &mut Sim, period: u64) -> i32 {
    let now = s.now;
    let seq = s.nodes[A].inst.prepare_graceful_restart(now, period as u32);
    s.deliver();
    s.run(secs(1));
    assert!(s.nodes[A].inst.grace_acknowledged(), "b acknowledged");
    s.restart(A, a_config());
    let until = s.now + secs(period);
    s.nodes[A].inst.resume_graceful_restart(until, seq);
    let now = s.now;
    let eth1 = s.iface(A, 0);
    s.nodes[A].inst.interface_up(eth1, now);
    s.deliver();
    seq
}

#[test]
fn the_grace_lsa_says_how_long_and_why_and_is_acknowledged() {
    let mut s = pair();
    let log = record(&mut s, A);
    let now = s.now;
    let seq = s.nodes[A].inst.prepare_graceful_restart(now, 90);
    assert!(
        !s.nodes[A].inst.grace_acknowledged(),
        "not before b answered"
    );
    assert_eq!(
        s.nodes[A].inst.grace_unacknowledged(),
        [("eth1".to_string(), ip("10.255.0.2"))]
    );
    s.deliver();
    s.run(secs(2));
    assert!(s.nodes[A].inst.grace_acknowledged());
    let log = log.borrow();
    let lsa = log
        .iter()
        .find_map(|(_, p)| match &p.body {
            Body::LsUpdate(l) => l
                .iter()
                .find(|l| l.header.kind == LsaType::OPAQUE_LINK)
                .cloned(),
            _ => None,
        })
        .expect("a grace-LSA was sent");
    assert_eq!((lsa.header.id, lsa.header.seq), (GRACE_LSA_ID, seq));
    assert!(lsa.checksum_ok());
    assert_eq!(
        GraceLsa::parse(&lsa.body),
        Ok(GraceLsa {
            grace_period: 90,
            reason: RestartReason::SoftwareUpgrade,
            address: Some(ip("10.0.0.0")),
        })
    );
    // b keeps no opaque LSA, and a's adjacency is untouched.
    assert!(s.nodes[B]
        .inst
        .database(s.now)
        .iter()
        .all(|l| l.kind != "opaque-link"));
    assert_eq!(s.states(A), ["Full"]);
}

#[test]
fn restarted_speaker_keeps_its_old_lsas_until_the_adjacency_and_announcements_are_back() {
    let mut s = pair();
    let (old_seq, _, _) = router_lsa_of(&s, B, "10.255.0.1").unwrap();
    let grace_seq = restart_gracefully(&mut s, 60);
    let log = record(&mut s, A);
    s.run(secs(10));
    assert_eq!(s.states(A), ["Full"], "the adjacency is back");
    // Not settled yet (the daemon has not announced the VIP again): a
    // originated nothing, and holds its pre-restart LSA as b does.
    assert!(
        sent(&log.borrow(), LsaType::ROUTER).is_empty(),
        "{:?}",
        log.borrow()
    );
    assert_eq!(router_lsa_of(&s, A, "10.255.0.1").unwrap().0, old_seq);
    assert_eq!(router_lsa_of(&s, B, "10.255.0.1").unwrap().0, old_seq);
    assert_eq!(stub_vips(&s, B), [ip(VIP)], "b still has the VIP from a");
    let status = s.nodes[A].inst.graceful_status(s.now).expect("restarting");
    assert_eq!(status.phase, "restarting");
    assert_eq!(status.waiting_for, [format!("announcement of {VIP}")]);

    // The daemon announces the VIP: the restart is done.
    let now = s.now;
    s.nodes[A].inst.announce(now, ip(VIP), 1);
    s.run(secs(3));
    assert!(s.nodes[A].inst.graceful_status(s.now).is_none(), "done");
    let (seq, _, _) = router_lsa_of(&s, B, "10.255.0.1").unwrap();
    assert_eq!(seq, old_seq + 1, "one new instance, past the old one");
    assert_eq!(stub_vips(&s, B), [ip(VIP)]);
    // The grace-LSA is flushed past the one the helpers hold.
    let graces = sent_lsas(&log.borrow(), LsaType::OPAQUE_LINK);
    let flush = graces
        .iter()
        .find(|l| l.header.seq == grace_seq + 1 && l.header.age == 3600)
        .unwrap_or_else(|| panic!("no flush past {grace_seq}: {graces:?}"));
    // A valid grace period, or FRR ignores the flush and goes on helping.
    assert!(GraceLsa::parse(&flush.body).unwrap().grace_period >= 1);
    assert!(
        s.nodes[A].inst.grace_acknowledged(),
        "b acknowledged the flush"
    );
}

#[test]
fn when_the_grace_period_runs_out_the_restart_ends_with_what_is_announced() {
    let mut s = pair();
    let (old_seq, _, _) = router_lsa_of(&s, B, "10.255.0.1").unwrap();
    restart_gracefully(&mut s, 20);
    s.run(secs(15));
    assert!(s.nodes[A].inst.graceful_status(s.now).is_some());
    assert_eq!(stub_vips(&s, B), [ip(VIP)], "kept within the grace period");
    s.run(secs(10));
    assert!(s.nodes[A].inst.graceful_status(s.now).is_none(), "ended");
    let (seq, _, _) = router_lsa_of(&s, B, "10.255.0.1").unwrap();
    assert!(seq > old_seq);
    assert!(
        stub_vips(&s, B).is_empty(),
        "the VIP nobody announced is gone"
    );
}

#[test]
fn an_aborted_or_shut_down_restart_flushes_the_grace_lsa() {
    for shutdown in [false, true] {
        let mut s = pair();
        let log = record(&mut s, A);
        let now = s.now;
        let seq = s.nodes[A].inst.prepare_graceful_restart(now, 60);
        s.deliver();
        let now = s.now;
        if shutdown {
            s.nodes[A].inst.shutdown(now);
        } else {
            s.nodes[A].inst.abort_graceful_restart(now);
        }
        s.run(secs(2));
        assert!(s.nodes[A].inst.graceful_status(s.now).is_none());
        let graces = sent(&log.borrow(), LsaType::OPAQUE_LINK);
        // The same instance, at MaxAge: same body, same checksum.
        assert_eq!(graces.len(), 2, "{graces:?}");
        assert_eq!((graces[1].seq, graces[1].age), (seq, 3600));
        assert_eq!(graces[0].checksum, graces[1].checksum);
        assert!(s.nodes[A].inst.grace_acknowledged(), "shutdown={shutdown}");
    }
}

/// Hands a an LS Update from b with one LSA.
fn from_b(s: &mut Sim, lsa: Lsa) {
    let lsu = Packet {
        header: Header {
            kind: PacketType::LsUpdate,
            router_id: ip("10.255.0.2"),
            area_id: ip("0.0.0.0"),
            auth: AuthField::Md5 {
                key_id: 1,
                seq: u32::MAX,
            },
        },
        body: Body::LsUpdate(vec![lsa]),
    };
    let (now, eth1) = (s.now, s.iface(A, 0));
    let mut key = [0u8; 16];
    key[0] = b'k';
    s.nodes[A].inst.handle_packet(
        now,
        eth1,
        ip("10.0.0.1"),
        xlvs_ospf::ALL_SPF_ROUTERS,
        &lsu.emit(Some(&key)),
    );
}

fn opaque(kind: LsaType, adv: &str, seq: i32, body: Vec<u8>) -> Lsa {
    Lsa::new(
        LsaHeader {
            age: 1,
            options: 0x42,
            kind,
            id: GRACE_LSA_ID,
            adv_router: ip(adv),
            seq,
            checksum: 0,
            length: 0,
        },
        body,
    )
}

#[test]
fn opaque_lsas_of_others_are_acknowledged_and_not_kept() {
    let mut s = pair();
    let log = record(&mut s, A);
    from_b(
        &mut s,
        opaque(LsaType::OPAQUE_AREA, "10.255.0.2", 7, vec![0, 1, 0, 0]),
    );
    s.deliver();
    let acked = log.borrow().iter().any(|(_, p)| {
        matches!(&p.body, Body::LsAck(h) if h.iter().any(|h| h.kind == LsaType::OPAQUE_AREA))
    });
    assert!(acked, "acknowledged");
    assert!(s.nodes[A]
        .inst
        .database(s.now)
        .iter()
        .all(|l| l.kind != "opaque-area"));
    assert_eq!(s.states(A), ["Full"]);
}

#[test]
fn a_newer_grace_lsa_of_ours_in_the_network_is_gone_past_or_flushed() {
    // Prepared: the network holds a newer one (a flush of an earlier
    // restart still at MaxAge): the grace-LSA goes past it.
    let mut s = pair();
    let now = s.now;
    let seq = s.nodes[A].inst.prepare_graceful_restart(now, 60);
    s.deliver();
    let log = record(&mut s, A);
    let body = GraceLsa {
        grace_period: 60,
        reason: RestartReason::SoftwareUpgrade,
        address: None,
    }
    .to_bytes();
    from_b(
        &mut s,
        opaque(LsaType::OPAQUE_LINK, "10.255.0.1", seq + 5, body.clone()),
    );
    s.deliver();
    let graces = sent(&log.borrow(), LsaType::OPAQUE_LINK);
    assert!(
        graces.iter().any(|h| h.seq == seq + 6 && h.age < 3600),
        "{graces:?}"
    );
    assert_eq!(
        s.nodes[A].inst.prepared_grace_seq(),
        Some(seq + 6),
        "for the record"
    );

    // Not restarting at all: a stale grace-LSA of ours is flushed.
    let mut s = pair();
    let log = record(&mut s, A);
    from_b(&mut s, opaque(LsaType::OPAQUE_LINK, "10.255.0.1", 3, body));
    s.deliver();
    let graces = sent(&log.borrow(), LsaType::OPAQUE_LINK);
    assert!(
        graces.iter().any(|h| h.seq == 3 && h.age == 3600),
        "{graces:?}"
    );
}
