//! The sync socket: UDP on the cluster interface's address, or on the
//! multicast group joined there.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{Ipv4Addr, SocketAddrV4};
use tokio::net::UdpSocket;
use xlvs_config::Peering;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("sync socket on {addr}: {source}")]
    Io {
        addr: SocketAddrV4,
        source: std::io::Error,
    },
}

/// A socket for sync datagrams from `addr` (the interface's address):
/// bound to it for unicast peers; for a group, bound to the group's port
/// and joined on that interface, sending with TTL 1 (the directors share
/// a segment) and without looping our own datagrams back.
pub fn open(peering: &Peering, addr: Ipv4Addr, port: u16) -> Result<UdpSocket, SocketError> {
    let local = SocketAddrV4::new(addr, port);
    let io = |source| SocketError::Io {
        addr: local,
        source,
    };
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(io)?;
    s.set_nonblocking(true).map_err(io)?;
    // A restarted daemon binds again while the old socket lingers.
    s.set_reuse_address(true).map_err(io)?;
    // A table transfer arrives in a burst: room for a few thousand.
    s.set_recv_buffer_size(8 << 20).map_err(io)?;
    match peering {
        Peering::Peers(_) => s.bind(&local.into()).map_err(io)?,
        Peering::Group(group) => {
            s.bind(&SocketAddrV4::new(*group, port).into())
                .map_err(io)?;
            s.join_multicast_v4(group, &addr).map_err(io)?;
            s.set_multicast_if_v4(&addr).map_err(io)?;
            s.set_multicast_ttl_v4(1).map_err(io)?;
            s.set_multicast_loop_v4(false).map_err(io)?;
        }
    }
    UdpSocket::from_std(s.into()).map_err(io)
}
