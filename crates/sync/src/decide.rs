//! Whether a received entry changes the local table: a pure function, so
//! every director applies the same rules and they converge.
//!
//! The owner's view wins. Live Entries only ever carry the sender's own
//! entries (the decoder refuses others), and a bulk transfer carries the
//! server's view of every owner, so an incoming entry replaces one a peer
//! installed. Two exceptions:
//!
//! - We own the flow too: both directors created it before hearing the
//!   other (the router moved the flow between them in that time). The
//!   lower owner address wins, on both: the loser installs the winner's
//!   entry when it arrives, the winner keeps its own, and no further
//!   message is needed.
//! - A Delete removes only an entry with the same owner: a late Delete from
//!   a former owner must not remove the entry of the director that took
//!   the flow over.
//!
//! Persistence templates follow the same rules (a template's key has its
//! own kind, so `existing` is always the template table's): the owner's
//! template wins, and two directors that both made one for a client
//! converge on the lower owner's real.

use crate::wire::{Entry, Op};
use std::net::Ipv4Addr;

/// What the local table holds for the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub owner: Ipv4Addr,
    pub real: Ipv4Addr,
    pub real_port: u16,
    pub local_addr: Ipv4Addr,
    pub local_port: u16,
}

impl Existing {
    /// Whether the entry forwards as `e` does (same owner and translation).
    fn forwards_as(&self, e: &Entry) -> bool {
        self.owner == e.owner
            && self.real == e.real
            && self.real_port == e.real_port
            && self.local_addr == e.local_addr
            && self.local_port == e.local_port
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write the incoming entry (new flow, or a new owner or translation).
    Install,
    /// Same owner and translation: update state and idle time only.
    Refresh,
    /// Remove the local entry.
    Remove,
    /// Leave the table as it is.
    Keep(Why),
}

/// Why an entry leaves the table as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Our own entry, echoed back in a bulk transfer: we know it best.
    OursAlready,
    /// A peer claims a flow we own too, and our address is lower.
    OursIsLower,
    /// A Delete for a flow we do not have.
    NothingToDelete,
    /// A Delete from another owner than the entry's.
    OtherOwner,
}

/// What to do with `incoming` given what the table holds; `me` is our
/// sync address (the owner of the entries we create).
pub fn decide(existing: Option<Existing>, incoming: &Entry, me: Ipv4Addr) -> Decision {
    let Some(existing) = existing else {
        return match incoming.op {
            Op::Delete => Decision::Keep(Why::NothingToDelete),
            Op::Upsert | Op::Closing => Decision::Install,
        };
    };
    if incoming.op == Op::Delete {
        return match existing.owner == incoming.owner {
            true => Decision::Remove,
            false => Decision::Keep(Why::OtherOwner),
        };
    }
    if existing.owner == me {
        if incoming.owner == me {
            return Decision::Keep(Why::OursAlready);
        }
        if u32::from(me) < u32::from(incoming.owner) {
            return Decision::Keep(Why::OursIsLower);
        }
    }
    match existing.forwards_as(incoming) {
        true => Decision::Refresh,
        false => Decision::Install,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{FlowKey, Forward, Proto};

    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    const LOWER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const HIGHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

    fn entry(op: Op, owner: Ipv4Addr, local_port: u16) -> Entry {
        Entry {
            op,
            key: FlowKey {
                kind: crate::wire::FlowKind::Connection,
                proto: Proto::Tcp,
                client: Ipv4Addr::new(198, 51, 100, 7),
                client_port: 40000,
                vip: Ipv4Addr::new(192, 0, 2, 1),
                vport: 443,
            },
            forward: Forward::FullNat,
            state: 1,
            real: Ipv4Addr::new(172, 16, 0, 10),
            real_port: 8443,
            local_addr: owner,
            local_port,
            owner,
            idle_secs: 0,
            proxy: None,
        }
    }

    fn existing(e: &Entry) -> Option<Existing> {
        Some(Existing {
            owner: e.owner,
            real: e.real,
            real_port: e.real_port,
            local_addr: e.local_addr,
            local_port: e.local_port,
        })
    }

    #[test]
    fn a_new_flow_is_installed_and_a_delete_of_nothing_kept() {
        assert_eq!(
            decide(None, &entry(Op::Upsert, HIGHER, 1), ME),
            Decision::Install
        );
        assert_eq!(
            decide(None, &entry(Op::Closing, HIGHER, 1), ME),
            Decision::Install
        );
        assert_eq!(
            decide(None, &entry(Op::Delete, HIGHER, 1), ME),
            Decision::Keep(Why::NothingToDelete)
        );
    }

    #[test]
    fn the_owner_refreshes_or_changes_its_own_entry() {
        let old = entry(Op::Upsert, HIGHER, 1);
        let mut same = old;
        same.state = 7;
        same.idle_secs = 3;
        assert_eq!(decide(existing(&old), &same, ME), Decision::Refresh);
        assert_eq!(
            decide(existing(&old), &entry(Op::Upsert, HIGHER, 2), ME),
            Decision::Install
        );
    }

    #[test]
    fn another_owner_replaces_a_peer_installed_entry() {
        // Taken over (live from the new owner, or any owner in bulk), in
        // either address order.
        let peer = entry(Op::Upsert, HIGHER, 1);
        assert_eq!(
            decide(existing(&peer), &entry(Op::Upsert, LOWER, 1), ME),
            Decision::Install
        );
        let peer = entry(Op::Upsert, LOWER, 1);
        assert_eq!(
            decide(existing(&peer), &entry(Op::Closing, HIGHER, 1), ME),
            Decision::Install
        );
        // A bulk transfer can hand back an entry we owned before a restart.
        assert_eq!(
            decide(existing(&peer), &entry(Op::Upsert, ME, 1), ME),
            Decision::Install
        );
    }

    #[test]
    fn our_own_entry_is_never_replaced_by_its_echo() {
        let ours = entry(Op::Upsert, ME, 1);
        assert_eq!(
            decide(existing(&ours), &entry(Op::Upsert, ME, 2), ME),
            Decision::Keep(Why::OursAlready)
        );
    }

    #[test]
    fn both_owning_a_flow_converges_on_the_lower_owner_on_both_sides() {
        // We (.5) and .9 both created the flow: we keep ours, and .9,
        // running the same function with itself as `me`, installs ours.
        let ours = entry(Op::Upsert, ME, 1);
        let theirs = entry(Op::Upsert, HIGHER, 2);
        assert_eq!(
            decide(existing(&ours), &theirs, ME),
            Decision::Keep(Why::OursIsLower)
        );
        assert_eq!(decide(existing(&theirs), &ours, HIGHER), Decision::Install);
        // We and .2: .2 wins on both.
        let theirs = entry(Op::Closing, LOWER, 2);
        assert_eq!(decide(existing(&ours), &theirs, ME), Decision::Install);
        assert_eq!(
            decide(existing(&theirs), &ours, LOWER),
            Decision::Keep(Why::OursIsLower)
        );
    }

    #[test]
    fn a_delete_removes_only_an_entry_of_the_same_owner() {
        let peer = entry(Op::Upsert, HIGHER, 1);
        assert_eq!(
            decide(existing(&peer), &entry(Op::Delete, HIGHER, 1), ME),
            Decision::Remove
        );
        assert_eq!(
            decide(existing(&peer), &entry(Op::Delete, LOWER, 1), ME),
            Decision::Keep(Why::OtherOwner)
        );
        // Our own entry is not removed by a peer's Delete of its own.
        let ours = entry(Op::Upsert, ME, 1);
        assert_eq!(
            decide(existing(&ours), &entry(Op::Delete, LOWER, 1), ME),
            Decision::Keep(Why::OtherOwner)
        );
    }
}
