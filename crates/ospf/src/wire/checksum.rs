//! The two checksums OSPF uses: the Internet checksum over packets
//! (RFC 2328 D.4) and the Fletcher checksum over LSAs (RFC 2328 12.1.7,
//! computed as in ISO 8473 Annex C).

/// One's-complement sum of 16-bit words, folded and inverted.
pub fn internet(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Offset of the checksum field within an LSA.
const LSA_CHECKSUM_OFFSET: usize = 16;

/// Computes the Fletcher checksum of an LSA (`lsa` starts at the LS age
/// field, which is excluded) as if the checksum field were zero.
pub fn lsa_fletcher(lsa: &[u8]) -> u16 {
    // The sum covers the LSA from the options field (offset 2); the check
    // bytes are placed so that the whole span sums to zero.
    let data = &lsa[2..];
    let pos = LSA_CHECKSUM_OFFSET - 2;
    let (mut c0, mut c1): (i32, i32) = (0, 0);
    for (i, &b) in data.iter().enumerate() {
        let b = if i == pos || i == pos + 1 { 0 } else { b };
        c0 = (c0 + i32::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    let len = data.len() as i32;
    let x = ((len - pos as i32 - 1) * c0 - c1).rem_euclid(255);
    let y = (510 - c0 - x).rem_euclid(255);
    let x = if x == 0 { 255 } else { x };
    let y = if y == 0 { 255 } else { y };
    u16::from_be_bytes([x as u8, y as u8])
}

/// Whether an LSA's stored checksum is right: the Fletcher sums over the
/// whole LSA (minus age) including the check bytes are both zero.
pub fn lsa_fletcher_ok(lsa: &[u8]) -> bool {
    if lsa.len() < 20 {
        return false;
    }
    let (mut c0, mut c1): (u32, u32) = (0, 0);
    for &b in &lsa[2..] {
        c0 = (c0 + u32::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    c0 == 0 && c1 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_checksum_of_rfc1071_example() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet(&data), !0xddf2);
    }

    #[test]
    fn internet_checksum_of_odd_length_pads_with_zero() {
        assert_eq!(internet(&[0x12]), internet(&[0x12, 0x00]));
    }

    /// Router-LSAs FRR originated, from a captured LS Update (after the
    /// 24-byte header and the 4-byte LSA count).
    fn frr_router_lsa() -> Vec<u8> {
        let b = crate::wire::captures::get("lsu-p2p").bytes;
        let lsa = &b[28..];
        assert_eq!(lsa[3], 1, "first LSA is a Router-LSA");
        let len = u16::from_be_bytes([lsa[18], lsa[19]]) as usize;
        lsa[..len].to_vec()
    }

    #[test]
    fn fletcher_matches_frr() {
        let lsa = frr_router_lsa();
        let stored = u16::from_be_bytes([lsa[16], lsa[17]]);
        assert_eq!(lsa_fletcher(&lsa), stored);
        assert!(lsa_fletcher_ok(&lsa));
    }

    #[test]
    fn fletcher_detects_a_flipped_bit_but_ignores_age() {
        let mut lsa = frr_router_lsa();
        lsa[0] = 0x0e; // age is not covered
        assert!(lsa_fletcher_ok(&lsa));
        lsa[30] ^= 0x04;
        assert!(!lsa_fletcher_ok(&lsa));
    }
}
