//! xlvsadm: the admin CLI for xlvsd.
//!
//! Command lines that start with an option (after `--node`, `--socket`,
//! `--json`) are ipvsadm's: `xlvsadm -A -t 192.0.2.10:80 -s mh`. The others
//! are subcommands: `xlvsadm status`, `xlvsadm ospf neighbors`, ...

mod answers;
mod bfd;
mod cli;
mod import;
mod ospf;
mod sync;

use std::process::ExitCode;
use xlvsadm::client::Socket;
use xlvsadm::ipvsadm;

fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(args) => args,
        Err(_) => return usage_error(&ipvsadm::UsageError::NotUtf8),
    };
    if ipvsadm::is_ipvsadm(&args) {
        run_ipvsadm(&args)
    } else {
        cli::run(&args)
    }
}

fn run_ipvsadm(args: &[String]) -> ExitCode {
    let parsed = match ipvsadm::parse(args) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let g = parsed.globals;
    let mut daemon = Socket::new(g.socket, g.node);
    let result = ipvsadm::execute(
        &parsed.command,
        g.json,
        &mut daemon,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xlvsadm: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Exit status 2, like ipvsadm.
fn usage_error(e: &ipvsadm::UsageError) -> ExitCode {
    eprintln!("xlvsadm: {e}\nTry `xlvsadm -h' or `xlvsadm help' for more information.");
    ExitCode::from(2)
}
