//! `xlvs-lab status`: nodes, their processes and interfaces, and links.

use crate::error::LabError;
use crate::state::{netns_name, LabState};
use crate::sys;
use crate::topology::Topology;
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct Status {
    pub lab: String,
    pub up: bool,
    pub nodes: Vec<NodeStatus>,
    pub links: Vec<LinkStatus>,
}

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: &'static str,
    pub netns: String,
    pub netns_exists: bool,
    pub processes: Vec<ProcessStatus>,
    pub interfaces: Vec<InterfaceStatus>,
}

#[derive(Debug, Serialize)]
pub struct ProcessStatus {
    pub name: String,
    pub pid: i32,
    pub alive: bool,
    pub log: String,
}

#[derive(Debug, Serialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub state: String,
    pub mac: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LinkStatus {
    pub a: String,
    pub b: String,
    pub up: bool,
}

/// `ip -j addr` output, the parts we show.
#[derive(serde::Deserialize)]
struct IpAddr {
    ifname: String,
    operstate: Option<String>,
    address: Option<String>,
    #[serde(default)]
    addr_info: Vec<IpAddrInfo>,
}

#[derive(serde::Deserialize)]
struct IpAddrInfo {
    local: String,
    prefixlen: u8,
}

fn interfaces(ns: &str) -> Vec<InterfaceStatus> {
    let Ok(out) = sys::ip_in(ns, &["-j", "addr", "show"]) else {
        return Vec::new();
    };
    let parsed: Vec<IpAddr> = serde_json::from_str(&out).unwrap_or_default();
    parsed
        .into_iter()
        .map(|i| InterfaceStatus {
            name: i.ifname,
            state: i.operstate.unwrap_or_default(),
            mac: i.address.unwrap_or_default(),
            addresses: i
                .addr_info
                .iter()
                .map(|a| format!("{}/{}", a.local, a.prefixlen))
                .collect(),
        })
        .collect()
}

pub fn status(topo: &Topology) -> Result<Status, LabError> {
    let state = LabState::load(&topo.name)?;
    let mut nodes = Vec::new();
    for n in &topo.nodes {
        let ns = netns_name(&topo.name, &n.name);
        let exists = std::path::Path::new("/run/netns").join(&ns).exists();
        let processes = state
            .iter()
            .flat_map(|s| &s.processes)
            .filter(|p| p.node == n.name)
            .map(|p| ProcessStatus {
                name: p.name.clone(),
                pid: p.id.pid,
                alive: p.id.alive(),
                log: p.log.display().to_string(),
            })
            .collect();
        nodes.push(NodeStatus {
            name: n.name.clone(),
            role: n.role.label(),
            netns: ns.clone(),
            netns_exists: exists,
            processes,
            interfaces: if exists { interfaces(&ns) } else { Vec::new() },
        });
    }
    let is_up = |end: &crate::topology::Endpoint| {
        nodes
            .iter()
            .find(|n| n.name == end.node)
            .and_then(|n| n.interfaces.iter().find(|i| i.name == end.interface))
            .is_some_and(|i| i.state == "UP" || i.state == "UNKNOWN")
    };
    let links = topo
        .links
        .iter()
        .map(|l| LinkStatus {
            a: l.a.to_string(),
            b: l.b.to_string(),
            up: is_up(&l.a) && is_up(&l.b),
        })
        .collect();
    Ok(Status {
        lab: topo.name.clone(),
        up: state.is_some() && nodes.iter().all(|n| n.netns_exists),
        nodes,
        links,
    })
}

impl Status {
    /// The plain-text listing.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let state = if self.up { "up" } else { "down" };
        let _ = writeln!(s, "lab {}: {state}", self.lab);
        for n in &self.nodes {
            let _ = writeln!(s, "\n{} ({}, netns {})", n.name, n.role, n.netns);
            for p in &n.processes {
                let alive = if p.alive { "running" } else { "EXITED" };
                let _ = writeln!(s, "  process {:<10} pid {:<8} {alive}", p.name, p.pid);
            }
            for i in n.interfaces.iter().filter(|i| i.name != "lo") {
                let _ = writeln!(
                    s,
                    "  {:<10} {:<8} {} {}",
                    i.name,
                    i.state,
                    i.mac,
                    i.addresses.join(" ")
                );
            }
        }
        let _ = writeln!(s, "\nlinks:");
        for l in &self.links {
            let state = if l.up { "up" } else { "DOWN" };
            let _ = writeln!(s, "  {:<20} -- {:<20} {state}", l.a, l.b);
        }
        s
    }
}
