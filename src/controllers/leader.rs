//! Leader election through a `coordination.k8s.io` Lease (kube-lease-manager): of several
//! operator replicas only the holder reconciles; the Marathon API serves on every replica.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// Seconds a lease stays valid without renewal: the longest a failover takes.
    pub duration_seconds: u64,
    /// Seconds before expiry at which the holder renews.
    pub grace_seconds: u64,
}

/// A running election; dropping it releases the lease.
pub struct Election {
    leading: watch::Receiver<bool>,
    _task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

impl Election {
    pub async fn start(client: Client, config: LeaseConfig) -> Result<Self, LeaseManagerError> {
        let manager = LeaseManagerBuilder::new(client, &config.name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_duration(config.duration_seconds)
            .with_grace(config.grace_seconds)
            .build()
            .await?;
        let (leading, task) = manager.watch().await;
        Ok(Self { leading, _task: task })
    }

    /// Waits until this replica holds the lease. False when shutdown came first.
    pub async fn acquired(&mut self, shutdown: &CancellationToken) -> bool {
        loop {
            if *self.leading.borrow_and_update() {
                info!("acquired the leader lease");
                return true;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                changed = self.leading.changed() => if changed.is_err() { return false },
            }
        }
    }

    /// Resolves when the lease is lost (or the election stops).
    pub async fn lost(&mut self) {
        loop {
            if !*self.leading.borrow_and_update() {
                return;
            }
            if self.leading.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Why an elected run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("failed to join the leader election")]
    Join(#[source] LeaseManagerError),
    #[error("lost the leader lease")]
    Lost,
    #[error("gave up the leader lease as asked (DELETE /v2/leader)")]
    Abdicated,
}

/// Runs the controllers while this replica holds the lease. Returns `Err(Lost)` when the lease
/// is lost, so the caller can exit and a restart rejoins the election with fresh caches.
pub async fn run_elected(
    client: Client,
    watches: crate::watch::Watches,
    config: super::ControllerConfig,
    lease: LeaseConfig,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    shutdown: CancellationToken,
    abdicate: CancellationToken,
) -> Result<(), LeaderError> {
    let mut election = Election::start(client.clone(), lease).await.map_err(LeaderError::Join)?;
    info!("waiting for the leader lease");
    if !election.acquired(&shutdown).await {
        return Ok(());
    }
    let stop = shutdown.child_token();
    tokio::select! {
        () = super::run(client, watches, config, metrics, stop.clone(), || info!("controllers are reconciling")) => Ok(()),
        () = election.lost() => {
            stop.cancel();
            Err(LeaderError::Lost)
        }
        () = abdicate.cancelled() => {
            stop.cancel();
            Err(LeaderError::Abdicated)
        }
    }
}
