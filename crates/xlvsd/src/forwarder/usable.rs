//! Whether a backend can take new flows now, and if not, why: the rules
//! a real must pass to count towards its service's quorum, and what the
//! sorry server does. Used by the plan (what to program), the VIP
//! readiness (readiness.rs) and `xlvsadm health` alike.

use super::entry::Entry;
use super::facts::Facts;
use super::policy::sorry_text;
use super::quorum::Quorum;
use super::real_state::{Check, RealState};
use std::net::Ipv4Addr;
use xlvs_config::Forward;
use xlvs_dataplane::RealSpec;

/// Why a backend takes no new flows; the text is what `xlvsadm health`
/// shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("waiting for its first passing check (alpha)")]
    Awaiting,
    #[error("failing its health check")]
    Failing,
    #[error("weight 0")]
    WeightZero,
    /// DR rewrites the destination MAC: until the neighbour table has the
    /// backend's, it cannot be sent to.
    #[error("no MAC yet")]
    NoMac,
}

/// Whether real `r` of an entry takes new flows (and counts towards the
/// quorum): it passes its check, has a weight, and can be sent to.
pub fn real(
    forward: Forward,
    r: &RealSpec,
    state: &RealState,
    facts: &Facts,
) -> Result<(), Unusable> {
    match state.check {
        Check::Awaiting => return Err(Unusable::Awaiting),
        Check::Failing => return Err(Unusable::Failing),
        Check::Passing => {}
    }
    if r.weight == 0 {
        return Err(Unusable::WeightZero);
    }
    reachable(forward, r.addr, facts)
}

/// Whether the data plane can send to a backend yet: under DR it needs
/// its MAC; the other methods find their next hop in the kernel's FIB.
pub fn reachable(forward: Forward, addr: Ipv4Addr, facts: &Facts) -> Result<(), Unusable> {
    match forward {
        Forward::Dr if facts.mac(addr).is_none() => Err(Unusable::NoMac),
        _ => Ok(()),
    }
}

/// What a sorry server does. It is not health-checked (as in keepalived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SorryRole {
    /// The quorum is not met: it takes every new flow.
    Serving,
    /// The quorum is met: out of the data plane, ready.
    StandingBy,
    /// It could not take the new flows if it had to.
    Unreachable(Unusable),
}

impl SorryRole {
    /// For status lines and `xlvsadm health`.
    pub fn describe(self, sorry: &RealSpec) -> String {
        let addr = sorry_text(sorry);
        match self {
            SorryRole::Serving => format!("sorry server {addr} takes the new flows"),
            SorryRole::StandingBy => format!("sorry server {addr} stands by"),
            SorryRole::Unreachable(why) => format!("sorry server {addr} unreachable ({why})"),
        }
    }
}

/// The entry's sorry server, if it has one, and its role under `quorum`.
pub fn sorry<'a>(
    entry: &'a Entry,
    quorum: Quorum,
    facts: &Facts,
) -> Option<(&'a RealSpec, SorryRole)> {
    let s = entry.policy.sorry.as_ref()?;
    let role = match reachable(entry.spec.forward, s.addr, facts) {
        Err(why) => SorryRole::Unreachable(why),
        Ok(()) if quorum.met() => SorryRole::StandingBy,
        Ok(()) => SorryRole::Serving,
    };
    Some((s, role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn r(weight: u32) -> RealSpec {
        RealSpec {
            addr: Ipv4Addr::new(10, 0, 1, 21),
            port: 0,
            weight,
            mac: [0; 6],
        }
    }

    fn state(check: Check) -> RealState {
        RealState {
            check,
            ramp_since: None,
        }
    }

    fn known() -> Facts {
        let mut f = Facts::default();
        f.macs
            .insert(Ipv4Addr::new(10, 0, 1, 21), [2, 0, 0, 0, 0, 21]);
        f
    }

    #[test]
    fn a_real_passes_has_a_weight_and_can_be_reached() {
        let passing = state(Check::Passing);
        assert_eq!(real(Forward::Dr, &r(5), &passing, &known()), Ok(()));
        assert_eq!(
            real(Forward::Dr, &r(5), &state(Check::Awaiting), &known()),
            Err(Unusable::Awaiting)
        );
        assert_eq!(
            real(Forward::Dr, &r(5), &state(Check::Failing), &known()),
            Err(Unusable::Failing)
        );
        assert_eq!(
            real(Forward::Dr, &r(0), &passing, &known()),
            Err(Unusable::WeightZero)
        );
        let ramping = RealState {
            ramp_since: Some(Instant::now()),
            ..passing
        };
        assert_eq!(real(Forward::Dr, &r(5), &ramping, &known()), Ok(()));
    }

    #[test]
    fn only_dr_needs_the_mac() {
        let none = Facts::default();
        let passing = state(Check::Passing);
        assert_eq!(
            real(Forward::Dr, &r(5), &passing, &none),
            Err(Unusable::NoMac)
        );
        for forward in [Forward::Tun, Forward::Nat, Forward::Fullnat] {
            assert_eq!(real(forward, &r(5), &passing, &none), Ok(()), "{forward}");
        }
    }

    #[test]
    fn reasons_read_as_xlvsadm_health_shows_them() {
        let texts: Vec<String> = [
            Unusable::Awaiting,
            Unusable::Failing,
            Unusable::WeightZero,
            Unusable::NoMac,
        ]
        .iter()
        .map(|u| u.to_string())
        .collect();
        assert_eq!(
            texts,
            [
                "waiting for its first passing check (alpha)",
                "failing its health check",
                "weight 0",
                "no MAC yet"
            ]
        );
        let s = r(1);
        assert_eq!(
            SorryRole::Serving.describe(&s),
            "sorry server 10.0.1.21 takes the new flows"
        );
        assert_eq!(
            SorryRole::StandingBy.describe(&s),
            "sorry server 10.0.1.21 stands by"
        );
        assert_eq!(
            SorryRole::Unreachable(Unusable::NoMac).describe(&s),
            "sorry server 10.0.1.21 unreachable (no MAC yet)"
        );
    }
}
