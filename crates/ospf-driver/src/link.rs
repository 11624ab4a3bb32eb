//! What OSPF needs of an interface: index, IPv4 address and prefix, MTU,
//! and whether it is up with carrier, from the kernel's links as
//! xlvs-netlink follows them.
//!
//! The driver follows the kernel with `xlvs_netlink::watch::<Links>()`:
//! carrier loss, an interface deleted or created and an address added or
//! removed reach the speaker as the kernel sends them, not at the next
//! poll. [`link_info`] is the same dump, once, for callers that ask about
//! one interface.

use std::net::Ipv4Addr;
use xlvs_netlink::{Links, NetlinkError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub mtu: u16,
    /// Administratively up and with carrier.
    pub running: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("interface {0} has no IPv4 address (OSPF needs one to send Hellos)")]
    NoAddress(String),
    #[error("reading the kernel's interfaces: {0}")]
    Netlink(#[from] NetlinkError),
}

/// What OSPF needs of interface `name`: its primary IPv4 address and the
/// rest.
pub(crate) fn info(links: &Links, name: &str) -> Result<LinkInfo, LinkError> {
    let (index, link) = links
        .by_name(name)
        .ok_or_else(|| LinkError::NoSuchInterface(name.to_string()))?;
    let chosen = links
        .primary(index)
        .ok_or_else(|| LinkError::NoAddress(name.to_string()))?;
    Ok(LinkInfo {
        index,
        address: chosen.address,
        prefix_len: chosen.prefix_len,
        mtu: link.mtu.min(u32::from(u16::MAX)) as u16,
        running: link.running,
    })
}

/// What the kernel says about interface `name` now.
pub fn link_info(name: &str) -> Result<LinkInfo, LinkError> {
    info(&xlvs_netlink::read_once()?, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlvs_netlink::testing::*;
    use xlvs_netlink::View;

    /// What the view says of `name`, its errors in a word for the asserts.
    fn shown(links: &Links, name: &str) -> Result<LinkInfo, &'static str> {
        info(links, name).map_err(|e| match e {
            LinkError::NoSuchInterface(_) => "missing",
            LinkError::NoAddress(_) => "no address",
            LinkError::Netlink(_) => "netlink",
        })
    }

    fn expect(index: u32, address: &str, prefix_len: u8, mtu: u16, running: bool) -> LinkInfo {
        LinkInfo {
            index,
            address: address.parse().unwrap(),
            prefix_len,
            mtu,
            running,
        }
    }

    #[test]
    fn carrier_and_mtu_follow_the_link_messages() {
        let mut links = Links::default();
        links.apply(&link(7, "eth1", 1500, true));
        links.apply(&added(7, "10.0.2.1", 31));
        links.apply(&link(7, "eth1", 9000, false));
        assert_eq!(
            shown(&links, "eth1"),
            Ok(expect(7, "10.0.2.1", 31, 9000, false))
        );
    }

    #[test]
    fn an_interface_needs_to_exist_with_an_ipv4_address_and_a_recreated_one_is_new() {
        let mut links = Links::default();
        assert_eq!(shown(&links, "eth1"), Err("missing"));
        links.apply(&link(7, "eth1", 1500, true));
        assert_eq!(shown(&links, "eth1"), Err("no address"));
        links.apply(&added(7, "10.0.2.1", 31));
        assert_eq!(shown(&links, "eth1").map(|l| l.index), Ok(7));
        links.apply(&deleted(7));
        assert_eq!(shown(&links, "eth1"), Err("missing"));
        links.apply(&link(12, "eth1", 1500, true));
        assert_eq!(shown(&links, "eth1"), Err("no address"));
        links.apply(&added(12, "10.0.2.1", 31));
        assert_eq!(
            shown(&links, "eth1"),
            Ok(expect(12, "10.0.2.1", 31, 1500, true))
        );
    }

    /// Needs only a network namespace (any user): the loopback is there.
    #[test]
    fn a_one_off_dump_finds_the_loopback() {
        let lo = link_info("lo").unwrap();
        assert_eq!(lo.address, Ipv4Addr::LOCALHOST);
        assert_eq!(lo.prefix_len, 8);
        assert!(matches!(
            link_info("no-such-if0"),
            Err(LinkError::NoSuchInterface(_))
        ));
    }
}
