//! Everything xlvsd reads from or changes on the host, outside the XDP
//! maps: the forwarding sysctl, the bpf filesystem the pins live on, and
//! the kernel's interfaces, addresses, neighbours and routes, which
//! xlvsd follows over rtnetlink ([`Host`]): a dump at start, then the
//! kernel's events, so the data plane learns of a changed MAC, a
//! recreated interface or a new route as the kernel reports it. The
//! decisions never call these; the forwarder passes what they say on as
//! facts.

mod resolve;
mod routes;
mod view;

pub use resolve::{Resolver, Wanted};
pub use routes::Route;
pub use view::{HostView, Neighbour};

use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

/// How long the start waits for the first dump of the kernel's state
/// (milliseconds, normally; a failing netlink socket is retried every
/// second meanwhile, with a warning each time).
const FIRST_DUMP_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("the kernel's interfaces and neighbours could not be read over netlink within {0:?}")]
    FirstDump(Duration),
}

/// The kernel as netlink events keep it (None before the first dump,
/// which [`Host::follow`] waits for), and the resolver of missing MACs.
pub struct Host {
    pub view: watch::Receiver<Option<HostView>>,
    pub resolver: Resolver,
}

impl Host {
    /// Starts following the kernel in tasks of the current runtime and
    /// waits for its first dump: the data plane is programmed from it.
    pub async fn follow() -> Result<Host, HostError> {
        let mut view = xlvs_netlink::watch::<HostView>();
        let first = tokio::time::timeout(FIRST_DUMP_LIMIT, view.wait_for(Option::is_some))
            .await
            .is_ok_and(|dumped| dumped.is_ok());
        if !first {
            return Err(HostError::FirstDump(FIRST_DUMP_LIMIT));
        }
        Ok(Host {
            view,
            resolver: Resolver::start(),
        })
    }
}

/// Turns IPv4 forwarding on for `iface`: the kernel's FIB answers the
/// XDP program's next-hop lookups (TUN, NAT, FULLNAT) only where it is on.
pub fn enable_forwarding(iface: &str) -> std::io::Result<()> {
    std::fs::write(format!("/proc/sys/net/ipv4/conf/{iface}/forwarding"), "1")
}

/// Mounts the bpf filesystem at /sys/fs/bpf when the pins go there and
/// nothing is mounted (systemd usually has); elsewhere the operator
/// mounts it, and loading says so if not.
pub fn ensure_bpffs(pins: &Path) {
    const BPFFS: &str = "/sys/fs/bpf";
    if !pins.starts_with(BPFFS) || is_mount_point(BPFFS) {
        return;
    }
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (src, dst, fstype) = (c("bpf"), c(BPFFS), c("bpf"));
    // SAFETY: plain mount(2) with NUL-terminated strings we own.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        tracing::info!(path = BPFFS, "mounted the bpf filesystem for pins");
    } else {
        tracing::warn!(path = BPFFS, error = %std::io::Error::last_os_error(), "cannot mount the bpf filesystem");
    }
}

fn is_mount_point(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(path))
}
