//! The reals' connection counts that lc, wlc, sed, nq, ovf, twos, lblc
//! and lblcr read (`real_load`, bpf/counts.h). XDP adds what it does
//! (an entry made: active + 1; an entry turned CT_CLOSING: active - 1,
//! inactive + 1) but never sees an entry expire, so the daemon recounts
//! from the connection table now and then and writes the absolute values.

use crate::abi::{RealLoad, CT_CLOSING};
use crate::loader::{map_err, Dataplane, DataplaneError};
use crate::Protocol;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Whether a live connection entry counts as active (else inactive), as
/// IPVS counts them and as XDP does (bpf/counts.h `load_new`): TCP until
/// it closes; every UDP entry is inactive (IPVS starts each connection
/// inactive and only TCP's ESTABLISHED makes one active).
pub fn is_active(proto: u8, state: u8) -> bool {
    proto == Protocol::Tcp.number() && state != CT_CLOSING
}

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
    /// their reals' counts, active or inactive by [`is_active`]. Entries
    /// XDP makes or closes while the table is read may be missed by this
    /// count, and what XDP added for them meanwhile is overwritten: the
    /// counts are off by those until the next recount.
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
        let mut counted = 0;
        let read = self.for_each_connection(|key, conn| {
            if !self.counted.contains(&conn.svc) {
                return;
            }
            let timeout = crate::sync::timeout_ticks(&g, hz, key.proto, conn.state);
            if clock.now.saturating_sub(conn.last) >= timeout {
                return;
            }
            counted += 1;
            let l = loads.entry(conn.real).or_default();
            if is_active(key.proto, conn.state) {
                l.active += 1;
            } else {
                l.inactive += 1;
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
            read: read as usize,
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
