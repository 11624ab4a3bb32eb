//! BFD's sockets (RFC 5881): one receiving socket on UDP 3784 for all our
//! addresses, which reports each datagram's TTL and destination address;
//! one sending socket per session, bound to its interface, local address
//! and source port, sending with TTL 255.
//!
//! The receiving socket does not set IP_MINTTL 255: the kernel would drop
//! a packet with a lower TTL unseen, and the core counts it as `ttl` so an
//! operator sees a misconfigured or spoofing peer in `xlvsadm bfd`. The
//! check is the same one, made in the core (RFC 5881 section 5).

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;
use xlvs_bfd::{CONTROL_PORT, TTL};

use crate::socket::TOS_INTERNETWORK_CONTROL;

/// Room for any Control packet and then some: bytes past the length field
/// are ignored, a longer datagram is cut.
const BUFFER: usize = 2048;

/// A datagram received on port 3784.
#[derive(Debug)]
pub struct Datagram {
    pub from: Ipv4Addr,
    pub to: Ipv4Addr,
    /// 0 if the kernel did not say (it always does with IP_RECVTTL): the
    /// core drops it as a TTL below 255.
    pub ttl: u8,
    pub payload: Vec<u8>,
}

pub struct BfdReceiver {
    fd: AsyncFd<Socket>,
}

impl BfdReceiver {
    pub fn open() -> io::Result<BfdReceiver> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        set_flag(&s, libc::IP_RECVTTL)?;
        set_flag(&s, libc::IP_PKTINFO)?;
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CONTROL_PORT);
        s.bind(&SockAddr::from(any))?;
        s.set_nonblocking(true)?;
        // SAFETY: the AsyncFd owns the socket, so the descriptor stays open
        // for as long as it is registered.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| e.into_parts().1)?;
        Ok(BfdReceiver { fd })
    }

    pub async fn recv(&self) -> io::Result<Datagram> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_with_ttl(s.get_ref())) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn set_flag(s: &Socket, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid descriptor and an int option of the right size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IP,
            option,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One recvmsg: the payload, the source, and from the control messages
/// the TTL (IP_RECVTTL) and the destination address (IP_PKTINFO).
fn recv_with_ttl(s: &Socket) -> io::Result<Datagram> {
    let mut buf = vec![0u8; BUFFER];
    // u64s: control messages must be aligned.
    let mut control = [0u64; 16];
    // SAFETY: all-zero is a valid sockaddr_in and msghdr.
    let mut source: libc::sockaddr_in = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_name = (&mut source as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in msg points into live buffers of the sizes
    // given.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    let mut ttl = 0u8;
    let mut to = Ipv4Addr::UNSPECIFIED;
    // SAFETY: the CMSG macros walk the control buffer recvmsg filled, and
    // each payload is read unaligned with the type its (level, type) has.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_TTL) => {
                    let v = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                    ttl = u8::try_from(v).unwrap_or(0);
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                    to = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Datagram {
        from: Ipv4Addr::from(u32::from_be(source.sin_addr.s_addr)),
        to,
        ttl,
        payload: buf,
    })
}

/// A session's sending socket: its source port is fixed for the session
/// (RFC 5881 section 4), and it leaves by the neighbor's interface.
pub struct BfdSender {
    socket: UdpSocket,
}

impl BfdSender {
    pub fn open(ifname: &str, local: Ipv4Addr, src_port: u16) -> io::Result<BfdSender> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_ttl(u32::from(TTL))?;
        s.set_tos(TOS_INTERNETWORK_CONTROL)?;
        s.bind(&SockAddr::from(SocketAddrV4::new(local, src_port)))?;
        // A full send buffer drops a packet (counted by the caller) rather
        // than holding up the loop: the next one follows within an interval.
        s.set_nonblocking(true)?;
        Ok(BfdSender { socket: s.into() })
    }

    pub fn send(&self, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
        self.socket.send_to(bytes, to).map(|_| ())
    }
}
