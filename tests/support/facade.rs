//! The Marathon API served in-process, sharing the in-process operator's watch caches as
//! `run` does: [`Stack`] (controllers and the API over a test namespace of their own, called
//! through the router) and [`Facade`] (a router served on a free loopback port).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kube::Client;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::TestNamespace;
use super::operator::Operator;

/// Controllers and the Marathon API over a namespace of the test's own (removed when dropped).
pub struct Stack {
    pub client: Client,
    /// Field order is drop order: the operator stops before its namespace goes.
    pub operator: Operator,
    pub ns: TestNamespace,
    /// The API's state (its event stream, for one).
    pub state: FacadeState,
    /// The API's router, to call in-process ([`Stack::call`]) or serve ([`Stack::serve`]).
    pub api: Router,
}

impl Stack {
    /// The CRDs, a namespace named after `prefix`, the controllers on it with their caches
    /// filled, and the API over those caches.
    pub async fn start(prefix: &str) -> Self {
        Self::start_with(prefix, |_| {}).await
    }

    /// [`Stack::start`] with the API's configuration changed by `configure` (credentials,
    /// for one).
    pub async fn start_with(prefix: &str, configure: impl FnOnce(&mut FacadeConfig)) -> Self {
        let client = super::client().await;
        super::ensure_crds(&client).await;
        let ns = TestNamespace::new(&client, prefix).await;
        let operator = Operator::start(&client, ns.name());
        operator.watches.wait_until_ready().await;
        let mut config = FacadeConfig::local(ns.name());
        configure(&mut config);
        let state = state(&client, config, operator.watches.clone());
        let api = router(state.clone());
        Self { client, operator, ns, state, api }
    }

    /// The API on a free loopback port.
    pub async fn serve(&self) -> Facade {
        Facade::serve(self.api.clone()).await
    }

    /// One request through the router: the status and the body as JSON (`null` when the body
    /// is not JSON).
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let response = self.api.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("response body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Stops the controllers (the namespace goes when the stack is dropped).
    pub async fn stop(self) {
        let Self { operator, .. } = self;
        operator.stop().await;
    }
}

/// The API's state over `watches`, as `run` builds it.
fn state(client: &Client, config: FacadeConfig, watches: Watches) -> FacadeState {
    FacadeState::new(client.clone(), watches, config, Metrics::shared(), CancellationToken::new())
}

/// The facade serving on a free loopback port, with peer addresses (Marathon's
/// `remoteAddress`); stopped when dropped.
pub struct Facade {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Facade {
    /// The API over `watches` (waited for until filled), confined to `namespace`.
    pub async fn start(client: &Client, namespace: &str, watches: Watches) -> Self {
        watches.wait_until_ready().await;
        Self::serve(router(state(client, FacadeConfig::local(namespace), watches))).await
    }

    /// Serves `app` on a free loopback port.
    pub async fn serve(app: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind facade");
        let addr = listener.local_addr().expect("facade address");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .expect("facade server");
        });
        Self { addr, shutdown, task: Some(task) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
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
