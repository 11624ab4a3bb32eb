//! One raw IP socket (protocol 89) per OSPF interface: bound to the
//! device, joined to AllSPFRouters, TTL 1, no multicast loopback.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use tokio::io::unix::AsyncFd;

use xlvs_ospf::ALL_SPF_ROUTERS;

pub const OSPF_PROTOCOL: i32 = 89;
/// IP precedence "internetwork control", as routers mark OSPF.
pub(crate) const TOS_INTERNETWORK_CONTROL: u32 = 0xc0;

pub struct OspfSocket {
    fd: AsyncFd<Socket>,
}

/// A received packet: IP source and destination, and the OSPF payload.
pub struct Received {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub payload: Vec<u8>,
}

impl OspfSocket {
    pub fn open(ifname: &str, ifindex: u32, address: Ipv4Addr) -> io::Result<OspfSocket> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(OSPF_PROTOCOL)))?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_multicast_if_v4(&address)?;
        s.set_multicast_loop_v4(false)?;
        s.set_multicast_ttl_v4(1)?;
        s.set_ttl(1)?;
        s.set_tos(TOS_INTERNETWORK_CONTROL)?;
        s.join_multicast_v4_n(
            &ALL_SPF_ROUTERS,
            &socket2::InterfaceIndexOrAddress::Index(ifindex),
        )?;
        // Large LSUs must not be refused for want of buffer space.
        s.set_recv_buffer_size(4 << 20)?;
        s.set_send_buffer_size(4 << 20)?;
        s.set_nonblocking(true)?;
        // SAFETY: the AsyncFd owns the socket, so the descriptor stays open
        // for as long as it is registered.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| e.into_parts().1)?;
        Ok(OspfSocket { fd })
    }

    pub async fn send(&self, dst: Ipv4Addr, bytes: &[u8]) -> io::Result<()> {
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|s| s.get_ref().send_to(bytes, &addr)) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives one packet; raw IPv4 sockets deliver the IP header too.
    pub async fn recv(&self) -> io::Result<Received> {
        let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 65536];
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| s.get_ref().recv(&mut buf)) {
                Ok(Ok(n)) => {
                    // SAFETY: recv initialized the first n bytes.
                    let data: Vec<u8> = buf[..n]
                        .iter()
                        .map(|b| unsafe { b.assume_init() })
                        .collect();
                    if let Some(r) = split_ip(&data) {
                        return Ok(r);
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Splits an IPv4 packet into addresses and payload; None if malformed.
fn split_ip(data: &[u8]) -> Option<Received> {
    let ihl = usize::from(*data.first()? & 0x0f) * 4;
    if data[0] >> 4 != 4 || ihl < 20 || data.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    // Linux reports the total length as sent; trust the buffer if shorter.
    let end = total.clamp(ihl, data.len());
    let addr = |at: usize| Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3]);
    Some(Received {
        src: addr(12),
        dst: addr(16),
        payload: data[ihl..end].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_header_with_options_is_skipped() {
        let mut p = vec![
            0x46, 0, 0, 30, 0, 0, 0, 0, 1, 89, 0, 0, 10, 0, 0, 1, 224, 0, 0, 5,
        ];
        p.extend_from_slice(&[0x94, 4, 0, 0]); // router alert option
        p.extend_from_slice(&[2, 1, 0, 0, 0, 0]);
        let r = split_ip(&p).unwrap();
        assert_eq!(r.src, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r.dst, ALL_SPF_ROUTERS);
        assert_eq!(r.payload, [2, 1, 0, 0, 0, 0]);
        assert!(split_ip(&p[..10]).is_none());
        assert!(split_ip(&[0x45]).is_none());
    }
}
