//! One connection-table entry: the 36-byte record of Entries and
//! BulkEntries.
//!
//! ```text
//!  0 op   1 proto   2 forward   3 state   4 client
//!  8 client port   10 virtual port   12 vip   16 real
//! 20 real port     22 local port     24 local address   28 owner
//! 32 idle seconds  34 flags
//! ```

use super::{Checks, Put, Reader, WireError};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

pub const ENTRY_LEN: usize = 36;

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
/// the connection as the router delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlowKey {
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
}

impl Entry {
    /// Parses one record of exactly 36 bytes.
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
        r.zero_u16("entry flags")?;
        // Zero, not ignored: a non-FULLNAT record with a local address is
        // a sender's bug, and zero keeps the field free for later versions.
        if forward != Forward::FullNat && (!local_addr.is_unspecified() || local_port != 0) {
            return Err(WireError::Malformed {
                what: "entry",
                why: "local address or port set on a non-FULLNAT entry",
            });
        }
        Ok(Entry {
            op,
            key: FlowKey {
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
        })
    }

    /// Writes the record. The local address and port are written only for
    /// FULLNAT (zero otherwise), so what is emitted always parses.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let (local_addr, local_port) = match self.forward {
            Forward::FullNat => (self.local_addr, self.local_port),
            _ => (Ipv4Addr::UNSPECIFIED, 0),
        };
        out.push(self.op as u8);
        out.push(self.key.proto as u8);
        out.push(self.forward as u8);
        out.push(self.state);
        out.put_addr(self.key.client);
        out.put_u16(self.key.client_port);
        out.put_u16(self.key.vport);
        out.put_addr(self.key.vip);
        out.put_addr(self.real);
        out.put_u16(self.real_port);
        out.put_u16(local_port);
        out.put_addr(local_addr);
        out.put_addr(self.owner);
        out.put_u16(self.idle_secs);
        out.put_u16(0);
    }
}
