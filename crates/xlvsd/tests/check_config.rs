//! Runs the built `xlvsd` binary on the example configs and on broken ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// sysexits.h's EX_CONFIG: a config xlvsd refuses.
const EX_CONFIG: i32 = 78;

fn xlvsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xlvsd"))
        .args(args)
        .output()
        .expect("run xlvsd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Writes `contents` to a file unique to this test and returns its path.
fn temp_config(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xlvsd-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn example_configs_are_ok() {
    let mut checked = 0;
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = xlvsd(&["--check-config", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "OK\n", "{}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the three example configs, found {checked}"
    );
}

#[test]
fn bad_config_lists_errors_and_fails() {
    let good = std::fs::read_to_string(configs_dir().join("lb-dr.toml")).unwrap();
    let bad = good
        .replace("weight = 50\n", "weight = 70000\n")
        .replace("cost = 10 ", "cost = 0 ");
    assert_ne!(bad, good);
    let path = temp_config("bad.toml", &bad);
    let file = path.to_str().unwrap();
    let out = xlvsd(&["--check-config", file]);
    assert_eq!(out.status.code(), Some(EX_CONFIG));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with(&format!("{file}:")), "{stderr}");
    assert!(lines[0].contains("ospf.interface[0].cost"), "{stderr}");
    assert!(lines[1].contains("service[0].real[2].weight"), "{stderr}");
    assert_eq!(lines[2], format!("{file}: 2 errors"));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn missing_file_is_an_error() {
    let out = xlvsd(&["--check-config", "/nonexistent/lb.toml"]);
    assert_eq!(out.status.code(), Some(EX_CONFIG));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/lb.toml: cannot read the file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/nonexistent/lb.toml: 1 error\n"),
        "{stderr}"
    );
}

/// The daemon refuses an invalid config before doing anything (running
/// it is covered by the lab tests in tests/), with EX_CONFIG so systemd
/// does not restart it (RestartPreventExitStatus=78).
#[test]
fn daemon_refuses_an_invalid_config() {
    let path = temp_config("daemon-bad.toml", "[node]\nname = 1\n");
    let out = xlvsd(&["--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(EX_CONFIG));
    assert!(text(&out.stderr).contains("node.name"));
    let _ = std::fs::remove_file(&path);
}

/// A valid file the data plane cannot hold (more FULLNAT local addresses
/// than it takes): the check refuses it exactly as the daemon's start
/// does, same report, same status, before the daemon touches the host (no
/// root needed here). Every scheduler runs: wlc passes.
#[test]
fn check_and_start_refuse_the_same_config() {
    let good = std::fs::read_to_string(configs_dir().join("lb-fullnat.toml")).unwrap();
    let lips: Vec<String> = (1..=65).map(|i| format!("\"10.9.0.{i}\"")).collect();
    let line = good
        .lines()
        .find(|l| l.starts_with("local_addresses"))
        .unwrap();
    let many = good.replace(line, &format!("local_addresses = [{}]", lips.join(", ")));
    let path = temp_config("lips.toml", &many);
    let file = path.to_str().unwrap();
    let check = xlvsd(&["--check-config", file]);
    let start = xlvsd(&["--config", file]);
    for out in [&check, &start] {
        assert_eq!(out.status.code(), Some(EX_CONFIG), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!(
                "{file}: [fullnat] local_addresses: 65 addresses, but the data plane holds at \
                 most 64\n{file}: 1 error\n"
            )
        );
    }
    let _ = std::fs::remove_file(&path);
    let wlc = good.replace("scheduler = \"mh\"", "scheduler = \"wlc\"");
    assert_ne!(wlc, good);
    let path = temp_config("wlc.toml", &wlc);
    let check = xlvsd(&["--check-config", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let _ = std::fs::remove_file(&path);
}
