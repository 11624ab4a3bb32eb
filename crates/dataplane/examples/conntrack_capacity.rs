//! Connection-table capacity and memory: loads the data plane with a given
//! `conntrack_entries`, reads the kernel's memory accounting of the
//! connection map (`memlock` in its fdinfo, what `bpftool map show`
//! prints), fills the table with distinct DR flows (one SYN each, through
//! the loaded program with BPF_PROG_TEST_RUN) and counts what it holds.
//!
//!   sudo cargo run --release -p xlvs-dataplane --example conntrack_capacity [SIZE...]
//!
//! Default sizes: 65536 and 1048576 (the daemon's default). For each size
//! it pushes SIZE new flows, counts the entries, pushes SIZE more (the
//! table is then over full: LRU eviction) and counts again. The service is
//! wlc's, so the full table's recount (`Dataplane::recount`, which the
//! daemon runs every second while a connection-count scheduler is in use)
//! is timed too. Needs root.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{require_root, tcp, SYN};
use std::net::Ipv4Addr;
use std::time::Instant;
use xlvs_dataplane::abi::{Conn, FlowKey};
use xlvs_dataplane::sched_model::CountKind;
use xlvs_dataplane::{
    Dataplane, Forward, Limits, Protocol, RealSpec, Scheduling, ServiceSpec, MIN_NAT_ENTRIES,
    XDP_TX,
};

const VIP: &str = "192.0.2.10";
/// BPF_MAP_TYPE_LRU_HASH, the connection table's type (bpf/maps.h).
const LRU_HASH: u64 = 9;

/// One map's line in /proc/self/fdinfo.
#[derive(Debug, Default)]
struct MapInfo {
    map_type: u64,
    key_size: u64,
    value_size: u64,
    max_entries: u64,
    memlock: u64,
    /// The kernel's id: the data plane holds the connection map twice
    /// (its aya handle and a descriptor for batch reads).
    map_id: u64,
}

fn parse_fdinfo(text: &str) -> Option<MapInfo> {
    let mut m = MapInfo::default();
    let mut is_map = false;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let Ok(v) = v.trim().parse::<u64>() else {
            continue;
        };
        match k {
            "map_type" => {
                is_map = true;
                m.map_type = v;
            }
            "key_size" => m.key_size = v,
            "value_size" => m.value_size = v,
            "max_entries" => m.max_entries = v,
            "memlock" => m.memlock = v,
            "map_id" => m.map_id = v,
            _ => {}
        }
    }
    is_map.then_some(m)
}

/// The kernel's `memlock` figure of our connection map: the one LRU hash
/// with the connection table's key, value and size among this process's
/// descriptors (the NAT map is kept at its minimum to tell them apart).
fn conntrack_memlock(size: u32) -> Result<u64, String> {
    let fds = std::fs::read_dir("/proc/self/fdinfo").map_err(|e| format!("fdinfo: {e}"))?;
    let mut found: Vec<MapInfo> = fds
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| parse_fdinfo(&t))
        .filter(|m| {
            m.map_type == LRU_HASH
                && m.key_size == std::mem::size_of::<FlowKey>() as u64
                && m.value_size == std::mem::size_of::<Conn>() as u64
                && m.max_entries == u64::from(size)
        })
        .collect();
    found.sort_by_key(|m| m.map_id);
    found.dedup_by_key(|m| m.map_id);
    match found.as_slice() {
        [m] => Ok(m.memlock),
        other => Err(format!(
            "expected one connection map of {size} entries, found {}",
            other.len()
        )),
    }
}

/// Flow `i`'s SYN: distinct (client address, port) for every i.
fn syn(i: u32) -> Vec<u8> {
    let client = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i / 50_000);
    tcp(
        &client.to_string(),
        1024 + (i % 50_000) as u16,
        VIP,
        80,
        SYN,
    )
    .frame()
}

/// Pushes flows `from..to` through the program; every one must be
/// forwarded (a new flow that is not is a failure of the measurement).
fn push(dp: &Dataplane, from: u32, to: u32) -> Result<(), String> {
    for i in from..to {
        let r = dp
            .run("xlvs", &syn(i), 1)
            .map_err(|e| format!("flow {i}: {e}"))?;
        if r.action != XDP_TX {
            return Err(format!("flow {i}: action {} instead of XDP_TX", r.action));
        }
    }
    Ok(())
}

struct Figures {
    size: u32,
    memlock: u64,
    held_full: usize,
    held_over: usize,
    fill_s: f64,
    /// Reading the full table and writing the counts.
    recount_s: f64,
}

fn measure(size: u32) -> Result<Figures, String> {
    let limits = Limits {
        conntrack: size,
        nat: MIN_NAT_ENTRIES,
        ..Limits::default()
    };
    let mut dp = Dataplane::load(limits).map_err(|e| format!("load: {e}"))?;
    let memlock = conntrack_memlock(size)?;
    // One real: which one a flow gets does not change the table's cost.
    let real = RealSpec {
        addr: Ipv4Addr::new(10, 0, 1, 21),
        port: 0,
        weight: 1,
        mac: [2, 0xaa, 0, 0, 0, 21],
    };
    dp.set_service(&ServiceSpec {
        id: 1,
        vip: VIP.parse().expect("a literal address"),
        protocol: Protocol::Tcp,
        ports: vec![80],
        forward: Forward::Dr,
        scheduler: Scheduling::Counts(CountKind::Wlc),
        persistence: None,
        toa: None,
        proxy: None,
        reals: vec![real],
    })
    .map_err(|e| format!("service: {e}"))?;
    // Count past the size, so an over-full table would show.
    let count = |dp: &Dataplane| dp.connections(size as usize * 2).len();
    let t = Instant::now();
    push(&dp, 0, size)?;
    let fill_s = t.elapsed().as_secs_f64();
    let held_full = count(&dp);
    // the best of three: the machine's noise only adds time
    let mut recount_s = f64::MAX;
    for _ in 0..3 {
        let r = dp.recount().map_err(|e| format!("recount: {e}"))?;
        recount_s = recount_s.min(r.took.as_secs_f64());
    }
    push(&dp, size, size.saturating_mul(2))?;
    let held_over = count(&dp);
    Ok(Figures {
        size,
        memlock,
        held_full,
        held_over,
        fill_s,
        recount_s,
    })
}

/// A table size from the command line: above the NAT map's size, so the
/// two maps can be told apart in fdinfo.
fn parse_size(arg: &str) -> Result<u32, String> {
    arg.parse()
        .ok()
        .filter(|&s| s > MIN_NAT_ENTRIES)
        .ok_or_else(|| format!("size {arg:?}: want an integer above {MIN_NAT_ENTRIES}"))
}

fn main() {
    require_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<u32> = if args.is_empty() {
        vec![65_536, 1 << 20]
    } else {
        args.iter()
            .map(|a| {
                parse_size(a).unwrap_or_else(|e| {
                    eprintln!("conntrack_capacity: {e}");
                    std::process::exit(2)
                })
            })
            .collect()
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "key {} B, value {} B, {cpus} CPUs",
        std::mem::size_of::<FlowKey>(),
        std::mem::size_of::<Conn>()
    );
    println!(
        "{:>10} {:>14} {:>10} {:>14} {:>14} {:>10} {:>10}",
        "entries", "memlock B", "B/entry", "held at 1x", "held at 2x", "fill s", "recount s"
    );
    let mut all = Vec::new();
    for &size in &sizes {
        let f = measure(size).unwrap_or_else(|e| {
            eprintln!("conntrack_capacity: size {size}: {e}");
            std::process::exit(1)
        });
        println!(
            "{:>10} {:>14} {:>10.1} {:>14} {:>14} {:>10.1} {:>10.3}",
            f.size,
            f.memlock,
            f.memlock as f64 / f64::from(f.size),
            f.held_full,
            f.held_over,
            f.fill_s,
            f.recount_s
        );
        all.push(f);
    }
    // The fixed part cancels between two sizes: what one more entry costs.
    for w in all.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.size != b.size {
            let per =
                (b.memlock as f64 - a.memlock as f64) / (f64::from(b.size) - f64::from(a.size));
            println!(
                "marginal {} -> {} entries: {per:.1} B/entry",
                a.size, b.size
            );
        }
    }
}
