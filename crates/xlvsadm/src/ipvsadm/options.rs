//! ipvsadm's options, and the lexer that splits argv into them.
//!
//! The lexer follows popt, which ipvsadm uses: short options bundle (`-Ln`),
//! a short option's value may be attached (`-w5`) or the next argument,
//! long options take `--name value` or `--name=value`, a required value is
//! taken even when it starts with `-`, and `-p`'s optional value only when
//! the next argument does not start with `-`. Options may come in any order
//! (ipvsadm wants the command first; accepting more is harmless).

use super::error::UsageError;
use xlvs_api::{Forward, Protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
    AddService,
    EditService,
    DeleteService,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DeleteServer,
    Set,
    Restore,
    Save,
    Help,
    Version,
}

/// Options other than commands, grouped as ipvsadm counts them: two
/// options of one class are an error (`-g -m`, or `-t` twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Real,
    Forward,
    Weight,
    Numeric,
    Connection,
    Timeout,
    Stats,
    Rate,
    PersistentConn,
    Exact,
    NoSort,
}

impl Class {
    /// ipvsadm's name for the class, used in messages.
    pub(super) fn what(self) -> &'static str {
        match self {
            Class::Service => "service-address",
            Class::Scheduler => "scheduler",
            Class::Persistent => "persistent",
            Class::Netmask => "netmask",
            Class::Real => "real-server",
            Class::Forward => "forwarding-method",
            Class::Weight => "weight",
            Class::Numeric => "numeric",
            Class::Connection => "connection",
            Class::Timeout => "timeout",
            Class::Stats => "stats",
            Class::Rate => "rate",
            Class::PersistentConn => "persistent-conn",
            Class::Exact => "exact",
            Class::NoSort => "nosort",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Id {
    Cmd(Cmd),
    /// `-t`/`-u`; `None` is `-f` (firewall mark).
    Service(Option<Protocol>),
    Forward(Forward),
    Other(Class),
    /// `--sort`: ipvsadm's no-op.
    Sort,
    Node,
    Socket,
    Json,
    /// An ipvsadm option xlvs has no counterpart for, and why.
    Unsupported(&'static str),
}

impl Id {
    pub(super) fn class(self) -> Option<Class> {
        match self {
            Id::Service(_) => Some(Class::Service),
            Id::Forward(_) => Some(Class::Forward),
            Id::Other(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Value,
    /// `-p [timeout]`.
    Optional,
}

struct Spec {
    short: Option<char>,
    long: &'static str,
    takes: Takes,
    id: Id,
}

const fn opt(short: Option<char>, long: &'static str, takes: Takes, id: Id) -> Spec {
    Spec {
        short,
        long,
        takes,
        id,
    }
}

const NO_SYNC: &str = "xlvs syncs connections between directors through [cluster] in the node config, not a daemon started by ipvsadm";
const NO_THRESHOLDS: &str = "connection thresholds are not supported";
const NO_LADDR: &str =
    "FULLNAT local addresses come from [fullnat] local_addresses in the node config";

use Takes::{Nothing, Optional, Value};

const TABLE: &[Spec] = &[
    opt(Some('A'), "add-service", Nothing, Id::Cmd(Cmd::AddService)),
    opt(Some('E'), "edit-service", Nothing, Id::Cmd(Cmd::EditService)),
    opt(Some('D'), "delete-service", Nothing, Id::Cmd(Cmd::DeleteService)),
    opt(Some('C'), "clear", Nothing, Id::Cmd(Cmd::Clear)),
    opt(Some('L'), "list", Nothing, Id::Cmd(Cmd::List)),
    opt(Some('l'), "list", Nothing, Id::Cmd(Cmd::List)),
    opt(Some('Z'), "zero", Nothing, Id::Cmd(Cmd::Zero)),
    opt(Some('a'), "add-server", Nothing, Id::Cmd(Cmd::AddServer)),
    opt(Some('e'), "edit-server", Nothing, Id::Cmd(Cmd::EditServer)),
    opt(Some('d'), "delete-server", Nothing, Id::Cmd(Cmd::DeleteServer)),
    opt(None, "set", Nothing, Id::Cmd(Cmd::Set)),
    opt(Some('R'), "restore", Nothing, Id::Cmd(Cmd::Restore)),
    opt(Some('S'), "save", Nothing, Id::Cmd(Cmd::Save)),
    opt(Some('h'), "help", Nothing, Id::Cmd(Cmd::Help)),
    opt(Some('v'), "version", Nothing, Id::Cmd(Cmd::Version)),
    // clap's spelling, which xlvsadm accepted before the ipvsadm verbs.
    opt(Some('V'), "version", Nothing, Id::Cmd(Cmd::Version)),
    opt(
        Some('t'),
        "tcp-service",
        Value,
        Id::Service(Some(Protocol::Tcp)),
    ),
    opt(
        Some('u'),
        "udp-service",
        Value,
        Id::Service(Some(Protocol::Udp)),
    ),
    opt(Some('f'), "fwmark-service", Value, Id::Service(None)),
    opt(Some('s'), "scheduler", Value, Id::Other(Class::Scheduler)),
    opt(Some('p'), "persistent", Optional, Id::Other(Class::Persistent)),
    opt(Some('M'), "netmask", Value, Id::Other(Class::Netmask)),
    opt(Some('r'), "real-server", Value, Id::Other(Class::Real)),
    opt(Some('g'), "gatewaying", Nothing, Id::Forward(Forward::Dr)),
    opt(Some('i'), "ipip", Nothing, Id::Forward(Forward::Tun)),
    opt(Some('m'), "masquerading", Nothing, Id::Forward(Forward::Nat)),
    opt(None, "fullnat", Nothing, Id::Forward(Forward::Fullnat)),
    opt(Some('w'), "weight", Value, Id::Other(Class::Weight)),
    opt(Some('n'), "numeric", Nothing, Id::Other(Class::Numeric)),
    opt(Some('c'), "connection", Nothing, Id::Other(Class::Connection)),
    opt(None, "timeout", Nothing, Id::Other(Class::Timeout)),
    opt(None, "stats", Nothing, Id::Other(Class::Stats)),
    opt(None, "rate", Nothing, Id::Other(Class::Rate)),
    opt(Some('X'), "exact", Nothing, Id::Other(Class::Exact)),
    opt(None, "nosort", Nothing, Id::Other(Class::NoSort)),
    opt(None, "sort", Nothing, Id::Sort),
    opt(None, "node", Value, Id::Node),
    opt(None, "socket", Value, Id::Socket),
    opt(None, "json", Nothing, Id::Json),
    // ipvsadm options without a counterpart: refused with the reason.
    opt(Some('x'), "u-threshold", Nothing, Id::Unsupported(NO_THRESHOLDS)),
    opt(Some('y'), "l-threshold", Nothing, Id::Unsupported(NO_THRESHOLDS)),
    opt(None, "thresholds", Nothing, Id::Unsupported(NO_THRESHOLDS)),
    opt(None, "start-daemon", Nothing, Id::Unsupported(NO_SYNC)),
    opt(None, "stop-daemon", Nothing, Id::Unsupported(NO_SYNC)),
    opt(None, "daemon", Nothing, Id::Unsupported(NO_SYNC)),
    opt(None, "mcast-interface", Nothing, Id::Unsupported(NO_SYNC)),
    opt(None, "syncid", Nothing, Id::Unsupported(NO_SYNC)),
    opt(
        None,
        "persistent-conn",
        Nothing,
        Id::Other(Class::PersistentConn),
    ),
    opt(
        Some('6'),
        "ipv6",
        Nothing,
        Id::Unsupported("IPv6 is not supported (xlvs is IPv4-only)"),
    ),
    opt(
        Some('o'),
        "ops",
        Nothing,
        Id::Unsupported("one-packet scheduling is not supported"),
    ),
    opt(
        Some('b'),
        "sched-flags",
        Nothing,
        Id::Unsupported("scheduler flags (e.g. mh-port, mh-fallback) are not supported; for FULLNAT (-b in Alibaba's ipvsadm) use --fullnat"),
    ),
    opt(
        None,
        "pe",
        Nothing,
        Id::Unsupported("persistence engines are not supported"),
    ),
    opt(
        None,
        "tun-type",
        Nothing,
        Id::Unsupported("tunnels other than IPIP (-i) are not supported"),
    ),
    opt(Some('P'), "add-laddr", Nothing, Id::Unsupported(NO_LADDR)),
    opt(Some('Q'), "del-laddr", Nothing, Id::Unsupported(NO_LADDR)),
    opt(Some('G'), "get-laddr", Nothing, Id::Unsupported(NO_LADDR)),
    opt(Some('z'), "laddr", Nothing, Id::Unsupported(NO_LADDR)),
];

/// One option as given: what it is, how it was spelled (for messages) and
/// its value.
#[derive(Debug, Clone)]
pub(super) struct Given {
    pub id: Id,
    pub spelled: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Token {
    Opt(Given),
    Positional(String),
}

/// The long names of the global options that take a value, for the router
/// in `main` that skips them.
pub fn global_takes_value(long: &str) -> bool {
    matches!(long, "node" | "socket")
}

/// Whether `--name` is a global option.
pub fn is_global(long: &str) -> bool {
    matches!(long, "node" | "socket" | "json")
}

pub(super) fn lex<S: AsRef<str>>(args: &[S]) -> Result<Vec<Token>, UsageError> {
    let mut out = Vec::new();
    let mut i = 0;
    let next = |i: &mut usize, optional: bool| -> Option<String> {
        let v = args.get(*i)?.as_ref();
        if optional && v.starts_with('-') {
            return None;
        }
        *i += 1;
        Some(v.to_string())
    };
    while i < args.len() {
        let arg = args[i].as_ref();
        i += 1;
        if arg == "--" {
            out.extend(
                args[i..]
                    .iter()
                    .map(|a| Token::Positional(a.as_ref().into())),
            );
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec =
                TABLE
                    .iter()
                    .find(|s| s.long == name)
                    .ok_or_else(|| UsageError::UnknownOption {
                        arg: format!("--{name}"),
                        hint: String::new(),
                    })?;
            let spelled = format!("--{name}");
            let value = match (spec.takes, inline) {
                (Takes::Nothing, Some(_)) => {
                    return Err(UsageError::NoValueTaken { option: spelled })
                }
                (_, Some(v)) => Some(v),
                (Takes::Nothing, None) => None,
                (Takes::Value, None) => {
                    Some(next(&mut i, false).ok_or_else(|| UsageError::MissingValue {
                        option: spelled.clone(),
                    })?)
                }
                (Takes::Optional, None) => next(&mut i, true),
            };
            out.push(Token::Opt(given(spec, spelled, value)?));
        } else if let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            // `-set` is a common slip for `--set`; popt would read it as
            // `-s et` and fail later with a puzzling message.
            if body.chars().count() > 1 && TABLE.iter().any(|s| s.long == body) {
                return Err(UsageError::UnknownOption {
                    arg: arg.to_string(),
                    hint: format!(" (did you mean --{body}?)"),
                });
            }
            for (at, c) in body.char_indices() {
                let spelled = format!("-{c}");
                let spec = TABLE.iter().find(|s| s.short == Some(c)).ok_or_else(|| {
                    UsageError::UnknownOption {
                        arg: spelled.clone(),
                        hint: if body.len() > 1 {
                            format!(" (in {arg})")
                        } else {
                            String::new()
                        },
                    }
                })?;
                let rest = &body[at + c.len_utf8()..];
                let value = match spec.takes {
                    Takes::Nothing => None,
                    _ if !rest.is_empty() => Some(rest.to_string()),
                    Takes::Value => {
                        Some(next(&mut i, false).ok_or_else(|| UsageError::MissingValue {
                            option: spelled.clone(),
                        })?)
                    }
                    Takes::Optional => next(&mut i, true),
                };
                let took_rest = spec.takes != Takes::Nothing && !rest.is_empty();
                out.push(Token::Opt(given(spec, spelled, value)?));
                if took_rest {
                    break;
                }
            }
        } else {
            out.push(Token::Positional(arg.to_string()));
        }
    }
    Ok(out)
}

fn given(spec: &Spec, spelled: String, value: Option<String>) -> Result<Given, UsageError> {
    if let Id::Unsupported(reason) = spec.id {
        return Err(UsageError::Unsupported {
            option: spelled,
            reason,
        });
    }
    Ok(Given {
        id: spec.id,
        spelled,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexed(args: &[&str]) -> Vec<String> {
        lex(args)
            .unwrap()
            .into_iter()
            .map(|t| match t {
                Token::Opt(g) => match g.value {
                    Some(v) => format!("{}={v}", g.spelled),
                    None => g.spelled,
                },
                Token::Positional(p) => format!("<{p}>"),
            })
            .collect()
    }

    #[test]
    fn popt_rules() {
        assert_eq!(lexed(&["-Ln"]), ["-L", "-n"]);
        assert_eq!(lexed(&["-At", "1.2.3.4:80"]), ["-A", "-t=1.2.3.4:80"]);
        assert_eq!(lexed(&["-w5"]), ["-w=5"]);
        assert_eq!(lexed(&["--weight=5"]), ["--weight=5"]);
        assert_eq!(lexed(&["--weight", "5"]), ["--weight=5"]);
        assert_eq!(lexed(&["-p", "60"]), ["-p=60"]);
        assert_eq!(lexed(&["-p", "-M", "x"]), ["-p", "-M=x"]);
        assert_eq!(lexed(&["-p"]), ["-p"]);
        assert_eq!(lexed(&["-p600"]), ["-p=600"]);
        assert_eq!(lexed(&["--persistent"]), ["--persistent"]);
        assert_eq!(lexed(&["-r", "-1.2.3.4"]), ["-r=-1.2.3.4"]);
        assert_eq!(
            lexed(&["--set", "1", "2", "3"]),
            ["--set", "<1>", "<2>", "<3>"]
        );
        assert_eq!(lexed(&["-L", "--", "-x"]), ["-L", "<-x>"]);
    }

    #[test]
    fn lexer_errors() {
        let err = |a: &[&str]| lex(a).unwrap_err().to_string();
        assert_eq!(
            err(&["-set", "30", "5", "60"]),
            "-set: unknown option (did you mean --set?)"
        );
        assert_eq!(err(&["-Lq"]), "-q: unknown option (in -Lq)");
        assert_eq!(err(&["--bogus"]), "--bogus: unknown option");
        assert_eq!(err(&["-w"]), "-w: needs a value");
        assert_eq!(err(&["--stats=1"]), "--stats: takes no value");
        assert_eq!(
            err(&["--start-daemon", "master"]),
            format!("--start-daemon: {NO_SYNC}")
        );
    }
}
