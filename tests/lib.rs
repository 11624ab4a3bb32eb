//! Helpers shared by the lab-based integration tests: run the workspace
//! binaries, bring labs up and always down again, wait with bounds, and
//! find anything a lab left behind.
//!
//! Lab tests need root (namespaces) and FRR; `scripts/test.sh` installs
//! what is missing and builds the binaries before running them.

pub mod cluster;
pub mod loss;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The workspace root (tests/ is one level below it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The directory with the built binaries: a test executable runs from
/// target/<profile>/deps/, the binaries sit in target/<profile>/.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    dir.to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} is not built: run `cargo build --workspace` before the lab tests (scripts/test.sh does)",
        p.display()
    );
    p
}

/// configs/xlvsd@.service, as shipped.
pub fn unit_file() -> String {
    std::fs::read_to_string(workspace().join("configs/xlvsd@.service")).expect("the unit")
}

/// The capabilities the unit leaves xlvsd (`CapabilityBoundingSet=`), in
/// setpriv's spelling: `net_admin`, `bpf`, ...
pub fn unit_capabilities() -> Vec<String> {
    let unit = unit_file();
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit has a CapabilityBoundingSet=");
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

/// Lab tests change the host's network namespaces: they need root, and
/// they fail (not skip) without it so CI never passes by doing nothing.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "lab tests need root (namespaces, FRR)");
}

/// One lab test at a time on a host, across test binaries: labs share
/// FRR's run directory and the machine's two cores.
pub struct HostLock {
    _file: File,
}

impl HostLock {
    pub fn take() -> HostLock {
        let f = File::create("/run/xlvs-lab-tests.lock").expect("create lock file");
        // SAFETY: flock on a descriptor we own; blocks until free.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock failed");
        HostLock { _file: f }
    }
}

/// Longest a command in a test may run.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// Runs a command and returns its output, bounded in time: past
/// COMMAND_LIMIT the command is killed (by pid) and the test fails. A
/// daemon the command started may keep its output pipes open; we stop
/// reading them shortly after the command itself exits.
pub fn run(program: &Path, args: &[&str]) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
        rx
    };
    let out_rx = reader(Box::new(child.stdout.take().expect("piped")));
    let err_rx = reader(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} ran longer than {COMMAND_LIMIT:?}",
                program.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let grace = Duration::from_secs(2);
    Output {
        status,
        stdout: out_rx.recv_timeout(grace).unwrap_or_default(),
        stderr: err_rx.recv_timeout(grace).unwrap_or_default(),
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Polls `check` every 250 ms until it returns Some, at most `limit`.
/// On timeout, panics with the last reason `check` gave.
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(why) if start.elapsed() >= limit => {
                panic!("{what}: not reached after {limit:?}: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// A lab that is up for the life of this value and torn down when it is
/// dropped, also when the test panics.
pub struct Lab {
    pub file: PathBuf,
    pub name: String,
    _lock: HostLock,
}

impl Lab {
    /// `xlvs-lab up FILE`, asserting success.
    pub fn up(file: &Path) -> Lab {
        let lab = Lab::take(file);
        let out = lab.xlvs_lab(&["up"]);
        assert!(out.status.success(), "xlvs-lab up failed: {}", text(&out));
        lab
    }

    /// The lab of FILE as a guard, once the host is ours, without bringing
    /// it up: for a test that has something else bring it up (a script).
    /// Dropping it still brings down whatever is up.
    pub fn take(file: &Path) -> Lab {
        require_root();
        let waited = Instant::now();
        let lock = HostLock::take();
        // Other lab tests hold the host: say so, or test times mislead.
        if waited.elapsed() > Duration::from_secs(1) {
            println!(
                "{}: waited {:?} for the host lock",
                file.display(),
                waited.elapsed()
            );
        }
        let topo = xlvs_lab::Topology::load(file).unwrap_or_else(|e| panic!("{e}"));
        Lab {
            file: file.to_path_buf(),
            name: topo.name,
            _lock: lock,
        }
    }

    pub fn xlvs_lab(&self, args: &[&str]) -> Output {
        let file = self.file.to_string_lossy();
        let mut full = vec![args[0], &file];
        full.extend_from_slice(&args[1..]);
        run(&bin("xlvs-lab"), &full)
    }

    /// `xlvs-lab exec FILE NODE -- CMD...`
    pub fn exec(&self, node: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", node, "--"];
        args.extend_from_slice(cmd);
        self.xlvs_lab(&args)
    }

    /// `xlvs-lab status FILE --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let out = self.xlvs_lab(&["status", "--json"]);
        assert!(out.status.success(), "status failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).expect("status --json is JSON")
    }

    /// Pids of every process the lab started, from its status.
    pub fn pids(&self) -> Vec<i32> {
        let status = self.status();
        status["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| n["processes"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["pid"].as_i64().map(|p| p as i32))
            .collect()
    }

    /// A command's stdout in a node, parsed as JSON (the command must
    /// succeed).
    pub fn json(&self, node: &str, cmd: &[&str]) -> Result<serde_json::Value, String> {
        let out = self.exec(node, cmd);
        if !out.status.success() {
            return Err(text(&out));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", text(&out)))
    }

    /// A director's `xlvsadm --json -L -n --stats`.
    pub fn listing(&self, lb: &str) -> serde_json::Value {
        self.json(
            lb,
            &["xlvsadm", "--node", lb, "--json", "-L", "-n", "--stats"],
        )
        .unwrap_or_else(|e| panic!("{lb}: xlvsadm -L: {e}"))
    }

    /// The service on `port` in a director's listing.
    pub fn listed_service(&self, lb: &str, port: u16) -> serde_json::Value {
        let table = self.listing(lb);
        table["services"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["port"] == port))
            .cloned()
            .unwrap_or_else(|| panic!("{lb}: no port {port} service: {table:#}"))
    }

    /// The next hops of `prefix` in a node's kernel FIB, sorted.
    pub fn nexthops(&self, node: &str, prefix: &str) -> Vec<String> {
        let routes = self
            .json(node, &["ip", "-j", "route", "show", prefix])
            .unwrap_or_default();
        let mut hops: Vec<String> = Vec::new();
        for r in routes.as_array().into_iter().flatten() {
            if let Some(g) = r["gateway"].as_str() {
                hops.push(g.to_string());
            }
            for h in r["nexthops"].as_array().into_iter().flatten() {
                if let Some(g) = h["gateway"].as_str() {
                    hops.push(g.to_string());
                }
            }
        }
        hops.sort();
        hops
    }

    /// FRR's view of its OSPF neighbors: (router id, converged state).
    pub fn frr_neighbors(&self, router: &str) -> Vec<(String, String)> {
        let v = self
            .json(router, &["vtysh", "-c", "show ip ospf neighbor json"])
            .unwrap_or_default();
        let mut out = Vec::new();
        for (rid, list) in v["neighbors"].as_object().into_iter().flatten() {
            for n in list.as_array().into_iter().flatten() {
                out.push((
                    rid.clone(),
                    n["converged"].as_str().unwrap_or("?").to_string(),
                ));
            }
        }
        out.sort();
        out
    }

    /// BIRD's view of its OSPF neighbors (`birdc show ospf neighbors`):
    /// (router id, state), the state without BIRD's note of the
    /// neighbor's role ("Full", not "Full/Other").
    pub fn bird_neighbors(&self, router: &str) -> Vec<(String, String)> {
        let out = self.exec(router, &["birdc", "show", "ospf", "neighbors"]);
        let mut n = parse_bird_neighbors(&String::from_utf8_lossy(&out.stdout));
        n.sort();
        n
    }

    /// What kind of router `router` is: FRR or BIRD.
    fn router_kind(&self, router: &str) -> RouterKind {
        let topo = xlvs_lab::Topology::load(&self.file).unwrap_or_else(|e| panic!("{e}"));
        match &topo.node(router).expect("router in the lab").role {
            xlvs_lab::topology::Role::Frr { .. } => RouterKind::Frr,
            xlvs_lab::topology::Role::Bird { .. } => RouterKind::Bird,
            other => panic!("{router} is a {} node, not a router", other.label()),
        }
    }

    /// The router ids `router` (FRR or BIRD) holds in state Full, sorted.
    pub fn full_neighbors(&self, router: &str) -> Vec<String> {
        let neighbors = match self.router_kind(router) {
            RouterKind::Frr => self.frr_neighbors(router),
            RouterKind::Bird => self.bird_neighbors(router),
        };
        neighbors
            .into_iter()
            .filter(|(_, state)| state == "Full")
            .map(|(rid, _)| rid)
            .collect()
    }

    /// The instances of `rid`'s Router-LSA in `router`'s database (FRR
    /// or BIRD): (sequence number, age) of each.
    pub fn router_lsas(&self, router: &str, rid: &str) -> Vec<(u32, u64)> {
        match self.router_kind(router) {
            RouterKind::Frr => {
                let show = format!("show ip ospf database router {rid} json");
                let v = self
                    .json(router, &["vtysh", "-c", &show])
                    .unwrap_or_else(|e| panic!("{router}: {e}"));
                v["routerLinkStates"]["areas"]["0.0.0.0"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        let seq = u32::from_str_radix(l["lsaSeqNumber"].as_str()?, 16).ok()?;
                        Some((seq, l["lsaAge"].as_u64()?))
                    })
                    .collect()
            }
            RouterKind::Bird => {
                let out = self.exec(router, &["birdc", "show", "ospf", "lsadb"]);
                parse_bird_router_lsas(&String::from_utf8_lossy(&out.stdout), rid)
            }
        }
    }

    /// Waits until `router` has exactly `want` (router ids) Full.
    pub fn wait_full(&self, router: &str, want: &[&str], limit: Duration) {
        wait_until(&format!("{router}: {want:?} Full"), limit, || {
            let full = self.full_neighbors(router);
            (full == want)
                .then_some(())
                .ok_or_else(|| format!("Full: {full:?}"))
        });
    }

    /// How many routes of kernel protocol `proto` (`ospf` for FRR, `bird`
    /// for BIRD) in `node`'s FIB have a destination starting with `dst`.
    pub fn count_routes(&self, node: &str, proto: &str, dst: &str) -> Result<usize, String> {
        let routes = self.json(node, &["ip", "-j", "route", "show", "proto", proto])?;
        Ok(routes
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["dst"].as_str().is_some_and(|d| d.starts_with(dst)))
            .count())
    }

    /// How director `lb` sees its OSPF neighbor `rid` (`xlvsadm ospf
    /// neighbors`): (state, role), e.g. ("Full", "DR"); Err while it does
    /// not answer or does not know `rid`.
    pub fn seen_by(&self, lb: &str, rid: &str) -> Result<(String, String), String> {
        let list = self.json(
            lb,
            &["xlvsadm", "--node", lb, "--json", "ospf", "neighbors"],
        )?;
        let n = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["router_id"] == rid)
            .ok_or_else(|| format!("{lb} does not see {rid}: {list:#}"))?;
        let field = |k: &str| n[k].as_str().unwrap_or("?").to_string();
        Ok((field("state"), field("role")))
    }

    /// `xlvsadm ospf withdraw VIP` on director `lb`, asserting success.
    pub fn withdraw(&self, lb: &str, vip: &str) {
        let out = self.exec(lb, &["xlvsadm", "--node", lb, "ospf", "withdraw", vip]);
        assert!(out.status.success(), "{lb}: withdraw {vip}: {}", text(&out));
    }

    /// The sequence number of director `lb`'s own Router-LSA (router id
    /// `rid`), as xlvsadm prints it: "0x80000004".
    pub fn own_router_lsa_seq(&self, lb: &str, rid: &str) -> String {
        let db = self
            .json(lb, &["xlvsadm", "--node", lb, "--json", "ospf", "database"])
            .unwrap_or_else(|e| panic!("{lb}: {e}"));
        db.as_array()
            .into_iter()
            .flatten()
            .find(|l| l["type"] == "router" && l["adv_router"] == rid)
            .and_then(|l| l["seq"].as_str())
            .unwrap_or_else(|| panic!("{lb} holds no Router-LSA of its own: {db:#}"))
            .to_string()
    }

    /// Waits until `router` holds one current instance of director `lb`'s
    /// Router-LSA (router id `rid`), newer than `seq_before`, and the same
    /// instance `lb` holds: after a restart, the director took over its
    /// previous instance's sequence number.
    pub fn wait_lsa_taken_over(&self, router: &str, lb: &str, rid: &str, seq_before: u32) {
        wait_until(
            &format!("{router} holds {lb}'s new Router-LSA, the same as {lb}'s"),
            Duration::from_secs(20),
            || match self.router_lsas(router, rid)[..] {
                [(seq, age)] if seq > seq_before && age < 3600 => {
                    let ours = self.own_router_lsa_seq(lb, rid);
                    (ours == format!("{seq:#010x}"))
                        .then_some(())
                        .ok_or(format!("{router} {seq:#x}, {lb} {ours}"))
                }
                ref other => Err(format!("{other:x?} (before {seq_before:#x})")),
            },
        );
    }

    /// The pid of a process the lab started on `node`, by its name.
    pub fn pid_of(&self, node: &str, process: &str) -> i32 {
        self.process(node, process)["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid of {process} on {node}")) as i32
    }

    /// What the lab's status says of a process it started on `node`
    /// (`pid`, `log`, ...), by its name.
    pub fn process(&self, node: &str, process: &str) -> serde_json::Value {
        let status = self.status();
        status["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["name"] == node)
            .flat_map(|n| n["processes"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"] == process)
            .unwrap_or_else(|| panic!("no process {process} on {node}: {status:#}"))
    }

    /// `xlvs-lab down`, returning its output (the guard's drop then finds
    /// nothing left to do).
    pub fn down(&self) -> Output {
        self.xlvs_lab(&["down"])
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = self.down();
        if !out.status.success() {
            eprintln!("xlvs-lab down failed during cleanup: {}", text(&out));
        }
    }
}

/// Everything of lab `name` still on the host: namespaces and their
/// mounts, FRR pathspace directories, the records of `xlvsadm realserver`
/// on its reals, the state directory.
pub fn leftovers(name: &str) -> Vec<String> {
    let prefix = format!("clab-{name}-");
    let mut found = Vec::new();
    for dir in [
        "/run/netns",
        "/etc/frr",
        "/var/run/frr",
        "/run/xlvs/realserver/netns",
    ] {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if f.starts_with(&prefix) {
                found.push(format!("{dir}/{f}"));
            }
        }
    }
    // `ip netns add` bind-mounts the namespace at /run/netns/<name>.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines().filter(|l| l.contains(&prefix)) {
        found.push(format!("mount: {line}"));
    }
    let state = Path::new("/run/xlvs-lab").join(name);
    if state.exists() {
        found.push(state.display().to_string());
    }
    found
}

/// The neighbors in `birdc show ospf neighbors` output: (router id,
/// state). BIRD prints a table per protocol, tab-separated under a header
/// line: `Router ID, Pri, State, DTime, Interface, Router IP`, with states
/// such as `Full/Other` or `Init/PtP` (the neighbor's role after the
/// slash).
pub fn parse_bird_neighbors(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let rid = words.next()?;
            rid.parse::<std::net::Ipv4Addr>().ok()?;
            let state = words.nth(1)?;
            let state = state.split('/').next().unwrap_or(state);
            Some((rid.to_string(), state.to_string()))
        })
        .collect()
}

/// The routers a lab test talks to.
enum RouterKind {
    Frr,
    Bird,
}

/// `rid`'s Router-LSAs in `birdc show ospf lsadb` output: (sequence
/// number, age) of each. The columns are `Type, LS ID, Router, Sequence,
/// Age, Checksum`, type 0001 for Router-LSAs.
pub fn parse_bird_router_lsas(text: &str, rid: &str) -> Vec<(u32, u64)> {
    text.lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["0001", id, _, seq, age, _] if id == rid => {
                Some((u32::from_str_radix(seq, 16).ok()?, age.parse().ok()?))
            }
            _ => None,
        })
        .collect()
}

/// 1000 TUN services on 198.18.0.1..198.18.3.250, announced as external
/// LSAs, in place of the services of director config `base`: more VIPs
/// than one Router-LSA can carry. The tables are small (1000 tables of
/// 65537 slots would take 256 MiB).
pub fn thousand_vips_config(base: &str) -> String {
    let mut config = base
        .replace("[ospf]\n", "[ospf]\nannounce_as = \"external\"\n")
        .replace(
            "interfaces = [\"eth1\"]",
            "interfaces = [\"eth1\"]\nmaglev_table_size = 251",
        );
    config.truncate(config.find("[[service]]").expect("a service"));
    for i in 0..1000 {
        config.push_str(&format!(
            "[[service]]\nname = \"s{i}\"\nvip = \"198.18.{}.{}\"\nports = [80]\nforward = \"tun\"\n\
             [service.health]\ncheck = \"none\"\n[[service.real]]\naddress = \"10.0.9.21\"\n",
            i / 250,
            1 + i % 250
        ));
    }
    config
}

/// Sends a signal to a pid this test knows it started.
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: plain syscall; the pid came from the lab's own records.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// A process a test started itself, killed (by pid) when dropped.
pub struct Child(pub std::process::Child);

/// Waiting for a child's output with a time limit.
pub trait WaitBounded {
    /// Waits at most `limit` for the child to exit and collects its output;
    /// past the limit the child is killed and the test fails.
    fn wait_with_output_bounded(&mut self, limit: Duration) -> Output;
}

impl WaitBounded for std::process::Child {
    fn wait_with_output_bounded(&mut self, limit: Duration) -> Output {
        use std::io::Read;
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.kill();
                let _ = self.wait();
                panic!("child ran longer than {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut o) = self.stdout.take() {
            let _ = o.read_to_end(&mut stdout);
        }
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_end(&mut stderr);
        }
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `[cluster]` table (docs/config.md) to append to a lab director's
/// config: flow sync over `interface` with unicast `peers`.
pub fn cluster_toml(interface: &str, peers: &[&str], key: &str) -> String {
    let peers: Vec<String> = peers.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "\n[cluster]\ninterface = \"{interface}\"\npeers = [{}]\nkey = \"{key}\"\n",
        peers.join(", ")
    )
}

/// Whether a pid still runs: any of its threads (a zombie whose threads
/// are all gone counts as gone).
pub fn pid_alive(pid: i32) -> bool {
    // Any thread: a killed process's main thread turns zombie while its
    // other threads may still be exiting, holding its sockets open.
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("stat"))
            .ok()
            .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with(|c| c != 'Z')))
            .unwrap_or(false)
    })
}

/// One request to an xlvsd control socket (the protocol is crates/api);
/// returns the response's data, or its error as Err.
pub fn control(socket: &Path, command: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let command = xlvs_api::Command::parse(command, args).map_err(|e| e.to_string())?;
    xlvs_api::client::call(socket, &command).map_err(|e| e.to_string())
}

/// Every Maglev table of a director, read from its pinned maps with
/// bpftool, as the sequence of real addresses per service id: directors
/// must hold identical tables for a flow to get the same real everywhere.
pub fn maglev_tables(pin_dir: &Path) -> Vec<(u32, Vec<String>)> {
    let dump = |args: &[&str]| -> serde_json::Value {
        let out = run(
            Path::new("bpftool"),
            &[&["-j", "map", "dump"], args].concat(),
        );
        assert!(out.status.success(), "bpftool: {}", text(&out));
        serde_json::from_slice(&out.stdout).expect("bpftool -j")
    };
    let bytes = |v: &serde_json::Value| -> Vec<u8> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| u8::from_str_radix(x.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
            .collect()
    };
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let reals: std::collections::BTreeMap<u32, String> =
        dump(&["pinned", &pin_dir.join("reals").to_string_lossy()])
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (le(&bytes(&e["key"])), bytes(&e["value"])))
            .filter(|(_, v)| v[12] != 0)
            .map(|(k, v)| (k, format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3])))
            .collect();
    let mut out = Vec::new();
    for e in dump(&["pinned", &pin_dir.join("maglev").to_string_lossy()])
        .as_array()
        .unwrap()
    {
        let id = le(&bytes(&e["key"]));
        let inner = le(&bytes(&e["value"]));
        let mut slots: Vec<(u32, u32)> = dump(&["id", &inner.to_string()])
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (le(&bytes(&s["key"])), le(&bytes(&s["value"]))))
            .collect();
        slots.sort();
        let seq = slots
            .into_iter()
            .map(|(_, r)| reals.get(&r).cloned().unwrap_or_else(|| "none".into()))
            .collect();
        out.push((id, seq));
    }
    out.sort();
    out
}

/// Changing a lab's links under its running daemons.
impl Lab {
    /// The network namespace of `node`.
    pub fn netns(&self, node: &str) -> String {
        format!("clab-{}-{node}", self.name)
    }

    /// `xlvs-lab exec`, asserting success.
    pub fn exec_ok(&self, node: &str, cmd: &[&str]) -> Output {
        let out = self.exec(node, cmd);
        assert!(out.status.success(), "{node}: {cmd:?}: {}", text(&out));
        out
    }

    /// The interface index of `dev` in `node`.
    pub fn ifindex(&self, node: &str, dev: &str) -> u64 {
        let v = self
            .json(node, &["ip", "-j", "link", "show", dev])
            .unwrap_or_else(|e| panic!("{node}: {e}"));
        v[0]["ifindex"].as_u64().expect("ifindex")
    }

    /// Cables `a` (node, interface) to `b` again with a new veth pair, as
    /// xlvs-lab does: in `b` the end joins the bridge named after the
    /// node when `b_is_bridge` and is readied for `a`'s native XDP; both
    /// ends are set up. Addresses are the caller's.
    pub fn cable(&self, a: (&str, &str), b: (&str, &str), b_is_bridge: bool) {
        let (a_ns, b_ns) = (self.netns(a.0), self.netns(b.0));
        let add = [
            "link", "add", "name", a.1, "netns", &a_ns, "type", "veth", "peer", "name", b.1,
            "netns", &b_ns,
        ];
        let out = run(Path::new("ip"), &add);
        assert!(out.status.success(), "ip link add: {}", text(&out));
        if b_is_bridge {
            self.exec_ok(b.0, &["ip", "link", "set", b.1, "master", b.0]);
        }
        // `a` is a director's XDP interface: its peer end ready for
        // native XDP, as xlvs-lab makes it.
        xlvs_lab::up::prepare_xdp_peer(&self.name, &b_ns, b.1).unwrap_or_else(|e| panic!("{e}"));
        self.exec_ok(b.0, &["ip", "link", "set", b.1, "up"]);
        self.exec_ok(a.0, &["ip", "link", "set", a.1, "up"]);
    }
}

/// Runs `f` in a thread of its own inside network namespace `netns`: a
/// socket it makes keeps that namespace.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = File::open(format!("/run/netns/{netns}")).expect("the namespace");
            // SAFETY: setns on a namespace file we hold open; it moves only
            // this thread, which ends right after.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("the thread in the namespace")
    })
}

/// Opens a TCP connection from inside network namespace `netns`.
pub fn connect_from(netns: &str, to: (&str, u16)) -> std::net::TcpStream {
    in_netns(netns, || {
        let addr = (
            to.0.parse::<std::net::Ipv4Addr>().expect("an address"),
            to.1,
        );
        std::net::TcpStream::connect_timeout(&addr.into(), Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {to:?} from {netns}: {e}"))
    })
}

impl Lab {
    /// A global counter of director `lb`'s data plane (`xlvsadm
    /// dataplane`); it must exist.
    pub fn dataplane_stat(&self, lb: &str, name: &str) -> u64 {
        let stats = self
            .json(lb, &["xlvsadm", "--node", lb, "--json", "dataplane"])
            .unwrap();
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{lb}: no counter {name}: {stats:#}"))
    }
}

impl Lab {
    /// Waits until `router`'s FIB has exactly `want` next hops for
    /// `prefix`; returns how long it took.
    pub fn wait_nexthops(
        &self,
        router: &str,
        prefix: &str,
        want: &[&str],
        limit: Duration,
    ) -> Duration {
        let start = Instant::now();
        wait_until(&format!("{router}: {prefix} via {want:?}"), limit, || {
            let hops = self.nexthops(router, prefix);
            (hops == want).then_some(()).ok_or(format!("{hops:?}"))
        });
        start.elapsed()
    }

    /// Stops nginx on a real of labs/quickstart (by the pid in its pid
    /// file) and waits until it no longer answers.
    pub fn stop_nginx(&self, web: &str) {
        let pid_file = format!("/run/nginx-quickstart-{web}.pid");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("{pid_file}: {e}"))
            .trim()
            .parse()
            .unwrap();
        signal(pid, libc::SIGTERM);
        wait_until(
            &format!("{web}'s nginx gone"),
            Duration::from_secs(10),
            || {
                let out = self.exec(web, &["curl", "-s", "-m", "1", "http://127.0.0.1/"]);
                (!out.status.success())
                    .then_some(())
                    .ok_or("still answering".to_string())
            },
        );
    }

    /// Starts nginx on a real with `conf`. nginx logs to stderr and
    /// daemonizes: its output is detached, or waiting for the command's
    /// output would wait for nginx.
    pub fn start_nginx(&self, web: &str, conf: &Path) {
        let start = format!("nginx -c {} >/dev/null 2>&1", conf.display());
        let out = self.exec(web, &["bash", "-c", &start]);
        assert!(out.status.success(), "{}", text(&out));
    }

    /// Waits until the TCP echo service at `vip` answers `client`.
    pub fn wait_echo(&self, client: &str, vip: &str) {
        wait_until("echo answers", Duration::from_secs(30), || {
            let out = self.exec(
                client,
                &[
                    "python3",
                    "/usr/local/bin/echo.py",
                    "check",
                    vip,
                    "7",
                    "1000",
                ],
            );
            out.status.success().then_some(()).ok_or_else(|| text(&out))
        });
    }
}

/// MD5 on an xlvs OSPF interface, as the labs write it.
pub const XLVS_MD5: &str = "auth = { type = \"md5\", key_id = 7, key = \"xlvs-lab-key\" }";

/// labs/NAME (its file and directory) copied to a temporary directory as
/// lab `new_name`, so a test can rewrite its configs: the directory, the
/// lab file and the copy of labs/NAME/.
pub fn lab_variant(name: &str, new_name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = lab_copy(name);
    let file = dir.path().join(format!("{name}.clab.yml"));
    let yaml = std::fs::read_to_string(&file).unwrap();
    let yaml: String = yaml
        .lines()
        .map(|l| match l.starts_with("name: ") {
            true => format!("name: {new_name}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&file, yaml).unwrap();
    let lab_dir = dir.path().join(name);
    (dir, file, lab_dir)
}

/// Replaces `from` with `to` in a file; the file must contain `from` (a
/// lab file that changed under the test fails it loudly).
pub fn rewrite(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: no {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// The quickstart lab copied to a temporary directory, so a test can edit
/// its node configs (or add nodes).
pub fn quickstart_copy() -> tempfile::TempDir {
    lab_copy("quickstart")
}

/// labs/NAME.clab.yml and labs/NAME/ (and labs/quickstart/) copied to a
/// temporary directory, so a test can edit the lab's files (a director's
/// config before a reload).
pub fn lab_copy(name: &str) -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                copy_dir(&path, &to.join(e.file_name()));
            } else {
                std::fs::copy(&path, to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let src = workspace().join("labs");
    let file = format!("{name}.clab.yml");
    std::fs::copy(src.join(&file), dir.path().join(&file)).unwrap();
    copy_dir(&src.join(name), &dir.path().join(name));
    // Other labs bind shared files from it (echo.py, FRR's daemons).
    if name != "quickstart" {
        copy_dir(&src.join("quickstart"), &dir.path().join("quickstart"));
    }
    dir
}

/// Long-lived checked connections (`echo.py streams ARGS`), started
/// straight in a namespace (no `xlvs-lab exec`, which would read the
/// lab's configs); killed by pid if the test ends first.
pub fn streams(netns: &str, args: &[&str]) -> Child {
    use std::process::Stdio;
    Child(
        Command::new("ip")
            .args(["netns", "exec", netns, "python3"])
            .arg(workspace().join("labs/quickstart/echo.py"))
            .arg("streams")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start echo.py streams"),
    )
}

/// Starts xlvsd in a lab namespace (a restart), logging to a temporary
/// file; killed by pid if the test ends first.
pub fn start_xlvsd(netns: &str, config: &Path) -> Child {
    start_xlvsd_with(netns, config, &[])
}

/// [`start_xlvsd`] with more arguments (e.g. `--cleanup`).
pub fn start_xlvsd_with(netns: &str, config: &Path, args: &[&str]) -> Child {
    use std::process::Stdio;
    let log =
        File::create(std::env::temp_dir().join(format!("{netns}-xlvsd.log"))).expect("log file");
    Child(
        Command::new("ip")
            .args(["netns", "exec", netns])
            .arg(bin("xlvsd"))
            .arg("--config")
            .arg(config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start xlvsd"),
    )
}

/// HTTP and echo traffic from a lab's client to a VIP.
impl Lab {
    /// Waits until `client` gets an HTTP answer from `vip`: the first
    /// request may race the directors' health checks or ARP.
    pub fn wait_http(&self, client: &str, vip: &str) {
        wait_until("first HTTP answer", Duration::from_secs(20), || {
            let out = self.exec(
                client,
                &["curl", "-s", "-m", "2", &format!("http://{vip}/")],
            );
            out.status.success().then_some(()).ok_or_else(|| text(&out))
        });
    }

    /// `count` HTTP GETs from `client` to `vip`, each a new connection (a
    /// new source port), every one answered: how often each body came.
    pub fn http_answers(
        &self,
        client: &str,
        vip: &str,
        count: usize,
    ) -> std::collections::BTreeMap<String, usize> {
        let mut answers = std::collections::BTreeMap::new();
        for _ in 0..count {
            let out = self.exec(
                client,
                &["curl", "-s", "-m", "3", &format!("http://{vip}/")],
            );
            assert!(out.status.success(), "{}", text(&out));
            *answers
                .entry(String::from_utf8_lossy(&out.stdout).into_owned())
                .or_default() += 1;
        }
        answers
    }

    /// `echo.py check` from `client` to port 7 of `vip`, once per size:
    /// that many random bytes, echoed back byte for byte.
    pub fn echo_checks(&self, client: &str, vip: &str, sizes: &[&str]) {
        for size in sizes {
            let out = self.exec(
                client,
                &["python3", "/usr/local/bin/echo.py", "check", vip, "7", size],
            );
            assert!(out.status.success(), "echo {size}: {}", text(&out));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bird_neighbor_tables_are_parsed() {
        let out = "BIRD 2.0.12 ready.\nospf1:\n\
                   Router ID   \tPri\t     State     \tDTime\tInterface  Router IP\n\
                   10.255.0.12 \t  0\t2-Way/Other\t11.405\teth1       10.0.1.12\n\
                   10.255.0.11 \t  0\tFull/PtP  \t 3.996\teth1       10.0.2.1\n";
        assert_eq!(
            super::parse_bird_neighbors(out),
            [
                ("10.255.0.12".to_string(), "2-Way".to_string()),
                ("10.255.0.11".to_string(), "Full".to_string())
            ]
        );
        assert!(super::parse_bird_neighbors("BIRD 2.0.12 ready.\nospf1:\n").is_empty());
    }

    #[test]
    fn bird_router_lsas_are_parsed() {
        let out = "BIRD 2.0.12 ready.\n\nArea 0.0.0.0\n\n \
                   Type   LS ID           Router          Sequence   Age  Checksum\n \
                   0002  10.0.1.1        10.255.0.1       80000002     0    1dc4\n \
                   0001  10.255.0.11     10.255.0.11      80000003    13    ff3f\n \
                   0001  10.255.0.12     10.255.0.12      80000003  3600    fd3e\n";
        assert_eq!(
            super::parse_bird_router_lsas(out, "10.255.0.12"),
            [(0x8000_0003, 3600)]
        );
        assert!(super::parse_bird_router_lsas(out, "10.0.1.1").is_empty());
    }
}
