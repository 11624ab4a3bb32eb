//! The OSPF side of the daemon: the speaker configured from the node file,
//! the addresses it announces, and the control commands about it.

use std::net::Ipv4Addr;
use xlvs_api::ipvs::IpvsOp;
use xlvs_api::Command;
use xlvs_config::{AnnounceAs, NetworkType, NodeConfig, OspfAuth};
use xlvs_ospf::{Auth, VipMode};
use xlvs_ospf_driver::{link_info, InterfaceChanges, InterfaceSpec, Speaker, SpeakerConfig};

/// Stub-link (or external) metric of every announced address: equal on all
/// directors, so routers spread flows across them.
pub const ANNOUNCE_METRIC: u16 = 1;

pub fn speaker_config(c: &NodeConfig) -> SpeakerConfig {
    SpeakerConfig {
        router_id: c.node.router_id,
        area_id: c.ospf.area,
        vip_mode: match c.ospf.announce_as {
            AnnounceAs::RouterLsa => VipMode::RouterLsa,
            AnnounceAs::External => VipMode::External,
        },
        interfaces: interface_specs(c),
        graceful: None,
    }
}

fn interface_specs(c: &NodeConfig) -> Vec<InterfaceSpec> {
    c.ospf
        .interfaces
        .iter()
        .map(|i| InterfaceSpec {
            name: i.name.clone(),
            network: match i.network {
                NetworkType::Broadcast => xlvs_ospf::NetworkType::Broadcast,
                NetworkType::PointToPoint => xlvs_ospf::NetworkType::PointToPoint,
            },
            cost: i.cost,
            hello_interval: i.hello_interval.as_secs() as u16,
            dead_interval: i.dead_interval.as_secs() as u32,
            mtu_ignore: i.mtu_ignore,
            auth: match &i.auth {
                OspfAuth::None => Auth::None,
                OspfAuth::Md5 { key_id, key } => Auth::md5(*key_id, key.as_bytes()),
            },
        })
        .collect()
}

/// The `[node]` and `[ospf]` settings a reload changes that only a restart
/// can: the router id and area make a new OSPF router, the rest is read
/// once at start. (`shutdown_grace` is read at shutdown; OSPF interfaces
/// change live.)
pub fn fixed_changes(new: &NodeConfig, old: &NodeConfig) -> Vec<&'static str> {
    // Destructured in full: a new [node] field must be sorted in here.
    let xlvs_config::Node {
        name,
        router_id,
        control_socket,
        log_format,
        shutdown_grace: _,
    } = &old.node;
    // Interfaces change live (interface_plan).
    let xlvs_config::Ospf {
        area,
        announce_as,
        interfaces: _,
    } = &old.ospf;
    let (n, o) = (&new.node, &new.ospf);
    [
        (n.name != *name, "node.name"),
        (n.router_id != *router_id, "node.router_id"),
        (n.control_socket != *control_socket, "node.control_socket"),
        (n.log_format != *log_format, "node.log_format"),
        (o.area != *area, "ospf.area"),
        (o.announce_as != *announce_as, "ospf.announce_as"),
    ]
    .into_iter()
    .filter_map(|(changed, field)| changed.then_some(field))
    .collect()
}

/// Every setting a reload changes that only a restart can, by name: the
/// data plane's fixed settings, then `[node]` and `[ospf]`, then
/// `[metrics]`. `nat_capacity` is the NAT table loaded at start.
pub fn restart_only(new: &NodeConfig, old: &NodeConfig, nat_capacity: u32) -> Vec<&'static str> {
    let d = (&new.dataplane, &old.dataplane);
    let mut fixed = Vec::new();
    if d.0.interfaces != d.1.interfaces || d.0.xdp_mode != d.1.xdp_mode {
        fixed.push("dataplane.interfaces / xdp_mode");
    }
    if d.0.conntrack_entries != d.1.conntrack_entries
        || d.0.maglev_table_size != d.1.maglev_table_size
        || d.0.flow_cache_entries != d.1.flow_cache_entries
    {
        fixed.push("dataplane.conntrack_entries / maglev_table_size / flow_cache_entries");
    }
    if d.0.pin_dir != d.1.pin_dir {
        fixed.push("dataplane.pin_dir");
    }
    if crate::forwarder::nat_entries(new) > nat_capacity {
        fixed.push("the first NAT or FULLNAT service (its table is sized at start)");
    }
    if d.0.tun_source != d.1.tun_source || new.fullnat != old.fullnat {
        fixed.push("dataplane.tun_source / [fullnat]");
    }
    // OSPF interfaces change live; not the router itself.
    fixed.extend(fixed_changes(new, old));
    if new.metrics != old.metrics {
        fixed.push("[metrics]");
    }
    fixed
}

/// The OSPF interfaces a reload adds, removes or changes, checked before
/// anything changes: an interface to add must exist on this host with an
/// IPv4 address (at start the speaker waits for a missing one; a reload
/// refuses it, as it is most likely a typo).
fn interface_plan(new: &NodeConfig, old: &NodeConfig) -> Result<InterfaceChanges, String> {
    let plan = InterfaceChanges::plan(&interface_specs(old), &interface_specs(new));
    let missing: Vec<String> = plan
        .added
        .iter()
        .filter_map(|name| link_info(name).err())
        .map(|e| e.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "[[ospf.interface]]: {} (nothing was changed)",
            missing.join("; ")
        ));
    }
    for name in &plan.added {
        if !new.dataplane.interfaces.contains(name) {
            tracing::warn!(interface = %name, "OSPF interface without XDP: VIP traffic the routers send over it is not balanced (dataplane.interfaces changes with a restart)");
        }
    }
    Ok(plan)
}

/// Every address this node announces: each service VIP once, and the
/// FULLNAT local addresses. (Until health checks exist, all of them.)
pub fn addresses(c: &NodeConfig) -> Vec<Ipv4Addr> {
    let mut all: Vec<Ipv4Addr> = c.services.iter().map(|s| s.vip).collect();
    if let Some(f) = &c.fullnat {
        all.extend_from_slice(&f.local_addresses);
    }
    all.sort();
    all.dedup();
    all
}

impl Node {
    /// Re-reads the config file and applies it, all or nothing: an invalid
    /// file, a change that needs a restart, or a health check that cannot
    /// be set up leaves everything as it was.
    pub(crate) async fn reload(&self) -> Result<serde_json::Value, String> {
        let new = xlvs_config::load(&self.config_path).map_err(|errors| {
            format!(
                "{}: {} errors, nothing changed:\n{errors}",
                self.config_path.display(),
                errors.len()
            )
        })?;
        for (id, spec) in xlvs_health::config_targets(&new) {
            spec.map_err(|e| format!("health check of {id}: {e}; nothing changed"))?;
        }
        let summary = self.apply(new).await?;
        tracing::info!(%summary, "config reloaded");
        Ok(serde_json::json!({ "reloaded": summary }))
    }

    /// Puts a config in force (reload or ipvsadm change), all or nothing:
    /// the OSPF interfaces and the data plane are both checked before
    /// either changes. OSPF interface changes go to the running speaker;
    /// the other adjacencies and XDP stay as they are.
    async fn apply(&self, new: NodeConfig) -> Result<String, String> {
        let mut current = self.config.lock().await;
        let ospf = interface_plan(&new, &current)?;
        let mut summary = {
            let mut f = self.forwarder.lock().await;
            let fixed = restart_only(&new, &current, f.nat_capacity());
            if !fixed.is_empty() {
                return Err(format!(
                    "{} cannot change at runtime: restart xlvsd (nothing was changed)",
                    fixed.join(", ")
                ));
            }
            let entries = f.prepare(&new).map_err(|e| e.to_string())?;
            f.install(entries, &new, &current)
                .map_err(|e| e.to_string())?
        };
        if !ospf.is_empty() {
            let done = self
                .speaker
                .set_interfaces(interface_specs(&new))
                .await
                .map_err(|e| format!("OSPF interfaces: {e}"))?;
            summary.push_str(&format!("; OSPF interfaces: {done}"));
        }
        let _ = self.reloads.send(new.clone());
        *current = new;
        self.changed.notify_one();
        Ok(summary)
    }

    /// `xlvsadm restart --graceful [--grace-period S]`: grace-LSAs out and
    /// acknowledged, the record written; the daemon exits once the answer
    /// is written (control.rs).
    async fn prepare_restart(
        &self,
        grace_period_s: Option<u64>,
    ) -> Result<serde_json::Value, String> {
        use std::sync::atomic::Ordering;
        let seconds = grace_period_s.unwrap_or(crate::graceful::DEFAULT_GRACE_PERIOD.as_secs());
        let period = crate::graceful::grace_period(seconds).map_err(|e| e.to_string())?;
        if self.stopping.load(Ordering::Relaxed) || self.restart_prepared.load(Ordering::Relaxed) {
            return Err("xlvsd is already stopping".into());
        }
        let config = self.config.lock().await.clone();
        let prepared = crate::graceful::prepare(&self.speaker, &config, period)
            .await
            .map_err(|e| format!("graceful restart refused: {e}"))?;
        self.restart_prepared.store(true, Ordering::Relaxed);
        tracing::info!(
            grace_period_s = seconds,
            adjacencies = prepared.adjacencies,
            "graceful restart: every adjacency helps; exiting without withdrawing anything"
        );
        Ok(serde_json::json!({
            "grace_period_s": seconds,
            "adjacencies": prepared.adjacencies,
            "exit_code": crate::graceful::EXIT_CODE,
        }))
    }

    /// An ipvsadm change (xlvsadm -A/-E/-D/-a/-e/-d/-C/-Z/--set).
    async fn ipvs(&self, op: IpvsOp) -> Result<serde_json::Value, String> {
        match &op {
            IpvsOp::Zero { service } => {
                let key = service.map(|k| (k.vip, k.protocol, k.port));
                self.forwarder
                    .lock()
                    .await
                    .zero(key)
                    .map_err(|e| e.to_string())?;
            }
            IpvsOp::SetTimeouts(t) => {
                self.forwarder
                    .lock()
                    .await
                    .set_timeouts(t.tcp_s, t.tcpfin_s, t.udp_s)
                    .map_err(|e| e.to_string())?;
            }
            _ => {
                let new = crate::ipvs::apply(&op, &*self.config.lock().await)?;
                let summary = self.apply(new).await?;
                tracing::info!(?op, %summary, "ipvsadm change applied (not written to the config file)");
            }
        }
        Ok(serde_json::Value::Null)
    }
}

/// What the control socket can ask about.
#[derive(Clone)]
pub struct Node {
    pub name: String,
    pub router_id: Ipv4Addr,
    pub speaker: Speaker,
    pub forwarder: std::sync::Arc<tokio::sync::Mutex<crate::forwarder::Forwarder>>,
    /// Wakes the supervisor to re-check announcements now.
    pub changed: std::sync::Arc<tokio::sync::Notify>,
    /// Counter samples for rates, taken by the supervisor every second.
    pub samples: std::sync::Arc<tokio::sync::Mutex<crate::listing::Samples>>,
    /// The config file, and the config in force.
    pub config_path: std::path::PathBuf,
    pub config: std::sync::Arc<tokio::sync::Mutex<NodeConfig>>,
    /// Hands a reloaded config to the supervisor (health checks).
    pub reloads: tokio::sync::mpsc::UnboundedSender<NodeConfig>,
    /// Shutting down: routes withdrawn, the data plane still forwarding.
    pub stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// A graceful restart is prepared: once the answer saying so is
    /// written, the daemon exits (`restart_now`).
    pub restart_prepared: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub restart_now: std::sync::Arc<tokio::sync::Notify>,
}

impl Node {
    /// Runs one control command; the error is the message for the client.
    pub async fn command(&self, command: Command) -> Result<serde_json::Value, String> {
        let name = command.name();
        match command {
            // Low-level route control, for operators and tests; the drain
            // commands of the daemon issue build on it.
            Command::OspfAnnounce(addr) | Command::OspfWithdraw(addr) => {
                let r = if matches!(command, Command::OspfAnnounce(_)) {
                    self.speaker.announce(addr, ANNOUNCE_METRIC).await
                } else {
                    self.speaker.withdraw(addr).await
                };
                r.map_err(|e| e.to_string())?;
                Ok(serde_json::json!({"address": addr}))
            }
            Command::RestartGraceful { grace_period_s } => {
                self.prepare_restart(grace_period_s).await
            }
            Command::OspfGraceful => json(self.speaker.graceful_status().await),
            Command::OspfNeighbors => json(self.speaker.neighbors().await),
            Command::OspfDatabase => json(self.speaker.database().await),
            Command::OspfInterfaces => json(self.speaker.interfaces().await),
            Command::OspfStats => json(self.speaker.stats().await),
            Command::Drain { ref service } | Command::Undrain { ref service } => {
                let drain = matches!(command, Command::Drain { .. });
                let services = self
                    .forwarder
                    .lock()
                    .await
                    .drain(service.as_deref(), drain)
                    .map_err(|e| e.to_string())?;
                self.changed.notify_one();
                tracing::info!(?services, drain, "operator {name}");
                Ok(serde_json::json!({ "services": services, "drained": drain }))
            }
            Command::Reload => self.reload().await,
            Command::Health { service } => {
                let f = self.forwarder.lock().await;
                let rows =
                    crate::health_report::of(&f, service.as_deref()).map_err(|e| e.to_string())?;
                Ok(serde_json::Value::Array(rows))
            }
            Command::IpvsList { connections } => {
                let f = self.forwarder.lock().await;
                let samples = self.samples.lock().await;
                let table = crate::listing::table(&f, &samples, connections);
                Ok(serde_json::to_value(table).expect("serializable"))
            }
            Command::Ipvs(op) => self.ipvs(op).await,
            Command::DataplaneStats => {
                let stats = self
                    .forwarder
                    .lock()
                    .await
                    .stats()
                    .map_err(|e| e.to_string())?;
                Ok(serde_json::Value::Object(
                    stats
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.into()))
                        .collect(),
                ))
            }
            Command::Status => {
                let stopping = self.stopping.load(std::sync::atomic::Ordering::Relaxed);
                let announced = match self.speaker.announced().await {
                    // Shutting down: everything was flushed.
                    Err(xlvs_ospf_driver::DriverError::Stopped) if stopping => Vec::new(),
                    other => other.map_err(|e| e.to_string())?,
                };
                let vips = crate::readiness::of(&*self.forwarder.lock().await);
                Ok(serde_json::json!({
                    "node": self.name,
                    "router_id": self.router_id,
                    "stopping": stopping,
                    "announced": announced.iter().map(|(a, m)| serde_json::json!({"address": a, "metric": m})).collect::<Vec<_>>(),
                    "vips": vips.iter().map(|(vip, r)| serde_json::json!({
                        "vip": vip, "ready": r.announce, "why": r.reasons,
                    })).collect::<Vec<_>>(),
                }))
            }
        }
    }
}

fn json<T: serde::Serialize>(
    v: Result<T, xlvs_ospf_driver::DriverError>,
) -> Result<serde_json::Value, String> {
    v.map_err(|e| e.to_string())
        .map(|x| serde_json::to_value(x).expect("serializable"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[node]
name = "lb1"
router_id = "10.255.0.11"
[ospf]
[[ospf.interface]]
name = "lo"
[dataplane]
interfaces = ["lo"]
"#;

    fn with(edit: impl Fn(String) -> String) -> NodeConfig {
        xlvs_config::parse(&edit(CONFIG.to_string()), "t.toml").unwrap()
    }

    #[test]
    fn router_id_area_and_announce_as_are_fixed_but_interfaces_are_not() {
        let old = with(|c| c);
        let new = with(|c| {
            c.replace("10.255.0.11", "10.255.0.12")
                .replace(
                    "[ospf]",
                    "[ospf]\narea = \"0.0.0.1\"\nannounce_as = \"external\"",
                )
                .replace("name = \"lo\"", "name = \"lo\"\ncost = 20")
        });
        assert_eq!(
            fixed_changes(&new, &old),
            ["node.router_id", "ospf.area", "ospf.announce_as"]
        );
        let grace = with(|c| c.replace("[ospf]", "shutdown_grace = \"1s\"\n[ospf]"));
        assert!(fixed_changes(&grace, &old).is_empty());
        let plan = interface_plan(&new, &old).unwrap();
        assert_eq!(plan.changed, ["lo"]);
    }

    #[test]
    fn an_interface_missing_on_the_host_is_refused_by_name() {
        let old = with(|c| c);
        let new = with(|c| c + "[[ospf.interface]]\nname = \"xlvs-no-such0\"\n");
        let err = interface_plan(&new, &old).unwrap_err();
        assert!(
            err.contains("xlvs-no-such0 does not exist") && err.contains("nothing was changed"),
            "{err}"
        );
        // and back: a removal needs nothing from the host
        let plan = interface_plan(&old, &new).unwrap();
        assert_eq!(plan.removed, ["xlvs-no-such0"]);
    }
}
