//! Any bytes: the decoder returns a datagram or an error, never panics,
//! and what it accepts re-encodes to the same bytes; the unauthenticated
//! parse paths (header, payload) never panic and round-trip what they
//! accept; and the core takes any bytes from anyone without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;
use xlvs_sync::wire::{Datagram, Key};
use xlvs_sync::{Config, FlowSync, Mode};

/// The key the corpus's valid datagrams are signed with (the same as
/// tests/samples/mod.rs).
const KEY: &[u8] = b"xlvs-sync test and fuzz key, 32b";

fuzz_target!(|data: &[u8]| {
    let key = Key::new(KEY);
    if let Ok(d) = Datagram::decode(data, &key) {
        assert_eq!(d.encode(&key), data, "canonical encoding");
    }
    if let Ok(d) = Datagram::parse_unauthenticated(data) {
        let again = Datagram::decode(&d.encode(&key), &key).expect("our encoding decodes");
        assert_eq!(again, d);
    }

    // The whole receive path, in the mode that accepts any sender.
    let now = Instant::now();
    let me = Ipv4Addr::new(10, 0, 0, 2);
    let config = Config::new(me, Mode::Group(Ipv4Addr::new(239, 0, 0, 81)), KEY);
    let mut sync = FlowSync::new(config, now, 1).expect("valid config");
    let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 8849);
    sync.handle_datagram(now, from, data);
    sync.handle_datagram(now, from, data);
    while sync.poll_event().is_some() {}
    while sync.poll_transmit(now).is_some() {}
});
