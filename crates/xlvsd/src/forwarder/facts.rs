//! What the host tells the decisions about reaching backends: the MACs
//! of DR backends, as the kernel's neighbour table has them on the XDP
//! interface each is reached through, and the address TUN packets leave
//! from. The forwarder feeds them from the kernel's events (host/); the
//! decisions only read them.
//!
//! How a DR backend's MAC follows its neighbour entry ([`Facts::learn`]):
//! - resolved (REACHABLE, STALE, DELAY, PROBE, PERMANENT): its MAC, at
//!   once, also when it changed;
//! - FAILED, or the backend is on no XDP interface's subnet: no MAC (no
//!   new flows to it, "no MAC yet") until it resolves again;
//! - gone, or being resolved (INCOMPLETE) after it had a MAC: its last
//!   MAC stays in use while the kernel resolves it again (xlvsd asks at
//!   once), for at most [`HOLD`]. The kernel deletes unused entries by
//!   itself (garbage collection, once a host has more than
//!   gc_thresh1 = 128 neighbours), and DR traffic never uses them in the
//!   kernel's eyes: dropping the MAC then would take a healthy real out
//!   and put it back a moment later, moving new flows twice, and withdraw
//!   a VIP whose sorry server is serving. A real that does not answer
//!   turns FAILED within the kernel's probes (about 3 s).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The longest a gone neighbour entry's last MAC is used while the kernel
/// resolves it again: longer than the kernel's own resolution (3 probes,
/// 1 s apart, then FAILED), so this only bounds a resolution that never
/// started (the request refused, say).
pub const HOLD: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// DR backends' MACs, by address.
    pub macs: BTreeMap<Ipv4Addr, [u8; 6]>,
    /// DR backends whose neighbour entry went away while they had a MAC,
    /// and since when: their last MAC is in use while they are resolved
    /// again.
    pub held: BTreeMap<Ipv4Addr, Instant>,
    /// The outer source of TUN packets: configured, or the first XDP
    /// interface's address once it has one.
    pub tun_source: Option<Ipv4Addr>,
}

/// What the kernel says of a DR backend's neighbour entry on the XDP
/// interface it is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Resolved([u8; 6]),
    Failed,
    /// No entry, or one being resolved (or one that is no host's MAC).
    Missing,
    /// No XDP interface's subnet holds the backend (or the interface is
    /// gone): XDP cannot send to it.
    NoInterface,
}

/// What learning changed about a backend's MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    Unchanged,
    New([u8; 6]),
    Changed {
        old: [u8; 6],
        new: [u8; 6],
    },
    /// Its entry went away: its last MAC is held while it is resolved.
    Held([u8; 6]),
    /// It had a MAC, and has none now.
    Lost(Seen),
}

impl Facts {
    pub fn mac(&self, addr: Ipv4Addr) -> Option<[u8; 6]> {
        self.macs.get(&addr).copied()
    }

    /// Applies what the kernel says of DR backend `addr` (see the module
    /// documentation).
    pub fn learn(&mut self, addr: Ipv4Addr, seen: Seen, now: Instant) -> Learned {
        let old = self.mac(addr);
        match seen {
            Seen::Resolved(new) => {
                self.held.remove(&addr);
                self.macs.insert(addr, new);
                match old {
                    None => Learned::New(new),
                    Some(old) if old != new => Learned::Changed { old, new },
                    Some(_) => Learned::Unchanged,
                }
            }
            Seen::Missing => match old {
                Some(mac) if !self.held.contains_key(&addr) => {
                    self.held.insert(addr, now);
                    Learned::Held(mac)
                }
                _ => Learned::Unchanged,
            },
            Seen::Failed | Seen::NoInterface => {
                self.held.remove(&addr);
                match self.macs.remove(&addr) {
                    Some(_) => Learned::Lost(seen),
                    None => Learned::Unchanged,
                }
            }
        }
    }

    /// Drops the MACs held for longer than [`HOLD`]; returns whose.
    pub fn expire(&mut self, now: Instant) -> Vec<Ipv4Addr> {
        let expired: Vec<Ipv4Addr> = self
            .held
            .iter()
            .filter(|(_, &since)| now.duration_since(since) >= HOLD)
            .map(|(&addr, _)| addr)
            .collect();
        for addr in &expired {
            self.held.remove(addr);
            self.macs.remove(addr);
        }
        expired
    }

    /// Forgets backends that are not DR backends any more (a reload).
    pub fn keep_only(&mut self, dr: &BTreeSet<Ipv4Addr>) {
        self.macs.retain(|a, _| dr.contains(a));
        self.held.retain(|a, _| dr.contains(a));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 21);
    const MAC1: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MAC2: [u8; 6] = [2, 0, 0, 0, 0, 2];

    #[test]
    fn a_resolved_entry_gives_its_mac_and_a_new_one_replaces_it() {
        let (mut f, now) = (Facts::default(), Instant::now());
        assert_eq!(f.learn(REAL, Seen::Missing, now), Learned::Unchanged);
        assert_eq!(f.mac(REAL), None, "nothing to hold");
        assert_eq!(f.learn(REAL, Seen::Resolved(MAC1), now), Learned::New(MAC1));
        assert_eq!(f.learn(REAL, Seen::Resolved(MAC1), now), Learned::Unchanged);
        assert_eq!(
            f.learn(REAL, Seen::Resolved(MAC2), now),
            Learned::Changed {
                old: MAC1,
                new: MAC2
            }
        );
        assert_eq!(f.mac(REAL), Some(MAC2));
    }

    #[test]
    fn a_failed_entry_or_no_interface_takes_the_mac_at_once() {
        for why in [Seen::Failed, Seen::NoInterface] {
            let (mut f, now) = (Facts::default(), Instant::now());
            f.learn(REAL, Seen::Resolved(MAC1), now);
            assert_eq!(f.learn(REAL, why, now), Learned::Lost(why));
            assert_eq!(f.mac(REAL), None);
            assert_eq!(f.learn(REAL, why, now), Learned::Unchanged);
            assert_eq!(f.learn(REAL, Seen::Resolved(MAC1), now), Learned::New(MAC1));
        }
    }

    #[test]
    fn a_gone_entry_keeps_its_mac_while_resolved_again_for_a_bounded_time() {
        let (mut f, t0) = (Facts::default(), Instant::now());
        f.learn(REAL, Seen::Resolved(MAC1), t0);
        assert_eq!(f.learn(REAL, Seen::Missing, t0), Learned::Held(MAC1));
        assert_eq!(f.mac(REAL), Some(MAC1));
        // Still missing later: held since the first time.
        let later = t0 + HOLD / 2;
        assert_eq!(f.learn(REAL, Seen::Missing, later), Learned::Unchanged);
        assert!(f.expire(later).is_empty());
        assert_eq!(f.expire(t0 + HOLD), [REAL]);
        assert_eq!(f.mac(REAL), None);

        // Resolved again in time: held no more.
        f.learn(REAL, Seen::Resolved(MAC1), t0);
        f.learn(REAL, Seen::Missing, t0);
        assert_eq!(
            f.learn(REAL, Seen::Resolved(MAC2), t0),
            Learned::Changed {
                old: MAC1,
                new: MAC2
            }
        );
        assert!(f.expire(t0 + HOLD).is_empty());
        assert_eq!(f.mac(REAL), Some(MAC2));

        // Failed while held: gone at once.
        f.learn(REAL, Seen::Missing, t0);
        assert_eq!(f.learn(REAL, Seen::Failed, t0), Learned::Lost(Seen::Failed));
        assert!(f.expire(t0 + HOLD).is_empty());
    }

    #[test]
    fn backends_no_longer_configured_are_forgotten() {
        let (mut f, now) = (Facts::default(), Instant::now());
        f.learn(REAL, Seen::Resolved(MAC1), now);
        f.learn(REAL, Seen::Missing, now);
        f.keep_only(&BTreeSet::new());
        assert_eq!(f.mac(REAL), None);
        assert!(f.held.is_empty());
    }
}
