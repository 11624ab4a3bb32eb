//! The life of a followed view: subscribe, dump, apply events; start over
//! when events were lost.

use futures_util::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, MulticastGroup};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// How long to wait before opening a new netlink socket when the last
/// one failed (or the kernel dropped events): long enough not to spin on
/// a lasting failure, short for a link event.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Why the kernel's state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("netlink dump failed: {0}")]
    Dump(#[source] rtnetlink::Error),
    #[error("the netlink socket closed")]
    Closed,
    #[error("the kernel dropped netlink events (socket buffer full)")]
    Overrun,
    #[error("the kernel changed state without reporting it")]
    Unreported,
}

/// What a user keeps of the kernel's state, built from a dump and kept
/// current by events.
pub trait View: Default + Send + Sync + 'static {
    /// What the view holds, for the log ("interfaces").
    const WHAT: &'static str;
    /// The notification groups whose events change the view.
    const GROUPS: &'static [MulticastGroup];
    /// The kernel's state now, asked over `handle`.
    fn dump(handle: &Handle) -> impl Future<Output = Result<Self, NetlinkError>> + Send;
    /// Applies one message, from a dump or an event. Returns whether the
    /// view changed: watchers wake only then.
    fn apply(&mut self, msg: &RouteNetlinkMessage) -> bool;
    /// Whether an event applied means the kernel also changed something it
    /// does not report (IPv4 routes flushed with a link that went down):
    /// the view is dumped again at once.
    fn unreported(&self) -> bool {
        false
    }
}

/// Applies every answer of a dump request to `view`, each as the event
/// `event` makes of it (the kernel answers a dump with the messages its
/// events carry).
pub async fn apply_dump<V: View, M>(
    view: &mut V,
    answers: impl Stream<Item = Result<M, rtnetlink::Error>>,
    event: impl Fn(M) -> RouteNetlinkMessage,
) -> Result<(), NetlinkError> {
    let mut answers = std::pin::pin!(answers);
    while let Some(m) = answers.try_next().await.map_err(NetlinkError::Dump)? {
        view.apply(&event(m));
    }
    Ok(())
}

/// A one-off dump for synchronous callers. They may run inside a tokio
/// runtime (xlvsd's reload check does), where starting another runtime on
/// the same thread panics: the dump gets a thread and a runtime of its own.
pub fn read_once<V: View>() -> Result<V, NetlinkError> {
    let once = || -> Result<V, NetlinkError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(NetlinkError::Socket)?;
        runtime.block_on(async { V::dump(&Requests::open()?.handle).await })
    };
    std::thread::scope(|s| {
        s.spawn(once)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Follows the kernel in a task of the current runtime. The view is None
/// until the first dump is in; the task ends when every receiver is
/// dropped.
pub fn watch<V: View>() -> watch::Receiver<Option<V>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(follow(tx));
    rx
}

async fn follow<V: View>(view: watch::Sender<Option<V>>) {
    loop {
        match follow_one_socket(&view).await {
            Ok(()) => return,
            Err(NetlinkError::Unreported) => {
                tracing::debug!("netlink: reading the kernel's {} again", V::WHAT);
                continue;
            }
            Err(e) => {
                // The view stays as it was until the next dump replaces it.
                tracing::warn!(error = %e, "netlink: reading the kernel's {} again", V::WHAT);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_DELAY) => {}
            _ = view.closed() => return,
        }
    }
}

/// One netlink socket's life: subscribe, dump, then apply events until
/// the socket fails (Err) or nobody reads the view any more (Ok).
async fn follow_one_socket<V: View>(view: &watch::Sender<Option<V>>) -> Result<(), NetlinkError> {
    // Subscribed before the dump: events that come during it wait in the
    // channel and are applied after it. They carry whole states, in
    // order, so the view ends where the kernel is.
    let (connection, handle, mut events) =
        rtnetlink::new_multicast_connection(V::GROUPS).map_err(NetlinkError::Socket)?;
    let _reader = AbortOnDrop(tokio::spawn(connection));
    let dumped = V::dump(&handle).await?;
    let first = view.borrow().is_none();
    view.send_replace(Some(dumped));
    if !first {
        tracing::info!("netlink: the kernel's {} read again", V::WHAT);
    }
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = view.closed() => return Ok(()),
        };
        let Some((message, _)) = event else {
            return Err(NetlinkError::Closed);
        };
        match message.payload {
            NetlinkPayload::InnerMessage(m) => {
                view.send_if_modified(|v| v.as_mut().is_some_and(|v| v.apply(&m)));
                if view.borrow().as_ref().is_some_and(V::unreported) {
                    return Err(NetlinkError::Unreported);
                }
            }
            // Events were lost: only a new dump tells what they said.
            NetlinkPayload::Overrun(_) => return Err(NetlinkError::Overrun),
            _ => {}
        }
    }
}

/// A netlink socket to send requests on (dumps, changes), read by a task
/// of the current runtime as long as this value lives.
pub struct Requests {
    pub handle: Handle,
    _reader: AbortOnDrop,
}

impl Requests {
    pub fn open() -> Result<Requests, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Socket)?;
        Ok(Requests {
            handle,
            _reader: AbortOnDrop(tokio::spawn(connection)),
        })
    }
}

/// The task reading a netlink socket, stopped with the socket's user.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
