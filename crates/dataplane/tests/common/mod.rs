//! Packets for the fixture tests: Ethernet (optionally 802.1Q), IPv4
//! (optionally with options), TCP or UDP, with valid checksums.

#![allow(dead_code)]

pub mod fib;
pub mod netns;

use std::net::Ipv4Addr;
use xlvs_dataplane::{
    Dataplane, Forward, HashOn, Limits, Protocol, RealSpec, Scheduling, ServiceSpec,
};
use xlvs_maglev::TableSize;

pub const DIRECTOR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
pub const VIP: &str = "192.0.2.10";
pub const CLIENT: &str = "203.0.113.5";

/// The MAC of real 10.0.1.n.
pub fn mac(n: u8) -> [u8; 6] {
    [0x02, 0xaa, 0, 0, 0, n]
}

/// Real server 10.0.1.n (the service's ports) with its MAC.
pub fn real(n: u8, weight: u32) -> RealSpec {
    RealSpec {
        addr: Ipv4Addr::new(10, 0, 1, n),
        port: 0,
        weight,
        mac: mac(n),
    }
}

/// A DR service (id 1) for TCP port 80 of VIP.
pub fn dr_spec(reals: Vec<RealSpec>) -> ServiceSpec {
    ServiceSpec {
        id: 1,
        vip: VIP.parse().unwrap(),
        protocol: Protocol::Tcp,
        ports: vec![80],
        forward: Forward::Dr,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals,
    }
}

/// Sends a segment of CLIENT's flow from `sport` to VIP:80 and returns
/// the real (last MAC byte) it was sent to.
pub fn dr_send(dp: &Dataplane, sport: u16, flags: u8) -> u8 {
    let r = dp
        .run("xlvs", &tcp(CLIENT, sport, VIP, 80, flags).frame(), 1)
        .unwrap();
    assert_eq!(r.action, xlvs_dataplane::XDP_TX, "flow {sport} forwarded");
    r.packet[5]
}

#[derive(Clone)]
pub struct Pkt {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    pub vlan: Option<u16>,
    pub ip_options: Vec<u8>,
    pub frag: u16,
    pub payload: Vec<u8>,
}

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;

pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Pkt {
    Pkt {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        sport,
        dport,
        tcp_flags: flags,
        vlan: None,
        ip_options: Vec::new(),
        frag: 0,
        payload: b"hello".to_vec(),
    }
}

pub fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Pkt {
    Pkt {
        proto: 17,
        tcp_flags: 0,
        ..tcp(src, sport, dst, dport, 0)
    }
}

pub fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Pkt {
    pub fn l4(&self) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&self.sport.to_be_bytes());
        l4.extend_from_slice(&self.dport.to_be_bytes());
        if self.proto == 6 {
            l4.extend_from_slice(&1000u32.to_be_bytes()); // seq
            l4.extend_from_slice(&0u32.to_be_bytes()); // ack
            l4.push(5 << 4);
            l4.push(self.tcp_flags);
            l4.extend_from_slice(&65535u16.to_be_bytes());
            l4.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
        } else {
            l4.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        l4.extend_from_slice(&self.payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&self.src.octets());
        pseudo.extend_from_slice(&self.dst.octets());
        pseudo.push(0);
        pseudo.push(self.proto);
        pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&l4);
        let c = csum(&pseudo);
        let at = if self.proto == 6 { 16 } else { 6 };
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        l4
    }

    pub fn ip(&self) -> Vec<u8> {
        let l4 = self.l4();
        let ihl = 5 + self.ip_options.len() / 4;
        let mut ip = vec![(4 << 4) | ihl as u8, 0];
        ip.extend_from_slice(&((ihl * 4 + l4.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0x12, 0x34]);
        ip.extend_from_slice(&self.frag.to_be_bytes());
        ip.push(64);
        ip.push(self.proto);
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(&self.src.octets());
        ip.extend_from_slice(&self.dst.octets());
        ip.extend_from_slice(&self.ip_options);
        let c = csum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&l4);
        ip
    }

    pub fn frame(&self) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DIRECTOR_MAC);
        f.extend_from_slice(&ROUTER_MAC);
        if let Some(v) = self.vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&self.ip());
        f
    }
}

/// The offset of the IPv4 header in a frame.
pub fn l3_offset(frame: &[u8]) -> usize {
    if frame[12..14] == [0x81, 0x00] {
        18
    } else {
        14
    }
}

/// Whether an IPv4 header's checksum verifies.
pub fn ip_csum_ok(ip: &[u8]) -> bool {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    csum(&ip[..ihl]) == 0
}

pub fn require_root() {
    // SAFETY: no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "XDP tests need root (BPF_PROG_TEST_RUN)"
    );
}

/// Limits small enough for fixtures.
pub fn small_limits() -> Limits {
    Limits {
        services: 8,
        reals: 64,
        conntrack: 4096,
        nat: 4096,
        table_size: TableSize::new(251).unwrap(),
        flow_cache: 1024,
        // (sync tests that fill it ask for a smaller one)
        sync_ring: 1 << 16,
    }
}

/// Keeps the calling thread on one CPU: the flow cache is per CPU, and a
/// test that counts its hits must not move between caches.
pub fn stay_on_one_cpu() {
    // SAFETY: a cpu_set_t we own, for this thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// ipvsadm --set S S S: every timeout `secs` (the flow cache's lifetime
/// follows: half of it, at most a second).
pub fn set_timeouts(dp: &mut Dataplane, secs: u32) {
    let g = dp.globals().unwrap();
    dp.set_globals(xlvs_dataplane::abi::Globals {
        tcp_timeout_s: secs,
        tcpfin_timeout_s: secs,
        udp_timeout_s: secs,
        ..g
    })
    .unwrap();
}

/// The program loaded with `small_limits()`.
pub fn small() -> Dataplane {
    require_root();
    Dataplane::load(small_limits()).expect("load the XDP program")
}

/// A bpf filesystem mounted for one test, unmounted when dropped.
pub struct BpfFs(pub tempfile::TempDir);

impl BpfFs {
    pub fn mount() -> BpfFs {
        let dir = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "bpf", "bpf"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount bpffs");
        BpfFs(dir)
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}
