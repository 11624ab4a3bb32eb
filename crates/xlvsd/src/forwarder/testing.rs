//! Helpers for the decision core's tests: entries and states from a node
//! config, as the daemon makes them, and facts that know every MAC.

use super::entry::Entry;
use super::facts::Facts;
use super::real_state::{RealId, RealStates};
use super::translate;
use std::net::Ipv4Addr;
use xlvs_config::NodeConfig;

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// A node config with these `[[service]]` tables.
pub fn config(services: &str) -> NodeConfig {
    let text = format!("{}{services}", xlvs_config::EXAMPLE_NODE);
    xlvs_config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}\n{services}"))
}

/// Service `web` of VIP 192.0.2.10 port 80, with `settings` (lines of
/// its table) and reals 10.0.1.N for each N of `reals`, checked by tcp.
pub fn web(settings: &str, reals: &[u8]) -> String {
    named("web", VIP, settings, reals)
}

/// Like [`web`], with another name and VIP.
pub fn named(name: &str, vip: Ipv4Addr, settings: &str, reals: &[u8]) -> String {
    let mut s =
        format!("[[service]]\nname = \"{name}\"\nvip = \"{vip}\"\nports = [80]\n{settings}\n");
    if !settings.contains("[service.health]") {
        s.push_str("[service.health]\ncheck = \"tcp\"\n");
    }
    for n in reals {
        s.push_str(&format!("[[service.real]]\naddress = \"10.0.1.{n}\"\n"));
    }
    s
}

/// The entries and real states xlvsd starts with.
pub fn start(config: &NodeConfig) -> (Vec<Entry>, RealStates) {
    (
        translate::entries(config).unwrap(),
        RealStates::at_start(config),
    )
}

/// Facts where every backend of `entries` has a MAC, and TUN a source.
pub fn reachable(entries: &[Entry]) -> Facts {
    let mut f = Facts {
        tun_source: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..Facts::default()
    };
    for b in entries.iter().flat_map(|e| e.backends()) {
        f.macs.insert(b.addr, [2, 0, 0, 0, 0, b.addr.octets()[3]]);
    }
    f
}

/// Real 10.0.1.N of service `web`.
pub fn web_real(n: u8) -> RealId {
    RealId::new("web", Ipv4Addr::new(10, 0, 1, n), 0)
}
