//! xlvs-decap: IPIP decapsulation in XDP on a TUN real server, for hosts
//! without the ipip module (docs/dataplane.md, "TUN real servers").
//!
//!   xlvs-decap attach IFACE [--pin DIR] [--mode generic|native] [--address A]...
//!   xlvs-decap detach --pin DIR
//!   xlvs-decap stats --pin DIR

use aya::programs::XdpMode;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xlvs_dataplane::decap::{self, Decap, DecapError};

/// IPIP decapsulation for TUN real servers, in XDP.
#[derive(Parser)]
#[command(name = "xlvs-decap", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Attach to an interface. With --pin the program stays attached after
    /// this command exits; without it, it runs until SIGINT or SIGTERM.
    Attach {
        interface: String,
        /// Pin directory on a bpf filesystem (e.g. /sys/fs/bpf/xlvs-decap-eth0).
        #[arg(long)]
        pin: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Mode::Native)]
        mode: Mode,
        /// Decapsulate IPIP sent to this address (repeatable); default:
        /// the interface's IPv4 addresses when attaching.
        #[arg(long = "address")]
        addresses: Vec<Ipv4Addr>,
    },
    /// Detach the program pinned in a directory and remove the pins.
    Detach {
        #[arg(long)]
        pin: PathBuf,
    },
    /// Print the counters of the program pinned in a directory.
    Stats {
        #[arg(long)]
        pin: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// In the driver (the NIC must support XDP).
    Native,
    /// On the socket buffer; any interface, slower.
    Generic,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // aya's errors keep the system error (e.g. EBUSY) as a source;
            // some levels repeat the one above them.
            let mut msg = e.to_string();
            let mut last = String::new();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !msg.ends_with(&text) && text != last {
                    msg.push_str(&format!(": {text}"));
                }
                last = text;
                source = s.source();
            }
            eprintln!("xlvs-decap: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), DecapError> {
    match cli.command {
        Cmd::Attach {
            interface,
            pin,
            mode,
            addresses,
        } => attach(&interface, pin.as_deref(), mode, addresses),
        Cmd::Detach { pin } => {
            decap::detach(&pin)?;
            println!("detached: {} removed", pin.display());
            Ok(())
        }
        Cmd::Stats { pin } => {
            for (name, value) in decap::pinned_stats(&pin)? {
                println!("{name} {value}");
            }
            Ok(())
        }
    }
}

fn attach(
    interface: &str,
    pin: Option<&Path>,
    mode: Mode,
    mut addresses: Vec<Ipv4Addr>,
) -> Result<(), DecapError> {
    if addresses.is_empty() {
        addresses = decap::interface_addresses(interface)?;
        if addresses.is_empty() {
            return Err(DecapError::Interface {
                interface: interface.to_string(),
                why: "no IPv4 address to decapsulate for (add one first, or give --address)".into(),
            });
        }
    }
    let mode = match mode {
        Mode::Native => XdpMode::Driver,
        Mode::Generic => XdpMode::Skb,
    };
    let mut d = Decap::load(&addresses)?;
    let list: Vec<String> = addresses.iter().map(Ipv4Addr::to_string).collect();
    match pin {
        Some(dir) => {
            d.attach(interface, mode, Some(dir))?;
            println!(
                "decapsulating IPIP for {} on {interface}; pinned in {}",
                list.join(", "),
                dir.display()
            );
        }
        None => {
            // Signals are blocked before attaching so none is lost.
            let signals = block_signals();
            d.attach(interface, mode, None)?;
            println!(
                "decapsulating IPIP for {} on {interface} until SIGINT or SIGTERM",
                list.join(", ")
            );
            wait_for(&signals);
            println!("detached from {interface}");
        }
    }
    Ok(())
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: the set is ours and initialized by sigemptyset; blocking
    // signals in this (only) thread has no other precondition.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for(set: &libc::sigset_t) {
    let mut sig = 0;
    // SAFETY: sigwait reads the initialized set and writes `sig`.
    unsafe { libc::sigwait(set, &mut sig) };
}
