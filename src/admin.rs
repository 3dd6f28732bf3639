//! The admin server: `/healthz`, `/readyz` and `/metrics`, on a port of its own so probes and
//! scrapes never compete with Marathon API clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Router, routing::get};

use crate::metrics::Metrics;

/// Set once the process can serve: caches synced and the API server reachable.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

pub fn router(metrics: Arc<Metrics>, readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(AdminState { metrics, readiness })
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics_text(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let response =
            router.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_follows_readiness() {
        let readiness = Readiness::default();
        let app = router(Metrics::shared(), readiness.clone());
        assert_eq!(get(app.clone(), "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
        readiness.set_ready(true);
        assert_eq!(get(app.clone(), "/readyz").await.0, StatusCode::OK);
        assert_eq!(get(app, "/healthz").await, (StatusCode::OK, "ok".to_string()));
    }

    #[tokio::test]
    async fn metrics_are_openmetrics_text() {
        let metrics = Metrics::shared();
        drop(metrics.reconcile.start("hostvolume"));
        let (status, body) = get(router(metrics, Readiness::default()), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("marathon_operator_reconciles_total{controller=\"hostvolume\"} 1"));
        assert!(body.ends_with("# EOF\n"));
    }
}
