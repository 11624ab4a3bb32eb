//! What a real server needs for DR or TUN, and which of it this host still
//! lacks: pure functions over a snapshot of the host ([`Host`]), so every
//! decision is tested without touching the machine.
//!
//! A DR or TUN real owns the VIP (on `lo`) but must never answer ARP for it
//! or use it as an ARP source, or it would steal the VIP from the
//! directors: `arp_ignore = 1`, `arp_announce = 2` (the kernel applies the
//! larger of `all` and the interface's value, so `all` covers every
//! interface). The /32 on `lo` also gives the host route the old scripts
//! added by hand (the kernel's local table). TUN adds decapsulation: the
//! kernel's `ipip` module (its `tunl0` device, with reverse-path filtering
//! loose or off, since decapsulated packets arrive on `tunl0` from clients
//! routed through another interface) or xlvs-decap's XDP program.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Direct routing (ipvsadm -g).
    Dr,
    /// IPIP tunnelling (ipvsadm -i).
    Tun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum XdpMode {
    Native,
    Generic,
}

impl XdpMode {
    pub fn as_str(self) -> &'static str {
        match self {
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        }
    }
}

/// How a TUN real strips the outer IPv4 header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decap", rename_all = "snake_case")]
pub enum Decap {
    /// The kernel's ipip module and its tunl0 device.
    Kernel,
    /// xlvs-decap's XDP program on `interface`, pinned in `pin`.
    Xdp {
        interface: String,
        mode: XdpMode,
        pin: PathBuf,
    },
}

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub vip: Ipv4Addr,
    pub mode: Mode,
    /// `None` for DR.
    pub decap: Option<Decap>,
}

/// Whether the kernel's ipip module is there, or could be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipip {
    Loaded,
    Loadable,
    /// Why it cannot be loaded.
    Missing(String),
}

/// The parts of the host's state that the plan depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// Dotted sysctl keys to their values; a key whose file is absent
    /// (e.g. tunl0's before the module loads) is not here.
    pub sysctls: BTreeMap<String, String>,
    pub lo_addresses: Vec<Ipv4Addr>,
    pub ipip: Ipip,
    pub tunl0_up: bool,
    /// The xlvs-decap pin directory of the request exists.
    pub decap_pinned: bool,
}

pub const TUNL0: &str = "tunl0";
pub const IPIP: &str = "ipip";
pub const ARP_IGNORE: &str = "net.ipv4.conf.all.arp_ignore";
pub const ARP_ANNOUNCE: &str = "net.ipv4.conf.all.arp_announce";
pub const RP_FILTER_ALL: &str = "net.ipv4.conf.all.rp_filter";
pub const RP_FILTER_DEFAULT: &str = "net.ipv4.conf.default.rp_filter";
pub const RP_FILTER_TUNL0: &str = "net.ipv4.conf.tunl0.rp_filter";

/// Every sysctl the plan may read.
pub const SYSCTLS: [&str; 5] = [
    ARP_IGNORE,
    ARP_ANNOUNCE,
    RP_FILTER_ALL,
    RP_FILTER_DEFAULT,
    RP_FILTER_TUNL0,
];

/// One thing a real server needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// `key` must hold one of `accept`; if not, it is set to `accept[0]`.
    Sysctl {
        key: &'static str,
        accept: &'static [&'static str],
        why: &'static str,
    },
    Address {
        address: Ipv4Addr,
        device: String,
    },
    Module {
        name: &'static str,
    },
    LinkUp {
        device: &'static str,
    },
    XdpDecap {
        interface: String,
        mode: XdpMode,
        pin: PathBuf,
    },
}

/// One change made to the host: enough to redo it, and to undo it
/// exactly (a sysctl goes back to `from`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Sysctl {
        key: String,
        from: String,
        to: String,
    },
    Address {
        address: Ipv4Addr,
        device: String,
    },
    Module {
        name: String,
    },
    LinkUp {
        device: String,
    },
    XdpDecap {
        interface: String,
        mode: XdpMode,
        pin: PathBuf,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "--decap kernel needs the kernel's ipip module: {0}. Load it (modprobe ipip), \
         or strip the outer header in XDP with --decap xdp --interface IFACE"
    )]
    NoIpip(String),
}

/// What a real server for `req` needs, in the order `up` applies it
/// (`down` undoes in reverse): the ARP settings before the VIP appears on
/// lo, so it is never announced; decapsulation last, once the VIP is
/// there to receive the inner packets.
pub fn wants(req: &Request) -> Vec<Want> {
    let mut out = vec![
        Want::Sysctl {
            key: ARP_IGNORE,
            // 2 is stricter and keeps the VIP on lo silent as well.
            accept: &["1", "2"],
            why: "answer ARP only for addresses of the receiving interface, not lo's VIP",
        },
        Want::Sysctl {
            key: ARP_ANNOUNCE,
            accept: &["2"],
            why: "never use the VIP as the source of ARP requests",
        },
    ];
    let address = Want::Address {
        address: req.vip,
        device: "lo".into(),
    };
    match &req.decap {
        None => out.push(address),
        Some(Decap::Kernel) => {
            out.push(Want::Module { name: IPIP });
            // Loose (2) also lets them through: the client has a route.
            out.push(Want::Sysctl {
                key: RP_FILTER_TUNL0,
                accept: &["0", "2"],
                why: "accept decapsulated packets on tunl0 from clients routed elsewhere",
            });
            out.push(Want::Sysctl {
                key: RP_FILTER_ALL,
                accept: &["0", "2"],
                why: "the kernel applies the stricter of all and tunl0",
            });
            out.push(Want::LinkUp { device: TUNL0 });
            out.push(address);
        }
        Some(Decap::Xdp {
            interface,
            mode,
            pin,
        }) => {
            out.push(address);
            out.push(Want::XdpDecap {
                interface: interface.clone(),
                mode: *mode,
                pin: pin.clone(),
            });
        }
    }
    out
}

/// A sysctl's value now, or for tunl0's before the module made it, the
/// value it will start with (the `default` one).
fn sysctl_value<'a>(host: &'a Host, key: &str) -> Option<&'a str> {
    match host.sysctls.get(key) {
        Some(v) => Some(v),
        None if key == RP_FILTER_TUNL0 => host.sysctls.get(RP_FILTER_DEFAULT).map(String::as_str),
        None => None,
    }
}

/// Whether the host already has `want`.
pub fn is_met(want: &Want, host: &Host) -> bool {
    match want {
        Want::Sysctl { key, accept, .. } => {
            sysctl_value(host, key).is_some_and(|v| accept.contains(&v))
        }
        Want::Address { address, .. } => host.lo_addresses.contains(address),
        Want::Module { .. } => host.ipip == Ipip::Loaded,
        Want::LinkUp { .. } => host.tunl0_up,
        Want::XdpDecap { .. } => host.decap_pinned,
    }
}

/// The changes that bring `host` to what `req` needs; what is already in
/// place is left out (and so left alone by `down`). Empty when the host
/// is ready.
pub fn plan(req: &Request, host: &Host) -> Result<Vec<Change>, PlanError> {
    let mut changes = Vec::new();
    for want in wants(req).iter().filter(|w| !is_met(w, host)) {
        changes.push(match want {
            Want::Sysctl { key, accept, .. } => Change::Sysctl {
                key: key.to_string(),
                // Absent only for a key the kernel lacks; writing it then
                // fails, with the key named, when applied.
                from: sysctl_value(host, key).unwrap_or_default().to_string(),
                to: accept[0].to_string(),
            },
            Want::Address { address, device } => Change::Address {
                address: *address,
                device: device.clone(),
            },
            Want::Module { name } => match &host.ipip {
                Ipip::Missing(why) => return Err(PlanError::NoIpip(why.clone())),
                _ => Change::Module {
                    name: name.to_string(),
                },
            },
            Want::LinkUp { device } => Change::LinkUp {
                device: device.to_string(),
            },
            Want::XdpDecap {
                interface,
                mode,
                pin,
            } => Change::XdpDecap {
                interface: interface.clone(),
                mode: *mode,
                pin: pin.clone(),
            },
        });
    }
    Ok(changes)
}

impl Change {
    /// Whether other VIPs on the host rely on it too (all but the
    /// address): `down` for one VIP hands these to a VIP still up.
    pub fn shared(&self) -> bool {
        !matches!(self, Change::Address { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Change::Sysctl { key, from, to } => format!("{key} = {to} (was {from})"),
            Change::Address { address, device } => format!("{address}/32 on {device}"),
            Change::Module { name } => format!("kernel module {name} loaded"),
            Change::LinkUp { device } => format!("{device} up"),
            Change::XdpDecap {
                interface,
                mode,
                pin,
            } => format!(
                "xlvs-decap on {interface} ({} XDP), pinned in {}",
                mode.as_str(),
                pin.display()
            ),
        }
    }

    pub fn describe_undo(&self) -> String {
        match self {
            Change::Sysctl { key, from, .. } => format!("{key} = {from}"),
            Change::Address { address, device } => format!("{address}/32 removed from {device}"),
            Change::Module { name } => format!("kernel module {name} unloaded"),
            Change::LinkUp { device } => format!("{device} down"),
            Change::XdpDecap { interface, .. } => format!("xlvs-decap detached from {interface}"),
        }
    }
}

impl Want {
    /// One line for `status`.
    pub fn describe(&self, host: &Host) -> String {
        match self {
            Want::Sysctl { key, accept, why } => format!(
                "{key} = {} (is {}): {why}",
                accept.join(" or "),
                sysctl_value(host, key).unwrap_or("absent")
            ),
            Want::Address { address, device } => format!("{address}/32 on {device}"),
            Want::Module { name } => match &host.ipip {
                Ipip::Missing(why) => format!("kernel module {name} loaded ({why})"),
                _ => format!("kernel module {name} loaded"),
            },
            Want::LinkUp { device } => format!("{device} up"),
            Want::XdpDecap { interface, pin, .. } => {
                format!("xlvs-decap on {interface}, pinned in {}", pin.display())
            }
        }
    }
}

/// `down` for a VIP: which of its recorded changes to undo now, and which
/// to hand over to a VIP still up in the same namespace (the ones it
/// relies on too), so the last VIP down undoes them.
pub fn split_for_down(own: &[Change], others_up: bool) -> (Vec<Change>, Vec<Change>) {
    own.iter()
        .cloned()
        .partition(|c| !(others_up && c.shared()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    /// A fresh host: kernel defaults, nothing on lo but 127.0.0.1.
    fn fresh() -> Host {
        Host {
            sysctls: [
                (ARP_IGNORE, "0"),
                (ARP_ANNOUNCE, "0"),
                (RP_FILTER_ALL, "1"),
                (RP_FILTER_DEFAULT, "1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            lo_addresses: vec![Ipv4Addr::LOCALHOST],
            ipip: Ipip::Loadable,
            tunl0_up: false,
            decap_pinned: false,
        }
    }

    fn dr() -> Request {
        Request {
            vip: VIP,
            mode: Mode::Dr,
            decap: None,
        }
    }

    fn tun(decap: Decap) -> Request {
        Request {
            vip: VIP,
            mode: Mode::Tun,
            decap: Some(decap),
        }
    }

    fn xdp() -> Decap {
        Decap::Xdp {
            interface: "eth1".into(),
            mode: XdpMode::Generic,
            pin: "/run/xlvs/bpf/web1-decap".into(),
        }
    }

    fn sysctl(key: &str, from: &str, to: &str) -> Change {
        Change::Sysctl {
            key: key.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    fn address() -> Change {
        Change::Address {
            address: VIP,
            device: "lo".into(),
        }
    }

    /// What the host looks like once `changes` are made (what `apply`
    /// does, as data).
    fn after(mut host: Host, changes: &[Change]) -> Host {
        for c in changes {
            match c {
                Change::Sysctl { key, to, .. } => {
                    host.sysctls.insert(key.clone(), to.clone());
                }
                Change::Address { address, .. } => host.lo_addresses.push(*address),
                Change::Module { .. } => {
                    host.ipip = Ipip::Loaded;
                    let default = host.sysctls[RP_FILTER_DEFAULT].clone();
                    host.sysctls.insert(RP_FILTER_TUNL0.into(), default);
                }
                Change::LinkUp { .. } => host.tunl0_up = true,
                Change::XdpDecap { .. } => host.decap_pinned = true,
            }
        }
        host
    }

    #[test]
    fn dr_on_a_fresh_host_sets_arp_before_the_vip() {
        assert_eq!(
            plan(&dr(), &fresh()).unwrap(),
            vec![
                sysctl(ARP_IGNORE, "0", "1"),
                sysctl(ARP_ANNOUNCE, "0", "2"),
                address()
            ]
        );
    }

    #[test]
    fn tun_kernel_loads_ipip_opens_rp_filter_and_brings_tunl0_up() {
        assert_eq!(
            plan(&tun(Decap::Kernel), &fresh()).unwrap(),
            vec![
                sysctl(ARP_IGNORE, "0", "1"),
                sysctl(ARP_ANNOUNCE, "0", "2"),
                Change::Module {
                    name: "ipip".into()
                },
                // tunl0 does not exist yet: it will start with default's 1.
                sysctl(RP_FILTER_TUNL0, "1", "0"),
                sysctl(RP_FILTER_ALL, "1", "0"),
                Change::LinkUp {
                    device: "tunl0".into()
                },
                address(),
            ]
        );
    }

    #[test]
    fn tun_xdp_attaches_decap_after_the_vip_and_leaves_rp_filter_alone() {
        let changes = plan(&tun(xdp()), &fresh()).unwrap();
        assert_eq!(
            changes,
            vec![
                sysctl(ARP_IGNORE, "0", "1"),
                sysctl(ARP_ANNOUNCE, "0", "2"),
                address(),
                Change::XdpDecap {
                    interface: "eth1".into(),
                    mode: XdpMode::Generic,
                    pin: "/run/xlvs/bpf/web1-decap".into()
                },
            ]
        );
    }

    #[test]
    fn values_already_set_are_left_alone() {
        let mut host = fresh();
        host.sysctls.insert(ARP_IGNORE.into(), "2".into());
        host.sysctls.insert(ARP_ANNOUNCE.into(), "2".into());
        host.sysctls.insert(RP_FILTER_ALL.into(), "2".into());
        host.ipip = Ipip::Loaded;
        host.sysctls.insert(RP_FILTER_TUNL0.into(), "0".into());
        host.tunl0_up = true;
        host.lo_addresses.push(VIP);
        assert_eq!(plan(&dr(), &host).unwrap(), vec![]);
        assert_eq!(plan(&tun(Decap::Kernel), &host).unwrap(), vec![]);
    }

    #[test]
    fn only_what_is_missing_is_planned() {
        let mut host = fresh();
        host.sysctls.insert(ARP_IGNORE.into(), "1".into());
        host.lo_addresses.push(VIP);
        assert_eq!(
            plan(&dr(), &host).unwrap(),
            vec![sysctl(ARP_ANNOUNCE, "0", "2")]
        );
    }

    #[test]
    fn up_twice_changes_nothing_the_second_time() {
        for req in [dr(), tun(Decap::Kernel), tun(xdp())] {
            let first = plan(&req, &fresh()).unwrap();
            assert!(!first.is_empty());
            let host = after(fresh(), &first);
            assert_eq!(plan(&req, &host).unwrap(), vec![], "{req:?}");
            assert!(wants(&req).iter().all(|w| is_met(w, &host)), "{req:?}");
        }
    }

    #[test]
    fn a_fresh_host_is_not_ready() {
        for req in [dr(), tun(Decap::Kernel), tun(xdp())] {
            assert!(wants(&req).iter().any(|w| !is_met(w, &fresh())));
        }
    }

    #[test]
    fn kernel_decap_without_ipip_says_what_is_missing() {
        let mut host = fresh();
        host.ipip = Ipip::Missing("modprobe is not installed".into());
        let e = plan(&tun(Decap::Kernel), &host).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("ipip module: modprobe is not installed"),
            "{text}"
        );
        assert!(text.contains("--decap xdp"), "{text}");
        // The module is not needed when it is already loaded.
        host.ipip = Ipip::Loaded;
        assert!(plan(&tun(Decap::Kernel), &host).is_ok());
    }

    #[test]
    fn down_hands_shared_changes_to_a_vip_still_up() {
        let own = vec![sysctl(ARP_IGNORE, "0", "1"), address()];
        assert_eq!(
            split_for_down(&own, true),
            (vec![address()], vec![sysctl(ARP_IGNORE, "0", "1")])
        );
        assert_eq!(split_for_down(&own, false), (own.clone(), vec![]));
    }

    #[test]
    fn changes_survive_the_state_file() {
        let changes = plan(&tun(xdp()), &fresh()).unwrap();
        let text = serde_json::to_string(&changes).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Change>>(&text).unwrap(), changes);
    }
}
