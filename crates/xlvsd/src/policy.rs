//! What a service does when its reals fail: keepalived's
//! `inhibit_on_failure`, quorum with `hysteresis` and `sorry_server`, and
//! slow start for reals that come up. Pure decisions from the reals'
//! states; `forwarder` keeps the states and programs what comes out.

use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_config::Service;
use xlvs_dataplane::RealSpec;

/// The failure settings of a config service, copied to each of its data
/// plane entries (one per port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub quorum: u32,
    pub hysteresis: u32,
    pub inhibit: bool,
    pub slow_start: Duration,
    /// Weight 1; its MAC is resolved like a real's (DR).
    pub sorry: Option<RealSpec>,
}

impl Policy {
    pub fn of(s: &Service) -> Policy {
        Policy {
            quorum: s.quorum,
            hysteresis: s.quorum_hysteresis,
            inhibit: s.inhibit_on_failure,
            slow_start: s.slow_start,
            sorry: s.sorry_server.map(|ss| RealSpec {
                addr: ss.address,
                port: ss.port.unwrap_or(0),
                weight: 1,
                mac: [0; 6],
            }),
        }
    }

    /// " (hysteresis H: lost below Q-H, back at Q+H)" when there is one.
    pub fn hysteresis_text(&self) -> String {
        match self.hysteresis {
            0 => String::new(),
            h => format!(
                " (hysteresis {h}: lost below {}, back at {})",
                self.quorum - h,
                self.quorum + h
            ),
        }
    }
}

/// Whether a service has its quorum of usable reals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quorum {
    /// Not met since the service was set up: `quorum` usable reals meet it
    /// (no hysteresis yet, there is no flapping to damp).
    #[default]
    Starting,
    Met,
    /// Lost once: it takes `quorum + hysteresis` usable reals to come back.
    Lost,
}

impl Quorum {
    /// The state once `usable` reals are counted. A met quorum is lost
    /// below `quorum - hysteresis`; a lost one comes back at `quorum +
    /// hysteresis` (keepalived's rule; the config keeps hysteresis below
    /// quorum).
    pub fn next(self, usable: u32, quorum: u32, hysteresis: u32) -> Quorum {
        match self {
            Quorum::Starting | Quorum::Lost => {
                let needed = match self {
                    Quorum::Starting => quorum,
                    _ => quorum.saturating_add(hysteresis),
                };
                if usable >= needed {
                    Quorum::Met
                } else {
                    self
                }
            }
            Quorum::Met if usable.saturating_add(hysteresis) < quorum => Quorum::Lost,
            Quorum::Met => Quorum::Met,
        }
    }

    pub fn met(self) -> bool {
        self == Quorum::Met
    }

    /// For status lines: "" when met.
    pub fn text(self) -> &'static str {
        match self {
            Quorum::Met => "",
            Quorum::Starting => "quorum not met yet",
            Quorum::Lost => "quorum lost",
        }
    }
}

/// How a real is programmed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealState {
    /// Takes new flows at this weight (slow start applied; 0 when its
    /// configured weight is 0).
    Up(u32),
    /// In the table at weight 0: keeps its connections, gets no new ones
    /// (failing with `inhibit_on_failure`, waiting for its first check
    /// with `alpha`, no MAC yet).
    Quiescent,
    /// Out of the table: failing its check; its connections are scheduled
    /// again.
    Out,
}

impl RealState {
    /// Counts towards the quorum.
    pub fn usable(self) -> bool {
        matches!(self, RealState::Up(w) if w > 0)
    }
}

/// The backends to program. `sorry` is the sorry server when it is to take
/// the new flows (quorum not met): then it alone has a weight, and the
/// reals that stay in the table keep their connections at weight 0.
pub fn backends(
    reals: &[RealSpec],
    states: &[RealState],
    sorry: Option<&RealSpec>,
) -> Vec<RealSpec> {
    let mut out: Vec<RealSpec> = reals
        .iter()
        .zip(states)
        .filter_map(|(r, state)| {
            let weight = match (state, sorry) {
                (RealState::Out, _) => return None,
                (RealState::Up(w), None) => *w,
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

/// Whether DR can reach a backend yet (it needs the MAC).
pub fn has_mac(r: &RealSpec) -> bool {
    r.mac != [0; 6]
}

/// The address of a sorry server for logs: `ADDRESS` or `ADDRESS:PORT`.
pub fn sorry_text(s: &RealSpec) -> String {
    match s.port {
        0 => s.addr.to_string(),
        p => format!("{}:{p}", s.addr),
    }
}

/// A real in logs and listings of one data plane entry.
pub fn real_key(name: &str, r: &RealSpec) -> (String, Ipv4Addr, u16) {
    (name.to_string(), r.addr, r.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(last: u8, weight: u32) -> RealSpec {
        RealSpec {
            addr: Ipv4Addr::new(10, 0, 1, last),
            port: 0,
            weight,
            mac: [2, 0, 0, 0, 0, last],
        }
    }

    #[test]
    fn quorum_without_hysteresis_follows_the_count() {
        let mut q = Quorum::default();
        assert_eq!(q.next(0, 1, 0), Quorum::Starting);
        q = q.next(1, 1, 0);
        assert_eq!(q, Quorum::Met);
        q = q.next(0, 1, 0);
        assert_eq!(q, Quorum::Lost);
        assert_eq!(q.next(1, 1, 0), Quorum::Met);
    }

    #[test]
    fn hysteresis_delays_both_the_loss_and_the_return() {
        // quorum 2, hysteresis 1, three reals: lost below 1, back at 3.
        let (quorum, h) = (2, 1);
        let mut q = Quorum::Starting.next(2, quorum, h);
        assert!(q.met(), "a starting service needs only the quorum");
        for usable in [3, 2, 1] {
            q = q.next(usable, quorum, h);
            assert!(q.met(), "{usable} usable: still met");
        }
        q = q.next(0, quorum, h);
        assert_eq!(q, Quorum::Lost);
        for usable in [1, 2] {
            q = q.next(usable, quorum, h);
            assert_eq!(q, Quorum::Lost, "{usable} usable: not back yet");
        }
        q = q.next(3, quorum, h);
        assert!(q.met());
    }

    #[test]
    fn starting_waits_for_the_quorum_without_hysteresis() {
        let q = Quorum::Starting.next(1, 2, 1);
        assert_eq!(q, Quorum::Starting);
        assert!(!q.met());
        assert_eq!(q.next(2, 2, 1), Quorum::Met);
    }

    #[test]
    fn reals_are_removed_quiesced_or_weighted() {
        let reals = [real(21, 5), real(22, 5), real(23, 5)];
        let states = [RealState::Up(2), RealState::Quiescent, RealState::Out];
        let got = backends(&reals, &states, None);
        let w: Vec<(u8, u32)> = got.iter().map(|r| (r.addr.octets()[3], r.weight)).collect();
        assert_eq!(w, [(21, 2), (22, 0)]);
        assert!(states[0].usable() && !states[1].usable() && !states[2].usable());
        assert!(!RealState::Up(0).usable(), "weight 0 takes no flows");
    }

    #[test]
    fn the_sorry_server_takes_every_new_flow_and_reals_keep_theirs() {
        let reals = [real(21, 5), real(22, 5), real(23, 5)];
        let states = [RealState::Up(5), RealState::Quiescent, RealState::Out];
        let sorry = real(99, 1);
        let got = backends(&reals, &states, Some(&sorry));
        let w: Vec<(u8, u32)> = got.iter().map(|r| (r.addr.octets()[3], r.weight)).collect();
        assert_eq!(w, [(21, 0), (22, 0), (99, 1)]);
        // A sorry server at a real's address and port replaces it.
        let sorry = real(21, 1);
        let got = backends(&reals, &states, Some(&sorry));
        let w: Vec<(u8, u32)> = got.iter().map(|r| (r.addr.octets()[3], r.weight)).collect();
        assert_eq!(w, [(22, 0), (21, 1)]);
    }

    #[test]
    fn policy_from_the_config() {
        let services = r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]
quorum = 2
quorum_hysteresis = 1
sorry_server = "10.0.1.99"
inhibit_on_failure = true
slow_start = "20s"
[[service.real]]
address = "10.0.1.21"
[[service.real]]
address = "10.0.1.22"
[[service.real]]
address = "10.0.1.23"
"#;
        let text = format!("{}{services}", xlvs_config::EXAMPLE_NODE);
        let c = xlvs_config::parse(&text, "t.toml").unwrap();
        let p = Policy::of(&c.services[0]);
        assert_eq!((p.quorum, p.hysteresis, p.inhibit), (2, 1, true));
        assert_eq!(p.slow_start, Duration::from_secs(20));
        let sorry = p.sorry.clone().unwrap();
        assert_eq!(
            (sorry.addr, sorry.port, sorry.weight),
            (Ipv4Addr::new(10, 0, 1, 99), 0, 1)
        );
        assert!(!has_mac(&sorry));
        assert_eq!(sorry_text(&sorry), "10.0.1.99");
        assert_eq!(
            p.hysteresis_text(),
            " (hysteresis 1: lost below 1, back at 3)"
        );
    }
}
