//! Every ipvsadm command line of the LVS guides our users learned from
//! (tests/fixtures/ipvsadm-seeds.txt) against one running director: the
//! lines that apply to one director work, in order, and `-L -n` then lists
//! what they made in ipvsadm's layout; `-S` fed to `-R` on a cleared
//! director gives the same listing; the lines xlvs refuses fail with their
//! reason and change nothing.
//!
//! The lab: director lb1 (xlvsd, XDP on eth1) linked to a namespace that
//! owns the seeds' real-server addresses, so that direct-routing reals
//! resolve and are listed with their weights.

use std::path::Path;
use std::process::Output;
use std::time::Duration;
use xlvs_tests::{leftovers, text, wait_until, workspace, Lab};

/// The director's node name: its control socket is /run/xlvs/NODE.sock.
const NODE: &str = "seeds-lb1";

const TOPOLOGY: &str = r#"name: ipvsadm-seeds
topology:
  nodes:
    lb1:
      kind: linux
      image: xlvs:latest
      binds: [lb1.toml:/etc/xlvs/xlvs.toml]
      exec:
        - ip addr add 10.0.1.11/24 dev eth1
        - ip addr add 192.168.184.1/24 dev eth1
        - ip addr add 192.168.2.1/24 dev eth1
        - ip addr add 172.18.0.1/16 dev eth1
        - ip addr add 172.17.0.1/16 dev eth1
    reals:
      kind: linux
      image: debian:12
      exec:
        - ip addr add 192.168.184.50/24 dev eth1
        - ip addr add 192.168.184.60/24 dev eth1
        - ip addr add 192.168.2.119/24 dev eth1
        - ip addr add 192.168.2.35/24 dev eth1
        - ip addr add 172.18.136.125/16 dev eth1
        - ip addr add 172.18.135.51/16 dev eth1
  links:
    - endpoints: ["lb1:eth1", "reals:eth1"]
"#;

/// The director starts with a NAT service of its own, which the seeds'
/// `-C` lines remove; a NAT service at start also sizes the NAT table, so
/// the seed's `-m` reals can be added at runtime.
const CONFIG: &str = r#"[node]
name = "seeds-lb1"
router_id = "10.255.0.11"

[ospf]
[[ospf.interface]]
name = "eth1"
network = "broadcast"

[dataplane]
interfaces = ["eth1"]
xdp_mode = "generic"
pin_dir = "/run/xlvs/bpf/ipvsadm-seeds-lb1"
conntrack_entries = 4096

[[service]]
name = "start"
vip = "192.0.2.99"
ports = [80]
forward = "nat"
[service.health]
check = "none"
[[service.real]]
address = "10.0.1.21"
"#;

/// `-L -n` after the [apply] lines: ipvsadm's layout (sorted by protocol,
/// address, port; reals by address), with the seeds' services and weights.
/// Real lines end in ipvsadm's padding, which `check_layout` checks.
const LISTED: &[&str] = &[
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
    "TCP  172.18.134.134:80 wrr",
    "  -> 172.17.0.2:80                Masq    1      0          0",
    "  -> 172.17.0.3:80                Masq    2      0          0",
    "TCP  172.18.140.1:0 wrr persistent 360",
    "  -> 172.18.135.51:0              Route   2      0          0",
    "TCP  172.18.140.1:80 wrr",
    "  -> 172.18.135.51:80             Route   2      0          0",
    "  -> 172.18.136.125:80            Route   1      0          0",
    "TCP  172.18.140.1:443 lc persistent 600 mask 255.255.255.0",
    "  -> 172.18.135.51:443            Route   4      0          0",
    "TCP  192.168.2.118:80 wlc persistent 120",
    "  -> 192.168.2.35:80              Route   1      0          0",
    "  -> 192.168.2.119:80             Route   1      0          0",
    "TCP  192.168.184.10:3306 wrr",
    "  -> 192.168.184.50:3306          Route   1      0          0",
    "  -> 192.168.184.60:3306          Route   1      0          0",
    "UDP  172.18.140.1:53 sh",
    "  -> 172.18.135.51:53             Tunnel  3      0          0",
    "  -> 172.18.136.125:53            Tunnel  0      0          0",
    "UDP  172.18.140.1:514 wlc persistent 60",
];

/// `-S -n` of that table: the lines that rebuild it.
const SAVED: &str = "\
-A -t 172.18.134.134:80 -s wrr
-a -t 172.18.134.134:80 -r 172.17.0.2:80 -m -w 1
-a -t 172.18.134.134:80 -r 172.17.0.3:80 -m -w 2
-A -t 172.18.140.1:0 -s wrr -p 360
-a -t 172.18.140.1:0 -r 172.18.135.51:0 -g -w 2
-A -t 172.18.140.1:80 -s wrr
-a -t 172.18.140.1:80 -r 172.18.135.51:80 -g -w 2
-a -t 172.18.140.1:80 -r 172.18.136.125:80 -g -w 1
-A -t 172.18.140.1:443 -s lc -p 600 -M 255.255.255.0
-a -t 172.18.140.1:443 -r 172.18.135.51:443 -g -w 4
-A -t 192.168.2.118:80 -s wlc -p 120
-a -t 192.168.2.118:80 -r 192.168.2.35:80 -g -w 1
-a -t 192.168.2.118:80 -r 192.168.2.119:80 -g -w 1
-A -t 192.168.184.10:3306 -s wrr
-a -t 192.168.184.10:3306 -r 192.168.184.50:3306 -g -w 1
-a -t 192.168.184.10:3306 -r 192.168.184.60:3306 -g -w 1
-A -u 172.18.140.1:53 -s sh
-a -u 172.18.140.1:53 -r 172.18.135.51:53 -i -w 3
-a -u 172.18.140.1:53 -r 172.18.136.125:53 -i -w 0
-A -u 172.18.140.1:514 -s wlc -p 60
";

/// One fixture entry: `ORIGIN | LINE | NOTE`.
#[derive(Debug)]
struct Entry {
    /// `SEED:LINE`, then `adapted` or `template` if not the seed's own.
    origin: String,
    line: String,
    note: String,
}

impl Entry {
    /// `SEED:LINE` alone.
    fn place(&self) -> &str {
        self.origin.split_whitespace().next().unwrap_or_default()
    }

    /// The arguments for xlvsadm: the words after the program word.
    fn args(&self) -> Vec<&str> {
        let mut words = self.line.split_whitespace();
        let program = words.next().unwrap_or_default();
        // `iptables` is seed 001's slip for ipvsadm on two lines.
        assert!(
            program.rsplit('/').next() == Some("ipvsadm") || program == "iptables",
            "{}: `{}` is not an ipvsadm line",
            self.origin,
            self.line
        );
        words.collect()
    }
}

#[derive(Default)]
struct Fixture {
    apply: Vec<Entry>,
    refuse: Vec<Entry>,
    templates: Vec<Entry>,
}

/// Reads the fixture, strictly: a malformed entry fails the test rather
/// than being skipped.
fn fixture() -> Fixture {
    let path = workspace().join("tests/fixtures/ipvsadm-seeds.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut f = Fixture::default();
    let mut section: Option<&str> = None;
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name);
            continue;
        }
        let mut fields = line.splitn(3, " | ").map(str::trim);
        let (origin, command) = match (fields.next(), fields.next()) {
            (Some(o), Some(c)) if !c.is_empty() => (o, c),
            _ => panic!("{at}: not `ORIGIN | LINE | NOTE`: {line}"),
        };
        let note = fields.next().unwrap_or_default().to_string();
        let mut words = origin.split_whitespace();
        let place = words.next().unwrap_or_default();
        let kind = words.next();
        let well_placed = place
            .split_once(':')
            .is_some_and(|(seed, n)| seed.len() == 3 && n.parse::<u32>().is_ok());
        assert!(well_placed, "{at}: origin `{origin}` is not SEED:LINE");
        assert!(
            matches!(kind, None | Some("adapted" | "template")) && words.next().is_none(),
            "{at}: origin `{origin}`: only `adapted` or `template` may follow SEED:LINE"
        );
        let entry = Entry {
            origin: origin.to_string(),
            line: command.to_string(),
            note,
        };
        match section {
            Some("apply") => {
                assert!(
                    kind.is_none() || !entry.note.is_empty(),
                    "{at}: an {} line needs a note saying why",
                    kind.unwrap_or_default()
                );
                f.apply.push(entry);
            }
            Some("refuse") => {
                assert!(
                    !entry.note.is_empty(),
                    "{at}: a refused line needs its message"
                );
                f.refuse.push(entry);
            }
            Some("templates") => f.templates.push(entry),
            other => panic!("{at}: entry outside [apply], [refuse], [templates]: {other:?}"),
        }
    }
    f
}

/// Nothing in the fixture is left untested: every synopsis is run through
/// at least one concrete line, every adapted line stands for a seed line
/// that is itself tested as refused, and every line has the right program.
#[test]
fn fixture_is_complete() {
    let f = fixture();
    assert!(f.apply.len() >= 40 && f.refuse.len() >= 10 && f.templates.len() >= 10);
    let tested = || f.apply.iter().chain(&f.refuse);
    for t in &f.templates {
        assert!(
            tested().any(|e| e.place() == t.place() && e.origin.ends_with("template")),
            "synopsis {} `{}` has no concrete line",
            t.origin,
            t.line
        );
    }
    for a in f.apply.iter().filter(|e| e.origin.ends_with("adapted")) {
        assert!(
            f.refuse
                .iter()
                .any(|r| r.place() == a.place() && !r.origin.ends_with("adapted")),
            "{}: the seed's own line is not in [refuse]",
            a.origin
        );
    }
    for e in tested() {
        e.args();
    }
}

/// The lab files in a temporary directory (the lab binds paths relative
/// to its topology file).
fn lab_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ipvsadm-seeds.clab.yml"), TOPOLOGY).unwrap();
    std::fs::write(dir.path().join("lb1.toml"), CONFIG).unwrap();
    dir
}

struct Director<'a> {
    lab: &'a Lab,
}

impl Director<'_> {
    /// `xlvsadm --node NODE ARGS...` in the director's namespace.
    fn adm(&self, args: &[&str]) -> Output {
        let mut full = vec!["xlvsadm", "--node", NODE];
        full.extend_from_slice(args);
        self.lab.exec("lb1", &full)
    }

    /// The stdout of a command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.adm(args);
        assert!(out.status.success(), "xlvsadm {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    fn listing(&self) -> String {
        self.ok(&["-L", "-n"])
    }

    /// What a refused line must leave alone: the table and the timeouts.
    fn state(&self) -> (String, String) {
        (self.listing(), self.ok(&["-L", "--timeout"]))
    }

    /// Waits until `-L -n` is the header and `want`; the reals' MACs are
    /// resolved in the background, and until then DR reals list weight 0.
    fn wait_listing(&self, what: &str, want: &[&str]) -> String {
        let version = format!(
            "IP Virtual Server version xlvs {} (size=4096)",
            env!("CARGO_PKG_VERSION")
        );
        let want: Vec<&str> = std::iter::once(version.as_str())
            .chain(want.iter().copied())
            .collect();
        wait_until(what, Duration::from_secs(30), || {
            let listing = self.listing();
            let got: Vec<&str> = listing.lines().map(str::trim_end).collect();
            if got == want {
                Ok(listing.clone())
            } else {
                Err(format!("\n{listing}\nwanted\n{}", want.join("\n")))
            }
        })
    }
}

/// ipvsadm's layout, independently of the values: the title lines, and
/// every real-server line printed as `"  -> %-28s %-7s %-6d %-10u %-10u"`,
/// so each value starts under its title and the line keeps its padding.
fn check_layout(listing: &str) {
    let lines: Vec<&str> = listing.lines().collect();
    assert!(
        lines[0].starts_with("IP Virtual Server version "),
        "{listing}"
    );
    assert_eq!(lines[1], "Prot LocalAddress:Port Scheduler Flags");
    let title = lines[2];
    assert_eq!(
        title,
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
    );
    let columns: Vec<usize> = ["Forward", "Weight", "ActiveConn", "InActConn"]
        .iter()
        .map(|c| title.find(c).unwrap())
        .collect();
    for line in &lines[3..] {
        if !line.starts_with("  -> ") {
            assert!(
                line.starts_with("TCP  ") || line.starts_with("UDP  "),
                "not a service line: {line:?}"
            );
            continue;
        }
        assert_eq!(
            line.len(),
            5 + 28 + 1 + 7 + 1 + 6 + 1 + 10 + 1 + 10,
            "{line:?}"
        );
        for &c in &columns {
            let (before, at) = (line.as_bytes()[c - 1], line.as_bytes()[c]);
            assert!(
                before == b' ' && at != b' ',
                "{line:?}: no value starts at column {c}"
            );
        }
    }
}

/// Runs a refused line: non-zero exit (1 from the daemon, 2 for usage),
/// the expected message, nothing printed, nothing changed.
fn refuse(d: &Director, e: &Entry) {
    let before = d.state();
    let out = d.adm(&e.args());
    let what = format!("{} `{}`", e.origin, e.line);
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{what}: not refused: {}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&e.note),
        "{what}: the message does not say `{}`: {}",
        e.note,
        text(&out)
    );
    assert!(out.stdout.is_empty(), "{what}: {}", text(&out));
    assert_eq!(d.state(), before, "{what} changed the director");
}

/// Runs an applied line: exit 0, no complaint; a change prints nothing, a
/// listing, save or help something.
fn apply(d: &Director, e: &Entry) {
    let args = e.args();
    let out = d.adm(&args);
    let what = format!("{} `{}`", e.origin, e.line);
    assert!(out.status.success(), "{what}: {}", text(&out));
    assert!(out.stderr.is_empty(), "{what}: {}", text(&out));
    let shows = args
        .iter()
        .any(|a| matches!(*a, "-L" | "-l" | "-S" | "--help"));
    assert_eq!(!out.stdout.is_empty(), shows, "{what}: {}", text(&out));
    if args == ["-C"] {
        assert_eq!(d.listing().lines().count(), 3, "{what} left services");
    }
}

#[test]
fn seed_lines_on_one_director() {
    let f = fixture();
    let dir = lab_files();
    let lab = Lab::up(&dir.path().join("ipvsadm-seeds.clab.yml"));
    let d = Director { lab: &lab };
    wait_until("xlvsd lists its service", Duration::from_secs(30), || {
        let out = d.adm(&["-L", "-n"]);
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && listing.contains("TCP  192.0.2.99:80 mh"))
            .then_some(())
            .ok_or_else(|| text(&out))
    });

    // Refused first, against the director's own config: each says why and
    // leaves it as it was.
    for e in &f.refuse {
        refuse(&d, e);
    }
    assert!(d.listing().contains("TCP  192.0.2.99:80 mh"));

    for e in &f.apply {
        apply(&d, e);
    }
    let listing = d.wait_listing("the table the seed lines make", LISTED);
    check_layout(&listing);
    assert_eq!(
        d.ok(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 30 5 60\n"
    );

    // -S | -R on a cleared director gives the same listing.
    let saved = d.ok(&["-S", "-n"]);
    assert_eq!(saved, SAVED);
    d.ok(&["-C"]);
    d.wait_listing("cleared", &LISTED[..2]);
    let file = dir.path().join("saved");
    std::fs::write(&file, &saved).unwrap();
    restore(&d, &file);
    let again = d.wait_listing("restored", LISTED);
    assert_eq!(again, listing);

    let out = lab.down();
    assert!(out.status.success(), "xlvs-lab down: {}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// `xlvsadm -R < FILE` in the director's namespace.
fn restore(d: &Director, file: &Path) {
    let cmd = format!("xlvsadm --node {NODE} -R < {}", file.display());
    let out = d.lab.exec("lb1", &["bash", "-c", &cmd]);
    assert!(out.status.success(), "-R: {}", text(&out));
}
