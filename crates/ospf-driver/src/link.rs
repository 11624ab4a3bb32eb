//! What the kernel says about interfaces: index, IPv4 address and prefix,
//! MTU, and whether they are up with carrier, read over rtnetlink.
//!
//! The driver follows the kernel with [`watch`]: one dump of the links
//! and IPv4 addresses, then the kernel's events for both (RTNLGRP_LINK,
//! RTNLGRP_IPV4_IFADDR), applied to a [`Links`] view. Carrier loss, an
//! interface deleted or created and an address added or removed reach the
//! speaker as the kernel sends them, not at the next poll. [`link_info`]
//! is the same dump, once, for callers that ask about one interface.

use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::sync::watch;

/// How long to wait before opening a new netlink socket when the last
/// one failed (or the kernel dropped events): long enough not to spin on
/// a lasting failure, short for a link event.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

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

/// Why the kernel's links could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("netlink dump failed: {0}")]
    Dump(#[source] rtnetlink::Error),
    #[error("the netlink socket closed")]
    Closed,
    #[error("the kernel dropped netlink events (socket buffer full)")]
    Overrun,
}

/// The kernel's interfaces as a dump and the events since left them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Links {
    links: BTreeMap<u32, Link>,
    /// IPv4 addresses per interface index, in the order the kernel
    /// reported them.
    addresses: BTreeMap<u32, Vec<Address>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    name: String,
    mtu: u32,
    running: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Address {
    address: Ipv4Addr,
    prefix_len: u8,
    /// A secondary address of its subnet: the primary is the one to use.
    secondary: bool,
}

impl Links {
    /// Applies one message, from a dump or an event. Whole-object
    /// messages (the kernel sends a link's or address's full state each
    /// time), so applying them in order ends in the kernel's state.
    /// Returns whether it was about links or IPv4 addresses at all.
    pub fn apply(&mut self, msg: &RouteNetlinkMessage) -> bool {
        match msg {
            RouteNetlinkMessage::NewLink(m) => self.new_link(m),
            RouteNetlinkMessage::DelLink(m) => {
                self.links.remove(&m.header.index);
                self.addresses.remove(&m.header.index);
            }
            RouteNetlinkMessage::NewAddress(m) => {
                let Some((index, new)) = ipv4(m) else {
                    return false;
                };
                let list = self.addresses.entry(index).or_default();
                match list.iter_mut().find(|a| a.same(&new)) {
                    // Flags change, e.g. a secondary promoted to primary.
                    Some(a) => *a = new,
                    None => list.push(new),
                }
            }
            RouteNetlinkMessage::DelAddress(m) => {
                let Some((index, gone)) = ipv4(m) else {
                    return false;
                };
                if let Some(list) = self.addresses.get_mut(&index) {
                    list.retain(|a| !a.same(&gone));
                }
            }
            _ => return false,
        }
        true
    }

    fn new_link(&mut self, m: &LinkMessage) {
        let known = self.links.get(&m.header.index);
        let mut name = known.map(|l| l.name.clone());
        let mut mtu = known.map_or(1500, |l| l.mtu);
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Mtu(m) => mtu = *m,
                _ => {}
            }
        }
        // The kernel names every link it reports; a nameless one cannot
        // be configured anyway.
        let Some(name) = name else { return };
        let running = m.header.flags.contains(LinkFlags::Up | LinkFlags::Running);
        self.links
            .insert(m.header.index, Link { name, mtu, running });
    }

    /// What OSPF needs of interface `name`: its first primary IPv4
    /// address (or first address, if all are secondary) and the rest.
    pub fn info(&self, name: &str) -> Result<LinkInfo, LinkError> {
        let (&index, link) = self
            .links
            .iter()
            .find(|(_, l)| l.name == name)
            .ok_or_else(|| LinkError::NoSuchInterface(name.to_string()))?;
        let list = self.addresses.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        let chosen = list
            .iter()
            .find(|a| !a.secondary)
            .or(list.first())
            .ok_or_else(|| LinkError::NoAddress(name.to_string()))?;
        Ok(LinkInfo {
            index,
            address: chosen.address,
            prefix_len: chosen.prefix_len,
            mtu: link.mtu.min(u32::from(u16::MAX)) as u16,
            running: link.running,
        })
    }
}

impl Address {
    /// The kernel tells addresses apart by address and prefix length.
    fn same(&self, other: &Address) -> bool {
        (self.address, self.prefix_len) == (other.address, other.prefix_len)
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

/// Every link and IPv4 address, asked over `handle`.
async fn dump(handle: &Handle) -> Result<Links, NetlinkError> {
    let mut links = Links::default();
    let mut answers = handle.link().get().execute();
    while let Some(m) = answers.try_next().await.map_err(NetlinkError::Dump)? {
        links.apply(&RouteNetlinkMessage::NewLink(m));
    }
    let mut request = handle.address().get();
    request.message_mut().header.family = AddressFamily::Inet;
    let mut answers = request.execute();
    while let Some(m) = answers.try_next().await.map_err(NetlinkError::Dump)? {
        links.apply(&RouteNetlinkMessage::NewAddress(m));
    }
    Ok(links)
}

/// A one-off dump for synchronous callers. They may run inside a tokio
/// runtime (xlvsd's reload check does), where starting another runtime on
/// the same thread panics: the dump gets a thread and a runtime of its own.
fn read_once() -> Result<Links, NetlinkError> {
    let once = || -> Result<Links, NetlinkError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(NetlinkError::Socket)?;
        runtime.block_on(async {
            let (connection, handle, _) =
                rtnetlink::new_connection().map_err(NetlinkError::Socket)?;
            let connection = tokio::spawn(connection);
            let links = dump(&handle).await;
            connection.abort();
            links
        })
    };
    std::thread::scope(|s| {
        s.spawn(once)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// What the kernel says about interface `name` now.
pub fn link_info(name: &str) -> Result<LinkInfo, LinkError> {
    read_once()?.info(name)
}

/// Follows the kernel's links in a task of the current runtime. The view
/// is None until the first dump is in; the task ends when the receiver is
/// dropped.
pub(crate) fn watch() -> watch::Receiver<Option<Links>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(follow(tx));
    rx
}

async fn follow(view: watch::Sender<Option<Links>>) {
    loop {
        match follow_one_socket(&view).await {
            Ok(()) => return,
            Err(e) => {
                // The view stays as it was until the next dump replaces it.
                tracing::warn!(error = %e, "netlink: reading the kernel's interfaces again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_DELAY) => {}
            _ = view.closed() => return,
        }
    }
}

/// One netlink socket's life: subscribe, dump, then apply events until
/// the socket fails (Err) or nobody reads the view any more (Ok).
async fn follow_one_socket(view: &watch::Sender<Option<Links>>) -> Result<(), NetlinkError> {
    // Subscribed before the dump: events that come during it wait in the
    // channel and are applied after it. They carry whole states, in
    // order, so the view ends where the kernel is.
    let (connection, handle, mut events) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link, MulticastGroup::Ipv4Ifaddr])
            .map_err(NetlinkError::Socket)?;
    let _reader = AbortOnDrop(tokio::spawn(connection));
    let links = dump(&handle).await?;
    let first = view.borrow().is_none();
    view.send_replace(Some(links));
    if !first {
        tracing::info!("netlink: the kernel's interfaces read again");
    }
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = view.closed() => return Ok(()),
        };
        let Some((message, _)) = event else {
            return Err(NetlinkError::Closed);
        };
        match message.payload {
            NetlinkPayload::InnerMessage(m) => {
                view.send_if_modified(|v| v.as_mut().is_some_and(|links| links.apply(&m)));
            }
            // Events were lost: only a new dump tells what they said.
            NetlinkPayload::Overrun(_) => return Err(NetlinkError::Overrun),
            _ => {}
        }
    }
}

/// The task reading the netlink socket, stopped with the socket's user.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, mtu: u32, running: bool) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        if running {
            m.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
        } else {
            m.header.flags = LinkFlags::Up;
        }
        m.attributes.push(LinkAttribute::IfName(name.into()));
        m.attributes.push(LinkAttribute::Mtu(mtu));
        RouteNetlinkMessage::NewLink(m)
    }

    fn address(index: u32, local: &str, prefix_len: u8, secondary: bool) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.index = index;
        m.header.prefix_len = prefix_len;
        if secondary {
            m.header.flags = AddressHeaderFlags::Secondary;
        }
        m.attributes
            .push(AddressAttribute::Local(local.parse().unwrap()));
        m
    }

    fn added(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewAddress(address(index, local, prefix_len, false))
    }

    fn secondary(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::NewAddress(address(index, local, prefix_len, true))
    }

    fn removed(index: u32, local: &str, prefix_len: u8) -> RouteNetlinkMessage {
        RouteNetlinkMessage::DelAddress(address(index, local, prefix_len, false))
    }

    /// What the view says of `name`, its errors in a word for the asserts.
    fn shown(links: &Links, name: &str) -> Result<LinkInfo, &'static str> {
        links.info(name).map_err(|e| match e {
            LinkError::NoSuchInterface(_) => "missing",
            LinkError::NoAddress(_) => "no address",
            LinkError::Netlink(_) => "netlink",
        })
    }

    fn info(index: u32, address: &str, prefix_len: u8, mtu: u16, running: bool) -> LinkInfo {
        LinkInfo {
            index,
            address: address.parse().unwrap(),
            prefix_len,
            mtu,
            running,
        }
    }

    #[test]
    fn carrier_mtu_and_rename_follow_the_link_messages() {
        let mut links = Links::default();
        links.apply(&link(7, "eth1", 1500, true));
        links.apply(&added(7, "10.0.2.1", 31));
        links.apply(&link(7, "eth1", 9000, false));
        assert_eq!(
            shown(&links, "eth1"),
            Ok(info(7, "10.0.2.1", 31, 9000, false))
        );
        // Renamed: the old name is gone, the address stays with the index.
        links.apply(&link(7, "uplink", 9000, true));
        assert_eq!(shown(&links, "eth1"), Err("missing"));
        assert_eq!(
            links.info("uplink").unwrap().address,
            Ipv4Addr::new(10, 0, 2, 1)
        );
    }

    #[test]
    fn an_interface_needs_to_exist_with_an_ipv4_address_and_a_recreated_one_is_new() {
        let mut links = Links::default();
        assert_eq!(shown(&links, "eth1"), Err("missing"));
        assert!(links.apply(&link(7, "eth1", 1500, true)));
        assert_eq!(shown(&links, "eth1"), Err("no address"));
        links.apply(&added(7, "10.0.2.1", 31));
        assert_eq!(shown(&links, "eth1").map(|l| l.index), Ok(7));
        // Deleted and created again: a new index, and only its own
        // addresses.
        let mut gone = LinkMessage::default();
        gone.header.index = 7;
        links.apply(&RouteNetlinkMessage::DelLink(gone));
        assert_eq!(shown(&links, "eth1"), Err("missing"));
        links.apply(&link(12, "eth1", 1500, true));
        assert_eq!(shown(&links, "eth1"), Err("no address"));
        links.apply(&added(12, "10.0.2.1", 31));
        assert_eq!(
            shown(&links, "eth1"),
            Ok(info(12, "10.0.2.1", 31, 1500, true))
        );
    }

    #[test]
    fn the_primary_address_is_chosen_and_a_removed_one_forgotten() {
        let mut links = Links::default();
        let eth1 = |links: &Links| shown(links, "eth1").map(|l| l.address.to_string());
        links.apply(&link(3, "eth1", 1500, true));
        links.apply(&secondary(3, "10.0.1.99", 24));
        links.apply(&added(3, "10.0.1.11", 24));
        assert_eq!(eth1(&links), Ok("10.0.1.11".into()));
        links.apply(&removed(3, "10.0.1.11", 24));
        // The kernel promotes the secondary: the same address, new flags.
        links.apply(&added(3, "10.0.1.99", 24));
        assert_eq!(eth1(&links), Ok("10.0.1.99".into()));
        links.apply(&removed(3, "10.0.1.99", 24));
        assert_eq!(eth1(&links), Err("no address"));
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
