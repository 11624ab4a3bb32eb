//! Compiles the XDP programs (bpf/xlvs.c, the director; bpf/decap.c,
//! IPIP decapsulation for TUN reals; bpf/pass.c, what labs attach to a
//! director's veth peers; bpf/floor.c, the bench's new-flow floor) with
//! clang-19 into OUT_DIR; the crate embeds the objects.

use std::path::PathBuf;
use std::process::Command;

const CLANG: &str = "clang-19";

fn main() {
    println!("cargo:rerun-if-changed=bpf");
    for name in ["xlvs", "decap", "pass", "floor"] {
        compile(name);
    }
}

/// bpf/NAME.c -> OUT_DIR/NAME.o
fn compile(name: &str) {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join(format!("{name}.o"));
    let src = format!("bpf/{name}.c");
    let status = Command::new(CLANG)
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .args(["-c", &src, "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{CLANG} failed to compile {src} ({s})"),
        Err(e) => panic!(
            "cannot run {CLANG} ({e}): install it with scripts/install-deps.sh \
             (Debian packages clang-19 and libbpf-dev)"
        ),
    }
}
