use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use xlvs_lab::{LabError, Topology};

/// Runs containerlab topology files with network namespaces (no Docker).
#[derive(Parser)]
#[command(name = "xlvs-lab", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a topology file without building anything.
    Check { file: PathBuf },
    /// Build the lab: namespaces, links, processes, exec lines.
    Up { file: PathBuf },
    /// Tear the lab down, leaving nothing behind.
    Down { file: PathBuf },
    /// Show nodes, processes, interfaces and links.
    Status {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a command in a node (vtysh works on FRR nodes, birdc on BIRD nodes).
    Exec {
        file: PathBuf,
        node: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xlvs-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, LabError> {
    match cli.command {
        Cmd::Check { file } => {
            let t = Topology::load(&file)?;
            println!(
                "{}: OK (lab {}, {} nodes, {} links)",
                file.display(),
                t.name,
                t.nodes.len(),
                t.links.len()
            );
        }
        Cmd::Up { file } => {
            let t = Topology::load(&file)?;
            xlvs_lab::up(&t)?;
            println!(
                "lab {} is up; see `xlvs-lab status {}`",
                t.name,
                file.display()
            );
        }
        Cmd::Down { file } => {
            let (t, problems) = Topology::load_for_teardown(&file)?;
            for p in problems {
                eprintln!(
                    "xlvs-lab: {}: {p} (taking the lab down anyway)",
                    file.display()
                );
            }
            xlvs_lab::up::require_root()?;
            let r = xlvs_lab::teardown(&t.name, Some(&t))?;
            if r.netns.is_empty() && r.processes == 0 {
                println!("lab {} was not up", t.name);
            } else {
                println!(
                    "lab {} is down: {} processes stopped, {} namespaces removed",
                    t.name,
                    r.processes,
                    r.netns.len()
                );
            }
        }
        Cmd::Status { file, json } => {
            let t = Topology::load(&file)?;
            let s = xlvs_lab::status(&t)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&s).expect("status serializes")
                );
            } else {
                print!("{}", s.render());
            }
        }
        Cmd::Exec {
            file,
            node,
            command,
        } => {
            let t = Topology::load(&file)?;
            let status = xlvs_lab::exec::exec(&t, &node, &command)?;
            return Ok(ExitCode::from(
                status.code().unwrap_or(1).clamp(0, 255) as u8
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
