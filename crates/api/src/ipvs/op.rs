//! The changes of ipvsadm's runtime verbs (-A -E -D -a -e -d -C -Z --set),
//! each sent as one `ipvs` request whose single argument is the op's JSON.
//! `Display` of an op is its canonical ipvsadm command line, which
//! `xlvsadm -S` prints and `-R` reads back.

use super::service::{Persistence, ServiceKey, Timeouts};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use xlvs_config::{Forward, Scheduler};

/// A change the daemon applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IpvsOp {
    /// `-A`.
    AddService(ServiceSpec),
    /// `-E`: like ipvsadm, replaces scheduler and persistence as a whole
    /// (no `-s` means wlc, no `-p` means not persistent).
    EditService(ServiceSpec),
    /// `-D`.
    DeleteService { service: ServiceKey },
    /// `-a`.
    AddReal { service: ServiceKey, real: RealSpec },
    /// `-e`: only what the line names changes (see [`RealSpec`]).
    EditReal { service: ServiceKey, real: RealSpec },
    /// `-d`.
    DeleteReal { service: ServiceKey, real: RealKey },
    /// `-C`: every service.
    Clear,
    /// `-Z`: counters of one service, or of all.
    Zero { service: Option<ServiceKey> },
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub service: ServiceKey,
    /// wlc when `-s` is not given, as in ipvsadm.
    #[serde(with = "crate::spelling")]
    pub scheduler: Scheduler,
    pub persistence: Option<Persistence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealSpec {
    pub address: Ipv4Addr,
    /// The service port when `-r` gives none, and always under `-g`/`-i`
    /// (like ipvsadm: only NAT methods map ports). 0 under a port-0 service.
    pub port: u16,
    /// `None` when no forwarding option was given: on `-a` the service's
    /// method, or `Route` (ipvsadm's default) for its first real; on `-e`
    /// unchanged.
    #[serde(default, with = "crate::spelling::option")]
    pub forward: Option<Forward>,
    /// `None` when `-w` was not given: 1 on `-a` (ipvsadm's default), on
    /// `-e` unchanged.
    pub weight: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealKey {
    pub address: Ipv4Addr,
    pub port: u16,
}

impl RealSpec {
    pub fn key(&self) -> RealKey {
        RealKey {
            address: self.address,
            port: self.port,
        }
    }
}

/// `-t 192.0.2.10:80`.
struct Svc<'a>(&'a ServiceKey);

impl fmt::Display for Svc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.protocol.flag(), self.0.addr())
    }
}

impl fmt::Display for IpvsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = |f: &mut fmt::Formatter<'_>, verb: &str, s: &ServiceSpec| {
            write!(f, "{verb} {} -s {}", Svc(&s.service), s.scheduler)?;
            if let Some(p) = &s.persistence {
                write!(f, " -p {}", p.timeout_s)?;
                if p.netmask != Ipv4Addr::BROADCAST {
                    write!(f, " -M {}", p.netmask)?;
                }
            }
            Ok(())
        };
        let real = |f: &mut fmt::Formatter<'_>, verb: &str, svc: &ServiceKey, r: &RealSpec| {
            let addr = SocketAddrV4::new(r.address, r.port);
            write!(f, "{verb} {} -r {addr}", Svc(svc))?;
            if let Some(fwd) = r.forward {
                write!(f, " {}", fwd.flag())?;
            }
            if let Some(w) = r.weight {
                write!(f, " -w {w}")?;
            }
            Ok(())
        };
        match self {
            IpvsOp::AddService(s) => service(f, "-A", s),
            IpvsOp::EditService(s) => service(f, "-E", s),
            IpvsOp::DeleteService { service } => write!(f, "-D {}", Svc(service)),
            IpvsOp::AddReal { service, real: r } => real(f, "-a", service, r),
            IpvsOp::EditReal { service, real: r } => real(f, "-e", service, r),
            IpvsOp::DeleteReal { service, real } => write!(
                f,
                "-d {} -r {}",
                Svc(service),
                SocketAddrV4::new(real.address, real.port)
            ),
            IpvsOp::Clear => f.write_str("-C"),
            IpvsOp::Zero { service: None } => f.write_str("-Z"),
            IpvsOp::Zero {
                service: Some(service),
            } => write!(f, "-Z {}", Svc(service)),
            IpvsOp::SetTimeouts(t) => write!(f, "--set {} {} {}", t.tcp_s, t.tcpfin_s, t.udp_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlvs_config::Protocol;

    fn web() -> ServiceKey {
        ServiceKey {
            protocol: Protocol::Tcp,
            vip: "192.0.2.10".parse().unwrap(),
            port: 80,
        }
    }

    /// The JSON the daemon receives, written out once so a change to the
    /// wire format is a visible test change.
    #[test]
    fn wire_format() {
        let cases = [
            (
                IpvsOp::AddService(ServiceSpec {
                    service: web(),
                    scheduler: Scheduler::Mh,
                    persistence: Some(Persistence {
                        timeout_s: 300,
                        netmask: "255.255.255.0".parse().unwrap(),
                    }),
                }),
                r#"{"op":"add_service","service":{"protocol":"TCP","vip":"192.0.2.10","port":80},"scheduler":"mh","persistence":{"timeout_s":300,"netmask":"255.255.255.0"}}"#,
            ),
            (
                IpvsOp::AddReal {
                    service: web(),
                    real: RealSpec {
                        address: "10.0.1.21".parse().unwrap(),
                        port: 80,
                        forward: Some(Forward::Dr),
                        weight: None,
                    },
                },
                r#"{"op":"add_real","service":{"protocol":"TCP","vip":"192.0.2.10","port":80},"real":{"address":"10.0.1.21","port":80,"forward":"Route","weight":null}}"#,
            ),
            (
                IpvsOp::DeleteReal {
                    service: web(),
                    real: RealKey {
                        address: "10.0.1.21".parse().unwrap(),
                        port: 80,
                    },
                },
                r#"{"op":"delete_real","service":{"protocol":"TCP","vip":"192.0.2.10","port":80},"real":{"address":"10.0.1.21","port":80}}"#,
            ),
            (IpvsOp::Clear, r#"{"op":"clear"}"#),
            (
                IpvsOp::Zero { service: None },
                r#"{"op":"zero","service":null}"#,
            ),
            (
                IpvsOp::SetTimeouts(Timeouts {
                    tcp_s: 900,
                    tcpfin_s: 120,
                    udp_s: 300,
                }),
                r#"{"op":"set_timeouts","tcp_s":900,"tcpfin_s":120,"udp_s":300}"#,
            ),
        ];
        for (op, json) in cases {
            assert_eq!(serde_json::to_string(&op).unwrap(), json);
            assert_eq!(serde_json::from_str::<IpvsOp>(json).unwrap(), op);
        }
    }

    #[test]
    fn an_op_displays_as_its_ipvsadm_line() {
        let udp = ServiceKey {
            protocol: Protocol::Udp,
            vip: "203.0.113.53".parse().unwrap(),
            port: 53,
        };
        let lines = [
            (
                IpvsOp::EditService(ServiceSpec {
                    service: udp,
                    scheduler: Scheduler::Sh,
                    persistence: Some(Persistence {
                        timeout_s: 60,
                        netmask: "255.255.255.0".parse().unwrap(),
                    }),
                }),
                "-E -u 203.0.113.53:53 -s sh -p 60 -M 255.255.255.0",
            ),
            (
                IpvsOp::EditReal {
                    service: web(),
                    real: RealSpec {
                        address: "10.0.1.21".parse().unwrap(),
                        port: 8080,
                        forward: Some(Forward::Fullnat),
                        weight: Some(0),
                    },
                },
                "-e -t 192.0.2.10:80 -r 10.0.1.21:8080 --fullnat -w 0",
            ),
            (IpvsOp::Zero { service: Some(udp) }, "-Z -u 203.0.113.53:53"),
        ];
        for (op, line) in lines {
            assert_eq!(op.to_string(), line);
        }
    }
}
