//! configs/xlvsd@.service as systemd reads it: `systemd-analyze verify`
//! finds nothing to say. verify also checks that ExecStart's and
//! ExecReload's programs exist, so it runs on a copy whose /usr/local/bin
//! paths point at the built binaries: nothing is installed on the host.
//! (No systemd runs as PID 1 where CI runs; tests/configs_start.rs runs
//! xlvsd as the unit would: its capabilities, its notify socket.)

use std::path::{Path, PathBuf};
use xlvs_tests::{bin, run, text, unit_file};

/// The unit with its programs at the built binaries, written to `dir`.
fn unit_copy(dir: &Path, extra: &str) -> PathBuf {
    let unit = unit_file();
    let mut copy = unit.clone();
    for program in ["xlvsd", "xlvsadm"] {
        let installed = format!("/usr/local/bin/{program} ");
        assert!(unit.contains(&installed), "the unit runs {installed}");
        copy = copy.replace(&installed, &format!("{} ", bin(program).display()));
    }
    let copy = copy.replace("[Install]", &format!("{extra}[Install]"));
    let path = dir.join("xlvsd@.service");
    std::fs::write(&path, copy).unwrap();
    path
}

/// What `systemd-analyze verify` says of the unit at `path`: its exit
/// status, and its lines about our unit (verify exits 0 after warnings
/// such as an unknown key, so they count as failures; lines about the
/// host's own units do not).
fn verify(path: &Path) -> (bool, Vec<String>) {
    let out = run(
        Path::new("systemd-analyze"),
        &["verify", &path.to_string_lossy()],
    );
    let ours = String::from_utf8_lossy(&out.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&out.stdout).lines())
        .filter(|l| l.contains("xlvsd"))
        .map(str::to_owned)
        .collect();
    (out.status.success(), ours)
}

#[test]
fn systemd_analyze_verify_has_nothing_to_say() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = verify(&unit_copy(dir.path(), ""));
    assert!(ok && said.is_empty(), "{said:#?}");
}

/// The check above can fail: a key systemd does not know, or a value it
/// cannot parse, is reported (and only ignored by systemd).
#[test]
fn a_unit_systemd_would_half_ignore_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = unit_copy(dir.path(), "[Service]\nRestartPreventExitStatus=EX_NOPE\n");
    let (_, said) = verify(&path);
    assert!(
        said.iter().any(|l| l.contains("EX_NOPE")),
        "verify said: {said:#?}"
    );
}

/// What the unit promises that the code must keep: a refused config
/// exits 78 and is not restarted; a graceful restart exits 75 and is.
#[test]
fn exit_codes_agree_with_xlvsd() {
    let unit = unit_file();
    for line in [
        "RestartPreventExitStatus=78",
        "SuccessExitStatus=75",
        "RestartForceExitStatus=75",
        "Type=notify",
        "ExecReload=/usr/local/bin/xlvsadm --node %i reload",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[node]\nname = 1\n").unwrap();
    let out = run(&bin("xlvsd"), &["--config", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
}
