//! The reals' connection counts that lc, wlc, sed, nq, ovf, twos, lblc
//! and lblcr read (`real_load`, bpf/counts.h). XDP adds what it does
//! (an entry made: active + 1; an entry turned CT_CLOSING: active - 1,
//! inactive + 1) but never sees an entry expire, so the daemon recounts
//! from the connection table now and then and writes the absolute values.

use crate::abi::{Conn, FlowKey, RealLoad, CT_CLOSING};
use crate::loader::{map_err, Dataplane, DataplaneError};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// What a recount did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recount {
    /// Entries read from the connection table.
    pub read: usize,
    /// Live entries of counted services.
    pub counted: usize,
    /// Reals whose counts were written.
    pub reals: usize,
    pub took: Duration,
}

impl Dataplane {
    /// Counts every live entry of the connection table (ours and peers')
    /// of the services whose scheduler uses counts, and writes each of
    /// their reals' counts: CT_ACTIVE entries are active, CT_CLOSING ones
    /// inactive. Entries XDP makes or closes while the table is read may
    /// be missed by this count, and what XDP added for them meanwhile is
    /// overwritten: the counts are off by those until the next recount.
    /// Nothing to do (and nothing read) while no service counts.
    pub fn recount(&mut self) -> Result<Recount, DataplaneError> {
        let start = Instant::now();
        if self.counted.is_empty() {
            return Ok(Recount::default());
        }
        let clock = self.clock()?;
        let g = self.globals()?;
        let hz = self.hz;
        let mut loads: BTreeMap<u32, RealLoad> = BTreeMap::new();
        let (mut read, mut counted) = (0, 0);
        for_each_entry(&self.conntrack_fd, |key, conn| {
            read += 1;
            if !self.counted.contains(&conn.svc) {
                return;
            }
            let timeout = crate::sync::timeout_ticks(&g, hz, key.proto, conn.state);
            if clock.now.saturating_sub(conn.last) >= timeout {
                return;
            }
            counted += 1;
            let l = loads.entry(conn.real).or_default();
            if conn.state == CT_CLOSING {
                l.inactive += 1;
            } else {
                l.active += 1;
            }
        })?;
        let mut reals = 0;
        for &svc in &self.counted {
            for slot in self.slots.of_service(svc) {
                let load = loads.get(&slot).copied().unwrap_or_default();
                self.real_load
                    .set(slot, load, 0)
                    .map_err(map_err("real_load"))?;
                reals += 1;
            }
        }
        Ok(Recount {
            read,
            counted,
            reals,
            took: start.elapsed(),
        })
    }

    /// A real's connection counts as XDP reads them (by slot).
    pub fn real_load(&self, slot: u32) -> Result<RealLoad, DataplaneError> {
        self.real_load.get(&slot, 0).map_err(map_err("real_load"))
    }

    /// Sets a real's connection counts (by slot); the next recount
    /// replaces them.
    pub fn set_real_load(&mut self, slot: u32, load: RealLoad) -> Result<(), DataplaneError> {
        self.real_load
            .set(slot, load, 0)
            .map_err(map_err("real_load"))
    }
}

/// Entries per BPF_MAP_LOOKUP_BATCH call.
const BATCH: usize = 8192;

/// Calls `f` with every entry of the connection table, read in batches
/// (BPF_MAP_LOOKUP_BATCH): a million entries in a fraction of a second,
/// where a lookup per key would take seconds. A snapshot taken while XDP
/// runs: entries changed meanwhile may be missed or seen as they were.
fn for_each_entry(fd: &OwnedFd, mut f: impl FnMut(&FlowKey, &Conn)) -> Result<(), DataplaneError> {
    let mut keys = vec![FlowKey::default(); BATCH];
    let mut values = vec![Conn::default(); BATCH];
    // The hash table's cursor: a bucket number.
    let (mut cursor_in, mut cursor_out) = (0u32, 0u32);
    let mut first = true;
    loop {
        let mut attr = BatchAttr {
            in_batch: if first {
                0
            } else {
                &mut cursor_in as *mut u32 as u64
            },
            out_batch: &mut cursor_out as *mut u32 as u64,
            keys: keys.as_mut_ptr() as u64,
            values: values.as_mut_ptr() as u64,
            count: BATCH as u32,
            map_fd: fd.as_raw_fd() as u32,
            elem_flags: 0,
            flags: 0,
        };
        // SAFETY: the attribute points to buffers of `count` keys and
        // values of the map's sizes (FlowKey and Conn, as the program
        // defines the map) and to two u32 cursors, all alive for the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_MAP_LOOKUP_BATCH,
                &mut attr as *mut BatchAttr,
                std::mem::size_of::<BatchAttr>(),
            )
        };
        let err = (rc < 0).then(std::io::Error::last_os_error);
        let n = attr.count as usize;
        for i in 0..n.min(BATCH) {
            f(&keys[i], &values[i]);
        }
        match err {
            None => {}
            // The end of the table.
            Some(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Some(e) => {
                return Err(DataplaneError::Batch {
                    map: "conntrack",
                    source: e,
                })
            }
        }
        first = false;
        cursor_in = cursor_out;
    }
}

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// union bpf_attr as the BPF_MAP_*_BATCH commands read it.
#[repr(C)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}
