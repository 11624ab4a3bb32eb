//! Reads the host's current state for the plan: sysctls from /proc/sys,
//! lo's addresses from `ip`, the ipip module and tunl0 from /sys.

use super::plan::{Host, Ipip, Request, SYSCTLS, TUNL0};
use super::RealserverError;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// /proc/sys path of a dotted sysctl key.
pub fn sysctl_path(key: &str) -> PathBuf {
    Path::new("/proc/sys").join(key.replace('.', "/"))
}

pub fn read(req: &Request) -> Result<Host, RealserverError> {
    let sysctls = SYSCTLS
        .iter()
        .filter_map(|k| {
            let v = std::fs::read_to_string(sysctl_path(k)).ok()?;
            Some((k.to_string(), v.trim().to_string()))
        })
        .collect();
    let decap_pinned = match &req.decap {
        Some(super::plan::Decap::Xdp { pin, .. }) => pin.exists(),
        _ => false,
    };
    Ok(Host {
        sysctls,
        lo_addresses: lo_addresses()?,
        ipip: ipip(),
        tunl0_up: link_up(TUNL0),
        decap_pinned,
    })
}

/// IPv4 addresses on lo, from `ip -4 -o addr show dev lo`
/// ("1: lo    inet 127.0.0.1/8 scope host lo ...").
fn lo_addresses() -> Result<Vec<Ipv4Addr>, RealserverError> {
    let out = super::apply::run("ip", &["-4", "-o", "addr", "show", "dev", "lo"])?;
    Ok(parse_addresses(&out))
}

fn parse_addresses(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

fn link_up(device: &str) -> bool {
    // IFF_UP is bit 0 of the flags.
    std::fs::read_to_string(format!("/sys/class/net/{device}/flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & 1 == 1)
}

fn ipip() -> Ipip {
    if Path::new("/sys/module/ipip").exists() {
        return Ipip::Loaded;
    }
    // A dry run finds the module file without loading anything.
    match Command::new("modprobe").args(["-n", "-q", "ipip"]).status() {
        Ok(s) if s.success() => Ipip::Loadable,
        Ok(_) => Ipip::Missing(format!(
            "it is not loaded and this kernel ({}) has no ipip module to load",
            kernel_release()
        )),
        Err(_) => Ipip::Missing("it is not loaded and modprobe is not installed".into()),
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|_| "unknown release".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_ip_one_line_output() {
        let text = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                    1: lo    inet 192.0.2.10/32 scope global lo\\       valid_lft forever\n";
        assert_eq!(
            parse_addresses(text),
            vec![Ipv4Addr::LOCALHOST, Ipv4Addr::new(192, 0, 2, 10)]
        );
    }

    #[test]
    fn sysctl_keys_map_to_proc_sys() {
        assert_eq!(
            sysctl_path("net.ipv4.conf.all.arp_ignore"),
            Path::new("/proc/sys/net/ipv4/conf/all/arp_ignore")
        );
    }
}
