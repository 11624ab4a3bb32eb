//! `xlvsadm realserver up|status|down` in a namespace of its own, cabled
//! to a second one that plays the director: up makes the real answer for
//! the VIP when it is routed to it (DR) and stay silent in ARP; status
//! agrees; up twice changes nothing; down restores every sysctl and
//! address exactly as they were (values set before up stay set); bad
//! input and a non-root caller change nothing. TUN with xlvs-decap
//! attaches and detaches its XDP program; TUN with the kernel's ipip
//! works or says what is missing.
//!
//! Everything is named after this test's pid and removed on drop, even
//! when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::Output;
use xlvs_tests::{bin, require_root, run, text, HostLock};

const VIP: &str = "192.0.2.77";
const REAL_IP: &str = "10.77.0.2";
const PEER_IP: &str = "10.77.0.1";
const STATE_BASE: &str = "/run/xlvs/realserver/netns";

/// A real-server namespace cabled to a peer namespace, and a bpf
/// filesystem for xlvs-decap's pins (`ip netns exec` hides /sys/fs/bpf).
struct Pair {
    real: String,
    peer: String,
    bpffs: PathBuf,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let id = std::process::id();
        let pair = Pair {
            real: format!("xlvs-rs-{tag}-{id}-real"),
            peer: format!("xlvs-rs-{tag}-{id}-peer"),
            bpffs: PathBuf::from(format!("/run/xlvs-rs-{tag}-{id}-bpf")),
        };
        ip(&["netns", "add", &pair.real]);
        ip(&["netns", "add", &pair.peer]);
        ip(&[
            "link", "add", "eth1", "netns", &pair.real, "type", "veth", "peer", "name", "eth1",
            "netns", &pair.peer,
        ]);
        for (ns, addr) in [(&pair.real, REAL_IP), (&pair.peer, PEER_IP)] {
            pair.ok(
                ns,
                &["ip", "addr", "add", &format!("{addr}/24"), "dev", "eth1"],
            );
            pair.ok(ns, &["ip", "link", "set", "eth1", "up"]);
            pair.ok(ns, &["ip", "link", "set", "lo", "up"]);
        }
        std::fs::create_dir_all(&pair.bpffs).unwrap();
        let out = run(
            Path::new("mount"),
            &["-t", "bpf", "bpf", &pair.bpffs.to_string_lossy()],
        );
        assert!(out.status.success(), "mount bpffs: {}", text(&out));
        pair
    }

    fn exec(&self, ns: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["netns", "exec", ns];
        args.extend_from_slice(cmd);
        run(Path::new("ip"), &args)
    }

    fn ok(&self, ns: &str, cmd: &[&str]) -> Output {
        let out = self.exec(ns, cmd);
        assert!(out.status.success(), "{ns}: {cmd:?}: {}", text(&out));
        out
    }

    /// `xlvsadm realserver ARGS` in the real's namespace.
    fn xlvsadm(&self, args: &[&str]) -> Output {
        let x = bin("xlvsadm");
        let mut cmd = vec![x.to_str().unwrap(), "realserver"];
        cmd.extend_from_slice(args);
        let out = self.exec(&self.real, &cmd);
        eprintln!("$ xlvsadm realserver {}\n{}", args.join(" "), text(&out));
        out
    }

    fn state_dir(&self) -> PathBuf {
        Path::new(STATE_BASE).join(&self.real)
    }

    /// The real's sysctls and addresses that realserver may touch.
    fn snapshot(&self) -> Snapshot {
        let sysctls = [
            "net.ipv4.conf.all.arp_ignore",
            "net.ipv4.conf.all.arp_announce",
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.eth1.arp_ignore",
            "net.ipv4.conf.lo.arp_announce",
        ]
        .iter()
        .map(|k| {
            let out = self.ok(&self.real, &["sysctl", "-n", k]);
            (
                k.to_string(),
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            )
        })
        .collect();
        let addresses = String::from_utf8_lossy(
            &self
                .ok(&self.real, &["ip", "-4", "-o", "addr", "show"])
                .stdout,
        )
        .lines()
        .map(|l| l.split("valid_lft").next().unwrap_or(l).trim().to_string())
        .collect();
        let links = String::from_utf8_lossy(&self.ok(&self.real, &["ip", "-o", "link"]).stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        Snapshot {
            sysctls,
            addresses,
            links,
        }
    }

    /// Whether the peer reaches the VIP with `ping` (one try).
    fn ping_vip(&self) -> bool {
        self.exec(&self.peer, &["ping", "-c", "1", "-W", "1", VIP])
            .status
            .success()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.real, &self.peer] {
            let _ = run(Path::new("ip"), &["netns", "del", ns]);
        }
        let _ = run(Path::new("umount"), &[&self.bpffs.to_string_lossy()]);
        let _ = std::fs::remove_dir(&self.bpffs);
        let _ = std::fs::remove_dir_all(self.state_dir());
        // Empty unless others (a lab's reals) have records there.
        let _ = std::fs::remove_dir(STATE_BASE);
        let _ = std::fs::remove_dir(Path::new(STATE_BASE).parent().unwrap());
    }
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    sysctls: Vec<(String, String)>,
    addresses: Vec<String>,
    links: Vec<String>,
}

fn ip(args: &[&str]) {
    let out = run(Path::new("ip"), args);
    assert!(out.status.success(), "ip {args:?}: {}", text(&out));
}

fn record(pair: &Pair) -> Option<serde_json::Value> {
    let p = pair.state_dir().join(format!("{VIP}.json"));
    std::fs::read_to_string(p)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("a JSON record"))
}

#[test]
fn dr_up_status_down_restores_exactly() {
    require_root();
    let _lock = HostLock::take();
    let pair = Pair::new("dr");
    // The peer routes the VIP on-link (ARP decides who answers) ...
    pair.ok(
        &pair.peer,
        &["ip", "route", "add", &format!("{VIP}/32"), "dev", "eth1"],
    );
    // ... and an operator had already set arp_announce: up leaves it and
    // down must not reset it.
    pair.ok(
        &pair.real,
        &["sysctl", "-w", "net.ipv4.conf.all.arp_announce=2"],
    );
    let before = pair.snapshot();

    assert_eq!(
        pair.xlvsadm(&["status", "--vip", VIP]).status.code(),
        Some(1)
    );
    let out = pair.xlvsadm(&["up", "--vip", VIP, "--mode", "dr"]);
    assert!(out.status.success());
    let r = record(&pair).expect("up records what it changed");
    let changed: Vec<&str> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().or(c["address"].as_str()).unwrap())
        .collect();
    assert_eq!(changed, ["net.ipv4.conf.all.arp_ignore", VIP]);
    let after_up = pair.snapshot();
    assert!(after_up
        .addresses
        .iter()
        .any(|a| a.contains(&format!("inet {VIP}/32"))));
    assert!(after_up
        .sysctls
        .contains(&("net.ipv4.conf.all.arp_ignore".into(), "1".into())));
    assert_eq!(
        pair.xlvsadm(&["status", "--vip", VIP]).status.code(),
        Some(0)
    );

    // The real keeps quiet in ARP for the VIP on its lo...
    assert!(!pair.ping_vip(), "the real answered ARP for its VIP");
    // ... and answers for it when the VIP is routed to it, as a DR
    // director's frames are.
    pair.ok(&pair.peer, &["ip", "neigh", "flush", "dev", "eth1"]);
    pair.ok(
        &pair.peer,
        &[
            "ip",
            "route",
            "replace",
            &format!("{VIP}/32"),
            "via",
            REAL_IP,
        ],
    );
    assert!(pair.ping_vip(), "the real does not answer for the VIP");

    // Up again: nothing to change, the record as it was.
    let out = pair.xlvsadm(&["up", "--vip", VIP, "--mode", "dr"]);
    assert!(out.status.success());
    assert!(text(&out).contains("nothing to change"));
    assert_eq!(record(&pair), Some(r));
    assert_eq!(pair.snapshot(), after_up);

    let out = pair.xlvsadm(&["down", "--vip", VIP]);
    assert!(out.status.success());
    assert_eq!(pair.snapshot(), before, "down restores exactly what was");
    assert!(!pair.state_dir().exists(), "the record goes with down");
    assert_eq!(
        pair.xlvsadm(&["status", "--vip", VIP]).status.code(),
        Some(1)
    );
    // Down again: nothing recorded, nothing changed.
    assert!(pair.xlvsadm(&["down", "--vip", VIP]).status.success());
    assert_eq!(pair.snapshot(), before);
}

#[test]
fn bad_input_and_non_root_change_nothing() {
    require_root();
    let _lock = HostLock::take();
    let pair = Pair::new("bad");
    let before = pair.snapshot();
    for (args, says) in [
        (vec!["up", "--vip", "2001:db8::1"], "not an IPv4 address"),
        (vec!["up", "--vip", "192.0.2.300"], "not an IPv4 address"),
        (
            vec!["up", "--vip", VIP, "--mode", "nat"],
            "invalid value 'nat'",
        ),
        (
            vec!["up", "--vip", VIP, "--decap", "xdp"],
            "--mode tun only",
        ),
        (
            vec!["up", "--vip", VIP, "--mode", "tun", "--decap", "xdp"],
            "--interface",
        ),
    ] {
        let out = pair.xlvsadm(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let x = bin("xlvsadm");
    let out = pair.exec(
        &pair.real,
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            x.to_str().unwrap(),
            "realserver",
            "up",
            "--vip",
            VIP,
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("must run as root"), "{}", text(&out));
    assert_eq!(pair.snapshot(), before);
    assert!(record(&pair).is_none());
}

#[test]
fn tun_xdp_attaches_decap_and_down_detaches_it() {
    require_root();
    let _lock = HostLock::take();
    let pair = Pair::new("tun");
    bin("xlvs-decap");
    let before = pair.snapshot();
    let pin = pair.bpffs.join("decap");
    let pin_arg = pin.to_string_lossy().into_owned();
    let options = [
        "--vip",
        VIP,
        "--mode",
        "tun",
        "--decap",
        "xdp",
        "--interface",
        "eth1",
        "--xdp-mode",
        "generic",
        "--pin",
        &pin_arg,
    ];
    let up = [&["up"][..], &options].concat();
    assert!(pair.xlvsadm(&up).status.success());
    let link = pair.ok(&pair.real, &["ip", "link", "show", "eth1"]);
    assert!(
        text(&link).contains("xdpgeneric"),
        "no XDP program on eth1: {}",
        text(&link)
    );
    let stats = run(&bin("xlvs-decap"), &["stats", "--pin", &pin_arg]);
    assert!(stats.status.success(), "{}", text(&stats));
    let status = [&["status"][..], &options].concat();
    assert_eq!(pair.xlvsadm(&status).status.code(), Some(0));
    // Without --mode, status takes what up recorded.
    assert_eq!(
        pair.xlvsadm(&["status", "--vip", VIP]).status.code(),
        Some(0)
    );
    let again = pair.xlvsadm(&up);
    assert!(
        text(&again).contains("nothing to change"),
        "{}",
        text(&again)
    );

    assert!(pair.xlvsadm(&["down", "--vip", VIP]).status.success());
    assert!(!pin.exists(), "down leaves the pins");
    assert_eq!(pair.snapshot(), before, "down restores exactly what was");
}

#[test]
fn tun_kernel_sets_up_tunl0_or_says_what_is_missing() {
    require_root();
    let _lock = HostLock::take();
    let pair = Pair::new("ipip");
    let before = pair.snapshot();
    let out = pair.xlvsadm(&["up", "--vip", VIP, "--mode", "tun"]);
    let ipip_there = Path::new("/sys/module/ipip").exists()
        || run(Path::new("sh"), &["-c", "modprobe -n -q ipip"])
            .status
            .success();
    if !ipip_there {
        // This machine's case: no ipip module to load.
        assert!(!out.status.success());
        assert!(text(&out).contains("ipip module"), "{}", text(&out));
        assert!(text(&out).contains("--decap xdp"), "{}", text(&out));
        assert_eq!(pair.snapshot(), before, "a refused up changes nothing");
        return;
    }
    assert!(out.status.success());
    let link = pair.ok(&pair.real, &["ip", "link", "show", "tunl0"]);
    assert!(text(&link).contains(",UP"), "{}", text(&link));
    let rp = pair.ok(
        &pair.real,
        &["sysctl", "-n", "net.ipv4.conf.tunl0.rp_filter"],
    );
    assert_ne!(String::from_utf8_lossy(&rp.stdout).trim(), "1");
    assert_eq!(
        pair.xlvsadm(&["status", "--vip", VIP]).status.code(),
        Some(0)
    );
    assert!(pair.xlvsadm(&["down", "--vip", VIP]).status.success());
    let after = pair.snapshot();
    // The module may stay loaded (in use elsewhere): tunl0 is then down,
    // and everything else as it was.
    assert_eq!(after.sysctls, before.sysctls);
    assert_eq!(after.addresses, before.addresses);
}

/// docs/dataplane.md's xlvs-decap commands, by hand on a real: attached
/// and pinned, counting, detached; then attached until a signal.
#[test]
fn xlvs_decap_by_hand_attaches_counts_and_detaches() {
    require_root();
    let _lock = HostLock::take();
    let pair = Pair::new("decap");
    let decap = bin("xlvs-decap");
    let decap = decap.to_str().unwrap();
    let pin = pair.bpffs.join("by-hand");
    let pin = pin.to_str().unwrap();
    let attach = ["attach", "eth1", "--pin", pin, "--mode", "generic"];
    pair.ok(&pair.real, &[&[decap][..], &attach].concat());
    let link = pair.ok(&pair.real, &["ip", "link", "show", "eth1"]);
    assert!(text(&link).contains("xdpgeneric"), "{}", text(&link));
    let stats = pair.ok(&pair.real, &[decap, "stats", "--pin", pin]);
    assert!(text(&stats).contains("pass_not_ours"), "{}", text(&stats));
    pair.ok(&pair.real, &[decap, "detach", "--pin", pin]);
    let link = pair.ok(&pair.real, &["ip", "link", "show", "eth1"]);
    assert!(!text(&link).contains("xdp"), "{}", text(&link));
    assert!(!Path::new(pin).exists(), "detach removes the pin");

    // Without --pin it stays attached until SIGTERM, and then is gone.
    let child = std::process::Command::new("ip")
        .args([
            "netns", "exec", &pair.real, decap, "attach", "eth1", "--mode", "generic",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed by pid if an assertion fails first (`ip netns exec` execs it).
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Stop(child);
    xlvs_tests::wait_until("attached", std::time::Duration::from_secs(10), || {
        let link = pair.exec(&pair.real, &["ip", "link", "show", "eth1"]);
        text(&link)
            .contains("xdpgeneric")
            .then_some(())
            .ok_or(text(&link))
    });
    xlvs_tests::signal(child.0.id() as i32, libc::SIGTERM);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let link = pair.ok(&pair.real, &["ip", "link", "show", "eth1"]);
    assert!(!text(&link).contains("xdp"), "{}", text(&link));
}
