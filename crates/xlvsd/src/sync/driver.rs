//! The sync task: one loop over the socket, the data plane's report ring,
//! the core's timers and the daemon's commands; after each turn it sends
//! what the core queued and applies what it reported.

use super::socket::{self, SocketError};
use super::{routes, translate};
use crate::forwarder::{Applied, Forwarder, ForwarderError};
use crate::host::HostView;
use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch, Mutex, Notify};
use xlvs_api::reply::{SyncReport, SyncTable};
use xlvs_config::{Cluster, NodeConfig, Peering};
use xlvs_dataplane::SyncEvents;
use xlvs_ospf_driver::Speaker;
use xlvs_sync::{BulkStatus, Config, Event, FlowKind, FlowSync, Mode, NodeState};

/// The data plane wakes the reader at most once a tick per CPU: events
/// after a wakeup wait for the next one, or for this drain.
const RING_DRAIN: Duration = Duration::from_millis(20);
/// How often the report for `xlvsadm sync` and metrics is brought up to
/// date when nothing else happens.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Per turn of the loop, at most this many datagrams are read, received
/// entries applied and datagrams sent: a table transfer of a million
/// entries interleaves with everything else instead of holding the loop
/// (and the forwarder's lock) for seconds. Reading comes first and is
/// cheap, so the socket's buffer never fills while entries wait to be
/// installed (they wait in `pending`, in order).
const READ_PER_TURN: usize = 4096;
const APPLY_PER_TURN: usize = 512;
const SEND_PER_TURN: usize = 64;
/// Entries of our table read per turn for a peer's transfer: a million are
/// read in a few hundred turns, between which Hellos and live entries go
/// on (read at once, the serving director fell silent for seconds and its
/// peers took it for gone).
const TABLE_READ_PER_TURN: u32 = 8192;
/// A table we serve leaves [`SEND_PER_TURN`] datagrams per this pace (2.5
/// million entries a second): a receiver gets it as a stream its buffer
/// absorbs, not in one burst.
const SEND_PACE: Duration = Duration::from_millis(1);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("sync: {0}")]
    Config(#[from] xlvs_sync::ConfigError),
    #[error("sync: {0}")]
    Forwarder(#[from] ForwarderError),
    #[error("sync: watching the report ring: {0}")]
    Ring(std::io::Error),
    #[error("[cluster] interface {0} has no IPv4 address to sync from (waited 30 s)")]
    NoAddress(String),
    #[error("[cluster] peers: {addr} is this node's own address on {interface} (the sync interface); peers are the other directors")]
    PeerIsSelf { addr: Ipv4Addr, interface: String },
}

/// A peer that is this node's sync address: refused at start and reload
/// (the core would only ignore it, and the operator meant something else).
pub fn peer_is_self(cluster: &Cluster, addr: Ipv4Addr) -> Result<(), SyncError> {
    match &cluster.peering {
        Peering::Peers(peers) if peers.contains(&addr) => Err(SyncError::PeerIsSelf {
            addr,
            interface: cluster.interface.clone(),
        }),
        _ => Ok(()),
    }
}

enum Command {
    Peers(Vec<Ipv4Addr>),
    /// Answered once the peers' local addresses are withdrawn.
    Leaving(tokio::sync::oneshot::Sender<()>),
}

/// The daemon's hold on the sync task.
#[derive(Clone)]
pub struct SyncHandle {
    /// The address sync runs from (the `[cluster]` interface's).
    pub address: Ipv4Addr,
    commands: mpsc::UnboundedSender<Command>,
    report: Arc<std::sync::Mutex<SyncReport>>,
    table: watch::Receiver<BulkStatus>,
}

impl SyncHandle {
    /// Whether the cluster's table has been fetched (or given up on):
    /// until then the VIPs wait, so no flow comes here that a peer knows
    /// and this director does not.
    pub fn table_settled(&self) -> bool {
        matches!(
            *self.table.borrow(),
            BulkStatus::Done { .. } | BulkStatus::Alone | BulkStatus::TimedOut
        )
    }

    pub fn table_status(&self) -> BulkStatus {
        *self.table.borrow()
    }

    pub fn report(&self) -> SyncReport {
        self.report.lock().expect("sync report lock").clone()
    }

    /// A reload: the peers may change; anything else needs a restart
    /// (reload.rs refuses it before this is called).
    pub fn set_peers(&self, peers: Vec<Ipv4Addr>) {
        let _ = self.commands.send(Command::Peers(peers));
    }

    /// Shutting down: the peers hear that we leave, and the peers' local
    /// addresses are withdrawn (ours stay until the flush, leave.rs).
    /// Returns once done, or after a second if the sync task is stuck.
    pub async fn leaving(&self) {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Leaving(done)).is_ok()
            && tokio::time::timeout(Duration::from_secs(1), answer)
                .await
                .is_err()
        {
            tracing::warn!("sync: the peers' local addresses were not withdrawn within a second");
        }
    }
}

/// Starts sync from the `[cluster]` interface's address `addr`: the data
/// plane starts reporting, and the table is fetched from a peer (the
/// VIPs wait for [`SyncHandle::table_settled`]). `changed` is woken when
/// the table settles.
#[allow(clippy::too_many_arguments)]
pub fn start(
    config: &NodeConfig,
    cluster: &Cluster,
    addr: Ipv4Addr,
    forwarder: Arc<Mutex<Forwarder>>,
    speaker: Speaker,
    host: watch::Receiver<Option<HostView>>,
    changed: Arc<Notify>,
) -> Result<SyncHandle, SyncError> {
    peer_is_self(cluster, addr)?;
    let socket = socket::open(&cluster.peering, addr, cluster.port)?;
    let now = Instant::now();
    let mut core = FlowSync::new(core_config(config, cluster, addr), now, session())?;
    core.start_bulk(now, now + cluster.bulk_timeout);
    // An entry lives for its idle timeout on the peers: refreshed three
    // times per the shortest one, it never expires there while it lives
    // here.
    let (refresh, ring) = {
        let mut f = forwarder.try_lock().expect("not shared yet");
        let refresh = shortest_timeout(&f) / 3;
        (refresh, f.start_sync(refresh)?)
    };
    // SAFETY: the AsyncFd owns the ring, so the descriptor stays open for
    // as long as it is registered.
    let ring = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
        .map_err(|e| SyncError::Ring(e.into_parts().1))?;
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (table_tx, table) = watch::channel(core.bulk_status());
    let report = Arc::new(std::sync::Mutex::new(SyncReport {
        protocol: core.stats(now),
        table: SyncTable::default(),
        peer_local_addresses: Vec::new(),
    }));
    tracing::info!(
        address = %addr,
        port = cluster.port,
        ?refresh,
        bulk_timeout = ?cluster.bulk_timeout,
        "flow sync on: fetching the cluster's connection table before announcing the VIPs"
    );
    let own_local = config
        .fullnat
        .as_ref()
        .map(|f| f.local_addresses.clone())
        .unwrap_or_default();
    let task = Task {
        me: addr,
        core,
        socket,
        ring,
        forwarder,
        speaker,
        changed,
        commands: commands_rx,
        table_tx,
        report: report.clone(),
        table: SyncTable::default(),
        own_local: own_local.clone(),
        peer_local: BTreeMap::new(),
        // The daemon announced our own at start.
        announced: own_local
            .iter()
            .map(|&a| (a, crate::ospf::ANNOUNCE_METRIC))
            .collect(),
        host,
        arms: config.dataplane.interfaces.clone(),
        pending: VecDeque::new(),
        more_to_send: false,
        leaving: false,
        serving: VecDeque::new(),
    };
    tokio::spawn(task.run());
    Ok(SyncHandle {
        address: addr,
        commands,
        report,
        table,
    })
}

/// The sync core's own checks of the `[cluster]` settings, without a
/// socket: what [`start`] would refuse (the address is only known then,
/// and no check depends on it).
pub fn check(config: &NodeConfig, cluster: &Cluster) -> Result<(), xlvs_sync::ConfigError> {
    let settings = core_config(config, cluster, Ipv4Addr::UNSPECIFIED);
    FlowSync::new(settings, Instant::now(), 0).map(drop)
}

fn core_config(config: &NodeConfig, cluster: &Cluster, addr: Ipv4Addr) -> Config {
    let mode = match &cluster.peering {
        Peering::Peers(p) => Mode::Unicast(p.clone()),
        Peering::Group(g) => Mode::Group(*g),
    };
    let mut c = Config::new(addr, mode, &cluster.key.0);
    c.port = cluster.port;
    c.name = config.node.name.clone();
    c.local_addresses = config
        .fullnat
        .as_ref()
        .map(|f| f.local_addresses.clone())
        .unwrap_or_default();
    c
}

/// One run of this director: its start time in microseconds, which peers
/// take as newer than any earlier run's (replays of those are refused).
fn session() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    since.as_micros() as u64
}

fn shortest_timeout(f: &Forwarder) -> Duration {
    let g = f.globals();
    let shortest = [g.tcp_timeout_s, g.tcpfin_timeout_s, g.udp_timeout_s]
        .into_iter()
        .filter(|&s| s > 0)
        .min()
        .unwrap_or(3);
    Duration::from_secs(u64::from(shortest)).max(Duration::from_secs(3))
}

struct Task {
    me: Ipv4Addr,
    core: FlowSync,
    socket: UdpSocket,
    ring: AsyncFd<SyncEvents>,
    forwarder: Arc<Mutex<Forwarder>>,
    speaker: Speaker,
    changed: Arc<Notify>,
    commands: mpsc::UnboundedReceiver<Command>,
    table_tx: watch::Sender<BulkStatus>,
    report: Arc<std::sync::Mutex<SyncReport>>,
    table: SyncTable,
    own_local: Vec<Ipv4Addr>,
    /// Each peer's FULLNAT local addresses, from its Hellos.
    peer_local: BTreeMap<Ipv4Addr, Vec<Ipv4Addr>>,
    /// The local addresses announced now (ours and the peers'), with
    /// their metrics (routes.rs).
    announced: BTreeMap<Ipv4Addr, u16>,
    /// The kernel's view: whether every XDP interface (`arms`) is up.
    host: watch::Receiver<Option<HostView>>,
    arms: Vec<String>,
    /// Events taken from the core, not applied yet.
    pending: VecDeque<Event>,
    /// The last turn sent as many datagrams as it may: more are queued.
    more_to_send: bool,
    /// The node stops: the peers' local addresses are not ours to carry.
    leaving: bool,
    /// Table transfers asked of us, read a part per turn, oldest first.
    serving: VecDeque<TableRead>,
}

/// Our table being read for a peer's transfer.
struct TableRead {
    to: Ipv4Addr,
    transfer: u32,
    /// `None` until the first part is read.
    reader: Option<xlvs_dataplane::TableReader>,
    entries: Vec<xlvs_sync::Entry>,
}

impl Task {
    async fn run(mut self) {
        // One byte over the largest datagram accepted: recv_from cuts a
        // datagram to the buffer, so a longer one must still arrive longer
        // than the limit, to be refused as oversized (not as truncated).
        let mut buf = vec![0u8; xlvs_sync::wire::MAX_DATAGRAM + 1];
        let mut drain = tokio::time::interval(RING_DRAIN);
        let mut report = tokio::time::interval(REPORT_EVERY);
        loop {
            // Entries left to apply from the last turn: take a turn at
            // once; datagrams left to send: at the pace.
            let busy = !self.pending.is_empty() || !self.serving.is_empty();
            let send_more = self.more_to_send && !busy;
            let wake = self
                .core
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + REPORT_EVERY);
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => {
                        self.core.handle_datagram(Instant::now(), from, &buf[..n]);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sync: receiving failed"),
                },
                r = self.ring.readable_mut() => {
                    if let Ok(mut guard) = r {
                        guard.clear_ready();
                    }
                }
                _ = drain.tick() => {}
                _ = tokio::time::sleep_until(wake) => self.core.handle_timeout(Instant::now()),
                // The follower never stops while we hold the receiver.
                Ok(()) = self.host.changed() => {}
                c = self.commands.recv() => match c {
                    Some(Command::Peers(peers)) => self.core.set_peers(Instant::now(), peers),
                    Some(Command::Leaving(done)) => {
                        self.core.set_state(Instant::now(), NodeState::Leaving);
                        self.leaving = true;
                        self.local_routes().await;
                        let _ = done.send(());
                    }
                    None => return,
                },
                _ = report.tick() => {}
                _ = std::future::ready(()), if busy => {}
                _ = tokio::time::sleep(SEND_PACE), if send_more => {}
            }
            self.receive_ready(&mut buf);
            self.publish_reports();
            self.pending
                .extend(std::iter::from_fn(|| self.core.poll_event()));
            self.apply_events().await;
            self.read_table().await;
            self.local_routes().await;
            self.transmit().await;
            self.update_report();
        }
    }

    /// The data plane's reports, published to the peers.
    fn publish_reports(&mut self) {
        let now = Instant::now();
        let ring = self.ring.get_mut();
        while let Some(ev) = ring.next_event() {
            if let Some(entry) = translate::to_wire(&ev, self.me, Duration::ZERO) {
                self.core.publish(now, entry);
                match entry.key.kind {
                    FlowKind::Connection => self.table.published += 1,
                    FlowKind::Template => self.table.templates.published += 1,
                }
            }
        }
    }

    /// Every datagram the socket holds (up to [`READ_PER_TURN`]), into the
    /// core.
    fn receive_ready(&mut self, buf: &mut [u8]) {
        for _ in 0..READ_PER_TURN {
            match self.socket.try_recv_from(buf) {
                Ok((n, SocketAddr::V4(from))) => {
                    self.core.handle_datagram(Instant::now(), from, &buf[..n]);
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!(error = %e, "sync: receiving failed");
                    return;
                }
            }
        }
    }

    async fn transmit(&mut self) {
        self.more_to_send = false;
        for _ in 0..SEND_PER_TURN {
            let Some(t) = self.core.poll_transmit(Instant::now()) else {
                return;
            };
            if let Err(e) = self.socket.send_to(&t.bytes, t.to).await {
                tracing::debug!(to = %t.to, error = %e, "sync: sending failed");
            }
        }
        self.more_to_send = true;
    }

    /// Applies up to [`APPLY_PER_TURN`] of the pending events, in order.
    async fn apply_events(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let forwarder = self.forwarder.clone();
        let mut f = forwarder.lock().await;
        let services = f.sync_services();
        let clock = f.clock();
        let take = self.pending.len().min(APPLY_PER_TURN);
        let events: Vec<Event> = self.pending.drain(..take).collect();
        for ev in events {
            match ev {
                Event::Install { entry, .. } | Event::Remove { entry, .. } => {
                    match clock {
                        Some(clock) => {
                            let applied = f.apply_peer_entry(&services, &entry, self.me, clock);
                            self.count(entry.key.kind, applied);
                        }
                        // Unreadable (the forwarder logged why): left out, counted.
                        None => self.count(entry.key.kind, Ok(Applied::Error)),
                    }
                }
                Event::PeerUp {
                    addr,
                    name,
                    state,
                    local_addresses,
                } => {
                    tracing::info!(peer = %addr, %name, ?state, ?local_addresses, "sync peer up");
                    self.learn_local(addr, local_addresses);
                }
                Event::PeerChanged {
                    addr,
                    state,
                    local_addresses,
                    ..
                } => {
                    tracing::info!(peer = %addr, ?state, ?local_addresses, "sync peer changed");
                    self.learn_local(addr, local_addresses);
                }
                // Its local addresses stay announced here: from now on we
                // (and the other survivors) answer for its flows.
                Event::PeerDown {
                    addr,
                    local_addresses,
                } => {
                    tracing::warn!(peer = %addr, ?local_addresses, "sync peer down: its flows are forwarded from the synced entries");
                }
                Event::BulkRequested { from, transfer } => {
                    // A request again from the same peer replaces its last.
                    self.serving.retain(|r| r.to != from);
                    self.serving.push_back(TableRead {
                        to: from,
                        transfer,
                        reader: None,
                        entries: Vec::new(),
                    });
                }
                Event::BulkFinished { from, entries } => {
                    tracing::info!(peer = %from, entries, "sync: the cluster's table fetched");
                    self.settled();
                }
                Event::BulkFailed { reason } => {
                    tracing::warn!(
                        ?reason,
                        "sync: no table fetched; announcing with what we have"
                    );
                    self.settled();
                }
            }
        }
    }

    /// Reads the next part of the table the oldest transfer asked of us
    /// needs, and serves it once read to the end.
    async fn read_table(&mut self) {
        let Some(read) = self.serving.front_mut() else {
            return;
        };
        let f = self.forwarder.lock().await;
        let reader = match &mut read.reader {
            Some(r) => r,
            None => match f.table_reader() {
                Ok(r) => read.reader.insert(r),
                Err(e) => {
                    tracing::error!(peer = %read.to, error = %e, "sync: cannot read our table for a peer");
                    self.serving.pop_front();
                    return;
                }
            },
        };
        match f.read_table(reader, self.me, TABLE_READ_PER_TURN) {
            Ok(Some(part)) => read.entries.extend(part),
            Ok(None) => {
                drop(f);
                let read = self.serving.pop_front().expect("the front one");
                tracing::info!(peer = %read.to, entries = read.entries.len(), "sync: sending our table");
                self.core
                    .serve_bulk(Instant::now(), read.to, read.transfer, read.entries);
            }
            Err(e) => {
                tracing::error!(peer = %read.to, error = %e, "sync: cannot read our table for a peer");
                self.serving.pop_front();
            }
        }
    }

    fn settled(&mut self) {
        self.core.set_state(Instant::now(), NodeState::Ready);
        let _ = self.table_tx.send(self.core.bulk_status());
        self.changed.notify_one();
    }

    /// Counts what became of a received record: entries and templates
    /// apart (`xlvsadm sync`, the `xlvs_sync_*` metrics).
    fn count(&mut self, kind: FlowKind, applied: Result<Applied, ForwarderError>) {
        let applied = applied.unwrap_or_else(|e| {
            tracing::debug!(error = %e, ?kind, "sync: a received record was not installed");
            Applied::Error
        });
        let t = &mut self.table;
        let (installed, refreshed, not_installed) = match kind {
            FlowKind::Connection => (&mut t.installed, &mut t.refreshed, &mut t.not_installed),
            FlowKind::Template => {
                let x = &mut t.templates;
                (&mut x.installed, &mut x.refreshed, &mut x.not_installed)
            }
        };
        match applied {
            Applied::Installed => *installed += 1,
            Applied::Refreshed => *refreshed += 1,
            Applied::Removed => t.removed += 1,
            other => {
                let why = other.not_installed().unwrap_or("other");
                *not_installed.entry(why.to_owned()).or_default() += 1;
            }
        }
    }

    /// A peer's FULLNAT local addresses, from its Hello. One of ours
    /// claimed by a peer is a configuration mistake: logged, not taken.
    fn learn_local(&mut self, peer: Ipv4Addr, addrs: Vec<Ipv4Addr>) {
        for a in addrs.iter().filter(|a| self.own_local.contains(a)) {
            tracing::error!(%peer, address = %a, "a sync peer claims one of our FULLNAT local addresses: each director needs its own");
        }
        self.peer_local.insert(peer, addrs);
    }

    /// Announces and withdraws local addresses as routes.rs says; a
    /// failure is logged and tried again on the next turn.
    async fn local_routes(&mut self) {
        let arms_up = {
            let view = self.host.borrow();
            view.as_ref().is_some_and(|v| {
                let links = v.links();
                let up = |name: &String| links.by_name(name).is_some_and(|(_, l)| l.running);
                self.arms.iter().all(up)
            })
        };
        let peers = self.peer_local.values().flatten().copied();
        let want = routes::local_routes(arms_up, self.leaving, &self.own_local, peers);
        if want == self.announced {
            return;
        }
        if !arms_up {
            tracing::warn!(interfaces = ?self.arms, "an XDP interface is down: the FULLNAT local addresses are left to the peers");
        }
        let gone: Vec<Ipv4Addr> = self
            .announced
            .keys()
            .filter(|a| !want.contains_key(a))
            .copied()
            .collect();
        for a in gone {
            match self.speaker.withdraw(a).await {
                Ok(()) => {
                    self.announced.remove(&a);
                }
                Err(e) => {
                    tracing::error!(address = %a, error = %e, "withdrawing a local address failed")
                }
            }
        }
        for (&a, &metric) in &want {
            if self.announced.get(&a) == Some(&metric) {
                continue;
            }
            match self.speaker.announce(a, metric).await {
                Ok(()) => {
                    self.announced.insert(a, metric);
                }
                Err(e) => {
                    tracing::error!(address = %a, error = %e, "announcing a local address failed")
                }
            }
        }
    }

    fn update_report(&mut self) {
        let now = Instant::now();
        let _ = self.table_tx.send_if_modified(|s| {
            let new = self.core.bulk_status();
            (new != *s).then(|| *s = new).is_some()
        });
        let mut r = self.report.lock().expect("sync report lock");
        r.protocol = self.core.stats(now);
        r.table = self.table.clone();
        r.peer_local_addresses = self
            .announced
            .keys()
            .filter(|a| !self.own_local.contains(a))
            .copied()
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlvs_config::SyncKey;

    #[test]
    fn a_peer_that_is_our_own_sync_address_is_refused() {
        let me: Ipv4Addr = "10.0.1.11".parse().unwrap();
        let mut cluster = Cluster {
            interface: "eth1".into(),
            peering: Peering::Peers(vec!["10.0.1.12".parse().unwrap(), me]),
            port: 8849,
            key: SyncKey(b"sixteen bytes key".to_vec()),
            bulk_timeout: Duration::from_secs(10),
        };
        let err = peer_is_self(&cluster, me).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[cluster] peers: 10.0.1.11 is this node's own address on eth1 (the sync interface); peers are the other directors"
        );
        cluster.peering = Peering::Peers(vec!["10.0.1.12".parse().unwrap()]);
        assert!(peer_is_self(&cluster, me).is_ok());
        cluster.peering = Peering::Group("239.255.84.81".parse().unwrap());
        assert!(peer_is_self(&cluster, me).is_ok());
    }
}
