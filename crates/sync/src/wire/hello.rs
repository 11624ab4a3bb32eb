//! The Hello payload: who the sender is, what it is doing, and which
//! FULLNAT local addresses it owns (the ones a survivor takes over when it
//! goes).
//!
//! ```text
//! 0 state   1 local-address count (n)   2 hold time (seconds)
//! 4 n local addresses, 4 bytes each
//! 4+4n name length (m, at most 64)      5+4n name, m bytes of UTF-8
//! ```

use super::{Checks, Put, Reader, WireError};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The longest node name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Local addresses one Hello can list (the count is a byte).
pub const MAX_LOCAL_ADDRESSES: usize = u8::MAX as usize;

/// A director's part in the cluster, as its Hellos say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeState {
    /// Starting: fetching the table, not announcing its VIPs yet.
    Joining = 1,
    /// Forwarding; serves bulk requests.
    Ready = 2,
    /// Stopping: withdrawing its VIPs.
    Leaving = 3,
}

impl NodeState {
    pub fn from_u8(v: u8) -> Result<NodeState, WireError> {
        Ok(match v {
            1 => NodeState::Joining,
            2 => NodeState::Ready,
            3 => NodeState::Leaving,
            other => return Err(WireError::NodeState(other)),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            NodeState::Joining => "joining",
            NodeState::Ready => "ready",
            NodeState::Leaving => "leaving",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub state: NodeState,
    /// How long receivers keep the sender up without a Hello, in seconds
    /// (at least 1).
    pub hold_secs: u16,
    pub local_addresses: Vec<Ipv4Addr>,
    pub name: String,
}

impl Hello {
    /// The payload's size.
    pub fn payload_len(&self) -> usize {
        5 + 4 * self.local_addresses.len() + self.name.len()
    }

    pub fn parse(buf: &[u8]) -> Result<Hello, WireError> {
        let mut r = Reader::new(buf, "hello");
        let state = NodeState::from_u8(r.u8()?)?;
        let n = r.u8()?;
        let hold_secs = r.u16()?;
        if hold_secs == 0 {
            return Err(WireError::Malformed {
                what: "hello",
                why: "hold time 0",
            });
        }
        let local_addresses = (0..n).map(|_| r.addr()).collect::<Result<_, _>>()?;
        let m = r.u8()? as usize;
        if m > MAX_NAME_LEN {
            return Err(WireError::Malformed {
                what: "hello",
                why: "name longer than 64 bytes",
            });
        }
        let name = std::str::from_utf8(r.take(m)?)
            .map_err(|_| WireError::Malformed {
                what: "hello",
                why: "name is not UTF-8",
            })?
            .to_owned();
        r.finish()?;
        Ok(Hello {
            state,
            hold_secs,
            local_addresses,
            name,
        })
    }

    /// Writes the payload. The caller keeps the lists within their limits
    /// (the config is validated): at most 255 addresses and 64 name bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        debug_assert!(self.local_addresses.len() <= MAX_LOCAL_ADDRESSES);
        debug_assert!(self.name.len() <= MAX_NAME_LEN);
        out.push(self.state as u8);
        out.push(self.local_addresses.len() as u8);
        out.put_u16(self.hold_secs);
        for a in &self.local_addresses {
            out.put_addr(*a);
        }
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
    }
}
