//! Values of ipvsadm options: addresses, ports, netmasks, numbers.
//!
//! Stricter than ipvsadm on purpose: IPv4 dotted quads only (no host names,
//! which ipvsadm resolves, and none of inet_aton's short forms such as
//! `10.1`), ports as numbers or a few well-known service names.

use super::error::UsageError;
use std::net::Ipv4Addr;

/// Service names ipvsadm would look up in /etc/services, for the common
/// ports only; anything else must be a number.
pub const SERVICE_NAMES: &[(&str, u16)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("smtp", 25),
    ("domain", 53),
    ("dns", 53),
    ("http", 80),
    ("www", 80),
    ("https", 443),
];

/// `VIP[:port]` of `-t`/`-u`; no port means port 0, as in ipvsadm.
pub fn service_addr(option: &str, value: &str) -> Result<(Ipv4Addr, u16), UsageError> {
    let (addr, port) = addr_port(option, value)?;
    Ok((addr, port.unwrap_or(0)))
}

/// `RIP[:port]` of `-r`; `None` when no port is given.
pub fn real_addr(option: &str, value: &str) -> Result<(Ipv4Addr, Option<u16>), UsageError> {
    addr_port(option, value)
}

fn addr_port(option: &str, value: &str) -> Result<(Ipv4Addr, Option<u16>), UsageError> {
    let bad = |reason: String| UsageError::bad(option, value, reason);
    if value.starts_with('[') || value.matches(':').count() > 1 {
        return Err(bad("IPv6 is not supported (xlvs is IPv4-only)".into()));
    }
    let (host, port) = match value.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (value, None),
    };
    let addr = ipv4(host).ok_or_else(|| {
        bad(if host.is_empty() {
            "missing the address before `:`".to_string()
        } else if host.chars().any(|c| c.is_ascii_alphabetic()) {
            format!("`{host}` is not an IPv4 address (host names are not resolved)")
        } else {
            format!("`{host}` is not an IPv4 address")
        })
    })?;
    let port = match port {
        None => None,
        Some(p) => Some(port_number(p).ok_or_else(|| bad(port_problem(p)))?),
    };
    Ok((addr, port))
}

/// A dotted quad with four decimal parts.
fn ipv4(s: &str) -> Option<Ipv4Addr> {
    if s.split('.').count() != 4 {
        return None;
    }
    s.parse().ok()
}

/// 0..=65535 or a known service name.
fn port_number(p: &str) -> Option<u16> {
    if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
        return p.parse().ok();
    }
    SERVICE_NAMES
        .iter()
        .find(|(name, _)| *name == p)
        .map(|&(_, n)| n)
}

fn port_problem(p: &str) -> String {
    if p.is_empty() {
        "missing the port after `:`".into()
    } else if p.bytes().all(|b| b.is_ascii_digit()) {
        format!("port `{p}` is out of range 0..=65535")
    } else {
        let names: Vec<&str> = SERVICE_NAMES.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown service name `{p}`: give a port number (known names: {})",
            names.join(", ")
        )
    }
}

/// `-M`: a dotted netmask whose one bits are contiguous, since persistence
/// masks the client address by prefix.
pub fn netmask(option: &str, value: &str) -> Result<Ipv4Addr, UsageError> {
    let bad = |reason| UsageError::BadNetmask {
        option: option.to_string(),
        value: value.to_string(),
        reason,
    };
    let mask = ipv4(value).ok_or_else(|| bad("write it dotted, e.g. 255.255.255.0"))?;
    let bits = u32::from(mask);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err(bad("not a contiguous netmask"));
    }
    Ok(mask)
}

/// A timeout in seconds, `min..=max` (`-p`, `--set`).
pub fn timeout(option: &str, value: &str, min: u32, max: u32) -> Result<u32, UsageError> {
    number(option, value, min, max).map_err(|_| UsageError::BadTimeout {
        option: option.to_string(),
        value: value.to_string(),
        min,
        max,
    })
}

/// A decimal number in `min..=max`.
pub fn number(option: &str, value: &str, min: u32, max: u32) -> Result<u32, UsageError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UsageError::bad(
            option,
            value,
            format!("not a number ({min}..={max})"),
        ));
    }
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(UsageError::bad(
            option,
            value,
            format!("out of range {min}..={max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ports() {
        let ok = |v: &str| real_addr("-r", v).unwrap();
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(ok("10.0.0.1"), (a("10.0.0.1"), None));
        assert_eq!(ok("10.0.0.1:8080"), (a("10.0.0.1"), Some(8080)));
        assert_eq!(ok("10.0.0.1:0"), (a("10.0.0.1"), Some(0)));
        assert_eq!(ok("10.0.0.1:https"), (a("10.0.0.1"), Some(443)));
        assert_eq!(ok("10.0.0.1:domain"), (a("10.0.0.1"), Some(53)));
        assert_eq!(service_addr("-t", "192.0.2.1").unwrap().1, 0);

        let err = |v: &str| real_addr("-r", v).unwrap_err().to_string();
        assert_eq!(
            err("10.0.0.1:imap"),
            "-r 10.0.0.1:imap: unknown service name `imap`: give a port number \
             (known names: ftp, ssh, smtp, domain, dns, http, www, https)"
        );
        assert_eq!(
            err("10.0.0.1:70000"),
            "-r 10.0.0.1:70000: port `70000` is out of range 0..=65535"
        );
        assert_eq!(err("10.0.0.1:"), "-r 10.0.0.1:: missing the port after `:`");
        assert_eq!(err(":80"), "-r :80: missing the address before `:`");
        assert_eq!(
            err("web1:80"),
            "-r web1:80: `web1` is not an IPv4 address (host names are not resolved)"
        );
        assert_eq!(err("10.1"), "-r 10.1: `10.1` is not an IPv4 address");
        assert_eq!(
            err("10.0.0.256"),
            "-r 10.0.0.256: `10.0.0.256` is not an IPv4 address"
        );
        assert_eq!(
            err("[2001:db8::1]:80"),
            "-r [2001:db8::1]:80: IPv6 is not supported (xlvs is IPv4-only)"
        );
        assert_eq!(
            err("2001:db8::1"),
            "-r 2001:db8::1: IPv6 is not supported (xlvs is IPv4-only)"
        );
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            netmask("-M", "255.255.255.0").unwrap(),
            Ipv4Addr::new(255, 255, 255, 0)
        );
        assert_eq!(netmask("-M", "0.0.0.0").unwrap(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            netmask("-M", "255.0.255.0").unwrap_err().to_string(),
            "illegal virtual server persistent mask specified \
             (-M 255.0.255.0: not a contiguous netmask)"
        );
        assert_eq!(
            netmask("--netmask", "24").unwrap_err().to_string(),
            "illegal virtual server persistent mask specified \
             (--netmask 24: write it dotted, e.g. 255.255.255.0)"
        );
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout("-p", "60", 1, 2678400), Ok(60));
        assert_eq!(
            timeout("-p", "0", 1, 2678400).unwrap_err().to_string(),
            "invalid timeout value `0' specified (-p takes 1..=2678400 seconds)"
        );
        assert_eq!(
            timeout("--set", "x", 0, 9).unwrap_err().to_string(),
            "invalid timeout value `x' specified (--set takes 0..=9 seconds)"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number("-w", "0", 0, 65535), Ok(0));
        assert_eq!(
            number("-w", "65536", 0, 65535).unwrap_err().to_string(),
            "-w 65536: out of range 0..=65535"
        );
        assert_eq!(
            number("-w", "-1", 0, 65535).unwrap_err().to_string(),
            "-w -1: not a number (0..=65535)"
        );
        assert!(number("-w", "99999999999", 0, 65535).is_err());
    }
}
