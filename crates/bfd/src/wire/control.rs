//! The mandatory section of a BFD Control packet: 24 bytes.
//!
//! ```text
//!  0 Vers(3) Diag(5)  1 Sta(2) P F C A D M  2 Detect Mult  3 Length
//!  4 My Discriminator                       8 Your Discriminator
//! 12 Desired Min TX Interval (µs)          16 Required Min RX Interval (µs)
//! 20 Required Min Echo RX Interval (µs)
//! ```

use super::{Diag, State, WireError};
use xlvs_wire::{Put, Reader};

pub const VERSION: u8 = 1;
/// The mandatory section; the only length we send.
pub const CONTROL_LEN: usize = 24;
/// The minimum length with the A bit set: the mandatory section plus the
/// authentication section's type and length bytes (RFC 5880 6.8.6).
const MIN_LEN_WITH_AUTH: u8 = 26;

const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

/// A Control packet that passed the checks of [`ControlPacket::parse`].
/// A and M are not fields: A is refused (no authentication), M must be 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPacket {
    pub diag: Diag,
    pub state: State,
    /// P: the sender asks for a Final (parameter change, RFC 5880 6.5).
    pub poll: bool,
    /// F: the answer to a Poll.
    pub fin: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub cpi: bool,
    /// D: the sender wants Demand mode (we never ask for it).
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
}

impl ControlPacket {
    /// Parses `datagram` (a UDP payload) in the order of RFC 5880 6.8.6:
    /// version, length, detect multiplier, M bit, my discriminator, your
    /// discriminator against the state, then the A bit. Bytes past the
    /// length field are ignored, as the RFC only bounds it from above.
    pub fn parse(datagram: &[u8]) -> Result<ControlPacket, WireError> {
        let mut r = Reader::new(datagram, "BFD control packet");
        let vers_diag = r.u8()?;
        let version = vers_diag >> 5;
        if version != VERSION {
            return Err(WireError::Version(version));
        }
        let sta_flags = r.u8()?;
        let detect_mult = r.u8()?;
        let length = r.u8()?;
        let min = match sta_flags & FLAG_AUTH {
            0 => CONTROL_LEN as u8,
            _ => MIN_LEN_WITH_AUTH,
        };
        if length < min {
            return Err(WireError::TooShort {
                declared: length,
                min,
            });
        }
        if length as usize > datagram.len() {
            return Err(WireError::BeyondDatagram {
                declared: length,
                datagram: datagram.len(),
            });
        }
        let my_discr = r.u32()?;
        let your_discr = r.u32()?;
        let desired_min_tx_us = r.u32()?;
        let required_min_rx_us = r.u32()?;
        let required_min_echo_rx_us = r.u32()?;

        if detect_mult == 0 {
            return Err(WireError::ZeroMultiplier);
        }
        if sta_flags & FLAG_MULTIPOINT != 0 {
            return Err(WireError::Multipoint);
        }
        if my_discr == 0 {
            return Err(WireError::ZeroMyDiscriminator);
        }
        let state = State::from_bits(sta_flags >> 6);
        if your_discr == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(WireError::ZeroYourDiscriminator(state));
        }
        if sta_flags & FLAG_AUTH != 0 {
            return Err(WireError::Authentication);
        }
        Ok(ControlPacket {
            diag: Diag::from_bits(vers_diag),
            state,
            poll: sta_flags & FLAG_POLL != 0,
            fin: sta_flags & FLAG_FINAL != 0,
            cpi: sta_flags & FLAG_CPI != 0,
            demand: sta_flags & FLAG_DEMAND != 0,
            detect_mult,
            my_discr,
            your_discr,
            desired_min_tx_us,
            required_min_rx_us,
            required_min_echo_rx_us,
        })
    }

    /// Appends the 24 bytes, with A and M clear.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(VERSION << 5 | self.diag.code());
        let flag = |set: bool, bit: u8| if set { bit } else { 0 };
        out.push(
            (self.state as u8) << 6
                | flag(self.poll, FLAG_POLL)
                | flag(self.fin, FLAG_FINAL)
                | flag(self.cpi, FLAG_CPI)
                | flag(self.demand, FLAG_DEMAND),
        );
        out.push(self.detect_mult);
        out.push(CONTROL_LEN as u8);
        out.put_u32(self.my_discr);
        out.put_u32(self.your_discr);
        out.put_u32(self.desired_min_tx_us);
        out.put_u32(self.required_min_rx_us);
        out.put_u32(self.required_min_echo_rx_us);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CONTROL_LEN);
        self.emit(&mut out);
        out
    }
}
