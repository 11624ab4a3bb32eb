//! The PROXY protocol for FULLNAT services (bpf/proxy.h): the director
//! puts a header naming the client before the TCP stream it sends the
//! real, and shifts the client's sequence numbers by the header's length
//! for the connection's life (the real's acknowledgements back by the
//! same). What a flow's shift is, as the data plane keeps and reports it.

use crate::abi::{NatBack, SyncEvent, PROXY_F_ACKED};

/// The header a service sends (HAProxy's PROXY protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// Text: `PROXY TCP4 <client> <vip> <cport> <vport>\r\n`, 32 to 56
    /// bytes (its length varies with the addresses).
    V1,
    /// Binary: 28 bytes for TCP over IPv4.
    V2,
}

impl ProxyVersion {
    /// The header's length for a flow from `client`:`cport` to
    /// `vip`:`vport`: the flow's sequence shift.
    pub fn header_len(
        self,
        client: std::net::Ipv4Addr,
        cport: u16,
        vip: std::net::Ipv4Addr,
        vport: u16,
    ) -> u8 {
        match self {
            ProxyVersion::V2 => 28,
            ProxyVersion::V1 => {
                format!("PROXY TCP4 {client} {vip} {cport} {vport}\r\n").len() as u8
            }
        }
    }
}

/// A proxied flow's sequence shift, as the data plane keeps it in the
/// flow's way back and reports it for sync: a director that takes the
/// flow over must shift exactly as its owner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyShift {
    /// The client's initial sequence number + 1 (host order): where the
    /// header goes in the real's byte stream.
    pub after_syn: u32,
    /// The header's length: the client's sequence numbers are this much
    /// higher on the real's side.
    pub len: u8,
    /// The real has acknowledged the header: no packet carries it again.
    pub acked: bool,
}

impl ProxyShift {
    /// A way back's shift, if its flow is proxied.
    pub fn of_back(b: &NatBack) -> Option<ProxyShift> {
        shift(b.proxy_seq, b.proxy_len, b.proxy_flags)
    }

    /// A sync event's shift, if its flow is proxied.
    pub fn of_event(e: &SyncEvent) -> Option<ProxyShift> {
        shift(e.proxy_seq, e.proxy_len, e.proxy_flags)
    }

    /// (proxy_seq, proxy_len, proxy_flags) as the C structs hold them.
    pub(crate) fn raw(s: Option<ProxyShift>) -> (u32, u8, u8) {
        match s {
            Some(s) => (s.after_syn, s.len, if s.acked { PROXY_F_ACKED } else { 0 }),
            None => (0, 0, 0),
        }
    }
}

fn shift(seq: u32, len: u8, flags: u8) -> Option<ProxyShift> {
    (len > 0).then_some(ProxyShift {
        after_syn: seq,
        len,
        acked: flags & PROXY_F_ACKED != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn v1_lengths_span_32_to_56() {
        let short = Ipv4Addr::new(1, 1, 1, 1);
        let long = Ipv4Addr::new(255, 255, 255, 255);
        assert_eq!(ProxyVersion::V1.header_len(short, 1, short, 1), 32);
        assert_eq!(ProxyVersion::V1.header_len(long, 65535, long, 65535), 56);
        assert_eq!(ProxyVersion::V2.header_len(long, 65535, long, 65535), 28);
    }

    #[test]
    fn raw_fields_round_trip() {
        let s = ProxyShift {
            after_syn: u32::MAX,
            len: 33,
            acked: true,
        };
        let (proxy_seq, proxy_len, proxy_flags) = ProxyShift::raw(Some(s));
        let b = NatBack {
            proxy_seq,
            proxy_len,
            proxy_flags,
            ..NatBack::default()
        };
        assert_eq!(ProxyShift::of_back(&b), Some(s));
        assert_eq!(ProxyShift::of_back(&NatBack::default()), None);
    }
}
