//! `xlvsd --check-config` on configs the daemon runs but warns about: a
//! scheduler that chooses on each director, on a node without [cluster]
//! flow sync. The warning goes to stderr beside `OK`, the exit status stays
//! 0 (the daemon runs the file), and the same config with flow sync earns
//! none.
//!
//! Written for the data plane that runs every scheduler: until
//! forwarder/translate.rs stops refusing rr and wlc, the check refuses
//! these files instead and this test fails.

use std::path::{Path, PathBuf};
use std::process::Output;

fn check(path: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xlvsd"))
        .arg("--check-config")
        .arg(path)
        .output()
        .expect("run xlvsd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes `contents` to a file unique to this test process.
fn temp_config(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xlvsd-warnings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn warning(file: &str, service: &str, scheduler: &str) -> String {
    format!(
        "{file}: warning: service `{service}`: scheduler \"{scheduler}\" chooses on each \
         director and there is no [cluster] flow sync: connections moved between directors \
         will be rescheduled (mh, sh and dh choose alike on every director)\n"
    )
}

#[test]
fn a_per_director_scheduler_without_sync_is_ok_with_a_warning() {
    let dr = example("lb-dr.toml");
    assert!(
        !dr.contains("[cluster]"),
        "lb-dr.toml is the node without sync"
    );
    let wlc = dr.replace("scheduler = \"mh\"", "scheduler = \"wlc\"");
    assert_ne!(wlc, dr);
    let path = temp_config("wlc.toml", &wlc);
    let file = path.to_str().unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OK\n");
    assert_eq!(text(&out.stderr), warning(file, "web", "wlc"));
}

#[test]
fn flow_sync_silences_the_warning() {
    let fullnat = example("lb-fullnat.toml");
    assert!(fullnat.contains("[cluster]"));
    let rr = fullnat.replacen("scheduler = \"mh\"", "scheduler = \"rr\"", 1);
    assert_ne!(rr, fullnat);
    let path = temp_config("rr-cluster.toml", &rr);
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OK\n");
    assert_eq!(text(&out.stderr), "");

    // The same file without [cluster] and the keys under it.
    let start = rr.find("[cluster]").unwrap();
    let end = start + rr[start..].find("\n\n").unwrap();
    let lone = format!("{}{}", &rr[..start], &rr[end..]);
    let path = temp_config("rr-alone.toml", &lone);
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        warning(path.to_str().unwrap(), "shop", "rr")
    );
}
