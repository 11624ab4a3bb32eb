//! The bulk-transfer payloads. The requester picks a transfer id; the
//! server echoes it in every BulkEntries and in the BulkEnd, so datagrams
//! of an abandoned transfer are told apart from the current one.
//!
//! ```text
//! BulkRequest  0 transfer id                      (4 bytes, no records)
//! BulkEntries  0 transfer id   4 count records    (4 + 36 * count bytes)
//! BulkEnd      0 total entries 4 transfer id      (8 bytes)
//! ```

use super::{Checks, Put, Reader, WireError};

/// The end of a transfer: how many entries the server sent in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkEnd {
    pub total: u32,
    pub transfer: u32,
}

impl BulkEnd {
    pub fn parse(buf: &[u8]) -> Result<BulkEnd, WireError> {
        let mut r = Reader::new(buf, "bulk end");
        let end = BulkEnd {
            total: r.u32()?,
            transfer: r.u32()?,
        };
        r.finish()?;
        Ok(end)
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        out.put_u32(self.total);
        out.put_u32(self.transfer);
    }
}
