//! The Marathon `/v2` REST facade. It writes only `MarathonApp` resources and reads their
//! status; the controllers are the only writers of workload objects.

mod info;

use axum::Router;
use axum::routing::get;

/// Static facts the facade reports about itself.
#[derive(Clone, Debug)]
pub struct FacadeConfig {
    /// Namespace MarathonApps are written into.
    pub namespace: String,
}

pub fn router(config: FacadeConfig) -> Router {
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/v2/info", get(info::get_info))
        .with_state(config)
}
