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

const RECV_BUFFER: usize = 64 << 20;

/// SO_RCVBUFFORCE: a receive buffer above net.core.rmem_max.
fn force_recv_buffer(s: &Socket, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket, and a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
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
    // A table transfer arrives in a burst faster than entries can be
    // installed: room for a million entries' datagrams (the kernel counts
    // about 2.3 KiB per datagram), beyond net.core.rmem_max since we may
    // (CAP_NET_ADMIN); memory is taken only while datagrams wait.
    force_recv_buffer(&s, RECV_BUFFER)
        .or_else(|_| s.set_recv_buffer_size(RECV_BUFFER))
        .map_err(io)?;
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
