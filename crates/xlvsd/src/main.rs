//! `xlvsd`: the xlvs director daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser};
use xlvs_config::LogFormat;

mod announcer;
mod check;
mod commands;
mod control;
mod daemon;
mod forwarder;
mod graceful;
mod health_report;
mod host;
mod ipvs;
mod journal;
mod leave;
mod listing;
mod logging;
mod metrics;
mod node;
mod notify;
mod ospf;
mod readiness;
mod reload;
mod sync;
mod watchdog;

/// Layer-4 load-balancer director for OSPF-ECMP clusters.
#[derive(Parser)]
#[command(version, group(ArgGroup::new("mode").required(true).args(["check_config", "config"])))]
struct Args {
    /// Validate the node config FILE as the daemon would at start, print OK
    /// or every error, and exit (78, EX_CONFIG, for a file it refuses).
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,

    /// Run the director with the node config FILE.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// On exit, also detach XDP and remove the pinned maps. Without it they
    /// stay, so traffic keeps flowing and a restart keeps connections.
    #[arg(long, requires = "config")]
    cleanup: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check_config {
        return match check::load(&path) {
            Ok(checked) => {
                // Warnings do not fail the check: the daemon runs the file.
                eprint!("{}", checked.report(&path));
                println!("OK");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}", e.report(&path));
                ExitCode::from(check::EX_CONFIG)
            }
        };
    }
    if let Some(path) = args.config {
        // The same check as --check-config: what it passes, we run.
        let checked = match check::load(&path) {
            Ok(checked) => checked,
            Err(e) => {
                // Before the log is set up: the journal's error priority
                // by hand, so `journalctl -p err` says why we stopped.
                let prefix = logging::error_prefix();
                for line in e.report(&path).lines() {
                    eprintln!("{prefix}{line}");
                }
                return ExitCode::from(check::EX_CONFIG);
            }
        };
        let config = checked.config;
        let format = logging::init(&config.node);
        for w in &checked.warnings {
            w.log();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        return match runtime.block_on(daemon::run(config, path, args.cleanup)) {
            Ok(daemon::Exit::Stopped) => ExitCode::SUCCESS,
            Ok(daemon::Exit::GracefulRestart) => ExitCode::from(graceful::EXIT_CODE),
            Err(e) => {
                match format {
                    LogFormat::Text => eprintln!("xlvsd: {e}"),
                    LogFormat::Json | LogFormat::Journald => {
                        tracing::error!(error = %e, "xlvsd stopped")
                    }
                }
                ExitCode::FAILURE
            }
        };
    }
    // clap requires one of the two flags.
    ExitCode::FAILURE
}
