//! keepalived.conf files converted to node configs: each result must load
//! with `xlvs_config::parse`, carry the expected values, and name what it
//! could not carry over.

use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_config::{
    Forward, HealthCheck, HttpCheck, NodeConfig, Ports, Protocol, Scheduler, Service, TlsCheck,
};
use xlvsadm::keepalived::{import, Import, ImportError, NodeTemplate, SyntaxError};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Converts and loads; a result that does not load fails the test with
/// the errors and the TOML.
fn convert_text(text: &str, template: Option<&str>) -> (Import, NodeConfig) {
    let node = template.map(|text| NodeTemplate {
        origin: "node-template.toml",
        text,
    });
    let result = import(text, node).unwrap();
    let config = xlvs_config::parse(&result.toml, "converted.toml")
        .unwrap_or_else(|e| panic!("{e}\n\n{}", result.toml));
    (result, config)
}

fn convert(name: &str) -> (Import, NodeConfig) {
    convert_text(&fixture(name), None)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn addr(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Every expected note is there, on stderr's list and atop the TOML.
fn assert_not_carried(result: &Import, expected: &[&str]) {
    for e in expected {
        let found = result.notes.not_carried.iter().find(|n| n.contains(e));
        let Some(n) = found else {
            panic!(
                "no note containing {e:?} in\n{}",
                result.notes.not_carried.join("\n")
            )
        };
        assert!(
            result.toml.contains(&format!("# not carried over: {n}\n")),
            "{n} is not in the TOML header"
        );
    }
}

fn assert_warned(result: &Import, needle: &str) {
    assert!(
        result.notes.warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?} in {:?}",
        result.notes.warnings
    );
}

fn reals(s: &Service) -> Vec<(Ipv4Addr, Option<u16>, u16)> {
    s.reals
        .iter()
        .map(|r| (r.address, r.port, r.weight))
        .collect()
}

#[test]
fn seed_003_dr_http_get() {
    let (result, cfg) = convert("seed003-dr-http.conf");
    assert_eq!(cfg.services.len(), 1);
    let s = &cfg.services[0];
    assert_eq!(s.name, "tcp-192.168.150.100-80");
    assert_eq!(s.vip, addr("192.168.150.100"));
    assert_eq!(s.protocol, Protocol::Tcp);
    assert_eq!(s.ports, Ports::List(vec![80]));
    assert_eq!(s.scheduler, Scheduler::Rr);
    assert_eq!(s.forward, Forward::Dr);
    let p = s.persistence.unwrap();
    assert_eq!((p.timeout, p.mask), (secs(50), Ipv4Addr::BROADCAST));
    assert_eq!(s.quorum, 1);
    assert_eq!(
        s.health.check,
        HealthCheck::Http(HttpCheck {
            path: "/".into(),
            expect_status: 200,
            expect_body: None
        })
    );
    assert_eq!(s.health.port, None);
    assert_eq!(s.health.interval, secs(6));
    assert_eq!(s.health.timeout, secs(3));
    assert_eq!((s.health.rise, s.health.fall), (1, 4));
    assert_eq!(
        reals(s),
        [
            (addr("192.168.150.2"), None, 1),
            (addr("192.168.150.3"), None, 1)
        ]
    );
    assert_not_carried(
        &result,
        &[
            "global_defs",
            "vrrp_instance VI_1 (line 8: xlvs announces VIPs over OSPF instead of VRRP)",
            "virtual_server 192.168.150.100 80: nat_mask 255.255.255.0 (",
            "virtual_server 192.168.150.100 80: real_server 192.168.150.2 80: HTTP_GET: delay_before_retry 3 (fall counts consecutive failures",
            "virtual_server 192.168.150.100 80: real_server 192.168.150.3 80: HTTP_GET: delay_before_retry 3 (",
        ],
    );
    assert_eq!(result.notes.not_carried.len(), 5);
    // The per-director warning is xlvsd --check-config's, which knows
    // whether the node has [cluster] flow sync.
    assert!(
        !result
            .notes
            .warnings
            .iter()
            .any(|w| w.contains("scheduler")),
        "{:?}",
        result.notes.warnings
    );
    assert!(result.toml.contains("rise = 1"));
    assert!(result.toml.contains("# placeholder"));
}

#[test]
fn nat_with_port_mapping_and_several_services() {
    let (result, cfg) = convert("nat-port-mapping.conf");
    assert_eq!(cfg.services.len(), 2);
    let web = &cfg.services[0];
    assert_eq!(web.ports, Ports::List(vec![80]));
    assert_eq!(web.scheduler, Scheduler::Wrr);
    assert_eq!(web.forward, Forward::Nat);
    assert_eq!(web.persistence, None);
    // Every real_server had inhibit_on_failure: the service keeps failed
    // reals at weight 0.
    assert!(web.inhibit_on_failure);
    assert_eq!(web.health.check, HealthCheck::Tcp);
    assert_eq!(web.health.port, Some(8080));
    assert_eq!(
        (web.health.interval, web.health.timeout, web.health.fall),
        (secs(3), secs(2), 3)
    );
    assert_eq!(
        reals(web),
        [
            (addr("10.1.0.11"), Some(8080), 3),
            (addr("10.1.0.12"), Some(8080), 3),
            (addr("10.1.0.13"), Some(8080), 1)
        ]
    );
    let tls = &cfg.services[1];
    assert!(!tls.inhibit_on_failure);
    assert_eq!(tls.ports, Ports::List(vec![443]));
    assert_eq!(tls.scheduler, Scheduler::Wlc);
    assert_eq!(tls.persistence.unwrap().timeout, secs(1800));
    assert_eq!(
        tls.health.check,
        HealthCheck::Https(
            HttpCheck {
                path: "/health".into(),
                expect_status: 204,
                expect_body: None
            },
            TlsCheck::default()
        )
    );
    // keepalived's default retry: down after the failure and one retry.
    assert_eq!((tls.health.timeout, tls.health.fall), (secs(4), 2));
    assert_eq!(
        reals(tls),
        [
            (addr("10.1.0.11"), Some(8443), 1),
            (addr("10.1.0.12"), Some(8443), 1)
        ]
    );
    assert_not_carried(&result, &["global_defs"]);
    assert!(
        !result
            .notes
            .not_carried
            .iter()
            .any(|n| n.contains("inhibit")),
        "{:?}",
        result.notes.not_carried
    );
}

#[test]
fn udp_dns_with_misc_check() {
    let (result, cfg) = convert("udp-dns-misc.conf");
    assert_eq!(cfg.services.len(), 2);
    let udp = &cfg.services[0];
    assert_eq!(udp.name, "udp-203.0.113.53-53");
    assert_eq!(udp.protocol, Protocol::Udp);
    assert_eq!(udp.scheduler, Scheduler::Sh);
    assert_eq!(udp.forward, Forward::Tun);
    let p = udp.persistence.unwrap();
    assert_eq!((p.timeout, p.mask), (secs(60), addr("255.255.255.0")));
    assert_eq!(
        udp.health.check,
        HealthCheck::Script {
            program: "/usr/local/bin/check_dns".into(),
            args: vec!["10.20.0.5".into()]
        }
    );
    assert_eq!(
        (udp.health.interval, udp.health.timeout),
        (secs(5), secs(3))
    );
    let tcp = &cfg.services[1];
    assert_eq!(tcp.name, "tcp-203.0.113.53-53");
    assert_eq!(tcp.health.check, HealthCheck::None);
    assert_eq!(
        reals(tcp),
        [(addr("10.20.0.5"), None, 1), (addr("10.30.0.5"), None, 1)]
    );
    assert_not_carried(
        &result,
        &[
            "real_server 10.20.0.5 53: MISC_CHECK: misc_dynamic (",
            "real_server 10.30.0.5 53: MISC_CHECK: misc_dynamic (",
            "real_server 10.30.0.5 53: MISC_CHECK (differs from the first real's; the node config runs one script",
            "real_server 10.20.0.5 53: DNS_CHECK (",
            "real_server 10.30.0.5 53: DNS_CHECK (",
        ],
    );
    assert_warned(&result, "the script's arguments name 10.20.0.5");
}

#[test]
fn ssl_get_sorry_server_and_quorum() {
    let (result, cfg) = convert("ssl-sorry-quorum.conf");
    let s = &cfg.services[0];
    assert_eq!(s.scheduler, Scheduler::Mh);
    assert_eq!(s.forward, Forward::Dr);
    assert_eq!((s.quorum, s.quorum_hysteresis), (2, 1));
    let sorry = s.sorry_server.unwrap();
    assert_eq!((sorry.address, sorry.port), (addr("10.9.0.99"), None));
    // SSL_GET accepts any certificate, and so does the converted check.
    assert_eq!(
        s.health.check,
        HealthCheck::Https(
            HttpCheck {
                path: "/status".into(),
                expect_status: 200,
                expect_body: None
            },
            TlsCheck::default()
        )
    );
    assert!(s.health.alpha);
    assert!(!s.inhibit_on_failure);
    assert_eq!(s.health.port, Some(443));
    assert_eq!(
        (
            s.health.interval,
            s.health.timeout,
            s.health.rise,
            s.health.fall
        ),
        (secs(2), secs(1), 1, 2)
    );
    assert_eq!(s.reals.len(), 3);
    assert_not_carried(
        &result,
        &[
            "quorum_up /etc/keepalived/notify.sh up (xlvs runs no quorum scripts)",
            "quorum_down /etc/keepalived/notify.sh down (",
            "real_server 10.9.0.1 443: notify_down /etc/keepalived/alert.sh 10.9.0.1 (",
            "real_server 10.9.0.1 443: SSL_GET: digest 9b3a0c85a887a256d6939da88aabd8cd (",
            "real_server 10.9.0.1 443: SSL_GET: url (line 24) (only the first url is checked)",
            "real_server 10.9.0.2 443: SSL_GET: delay_before_retry 1 (",
            "real_server 10.9.0.3 443: HTTP_GET (differs from the first real's check",
        ],
    );
    assert!(
        result.notes.warnings.is_empty(),
        "{:?}",
        result.notes.warnings
    );
    for carried in ["hysteresis", "alpha"] {
        assert!(
            !result.notes.not_carried.iter().any(|n| n.contains(carried)),
            "{carried}: {:?}",
            result.notes.not_carried
        );
    }
    assert!(
        result.toml.contains("quorum_hysteresis = 1"),
        "{}",
        result.toml
    );
    assert!(result.toml.contains("alpha = true"), "{}", result.toml);
}

#[test]
fn fullnat_granularity_with_a_node_template() {
    let template = fixture("node-template.toml");
    let (result, cfg) = convert_text(&fixture("fullnat-granularity.conf"), Some(&template));
    assert_eq!(cfg.node.name, "lb7");
    assert_eq!(cfg.fullnat.unwrap().local_addresses, [addr("10.0.2.17")]);
    assert_eq!(cfg.services.len(), 2);
    let shop = &cfg.services[0];
    assert_eq!(shop.forward, Forward::Fullnat);
    // A granularity alone makes keepalived's service persistent, 6 minutes.
    let p = shop.persistence.unwrap();
    assert_eq!((p.timeout, p.mask), (secs(360), addr("255.255.255.0")));
    assert_eq!(shop.health.check, HealthCheck::Tcp);
    assert_eq!((shop.health.timeout, shop.health.fall), (secs(3), 3));
    assert_eq!(
        reals(shop),
        [
            (addr("10.50.0.1"), Some(8080), 100),
            (addr("10.50.0.2"), Some(8080), 100)
        ]
    );
    let plain = &cfg.services[1];
    assert_eq!(plain.scheduler, Scheduler::Lblc);
    assert_eq!(plain.health.check, HealthCheck::None);
    assert_not_carried(
        &result,
        &[
            "virtual_server_group SHOP (line 2:",
            "virtual_server 192.0.2.60 80: laddr_group_name laddr_g1 (",
            "virtual_server 192.0.2.60 80: syn_proxy (",
            "real_server 10.50.0.1 8080: TCP_CHECK: delay_before_retry 2 (",
            "virtual_server fwmark 7 (firewall marks: use a service with several ports in the node config)",
            "virtual_server group SHOP (",
        ],
    );
    assert!(result
        .toml
        .contains("# ---- This node, from node-template.toml ----"));
    assert!(!result.toml.contains("placeholder"));
}

#[test]
fn placeholders_include_fullnat_when_needed() {
    let (result, cfg) = convert("fullnat-granularity.conf");
    assert_eq!(cfg.node.name, "lb1");
    assert_eq!(cfg.fullnat.unwrap().local_addresses.len(), 1);
    // No fork has a keyword for TOA: a hint, not a setting.
    assert!(result.toml.contains("# client_address = \"toa\""));
    assert!(cfg
        .services
        .iter()
        .all(|s| s.client_address == xlvs_config::ClientAddress::None));
    let (_, cfg) = convert("seed003-dr-http.conf");
    assert!(cfg.fullnat.is_none());
}

#[test]
fn keepalived_defaults_are_written_out() {
    let (result, cfg) = convert_text(
        "virtual_server 192.0.2.9 25 {\n  real_server 10.0.0.9 25 {\n    TCP_CHECK {\n    }\n  }\n}\n",
        None,
    );
    let s = &cfg.services[0];
    assert_eq!(s.forward, Forward::Nat);
    assert_eq!(s.scheduler, Scheduler::Mh);
    assert_eq!(
        (
            s.health.interval,
            s.health.timeout,
            s.health.rise,
            s.health.fall
        ),
        (secs(60), secs(5), 1, 2)
    );
    assert!(result
        .toml
        .contains("lb_kind not given: keepalived's default, NAT"));
    assert_warned(&result, "lb_algo not given");
}

#[test]
fn values_the_node_config_refuses_are_adjusted_and_named() {
    let text = "\
virtual_server 192.0.2.5 80 {
    delay_loop 2
    lb_algo sh
    lb_kind DR
    quorum 5
    real_server 10.0.0.5 8080 {
        HTTP_GET {
            url {
                path /ping
            }
            connect_timeout 10
        }
    }
    real_server 10.0.0.6 8080 {
        HTTP_GET {
            url {
                path /ping
            }
            connect_timeout 10
        }
    }
}
";
    let (result, cfg) = convert_text(text, None);
    let s = &cfg.services[0];
    assert_eq!(s.quorum, 2);
    assert_eq!(s.health.timeout, secs(1));
    // DR cannot map ports: the reals get the service port, but the check
    // still goes where keepalived's went.
    assert_eq!(
        reals(s),
        [(addr("10.0.0.5"), None, 1), (addr("10.0.0.6"), None, 1)]
    );
    assert_eq!(s.health.port, Some(8080));
    assert_eq!(
        s.health.check,
        HealthCheck::Http(HttpCheck {
            path: "/ping".into(),
            expect_status: 200,
            expect_body: None
        })
    );
    assert!(result
        .toml
        .contains("url gave no status_code: keepalived accepts other 2xx codes too"));
    assert_not_carried(
        &result,
        &[
            "virtual_server 192.0.2.5 80: quorum 5 (more than the real servers",
            "virtual_server 192.0.2.5 80: HTTP_GET: timeout 10s (the node config wants it shorter than the interval",
            "real_server 10.0.0.5 8080: its port (DR and TUN forward to the service's port",
        ],
    );
}

#[test]
fn failure_settings_the_node_config_sets_per_service() {
    let text = "\
virtual_server 192.0.2.6 80 {
    lb_algo mh
    lb_kind DR
    quorum 2
    hysteresis 2
    alpha
    real_server 10.0.0.5 80 {
        inhibit_on_failure
        TCP_CHECK {
        }
    }
    real_server 10.0.0.6 80 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.7 80 {
        TCP_CHECK {
        }
    }
}
virtual_server 192.0.2.7 80 {
    lb_algo mh
    lb_kind DR
    alpha
    inhibit_on_failure
    real_server 10.0.0.8 80 {
    }
}
";
    let (result, cfg) = convert_text(text, None);
    let s = &cfg.services[0];
    // hysteresis 2 would need quorum 3 and 4 reals: the most that fits.
    assert_eq!((s.quorum, s.quorum_hysteresis), (2, 1));
    assert!(s.inhibit_on_failure);
    assert!(s.health.alpha);
    assert_not_carried(
        &result,
        &["virtual_server 192.0.2.6 80: hysteresis 2 (the node config wants it below quorum (2)"],
    );
    assert_warned(
        &result,
        "real_server 10.0.0.6 80: has no inhibit_on_failure, but the node config sets it per service",
    );
    assert_warned(
        &result,
        "real_server 10.0.0.7 80: has no inhibit_on_failure",
    );
    // A virtual_server-level inhibit_on_failure; alpha without a check.
    let s = &cfg.services[1];
    assert!(s.inhibit_on_failure);
    assert_eq!(s.health.check, HealthCheck::None);
    assert!(!s.health.alpha);
    assert_not_carried(
        &result,
        &["virtual_server 192.0.2.7 80: alpha (no check to pass"],
    );
}

#[test]
fn scripts_with_shell_syntax_go_through_sh() {
    let text = "virtual_server 192.0.2.7 3306 {\n lb_algo mh\n lb_kind DR\n real_server 10.0.0.7 3306 {\n  MISC_CHECK {\n   misc_path \"check_mysql | grep -q ok\"\n  }\n }\n}\n";
    let (result, cfg) = convert_text(text, None);
    assert_eq!(
        cfg.services[0].health.check,
        HealthCheck::Script {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "check_mysql | grep -q ok".into()]
        }
    );
    assert_warned(&result, "runs through /bin/sh -c");
}

#[test]
fn skipped_virtual_servers_and_empty_files() {
    let text = "virtual_server 2001:db8::10 80 {\n real_server 2001:db8::1 80 {\n }\n}\nvirtual_server 192.0.2.8 80 {\n protocol SCTP\n real_server 10.0.0.8 80 {\n }\n}\nvirtual_server 192.0.2.9 80 {\n sorry_server 10.0.0.99 80\n}\n";
    let (result, cfg) = convert_text(text, None);
    assert!(cfg.services.is_empty());
    assert_not_carried(
        &result,
        &[
            "virtual_server 2001:db8::10 80 (expected an IPv4 address and a port)",
            "virtual_server 192.0.2.8 80 (xlvs balances TCP and UDP only)",
            "virtual_server 192.0.2.9 80 (no real_server: a service needs at least one)",
        ],
    );
    assert_warned(&result, "no virtual_server could be converted");
}

#[test]
fn syntax_errors() {
    let err = |t: &str| import(t, None).unwrap_err();
    assert_eq!(
        err("global_defs {\n}\ninclude /etc/keepalived/conf.d/*.conf\n"),
        ImportError::Syntax(SyntaxError::Include {
            line: 3,
            pattern: "/etc/keepalived/conf.d/*.conf".into()
        })
    );
    assert_eq!(
        err("virtual_server 192.0.2.1 80 {\n real_server 10.0.0.1 80 {\n}\n").to_string(),
        "line 1: the block of `virtual_server 192.0.2.1 80` is not closed"
    );
    assert_eq!(
        err("virtual_server 192.0.2.1 80 {\n}\n}\n").to_string(),
        "line 3: `}` without a block to close"
    );
    assert!(err("include x.conf\n")
        .to_string()
        .contains("included files are not read"));
}

/// One virtual_server with `settings`, for the lb_algo tests.
fn with_settings(settings: &str) -> String {
    format!(
        "virtual_server 192.0.2.7 80 {{\n{settings}\n    lb_kind DR\n    \
         real_server 10.0.0.1 80 {{\n        weight 1\n    }}\n}}\n"
    )
}

/// Every scheduler keepalived can name (its lb_algo, or lvs_sched) is
/// carried, with its persistence.
#[test]
fn every_lb_algo_is_carried_with_its_persistence() {
    for sched in Scheduler::ALL {
        for keyword in ["lb_algo", "lvs_sched"] {
            let text = with_settings(&format!(
                "    {keyword} {sched}\n    persistence_timeout 120\n    \
                 persistence_granularity 255.255.255.0"
            ));
            let (result, cfg) = convert_text(&text, None);
            let s = &cfg.services[0];
            assert_eq!(s.scheduler, sched, "{keyword} {sched}");
            let p = s.persistence.unwrap();
            assert_eq!((p.timeout, p.mask), (secs(120), addr("255.255.255.0")));
            let line = result.toml.lines().find(|l| l.starts_with("scheduler ="));
            assert!(
                line.is_some_and(|l| l.ends_with(&format!("# {keyword} {sched}"))),
                "{line:?}"
            );
        }
    }
}

/// A name no kernel has a scheduler for: keepalived's service never ran,
/// so the conversion stops at its line rather than pick one.
#[test]
fn an_unknown_lb_algo_is_an_error_at_its_line() {
    let text = format!(
        "global_defs {{\n}}\n{}",
        with_settings("    lb_algo loadbalance")
    );
    let err = import(&text, None).unwrap_err();
    assert_eq!(
        err,
        ImportError::UnknownScheduler {
            line: 4,
            setting: "lb_algo loadbalance".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "line 4: lb_algo loadbalance: unknown scheduler (the schedulers are rr, wrr, lc, wlc, \
         lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)"
    );
    let upper = import(&with_settings("    lb_algo WRR"), None).unwrap_err();
    assert!(
        matches!(upper, ImportError::UnknownScheduler { line: 2, .. }),
        "{upper}"
    );
}

#[test]
fn a_real_servers_own_timers_and_port_become_its_own_health() {
    let text = "\
virtual_server 192.0.2.7 80 {
    delay_loop 6
    lb_algo mh
    lb_kind DR
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
                path /ping
                status_code 200
            }
            connect_timeout 3
            retry 2
        }
    }
    real_server 10.0.0.2 80 {
        delay_loop 10
        HTTP_GET {
            url {
                path /ping
                status_code 200
            }
            connect_port 8080
            connect_timeout 5
            nb_get_retry 4
        }
    }
    real_server 10.0.0.3 80 {
        connect_timeout 3
        retry 2
        HTTP_GET {
            url {
                path /ping
                status_code 200
            }
        }
    }
    real_server 10.0.0.4 80 {
        delay_loop 2
        HTTP_GET {
            url {
                path /ping
                status_code 200
            }
            connect_timeout 3
            retry 2
        }
    }
    real_server 10.0.0.5 80 {
        delay_loop 4
        TCP_CHECK {
        }
    }
}
";
    let (result, cfg) = convert_text(text, None);
    let s = &cfg.services[0];
    assert_eq!(
        (
            s.health.interval,
            s.health.timeout,
            s.health.fall,
            s.health.port
        ),
        (secs(6), secs(3), 3, None)
    );
    let own: Vec<_> = s
        .reals
        .iter()
        .map(|r| {
            let h = s.health_of(r);
            (h.interval, h.timeout, h.fall, s.probe_port(r))
        })
        .collect();
    assert_eq!(
        own,
        [
            (secs(6), secs(3), 3, Some(80)),
            (secs(10), secs(5), 5, Some(8080)),
            (secs(6), secs(3), 3, Some(80)),
            // keepalived's 3 s timeout is not below its 2 s delay_loop.
            (secs(2), secs(1), 3, Some(80)),
            (secs(6), secs(3), 3, Some(80)),
        ]
    );
    assert_eq!(s.reals[0].health, Default::default());
    assert_eq!(s.reals[2].health, Default::default());
    assert_not_carried(
        &result,
        &[
            "real_server 10.0.0.4 80: HTTP_GET: timeout 3s (the node config wants it shorter than the interval",
            "real_server 10.0.0.5 80: TCP_CHECK (differs from the first real's check",
            "real_server 10.0.0.5 80: delay_loop 4 (this real's checker is not carried over)",
        ],
    );
    assert_eq!(
        result.notes.not_carried.len(),
        3,
        "{:?}",
        result.notes.not_carried
    );
    // Right after its real, with where each value came from.
    let own = "address = \"10.0.0.2\"\nweight = 1\n\n[service.real.health]\ninterval = \"10s\"";
    assert!(result.toml.contains(own), "{}", result.toml);
    assert!(result.toml.contains("# delay_loop 10\n"));
}

#[test]
fn dr_reals_on_different_ports_are_each_checked_on_their_own() {
    let text = "\
virtual_server 192.0.2.8 80 {
    lb_algo mh
    lb_kind DR
    real_server 10.0.0.1 8080 {
        TCP_CHECK {
        }
    }
    real_server 10.0.0.2 8081 {
        TCP_CHECK {
        }
    }
}
";
    let (_, cfg) = convert_text(text, None);
    let s = &cfg.services[0];
    assert_eq!(s.health.port, None);
    let probed: Vec<_> = s.reals.iter().map(|r| s.probe_port(r)).collect();
    assert_eq!(probed, [Some(8080), Some(8081)]);
}

#[test]
fn dpvs_proxy_protocol_becomes_client_address() {
    use xlvs_config::ClientAddress;
    let (result, cfg) = convert("dpvs-proxy-protocol.conf");
    let mode = |vip: &str, port: u16| {
        cfg.services
            .iter()
            .find(|s| s.vip == addr(vip) && s.ports == xlvs_config::Ports::List(vec![port]))
            .unwrap_or_else(|| panic!("{vip}:{port} in\n{}", result.toml))
            .client_address
    };
    assert_eq!(mode("192.0.2.70", 80), ClientAddress::ProxyV2);
    assert_eq!(mode("192.0.2.70", 25), ClientAddress::ProxyV1);
    assert_eq!(mode("192.0.2.70", 443), ClientAddress::None);
    assert_eq!(mode("192.0.2.70", 53), ClientAddress::None);
    assert_eq!(mode("192.0.2.71", 80), ClientAddress::None);
    assert_eq!(mode("192.0.2.71", 81), ClientAddress::None);
    assert_not_carried(
        &result,
        &[
            "proxy_protocol v2-insecure (xlvs always inserts its own header",
            "192.0.2.70 53: proxy_protocol v2 (xlvs sends a PROXY header under FULLNAT and for TCP only)",
            "192.0.2.71 80: proxy_protocol v1 (xlvs sends a PROXY header under FULLNAT",
        ],
    );
    // The HTTP check of the v2 service would fail on a real that wants
    // the header: said so.
    assert_warned(&result, "HTTP checks send no PROXY header");
    assert_eq!(
        result
            .notes
            .warnings
            .iter()
            .filter(|w| w.contains("PROXY header"))
            .count(),
        1,
        "{:?}",
        result.notes.warnings
    );
}
