//! Compiles the XDP program (bpf/xlvs.c) with clang-19 into OUT_DIR; the
//! crate embeds the object.

use std::path::PathBuf;
use std::process::Command;

const CLANG: &str = "clang-19";

fn main() {
    println!("cargo:rerun-if-changed=bpf");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("xlvs.o");
    let status = Command::new(CLANG)
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .args(["-c", "bpf/xlvs.c", "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{CLANG} failed to compile bpf/xlvs.c ({s})"),
        Err(e) => panic!(
            "cannot run {CLANG} ({e}): install it with scripts/install-deps.sh \
             (Debian packages clang-19 and libbpf-dev)"
        ),
    }
}
