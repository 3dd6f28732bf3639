//! Facts about the server: `/ping`, `/v2/info`, `/v2/leader`, `/metrics`, and `/v2/pods`
//! answered as a Marathon without pods support answers (go-marathon probes it with HEAD).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::{Value, json};

use super::FacadeState;
use super::error::ApiError;
use super::openapi::{Route, op};
use super::read::valid;

/// The Marathon release whose API this facade speaks.
pub const MARATHON_API_VERSION: &str = "1.11.0";

const NO_PODS: &[(u16, &str)] = &[(404, "Pods are not supported (go-marathon's feature probe)")];

/// Every method of `/v2/pods` answers as a Marathon without pods support.
fn no_pods_route(path: &'static str, documented: &'static str) -> Route {
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE].into_iter().fold(
        Route::new(path, any(no_pods)),
        |route, method| {
            route.serves(op(method, documented, "Marathon pods (not supported)", NO_PODS))
        },
    )
}

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/ping", get(ping)).serves(op(
            Method::GET,
            "/ping",
            "Liveness: pong",
            &[(200, "pong (text, or a JSON string for Accept: application/json)")],
        )),
        Route::new("/v2/info", get(info)).serves(op(
            Method::GET,
            "/v2/info",
            "Server information",
            &[(200, "Marathon's info object"), (503, "The leader lease cannot be read")],
        )),
        Route::new("/v2/leader", get(leader).delete(abdicate))
            .serves(op(
                Method::GET,
                "/v2/leader",
                "The current leader",
                &[(200, "{leader}"), (404, "There is no leader"), (503, "Lease unreadable")],
            ))
            .serves(op(
                Method::DELETE,
                "/v2/leader",
                "The leader abdicates",
                &[(200, "Leadership abdicated"), (404, "This replica is not the leader")],
            )),
        Route::new("/metrics", get(metrics)).serves(op(
            Method::GET,
            "/metrics",
            "Dropwizard-shaped metrics",
            &[(200, "Gauges of apps and instances")],
        )),
        no_pods_route("/v2/pods", "/v2/pods"),
        no_pods_route("/v2/pods/{*rest}", "/v2/pods/{podId}"),
    ]
}

/// `pong` as text, or the JSON string for clients that ask for JSON.
async fn ping(headers: HeaderMap) -> Response {
    let json = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if json { Json("pong").into_response() } else { "pong".into_response() }
}

/// The holder of the leader Lease (this replica when election is off).
async fn holder(state: &FacadeState) -> Result<Option<String>, ApiError> {
    let Some(lease) = &state.config().lease else {
        return Ok(Some(state.config().identity.clone()));
    };
    let api: Api<Lease> = Api::namespaced(state.client().clone(), &lease.namespace);
    let found = api
        .get_opt(&lease.name)
        .await
        .map_err(|e| ApiError::from_kube("reading the leader lease", e))?;
    Ok(found.and_then(|l| l.spec?.holder_identity).filter(|h| !h.is_empty()))
}

async fn info(State(state): State<FacadeState>) -> Result<Json<Value>, ApiError> {
    let leader = holder(&state).await?;
    let config = state.config();
    let elected = leader.as_deref() == Some(config.identity.as_str());
    Ok(Json(json!({
        "name": "marathon",
        "version": MARATHON_API_VERSION,
        "buildref": concat!("marathon-operator-", env!("CARGO_PKG_VERSION")),
        "elected": elected,
        "leader": leader,
        "frameworkId": null,
        "marathon_config": {
            "checkpoint": false, "executor": "//cmd", "failover_timeout": null,
            "features": [], "framework_name": "marathon", "ha": config.lease.is_some(),
            "hostname": config.identity, "launch_token": null, "leader_proxy_connection_timeout_ms": null,
            "leader_proxy_read_timeout_ms": null, "local_port_max": null, "local_port_min": null,
            "master": "kubernetes", "mesos_bridge_name": null, "mesos_heartbeat_failure_threshold": null,
            "mesos_heartbeat_interval": null, "mesos_leader_ui_url": null, "mesos_role": null,
            "mesos_user": null, "reconciliation_initial_delay": null, "reconciliation_interval": null,
            "task_launch_timeout": null, "task_reservation_timeout": null, "webui_url": config.advertised,
        },
        "zookeeper_config": {
            "zk": null, "zk_compression": null, "zk_compression_threshold": null,
            "zk_connection_timeout": null, "zk_max_node_size": null, "zk_max_versions": null,
            "zk_session_timeout": null, "zk_timeout": null,
        },
        "http_config": { "http_port": port_of(&config.advertised), "https_port": null },
    })))
}

fn port_of(url: &str) -> Option<u16> {
    url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
}

async fn leader(State(state): State<FacadeState>) -> Result<Json<Value>, ApiError> {
    match holder(&state).await? {
        Some(leader) => Ok(Json(json!({ "leader": leader }))),
        None => Err(ApiError::NotFound("There is no leader".into())),
    }
}

/// The leader gives up: its controllers stop, its lease runs out and another replica leads.
async fn abdicate(State(state): State<FacadeState>) -> Result<Json<Value>, ApiError> {
    if state.config().lease.is_none() {
        // GET /v2/leader names this replica, so "not the leader" would be a contradiction.
        return Err(ApiError::NotFound(
            "Leader election is off: this replica leads alone and cannot abdicate".into(),
        ));
    }
    let leader = holder(&state).await?;
    if leader.as_deref() != Some(state.config().identity.as_str()) {
        return Err(ApiError::NotFound("This replica is not the leader".into()));
    }
    state.abdicate().cancel();
    Ok(Json(json!({ "message": "Leadership abdicated" })))
}

async fn no_pods() -> ApiError {
    ApiError::NotFound("Marathon pods are not supported: run each container as an app".into())
}

/// Marathon's Dropwizard-shaped `/metrics` (Prometheus text is on the admin port).
async fn metrics(State(state): State<FacadeState>) -> (StatusCode, Json<Value>) {
    let apps = state.apps();
    let tasks: usize = apps.iter().filter_map(valid).map(|app| state.tasks_of(app).len()).sum();
    (
        StatusCode::OK,
        Json(json!({
            "version": "4.0.0",
            "gauges": {
                "marathon.apps.active.gauge": {"value": apps.len()},
                "marathon.instances.running.gauge": {"value": tasks},
            },
            "counters": {}, "histograms": {}, "meters": {}, "timers": {},
        })),
    )
}
