//! What to program for an entry now: each real in the table at the weight
//! new flows see, at weight 0 (keeping its connections), or out; the
//! sorry server alone with a weight while the quorum is not met. A pure
//! function of the entry, the reals' states and the host's facts; the
//! forwarder writes the result.

use super::entry::Entry;
use super::facts::Facts;
use super::quorum::Quorum;
use super::real_state::{RealState, RealStates};
use super::usable::{self, SorryRole, Unusable};
use std::time::Instant;
use xlvs_config::Forward;
use xlvs_dataplane::{RealSpec, ServiceSpec};

/// Where a real sits in the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Takes new flows at this weight (slow start applied).
    Weighted(u32),
    /// In the table at weight 0: keeps its connections, gets no new ones
    /// (failing with `inhibit_on_failure`, waiting for its first check
    /// with `alpha`, weight 0, no MAC yet).
    Quiescent,
    /// Out of the table: failing its check; its connections are scheduled
    /// again.
    Out,
}

impl Placement {
    /// Counts towards the quorum.
    pub fn usable(self) -> bool {
        matches!(self, Placement::Weighted(w) if w > 0)
    }
}

/// An entry as it is to be programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The backends with the weights new flows see; MACs filled in (DR).
    pub spec: ServiceSpec,
    /// The quorum after counting the usable reals.
    pub quorum: Quorum,
    pub usable: u32,
    /// The sorry server, when it takes the new flows.
    pub sorry: Option<RealSpec>,
}

/// The plan for `entry` at `now`.
pub fn plan(entry: &Entry, reals: &RealStates, facts: &Facts, now: Instant) -> Plan {
    let forward = entry.spec.forward;
    // Only DR sends to MACs; the others find their next hop in the FIB.
    let with_mac = |r: &RealSpec| RealSpec {
        mac: match forward {
            Forward::Dr => facts.mac(r.addr).unwrap_or([0; 6]),
            _ => r.mac,
        },
        ..r.clone()
    };
    let placements: Vec<Placement> = entry
        .spec
        .reals
        .iter()
        .map(|r| placement(entry, r, &reals.get(&entry.real_id(r)), facts, now))
        .collect();
    let usable = placements.iter().filter(|p| p.usable()).count() as u32;
    let p = &entry.policy;
    let quorum = entry.programmed.quorum.next(usable, p.quorum, p.hysteresis);
    let sorry = match usable::sorry(entry, quorum, facts) {
        Some((s, SorryRole::Serving)) => Some(with_mac(s)),
        _ => None,
    };
    let reals: Vec<RealSpec> = entry.spec.reals.iter().map(with_mac).collect();
    let spec = ServiceSpec {
        reals: backends(&reals, &placements, sorry.as_ref()),
        ..entry.spec.clone()
    };
    Plan {
        spec,
        quorum,
        usable,
        sorry,
    }
}

/// Where real `r` of `entry` goes.
fn placement(
    entry: &Entry,
    r: &RealSpec,
    state: &RealState,
    facts: &Facts,
    now: Instant,
) -> Placement {
    match usable::real(entry.spec.forward, r, state, facts) {
        Ok(()) => Placement::Weighted(state.weight(r.weight, entry.policy.slow_start, now)),
        Err(Unusable::Failing) if !entry.policy.inhibit => Placement::Out,
        Err(_) => Placement::Quiescent,
    }
}

/// The backends to program. `sorry` is the sorry server when it is to take
/// the new flows (quorum not met): then it alone has a weight, and the
/// reals that stay in the table keep their connections at weight 0.
fn backends(
    reals: &[RealSpec],
    placements: &[Placement],
    sorry: Option<&RealSpec>,
) -> Vec<RealSpec> {
    let mut out: Vec<RealSpec> = reals
        .iter()
        .zip(placements)
        .filter_map(|(r, placement)| {
            let weight = match (placement, sorry) {
                (Placement::Out, _) => return None,
                (Placement::Weighted(w), None) => *w,
                _ => 0,
            };
            Some(RealSpec {
                weight,
                ..r.clone()
            })
        })
        .collect();
    if let Some(s) = sorry {
        // A sorry server that is also a real takes that real's place.
        out.retain(|r| (r.addr, r.port) != (s.addr, s.port));
        out.push(s.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{config, reachable, start, web, web_real};
    use super::*;
    use std::time::Duration;

    /// (last octet, weight) of each programmed backend.
    fn weights(p: &Plan) -> Vec<(u8, u32)> {
        p.spec
            .reals
            .iter()
            .map(|r| (r.addr.octets()[3], r.weight))
            .collect()
    }

    /// Plans the entry, then keeps the quorum it reached, as the forwarder
    /// does after programming it.
    fn step(e: &mut Entry, reals: &RealStates, facts: &Facts, now: Instant) -> Plan {
        let p = plan(e, reals, facts, now);
        e.programmed.quorum = p.quorum;
        p
    }

    #[test]
    fn every_real_up_takes_new_flows_at_its_weight() {
        let c = config(&web("", &[21, 22]));
        let (mut e, reals) = start(&c);
        let facts = reachable(&e);
        let p = step(&mut e[0], &reals, &facts, Instant::now());
        assert_eq!(weights(&p), [(21, 1), (22, 1)]);
        assert_eq!((p.usable, p.quorum, p.sorry), (2, Quorum::Met, None));
        assert_eq!(p.spec.reals[0].mac, [2, 0, 0, 0, 0, 21], "DR: the MAC");
    }

    #[test]
    fn a_failing_real_goes_out_or_with_inhibit_on_failure_stays_at_weight_0() {
        let now = Instant::now();
        for (inhibit, want) in [(false, vec![(22, 1)]), (true, vec![(21, 0), (22, 1)])] {
            let c = config(&web(&format!("inhibit_on_failure = {inhibit}"), &[21, 22]));
            let (mut e, mut reals) = start(&c);
            reals.record(web_real(21), false, false, now);
            let facts = reachable(&e);
            let p = step(&mut e[0], &reals, &facts, now);
            assert_eq!(weights(&p), want, "inhibit_on_failure = {inhibit}");
            assert_eq!(p.usable, 1);
        }
    }

    #[test]
    fn alpha_reals_wait_at_weight_0_for_their_first_pass() {
        let c = config(&web(
            "[service.health]\ncheck = \"tcp\"\nalpha = true",
            &[21, 22],
        ));
        let (mut e, mut reals) = start(&c);
        let facts = reachable(&e);
        let now = Instant::now();
        let p = step(&mut e[0], &reals, &facts, now);
        assert_eq!(weights(&p), [(21, 0), (22, 0)], "kept, not removed");
        assert_eq!((p.usable, p.quorum), (0, Quorum::Starting));
        reals.record(web_real(21), true, false, now);
        let p = step(&mut e[0], &reals, &facts, now);
        assert_eq!(weights(&p), [(21, 1), (22, 0)], "the first pass is enough");
        assert_eq!(p.quorum, Quorum::Met);
    }

    #[test]
    fn slow_start_ramps_a_real_that_comes_back_from_1_to_its_weight() {
        let c = config(&web("slow_start = \"10s\"", &[21]).replace(
            "address = \"10.0.1.21\"",
            "address = \"10.0.1.21\"\nweight = 10",
        ));
        let (mut e, mut reals) = start(&c);
        let facts = reachable(&e);
        let t0 = Instant::now();
        let p = step(&mut e[0], &reals, &facts, t0);
        assert_eq!(weights(&p), [(21, 10)], "up at start: full weight at once");
        reals.record(web_real(21), false, true, t0);
        reals.record(web_real(21), true, true, t0);
        let at = |s: u64| weights(&plan(&e[0], &reals, &facts, t0 + Duration::from_secs(s)));
        assert_eq!(at(0), [(21, 1)]);
        assert_eq!(at(5), [(21, 5)]);
        assert_eq!(at(10), [(21, 10)]);
        assert_eq!(plan(&e[0], &reals, &facts, t0).usable, 1, "ramping counts");
    }

    #[test]
    fn a_dr_real_without_a_mac_stays_at_weight_0() {
        let c = config(&web("", &[21, 22]));
        let (mut e, reals) = start(&c);
        let mut facts = reachable(&e);
        facts.macs.remove(&web_real(22).addr);
        let p = step(&mut e[0], &reals, &facts, Instant::now());
        assert_eq!(weights(&p), [(21, 1), (22, 0)]);
        assert_eq!(p.usable, 1);
    }

    #[test]
    fn a_tun_real_needs_no_mac() {
        let c = config(&web("forward = \"tun\"", &[21]));
        let (mut e, reals) = start(&c);
        let p = step(&mut e[0], &reals, &Facts::default(), Instant::now());
        assert_eq!(weights(&p), [(21, 1)]);
        assert_eq!(p.spec.reals[0].mac, [0; 6]);
    }

    #[test]
    fn the_sorry_server_alone_takes_new_flows_while_the_quorum_is_lost() {
        let c = config(&web(
            "sorry_server = \"10.0.1.29\"\ninhibit_on_failure = true",
            &[21, 22],
        ));
        let (mut e, mut reals) = start(&c);
        let facts = reachable(&e);
        let now = Instant::now();
        step(&mut e[0], &reals, &facts, now);
        reals.record(web_real(21), false, false, now);
        reals.record(web_real(22), false, false, now);
        let p = step(&mut e[0], &reals, &facts, now);
        assert_eq!(weights(&p), [(21, 0), (22, 0), (29, 1)]);
        assert_eq!(p.quorum, Quorum::Lost);
        assert_eq!(p.sorry.as_ref().map(|s| s.mac), Some([2, 0, 0, 0, 0, 29]));
        reals.record(web_real(21), true, false, now);
        let p = step(&mut e[0], &reals, &facts, now);
        assert_eq!(
            weights(&p),
            [(21, 1), (22, 0)],
            "it stands by, out of the table"
        );
        assert_eq!(p.sorry, None);
    }

    #[test]
    fn a_sorry_server_at_a_reals_address_takes_its_place() {
        let c = config(&web("sorry_server = \"10.0.1.22\"", &[21, 22]));
        let (mut e, mut reals) = start(&c);
        let facts = reachable(&e);
        let now = Instant::now();
        reals.record(web_real(21), false, false, now);
        reals.record(web_real(22), false, false, now);
        let p = step(&mut e[0], &reals, &facts, now);
        assert_eq!(weights(&p), [(22, 1)]);
    }

    #[test]
    fn a_dr_sorry_server_without_a_mac_takes_nothing() {
        let c = config(&web("sorry_server = \"10.0.1.29\"", &[21]));
        let (mut e, mut reals) = start(&c);
        let mut facts = reachable(&e);
        facts.macs.remove(&"10.0.1.29".parse().unwrap());
        reals.record(web_real(21), false, false, Instant::now());
        let p = step(&mut e[0], &reals, &facts, Instant::now());
        assert_eq!(weights(&p), []);
        assert_eq!(p.sorry, None);
    }

    #[test]
    fn the_quorum_keeps_its_hysteresis_from_plan_to_plan() {
        // quorum 2, hysteresis 1, three reals: lost below 1, back at 3.
        let c = config(&web("quorum = 2\nquorum_hysteresis = 1", &[21, 22, 23]));
        let (mut e, mut reals) = start(&c);
        let facts = reachable(&e);
        let now = Instant::now();
        let mut quorum = |reals: &RealStates| step(&mut e[0], reals, &facts, now).quorum;
        assert_eq!(quorum(&reals), Quorum::Met);
        for n in [21, 22] {
            reals.record(web_real(n), false, false, now);
        }
        assert_eq!(quorum(&reals), Quorum::Met, "1 usable: still met");
        reals.record(web_real(23), false, false, now);
        assert_eq!(quorum(&reals), Quorum::Lost);
        for n in [21, 22] {
            reals.record(web_real(n), true, false, now);
        }
        assert_eq!(quorum(&reals), Quorum::Lost, "2 usable: not back yet");
        reals.record(web_real(23), true, false, now);
        assert_eq!(quorum(&reals), Quorum::Met);
    }

    #[test]
    fn placements_count_for_the_quorum_only_with_a_weight() {
        assert!(Placement::Weighted(2).usable());
        assert!(!Placement::Weighted(0).usable());
        assert!(!Placement::Quiescent.usable());
        assert!(!Placement::Out.usable());
    }
}
