//! [`CheckSpec`] says what to check; [`Probe`] is a spec validated and made
//! ready (TLS config built, DNS question encoded) to run any number of times.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::dns::{self, DnsSpec};
use crate::error::{CheckError, Phase, SetupError};
use crate::http::{self, HttpSpec};
use crate::https::{self, TlsSpec};
use crate::script::{self, ScriptSpec};
use crate::tcp;

/// One kind of health check with its parameters. Plain data, comparable, so
/// that a config reload can tell whether a target's check changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckSpec {
    /// No check: always up.
    None,
    /// A TCP connect.
    Tcp(SocketAddr),
    Http(HttpSpec),
    Https {
        http: HttpSpec,
        tls: TlsSpec,
    },
    /// A DNS query over UDP.
    Dns(DnsSpec),
    /// A program; exit status 0 means up.
    Script(ScriptSpec),
}

impl CheckSpec {
    /// The check's name, as in the config file.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckSpec::None => "none",
            CheckSpec::Tcp(_) => "tcp",
            CheckSpec::Http(_) => "http",
            CheckSpec::Https { .. } => "https",
            CheckSpec::Dns(_) => "dns",
            CheckSpec::Script(_) => "script",
        }
    }
}

/// For logs, e.g. `http GET 10.0.0.1:80/health`.
impl fmt::Display for CheckSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            CheckSpec::None => f.write_str(kind),
            CheckSpec::Tcp(addr) => write!(f, "{kind} {addr}"),
            CheckSpec::Http(http) => write!(f, "{kind} {http}"),
            CheckSpec::Https { http, tls } => write!(f, "{kind} {http} ({})", tls.verify),
            CheckSpec::Dns(dns) => write!(f, "{kind} {dns}"),
            CheckSpec::Script(script) => write!(f, "{kind} {script}"),
        }
    }
}

/// Where a running check has got to, readable after a timeout dropped it.
/// An atomic rather than a `Cell` so the check future stays `Send`.
#[derive(Debug)]
pub(crate) struct Progress(AtomicU8);

impl Progress {
    fn new() -> Self {
        Self(AtomicU8::new(Phase::Connect.to_u8()))
    }

    pub(crate) fn set(&self, phase: Phase) {
        self.0.store(phase.to_u8(), Ordering::Relaxed);
    }

    fn get(&self) -> Phase {
        Phase::from_u8(self.0.load(Ordering::Relaxed))
    }
}

type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CheckError>> + Send + 'a>>;

/// A check ready to run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Probe(Kind);

#[derive(Debug, Clone)]
enum Kind {
    None,
    Tcp(SocketAddr),
    Http(Arc<http::Prepared>),
    Https(Arc<https::Prepared>),
    Dns(Arc<dns::Prepared>),
    Script(Arc<ScriptSpec>),
}

impl Probe {
    /// Validates `spec` and does the per-check setup once. Fails for specs
    /// that could never pass (a relative script path, a path with spaces,
    /// an unreadable CA file...).
    pub fn new(spec: &CheckSpec) -> Result<Self, SetupError> {
        Ok(Probe(match spec {
            CheckSpec::None => Kind::None,
            CheckSpec::Tcp(addr) => Kind::Tcp(*addr),
            CheckSpec::Http(http) => Kind::Http(Arc::new(http::Prepared::new(http, 80, None)?)),
            CheckSpec::Https { http, tls } => {
                Kind::Https(Arc::new(https::Prepared::new(http, tls)?))
            }
            CheckSpec::Dns(dns) => Kind::Dns(Arc::new(dns::Prepared::new(dns)?)),
            CheckSpec::Script(script) => Kind::Script(Arc::new(script::prepare(script)?)),
        }))
    }

    /// True for [`CheckSpec::None`], whose result never changes.
    pub fn is_none(&self) -> bool {
        matches!(self.0, Kind::None)
    }

    /// Runs the check once. It never takes (much) longer than `timeout`:
    /// a server that accepts and then says nothing costs one timeout.
    pub async fn run(&self, timeout: Duration) -> Result<(), CheckError> {
        let progress = Progress::new();
        let work: CheckFuture<'_> = match &self.0 {
            Kind::None => return Ok(()),
            // Enforces the timeout itself: it has processes to kill and
            // reap, which just dropping its future would not do.
            Kind::Script(s) => return script::run(s, timeout).await,
            Kind::Tcp(addr) => Box::pin(tcp::check(*addr, &progress)),
            Kind::Http(p) => Box::pin(http::check(p, &progress)),
            Kind::Https(p) => Box::pin(https::check(p, &progress)),
            Kind::Dns(p) => Box::pin(dns::check(p, &progress)),
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(CheckError::Timeout {
                after: timeout,
                phase: progress.get(),
            }),
        }
    }
}
