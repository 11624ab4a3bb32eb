//! Reading a whole hash map in batches (BPF_MAP_LOOKUP_BATCH): thousands
//! of entries a system call, where aya's iterator makes two per entry. A
//! million-entry connection table is read in a fraction of a second.
//!
//! A snapshot taken while XDP runs: entries made or removed during the walk
//! may be missed or seen; each entry is read whole.

use crate::abi::{Conn, FlowKey, Tmpl, TmplKey};
use crate::loader::{Dataplane, DataplaneError};
use aya::maps::{HashMap, IterableMap, MapData};
use aya::Pod;
use std::os::fd::{AsFd, AsRawFd};

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
/// Entries asked for per call.
pub(crate) const BATCH: u32 = 4096;

/// The kernel's `bpf_attr` for the batch commands.
#[repr(C)]
#[derive(Default)]
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

/// A walk over a hash map, a batch at a time, that can pause between
/// batches: the caller may do other work (and let go of its locks) while
/// a large table is read.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    /// The hash map's cursor: a bucket number (4 bytes; room for more).
    cursor: u64,
    started: bool,
    done: bool,
}

impl Walk {
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    /// Reads the next batch of at most `max` entries of the hash map `fd`
    /// (keys `K`, values `V`) into `keys` and `values`; returns how many.
    pub(crate) fn next<K: Pod + Default, V: Pod + Default>(
        &mut self,
        fd: u32,
        what: &'static str,
        keys: &mut Vec<K>,
        values: &mut Vec<V>,
        max: u32,
    ) -> Result<usize, DataplaneError> {
        keys.clear();
        values.clear();
        if self.done {
            return Ok(0);
        }
        keys.resize(max as usize, K::default());
        values.resize(max as usize, V::default());
        let mut cursor_in = self.cursor;
        let mut cursor_out = 0u64;
        let mut attr = BatchAttr {
            in_batch: if self.started {
                &mut cursor_in as *mut u64 as u64
            } else {
                0
            },
            out_batch: &mut cursor_out as *mut u64 as u64,
            keys: keys.as_mut_ptr() as u64,
            values: values.as_mut_ptr() as u64,
            count: max,
            map_fd: fd,
            ..Default::default()
        };
        // SAFETY: the attribute points at buffers of `count` keys and
        // values of the map's sizes (K and V are its key and value types),
        // and at two cursors, all alive for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_MAP_LOOKUP_BATCH,
                &mut attr as *mut BatchAttr,
                std::mem::size_of::<BatchAttr>(),
            )
        };
        let err = (r < 0).then(std::io::Error::last_os_error);
        // ENOENT: the walk is over (the last entries come with it).
        self.done = err.as_ref().and_then(|e| e.raw_os_error()) == Some(libc::ENOENT);
        if let Some(e) = err.filter(|_| !self.done) {
            return Err(DataplaneError::Batch {
                map: what,
                source: e,
            });
        }
        let n = attr.count as usize;
        keys.truncate(n);
        values.truncate(n);
        self.cursor = cursor_out;
        self.started = true;
        Ok(n)
    }
}

/// Calls `each` for every entry of the hash map `fd` with keys `K` and
/// values `V`; returns how many there were.
fn for_each<K: Pod + Default, V: Pod + Default>(
    fd: u32,
    what: &'static str,
    mut each: impl FnMut(&K, &V),
) -> Result<u64, DataplaneError> {
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    let mut walk = Walk::default();
    let mut total = 0u64;
    while !walk.done() {
        let n = walk.next(fd, what, &mut keys, &mut values, BATCH)?;
        for (k, v) in keys.iter().zip(&values) {
            each(k, v);
        }
        total += n as u64;
    }
    Ok(total)
}

/// The descriptor batch calls take, of a hash map aya holds.
pub(crate) fn fd_of<K: Pod, V: Pod>(map: &HashMap<MapData, K, V>) -> u32 {
    map.map().fd().as_fd().as_raw_fd() as u32
}

impl Dataplane {
    /// Calls `each` for every entry of the connection table, live or
    /// expired (expired ones wait for the LRU to evict them); returns how
    /// many entries the table holds.
    pub fn for_each_connection(
        &self,
        each: impl FnMut(&FlowKey, &Conn),
    ) -> Result<u64, DataplaneError> {
        for_each(fd_of(&self.conntrack), "conntrack", each)
    }

    /// Every persistence template (`templates`), live or expired.
    pub fn for_each_template(
        &self,
        each: impl FnMut(&TmplKey, &Tmpl),
    ) -> Result<u64, DataplaneError> {
        for_each(fd_of(&self.templates), "templates", each)
    }
}
