//! ipvsadm's grammar: which options each command takes or needs, and the
//! typed [`IpvsCommand`] they make.

use super::addr;
use super::command::{IpvsCommand, ListFormat, ListOptions, ListWhat};
use super::error::UsageError;
use super::options::{self, Class, Cmd, Given, Id, Token};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use xlvs_api::ipvs::{IpvsOp, Persistence, RealKey, RealSpec, ServiceKey, ServiceSpec, Timeouts};
use xlvs_api::Scheduler;

/// Options that pick the daemon and the output, valid with any command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Globals {
    pub node: Option<String>,
    pub socket: Option<PathBuf>,
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub command: IpvsCommand,
    pub globals: Globals,
}

/// Whether a command line is an ipvsadm one: after the leading global
/// options, nothing or an option. Otherwise it is a subcommand (`status`,
/// `ospf ...`).
pub fn is_ipvsadm<S: AsRef<str>>(args: &[S]) -> bool {
    let mut i = 0;
    while let Some(a) = args.get(i).map(AsRef::as_ref) {
        let Some(long) = a.strip_prefix("--") else {
            break;
        };
        let (name, inline) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        if !options::is_global(name) {
            break;
        }
        i += if options::global_takes_value(name) && !inline {
            2
        } else {
            1
        };
    }
    args.get(i).is_none_or(|a| a.as_ref().starts_with('-'))
}

/// Parses one ipvsadm command line (without the program name). No
/// arguments at all lists the table, as in ipvsadm.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Parsed, UsageError> {
    let mut globals = Globals::default();
    let mut command: Option<(Cmd, String)> = None;
    let mut given: Vec<(Class, Given)> = Vec::new();
    let mut positional = Vec::new();
    for token in options::lex(args)? {
        let g = match token {
            Token::Positional(p) => {
                positional.push(p);
                continue;
            }
            Token::Opt(g) => g,
        };
        match g.id {
            Id::Cmd(Cmd::Help) => return Ok(local(IpvsCommand::Help)),
            Id::Cmd(Cmd::Version) => return Ok(local(IpvsCommand::Version)),
            Id::Cmd(c) => {
                if let Some((_, first)) = &command {
                    return Err(UsageError::MultipleCommands {
                        first: first.clone(),
                        second: g.spelled,
                    });
                }
                command = Some((c, g.spelled));
            }
            Id::Service(None) => {
                return Err(UsageError::FirewallMark {
                    option: g.spelled,
                    value: g.value.unwrap_or_default(),
                })
            }
            Id::Node => globals.node = g.value,
            Id::Socket => globals.socket = g.value.map(PathBuf::from),
            Id::Json => globals.json = true,
            // --sort is ipvsadm's no-op; unsupported options fail in lex.
            Id::Sort | Id::Unsupported(_) => {}
            Id::Service(Some(_)) | Id::Forward(_) | Id::Other(_) => {
                let class = g.id.class().expect("an option with a class");
                if let Some((_, first)) = given.iter().find(|(c, _)| *c == class) {
                    return Err(UsageError::Repeated {
                        what: class.what(),
                        first: first.spelled.clone(),
                        second: g.spelled,
                    });
                }
                given.push((class, g));
            }
        }
    }
    let Some((cmd, spelled)) = command else {
        if given.is_empty() && positional.is_empty() {
            let list = ListOptions {
                what: ListWhat::Services(None),
                format: ListFormat::Plain,
                numeric: false,
                exact: false,
                sort: true,
            };
            return Ok(Parsed {
                command: IpvsCommand::List(list),
                globals,
            });
        }
        return Err(UsageError::NoCommand);
    };
    let line = Line {
        cmd,
        spelled,
        given,
    };
    line.check()?;
    let command = line.build(positional)?;
    Ok(Parsed { command, globals })
}

fn local(command: IpvsCommand) -> Parsed {
    Parsed {
        command,
        globals: Globals::default(),
    }
}

/// Classes each command allows, as in ipvsadm's table of legal options.
fn allowed(cmd: Cmd) -> &'static [Class] {
    use Class::*;
    match cmd {
        Cmd::AddService | Cmd::EditService => &[Service, Scheduler, Persistent, Netmask],
        Cmd::DeleteService => &[Service],
        Cmd::AddServer | Cmd::EditServer => &[Service, Real, Forward, Weight],
        Cmd::DeleteServer => &[Service, Real],
        Cmd::List => &[
            Numeric,
            Connection,
            Service,
            Timeout,
            Stats,
            Rate,
            PersistentConn,
            Exact,
            NoSort,
        ],
        Cmd::Save => &[Numeric],
        Cmd::Zero => &[Service],
        Cmd::Clear | Cmd::Set | Cmd::Restore | Cmd::Help | Cmd::Version => &[],
    }
}

const NEEDS_SERVICE: (Class, &str) = (Class::Service, "a service: -t VIP:PORT or -u VIP:PORT");
const NEEDS_REAL: (Class, &str) = (Class::Real, "a real server: -r ADDRESS[:PORT]");

fn required(cmd: Cmd) -> &'static [(Class, &'static str)] {
    match cmd {
        Cmd::AddService | Cmd::EditService | Cmd::DeleteService => &[NEEDS_SERVICE],
        Cmd::AddServer | Cmd::EditServer | Cmd::DeleteServer => &[NEEDS_SERVICE, NEEDS_REAL],
        _ => &[],
    }
}

struct Line {
    cmd: Cmd,
    spelled: String,
    given: Vec<(Class, Given)>,
}

impl Line {
    fn get(&self, class: Class) -> Option<&Given> {
        self.given.iter().find(|(c, _)| *c == class).map(|(_, g)| g)
    }

    fn has(&self, class: Class) -> bool {
        self.get(class).is_some()
    }

    /// Options the command does not take, needs it does not meet, and the
    /// listing options that exclude each other.
    fn check(&self) -> Result<(), UsageError> {
        for (class, g) in &self.given {
            if !allowed(self.cmd).contains(class) {
                return Err(UsageError::NotAllowed {
                    option: g.spelled.clone(),
                    command: self.spelled.clone(),
                });
            }
        }
        for (class, needs) in required(self.cmd) {
            if !self.has(*class) {
                return Err(UsageError::Missing {
                    command: self.spelled.clone(),
                    needs,
                });
            }
        }
        if self.cmd == Cmd::List {
            use Class::*;
            let conflicts = [
                (Connection, Service),
                (Connection, Timeout),
                (Service, Timeout),
                (Connection, Stats),
                (Connection, Rate),
                (Timeout, Stats),
                (Timeout, Rate),
            ];
            for (a, b) in conflicts {
                let pos = |c: Class| self.given.iter().position(|(k, _)| *k == c);
                if let (Some(x), Some(y)) = (pos(a), pos(b)) {
                    let (first, second) = (x.min(y), x.max(y));
                    return Err(UsageError::Conflict {
                        first: self.given[first].1.spelled.clone(),
                        second: self.given[second].1.spelled.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    fn service(&self) -> Result<Option<ServiceKey>, UsageError> {
        let Some(g) = self.get(Class::Service) else {
            return Ok(None);
        };
        let Id::Service(Some(protocol)) = g.id else {
            unreachable!("firewall marks are refused while lexing")
        };
        let value = g.value.as_deref().unwrap_or_default();
        let (vip, port) = addr::service_addr(&g.spelled, value)?;
        Ok(Some(ServiceKey {
            protocol,
            vip,
            port,
        }))
    }

    fn build(&self, positional: Vec<String>) -> Result<IpvsCommand, UsageError> {
        if self.cmd == Cmd::Set {
            return self.set(positional);
        }
        if let Some(p) = positional.into_iter().next() {
            return Err(UsageError::Unexpected { arg: p });
        }
        let service = self.service()?;
        let op = match self.cmd {
            Cmd::AddService => IpvsOp::AddService(self.service_spec(service)?),
            Cmd::EditService => IpvsOp::EditService(self.service_spec(service)?),
            Cmd::DeleteService => IpvsOp::DeleteService {
                service: service.expect("checked"),
            },
            Cmd::AddServer | Cmd::EditServer => {
                let service = service.expect("checked");
                let real = self.real_spec(&service)?;
                if self.cmd == Cmd::AddServer {
                    IpvsOp::AddReal { service, real }
                } else {
                    IpvsOp::EditReal { service, real }
                }
            }
            Cmd::DeleteServer => {
                let service = service.expect("checked");
                let (address, port) = self.real()?;
                IpvsOp::DeleteReal {
                    service,
                    real: RealKey {
                        address,
                        port: port.unwrap_or(service.port),
                    },
                }
            }
            Cmd::Clear => IpvsOp::Clear,
            Cmd::Zero => IpvsOp::Zero { service },
            Cmd::Restore => return Ok(IpvsCommand::Restore),
            Cmd::Save => {
                return Ok(IpvsCommand::Save {
                    numeric: self.has(Class::Numeric),
                })
            }
            Cmd::List => return Ok(IpvsCommand::List(self.list(service))),
            Cmd::Set | Cmd::Help | Cmd::Version => unreachable!("handled before"),
        };
        Ok(IpvsCommand::Op(op))
    }

    fn service_spec(&self, service: Option<ServiceKey>) -> Result<ServiceSpec, UsageError> {
        let service = service.expect("checked");
        let scheduler = match self.get(Class::Scheduler) {
            None => Scheduler::IPVSADM_DEFAULT,
            Some(g) => {
                let v = g.value.as_deref().unwrap_or_default();
                v.parse().map_err(|()| UsageError::UnknownScheduler {
                    option: g.spelled.clone(),
                    value: v.to_string(),
                })?
            }
        };
        // Like ipvsadm, -M is read (and refused if bad) even without -p,
        // where it then means nothing.
        let netmask = match self.get(Class::Netmask) {
            None => Ipv4Addr::BROADCAST,
            Some(m) => addr::netmask(&m.spelled, m.value.as_deref().unwrap_or_default())?,
        };
        let persistence = match self.get(Class::Persistent) {
            None => None,
            Some(p) => Some(Persistence {
                timeout_s: match &p.value {
                    None => Persistence::DEFAULT_TIMEOUT_S,
                    Some(v) => addr::timeout(&p.spelled, v, 1, Persistence::MAX_TIMEOUT_S)?,
                },
                netmask,
            }),
        };
        if service.port == 0 && persistence.is_none() {
            let g = self.get(Class::Service).expect("checked");
            return Err(UsageError::ZeroPortNotPersistent {
                option: g.spelled.clone(),
                value: g.value.clone().unwrap_or_default(),
            });
        }
        Ok(ServiceSpec {
            service,
            scheduler,
            persistence,
        })
    }

    fn real(&self) -> Result<(Ipv4Addr, Option<u16>), UsageError> {
        let g = self.get(Class::Real).expect("checked");
        addr::real_addr(&g.spelled, g.value.as_deref().unwrap_or_default())
    }

    fn real_spec(&self, service: &ServiceKey) -> Result<RealSpec, UsageError> {
        let (address, port) = self.real()?;
        let forward = self.get(Class::Forward).map(|g| match g.id {
            Id::Forward(f) => f,
            _ => unreachable!("the forward class holds forward options"),
        });
        // As in ipvsadm: only NAT methods map ports; -g and -i use the
        // service's port whatever -r says.
        let port = match forward {
            Some(f) if !f.maps_ports() => service.port,
            _ => port.unwrap_or(service.port),
        };
        let weight = match self.get(Class::Weight) {
            None => None,
            Some(g) => {
                Some(
                    addr::number(&g.spelled, g.value.as_deref().unwrap_or_default(), 0, 65535)?
                        as u16,
                )
            }
        };
        Ok(RealSpec {
            address,
            port,
            forward,
            weight,
        })
    }

    fn list(&self, service: Option<ServiceKey>) -> ListOptions {
        let what = if self.has(Class::Connection) {
            ListWhat::Connections
        } else if self.has(Class::Timeout) {
            ListWhat::Timeouts
        } else {
            ListWhat::Services(service)
        };
        // ipvsadm lets --stats win when both are given.
        let format = if self.has(Class::Stats) {
            ListFormat::Stats
        } else if self.has(Class::Rate) {
            ListFormat::Rate
        } else if self.has(Class::PersistentConn) {
            ListFormat::PersistentConn
        } else {
            ListFormat::Plain
        };
        ListOptions {
            what,
            format,
            numeric: self.has(Class::Numeric),
            exact: self.has(Class::Exact),
            sort: !self.has(Class::NoSort),
        }
    }

    fn set(&self, positional: Vec<String>) -> Result<IpvsCommand, UsageError> {
        if positional.len() < 3 {
            return Err(UsageError::SetNeedsThree {
                option: self.spelled.clone(),
            });
        }
        if let Some(extra) = positional.get(3) {
            return Err(UsageError::Unexpected { arg: extra.clone() });
        }
        let t =
            |i: usize| addr::timeout(&self.spelled, &positional[i], 0, Persistence::MAX_TIMEOUT_S);
        Ok(IpvsCommand::Op(IpvsOp::SetTimeouts(Timeouts {
            tcp_s: t(0)?,
            tcpfin_s: t(1)?,
            udp_s: t(2)?,
        })))
    }
}
