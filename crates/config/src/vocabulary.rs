//! The words every crate describes a service with: its protocol, its
//! scheduler and its forwarding method. Each is defined once, here, the
//! lowest crate, with every spelling it has:
//!
//! - in the node config file: `as_str`, `Display` and serde (`tcp`, `dr`);
//! - in ipvsadm's listings and options: `ipvsadm_name`, `flag` (`TCP`,
//!   `Route`, `-g`); the control protocol (xlvs-api) spells them this way
//!   too;
//! - in packets and data-plane keys: [`Protocol::number`].

use serde::Deserialize;
use std::str::FromStr;

/// A service's IP protocol (ipvsadm `-t` / `-u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

file_names!(Protocol {
    Tcp => "tcp",
    Udp => "udp",
});

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

    /// The IP protocol number (IANA), as packets and the data plane's
    /// keys carry it.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    /// The protocol with IP protocol number `n`, if xlvs balances it.
    pub fn from_number(n: u8) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.number() == n)
    }

    /// As ipvsadm lists it: `TCP`, `UDP`.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// The ipvsadm option that names a service of this protocol.
    pub fn flag(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
        }
    }
}

/// Real-server selection: every scheduler ipvsadm can name (`-s`), under
/// the same names, all of them accepted by the node config, xlvsadm and
/// the data plane (docs/dataplane.md says how each one chooses).
///
/// The declaration order is the order the config file's error message
/// lists them in; [`Scheduler::ALL`] is ipvsadm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Maglev hashing. The default: every director picks the same real for a
    /// flow, so ECMP rehashing between directors keeps connections.
    #[default]
    Mh,
    /// Source hashing.
    Sh,
    /// Destination hashing.
    Dh,
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connections.
    Lc,
    /// Weighted least connections (ipvsadm's default).
    Wlc,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Locality-based least connections.
    Lblc,
    /// Locality-based least connections with replication.
    Lblcr,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Power of two choices.
    Twos,
}

file_names!(Scheduler {
    Mh => "mh",
    Sh => "sh",
    Dh => "dh",
    Rr => "rr",
    Wrr => "wrr",
    Lc => "lc",
    Wlc => "wlc",
    Sed => "sed",
    Nq => "nq",
    Lblc => "lblc",
    Lblcr => "lblcr",
    Fo => "fo",
    Ovf => "ovf",
    Twos => "twos",
});

impl Scheduler {
    /// Every scheduler, in the order ipvsadm's manual lists them.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Mh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Twos,
    ];

    /// Every name, in [`Scheduler::ALL`]'s order, for messages:
    /// `rr, wrr, ..., twos`.
    pub fn names() -> String {
        let all: Vec<&str> = Scheduler::ALL.iter().map(|s| s.as_str()).collect();
        all.join(", ")
    }

    /// ipvsadm's default when `-s` is not given.
    pub const IPVSADM_DEFAULT: Scheduler = Scheduler::Wlc;

    /// Whether every director picks the same real for a flow on its own:
    /// the hashing schedulers, whose choice depends only on the packet and
    /// the reals. The others choose by this director's own state (its
    /// turn, its connection counts, a random draw), so a flow that ECMP
    /// moves to another director keeps its real only if flow sync
    /// (`[cluster]`) carried its connection entry there.
    pub fn same_on_every_director(self) -> bool {
        matches!(self, Scheduler::Mh | Scheduler::Sh | Scheduler::Dh)
    }
}

/// By name (ipvsadm's and the file's are the same), any of the fourteen.
impl FromStr for Scheduler {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Scheduler::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// Forwarding method of a service: ipvsadm's `-g` / `-i` / `-m`, plus
/// FULLNAT. (ipvsadm's fourth method, `Local`, does not exist in xlvs.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// Direct routing (`-g`): rewrite the MAC only; reals own the VIP.
    #[default]
    Dr,
    /// IP-in-IP tunnel (`-i`): reals decapsulate and own the VIP.
    Tun,
    /// Source and destination NAT: reals see a local address of the node.
    Fullnat,
    /// Destination NAT (`-m`): replies must come back through the director.
    Nat,
}

file_names!(Forward {
    Dr => "dr",
    Tun => "tun",
    Fullnat => "fullnat",
    Nat => "nat",
});

impl Forward {
    /// Every method, in ipvsadm's order.
    pub const ALL: [Forward; 4] = [Forward::Dr, Forward::Tun, Forward::Nat, Forward::Fullnat];

    /// ipvsadm's Forward column: `Route`, `Tunnel`, `Masq`, and xlvs's
    /// `FullNat`.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Forward::Dr => "Route",
            Forward::Tun => "Tunnel",
            Forward::Nat => "Masq",
            Forward::Fullnat => "FullNat",
        }
    }

    /// The ipvsadm option that selects it, as `-S` prints it.
    pub fn flag(self) -> &'static str {
        match self {
            Forward::Dr => "-g",
            Forward::Tun => "-i",
            Forward::Nat => "-m",
            Forward::Fullnat => "--fullnat",
        }
    }

    /// Only NAT methods can send to a port other than the service's.
    pub fn maps_ports(self) -> bool {
        matches!(self, Forward::Nat | Forward::Fullnat)
    }
}

/// How a FULLNAT service tells its reals the client's address, which they
/// cannot see as the source (docs/fullnat.md, "The client's address").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum ClientAddress {
    /// Nothing: the reals see the director's local address.
    #[default]
    #[serde(rename = "none")]
    None,
    /// A TCP option (kind `toa_kind`) with the client's address and port
    /// on the first packets after the handshake, read by a module on the
    /// real (LVS and DPVS "TOA").
    #[serde(rename = "toa")]
    Toa,
    /// A PROXY protocol version 2 header before the client's data.
    #[serde(rename = "proxy-v2")]
    ProxyV2,
    /// A PROXY protocol version 1 (text) header before the client's data.
    #[serde(rename = "proxy-v1")]
    ProxyV1,
}

file_names!(ClientAddress {
    None => "none",
    Toa => "toa",
    ProxyV2 => "proxy-v2",
    ProxyV1 => "proxy-v1",
});

impl ClientAddress {
    /// The TCP option kind DPVS's toa module reads.
    pub const DEFAULT_TOA_KIND: u8 = 254;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_are_ianas() {
        assert_eq!(Protocol::Tcp.number(), 6);
        assert_eq!(Protocol::Udp.number(), 17);
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_number(p.number()), Some(p));
        }
        assert_eq!(Protocol::from_number(89), None, "OSPF is not balanced");
    }

    #[test]
    fn every_scheduler_parses_by_its_name() {
        for s in Scheduler::ALL {
            assert_eq!(s.as_str().parse::<Scheduler>(), Ok(s));
        }
        assert_eq!("fastest".parse::<Scheduler>(), Err(()));
        assert_eq!("WLC".parse::<Scheduler>(), Err(()), "names are lowercase");
        assert_eq!(
            Scheduler::names(),
            "rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos"
        );
    }

    #[derive(Debug, Deserialize)]
    struct T {
        scheduler: Scheduler,
    }

    /// Every name ipvsadm knows is a word of the file too.
    #[test]
    fn the_file_takes_every_scheduler() {
        for s in Scheduler::ALL {
            let t: T = toml::from_str(&format!("scheduler = \"{s}\"")).unwrap();
            assert_eq!(t.scheduler, s);
        }
    }

    /// An unknown word is refused with every name the file takes.
    #[test]
    fn the_file_refuses_an_unknown_scheduler_listing_all() {
        let err = toml::from_str::<T>("scheduler = \"fastest\"").unwrap_err();
        assert!(
            err.message().starts_with(
                "unknown variant `fastest`, expected one of `mh`, `sh`, `dh`, `rr`, `wrr`, \
                 `lc`, `wlc`, `sed`, `nq`, `lblc`, `lblcr`, `fo`, `ovf`, `twos`"
            ),
            "{err}"
        );
    }

    #[test]
    fn only_the_hashing_schedulers_choose_alike_on_every_director() {
        let alike: Vec<&str> = Scheduler::ALL
            .iter()
            .filter(|s| s.same_on_every_director())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(alike, ["dh", "sh", "mh"]);
    }
}
