//! Database Description packet body (RFC 2328 A.3.3).

use super::{LsaHeader, Put, Reader, WireError};

/// The I (init), M (more) and MS (master) bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbdFlags {
    pub init: bool,
    pub more: bool,
    pub master: bool,
}

impl DbdFlags {
    fn from_u8(b: u8) -> DbdFlags {
        DbdFlags {
            init: b & 0x04 != 0,
            more: b & 0x02 != 0,
            master: b & 0x01 != 0,
        }
    }

    fn to_u8(self) -> u8 {
        (u8::from(self.init) << 2) | (u8::from(self.more) << 1) | u8::from(self.master)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dbd {
    pub mtu: u16,
    pub options: u8,
    pub flags: DbdFlags,
    pub seq: u32,
    pub headers: Vec<LsaHeader>,
}

impl Dbd {
    pub fn parse(body: &[u8]) -> Result<Dbd, WireError> {
        let mut r = Reader::new(body, "DBD");
        let mut d = Dbd {
            mtu: r.u16()?,
            options: r.u8()?,
            flags: DbdFlags::from_u8(r.u8()?),
            seq: r.u32()?,
            headers: Vec::new(),
        };
        while !r.is_empty() {
            d.headers.push(LsaHeader::parse(r.take(LsaHeader::LEN)?)?);
        }
        Ok(d)
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_u16(self.mtu);
        out.push(self.options);
        out.push(self.flags.to_u8());
        out.put_u32(self.seq);
        for h in &self.headers {
            h.emit(out);
        }
    }
}
