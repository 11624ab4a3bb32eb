//! Replays the fuzzer's corpus (fuzz/corpus/control, kept in the repo):
//! the decoder never panics, and what it accepts re-encodes to the same
//! packet. The fuzzer itself: `RUSTC_BOOTSTRAP=1 cargo fuzz run control`
//! in crates/bfd (docs/bfd.md).

use xlvs_bfd::ControlPacket;

#[test]
fn corpus_replays_without_panics_and_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/control");
    let (mut inputs, mut accepted) = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        inputs += 1;
        if let Ok(p) = ControlPacket::parse(&data) {
            accepted += 1;
            let again = ControlPacket::parse(&p.to_bytes()).expect("re-encoded parses");
            assert_eq!(again, p);
        }
    }
    assert!(inputs >= 30, "corpus has {inputs} inputs");
    assert!(
        accepted > 0 && accepted < inputs,
        "{accepted} of {inputs} accepted"
    );
}
