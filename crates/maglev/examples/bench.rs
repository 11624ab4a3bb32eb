//! Maglev table build times and table quality, printed as tables.
//!
//! `cargo run --release -p xlvs-maglev --example bench`
//!
//! Build time: each (backends, M, weights) case is built repeatedly (at
//! least 20 times and at least 1 s in all) and the median and minimum
//! single-build times are printed. Quality: per case, how far the busiest
//! and idlest backend are from their fair share, and what removing one
//! backend changes. Figures only; nothing is asserted. See
//! docs/benchmarks.md.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use xlvs_maglev::{Backend, Table, TableSize};

const MIN_RUNS: usize = 20;
const MIN_TOTAL: Duration = Duration::from_secs(1);

/// `n` backends 10.0.0.1:80, 10.0.0.2:80, ... with weights from `weight`.
fn backends(n: usize, weight: impl Fn(usize) -> u32) -> Vec<Backend> {
    (0..n)
        .map(|i| Backend::new(Ipv4Addr::from(0x0a00_0001 + i as u32), 80, weight(i)))
        .collect()
}

/// (median, min) of single build times.
fn time_build(size: TableSize, set: &[Backend]) -> (Duration, Duration) {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < MIN_RUNS || start.elapsed() < MIN_TOTAL {
        let t = Instant::now();
        let table = Table::build(size, set).expect("valid set");
        times.push(t.elapsed());
        std::hint::black_box(table);
    }
    times.sort();
    (times[times.len() / 2], times[0])
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// Largest deviation of a backend's slot count from its weighted fair
/// share, in percent of that share.
fn worst_share_error(table: &Table) -> f64 {
    let total: u64 = table.backends().iter().map(|b| u64::from(b.weight)).sum();
    let m = f64::from(table.size().get());
    table
        .backends()
        .iter()
        .zip(table.slot_counts())
        .map(|(b, count)| {
            let fair = m * b.weight as f64 / total as f64;
            (count as f64 - fair).abs() / fair * 100.0
        })
        .fold(0.0, f64::max)
}

/// Removes each of up to 10 evenly spread backends in turn: mean and max
/// of (changed slots, slots moved between survivors), in percent of M.
fn removal(size: TableSize, set: &[Backend], table: &Table) -> [f64; 4] {
    let tries = set.len().min(10);
    let (mut sum, mut max) = ([0.0; 2], [0.0f64; 2]);
    for t in 0..tries {
        let mut fewer = set.to_vec();
        fewer.remove(t * set.len() / tries);
        let newer = Table::build(size, &fewer).expect("valid set");
        let c = table.changes_to(&newer).expect("same size");
        let pct = [c.changed, c.between_survivors].map(|n| n as f64 * 100.0 / c.slots as f64);
        for k in 0..2 {
            sum[k] += pct[k];
            max[k] = max[k].max(pct[k]);
        }
    }
    let n = tries as f64;
    [sum[0] / n, max[0], sum[1] / n, max[1]]
}

type Weights = (&'static str, fn(usize) -> u32);

fn main() {
    let cases: [Weights; 3] = [
        ("equal", |_| 1),
        ("1,2,3,4", |i| (i % 4) as u32 + 1),
        ("1000,1,1..", |i| if i == 0 { 1000 } else { 1 }),
    ];
    println!("Maglev table build (release build, single thread)");
    println!();
    println!("| backends | M | weights | median ms | min ms | worst share error % | remove 1: changed % mean / max | remove 1: moved between survivors % mean / max |");
    println!("|---:|---:|---|---:|---:|---:|---:|---:|");
    for m in [65537, 655373] {
        let size = TableSize::new(m).expect("listed size");
        for n in [10, 100, 1000] {
            for (name, weight) in cases {
                let set = backends(n, weight);
                let (median, min) = time_build(size, &set);
                let table = Table::build(size, &set).expect("valid set");
                let [ch, ch_max, mv, mv_max] = removal(size, &set, &table);
                println!(
                    "| {n} | {m} | {name} | {} | {} | {:.3} | {ch:.2} / {ch_max:.2} | {mv:.2} / {mv_max:.2} |",
                    ms(median),
                    ms(min),
                    worst_share_error(&table),
                );
            }
        }
    }
}
