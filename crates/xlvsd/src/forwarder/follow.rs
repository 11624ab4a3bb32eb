//! The forwarder following the kernel (I/O, like mod.rs): what netlink
//! events report (host/) reaches the data plane at once. An XDP interface
//! deleted and created again gets the program again, in the same mode; an
//! interface's new MAC is recorded (frames for other MACs are not ours);
//! DR backends' MACs follow their neighbour entries (facts.rs says how)
//! and those without one are resolved; TUN, NAT and FULLNAT reals' next
//! hops follow their routes, links and neighbours (next_hop.rs says how);
//! the TUN source follows the first XDP interface's address; and every
//! change makes the flow cache's entries stale, since they keep the FIB's
//! answers.

use super::facts::{Learned, Seen};
use super::next_hop::{self, NoNextHop};
use super::{Attached, Forwarder, ForwarderError};
use crate::host::{HostView, Neighbour, Wanted};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Instant;
use xlvs_config::Forward;
use xlvs_dataplane::NextHop;
use xlvs_netlink::Link;

impl Forwarder {
    /// Calls `f` with the kernel's state as last reported (None before
    /// the first dump, which [`crate::host::Host::follow`] waits for).
    pub(super) fn with_view<T>(&mut self, f: impl FnOnce(&mut Self, &HostView) -> T) -> Option<T> {
        // A receiver of our own to read while `self` changes.
        let rx = self.host.view.clone();
        let view = rx.borrow();
        view.as_ref().map(|v| f(self, v))
    }

    pub(super) fn set_interface_mac(
        &mut self,
        iface: &str,
        index: u32,
        mac: Option<[u8; 6]>,
    ) -> Result<(), ForwarderError> {
        match mac {
            Some(mac) => self.dp.set_interface_mac(index, mac)?,
            None => {
                tracing::warn!(interface = %iface, "cannot read its MAC: frames for other hosts will be forwarded too")
            }
        }
        Ok(())
    }

    /// The kernel's interfaces, addresses, neighbours or routes changed (a
    /// netlink event): the flow cache's entries are stale (they keep the
    /// FIB's answers: next hop, MACs, interface), XDP interfaces are
    /// followed, and the facts learned again and programmed.
    pub fn host_changed(&mut self) -> Result<(), ForwarderError> {
        self.dp.invalidate_flow_cache()?;
        self.follow_interfaces();
        self.learn_and_program(false)
    }

    /// Every second: held MACs expire, an interface that could not be
    /// attached again is tried again, and slow start ramps move on.
    pub fn tick(&mut self) -> Result<(), ForwarderError> {
        let expired = self.facts.expire(Instant::now());
        if self.attached.values().any(|a| a.failed) {
            self.follow_interfaces();
        }
        self.refresh(false)?;
        self.recount_when_due(Instant::now());
        for real in expired {
            self.unresolved.insert(real);
            tracing::warn!(%real, "real server not resolved again: no new flows to it until it answers ARP");
        }
        Ok(())
    }

    /// Attaches again to an XDP interface that was deleted and created
    /// again (in the same mode), and takes a changed MAC of one.
    fn follow_interfaces(&mut self) {
        self.with_view(|f, view| {
            for name in f.interfaces.clone() {
                f.follow_interface(&name, view.links().by_name(&name));
            }
        });
    }

    fn follow_interface(&mut self, name: &str, link: Option<(u32, &Link)>) {
        let Some(was) = self.attached.get(name).copied() else {
            return;
        };
        let now = match link {
            None if !was.gone => {
                tracing::warn!(interface = %name, "XDP interface deleted: attached again when it is created again");
                self.forget_interface(name, was.index);
                self.attached
                    .insert(name.into(), Attached { gone: true, ..was });
                return;
            }
            None => return,
            Some((index, link)) => Attached {
                index,
                mac: link.mac,
                gone: false,
                failed: false,
            },
        };
        if now.index != was.index {
            if !was.gone {
                self.forget_interface(name, was.index);
            }
            if let Err(e) = self.set_interface_mac(name, now.index, now.mac) {
                tracing::error!(interface = %name, error = %e, "recording the interface's MAC");
            }
            match self.dp.attach_again(name, self.mode) {
                Ok(()) => {
                    tracing::info!(interface = %name, index = now.index, mode = ?self.mode, "XDP attached again to an interface created again");
                    self.attached.insert(name.into(), now);
                }
                Err(e) => {
                    if !was.failed {
                        tracing::error!(interface = %name, error = %e, "cannot attach XDP to an interface created again (trying again every second)");
                    }
                    let failed = Attached {
                        failed: true,
                        gone: true,
                        ..was
                    };
                    self.attached.insert(name.into(), failed);
                }
            }
        } else if now.mac != was.mac {
            match self.set_interface_mac(name, now.index, now.mac) {
                Ok(()) => {
                    tracing::info!(interface = %name, mac = %mac_text(now.mac), "XDP interface MAC changed");
                    self.attached.insert(name.into(), now);
                }
                Err(e) => {
                    tracing::error!(interface = %name, error = %e, "recording the interface's new MAC")
                }
            }
        }
    }

    /// An XDP interface was deleted: its index is nobody's any more.
    fn forget_interface(&mut self, name: &str, index: u32) {
        if let Err(e) = self.dp.forget_interface_mac(index) {
            tracing::error!(interface = %name, error = %e, "forgetting a deleted interface's MAC");
        }
    }

    /// Takes the facts from the kernel's view (the TUN source, DR MACs,
    /// next hops) and programs what they change (or every entry, with
    /// `all`). What changed is logged once it is in the data plane.
    pub(super) fn learn_and_program(&mut self, all: bool) -> Result<(), ForwarderError> {
        let now = Instant::now();
        let learned = self.with_view(|f, view| {
            f.learn_tun_source(view)?;
            let (learned, mut wanted) = f.learn_macs(view, now);
            wanted.extend(f.learn_next_hops(view)?);
            f.host.resolver.want(wanted);
            Ok::<_, ForwarderError>(learned)
        });
        self.refresh(all)?;
        for (real, seen, learned) in learned.transpose()?.unwrap_or_default() {
            self.log_learned(real, seen, learned);
        }
        Ok(())
    }

    /// Without a configured TUN source, the first XDP interface's
    /// (primary) address; it may get one after we start, or another one.
    fn learn_tun_source(&mut self, view: &HostView) -> Result<(), ForwarderError> {
        if self.tun_source_configured || !self.uses(Forward::Tun) {
            return Ok(());
        }
        let links = view.links();
        let first = self.interfaces.first().and_then(|name| links.by_name(name));
        let address = first.and_then(|(index, _)| links.primary(index));
        match address.map(|a| a.address) {
            Some(address) if self.facts.tun_source != Some(address) => {
                let mut g = self.dp.globals()?;
                g.tun_src = address.octets();
                self.dp.set_globals(g)?;
                self.facts.tun_source = Some(address);
                tracing::info!(source = %address, "TUN outer source address");
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes each DR backend's MAC from its neighbour entry on the XDP
    /// interface it is reached through (facts.rs says how). Returns what
    /// it learned of each, and the neighbours to ask the kernel to resolve
    /// (those without a resolved entry).
    fn learn_macs(
        &mut self,
        view: &HostView,
        now: Instant,
    ) -> (Vec<(Ipv4Addr, Seen, Learned)>, BTreeSet<Wanted>) {
        let dr: BTreeSet<Ipv4Addr> = self
            .entries
            .iter()
            .filter(|e| e.spec.forward == Forward::Dr)
            .flat_map(|e| e.backends().map(|b| b.addr))
            .collect();
        self.facts.keep_only(&dr);
        self.unresolved.retain(|a| dr.contains(a));
        let mut wanted = BTreeSet::new();
        let mut learned = Vec::new();
        for addr in dr {
            let index = view.interface_for(&self.interfaces, addr);
            let seen = match index.map(|i| view.neighbour(i, addr)) {
                None => Seen::NoInterface,
                Some(Some(Neighbour::Resolved(mac))) => Seen::Resolved(*mac),
                Some(Some(Neighbour::Failed)) => Seen::Failed,
                Some(_) => Seen::Missing,
            };
            // A down interface sends no ARP request: asked once it is up.
            let running = index
                .and_then(|i| view.links().get(i))
                .is_some_and(|l| l.running);
            if let (Some(index), Seen::Failed | Seen::Missing, true) = (index, seen, running) {
                wanted.insert((index, addr));
            }
            learned.push((addr, seen, self.facts.learn(addr, seen, now)));
        }
        (learned, wanted)
    }

    /// Sets each TUN, NAT and FULLNAT real's next hop in the data plane
    /// from its route, link and neighbour (next_hop.rs), and clears it
    /// where one is missing (XDP asks the FIB then) and for addresses no
    /// longer reals. Returns the neighbours to resolve: a gateway or
    /// on-link real the kernel has no MAC for yet.
    fn learn_next_hops(&mut self, view: &HostView) -> Result<BTreeSet<Wanted>, ForwarderError> {
        let reals: BTreeSet<Ipv4Addr> = if self.next_hop_cache {
            self.entries
                .iter()
                .filter(|e| e.spec.forward != Forward::Dr)
                .flat_map(|e| e.backends().map(|b| b.addr))
                .collect()
        } else {
            BTreeSet::new()
        };
        let set: BTreeMap<Ipv4Addr, NextHop> = self.dp.next_hops().collect();
        for addr in set.keys().filter(|a| !reals.contains(a)) {
            self.dp.set_next_hop(*addr, None)?;
        }
        let mut wanted = BTreeSet::new();
        for real in reals {
            let route = view.route_to(real);
            let oif = route.and_then(|r| r.oif);
            let link = oif.and_then(|i| view.links().get(i));
            let neighbour = route
                .zip(oif)
                .and_then(|(r, i)| view.neighbour(i, next_hop::neighbour_of(real, r)));
            let facts = next_hop::Facts {
                route,
                link,
                neighbour,
            };
            let decided = next_hop::next_hop(real, facts);
            if let Err(NoNextHop::Unresolved { ifindex, neighbour }) = decided {
                // A down interface sends no ARP request: decided above.
                wanted.insert((ifindex, neighbour));
            }
            let before = set.get(&real).copied();
            let now = decided.ok();
            if before == now {
                continue;
            }
            self.dp.set_next_hop(real, now)?;
            match (now, decided) {
                (Some(h), _) => {
                    let via = route.map_or(real, |r| next_hop::neighbour_of(real, r));
                    tracing::info!(%real, %via, ifindex = h.ifindex, mac = %mac_text(Some(h.dmac)), mtu = h.mtu, "next hop towards real server")
                }
                (None, Err(why)) => {
                    tracing::info!(%real, why = why.why(), "no next hop entry for real server: its new flows ask the FIB")
                }
                (None, Ok(_)) => {}
            }
        }
        Ok(wanted)
    }

    fn log_learned(&mut self, real: Ipv4Addr, seen: Seen, learned: Learned) {
        match learned {
            Learned::New(mac) => {
                if self.unresolved.remove(&real) {
                    tracing::info!(%real, mac = %mac_text(Some(mac)), "real server MAC resolved");
                }
            }
            Learned::Changed { old, new } => {
                tracing::info!(%real, old = %mac_text(Some(old)), new = %mac_text(Some(new)), "real server MAC changed")
            }
            Learned::Held(mac) => {
                tracing::info!(%real, mac = %mac_text(Some(mac)), "real server's neighbour entry gone: resolving it again, its last MAC in use meanwhile")
            }
            Learned::Lost(_) | Learned::Unchanged if self.facts.mac(real).is_none() => {
                if self.unresolved.insert(real) {
                    let why = match seen {
                        Seen::Failed => "it does not answer ARP",
                        Seen::NoInterface => "no XDP interface's subnet holds it",
                        _ => "not resolved yet",
                    };
                    tracing::warn!(%real, why, "no MAC for real server: no new flows to it until it answers ARP");
                }
            }
            Learned::Lost(_) | Learned::Unchanged => {}
        }
    }
}

/// A MAC as `ip link` shows it, or "none".
fn mac_text(mac: Option<[u8; 6]>) -> String {
    mac.map_or("none".into(), |m| m.map(|b| format!("{b:02x}")).join(":"))
}
