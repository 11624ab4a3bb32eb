//! Any bytes: the decoder returns an error or a packet, never panics, and
//! what it accepts re-encodes and decodes to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xlvs_ospf::wire::{AuthField, Packet};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let key = [7u8; 16];
        let md5 = matches!(p.header.auth, AuthField::Md5 { .. });
        let bytes = p.emit(md5.then_some(&key));
        let again = Packet::parse(&bytes).expect("our own encoding parses");
        assert_eq!(again, p);
    }
});
