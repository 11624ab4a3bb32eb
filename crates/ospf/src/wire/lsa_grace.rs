//! The grace-LSA body (RFC 3623 appendix A): a link-local opaque LSA
//! (type 9, RFC 5250) of opaque type 3 and opaque id 0, so its Link State
//! ID is 3.0.0.0. Its body is a list of TLVs, each a 2-byte type, a 2-byte
//! length and the value padded to 4 bytes:
//!
//! | type | value | length |
//! |---|---|---|
//! | 1 | grace period, seconds | 4 |
//! | 2 | restart reason | 1 |
//! | 3 | IP interface address (required on broadcast networks) | 4 |
//!
//! Unknown TLVs are skipped, as the RFC asks.

use super::{Put, Reader, WireError};
use std::net::Ipv4Addr;

/// The Link State ID of every grace-LSA: opaque type 3, opaque id 0.
pub const GRACE_LSA_ID: Ipv4Addr = Ipv4Addr::new(3, 0, 0, 0);

const TLV_GRACE_PERIOD: u16 = 1;
const TLV_REASON: u16 = 2;
const TLV_ADDRESS: u16 = 3;

/// Why the router restarts (RFC 3623 appendix A, TLV 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartReason {
    Unknown,
    SoftwareRestart,
    /// A software reload or upgrade: what `xlvsadm restart --graceful` is.
    SoftwareUpgrade,
    SwitchToRedundant,
    Other(u8),
}

impl RestartReason {
    fn from_u8(v: u8) -> RestartReason {
        match v {
            0 => RestartReason::Unknown,
            1 => RestartReason::SoftwareRestart,
            2 => RestartReason::SoftwareUpgrade,
            3 => RestartReason::SwitchToRedundant,
            other => RestartReason::Other(other),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            RestartReason::Unknown => 0,
            RestartReason::SoftwareRestart => 1,
            RestartReason::SoftwareUpgrade => 2,
            RestartReason::SwitchToRedundant => 3,
            RestartReason::Other(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraceLsa {
    /// Seconds, counted from the LSA's origination (its age).
    pub grace_period: u32,
    pub reason: RestartReason,
    /// The restarting router's address on the link.
    pub address: Option<Ipv4Addr>,
}

impl GraceLsa {
    /// Parses a grace-LSA body; the grace period and reason must be there.
    pub fn parse(body: &[u8]) -> Result<GraceLsa, WireError> {
        let malformed = |why| WireError::Malformed {
            what: "grace-LSA",
            why,
        };
        let mut r = Reader::new(body, "grace-LSA");
        let (mut period, mut reason, mut address) = (None, None, None);
        while !r.is_empty() {
            let kind = r.u16()?;
            let len = usize::from(r.u16()?);
            let value = r.take(len)?;
            r.take(len.next_multiple_of(4) - len)?;
            match (kind, len) {
                (TLV_GRACE_PERIOD, 4) => {
                    period = Some(u32::from_be_bytes(value.try_into().expect("4")))
                }
                (TLV_REASON, 1) => reason = Some(RestartReason::from_u8(value[0])),
                (TLV_ADDRESS, 4) => {
                    address = Some(Ipv4Addr::from(<[u8; 4]>::try_from(value).expect("4")))
                }
                (TLV_GRACE_PERIOD | TLV_REASON | TLV_ADDRESS, _) => {
                    return Err(malformed("TLV of the wrong length"))
                }
                _ => {}
            }
        }
        Ok(GraceLsa {
            grace_period: period.ok_or(malformed("no grace period"))?,
            reason: reason.ok_or(malformed("no restart reason"))?,
            address,
        })
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_u16(TLV_GRACE_PERIOD);
        out.put_u16(4);
        out.put_u32(self.grace_period);
        out.put_u16(TLV_REASON);
        out.put_u16(1);
        out.extend_from_slice(&[self.reason.to_u8(), 0, 0, 0]);
        if let Some(a) = self.address {
            out.put_u16(TLV_ADDRESS);
            out.put_u16(4);
            out.put_addr(a);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24);
        self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_the_address() {
        for address in [Some(Ipv4Addr::new(10, 0, 1, 11)), None] {
            let g = GraceLsa {
                grace_period: 120,
                reason: RestartReason::SoftwareUpgrade,
                address,
            };
            assert_eq!(GraceLsa::parse(&g.to_bytes()), Ok(g));
        }
    }

    #[test]
    fn the_bytes_are_those_of_rfc_3623_appendix_a() {
        let g = GraceLsa {
            grace_period: 0x3c,
            reason: RestartReason::SoftwareUpgrade,
            address: Some(Ipv4Addr::new(10, 0, 1, 11)),
        };
        assert_eq!(
            g.to_bytes(),
            [
                0, 1, 0, 4, 0, 0, 0, 0x3c, // grace period 60 s
                0, 2, 0, 1, 2, 0, 0, 0, // reason 2, padded
                0, 3, 0, 4, 10, 0, 1, 11, // interface address
            ]
        );
    }

    #[test]
    fn unknown_tlvs_are_skipped_and_missing_ones_are_errors() {
        let mut body = vec![0, 9, 0, 3, 1, 2, 3, 0]; // type 9, 3 bytes, padded
        body.extend(
            GraceLsa {
                grace_period: 5,
                reason: RestartReason::Other(7),
                address: None,
            }
            .to_bytes(),
        );
        let g = GraceLsa::parse(&body).unwrap();
        assert_eq!((g.grace_period, g.reason), (5, RestartReason::Other(7)));
        assert!(GraceLsa::parse(&body[..8]).is_err(), "no grace period");
        assert!(
            GraceLsa::parse(&[0, 1, 0, 2, 0, 5]).is_err(),
            "wrong length"
        );
        assert!(GraceLsa::parse(&[0, 1, 0, 4, 0]).is_err(), "truncated");
    }
}
