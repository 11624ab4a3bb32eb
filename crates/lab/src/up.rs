//! `xlvs-lab up`: namespaces, then links, then node processes, then `exec`
//! lines. All or nothing: on any failure what was built is torn down.

use crate::down::teardown;
use crate::error::LabError;
use crate::state::{netns_name, LabState, ProcessRecord};
use crate::sys::{self, ip, ip_in, Spawn};
use crate::topology::{Link, Node, Role, Topology};
use crate::{bird, frr};
use std::path::PathBuf;
use std::time::Duration;

/// How long one `exec` line may run.
const EXEC_LIMIT: Duration = Duration::from_secs(60);
/// A node's main process must survive this long to count as started.
const SETTLE: Duration = Duration::from_millis(300);

/// Where `xlvsd` and the other workspace binaries are: `XLVS_BIN_DIR`, or
/// the directory `xlvs-lab` itself runs from (cargo puts them together).
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XLVS_BIN_DIR") {
        return PathBuf::from(d);
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn require_root() -> Result<(), LabError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::NotRoot);
    }
    Ok(())
}

pub fn up(topo: &Topology) -> Result<(), LabError> {
    require_root()?;
    for node in &topo.nodes {
        let ns = netns_name(&topo.name, &node.name);
        if std::path::Path::new("/run/netns").join(&ns).exists() {
            return Err(LabError::AlreadyUp {
                lab: topo.name.clone(),
                netns: ns,
            });
        }
    }
    if LabState::load(&topo.name)?.is_some() {
        // A state record without namespaces is a leftover of a crash.
        teardown(&topo.name, Some(topo))?;
    }
    let mut state = LabState::create(&topo.name, &topo.file)?;
    // xlvsd pins its data plane (and xlvs-decap its attachment, from an
    // `exec` line); `ip netns exec` hides /sys/fs/bpf, so labs pin under a
    // bpf filesystem xlvs-lab mounts for them.
    for node in &topo.nodes {
        let xlvsd_pins = matches!(&node.role, Role::Xlvs { pins, .. }
            if pins.starts_with(crate::bpffs::LAB_BPFFS));
        let exec_pins = node
            .exec
            .iter()
            .any(|l| l.contains(crate::bpffs::LAB_BPFFS));
        if xlvsd_pins || exec_pins {
            crate::bpffs::ensure()?;
        }
    }
    match build(topo, &mut state) {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Err(cleanup) = teardown(&topo.name, Some(topo)) {
                eprintln!("xlvs-lab: cleanup after the failed up also failed: {cleanup}");
            }
            Err(e)
        }
    }
}

fn build(topo: &Topology, state: &mut LabState) -> Result<(), LabError> {
    for node in &topo.nodes {
        create_namespace(topo, node, state).map_err(|e| e.on(&node.name))?;
    }
    for link in &topo.links {
        create_link(topo, link)?;
    }
    for node in &topo.nodes {
        start_node(topo, node, state).map_err(|e| e.on(&node.name))?;
    }
    std::thread::sleep(SETTLE);
    for p in &state.processes {
        if !p.id.alive() {
            return Err(LabError::ProcessExited {
                process: p.name.clone(),
                log: sys::tail(&p.log, 20),
            }
            .on(&p.node));
        }
    }
    for node in &topo.nodes {
        run_exec(topo, node, state).map_err(|e| e.on(&node.name))?;
    }
    Ok(())
}

fn create_namespace(topo: &Topology, node: &Node, state: &mut LabState) -> Result<(), LabError> {
    let ns = netns_name(&topo.name, &node.name);
    ip(&["netns", "add", &ns])?;
    state.netns.push(ns.clone());
    state.save()?;
    ip_in(&ns, &["link", "set", "lo", "up"])?;
    if node.role.is_router() {
        // ECMP across directors only spreads flows with an L4 hash. Policy
        // 1 would reuse a hash the packet already carries, which over veth
        // is the sending socket's (redrawn by TCP after a retransmission
        // timeout: flows would hop between directors); policy 3 hashes the
        // fields named: addresses, protocol and ports (0x37).
        sys::sysctl_in(&ns, "net.ipv4.ip_forward", "1")?;
        sys::sysctl_in(&ns, "net.ipv4.fib_multipath_hash_policy", "3")?;
        sys::sysctl_in(&ns, "net.ipv4.fib_multipath_hash_fields", "55")?;
    }
    if node.role == Role::Bridge {
        ip_in(
            &ns,
            &["link", "add", &bridge_name(&node.name), "type", "bridge"],
        )?;
        ip_in(&ns, &["link", "set", &bridge_name(&node.name), "up"])?;
    }
    for (key, value) in &node.sysctls {
        sys::sysctl_in(&ns, key, value)?;
    }
    Ok(())
}

/// The bridge device inside a bridge node's namespace carries the node's
/// name, cut to what Linux allows.
fn bridge_name(node: &str) -> String {
    node.chars().take(15).collect()
}

fn create_link(topo: &Topology, link: &Link) -> Result<(), LabError> {
    let (a_ns, b_ns) = (
        netns_name(&topo.name, &link.a.node),
        netns_name(&topo.name, &link.b.node),
    );
    ip(&[
        "link",
        "add",
        "name",
        &link.a.interface,
        "netns",
        &a_ns,
        "type",
        "veth",
        "peer",
        "name",
        &link.b.interface,
        "netns",
        &b_ns,
    ])
    .map_err(|e| e.on(&format!("link {} -- {}", link.a, link.b)))?;
    for (ns, end) in [(&a_ns, &link.a), (&b_ns, &link.b)] {
        let dev = end.interface.as_str();
        if let Some(mac) = &end.mac {
            ip_in(ns, &["link", "set", dev, "address", mac])?;
        }
        if let Some(mtu) = link.mtu {
            ip_in(ns, &["link", "set", dev, "mtu", &mtu.to_string()])?;
        }
        let node = topo.node(&end.node).expect("links name known nodes");
        if node.role == Role::Bridge {
            ip_in(
                ns,
                &["link", "set", dev, "master", &bridge_name(&node.name)],
            )?;
        }
        ip_in(ns, &["link", "set", dev, "up"])?;
    }
    for (end, peer, peer_ns) in [(&link.a, &link.b, &b_ns), (&link.b, &link.a, &a_ns)] {
        let node = topo.node(&end.node).expect("links name known nodes");
        if matches!(&node.role, Role::Xlvs { xdp_interfaces, .. }
            if xdp_interfaces.contains(&end.interface))
        {
            prepare_xdp_peer(&topo.name, peer_ns, &peer.interface)?;
        }
    }
    Ok(())
}

/// Readies the veth end facing a director's XDP interface for native mode,
/// as a NIC's switch port would be:
/// - an XDP_PASS program: veth hands XDP_TX frames on only to a peer that
///   runs XDP itself (it gives the peer the ring those frames go into);
///   without it every frame the director forwards is lost;
/// - tx checksum offload off: a veth sender leaves TCP and UDP checksums
///   partial, for hardware that is not there to finish, and the director's
///   XDP sends such a frame on without the skb that says so. Off, the
///   kernel completes checksums (and segments) before a frame crosses to
///   the director, as a real NIC's sender would have.
pub fn prepare_xdp_peer(lab: &str, ns: &str, dev: &str) -> Result<(), LabError> {
    sys::ethtool_in(ns, &["-K", dev, "tx", "off"])?;
    let object = xdp_pass_object(lab)?;
    let object = object.to_string_lossy();
    ip_in(
        ns,
        &[
            "link",
            "set",
            "dev",
            dev,
            "xdpdrv",
            "obj",
            &object,
            "sec",
            xlvs_dataplane::pass::SECTION,
        ],
    )
    .map(|_| ())
}

/// The XDP_PASS object, written once per lab into its run directory (which
/// `down` removes) for `ip link set ... xdpdrv obj` to load.
fn xdp_pass_object(lab: &str) -> Result<PathBuf, LabError> {
    let path = crate::state::lab_dir(lab).join("xdp-pass.o");
    if !path.exists() {
        std::fs::write(&path, xlvs_dataplane::pass::OBJECT).map_err(|e| LabError::io(&path, e))?;
    }
    Ok(path)
}

/// The environment a node's commands see: its `env`, and PATH with the
/// workspace binaries first so `xlvsadm` works in `exec` lines.
pub(crate) fn node_env(node: &Node) -> Vec<(String, String)> {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
    );
    let mut env: Vec<(String, String)> = vec![("PATH".into(), path)];
    env.extend(node.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

fn start_node(topo: &Topology, node: &Node, state: &mut LabState) -> Result<(), LabError> {
    let argv = match &node.role {
        Role::Bridge => return Ok(()),
        Role::Frr { frr_conf, daemons } => {
            return frr::start(state, &node.name, frr_conf, daemons.as_deref())
        }
        Role::Bird { bird_conf } => return bird::start(state, &node.name, bird_conf),
        Role::Xlvs { config, .. } => {
            let xlvsd = bin_dir().join("xlvsd");
            if !xlvsd.is_file() {
                return Err(LabError::MissingTool {
                    tool: xlvsd.display().to_string(),
                    hint: "build the workspace first (cargo build), or set XLVS_BIN_DIR".into(),
                });
            }
            vec![
                xlvsd.display().to_string(),
                "--config".into(),
                config.display().to_string(),
            ]
        }
        Role::Host => match &node.cmd {
            None => return Ok(()),
            Some(cmd) => split(&node.host_paths(cmd))?,
        },
    };
    let name = PathBuf::from(&argv[0])
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = state.node_dir(&node.name)?.join(format!("{name}.log"));
    let id = sys::spawn_in(&Spawn {
        netns: &netns_name(&topo.name, &node.name),
        argv: &argv,
        env: &node_env(node),
        log: &log,
    })?;
    state.processes.push(ProcessRecord {
        node: node.name.clone(),
        name,
        id,
        log,
    });
    state.save()
}

fn run_exec(topo: &Topology, node: &Node, state: &LabState) -> Result<(), LabError> {
    let dir = state.node_dir(&node.name)?;
    for (i, line) in node.exec.iter().enumerate() {
        let argv = split(&node.host_paths(line))?;
        sys::run_in(
            &Spawn {
                netns: &netns_name(&topo.name, &node.name),
                argv: &argv,
                env: &node_env(node),
                log: &dir.join(format!("exec-{i}.log")),
            },
            EXEC_LIMIT,
        )?;
    }
    Ok(())
}

/// containerlab splits `cmd` and `exec` like a shell would split words, but
/// runs no shell: pipes and `&&` need `bash -c`.
fn split(line: &str) -> Result<Vec<String>, LabError> {
    match shlex::split(line) {
        Some(words) if !words.is_empty() => Ok(words),
        _ => Err(LabError::Command {
            cmd: line.to_string(),
            status: "not run".into(),
            output: "empty command or unbalanced quotes".into(),
        }),
    }
}
