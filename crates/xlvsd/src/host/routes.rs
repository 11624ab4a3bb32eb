//! The kernel's IPv4 main routing table as rtnetlink reports it (a dump,
//! then RTM_NEWROUTE and RTM_DELROUTE events), and the route it takes to
//! an address: the longest prefix, then the lowest metric. Only what a
//! real's next hop needs (forwarder/next_hop.rs): the route's type, its
//! gateway, interface and MTU, whether it is multipath. Other tables are
//! left out: the next hop map assumes routing by destination in the main
//! table (docs/dataplane.md says how to turn it off).

use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteMetric, RouteType,
};
use rtnetlink::packet_route::AddressFamily;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use xlvs_netlink::rtnetlink;

/// A route of the main table, as forwarding cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Unicast: sent on; anything else (blackhole, unreachable, local...)
    /// is not a next hop.
    pub unicast: bool,
    /// None: the destination is on the link (the real itself is the
    /// neighbour).
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
    /// The route's own MTU (`ip route ... mtu N`), over the interface's.
    pub mtu: Option<u32>,
    /// Several next hops (ECMP): the FIB picks one per flow's hash.
    pub multipath: bool,
}

/// Which route: destination, prefix length, TOS, metric (the kernel's
/// identity of an IPv4 route in a table).
type Key = (Ipv4Addr, u8, u8, u32);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    main: BTreeMap<Key, Route>,
}

impl Routes {
    /// Applies RTM_NEWROUTE (`gone` false) or RTM_DELROUTE; whether the
    /// table changed.
    pub fn apply(&mut self, m: &RouteMessage, gone: bool) -> bool {
        let Some(key) = key(m) else { return false };
        if gone {
            return self.main.remove(&key).is_some();
        }
        let route = of(m);
        self.main.insert(key, route.clone()) != Some(route)
    }

    /// The route the kernel takes to `addr` in the main table: the
    /// longest matching prefix, then the lowest metric. Routes with a TOS
    /// are left out (they match some packets only). One range lookup per
    /// prefix length: a full table costs 33 of them, not a scan.
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<&Route> {
        (0..=32u8).rev().find_map(|len| {
            let dst = Ipv4Addr::from(u32::from(addr) & mask(len));
            self.main
                .range((dst, len, 0, 0)..=(dst, len, 0, u32::MAX))
                .next()
                .map(|(_, r)| r)
        })
    }
}

fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// The key of an IPv4 route of the main table; None for others.
fn key(m: &RouteMessage) -> Option<Key> {
    if m.header.address_family != AddressFamily::Inet {
        return None;
    }
    // Tables past 255 are named by the attribute alone.
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let mut dst = Ipv4Addr::UNSPECIFIED;
    let mut priority = 0;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = *d,
            RouteAttribute::Priority(p) => priority = *p,
            _ => {}
        }
    }
    Some((
        dst,
        m.header.destination_prefix_length.min(32),
        m.header.tos,
        priority,
    ))
}

fn of(m: &RouteMessage) -> Route {
    let mut r = Route {
        unicast: m.header.kind == RouteType::Unicast,
        gateway: None,
        oif: None,
        mtu: None,
        multipath: false,
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => r.gateway = Some(*g),
            RouteAttribute::Oif(i) => r.oif = Some(*i),
            RouteAttribute::MultiPath(hops) => r.multipath = hops.len() > 1,
            RouteAttribute::Metrics(metrics) => {
                r.mtu = metrics.iter().find_map(|x| match x {
                    RouteMetric::Mtu(n) if *n > 0 => Some(*n),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
pub mod testing {
    //! Route messages as the kernel sends them.

    use super::*;

    /// An IPv4 route of `table` to `dst`/`len`, via `gateway` (None: on
    /// link) out of `oif`, with metric `priority`.
    pub fn route_msg(
        table: u8,
        dst: &str,
        len: u8,
        gateway: Option<&str>,
        oif: u32,
        priority: u32,
    ) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.table = table;
        m.header.destination_prefix_length = len;
        m.header.kind = RouteType::Unicast;
        let ip = |s: &str| RouteAddress::Inet(s.parse().expect("an address"));
        if len > 0 {
            m.attributes.push(RouteAttribute::Destination(ip(dst)));
        }
        if let Some(g) = gateway {
            m.attributes.push(RouteAttribute::Gateway(ip(g)));
        }
        m.attributes.push(RouteAttribute::Oif(oif));
        if priority > 0 {
            m.attributes.push(RouteAttribute::Priority(priority));
        }
        m
    }

    /// The same in the main table.
    pub fn main_route(dst: &str, len: u8, gateway: Option<&str>, oif: u32) -> RouteMessage {
        route_msg(RouteHeader::RT_TABLE_MAIN, dst, len, gateway, oif, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use rtnetlink::packet_route::route::RouteNextHop;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn the_longest_prefix_then_the_lowest_metric_wins() {
        let mut t = Routes::default();
        assert!(t.apply(&main_route("0.0.0.0", 0, Some("10.0.1.254"), 3), false));
        assert!(t.apply(&main_route("10.0.1.0", 24, None, 3), false));
        assert!(t.apply(&main_route("10.0.2.0", 24, Some("10.0.1.253"), 3), false));
        assert!(t.apply(
            &route_msg(254, "10.0.2.0", 24, Some("10.0.1.252"), 4, 50),
            false
        ));
        let to = |a: &str| t.lookup(ip(a)).cloned();
        assert_eq!(to("10.0.1.21").unwrap().gateway, None, "on link");
        assert_eq!(to("10.0.2.21").unwrap().gateway, Some(ip("10.0.1.253")));
        assert_eq!(to("10.0.2.21").unwrap().oif, Some(3), "metric 0 first");
        assert_eq!(to("192.0.2.1").unwrap().gateway, Some(ip("10.0.1.254")));
        // A route for one TOS only is not the route of every packet.
        let mut tos = main_route("10.0.9.0", 24, None, 5);
        tos.header.tos = 0x10;
        assert!(t.apply(&tos, false));
        let to_9 = t.lookup(ip("10.0.9.1")).unwrap();
        assert_eq!(to_9.gateway, Some(ip("10.0.1.254")));
        // The metric-0 route goes: the other takes over.
        let mut gone = main_route("10.0.2.0", 24, Some("10.0.1.253"), 3);
        gone.attributes
            .retain(|a| !matches!(a, RouteAttribute::Gateway(_)));
        assert!(t.apply(&gone, true));
        assert_eq!(t.lookup(ip("10.0.2.21")).unwrap().oif, Some(4));
        assert!(!t.apply(&gone, true), "gone already");
    }

    #[test]
    fn other_tables_and_families_are_left_out() {
        let mut t = Routes::default();
        assert!(
            !t.apply(&route_msg(255, "10.0.1.1", 32, None, 3, 0), false),
            "local"
        );
        assert!(!t.apply(&route_msg(100, "10.0.2.0", 24, None, 3, 0), false));
        let mut v6 = main_route("10.0.3.0", 24, None, 3);
        v6.header.address_family = AddressFamily::Inet6;
        assert!(!t.apply(&v6, false));
        assert_eq!(t.lookup(ip("10.0.1.1")), None);
        // A table past 255 is named by its attribute.
        let mut big = route_msg(252, "10.0.4.0", 24, None, 3, 0);
        big.attributes.push(RouteAttribute::Table(1000));
        assert!(!t.apply(&big, false));
    }

    #[test]
    fn a_route_says_its_type_mtu_and_multipath() {
        let mut t = Routes::default();
        let mut m = main_route("10.0.5.0", 24, Some("10.0.1.254"), 3);
        m.attributes
            .push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(1400)]));
        t.apply(&m, false);
        assert_eq!(t.lookup(ip("10.0.5.1")).unwrap().mtu, Some(1400));
        let mut hole = main_route("10.0.6.0", 24, None, 3);
        hole.header.kind = RouteType::BlackHole;
        t.apply(&hole, false);
        assert!(!t.lookup(ip("10.0.6.1")).unwrap().unicast);
        let mut ecmp = main_route("10.0.7.0", 24, None, 3);
        ecmp.attributes
            .push(RouteAttribute::MultiPath(vec![RouteNextHop::default(); 2]));
        t.apply(&ecmp, false);
        assert!(t.lookup(ip("10.0.7.1")).unwrap().multipath);
        // The same route again changes nothing.
        assert!(!t.apply(&ecmp, false));
    }
}
