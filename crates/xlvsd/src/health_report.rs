//! `xlvsadm health`: every real of every service port, whether it takes
//! new flows now, at which weight, and why not; and each sorry server,
//! whether it takes the new flows. Read from the forwarder's state.

use crate::forwarder::usable::{self, SorryRole};
use crate::forwarder::{of_service, Check, Entry, Facts, Forwarder, RealStates, UnknownService};
use std::time::Instant;
use xlvs_api::reply::HealthRow;

/// The rows for the named service, or every service.
pub fn of(f: &Forwarder, service: Option<&str>) -> Result<Vec<HealthRow>, UnknownService> {
    rows(f.entries(), f.reals(), f.facts(), service, Instant::now())
}

pub fn rows(
    entries: &[Entry],
    reals: &RealStates,
    facts: &Facts,
    service: Option<&str>,
    now: Instant,
) -> Result<Vec<HealthRow>, UnknownService> {
    let mut out = Vec::new();
    for e in of_service(entries, service)? {
        let quorum = e.programmed.quorum;
        let sorry = usable::sorry(e, quorum, facts);
        let sorry_serves = matches!(sorry, Some((_, SorryRole::Serving)));
        for r in &e.spec.reals {
            let id = e.real_id(r);
            let check = match reals.get(&id).check {
                Check::Passing => "passing",
                Check::Failing => "failing",
                Check::Awaiting => "awaiting",
            };
            let changed_s_ago = reals
                .changed_at(&id)
                .map(|at| now.saturating_duration_since(at).as_secs());
            let state = usable::real(e.spec.forward, r, &reals.get(&id), facts);
            let weight = e.programmed_weight(r);
            let why = match state {
                Err(why) => why.to_string(),
                Ok(()) if sorry_serves => {
                    format!("{}: the sorry server takes the new flows", quorum.text())
                }
                Ok(()) if weight < r.weight => {
                    format!("slow start: weight {weight} of {}", r.weight)
                }
                Ok(()) => String::new(),
            };
            out.push(HealthRow {
                service: e.name.clone(),
                port: e.port(),
                real: r.addr,
                sorry_server: false,
                usable: state.is_ok(),
                weight,
                why,
                check: check.to_string(),
                changed_s_ago,
            });
        }
        if let Some((s, role)) = sorry {
            let serves = role == SorryRole::Serving;
            out.push(HealthRow {
                service: e.name.clone(),
                port: e.port(),
                real: s.addr,
                sorry_server: true,
                usable: serves,
                weight: u32::from(serves),
                why: role.describe(s),
                check: if serves { "serving" } else { "standby" }.to_string(),
                changed_s_ago: None,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarder::testing::{config, reachable, start, web, web_real};
    use crate::forwarder::{plan, Entry};
    use std::time::{Duration, Instant};

    /// Plans and "programs" every entry, as the forwarder does.
    fn program(entries: &mut [Entry], reals: &RealStates, facts: &Facts, now: Instant) {
        for e in entries {
            let p = plan(e, reals, facts, now);
            e.programmed.quorum = p.quorum;
            e.programmed.spec = Some(p.spec);
        }
    }

    /// (real's last octet, usable, weight, why) of each row.
    fn summary(rows: &[HealthRow]) -> Vec<(u64, bool, u64, String)> {
        rows.iter()
            .map(|r| {
                (
                    u64::from(r.real.octets()[3]),
                    r.usable,
                    u64::from(r.weight),
                    r.why.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn each_real_says_why_it_takes_no_new_flows() {
        let text = web(
            "slow_start = \"10s\"\nsorry_server = \"10.0.1.29\"",
            &[21, 22, 23, 24],
        )
        .replace(
            "address = \"10.0.1.24\"",
            "address = \"10.0.1.24\"\nweight = 0",
        )
        .replace(
            "address = \"10.0.1.21\"",
            "address = \"10.0.1.21\"\nweight = 10",
        );
        let c = config(&text);
        let (mut entries, mut reals) = start(&c);
        let mut facts = reachable(&entries);
        facts.macs.remove(&web_real(23).addr);
        let now = Instant::now();
        reals.record(web_real(22), false, true, now);
        reals.record(web_real(21), false, true, now);
        reals.record(web_real(21), true, true, now);
        program(&mut entries, &reals, &facts, now + Duration::from_secs(5));
        let later = now + Duration::from_secs(12);
        let rows = rows(&entries, &reals, &facts, Some("web"), later).unwrap();
        assert_eq!(
            summary(&rows),
            [
                (21, true, 5, "slow start: weight 5 of 10".into()),
                (22, false, 0, "failing its health check".into()),
                (23, false, 0, "no MAC yet".into()),
                (24, false, 0, "weight 0".into()),
                (29, false, 0, "sorry server 10.0.1.29 stands by".into()),
            ]
        );
        assert!(rows[4].sorry_server);
        assert!(!rows[0].sorry_server);
        // The verdicts, and how long each has held.
        let checks: Vec<(&str, Option<u64>)> = rows
            .iter()
            .map(|r| (r.check.as_str(), r.changed_s_ago))
            .collect();
        assert_eq!(
            checks,
            [
                ("passing", Some(12)),
                ("failing", Some(12)),
                ("passing", None),
                ("passing", None),
                ("standby", None),
            ]
        );
        assert_eq!((rows[0].service.as_str(), rows[0].port), ("web", 80));
    }

    #[test]
    fn while_the_sorry_server_serves_the_usable_reals_say_so() {
        let c = config(&web("quorum = 2\nsorry_server = \"10.0.1.29\"", &[21, 22]));
        let (mut entries, mut reals) = start(&c);
        let facts = reachable(&entries);
        let now = Instant::now();
        program(&mut entries, &reals, &facts, now);
        reals.record(web_real(22), false, false, now);
        program(&mut entries, &reals, &facts, now);
        let rows = rows(&entries, &reals, &facts, None, now).unwrap();
        assert_eq!(
            summary(&rows),
            [
                (
                    21,
                    true,
                    0,
                    "quorum lost: the sorry server takes the new flows".into()
                ),
                (22, false, 0, "failing its health check".into()),
                (
                    29,
                    true,
                    1,
                    "sorry server 10.0.1.29 takes the new flows".into()
                ),
            ]
        );
    }

    #[test]
    fn alpha_reals_wait_and_unknown_services_are_refused() {
        let c = config(&web(
            "[service.health]\ncheck = \"tcp\"\nalpha = true",
            &[21],
        ));
        let (mut entries, reals) = start(&c);
        let facts = reachable(&entries);
        program(&mut entries, &reals, &facts, Instant::now());
        let rows = rows(&entries, &reals, &facts, None, Instant::now()).unwrap();
        assert_eq!(
            summary(&rows),
            [(
                21,
                false,
                0,
                "waiting for its first passing check (alpha)".into()
            )]
        );
        let err = super::rows(&entries, &reals, &facts, Some("nope"), Instant::now()).unwrap_err();
        assert_eq!(err.to_string(), "no service named \"nope\"");
    }
}
