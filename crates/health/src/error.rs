//! Errors: [`CheckError`] for a failed check (becomes the reason a real goes
//! down, so it reads like a log line), [`SetupError`] for a target or check
//! that cannot be run at all (reported when it is added, not every interval).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What a check was doing when it failed or ran out of time. keepalived
/// distinguishes "timeout connecting" from "timeout reading"; so do we, since
/// the two point at different problems (network/firewall vs. application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Connect,
    TlsHandshake,
    SendRequest,
    /// Waiting for, or reading, the status line and headers.
    Response,
    Body,
    DnsReply,
    Script,
}

impl Phase {
    const ALL: [Phase; 7] = [
        Phase::Connect,
        Phase::TlsHandshake,
        Phase::SendRequest,
        Phase::Response,
        Phase::Body,
        Phase::DnsReply,
        Phase::Script,
    ];

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(v: u8) -> Phase {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(Phase::Connect)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::SendRequest => "sending request",
            Phase::Response => "reading response",
            Phase::Body => "reading body",
            Phase::DnsReply => "waiting for DNS reply",
            Phase::Script => "script",
        })
    }
}

/// Why one check failed. The target's address is not repeated here: events
/// and logs already name the target and its check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("timed out after {after:?} ({phase})")]
    Timeout { after: Duration, phase: Phase },
    #[error("{phase}: {source}")]
    Io {
        phase: Phase,
        #[source]
        source: io::Error,
    },
    #[error("malformed HTTP response: {reason}")]
    BadHttp { reason: String },
    #[error("HTTP status {got}, expected {expected}")]
    Status { got: u16, expected: u16 },
    #[error("response body does not contain {expected:?} (searched {searched} bytes)")]
    Body { expected: String, searched: usize },
    #[error("malformed DNS reply: {reason}")]
    BadDns { reason: String },
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `status` is the exit status as the OS describes it; `output` is the
    /// last line the script printed (stderr preferred), possibly empty.
    #[error("{} failed: {status}{}", program.display(), colon_prefixed(output))]
    Script {
        program: PathBuf,
        status: String,
        output: String,
    },
}

fn colon_prefixed(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

/// A target or check specification that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("script program {} is not an absolute path", .0.display())]
    RelativeProgram(PathBuf),
    #[error("HTTP path {0:?} must start with `/` and contain no spaces or control characters")]
    BadPath(String),
    #[error("HTTP host {0:?} must not be empty or contain spaces or control characters")]
    BadHost(String),
    #[error("expected HTTP status {0} is not in 100..=599")]
    BadStatus(u16),
    #[error("TLS server name {name:?}: {reason}")]
    ServerName { name: String, reason: String },
    #[error("no usable certificate in the system trust store{0}")]
    NoSystemRoots(String),
    #[error("CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("DNS name {name:?}: {reason}")]
    DnsName { name: String, reason: String },
    #[error("{what} must not be zero")]
    Zero { what: &'static str },
    #[error("no port to probe for the {check} check (set health.port or the real's port)")]
    NoProbePort { check: &'static str },
}
