//! The operator's controllers running in-process for one test namespace.

use std::sync::Arc;
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
    /// The operator's metrics: with [`Operator::counted`], every request its client sent.
    pub metrics: Arc<Metrics>,
}

impl Operator {
    pub fn start(client: &Client, namespace: &str) -> Self {
        Self::start_with(client, namespace, ControllerConfig::default())
    }

    pub fn start_with(client: &Client, namespace: &str, config: ControllerConfig) -> Self {
        Self::run(client, namespace, config, Metrics::shared())
    }

    /// Controllers on a client of their own whose requests are counted in `metrics.kube`, as
    /// `main` runs them.
    pub async fn counted(namespace: &str, config: ControllerConfig) -> Self {
        let metrics = Metrics::shared();
        let client = metrics.client(super::config().await).expect("counted client");
        Self::run(&client, namespace, config, metrics)
    }

    fn run(
        client: &Client,
        namespace: &str,
        config: ControllerConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let (watches, drive) = Watches::start(client, &[namespace.to_owned()]);
        let controllers = controllers::run(
            client.clone(),
            watches.clone(),
            config,
            metrics.clone(),
            shutdown.clone(),
            || {},
        );
        let task = tokio::spawn(async move {
            tokio::select! {
                () = drive => {},
                () = controllers => {},
            }
        });
        Self { shutdown, task: Some(task), watches, metrics }
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
