//! `bpf/floor.c`, the benchmark's new-flow floor: one XDP program per
//! design of per-flow state (the kernel's LRU hash with a shared or per-CPU
//! LRU list, a plain preallocated hash, a set-associative table in an array
//! shared or per CPU). A SYN stores its flow, any other TCP packet looks it
//! up (XDP_TX on a hit, XDP_DROP on a miss). Never attached: run with
//! BPF_PROG_TEST_RUN by examples/xdp_bench.

use crate::loader::{test_run_on, DataplaneError, Run};
use aya::programs::Xdp;
use aya::util::nr_cpus;
use aya::{Ebpf, EbpfLoader};

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/floor.o"));

/// The programs, each with its own table (4 Mi entries: 512 Ki buckets of
/// 8 ways for the set-associative ones).
pub const PROGRAMS: [&str; 7] = [
    "floor_parse_only",
    "floor_lru",
    "floor_lru_percpu",
    "floor_hash",
    "floor_sa",
    "floor_sa_percpu",
    "floor_sa_sliced",
];

/// Buckets of each set-associative table (bpf/floor.c SA_BUCKETS).
const SA_BUCKETS: u32 = (1 << 22) / 8;

/// The loaded floor programs and their tables.
pub struct Floor {
    ebpf: Ebpf,
}

impl Floor {
    /// Loads every program (needs root). Allocates about 2 GiB of tables.
    pub fn load() -> Result<Floor, DataplaneError> {
        // floor_sa_sliced: each possible CPU's share of the buckets.
        let cpus = nr_cpus().map_err(|_| DataplaneError::Missing("possible CPUs"))? as u32;
        let slice = SA_BUCKETS / cpus.next_power_of_two();
        let mut ebpf = EbpfLoader::new()
            .override_global("sa_slice", &slice, true)
            .load(OBJECT)?;
        for name in PROGRAMS {
            let prog: &mut Xdp = ebpf
                .program_mut(name)
                .ok_or(DataplaneError::Missing("program"))?
                .try_into()?;
            prog.load()?;
        }
        Ok(Floor { ebpf })
    }

    /// Runs `packet` through program `name` `repeat` times, as if it
    /// arrived on `ifindex`.
    pub fn run_on(
        &self,
        name: &str,
        packet: &[u8],
        repeat: u32,
        ifindex: u32,
    ) -> Result<Run, DataplaneError> {
        let prog: &Xdp = self
            .ebpf
            .program(name)
            .ok_or(DataplaneError::Missing("program"))?
            .try_into()?;
        Ok(test_run_on(prog, packet, repeat, Some(ifindex))?)
    }
}
