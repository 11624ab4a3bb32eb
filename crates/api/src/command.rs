//! What a client can ask xlvsd: [`Command`]. On the wire a command is a
//! name and string arguments (`"command":"drain","args":["web"]`);
//! [`Command::parse`] and [`Command::to_wire`] convert between the two,
//! and a request that names no command, or gives one the wrong arguments,
//! is a [`CommandError`] saying so.

use crate::ipvs::IpvsOp;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `status`: the node, what it announces, each VIP ready or why not.
    Status,
    /// `ospf.neighbors`.
    OspfNeighbors,
    /// `ospf.database`.
    OspfDatabase,
    /// `ospf.interfaces`.
    OspfInterfaces,
    /// `ospf.stats`: packet counters, authentication failures, mismatches.
    OspfStats,
    /// `ospf.graceful`: a graceful restart under way and what it waits
    /// for, or none.
    OspfGraceful,
    /// `ospf.announce ADDRESS`: announce a /32 now (route control for
    /// operators and tests; drain builds on the same).
    OspfAnnounce(Ipv4Addr),
    /// `ospf.withdraw ADDRESS`.
    OspfWithdraw(Ipv4Addr),
    /// `restart.graceful [SECONDS]`: prepare an OSPF graceful restart with
    /// this grace period (none: the daemon's default), then exit.
    RestartGraceful { grace_period_s: Option<u64> },
    /// `drain [SERVICE]`: stop announcing a service's VIP, or every VIP.
    Drain { service: Option<String> },
    /// `undrain [SERVICE]`.
    Undrain { service: Option<String> },
    /// `reload`: re-read the node config file.
    Reload,
    /// `health [SERVICE]`: every real's state, of one service or all.
    Health { service: Option<String> },
    /// `ipvs.list ["connections"]`: the [`crate::ipvs::IpvsTable`], with
    /// the connection table only when asked (it can be huge).
    IpvsList { connections: bool },
    /// `ipvs OP`: an ipvsadm change; its one argument is the op's JSON.
    Ipvs(IpvsOp),
    /// `dataplane.stats`: the data plane's global counters.
    DataplaneStats,
    /// `sync`: flow-state sync with the other directors
    /// ([`crate::reply::SyncReport`]).
    Sync,
    /// `bfd`: the BFD sessions with the OSPF neighbors, and the counters.
    Bfd,
}

/// Why a command name and arguments are no command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// `expected` completes "COMMAND takes ...".
    #[error("{command} takes {expected}")]
    Arguments {
        command: &'static str,
        expected: &'static str,
    },
    #[error("{0:?} is not an IPv4 address")]
    Address(String),
    #[error("grace period {0:?}: expected seconds")]
    GracePeriod(String),
    #[error("malformed operation: {0}")]
    Operation(#[source] serde_json::Error),
}

/// `ipvs.list`'s one optional argument.
const CONNECTIONS: &str = "connections";

impl Command {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::OspfNeighbors => "ospf.neighbors",
            Command::OspfDatabase => "ospf.database",
            Command::OspfInterfaces => "ospf.interfaces",
            Command::OspfStats => "ospf.stats",
            Command::OspfGraceful => "ospf.graceful",
            Command::OspfAnnounce(_) => "ospf.announce",
            Command::OspfWithdraw(_) => "ospf.withdraw",
            Command::RestartGraceful { .. } => "restart.graceful",
            Command::Drain { .. } => "drain",
            Command::Undrain { .. } => "undrain",
            Command::Reload => "reload",
            Command::Health { .. } => "health",
            Command::IpvsList { .. } => "ipvs.list",
            Command::Ipvs(_) => "ipvs",
            Command::DataplaneStats => "dataplane.stats",
            Command::Sync => "sync",
            Command::Bfd => "bfd",
        }
    }

    /// The name and arguments a request carries.
    pub fn to_wire(&self) -> (&'static str, Vec<String>) {
        let args = match self {
            Command::OspfAnnounce(a) | Command::OspfWithdraw(a) => vec![a.to_string()],
            Command::RestartGraceful { grace_period_s } => {
                grace_period_s.iter().map(u64::to_string).collect()
            }
            Command::Drain { service }
            | Command::Undrain { service }
            | Command::Health { service } => service.iter().cloned().collect(),
            Command::IpvsList { connections: true } => vec![CONNECTIONS.to_string()],
            Command::Ipvs(op) => vec![serde_json::to_string(op).expect("ops serialize")],
            Command::Status
            | Command::OspfNeighbors
            | Command::OspfDatabase
            | Command::OspfInterfaces
            | Command::OspfStats
            | Command::OspfGraceful
            | Command::Reload
            | Command::IpvsList { connections: false }
            | Command::DataplaneStats
            | Command::Sync
            | Command::Bfd => Vec::new(),
        };
        (self.name(), args)
    }

    /// The command a request's name and arguments ask for.
    pub fn parse<S: AsRef<str>>(command: &str, args: &[S]) -> Result<Command, CommandError> {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        // Each arm checks the arguments against what its command takes.
        let without = |c: Command| match args[..] {
            [] => Ok(c),
            _ => Err(wrong(c.name(), "no arguments")),
        };
        let address = |name| match args[..] {
            [a] => a.parse().map_err(|_| CommandError::Address(a.to_string())),
            _ => Err(wrong(name, "one address")),
        };
        let service = |name| match args[..] {
            [] => Ok(None),
            [s] => Ok(Some(s.to_string())),
            _ => Err(wrong(name, "at most one service name")),
        };
        match command {
            "status" => without(Command::Status),
            "ospf.neighbors" => without(Command::OspfNeighbors),
            "ospf.database" => without(Command::OspfDatabase),
            "ospf.interfaces" => without(Command::OspfInterfaces),
            "ospf.stats" => without(Command::OspfStats),
            "ospf.graceful" => without(Command::OspfGraceful),
            "ospf.announce" => address("ospf.announce").map(Command::OspfAnnounce),
            "ospf.withdraw" => address("ospf.withdraw").map(Command::OspfWithdraw),
            "restart.graceful" => {
                let grace_period_s = match args[..] {
                    [] => None,
                    [s] => Some(
                        s.parse()
                            .map_err(|_| CommandError::GracePeriod(s.to_string()))?,
                    ),
                    _ => {
                        return Err(wrong(
                            "restart.graceful",
                            "at most a grace period in seconds",
                        ))
                    }
                };
                Ok(Command::RestartGraceful { grace_period_s })
            }
            "drain" => service("drain").map(|service| Command::Drain { service }),
            "undrain" => service("undrain").map(|service| Command::Undrain { service }),
            "reload" => without(Command::Reload),
            "health" => service("health").map(|service| Command::Health { service }),
            "ipvs.list" => match args[..] {
                [] => Ok(Command::IpvsList { connections: false }),
                [CONNECTIONS] => Ok(Command::IpvsList { connections: true }),
                _ => Err(wrong("ipvs.list", "no arguments, or \"connections\"")),
            },
            "ipvs" => match args[..] {
                [json] => serde_json::from_str(json)
                    .map(Command::Ipvs)
                    .map_err(CommandError::Operation),
                _ => Err(wrong("ipvs", "one argument: the operation as JSON")),
            },
            "dataplane.stats" => without(Command::DataplaneStats),
            "sync" => without(Command::Sync),
            "bfd" => without(Command::Bfd),
            other => Err(CommandError::Unknown(other.to_string())),
        }
    }
}

fn wrong(command: &'static str, expected: &'static str) -> CommandError {
    CommandError::Arguments { command, expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{ServiceKey, Timeouts};
    use crate::{Protocol, Request};

    /// One of every command; `variant` makes a new one a compile error
    /// here until it is added.
    fn every_command() -> Vec<Command> {
        let all = vec![
            Command::Status,
            Command::OspfNeighbors,
            Command::OspfDatabase,
            Command::OspfInterfaces,
            Command::OspfStats,
            Command::OspfGraceful,
            Command::OspfAnnounce("192.0.2.10".parse().unwrap()),
            Command::OspfWithdraw("192.0.2.11".parse().unwrap()),
            Command::RestartGraceful {
                grace_period_s: None,
            },
            Command::RestartGraceful {
                grace_period_s: Some(120),
            },
            Command::Drain { service: None },
            Command::Drain {
                service: Some("web".into()),
            },
            Command::Undrain { service: None },
            Command::Undrain {
                service: Some("web".into()),
            },
            Command::Reload,
            Command::Health { service: None },
            Command::Health {
                service: Some("dns".into()),
            },
            Command::IpvsList { connections: false },
            Command::IpvsList { connections: true },
            Command::Ipvs(IpvsOp::Zero {
                service: Some(ServiceKey {
                    protocol: Protocol::Udp,
                    vip: "192.0.2.53".parse().unwrap(),
                    port: 53,
                }),
            }),
            Command::Ipvs(IpvsOp::SetTimeouts(Timeouts {
                tcp_s: 900,
                tcpfin_s: 120,
                udp_s: 300,
            })),
            Command::DataplaneStats,
            Command::Sync,
            Command::Bfd,
        ];
        let mut seen: Vec<usize> = all.iter().map(variant).collect();
        seen.dedup();
        assert_eq!(seen, (0..18).collect::<Vec<_>>(), "one of each, in order");
        all
    }

    fn variant(c: &Command) -> usize {
        match c {
            Command::Status => 0,
            Command::OspfNeighbors => 1,
            Command::OspfDatabase => 2,
            Command::OspfInterfaces => 3,
            Command::OspfStats => 4,
            Command::OspfGraceful => 5,
            Command::OspfAnnounce(_) => 6,
            Command::OspfWithdraw(_) => 7,
            Command::RestartGraceful { .. } => 8,
            Command::Drain { .. } => 9,
            Command::Undrain { .. } => 10,
            Command::Reload => 11,
            Command::Health { .. } => 12,
            Command::IpvsList { .. } => 13,
            Command::Ipvs(_) => 14,
            Command::DataplaneStats => 15,
            Command::Sync => 16,
            Command::Bfd => 17,
        }
    }

    #[test]
    fn every_command_round_trips_through_name_and_arguments() {
        for c in every_command() {
            let (name, args) = c.to_wire();
            assert_eq!(Command::parse(name, &args).unwrap(), c, "{name} {args:?}");
        }
    }

    #[test]
    fn every_command_round_trips_through_a_request_line() {
        for c in every_command() {
            let line = serde_json::to_string(&Request::new(&c)).unwrap();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(Request::parse(&line).unwrap(), c, "{line}");
        }
    }

    /// What xlvsadm and the tests have always sent, byte for byte.
    #[test]
    fn the_wire_form_of_version_1() {
        let line = |c: &Command| serde_json::to_string(&Request::new(c)).unwrap();
        assert_eq!(
            line(&Command::Status),
            r#"{"version":1,"command":"status","args":[]}"#
        );
        assert_eq!(
            line(&Command::RestartGraceful {
                grace_period_s: Some(60)
            }),
            r#"{"version":1,"command":"restart.graceful","args":["60"]}"#
        );
        assert_eq!(
            line(&Command::OspfWithdraw("192.0.2.10".parse().unwrap())),
            r#"{"version":1,"command":"ospf.withdraw","args":["192.0.2.10"]}"#
        );
        assert_eq!(
            line(&Command::IpvsList { connections: true }),
            r#"{"version":1,"command":"ipvs.list","args":["connections"]}"#
        );
        assert_eq!(
            line(&Command::Ipvs(IpvsOp::Clear)),
            r#"{"version":1,"command":"ipvs","args":["{\"op\":\"clear\"}"]}"#
        );
    }

    #[test]
    fn wrong_arguments_are_named() {
        let cases: [(&str, &[&str], &str); 15] = [
            ("nope", &[], r#"unknown command "nope""#),
            ("ospf.announce", &[], "ospf.announce takes one address"),
            (
                "ospf.withdraw",
                &["a", "b"],
                "ospf.withdraw takes one address",
            ),
            (
                "ospf.announce",
                &["192.0.2.300"],
                r#""192.0.2.300" is not an IPv4 address"#,
            ),
            (
                "restart.graceful",
                &["soon"],
                r#"grace period "soon": expected seconds"#,
            ),
            (
                "restart.graceful",
                &["60", "s"],
                "restart.graceful takes at most a grace period in seconds",
            ),
            (
                "drain",
                &["web", "dns"],
                "drain takes at most one service name",
            ),
            (
                "undrain",
                &["a", "b"],
                "undrain takes at most one service name",
            ),
            (
                "health",
                &["a", "b"],
                "health takes at most one service name",
            ),
            (
                "ipvs",
                &[],
                "ipvs takes one argument: the operation as JSON",
            ),
            ("ipvs", &["{}"], "malformed operation: missing field `op`"),
            (
                "ipvs.list",
                &["everything"],
                r#"ipvs.list takes no arguments, or "connections""#,
            ),
            ("status", &["now"], "status takes no arguments"),
            ("reload", &["-f"], "reload takes no arguments"),
            (
                "dataplane.stats",
                &["x"],
                "dataplane.stats takes no arguments",
            ),
        ];
        for (name, args, message) in cases {
            let err = Command::parse(name, args).unwrap_err().to_string();
            assert!(err.starts_with(message), "{name} {args:?}: {err}");
        }
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(
            Command::parse("x", &[] as &[&str]),
            Err(CommandError::Unknown(name)) if name == "x"
        ));
        assert!(matches!(
            Command::parse("drain", &["a", "b"]),
            Err(CommandError::Arguments {
                command: "drain",
                ..
            })
        ));
        assert!(matches!(
            Command::parse("ospf.announce", &["x"]),
            Err(CommandError::Address(a)) if a == "x"
        ));
        assert!(matches!(
            Command::parse("restart.graceful", &["-1"]),
            Err(CommandError::GracePeriod(_))
        ));
        assert!(matches!(
            Command::parse("ipvs", &[r#"{"op":"zero","service":{"protocol":"SCTP"}}"#]),
            Err(CommandError::Operation(_))
        ));
    }
}
