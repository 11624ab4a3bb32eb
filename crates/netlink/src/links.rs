//! The kernel's interfaces and their IPv4 addresses: RTNLGRP_LINK and
//! RTNLGRP_IPV4_IFADDR.

use crate::follow::{apply_dump, NetlinkError, View};
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// The kernel's interfaces, by index, with their IPv4 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    links: BTreeMap<u32, Link>,
    /// IPv4 addresses per interface index, in the order the kernel
    /// reported them.
    addresses: BTreeMap<u32, Vec<Address>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub mtu: u32,
    /// Administratively up and with carrier.
    pub running: bool,
    /// Its Ethernet address; None for interfaces without one (lo reports
    /// zeros, tunnels report other lengths).
    pub mac: Option<[u8; 6]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// A secondary address of its subnet: the primary is the one to use.
    pub secondary: bool,
}

impl View for Links {
    const WHAT: &'static str = "interfaces";
    const GROUPS: &'static [MulticastGroup] = &[MulticastGroup::Link, MulticastGroup::Ipv4Ifaddr];

    /// Every link and IPv4 address.
    async fn dump(handle: &Handle) -> Result<Links, NetlinkError> {
        let mut links = Links::default();
        let answers = handle.link().get().execute();
        apply_dump(&mut links, answers, RouteNetlinkMessage::NewLink).await?;
        let mut request = handle.address().get();
        request.message_mut().header.family = AddressFamily::Inet;
        apply_dump(
            &mut links,
            request.execute(),
            RouteNetlinkMessage::NewAddress,
        )
        .await?;
        Ok(links)
    }

    /// Whole-object messages (the kernel sends a link's or address's full
    /// state each time), so applying them in order ends in the kernel's
    /// state.
    fn apply(&mut self, msg: &RouteNetlinkMessage) -> bool {
        match msg {
            RouteNetlinkMessage::NewLink(m) => self.new_link(m),
            RouteNetlinkMessage::DelLink(m) => {
                let gone = self.links.remove(&m.header.index).is_some();
                self.addresses.remove(&m.header.index).is_some() || gone
            }
            RouteNetlinkMessage::NewAddress(m) => {
                let Some((index, new)) = ipv4(m) else {
                    return false;
                };
                let list = self.addresses.entry(index).or_default();
                match list.iter_mut().find(|a| a.same(&new)) {
                    // Flags change, e.g. a secondary promoted to primary.
                    Some(a) => std::mem::replace(a, new) != new,
                    None => {
                        list.push(new);
                        true
                    }
                }
            }
            RouteNetlinkMessage::DelAddress(m) => {
                let Some((index, gone)) = ipv4(m) else {
                    return false;
                };
                let Some(list) = self.addresses.get_mut(&index) else {
                    return false;
                };
                let before = list.len();
                list.retain(|a| !a.same(&gone));
                list.len() != before
            }
            _ => false,
        }
    }
}

impl Links {
    fn new_link(&mut self, m: &LinkMessage) -> bool {
        let known = self.links.get(&m.header.index);
        let mut name = known.map(|l| l.name.clone());
        let mut mtu = known.map_or(1500, |l| l.mtu);
        let mut mac = known.and_then(|l| l.mac);
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Mtu(m) => mtu = *m,
                LinkAttribute::Address(bytes) => {
                    mac = <[u8; 6]>::try_from(bytes.as_slice())
                        .ok()
                        .filter(|m| *m != [0; 6]);
                }
                _ => {}
            }
        }
        // The kernel names every link it reports; a nameless one cannot
        // be configured anyway.
        let Some(name) = name else { return false };
        let running = m.header.flags.contains(LinkFlags::Up | LinkFlags::Running);
        let new = Link {
            name,
            mtu,
            running,
            mac,
        };
        self.links.insert(m.header.index, new.clone()).as_ref() != Some(&new)
    }

    /// The interface called `name`: its index and state.
    pub fn by_name(&self, name: &str) -> Option<(u32, &Link)> {
        self.links
            .iter()
            .find(|(_, l)| l.name == name)
            .map(|(&index, link)| (index, link))
    }

    /// Interface `index`.
    pub fn get(&self, index: u32) -> Option<&Link> {
        self.links.get(&index)
    }

    /// The IPv4 addresses of interface `index`, in the kernel's order.
    pub fn addresses(&self, index: u32) -> &[Address] {
        self.addresses.get(&index).map_or(&[], Vec::as_slice)
    }

    /// The address to speak from on interface `index`: its first primary
    /// IPv4 address, or its first address if all are secondary.
    pub fn primary(&self, index: u32) -> Option<Address> {
        let list = self.addresses(index);
        list.iter().find(|a| !a.secondary).or(list.first()).copied()
    }
}

impl Address {
    /// The kernel tells addresses apart by address and prefix length.
    fn same(&self, other: &Address) -> bool {
        (self.address, self.prefix_len) == (other.address, other.prefix_len)
    }

    /// Whether `addr` is in this address's subnet.
    pub fn holds(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.address) & mask
    }
}

/// An IPv4 address message's interface index and address; None for other
/// families. A point-to-point peer address is IFA_ADDRESS, ours IFA_LOCAL.
fn ipv4(m: &AddressMessage) -> Option<(u32, Address)> {
    if m.header.family != AddressFamily::Inet {
        return None;
    }
    let v4 = |ip: &IpAddr| match ip {
        IpAddr::V4(a) => Some(*a),
        IpAddr::V6(_) => None,
    };
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => v4(ip),
        _ => None,
    });
    let address = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => v4(ip),
        _ => None,
    });
    Some((
        m.header.index,
        Address {
            address: local.or(address)?,
            prefix_len: m.header.prefix_len,
            secondary: m.header.flags.contains(AddressHeaderFlags::Secondary),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn link_of(links: &Links, name: &str) -> Option<(u32, Link)> {
        links.by_name(name).map(|(i, l)| (i, l.clone()))
    }

    #[test]
    fn carrier_mtu_mac_and_rename_follow_the_link_messages() {
        let mut links = Links::default();
        assert!(links.apply(&link(7, "eth1", 1500, true)));
        let (index, eth1) = link_of(&links, "eth1").unwrap();
        assert_eq!(index, 7);
        assert!(eth1.running);
        assert_eq!(eth1.mac, Some(MAC));
        assert!(links.apply(&link(7, "eth1", 9000, false)));
        let eth1 = link_of(&links, "eth1").unwrap().1;
        assert_eq!((eth1.mtu, eth1.running), (9000, false));
        assert!(links.apply(&with_mac(link(7, "eth1", 9000, false), [2, 0, 0, 0, 0, 9])));
        assert_eq!(
            link_of(&links, "eth1").unwrap().1.mac,
            Some([2, 0, 0, 0, 0, 9])
        );
        // Renamed: the old name is gone.
        assert!(links.apply(&link(7, "uplink", 9000, true)));
        assert_eq!(link_of(&links, "eth1"), None);
        assert_eq!(link_of(&links, "uplink").unwrap().0, 7);
    }

    #[test]
    fn a_message_that_changes_nothing_says_so() {
        let mut links = Links::default();
        assert!(links.apply(&link(7, "eth1", 1500, true)));
        assert!(!links.apply(&link(7, "eth1", 1500, true)));
        assert!(links.apply(&added(7, "10.0.1.11", 24)));
        assert!(!links.apply(&added(7, "10.0.1.11", 24)));
        assert!(links.apply(&removed(7, "10.0.1.11", 24)));
        assert!(!links.apply(&removed(7, "10.0.1.11", 24)));
        assert!(links.apply(&deleted(7)));
        assert!(!links.apply(&deleted(7)));
    }

    #[test]
    fn a_deleted_link_takes_its_addresses_with_it() {
        let mut links = Links::default();
        links.apply(&link(7, "eth1", 1500, true));
        links.apply(&added(7, "10.0.2.1", 31));
        assert_eq!(
            links.primary(7).map(|a| a.address.to_string()),
            Some("10.0.2.1".into())
        );
        links.apply(&deleted(7));
        assert_eq!(links.addresses(7), []);
        // Created again: a new index, and only its own addresses.
        links.apply(&link(12, "eth1", 1500, true));
        assert_eq!(link_of(&links, "eth1").unwrap().0, 12);
        assert_eq!(links.primary(12), None);
    }

    #[test]
    fn the_primary_address_is_chosen_and_a_removed_one_forgotten() {
        let mut links = Links::default();
        let primary = |links: &Links| links.primary(3).map(|a| a.address.to_string());
        links.apply(&link(3, "eth1", 1500, true));
        links.apply(&secondary(3, "10.0.1.99", 24));
        links.apply(&added(3, "10.0.1.11", 24));
        assert_eq!(primary(&links), Some("10.0.1.11".into()));
        assert_eq!(links.addresses(3).len(), 2);
        links.apply(&removed(3, "10.0.1.11", 24));
        // The kernel promotes the secondary: the same address, new flags.
        assert!(links.apply(&added(3, "10.0.1.99", 24)));
        assert_eq!(primary(&links), Some("10.0.1.99".into()));
        links.apply(&removed(3, "10.0.1.99", 24));
        assert_eq!(primary(&links), None);
    }

    #[test]
    fn other_families_and_messages_are_ignored() {
        let mut links = Links::default();
        links.apply(&link(3, "eth1", 1500, true));
        let mut v6 = AddressMessage::default();
        v6.header.family = AddressFamily::Inet6;
        v6.header.index = 3;
        v6.attributes
            .push(AddressAttribute::Address("fe80::1".parse().unwrap()));
        let before = links.clone();
        assert!(!links.apply(&RouteNetlinkMessage::NewAddress(v6)));
        assert_eq!(links, before);
    }

    #[test]
    fn a_point_to_point_address_is_the_local_one() {
        let mut m = address(3, "10.0.2.1", 32, false);
        m.attributes
            .push(AddressAttribute::Address("10.0.2.0".parse().unwrap()));
        assert_eq!(ipv4(&m).unwrap().1.address, Ipv4Addr::new(10, 0, 2, 1));
    }

    #[test]
    fn a_subnet_holds_its_addresses() {
        let a = |s: &str, len| Address {
            address: s.parse().unwrap(),
            prefix_len: len,
            secondary: false,
        };
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert!(a("10.0.1.11", 24).holds(ip("10.0.1.21")));
        assert!(!a("10.0.1.11", 24).holds(ip("10.0.2.21")));
        assert!(a("10.0.2.1", 31).holds(ip("10.0.2.0")));
        assert!(!a("10.0.2.1", 32).holds(ip("10.0.2.0")));
        assert!(a("10.0.2.1", 0).holds(ip("192.0.2.1")));
    }

    /// Needs only a network namespace (any user): the loopback is there.
    #[test]
    fn a_one_off_dump_finds_the_loopback() {
        let links: Links = crate::read_once().unwrap();
        let (index, lo) = links.by_name("lo").unwrap();
        assert_eq!(lo.mac, None);
        assert_eq!(links.primary(index).unwrap().address, Ipv4Addr::LOCALHOST);
    }
}
