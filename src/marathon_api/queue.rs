//! `/v2/queue`: apps with tasks waiting to launch (pods the scheduler cannot place, or that
//! crash and wait to be restarted), with the scheduler's reason where Marathon reports its
//! offer matching; `DELETE .../delay` restarts crash-looping tasks now, as resetting
//! Marathon's launch delay does.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use kube::ResourceExt;
use serde_json::{Value, json};

use super::FacadeState;
use super::apps::update;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::{Route, op};
use super::query::RestPath;
use super::read::valid;
use super::write::{Desired, Request};
use crate::crd::MarathonApp;
use crate::marathon::app_json::Embed;
use crate::marathon::ids::canonical;
use crate::marathon::tasks::{
    ANNOTATION_KILL_TASKS, KillRequest, Waiting, add_kill_requests, waiting,
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v2/queue", get(list)).serves(
            op(Method::GET, "/v2/queue", "Apps with tasks waiting to launch", &[(200, "{queue}")])
                .query(&["embed"]),
        ),
        Route::new("/v2/queue/{*path}", delete(reset_delay)).serves(op(
            Method::DELETE,
            "/v2/queue/{appId}/delay",
            "Reset the launch delay",
            &[(204, "Reset"), (404, "Not in the queue, or not a .../delay path")],
        )),
    ]
}

fn waiting_of(state: &FacadeState, app: &MarathonApp) -> Vec<Waiting> {
    let namespace = app.namespace().unwrap_or_default();
    let Some(scope) = state.watches().scope_of(&namespace) else { return Vec::new() };
    scope.pods_of(&namespace, &app.name_any()).iter().filter_map(|pod| waiting(pod)).collect()
}

async fn list(State(state): State<FacadeState>) -> Json<Value> {
    let mut queue = Vec::new();
    for entry in state.apps() {
        let Some(app) = valid(&entry) else { continue };
        let waiting = waiting_of(&state, app);
        if waiting.is_empty() {
            continue;
        }
        let since = waiting.iter().filter_map(|w| w.since.clone()).min();
        let crash_looping = waiting.iter().any(|w| w.crash_looping);
        let mut reasons: Vec<String> = waiting.iter().map(|w| w.reason.clone()).collect();
        reasons.sort();
        reasons.dedup();
        let summary: Vec<Value> = reasons
            .iter()
            .map(|reason| {
                let count = waiting.iter().filter(|w| &w.reason == reason).count();
                json!({"reason": reason, "declined": count, "processed": count})
            })
            .collect();
        queue.push(json!({
            "app": state.app_info(app, Embed::default()),
            "count": waiting.len(),
            "delay": {"timeLeftSeconds": 0, "overdue": !crash_looping},
            "since": since,
            "processedOffersSummary": {
                "processedOffersCount": waiting.len(),
                "unusedOffersCount": waiting.len(),
                "rejectSummaryLastOffers": summary,
                "rejectSummaryLaunchAttempt": [],
            },
        }));
    }
    Json(json!({ "queue": queue }))
}

/// `DELETE /v2/queue/{appId}/delay`.
async fn reset_delay(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(path): RestPath,
) -> Result<Response, ApiError> {
    let Some(id) = path.strip_suffix("/delay").map(|id| canonical(id, "/")) else {
        return Err(ApiError::NotFound("URI not found".into()));
    };
    let not_queued = || ApiError::NotFound(format!("Application {id} not found in tasks queue."));
    let entry = state.find(&id).ok_or_else(not_queued)?;
    let app = valid(&entry).ok_or_else(not_queued)?;
    let waiting = waiting_of(&state, app);
    if waiting.is_empty() {
        return Err(not_queued());
    }
    let restart: Vec<KillRequest> = waiting
        .iter()
        .filter(|w| w.crash_looping)
        .map(|w| KillRequest { pod: w.pod.clone(), uid: None, scale: false, wipe: false })
        .collect();
    if !restart.is_empty() {
        update(&state, &id, true, Request { caller: &caller, what: "launch delay reset" }, |app| {
            let pending = app.annotations().get(ANNOTATION_KILL_TASKS).map(String::as_str);
            Ok(Desired::from(app.spec.clone())
                .with(ANNOTATION_KILL_TASKS, add_kill_requests(pending, &restart)))
        })
        .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
