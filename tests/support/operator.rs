//! The operator's controllers running in-process for one test namespace.

use std::time::Duration;

use kube::Client;
use marathon_operator::controllers::{self, ControllerConfig};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Controllers watching one namespace; stopped when dropped.
pub struct Operator {
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    /// The watch caches the controllers run on (the Marathon API can share them, as in `run`).
    pub watches: Watches,
}

impl Operator {
    pub fn start(client: &Client, namespace: &str) -> Self {
        Self::start_with(client, namespace, ControllerConfig::default())
    }

    pub fn start_with(client: &Client, namespace: &str, config: ControllerConfig) -> Self {
        let shutdown = CancellationToken::new();
        let (watches, drive) = Watches::start(client, &[namespace.to_owned()]);
        let controllers = controllers::run(
            client.clone(),
            watches.clone(),
            config,
            Metrics::shared(),
            shutdown.clone(),
            || {},
        );
        let task = tokio::spawn(async move {
            tokio::select! {
                () = drive => {},
                () = controllers => {},
            }
        });
        Self { shutdown, task: Some(task), watches }
    }

    /// Stops the controllers and waits (briefly) for them to finish.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Kills the controllers at once, as a crash would.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
