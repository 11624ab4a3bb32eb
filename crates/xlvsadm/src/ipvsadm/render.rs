//! `-L` listings, laid out column for column like ipvsadm's so that
//! scripts reading them keep working. Addresses are always numeric (as with
//! `-n`): xlvsadm does not resolve names.

use super::command::{ListFormat, ListOptions, ListWhat};
use super::number::largenum;
use std::fmt::Write;
use xlvs_api::ipvs::{Connection, IpvsTable, ServiceEntry, ServiceKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("no such service: {0}")]
    NoSuchService(ServiceKey),
}

pub fn list(table: &IpvsTable, opts: &ListOptions) -> Result<String, ListError> {
    let mut out = String::new();
    match &opts.what {
        ListWhat::Timeouts => {
            let t = &table.timeouts;
            let _ = writeln!(
                out,
                "Timeout (tcp tcpfin udp): {} {} {}",
                t.tcp_s, t.tcpfin_s, t.udp_s
            );
        }
        ListWhat::Connections => connections(&mut out, &table.connections),
        ListWhat::Services(Some(key)) => {
            let s = table.service(key).ok_or(ListError::NoSuchService(*key))?;
            title(&mut out, opts.format);
            service(&mut out, s, opts);
        }
        ListWhat::Services(None) => {
            // ipvsadm shows the IPVS version here; we show xlvs's.
            let _ = writeln!(
                out,
                "IP Virtual Server version {} (size={})",
                table.version, table.conn_table_size
            );
            title(&mut out, opts.format);
            for s in table.services_in_order(opts.sort) {
                service(&mut out, s, opts);
            }
        }
    }
    Ok(out)
}

fn title(out: &mut String, format: ListFormat) {
    let columns = match format {
        ListFormat::Plain => {
            out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
            out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
            return;
        }
        ListFormat::PersistentConn => {
            let _ = writeln!(
                out,
                "{:<33} Weight    PersistConn ActiveConn InActConn",
                "Prot LocalAddress:Port"
            );
            out.push_str("  -> RemoteAddress:Port\n");
            return;
        }
        ListFormat::Stats => ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"],
        ListFormat::Rate => ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"],
    };
    let _ = write!(out, "{:<33}", "Prot LocalAddress:Port");
    for c in columns {
        let _ = write!(out, " {c:>8}");
    }
    out.push_str("\n  -> RemoteAddress:Port\n");
}

/// `TCP  192.0.2.10:80`, cut at 33 characters like ipvsadm's.
fn service_name(s: &ServiceEntry) -> String {
    let mut name = format!("{}  {}", s.protocol.ipvsadm_name(), s.key().addr());
    name.truncate(33);
    name
}

fn service(out: &mut String, s: &ServiceEntry, opts: &ListOptions) {
    let name = service_name(s);
    let num = |n: u64| largenum(n, opts.exact);
    match opts.format {
        ListFormat::Plain | ListFormat::PersistentConn => {
            let _ = write!(out, "{name} {}", s.scheduler);
            if let Some(p) = &s.persistent {
                let _ = write!(out, " persistent {}", p.timeout_s);
                if p.netmask != std::net::Ipv4Addr::BROADCAST {
                    let _ = write!(out, " mask {}", p.netmask);
                }
            }
            // xlvs's own: the client's address in a TCP option or a PROXY
            // protocol header (FULLNAT).
            match s.toa_kind {
                Some(xlvs_config::ClientAddress::DEFAULT_TOA_KIND) => out.push_str(" toa"),
                Some(kind) => {
                    let _ = write!(out, " toa {kind}");
                }
                None => {}
            }
            if let Some(version) = s.proxy_protocol {
                let _ = write!(out, " proxy-v{version}");
            }
        }
        ListFormat::Stats => {
            let st = &s.stats;
            let _ = write!(out, "{name:<33}");
            for n in [st.conns, st.in_pkts, st.out_pkts, st.in_bytes, st.out_bytes] {
                out.push_str(&num(n));
            }
        }
        ListFormat::Rate => {
            let r = &s.rate;
            let _ = write!(out, "{name:<33}");
            for n in [r.cps, r.in_pps, r.out_pps, r.in_bps, r.out_bps] {
                out.push_str(&num(n));
            }
        }
    }
    out.push('\n');
    for r in s.reals_in_order(opts.sort) {
        let mut dest = format!("{}:{}", r.address, r.port);
        dest.truncate(28);
        match opts.format {
            ListFormat::Plain => {
                let _ = write!(
                    out,
                    "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
                    r.forward.ipvsadm_name(),
                    r.weight,
                    r.active_conns,
                    r.inactive_conns
                );
            }
            ListFormat::PersistentConn => {
                let _ = write!(
                    out,
                    "  -> {dest:<28} {:<9} {:<11} {:<10} {:<10}",
                    r.weight, r.persist_conns, r.active_conns, r.inactive_conns
                );
            }
            ListFormat::Stats => {
                let st = &r.stats;
                let _ = write!(out, "  -> {dest:<28}");
                for n in [st.conns, st.in_pkts, st.out_pkts, st.in_bytes, st.out_bytes] {
                    out.push_str(&num(n));
                }
            }
            ListFormat::Rate => {
                // ipvsadm prints a real's per-second counts unshortened.
                let rt = &r.rate;
                let _ = write!(
                    out,
                    "  -> {dest:<28} {:>8} {:>8} {:>8}",
                    rt.cps, rt.in_pps, rt.out_pps
                );
                out.push_str(&num(rt.in_bps));
                out.push_str(&num(rt.out_bps));
            }
        }
        out.push('\n');
    }
}

/// ipvsadm's columns; with flow sync (some entry made by another
/// director) an `owner` column follows: `local`, or the director's sync
/// address.
fn connections(out: &mut String, conns: &[Connection]) {
    out.push_str("IPVS connection entries\n");
    let synced = conns.iter().any(|c| c.owner.is_some());
    let mut head = format!(
        "pro expire {:<11} {:<18} {:<18} {}",
        "state", "source", "virtual", "destination"
    );
    if synced {
        head = format!("{head:<82} owner");
    }
    out.push_str(&head);
    out.push('\n');
    for c in conns {
        let expire = format!("{:02}:{:02}", c.expire_s / 60, c.expire_s % 60);
        let mut line = format!(
            "{:<3} {expire:<6} {:<11} {:<18} {:<18} {}",
            c.protocol.ipvsadm_name(),
            c.state,
            c.source.to_string(),
            c.virtual_addr.to_string(),
            c.destination
        );
        if synced {
            let owner = c.owner.map_or("local".into(), |o| o.to_string());
            line = format!("{line:<82} {owner}");
        }
        out.push_str(&line);
        out.push('\n');
    }
}
