//! xlvs-lab's promises: invalid files fail before anything is built, a
//! failed `up` tears down what it built, and `up` twice is refused.

use std::path::Path;
use std::time::Duration;
use xlvs_tests::{bin, leftovers, require_root, run, text, wait_until, workspace, HostLock, Lab};

/// A small lab in a temporary directory: two FRR routers on a bridge and
/// a host whose exec line is `EXEC`.
fn write_lab(dir: &Path, name: &str, exec: &str) -> std::path::PathBuf {
    let tri = workspace().join("labs/frr-triangle");
    for r in ["r1", "r2"] {
        std::fs::create_dir_all(dir.join(r)).unwrap();
        std::fs::copy(tri.join(r).join("frr.conf"), dir.join(r).join("frr.conf")).unwrap();
    }
    std::fs::copy(tri.join("daemons"), dir.join("daemons")).unwrap();
    let file = dir.join("lab.clab.yml");
    std::fs::write(
        &file,
        format!(
            r#"name: {name}
topology:
  kinds:
    frr:
      binds: [daemons:/etc/frr/daemons]
  nodes:
    r1: {{kind: frr, binds: [r1/frr.conf:/etc/frr/frr.conf]}}
    r2: {{kind: frr, binds: [r2/frr.conf:/etc/frr/frr.conf]}}
    sw: {{kind: bridge}}
    h1:
      kind: linux
      image: debian:12
      exec: ["ip addr add 10.9.0.10/24 dev eth1", "{exec}"]
  links:
    - endpoints: ["r1:eth1", "sw:p1"]
    - endpoints: ["r2:eth1", "sw:p2"]
    - endpoints: ["h1:eth1", "sw:p3"]
"#
        ),
    )
    .unwrap();
    file
}

#[test]
fn invalid_topology_fails_before_anything_is_built() {
    require_root();
    let _lock = HostLock::take();
    let dir = tempfile::tempdir().unwrap();
    let file = write_lab(dir.path(), "xt-invalid", "true");
    let yaml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"h1:eth1\", \"sw:p3\"", "\"h9:eth1\", \"sw:p1\"");
    std::fs::write(&file, yaml).unwrap();
    let out = run(&bin("xlvs-lab"), &["up", &file.to_string_lossy()]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("node \"h9\" is not defined"), "{msg}");
    assert!(msg.contains("sw:p1 is already used by link 0"), "{msg}");
    assert_eq!(leftovers("xt-invalid"), Vec::<String>::new());
}

#[test]
fn failed_up_tears_down_what_it_built() {
    require_root();
    let _lock = HostLock::take();
    let dir = tempfile::tempdir().unwrap();
    let file = write_lab(dir.path(), "xt-fail", "false");
    let out = run(&bin("xlvs-lab"), &["up", &file.to_string_lossy()]);
    assert!(!out.status.success(), "up should fail: {}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("node h1") && msg.contains("`false` failed"),
        "{msg}"
    );
    assert_eq!(leftovers("xt-fail"), Vec::<String>::new());
    // The routers' daemons were started and must be gone too.
    let ns_procs = run(Path::new("ip"), &["netns", "list"]);
    assert!(!String::from_utf8_lossy(&ns_procs.stdout).contains("clab-xt-fail-"));
}

#[test]
fn up_twice_is_refused_and_a_second_lab_coexists() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_lab(dir.path(), "xt-twice", "true");
    let lab = Lab::up(&file);
    let pids = lab.pids();
    let out = lab.xlvs_lab(&["up"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("already up"), "{}", text(&out));
    assert_eq!(lab.pids(), pids);
    assert!(pids.iter().all(|&p| xlvs_tests::pid_alive(p)));

    // The same topology under another name runs beside it, and going down
    // takes only its own namespaces.
    let dir2 = tempfile::tempdir().unwrap();
    let file2 = write_lab(dir2.path(), "xt-other", "true");
    let out = run(&bin("xlvs-lab"), &["up", &file2.to_string_lossy()]);
    let other_down = || run(&bin("xlvs-lab"), &["down", &file2.to_string_lossy()]);
    if !out.status.success() {
        other_down();
        panic!("second lab: {}", text(&out));
    }
    let out = other_down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers("xt-other"), Vec::<String>::new());
    assert!(pids.iter().all(|&p| xlvs_tests::pid_alive(p)));
    // The bridge node joins r1 and r2 (10.0.12.0/31 and .1 from their
    // frr.conf) and h1.
    wait_until(
        "r1 reaches r2 across the bridge",
        Duration::from_secs(10),
        || {
            let out = lab.exec("r1", &["ping", "-c", "1", "-W", "1", "10.0.12.1"]);
            out.status.success().then_some(()).ok_or_else(|| text(&out))
        },
    );
    let out = lab.exec("h1", &["ip", "-br", "addr", "show", "eth1"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("10.9.0.10/24"),
        "{}",
        text(&out)
    );
    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers("xt-twice"), Vec::<String>::new());
}

#[test]
fn a_bird_config_error_names_the_line_and_leaves_nothing() {
    require_root();
    let _lock = HostLock::take();
    let dir = tempfile::tempdir().unwrap();
    // `scan time` takes a number.
    std::fs::write(
        dir.path().join("bird.conf"),
        "router id 10.0.0.1;\nprotocol device {\n  scan time x;\n}\n",
    )
    .unwrap();
    let file = dir.path().join("lab.clab.yml");
    std::fs::write(
        &file,
        "name: xt-badbird\ntopology:\n  nodes:\n    \
         r1: {kind: bird, binds: [bird.conf:/etc/bird/bird.conf]}\n",
    )
    .unwrap();
    let out = run(&bin("xlvs-lab"), &["up", &file.to_string_lossy()]);
    assert!(!out.status.success(), "up should fail: {}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("node r1: `bird` exited right after it started")
            && msg.contains("bird.conf:3:"),
        "{msg}"
    );
    assert_eq!(leftovers("xt-badbird"), Vec::<String>::new());
}
