//! Between the data plane's terms and the cluster's: a reported entry as a
//! sync record, and a received record as this director's service id and
//! real slot. Pure functions; the forwarder does the map I/O.

use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_config::{Forward, Protocol};
use xlvs_dataplane::abi::{self, SyncEvent};
use xlvs_sync::{Entry, FlowKey, FlowKind, Op, Proto};

/// A data plane report as a sync record. `me` is our sync address: the
/// owner of the entries this director made (0 in the data plane). None for
/// what the cluster does not carry (a protocol or forwarding method the
/// wire has no number for).
///
/// A template report (SYNC_OP_TEMPLATE) becomes a template record: the
/// masked client, client port 0, the real's port as configured, no state
/// or local address.
pub fn to_wire(ev: &SyncEvent, me: Ipv4Addr, idle: Duration) -> Option<Entry> {
    let (op, kind) = match ev.op {
        abi::SYNC_OP_NEW | abi::SYNC_OP_REFRESH => (Op::Upsert, FlowKind::Connection),
        abi::SYNC_OP_CLOSING => (Op::Closing, FlowKind::Connection),
        abi::SYNC_OP_TEMPLATE => (Op::Upsert, FlowKind::Template),
        _ => return None,
    };
    let template = kind == FlowKind::Template;
    let forward = wire_forward(forward_of(ev.forward)?);
    let k = &ev.key;
    let owner = match Ipv4Addr::from(ev.owner) {
        a if a.is_unspecified() => me,
        a => a,
    };
    // Only FULLNAT has a local address; the wire refuses one elsewhere.
    let (local_addr, local_port) = match forward {
        xlvs_sync::Forward::FullNat if !template => {
            (Ipv4Addr::from(ev.nat_addr), u16::from_be_bytes(ev.nat_port))
        }
        _ => (Ipv4Addr::UNSPECIFIED, 0),
    };
    Some(Entry {
        op,
        key: FlowKey {
            kind,
            proto: match k.proto {
                6 => Proto::Tcp,
                17 => Proto::Udp,
                _ => return None,
            },
            client: Ipv4Addr::from(k.src),
            client_port: if template {
                0
            } else {
                u16::from_be_bytes(k.sport)
            },
            vip: Ipv4Addr::from(k.dst),
            vport: u16::from_be_bytes(k.dport),
        },
        forward,
        state: if template { 0 } else { ev.state },
        real: Ipv4Addr::from(ev.real_addr),
        real_port: u16::from_be_bytes(ev.real_port),
        local_addr,
        local_port,
        owner,
        idle_secs: idle.as_secs().min(u64::from(u16::MAX)) as u16,
        // Only a FULLNAT connection has a stream to shift.
        proxy: match forward {
            xlvs_sync::Forward::FullNat if !template => ev.proxy().map(shift_on_wire),
            _ => None,
        },
    })
}

/// A data plane shift as the wire carries it.
pub fn shift_on_wire(s: xlvs_dataplane::ProxyShift) -> xlvs_sync::ProxyShift {
    xlvs_sync::ProxyShift {
        after_syn: s.after_syn,
        len: s.len,
        acked: s.acked,
    }
}

/// A received shift as the data plane installs it.
pub fn shift_here(s: xlvs_sync::ProxyShift) -> xlvs_dataplane::ProxyShift {
    xlvs_dataplane::ProxyShift {
        after_syn: s.after_syn,
        len: s.len,
        acked: s.acked,
    }
}

/// The data plane's key of a synced flow.
pub fn flow_key(k: &FlowKey) -> abi::FlowKey {
    let proto = match k.proto {
        Proto::Tcp => Protocol::Tcp,
        Proto::Udp => Protocol::Udp,
    };
    abi::FlowKey::new(k.client, k.client_port, k.vip, k.vport, proto.number())
}

pub fn forward_of(raw: u8) -> Option<Forward> {
    Some(match raw {
        abi::FWD_DR => Forward::Dr,
        abi::FWD_TUN => Forward::Tun,
        abi::FWD_FULLNAT => Forward::Fullnat,
        abi::FWD_NAT => Forward::Nat,
        _ => return None,
    })
}

pub fn wire_forward(f: Forward) -> xlvs_sync::Forward {
    match f {
        Forward::Dr => xlvs_sync::Forward::Dr,
        Forward::Tun => xlvs_sync::Forward::Tun,
        Forward::Nat => xlvs_sync::Forward::Nat,
        Forward::Fullnat => xlvs_sync::Forward::FullNat,
    }
}

/// A service entry as the lookup sees it: (VIP, protocol, port; 0 takes
/// every port), how it forwards, its id, and its backends.
pub struct LocalService {
    pub vip: Ipv4Addr,
    pub protocol: Protocol,
    pub port: u16,
    pub forward: Forward,
    pub id: u32,
    /// It sends a PROXY protocol header (client_address = "proxy-v2" or
    /// "proxy-v1"): its connections are shifted.
    pub proxy: bool,
    /// XDP keeps persistence templates for it (persistence on a scheduler
    /// that does not hash): a peer's template has a place.
    pub templates: bool,
    /// (address, port; 0: the client's destination port).
    pub backends: Vec<(Ipv4Addr, u16)>,
}

/// Why a received entry has no place here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unplaced {
    #[error("no service here for its VIP, protocol and port")]
    NoService,
    #[error("the service here forwards another way")]
    OtherForward,
    #[error("its real is not a backend of the service here")]
    NoReal,
    #[error("the service here sends a PROXY header, and the entry carries no shift")]
    NoProxyShift,
    #[error("the entry carries a PROXY shift, and the service here sends no header")]
    NotProxiedHere,
    #[error("a persistence template, and the service here keeps none")]
    NoPersistence,
}

impl Unplaced {
    /// The counter name.
    pub fn name(self) -> &'static str {
        match self {
            Unplaced::NoService => "no_service",
            Unplaced::OtherForward => "other_forward",
            Unplaced::NoReal => "no_real",
            Unplaced::NoProxyShift => "no_proxy_shift",
            Unplaced::NotProxiedHere => "not_proxied_here",
            Unplaced::NoPersistence => "no_persistence",
        }
    }
}

/// The service (its id) and backend (address and port as configured,
/// for the slot lookup) that forward entry `e` here, as the data plane
/// looks them up: the exact port first, then a port-0 service.
pub fn place(services: &[LocalService], e: &Entry) -> Result<(u32, (Ipv4Addr, u16)), Unplaced> {
    let proto = match e.key.proto {
        Proto::Tcp => Protocol::Tcp,
        Proto::Udp => Protocol::Udp,
    };
    let of_vip = |port: u16| {
        services
            .iter()
            .find(|s| s.vip == e.key.vip && s.protocol == proto && s.port == port)
    };
    let s = of_vip(e.key.vport)
        .or_else(|| of_vip(0))
        .ok_or(Unplaced::NoService)?;
    if wire_forward(s.forward) != e.forward {
        return Err(Unplaced::OtherForward);
    }
    // Its owner may have put a header in the stream that this entry does
    // not say how long: forwarded unshifted, every byte after it would
    // land in the wrong place at the real. (A template has no stream.)
    if s.proxy && e.key.kind == FlowKind::Connection && e.proxy.is_none() {
        return Err(Unplaced::NoProxyShift);
    }
    // The data plane shifts only the flows of a proxied service: the
    // service here must send a header too (either version: the entry
    // carries its own length).
    if !s.proxy && e.proxy.is_some() {
        return Err(Unplaced::NotProxiedHere);
    }
    // A template here only steers new flows where XDP looks for one.
    if e.key.kind == FlowKind::Template && !s.templates {
        return Err(Unplaced::NoPersistence);
    }
    let backend = s
        .backends
        .iter()
        .find(|(addr, port)| {
            *addr == e.real && (*port == e.real_port || (*port == 0 && e.real_port == e.key.vport))
        })
        .ok_or(Unplaced::NoReal)?;
    Ok((s.id, *backend))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 11);

    fn event(forward: u8, owner: [u8; 4]) -> SyncEvent {
        SyncEvent {
            key: abi::FlowKey::new(
                Ipv4Addr::new(10, 0, 0, 2),
                40000,
                Ipv4Addr::new(192, 0, 2, 50),
                80,
                6,
            ),
            real_addr: [10, 0, 3, 21],
            nat_addr: [10, 255, 1, 1],
            owner,
            real_port: 80u16.to_be_bytes(),
            nat_port: 1234u16.to_be_bytes(),
            forward,
            state: abi::CT_ACTIVE,
            op: abi::SYNC_OP_NEW,
            flags: 0,
            ..SyncEvent::default()
        }
    }

    /// Service 3: 192.0.2.50:80 under FULLNAT, real 10.0.3.21.
    fn fullnat_80(proxy: bool) -> LocalService {
        LocalService {
            vip: Ipv4Addr::new(192, 0, 2, 50),
            protocol: Protocol::Tcp,
            port: 80,
            forward: Forward::Fullnat,
            id: 3,
            proxy,
            templates: false,
            backends: vec![(Ipv4Addr::new(10, 0, 3, 21), 0)],
        }
    }

    #[test]
    fn our_entries_carry_our_address_and_a_peer_s_keep_its_owner() {
        let e = to_wire(&event(abi::FWD_FULLNAT, [0; 4]), ME, Duration::ZERO).unwrap();
        assert_eq!((e.owner, e.op), (ME, Op::Upsert));
        assert_eq!(
            (e.local_addr, e.local_port),
            (Ipv4Addr::new(10, 255, 1, 1), 1234)
        );
        assert_eq!(
            (e.key.client_port, e.key.vport, e.real_port),
            (40000, 80, 80)
        );
        let peer = [10, 0, 2, 12];
        let e = to_wire(&event(abi::FWD_FULLNAT, peer), ME, Duration::from_secs(7)).unwrap();
        assert_eq!((e.owner, e.idle_secs), (Ipv4Addr::from(peer), 7));
        assert_eq!(flow_key(&e.key), event(0, [0; 4]).key);
    }

    #[test]
    fn only_fullnat_carries_a_local_address_and_unknown_numbers_are_left_out() {
        let e = to_wire(&event(abi::FWD_NAT, [0; 4]), ME, Duration::ZERO).unwrap();
        assert_eq!((e.local_addr, e.local_port), (Ipv4Addr::UNSPECIFIED, 0));
        assert!(to_wire(&event(99, [0; 4]), ME, Duration::ZERO).is_none());
        let mut closing = event(abi::FWD_DR, [0; 4]);
        closing.op = abi::SYNC_OP_CLOSING;
        assert_eq!(
            to_wire(&closing, ME, Duration::ZERO).unwrap().op,
            Op::Closing
        );
        closing.op = 42;
        assert!(to_wire(&closing, ME, Duration::ZERO).is_none());
    }

    #[test]
    fn a_template_report_becomes_a_template_record_and_places_like_an_entry() {
        let mut ev = event(abi::FWD_FULLNAT, [0; 4]);
        ev.op = abi::SYNC_OP_TEMPLATE;
        ev.key.src = [10, 0, 0, 0];
        ev.key.sport = [0; 2];
        ev.real_port = [0; 2];
        let t = to_wire(&ev, ME, Duration::from_secs(3)).unwrap();
        assert_eq!(
            (t.key.kind, t.op, t.owner),
            (FlowKind::Template, Op::Upsert, ME)
        );
        assert_eq!(
            (t.key.client, t.key.client_port),
            (Ipv4Addr::new(10, 0, 0, 0), 0)
        );
        // No local address even under FULLNAT: a template has none.
        assert_eq!(
            (t.local_addr, t.local_port, t.state),
            (Ipv4Addr::UNSPECIFIED, 0, 0)
        );
        // A template of a real without a port places on that real, of a
        // service that keeps templates here.
        let mut persistent = fullnat_80(false);
        persistent.templates = true;
        assert_eq!(
            place(&[persistent], &t),
            Ok((3, (Ipv4Addr::new(10, 0, 3, 21), 0)))
        );
        // Without persistence here (or with Maglev's, a hash): no place.
        assert_eq!(
            place(&[fullnat_80(false)], &t),
            Err(Unplaced::NoPersistence)
        );
        assert_eq!(Unplaced::NoPersistence.name(), "no_persistence");
        // The same key as a connection's is another flow.
        let c = to_wire(&event(abi::FWD_FULLNAT, [0; 4]), ME, Duration::ZERO).unwrap();
        assert_ne!(c.key.kind, t.key.kind);
    }

    #[test]
    fn a_received_entry_finds_its_service_and_backend_as_the_data_plane_would() {
        let web = [
            (Ipv4Addr::new(10, 0, 3, 21), 0),
            (Ipv4Addr::new(10, 0, 3, 22), 8080),
        ];
        let all = [(Ipv4Addr::new(10, 0, 3, 21), 0)];
        let service = |port, forward, id, backends: &[(Ipv4Addr, u16)]| LocalService {
            vip: Ipv4Addr::new(192, 0, 2, 50),
            protocol: Protocol::Tcp,
            port,
            forward,
            id,
            proxy: false,
            templates: false,
            backends: backends.to_vec(),
        };
        let services = [
            service(80, Forward::Fullnat, 3, &web[..]),
            service(0, Forward::Fullnat, 4, &all[..]),
        ];
        let mut e = to_wire(&event(abi::FWD_FULLNAT, [0; 4]), ME, Duration::ZERO).unwrap();
        assert_eq!(
            place(&services, &e),
            Ok((3, (Ipv4Addr::new(10, 0, 3, 21), 0)))
        );
        e.real = Ipv4Addr::new(10, 0, 3, 22);
        assert_eq!(place(&services, &e), Err(Unplaced::NoReal));
        e.real_port = 8080;
        assert_eq!(
            place(&services, &e),
            Ok((3, (Ipv4Addr::new(10, 0, 3, 22), 8080)))
        );
        // Another port of the VIP: the every-port service.
        e.key.vport = 443;
        e.real = Ipv4Addr::new(10, 0, 3, 21);
        e.real_port = 443;
        assert_eq!(place(&services, &e).map(|p| p.0), Ok(4));
        e.forward = xlvs_sync::Forward::Dr;
        assert_eq!(place(&services, &e), Err(Unplaced::OtherForward));
        e.key.vip = Ipv4Addr::new(192, 0, 2, 51);
        assert_eq!(place(&services, &e), Err(Unplaced::NoService));
    }

    #[test]
    fn a_proxied_service_takes_only_entries_with_their_shift() {
        let services = [fullnat_80(true)];
        let mut e = to_wire(&event(abi::FWD_FULLNAT, [0; 4]), ME, Duration::ZERO).unwrap();
        assert_eq!(e.proxy, None);
        assert_eq!(place(&services, &e), Err(Unplaced::NoProxyShift));
        assert_eq!(Unplaced::NoProxyShift.name(), "no_proxy_shift");
        e.proxy = Some(xlvs_sync::ProxyShift {
            after_syn: 1,
            len: 28,
            acked: false,
        });
        assert_eq!(place(&services, &e).map(|p| p.0), Ok(3));
        // A template has no stream to shift.
        let mut t = e;
        t.key.kind = FlowKind::Template;
        t.proxy = None;
        let mut persistent = fullnat_80(true);
        persistent.templates = true;
        assert_eq!(place(&[persistent], &t).map(|p| p.0), Ok(3));
        // A shifted entry for a service that does not proxy here: the
        // data plane would not shift it.
        let plain = [fullnat_80(false)];
        assert_eq!(place(&plain, &e), Err(Unplaced::NotProxiedHere));
        assert_eq!(Unplaced::NotProxiedHere.name(), "not_proxied_here");
    }

    #[test]
    fn a_proxied_event_goes_out_with_its_shift_and_comes_back_the_same() {
        let shift = xlvs_dataplane::ProxyShift {
            after_syn: 0xffff_fff0,
            len: 41,
            acked: true,
        };
        let mut ev = event(abi::FWD_FULLNAT, [0; 4]);
        ev.proxy_seq = shift.after_syn;
        ev.proxy_len = shift.len;
        ev.proxy_flags = abi::PROXY_F_ACKED;
        assert_eq!(ev.proxy(), Some(shift));
        let e = to_wire(&ev, ME, Duration::ZERO).unwrap();
        assert_eq!(e.proxy.map(shift_here), Some(shift));
        // Through the wire's bytes.
        let mut bytes = Vec::new();
        e.emit(&mut bytes);
        assert_eq!(bytes.len(), 44);
        assert_eq!(xlvs_sync::Entry::parse(&bytes).unwrap().proxy, e.proxy);
        // A template of the same service carries none.
        ev.op = abi::SYNC_OP_TEMPLATE;
        assert_eq!(to_wire(&ev, ME, Duration::ZERO).unwrap().proxy, None);
    }
}
