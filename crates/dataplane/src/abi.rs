//! Map keys and values, byte for byte as bpf/structs.h and bpf/consts.h
//! define them (the size checks below fail the build if they drift).
//! Addresses and ports are in network byte order, as in packets.

use aya::Pod;
use std::net::{Ipv4Addr, SocketAddrV4};

pub const FWD_DR: u8 = 1;
pub const FWD_TUN: u8 = 2;
pub const FWD_FULLNAT: u8 = 3;
pub const FWD_NAT: u8 = 4;

pub const SVC_F_HASH_SRC: u8 = 1;
pub const SVC_F_HASH_DST: u8 = 2;
/// XDP keeps `real_load` up to date for the service's new and closing
/// entries (a connection-count or locality scheduler).
pub const SVC_F_COUNTS: u8 = 4;
/// Persistence templates (a non-hash scheduler with ipvsadm -p).
pub const SVC_F_PERSIST: u8 = 8;
/// FULLNAT: the client's address in a TCP option (bpf/toa.h).
pub const SVC_F_TOA: u8 = 16;
/// FULLNAT TCP: a PROXY protocol v1 header before the client's data
/// (bpf/proxy.h).
pub const SVC_F_PROXY_V1: u8 = 32;
/// FULLNAT TCP: a PROXY protocol v2 header.
pub const SVC_F_PROXY_V2: u8 = 64;
pub const NO_REAL: u32 = u32::MAX;

/// svc_val.sched: how a new flow's real is chosen (bpf/consts.h SCHED_*).
pub const SCHED_MAGLEV: u8 = 0;
pub const SCHED_SEQ: u8 = 1;
pub const SCHED_LC: u8 = 2;
pub const SCHED_WLC: u8 = 3;
pub const SCHED_SED: u8 = 4;
pub const SCHED_NQ: u8 = 5;
pub const SCHED_OVF: u8 = 6;
pub const SCHED_TWOS: u8 = 7;
pub const SCHED_LBLC: u8 = 8;
pub const SCHED_LBLCR: u8 = 9;
/// Reals in a service's destination list.
pub const MAX_DESTS: usize = 256;
/// lblcr: reals kept per destination address.
pub const LBLCR_SET: usize = 8;

/// Global counters, indexed as `enum stat` in bpf/consts.h.
pub const STAT_NAMES: &[&str] = &[
    "pass_not_ipv4",
    "pass_not_vip",
    "pass_fragment",
    "pass_icmp",
    "pass_malformed",
    "pass_no_neigh",
    "drop_no_real",
    "drop_no_route",
    "drop_encap",
    "conntrack_hit",
    "conntrack_new",
    "tx_dr",
    "tx_tun",
    "redirect_tun",
    "pass_not_ours",
    "tx_fullnat",
    "redirect_fullnat",
    "tx_nat",
    "redirect_nat",
    "tx_reply",
    "redirect_reply",
    "drop_no_local_port",
    "icmp_to_real",
    "icmp_to_client",
    "drop_nat_unknown",
    "drop_too_big",
    "flow_cache_hit",
    "syn_untracked",
    "sync_ring_full",
    "toa_added",
    "toa_skipped",
    "proxy_headers",
    "proxy_header_alone",
    "proxy_dropped",
    "next_hop_hit",
    "next_hop_fallback",
];

/// globals.flags: some service uses NAT or FULLNAT (replies are looked for).
pub const G_F_NAT: u32 = 1;
/// globals.flags: some service sends TOA options (bpf/toa.h).
pub const G_F_TOA: u32 = 16;
/// globals.flags: some service sends a PROXY protocol header (bpf/proxy.h).
pub const G_F_PROXY: u32 = 32;
/// globals.flags: some service takes every port (port 0 is looked up too).
pub const G_F_PORT0: u32 = 2;
/// globals.flags: the flow cache is on (set by the loader).
pub const G_F_FLOW_CACHE: u32 = 4;
/// globals.flags: `addr_bits` holds every VIP and FULLNAT local address,
/// so packets to none of them pass at once (bpf/addrs.h). Kept by the
/// loader (src/addrs.rs).
pub const G_F_ADDRS: u32 = 64;
/// globals.flags: some NAT service has reals (in `addr_bits`): packets
/// from them are looked at too (their replies go to clients).
pub const G_F_NAT_REALS: u32 = 128;
/// `addr_bits`: 64-bit words, two halves (destinations, NAT reals).
pub const ADDR_WORDS: u32 = 1024;
/// globals.flags: connection entries are reported in the `sync_events`
/// ring (bpf/sync.h). Off unless the daemon sets it.
pub const G_F_SYNC: u32 = 8;
/// globals.flags: TUN, NAT and FULLNAT take a real's next hop from the
/// `next_hops` map when its entry is usable, instead of asking the FIB
/// (bpf/fib.h). Set by the daemon (`next_hop_cache` in the config).
pub const G_F_NEXT_HOP: u32 = 1 << 8;
/// Entries of the `local_addrs` map (FULLNAT local addresses).
pub const MAX_LOCAL_ADDRS: usize = 64;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SvcKey {
    pub vip: [u8; 4],
    pub port: [u8; 2],
    pub proto: u8,
    pub pad: u8,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SvcVal {
    pub id: u32,
    pub forward: u8,
    pub flags: u8,
    /// SCHED_*
    pub sched: u8,
    /// With SVC_F_TOA: the TCP option kind.
    pub toa_kind: u8,
    /// Maglev: the table size M; SCHED_SEQ: the sequence's length.
    pub table_size: u32,
    /// With SVC_F_HASH_SRC or SVC_F_PERSIST: the client address mask
    /// (ipvsadm -M).
    pub src_mask: [u8; 4],
    /// With SVC_F_PERSIST: seconds a template lives after the last packet
    /// of a flow it placed (ipvsadm -p).
    pub persist_s: u32,
    /// lblc, lblcr: seconds after which a destination's reals are
    /// forgotten unused (lblcr: its most loaded is dropped unchanged).
    pub locality_s: u32,
}

/// A real of a service's destination list (`sched_dests`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedDest {
    pub real: u32,
    pub weight: u32,
}

/// The reals a connection-count or locality scheduler chooses from, in
/// config order, weight > 0 only.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedDests {
    pub count: u32,
    /// The sum of their weights.
    pub total: u32,
    pub dest: [SchedDest; MAX_DESTS],
}

impl Default for SchedDests {
    fn default() -> SchedDests {
        SchedDests {
            count: 0,
            total: 0,
            dest: [SchedDest::default(); MAX_DESTS],
        }
    }
}

/// A real's connections (`real_load`): the daemon's recount, moved by XDP
/// since. XDP reads them as signed (a decrement may cross a recount).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RealLoad {
    pub active: u32,
    pub inactive: u32,
}

/// A persistence template's key: the service and the masked client.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TmplKey {
    pub svc: u32,
    pub client: [u8; 4],
}

/// A persistence template: the real a client's new flows go to.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tmpl {
    /// Jiffies of the last packet of a flow it placed.
    pub last: u64,
    /// The real's slot here.
    pub real: u32,
    /// The real by address and port (as a peer would name it).
    pub real_addr: [u8; 4],
    /// As configured (0: the client's destination port).
    pub real_port: [u8; 2],
    pub pad: [u8; 2],
    /// The director that made it; 0 = this one (a peer's is installed by
    /// `Dataplane::install_peer_template`).
    pub owner: [u8; 4],
    /// Jiffies (low 32 bits) when last reported to the peers.
    pub synced: u32,
    pub pad2: u32,
}

impl Tmpl {
    /// The director that made it, or None if this one did.
    pub fn owner(&self) -> Option<Ipv4Addr> {
        (self.owner != [0; 4]).then(|| Ipv4Addr::from(self.owner))
    }
}

/// lblc, lblcr: a destination address of a service...
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DstKey {
    pub svc: u32,
    pub dst: [u8; 4],
}

/// ...and the real(s) that serve it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DstReals {
    /// Jiffies of its last use.
    pub last: u64,
    /// lblcr: jiffies of the set's last change.
    pub changed: u64,
    pub count: u32,
    pub real: [u32; LBLCR_SET],
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Real {
    pub addr: [u8; 4],
    pub port: [u8; 2],
    pub mac: [u8; 6],
    /// Non-zero while the real is in use; conntrack entries pointing to a
    /// real with 0 here are scheduled again.
    pub flags: u8,
    pub pad: u8,
    /// The service it belongs to (lets a restarted daemon find its slots).
    pub svc: u16,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Globals {
    /// TUN outer source; the bits in `tun_src_hostmask` vary per flow.
    pub tun_src: [u8; 4],
    pub tcp_timeout_s: u32,
    pub tcpfin_timeout_s: u32,
    pub udp_timeout_s: u32,
    /// G_F_*
    pub flags: u32,
    /// FULLNAT local addresses in use in `local_addrs`.
    pub laddr_count: u32,
    pub tun_src_hostmask: [u8; 4],
    /// Jiffies per second (the kernel's HZ), set by the loader.
    pub hz: u32,
    /// Bumped by the loader on every change of services, reals or
    /// globals: flow cache entries stored under another value are stale.
    pub gen: u32,
    /// Flow cache entries per CPU - 1 (set by the loader).
    pub flow_cache_mask: u32,
    /// How long, in jiffies, a flow cache entry is used (set by the loader).
    pub flow_cache_ticks: u32,
    /// SYN flood guard: connection entries per second and CPU made for
    /// DR and TUN SYNs; SYNs beyond it are forwarded without one. 0: no
    /// limit.
    pub syn_flood_threshold: u32,
    /// With G_F_SYNC: a known flow's entry is reported again (REFRESH)
    /// this many jiffies after its last report. 0 when set: a third of the
    /// shortest timeout (`Dataplane::set_globals`).
    pub sync_refresh_ticks: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    /// From clients.
    pub packets: u64,
    pub bytes: u64,
    pub conns: u64,
    /// NAT and FULLNAT: replies from reals (DR and TUN replies bypass us).
    pub packets_out: u64,
    pub bytes_out: u64,
}

/// A flow as the client sends it (the connection table's key).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: [u8; 2],
    pub dport: [u8; 2],
    pub proto: u8,
    pub pad: [u8; 3],
}

pub const CT_ACTIVE: u8 = 1;
pub const CT_CLOSING: u8 = 2;

/// conn.flags: the entry was installed from a peer director's report.
pub const CONN_F_PEER: u8 = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Conn {
    /// The real's slot in this director's `reals` map.
    pub real: u32,
    /// This director's service id.
    pub svc: u32,
    /// Jiffies (bpf_jiffies64) of the last packet: see `Dataplane::clock`.
    pub last: u64,
    /// CT_*
    pub state: u8,
    /// CONN_F_*
    pub flags: u8,
    /// FULLNAT: the local port and address towards the real.
    pub nat_port: [u8; 2],
    pub nat_addr: [u8; 4],
    /// The director that made the entry; 0 = this one.
    pub owner: [u8; 4],
    /// Jiffies (low 32 bits) when the entry was last reported for sync.
    pub synced: u32,
}

impl Conn {
    /// The director that made the entry, or None if this one did.
    pub fn owner(&self) -> Option<Ipv4Addr> {
        (self.owner != [0; 4]).then(|| Ipv4Addr::from(self.owner))
    }

    /// Whether the entry was installed from a peer's report.
    pub fn is_peer(&self) -> bool {
        self.flags & CONN_F_PEER != 0
    }
}

/// nat_back.proxy_flags, sync_event.proxy_flags: the real has
/// acknowledged the PROXY header (no packet carries it any more).
pub const PROXY_F_ACKED: u8 = 1;
/// nat_back.proxy_flags: a segment with the PROXY header went out from
/// this director (a first segment too long to grow then goes shifted,
/// not as the header alone). Not synced.
pub const PROXY_F_SENT: u8 = 2;

pub const SYNC_OP_NEW: u8 = 1;
pub const SYNC_OP_REFRESH: u8 = 2;
pub const SYNC_OP_CLOSING: u8 = 3;
pub const SYNC_OP_TEMPLATE: u8 = 4;

/// Why a connection entry was reported (`SyncEvent::op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncOp {
    /// An entry was written: a flow's first packet here (a SYN, a UDP
    /// flow's first datagram, a flow that moved here without an entry).
    New,
    /// A packet of a known flow, `sync_refresh_ticks` after its last report.
    Refresh,
    /// The entry turned CT_CLOSING (a FIN or an RST); reported once.
    Closing,
    /// A persistence template was made, or refreshed by a flow it placed
    /// (`sync_refresh_ticks` after its last report): `key.src` is the
    /// masked client, `key.sport` 0, `real_port` as configured.
    Template,
}

impl SyncOp {
    pub fn from_raw(op: u8) -> Option<SyncOp> {
        match op {
            SYNC_OP_NEW => Some(SyncOp::New),
            SYNC_OP_REFRESH => Some(SyncOp::Refresh),
            SYNC_OP_CLOSING => Some(SyncOp::Closing),
            SYNC_OP_TEMPLATE => Some(SyncOp::Template),
            _ => None,
        }
    }

    pub fn raw(self) -> u8 {
        match self {
            SyncOp::New => SYNC_OP_NEW,
            SyncOp::Refresh => SYNC_OP_REFRESH,
            SyncOp::Closing => SYNC_OP_CLOSING,
            SyncOp::Template => SYNC_OP_TEMPLATE,
        }
    }
}

/// A connection entry reported for the cluster's other directors (a
/// record of the `sync_events` ring): in addresses, not this director's
/// slots and ids.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncEvent {
    /// The flow as the client sends it (dst and dport: the VIP's).
    pub key: FlowKey,
    pub real_addr: [u8; 4],
    /// FULLNAT: the local address towards the real (0 otherwise).
    pub nat_addr: [u8; 4],
    /// The director that made the entry; 0 = this one.
    pub owner: [u8; 4],
    /// The real's port (the client's destination port where the real has
    /// none: never 0).
    pub real_port: [u8; 2],
    /// FULLNAT: the local port towards the real (0 otherwise).
    pub nat_port: [u8; 2],
    /// FWD_*
    pub forward: u8,
    /// CT_*
    pub state: u8,
    /// SYNC_OP_*
    pub op: u8,
    /// The entry's CONN_F_*.
    pub flags: u8,
    /// PROXY protocol flows (`proxy_len` > 0): the client's sequence
    /// number after its SYN, host order.
    pub proxy_seq: u32,
    /// PROXY protocol flows: the header's length (the sequence shift);
    /// 0 for other flows.
    pub proxy_len: u8,
    /// PROXY_F_*
    pub proxy_flags: u8,
    pub pad: [u8; 2],
}

impl SyncEvent {
    pub fn op(&self) -> Option<SyncOp> {
        SyncOp::from_raw(self.op)
    }

    /// The director that made the entry, or None if this one did.
    pub fn owner(&self) -> Option<Ipv4Addr> {
        (self.owner != [0; 4]).then(|| Ipv4Addr::from(self.owner))
    }

    pub fn real(&self) -> SocketAddrV4 {
        SocketAddrV4::new(
            Ipv4Addr::from(self.real_addr),
            u16::from_be_bytes(self.real_port),
        )
    }

    /// FULLNAT PROXY protocol flows: the sequence shift a peer taking
    /// the flow over applies (`PeerEntry::proxy`).
    pub fn proxy(&self) -> Option<crate::ProxyShift> {
        crate::ProxyShift::of_event(self)
    }

    /// FULLNAT: the local address and port towards the real.
    pub fn nat(&self) -> Option<SocketAddrV4> {
        (self.nat_port != [0; 2]).then(|| {
            SocketAddrV4::new(
                Ipv4Addr::from(self.nat_addr),
                u16::from_be_bytes(self.nat_port),
            )
        })
    }
}

/// NAT and FULLNAT: how a reply from a real goes back to the client (the
/// value of `nat_reverse`, keyed by the flow as the real sends it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatBack {
    pub vip: [u8; 4],
    pub client: [u8; 4],
    pub vport: [u8; 2],
    pub cport: [u8; 2],
    pub svc: u32,
    pub real: u32,
    /// TOA services: the client's sequence number after its SYN while
    /// packets there are due the option; 0 after (bpf/toa.h).
    pub toa_seq: u32,
    /// PROXY protocol flows: the client's sequence number after its SYN
    /// (host order), where the header goes (bpf/proxy.h).
    pub proxy_seq: u32,
    /// PROXY protocol flows: the header's length, the shift of the
    /// client's sequence numbers; 0: not a proxied flow.
    pub proxy_len: u8,
    /// PROXY_F_*
    pub proxy_flags: u8,
    pub pad: [u8; 2],
    /// Jiffies of the last reply.
    pub last: u64,
}

/// The next hop towards a real (`next_hops`, by the real's slot): used by
/// XDP when `ifindex` is set and `addr` is the slot's real.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RealNextHop {
    /// The real it leads to.
    pub addr: [u8; 4],
    /// Egress interface; 0: no entry (XDP asks the FIB).
    pub ifindex: u32,
    /// The gateway's, or the on-link real's, MAC.
    pub dmac: [u8; 6],
    /// The egress interface's MAC.
    pub smac: [u8; 6],
    /// The largest IP packet the route takes (host order).
    pub mtu: u16,
    pub pad: u16,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfMac {
    pub mac: [u8; 6],
    pub pad: [u8; 2],
}

/// An interface's MAC in the `if_slots` array (slot ifindex % IF_SLOTS).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfSlot {
    /// Whose slot this is; 0 = free.
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub pad: [u8; 2],
}

/// Entries of `if_slots` (consts.h IF_SLOTS).
pub const IF_SLOTS: u32 = 256;

// SAFETY: plain old data, no padding the kernel could leak (explicit pad
// fields), any bit pattern valid.
unsafe impl Pod for SvcKey {}
unsafe impl Pod for SvcVal {}
unsafe impl Pod for Real {}
unsafe impl Pod for Globals {}
unsafe impl Pod for Traffic {}
unsafe impl Pod for FlowKey {}
unsafe impl Pod for Conn {}
unsafe impl Pod for IfMac {}
unsafe impl Pod for RealNextHop {}
unsafe impl Pod for IfSlot {}
unsafe impl Pod for NatBack {}
unsafe impl Pod for SyncEvent {}
unsafe impl Pod for SchedDest {}
unsafe impl Pod for SchedDests {}
unsafe impl Pod for RealLoad {}
unsafe impl Pod for TmplKey {}
unsafe impl Pod for Tmpl {}
unsafe impl Pod for DstKey {}
unsafe impl Pod for DstReals {}

const _: () = assert!(std::mem::size_of::<SvcKey>() == 8);
const _: () = assert!(std::mem::size_of::<SvcVal>() == 24);
const _: () = assert!(std::mem::size_of::<SchedDests>() == 8 + 8 * MAX_DESTS);
const _: () = assert!(std::mem::size_of::<RealLoad>() == 8);
const _: () = assert!(std::mem::size_of::<TmplKey>() == 8);
const _: () = assert!(std::mem::size_of::<Tmpl>() == 32);
const _: () = assert!(std::mem::size_of::<DstKey>() == 8);
const _: () = assert!(std::mem::size_of::<DstReals>() == 56);
const _: () = assert!(std::mem::size_of::<Real>() == 16);
const _: () = assert!(std::mem::size_of::<Globals>() == 52);
const _: () = assert!(std::mem::size_of::<Traffic>() == 40);
const _: () = assert!(std::mem::size_of::<FlowKey>() == 16);
const _: () = assert!(std::mem::size_of::<Conn>() == 32);
const _: () = assert!(std::mem::align_of::<Conn>() == 8);
const _: () = assert!(std::mem::size_of::<SyncEvent>() == 44);
const _: () = assert!(std::mem::size_of::<NatBack>() == 40);
const _: () = assert!(std::mem::size_of::<IfSlot>() == 12);
const _: () = assert!(std::mem::size_of::<RealNextHop>() == 24);

impl SvcKey {
    pub fn new(vip: Ipv4Addr, proto: u8, port: u16) -> SvcKey {
        SvcKey {
            vip: vip.octets(),
            port: port.to_be_bytes(),
            proto,
            pad: 0,
        }
    }
}

impl FlowKey {
    /// The flow from src:sport to dst:dport over protocol `proto`.
    pub fn new(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, proto: u8) -> FlowKey {
        FlowKey {
            src: src.octets(),
            dst: dst.octets(),
            sport: sport.to_be_bytes(),
            dport: dport.to_be_bytes(),
            proto,
            pad: [0; 3],
        }
    }
}
