//! Whole-file validation of the raw config, and its conversion to the model.
//!
//! Every check runs; nothing stops at the first problem. Per-table checks
//! convert as they go (a failed one yields `None` after reporting why);
//! rules that relate different tables are in [`Validator::across`].
//! Problems carry a key path only: `load` finds their position.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ErrorKind, Issue};
use crate::keypath::KeyPath;
use crate::model::*;
use crate::optional;
use crate::raw::{
    defaults, AuthType, CheckType, RawAuth, RawBfd, RawCluster, RawConfig, RawDataplane,
    RawFullnat, RawHealth, RawInterface, RawMetrics, RawNode, RawOspf, RawReal, RawRealHealth,
    RawService,
};
use crate::vocabulary::{ClientAddress, Forward, Protocol};

pub(crate) fn validate(raw: &RawConfig) -> Result<NodeConfig, Vec<Issue>> {
    let mut v = Validator::default();
    let node = v.node(&raw.node);
    let ospf = v.ospf(&raw.ospf);
    let dataplane = v.dataplane(&raw.dataplane, &raw.node.name);
    let fullnat = raw.fullnat.as_ref().map(|f| v.fullnat(f));
    let metrics = v.metrics(raw.metrics.as_ref());
    let cluster = raw.cluster.as_ref().map(|c| v.cluster(c));
    let services: Vec<_> = raw
        .service
        .iter()
        .enumerate()
        .map(|(i, s)| v.service(&service_path(i), s))
        .collect();
    v.across(raw);

    let config = (|| {
        Some(NodeConfig {
            node: node?,
            ospf: ospf?,
            dataplane: dataplane?,
            fullnat: optional(fullnat)?,
            services: services.into_iter().collect::<Option<_>>()?,
            metrics: metrics?,
            cluster: optional(cluster)?,
        })
    })();
    match config {
        Some(config) if v.issues.is_empty() => Ok(config),
        _ => {
            debug_assert!(!v.issues.is_empty(), "a check failed without a report");
            Err(v.issues)
        }
    }
}

fn top(key: &str) -> KeyPath {
    KeyPath::root().key(key)
}

fn service_path(i: usize) -> KeyPath {
    top("service").index(i)
}

#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
}

// Building blocks. Each returns the checked value, or `None` after reporting.
impl Validator {
    fn report(&mut self, path: KeyPath, kind: ErrorKind) {
        self.issues.push(Issue::at(path, kind));
    }

    /// `value` as a `T` if it lies in `min..=max`.
    fn int<T: TryFrom<i64>>(&mut self, path: KeyPath, value: i64, min: i64, max: i64) -> Option<T> {
        match T::try_from(value) {
            Ok(v) if (min..=max).contains(&value) => Some(v),
            _ => {
                self.report(path, ErrorKind::OutOfRange { value, min, max });
                None
            }
        }
    }

    /// A count that must be at least 1 and fit 32 bits.
    fn count(&mut self, path: KeyPath, value: i64) -> Option<u32> {
        if value < 1 {
            self.report(path, ErrorKind::TooSmall { value, min: 1 });
            return None;
        }
        self.int(path, value, 1, u32::MAX.into())
    }

    fn nonzero(&mut self, path: KeyPath, d: Duration) -> Option<Duration> {
        if d.is_zero() {
            self.report(path, ErrorKind::ZeroDuration);
            return None;
        }
        Some(d)
    }

    fn non_empty(&mut self, path: KeyPath, s: &str) -> Option<String> {
        if s.is_empty() {
            self.report(path, ErrorKind::Empty);
            return None;
        }
        Some(s.to_owned())
    }

    fn specified(&mut self, path: KeyPath, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        if addr.is_unspecified() {
            self.report(path, ErrorKind::UnspecifiedAddress);
            return None;
        }
        Some(addr)
    }

    /// A key that `context` (e.g. `type = "md5"`) requires.
    fn required<'a, T>(
        &mut self,
        path: KeyPath,
        value: &'a Option<T>,
        context: &str,
    ) -> Option<&'a T> {
        if value.is_none() {
            self.report(path, ErrorKind::RequiredWhen(context.to_owned()));
        }
        value.as_ref()
    }

    /// Reports keys of `table` that are present but do not apply under
    /// `context`. `keys`: (key, present, applies).
    fn inapplicable(&mut self, table: &KeyPath, keys: &[(&str, bool, bool)], context: &str) {
        for &(key, present, applies) in keys {
            if present && !applies {
                self.report(table.key(key), ErrorKind::DoesNotApply(context.to_owned()));
            }
        }
    }

    /// Reports every item whose key was seen before, naming the first one.
    fn no_duplicates<K, D>(&mut self, items: impl IntoIterator<Item = (KeyPath, K)>, describe: D)
    where
        K: Eq + Hash,
        D: Fn(&K) -> String,
    {
        let mut seen: HashMap<K, KeyPath> = HashMap::new();
        for (path, key) in items {
            if let Some(first) = seen.get(&key) {
                let kind = ErrorKind::Duplicate {
                    item: describe(&key),
                    first: first.clone(),
                };
                self.report(path, kind);
            } else {
                seen.insert(key, path);
            }
        }
    }
}

// One method per table.
impl Validator {
    fn node(&mut self, n: &RawNode) -> Option<Node> {
        let p = top("node");
        let name = self.non_empty(p.key("name"), &n.name);
        let router_id = self.specified(p.key("router_id"), n.router_id);
        let name = name?;
        let control_socket = match &n.control_socket {
            Some(path) if !path.is_absolute() => {
                self.report(p.key("control_socket"), ErrorKind::NotAbsolute);
                None
            }
            Some(path) => Some(path.clone()),
            None => Some(std::path::PathBuf::from(format!("/run/xlvs/{name}.sock"))),
        };
        Some(Node {
            name,
            router_id: router_id?,
            control_socket: control_socket?,
            shutdown_grace: n.shutdown_grace,
            log_format: n.log_format,
            log_level: n.log_level,
        })
    }

    fn ospf(&mut self, o: &RawOspf) -> Option<Ospf> {
        let p = top("ospf").key("interface");
        if o.interface.is_empty() {
            self.report(p.clone(), ErrorKind::NoneGiven("[[ospf.interface]]"));
        }
        let names = o.interface.iter().enumerate();
        self.no_duplicates(
            names.map(|(i, itf)| (p.index(i).key("name"), &itf.name)),
            |name| format!("interface `{name}`"),
        );
        let interfaces: Vec<_> = o
            .interface
            .iter()
            .enumerate()
            .map(|(i, itf)| self.interface(&p.index(i), itf))
            .collect();
        Some(Ospf {
            area: o.area,
            announce_as: o.announce_as,
            interfaces: interfaces.into_iter().collect::<Option<_>>()?,
        })
    }

    fn interface(&mut self, p: &KeyPath, i: &RawInterface) -> Option<OspfInterface> {
        let name = self.non_empty(p.key("name"), &i.name);
        let cost = self.int(p.key("cost"), i.cost, 1, 65535);
        let hello = self.ospf_seconds(p.key("hello_interval"), i.hello_interval);
        let hello = hello.filter(|h| {
            let ok = h.as_secs() <= 65535;
            if !ok {
                self.report(p.key("hello_interval"), ErrorKind::HelloTooLong);
            }
            ok
        });
        let dead = i.dead_interval.unwrap_or_else(|| {
            let dead = i.hello_interval.checked_mul(defaults::DEAD_PER_HELLO);
            dead.unwrap_or(Duration::MAX)
        });
        let dead = self.ospf_seconds(p.key("dead_interval"), dead);
        if let (Some(hello), Some(d)) = (hello, dead) {
            if d <= hello {
                let kind = ErrorKind::DeadNotLongerThanHello { dead: d, hello };
                self.report(p.key("dead_interval"), kind);
            }
        }
        let auth = self.auth(&p.key("auth"), &i.auth);
        // None: no BFD; Some(None): invalid, reported.
        let bfd = i.bfd.as_ref().map(|b| self.bfd(&p.key("bfd"), b));
        Some(OspfInterface {
            name: name?,
            network: i.network,
            cost: cost?,
            hello_interval: hello?,
            dead_interval: dead?,
            mtu_ignore: i.mtu_ignore,
            auth: auth?,
            bfd: match bfd {
                Some(c) => Some(c?),
                None => None,
            },
        })
    }

    /// The BFD core's own bounds decide (interval 10ms..=10s, multiplier
    /// 1..=255), so the file accepts exactly what a session can run.
    fn bfd(&mut self, p: &KeyPath, b: &RawBfd) -> Option<xlvs_bfd::SessionConfig> {
        let multiplier = self.int(p.key("multiplier"), b.multiplier, 1, 255);
        // A bad multiplier is reported above; the interval is still checked.
        match xlvs_bfd::SessionConfig::new(b.interval, multiplier.unwrap_or(1)) {
            Ok(c) => multiplier.map(|_| c),
            Err(e) => {
                let key = match e {
                    xlvs_bfd::ConfigError::Interval(_) => "interval",
                    xlvs_bfd::ConfigError::Multiplier => "multiplier",
                };
                self.report(p.key(key), ErrorKind::Bfd(e));
                None
            }
        }
    }

    /// OSPF timers travel as whole seconds; anything else would be rounded
    /// silently and then mismatch the neighbours.
    fn ospf_seconds(&mut self, path: KeyPath, d: Duration) -> Option<Duration> {
        let d = self.nonzero(path.clone(), d)?;
        if d.subsec_nanos() != 0 {
            self.report(path, ErrorKind::NotWholeSeconds);
            return None;
        }
        Some(d)
    }

    fn auth(&mut self, p: &KeyPath, a: &RawAuth) -> Option<OspfAuth> {
        match a.kind {
            AuthType::None => {
                let keys = [
                    ("key_id", a.key_id.is_some(), false),
                    ("key", a.key.is_some(), false),
                ];
                self.inapplicable(p, &keys, "type = \"none\"");
                Some(OspfAuth::None)
            }
            AuthType::Md5 => {
                let context = "type = \"md5\"";
                let key_id = self.required(p.key("key_id"), &a.key_id, context);
                let key_id = key_id.and_then(|&id| self.int(p.key("key_id"), id, 1, 255));
                let key = self.required(p.key("key"), &a.key, context);
                let key = key.and_then(|key| match key.len() {
                    0 => {
                        self.report(p.key("key"), ErrorKind::Empty);
                        None
                    }
                    1..=16 => Some(key.clone()),
                    len => {
                        self.report(p.key("key"), ErrorKind::Md5KeyTooLong(len));
                        None
                    }
                });
                Some(OspfAuth::Md5 {
                    key_id: key_id?,
                    key: key?,
                })
            }
        }
    }

    fn dataplane(&mut self, d: &RawDataplane, node_name: &str) -> Option<Dataplane> {
        let p = top("dataplane");
        if d.interfaces.is_empty() {
            self.report(p.key("interfaces"), ErrorKind::NoneGiven("XDP interface"));
        }
        let names = d.interfaces.iter().enumerate();
        self.no_duplicates(
            names.map(|(i, name)| (p.key("interfaces").index(i), name)),
            |name| format!("interface `{name}`"),
        );
        let conntrack_entries = self.count(p.key("conntrack_entries"), d.conntrack_entries);
        let table = u32::try_from(d.maglev_table_size)
            .ok()
            .and_then(|m| xlvs_maglev::TableSize::new(m).ok());
        if table.is_none() {
            self.report(
                p.key("maglev_table_size"),
                ErrorKind::TableSize(d.maglev_table_size),
            );
        }
        let flow_cache = u32::try_from(d.flow_cache_entries)
            .ok()
            .filter(|&n| n == 0 || (n.is_power_of_two() && n <= MAX_FLOW_CACHE_ENTRIES));
        if flow_cache.is_none() {
            self.report(
                p.key("flow_cache_entries"),
                ErrorKind::FlowCacheSize(d.flow_cache_entries),
            );
        }
        let syn_flood_threshold = self.int(
            p.key("syn_flood_threshold"),
            d.syn_flood_threshold,
            0,
            u32::MAX.into(),
        );
        let pin_dir = match &d.pin_dir {
            Some(dir) if !dir.is_absolute() => {
                self.report(p.key("pin_dir"), ErrorKind::NotAbsolute);
                None
            }
            Some(dir) => Some(dir.clone()),
            None => Some(std::path::Path::new("/sys/fs/bpf/xlvs").join(node_name)),
        };
        let tun_source = match &d.tun_source {
            None => Some(None),
            Some(text) => match parse_prefix(text) {
                Ok(prefix) => Some(Some(prefix)),
                Err(why) => {
                    self.report(p.key("tun_source"), ErrorKind::Invalid(why));
                    None
                }
            },
        };
        Some(Dataplane {
            interfaces: d.interfaces.clone(),
            xdp_mode: d.xdp_mode,
            conntrack_entries: conntrack_entries?,
            maglev_table_size: table?,
            flow_cache_entries: flow_cache?,
            syn_flood_threshold: syn_flood_threshold?,
            next_hop_cache: d.next_hop_cache,
            pin_dir: pin_dir?,
            tun_source: tun_source?,
        })
    }

    /// `[metrics]`: absent means on, at the default address. `listen` is
    /// checked even when disabled, so turning it on later cannot fail.
    fn metrics(&mut self, m: Option<&RawMetrics>) -> Option<Metrics> {
        let enabled = m.map_or_else(defaults::metrics_enabled, |m| m.enabled);
        let listen = m.and_then(|m| m.listen.as_deref());
        let listen = self.listen_address(
            top("metrics").key("listen"),
            listen.unwrap_or(defaults::METRICS_LISTEN),
        )?;
        Some(Metrics {
            listen: enabled.then_some(listen),
        })
    }

    /// `ADDRESS:PORT` with a fixed port (Prometheus scrapes one).
    fn listen_address(&mut self, path: KeyPath, s: &str) -> Option<std::net::SocketAddr> {
        let Ok(addr) = s.parse::<std::net::SocketAddr>() else {
            self.report(path, ErrorKind::ListenAddress(s.to_owned()));
            return None;
        };
        if addr.port() == 0 {
            self.report(path, ErrorKind::ListenPortZero);
            return None;
        }
        Some(addr)
    }

    fn fullnat(&mut self, f: &RawFullnat) -> Option<Fullnat> {
        let p = top("fullnat").key("local_addresses");
        let addrs = f.local_addresses.iter().enumerate();
        self.no_duplicates(addrs.map(|(i, a)| (p.index(i), *a)), ToString::to_string);
        let checked: Vec<_> = f
            .local_addresses
            .iter()
            .enumerate()
            .map(|(i, &a)| self.specified(p.index(i), a))
            .collect();
        Some(Fullnat {
            local_addresses: checked.into_iter().collect::<Option<_>>()?,
        })
    }

    /// `[cluster]`; that no peer is this node itself is checked in
    /// [`Validator::across`], which sees `[node]` and `[fullnat]`.
    fn cluster(&mut self, c: &RawCluster) -> Option<Cluster> {
        let p = top("cluster");
        let interface = self.non_empty(p.key("interface"), &c.interface);
        let port = self.int(p.key("port"), c.port, 1, u16::MAX.into());
        let bulk_timeout = self.nonzero(p.key("bulk_timeout"), c.bulk_timeout);
        let key = if c.key.len() < MIN_SYNC_KEY_BYTES {
            let kind = ErrorKind::SyncKeyTooShort { len: c.key.len() };
            self.report(p.key("key"), kind);
            None
        } else {
            Some(SyncKey(c.key.as_bytes().to_vec()))
        };
        // An empty list counts as none given.
        let peers = c.peers.as_deref().filter(|p| !p.is_empty());
        let peering = match (peers, c.group) {
            (Some(_), Some(_)) => {
                self.report(p.key("group"), ErrorKind::PeersAndGroup);
                None
            }
            (None, None) => {
                self.report(p.key("peers"), ErrorKind::NoPeersNorGroup);
                None
            }
            (None, Some(group)) if !group.is_multicast() => {
                self.report(p.key("group"), ErrorKind::NotMulticast(group));
                None
            }
            (None, Some(group)) => Some(Peering::Group(group)),
            (Some(peers), None) => {
                let pp = p.key("peers");
                let items = peers.iter().enumerate().map(|(i, a)| (pp.index(i), *a));
                self.no_duplicates(items, ToString::to_string);
                let bad = peers.iter().enumerate().filter(|(_, a)| {
                    a.is_unspecified() || a.is_multicast() || a.is_broadcast() || a.is_loopback()
                });
                let mut ok = true;
                for (i, &a) in bad {
                    self.report(pp.index(i), ErrorKind::PeerNotUnicast(a));
                    ok = false;
                }
                ok.then(|| Peering::Peers(peers.to_vec()))
            }
        };
        Some(Cluster {
            interface: interface?,
            peering: peering?,
            port: port?,
            key: key?,
            bulk_timeout: bulk_timeout?,
        })
    }

    fn service(&mut self, p: &KeyPath, s: &RawService) -> Option<Service> {
        let name = self.non_empty(p.key("name"), &s.name);
        let vip = self.specified(p.key("vip"), s.vip);
        let ports = self.ports(&p.key("ports"), &s.ports);
        let persistence = self.persistence(p, s);
        let toa_kind = self.client_address(p, s);
        let quorum = self.count(p.key("quorum"), s.quorum);
        if s.real.is_empty() {
            let kind = ErrorKind::NoneGiven("real server ([[service.real]])");
            self.report(p.key("real"), kind);
        } else if s.sorry_server.is_none()
            && s.quorum > i64::try_from(s.real.len()).unwrap_or(i64::MAX)
        {
            let kind = ErrorKind::QuorumUnreachable {
                quorum: s.quorum,
                reals: s.real.len(),
            };
            self.report(p.key("quorum"), kind);
        }
        let quorum_hysteresis = self.hysteresis(p, s);
        let sorry_server = s.sorry_server.inspect(|sorry| {
            let path = p.key("sorry_server");
            self.specified(path.clone(), sorry.address);
            if let Some(port) = sorry.port {
                self.same_port_as_service(path, s, port.into());
            }
        });

        let reals: Vec<_> = s
            .real
            .iter()
            .enumerate()
            .map(|(j, r)| self.real(&p.key("real").index(j), s, r))
            .collect();
        // A real without a port and one with the single service port are
        // the same backend.
        let single_port = single_port(&s.ports);
        let backends = s.real.iter().enumerate().map(|(j, r)| {
            let path = p.key("real").index(j);
            (path, (r.address, r.port.or(single_port)))
        });
        self.no_duplicates(backends, |(addr, port)| match port {
            Some(port) => format!("real {addr}:{port}"),
            None => format!("real {addr}"),
        });

        let health = self.health(&p.key("health"), s);
        Some(Service {
            name: name?,
            vip: vip?,
            protocol: s.protocol,
            ports: ports?,
            scheduler: s.scheduler,
            forward: s.forward,
            persistence: persistence?,
            client_address: s.client_address,
            toa_kind: toa_kind?,
            quorum: quorum?,
            quorum_hysteresis: quorum_hysteresis?,
            sorry_server,
            inhibit_on_failure: s.inhibit_on_failure,
            slow_start: s.slow_start,
            health: health?,
            reals: reals.into_iter().collect::<Option<_>>()?,
        })
    }

    /// `quorum_hysteresis`: below `quorum` (the quorum is lost at some
    /// healthy real, not at none) and, once lost, the quorum must be able
    /// to come back with the reals there are.
    fn hysteresis(&mut self, p: &KeyPath, s: &RawService) -> Option<u32> {
        let path = p.key("quorum_hysteresis");
        let h = self.int(path.clone(), s.quorum_hysteresis, 0, u32::MAX.into())?;
        if s.quorum_hysteresis >= s.quorum.max(1) {
            let kind = ErrorKind::HysteresisNotBelowQuorum {
                hysteresis: s.quorum_hysteresis,
                quorum: s.quorum,
            };
            self.report(path, kind);
            return None;
        }
        let up = s.quorum + s.quorum_hysteresis;
        let reals = s.real.len();
        if h > 0 && !s.real.is_empty() && up > i64::try_from(reals).unwrap_or(i64::MAX) {
            self.report(path, ErrorKind::HysteresisUnreachable { up, reals });
            return None;
        }
        Some(h)
    }

    fn ports(&mut self, p: &KeyPath, ports: &[i64]) -> Option<Ports> {
        if ports.is_empty() {
            self.report(p.clone(), ErrorKind::NoneGiven("port"));
            return None;
        }
        let items = ports.iter().enumerate();
        self.no_duplicates(items.map(|(i, &port)| (p.index(i), port)), |port| {
            format!("port {port}")
        });
        if ports.len() > 1 {
            if let Some(i) = ports.iter().position(|&port| port == 0) {
                self.report(p.index(i), ErrorKind::PortZeroMixed);
            }
        }
        let checked: Vec<Option<u16>> = ports
            .iter()
            .enumerate()
            .map(|(i, &port)| self.int(p.index(i), port, 0, 65535))
            .collect();
        let checked: Vec<u16> = checked.into_iter().collect::<Option<_>>()?;
        Some(match checked.as_slice() {
            [0] => Ports::All,
            _ => Ports::List(checked),
        })
    }

    fn persistence(&mut self, p: &KeyPath, s: &RawService) -> Option<Option<Persistence>> {
        let mask = s.persistence_mask.map(|mask| {
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                self.report(
                    p.key("persistence_mask"),
                    ErrorKind::NonContiguousMask(mask),
                );
                return None;
            }
            Some(mask)
        });
        if s.persistence.is_zero() {
            if mask.is_some() {
                self.report(p.key("persistence_mask"), ErrorKind::MaskWithoutPersistence);
                return None;
            }
            return Some(None);
        }
        Some(Some(Persistence {
            timeout: s.persistence,
            mask: optional(mask)?.unwrap_or(Ipv4Addr::BROADCAST),
        }))
    }

    /// `client_address` (FULLNAT TCP only) and `toa_kind` (toa only); the TOA
    /// option kind, or `None` after an error.
    fn client_address(&mut self, p: &KeyPath, s: &RawService) -> Option<u8> {
        let mode = s.client_address;
        let mut ok = true;
        if mode != ClientAddress::None && s.forward != Forward::Fullnat {
            let kind = ErrorKind::ClientAddressNeedsFullnat {
                mode: mode.to_string(),
                forward: s.forward.to_string(),
            };
            self.report(p.key("client_address"), kind);
            ok = false;
        }
        if mode != ClientAddress::None && s.protocol != Protocol::Tcp {
            let kind = ErrorKind::ClientAddressNeedsTcp(mode.to_string());
            self.report(p.key("client_address"), kind);
            ok = false;
        }
        let path = p.key("toa_kind");
        let kind = match s.toa_kind {
            None => ClientAddress::DEFAULT_TOA_KIND,
            Some(_) if mode != ClientAddress::Toa => {
                let why = format!("client_address = \"{mode}\" (only \"toa\" sends an option)");
                self.report(path, ErrorKind::DoesNotApply(why));
                return None;
            }
            Some(k) => {
                let kind = self.int(path.clone(), k, 0, 255)?;
                if toa_kind_in_use(kind) {
                    self.report(path, ErrorKind::ToaKindInUse(k));
                    return None;
                }
                kind
            }
        };
        ok.then_some(kind)
    }

    fn real(&mut self, p: &KeyPath, s: &RawService, r: &RawReal) -> Option<Real> {
        let address = self.specified(p.key("address"), r.address);
        let port = r.port.map(|port| {
            self.same_port_as_service(p.key("port"), s, port);
            self.int(p.key("port"), port, 1, 65535)
        });
        let weight = self.int(p.key("weight"), r.weight, 0, 65535);
        let health = match &*r.health {
            Some(h) => self.real_health(&p.key("health"), s, h),
            None => Some(HealthOverrides::default()),
        };
        Some(Real {
            address: address?,
            port: optional(port)?,
            weight: weight?,
            health: health?,
        })
    }

    /// `[service.real.health]`: the same rules as the service's timers,
    /// and the real's timeout, its own or the service's, shorter than its
    /// interval, its own or the service's.
    fn real_health(
        &mut self,
        p: &KeyPath,
        s: &RawService,
        h: &RawRealHealth,
    ) -> Option<HealthOverrides> {
        let kind = s.health.check.unwrap_or_default();
        let checks = kind != CheckType::None;
        let connects = matches!(kind, CheckType::Tcp | CheckType::Http | CheckType::Https);
        let keys = [
            ("port", h.port.is_some(), connects),
            ("interval", h.interval.is_some(), checks),
            ("timeout", h.timeout.is_some(), checks),
            ("rise", h.rise.is_some(), checks),
            ("fall", h.fall.is_some(), checks),
        ];
        self.inapplicable(
            p,
            &keys,
            &format!("check = \"{kind}\" (in [service.health])"),
        );

        let port = h.port.map(|port| self.int(p.key("port"), port, 1, 65535));
        let interval = h.interval.map(|d| self.nonzero(p.key("interval"), d));
        let timeout = h.timeout.map(|d| self.nonzero(p.key("timeout"), d));
        let rise = h.rise.map(|n| self.count(p.key("rise"), n));
        let fall = h.fall.map(|n| self.count(p.key("fall"), n));
        let own_interval = optional(interval)?;
        let own_timeout = optional(timeout)?;
        // Only when this real sets a timer: the service's own pair is
        // checked with the service (and a zero one reported there).
        if own_interval.is_some() || own_timeout.is_some() {
            let service = &s.health;
            let i = own_interval.unwrap_or(service.interval.unwrap_or(defaults::HEALTH_INTERVAL));
            let t = own_timeout.unwrap_or(service.timeout.unwrap_or(defaults::HEALTH_TIMEOUT));
            if !i.is_zero() && t >= i {
                let key = if own_timeout.is_some() {
                    "timeout"
                } else {
                    "interval"
                };
                let kind = ErrorKind::TimeoutNotShorter {
                    timeout: t,
                    interval: i,
                };
                self.report(p.key(key), kind);
                return None;
            }
        }
        Some(HealthOverrides {
            port: optional(port)?,
            interval: own_interval,
            timeout: own_timeout,
            rise: optional(rise)?,
            fall: optional(fall)?,
        })
    }

    /// dr and tun deliver the client's packet with its destination port
    /// unchanged, so a backend port can only repeat the service port.
    fn same_port_as_service(&mut self, path: KeyPath, s: &RawService, port: i64) {
        if !matches!(s.forward, Forward::Dr | Forward::Tun) || s.ports.is_empty() {
            return;
        }
        let forward = s.forward.to_string();
        match single_port(&s.ports) {
            Some(service_port) if port == service_port => {}
            Some(service_port) => {
                let kind = ErrorKind::PortMappingSingle {
                    forward,
                    service_port,
                };
                self.report(path, kind);
            }
            None => self.report(path, ErrorKind::PortMappingMulti { forward }),
        }
    }

    fn health(&mut self, p: &KeyPath, s: &RawService) -> Option<Health> {
        let h: &RawHealth = &s.health;
        let kind = h.check.unwrap_or_default();
        let context = format!("check = \"{kind}\"");
        let http = matches!(kind, CheckType::Http | CheckType::Https);
        let https = kind == CheckType::Https;
        let connects = http || kind == CheckType::Tcp;
        let checks = kind != CheckType::None;
        let keys = [
            ("path", h.path.is_some(), http),
            ("expect_status", h.expect_status.is_some(), http),
            ("expect_body", h.expect_body.is_some(), http),
            ("script", h.script.is_some(), kind == CheckType::Script),
            ("port", h.port.is_some(), connects),
            ("interval", h.interval.is_some(), checks),
            ("timeout", h.timeout.is_some(), checks),
            ("rise", h.rise.is_some(), checks),
            ("fall", h.fall.is_some(), checks),
            ("alpha", h.alpha.is_some(), checks),
            ("verify", h.verify.is_some(), https),
            ("ca_file", h.ca_file.is_some(), https),
            ("server_name", h.server_name.is_some(), https),
        ];
        self.inapplicable(p, &keys, &context);

        let interval = h.interval.unwrap_or(defaults::HEALTH_INTERVAL);
        let interval = self.nonzero(p.key("interval"), interval);
        let timeout = h.timeout.unwrap_or(defaults::HEALTH_TIMEOUT);
        let timeout = self.nonzero(p.key("timeout"), timeout);
        if let (Some(interval), Some(timeout)) = (interval, timeout) {
            if timeout >= interval {
                let kind = ErrorKind::TimeoutNotShorter { timeout, interval };
                self.report(p.key("timeout"), kind);
            }
        }
        let rise = self.count(p.key("rise"), h.rise.unwrap_or(defaults::RISE));
        let fall = self.count(p.key("fall"), h.fall.unwrap_or(defaults::FALL));
        let port = h.port.map(|port| self.int(p.key("port"), port, 1, 65535));

        // Without health.port, a connecting check probes the real's port or
        // the service's only port; with several ports that is ambiguous.
        let ambiguous = single_port(&s.ports).is_none() && !s.ports.is_empty();
        if connects && h.port.is_none() && ambiguous {
            let unclear = |r: &RawReal| {
                r.port.is_none() && r.health.as_ref().is_none_or(|h| h.port.is_none())
            };
            if let Some(real) = s.real.iter().position(unclear) {
                self.report(p.key("port"), ErrorKind::ProbePortAmbiguous { real });
            }
        }

        let check = match kind {
            CheckType::None => Some(HealthCheck::None),
            CheckType::Tcp => Some(HealthCheck::Tcp),
            CheckType::Http => self.http(p, h).map(HealthCheck::Http),
            CheckType::Https => {
                let tls = self.tls(p, h);
                Some(HealthCheck::Https(self.http(p, h)?, tls?))
            }
            CheckType::Script => self.script(p, h, &context),
        };
        Some(Health {
            check: check?,
            port: optional(port)?,
            interval: interval?,
            timeout: timeout?,
            rise: rise?,
            fall: fall?,
            alpha: h.alpha.unwrap_or(false),
        })
    }

    fn tls(&mut self, p: &KeyPath, h: &RawHealth) -> Option<TlsCheck> {
        let verify = h.verify.unwrap_or(false);
        let trust = match (&h.ca_file, verify) {
            (None, false) => Some(TlsTrust::Any),
            (None, true) => Some(TlsTrust::System),
            (Some(_), false) => {
                let kind = ErrorKind::DoesNotApply("verify = false".to_owned());
                self.report(p.key("ca_file"), kind);
                None
            }
            (Some(path), true) if !path.is_absolute() => {
                self.report(p.key("ca_file"), ErrorKind::NotAbsolute);
                None
            }
            (Some(path), true) => Some(TlsTrust::CaFile(path.clone())),
        };
        let server_name = match &h.server_name {
            Some(name) if !is_server_name(name) => {
                self.report(p.key("server_name"), ErrorKind::ServerName(name.clone()));
                None
            }
            other => Some(other.clone()),
        };
        Some(TlsCheck {
            trust: trust?,
            server_name: server_name?,
        })
    }

    fn http(&mut self, p: &KeyPath, h: &RawHealth) -> Option<HttpCheck> {
        let status = h.expect_status.unwrap_or(defaults::HTTP_STATUS);
        let status = self.int(p.key("expect_status"), status, 100, 599);
        let path = h.path.as_deref().unwrap_or(defaults::HTTP_PATH);
        if !path.starts_with('/') {
            self.report(p.key("path"), ErrorKind::HttpPathNotAbsolute);
            return None;
        }
        Some(HttpCheck {
            path: path.to_owned(),
            expect_status: status?,
            expect_body: h.expect_body.clone(),
        })
    }

    fn script(&mut self, p: &KeyPath, h: &RawHealth, context: &str) -> Option<HealthCheck> {
        let command = self.required(p.key("script"), &h.script, context)?;
        let Some((program, args)) = command.split_first() else {
            self.report(p.key("script"), ErrorKind::Empty);
            return None;
        };
        let program = PathBuf::from(program);
        if !program.is_absolute() {
            self.report(p.key("script").index(0), ErrorKind::RelativeScript);
            return None;
        }
        Some(HealthCheck::Script {
            program,
            args: args.to_vec(),
        })
    }
}

// Rules that relate different tables.
impl Validator {
    fn across(&mut self, raw: &RawConfig) {
        let services = &raw.service;
        let locals: &[Ipv4Addr] = match &*raw.fullnat {
            Some(f) => &f.local_addresses,
            None => &[],
        };
        let vips: Vec<(KeyPath, &str, Ipv4Addr)> = services
            .iter()
            .enumerate()
            .map(|(i, s)| (service_path(i).key("vip"), s.name.as_str(), s.vip))
            .collect();
        let vip_of = |addr: Ipv4Addr| vips.iter().find(|(_, _, vip)| *vip == addr);

        // The router id names this node to OSPF: it must not be an address
        // that moves between nodes or that several nodes share.
        let router_id = raw.node.router_id;
        let router_id_path = top("node").key("router_id");
        if let Some((at, service, _)) = vip_of(router_id) {
            let kind = ErrorKind::RouterIdIsVip {
                addr: router_id,
                service: service.to_string(),
                at: at.clone(),
            };
            self.report(router_id_path.clone(), kind);
        }
        let local_path = |i: usize| top("fullnat").key("local_addresses").index(i);
        if let Some(i) = locals.iter().position(|&a| a == router_id) {
            let kind = ErrorKind::RouterIdIsLocalAddress {
                addr: router_id,
                at: local_path(i),
            };
            self.report(router_id_path.clone(), kind);
        }
        for (i, &addr) in locals.iter().enumerate() {
            if let Some((at, service, _)) = vip_of(addr) {
                let kind = ErrorKind::LocalAddressIsVip {
                    addr,
                    service: service.to_string(),
                    at: at.clone(),
                };
                self.report(local_path(i), kind);
            }
        }

        // A backend that is a VIP (of any service) loops back to the director.
        for (i, s) in services.iter().enumerate() {
            let reals = s.real.iter().enumerate().map(|(j, r)| {
                let path = service_path(i).key("real").index(j).key("address");
                (path, r.address)
            });
            let sorry = s
                .sorry_server
                .map(|ss| (service_path(i).key("sorry_server"), ss.address));
            for (path, addr) in reals.chain(sorry) {
                if let Some((at, service, _)) = vip_of(addr) {
                    let kind = ErrorKind::BackendIsVip {
                        addr,
                        service: service.to_string(),
                        at: at.clone(),
                    };
                    self.report(path, kind);
                }
            }
        }

        // Announced addresses reach the node from anywhere the routers
        // reach; the metrics endpoint is for the management side.
        let listen = raw.metrics.as_ref().and_then(|m| m.listen.as_deref());
        let listen = listen.and_then(|l| l.parse::<std::net::SocketAddr>().ok());
        if let Some(std::net::SocketAddr::V4(listen)) = listen {
            let addr = *listen.ip();
            let what = match vip_of(addr) {
                Some((at, service, _)) => {
                    Some((format!("the VIP of service `{service}`"), at.clone()))
                }
                None => locals
                    .iter()
                    .position(|&a| a == addr)
                    .map(|i| ("a FULLNAT local address".to_owned(), local_path(i))),
            };
            if let Some((what, at)) = what {
                let kind = ErrorKind::ListenOnAnnounced { addr, what, at };
                self.report(top("metrics").key("listen"), kind);
            }
        }

        // A peer is another director: never one of this node's own
        // addresses (it would sync with itself) nor a VIP.
        let peers = raw.cluster.as_ref().and_then(|c| c.peers.as_deref());
        for (i, &addr) in peers.unwrap_or_default().iter().enumerate() {
            let what = if addr == router_id {
                Some("router_id".to_owned())
            } else if locals.contains(&addr) {
                Some("FULLNAT local address".to_owned())
            } else {
                vip_of(addr).map(|(_, service, _)| format!("VIP of service `{service}`"))
            };
            if let Some(what) = what {
                let path = top("cluster").key("peers").index(i);
                self.report(path, ErrorKind::PeerIsSelf { addr, what });
            }
        }

        let names = services.iter().enumerate();
        self.no_duplicates(
            names.map(|(i, s)| (service_path(i).key("name"), &s.name)),
            |name| format!("service name `{name}`"),
        );
        self.overlapping_services(services);

        for (i, s) in services.iter().enumerate() {
            if s.forward == Forward::Fullnat && locals.is_empty() {
                let kind = ErrorKind::FullnatWithoutLocalAddresses {
                    name: s.name.clone(),
                };
                self.report(service_path(i).key("forward"), kind);
            }
        }

        // One Router-LSA must fit one packet.
        let mut addresses: Vec<Ipv4Addr> = services.iter().map(|s| s.vip).collect();
        addresses.extend_from_slice(locals);
        addresses.sort();
        addresses.dedup();
        if raw.ospf.announce_as == AnnounceAs::RouterLsa
            && addresses.len() > ROUTER_LSA_MAX_ADDRESSES
        {
            self.report(
                top("ospf").key("announce_as"),
                ErrorKind::TooManyForRouterLsa(addresses.len()),
            );
        }

        // The routers only send VIP traffic over OSPF adjacencies.
        let ospf: Vec<&str> = raw.ospf.interface.iter().map(|i| i.name.as_str()).collect();
        for (i, name) in raw.dataplane.interfaces.iter().enumerate() {
            if !ospf.contains(&name.as_str()) {
                let path = top("dataplane").key("interfaces").index(i);
                self.report(path, ErrorKind::XdpInterfaceWithoutOspf(name.clone()));
            }
        }
    }

    /// Two services must not claim the same VIP, protocol and port; port 0
    /// claims every port.
    fn overlapping_services(&mut self, services: &[RawService]) {
        for (j, b) in services.iter().enumerate() {
            for (i, a) in services.iter().enumerate().take(j) {
                if a.vip != b.vip || a.protocol != b.protocol {
                    continue;
                }
                let Some(ports) = shared_ports(&a.ports, &b.ports) else {
                    continue;
                };
                let kind = ErrorKind::ServiceOverlap {
                    name: b.name.clone(),
                    other: a.name.clone(),
                    other_path: service_path(i),
                    protocol: b.protocol.to_string(),
                    vip: b.vip,
                    ports,
                };
                self.report(service_path(j).key("ports"), kind);
            }
        }
    }
}

/// An IP address, or a DNS name: dot-separated labels of letters, digits
/// and inner hyphens (what TLS accepts as a server name).
fn is_server_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 253 && name.trim_end_matches('.').split('.').all(label)
}

/// The service port when there is exactly one (not 0 = every port).
/// TCP option kinds that stacks act on: EOL, NOP, MSS, window scale, SACK,
/// timestamps and their obsolete neighbours, MD5, user timeout, TCP-AO,
/// MPTCP, Fast Open. A TOA under one of them would be misread.
fn toa_kind_in_use(kind: u8) -> bool {
    matches!(kind, 0..=8 | 19 | 28..=30 | 34)
}

fn single_port(ports: &[i64]) -> Option<i64> {
    match ports {
        &[port] if port != 0 => Some(port),
        _ => None,
    }
}

/// Describes the ports both lists claim, `None` if they claim none in common.
fn shared_ports(a: &[i64], b: &[i64]) -> Option<String> {
    let all_a = a.contains(&0);
    let all_b = b.contains(&0);
    let shared: Vec<i64> = match (all_a, all_b) {
        (true, true) => return Some("on every port".to_owned()),
        (true, false) => b.to_vec(),
        (false, true) => a.to_vec(),
        (false, false) => a.iter().copied().filter(|p| b.contains(p)).collect(),
    };
    match shared.as_slice() {
        [] => None,
        [one] => Some(format!("port {one}")),
        many => Some(format!("ports {}", join(many))),
    }
}

fn join(items: &[impl Display]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    items.join(", ")
}

/// `ADDRESS` or `ADDRESS/LEN` (LEN 8..=32), a unicast IPv4 address.
fn parse_prefix(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>()
                .map_err(|_| format!("`{l}` is not a prefix length"))?,
        ),
        None => (text, 32),
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("`{text}` is not an IPv4 address or ADDRESS/LEN"))?;
    if !(8..=32).contains(&len) {
        return Err(format!("prefix length {len} is not in 8..=32"));
    }
    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() || addr.is_loopback() {
        return Err(format!("{addr} is not a unicast address"));
    }
    Ok((addr, len))
}
