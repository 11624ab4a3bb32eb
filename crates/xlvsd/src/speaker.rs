//! The OSPF side of the daemon: the speaker configured from the node file,
//! the addresses it announces, and the control commands about it.

use std::net::Ipv4Addr;
use xlvs_config::{AnnounceAs, NetworkType, NodeConfig, OspfAuth};
use xlvs_ospf::driver::{InterfaceSpec, Speaker, SpeakerConfig};
use xlvs_ospf::{Auth, VipMode};

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
        interfaces: c
            .ospf
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
            .collect(),
    }
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
    async fn reload(&self) -> Result<serde_json::Value, String> {
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

    /// Puts a config in force (reload or ipvsadm change), all or nothing.
    async fn apply(&self, new: NodeConfig) -> Result<String, String> {
        let mut current = self.config.lock().await;
        let summary = self.forwarder.lock().await.reload(&new, &current)?;
        let _ = self.reloads.send(new.clone());
        *current = new;
        self.changed.notify_one();
        Ok(summary)
    }

    /// An ipvsadm change (xlvsadm -A/-E/-D/-a/-e/-d/-C/-Z/--set).
    async fn ipvs(&self, args: &[String]) -> Result<serde_json::Value, String> {
        use xlvsadm::ipvsadm::IpvsOp;
        let [json] = args else {
            return Err("ipvs takes one argument: the operation as JSON".into());
        };
        let op: IpvsOp =
            serde_json::from_str(json).map_err(|e| format!("malformed operation: {e}"))?;
        let proto = |p: xlvsadm::model::Protocol| match p {
            xlvsadm::model::Protocol::Tcp => 6u8,
            xlvsadm::model::Protocol::Udp => 17,
        };
        match &op {
            IpvsOp::Zero { service } => {
                let key = service.map(|k| (k.vip, proto(k.protocol), k.port));
                self.forwarder.lock().await.zero(key)?;
            }
            IpvsOp::SetTimeouts(t) => {
                self.forwarder
                    .lock()
                    .await
                    .set_timeouts(t.tcp_s, t.tcpfin_s, t.udp_s)?;
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
}

impl Node {
    /// Runs one control command; the error is the message for the client.
    pub async fn command(
        &self,
        command: &str,
        args: &[String],
    ) -> Result<serde_json::Value, String> {
        match command {
            // Low-level route control, for operators and tests; the drain
            // commands of the daemon issue build on it.
            "ospf.announce" | "ospf.withdraw" => {
                let [addr] = args else {
                    return Err(format!("{command} takes one address"));
                };
                let addr: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
                let r = if command == "ospf.announce" {
                    self.speaker.announce(addr, ANNOUNCE_METRIC).await
                } else {
                    self.speaker.withdraw(addr).await
                };
                r.map_err(|e| e.to_string())?;
                Ok(serde_json::json!({"address": addr}))
            }
            "ospf.neighbors" => json(self.speaker.neighbors().await),
            "ospf.database" => json(self.speaker.database().await),
            "ospf.interfaces" => json(self.speaker.interfaces().await),
            "ospf.stats" => json(self.speaker.stats().await),
            "drain" | "undrain" => {
                let service = match args {
                    [] => None,
                    [name] => Some(name.as_str()),
                    _ => return Err(format!("{command} takes at most one service name")),
                };
                let drain = command == "drain";
                let services = self.forwarder.lock().await.drain(service, drain)?;
                self.changed.notify_one();
                tracing::info!(?services, drain, "operator {command}");
                Ok(serde_json::json!({ "services": services, "drained": drain }))
            }
            "reload" => self.reload().await,
            "health" => {
                let service = match args {
                    [] => None,
                    [name] => Some(name.as_str()),
                    _ => return Err("health takes at most one service name".into()),
                };
                let rows = self.forwarder.lock().await.health(service)?;
                Ok(serde_json::Value::Array(rows))
            }
            "ipvs.list" => {
                let with_connections = args.iter().any(|a| a == "connections");
                let f = self.forwarder.lock().await;
                let samples = self.samples.lock().await;
                let table = crate::listing::table(&f, &samples, with_connections);
                Ok(serde_json::to_value(table).expect("serializable"))
            }
            "ipvs" => self.ipvs(args).await,
            "dataplane.stats" => {
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
            "status" => {
                let stopping = self.stopping.load(std::sync::atomic::Ordering::Relaxed);
                let announced = match self.speaker.announced().await {
                    // Shutting down: everything was flushed.
                    Err(xlvs_ospf::driver::DriverError::Stopped) if stopping => Vec::new(),
                    other => other.map_err(|e| e.to_string())?,
                };
                let vips = self.forwarder.lock().await.vip_states();
                Ok(serde_json::json!({
                    "node": self.name,
                    "router_id": self.router_id,
                    "stopping": stopping,
                    "announced": announced.iter().map(|(a, m)| serde_json::json!({"address": a, "metric": m})).collect::<Vec<_>>(),
                    "vips": vips.iter().map(|(vip, (ready, why))| serde_json::json!({
                        "vip": vip, "ready": ready, "why": why,
                    })).collect::<Vec<_>>(),
                }))
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }
}

fn json<T: serde::Serialize>(
    v: Result<T, xlvs_ospf::driver::DriverError>,
) -> Result<serde_json::Value, String> {
    v.map_err(|e| e.to_string())
        .map(|x| serde_json::to_value(x).expect("serializable"))
}
