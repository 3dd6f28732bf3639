//! The Marathon API served in-process on a free loopback port, sharing the in-process
//! operator's watch caches as `run` does.

use std::net::SocketAddr;

use kube::Client;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The facade serving on a free loopback port; stopped when dropped.
pub struct Facade {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Facade {
    pub async fn start(client: &Client, namespace: &str, watches: Watches) -> Self {
        watches.wait_until_ready().await;
        let config = FacadeConfig::local(namespace);
        let state = FacadeState::new(
            client.clone(),
            watches,
            config,
            Metrics::shared(),
            CancellationToken::new(),
        );
        let app = router(state);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind facade");
        let addr = listener.local_addr().expect("facade address");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .expect("facade server");
        });
        Self { addr, shutdown, task: Some(task) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Facade {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
