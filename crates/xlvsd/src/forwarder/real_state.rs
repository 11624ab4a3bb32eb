//! What the health checks said about each real, keyed by a [`RealId`]
//! that survives reloads (its service's name, address and port, not a
//! position): passing, failing, or not checked yet (`alpha`), and since
//! when it ramps up to its weight (slow start).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use xlvs_config::{NodeConfig, Service};

/// A real of a config service. Every data plane entry of the service (one
/// per port) shares its state: a real is checked once per service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RealId {
    pub service: String,
    pub addr: Ipv4Addr,
    /// 0: the port the client connected to.
    pub port: u16,
}

impl RealId {
    pub fn new(service: &str, addr: Ipv4Addr, port: u16) -> RealId {
        RealId {
            service: service.to_string(),
            addr,
            port,
        }
    }
}

/// The health checks' verdict on a real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Check {
    /// `alpha`: not trusted before its first passing check.
    Awaiting,
    /// Passing, or not checked at all (`check = "none"`).
    #[default]
    Passing,
    Failing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RealState {
    pub check: Check,
    /// Came up then, and ramps up to its weight (slow start).
    pub ramp_since: Option<Instant>,
}

impl RealState {
    /// The weight new flows see at `now`: the configured one, or less
    /// while ramping.
    pub fn weight(&self, configured: u32, slow_start: Duration, now: Instant) -> u32 {
        match self.ramp_since {
            Some(since) => xlvs_health::slow_start_weight(
                configured,
                now.saturating_duration_since(since),
                slow_start,
            ),
            None => configured,
        }
    }
}

/// The state of every real.
#[derive(Debug, Default)]
pub struct RealStates {
    states: BTreeMap<RealId, RealState>,
    /// When each verdict last changed (none: as it was when xlvsd started
    /// or the real was added), for `xlvsadm health`.
    changed: BTreeMap<RealId, Instant>,
}

/// Every real of a config, with its service.
fn config_reals(config: &NodeConfig) -> impl Iterator<Item = (RealId, &Service)> {
    config.services.iter().flat_map(|s| {
        s.reals
            .iter()
            .map(move |r| (RealId::new(&s.name, r.address, r.port.unwrap_or(0)), s))
    })
}

impl RealStates {
    /// When xlvsd starts: `alpha` reals wait for their first passing check,
    /// the others pass. Nothing ramps: reals up when xlvsd (re)starts get
    /// their full weight at once, or a restart would move flows.
    pub fn at_start(config: &NodeConfig) -> RealStates {
        let states = config_reals(config)
            .map(|(id, s)| {
                let check = if s.health.alpha {
                    Check::Awaiting
                } else {
                    Check::Passing
                };
                let state = RealState {
                    check,
                    ramp_since: None,
                };
                (id, state)
            })
            .collect();
        RealStates {
            states,
            changed: BTreeMap::new(),
        }
    }

    /// A real's state; one nobody reported on passes.
    pub fn get(&self, id: &RealId) -> RealState {
        self.states.get(id).copied().unwrap_or_default()
    }

    /// A check result. Returns whether the verdict changed: a real that
    /// comes up (or passes its first check) starts ramping if `slow_start`.
    pub fn record(&mut self, id: RealId, up: bool, slow_start: bool, now: Instant) -> bool {
        let state = self.states.entry(id.clone()).or_default();
        let check = if up { Check::Passing } else { Check::Failing };
        if state.check == check {
            return false;
        }
        *state = RealState {
            check,
            ramp_since: (up && slow_start).then_some(now),
        };
        self.changed.insert(id, now);
        true
    }

    /// When the real's verdict last changed; `None` if it has not since
    /// xlvsd started or the real was added.
    pub fn changed_at(&self, id: &RealId) -> Option<Instant> {
        self.changed.get(id).copied()
    }

    /// The states for a reloaded config: reals that stay keep theirs, the
    /// state of reals that are gone is dropped (they start afresh if they
    /// come back, as their checks do), and new reals start like their
    /// checks: waiting for the first pass with `alpha`, else up and, with
    /// slow start, ramping from `now`.
    pub fn reload(&mut self, old: &NodeConfig, new: &NodeConfig, now: Instant) {
        let before: BTreeSet<RealId> = config_reals(old).map(|(id, _)| id).collect();
        let after: BTreeSet<RealId> = config_reals(new).map(|(id, _)| id).collect();
        self.states.retain(|id, _| after.contains(id));
        self.changed.retain(|id, _| after.contains(id));
        for (id, s) in config_reals(new).filter(|(id, _)| !before.contains(id)) {
            let state = if s.health.alpha {
                RealState {
                    check: Check::Awaiting,
                    ramp_since: None,
                }
            } else {
                RealState {
                    check: Check::Passing,
                    ramp_since: (!s.slow_start.is_zero()).then_some(now),
                }
            };
            self.states.insert(id, state);
        }
    }

    /// Ends the ramps that reached their full weight at `now`
    /// (`slow_start` gives a service's ramp time; a service that is gone
    /// has none, and its ramps end).
    pub fn end_ramps(&mut self, now: Instant, slow_start: impl Fn(&str) -> Option<Duration>) {
        for (id, state) in &mut self.states {
            let Some(since) = state.ramp_since else {
                continue;
            };
            let ramping = slow_start(&id.service)
                .is_some_and(|ramp| now.saturating_duration_since(since) < ramp);
            if !ramping {
                state.ramp_since = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, web_real as id};
    use super::*;

    /// Service web with these reals (10.0.1.N), `alpha` and `slow_start`.
    fn config(alpha: bool, slow_start: &str, reals: &[u8]) -> NodeConfig {
        let settings = format!(
            "slow_start = \"{slow_start}\"\n[service.health]\ncheck = \"tcp\"\nalpha = {alpha}"
        );
        testing::config(&testing::web(&settings, reals))
    }

    #[test]
    fn at_start_alpha_reals_wait_and_nothing_ramps() {
        let s = RealStates::at_start(&config(true, "10s", &[21]));
        assert_eq!(s.get(&id(21)).check, Check::Awaiting);
        assert_eq!(s.get(&id(21)).ramp_since, None);
        let s = RealStates::at_start(&config(false, "10s", &[21]));
        assert_eq!(s.get(&id(21)), RealState::default());
    }

    #[test]
    fn verdicts_change_only_on_a_change_and_coming_up_ramps() {
        let now = Instant::now();
        let mut s = RealStates::at_start(&config(false, "10s", &[21]));
        assert!(!s.record(id(21), true, true, now), "already passing");
        assert_eq!(s.changed_at(&id(21)), None, "as at start");
        assert!(s.record(id(21), false, true, now));
        assert!(!s.record(id(21), false, true, now));
        assert_eq!(s.changed_at(&id(21)), Some(now));
        assert_eq!(s.get(&id(21)).check, Check::Failing);
        let later = now + Duration::from_secs(1);
        assert!(s.record(id(21), true, true, later));
        assert_eq!(s.get(&id(21)).ramp_since, Some(later));
        assert!(s.record(id(21), false, true, later));
        assert_eq!(s.get(&id(21)).ramp_since, None, "a ramp ends when it fails");
        assert!(s.record(id(21), true, false, later));
        assert_eq!(s.get(&id(21)).ramp_since, None, "no slow start, no ramp");
    }

    #[test]
    fn the_first_pass_of_an_alpha_real_is_a_change() {
        let now = Instant::now();
        let mut s = RealStates::at_start(&config(true, "0s", &[21, 22]));
        assert!(s.record(id(21), true, false, now));
        assert!(s.record(id(22), false, false, now), "so is a first failure");
        assert_eq!(s.get(&id(21)).check, Check::Passing);
        assert_eq!(s.get(&id(22)).check, Check::Failing);
    }

    #[test]
    fn a_ramp_weighs_from_one_to_the_weight_and_then_ends() {
        let now = Instant::now();
        let ramp = Duration::from_secs(10);
        let mut s = RealStates::at_start(&config(false, "10s", &[21]));
        s.record(id(21), false, true, now);
        s.record(id(21), true, true, now);
        let state = s.get(&id(21));
        assert_eq!(state.weight(10, ramp, now), 1);
        assert_eq!(state.weight(10, ramp, now + Duration::from_secs(5)), 5);
        assert_eq!(state.weight(10, ramp, now + ramp), 10);
        s.end_ramps(now + Duration::from_secs(9), |_| Some(ramp));
        assert!(s.get(&id(21)).ramp_since.is_some(), "still ramping");
        s.end_ramps(now + ramp, |_| Some(ramp));
        assert_eq!(s.get(&id(21)).ramp_since, None);
        s.record(id(21), false, true, now);
        s.record(id(21), true, true, now);
        s.end_ramps(now, |_| None);
        assert_eq!(s.get(&id(21)).ramp_since, None, "the service is gone");
    }

    #[test]
    fn a_reload_keeps_states_drops_gone_reals_and_starts_new_ones() {
        let now = Instant::now();
        let old = config(false, "10s", &[21, 22]);
        let mut s = RealStates::at_start(&old);
        s.record(id(21), false, true, now);
        s.record(id(22), false, true, now);
        let new = config(false, "10s", &[21, 23]);
        s.reload(&old, &new, now);
        assert_eq!(s.get(&id(21)).check, Check::Failing, "kept");
        assert_eq!(s.get(&id(22)), RealState::default(), "dropped");
        assert_eq!(
            s.get(&id(23)),
            RealState {
                check: Check::Passing,
                ramp_since: Some(now)
            },
            "new: ramps"
        );
        let alpha = config(true, "10s", &[21, 24]);
        s.reload(&new, &alpha, now);
        assert_eq!(s.get(&id(24)).check, Check::Awaiting);
    }
}
