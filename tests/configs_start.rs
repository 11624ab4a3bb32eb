//! Every example config in configs/ runs: xlvsd starts on it as
//! configs/xlvsd@.service would start it (with exactly the unit's
//! capabilities, no new privileges, a notify socket and a watchdog),
//! answers `status`, tells systemd READY=1 and pings the watchdog,
//! reloads (RELOADING=1 with MONOTONIC_USEC, then READY=1), and a
//! refused reload fails `xlvsadm reload` the way ExecReload needs; then
//! SIGTERM stops it with status 0. A config it refuses ends the start with
//! status 78 (EX_CONFIG), which the unit does not restart.
//!
//! The lab: one namespace per config with the interfaces it names (veth
//! pairs to a `peer` namespace), each with an address, so the OSPF and
//! `[cluster]` interfaces have one. The configs are copied with
//! `control_socket` in a temporary directory and `pin_dir` under the
//! lab's bpf filesystem, named for their node so that `xlvs-lab down`
//! removes the pins, even when the test fails.

use std::collections::BTreeSet;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use xlvs_tests::{
    bin, control, pid_alive, run, signal, text, unit_capabilities, wait_until, workspace, Child,
    Lab,
};

const LAB: &str = "configs-start";
/// The lab's bpf filesystem (xlvs-lab mounts it for an `exec` line that
/// names it).
const BPFFS: &str = "/run/xlvs/bpf";
const EX_CONFIG: i32 = 78;

/// An example config and the interfaces it names.
struct Example {
    file: PathBuf,
    /// Its lab node: the file's stem (`lb-dr`).
    node: String,
    interfaces: Vec<String>,
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(workspace().join("configs")).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let config = xlvs_config::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let mut interfaces: BTreeSet<String> = config
            .ospf
            .interfaces
            .iter()
            .map(|i| i.name.clone())
            .collect();
        interfaces.extend(config.dataplane.interfaces.iter().cloned());
        interfaces.extend(config.cluster.iter().map(|c| c.interface.clone()));
        let node = file.file_stem().unwrap().to_string_lossy().into_owned();
        out.push(Example {
            file,
            node,
            interfaces: interfaces.into_iter().collect(),
        });
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    assert!(out.len() >= 3, "the three example configs, and more");
    out
}

/// A node per example, its interfaces cabled to `peer`; the Nth interface
/// (sorted) has 10.0.N.13/24 (every node is its own namespace).
fn topology(examples: &[Example]) -> String {
    let mut nodes = String::from("    peer:\n      kind: linux\n      image: debian:12\n");
    let mut links = String::new();
    for (i, e) in examples.iter().enumerate() {
        nodes.push_str(&format!(
            "    {}:\n      kind: linux\n      image: debian:12\n      exec:\n",
            e.node
        ));
        for (j, itf) in e.interfaces.iter().enumerate() {
            nodes.push_str(&format!(
                "        - ip addr add 10.0.{}.13/24 dev {itf}\n",
                j + 1
            ));
            links.push_str(&format!(
                "    - endpoints: [\"{}:{itf}\", \"peer:p{i}e{j}\"]\n",
                e.node
            ));
        }
        // Names the lab bpffs, so xlvs-lab mounts it; `down` removes it.
        nodes.push_str(&format!("        - mkdir -p {}\n", pins(&e.node).display()));
    }
    format!("name: {LAB}\ntopology:\n  nodes:\n{nodes}  links:\n{links}")
}

fn pins(node: &str) -> PathBuf {
    Path::new(BPFFS).join(format!("{LAB}-{node}"))
}

/// The example with its control socket in `dir` and its pins in the lab.
fn adapted(e: &Example, dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(&e.file).unwrap();
    for key in ["control_socket", "pin_dir"] {
        assert!(!text.contains(key), "{}: sets {key}", e.file.display());
    }
    let socket = dir.join(format!("{}.sock", e.node));
    let text = text
        .replacen(
            "[node]\n",
            &format!("[node]\ncontrol_socket = \"{}\"\n", socket.display()),
            1,
        )
        .replacen(
            "[dataplane]\n",
            &format!("[dataplane]\npin_dir = \"{}\"\n", pins(&e.node).display()),
            1,
        );
    let config = dir.join(format!("{}.toml", e.node));
    std::fs::write(&config, text).unwrap();
    (config, socket)
}

/// systemd's end of sd_notify: the datagrams xlvsd sends, each a list of
/// `KEY=VALUE` lines.
struct NotifySocket {
    path: PathBuf,
    sock: UnixDatagram,
    got: Vec<Vec<String>>,
}

impl NotifySocket {
    fn bind(path: PathBuf) -> NotifySocket {
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_nonblocking(true).unwrap();
        NotifySocket {
            path,
            sock,
            got: Vec::new(),
        }
    }

    fn read(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            self.got.push(text.lines().map(str::to_owned).collect());
        }
    }

    /// Waits until a datagram with `line` came (since the last `clear`).
    fn wait_for(&mut self, line: &str) -> Vec<String> {
        wait_until(
            &format!("sd_notify {line}"),
            Duration::from_secs(60),
            || {
                self.read();
                self.got
                    .iter()
                    .find(|d| d.iter().any(|l| l == line))
                    .cloned()
                    .ok_or_else(|| format!("got {:?}", self.got))
            },
        )
    }

    /// Where `line` first came, and where `later` came after it.
    fn order(&mut self, line: &str, later: &str) -> Option<(usize, usize)> {
        self.read();
        let first = self.got.iter().position(|d| d.iter().any(|l| l == line))?;
        let after = self.got[first..]
            .iter()
            .position(|d| d.iter().any(|l| l == later))?;
        Some((first, first + after))
    }

    fn clear(&mut self) {
        self.read();
        self.got.clear();
    }
}

/// setpriv's arguments for the unit's rules: only its capabilities (as
/// root, permitted and effective become the bounding set), no new
/// privileges.
fn as_the_unit() -> Vec<String> {
    let caps: Vec<String> = unit_capabilities()
        .iter()
        .map(|c| format!("+{c}"))
        .collect();
    vec![
        "--inh-caps".into(),
        "-all".into(),
        "--no-new-privs".into(),
        format!("--bounding-set=-all,{}", caps.join(",")),
        "--".into(),
    ]
}

/// xlvsd in `node`'s namespace as the unit runs it, with NOTIFY_SOCKET
/// and WATCHDOG_USEC.
fn start(node: &str, config: &Path, notify: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Child(
        Command::new("ip")
            .args(["netns", "exec", &format!("clab-{LAB}-{node}"), "setpriv"])
            .args(as_the_unit())
            .arg(bin("xlvsd"))
            .arg("--config")
            .arg(config)
            .env("NOTIFY_SOCKET", notify)
            // Pings every second: the test sees one soon.
            .env("WATCHDOG_USEC", "3000000")
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start xlvsd"),
    )
}

/// The capability mask the unit's set means (linux/capability.h).
fn mask(caps: &[String]) -> u64 {
    caps.iter()
        .map(|c| match c.as_str() {
            "net_bind_service" => 10,
            "net_admin" => 12,
            "net_raw" => 13,
            "sys_admin" => 21,
            "perfmon" => 38,
            "bpf" => 39,
            other => panic!("add {other} to this table"),
        })
        .fold(0, |m, bit: u32| m | 1 << bit)
}

/// A line of /proc/PID/status, e.g. `CapEff`.
fn proc_status(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_owned()
}

fn xlvsadm_reload(socket: &Path) -> std::process::Output {
    run(
        &bin("xlvsadm"),
        &["--socket", &socket.to_string_lossy(), "reload"],
    )
}

/// One example, from start to stop.
fn runs(e: &Example, dir: &Path) {
    let (config, socket) = adapted(e, dir);
    let log = dir.join(format!("{}.log", e.node));
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut notify = NotifySocket::bind(dir.join(format!("{}.notify", e.node)));
    let mut daemon = start(&e.node, &config, &notify.path, &log);
    let pid = daemon.0.id() as i32;
    wait_until(
        &format!("{}: status answers", e.node),
        Duration::from_secs(60),
        || {
            if let Some(status) = daemon.0.try_wait().unwrap() {
                panic!("{}: xlvsd exited {status}:\n{}", e.node, logged());
            }
            control(&socket, "status", &[])
        },
    );
    // The pid we signal is xlvsd's (ip netns exec and setpriv exec it),
    // with exactly the unit's capabilities.
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(),
        "xlvsd\n"
    );
    let want = format!("{:016x}", mask(&unit_capabilities()));
    assert_eq!(proc_status(pid, "CapEff"), want, "{}", e.node);
    assert_eq!(proc_status(pid, "CapBnd"), want, "{}", e.node);
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    let ready = notify.wait_for("READY=1");
    assert!(ready.iter().any(|l| l.starts_with("STATUS=")), "{ready:?}");
    notify.wait_for("WATCHDOG=1");

    // A reload of the same file: RELOADING=1 (with when), then READY=1.
    notify.clear();
    let out = xlvsadm_reload(&socket);
    assert!(out.status.success(), "{}: {}", e.node, text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("reloaded: "), "{}: {said}", e.node);
    let reloading = notify.wait_for("RELOADING=1");
    assert!(
        reloading.iter().any(|l| l
            .strip_prefix("MONOTONIC_USEC=")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|us| us > 0))),
        "{reloading:?}"
    );
    notify.wait_for("READY=1");
    assert!(notify.order("RELOADING=1", "READY=1").is_some());

    // A file the daemon refuses: `xlvsadm reload` (ExecReload) fails with
    // the reason, systemd hears the reload end, the daemon runs on.
    let good = std::fs::read_to_string(&config).unwrap();
    let refused = format!("{good}\n[unclosed\n");
    std::fs::write(&config, refused).unwrap();
    notify.clear();
    let out = xlvsadm_reload(&socket);
    assert_eq!(out.status.code(), Some(1), "{}: {}", e.node, text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("unclosed table") && said.contains("nothing changed"),
        "{said}"
    );
    notify.wait_for("READY=1");
    assert!(notify.order("RELOADING=1", "READY=1").is_some());
    std::fs::write(&config, good).unwrap();
    control(&socket, "status", &[]).unwrap();

    // SIGTERM: routes withdrawn, status 0, STOPPING=1 on the way.
    signal(pid, libc::SIGTERM);
    let status = wait_until(
        &format!("{}: xlvsd exits", e.node),
        Duration::from_secs(30),
        || daemon.0.try_wait().unwrap().ok_or("running".to_string()),
    );
    assert_eq!(status.code(), Some(0), "{}:\n{}", e.node, logged());
    assert!(!pid_alive(pid));
    notify.wait_for("STOPPING=1");
    // The socket goes with the daemon; the pins stay (a restart keeps
    // connections) until `xlvs-lab down`.
    assert!(!socket.exists());
    assert!(pins(&e.node).join("globals").exists());
}

#[test]
fn every_example_config_starts_answers_reloads_and_stops() {
    let examples = examples();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{LAB}.clab.yml"));
    std::fs::write(&file, topology(&examples)).unwrap();
    // Taken down when dropped, also on a failure: namespaces, pins.
    let _lab = Lab::up(&file);
    for e in &examples {
        runs(e, dir.path());
    }
}

/// What the journal shows of a run of xlvsd with `log_format =
/// "journald"`: journald runs in a mount namespace of its own (tmpfs over
/// /run/systemd, /run/log and /var/log/journal, so the host's journal is
/// neither used nor touched), xlvsd starts on lb-dr.toml, answers and
/// stops; then `journalctl -p warning` must show the warnings (reals
/// without a MAC, with which real) and not the info lines, which the
/// whole journal has.
const JOURNAL_RUN: &str = r#"
set -eu
xlvsd=$1 xlvsadm=$2 netns=$3 config=$4 socket=$5 out=$6
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/journal /run/log
mount -t tmpfs tmpfs /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
/lib/systemd/systemd-journald >"$out/journald.log" 2>&1 &
journald=$!
trap 'kill $journald 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
ip netns exec "$netns" "$xlvsd" --config "$config" >"$out/stderr" 2>&1 &
daemon=$!
for _ in $(seq 240); do
    "$xlvsadm" --socket "$socket" status >/dev/null 2>&1 && break
    kill -0 $daemon
    sleep 0.25
done
kill -TERM $daemon
wait $daemon
journalctl --sync 2>/dev/null || sleep 1
journalctl --no-pager -o cat -p warning SYSLOG_IDENTIFIER=xlvsd >"$out/warning"
journalctl --no-pager -o cat SYSLOG_IDENTIFIER=xlvsd >"$out/all"
"#;

#[test]
fn logs_reach_the_journal_with_their_priorities() {
    let examples: Vec<Example> = examples()
        .into_iter()
        .filter(|e| e.node == "lb-dr")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{LAB}.clab.yml"));
    std::fs::write(&file, topology(&examples)).unwrap();
    let _lab = Lab::up(&file);
    let (config, socket) = adapted(&examples[0], dir.path());
    xlvs_tests::rewrite(&config, "[node]\n", "[node]\nlog_format = \"journald\"\n");
    let script = dir.path().join("journal.sh");
    std::fs::write(&script, JOURNAL_RUN).unwrap();
    let out = run(
        Path::new("unshare"),
        &[
            "--mount",
            "--propagation",
            "private",
            "bash",
            &script.to_string_lossy(),
            &bin("xlvsd").to_string_lossy(),
            &bin("xlvsadm").to_string_lossy(),
            &format!("clab-{LAB}-lb-dr"),
            &config.to_string_lossy(),
            &socket.to_string_lossy(),
            &dir.path().to_string_lossy(),
        ],
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(
        out.status.success(),
        "{}
journald: {}
xlvsd's stderr: {}",
        text(&out),
        read("journald.log"),
        read("stderr")
    );
    let (warning, all) = (read("warning"), read("all"));
    // Nothing on stderr: it all went to the journal.
    assert_eq!(read("stderr"), "");
    // The fields are in the message: which real has no MAC.
    assert!(
        warning.contains("no MAC for real server") && warning.contains("real=10.0.1.21"),
        "-p warning:\n{warning}"
    );
    assert!(!warning.contains("XDP attached"), "-p warning:\n{warning}");
    assert!(all.contains("XDP attached interface=eth1"), "all:\n{all}");
    assert!(all.contains("xlvsd stopped"), "all:\n{all}");
}

/// A config xlvsd refuses ends the start with 78 (not 1: the unit's
/// RestartPreventExitStatus keeps systemd from restarting it), the
/// reasons on stderr: a file that does not validate, and a valid file
/// the data plane cannot hold (more FULLNAT local addresses than it
/// takes). Under the unit's capabilities, before anything touches the
/// host.
#[test]
fn a_refused_config_exits_78_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let read = |f: &str| std::fs::read_to_string(workspace().join("configs").join(f)).unwrap();
    let (dr, fullnat) = (read("lb-dr.toml"), read("lb-fullnat.toml"));
    let lips: Vec<String> = (1..=65).map(|i| format!("\"10.9.0.{i}\"")).collect();
    let line = fullnat
        .lines()
        .find(|l| l.starts_with("local_addresses"))
        .expect("local_addresses in lb-fullnat.toml");
    let many = fullnat.replace(line, &format!("local_addresses = [{}]", lips.join(", ")));
    let cases = [
        (
            "invalid",
            &dr,
            dr.replace("cost = 10 ", "cost = 0 "),
            "cost",
        ),
        (
            "refused",
            &fullnat,
            many,
            "65 addresses, but the data plane holds at most 64",
        ),
    ];
    for (name, original, text_, reason) in cases {
        assert_ne!(&text_, original, "{name}: the edit applies");
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(&config, text_).unwrap();
        let notify = NotifySocket::bind(dir.path().join(format!("{name}.notify")));
        let log = dir.path().join(format!("{name}.log"));
        let mut daemon = Command::new("setpriv")
            .args(as_the_unit())
            .arg(bin("xlvsd"))
            .arg("--config")
            .arg(&config)
            .env("NOTIFY_SOCKET", &notify.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start xlvsd");
        let status = wait_until(
            &format!("{name}: xlvsd exits"),
            Duration::from_secs(30),
            || daemon.try_wait().unwrap().ok_or("running".to_string()),
        );
        let said = std::fs::read_to_string(&log).unwrap();
        assert_eq!(status.code(), Some(EX_CONFIG), "{name}: {said}");
        assert!(said.contains(reason), "{name}: {said}");
        let mut notify = notify;
        notify.read();
        assert!(
            !notify.got.iter().flatten().any(|l| l == "READY=1"),
            "{name}: a refused start never says READY"
        );
    }
}
