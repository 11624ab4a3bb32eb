//! Everything one scrape shows, read from the node before rendering.

use super::process::Process;
use crate::forwarder::Check;
use crate::node::{Node, ReloadStatus};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use xlvs_api::ipvs::{RealEntry, ServiceEntry};
use xlvs_api::reply::SyncReport;
use xlvs_ospf::{InterfaceInfo, NeighborInfo};

/// Everything one scrape shows, gathered before rendering.
#[derive(Default)]
pub struct Snapshot {
    pub services: Vec<ServiceMetrics>,
    /// Each VIP: whether the data plane can serve it (quorum met, not
    /// drained), and whether it is announced (`None`: OSPF did not answer).
    pub vips: Vec<(Ipv4Addr, bool, Option<bool>)>,
    /// `None` when the OSPF speaker did not answer.
    pub ospf: Option<Ospf>,
    /// `None` when the OSPF speaker (which runs BFD) did not answer.
    pub bfd: Option<xlvs_ospf_driver::BfdStatus>,
    /// `None` when the counters could not be read.
    pub dataplane: Option<Vec<(&'static str, u64)>>,
    /// Flow sync, as `xlvsadm sync` shows it: `None` without `[cluster]`.
    /// `table.ring_full` is the data plane's `sync_ring_full`, read with
    /// `dataplane` (0 when that could not be read).
    pub sync: Option<SyncReport>,
    /// `None` when the connection table could not be read.
    pub conntrack: Option<Occupancy>,
    pub reload: ReloadStatus,
    /// `None` when /proc could not be read.
    pub process: Option<Process>,
}

/// How full the connection table is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Occupancy {
    pub entries: u64,
    pub live: u64,
    pub capacity: u64,
}

pub struct ServiceMetrics {
    pub entry: ServiceEntry,
    /// In the order of `entry.reals`, without the sorry server.
    pub reals: Vec<RealMetrics>,
}

pub struct RealMetrics {
    pub entry: RealEntry,
    /// The weight in the config (or set by ipvsadm -e).
    pub weight: u32,
    /// Passes its health check.
    pub healthy: bool,
}

pub struct Ospf {
    pub neighbors: Vec<NeighborInfo>,
    pub interfaces: Vec<InterfaceInfo>,
    pub stats: xlvs_ospf::Stats,
}

/// Reads everything for one scrape. The data plane lock is held only
/// while its part is read.
pub async fn collect(node: &Node) -> Snapshot {
    let (services, ready, dataplane, conntrack) = {
        let f = node.forwarder.lock().await;
        // Rates are not exported (Prometheus derives them): no samples.
        let samples = crate::listing::Samples::default();
        let (table, census) = crate::listing::table_and_census(&f, &samples, false);
        let conntrack = census.map(|c| Occupancy {
            entries: c.entries,
            live: c.live,
            capacity: u64::from(f.conntrack_size()),
        });
        // (VIP, protocol, port, real, real port) -> (weight, healthy)
        let mut state = BTreeMap::new();
        for e in f.entries() {
            let port = e.port();
            for r in &e.spec.reals {
                let rport = if r.port == 0 { port } else { r.port };
                let key = (e.spec.vip, e.spec.protocol, port, r.addr, rport);
                let healthy = f.reals().get(&e.real_id(r)).check == Check::Passing;
                state.insert(key, (r.weight, healthy));
            }
        }
        let services = table
            .services
            .into_iter()
            .map(|entry| {
                // The sorry server is listed with the reals; its metrics
                // would read as a real that is down.
                let reals = entry
                    .reals
                    .iter()
                    .filter(|r| !r.sorry_server)
                    .map(|r| {
                        let key = (entry.vip, entry.protocol, entry.port, r.address, r.port);
                        let (weight, healthy) = state.get(&key).copied().unwrap_or_default();
                        RealMetrics {
                            entry: r.clone(),
                            weight,
                            healthy,
                        }
                    })
                    .collect();
                ServiceMetrics { entry, reals }
            })
            .collect();
        let dataplane = f
            .stats()
            .inspect_err(|e| tracing::warn!(error = %e, "metrics: data plane counters unreadable"))
            .ok();
        (
            services,
            crate::readiness::of(&f, node.sync.as_ref()),
            dataplane,
            conntrack,
        )
    };
    let speaker = &node.speaker;
    let announced = speaker.announced().await;
    let vips = ready
        .into_iter()
        .map(|(vip, r)| {
            let ready = r.announce;
            let announced = announced
                .as_ref()
                .ok()
                .map(|a| a.iter().any(|x| x.0 == vip));
            (vip, ready, announced)
        })
        .collect();
    let ospf = async {
        Ok::<_, xlvs_ospf_driver::DriverError>(Ospf {
            neighbors: speaker.neighbors().await?,
            interfaces: speaker.interfaces().await?,
            stats: speaker.stats().await?,
        })
    };
    let ospf = ospf
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: OSPF speaker did not answer"))
        .ok();
    let bfd = speaker.bfd().await.ok();
    let sync = node.sync.as_ref().map(|handle| {
        let mut report = handle.report();
        if let Some(stats) = &dataplane {
            report.table.ring_full = crate::sync::ring_full(stats);
        }
        report
    });
    let reload = node.reload_status.lock().map(|s| *s).unwrap_or_default();
    let process = super::process::read();
    if process.is_none() {
        tracing::warn!("metrics: /proc/self unreadable: no process_* metrics");
    }
    Snapshot {
        services,
        vips,
        ospf,
        bfd,
        dataplane,
        sync,
        conntrack,
        reload,
        process,
    }
}
