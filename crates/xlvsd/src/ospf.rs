//! The OSPF speaker's settings, from the node config, and the addresses
//! this node may announce.

use std::net::Ipv4Addr;
use xlvs_config::{AnnounceAs, NetworkType, NodeConfig, OspfAuth};
use xlvs_ospf::{Auth, VipMode};
use xlvs_ospf_driver::{InterfaceSpec, SpeakerConfig};

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

pub fn interface_specs(c: &NodeConfig) -> Vec<InterfaceSpec> {
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
            bfd: i.bfd,
        })
        .collect()
}

/// Every address this node may announce: each service VIP once (while the
/// data plane can serve it, readiness.rs), and the FULLNAT local
/// addresses (as long as xlvsd runs).
pub fn addresses(c: &NodeConfig) -> Vec<Ipv4Addr> {
    let mut all: Vec<Ipv4Addr> = c.services.iter().map(|s| s.vip).collect();
    if let Some(f) = &c.fullnat {
        all.extend_from_slice(&f.local_addresses);
    }
    all.sort();
    all.dedup();
    all
}
