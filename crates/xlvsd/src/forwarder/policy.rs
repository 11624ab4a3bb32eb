//! A service's failure settings: keepalived's `quorum`, `hysteresis`,
//! `inhibit_on_failure` and `sorry_server`, and slow start for reals that
//! come up. Copied from the config service to each of its entries.

use std::time::Duration;
use xlvs_config::Service;
use xlvs_dataplane::RealSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub quorum: u32,
    pub hysteresis: u32,
    pub inhibit: bool,
    pub slow_start: Duration,
    /// At weight 1 when it takes the new flows. Not health-checked (as in
    /// keepalived); under DR it needs its MAC like a real.
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

/// The address of a sorry server for logs: `ADDRESS` or `ADDRESS:PORT`.
pub fn sorry_text(s: &RealSpec) -> String {
    match s.port {
        0 => s.addr.to_string(),
        p => format!("{}:{p}", s.addr),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::config;
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn policy_from_the_config() {
        let services = r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]
forward = "nat"
quorum = 2
quorum_hysteresis = 1
sorry_server = "10.0.1.99:8080"
inhibit_on_failure = true
slow_start = "20s"
[[service.real]]
address = "10.0.1.21"
[[service.real]]
address = "10.0.1.22"
[[service.real]]
address = "10.0.1.23"
"#;
        let p = Policy::of(&config(services).services[0]);
        assert_eq!((p.quorum, p.hysteresis, p.inhibit), (2, 1, true));
        assert_eq!(p.slow_start, Duration::from_secs(20));
        let sorry = p.sorry.clone().unwrap();
        assert_eq!(
            (sorry.addr, sorry.port, sorry.weight, sorry.mac),
            (Ipv4Addr::new(10, 0, 1, 99), 8080, 1, [0; 6])
        );
        assert_eq!(sorry_text(&sorry), "10.0.1.99:8080");
        assert_eq!(
            sorry_text(&RealSpec { port: 0, ..sorry }),
            "10.0.1.99",
            "no port: the client's"
        );
        assert_eq!(
            p.hysteresis_text(),
            " (hysteresis 1: lost below 1, back at 3)"
        );
    }
}
