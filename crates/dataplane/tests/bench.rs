//! The per-packet benchmark (examples/xdp_bench.rs) runs, briefly: every
//! path it times ends as it should (so its figures measure forwarding,
//! not an early drop), the flow cache serves the first table and not the
//! second, and the bench's namespace is gone afterwards. No time is
//! asserted: figures are for docs/benchmarks.md.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// target/<profile>/examples/xdp_bench, as `cargo build --all-targets`
/// leaves it (scripts/test.sh builds it before the tests).
fn bench_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin = profile.join("examples").join("xdp_bench");
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build --workspace --all-targets` first",
        bin.display()
    );
    bin
}

/// Each path the bench prints and the action it must end with.
const PATHS: &[(&str, &str)] = &[
    ("baseline (swap MACs, XDP_TX)", "TX"),
    ("dr, known flow", "TX"),
    ("dr, SYN again (known flow)", "TX"),
    ("not a VIP (XDP_PASS)", "PASS"),
    ("not a VIP (XDP_PASS), no NAT service", "PASS"),
    ("not a VIP (XDP_PASS), early exit off", "PASS"),
    (
        "not a VIP (XDP_PASS), early exit off, no NAT service",
        "PASS",
    ),
    ("once: baseline", "TX"),
    ("dr, known flow", "TX"),
    ("dr, new flow (SYN)", "TX"),
    ("dr, new flow (SYN), rr", "TX"),
    ("dr, new flow (SYN), wrr", "TX"),
    ("dr, new flow (SYN), lc", "TX"),
    ("dr, new flow (SYN), wlc", "TX"),
    ("  of which: insert alone", "TX"),
    ("  of which: insert alone, floor: parse only", "TX"),
    ("  of which: insert alone, LRU hash", "TX"),
    ("  of which: insert alone, LRU per-CPU lists", "TX"),
    ("  of which: insert alone, plain hash", "TX"),
    ("  of which: insert alone, 8-way array", "TX"),
    ("  of which: insert alone, 8-way PERCPU_ARRAY", "TX"),
    ("  of which: insert alone, 8-way per-CPU slices", "TX"),
    ("dr, new flow (SYN), sync on", "TX"),
    ("tun, known flow", "TX"),
    ("tun, new flow (SYN)", "TX"),
    ("tun, new flow (SYN), sync on", "TX"),
    ("tun, new flow (SYN), FIB lookup", "TX"),
    ("fullnat, known flow", "TX"),
    ("fullnat, new flow (SYN)", "TX"),
    ("fullnat, new flow (SYN), sync on", "TX"),
    ("fullnat, new flow (SYN), FIB lookup", "TX"),
    ("fullnat, reply", "TX"),
    ("fullnat+toa, known flow", "TX"),
    ("fullnat+toa, new flow (SYN)", "TX"),
    ("fullnat+toa, TOA added", "TX"),
    ("fullnat+proxy-v2, known flow", "TX"),
    ("fullnat+proxy-v2, first data packet", "TX"),
    ("fullnat+proxy-v2, reply", "TX"),
    ("dr, ACKs over 20,000 flows", "TX"),
    ("dr, ACKs over 1,000,000 flows", "TX"),
    ("tun, ACKs over 20,000 flows", "TX"),
    ("tun, ACKs over 20,000 flows, FIB lookup", "TX"),
    ("tun, ACKs over 1,000,000 flows", "TX"),
    ("tun, ACKs over 1,000,000 flows, FIB lookup", "TX"),
    ("fullnat, ACKs over 20,000 flows", "TX"),
    ("fullnat, ACKs over 20,000 flows, FIB lookup", "TX"),
    ("floor: ACKs over 20,000 flows", "TX"),
    ("floor: ACKs over 20,000 flows, LRU hash", "TX"),
    ("floor: ACKs over 20,000 flows, LRU per-CPU lists", "TX"),
    ("floor: ACKs over 20,000 flows, plain hash", "TX"),
    ("floor: ACKs over 20,000 flows, 8-way array", "TX"),
    ("floor: ACKs over 20,000 flows, 8-way PERCPU_ARRAY", "TX"),
    ("floor: ACKs over 20,000 flows, 8-way per-CPU slices", "TX"),
    ("floor: ACKs over 1,000,000 flows", "TX"),
    ("floor: ACKs over 1,000,000 flows, LRU hash", "TX"),
    ("floor: ACKs over 1,000,000 flows, LRU per-CPU lists", "TX"),
    ("floor: ACKs over 1,000,000 flows, plain hash", "TX"),
    ("floor: ACKs over 1,000,000 flows, 8-way array", "TX"),
    ("floor: ACKs over 1,000,000 flows, 8-way PERCPU_ARRAY", "TX"),
    (
        "floor: ACKs over 1,000,000 flows, 8-way per-CPU slices",
        "TX",
    ),
    ("nat, known flow", "TX"),
    ("nat, reply", "TX"),
];

/// The new-flow floor's rows (bpf/floor.c), in the first table only.
fn floor_row(name: &str) -> bool {
    name.starts_with("floor: ") || name.starts_with("  of which: insert alone, ")
}

/// Rows with sync on, each run REPEAT / 50 (at least 1000) times in five
/// rounds: every new flow among them is reported.
const SYNC_ROWS: u64 = 3;

struct Table {
    rows: Vec<(String, Vec<f64>, String)>,
    /// Counters XLVS_BENCH_STATS prints after the table, by name.
    counters: Vec<(String, u64)>,
}

impl Table {
    fn counter(&self, name: &str) -> u64 {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
            .1
    }
}

/// Splits the output into its two tables (header line, column line, rows,
/// then the counters XLVS_BENCH_STATS adds).
fn tables(out: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    for block in out.split("flow cache ").skip(1) {
        let mut t = Table {
            rows: Vec::new(),
            counters: Vec::new(),
        };
        for line in block.lines().skip(2) {
            // A counter: its name, then its value.
            if let [name, value] = line.split_whitespace().collect::<Vec<_>>()[..] {
                if let Ok(v) = value.parse() {
                    t.counters.push((name.to_string(), v));
                    continue;
                }
            }
            // name, then ns/packet, x base, net ns, action (right-aligned)
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 5 || fields[fields.len() - 4].parse::<f64>().is_err() {
                continue;
            }
            let n = fields.len();
            let figures = fields[n - 4..n - 1]
                .iter()
                .map(|f| f.parse().expect("figure"))
                .collect();
            t.rows
                .push((line[..56].to_string(), figures, fields[n - 1].to_string()));
        }
        tables.push(t);
    }
    tables
}

#[test]
fn every_benchmarked_path_forwards() {
    let child = Command::new(bench_binary())
        .arg("1000")
        .env("XLVS_BENCH_STATS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xdp_bench");
    let pid = child.id();
    let child = child.wait_with_output().expect("xdp_bench output");
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "xdp_bench failed: {}\n{out}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
    let tables = tables(&out);
    assert_eq!(tables.len(), 2, "two tables (cache on, off):\n{out}");
    for (i, t) in tables.iter().enumerate() {
        let got: Vec<(&str, &str)> = t
            .rows
            .iter()
            .map(|(name, _, act)| (name.trim_end(), act.as_str()))
            .collect();
        let want: Vec<(&str, &str)> = PATHS
            .iter()
            .filter(|(n, _)| i == 0 || !floor_row(n))
            .map(|(n, a)| (*n, *a))
            .collect();
        assert_eq!(got, want, "paths and actions:\n{out}");
        for (name, figures, _) in &t.rows {
            assert!(figures[0] > 0.0, "{name}: {figures:?}");
        }
    }
    assert!(
        tables[0].counter("flow_cache_hit") > 0,
        "the cache served:\n{out}"
    );
    assert_eq!(
        tables[1].counter("flow_cache_hit"),
        0,
        "no cache, no hits:\n{out}"
    );
    for t in &tables {
        // The TOA row wrote its option every time, and none was skipped.
        assert!(t.counter("toa_added") >= 5 * 1000, "{out}");
        assert_eq!(t.counter("toa_skipped"), 0, "{out}");
        // The PROXY row's packet got its header every time.
        assert!(t.counter("proxy_headers") >= 5 * 1000, "{out}");
        assert_eq!(t.counter("proxy_dropped"), 0, "{out}");
        // Drained as it went: nothing lost, every new flow reported once.
        assert_eq!(t.counter("sync_ring_full"), 0, "{out}");
        assert_eq!(t.counter("sync_events_read"), SYNC_ROWS * 5 * 1000, "{out}");
        // Every real has its next hop: TUN and FULLNAT rows took it, the
        // rows marked "FIB lookup" had the map off.
        assert!(t.counter("next_hop_hit") >= 5 * 1000, "{out}");
        assert_eq!(t.counter("next_hop_fallback"), 0, "{out}");
    }
    // The bench's own namespace, named by its pid, is gone.
    let ns = format!("/run/netns/xlvs-bench-{pid}");
    assert!(!std::path::Path::new(&ns).exists(), "{ns} is left");
}
