//! `xlvsd`: the xlvs director daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser};

mod check;

/// Layer-4 load-balancer director for OSPF-ECMP clusters.
#[derive(Parser)]
#[command(version, group(ArgGroup::new("mode").required(true).args(["check_config", "config"])))]
struct Args {
    /// Validate the node config FILE, print OK or every error, and exit.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,

    /// Run the director with the node config FILE.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check_config {
        return match check::load(&path) {
            Some(_) => {
                println!("OK");
                ExitCode::SUCCESS
            }
            None => check::INVALID,
        };
    }
    if let Some(path) = args.config {
        if check::load(&path).is_none() {
            return check::INVALID;
        }
        // The OSPF speaker and the XDP data plane are still being built.
        eprintln!(
            "xlvsd: {} is valid, but the daemon is not implemented yet; \
             use --check-config to validate configs",
            path.display()
        );
        return ExitCode::from(2);
    }
    // clap requires one of the two flags.
    ExitCode::FAILURE
}
