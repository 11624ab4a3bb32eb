//! Putting a new config in force, all or nothing: `xlvsadm reload`, SIGHUP
//! and ipvsadm's runtime changes all come here. Everything that could
//! refuse the config is checked before anything changes: the file, the
//! health checks, the settings only a restart can change, the OSPF
//! interfaces to add, the data plane's room. Then the data plane, the
//! OSPF interfaces and the health checks change.

use crate::check::CheckError;
use crate::forwarder::{nat_entries, ForwarderError, TranslateError};
use crate::node::Node;
use crate::ospf::interface_specs;
use std::path::PathBuf;
use xlvs_config::{Cluster, NodeConfig, Peering};
use xlvs_ospf_driver::{link_info, DriverError, InterfaceChanges, LinkError};

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// What `xlvsd --check-config` would say of the file (check.rs).
    #[error("{}: {} errors, nothing changed:\n{error}", .path.display(), .error.count())]
    Invalid { path: PathBuf, error: CheckError },
    #[error("{} cannot change at runtime: restart xlvsd (nothing was changed)", .fields.join(", "))]
    RestartOnly { fields: Vec<&'static str> },
    #[error("[[ospf.interface]]: {} (nothing was changed)", join(.missing))]
    MissingInterfaces { missing: Vec<LinkError> },
    #[error(transparent)]
    Entries(#[from] TranslateError),
    #[error(transparent)]
    Forwarder(#[from] ForwarderError),
    #[error("OSPF interfaces: {0}")]
    Ospf(#[from] DriverError),
    #[error("{0} (nothing was changed)")]
    Sync(#[from] crate::sync::SyncError),
}

fn join(errors: &[LinkError]) -> String {
    let texts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    texts.join("; ")
}

impl Node {
    /// Re-reads the config file and applies it, all or nothing: a file
    /// `--check-config` refuses, or a change that needs a restart, leaves
    /// everything as it was. systemd hears of it (RELOADING=1, then
    /// READY=1 either way: the daemon runs on).
    pub async fn reload(&self) -> Result<serde_json::Value, ReloadError> {
        crate::notify::reloading();
        let result = self.reload_file().await;
        if let Ok(mut status) = self.reload_status.lock() {
            status.last_ok = result.is_ok();
            if result.is_ok() {
                status.last_success = std::time::SystemTime::now();
            }
        }
        crate::notify::ready(match &result {
            Ok(_) => "running: config reloaded",
            Err(_) => "running: last reload refused, the config in force is unchanged",
        });
        result
    }

    async fn reload_file(&self) -> Result<serde_json::Value, ReloadError> {
        // The same check as at start (check.rs).
        let checked =
            crate::check::load(&self.config_path).map_err(|error| ReloadError::Invalid {
                path: self.config_path.clone(),
                error,
            })?;
        let summary = self.apply(checked.config).await?;
        tracing::info!(%summary, "config reloaded");
        for w in &checked.warnings {
            w.log();
        }
        Ok(
            serde_json::to_value(xlvs_api::reply::Reloaded { reloaded: summary })
                .expect("replies serialize"),
        )
    }

    /// Puts a config in force (reload or ipvsadm change), all or nothing:
    /// the OSPF interfaces and the data plane are both checked before
    /// either changes. OSPF interface changes go to the running speaker;
    /// the other adjacencies and XDP stay as they are. Returns what
    /// changed.
    pub async fn apply(&self, new: NodeConfig) -> Result<String, ReloadError> {
        let mut current = self.config.lock().await;
        let ospf = interface_plan(&new, &current)?;
        if let (Some(sync), Some(c)) = (&self.sync, &new.cluster) {
            crate::sync::peer_is_self(c, sync.address)?;
        }
        let mut summary = {
            let mut f = self.forwarder.lock().await;
            let fields = restart_only(&new, &current, f.nat_capacity());
            if !fields.is_empty() {
                return Err(ReloadError::RestartOnly { fields });
            }
            let entries = f.prepare(&new)?;
            f.install(entries, &new, &current)?
        };
        if !ospf.is_empty() {
            let done = self.speaker.set_interfaces(interface_specs(&new)).await?;
            summary.push_str(&format!("; OSPF interfaces: {done}"));
        }
        if let (Some(sync), Some(c)) = (&self.sync, &new.cluster) {
            if let xlvs_config::Peering::Peers(peers) = &c.peering {
                sync.set_peers(peers.clone());
            }
        }
        // The supervisor sets the health checks up for the new reals.
        let _ = self.reloads.send(new.clone());
        *current = new;
        self.changed.notify_one();
        Ok(summary)
    }
}

/// Every setting a reload changes that only a restart can, by name: the
/// data plane's fixed settings, then `[node]` and `[ospf]`, then
/// `[metrics]`. `nat_capacity` is the size of the NAT table loaded at
/// start.
pub fn restart_only(new: &NodeConfig, old: &NodeConfig, nat_capacity: u32) -> Vec<&'static str> {
    let d = (&new.dataplane, &old.dataplane);
    let mut fields = Vec::new();
    if d.0.interfaces != d.1.interfaces || d.0.xdp_mode != d.1.xdp_mode {
        fields.push("dataplane.interfaces / xdp_mode");
    }
    if d.0.conntrack_entries != d.1.conntrack_entries
        || d.0.maglev_table_size != d.1.maglev_table_size
        || d.0.flow_cache_entries != d.1.flow_cache_entries
    {
        fields.push("dataplane.conntrack_entries / maglev_table_size / flow_cache_entries");
    }
    if d.0.pin_dir != d.1.pin_dir {
        fields.push("dataplane.pin_dir");
    }
    if nat_entries(new) > nat_capacity {
        fields.push("the first NAT or FULLNAT service (its table is sized at start)");
    }
    if d.0.tun_source != d.1.tun_source || new.fullnat != old.fullnat {
        fields.push("dataplane.tun_source / [fullnat]");
    }
    // OSPF interfaces change live; not the router itself.
    fields.extend(node_and_ospf(new, old));
    if new.metrics != old.metrics {
        fields.push("[metrics]");
    }
    if !same_cluster_but_peers(new.cluster.as_ref(), old.cluster.as_ref()) {
        fields.push("[cluster] (but its peers)");
    }
    fields
}

/// The `[node]` and `[ospf]` settings a reload changes that only a restart
/// can: the router id and area make a new OSPF router, the rest is read
/// once at start. (`shutdown_grace` is read at shutdown; OSPF interfaces
/// change live.)
fn node_and_ospf(new: &NodeConfig, old: &NodeConfig) -> Vec<&'static str> {
    // Destructured in full: a new [node] field must be sorted in here.
    let xlvs_config::Node {
        name,
        router_id,
        control_socket,
        log_format,
        log_level,
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
        (n.log_level != *log_level, "node.log_level"),
        (o.area != *area, "ospf.area"),
        (o.announce_as != *announce_as, "ospf.announce_as"),
    ]
    .into_iter()
    .filter_map(|(changed, field)| changed.then_some(field))
    .collect()
}

/// The OSPF interfaces a reload adds, removes or changes, checked before
/// anything changes: an interface to add must exist on this host with an
/// IPv4 address (at start the speaker waits for a missing one; a reload
/// refuses it, as it is most likely a typo).
fn interface_plan(new: &NodeConfig, old: &NodeConfig) -> Result<InterfaceChanges, ReloadError> {
    let plan = InterfaceChanges::plan(&interface_specs(old), &interface_specs(new));
    let missing: Vec<LinkError> = plan
        .added
        .iter()
        .filter_map(|name| link_info(name).err())
        .collect();
    if !missing.is_empty() {
        return Err(ReloadError::MissingInterfaces { missing });
    }
    for name in &plan.added {
        if !new.dataplane.interfaces.contains(name) {
            tracing::warn!(interface = %name, "OSPF interface without XDP: VIP traffic the routers send over it is not balanced (dataplane.interfaces changes with a restart)");
        }
    }
    Ok(plan)
}

/// Whether two `[cluster]` tables differ at most in their unicast peers,
/// the one thing a reload changes (the socket, key and mode are set at
/// start; adding or removing the table needs a restart too).
fn same_cluster_but_peers(new: Option<&Cluster>, old: Option<&Cluster>) -> bool {
    match (new, old) {
        (None, None) => true,
        (Some(n), Some(o)) => {
            let unicast = |c: &Cluster| matches!(c.peering, Peering::Peers(_));
            let peers_only = Cluster {
                peering: o.peering.clone(),
                ..n.clone()
            };
            unicast(n) == unicast(o) && peers_only == *o
        }
        _ => false,
    }
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

    const NAT: u32 = xlvs_dataplane::MIN_NAT_ENTRIES;

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
            restart_only(&new, &old, NAT),
            ["node.router_id", "ospf.area", "ospf.announce_as"]
        );
        let grace = with(|c| c.replace("[ospf]", "shutdown_grace = \"1s\"\n[ospf]"));
        assert!(restart_only(&grace, &old, NAT).is_empty());
        let plan = interface_plan(&new, &old).unwrap();
        assert_eq!(plan.changed, ["lo"]);
    }

    #[test]
    fn data_plane_sizes_and_the_first_nat_service_need_a_restart() {
        let old = with(|c| c);
        let new = with(|c| {
            c.replace(
                "interfaces = [\"lo\"]",
                "interfaces = [\"lo\"]\nconntrack_entries = 4096\npin_dir = \"/run/xlvs/other\"",
            ) + "[metrics]\nlisten = \"127.0.0.1:9100\"\n"
        });
        let err = ReloadError::RestartOnly {
            fields: restart_only(&new, &old, NAT),
        };
        assert_eq!(
            err.to_string(),
            "dataplane.conntrack_entries / maglev_table_size / flow_cache_entries, \
             dataplane.pin_dir, [metrics] cannot change at runtime: restart xlvsd (nothing was changed)"
        );
        let nat = with(|c| {
            c + "[[service]]\nname = \"web\"\nvip = \"192.0.2.10\"\nports = [80]\nforward = \"nat\"\n\
                 [[service.real]]\naddress = \"10.0.1.21\"\n"
        });
        assert_eq!(
            restart_only(&nat, &old, NAT),
            ["the first NAT or FULLNAT service (its table is sized at start)"]
        );
        let loaded_with_nat = nat.dataplane.conntrack_entries;
        assert!(restart_only(&nat, &old, loaded_with_nat).is_empty());
    }

    #[test]
    fn an_interface_missing_on_the_host_is_refused_by_name() {
        let old = with(|c| c);
        let new = with(|c| c + "[[ospf.interface]]\nname = \"xlvs-no-such0\"\n");
        let err = interface_plan(&new, &old).unwrap_err().to_string();
        assert!(
            err.contains("xlvs-no-such0 does not exist") && err.contains("nothing was changed"),
            "{err}"
        );
        // and back: a removal needs nothing from the host
        let plan = interface_plan(&old, &new).unwrap();
        assert_eq!(plan.removed, ["xlvs-no-such0"]);
    }

    #[test]
    fn a_reload_changes_the_cluster_peers_and_nothing_else_of_it() {
        let cluster = |body: &str| {
            let body = body.to_owned();
            with(move |c| {
                format!("{c}[cluster]\ninterface = \"lo\"\nkey = \"0123456789abcdef\"\n{body}\n")
            })
        };
        let old = cluster("peers = [\"10.0.1.12\"]");
        let fields = |new: &NodeConfig| restart_only(new, &old, NAT);
        assert!(fields(&cluster("peers = [\"10.0.1.12\", \"10.0.1.13\"]")).is_empty());
        for other in [
            "peers = [\"10.0.1.12\"]\nport = 9000",
            "group = \"239.1.1.1\"",
            "peers = [\"10.0.1.12\"]\nbulk_timeout = \"3s\"",
        ] {
            assert_eq!(
                fields(&cluster(other)),
                ["[cluster] (but its peers)"],
                "{other}"
            );
        }
        assert_eq!(fields(&with(|c| c)), ["[cluster] (but its peers)"]);
    }
}
