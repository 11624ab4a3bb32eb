//! Targets from the node config (`xlvs-config`). Kept in its own module so
//! the checkers and the scheduler do not depend on the config's types.
//!
//! The config's defaults are keepalived's: https accepts any certificate
//! (like `SSL_GET`) unless `verify` is set, and `alpha` is off.

use std::net::SocketAddr;

use xlvs_config::{
    ClientAddress, HealthCheck, HttpCheck, NodeConfig, Real, Service, TlsCheck, TlsTrust,
};

use crate::check::CheckSpec;
use crate::error::SetupError;
use crate::http::HttpSpec;
use crate::https::{TlsSpec, TlsVerify};
use crate::proxy::ProxyHeader;
use crate::scheduler::{TargetId, TargetSpec};
use crate::script::ScriptSpec;

impl TargetId {
    pub fn from_config(service: &Service, real: &Real) -> Self {
        Self {
            service: service.name.clone(),
            address: real.address.into(),
            port: real.port,
        }
    }
}

impl TargetSpec {
    /// The check of `real` in `service`, on the port
    /// [`Service::probe_port`] picks, with the timers of
    /// [`Service::health_of`]: the real's own where it sets them.
    pub fn from_config(service: &Service, real: &Real) -> Result<Self, SetupError> {
        let health = service.health_of(real);
        let addr = service
            .probe_port(real)
            .map(|port| SocketAddr::new(real.address.into(), port));
        let proxy = match service.client_address {
            ClientAddress::ProxyV1 => Some(ProxyHeader::V1),
            ClientAddress::ProxyV2 => Some(ProxyHeader::V2),
            _ => None,
        }
        .filter(|_| service.probe_on_a_service_port(real));
        Ok(Self {
            check: CheckSpec::from_config(&health.check, addr, proxy)?,
            interval: health.interval,
            timeout: health.timeout,
            rise: health.rise,
            fall: health.fall,
            alpha: health.alpha,
        })
    }
}

impl CheckSpec {
    /// `addr` is where connecting checks connect; unused by the others.
    /// `proxy`: the real reads that PROXY header there, which HTTP and
    /// HTTPS checks then send first (a TCP check only connects, which such
    /// a server accepts).
    pub fn from_config(
        check: &HealthCheck,
        addr: Option<SocketAddr>,
        proxy: Option<ProxyHeader>,
    ) -> Result<Self, SetupError> {
        let addr = |check| addr.ok_or(SetupError::NoProbePort { check });
        Ok(match check {
            HealthCheck::None => CheckSpec::None,
            HealthCheck::Tcp => CheckSpec::Tcp(addr("tcp")?),
            HealthCheck::Http(http) => CheckSpec::Http(http_spec(http, addr("http")?, proxy)),
            HealthCheck::Https(http, tls) => CheckSpec::Https {
                http: http_spec(http, addr("https")?, proxy),
                tls: tls_spec(tls),
            },
            HealthCheck::Script { program, args } => CheckSpec::Script(ScriptSpec {
                program: program.clone(),
                args: args.clone(),
            }),
        })
    }
}

fn tls_spec(check: &TlsCheck) -> TlsSpec {
    TlsSpec {
        server_name: check.server_name.clone(),
        verify: match &check.trust {
            TlsTrust::Any => TlsVerify::Insecure,
            TlsTrust::System => TlsVerify::SystemRoots,
            TlsTrust::CaFile(path) => TlsVerify::CaFile(path.clone()),
        },
    }
}

fn http_spec(check: &HttpCheck, addr: SocketAddr, proxy: Option<ProxyHeader>) -> HttpSpec {
    HttpSpec {
        path: check.path.clone(),
        expect_status: check.expect_status,
        expect_body: check.expect_body.clone(),
        proxy,
        ..HttpSpec::new(addr)
    }
}

/// Every real of every service, for [`crate::Checker::sync`].
pub fn config_targets(
    config: &NodeConfig,
) -> impl Iterator<Item = (TargetId, Result<TargetSpec, SetupError>)> + '_ {
    config.services.iter().flat_map(|service| {
        service.reals.iter().map(move |real| {
            (
                TargetId::from_config(service, real),
                TargetSpec::from_config(service, real),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn targets(services: &str) -> Vec<(TargetId, TargetSpec)> {
        let text = format!("{}{services}", xlvs_config::EXAMPLE_NODE);
        let config = xlvs_config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        config_targets(&config)
            .map(|(id, spec)| (id, spec.unwrap()))
            .collect()
    }

    #[test]
    fn http_service_with_two_reals() {
        let got = targets(
            r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]

[service.health]
check = "https"
port = 8443
path = "/healthz"
expect_status = 204
expect_body = "ok"
interval = "5s"
timeout = "2s"
rise = 4
fall = 5

[[service.real]]
address = "10.0.1.21"

[[service.real]]
address = "10.0.1.22"
"#,
        );
        assert_eq!(got.len(), 2);
        let (id, spec) = &got[1];
        assert_eq!(id.to_string(), "web/10.0.1.22");
        assert_eq!(
            spec,
            &TargetSpec {
                check: CheckSpec::Https {
                    http: HttpSpec {
                        addr: "10.0.1.22:8443".parse().unwrap(),
                        path: "/healthz".to_string(),
                        host: None,
                        expect_status: 204,
                        expect_body: Some("ok".to_string()),
                        proxy: None,
                    },
                    tls: TlsSpec {
                        server_name: None,
                        verify: TlsVerify::Insecure,
                    },
                },
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
                rise: 4,
                fall: 5,
                alpha: false,
            }
        );
    }

    #[test]
    fn checks_on_a_port_that_reads_proxy_headers_send_one() {
        let service = |client_address: &str, ports: &str, check: &str, real: &str| {
            targets(&format!(
                r#"
[fullnat]
local_addresses = ["10.0.1.100"]

[[service]]
name = "web"
vip = "192.0.2.10"
ports = {ports}
forward = "fullnat"
client_address = "{client_address}"

[service.health]
{check}

[[service.real]]
address = "10.0.1.21"
{real}
"#
            ))
            .remove(0)
            .1
            .check
        };
        let proxy_of = |c: CheckSpec| match c {
            CheckSpec::Http(h) | CheckSpec::Https { http: h, .. } => h.proxy,
            other => panic!("not an http check: {other:?}"),
        };
        let http = r#"check = "http""#;
        // The real's port, where the service's connections go.
        let c = service("proxy-v2", "[80]", http, "port = 8080");
        assert_eq!(proxy_of(c), Some(ProxyHeader::V2));
        let c = service("proxy-v1", "[80]", http, "port = 8080");
        assert_eq!(proxy_of(c), Some(ProxyHeader::V1));
        let https = r#"check = "https""#;
        let c = service("proxy-v2", "[443]", https, "");
        assert_eq!(proxy_of(c), Some(ProxyHeader::V2));
        // A real without a port gets the VIP's: a check on another port of
        // the service reaches a proxied listener too.
        let c = service("proxy-v2", "[80, 443]", "check = \"http\"\nport = 443", "");
        assert_eq!(proxy_of(c), Some(ProxyHeader::V2));
        // A port the service's connections never reach: no header.
        let c = service("proxy-v2", "[80]", "check = \"http\"\nport = 8081", "");
        assert_eq!(proxy_of(c), None);
        let c = service("proxy-v2", "[80]", http, "port = 8080\nhealth.port = 9000");
        assert_eq!(proxy_of(c), None);
        // No PROXY header sent by the service: none in its checks.
        let c = service("toa", "[80]", http, "");
        assert_eq!(proxy_of(c), None);
        // A TCP check only connects, which such a server accepts.
        let c = service("proxy-v2", "[80]", r#"check = "tcp""#, "");
        assert_eq!(c, CheckSpec::Tcp("10.0.1.21:80".parse().unwrap()));
    }

    #[test]
    fn default_tcp_check_uses_the_service_port_and_scripts_have_no_address() {
        let got = targets(
            r#"
[[service]]
name = "dns"
vip = "192.0.2.53"
protocol = "udp"
ports = [53]

[[service.real]]
address = "10.0.2.1"

[[service]]
name = "db"
vip = "192.0.2.54"
ports = [5432]

[service.health]
check = "script"
script = ["/usr/local/bin/check-db", "--port", "5432"]

[[service.real]]
address = "10.0.3.1"
"#,
        );
        assert_eq!(
            got[0].1.check,
            CheckSpec::Tcp("10.0.2.1:53".parse().unwrap())
        );
        assert_eq!(got[0].1.interval, Duration::from_secs(2));
        assert_eq!(
            got[1].1.check,
            CheckSpec::Script(ScriptSpec {
                program: "/usr/local/bin/check-db".into(),
                args: vec!["--port".to_string(), "5432".to_string()],
            })
        );
    }

    #[test]
    fn alpha_and_certificate_checking_are_carried() {
        let got = targets(
            r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [443]

[service.health]
check = "https"
alpha = true
verify = true
ca_file = "/etc/xlvs/ca.pem"
server_name = "www.example.net"

[[service.real]]
address = "10.0.1.21"
"#,
        );
        let spec = &got[0].1;
        assert!(spec.alpha);
        let CheckSpec::Https { tls, .. } = &spec.check else {
            panic!("{:?}", spec.check)
        };
        assert_eq!(
            tls,
            &TlsSpec {
                server_name: Some("www.example.net".to_string()),
                verify: TlsVerify::CaFile("/etc/xlvs/ca.pem".into()),
            }
        );
    }

    #[test]
    fn a_real_with_its_own_timers_is_checked_with_them_alone() {
        let got = targets(
            r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]

[service.health]
check = "http"
interval = "2s"
timeout = "1s"
rise = 2
fall = 3

[[service.real]]
address = "10.0.1.21"

[[service.real]]
address = "10.0.1.22"
[service.real.health]
interval = "5s"
fall = 5
port = 8080

[[service.real]]
address = "10.0.1.23"
"#,
        );
        let timers: Vec<_> = got
            .iter()
            .map(|(id, s)| {
                (
                    id.to_string(),
                    s.interval.as_secs(),
                    s.timeout.as_secs(),
                    s.rise,
                    s.fall,
                )
            })
            .collect();
        assert_eq!(
            timers,
            [
                ("web/10.0.1.21".to_string(), 2, 1, 2, 3),
                ("web/10.0.1.22".to_string(), 5, 1, 2, 5),
                ("web/10.0.1.23".to_string(), 2, 1, 2, 3),
            ]
        );
        let probed = |i: usize| match &got[i].1.check {
            CheckSpec::Http(http) => http.addr,
            other => panic!("{other:?}"),
        };
        assert_eq!(probed(0), "10.0.1.21:80".parse().unwrap());
        assert_eq!(probed(1), "10.0.1.22:8080".parse().unwrap());
    }

    #[test]
    fn a_connecting_check_without_a_port_is_an_error() {
        let err = CheckSpec::from_config(&HealthCheck::Tcp, None, None).unwrap_err();
        assert!(matches!(err, SetupError::NoProbePort { check: "tcp" }));
        assert_eq!(
            CheckSpec::from_config(&HealthCheck::None, None, None).unwrap(),
            CheckSpec::None
        );
    }
}
