//! The order in which a stopping node (SIGTERM, SIGINT) gives up its
//! routes, and how long it forwards on between the steps: a pure rule,
//! daemon.rs does the withdrawing and the waiting.
//!
//! With flow sync and FULLNAT the node leaves in two steps: the VIPs go
//! first, so the routers send the clients' flows to the other directors
//! (which hold every translation); our own local addresses stay for the
//! grace period, so the reals' answers in flight still reach us; then
//! everything is flushed and the peers, which announce our local addresses
//! at a higher metric, take the answers. Without that, everything goes at
//! once, and with `--cleanup` the data plane forwards on for the grace
//! period after the flush (the routers move the flows before XDP goes).

use std::time::Duration;

/// A newer instance of an LSA that the routers received less than
/// MinLSArrival (1 s, RFC 2328 13 step 5a) ago would be dropped: the flush
/// waits at least this long after the VIPs' withdrawal (the speaker's own
/// gap between two instances of an LSA).
pub const MIN_LS_ARRIVAL: Duration = xlvs_ospf::config::SENT_GAP;

/// How long the data plane outlives the flush with `--cleanup` after a
/// two-step leave: the routers move our local addresses to the peers.
pub const LOCAL_MOVE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Withdraw the VIPs alone first, then forward on this long before the
    /// flush.
    pub vips_first: Option<Duration>,
    /// Forward on this long after the flush (the data plane goes when we
    /// exit: `--cleanup`).
    pub after_flush: Option<Duration>,
}

/// `grace`: `[node] shutdown_grace`; `cleanup`: the data plane goes with
/// the process; `keep_local`: sync is on and we own FULLNAT local addresses.
pub fn plan(grace: Duration, cleanup: bool, keep_local: bool) -> Plan {
    if grace.is_zero() {
        return Plan {
            vips_first: None,
            after_flush: None,
        };
    }
    if keep_local {
        return Plan {
            vips_first: Some(grace.max(MIN_LS_ARRIVAL)),
            after_flush: cleanup.then_some(grace.min(LOCAL_MOVE)),
        };
    }
    Plan {
        vips_first: None,
        after_flush: cleanup.then_some(grace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn zero_grace_flushes_everything_at_once() {
        for (cleanup, keep) in [(false, false), (true, false), (false, true), (true, true)] {
            let p = plan(Duration::ZERO, cleanup, keep);
            assert_eq!((p.vips_first, p.after_flush), (None, None));
        }
    }

    #[test]
    fn with_local_addresses_to_keep_the_vips_go_first() {
        let p = plan(5 * S, false, true);
        assert_eq!(p.vips_first, Some(5 * S));
        assert_eq!(p.after_flush, None, "the pinned data plane stays");
        let p = plan(5 * S, true, true);
        assert_eq!(
            (p.vips_first, p.after_flush),
            (Some(5 * S), Some(LOCAL_MOVE))
        );
        // Never a flush the routers would drop for arriving too soon.
        let short = Duration::from_millis(200);
        assert_eq!(plan(short, true, true).vips_first, Some(MIN_LS_ARRIVAL));
        assert_eq!(plan(short, true, true).after_flush, Some(short));
    }

    #[test]
    fn without_them_the_routes_go_at_once_and_cleanup_forwards_on() {
        assert_eq!(plan(5 * S, false, false).vips_first, None);
        assert_eq!(plan(5 * S, false, false).after_flush, None);
        assert_eq!(plan(5 * S, true, false).after_flush, Some(5 * S));
    }
}
