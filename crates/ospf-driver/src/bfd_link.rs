//! BFD beside the OSPF instance, on the speaker's thread: the [`Bfd`] core,
//! its sockets, and the coupling to OSPF (docs/bfd.md). The run loop calls
//! [`BfdLink::follow`] after every input so sessions follow the neighbors,
//! [`BfdLink::events`] so a failed session takes its neighbor down at
//! once, and [`BfdLink::transmit`] to send.

use crate::bfd_peers::{self, BfdInterface, Peer, Running, Step, Wanted};
use crate::bfd_socket::{BfdReceiver, BfdSender, Datagram};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use xlvs_bfd::{Bfd, Counters, Diag, Event, SessionId, SessionInfo};
use xlvs_ospf::{IfaceId, Instance};

/// How long a session may hear nothing from its peer before the log (and
/// `xlvsadm bfd`) says the peer probably runs no BFD: three slow-rate
/// packets of ours went unanswered.
const SILENT_PEER: Duration = Duration::from_secs(3);

/// What the peer's silence most likely means, shown with the session.
const SILENT_NOTE: &str = "no BFD packet from the peer: is BFD on for this neighbor on its side?";

/// A session's neighbor, interface and socket, beside the core's session.
struct Meta {
    peer: Peer,
    ifname: String,
    sender: BfdSender,
    since: Instant,
    /// Whether the peer was heard was checked, SILENT_PEER after the start.
    checked: bool,
}

/// `xlvsadm bfd`: every session with the OSPF neighbor it protects, and
/// the instance's counters.
#[derive(Debug, Clone, Serialize)]
pub struct BfdStatus {
    pub sessions: Vec<BfdSession>,
    pub counters: Counters,
    /// State changes since start, by the state entered.
    pub state_changes: BTreeMap<String, u64>,
    /// Packets the kernel refused to send.
    pub send_errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BfdSession {
    pub interface: String,
    pub router_id: Ipv4Addr,
    #[serde(flatten)]
    pub session: SessionInfo,
    /// Why the session may not come up, when we can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

pub struct BfdLink {
    bfd: Bfd,
    running: BTreeMap<Peer, Running>,
    meta: HashMap<SessionId, Meta>,
    receiver: Option<JoinHandle<()>>,
    rx_tx: mpsc::Sender<Datagram>,
    state_changes: BTreeMap<String, u64>,
    send_errors: u64,
    /// The last failure to open a socket, logged once.
    problem: Option<String>,
}

impl BfdLink {
    /// No socket is opened until a session is wanted. Received datagrams
    /// arrive on the returned channel, for [`BfdLink::handle_packet`].
    pub fn new(seed: u64) -> (BfdLink, mpsc::Receiver<Datagram>) {
        let (rx_tx, rx) = mpsc::channel(1024);
        let link = BfdLink {
            bfd: Bfd::new(seed),
            running: BTreeMap::new(),
            meta: HashMap::new(),
            receiver: None,
            rx_tx,
            state_changes: BTreeMap::new(),
            send_errors: 0,
            problem: None,
        };
        (link, rx)
    }

    /// Starts and stops sessions to match the neighbors (2-Way or better
    /// on an interface with BFD on), and applies a new BFD setting live.
    pub fn follow(
        &mut self,
        now: Instant,
        inst: &Instance,
        bfd_on: impl Fn(IfaceId) -> Option<BfdInterface>,
    ) {
        let neighbors = inst.neighbor_refs();
        let wanted = bfd_peers::wanted(&neighbors, bfd_on);
        for step in bfd_peers::plan(&wanted, &self.running) {
            match step {
                Step::Remove(peer, id) => {
                    // BFD turned off under a live neighbor (a reload): tell
                    // the peer AdminDown first, or it would read our
                    // silence as a dead path and drop the adjacency.
                    let remains = bfd_peers::remains(&neighbors, &peer);
                    if remains && self.bfd.admin_down(now, id).is_ok() {
                        self.transmit(now);
                    }
                    let _ = self.bfd.remove_session(id);
                    self.running.remove(&peer);
                    self.meta.remove(&id);
                    let why = if remains {
                        "BFD off on the interface"
                    } else {
                        "the OSPF neighbor is gone"
                    };
                    tracing::info!(peer = %peer.address, neighbor = %peer.router_id, session = %id, why, "BFD session removed");
                }
                Step::Add(w) => self.add(now, w),
                Step::Reconfigure(id, config) => {
                    if self.bfd.set_config(now, id, config).is_ok() {
                        if let Some(r) = self.running.values_mut().find(|r| r.id == id) {
                            r.config = config;
                        }
                        tracing::info!(session = %id, interval = ?config.interval(), multiplier = config.multiplier(), "BFD session reconfigured");
                    }
                }
            }
        }
        self.warn_silent(now);
    }

    fn add(&mut self, now: Instant, w: Wanted) {
        if !self.open_receiver() {
            return;
        }
        let id = match self.bfd.add_session(now, w.peer.address, w.local, w.config) {
            Ok(id) => id,
            Err(e) => {
                // Tried again at the next input: logged once.
                if self.first_time(e.to_string()) {
                    tracing::warn!(error = %e, interface = %w.ifname, "BFD session not started");
                }
                return;
            }
        };
        let sender = match BfdSender::open(&w.ifname, w.local, xlvs_bfd::source_port(id)) {
            Ok(s) => s,
            Err(e) => {
                // Tried again at the next input: the address may be going.
                if self.first_time(format!("{}: {e}", w.peer.address)) {
                    tracing::warn!(error = %e, interface = %w.ifname, peer = %w.peer.address, "cannot open the BFD sending socket");
                }
                let _ = self.bfd.remove_session(id);
                return;
            }
        };
        tracing::info!(interface = %w.ifname, neighbor = %w.peer.router_id, peer = %w.peer.address, session = %id, interval = ?w.config.interval(), multiplier = w.config.multiplier(), "BFD session started");
        let running = Running {
            id,
            local: w.local,
            config: w.config,
        };
        self.running.insert(w.peer, running);
        self.meta.insert(
            id,
            Meta {
                peer: w.peer,
                ifname: w.ifname,
                sender,
                since: now,
                checked: false,
            },
        );
    }

    /// The receiving socket, opened with the first session; false if it
    /// cannot be (logged once).
    fn open_receiver(&mut self) -> bool {
        if self.receiver.is_some() {
            return true;
        }
        match BfdReceiver::open() {
            Ok(r) => {
                self.receiver = Some(spawn_receiver(Arc::new(r), self.rx_tx.clone()));
                self.problem = None;
                true
            }
            Err(e) => {
                if self.first_time(e.to_string()) {
                    tracing::error!(error = %e, port = xlvs_bfd::CONTROL_PORT, "cannot open the BFD socket");
                }
                false
            }
        }
    }

    /// Whether `problem` differs from the last one noted (then it is
    /// noted): a failure retried at every input is logged once.
    fn first_time(&mut self, problem: String) -> bool {
        let new = self.problem.as_ref() != Some(&problem);
        self.problem = Some(problem);
        new
    }

    /// A peer that never answers most likely has no BFD on its side: say
    /// so once per session, as the session itself stays Down quietly.
    fn warn_silent(&mut self, now: Instant) {
        for (id, m) in self.meta.iter_mut() {
            if m.checked || now.saturating_duration_since(m.since) < SILENT_PEER {
                continue;
            }
            m.checked = true;
            let heard = self
                .bfd
                .session(*id, now)
                .is_some_and(|s| s.counters.received > 0);
            if !heard {
                tracing::warn!(interface = %m.ifname, neighbor = %m.peer.router_id, peer = %m.peer.address, session = %id, "{SILENT_NOTE} (OSPF runs on without it)");
            }
        }
    }

    pub fn handle_packet(&mut self, now: Instant, d: &Datagram) {
        self.bfd.handle_packet(now, d.from, d.to, d.ttl, &d.payload);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.bfd.poll_timeout().is_some_and(|t| t <= now) {
            self.bfd.handle_timeout(now);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bfd.poll_timeout()
    }

    /// Logs every state change and acts on the core's events: a session
    /// that failed takes its OSPF neighbor down at once (KillNbr); the
    /// peer's AdminDown does nothing (RFC 5882 section 3.2).
    pub fn events(&mut self, now: Instant, inst: &mut Instance) {
        while let Some(e) = self.bfd.poll_event() {
            match e {
                Event::StateChanged {
                    id,
                    peer,
                    from,
                    to,
                    diag,
                } => {
                    *self.state_changes.entry(to.name().to_string()).or_default() += 1;
                    let ifname = self.meta.get(&id).map(|m| m.ifname.as_str());
                    tracing::info!(interface = ifname, %peer, session = %id, %from, %to, %diag, "BFD session state change");
                }
                Event::SessionUp { .. } => {}
                Event::SessionDown { id, peer, diag } => self.kill(now, inst, id, peer, diag),
                Event::PeerAdminDown { id, peer } => {
                    tracing::info!(%peer, session = %id, "BFD peer is AdminDown: the OSPF neighbor is left to OSPF");
                }
            }
        }
    }

    fn kill(
        &mut self,
        now: Instant,
        inst: &mut Instance,
        id: SessionId,
        peer: Ipv4Addr,
        diag: Diag,
    ) {
        let Some(m) = self.meta.get(&id) else {
            return;
        };
        let killed = inst.kill_neighbor(now, m.peer.iface, m.peer.router_id);
        tracing::warn!(interface = %m.ifname, neighbor = %m.peer.router_id, %peer, %diag, killed, "BFD session down: OSPF neighbor declared down");
    }

    /// Sends what the core has to send, each from its session's socket.
    pub fn transmit(&mut self, now: Instant) {
        while let Some(t) = self.bfd.poll_transmit(now) {
            let Some(m) = self.meta.get(&t.id) else {
                continue;
            };
            if let Err(e) = m.sender.send(t.to, &t.bytes) {
                self.send_errors += 1;
                tracing::debug!(error = %e, peer = %t.to, "BFD send failed");
            }
        }
    }

    /// The speaker stops: every session says AdminDown (so the peers do
    /// not read our silence as a failure of the path), sent at once.
    pub fn stop(&mut self, now: Instant) {
        let ids: Vec<SessionId> = self.meta.keys().copied().collect();
        for id in ids {
            let _ = self.bfd.admin_down(now, id);
        }
        self.transmit(now);
        if !self.meta.is_empty() {
            tracing::info!(
                sessions = self.meta.len(),
                "BFD sessions AdminDown: the speaker stops"
            );
        }
    }

    pub fn status(&self, now: Instant) -> BfdStatus {
        let sessions = self
            .bfd
            .sessions(now)
            .into_iter()
            .filter_map(|s| {
                let m = self.meta.get(&s.id)?;
                let silent = s.counters.received == 0
                    && now.saturating_duration_since(m.since) >= SILENT_PEER;
                Some(BfdSession {
                    interface: m.ifname.clone(),
                    router_id: m.peer.router_id,
                    note: silent.then_some(SILENT_NOTE),
                    session: s,
                })
            })
            .collect();
        BfdStatus {
            sessions,
            counters: self.bfd.counters().clone(),
            state_changes: self.state_changes.clone(),
            send_errors: self.send_errors,
        }
    }
}

impl Drop for BfdLink {
    fn drop(&mut self) {
        if let Some(r) = &self.receiver {
            r.abort();
        }
    }
}

fn spawn_receiver(sock: Arc<BfdReceiver>, tx: mpsc::Sender<Datagram>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sock.recv().await {
                Ok(d) => {
                    if tx.send(d).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "BFD socket receive failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}
