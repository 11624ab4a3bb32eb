//! Usage errors of ipvsadm command lines. Each names the argument at fault
//! as the user wrote it; xlvsadm exits with status 2 for all of them, like
//! ipvsadm.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("no command given (one of -A -E -D -a -e -d -C -Z -L -S -R --set, or -h)")]
    NoCommand,
    #[error("{second}: only one command at a time ({first} given already)")]
    MultipleCommands { first: String, second: String },
    #[error("{second}: only one {what} option at a time ({first} given already)")]
    Repeated {
        what: &'static str,
        first: String,
        second: String,
    },
    #[error("{option}: needs a value")]
    MissingValue { option: String },
    #[error("{option}: takes no value")]
    NoValueTaken { option: String },
    #[error("{arg}: unknown option{hint}")]
    UnknownOption { arg: String, hint: String },
    #[error("{option}: cannot be used with {command}")]
    NotAllowed { option: String, command: String },
    #[error("{command}: needs {needs}")]
    Missing {
        command: String,
        needs: &'static str,
    },
    #[error("{second}: cannot be combined with {first}")]
    Conflict { first: String, second: String },
    #[error("{option} {value}: {reason}")]
    BadValue {
        option: String,
        value: String,
        reason: String,
    },
    /// ipvsadm leaves the name to the kernel, whose refusal it prints as
    /// libipvs words it (ENOENT on adding or editing a service).
    #[error(
        "Scheduler or persistence engine not found ({option} {value}: the schedulers are {})",
        xlvs_api::Scheduler::names()
    )]
    UnknownScheduler { option: String, value: String },
    /// ipvsadm's words for a timeout it cannot read (`-p`, `--set`).
    #[error("invalid timeout value `{value}' specified ({option} takes {min}..={max} seconds)")]
    BadTimeout {
        option: String,
        value: String,
        min: u32,
        max: u32,
    },
    /// ipvsadm's words for a `-M` it cannot read; xlvs also refuses a
    /// mask whose one bits are not contiguous, since it masks by prefix.
    #[error("illegal virtual server persistent mask specified ({option} {value}: {reason})")]
    BadNetmask {
        option: String,
        value: String,
        reason: &'static str,
    },
    #[error(
        "{option} {value}: firewall marks: use a service with several ports in the node config"
    )]
    FirewallMark { option: String, value: String },
    #[error("{option}: {reason}")]
    Unsupported {
        option: String,
        reason: &'static str,
    },
    #[error("{option} {value}: port 0 (every port of the VIP) needs a persistent service: add -p, or give a port")]
    ZeroPortNotPersistent { option: String, value: String },
    #[error("{arg}: unexpected argument")]
    Unexpected { arg: String },
    #[error("{option}: needs three timeouts, tcp tcpfin udp (in seconds)")]
    SetNeedsThree { option: String },
    #[error("an argument is not valid UTF-8")]
    NotUtf8,
}

impl UsageError {
    pub(crate) fn bad(option: &str, value: &str, reason: impl Into<String>) -> UsageError {
        UsageError::BadValue {
            option: option.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
