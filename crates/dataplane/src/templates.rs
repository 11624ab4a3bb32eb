//! The state XDP keeps for persistence (templates, bpf/persist.h) and for
//! lblc and lblcr (destination address -> reals, bpf/locality.h): read
//! for listings and tests, written for tests and, one day, for templates
//! synced from peers.

use crate::abi::{DstKey, DstReals, Tmpl, TmplKey};
use crate::loader::{map_err, Dataplane, DataplaneError};
use std::net::Ipv4Addr;

impl Dataplane {
    /// Up to `limit` persistence templates.
    pub fn templates(&self, limit: usize) -> Vec<(TmplKey, Tmpl)> {
        self.templates
            .iter()
            .filter_map(Result::ok)
            .take(limit)
            .collect()
    }

    /// The template of service `svc` for `client` (already masked).
    pub fn template(&self, svc: u32, client: Ipv4Addr) -> Option<Tmpl> {
        let key = TmplKey {
            svc,
            client: client.octets(),
        };
        self.templates.get(&key, 0).ok()
    }

    /// Writes a template (its `real` must be a slot of service `key.svc`).
    pub fn set_template(&mut self, key: TmplKey, t: Tmpl) -> Result<(), DataplaneError> {
        self.templates
            .insert(key, t, 0)
            .map_err(map_err("templates"))
    }

    /// lblc, lblcr: the reals of destination `dst` of service `svc`.
    pub fn locality_entry(&self, svc: u32, dst: Ipv4Addr) -> Option<DstReals> {
        let key = DstKey {
            svc,
            dst: dst.octets(),
        };
        self.locality.get(&key, 0).ok()
    }

    pub fn set_locality_entry(
        &mut self,
        svc: u32,
        dst: Ipv4Addr,
        e: DstReals,
    ) -> Result<(), DataplaneError> {
        let key = DstKey {
            svc,
            dst: dst.octets(),
        };
        self.locality.insert(key, e, 0).map_err(map_err("locality"))
    }
}
