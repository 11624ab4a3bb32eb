//! What the kernel says about an interface: index, IPv4 address and
//! prefix, MTU, and whether it is up with carrier.

use nix::ifaddrs::getifaddrs;
use nix::net::if_::{if_nametoindex, InterfaceFlags};
use std::net::Ipv4Addr;

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
    #[error("reading interface {name}: {source}")]
    Io {
        name: String,
        source: std::io::Error,
    },
}

pub fn link_info(name: &str) -> Result<LinkInfo, LinkError> {
    let index = if_nametoindex(name).map_err(|_| LinkError::NoSuchInterface(name.to_string()))?;
    let addrs = getifaddrs().map_err(|e| LinkError::Io {
        name: name.to_string(),
        source: e.into(),
    })?;
    let mut found = None;
    let mut running = false;
    for a in addrs.filter(|a| a.interface_name == name) {
        running = a
            .flags
            .contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING);
        let v4 = a
            .address
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|s| s.ip());
        let mask = a
            .netmask
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|s| s.ip());
        if let (Some(addr), Some(mask), None) = (v4, mask, found) {
            found = Some((addr, u32::from(mask).count_ones() as u8));
        }
    }
    let (address, prefix_len) = found.ok_or_else(|| LinkError::NoAddress(name.to_string()))?;
    let mtu_path = format!("/sys/class/net/{name}/mtu");
    let mtu = std::fs::read_to_string(&mtu_path)
        .map_err(|e| LinkError::Io {
            name: name.to_string(),
            source: e,
        })?
        .trim()
        .parse::<u32>()
        .unwrap_or(1500)
        .min(u32::from(u16::MAX)) as u16;
    Ok(LinkInfo {
        index,
        address,
        prefix_len,
        mtu,
        running,
    })
}
