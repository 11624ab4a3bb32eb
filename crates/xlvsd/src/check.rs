//! The one validation path for a config file: what `xlvsd --check-config`,
//! the daemon at start and a reload refuse, before anything touches the
//! host. The file's own rules come first (xlvs-config: syntax, schema,
//! whole-file validation, each error with its position); then what the
//! daemon's parts refuse of a valid file: the data plane (schedulers it
//! does not run, what its maps cannot hold), the health checks, flow
//! sync's settings. Only host state (interfaces, bpffs, sockets) is left
//! for the start itself.
//!
//! A config that runs may still earn [`Warning`]s: what it does is allowed
//! but likely not what the operator expects. `--check-config` prints them,
//! start and reload log them.

use std::fmt;
use std::path::Path;

use crate::forwarder::TranslateError;
use xlvs_config::{ConfigErrors, NodeConfig, Scheduler};

/// sysexits.h's EX_CONFIG: the exit status of `--check-config` and of the
/// daemon for a config it refuses. The systemd unit does not restart on
/// it (RestartPreventExitStatus=78): a bad file would only fail again.
pub const EX_CONFIG: u8 = 78;

/// A reason the daemon refuses a config that is valid as a file.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    DataPlane(#[from] TranslateError),
    #[error("health check of {target}: {source}")]
    HealthCheck {
        target: xlvs_health::TargetId,
        source: xlvs_health::SetupError,
    },
    #[error("[cluster]: {0}")]
    Cluster(#[from] xlvs_sync::ConfigError),
}

/// Why a config cannot run, with every reason found.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file does not read, parse or validate: each error is
    /// `FILE:LINE:COLUMN: KEYPATH: message`.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// A valid file the daemon would refuse: one reason a line.
    #[error("{}", lines(.0))]
    Refused(Vec<Refusal>),
}

fn lines(refusals: &[Refusal]) -> String {
    let lines: Vec<String> = refusals.iter().map(|r| r.to_string()).collect();
    lines.join("\n")
}

impl CheckError {
    /// How many errors or reasons.
    pub fn count(&self) -> usize {
        match self {
            CheckError::Invalid(errors) => errors.len(),
            CheckError::Refused(refusals) => refusals.len(),
        }
    }

    /// The report `--check-config` prints: every error, one a line (a
    /// refusal prefixed with the file, like the file's errors), then
    /// `FILE: N errors`.
    pub fn report(&self, path: &Path) -> String {
        let file = path.display();
        let body = match self {
            CheckError::Invalid(errors) => errors.to_string(),
            CheckError::Refused(refusals) => {
                let lines: Vec<String> = refusals.iter().map(|r| format!("{file}: {r}")).collect();
                lines.join("\n")
            }
        };
        let n = self.count();
        let noun = if n == 1 { "error" } else { "errors" };
        format!("{body}\n{file}: {n} {noun}")
    }
}

/// Everything the daemon's parts refuse of a valid config, all of it
/// (not only the first), without touching the host.
pub fn refusals(config: &NodeConfig) -> Vec<Refusal> {
    let mut out = Vec::new();
    if let Err(e) = crate::forwarder::at_start(config) {
        out.push(Refusal::DataPlane(e));
    }
    for (target, spec) in xlvs_health::config_targets(config) {
        if let Err(source) = spec {
            out.push(Refusal::HealthCheck { target, source });
        }
    }
    if let Some(cluster) = &config.cluster {
        if let Err(e) = crate::sync::check(config, cluster) {
            out.push(Refusal::Cluster(e));
        }
    }
    out
}

/// What a config that runs does that its operator may not expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A scheduler that chooses by this director's own state, on a node
    /// without flow sync: a flow that ECMP moves here from another
    /// director (one left, joined, or the hash changed) finds no
    /// connection entry and is scheduled anew, most likely to another
    /// real, which resets it.
    Rescheduled {
        service: String,
        scheduler: Scheduler,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Rescheduled { service, scheduler } => write!(
                f,
                "service `{service}`: scheduler \"{scheduler}\" chooses on each director and \
                 there is no [cluster] flow sync: connections moved between directors will be \
                 rescheduled (mh, sh and dh choose alike on every director)"
            ),
        }
    }
}

impl Warning {
    /// Into the log, with the service and scheduler as fields.
    pub fn log(&self) {
        match self {
            Warning::Rescheduled { service, scheduler } => tracing::warn!(
                service = %service,
                scheduler = %scheduler,
                "connections moved between directors will be rescheduled: the scheduler \
                 chooses on each director and there is no [cluster] flow sync"
            ),
        }
    }
}

/// Every warning `config` earns, in service order.
pub fn warnings(config: &NodeConfig) -> Vec<Warning> {
    // With flow sync, a moved flow finds its synced entry and keeps its
    // real whatever the scheduler.
    if config.cluster.is_some() {
        return Vec::new();
    }
    config
        .services
        .iter()
        .filter(|s| !s.scheduler.same_on_every_director())
        .map(|s| Warning::Rescheduled {
            service: s.name.clone(),
            scheduler: s.scheduler,
        })
        .collect()
}

/// The warnings of `after` that `before` did not earn: what a runtime
/// change brought, so each ipvsadm line does not repeat the others'.
pub fn new_warnings(before: &[Warning], after: Vec<Warning>) -> Vec<Warning> {
    after.into_iter().filter(|w| !before.contains(w)).collect()
}

/// A config the daemon runs, with what it warns about.
#[derive(Debug)]
pub struct Checked {
    pub config: NodeConfig,
    pub warnings: Vec<Warning>,
}

impl Checked {
    /// What `--check-config` prints of the warnings, one a line, each
    /// prefixed with the file like an error (empty without warnings).
    pub fn report(&self, path: &Path) -> String {
        let file = path.display();
        self.warnings
            .iter()
            .map(|w| format!("{file}: warning: {w}\n"))
            .collect()
    }
}

/// Loads `path` and checks it all the way: what the daemon runs (and its
/// warnings), or every reason it would not.
pub fn load(path: &Path) -> Result<Checked, CheckError> {
    let config = xlvs_config::load(path).map_err(CheckError::Invalid)?;
    let refused = refusals(&config);
    if !refused.is_empty() {
        return Err(CheckError::Refused(refused));
    }
    let warnings = warnings(&config);
    Ok(Checked { config, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> NodeConfig {
        let text = format!("{}{extra}", xlvs_config::EXAMPLE_NODE);
        xlvs_config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    const WLC: &str = "[[service]]\nname = \"web\"\nvip = \"192.0.2.10\"\nports = [80]\n\
                       scheduler = \"wlc\"\n[[service.real]]\naddress = \"10.0.1.21\"\n";

    /// More FULLNAT local addresses than the data plane holds: valid as a
    /// file, refused by the data plane.
    fn too_many_local_addresses() -> String {
        let lips: Vec<String> = (1..=65).map(|i| format!("\"10.9.0.{i}\"")).collect();
        format!("[fullnat]\nlocal_addresses = [{}]\n", lips.join(", "))
    }

    #[test]
    fn what_the_data_plane_cannot_hold_is_refused() {
        let refused = refusals(&config(&too_many_local_addresses()));
        assert_eq!(refused.len(), 1, "{refused:?}");
        let report = CheckError::Refused(refused).report(Path::new("lb1.toml"));
        assert_eq!(
            report,
            "lb1.toml: [fullnat] local_addresses: 65 addresses, but the data plane holds at most 64\n\
             lb1.toml: 1 error"
        );
        // every scheduler runs now: wlc (ipvsadm's default) too
        assert!(refusals(&config(WLC)).is_empty());
    }

    #[test]
    fn every_reason_is_reported_not_only_the_first() {
        // Flow sync carries the node name in its Hellos: at most 64 bytes,
        // which the file's validation does not know.
        let long = "n".repeat(65);
        let text = format!(
            "{}{}[cluster]\ninterface = \"eth1\"\nkey = \"0123456789abcdef\"\npeers = [\"10.0.1.12\"]\n",
            xlvs_config::EXAMPLE_NODE.replace("name = \"lb1\"", &format!("name = \"{long}\"")),
            too_many_local_addresses()
        );
        let config = xlvs_config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        let refused: Vec<String> = refusals(&config).iter().map(|r| r.to_string()).collect();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].contains("local_addresses"), "{refused:?}");
        assert_eq!(
            refused[1],
            "[cluster]: node name of 65 bytes is longer than 64"
        );
    }

    #[test]
    fn a_config_the_daemon_runs_has_no_refusals() {
        let mh = WLC.replace("wlc", "mh");
        assert!(refusals(&config(&mh)).is_empty());
    }

    // --- warnings ---

    const CLUSTER: &str =
        "[cluster]\ninterface = \"eth1\"\nkey = \"0123456789abcdef\"\npeers = [\"10.0.1.12\"]\n";

    fn with_scheduler(s: Scheduler) -> String {
        WLC.replace("\"wlc\"", &format!("\"{s}\""))
    }

    #[test]
    fn a_per_director_scheduler_without_sync_is_warned_of_by_service() {
        for s in Scheduler::ALL {
            let found = warnings(&config(&with_scheduler(s)));
            let expected = match s {
                Scheduler::Mh | Scheduler::Sh | Scheduler::Dh => vec![],
                _ => vec![Warning::Rescheduled {
                    service: "web".into(),
                    scheduler: s,
                }],
            };
            assert_eq!(found, expected, "{s}");
        }
    }

    #[test]
    fn flow_sync_keeps_moved_connections_so_no_warning() {
        for s in Scheduler::ALL {
            let text = format!("{}{CLUSTER}", with_scheduler(s));
            assert_eq!(warnings(&config(&text)), [], "{s}");
        }
    }

    #[test]
    fn check_config_prints_each_warning_with_the_file() {
        let two = format!(
            "{WLC}{}",
            WLC.replace("\"web\"", "\"db\"")
                .replace("[80]", "[3306]")
                .replace("wlc", "rr")
        );
        let checked = Checked {
            warnings: warnings(&config(&two)),
            config: config(&two),
        };
        assert_eq!(
            checked.report(Path::new("lb1.toml")),
            "lb1.toml: warning: service `web`: scheduler \"wlc\" chooses on each director and \
             there is no [cluster] flow sync: connections moved between directors will be \
             rescheduled (mh, sh and dh choose alike on every director)\n\
             lb1.toml: warning: service `db`: scheduler \"rr\" chooses on each director and \
             there is no [cluster] flow sync: connections moved between directors will be \
             rescheduled (mh, sh and dh choose alike on every director)\n"
        );
        let mh = config(&with_scheduler(Scheduler::Mh));
        let quiet = Checked {
            warnings: warnings(&mh),
            config: mh,
        };
        assert_eq!(quiet.report(Path::new("lb1.toml")), "");
    }

    /// An ipvsadm change logs only what it brought, not every service's.
    #[test]
    fn a_change_warns_only_of_what_it_brought() {
        let rr = |name: &str| Warning::Rescheduled {
            service: name.into(),
            scheduler: Scheduler::Rr,
        };
        let before = [rr("web")];
        assert_eq!(new_warnings(&before, vec![rr("web"), rr("db")]), [rr("db")]);
        assert_eq!(new_warnings(&before, vec![rr("web")]), []);
        let edited = Warning::Rescheduled {
            service: "web".into(),
            scheduler: Scheduler::Wlc,
        };
        assert_eq!(
            new_warnings(&before, vec![edited.clone()]),
            [edited],
            "a new scheduler for the same service is news"
        );
    }
}
