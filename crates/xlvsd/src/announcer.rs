//! Announcing and withdrawing the VIPs as their readiness says
//! (readiness.rs). A VIP counts as announced only once the speaker took
//! the announcement. A failed announcement or withdrawal is logged with
//! its error, shown by `xlvsadm status` (`announce_error`), and tried
//! again on the supervisor's next pass (within a second).

use crate::ospf::ANNOUNCE_METRIC;
use crate::readiness::{changes, Change, VipReadiness};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use xlvs_ospf_driver::Speaker;

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Announce,
    Withdraw,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Announce => "announcing",
            Action::Withdraw => "withdrawing",
        })
    }
}

/// A change the speaker refused, still to be tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} failed ({attempts} attempts, tried again every second): {error}")]
pub struct Failure {
    pub action: Action,
    pub error: String,
    pub attempts: u32,
}

#[derive(Debug, Default)]
pub struct Announcer {
    /// The VIPs the speaker announces for us.
    announced: BTreeSet<Ipv4Addr>,
    failures: BTreeMap<Ipv4Addr, Failure>,
}

impl Announcer {
    /// Announces and withdraws what `ready` asks for, given what is
    /// announced now.
    pub async fn apply(&mut self, ready: &BTreeMap<Ipv4Addr, VipReadiness>, speaker: &Speaker) {
        let pending = changes(ready, &self.announced);
        // A failure for a VIP that needs nothing done any more is over
        // (it became ready again before its withdrawal went through, ...).
        self.failures
            .retain(|vip, _| pending.iter().any(|c| c.vip() == *vip));
        for change in pending {
            self.run(change, speaker).await;
        }
    }

    /// Withdraws every VIP announced (the node leaves), with `reason` in
    /// the log. A withdrawal that fails is logged; the flush that follows
    /// takes the address anyway.
    pub async fn withdraw_all(&mut self, reason: &str, speaker: &Speaker) {
        let announced: Vec<Ipv4Addr> = self.announced.iter().copied().collect();
        for vip in announced {
            let reason = reason.to_owned();
            self.run(Change::Withdraw { vip, reason }, speaker).await;
        }
    }

    async fn run(&mut self, change: Change, speaker: &Speaker) {
        let vip = change.vip();
        let action = match change {
            Change::Announce { .. } => Action::Announce,
            Change::Withdraw { .. } => Action::Withdraw,
        };
        // A retry of the same change is logged only when its outcome is.
        let retry = self.failures.get(&vip).is_some_and(|f| f.action == action);
        let result = match &change {
            Change::Announce { reason, .. } => {
                if !retry {
                    tracing::info!(%vip, %reason, "announcing VIP");
                }
                speaker.announce(vip, ANNOUNCE_METRIC).await
            }
            Change::Withdraw { reason, .. } => {
                if !retry {
                    tracing::warn!(%vip, %reason, "withdrawing VIP");
                }
                speaker.withdraw(vip).await
            }
        };
        match result {
            Ok(()) => {
                match action {
                    Action::Announce => self.announced.insert(vip),
                    Action::Withdraw => self.announced.remove(&vip),
                };
                if let Some(f) = self.failures.remove(&vip) {
                    let attempts = f.attempts + 1;
                    tracing::info!(%vip, attempts, "{action} VIP: done after failing");
                }
            }
            Err(e) => {
                let error = e.to_string();
                let before = self.failures.get(&vip).filter(|f| f.action == action);
                let attempts = before.map_or(1, |f| f.attempts + 1);
                if before.is_some_and(|f| f.error == error) {
                    tracing::debug!(%vip, %error, attempts, "{action} VIP failed again");
                } else {
                    tracing::error!(%vip, %error, "{action} VIP failed: tried again every second");
                }
                let failure = Failure {
                    action,
                    error,
                    attempts,
                };
                self.failures.insert(vip, failure);
            }
        }
    }

    /// Why the last announcement or withdrawal of `vip` failed, while it
    /// is still to be tried again.
    pub fn failure(&self, vip: Ipv4Addr) -> Option<&Failure> {
        self.failures.get(&vip)
    }

    /// The VIPs with a failure that `ready` does not list (no service uses
    /// them any more, and their withdrawal fails).
    pub fn failing_elsewhere<'a>(
        &'a self,
        ready: &'a BTreeMap<Ipv4Addr, VipReadiness>,
    ) -> impl Iterator<Item = (Ipv4Addr, &'a Failure)> + 'a {
        self.failures
            .iter()
            .filter(move |(vip, _)| !ready.contains_key(vip))
            .map(|(vip, f)| (*vip, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ospf::speaker_config;
    use std::time::Duration;
    use xlvs_ospf_driver::DriverError;

    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);

    fn ready(vips: &[(Ipv4Addr, bool)]) -> BTreeMap<Ipv4Addr, VipReadiness> {
        vips.iter()
            .map(|&(vip, announce)| {
                let r = VipReadiness {
                    announce,
                    reasons: vec!["because".into()],
                };
                (vip, r)
            })
            .collect()
    }

    /// A real speaker, without interfaces: it needs no privileges.
    fn speaker() -> Speaker {
        let config = xlvs_config::parse(xlvs_config::EXAMPLE_NODE, "t.toml").unwrap();
        let mut ospf = speaker_config(&config);
        ospf.interfaces.clear();
        Speaker::start(ospf).expect("the speaker starts")
    }

    /// Stops the speaker, and waits until it refuses everything.
    async fn stop(speaker: &Speaker) {
        speaker.shutdown(Duration::ZERO).await.unwrap();
        while !matches!(speaker.announced().await, Err(DriverError::Stopped)) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn a_vip_counts_as_announced_once_the_speaker_has_it() {
        let speaker = speaker();
        let mut a = Announcer::default();
        a.apply(&ready(&[(VIP, true), (OTHER, false)]), &speaker)
            .await;
        assert_eq!(speaker.announced().await.unwrap(), [(VIP, ANNOUNCE_METRIC)]);
        assert_eq!(a.announced, [VIP].into());
        a.apply(&ready(&[(VIP, false)]), &speaker).await;
        assert!(speaker.announced().await.unwrap().is_empty());
        a.apply(&ready(&[(VIP, true)]), &speaker).await;
        a.apply(&ready(&[]), &speaker).await;
        assert!(
            speaker.announced().await.unwrap().is_empty(),
            "no service uses it"
        );
        assert!(a.failures.is_empty());
    }

    #[tokio::test]
    async fn leaving_withdraws_every_vip_and_only_them() {
        let speaker = speaker();
        let local = Ipv4Addr::new(10, 255, 1, 1);
        speaker.announce(local, ANNOUNCE_METRIC).await.unwrap();
        let mut a = Announcer::default();
        a.apply(&ready(&[(VIP, true), (OTHER, true)]), &speaker)
            .await;
        assert_eq!(speaker.announced().await.unwrap().len(), 3);
        a.withdraw_all("leaving", &speaker).await;
        assert!(a.announced.is_empty());
        assert_eq!(
            speaker.announced().await.unwrap(),
            [(local, ANNOUNCE_METRIC)],
            "what the announcer did not announce stays"
        );
    }

    #[tokio::test]
    async fn a_failed_withdrawal_is_kept_shown_and_tried_again() {
        let speaker = speaker();
        let mut a = Announcer::default();
        a.apply(&ready(&[(VIP, true)]), &speaker).await;
        stop(&speaker).await;
        a.apply(&ready(&[(VIP, false)]), &speaker).await;
        let f = a.failure(VIP).expect("failed");
        assert_eq!((f.action, f.attempts), (Action::Withdraw, 1));
        assert_eq!(
            f.to_string(),
            "withdrawing failed (1 attempts, tried again every second): the OSPF speaker has stopped"
        );
        assert_eq!(
            a.announced,
            [VIP].into(),
            "still announced as far as we know"
        );
        a.apply(&ready(&[(VIP, false)]), &speaker).await;
        assert_eq!(a.failure(VIP).map(|f| f.attempts), Some(2), "tried again");
        // Ready again before the withdrawal went through: nothing to do.
        a.apply(&ready(&[(VIP, true)]), &speaker).await;
        assert_eq!(a.failure(VIP), None);
    }

    #[tokio::test]
    async fn a_failed_announcement_is_not_recorded_and_is_tried_again() {
        let speaker = speaker();
        stop(&speaker).await;
        let mut a = Announcer::default();
        let wanted = ready(&[(VIP, true)]);
        a.apply(&wanted, &speaker).await;
        a.apply(&wanted, &speaker).await;
        let f = a.failure(VIP).expect("failed");
        assert_eq!((f.action, f.attempts), (Action::Announce, 2));
        assert!(a.announced.is_empty());
        assert_eq!(a.failing_elsewhere(&wanted).count(), 0);
        // A VIP whose service went while its withdrawal fails is shown too.
        let mut a = Announcer {
            announced: [OTHER].into(),
            ..Announcer::default()
        };
        a.apply(&wanted, &speaker).await;
        let elsewhere: Vec<Ipv4Addr> = a.failing_elsewhere(&wanted).map(|(v, _)| v).collect();
        assert_eq!(elsewhere, [OTHER]);
    }
}
