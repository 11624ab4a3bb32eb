//! ipvsadm's runtime changes (-A/-E/-D/-a/-e/-d/-C), applied as edits to
//! the config in force: the result goes through the same all-or-nothing
//! path as a reload. Like ipvsadm, nothing is written to the config file.
//!
//! ipvsadm has one service per port; a node-config service may list
//! several. A change to one port of such a service first splits that port
//! off into a service of its own (named `NAME:PORT`), so the other ports
//! are left alone.

use std::net::Ipv4Addr;
use std::time::Duration;
use xlvs_api::ipvs::{self, IpvsOp, RealSpec, ServiceKey, ServiceSpec};
use xlvs_config::{
    ClientAddress, Forward, Health, HealthCheck, NodeConfig, Persistence, Ports, Real, Service,
};

/// Why an ipvsadm change is refused; ipvsadm's own words where it has
/// them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpvsError {
    #[error("Service not defined: {0}")]
    ServiceNotDefined(ServiceKey),
    #[error("Service already exists: {0}")]
    ServiceExists(ServiceKey),
    #[error("Destination already exists: {address}:{port}")]
    DestinationExists { address: Ipv4Addr, port: u16 },
    #[error("No such destination: {address}:{port}")]
    NoSuchDestination { address: Ipv4Addr, port: u16 },
    #[error("forwarding is per service in xlvs: this service uses {0}")]
    ForwardPerService(Forward),
    #[error("not a change of services")]
    NotAChange,
}

fn persistence(p: Option<ipvs::Persistence>) -> Option<Persistence> {
    p.map(|p| Persistence {
        timeout: Duration::from_secs(u64::from(p.timeout_s)),
        mask: p.netmask,
    })
}

/// Whether config service `s` is ipvsadm's service `key`. As in IPVS,
/// VIP:0 (every port) and VIP:80 are different services: a change to one
/// never lands on the other, and both may exist (the data plane looks up
/// the exact port first).
fn is_service(s: &Service, key: &ServiceKey) -> bool {
    s.vip == key.vip
        && s.protocol == key.protocol
        && match &s.ports {
            Ports::All => key.port == 0,
            Ports::List(ports) => ports.contains(&key.port),
        }
}

/// Index of the service holding `key`, splitting it off first if the
/// service has other ports too.
fn service_index(c: &mut NodeConfig, key: &ServiceKey) -> Result<usize, IpvsError> {
    let i = c
        .services
        .iter()
        .position(|s| is_service(s, key))
        .ok_or(IpvsError::ServiceNotDefined(*key))?;
    if let Ports::List(ports) = &c.services[i].ports {
        if ports.len() > 1 {
            let mut alone = c.services[i].clone();
            alone.name = format!("{}:{}", alone.name, key.port);
            alone.ports = Ports::List(vec![key.port]);
            if let Ports::List(rest) = &mut c.services[i].ports {
                rest.retain(|p| *p != key.port);
            }
            c.services.push(alone);
            return Ok(c.services.len() - 1);
        }
    }
    Ok(i)
}

fn real_port(real: &RealSpec, svc: &ServiceKey) -> Option<u16> {
    // The config's "no port" means the service port.
    (real.port != svc.port && real.port != 0).then_some(real.port)
}

fn new_service(spec: &ServiceSpec) -> Service {
    let key = &spec.service;
    Service {
        // As the config file spells the protocol: `tcp-192.0.2.10-80`.
        name: format!("{}-{}-{}", key.protocol.as_str(), key.vip, key.port),
        vip: key.vip,
        protocol: key.protocol,
        ports: if key.port == 0 {
            Ports::All
        } else {
            Ports::List(vec![key.port])
        },
        // Every scheduler ipvsadm names is one a config service can have.
        scheduler: spec.scheduler,
        forward: Forward::Dr,
        persistence: persistence(spec.persistence),
        client_address: ClientAddress::None,
        toa_kind: ClientAddress::DEFAULT_TOA_KIND,
        quorum: 1,
        quorum_hysteresis: 0,
        sorry_server: None,
        inhibit_on_failure: false,
        slow_start: Duration::ZERO,
        // ipvsadm checks nothing; neither does a service made with it.
        health: Health {
            check: HealthCheck::None,
            port: None,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            alpha: false,
        },
        reals: Vec::new(),
    }
}

/// The config after `op`, or the error ipvsadm would give.
pub fn apply(op: &IpvsOp, config: &NodeConfig) -> Result<NodeConfig, IpvsError> {
    let mut c = config.clone();
    match op {
        IpvsOp::AddService(spec) => {
            if service_index(&mut c.clone(), &spec.service).is_ok() {
                return Err(IpvsError::ServiceExists(spec.service));
            }
            c.services.push(new_service(spec));
        }
        IpvsOp::EditService(spec) => {
            let i = service_index(&mut c, &spec.service)?;
            c.services[i].scheduler = spec.scheduler;
            c.services[i].persistence = persistence(spec.persistence);
        }
        IpvsOp::DeleteService { service } => {
            let i = service_index(&mut c, service)?;
            c.services.remove(i);
        }
        IpvsOp::AddReal { service, real } => {
            let i = service_index(&mut c, service)?;
            let s = &mut c.services[i];
            let port = real_port(real, service);
            if s.reals
                .iter()
                .any(|r| r.address == real.address && r.port == port)
            {
                return Err(IpvsError::DestinationExists {
                    address: real.address,
                    port: real.port,
                });
            }
            if let Some(f) = real.forward {
                if s.reals.is_empty() {
                    // The first real sets the method, as in ipvsadm.
                    s.forward = f;
                } else if f != s.forward {
                    return Err(IpvsError::ForwardPerService(s.forward));
                }
            }
            s.reals.push(Real {
                address: real.address,
                port,
                weight: real.weight.unwrap_or(1),
                health: Default::default(),
            });
        }
        IpvsOp::EditReal { service, real } => {
            let i = service_index(&mut c, service)?;
            let s = &mut c.services[i];
            let port = real_port(real, service);
            let fwd = s.forward;
            let r = s
                .reals
                .iter_mut()
                .find(|r| r.address == real.address && r.port == port)
                .ok_or(IpvsError::NoSuchDestination {
                    address: real.address,
                    port: real.port,
                })?;
            if real.forward.is_some_and(|f| f != fwd) {
                return Err(IpvsError::ForwardPerService(fwd));
            }
            if let Some(w) = real.weight {
                r.weight = w;
            }
        }
        IpvsOp::DeleteReal { service, real } => {
            let i = service_index(&mut c, service)?;
            let s = &mut c.services[i];
            let port = (real.port != service.port && real.port != 0).then_some(real.port);
            let before = s.reals.len();
            s.reals
                .retain(|r| !(r.address == real.address && r.port == port));
            if s.reals.len() == before {
                return Err(IpvsError::NoSuchDestination {
                    address: real.address,
                    port: real.port,
                });
            }
        }
        IpvsOp::Clear => c.services.clear(),
        IpvsOp::Zero { .. } | IpvsOp::SetTimeouts(_) => {
            return Err(IpvsError::NotAChange);
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use xlvs_api::ipvs::RealKey;
    use xlvs_config::{Protocol, Scheduler};

    const SERVICES: &str = r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80, 443]
[service.health]
check = "none"
[[service.real]]
address = "10.0.1.21"
[[service.real]]
address = "10.0.1.22"
"#;

    fn config() -> NodeConfig {
        let text = format!("{}{SERVICES}", xlvs_config::EXAMPLE_NODE);
        xlvs_config::parse(&text, "t.toml").unwrap()
    }

    fn key(port: u16) -> ServiceKey {
        ServiceKey {
            protocol: Protocol::Tcp,
            vip: Ipv4Addr::new(192, 0, 2, 10),
            port,
        }
    }

    fn real(n: u8, weight: Option<u16>) -> RealSpec {
        RealSpec {
            address: Ipv4Addr::new(10, 0, 1, n),
            port: 80,
            forward: None,
            weight,
        }
    }

    #[test]
    fn editing_one_port_splits_it_off() {
        let c = apply(
            &IpvsOp::EditReal {
                service: key(80),
                real: real(21, Some(0)),
            },
            &config(),
        )
        .unwrap();
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.services[0].ports, Ports::List(vec![443]));
        assert_eq!(c.services[0].reals[0].weight, 1, "port 443 untouched");
        assert_eq!(c.services[1].name, "web:80");
        assert_eq!(c.services[1].reals[0].weight, 0);
    }

    #[test]
    fn add_and_delete_reals_and_services_like_ipvsadm() {
        let c = apply(
            &IpvsOp::AddReal {
                service: key(80),
                real: real(23, None),
            },
            &config(),
        )
        .unwrap();
        let web80 = c.services.iter().find(|s| s.ports.contains(80)).unwrap();
        assert_eq!(web80.reals.len(), 3);
        assert_eq!(web80.reals[2].weight, 1);
        let err = apply(
            &IpvsOp::AddReal {
                service: key(80),
                real: real(21, None),
            },
            &config(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("already exists"), "{err}");
        let del = IpvsOp::DeleteReal {
            service: key(80),
            real: RealKey {
                address: Ipv4Addr::new(10, 0, 1, 99),
                port: 80,
            },
        };
        assert!(apply(&del, &config())
            .unwrap_err()
            .to_string()
            .contains("No such destination"));
        let err = apply(&IpvsOp::DeleteService { service: key(8080) }, &config())
            .unwrap_err()
            .to_string();
        assert!(err.contains("Service not defined"), "{err}");
        let add = IpvsOp::AddService(ServiceSpec {
            service: key(8080),
            scheduler: Scheduler::Mh,
            persistence: None,
        });
        let c = apply(&add, &config()).unwrap();
        assert_eq!(c.services.last().unwrap().name, "tcp-192.0.2.10-8080");
        assert!(apply(&add, &c)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        assert!(apply(&IpvsOp::Clear, &c).unwrap().services.is_empty());
    }

    #[test]
    fn a_real_cannot_use_another_method_than_its_service() {
        let mut r = real(23, None);
        r.forward = Some(Forward::Tun);
        let err = apply(
            &IpvsOp::AddReal {
                service: key(80),
                real: r,
            },
            &config(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("per service"), "{err}");
    }

    /// Seed 001 defines 172.18.140.1:80, then a PCC service on port 0 of
    /// the same VIP: two services in IPVS, and so here.
    #[test]
    fn port_zero_and_a_port_are_different_services() {
        let add = |port: u16| {
            IpvsOp::AddService(ServiceSpec {
                service: key(port),
                scheduler: Scheduler::Mh,
                persistence: None,
            })
        };
        let c = apply(&IpvsOp::Clear, &config()).unwrap();
        let c = apply(&add(80), &c).unwrap();
        let c = apply(&add(0), &c).unwrap();
        let c = apply(&add(443), &c).unwrap();
        assert_eq!(c.services.len(), 3);
        assert!(apply(&add(0), &c)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        let c = apply(
            &IpvsOp::AddReal {
                service: key(0),
                real: RealSpec {
                    port: 0,
                    ..real(21, Some(2))
                },
            },
            &c,
        )
        .unwrap();
        let reals =
            |c: &NodeConfig| -> Vec<usize> { c.services.iter().map(|s| s.reals.len()).collect() };
        assert_eq!(reals(&c), [0, 1, 0], "the real went to port 0 only");
        let c = apply(
            &IpvsOp::AddReal {
                service: key(443),
                real: real(22, None),
            },
            &c,
        )
        .unwrap();
        assert_eq!(reals(&c), [0, 1, 1], "the real went to port 443 only");
        let c = apply(&IpvsOp::DeleteService { service: key(0) }, &c).unwrap();
        assert_eq!(c.services[0].ports, Ports::List(vec![80]));
        assert_eq!(c.services[1].ports, Ports::List(vec![443]));
        let err = apply(&IpvsOp::DeleteService { service: key(0) }, &c)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Service not defined"), "{err}");
    }

    /// `-A` and `-E` take every scheduler ipvsadm names, with persistence
    /// or without; `-E` replaces both.
    #[test]
    fn every_scheduler_is_taken_by_add_and_edit() {
        let p = ipvs::Persistence {
            timeout_s: 120,
            netmask: Ipv4Addr::new(255, 255, 255, 0),
        };
        for scheduler in Scheduler::ALL {
            let add = IpvsOp::AddService(ServiceSpec {
                service: key(8080),
                scheduler,
                persistence: Some(p),
            });
            let c = apply(&add, &config()).unwrap();
            let s = c.services.last().unwrap();
            assert_eq!(s.scheduler, scheduler);
            assert_eq!(
                s.persistence,
                Some(Persistence {
                    timeout: Duration::from_secs(120),
                    mask: p.netmask
                })
            );
            let edit = IpvsOp::EditService(ServiceSpec {
                service: key(443),
                scheduler,
                persistence: None,
            });
            let c = apply(&edit, &c).unwrap();
            let s = c.services.iter().find(|s| s.name == "web:443").unwrap();
            assert_eq!((s.scheduler, s.persistence), (scheduler, None));
        }
    }
}
