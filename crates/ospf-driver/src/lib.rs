//! The tokio driver: owns the sockets and the clock, and feeds the
//! protocol core. It runs on an OS thread of its own with its own
//! runtime, so nothing else the daemon does (programming a thousand
//! services into BPF maps) can hold up a Hello. There one task owns the
//! [`Instance`], one task per interface reads its socket and one follows
//! the kernel's links over netlink; the daemon talks to it through a
//! [`Speaker`] handle, from any runtime.
//!
//! Interfaces may appear, get their address, lose carrier, be deleted and
//! created again at any time (containers get their links after they
//! start): the driver follows the kernel's link and address events, opens
//! a socket once an interface exists with an IPv4 address, opens a new one
//! when the interface is recreated or readdressed, and brings the OSPF
//! interface down and up with carrier as the kernel reports it.
//!
//! The interface list can change while running ([`Speaker::set_interfaces`],
//! a config reload): removed interfaces say goodbye and close their socket,
//! added ones join like interfaces at start; the others are not touched.

mod bfd_link;
mod bfd_peers;
mod bfd_socket;
mod changes;
mod link;
mod socket;

pub use bfd_link::{BfdSession, BfdStatus};
pub use changes::InterfaceChanges;
pub use link::{link_info, LinkError, LinkInfo};
pub use xlvs_netlink::NetlinkError;

use bfd_link::BfdLink;
use bfd_peers::BfdInterface;
use socket::OspfSocket;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use xlvs_bfd::SessionConfig;
use xlvs_netlink::Links;
use xlvs_ospf::{
    Auth, Config, GracefulInfo, IfaceId, Instance, InterfaceConfig, InterfaceInfo, LsaInfo,
    NeighborInfo, NetworkType, Stats, VipMode,
};

/// How soon a socket that failed to open is tried again: the kernel may
/// send no further event about its interface.
const SOCKET_RETRY: Duration = Duration::from_secs(1);

/// An OSPF interface as the daemon configures it; the kernel supplies its
/// address, prefix and MTU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    pub name: String,
    pub network: NetworkType,
    pub cost: u16,
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub mtu_ignore: bool,
    pub auth: Auth,
    /// A BFD session with each neighbor (2-Way or better); None: no BFD.
    pub bfd: Option<SessionConfig>,
}

impl InterfaceSpec {
    /// Equal in everything the OSPF core uses (all but BFD).
    fn same_ospf(&self, other: &InterfaceSpec) -> bool {
        let bfd = self.bfd;
        *self
            == InterfaceSpec {
                bfd,
                ..other.clone()
            }
    }
}

#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub vip_mode: VipMode,
    pub interfaces: Vec<InterfaceSpec>,
    /// This start resumes a graceful restart the previous process prepared.
    pub graceful: Option<GracefulResume>,
}

/// What a process that prepared a graceful restart hands to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulResume {
    /// When the helpers stop keeping our routes.
    pub until: SystemTime,
    /// The sequence number of the grace-LSAs to flush.
    pub grace_seq: i32,
}

/// What [`Speaker::prepare_graceful_restart`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracePrepared {
    pub grace_seq: i32,
    /// Full adjacencies when the grace-LSAs went out.
    pub adjacencies: usize,
    /// (interface, router id) of those that did not acknowledge in time:
    /// they are not helping.
    pub unacknowledged: Vec<(String, Ipv4Addr)>,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("the OSPF speaker has stopped")]
    Stopped,
    #[error("cannot start the OSPF speaker's thread: {0}")]
    Start(#[source] std::io::Error),
}

enum Command {
    Announce(Ipv4Addr, u16),
    Withdraw(Ipv4Addr),
    Neighbors(oneshot::Sender<Vec<NeighborInfo>>),
    Database(oneshot::Sender<Vec<LsaInfo>>),
    Interfaces(oneshot::Sender<Vec<InterfaceInfo>>),
    Stats(oneshot::Sender<Stats>),
    Announced(oneshot::Sender<Vec<(Ipv4Addr, u16)>>),
    SetInterfaces(Vec<InterfaceSpec>, oneshot::Sender<InterfaceChanges>),
    Shutdown(Duration, oneshot::Sender<()>),
    PrepareRestart {
        grace_period: Duration,
        limit: Duration,
        done: oneshot::Sender<GracePrepared>,
    },
    AbortRestart,
    Graceful(oneshot::Sender<Option<GracefulInfo>>),
    Bfd(oneshot::Sender<BfdStatus>),
    StopBfd(oneshot::Sender<()>),
}

/// A handle on the running speaker.
#[derive(Clone)]
pub struct Speaker {
    tx: mpsc::Sender<Command>,
}

/// A packet from the reader of interface `iface` (packets may still be
/// queued for an interface removed since).
struct Rx {
    iface: IfaceId,
    packet: socket::Received,
}

/// One configured interface as the driver sees it: the instance's
/// interface `id`, and its socket.
struct Slot {
    id: IfaceId,
    spec: InterfaceSpec,
    socket: Option<Opened>,
    running: bool,
    /// The last problem logged, so each is logged once.
    problem: Option<String>,
}

impl Slot {
    fn new(id: IfaceId, spec: InterfaceSpec) -> Slot {
        Slot {
            id,
            spec,
            socket: None,
            running: false,
            problem: None,
        }
    }
}

/// An open socket and its reader. A socket is bound to one interface
/// index and sends multicast from one address: it is for that index and
/// address only.
struct Opened {
    socket: Arc<OspfSocket>,
    reader: JoinHandle<()>,
    index: u32,
    address: Ipv4Addr,
}

impl Opened {
    fn open(slot: &Slot, link: &LinkInfo, pkt_tx: &mpsc::Sender<Rx>) -> std::io::Result<Opened> {
        let socket = Arc::new(OspfSocket::open(&slot.spec.name, link.index, link.address)?);
        Ok(Opened {
            reader: spawn_reader(slot.id, Arc::clone(&socket), pkt_tx.clone()),
            socket,
            index: link.index,
            address: link.address,
        })
    }
}

impl Drop for Opened {
    /// Stops the reader; the socket closes (leaving AllSPFRouters) when
    /// the reader's handle on it goes too.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The protocol settings of an interface whose link is not read yet.
fn interface_config(spec: &InterfaceSpec) -> InterfaceConfig {
    InterfaceConfig {
        name: spec.name.clone(),
        address: Ipv4Addr::UNSPECIFIED,
        prefix_len: 0,
        mtu: 1500,
        network: spec.network,
        cost: spec.cost,
        hello_interval: spec.hello_interval,
        dead_interval: spec.dead_interval,
        mtu_ignore: spec.mtu_ignore,
        auth: spec.auth.clone(),
    }
}

impl Speaker {
    /// Starts the speaker on a thread of its own; interfaces join as the
    /// kernel reports them. The handle works from any runtime.
    pub fn start(cfg: SpeakerConfig) -> Result<Speaker, DriverError> {
        let interfaces = cfg.interfaces.iter().map(interface_config).collect();
        let config = Config {
            router_id: cfg.router_id,
            area_id: cfg.area_id,
            vip_mode: cfg.vip_mode,
            interfaces,
        };
        // The MD5 sequence number starts at the wall clock, so it never
        // goes backwards across restarts.
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        let mut inst = Instance::new(config, Instant::now().into_std(), seed);
        if let Some(g) = cfg.graceful {
            let left = g
                .until
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            inst.resume_graceful_restart((Instant::now() + left).into_std(), g.grace_seq);
        }
        let slots = inst
            .interface_ids()
            .into_iter()
            .zip(cfg.interfaces)
            .map(|(id, spec)| Slot::new(id, spec))
            .collect();
        let (tx, cmd_rx) = mpsc::channel(64);
        // A current_thread runtime: the instance is one state machine, and
        // its timers must not wait for the daemon's work, only for its own.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DriverError::Start)?;
        std::thread::Builder::new()
            .name("ospf".into())
            .spawn(move || runtime.block_on(run(inst, slots, cmd_rx)))
            .map_err(DriverError::Start)?;
        Ok(Speaker { tx })
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    async fn tell(&self, cmd: Command) -> Result<(), DriverError> {
        self.tx.send(cmd).await.map_err(|_| DriverError::Stopped)
    }

    pub async fn announce(&self, addr: Ipv4Addr, metric: u16) -> Result<(), DriverError> {
        self.tell(Command::Announce(addr, metric)).await
    }

    pub async fn withdraw(&self, addr: Ipv4Addr) -> Result<(), DriverError> {
        self.tell(Command::Withdraw(addr)).await
    }

    pub async fn neighbors(&self) -> Result<Vec<NeighborInfo>, DriverError> {
        self.ask(Command::Neighbors).await
    }

    pub async fn database(&self) -> Result<Vec<LsaInfo>, DriverError> {
        self.ask(Command::Database).await
    }

    pub async fn interfaces(&self) -> Result<Vec<InterfaceInfo>, DriverError> {
        self.ask(Command::Interfaces).await
    }

    pub async fn stats(&self) -> Result<Stats, DriverError> {
        self.ask(Command::Stats).await
    }

    pub async fn announced(&self) -> Result<Vec<(Ipv4Addr, u16)>, DriverError> {
        self.ask(Command::Announced).await
    }

    /// Puts a new list of interfaces in force: those not in it any more
    /// are removed, new ones added, and changed ones removed and added
    /// again; the adjacencies of the others are not touched. Names must be
    /// unique. Whether a new interface exists is the caller's to check
    /// (like at start, the speaker waits for it).
    pub async fn set_interfaces(
        &self,
        interfaces: Vec<InterfaceSpec>,
    ) -> Result<InterfaceChanges, DriverError> {
        self.ask(|tx| Command::SetInterfaces(interfaces, tx)).await
    }

    /// Flushes our LSAs, waits (at most `limit`) for the acknowledgements,
    /// says goodbye to the neighbors and stops.
    pub async fn shutdown(&self, limit: Duration) -> Result<(), DriverError> {
        self.ask(|tx| Command::Shutdown(limit, tx)).await
    }

    /// Sends grace-LSAs announcing a restart within `grace_period` and
    /// waits (at most `limit`) until every adjacency acknowledged them. The
    /// speaker runs on as before: the caller exits without `shutdown` to
    /// restart, or calls `abort_graceful_restart`.
    pub async fn prepare_graceful_restart(
        &self,
        grace_period: Duration,
        limit: Duration,
    ) -> Result<GracePrepared, DriverError> {
        self.ask(|done| Command::PrepareRestart {
            grace_period,
            limit,
            done,
        })
        .await
    }

    /// Flushes the grace-LSAs of a prepared restart that will not happen.
    pub async fn abort_graceful_restart(&self) -> Result<(), DriverError> {
        self.tell(Command::AbortRestart).await
    }

    /// The BFD sessions and counters.
    pub async fn bfd(&self) -> Result<BfdStatus, DriverError> {
        self.ask(Command::Bfd).await
    }

    /// Puts every BFD session AdminDown and sends it, for a process that
    /// exits without `shutdown` (a graceful restart): the routers must not
    /// read its silence as a failed path and drop the adjacencies.
    pub async fn stop_bfd(&self) -> Result<(), DriverError> {
        self.ask(Command::StopBfd).await
    }

    /// Where a graceful restart stands, if one is under way.
    pub async fn graceful_status(&self) -> Result<Option<GracefulInfo>, DriverError> {
        self.ask(Command::Graceful).await
    }
}

/// A prepared restart waiting for acknowledgements.
struct Preparing {
    deadline: Instant,
    grace_seq: i32,
    adjacencies: usize,
    done: oneshot::Sender<GracePrepared>,
}

async fn run(mut inst: Instance, mut slots: Vec<Slot>, mut cmd_rx: mpsc::Receiver<Command>) {
    let now = || Instant::now().into_std();
    let (pkt_tx, mut pkt_rx) = mpsc::channel::<Rx>(1024);
    let mut links = xlvs_netlink::watch::<Links>();
    // When to try again to open the sockets that failed to open.
    let mut retry: Option<Instant> = None;
    let mut shutdown: Option<(Instant, oneshot::Sender<()>)> = None;
    let mut preparing: Option<Preparing> = None;
    let (mut bfd, mut bfd_rx) = BfdLink::new(os_seed());
    loop {
        // A failed session kills its neighbor first, then the sessions
        // follow the neighbors (that one's goes with it).
        bfd.events(now(), &mut inst);
        bfd.follow(now(), &inst, |id| bfd_interface(&slots, id));
        send_all(&mut inst, &slots).await;
        bfd.transmit(now());
        if let Some(p) = &preparing {
            if inst.grace_acknowledged() || Instant::now() >= p.deadline {
                let p = preparing.take().expect("checked");
                let _ = p.done.send(GracePrepared {
                    grace_seq: inst.prepared_grace_seq().unwrap_or(p.grace_seq),
                    adjacencies: p.adjacencies,
                    unacknowledged: inst.grace_unacknowledged(),
                });
            }
        }
        if let Some((deadline, _)) = &shutdown {
            if inst.flushed() || Instant::now() >= *deadline {
                inst.say_goodbye(now());
                send_all(&mut inst, &slots).await;
                // Only now, with the routes flushed: AdminDown tells the
                // peers our silence from here on is no path failure.
                bfd.stop(now());
                let (_, done) = shutdown.take().expect("checked");
                tracing::info!(acknowledged = inst.flushed(), "OSPF speaker stopped");
                // Closes every socket.
                slots.clear();
                let _ = done.send(());
                return;
            }
        }
        let wake = [inst.poll_at(), bfd.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        // While shutting down or preparing a restart, look again soon for
        // the acknowledgements.
        let waiting = shutdown
            .as_ref()
            .map(|(deadline, _)| *deadline)
            .or(preparing.as_ref().map(|p| p.deadline));
        let wake = match waiting {
            Some(deadline) => wake
                .min(deadline)
                .min(Instant::now() + Duration::from_millis(50)),
            None => wake,
        };
        tokio::select! {
            Some(rx) = pkt_rx.recv() => {
                let p = rx.packet;
                // The instance ignores an interface removed since.
                inst.handle_packet(now(), rx.iface, p.src, p.dst, &p.payload);
            }
            Some(d) = bfd_rx.recv() => bfd.handle_packet(now(), &d),
            cmd = cmd_rx.recv() => match cmd {
                None => return,
                Some(Command::Announce(a, m)) => inst.announce(now(), a, m),
                Some(Command::Withdraw(a)) => inst.withdraw(now(), a),
                Some(Command::Neighbors(tx)) => { let _ = tx.send(inst.neighbors(now())); }
                Some(Command::Database(tx)) => { let _ = tx.send(inst.database(now())); }
                Some(Command::Interfaces(tx)) => { let _ = tx.send(inst.interfaces()); }
                Some(Command::Stats(tx)) => { let _ = tx.send(inst.stats().clone()); }
                Some(Command::Announced(tx)) => { let _ = tx.send(inst.announced()); }
                // Shutting down: dropping `tx` tells the caller we stopped.
                Some(Command::SetInterfaces(specs, tx)) => if shutdown.is_none() {
                    let changes = reconfigure(&mut inst, &mut slots, &specs).await;
                    // New interfaces come up now, from what the kernel
                    // said last.
                    let view = links.borrow().clone();
                    retry = follow_links(&mut inst, &mut slots, view.as_ref(), &pkt_tx);
                    let _ = tx.send(changes);
                },
                Some(Command::Shutdown(limit, tx)) => {
                    inst.shutdown(now());
                    shutdown = Some((Instant::now() + limit, tx));
                }
                Some(Command::PrepareRestart { grace_period, limit, done }) => {
                    let adjacencies = inst
                        .neighbors(now())
                        .iter()
                        .filter(|n| n.state == xlvs_ospf::neighbor::NbrState::Full)
                        .count();
                    let period = grace_period.as_secs().min(u64::from(u32::MAX)) as u32;
                    let grace_seq = inst.prepare_graceful_restart(now(), period);
                    preparing = Some(Preparing {
                        deadline: Instant::now() + limit,
                        grace_seq,
                        adjacencies,
                        done,
                    });
                }
                Some(Command::AbortRestart) => inst.abort_graceful_restart(now()),
                Some(Command::Graceful(tx)) => { let _ = tx.send(inst.graceful_status(now())); }
                Some(Command::Bfd(tx)) => { let _ = tx.send(bfd.status(now())); }
                Some(Command::StopBfd(tx)) => {
                    bfd.stop(now());
                    let _ = tx.send(());
                }
            },
            // BFD wakes the loop every few milliseconds: each core runs
            // its timers only when they are due.
            _ = tokio::time::sleep_until(wake) => {
                let t = now();
                if inst.poll_at().is_some_and(|due| due <= t) {
                    inst.handle_timeout(t);
                }
                bfd.handle_timeout(t);
            }
            // The watcher never stops while we hold the receiver: no Err.
            Ok(()) = links.changed() => {
                let view = links.borrow_and_update().clone();
                if shutdown.is_none() {
                    retry = follow_links(&mut inst, &mut slots, view.as_ref(), &pkt_tx);
                }
            }
            _ = tokio::time::sleep_until(retry.unwrap_or(wake)), if retry.is_some() => {
                let view = links.borrow().clone();
                retry = None;
                if shutdown.is_none() {
                    retry = follow_links(&mut inst, &mut slots, view.as_ref(), &pkt_tx);
                }
            }
        }
    }
}

/// Applies a new interface list (see [`Speaker::set_interfaces`]). A
/// removed interface's goodbye Hello goes out before its socket closes, so
/// its neighbors drop the adjacency at once instead of after the dead
/// interval. A changed one is removed and added again, as a router
/// restarts an interface it reconfigures.
async fn reconfigure(
    inst: &mut Instance,
    slots: &mut Vec<Slot>,
    specs: &[InterfaceSpec],
) -> InterfaceChanges {
    let now = Instant::now().into_std();
    let old: Vec<InterfaceSpec> = slots.iter().map(|s| s.spec.clone()).collect();
    let changes = InterfaceChanges::plan(&old, specs);
    for name in changes.removed.iter().chain(&changes.changed) {
        let Some(i) = slots.iter().position(|s| s.spec.name == *name) else {
            continue;
        };
        let goodbye = match inst.remove_interface(slots[i].id, now) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(interface = %name, error = %e, "driver and instance disagree");
                continue;
            }
        };
        // Dropped at the end of the block: the socket closes.
        let slot = slots.remove(i);
        if let Some(opened) = &slot.socket {
            for o in goodbye {
                send_one(&opened.socket, &o).await;
            }
        }
    }
    // BFD changes apply live: the sessions follow the spec.
    for slot in slots.iter_mut() {
        if let Some(spec) = specs.iter().find(|s| s.name == slot.spec.name) {
            slot.spec.bfd = spec.bfd;
        }
    }
    let joining = changes.added.iter().chain(&changes.changed);
    for spec in joining.filter_map(|name| specs.iter().find(|s| s.name == *name)) {
        match inst.add_interface(interface_config(spec), now) {
            Ok(id) => slots.push(Slot::new(id, spec.clone())),
            Err(e) => tracing::error!(error = %e, "OSPF interface not added"),
        }
    }
    tracing::info!(%changes, "OSPF interfaces reconfigured");
    changes
}

/// Follows the kernel's view of the links (None until its first dump):
/// opens sockets for interfaces that appeared, a new one for an interface
/// recreated or readdressed, brings interfaces up and down with carrier,
/// and restarts an interface whose address, prefix or MTU changed. If a
/// socket failed to open, returns when to try again.
fn follow_links(
    inst: &mut Instance,
    slots: &mut [Slot],
    links: Option<&Links>,
    pkt_tx: &mpsc::Sender<Rx>,
) -> Option<Instant> {
    let links = links?;
    let now = Instant::now().into_std();
    let mut failed = false;
    for slot in slots.iter_mut() {
        failed |= !follow_link(inst, slot, link::info(links, &slot.spec.name), pkt_tx, now);
    }
    failed.then(|| Instant::now() + SOCKET_RETRY)
}

/// Brings one interface in line with what the kernel says of its link;
/// false if its socket should be open and failed to open.
fn follow_link(
    inst: &mut Instance,
    slot: &mut Slot,
    info: Result<LinkInfo, LinkError>,
    pkt_tx: &mpsc::Sender<Rx>,
    now: std::time::Instant,
) -> bool {
    let i = slot.id;
    let name = slot.spec.name.clone();
    let info = match info {
        Ok(info) => info,
        Err(e) => {
            // note_problem logs why, once.
            if slot.running {
                slot.running = false;
                inst.interface_down(i, now);
            }
            // Nothing to send or receive; a socket of a deleted interface
            // stays bound to an index that never comes back.
            slot.socket = None;
            note_problem(slot, Some(e.to_string()));
            return true;
        }
    };
    let stale = slot
        .socket
        .as_ref()
        .filter(|o| (o.index, o.address) != (info.index, info.address));
    if let Some(old) = stale {
        tracing::info!(interface = %name, index = info.index, address = %info.address, "OSPF socket reopened");
        // The same name on a new index is a new interface: its neighbors
        // start over, as on a router whose interface was replaced.
        if old.index != info.index && slot.running {
            slot.running = false;
            inst.interface_down(i, now);
        }
        slot.socket = None;
    }
    if slot.socket.is_none() {
        match Opened::open(slot, &info, pkt_tx) {
            Ok(opened) => slot.socket = Some(opened),
            Err(e) => {
                note_problem(slot, Some(format!("cannot open the OSPF socket: {e}")));
                return false;
            }
        }
    }
    note_problem(slot, None);
    let known = inst.link(i);
    let changed = known != Some((info.address, info.prefix_len, info.mtu));
    if changed && slot.running {
        tracing::info!(interface = %name, address = %info.address, "interface address changed");
        inst.interface_down(i, now);
        slot.running = false;
    }
    if changed {
        inst.set_link(i, info.address, info.prefix_len, info.mtu);
    }
    if info.running != slot.running {
        slot.running = info.running;
        if info.running {
            tracing::info!(interface = %name, "OSPF interface up");
            inst.interface_up(i, now);
        } else {
            tracing::info!(interface = %name, "OSPF interface down: no carrier or set down");
            inst.interface_down(i, now);
        }
    }
    true
}

/// Interface `id`'s BFD setting and our address on it, once its socket is
/// open; None where BFD is off.
fn bfd_interface(slots: &[Slot], id: IfaceId) -> Option<BfdInterface> {
    let slot = slots.iter().find(|s| s.id == id)?;
    Some(BfdInterface {
        name: slot.spec.name.clone(),
        local: slot.socket.as_ref()?.address,
        config: slot.spec.bfd?,
    })
}

/// A fresh random seed for BFD's discriminators and jitter, so a restarted
/// speaker does not reuse its discriminators.
fn os_seed() -> u64 {
    let mut seed = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into the 8-byte buffer.
    let n = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
    if n == 8 {
        return u64::from_le_bytes(seed);
    }
    // Never seen on Linux; the clock still differs between restarts.
    let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    t.map(|d| d.as_nanos() as u64).unwrap_or(1)
}

fn note_problem(slot: &mut Slot, problem: Option<String>) {
    if problem != slot.problem {
        match &problem {
            Some(p) => {
                tracing::warn!(interface = %slot.spec.name, problem = %p, "OSPF interface waiting")
            }
            None if slot.problem.is_some() => {
                tracing::info!(interface = %slot.spec.name, "OSPF interface ready")
            }
            None => {}
        }
        slot.problem = problem;
    }
}

fn spawn_reader(iface: IfaceId, sock: Arc<OspfSocket>, tx: mpsc::Sender<Rx>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sock.recv().await {
                Ok(packet) => {
                    if tx.send(Rx { iface, packet }).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "OSPF socket receive failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

async fn send_all(inst: &mut Instance, slots: &[Slot]) {
    for o in inst.drain_output() {
        let slot = slots.iter().find(|s| s.id == o.iface);
        if let Some(opened) = slot.and_then(|s| s.socket.as_ref()) {
            send_one(&opened.socket, &o).await;
        }
    }
}

async fn send_one(sock: &OspfSocket, o: &xlvs_ospf::Output) {
    if let Err(e) = sock.send(o.dst, &o.bytes).await {
        // A down link refuses sends; the protocol retransmits.
        tracing::debug!(error = %e, dst = %o.dst, "OSPF send failed");
    }
}
