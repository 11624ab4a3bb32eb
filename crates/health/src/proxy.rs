//! The PROXY protocol header an HTTP or HTTPS check sends first when the
//! real expects one on the port it checks: a FULLNAT service with
//! `client_address = "proxy-v2"` or `"proxy-v1"` puts a header at the
//! start of every connection to that port, and a server that reads it
//! (nginx `listen ... proxy_protocol`) refuses a connection without one.
//! A check is no client's connection, so the header names nobody: v2's
//! LOCAL command ("the connection was made by the proxy itself, for
//! health checks"), v1's `UNKNOWN`. The server then takes the
//! connection's own addresses.

use std::fmt;

/// Which PROXY protocol version the real reads on the checked port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    V1,
    V2,
}

/// v2's 12-byte signature.
const V2_SIGNATURE: [u8; 12] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];

impl ProxyHeader {
    /// The header of a connection made for a health check.
    pub fn local(self) -> Vec<u8> {
        match self {
            ProxyHeader::V1 => b"PROXY UNKNOWN\r\n".to_vec(),
            ProxyHeader::V2 => {
                let mut h = V2_SIGNATURE.to_vec();
                // Version 2, command LOCAL; family and protocol UNSPEC; no
                // address block.
                h.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
                h
            }
        }
    }
}

impl fmt::Display for ProxyHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyHeader::V1 => "PROXY v1",
            ProxyHeader::V2 => "PROXY v2",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_header_names_no_addresses() {
        assert_eq!(ProxyHeader::V1.local(), b"PROXY UNKNOWN\r\n");
        let v2 = ProxyHeader::V2.local();
        assert_eq!(v2.len(), 16);
        assert_eq!(&v2[..12], b"\r\n\r\n\0\r\nQUIT\n");
        // The high nibble is the version, the low one the command (0: LOCAL).
        assert_eq!(v2[12], 0x20);
        assert_eq!(u16::from_be_bytes([v2[14], v2[15]]), 0, "no address block");
    }
}
