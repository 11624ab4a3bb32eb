//! Asking the kernel to resolve the neighbours it has no MAC for (DR
//! reals, and the gateways or on-link reals TUN, NAT and FULLNAT reals'
//! next hops lead to), as
//! `ip neigh replace ADDR dev DEV use` does: an RTM_NEWNEIGH with NTF_USE
//! makes the kernel create the entry if needed and send its ARP requests.
//! The answer comes back as a neighbour event (view.rs).
//!
//! A real that stays unresolved is asked about again every [`RETRY`]: the
//! kernel gives up on an entry after its own few probes (FAILED), and a
//! real that comes back later would otherwise never be asked about again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use xlvs_netlink::rtnetlink::packet_route::neighbour::{NeighbourFlags, NeighbourState};
use xlvs_netlink::{NetlinkError, Requests};

/// At most one request per real and interface this often (the kernel's
/// own resolution of an entry takes about 3 s: 3 probes, 1 s apart).
pub const RETRY: Duration = Duration::from_secs(1);

/// A neighbour to resolve: interface index and address.
pub type Wanted = (u32, Ipv4Addr);

/// The handle the forwarder tells what it wants resolved.
pub struct Resolver {
    wanted: watch::Sender<BTreeSet<Wanted>>,
}

impl Resolver {
    /// Starts resolving in a task of the current runtime; it ends with
    /// the handle.
    pub fn start() -> Resolver {
        let (wanted, rx) = watch::channel(BTreeSet::new());
        tokio::spawn(run(rx));
        Resolver { wanted }
    }

    /// The neighbours to resolve from now on (the others are not asked
    /// about any more). New ones are asked about at once.
    pub fn want(&self, wanted: BTreeSet<Wanted>) {
        self.wanted.send_if_modified(|w| {
            let changed = *w != wanted;
            *w = wanted;
            changed
        });
    }
}

async fn run(mut wanted: watch::Receiver<BTreeSet<Wanted>>) {
    let mut asked: BTreeMap<Wanted, Instant> = BTreeMap::new();
    // Those whose last request failed, so that each failure is logged once.
    let mut failing: BTreeSet<Wanted> = BTreeSet::new();
    let mut requests: Option<Requests> = None;
    loop {
        let current = wanted.borrow_and_update().clone();
        asked.retain(|w, _| current.contains(w));
        failing.retain(|w| current.contains(w));
        let now = Instant::now();
        for &w in &current {
            if asked.get(&w).is_some_and(|&t| now < t + RETRY) {
                continue;
            }
            asked.insert(w, now);
            match ask(&mut requests, w).await {
                Ok(()) => {
                    failing.remove(&w);
                }
                Err(e) => {
                    if failing.insert(w) {
                        tracing::warn!(real = %w.1, ifindex = w.0, error = %e, "cannot ask the kernel to resolve a real server's MAC (asking again every second)");
                    }
                }
            }
        }
        let next = asked.values().map(|&t| t + RETRY).min();
        tokio::select! {
            changed = wanted.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(next.unwrap_or(now)), if next.is_some() => {}
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error(transparent)]
    Socket(#[from] NetlinkError),
    #[error("the kernel refused: {0}")]
    Refused(#[from] xlvs_netlink::rtnetlink::Error),
}

/// One request, on a socket opened when first needed (and again after it
/// failed).
async fn ask(requests: &mut Option<Requests>, (ifindex, addr): Wanted) -> Result<(), AskError> {
    let socket = match requests {
        Some(r) => r,
        None => requests.insert(Requests::open()?),
    };
    // NONE, not iproute2's default PERMANENT: the entry the kernel makes
    // for it is an ordinary one, aged and collected like any other.
    let result = socket
        .handle
        .neighbours()
        .add(ifindex, IpAddr::V4(addr))
        .state(NeighbourState::None)
        .flags(NeighbourFlags::Use)
        .replace()
        .execute()
        .await;
    if let Err(xlvs_netlink::rtnetlink::Error::RequestFailed) = &result {
        // The socket itself failed: a new one next time.
        *requests = None;
    }
    Ok(result?)
}
