//! The byte plumbing of the protocol crates' wire modules (OSPF, flow
//! sync): a bounds-checked big-endian reader and writer. Each protocol
//! keeps its typed views, parse and emit side by side, and its own error
//! type, which holds [`Truncated`] as a variant (`#[from]`).

use std::net::Ipv4Addr;

/// A read ran past the end of the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    /// What was being read (the reader's name for its bytes).
    pub what: &'static str,
    pub need: usize,
    pub have: usize,
}

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Truncated { what, need, have } = self;
        write!(f, "{what} truncated: need {need} bytes, have {have}")
    }
}

impl std::error::Error for Truncated {}

/// A bounds-checked reader over a byte slice; `what` names the bytes in
/// errors.
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if self.buf.len() < n {
            return Err(Truncated {
                what: self.what,
                need: n,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Truncated> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, Truncated> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, Truncated> {
        self.array().map(u64::from_be_bytes)
    }

    pub fn addr(&mut self) -> Result<Ipv4Addr, Truncated> {
        self.u32().map(Ipv4Addr::from)
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Big-endian writers for emit.
pub trait Put {
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_addr(&mut self, a: Ipv4Addr);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_addr(&mut self, a: Ipv4Addr) {
        self.extend_from_slice(&a.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_wrote_and_names_what_ran_short() {
        let mut buf = Vec::new();
        buf.push(7);
        buf.put_u16(0x0102);
        buf.put_u32(0x0304_0506);
        buf.put_u64(u64::MAX - 1);
        buf.put_addr(Ipv4Addr::new(10, 0, 0, 1));
        let mut r = Reader::new(&buf, "test");
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u32(), Ok(0x0304_0506));
        assert_eq!(r.u64(), Ok(u64::MAX - 1));
        assert_eq!(r.addr(), Ok(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(r.is_empty());
        let short = Truncated {
            what: "test",
            need: 2,
            have: 0,
        };
        assert_eq!(r.u16(), Err(short));
    }
}
