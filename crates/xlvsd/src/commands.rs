//! The control commands (`xlvs_api::Command`): what each one does on this
//! node, and the answer's data. The control socket (control.rs) turns the
//! result into a response; an error's text is what the client prints.

use crate::forwarder::{ForwarderError, UnknownService};
use crate::graceful::GracefulError;
use crate::ipvs::IpvsError;
use crate::node::Node;
use crate::ospf::ANNOUNCE_METRIC;
use crate::reload::ReloadError;
use serde_json::Value;
use std::sync::atomic::Ordering;
use xlvs_api::ipvs::IpvsOp;
use xlvs_api::{reply, Command};
use xlvs_dataplane::DataplaneError;
use xlvs_ospf_driver::DriverError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Ospf(#[from] DriverError),
    #[error(transparent)]
    Reload(#[from] ReloadError),
    #[error(transparent)]
    Ipvs(#[from] IpvsError),
    #[error(transparent)]
    UnknownService(#[from] UnknownService),
    #[error(transparent)]
    Forwarder(#[from] ForwarderError),
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
    #[error(transparent)]
    GracePeriod(GracefulError),
    #[error("xlvsd is already stopping")]
    AlreadyStopping,
    #[error("graceful restart refused: {0}")]
    GracefulRefused(GracefulError),
    #[error("flow sync is off: this node's config has no [cluster]")]
    NoCluster,
}

impl Node {
    /// Runs one control command.
    pub async fn command(&self, command: Command) -> Result<Value, CommandError> {
        match command {
            // Low-level route control, for operators and tests; drain
            // builds on the announcements instead.
            Command::OspfAnnounce(addr) => {
                self.speaker.announce(addr, ANNOUNCE_METRIC).await?;
                Ok(to_json(reply::AddressChanged { address: addr }))
            }
            Command::OspfWithdraw(addr) => {
                self.speaker.withdraw(addr).await?;
                Ok(to_json(reply::AddressChanged { address: addr }))
            }
            Command::RestartGraceful { grace_period_s } => {
                self.prepare_restart(grace_period_s).await
            }
            Command::OspfGraceful => Ok(to_json(self.speaker.graceful_status().await?)),
            Command::OspfNeighbors => Ok(to_json(self.speaker.neighbors().await?)),
            Command::OspfDatabase => Ok(to_json(self.speaker.database().await?)),
            Command::OspfInterfaces => Ok(to_json(self.speaker.interfaces().await?)),
            Command::OspfStats => Ok(to_json(self.speaker.stats().await?)),
            Command::Bfd => Ok(to_json(self.speaker.bfd().await?)),
            Command::Drain { service } => self.drain(service.as_deref(), true).await,
            Command::Undrain { service } => self.drain(service.as_deref(), false).await,
            Command::Reload => Ok(self.reload().await?),
            Command::Health { service } => {
                let f = self.forwarder.lock().await;
                let rows = crate::health_report::of(&f, service.as_deref())?;
                Ok(to_json(rows))
            }
            Command::IpvsList { connections } => {
                let f = self.forwarder.lock().await;
                let samples = self.samples.lock().await;
                Ok(to_json(crate::listing::table(&f, &samples, connections)))
            }
            Command::Ipvs(op) => self.ipvs(op).await,
            Command::DataplaneStats => {
                let stats = self.forwarder.lock().await.stats()?;
                let fields = stats.into_iter().map(|(k, v)| (k.to_string(), v.into()));
                Ok(Value::Object(fields.collect()))
            }
            Command::Status => self.status().await,
            Command::Sync => self.sync_report().await,
        }
    }

    /// `drain`/`undrain`: the VIPs of the service (or of every service)
    /// are withdrawn (or announced again) by the supervisor, woken now.
    async fn drain(&self, service: Option<&str>, drain: bool) -> Result<Value, CommandError> {
        let services = self.forwarder.lock().await.drain(service, drain)?;
        self.changed.notify_one();
        let verb = if drain { "drain" } else { "undrain" };
        tracing::info!(?services, drain, "operator {verb}");
        Ok(to_json(reply::Drained {
            services,
            drained: drain,
        }))
    }

    /// An ipvsadm change (xlvsadm -A/-E/-D/-a/-e/-d/-C/-Z/--set).
    async fn ipvs(&self, op: IpvsOp) -> Result<Value, CommandError> {
        match &op {
            IpvsOp::Zero { service } => {
                let key = service.map(|k| (k.vip, k.protocol, k.port));
                self.forwarder.lock().await.zero(key)?;
            }
            IpvsOp::SetTimeouts(t) => {
                let mut f = self.forwarder.lock().await;
                f.set_timeouts(t.tcp_s, t.tcpfin_s, t.udp_s)?;
            }
            _ => {
                let (new, warnings) = {
                    let current = self.config.lock().await;
                    let new = crate::ipvs::apply(&op, &current)?;
                    let before = crate::check::warnings(&current);
                    let brought = crate::check::new_warnings(&before, crate::check::warnings(&new));
                    (new, brought)
                };
                let summary = self.apply(new).await?;
                tracing::info!(?op, %summary, "ipvsadm change applied (not written to the config file)");
                for w in &warnings {
                    w.log();
                }
            }
        }
        Ok(Value::Null)
    }

    /// `xlvsadm restart --graceful [--grace-period S]`: grace-LSAs out and
    /// acknowledged, the record written; the daemon exits once the answer
    /// is written (control.rs).
    async fn prepare_restart(&self, grace_period_s: Option<u64>) -> Result<Value, CommandError> {
        let seconds = grace_period_s.unwrap_or(crate::graceful::DEFAULT_GRACE_PERIOD.as_secs());
        let period = crate::graceful::grace_period(seconds).map_err(CommandError::GracePeriod)?;
        if self.stopping.load(Ordering::Relaxed) || self.restart_prepared.load(Ordering::Relaxed) {
            return Err(CommandError::AlreadyStopping);
        }
        let config = self.config.lock().await.clone();
        let prepared = crate::graceful::prepare(&self.speaker, &config, period)
            .await
            .map_err(CommandError::GracefulRefused)?;
        self.restart_prepared.store(true, Ordering::Relaxed);
        tracing::info!(
            grace_period_s = seconds,
            adjacencies = prepared.adjacencies,
            "graceful restart: every adjacency helps; exiting without withdrawing anything"
        );
        Ok(to_json(reply::RestartPrepared {
            grace_period_s: seconds,
            adjacencies: prepared.adjacencies,
            exit_code: crate::graceful::EXIT_CODE,
        }))
    }

    /// `sync`: the protocol's view and what the table did with it.
    async fn sync_report(&self) -> Result<Value, CommandError> {
        let sync = self.sync.as_ref().ok_or(CommandError::NoCluster)?;
        let mut report = sync.report();
        let stats = self.forwarder.lock().await.stats()?;
        report.table.ring_full = crate::sync::ring_full(&stats);
        Ok(to_json(report))
    }

    /// `status`: the node, what the speaker announces, and each VIP with
    /// whether it is ready, why (readiness.rs), and why its announcement
    /// or withdrawal failed if it did (`announce_error`, else null).
    async fn status(&self) -> Result<Value, CommandError> {
        let stopping = self.stopping.load(Ordering::Relaxed);
        let announced = match self.speaker.announced().await {
            // Shutting down: everything was flushed.
            Err(DriverError::Stopped) if stopping => Vec::new(),
            other => other?,
        };
        let ready = crate::readiness::of(&*self.forwarder.lock().await, self.sync.as_ref());
        let announcer = self.announcer.lock().await;
        let error = |vip| announcer.failure(vip).map(|f| f.to_string());
        let mut vips: Vec<reply::VipStatus> = ready
            .iter()
            .map(|(&vip, r)| reply::VipStatus {
                vip,
                ready: r.announce,
                why: r.reasons.clone(),
                announce_error: error(vip),
            })
            .collect();
        // A VIP no service uses any more, whose withdrawal fails.
        vips.extend(
            announcer
                .failing_elsewhere(&ready)
                .map(|(vip, f)| reply::VipStatus {
                    vip,
                    ready: false,
                    why: vec![crate::readiness::NO_SERVICE.into()],
                    announce_error: Some(f.to_string()),
                }),
        );
        Ok(to_json(reply::Status {
            node: self.name.clone(),
            router_id: self.router_id,
            stopping,
            cluster_table: self.sync.as_ref().map(|s| s.table_status()),
            announced: announced
                .into_iter()
                .map(|(address, metric)| reply::Announced { address, metric })
                .collect(),
            vips,
        }))
    }
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("replies serialize")
}
