//! `/v2/info`: what Marathon clients read to learn the server's version and configuration.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::FacadeConfig;

/// The Marathon release whose API this facade speaks.
pub const MARATHON_API_VERSION: &str = "1.11.0";

pub async fn get_info(State(config): State<FacadeConfig>) -> Json<Value> {
    Json(json!({
        "name": "marathon",
        "version": MARATHON_API_VERSION,
        "buildref": concat!("marathon-operator-", env!("CARGO_PKG_VERSION")),
        "elected": true,
        "leader": null,
        "frameworkId": null,
        "marathon_config": {
            "master": "kubernetes",
            "mesos_role": null,
            "hostname": "marathon-operator",
        },
        "kubernetes": { "namespace": config.namespace },
    }))
}
