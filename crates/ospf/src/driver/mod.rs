//! The tokio driver: owns the sockets and the clock, and feeds the
//! protocol core. One task owns the [`Instance`]; one task per interface
//! reads its socket; the daemon talks to it through a [`Speaker`] handle.
//!
//! Interfaces may appear, get their address, lose carrier and come back at
//! any time (containers get their links after they start): the driver
//! polls the kernel every second and opens a socket once an interface
//! exists with an IPv4 address.

mod link;
mod socket;

pub use link::{link_info, LinkError, LinkInfo};

use crate::config::{Auth, Config, InterfaceConfig, NetworkType, VipMode};
use crate::show::{InterfaceInfo, LsaInfo, NeighborInfo};
use crate::{Instance, Stats};
use socket::OspfSocket;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often link state (exists, address, carrier) is read from the kernel.
const LINK_POLL: Duration = Duration::from_secs(1);

/// An OSPF interface as the daemon configures it; the kernel supplies its
/// address, prefix and MTU.
#[derive(Debug, Clone)]
pub struct InterfaceSpec {
    pub name: String,
    pub network: NetworkType,
    pub cost: u16,
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub mtu_ignore: bool,
    pub auth: Auth,
}

#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub vip_mode: VipMode,
    pub interfaces: Vec<InterfaceSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("the OSPF speaker has stopped")]
    Stopped,
}

enum Command {
    Announce(Ipv4Addr, u16),
    Withdraw(Ipv4Addr),
    Neighbors(oneshot::Sender<Vec<NeighborInfo>>),
    Database(oneshot::Sender<Vec<LsaInfo>>),
    Interfaces(oneshot::Sender<Vec<InterfaceInfo>>),
    Stats(oneshot::Sender<Stats>),
    Announced(oneshot::Sender<Vec<(Ipv4Addr, u16)>>),
    Shutdown(Duration, oneshot::Sender<()>),
}

/// A handle on the running speaker.
#[derive(Clone)]
pub struct Speaker {
    tx: mpsc::Sender<Command>,
}

struct Rx {
    iface: usize,
    packet: socket::Received,
}

/// One configured interface as the driver sees it.
struct Slot {
    name: String,
    socket: Option<Arc<OspfSocket>>,
    reader: Option<JoinHandle<()>>,
    running: bool,
    /// The last problem logged, so each is logged once.
    problem: Option<String>,
}

impl Speaker {
    /// Starts the speaker; interfaces join as the kernel reports them.
    /// Needs a tokio runtime.
    pub fn start(cfg: SpeakerConfig) -> Speaker {
        let interfaces = cfg
            .interfaces
            .iter()
            .map(|spec| InterfaceConfig {
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
            })
            .collect();
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
        let inst = Instance::new(config, Instant::now().into_std(), seed);
        let slots = cfg
            .interfaces
            .iter()
            .map(|s| Slot {
                name: s.name.clone(),
                socket: None,
                reader: None,
                running: false,
                problem: None,
            })
            .collect();
        let (tx, cmd_rx) = mpsc::channel(64);
        tokio::spawn(run(inst, slots, cmd_rx));
        Speaker { tx }
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

    /// Flushes our LSAs, waits (at most `limit`) for the acknowledgements,
    /// says goodbye to the neighbors and stops.
    pub async fn shutdown(&self, limit: Duration) -> Result<(), DriverError> {
        self.ask(|tx| Command::Shutdown(limit, tx)).await
    }
}

async fn run(mut inst: Instance, mut slots: Vec<Slot>, mut cmd_rx: mpsc::Receiver<Command>) {
    let now = || Instant::now().into_std();
    let (pkt_tx, mut pkt_rx) = mpsc::channel::<Rx>(1024);
    let mut link_poll = tokio::time::interval(LINK_POLL);
    let mut shutdown: Option<(Instant, oneshot::Sender<()>)> = None;
    loop {
        send_all(&mut inst, &slots).await;
        if let Some((deadline, _)) = &shutdown {
            if inst.flushed() || Instant::now() >= *deadline {
                inst.say_goodbye(now());
                send_all(&mut inst, &slots).await;
                let (_, done) = shutdown.take().expect("checked");
                tracing::info!(acknowledged = inst.flushed(), "OSPF speaker stopped");
                for s in &slots {
                    if let Some(r) = &s.reader {
                        r.abort();
                    }
                }
                let _ = done.send(());
                return;
            }
        }
        let wake = inst
            .poll_at()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        // While shutting down, look again soon for the acknowledgements.
        let wake = match &shutdown {
            Some((deadline, _)) => wake
                .min(*deadline)
                .min(Instant::now() + Duration::from_millis(50)),
            None => wake,
        };
        tokio::select! {
            Some(rx) = pkt_rx.recv() => {
                let p = rx.packet;
                inst.handle_packet(now(), rx.iface, p.src, p.dst, &p.payload);
            }
            cmd = cmd_rx.recv() => match cmd {
                None => return,
                Some(Command::Announce(a, m)) => inst.announce(now(), a, m),
                Some(Command::Withdraw(a)) => inst.withdraw(now(), a),
                Some(Command::Neighbors(tx)) => { let _ = tx.send(inst.neighbors(now())); }
                Some(Command::Database(tx)) => { let _ = tx.send(inst.database(now())); }
                Some(Command::Interfaces(tx)) => { let _ = tx.send(inst.interfaces()); }
                Some(Command::Stats(tx)) => { let _ = tx.send(inst.stats().clone()); }
                Some(Command::Announced(tx)) => { let _ = tx.send(inst.announced()); }
                Some(Command::Shutdown(limit, tx)) => {
                    inst.shutdown(now());
                    shutdown = Some((Instant::now() + limit, tx));
                }
            },
            _ = tokio::time::sleep_until(wake) => inst.handle_timeout(now()),
            _ = link_poll.tick() => {
                if shutdown.is_none() {
                    poll_links(&mut inst, &mut slots, &pkt_tx);
                }
            }
        }
    }
}

/// Follows the kernel: opens sockets for interfaces that appeared, brings
/// interfaces up and down with carrier, and restarts an interface whose
/// address changed.
fn poll_links(inst: &mut Instance, slots: &mut [Slot], pkt_tx: &mpsc::Sender<Rx>) {
    let now = Instant::now().into_std();
    for (i, slot) in slots.iter_mut().enumerate() {
        let info = match link_info(&slot.name) {
            Ok(info) => info,
            Err(e) => {
                if slot.running {
                    slot.running = false;
                    inst.interface_down(i, now);
                }
                note_problem(slot, Some(e.to_string()));
                continue;
            }
        };
        if slot.socket.is_none() {
            match OspfSocket::open(&slot.name, info.index, info.address) {
                Ok(sock) => {
                    let sock = Arc::new(sock);
                    slot.reader = Some(spawn_reader(i, Arc::clone(&sock), pkt_tx.clone()));
                    slot.socket = Some(sock);
                }
                Err(e) => {
                    note_problem(slot, Some(format!("cannot open the OSPF socket: {e}")));
                    continue;
                }
            }
        }
        note_problem(slot, None);
        let known = inst.link(i);
        let changed = known != Some((info.address, info.prefix_len, info.mtu));
        if changed && slot.running {
            tracing::info!(interface = %slot.name, address = %info.address, "interface address changed");
            inst.interface_down(i, now);
            slot.running = false;
        }
        if changed {
            inst.set_link(i, info.address, info.prefix_len, info.mtu);
        }
        if info.running != slot.running {
            slot.running = info.running;
            if info.running {
                inst.interface_up(i, now);
            } else {
                inst.interface_down(i, now);
            }
        }
    }
}

fn note_problem(slot: &mut Slot, problem: Option<String>) {
    if problem != slot.problem {
        match &problem {
            Some(p) => {
                tracing::warn!(interface = %slot.name, problem = %p, "OSPF interface waiting")
            }
            None if slot.problem.is_some() => {
                tracing::info!(interface = %slot.name, "OSPF interface ready")
            }
            None => {}
        }
        slot.problem = problem;
    }
}

fn spawn_reader(iface: usize, sock: Arc<OspfSocket>, tx: mpsc::Sender<Rx>) -> JoinHandle<()> {
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
        let Some(sock) = &slots[o.iface].socket else {
            continue;
        };
        if let Err(e) = sock.send(o.dst, &o.bytes).await {
            // A down link refuses sends; the protocol retransmits.
            tracing::debug!(error = %e, dst = %o.dst, "OSPF send failed");
        }
    }
}
