//! Messages as the kernel sends them, for unit tests of views (here and
//! in the crates that build on these views).

use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

/// The MAC [`link`] gives every interface.
pub const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

/// RTM_NEWLINK: interface `index` called `name`, up with carrier or only
/// up, with MAC [`MAC`].
pub fn link(index: u32, name: &str, mtu: u32, running: bool) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    if running {
        m.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
    } else {
        m.header.flags = LinkFlags::Up;
    }
    m.attributes.push(LinkAttribute::IfName(name.into()));
    m.attributes.push(LinkAttribute::Mtu(mtu));
    m.attributes.push(LinkAttribute::Address(MAC.to_vec()));
    RouteNetlinkMessage::NewLink(m)
}

/// A [`link`] message with another MAC.
pub fn with_mac(msg: RouteNetlinkMessage, mac: [u8; 6]) -> RouteNetlinkMessage {
    let RouteNetlinkMessage::NewLink(mut m) = msg else {
        panic!("not a link: {msg:?}");
    };
    for a in &mut m.attributes {
        if let LinkAttribute::Address(bytes) = a {
            *bytes = mac.to_vec();
        }
    }
    RouteNetlinkMessage::NewLink(m)
}

/// RTM_DELLINK of interface `index`.
pub fn deleted(index: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    RouteNetlinkMessage::DelLink(m)
}

/// An IPv4 address of interface `index`.
pub fn address(index: u32, local: &str, prefix_len: u8, secondary: bool) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.index = index;
    m.header.prefix_len = prefix_len;
    if secondary {
        m.header.flags = AddressHeaderFlags::Secondary;
    }
    m.attributes
        .push(AddressAttribute::Local(local.parse().expect("an address")));
    m
}

/// RTM_NEWADDR of a primary address.
pub fn added(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewAddress(address(index, local, prefix_len, false))
}

/// RTM_NEWADDR of a secondary address.
pub fn secondary(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewAddress(address(index, local, prefix_len, true))
}

/// RTM_DELADDR.
pub fn removed(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelAddress(address(index, local, prefix_len, false))
}
