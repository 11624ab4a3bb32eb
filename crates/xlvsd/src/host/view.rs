//! The kernel as xlvsd follows it: interfaces and their IPv4 addresses
//! (xlvs-netlink's [`Links`]), the IPv4 neighbour table, and the main
//! routing table (routes.rs). One dump at start, then the kernel's events
//! (RTNLGRP_LINK, IPV4_IFADDR, NEIGH, IPV4_ROUTE) keep it current.
//!
//! The view changes (and wakes the daemon) only on what matters to
//! forwarding: a link's index, MAC, MTU or carrier, an address, a
//! neighbour's MAC or whether it is resolved, any route. A neighbour going
//! REACHABLE -> STALE -> DELAY and back, which the kernel reports all the
//! time, changes nothing here.

use super::routes::{Route, Routes};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage,
};
use rtnetlink::packet_route::route::RouteMessage;
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::RouteMessageBuilder;
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use xlvs_netlink::{apply_dump, rtnetlink, Links, NetlinkError, View};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostView {
    links: Links,
    /// IPv4 neighbour entries by (interface index, address).
    neighbours: BTreeMap<(u32, Ipv4Addr), Neighbour>,
    /// The IPv4 main table: the next hop towards each TUN, NAT and
    /// FULLNAT real; any change makes the flow cache's FIB answers stale.
    routes: Routes,
    /// An event the kernel flushes routes on without reporting them (a
    /// link stopped or deleted, an address removed): the view is dumped
    /// again.
    routes_unreported: bool,
}

/// A neighbour entry as far as forwarding cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Neighbour {
    /// A host's MAC: resolved by the kernel (REACHABLE), resolved before
    /// and not confirmed since (STALE), being confirmed again while the
    /// kernel keeps sending to it (DELAY, PROBE), or set by the operator
    /// (PERMANENT). STALE is the usual state of a DR real: XDP sends to it
    /// without the kernel knowing, so only the health checks' own traffic
    /// ever confirms it; if a confirmation fails the entry turns FAILED.
    Resolved([u8; 6]),
    /// Being resolved (INCOMPLETE), or made and not asked yet (NONE).
    Resolving,
    /// The kernel asked and got no answer (FAILED).
    Failed,
    /// Kept by the kernel without resolving, with its state and link-layer
    /// address: NOARP entries (devices that do not resolve, whose entries
    /// carry the device's own address, and broadcast or multicast
    /// addresses) and addresses that are not Ethernet MACs. The FIB uses
    /// them; they are never a real's MAC.
    Other { state: u16, lladdr: Vec<u8> },
}

// Neighbour states (include/uapi/linux/neighbour.h).
const NUD_INCOMPLETE: u16 = 0x01;
const NUD_REACHABLE: u16 = 0x02;
const NUD_STALE: u16 = 0x04;
const NUD_DELAY: u16 = 0x08;
const NUD_PROBE: u16 = 0x10;
const NUD_FAILED: u16 = 0x20;
const NUD_PERMANENT: u16 = 0x80;
const RESOLVED: u16 = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

impl Neighbour {
    fn of(state: u16, lladdr: Option<&[u8]>) -> Neighbour {
        let mac = lladdr
            .and_then(|l| <[u8; 6]>::try_from(l).ok())
            .filter(|m| *m != [0; 6]);
        match mac {
            Some(mac) if state & RESOLVED != 0 => Neighbour::Resolved(mac),
            _ if state & NUD_FAILED != 0 => Neighbour::Failed,
            _ if state & NUD_INCOMPLETE != 0 || state == 0 => Neighbour::Resolving,
            _ => Neighbour::Other {
                state,
                lladdr: lladdr.unwrap_or_default().to_vec(),
            },
        }
    }
}

impl View for HostView {
    const WHAT: &'static str = "interfaces and neighbours";
    const GROUPS: &'static [MulticastGroup] = &[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Neigh,
        MulticastGroup::Ipv4Route,
    ];

    async fn dump(handle: &Handle) -> Result<HostView, NetlinkError> {
        let mut view = HostView {
            links: <Links as View>::dump(handle).await?,
            ..HostView::default()
        };
        let neighbours = handle
            .neighbours()
            .get()
            .set_address_family(AddressFamily::Inet)
            .execute();
        apply_dump(&mut view, neighbours, RouteNetlinkMessage::NewNeighbour).await?;
        let routes = handle
            .route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute();
        apply_dump(&mut view, routes, RouteNetlinkMessage::NewRoute).await?;
        Ok(view)
    }

    fn apply(&mut self, msg: &RouteNetlinkMessage) -> bool {
        match msg {
            RouteNetlinkMessage::NewNeighbour(m) => {
                let Some(key) = key(m) else { return false };
                let lladdr = m.attributes.iter().find_map(|a| match a {
                    NeighbourAttribute::LinkLayerAddress(l) => Some(l.as_slice()),
                    _ => None,
                });
                let new = Neighbour::of(m.header.state.into(), lladdr);
                self.neighbours.insert(key, new.clone()) != Some(new)
            }
            RouteNetlinkMessage::DelNeighbour(m) => {
                key(m).is_some_and(|key| self.neighbours.remove(&key).is_some())
            }
            RouteNetlinkMessage::NewRoute(m) => self.route_event(m, false),
            RouteNetlinkMessage::DelRoute(m) => self.route_event(m, true),
            RouteNetlinkMessage::DelLink(m) => {
                self.routes_unreported = true;
                // Its neighbours go with it, whether or not the kernel
                // says so entry by entry.
                let index = m.header.index;
                let before = self.neighbours.len();
                self.neighbours.retain(|&(i, _), _| i != index);
                self.links.apply(msg) || self.neighbours.len() != before
            }
            RouteNetlinkMessage::NewLink(m) => {
                let was = self.links.get(m.header.index).is_some_and(|l| l.running);
                let changed = self.links.apply(msg);
                let is = self.links.get(m.header.index).is_some_and(|l| l.running);
                self.routes_unreported |= was && !is;
                changed
            }
            RouteNetlinkMessage::DelAddress(_) => {
                let changed = self.links.apply(msg);
                self.routes_unreported |= changed;
                changed
            }
            _ => self.links.apply(msg),
        }
    }

    /// IPv4 routes through a link that stops or goes, or that need an
    /// address that goes, are deleted by the kernel without an event.
    fn unreported(&self) -> bool {
        self.routes_unreported
    }
}

/// A neighbour message's (interface index, IPv4 address); None for other
/// families and for proxy entries (answered for others, not hosts).
fn key(m: &NeighbourMessage) -> Option<(u32, Ipv4Addr)> {
    if m.header.family != AddressFamily::Inet || m.header.flags.contains(NeighbourFlags::Proxy) {
        return None;
    }
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(addr)) => {
            Some((m.header.ifindex, *addr))
        }
        _ => None,
    })
}

impl HostView {
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Any IPv4 route event counts as a change (the FIB's answers the
    /// flow cache keeps may come from any table); the main table is kept.
    fn route_event(&mut self, m: &RouteMessage, gone: bool) -> bool {
        if m.header.address_family != AddressFamily::Inet {
            return false;
        }
        self.routes.apply(m, gone);
        true
    }

    /// The main table's route to `addr`.
    pub fn route_to(&self, addr: Ipv4Addr) -> Option<&Route> {
        self.routes.lookup(addr)
    }

    /// The interface of `interfaces` (the XDP interfaces, in config order)
    /// whose subnet holds `addr`: a DR real must be on the segment XDP
    /// sends its frames back out to. Its index.
    pub fn interface_for(&self, interfaces: &[String], addr: Ipv4Addr) -> Option<u32> {
        interfaces.iter().find_map(|name| {
            let (index, _) = self.links.by_name(name)?;
            let on = self.links.addresses(index).iter().any(|a| a.holds(addr));
            on.then_some(index)
        })
    }

    /// The neighbour entry of `addr` on interface `index`.
    pub fn neighbour(&self, index: u32, addr: Ipv4Addr) -> Option<&Neighbour> {
        self.neighbours.get(&(index, addr))
    }
}

#[cfg(test)]
pub mod testing {
    //! Neighbour and route messages as the kernel sends them.

    use super::*;
    use rtnetlink::packet_route::neighbour::NeighbourState;
    use rtnetlink::packet_route::route::RouteMessage;

    pub fn neighbour(index: u32, addr: &str, state: u16, mac: Option<[u8; 6]>) -> NeighbourMessage {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = index;
        m.header.state = NeighbourState::from(state);
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
                addr.parse().expect("an address"),
            )));
        if let Some(mac) = mac {
            m.attributes
                .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        }
        m
    }

    /// RTM_NEWNEIGH.
    pub fn neigh(index: u32, addr: &str, state: u16, mac: Option<[u8; 6]>) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewNeighbour(neighbour(index, addr, state, mac))
    }

    /// RTM_DELNEIGH.
    pub fn neigh_gone(index: u32, addr: &str) -> RouteNetlinkMessage {
        RouteNetlinkMessage::DelNeighbour(neighbour(index, addr, 0, None))
    }

    /// RTM_NEWROUTE of an IPv4 route.
    pub fn route() -> RouteNetlinkMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        RouteNetlinkMessage::NewRoute(m)
    }

    pub const REACHABLE: u16 = NUD_REACHABLE;
    pub const STALE: u16 = NUD_STALE;
    pub const DELAY: u16 = NUD_DELAY;
    pub const PROBE: u16 = NUD_PROBE;
    pub const PERMANENT: u16 = NUD_PERMANENT;
    pub const INCOMPLETE: u16 = NUD_INCOMPLETE;
    pub const FAILED: u16 = NUD_FAILED;
    pub const NOARP: u16 = 0x40;

    /// A view with interface eth1 (index 3, 10.0.1.11/24) and eth2
    /// (index 4, 10.0.2.11/24).
    pub fn two_segments() -> HostView {
        use xlvs_netlink::testing::{added, link};
        let mut v = HostView::default();
        for msg in [
            link(3, "eth1", 1500, true),
            added(3, "10.0.1.11", 24),
            link(4, "eth2", 1500, true),
            added(4, "10.0.2.11", 24),
        ] {
            v.apply(&msg);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    const WEB1: &str = "10.0.1.21";
    const MAC1: [u8; 6] = [2, 0xaa, 0, 0, 0, 0x15];
    const MAC2: [u8; 6] = [2, 0xaa, 0, 0, 0, 0x16];

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn a_real_is_reached_through_the_xdp_interface_whose_subnet_holds_it() {
        let v = two_segments();
        let both = ["eth1".to_string(), "eth2".to_string()];
        assert_eq!(v.interface_for(&both, ip(WEB1)), Some(3));
        assert_eq!(v.interface_for(&both, ip("10.0.2.21")), Some(4));
        assert_eq!(v.interface_for(&both[1..], ip(WEB1)), None, "not XDP");
        assert_eq!(v.interface_for(&both, ip("10.0.9.21")), None);
    }

    #[test]
    fn only_resolved_states_give_a_mac() {
        let mut v = two_segments();
        for state in [REACHABLE, STALE, DELAY, PROBE, PERMANENT] {
            v.apply(&neigh(3, WEB1, state, Some(MAC1)));
            assert_eq!(
                v.neighbour(3, ip(WEB1)),
                Some(&Neighbour::Resolved(MAC1)),
                "{state:#x}"
            );
        }
        v.apply(&neigh(3, WEB1, INCOMPLETE, None));
        assert_eq!(v.neighbour(3, ip(WEB1)), Some(&Neighbour::Resolving));
        v.apply(&neigh(3, WEB1, FAILED, None));
        assert_eq!(v.neighbour(3, ip(WEB1)), Some(&Neighbour::Failed));
        // The kernel may keep the last address of a failed entry.
        v.apply(&neigh(3, WEB1, FAILED, Some(MAC1)));
        assert_eq!(v.neighbour(3, ip(WEB1)), Some(&Neighbour::Failed));
        v.apply(&neigh(3, WEB1, NOARP, Some(MAC1)));
        assert!(matches!(
            v.neighbour(3, ip(WEB1)),
            Some(Neighbour::Other { .. })
        ));
        v.apply(&neigh(3, WEB1, REACHABLE, Some([0; 6])));
        assert!(matches!(
            v.neighbour(3, ip(WEB1)),
            Some(Neighbour::Other { .. })
        ));
        // On another interface: another entry.
        assert_eq!(v.neighbour(4, ip(WEB1)), None);
    }

    #[test]
    fn the_view_changes_only_when_forwarding_could() {
        let mut v = two_segments();
        assert!(v.apply(&neigh(3, WEB1, INCOMPLETE, None)));
        assert!(v.apply(&neigh(3, WEB1, REACHABLE, Some(MAC1))));
        // The states a resolved entry goes through all the time.
        for state in [STALE, DELAY, PROBE, REACHABLE] {
            assert!(!v.apply(&neigh(3, WEB1, state, Some(MAC1))), "{state:#x}");
        }
        assert!(v.apply(&neigh(3, WEB1, REACHABLE, Some(MAC2))), "a new MAC");
        assert!(v.apply(&neigh(3, WEB1, FAILED, None)));
        assert!(v.apply(&neigh_gone(3, WEB1)));
        assert!(!v.apply(&neigh_gone(3, WEB1)));
        assert!(v.apply(&route()));
        assert!(v.apply(&route()), "every route change counts");
    }

    #[test]
    fn a_deleted_interface_takes_its_neighbours() {
        let mut v = two_segments();
        v.apply(&neigh(3, WEB1, REACHABLE, Some(MAC1)));
        assert!(v.apply(&xlvs_netlink::testing::deleted(3)));
        assert_eq!(v.neighbour(3, ip(WEB1)), None);
        assert_eq!(v.interface_for(&["eth1".to_string()], ip(WEB1)), None);
    }

    #[test]
    fn proxies_and_other_families_are_not_neighbours() {
        let mut v = two_segments();
        let mut proxy = neighbour(3, WEB1, PERMANENT, Some(MAC1));
        proxy.header.flags = NeighbourFlags::Proxy;
        assert!(!v.apply(&RouteNetlinkMessage::NewNeighbour(proxy)));
        let mut v6 = neighbour(3, WEB1, REACHABLE, Some(MAC1));
        v6.header.family = AddressFamily::Inet6;
        assert!(!v.apply(&RouteNetlinkMessage::NewNeighbour(v6)));
        assert_eq!(v.neighbour(3, ip(WEB1)), None);
    }
}

#[cfg(test)]
mod route_tests {
    use super::testing::*;
    use super::*;
    use crate::host::routes::testing::main_route;
    use xlvs_netlink::testing::{deleted, link, removed};

    #[test]
    fn the_main_table_gives_the_route_to_a_real() {
        let mut v = two_segments();
        let msg = |m| RouteNetlinkMessage::NewRoute(m);
        assert!(v.apply(&msg(main_route("0.0.0.0", 0, Some("10.0.1.254"), 3))));
        let r = v.route_to("10.0.9.21".parse().unwrap()).unwrap();
        assert_eq!(
            (r.gateway, r.oif),
            (Some("10.0.1.254".parse().unwrap()), Some(3))
        );
        assert!(!v.unreported());
    }

    #[test]
    fn routes_the_kernel_flushes_silently_ask_for_a_new_dump() {
        // A link that stays up, or comes up, flushes nothing.
        let mut v = two_segments();
        v.apply(&link(3, "eth1", 9000, true));
        v.apply(&link(5, "eth3", 1500, true));
        assert!(!v.unreported());
        // Down: its routes are gone from the kernel, unreported.
        v.apply(&link(3, "eth1", 9000, false));
        assert!(v.unreported());
        let mut v = two_segments();
        v.apply(&deleted(4));
        assert!(v.unreported(), "deleted");
        let mut v = two_segments();
        v.apply(&removed(4, "10.0.2.11", 24));
        assert!(v.unreported(), "an address removed");
    }
}
