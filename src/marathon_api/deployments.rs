//! `/v2/deployments`: every rollout in progress as a Marathon deployment, and cancelling one.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use super::FacadeState;
use super::apps::update;
use super::auth::Caller;
use super::error::ApiError;
use super::group_writes::{change, deploy, plan_of};
use super::openapi::{Route, op};
use super::query::{Query, RestPath};
use super::read::valid;
use super::write::Desired;
use super::write::Request;
use crate::crd::{DeploymentStatus, MarathonApp, MarathonAppSpec};
use crate::marathon::deployments::{GroupMark, STOP, current_deployment, running_deployments};
use crate::marathon::groups::{ANNOTATION_GROUP_SETTINGS, settings_annotation, settings_of};
use crate::marathon::versions::{spec_of_version, stored_spec, stored_version};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v2/deployments", get(list)).serves(op(
            Method::GET,
            "/v2/deployments",
            "Running deployments",
            &[(200, "Array of deployments")],
        )),
        Route::new("/v2/deployments/{id}", delete(cancel)).serves(
            op(
                Method::DELETE,
                "/v2/deployments/{deploymentId}",
                "Roll a deployment back (force=true: only stop following it)",
                &[
                    (200, "Deployment result of the rollback"),
                    (202, "Stopped (force=true)"),
                    (404, "DeploymentPlan does not exist"),
                ],
            )
            .query(&["force"]),
        ),
    ]
}

/// Marathon's deployment JSON.
fn deployment_json(deployment: &DeploymentStatus) -> Value {
    let steps = deployment.steps.clone().unwrap_or_default();
    let affected: Vec<&str> =
        steps.iter().flat_map(|s| s.actions.iter().map(|a| a.app.as_str())).collect();
    let current: Vec<Value> = deployment
        .current_actions
        .iter()
        .flatten()
        .map(|a| json!({"action": a.action, "app": a.app, "readinessCheckResults": []}))
        .collect();
    json!({
        "id": deployment.id,
        "version": deployment.version,
        "affectedApps": affected,
        "affectedPods": [],
        "steps": steps,
        "currentActions": current,
        "currentStep": deployment.current_step.unwrap_or(1),
        "totalSteps": deployment.total_steps.unwrap_or(steps.len() as i32),
    })
}

async fn list(State(state): State<FacadeState>) -> Json<Value> {
    let apps = state.apps();
    let all: Vec<&MarathonApp> = apps.iter().filter_map(valid).collect();
    let deployments: Vec<Value> = running_deployments(&all).iter().map(deployment_json).collect();
    Json(Value::Array(deployments))
}

/// `DELETE /v2/deployments/{id}`: without `force`, roll the app back to the version before
/// the deployment's (a new deployment, returned); with `force`, stop following it (202).
/// A group deployment is rolled back (or stopped) for all its apps.
pub(super) async fn cancel(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(id): RestPath,
    query: Query,
) -> Result<Response, ApiError> {
    let members: Vec<(MarathonApp, GroupMark)> = state
        .apps()
        .iter()
        .filter_map(valid)
        .filter_map(|app| GroupMark::of(app).filter(|m| m.id == id).map(|m| (app.clone(), m)))
        .collect();
    if !members.is_empty() {
        return cancel_group(&state, &caller, &id, members, query.flag("force", false)).await;
    }
    let app = state
        .apps()
        .into_iter()
        .find(|entry| valid(entry).and_then(current_deployment).is_some_and(|d| d.id == id))
        .ok_or_else(|| ApiError::NotFound(format!("DeploymentPlan {id} does not exist")))?;
    let Some(app) = valid(&app) else {
        return Err(ApiError::NotFound(format!("DeploymentPlan {id} does not exist")));
    };
    if query.flag("force", false) {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let target = current_deployment(app).and_then(|d| d.version);
    let history = state.history_of(app);
    // The version before the deployment's; a deployment not yet recorded rolls back to the
    // latest recorded version.
    let previous = match history.iter().position(|r| stored_version(r) == target.as_deref()) {
        Some(0) => None,
        Some(at) => history.get(at - 1),
        None => history.last(),
    }
    .and_then(stored_spec);
    let Some(previous) = previous else {
        return Err(ApiError::Unprocessable(format!(
            "deployment {id} has no earlier version to roll back to"
        )));
    };
    let app_id = app.spec.id.clone();
    let written = update(
        &state,
        &app_id,
        true,
        Request { caller: &caller, what: "deployment rolled back" },
        |app| {
            let mut spec: MarathonAppSpec =
                serde_json::from_value(previous.clone()).map_err(|e| {
                    ApiError::Unprocessable(format!("earlier version cannot be read: {e}"))
                })?;
            spec.kubernetes = app.spec.kubernetes.clone();
            Ok(spec.into())
        },
    )
    .await?;
    Ok(written.result(StatusCode::OK))
}

/// Cancels the group deployment `id` of `members`. `force`: it is no longer followed (its
/// apps lose the mark; their own rollouts go on), 202. Otherwise every app it changed goes
/// back to its definition before it, and apps it created are removed, as one new deployment.
/// (Apps it stopped are gone with their history: they are not brought back.)
async fn cancel_group(
    state: &FacadeState,
    caller: &Caller,
    id: &str,
    members: Vec<(MarathonApp, GroupMark)>,
    force: bool,
) -> Result<Response, ApiError> {
    let apps = state.apps();
    let all: Vec<&MarathonApp> = apps.iter().filter_map(valid).collect();
    if !running_deployments(&all).iter().any(|d| d.id == id) {
        return Err(ApiError::NotFound(format!("DeploymentPlan {id} does not exist")));
    }
    if force {
        for (app, _) in &members {
            let request = Request { caller, what: "deployment stopped" };
            update(state, &app.spec.id, true, request, |current| {
                let settings = settings_annotation(&settings_of(current));
                Ok(Desired::from(current.spec.clone()).with(ANNOTATION_GROUP_SETTINGS, settings))
            })
            .await?;
        }
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let mut changes = Vec::new();
    let mut removals = Vec::new();
    for (app, mark) in members.into_iter().filter(|(_, m)| m.action != STOP) {
        if mark.from == 0 {
            removals.push(app);
            continue;
        }
        let history = state.history_of(&app);
        let before =
            history.iter().rev().filter_map(stored_version).find(|v| *v < mark.version.as_str());
        let Some(stored) = before.and_then(|v| spec_of_version(&history, v)) else { continue };
        let mut spec: MarathonAppSpec = serde_json::from_value(stored)
            .map_err(|e| ApiError::Unprocessable(format!("earlier version cannot be read: {e}")))?;
        spec.kubernetes = app.spec.kubernetes.clone();
        let settings = settings_of(&app);
        changes.extend(change(spec, Some(&app), settings));
    }
    let plan = plan_of(state, changes, removals);
    let started = deploy(state, "/", plan, caller, "deployment rolled back").await?;
    let body = json!({"deploymentId": started.id, "version": started.version});
    Ok(super::write::with_deployment_header(
        &started.id,
        (StatusCode::OK, Json(body)).into_response(),
    ))
}
