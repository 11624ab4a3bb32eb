//! Everything xlvsd reads from or changes on the host, outside the XDP
//! maps: the forwarding sysctl, interface MACs and addresses, the kernel's
//! neighbour table (DR needs each real's MAC) and the bpf filesystem the
//! pins live on. The decisions never call these; the forwarder passes
//! what they return on as facts.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;

/// Turns IPv4 forwarding on for `iface`: the kernel's FIB answers the
/// XDP program's next-hop lookups (TUN, NAT, FULLNAT) only where it is on.
pub fn enable_forwarding(iface: &str) -> std::io::Result<()> {
    std::fs::write(format!("/proc/sys/net/ipv4/conf/{iface}/forwarding"), "1")
}

/// The interface's index and MAC address, from /sys (`None` if either
/// cannot be read).
pub fn interface_mac(iface: &str) -> Option<(u32, [u8; 6])> {
    let read = |file: &str| std::fs::read_to_string(format!("/sys/class/net/{iface}/{file}"));
    let mac = read("address").ok().and_then(|m| parse_mac(m.trim()))?;
    let index = read("ifindex").ok()?.trim().parse().ok()?;
    Some((index, mac))
}

/// The first IPv4 address of an interface, if it has one yet.
pub fn interface_address(iface: &str) -> Option<Ipv4Addr> {
    xlvs_ospf_driver::link_info(iface).ok().map(|l| l.address)
}

/// The kernel's IPv4 neighbour table: complete entries only.
pub fn neighbour_macs() -> BTreeMap<Ipv4Addr, [u8; 6]> {
    parse_arp(&std::fs::read_to_string("/proc/net/arp").unwrap_or_default())
}

/// Makes the kernel resolve `addr`: a datagram to its discard port needs
/// the neighbour first (the datagram itself is harmless). The next read
/// of the neighbour table finds the MAC.
pub fn resolve_neighbour(addr: Ipv4Addr) {
    if let Ok(s) = UdpSocket::bind("0.0.0.0:0") {
        let _ = s.send_to(b"", (addr, 9));
    }
}

/// Mounts the bpf filesystem at /sys/fs/bpf when the pins go there and
/// nothing is mounted (systemd usually has); elsewhere the operator
/// mounts it, and loading says so if not.
pub fn ensure_bpffs(pins: &Path) {
    const BPFFS: &str = "/sys/fs/bpf";
    if !pins.starts_with(BPFFS) || is_mount_point(BPFFS) {
        return;
    }
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (src, dst, fstype) = (c("bpf"), c(BPFFS), c("bpf"));
    // SAFETY: plain mount(2) with NUL-terminated strings we own.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        tracing::info!(path = BPFFS, "mounted the bpf filesystem for pins");
    } else {
        tracing::warn!(path = BPFFS, error = %std::io::Error::last_os_error(), "cannot mount the bpf filesystem");
    }
}

fn is_mount_point(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(path))
}

/// The complete entries of /proc/net/arp's text.
fn parse_arp(text: &str) -> BTreeMap<Ipv4Addr, [u8; 6]> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(ip), Some(flags), Some(mac)) = (f.first(), f.get(2), f.get(3)) else {
            continue;
        };
        // ATF_COM: the entry is complete.
        let complete =
            u32::from_str_radix(flags.trim_start_matches("0x"), 16).is_ok_and(|v| v & 0x2 != 0);
        let (Ok(ip), Some(mac)) = (ip.parse::<Ipv4Addr>(), parse_mac(mac)) else {
            continue;
        };
        if complete {
            out.insert(ip, mac);
        }
    }
    out
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    (parts.next().is_none() && mac != [0; 6]).then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_zero_is_not_a_mac() {
        assert_eq!(
            parse_mac("02:aa:00:00:00:15"),
            Some([2, 0xaa, 0, 0, 0, 0x15])
        );
        assert_eq!(parse_mac("00:00:00:00:00:00"), None);
        assert_eq!(parse_mac("02:aa:00:00:00"), None);
        assert_eq!(parse_mac("zz:aa:00:00:00:00"), None);
    }

    #[test]
    fn only_complete_neighbour_entries_count() {
        let text = "\
IP address       HW type     Flags       HW address            Mask     Device
10.0.1.21        0x1         0x2         02:aa:00:00:00:15     *        eth1
10.0.1.22        0x1         0x0         00:00:00:00:00:00     *        eth1
10.0.1.23        0x1         0x6         02:aa:00:00:00:17     *        eth1
garbage
";
        let table = parse_arp(text);
        assert_eq!(
            table.into_iter().collect::<Vec<_>>(),
            [
                (Ipv4Addr::new(10, 0, 1, 21), [2, 0xaa, 0, 0, 0, 0x15]),
                (Ipv4Addr::new(10, 0, 1, 23), [2, 0xaa, 0, 0, 0, 0x17]),
            ]
        );
    }
}
