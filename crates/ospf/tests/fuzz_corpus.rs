//! Replays the fuzzer's corpus (fuzz/corpus/packet, kept in the repo): the
//! decoder never panics, and what it accepts re-encodes to the same packet.
//! The fuzzer itself: `RUSTC_BOOTSTRAP=1 cargo fuzz run packet` in
//! crates/ospf (see docs/ospf.md).

use xlvs_ospf::wire::{AuthField, Packet};

#[test]
fn corpus_replays_without_panics_and_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/packet");
    let mut inputs = 0;
    let mut accepted = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        inputs += 1;
        if let Ok(p) = Packet::parse(&data) {
            accepted += 1;
            let key = [7u8; 16];
            let md5 = matches!(p.header.auth, AuthField::Md5 { .. });
            let again = Packet::parse(&p.emit(md5.then_some(&key))).expect("re-encoded parses");
            assert_eq!(again, p);
        }
    }
    assert!(inputs >= 10, "corpus has {inputs} inputs");
    assert!(accepted > 0, "no corpus input is a valid packet");
}
