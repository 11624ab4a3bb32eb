//! Any bytes: the Control packet decoder returns an error or a packet,
//! never panics, and what it accepts re-encodes and decodes to the same
//! packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xlvs_bfd::ControlPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ControlPacket::parse(data) {
        let again = ControlPacket::parse(&p.to_bytes()).expect("our own encoding parses");
        assert_eq!(again, p);
    }
});
