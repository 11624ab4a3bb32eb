//! Why a VIP is (or is not) announced: the whole rule, from the state the
//! forwarder keeps, as pure functions (docs/health.md, "Quorum and
//! announcement").
//!
//! A VIP is announced exactly when some service entry of it (one per port)
//! is not drained, can reach its backends (TUN: the node has a tunnel
//! source address), and either
//! - has its quorum: at least `quorum` usable reals, with hysteresis
//!   (forwarder/quorum.rs), or
//! - has a sorry server that takes the new flows (its quorum is not met
//!   and the sorry server can be sent to: under DR, its MAC is known).
//!
//! A real is usable when it passes its check (`alpha`: has passed once),
//! has a weight, and under DR its MAC is known (forwarder/usable.rs). A
//! real failing with `inhibit_on_failure` or ramping up in slow start
//! changes what is programmed (forwarder/plan.rs), not what counts: the
//! first is not usable, the second is.
//!
//! [`changes`] turns the readiness into what the daemon must announce or
//! withdraw, given what it announces now.

use crate::forwarder::usable::{self, SorryRole};
use crate::forwarder::{Entry, Facts, Forwarder, RealStates};
use crate::sync::SyncHandle;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use xlvs_config::Forward;

/// Whether to announce a VIP, and why (or why not): one line per entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VipReadiness {
    pub announce: bool,
    pub reasons: Vec<String>,
}

impl VipReadiness {
    /// The reasons on one line, for logs.
    pub fn reason(&self) -> String {
        self.reasons.join("; ")
    }
}

/// The readiness of every VIP of the forwarder's entries; with flow sync,
/// held back until the cluster's connection table is fetched.
pub fn of(f: &Forwarder, sync: Option<&SyncHandle>) -> BTreeMap<Ipv4Addr, VipReadiness> {
    let mut ready = vip_readiness(f.entries(), f.reals(), f.facts(), f.drained());
    if sync.is_some_and(|s| !s.table_settled()) {
        hold(&mut ready, WAITING_FOR_TABLE);
    }
    ready
}

/// Why no VIP is announced while sync fetches the table.
pub const WAITING_FOR_TABLE: &str = "waiting for the cluster's connection table (sync)";

/// The readiness of every VIP of `entries`: announced while any of its
/// entries can serve it.
pub fn vip_readiness(
    entries: &[Entry],
    reals: &RealStates,
    facts: &Facts,
    drained: &BTreeSet<String>,
) -> BTreeMap<Ipv4Addr, VipReadiness> {
    let mut out: BTreeMap<Ipv4Addr, VipReadiness> = BTreeMap::new();
    for e in entries {
        let (serves, why) = entry_readiness(e, reals, facts, drained.contains(&e.name));
        let vip = out.entry(e.spec.vip).or_default();
        vip.announce |= serves;
        vip.reasons.push(why);
    }
    out
}

/// Whether one entry keeps its VIP announced, and the line saying why,
/// e.g. `service web port 80: 0 of 3 reals usable, quorum 2 (hysteresis
/// 1: lost below 1, back at 3), quorum lost`.
/// Holds every VIP back for a reason of the whole node (a director that
/// joins a cluster waits for the cluster's connection table): nothing is
/// announced, and each VIP says why.
fn hold(ready: &mut BTreeMap<Ipv4Addr, VipReadiness>, why: &str) {
    for vip in ready.values_mut() {
        vip.announce = false;
        vip.reasons.insert(0, why.to_owned());
    }
}

fn entry_readiness(e: &Entry, reals: &RealStates, facts: &Facts, drained: bool) -> (bool, String) {
    let forward = e.spec.forward;
    let usable = e
        .spec
        .reals
        .iter()
        .filter(|r| usable::real(forward, r, &reals.get(&e.real_id(r)), facts).is_ok())
        .count();
    // The quorum as the last plan left it: with hysteresis it depends on
    // where the service comes from, not on the count alone.
    let quorum = e.programmed.quorum;
    let sorry = usable::sorry(e, quorum, facts);
    let sorry_serves = matches!(sorry, Some((_, SorryRole::Serving)));
    // The tunnel source is the node's, not a real's: without it no TUN
    // entry serves (its reals are programmed anyway, so nothing is
    // reprogrammed when the address appears).
    let no_source = forward == Forward::Tun && facts.tun_source.is_none();
    let serves = (quorum.met() || sorry_serves) && !drained && !no_source;

    let p = &e.policy;
    let mut why = format!(
        "service {} port {}: {usable} of {} reals usable, quorum {}{}",
        e.name,
        e.port(),
        e.spec.reals.len(),
        p.quorum,
        p.hysteresis_text(),
    );
    if !quorum.met() {
        why.push_str(&format!(", {}", quorum.text()));
        if let Some((s, role)) = sorry {
            why.push_str(&format!(": {}", role.describe(s)));
        }
    }
    if drained {
        why.push_str(", drained");
    }
    if no_source {
        why.push_str(", no tunnel source address yet");
    }
    (serves, why)
}

/// What the daemon must do about one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Announce { vip: Ipv4Addr, reason: String },
    Withdraw { vip: Ipv4Addr, reason: String },
}

impl Change {
    pub fn vip(&self) -> Ipv4Addr {
        match self {
            Change::Announce { vip, .. } | Change::Withdraw { vip, .. } => *vip,
        }
    }
}

/// Why a VIP that is announced but no longer configured is withdrawn.
pub const NO_SERVICE: &str = "no service uses it any more";

/// The announcements and withdrawals that bring `announced` (the VIPs
/// announced now) in line with `ready`. A VIP no service uses any more
/// (after a reload) is withdrawn too.
pub fn changes(
    ready: &BTreeMap<Ipv4Addr, VipReadiness>,
    announced: &BTreeSet<Ipv4Addr>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (&vip, r) in ready {
        match (r.announce, announced.contains(&vip)) {
            (true, false) => out.push(Change::Announce {
                vip,
                reason: r.reason(),
            }),
            (false, true) => out.push(Change::Withdraw {
                vip,
                reason: r.reason(),
            }),
            _ => {}
        }
    }
    for &vip in announced.iter().filter(|v| !ready.contains_key(v)) {
        out.push(Change::Withdraw {
            vip,
            reason: NO_SERVICE.into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarder::testing::{config, named, reachable, start, web, web_real, VIP};
    use crate::forwarder::{plan, Quorum};
    use std::time::{Duration, Instant};

    /// The forwarder's state for a config, every backend reachable, each
    /// entry planned once (as at load).
    struct State {
        entries: Vec<Entry>,
        reals: RealStates,
        facts: Facts,
        drained: BTreeSet<String>,
        now: Instant,
    }

    impl State {
        fn of(services: &str) -> State {
            let (entries, reals) = start(&config(services));
            let facts = reachable(&entries);
            let mut s = State {
                entries,
                reals,
                facts,
                drained: BTreeSet::new(),
                now: Instant::now(),
            };
            s.replan();
            s
        }

        /// Plans every entry again and keeps the quorum it reached, as the
        /// forwarder does on every change.
        fn replan(&mut self) {
            for e in &mut self.entries {
                let p = plan(e, &self.reals, &self.facts, self.now);
                e.programmed.quorum = p.quorum;
                e.programmed.sorry_serving = p.sorry.is_some();
            }
        }

        fn check(&mut self, real: u8, up: bool) {
            let slow = self.entries.iter().any(|e| !e.policy.slow_start.is_zero());
            self.reals.record(web_real(real), up, slow, self.now);
            self.replan();
        }

        fn vip(&self, vip: Ipv4Addr) -> VipReadiness {
            vip_readiness(&self.entries, &self.reals, &self.facts, &self.drained)[&vip].clone()
        }

        fn web(&self) -> VipReadiness {
            self.vip(VIP)
        }
    }

    #[test]
    fn announced_with_the_quorum_withdrawn_without() {
        let mut s = State::of(&web("quorum = 2", &[21, 22, 23]));
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: true,
                reasons: vec!["service web port 80: 3 of 3 reals usable, quorum 2".into()]
            }
        );
        s.check(21, false);
        assert!(s.web().announce, "2 of 3");
        s.check(22, false);
        assert_eq!(
            s.web().reasons,
            ["service web port 80: 1 of 3 reals usable, quorum 2, quorum lost"]
        );
        assert!(!s.web().announce);
        s.check(22, true);
        assert!(s.web().announce, "back at the quorum without hysteresis");
    }

    #[test]
    fn hysteresis_keeps_the_vip_through_flaps_around_the_quorum() {
        // quorum 2, hysteresis 1, three reals: announced with 3, 2 or 1
        // usable; withdrawn at 0; announced again only when all 3 are back.
        let mut s = State::of(&web("quorum = 2\nquorum_hysteresis = 1", &[21, 22, 23]));
        assert!(s.web().announce);
        s.check(21, false);
        s.check(22, false);
        assert!(s.web().announce, "1 usable");
        s.check(23, false);
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: false,
                reasons: vec!["service web port 80: 0 of 3 reals usable, quorum 2 (hysteresis 1: lost below 1, back at 3), quorum lost".into()]
            }
        );
        s.check(21, true);
        s.check(22, true);
        assert!(!s.web().announce, "2 usable: not back yet");
        s.check(23, true);
        assert!(s.web().announce);
    }

    #[test]
    fn at_start_the_quorum_needs_no_hysteresis() {
        let mut s = State::of(&web(
            "quorum = 2\nquorum_hysteresis = 1\n[service.health]\ncheck = \"tcp\"\nalpha = true",
            &[21, 22, 23],
        ));
        let r = s.web();
        assert!(!r.announce);
        assert_eq!(
            r.reasons,
            ["service web port 80: 0 of 3 reals usable, quorum 2 (hysteresis 1: lost below 1, back at 3), quorum not met yet"]
        );
        s.check(21, true);
        assert!(!s.web().announce, "alpha: one first pass is not the quorum");
        s.check(22, true);
        assert!(s.web().announce, "quorum, not quorum + hysteresis");
    }

    #[test]
    fn the_sorry_server_keeps_the_vip_announced() {
        let mut s = State::of(&web("sorry_server = \"10.0.1.29\"", &[21, 22]));
        assert_eq!(
            s.web().reasons,
            ["service web port 80: 2 of 2 reals usable, quorum 1"]
        );
        s.check(21, false);
        s.check(22, false);
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: true,
                reasons: vec!["service web port 80: 0 of 2 reals usable, quorum 1, quorum lost: sorry server 10.0.1.29 takes the new flows".into()]
            }
        );
        s.check(21, true);
        assert_eq!(
            s.web().reasons,
            ["service web port 80: 1 of 2 reals usable, quorum 1"]
        );
    }

    #[test]
    fn a_dr_sorry_server_without_its_mac_does_not_keep_the_vip() {
        let mut s = State::of(&web("sorry_server = \"10.0.1.29:80\"", &[21]));
        s.facts.macs.remove(&"10.0.1.29".parse().unwrap());
        s.check(21, false);
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: false,
                reasons: vec!["service web port 80: 0 of 1 reals usable, quorum 1, quorum lost: sorry server 10.0.1.29:80 unreachable (no MAC yet)".into()]
            }
        );
    }

    #[test]
    fn dr_reals_without_their_mac_are_not_usable() {
        let mut s = State::of(&web("", &[21, 22]));
        s.facts.macs.clear();
        s.replan();
        let r = s.web();
        assert!(!r.announce);
        assert_eq!(
            r.reasons,
            ["service web port 80: 0 of 2 reals usable, quorum 1, quorum lost"]
        );
        s.facts = reachable(&s.entries);
        s.replan();
        assert!(s.web().announce, "once the MACs are known");
    }

    #[test]
    fn tun_waits_for_a_tunnel_source() {
        let mut s = State::of(&web("forward = \"tun\"", &[21]));
        s.facts = Facts::default();
        s.replan();
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: false,
                reasons: vec!["service web port 80: 1 of 1 reals usable, quorum 1, no tunnel source address yet".into()]
            },
            "the reals need no MAC, the node a source"
        );
        s.facts.tun_source = Some(Ipv4Addr::new(10, 0, 0, 1));
        assert!(s.web().announce);
    }

    #[test]
    fn drained_services_do_not_keep_the_vip() {
        let mut s = State::of(&web("", &[21]));
        s.drained.insert("web".into());
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: false,
                reasons: vec!["service web port 80: 1 of 1 reals usable, quorum 1, drained".into()]
            }
        );
    }

    #[test]
    fn inhibit_on_failure_keeps_the_real_in_the_table_but_not_in_the_count() {
        let mut s = State::of(&web("inhibit_on_failure = true\nquorum = 2", &[21, 22]));
        s.check(21, false);
        assert_eq!(
            s.web(),
            VipReadiness {
                announce: false,
                reasons: vec![
                    "service web port 80: 1 of 2 reals usable, quorum 2, quorum lost".into()
                ]
            }
        );
    }

    #[test]
    fn a_real_in_slow_start_counts_from_its_first_ramp_step() {
        let mut s = State::of(&web("slow_start = \"60s\"", &[21]));
        s.check(21, false);
        assert!(!s.web().announce);
        s.check(21, true);
        let ramping = s.reals.get(&web_real(21)).ramp_since;
        assert_eq!(ramping, Some(s.now), "ramping");
        assert!(s.web().announce);
        s.now += Duration::from_secs(30);
        s.replan();
        assert!(s.web().announce);
    }

    #[test]
    fn quiescent_reals_do_not_count() {
        let s = State::of(&web("", &[21, 22]).replace(
            "address = \"10.0.1.22\"",
            "address = \"10.0.1.22\"\nweight = 0",
        ));
        assert_eq!(
            s.web().reasons,
            ["service web port 80: 1 of 2 reals usable, quorum 1"]
        );
    }

    #[test]
    fn any_entry_of_a_vip_keeps_it_and_every_entry_says_why() {
        let two_ports = web("[service.health]\ncheck = \"tcp\"\nport = 80", &[21])
            .replace("ports = [80]", "ports = [80, 443]");
        let other = named("dns", Ipv4Addr::new(192, 0, 2, 53), "", &[31]);
        let mut s = State::of(&format!("{two_ports}{other}"));
        s.drained.insert("web".into());
        let r = s.web();
        assert!(!r.announce);
        assert_eq!(
            r.reasons,
            [
                "service web port 80: 1 of 1 reals usable, quorum 1, drained",
                "service web port 443: 1 of 1 reals usable, quorum 1, drained"
            ]
        );
        assert!(s.vip(Ipv4Addr::new(192, 0, 2, 53)).announce, "another VIP");
        // Two services of one VIP: one is enough.
        let mut s = State::of(&format!(
            "{}{}",
            web("", &[21]),
            named("web2", VIP, "", &[22]).replace("ports = [80]", "ports = [81]")
        ));
        s.drained.insert("web".into());
        assert!(s.web().announce);
        assert_eq!(s.web().reasons.len(), 2);
    }

    #[test]
    fn changes_announce_withdraw_and_forget_only_what_differs() {
        let v = |n: u8| Ipv4Addr::new(192, 0, 2, n);
        let ready = |announce: bool| VipReadiness {
            announce,
            reasons: vec!["a".into(), "b".into()],
        };
        let wanted: BTreeMap<_, _> = [
            (v(1), ready(true)),
            (v(2), ready(false)),
            (v(3), ready(true)),
            (v(4), ready(false)),
        ]
        .into();
        // announced now: 2 (no longer ready), 3 (still), 5 (no service)
        let announced: BTreeSet<_> = [v(2), v(3), v(5)].into();
        assert_eq!(
            changes(&wanted, &announced),
            [
                Change::Announce {
                    vip: v(1),
                    reason: "a; b".into()
                },
                Change::Withdraw {
                    vip: v(2),
                    reason: "a; b".into()
                },
                Change::Withdraw {
                    vip: v(5),
                    reason: NO_SERVICE.into()
                },
            ]
        );
        assert!(changes(&wanted, &[v(1), v(3)].into()).is_empty());
    }

    #[test]
    fn quorum_state_is_read_not_recomputed() {
        // The readiness reads the quorum the last plan left: before any
        // plan, a service is starting.
        let (entries, reals) = start(&config(&web("", &[21])));
        let facts = reachable(&entries);
        assert_eq!(entries[0].programmed.quorum, Quorum::Starting);
        let r = &vip_readiness(&entries, &reals, &facts, &BTreeSet::new())[&VIP];
        assert!(!r.announce);
        assert!(r.reasons[0].ends_with("quorum not met yet"), "{r:?}");
    }
}
