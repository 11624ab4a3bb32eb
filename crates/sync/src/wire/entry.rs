//! One connection-table entry: the 36-byte record of Entries and
//! BulkEntries.
//!
//! ```text
//!  0 op   1 proto   2 forward   3 state   4 client
//!  8 client port   10 virtual port   12 vip   16 real
//! 20 real port     22 local port     24 local address   28 owner
//! 32 idle seconds  34 flags
//! ```
//!
//! Flag 0x0001 makes the record a persistence template (docs/sync.md):
//! client = the masked client, client port 0, no state, no local address.
//!
//! Flag 0x0002 (FULLNAT TCP connections only) says 8 more bytes follow the
//! 36: the PROXY protocol shift of the flow (docs/sync.md, "Proxied
//! connections"):
//!
//! ```text
//! 36 after_syn (u32)   40 len   41 acked (0 or 1)   42 reserved (u16, 0)
//! ```

use super::{Checks, Put, Reader, WireError};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

pub const ENTRY_LEN: usize = 36;
/// The bytes a record with [`FLAG_PROXY`] carries after its 36.
pub const PROXY_EXT_LEN: usize = 8;

/// Record flag: the record is a persistence template, not a connection.
pub const FLAG_TEMPLATE: u16 = 0x0001;
/// Record flag: a proxied FULLNAT connection, its shift in the 8 bytes
/// after the record.
pub const FLAG_PROXY: u16 = 0x0002;
/// Every flag bit version 1 knows; any other is refused.
const KNOWN_FLAGS: u16 = FLAG_TEMPLATE | FLAG_PROXY;

/// A proxied flow's sequence shift (client_address = "proxy-v2" or
/// "proxy-v1"): what a director that takes the flow over needs to keep
/// shifting it exactly as its owner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProxyShift {
    /// The client's sequence number after its SYN: where the header goes.
    pub after_syn: u32,
    /// The header's length: the shift (1 or more).
    pub len: u8,
    /// Whether the real has acknowledged the header.
    pub acked: bool,
}

impl ProxyShift {
    fn read(r: &mut Reader<'_>) -> Result<ProxyShift, WireError> {
        let malformed = |why| WireError::Malformed {
            what: "entry proxy shift",
            why,
        };
        let after_syn = r.u32()?;
        let len = r.u8()?;
        let acked = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(malformed("acked is neither 0 nor 1")),
        };
        r.zero_u16("entry proxy shift reserved")?;
        if len == 0 {
            return Err(malformed("a header of length 0"));
        }
        Ok(ProxyShift {
            after_syn,
            len,
            acked,
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.put_u32(self.after_syn);
        out.push(self.len);
        out.push(u8::from(self.acked));
        out.put_u16(0);
    }
}

/// What a record names: a connection, or a persistence template (a
/// client, masked, of a service stays on a real: ipvsadm -p). Part of the
/// key, so the two never meet in one table or one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FlowKind {
    Connection,
    Template,
}

/// What happened to the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// New, or refreshed (state or idle time changed).
    Upsert = 1,
    /// FIN or RST seen: the flow is ending, keep it for its closing timeout.
    Closing = 2,
    /// Ended or expired on its owner.
    Delete = 3,
}

impl Op {
    pub fn from_u8(v: u8) -> Result<Op, WireError> {
        Ok(match v {
            1 => Op::Upsert,
            2 => Op::Closing,
            3 => Op::Delete,
            other => return Err(WireError::Op(other)),
        })
    }
}

/// The transport protocols whose flows are synced (IP protocol numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Proto {
    Tcp = 6,
    Udp = 17,
}

impl Proto {
    pub fn from_u8(v: u8) -> Result<Proto, WireError> {
        Ok(match v {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            other => return Err(WireError::Proto(other)),
        })
    }
}

/// How the director forwards the flow to its real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forward {
    /// Direct routing: MAC rewrite.
    Dr = 1,
    /// IP-in-IP tunnel.
    Tun = 2,
    /// Destination NAT.
    Nat = 3,
    /// Source and destination NAT through a local address of the director.
    FullNat = 4,
}

impl Forward {
    pub fn from_u8(v: u8) -> Result<Forward, WireError> {
        Ok(match v {
            1 => Forward::Dr,
            2 => Forward::Tun,
            3 => Forward::Nat,
            4 => Forward::FullNat,
            other => return Err(WireError::Forward(other)),
        })
    }
}

/// What identifies a flow in every director's table: the client side of
/// the connection as the router delivers it. A template's key is its
/// service's (VIP, protocol, port) and the masked client, port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlowKey {
    pub kind: FlowKind,
    pub proto: Proto,
    pub client: Ipv4Addr,
    pub client_port: u16,
    pub vip: Ipv4Addr,
    pub vport: u16,
}

/// A connection-table entry as synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub op: Op,
    pub key: FlowKey,
    pub forward: Forward,
    /// The data plane's connection state byte, carried opaquely.
    pub state: u8,
    pub real: Ipv4Addr,
    pub real_port: u16,
    /// FULLNAT: the director's address and port towards the real; zero
    /// for the other methods.
    pub local_addr: Ipv4Addr,
    pub local_port: u16,
    /// The director that created the entry (or took it over).
    pub owner: Ipv4Addr,
    /// Seconds since the flow's last packet on its owner.
    pub idle_secs: u16,
    /// A proxied FULLNAT TCP connection's shift (flag 0x0002); `None`
    /// for every other record.
    pub proxy: Option<ProxyShift>,
}

impl Entry {
    /// The record's size on the wire: 36, or 44 with a proxy shift.
    pub fn wire_len(&self) -> usize {
        match self.emitted_proxy() {
            Some(_) => ENTRY_LEN + PROXY_EXT_LEN,
            None => ENTRY_LEN,
        }
    }

    /// The shift as written: only a FULLNAT TCP connection carries one.
    fn emitted_proxy(&self) -> Option<ProxyShift> {
        let fullnat_tcp = self.forward == Forward::FullNat && self.key.proto == Proto::Tcp;
        self.proxy
            .filter(|_| fullnat_tcp && self.key.kind == FlowKind::Connection)
    }

    /// Parses one record of exactly 36 bytes (44 with a proxy shift).
    pub fn parse(buf: &[u8]) -> Result<Entry, WireError> {
        let mut r = Reader::new(buf, "entry");
        let entry = Entry::read(&mut r)?;
        r.finish()?;
        Ok(entry)
    }

    /// Reads the next record of a payload.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Entry, WireError> {
        let op = Op::from_u8(r.u8()?)?;
        let proto = Proto::from_u8(r.u8()?)?;
        let forward = Forward::from_u8(r.u8()?)?;
        let state = r.u8()?;
        let client = r.addr()?;
        let client_port = r.u16()?;
        let vport = r.u16()?;
        let vip = r.addr()?;
        let real = r.addr()?;
        let real_port = r.u16()?;
        let local_port = r.u16()?;
        let local_addr = r.addr()?;
        let owner = r.addr()?;
        let idle_secs = r.u16()?;
        let flags = r.u16()?;
        // Unknown bits refused, not ignored: they stay free for later
        // versions, whose meaning an old receiver must not guess.
        if flags & !KNOWN_FLAGS != 0 {
            return Err(WireError::NonZero {
                what: "entry flags (unknown bits)",
                value: flags & !KNOWN_FLAGS,
            });
        }
        let malformed = |why| WireError::Malformed { what: "entry", why };
        // Zero, not ignored: a non-FULLNAT record with a local address is
        // a sender's bug, and zero keeps the field free for later versions.
        if forward != Forward::FullNat && (!local_addr.is_unspecified() || local_port != 0) {
            return Err(malformed(
                "local address or port set on a non-FULLNAT entry",
            ));
        }
        let kind = match flags & FLAG_TEMPLATE {
            0 => FlowKind::Connection,
            _ => FlowKind::Template,
        };
        let proxy = match flags & FLAG_PROXY {
            0 => None,
            _ => Some(ProxyShift::read(r)?),
        };
        if proxy.is_some()
            && (kind == FlowKind::Template || forward != Forward::FullNat || proto != Proto::Tcp)
        {
            return Err(malformed(
                "a proxy shift on a record other than a FULLNAT TCP connection",
            ));
        }
        if kind == FlowKind::Template {
            // A template has no connection's parts: refused rather than
            // dropped, so a record is one thing or the other.
            if !local_addr.is_unspecified() || local_port != 0 {
                return Err(malformed("local address or port set on a template"));
            }
            if client_port != 0 || state != 0 {
                return Err(malformed("client port or state set on a template"));
            }
            if op != Op::Upsert {
                return Err(malformed("a template is only ever an Upsert"));
            }
        }
        Ok(Entry {
            op,
            key: FlowKey {
                kind,
                proto,
                client,
                client_port,
                vip,
                vport,
            },
            forward,
            state,
            real,
            real_port,
            local_addr,
            local_port,
            owner,
            idle_secs,
            proxy,
        })
    }

    /// Writes the record. The local address and port are written only for
    /// FULLNAT connections (zero otherwise), and a template's client port
    /// and state as zero, its op as Upsert, so what is emitted always
    /// parses.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let template = self.key.kind == FlowKind::Template;
        let (local_addr, local_port) = match self.forward {
            Forward::FullNat if !template => (self.local_addr, self.local_port),
            _ => (Ipv4Addr::UNSPECIFIED, 0),
        };
        let proxy = self.emitted_proxy();
        let (op, state, client_port, flags) = match template {
            true => (Op::Upsert, 0, 0, FLAG_TEMPLATE),
            false if proxy.is_some() => (self.op, self.state, self.key.client_port, FLAG_PROXY),
            false => (self.op, self.state, self.key.client_port, 0),
        };
        out.push(op as u8);
        out.push(self.key.proto as u8);
        out.push(self.forward as u8);
        out.push(state);
        out.put_addr(self.key.client);
        out.put_u16(client_port);
        out.put_u16(self.key.vport);
        out.put_addr(self.key.vip);
        out.put_addr(self.real);
        out.put_u16(self.real_port);
        out.put_u16(local_port);
        out.put_addr(local_addr);
        out.put_addr(self.owner);
        out.put_u16(self.idle_secs);
        out.put_u16(flags);
        if let Some(p) = proxy {
            p.emit(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Entry {
        Entry {
            op: Op::Upsert,
            key: FlowKey {
                kind: FlowKind::Template,
                proto: Proto::Tcp,
                client: Ipv4Addr::new(198, 51, 100, 0),
                client_port: 0,
                vip: Ipv4Addr::new(192, 0, 2, 50),
                vport: 80,
            },
            forward: Forward::FullNat,
            state: 0,
            real: Ipv4Addr::new(10, 0, 3, 21),
            real_port: 8080,
            local_addr: Ipv4Addr::UNSPECIFIED,
            local_port: 0,
            owner: Ipv4Addr::new(10, 0, 2, 11),
            idle_secs: 12,
            proxy: None,
        }
    }

    fn proxied() -> Entry {
        let mut e = template();
        e.key.kind = FlowKind::Connection;
        e.key.client_port = 40000;
        e.state = 3;
        e.local_addr = Ipv4Addr::new(10, 255, 1, 1);
        e.local_port = 1234;
        e.proxy = Some(ProxyShift {
            after_syn: 0xfedc_ba99,
            len: 28,
            acked: true,
        });
        e
    }

    fn bytes(e: &Entry) -> Vec<u8> {
        let mut out = Vec::new();
        e.emit(&mut out);
        out
    }

    #[test]
    fn a_template_round_trips_with_flag_0x0001() {
        let t = template();
        let out = bytes(&t);
        assert_eq!(out.len(), ENTRY_LEN);
        assert_eq!(&out[34..36], &[0, 1]);
        assert_eq!(Entry::parse(&out), Ok(t));
        // The same bytes without the flag are a connection of client
        // port 0: the kind is in the key, so the two never compare equal.
        let mut conn = out.clone();
        conn[35] = 0;
        let c = Entry::parse(&conn).unwrap();
        assert_eq!(c.key.kind, FlowKind::Connection);
        assert_ne!(c.key, t.key);
    }

    #[test]
    fn a_proxied_connection_round_trips_with_flag_0x0002_and_8_bytes() {
        let e = proxied();
        let out = bytes(&e);
        assert_eq!(out.len(), 44);
        assert_eq!(e.wire_len(), 44);
        assert_eq!(&out[34..36], &[0, 2]);
        assert_eq!(&out[36..44], &[0xfe, 0xdc, 0xba, 0x99, 28, 1, 0, 0]);
        assert_eq!(Entry::parse(&out), Ok(e));
        let mut unacked = e;
        unacked.proxy = Some(ProxyShift {
            acked: false,
            len: 56,
            ..e.proxy.unwrap()
        });
        assert_eq!(Entry::parse(&bytes(&unacked)), Ok(unacked));
        // Without the flag the 8 bytes are trailing: refused, not skipped.
        let mut cut = out.clone();
        cut[35] = 0;
        assert!(Entry::parse(&cut).is_err());
        // With the flag and without the bytes: short.
        assert!(Entry::parse(&out[..36]).is_err());
    }

    #[test]
    fn a_shift_is_written_only_for_a_fullnat_tcp_connection() {
        let mut udp = proxied();
        udp.key.proto = Proto::Udp;
        let mut nat = proxied();
        nat.forward = Forward::Nat;
        let mut tmpl = proxied();
        tmpl.key.kind = FlowKind::Template;
        for e in [udp, nat, tmpl] {
            let out = bytes(&e);
            assert_eq!((out.len(), e.wire_len()), (36, 36), "{e:?}");
            assert_eq!(Entry::parse(&out).unwrap().proxy, None);
        }
    }

    #[test]
    fn a_bad_shift_is_refused() {
        let refused = |at: usize, value: &[u8]| {
            let mut out = bytes(&proxied());
            out[at..at + value.len()].copy_from_slice(value);
            matches!(
                Entry::parse(&out),
                Err(WireError::Malformed { .. } | WireError::NonZero { .. })
            )
        };
        assert!(refused(40, &[0]), "length 0");
        assert!(refused(41, &[2]), "acked 2");
        assert!(refused(42, &[0, 1]), "reserved");
        assert!(refused(1, &[17]), "UDP");
        assert!(refused(2, &[3]), "NAT (its local address is refused too)");
        assert!(refused(34, &[0, 3]), "on a template");
    }

    #[test]
    fn unknown_flag_bits_are_still_refused() {
        for flags in [0x0004u16, 0x8000, 0x0005] {
            let mut out = bytes(&template());
            out[34..36].copy_from_slice(&flags.to_be_bytes());
            assert!(
                matches!(Entry::parse(&out), Err(WireError::NonZero { .. })),
                "{flags:#06x}"
            );
        }
    }

    #[test]
    fn a_template_with_connection_parts_is_refused() {
        let refused = |at: usize, value: &[u8]| {
            let mut out = bytes(&template());
            out[at..at + value.len()].copy_from_slice(value);
            matches!(Entry::parse(&out), Err(WireError::Malformed { .. }))
        };
        assert!(refused(24, &[10, 255, 1, 1]), "local address");
        assert!(refused(22, &[0, 9]), "local port");
        assert!(refused(8, &[0x9c, 0x40]), "client port");
        assert!(refused(3, &[1]), "state");
        assert!(refused(0, &[Op::Closing as u8]), "closing");
        assert!(refused(0, &[Op::Delete as u8]), "delete");
    }

    #[test]
    fn emit_never_writes_connection_parts_into_a_template() {
        let mut t = template();
        t.local_addr = Ipv4Addr::new(10, 255, 1, 1);
        t.local_port = 9;
        t.key.client_port = 40000;
        t.state = 3;
        let parsed = Entry::parse(&bytes(&t)).unwrap();
        assert_eq!(parsed, template());
    }
}
