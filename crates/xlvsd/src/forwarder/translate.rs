//! From the node config to data plane entries: one per port of each
//! service, with its scheduler and persistence, ids that stay the same
//! across reloads, and the sizes of the data plane's maps.

use super::entry::{Entry, Programmed};
use super::policy::Policy;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_config::{ClientAddress, Forward, NodeConfig, Ports, Protocol, Scheduler};
use xlvs_dataplane::sched_model::{CountKind, LocalityKind, SequenceKind};
use xlvs_dataplane::{
    HashOn, Limits, Persistence, ProxyVersion, RealSpec, Scheduling, ServiceSpec,
};

/// What the data plane's maps, sized at start, cannot hold.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error(
        "more than {limit} services (ports) would be needed; restart xlvsd to load larger maps"
    )]
    Services { limit: u32 },
    #[error("{reals} real servers would exceed the limit of {limit}")]
    Reals { reals: usize, limit: u32 },
    #[error(
        "[fullnat] local_addresses: {count} addresses, but the data plane holds at most {limit}"
    )]
    LocalAddresses { count: usize, limit: usize },
}

/// How long lblc and lblcr remember a destination's real(s) unused, and
/// keep lblcr's set unchanged before it shrinks: IPVS's default (its
/// lblc_expiration and lblcr_expiration sysctls), 24 hours.
const LOCALITY_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// The data plane's scheduler for a config scheduler. mh, sh and dh are
/// Maglev (sh over the whole client address, dh over the destination);
/// with persistence the data plane hashes the masked client for those,
/// and keeps templates for the others.
fn scheduling(s: Scheduler) -> Scheduling {
    match s {
        Scheduler::Mh => Scheduling::Maglev(HashOn::Flow),
        Scheduler::Sh => Scheduling::Maglev(HashOn::Source(Ipv4Addr::BROADCAST)),
        Scheduler::Dh => Scheduling::Maglev(HashOn::Destination),
        Scheduler::Rr => Scheduling::Sequence(SequenceKind::Rr),
        Scheduler::Wrr => Scheduling::Sequence(SequenceKind::Wrr),
        Scheduler::Fo => Scheduling::Sequence(SequenceKind::Fo),
        Scheduler::Lc => Scheduling::Counts(CountKind::Lc),
        Scheduler::Wlc => Scheduling::Counts(CountKind::Wlc),
        Scheduler::Sed => Scheduling::Counts(CountKind::Sed),
        Scheduler::Nq => Scheduling::Counts(CountKind::Nq),
        Scheduler::Ovf => Scheduling::Counts(CountKind::Ovf),
        Scheduler::Twos => Scheduling::Counts(CountKind::Twos),
        Scheduler::Lblc => Scheduling::Locality {
            kind: LocalityKind::Lblc,
            expiry: LOCALITY_EXPIRY,
        },
        Scheduler::Lblcr => Scheduling::Locality {
            kind: LocalityKind::Lblcr,
            expiry: LOCALITY_EXPIRY,
        },
    }
}

/// The PROXY protocol header a client_address sends, if any.
fn proxy_version(c: ClientAddress) -> Option<ProxyVersion> {
    match c {
        ClientAddress::ProxyV2 => Some(ProxyVersion::V2),
        ClientAddress::ProxyV1 => Some(ProxyVersion::V1),
        ClientAddress::None | ClientAddress::Toa => None,
    }
}

/// The entries of a config, numbered from 0 in config order.
pub fn entries(config: &NodeConfig) -> Result<Vec<Entry>, TranslateError> {
    let mut out = Vec::new();
    for s in &config.services {
        let ports = match &s.ports {
            Ports::All => vec![0],
            Ports::List(p) => p.clone(),
        };
        let fullnat_tcp = s.forward == Forward::Fullnat && s.protocol == Protocol::Tcp;
        for port in ports {
            let spec = ServiceSpec {
                id: out.len() as u32,
                vip: s.vip,
                protocol: s.protocol,
                ports: vec![port],
                forward: s.forward,
                scheduler: scheduling(s.scheduler),
                persistence: s.persistence.as_ref().map(|p| Persistence {
                    timeout: p.timeout,
                    mask: p.mask,
                }),
                // (Validation allows them only there; an ipvsadm change
                // that makes the service another kind leaves them inert.)
                toa: (s.client_address == ClientAddress::Toa && fullnat_tcp).then_some(s.toa_kind),
                proxy: proxy_version(s.client_address).filter(|_| fullnat_tcp),
                reals: s
                    .reals
                    .iter()
                    .map(|r| RealSpec {
                        addr: r.address,
                        port: r.port.unwrap_or(0),
                        weight: u32::from(r.weight),
                        mac: [0; 6],
                    })
                    .collect(),
            };
            out.push(Entry {
                spec,
                name: s.name.clone(),
                policy: Policy::of(s),
                persistence: s
                    .persistence
                    .as_ref()
                    .map(|p| (p.timeout.as_secs() as u32, p.mask)),
                scheduler: s.scheduler,
                programmed: Programmed::default(),
            });
        }
    }
    Ok(out)
}

/// The entries a starting daemon programs, checked against the maps it
/// would load for them: everything the data plane refuses of a config
/// without touching the host. Start (`Forwarder::load`) and
/// `--check-config` both come here, so the check cannot pass a file the
/// daemon refuses.
pub fn at_start(config: &NodeConfig) -> Result<(Vec<Entry>, Limits), TranslateError> {
    let entries = entries(config)?;
    let limits = limits(config, entries.len());
    let entries = keep_ids(&[], entries, &limits)?;
    let count = config
        .fullnat
        .as_ref()
        .map_or(0, |f| f.local_addresses.len());
    let limit = xlvs_dataplane::abi::MAX_LOCAL_ADDRS;
    if count > limit {
        return Err(TranslateError::LocalAddresses { count, limit });
    }
    Ok((entries, limits))
}

/// Gives the entries of a reloaded config their ids: a (VIP, protocol,
/// port) keeps the id it had, so its connections stay; new ones take the
/// lowest free ids. Refuses what the maps, sized at start, cannot hold.
pub fn keep_ids(
    old: &[Entry],
    mut new: Vec<Entry>,
    limits: &Limits,
) -> Result<Vec<Entry>, TranslateError> {
    let old_ids: BTreeMap<_, u32> = old.iter().map(|e| (e.key(), e.spec.id)).collect();
    let mut used: BTreeSet<u32> = new
        .iter()
        .filter_map(|e| old_ids.get(&e.key()).copied())
        .collect();
    let mut next_free = 0u32;
    for e in &mut new {
        e.spec.id = match old_ids.get(&e.key()) {
            Some(&id) => id,
            None => {
                while used.contains(&next_free) {
                    next_free += 1;
                }
                if next_free >= limits.services {
                    return Err(TranslateError::Services {
                        limit: limits.services,
                    });
                }
                used.insert(next_free);
                next_free
            }
        };
    }
    let reals: usize = new.iter().map(|e| e.spec.reals.len()).sum();
    if reals > limits.reals as usize {
        return Err(TranslateError::Reals {
            reals,
            limit: limits.reals,
        });
    }
    Ok(new)
}

/// The NAT/FULLNAT way-back table's size: like the connection table when
/// a service needs it, else the minimum (its entries are allocated when
/// loaded, which takes seconds for a million).
pub fn nat_entries(config: &NodeConfig) -> u32 {
    let nat = config
        .services
        .iter()
        .any(|s| matches!(s.forward, Forward::Nat | Forward::Fullnat));
    if nat {
        config.dataplane.conntrack_entries
    } else {
        xlvs_dataplane::MIN_NAT_ENTRIES
    }
}

/// The data plane's map sizes for a config with `entries` entries: room
/// for services added at runtime, the rest from `[dataplane]`.
pub fn limits(config: &NodeConfig, entries: usize) -> Limits {
    Limits {
        services: (entries as u32).max(1).next_power_of_two().max(64),
        conntrack: config.dataplane.conntrack_entries,
        nat: nat_entries(config),
        table_size: config.dataplane.maglev_table_size,
        flow_cache: config.dataplane.flow_cache_entries,
        ..Limits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::config;
    use super::*;

    fn service(name: &str, vip: &str, ports: &str, extra: &str) -> String {
        format!(
            "[[service]]\nname = \"{name}\"\nvip = \"{vip}\"\nports = {ports}\n{extra}\n[service.health]\ncheck = \"none\"\n\
             [[service.real]]\naddress = \"10.0.1.21\"\n[[service.real]]\naddress = \"10.0.1.22\"\nweight = 7\n"
        )
    }

    #[test]
    fn one_entry_per_port_with_its_hash() {
        let c = config(&format!(
            "{}{}",
            service("web", "192.0.2.10", "[80, 443]", "forward = \"nat\""),
            service(
                "dns",
                "192.0.2.53",
                "[53]",
                "protocol = \"udp\"\nscheduler = \"sh\"\nforward = \"nat\"\npersistence = \"60s\"\npersistence_mask = \"255.255.255.0\""
            ),
        ));
        let e = entries(&c).unwrap();
        let ids: Vec<(u32, &str, u16)> = e
            .iter()
            .map(|e| (e.spec.id, e.name.as_str(), e.port()))
            .collect();
        assert_eq!(ids, [(0, "web", 80), (1, "web", 443), (2, "dns", 53)]);
        assert_eq!(e[0].spec.scheduler, Scheduling::Maglev(HashOn::Flow));
        assert_eq!(e[0].spec.persistence, None);
        assert_eq!(
            e[2].spec.scheduler,
            Scheduling::Maglev(HashOn::Source(Ipv4Addr::BROADCAST))
        );
        assert_eq!(
            e[2].spec.persistence,
            Some(Persistence {
                timeout: Duration::from_secs(60),
                mask: Ipv4Addr::new(255, 255, 255, 0)
            })
        );
        assert_eq!(
            e[2].persistence,
            Some((60, Ipv4Addr::new(255, 255, 255, 0)))
        );
        let reals: Vec<(u16, u32)> = e[0].spec.reals.iter().map(|r| (r.port, r.weight)).collect();
        assert_eq!(reals, [(0, 1), (0, 7)]);
    }

    #[test]
    fn client_address_maps_to_toa_or_a_proxy_version_under_fullnat_tcp_only() {
        let fullnat = |mode: &str| {
            let extra = format!("forward = \"fullnat\"\nclient_address = \"{mode}\"");
            let text = service("web", "192.0.2.10", "[80]", &extra)
                + "[fullnat]\nlocal_addresses = [\"10.255.1.1\"]\n";
            config(&text)
        };
        let spec = |c: &NodeConfig| entries(c).unwrap()[0].spec.clone();
        for (mode, proxy, toa) in [
            ("proxy-v2", Some(ProxyVersion::V2), None),
            ("proxy-v1", Some(ProxyVersion::V1), None),
            ("toa", None, Some(254)),
            ("none", None, None),
        ] {
            let mut c = fullnat(mode);
            let s = spec(&c);
            assert_eq!((s.proxy, s.toa), (proxy, toa), "{mode}");
            // An ipvsadm change of the method leaves the setting inert.
            c.services[0].forward = Forward::Nat;
            let s = spec(&c);
            assert_eq!((s.proxy, s.toa), (None, None), "{mode} under NAT");
        }
    }

    #[test]
    fn every_scheduler_the_config_names_runs() {
        for (name, expected) in [
            ("rr", Scheduling::Sequence(SequenceKind::Rr)),
            ("wrr", Scheduling::Sequence(SequenceKind::Wrr)),
            ("lc", Scheduling::Counts(CountKind::Lc)),
            ("wlc", Scheduling::Counts(CountKind::Wlc)),
            ("sed", Scheduling::Counts(CountKind::Sed)),
            ("nq", Scheduling::Counts(CountKind::Nq)),
            ("dh", Scheduling::Maglev(HashOn::Destination)),
        ] {
            let extra = format!("scheduler = \"{name}\"\npersistence = \"120s\"");
            let c = config(&service("web", "192.0.2.10", "[80]", &extra));
            let e = entries(&c).unwrap();
            assert_eq!(e[0].spec.scheduler, expected, "{name}");
            let p = e[0].spec.persistence.unwrap();
            assert_eq!(
                (p.timeout, p.mask),
                (Duration::from_secs(120), Ipv4Addr::BROADCAST)
            );
        }
        // (the config cannot name the rest yet: mapped all the same)
        for s in Scheduler::ALL {
            let _ = scheduling(s);
        }
        assert!(matches!(
            scheduling(Scheduler::Lblcr),
            Scheduling::Locality {
                kind: LocalityKind::Lblcr,
                expiry: LOCALITY_EXPIRY
            }
        ));
    }

    #[test]
    fn at_start_refuses_what_the_maps_cannot_hold() {
        let lips: Vec<String> = (1..=65).map(|i| format!("\"10.9.0.{i}\"")).collect();
        let c = config(&format!(
            "[fullnat]\nlocal_addresses = [{}]\n{}",
            lips.join(", "),
            service("web", "192.0.2.10", "[80]", "forward = \"fullnat\"")
        ));
        let err = at_start(&c).unwrap_err().to_string();
        assert_eq!(
            err,
            "[fullnat] local_addresses: 65 addresses, but the data plane holds at most 64"
        );
        let (entries, limits) =
            at_start(&config(&service("a", "192.0.2.1", "[80, 81]", ""))).unwrap();
        let ids: Vec<u32> = entries.iter().map(|e| e.spec.id).collect();
        assert_eq!((ids, limits.services), (vec![0, 1], 64));
    }

    #[test]
    fn a_reload_keeps_ids_and_fills_the_gaps() {
        let limits = Limits::default();
        let old = entries(&config(&format!(
            "{}{}",
            service("a", "192.0.2.1", "[80]", ""),
            service("b", "192.0.2.2", "[80]", "")
        )))
        .unwrap();
        // a goes, c comes before b: b keeps id 1, c takes the free id 0.
        let new = entries(&config(&format!(
            "{}{}",
            service("c", "192.0.2.3", "[80]", ""),
            service("b", "192.0.2.2", "[80]", "")
        )))
        .unwrap();
        let new = keep_ids(&old, new, &limits).unwrap();
        let ids: Vec<(&str, u32)> = new.iter().map(|e| (e.name.as_str(), e.spec.id)).collect();
        assert_eq!(ids, [("c", 0), ("b", 1)]);
    }

    #[test]
    fn a_reload_beyond_the_maps_is_refused() {
        let few = Limits {
            services: 1,
            ..Limits::default()
        };
        let two = entries(&config(&service("a", "192.0.2.1", "[80, 81]", ""))).unwrap();
        let err = keep_ids(&[], two.clone(), &few).unwrap_err();
        assert_eq!(
            err.to_string(),
            "more than 1 services (ports) would be needed; restart xlvsd to load larger maps"
        );
        let no_reals = Limits {
            reals: 3,
            ..Limits::default()
        };
        let err = keep_ids(&[], two, &no_reals).unwrap_err();
        assert_eq!(
            err.to_string(),
            "4 real servers would exceed the limit of 3"
        );
    }

    #[test]
    fn maps_are_sized_from_the_config() {
        let dr = config(&service("a", "192.0.2.1", "[80]", ""));
        let l = limits(&dr, 70);
        assert_eq!(l.services, 128);
        assert_eq!(l.nat, xlvs_dataplane::MIN_NAT_ENTRIES);
        let nat = config(&service("a", "192.0.2.1", "[80]", "forward = \"nat\""));
        assert_eq!(limits(&nat, 1).services, 64);
        assert_eq!(nat_entries(&nat), nat.dataplane.conntrack_entries);
    }
}
