//! One data plane service entry: a port of a config service (ipvsadm
//! lists one service per port, each with its own counters), with what it
//! is configured as and what the data plane has now.

use super::policy::Policy;
use super::quorum::Quorum;
use super::real_state::RealId;
use std::net::Ipv4Addr;
use xlvs_config::{Protocol, Scheduler};
use xlvs_dataplane::{RealSpec, ServiceSpec};

#[derive(Debug, Clone)]
pub struct Entry {
    /// As configured: every real at its configured weight, MACs not filled
    /// in. `id` stays the same across reloads while (VIP, protocol, port)
    /// does, so its connections stay.
    pub spec: ServiceSpec,
    /// The config service it comes from.
    pub name: String,
    pub policy: Policy,
    /// (timeout s, netmask), like ipvsadm -p/-M.
    pub persistence: Option<(u32, Ipv4Addr)>,
    /// The configured scheduler (with persistence, mh, sh and dh all hash
    /// the source: the listing still names the one given).
    pub scheduler: Scheduler,
    pub programmed: Programmed,
}

/// What the data plane has for an entry now, and the decisions that carry
/// from one programming to the next.
#[derive(Debug, Clone, Default)]
pub struct Programmed {
    /// The backends and the weights new flows see; `None` until written.
    pub spec: Option<ServiceSpec>,
    pub quorum: Quorum,
    /// The sorry server takes the new flows.
    pub sorry_serving: bool,
}

impl Entry {
    pub fn port(&self) -> u16 {
        self.spec.ports[0]
    }

    /// ipvsadm's name for the entry: (VIP, protocol, port).
    pub fn key(&self) -> (Ipv4Addr, Protocol, u16) {
        (self.spec.vip, self.spec.protocol, self.port())
    }

    pub fn real_id(&self, r: &RealSpec) -> RealId {
        RealId::new(&self.name, r.addr, r.port)
    }

    /// The reals, then the sorry server if there is one.
    pub fn backends(&self) -> impl Iterator<Item = &RealSpec> {
        self.spec.reals.iter().chain(self.policy.sorry.as_ref())
    }

    /// The weight a backend is programmed with now (0: none, or not in
    /// the data plane).
    pub fn programmed_weight(&self, r: &RealSpec) -> u32 {
        let programmed = self.programmed.spec.as_ref();
        let found = programmed.and_then(|p| {
            p.reals
                .iter()
                .find(|x| (x.addr, x.port) == (r.addr, r.port))
        });
        found.map_or(0, |x| x.weight)
    }

    /// On a reload: the quorum (and so its hysteresis) and the sorry
    /// server's role carry over from the entry of the same service and
    /// port; what is programmed is written again.
    pub fn inherit(&mut self, old: &Entry) {
        self.programmed = Programmed {
            spec: None,
            quorum: old.programmed.quorum,
            sorry_serving: old.programmed.sorry_serving,
        };
    }
}

/// An operator named a service the config does not have.
#[derive(Debug, thiserror::Error)]
#[error("no service named {0:?}")]
pub struct UnknownService(pub String);

/// The entries of the named service (all of them for `None`); an unknown
/// name is an error.
pub fn of_service<'a>(
    entries: &'a [Entry],
    name: Option<&str>,
) -> Result<Vec<&'a Entry>, UnknownService> {
    let chosen: Vec<&Entry> = entries
        .iter()
        .filter(|e| name.is_none_or(|n| e.name == n))
        .collect();
    match name {
        Some(n) if chosen.is_empty() => Err(UnknownService(n.to_string())),
        _ => Ok(chosen),
    }
}
