//! Receiving: the checks every datagram passes, in order, then dispatch.
//!
//! 1. the header and the sizes it declares (cheap, unauthenticated);
//! 2. the sender: ourselves (multicast loopback) is ignored, and in
//!    unicast mode anyone but a configured peer is dropped before any HMAC
//!    is computed;
//! 3. the tag;
//! 4. replay: the sender's session and sequence window, updated only now
//!    that the datagram is known to be the sender's;
//! 5. the payload, records included.
//!
//! Drops count against the peer the header names once it is a peer, else
//! against the unknown-senders bucket.

use crate::config::Mode;
use crate::event::Event;
use crate::flow_sync::FlowSync;
use crate::peer::{Peer, View};
use crate::replay::{ReplayWindow, Replayed};
use crate::stats::DropReason;
use crate::timers::Timer;
use crate::wire::datagram::authenticate;
use crate::wire::{Body, Datagram, Header, Hello, Op};
use std::collections::btree_map;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

impl FlowSync {
    /// A datagram received on the sync socket from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        let header = match Header::parse(bytes) {
            Ok(h) => h,
            Err(e) => return self.dropped(*from.ip(), &e.to_string(), e.reason()),
        };
        let sender = header.sender;
        if sender == self.config.address {
            return;
        }
        if matches!(self.config.mode, Mode::Unicast(_)) && !self.peers.contains_key(&sender) {
            return self.dropped(sender, "not a configured peer", DropReason::UnknownPeer);
        }
        if let Err(e) = authenticate(bytes, &header, &self.key) {
            return self.dropped(sender, &e.to_string(), e.reason());
        }
        let restarted = match self.check_replay(&header) {
            Ok(restarted) => restarted,
            Err(e) => {
                let reason = match e {
                    Replayed::StaleSession { .. } => DropReason::StaleSession,
                    Replayed::Seq(_) => DropReason::Replay,
                };
                return self.dropped(sender, &e.to_string(), reason);
            }
        };
        let datagram = match Datagram::from_parts(&header, bytes) {
            Ok(d) => d,
            Err(e) => return self.dropped(sender, &e.to_string(), e.reason()),
        };

        let peer = self.peers.entry(sender).or_insert_with(|| {
            tracing::info!(peer = %sender, "sync peer learned from the group");
            Peer::new(false)
        });
        peer.last_heard = Some(now);
        peer.counters.datagrams_received += 1;
        peer.counters.entries_received += header.count as u64;
        if restarted {
            tracing::info!(peer = %sender, session = header.session, "sync peer restarted");
            self.serving.retain(|job| job.to != sender);
            self.bulk_peer_lost(now, sender);
        }
        match datagram.body {
            Body::Hello(h) => self.rx_hello(now, sender, h),
            Body::Entries(entries) => {
                let peer = self.peers.get_mut(&sender).expect("inserted above");
                for entry in entries {
                    let event = match entry.op {
                        Op::Delete => {
                            peer.counters.removes += 1;
                            Event::Remove {
                                entry,
                                from: sender,
                            }
                        }
                        Op::Upsert | Op::Closing => {
                            peer.counters.installs += 1;
                            Event::Install {
                                entry,
                                from: sender,
                            }
                        }
                    };
                    self.events.push_back(event);
                }
            }
            Body::BulkRequest { transfer } => {
                tracing::debug!(peer = %sender, transfer, "sync table requested");
                self.events.push_back(Event::BulkRequested {
                    from: sender,
                    transfer,
                });
            }
            Body::BulkEntries { transfer, entries } => {
                self.rx_bulk_entries(now, sender, transfer, entries)
            }
            Body::BulkEnd(end) => self.rx_bulk_end(now, sender, end),
        }
    }

    /// Records the datagram in its sender's replay window; true if the
    /// sender restarted (a higher session than known).
    fn check_replay(&mut self, h: &Header) -> Result<bool, Replayed> {
        match self.replay.entry(h.sender) {
            btree_map::Entry::Vacant(v) => {
                v.insert(ReplayWindow::first(h.session, h.seq));
                Ok(false)
            }
            btree_map::Entry::Occupied(mut o) => {
                let known = o.get().session();
                o.get_mut().accept(h.session, h.seq)?;
                Ok(h.session > known)
            }
        }
    }

    fn rx_hello(&mut self, now: Instant, addr: Ipv4Addr, h: Hello) {
        let hold = Duration::from_secs(h.hold_secs.into());
        self.timers.set(Timer::Hold(addr), now + hold);
        let peer = self.peers.get_mut(&addr).expect("a peer by now");
        let view = View::of(h);
        let was_up = std::mem::replace(&mut peer.up, true);
        if !was_up || peer.view.as_ref() != Some(&view) {
            peer.view = Some(view.clone());
            let View {
                name,
                state,
                local_addresses,
            } = view;
            let what = if was_up { "changed" } else { "up" };
            tracing::info!(peer = %addr, %name, state = state.name(), "sync peer {what}");
            self.events.push_back(match was_up {
                false => Event::PeerUp {
                    addr,
                    name,
                    state,
                    local_addresses,
                },
                true => Event::PeerChanged {
                    addr,
                    name,
                    state,
                    local_addresses,
                },
            });
        }
        self.bulk_peer_heard(now, addr);
    }

    fn dropped(&mut self, addr: Ipv4Addr, why: &str, reason: DropReason) {
        tracing::debug!(sender = %addr, reason = reason.name(), error = why, "sync datagram dropped");
        match self.peers.get_mut(&addr) {
            Some(p) => p.counters.drops.add(reason),
            None => self.unknown_drops.add(reason),
        }
    }
}
