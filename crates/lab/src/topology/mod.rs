//! A containerlab topology file, read and checked as a whole before anything
//! is built: every problem is collected so the user fixes them in one go.

mod inherit;
mod raw;
#[cfg(test)]
mod tests;

use inherit::Settings;
use raw::{RawEndpoint, RawFile, RawLink, RawTopology};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Keys that only concern containerlab's management network, labels or
/// resources. They do not change the lab network, so they are accepted and
/// ignored.
const IGNORED_TOP_KEYS: &[&str] = &["mgmt", "prefix"];
const IGNORED_NODE_KEYS: &[&str] = &[
    "labels",
    "mgmt-ipv4",
    "mgmt-ipv6",
    "ports",
    "startup-delay",
    "cpu",
    "cpu-set",
    "memory",
    "shm-size",
    "dns",
    "restart-policy",
    "publish",
];
const IGNORED_LINK_KEYS: &[&str] = &["labels", "vars"];

/// Longest interface name Linux accepts (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;

#[derive(Debug, Clone)]
pub struct Topology {
    pub name: String,
    /// The topology file; bind paths are relative to its directory.
    pub file: PathBuf,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub role: Role,
    pub image: Option<String>,
    pub binds: Vec<Bind>,
    pub exec: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cmd: Option<String>,
    pub sysctls: BTreeMap<String, String>,
}

/// What xlvs-lab runs for a node, decided by its kind and image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A Linux bridge that other nodes' links attach to.
    Bridge,
    /// Debian's FRR daemons, configured from the bound files.
    Frr {
        frr_conf: PathBuf,
        daemons: Option<PathBuf>,
    },
    /// Debian's BIRD 2 daemon, configured from the bound bird.conf.
    Bird { bird_conf: PathBuf },
    /// This workspace's `xlvsd` with the bound node config; `socket` is
    /// its control socket and `pins` its pin directory (from the config),
    /// both removed by `down`; `xdp_interfaces` are the interfaces its data
    /// plane attaches to, whose veth peers `up` prepares for XDP_TX.
    Xlvs {
        config: PathBuf,
        socket: PathBuf,
        pins: PathBuf,
        xdp_interfaces: Vec<String>,
    },
    /// A plain namespace; `cmd` and `exec` run host binaries in it.
    Host,
}

impl Role {
    /// A router node (FRR or BIRD): it forwards, and hashes ECMP flows on
    /// their ports.
    pub fn is_router(&self) -> bool {
        matches!(self, Role::Frr { .. } | Role::Bird { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Role::Bridge => "bridge",
            Role::Frr { .. } => "frr",
            Role::Bird { .. } => "bird",
            Role::Xlvs { .. } => "xlvs",
            Role::Host => "host",
        }
    }
}

/// `host:container[:ro|rw]`, with the host side resolved against the
/// topology file's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub host: PathBuf,
    pub container: String,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub a: Endpoint,
    pub b: Endpoint,
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub node: String,
    pub interface: String,
    pub mac: Option<String>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.interface)
    }
}

/// One thing wrong with a topology file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read the file: {0}")]
    Read(String),
    #[error("not a valid topology file: {0}")]
    Yaml(String),
    #[error("missing `{0}`")]
    Missing(&'static str),
    #[error("`{at}`: unsupported field `{key}` (xlvs-lab cannot realize it)")]
    Unsupported { at: String, key: String },
    #[error("`{at}`: invalid name {name:?}: use letters, digits, '-' and '_'")]
    BadName { at: String, name: String },
    #[error("node {node}: kind {kind:?} is not supported (use linux, bridge, frr or bird)")]
    BadKind { node: String, kind: String },
    #[error("node {node}: no kind (set it on the node, its group or in defaults)")]
    NoKind { node: String },
    #[error("node {node}: group {group:?} is not defined under topology.groups")]
    UnknownGroup { node: String, group: String },
    #[error("node {node}: bad image mapping: {why}")]
    BadImage { node: String, why: String },
    #[error("node {node}: bind {bind:?}: {why}")]
    BadBind {
        node: String,
        bind: String,
        why: String,
    },
    #[error("node {node}: invalid xlvs config:\n{errors}")]
    BadXlvsConfig { node: String, errors: String },
    #[error("node {node}: sysctl {key:?}: {why}")]
    BadSysctl {
        node: String,
        key: String,
        why: String,
    },
    #[error("link {index}: {why}")]
    BadLink { index: usize, why: String },
    #[error("link {index}: endpoint {endpoint}: node {node:?} is not defined")]
    UnknownNode {
        index: usize,
        endpoint: String,
        node: String,
    },
    #[error("link {index}: interface {endpoint} is already used by link {first}")]
    InterfaceReused {
        index: usize,
        first: usize,
        endpoint: String,
    },
}

/// Every problem found in one file.
#[derive(Debug, thiserror::Error)]
pub struct TopologyErrors {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for TopologyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {} problem{}",
            self.file.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl Topology {
    /// Reads and validates a topology file. Nothing on the host is changed.
    pub fn load(path: &Path) -> Result<Topology, TopologyErrors> {
        let fail = |p| TopologyErrors {
            file: path.to_path_buf(),
            problems: vec![p],
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(Problem::Read(e.to_string())))?;
        let file = std::path::absolute(path).map_err(|e| fail(Problem::Read(e.to_string())))?;
        Self::parse(&text, &file)
    }

    /// Reads a topology file to take its lab down: an xlvs node whose
    /// config no longer validates (edited since the lab came up) must not
    /// keep the lab up. Such nodes are taken as plain hosts (their
    /// processes, namespaces and conventional pins go all the same); the
    /// problems are returned to be shown. Any other problem is an error.
    pub fn load_for_teardown(path: &Path) -> Result<(Topology, Vec<Problem>), TopologyErrors> {
        let fail = |p| TopologyErrors {
            file: path.to_path_buf(),
            problems: vec![p],
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(Problem::Read(e.to_string())))?;
        let file = std::path::absolute(path).map_err(|e| fail(Problem::Read(e.to_string())))?;
        let (topo, problems) = Self::parse_all(&text, &file);
        let only_configs = problems
            .iter()
            .all(|p| matches!(p, Problem::BadXlvsConfig { .. }));
        match topo {
            Some(t) if only_configs => Ok((t, problems)),
            _ => Err(TopologyErrors { file, problems }),
        }
    }

    /// Validates `text` as if it were the file at `file` (binds resolve
    /// against its directory).
    pub fn parse(text: &str, file: &Path) -> Result<Topology, TopologyErrors> {
        match Self::parse_all(text, file) {
            (Some(t), problems) if problems.is_empty() => Ok(t),
            (_, problems) => Err(TopologyErrors {
                file: file.to_path_buf(),
                problems,
            }),
        }
    }

    /// The topology as far as it could be built, and every problem.
    fn parse_all(text: &str, file: &Path) -> (Option<Topology>, Vec<Problem>) {
        let mut problems = Vec::new();
        // YAML merge keys (`<<: *anchor`) are common in containerlab files.
        let raw = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).and_then(|mut v| {
            v.apply_merge()?;
            serde_yaml_ng::from_value::<RawFile>(v)
        });
        let topo = match raw {
            Ok(raw) => build(raw, file, &mut problems),
            Err(e) => {
                problems.push(Problem::Yaml(e.to_string()));
                None
            }
        };
        (topo, problems)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Every interface a node has, from the links (in link order).
    pub fn interfaces_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Endpoint> {
        self.links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .filter(move |e| e.node == node)
    }
}

impl Node {
    /// Rewrites container paths (bind targets) in a command or argument to
    /// the host files they are bound from: xlvs-lab runs host binaries
    /// directly, so `/etc/xlvs/node.toml` must become the lab's file.
    pub fn host_paths(&self, text: &str) -> String {
        let mut binds: Vec<&Bind> = self.binds.iter().collect();
        // Longest first, so /etc/frr/frr.conf wins over /etc/frr.
        binds.sort_by_key(|b| std::cmp::Reverse(b.container.len()));
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'outer: while !rest.is_empty() {
            let at_boundary = out
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || "._-/".contains(c)));
            if at_boundary {
                for b in &binds {
                    if let Some(after) = rest.strip_prefix(b.container.as_str()) {
                        let ends = after
                            .chars()
                            .next()
                            .is_none_or(|c| !(c.is_alphanumeric() || "._-".contains(c)));
                        if ends {
                            out.push_str(&b.host.to_string_lossy());
                            rest = after;
                            continue 'outer;
                        }
                    }
                }
            }
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    fn bound_file(&self, container: &str) -> Option<&Bind> {
        self.binds.iter().find(|b| b.container == container)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_extra(at: &str, extra: &raw::Extra, ignored: &[&str], problems: &mut Vec<Problem>) {
    for key in extra.keys() {
        if !ignored.contains(&key.as_str()) {
            problems.push(Problem::Unsupported {
                at: at.to_string(),
                key: key.clone(),
            });
        }
    }
}

fn build(raw: RawFile, file: &Path, problems: &mut Vec<Problem>) -> Option<Topology> {
    check_extra("", &raw.other, IGNORED_TOP_KEYS, problems);
    let name = match raw.name {
        Some(n) if valid_name(&n) => Some(n),
        Some(n) => {
            problems.push(Problem::BadName {
                at: "name".into(),
                name: n,
            });
            None
        }
        None => {
            problems.push(Problem::Missing("name"));
            None
        }
    };
    let Some(topo) = raw.topology else {
        problems.push(Problem::Missing("topology"));
        return None;
    };
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let nodes = build_nodes(&topo, &dir, problems);
    let links = build_links(&topo.links, &nodes, problems);
    check_extra("topology", &topo.other, &[], problems);
    Some(Topology {
        name: name?,
        file: file.to_path_buf(),
        nodes,
        links,
    })
}

fn build_nodes(topo: &RawTopology, dir: &Path, problems: &mut Vec<Problem>) -> Vec<Node> {
    if topo.nodes.is_empty() {
        problems.push(Problem::Missing("topology.nodes"));
    }
    let defaults = topo.defaults.clone().unwrap_or_default();
    check_extra(
        "topology.defaults",
        &defaults.other,
        IGNORED_NODE_KEYS,
        problems,
    );
    for (k, s) in &topo.kinds {
        check_extra(
            &format!("topology.kinds.{k}"),
            &s.other,
            IGNORED_NODE_KEYS,
            problems,
        );
    }
    for (g, s) in &topo.groups {
        check_extra(
            &format!("topology.groups.{g}"),
            &s.other,
            IGNORED_NODE_KEYS,
            problems,
        );
    }
    let mut nodes = Vec::new();
    for (name, own) in &topo.nodes {
        let own = own.clone().unwrap_or_default();
        check_extra(
            &format!("topology.nodes.{name}"),
            &own.other,
            IGNORED_NODE_KEYS,
            problems,
        );
        if !valid_name(name) {
            problems.push(Problem::BadName {
                at: "topology.nodes".into(),
                name: name.clone(),
            });
            continue;
        }
        let group = match own.group.as_ref().or(defaults.group.as_ref()) {
            None => None,
            Some(g) => match topo.groups.get(g) {
                Some(s) => Some(s),
                None => {
                    problems.push(Problem::UnknownGroup {
                        node: name.clone(),
                        group: g.clone(),
                    });
                    continue;
                }
            },
        };
        // The kind is needed to pick the kind's settings, so resolve it first.
        let kind = own
            .kind
            .clone()
            .or_else(|| group.and_then(|g| g.kind.clone()))
            .or_else(|| defaults.kind.clone());
        let Some(kind) = kind else {
            problems.push(Problem::NoKind { node: name.clone() });
            continue;
        };
        let kind_settings = topo.kinds.get(&kind);
        let merged = inherit::merge(&[Some(&defaults), kind_settings, group, Some(&own)]);
        nodes.push(build_node(name, &kind, merged, dir, problems));
    }
    nodes
}

fn build_node(
    name: &str,
    kind: &str,
    s: Settings,
    dir: &Path,
    problems: &mut Vec<Problem>,
) -> Node {
    let mut binds = Vec::new();
    for spec in &s.binds {
        let bad = |why| Problem::BadBind {
            node: name.to_string(),
            bind: spec.clone(),
            why,
        };
        match parse_bind(spec, dir) {
            Ok(b) => {
                // Keep the bind even so, or the node's role would fail too.
                if !b.host.exists() {
                    problems.push(bad(format!(
                        "host file {} does not exist",
                        b.host.display()
                    )));
                }
                binds.push(b);
            }
            Err(why) => problems.push(bad(why)),
        }
    }
    for key in s.sysctls.keys() {
        if key.is_empty() || key.contains("..") || key.starts_with(['/', '.']) {
            problems.push(Problem::BadSysctl {
                node: name.to_string(),
                key: key.clone(),
                why: "not a sysctl name".into(),
            });
        }
    }
    let mut node = Node {
        name: name.to_string(),
        role: Role::Host,
        image: s.image,
        binds,
        exec: s.exec,
        env: s.env,
        cmd: s.cmd,
        sysctls: s.sysctls,
    };
    match role_of(kind, &node, s.startup_config.as_deref(), dir) {
        Ok(Role::Xlvs { config, .. }) if config.is_file() => match xlvs_config::load(&config) {
            // The daemon would refuse it: refuse the lab before building.
            Ok(c) => {
                node.role = Role::Xlvs {
                    config,
                    socket: c.node.control_socket,
                    pins: c.dataplane.pin_dir,
                    xdp_interfaces: c.dataplane.interfaces,
                }
            }
            Err(errors) => problems.push(Problem::BadXlvsConfig {
                node: name.to_string(),
                errors: errors.to_string(),
            }),
        },
        Ok(role) => node.role = role,
        Err(p) => problems.push(p),
    }
    // A node with problems is still returned, so that links to it are not
    // reported as links to an unknown node.
    node
}

/// `host:container[:ro|rw]` as docker -v writes it.
fn parse_bind(spec: &str, dir: &Path) -> Result<Bind, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, container) = match parts.as_slice() {
        [h, c] => (*h, *c),
        [h, c, "ro" | "rw"] => (*h, *c),
        [_, _, opt] => return Err(format!("unknown option {opt:?} (use ro or rw)")),
        _ => return Err("expected host:container[:ro|rw]".into()),
    };
    if host.is_empty() || !container.starts_with('/') {
        return Err("expected host:container with an absolute container path".into());
    }
    Ok(Bind {
        host: dir.join(host),
        container: container.trim_end_matches('/').to_string(),
    })
}

/// The last path segment of an image without its tag or digest:
/// `quay.io/frrouting/frr:8.4.1` -> `frr`.
fn image_base(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split(['@', ':']).next().unwrap_or(last)
}

fn role_of(kind: &str, node: &Node, startup: Option<&str>, dir: &Path) -> Result<Role, Problem> {
    let bad = |why: String| Problem::BadImage {
        node: node.name.clone(),
        why,
    };
    let base = node.image.as_deref().map(image_base);
    match kind {
        "bridge" => Ok(Role::Bridge),
        "frr" => frr_role(node, startup, dir).map_err(bad),
        "bird" => bird_role(node, startup, dir).map_err(bad),
        "linux" => match base {
            None => Err(bad("kind linux needs an image".into())),
            Some(b) if b.contains("frr") => frr_role(node, startup, dir).map_err(bad),
            Some(b) if b.contains("bird") => bird_role(node, startup, dir).map_err(bad),
            Some(b) if b.starts_with("xlvs") => xlvs_role(node).map_err(bad),
            Some(_) => Ok(Role::Host),
        },
        other => Err(Problem::BadKind {
            node: node.name.clone(),
            kind: other.to_string(),
        }),
    }
}

/// Where the FRR and BIRD images read their configuration.
pub const FRR_CONF: &str = "/etc/frr/frr.conf";
pub const BIRD_CONF: &str = "/etc/bird/bird.conf";

fn frr_role(node: &Node, startup: Option<&str>, dir: &Path) -> Result<Role, String> {
    let frr_conf = router_config(node, startup, dir, "an FRR node", FRR_CONF)?;
    let daemons = node.bound_file("/etc/frr/daemons").map(|b| b.host.clone());
    Ok(Role::Frr { frr_conf, daemons })
}

fn bird_role(node: &Node, startup: Option<&str>, dir: &Path) -> Result<Role, String> {
    let bird_conf = router_config(node, startup, dir, "a BIRD node", BIRD_CONF)?;
    Ok(Role::Bird { bird_conf })
}

/// A router's configuration file on the host: `startup-config` (as
/// containerlab's router kinds take it), else the file bound at
/// `container_path`, where the router's image reads it.
fn router_config(
    node: &Node,
    startup: Option<&str>,
    dir: &Path,
    what: &str,
    container_path: &str,
) -> Result<PathBuf, String> {
    match (startup, node.bound_file(container_path)) {
        (Some(s), _) => {
            let p = dir.join(s);
            if !p.is_file() {
                return Err(format!("startup-config {} does not exist", p.display()));
            }
            Ok(p)
        }
        (None, Some(b)) => Ok(b.host.clone()),
        (None, None) => {
            let file = Path::new(container_path)
                .file_name()
                .expect("a file path")
                .to_string_lossy();
            Err(format!(
                "{what} needs its {file}: bind it to {container_path} or set startup-config"
            ))
        }
    }
}

/// The xlvs image runs `xlvsd --config FILE`; FILE must be bound.
pub const XLVS_DEFAULT_CMD: &str = "xlvsd --config /etc/xlvs/xlvs.toml";

fn xlvs_role(node: &Node) -> Result<Role, String> {
    let cmd = node.cmd.as_deref().unwrap_or(XLVS_DEFAULT_CMD);
    let words = shlex::split(cmd).ok_or_else(|| format!("cmd {cmd:?} has unbalanced quotes"))?;
    if words.first().map(|w| image_base(w)) != Some("xlvsd") {
        return Err(format!("an xlvs node runs xlvsd, but cmd is {cmd:?}"));
    }
    let config = words
        .iter()
        .position(|w| w == "--config")
        .and_then(|i| words.get(i + 1).cloned())
        .or_else(|| {
            words
                .iter()
                .find_map(|w| w.strip_prefix("--config=").map(str::to_string))
        })
        .ok_or_else(|| format!("cmd {cmd:?} has no --config FILE"))?;
    let bind = node
        .bound_file(&config)
        .ok_or_else(|| format!("xlvsd --config {config}: no bind provides that file"))?;
    Ok(Role::Xlvs {
        config: bind.host.clone(),
        socket: PathBuf::new(),
        pins: PathBuf::new(),
        xdp_interfaces: Vec::new(),
    })
}

fn build_links(raw: &[RawLink], nodes: &[Node], problems: &mut Vec<Problem>) -> Vec<Link> {
    let known: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut links = Vec::new();
    for (index, l) in raw.iter().enumerate() {
        check_extra(
            &format!("link {index}"),
            &l.other,
            IGNORED_LINK_KEYS,
            problems,
        );
        let bad = |why: String| Problem::BadLink { index, why };
        if let Some(t) = l.link_type.as_deref().filter(|t| *t != "veth") {
            problems.push(bad(format!("type {t:?} is not supported (only veth)")));
            continue;
        }
        if l.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
            problems.push(bad("mtu must be 68..65535".into()));
        }
        if l.endpoints.len() != 2 {
            problems.push(bad(format!(
                "a link has exactly 2 endpoints, found {}",
                l.endpoints.len()
            )));
            continue;
        }
        let mut ends = Vec::new();
        for e in &l.endpoints {
            match parse_endpoint(e) {
                Ok(ep) => ends.push(ep),
                Err(why) => problems.push(bad(why)),
            }
        }
        if ends.len() != 2 {
            continue;
        }
        let mut ok = true;
        for ep in &ends {
            if !known.contains(ep.node.as_str()) {
                ok = false;
                problems.push(Problem::UnknownNode {
                    index,
                    endpoint: ep.to_string(),
                    node: ep.node.clone(),
                });
            }
            match used.get(&(ep.node.clone(), ep.interface.clone())) {
                Some(&first) => {
                    ok = false;
                    problems.push(Problem::InterfaceReused {
                        index,
                        first,
                        endpoint: ep.to_string(),
                    });
                }
                None => {
                    used.insert((ep.node.clone(), ep.interface.clone()), index);
                }
            }
        }
        if ok {
            let b = ends.pop().expect("two endpoints");
            let a = ends.pop().expect("two endpoints");
            links.push(Link { a, b, mtu: l.mtu });
        }
    }
    links
}

fn parse_endpoint(e: &RawEndpoint) -> Result<Endpoint, String> {
    let ep = match e {
        RawEndpoint::Brief(s) => {
            let (node, interface) = s
                .split_once(':')
                .ok_or_else(|| format!("endpoint {s:?} is not node:interface"))?;
            Endpoint {
                node: node.to_string(),
                interface: interface.to_string(),
                mac: None,
            }
        }
        RawEndpoint::Extended(x) => {
            if let Some(key) = x.other.keys().next() {
                return Err(format!(
                    "endpoint {}:{}: unsupported field `{key}`",
                    x.node, x.interface
                ));
            }
            Endpoint {
                node: x.node.clone(),
                interface: x.interface.clone(),
                mac: x.mac.clone(),
            }
        }
    };
    let i = &ep.interface;
    if i.is_empty()
        || i.len() > MAX_IFNAME
        || i.contains(['/', ':', ' '])
        || i == "lo"
        || i == "."
        || i == ".."
    {
        return Err(format!(
            "endpoint {ep}: invalid interface name (1..{MAX_IFNAME} characters, no '/', not lo)"
        ));
    }
    if i == "eth0" {
        return Err(format!(
            "endpoint {ep}: eth0 is containerlab's management interface; data links use eth1, eth2, ..."
        ));
    }
    if let Some(mac) = &ep.mac {
        check_mac(mac).map_err(|why| format!("endpoint {ep}: mac {mac:?}: {why}"))?;
    }
    Ok(ep)
}

fn check_mac(mac: &str) -> Result<(), String> {
    let bytes: Vec<Result<u8, _>> = mac.split(':').map(|h| u8::from_str_radix(h, 16)).collect();
    if bytes.len() != 6 || bytes.iter().any(|b| b.is_err()) || mac.split(':').any(|h| h.len() != 2)
    {
        return Err("expected six hex octets like 02:00:00:00:00:01".into());
    }
    if bytes[0].as_ref().is_ok_and(|b| b & 1 == 1) {
        return Err("a multicast address cannot be an interface address".into());
    }
    Ok(())
}
