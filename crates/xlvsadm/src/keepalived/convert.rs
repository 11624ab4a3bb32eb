//! keepalived `virtual_server` blocks to node-config `[[service]]` tables.
//!
//! Values are carried with keepalived's meaning, so where keepalived's
//! default differs from the node config's (lb_kind NAT here; the check
//! timers in `health`) the value is written out explicitly.

use super::checker::{self, Checker};
use super::error::ImportError;
use super::health;
use super::notes::Notes;
use super::toml_out::{Table, Value};
use super::tree::Stmt;
use super::values::{count, ipv4, parse_port, seconds, single};
use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_api::ipvs::Persistence;
use xlvs_api::Scheduler;

const NO_COUNTERPART: &str = "no counterpart in the node config";

/// One converted virtual_server.
pub struct Service {
    pub vip: Ipv4Addr,
    pub forward: &'static str,
    /// `[[service]]`, `[service.health]`, then each `[[service.real]]`
    /// with its `[service.real.health]`, if it has one.
    pub tables: Vec<Table>,
}

/// Every virtual_server of the file; other top-level blocks are noted.
pub fn convert(tree: &[Stmt], notes: &mut Notes) -> Result<Vec<Service>, ImportError> {
    let mut out = Vec::new();
    for s in tree {
        let why = match s.keyword.as_str() {
            "virtual_server" => {
                out.extend(VirtualServer::read(s, notes)?.and_then(|vs| vs.service(notes)));
                continue;
            }
            k if k.starts_with("vrrp_") => "xlvs announces VIPs over OSPF instead of VRRP",
            "global_defs" => "global settings have no counterpart",
            "virtual_server_group" => {
                "write one service per VIP; ports of one VIP can share a service"
            }
            "SSL" => "HTTPS checks present no client certificate",
            _ => NO_COUNTERPART,
        };
        notes
            .not_carried
            .push(format!("{} (line {}: {why})", s.text(), s.line));
    }
    Ok(out)
}

pub(super) struct Real {
    pub(super) context: String,
    pub(super) address: Ipv4Addr,
    pub(super) port: u16,
    pub(super) weight: u16,
    pub(super) checkers: Vec<Checker>,
    /// lb_kind of this real, when given.
    pub(super) forward: Option<&'static str>,
    /// inhibit_on_failure in this real_server.
    pub(super) inhibit: bool,
    /// This real_server's own delay_loop, and the setting as written.
    pub(super) interval: Option<(Duration, String)>,
}

#[derive(Default)]
pub(super) struct VirtualServer {
    pub(super) header: String,
    pub(super) vip: Option<Ipv4Addr>,
    pub(super) port: u16,
    pub(super) interval: Option<(Duration, String)>,
    pub(super) scheduler: Option<(Scheduler, String)>,
    /// lb_algo was given, even if it could not be carried.
    pub(super) scheduler_given: bool,
    /// An lb_algo naming no scheduler: the file cannot be converted.
    pub(super) unknown_scheduler: Option<ImportError>,
    pub(super) forward: Option<(&'static str, String)>,
    pub(super) persistence: Option<(u32, String)>,
    pub(super) mask: Option<(Ipv4Addr, String)>,
    pub(super) udp: bool,
    pub(super) quorum: Option<u32>,
    pub(super) hysteresis: Option<u32>,
    pub(super) sorry: Option<(Ipv4Addr, u16)>,
    /// `alpha`: reals start down until their first passing check.
    pub(super) alpha: bool,
    /// inhibit_on_failure at the virtual_server level (keepalived 2.x).
    pub(super) inhibit: bool,
    pub(super) timeout: Option<Duration>,
    pub(super) retry: Option<u32>,
    pub(super) reals: Vec<Real>,
    /// DPVS's `proxy_protocol v1|v2`: the client_address it becomes, and
    /// the setting as written.
    pub(super) proxy: Option<(&'static str, String)>,
    /// Why the whole virtual_server cannot be converted.
    pub(super) skip: Option<&'static str>,
}

fn forward_of(v: &str) -> Option<&'static str> {
    match v.to_ascii_uppercase().as_str() {
        "DR" => Some("dr"),
        "TUN" => Some("tun"),
        "NAT" => Some("nat"),
        "FNAT" | "FULLNAT" => Some("fullnat"),
        _ => None,
    }
}

impl VirtualServer {
    /// The virtual_server `s`, or `None` when it cannot be carried over
    /// (noted); an error when it names an unknown scheduler.
    fn read(s: &Stmt, notes: &mut Notes) -> Result<Option<VirtualServer>, ImportError> {
        let header = s.text();
        let skip = |notes: &mut Notes, why: &str| {
            notes.not_carried.push(format!("{header} ({why})"));
            Ok(None)
        };
        match s.values.first().map(String::as_str) {
            Some("fwmark") => {
                return skip(
                    notes,
                    "firewall marks: use a service with several ports in the node config",
                )
            }
            Some("group") => {
                return skip(
                    notes,
                    "virtual_server_group: write one service per VIP; ports of one VIP can share a service",
                )
            }
            _ => {}
        }
        let (vip, port) = match s.values.as_slice() {
            [a, p] => (ipv4(a), parse_port(p)),
            _ => (None, None),
        };
        let (Some(vip), Some(port)) = (vip, port) else {
            return skip(notes, "expected an IPv4 address and a port");
        };
        let mut vs = VirtualServer {
            header: header.clone(),
            vip: Some(vip),
            port,
            ..Default::default()
        };
        for c in s.children() {
            vs.setting(c, notes);
        }
        if let Some(e) = vs.unknown_scheduler.take() {
            return Err(e);
        }
        if let Some(why) = vs.skip {
            return skip(notes, why);
        }
        if vs.reals.is_empty() {
            return skip(notes, "no real_server: a service needs at least one");
        }
        Ok(Some(vs))
    }

    fn setting(&mut self, s: &Stmt, notes: &mut Notes) {
        let ctx = self.header.clone();
        let drop = |notes: &mut Notes, why: &str| notes.drop(&ctx, &s.text(), why);
        match s.keyword.as_str() {
            "delay_loop" => self.interval = seconds(s, &ctx, notes).map(|d| (d, s.text())),
            "lb_algo" | "lvs_sched" => {
                self.scheduler_given = true;
                let Some(v) = single(s, &ctx, notes) else {
                    return;
                };
                // The node config has every scheduler keepalived can use.
                match v.parse::<Scheduler>() {
                    Ok(sched) => self.scheduler = Some((sched, s.text())),
                    Err(()) => {
                        self.unknown_scheduler = Some(ImportError::UnknownScheduler {
                            line: s.line,
                            setting: s.text(),
                        })
                    }
                }
            }
            "lb_kind" | "lvs_method" => match single(s, &ctx, notes).map(forward_of) {
                Some(Some(f)) => self.forward = Some((f, s.text())),
                Some(None) => drop(notes, "unknown forwarding method"),
                None => {}
            },
            "persistence_timeout" => {
                if s.values.is_empty() {
                    self.persistence = Some((Persistence::DEFAULT_TIMEOUT_S, s.text()));
                } else {
                    match count(s, &ctx, notes) {
                        Some(0) => drop(notes, "0 is not a timeout"),
                        Some(n) => self.persistence = Some((n, s.text())),
                        None => {}
                    }
                }
            }
            "persistence_granularity" => match single(s, &ctx, notes).map(ipv4) {
                Some(Some(m))
                    if u32::from(m).leading_ones() + u32::from(m).trailing_zeros() == 32 =>
                {
                    self.mask = Some((m, s.text()))
                }
                Some(_) => drop(notes, "not a contiguous IPv4 netmask"),
                None => {}
            },
            "protocol" => match single(s, &ctx, notes)
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("TCP") => self.udp = false,
                Some("UDP") => self.udp = true,
                Some(_) => self.skip = Some("xlvs balances TCP and UDP only"),
                None => {}
            },
            "ip_family" => {
                if s.values.first().is_some_and(|v| v == "inet6") {
                    self.skip = Some("xlvs is IPv4-only");
                }
            }
            "quorum" => match count(s, &ctx, notes) {
                Some(0) => drop(notes, "quorum is at least 1"),
                Some(n) => self.quorum = Some(n),
                None => {}
            },
            "sorry_server" => match s.values.as_slice() {
                [a, p] => match (ipv4(a), parse_port(p)) {
                    (Some(a), Some(p)) => self.sorry = Some((a, p)),
                    _ => drop(notes, "expected an IPv4 address and a port"),
                },
                _ => drop(notes, "expected an IPv4 address and a port"),
            },
            "connect_timeout" => self.timeout = seconds(s, &ctx, notes),
            "retry" | "nb_get_retry" => self.retry = count(s, &ctx, notes),
            "real_server" => self.real(s, notes),
            "hysteresis" => self.hysteresis = count(s, &ctx, notes),
            "quorum_up" | "quorum_down" => drop(notes, "xlvs runs no quorum scripts"),
            "alpha" => self.alpha = true,
            "inhibit_on_failure" => self.inhibit = true,
            "delay_before_retry" => {
                drop(notes, "fall counts consecutive failures, one per interval")
            }
            "virtualhost" => drop(notes, "the node config sets no Host header for HTTP checks"),
            "nat_mask" => drop(notes, "obsolete in keepalived; nothing to set"),
            "ha_suspend" => drop(
                notes,
                "xlvsd announces a VIP only while its service can be served",
            ),
            // DPVS's keepalived: a PROXY protocol header to the reals.
            "proxy_protocol" => {
                if let Some(v) = single(s, &ctx, notes).map(str::to_ascii_lowercase) {
                    match proxy_of(&v) {
                        Ok(mode) => self.proxy = mode.map(|m| (m, s.text())),
                        Err(why) => drop(notes, why),
                    }
                }
            }
            "ops" | "hashed" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
            | "mh-port" | "mh-fallback" => drop(notes, "scheduler flags are not supported"),
            _ => drop(notes, NO_COUNTERPART),
        }
    }

    fn real(&mut self, s: &Stmt, notes: &mut Notes) {
        let context = format!("{}: {}", self.header, s.text());
        let (address, port) = match s.values.as_slice() {
            [a] => (ipv4(a), Some(self.port)),
            [a, p] => (ipv4(a), parse_port(p)),
            _ => (None, None),
        };
        let (Some(address), Some(port)) = (address, port) else {
            notes
                .not_carried
                .push(format!("{context} (expected an IPv4 address and a port)"));
            return;
        };
        if self
            .reals
            .iter()
            .any(|r| r.address == address && r.port == port)
        {
            notes.not_carried.push(format!(
                "{context} (a duplicate; keepalived ignores it too)"
            ));
            return;
        }
        let mut real = Real {
            context: context.clone(),
            address,
            port,
            weight: 1,
            checkers: Vec::new(),
            forward: None,
            inhibit: false,
            interval: None,
        };
        let (mut timeout, mut retry) = (None, None);
        for c in s.children() {
            let drop = |notes: &mut Notes, why: &str| notes.drop(&context, &c.text(), why);
            match c.keyword.as_str() {
                "weight" => match count(c, &context, notes) {
                    Some(w) if w <= 65535 => real.weight = w as u16,
                    Some(_) => drop(notes, "a weight is at most 65535"),
                    None => {}
                },
                k if checker::is_supported(k) => {
                    real.checkers.push(checker::read(c, &context, notes))
                }
                k if checker::is_checker(k) => drop(
                    notes,
                    "the node config has HTTP, HTTPS, TCP and script checks only",
                ),
                "connect_timeout" => timeout = seconds(c, &context, notes),
                "retry" | "nb_get_retry" => retry = count(c, &context, notes),
                "lb_kind" | "lvs_method" => match single(c, &context, notes).map(forward_of) {
                    Some(Some(f)) => real.forward = Some(f),
                    Some(None) => drop(notes, "unknown forwarding method"),
                    None => {}
                },
                "inhibit_on_failure" => real.inhibit = true,
                "notify_up" | "notify_down" => drop(notes, "xlvs runs no notify scripts"),
                "uthreshold" | "lthreshold" => {
                    drop(notes, "connection thresholds are not supported")
                }
                "delay_loop" => real.interval = seconds(c, &context, notes).map(|d| (d, c.text())),
                "delay_before_retry" => {
                    drop(notes, "fall counts consecutive failures, one per interval")
                }
                _ => drop(notes, NO_COUNTERPART),
            }
        }
        // A real's own timer settings are defaults for its checkers.
        for c in &mut real.checkers {
            c.timeout = c.timeout.or(timeout);
            c.retry = c.retry.or(retry);
        }
        self.reals.push(real);
    }

    /// keepalived sets inhibit_on_failure per real (or, in 2.x, per
    /// virtual_server); the node config per service.
    fn inhibit_on_failure(&self, svc: &mut Table, notes: &mut Notes) {
        let inhibited = self.reals.iter().filter(|r| r.inhibit).count();
        if !self.inhibit && inhibited == 0 {
            return;
        }
        let e = svc.set("inhibit_on_failure", Value::Bool(true));
        if self.inhibit || inhibited == self.reals.len() {
            e.note("inhibit_on_failure");
            return;
        }
        e.note("inhibit_on_failure on some real servers");
        for r in self.reals.iter().filter(|r| !r.inhibit) {
            notes.warn(
                &r.context,
                "has no inhibit_on_failure, but the node config sets it per service: this real too keeps its place at weight 0 when it fails",
            );
        }
    }

    fn service(self, notes: &mut Notes) -> Option<Service> {
        let vip = self.vip?;
        let ctx = self.header.as_str();
        let protocol = if self.udp { "udp" } else { "tcp" };
        let mut svc = Table::new("[[service]]");
        svc.set(
            "name",
            Value::str(format!("{protocol}-{vip}-{}", self.port)),
        )
        .note(format!("from {ctx}"));
        svc.set("vip", Value::str(vip.to_string()));
        svc.set("protocol", Value::str(protocol));
        let ports = svc.set("ports", Value::List(vec![Value::Int(self.port.into())]));
        if self.port == 0 {
            ports.note("every port of the VIP");
        }
        if let Some((sched, text)) = &self.scheduler {
            // Whether the node has flow sync is its own business: xlvsd
            // --check-config warns of a per-director scheduler without it.
            svc.set("scheduler", Value::str(sched.as_str()))
                .note(text.clone());
        } else if !self.scheduler_given {
            notes.warn(
                ctx,
                "lb_algo not given: scheduler mh (the node config's default)",
            );
        }
        let forward = match &self.forward {
            Some((f, text)) => {
                svc.set("forward", Value::str(*f)).note(text.clone());
                *f
            }
            None => {
                svc.set("forward", Value::str("nat"))
                    .note("lb_kind not given: keepalived's default, NAT");
                "nat"
            }
        };
        for r in &self.reals {
            if r.forward.is_some_and(|f| f != forward) {
                notes.drop(
                    &r.context,
                    &format!("lb_kind {}", r.forward.unwrap_or_default().to_uppercase()),
                    "xlvs forwards to every real of a service the same way",
                );
            }
        }
        let persistence = self.persistence.clone().or_else(|| {
            // keepalived: a granularity alone makes the service persistent.
            self.mask.as_ref().map(|_| {
                (
                    Persistence::DEFAULT_TIMEOUT_S,
                    "persistence_granularity without persistence_timeout: keepalived's default"
                        .to_string(),
                )
            })
        });
        if let Some((secs, text)) = persistence {
            svc.set(
                "persistence",
                Value::duration(Duration::from_secs(secs.into())),
            )
            .note(text);
            if let Some((mask, text)) = &self.mask {
                if *mask != Ipv4Addr::BROADCAST {
                    svc.set("persistence_mask", Value::str(mask.to_string()))
                        .note(text.clone());
                }
            }
        }
        if let Some((mode, text)) = &self.proxy {
            if forward == "fullnat" && !self.udp {
                svc.set("client_address", Value::str(*mode))
                    .note(text.clone());
                let http = |c: &Checker| matches!(c.kind, checker::Kind::Http { .. });
                if self.reals.iter().any(|r| r.checkers.iter().any(http)) {
                    notes.warn(
                        ctx,
                        "xlvs's HTTP checks send no PROXY header (DPVS's keepalived does): a real that requires one on the checked port fails them; check a port without proxy_protocol, or with check = \"tcp\"",
                    );
                }
            } else {
                notes.drop(
                    ctx,
                    text,
                    "xlvs sends a PROXY header under FULLNAT and for TCP only",
                );
            }
        }
        let mut sorry = None;
        if let Some((addr, port)) = self.sorry {
            match port_for(forward, self.port, port) {
                Ok(p) => sorry = Some(p.map_or(addr.to_string(), |p| format!("{addr}:{p}"))),
                Err(why) => {
                    notes.drop(ctx, &format!("sorry_server {addr} {port}: its port"), why);
                    sorry = Some(addr.to_string());
                }
            }
        }
        let n = self.reals.len() as u32;
        let mut quorum = 1;
        if let Some(q) = self.quorum {
            if q > n && sorry.is_none() {
                notes.drop(
                    ctx,
                    &format!("quorum {q}"),
                    "more than the real servers, which the node config refuses without a sorry_server; quorum = their number",
                );
                quorum = n;
            } else {
                quorum = q;
            }
            if quorum != 1 {
                svc.set("quorum", Value::Int(quorum.into()));
            }
        }
        if let Some(h) = self.hysteresis.filter(|&h| h > 0) {
            // The node config wants the quorum lost at some healthy real
            // and able to come back with the reals there are.
            let most = (quorum - 1).min(n.saturating_sub(quorum));
            if h > most {
                notes.drop(
                    ctx,
                    &format!("hysteresis {h}"),
                    &format!("the node config wants it below quorum ({quorum}) and quorum + hysteresis within the {n} real servers; quorum_hysteresis = {most}"),
                );
            }
            if h.min(most) > 0 {
                svc.set("quorum_hysteresis", Value::Int(h.min(most).into()))
                    .note(format!("hysteresis {h}"));
            }
        }
        if let Some(s) = sorry {
            svc.set("sorry_server", Value::str(s));
        }
        self.inhibit_on_failure(&mut svc, notes);
        let (health, own_health) = health::tables(&self, forward, notes);
        let mut tables = vec![svc, health];
        for (r, own) in self.reals.iter().zip(own_health) {
            let mut t = Table::new("[[service.real]]");
            t.set("address", Value::str(r.address.to_string()));
            match port_for(forward, self.port, r.port) {
                Ok(Some(p)) => {
                    t.set("port", Value::Int(p.into()));
                }
                Ok(None) => {}
                Err(why) => notes.drop(&r.context, "its port", why),
            }
            t.set("weight", Value::Int(r.weight.into()));
            tables.push(t);
            tables.extend(own);
        }
        Some(Service {
            vip,
            forward,
            tables,
        })
    }
}

/// The client_address of DPVS's `proxy_protocol` value (lowercased):
/// `None` for `disable`, or why it is not carried.
fn proxy_of(v: &str) -> Result<Option<&'static str>, &'static str> {
    match v {
        "v1" => Ok(Some("proxy-v1")),
        "v2" => Ok(Some("proxy-v2")),
        "disable" => Ok(None),
        "v1-insecure" | "v2-insecure" => {
            Err("xlvs always inserts its own header and passes none from clients through")
        }
        _ => Err("expected v1, v2 or disable"),
    }
}

pub(super) fn forward_maps(forward: &str) -> bool {
    matches!(forward, "nat" | "fullnat")
}

/// The port to write for a real or sorry server at `port`: none when it is
/// the service's (or 0); under dr/tun a different one cannot be expressed.
pub(super) fn port_for(
    forward: &str,
    service_port: u16,
    port: u16,
) -> Result<Option<u16>, &'static str> {
    if port == service_port || port == 0 {
        Ok(None)
    } else if forward_maps(forward) {
        Ok(Some(port))
    } else {
        Err("DR and TUN forward to the service's port; only NAT and FULLNAT map ports")
    }
}
