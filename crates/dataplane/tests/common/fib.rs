//! The director's view for tests whose packets go through the FIB (TUN,
//! NAT, FULLNAT): a namespace that knows the reals and the clients, a
//! service, and what a forwarded frame says.

use super::netns::FibNs;
use super::*;
use std::net::Ipv4Addr;
use xlvs_dataplane::{
    Dataplane, Forward, HashOn, Limits, Protocol, RealSpec, Run, Scheduling, ServiceSpec,
};

pub const LOCAL: &str = "10.0.1.100";
pub const ROUTER: &str = "198.51.100.1";

/// The director's view: reals 10.0.1.21/.22 on in0, clients behind a
/// router at 10.0.1.254 (MAC ROUTER_MAC).
pub fn director_ns(tag: &str) -> FibNs {
    FibNs::new(
        tag,
        &[
            "addr add 10.0.1.1/24 dev in0",
            "neigh add 10.0.1.21 lladdr 02:aa:00:00:00:15 dev in0 nud permanent",
            "neigh add 10.0.1.22 lladdr 02:aa:00:00:00:16 dev in0 nud permanent",
            "neigh add 10.0.1.254 lladdr 02:00:00:00:00:fe dev in0 nud permanent",
            "route add 203.0.113.0/24 via 10.0.1.254",
            "route add 198.51.100.0/24 via 10.0.1.254",
        ],
    )
}

pub fn load(forward: Forward, real_port: u16, proto: u8) -> Dataplane {
    load_with(small_limits(), forward, real_port, proto)
}

/// `load` with other limits.
pub fn load_with(limits: Limits, forward: Forward, real_port: u16, proto: u8) -> Dataplane {
    require_root();
    let mut dp = Dataplane::load(limits).expect("load the XDP program");
    dp.set_local_addresses(&[LOCAL.parse().unwrap()]).unwrap();
    dp.set_service(&spec(forward, real_port, proto)).unwrap();
    dp
}

/// The service `load` programs: id 3, VIP:80 to real 10.0.1.21.
pub fn spec(forward: Forward, real_port: u16, proto: u8) -> ServiceSpec {
    let real = |n: u8| RealSpec {
        addr: Ipv4Addr::new(10, 0, 1, n),
        port: real_port,
        weight: 1,
        mac: [0; 6],
    };
    ServiceSpec {
        id: 3,
        vip: VIP.parse().unwrap(),
        protocol: Protocol::from_number(proto).expect("TCP or UDP"),
        ports: vec![80],
        forward,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals: vec![real(21)],
    }
}

/// TUN's outer source: our address on in0.
pub fn tun_source(dp: &mut Dataplane) {
    let g = dp.globals().unwrap();
    dp.set_globals(xlvs_dataplane::abi::Globals {
        tun_src: [10, 0, 1, 1],
        ..g
    })
    .unwrap();
}

/// Runs a frame through the program as if it arrived on `ns`'s veth.
pub fn through(dp: &Dataplane, ns: &FibNs, frame: &[u8]) -> Run {
    dp.run_on("xlvs", frame, 1, ns.ifindex).unwrap()
}

/// The IPv4 header and what follows, of a frame without VLAN tag.
pub fn ip_of(frame: &[u8]) -> &[u8] {
    &frame[14..]
}

pub fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

pub fn port(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Whether the TCP or UDP checksum of an IPv4 packet verifies.
pub fn l4_csum_ok(ip: &[u8]) -> bool {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(port(&ip[2..4]));
    let l4 = &ip[ihl..total];
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.push(0);
    pseudo.push(ip[9]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(l4);
    csum(&pseudo) == 0
}

/// Addresses, ports and checksums of a forwarded frame.
pub struct Out {
    pub dst_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

pub fn parsed(frame: &[u8]) -> Out {
    let ip = ip_of(frame);
    assert!(ip_csum_ok(ip), "IP checksum");
    assert!(l4_csum_ok(ip), "L4 checksum");
    Out {
        dst_mac: frame[0..6].try_into().unwrap(),
        src: addr(&ip[12..16]),
        dst: addr(&ip[16..20]),
        sport: port(&ip[20..22]),
        dport: port(&ip[22..24]),
    }
}
