//! Group writes: `POST`, `PUT` (replace, `scaleBy`, `version`, `dryRun`) and `DELETE` of
//! `/v2/groups[/{id}]`. A group is its apps, so a group write is a set of app writes, checked
//! as a whole first (ids, definitions, dependencies) so a refused request changes nothing,
//! then stored dependencies first.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::FacadeState;
use super::apps::{refuse_collision_within, refuse_name_collision, update};
use super::auth::Caller;
use super::error::ApiError;
use super::read::valid;
use super::write::{Request, Written, with_deployment_header};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::deployments::{current_deployment, deployment_id};
use crate::marathon::events::group_change;
use crate::marathon::groups::{Flattened, dependency_layers, flatten, is_below, scaled};
use crate::marathon::ids::parent;
use crate::marathon::validation::{check_app, strip_read_only};
use crate::marathon::versions::{format_version, spec_of_version, stored_version};

/// How a group write treats what its body leaves out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST: the group must not exist; nothing is removed.
    Create,
    /// PUT: listed apps and groups replace the current ones; unlisted ones are removed.
    Replace,
}

/// One group write, planned: what is stored (in dependency order) and what is removed.
struct Plan {
    layers: Vec<Vec<MarathonAppSpec>>,
    removals: Vec<MarathonApp>,
}

fn existing_by_id(state: &FacadeState) -> BTreeMap<String, MarathonApp> {
    state.apps().iter().filter_map(valid).map(|a| (a.spec.id.clone(), a.clone())).collect()
}

/// Whether the existing app `id` is left out by a PUT of `flat` on `group`.
fn left_out(id: &str, group: &str, flat: &Flattened, planned: &BTreeSet<String>) -> bool {
    if !is_below(id, group) || planned.contains(id) {
        return false;
    }
    if flat.lists_apps.contains(parent(id)) {
        return true;
    }
    let mut at = parent(id).to_owned();
    while at != group && at != "/" {
        if flat.lists_groups.contains(parent(&at)) && !flat.groups.contains(&at) {
            return true;
        }
        at = parent(&at).to_owned();
    }
    false
}

fn plan(state: &FacadeState, group: &str, body: &Value, mode: Mode) -> Result<Plan, ApiError> {
    let flat = flatten(body, group).map_err(ApiError::Unprocessable)?;
    let existing = existing_by_id(state);
    let mut specs = BTreeMap::new();
    let mut names = Vec::new();
    for app in &flat.apps {
        let mut app = app.clone();
        strip_read_only(&mut app);
        if let Some(object) = app.as_object_mut() {
            object.remove("version");
        }
        let mut spec = check_app(app)?;
        if let Some(current) = existing.get(&spec.id) {
            if mode == Mode::Create {
                return Err(ApiError::Conflict(format!(
                    "An app with id [{}] already exists.",
                    spec.id
                )));
            }
            if spec.kubernetes.is_none() {
                spec.kubernetes = current.spec.kubernetes.clone();
            }
        }
        // Two ids deriving one resource name would overwrite each other's MarathonApp.
        refuse_collision_within(&mut names, &spec.id)?;
        if !existing.contains_key(&spec.id) {
            refuse_name_collision(state, &spec.id)?;
        }
        if existing.keys().any(|id| id != &spec.id && is_below(id, &spec.id)) {
            return Err(ApiError::Conflict(format!(
                "A group with the path {} already exists.",
                spec.id
            )));
        }
        specs.insert(spec.id.clone(), spec);
    }
    let planned: BTreeSet<String> = specs.keys().cloned().collect();
    let removals: Vec<MarathonApp> = match mode {
        Mode::Create => Vec::new(),
        Mode::Replace => existing
            .values()
            .filter(|a| left_out(&a.spec.id, group, &flat, &planned))
            .cloned()
            .collect(),
    };
    let removed: BTreeSet<&String> = removals.iter().map(|a| &a.spec.id).collect();
    let mut graph: BTreeMap<String, Vec<String>> = existing
        .iter()
        .filter(|(id, _)| !removed.contains(id))
        .map(|(id, a)| (id.clone(), a.spec.dependencies.clone().unwrap_or_default()))
        .collect();
    for (id, spec) in &specs {
        graph.insert(id.clone(), spec.dependencies.clone().unwrap_or_default());
    }
    let order = dependency_layers(&graph).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let layers = order
        .into_iter()
        .map(|layer| layer.iter().filter_map(|id| specs.remove(id)).collect::<Vec<_>>())
        .filter(|layer: &Vec<MarathonAppSpec>| !layer.is_empty())
        .collect();
    Ok(Plan { layers, removals })
}

/// `dryRun`: the steps the write would take, without taking them.
fn steps(state: &FacadeState, plan: &Plan) -> Value {
    let existing = existing_by_id(state);
    let mut steps = Vec::new();
    if !plan.removals.is_empty() {
        let actions: Vec<Value> = plan
            .removals
            .iter()
            .map(|a| json!({"action": "StopApplication", "app": a.spec.id}))
            .collect();
        steps.push(json!({ "actions": actions }));
    }
    for layer in &plan.layers {
        let actions: Vec<Value> = layer
            .iter()
            .map(|spec| {
                let action = if existing.contains_key(&spec.id) {
                    "RestartApplication"
                } else {
                    "StartApplication"
                };
                json!({"action": action, "app": spec.id})
            })
            .collect();
        steps.push(json!({ "actions": actions }));
    }
    json!({ "steps": steps })
}

/// Refuses while a deployment of an affected app runs, unless `force`.
fn refuse_locked<'a>(
    force: bool,
    affected: impl IntoIterator<Item = &'a MarathonApp>,
) -> Result<(), ApiError> {
    if force {
        return Ok(());
    }
    let running: Vec<String> =
        affected.into_iter().filter_map(current_deployment).map(|d| d.id).collect();
    if running.is_empty() { Ok(()) } else { Err(ApiError::Locked(running)) }
}

/// Runs a group write of `body` on `group`.
pub async fn write(
    state: &FacadeState,
    group: &str,
    body: &Value,
    mode: Mode,
    (force, dry_run): (bool, bool),
    caller: &Caller,
) -> Result<Response, ApiError> {
    let plan = plan(state, group, body, mode)?;
    if dry_run {
        return Ok(Json(steps(state, &plan)).into_response());
    }
    let existing = existing_by_id(state);
    let touched = plan.layers.iter().flatten().filter_map(|s| existing.get(&s.id));
    refuse_locked(force, touched.chain(plan.removals.iter()))?;
    let mut last = None;
    for spec in plan.layers.into_iter().flatten() {
        last = Some(store(state, spec, force, caller).await?);
    }
    for app in &plan.removals {
        last = Some(state.remove(app, Request { caller, what: "removed from its group" }).await?);
    }
    let status = if mode == Mode::Create { StatusCode::CREATED } else { StatusCode::OK };
    Ok(answer(state, group, last, status))
}

async fn store(
    state: &FacadeState,
    spec: MarathonAppSpec,
    force: bool,
    caller: &Caller,
) -> Result<Written, ApiError> {
    if state.find(&spec.id).is_none() {
        return state
            .store(spec.into(), None, Request { caller, what: "created in a group" })
            .await;
    }
    let id = spec.id.clone();
    let request = Request { caller, what: "updated in a group" };
    update(state, &id, force, request, |_| Ok(spec.clone().into())).await
}

/// The deployment result of a group write (the last app write's deployment; a write that
/// changed nothing still gets an id, as in Marathon), and `group_change_success`.
fn answer(state: &FacadeState, group: &str, last: Option<Written>, status: StatusCode) -> Response {
    let now = format_version(Timestamp::now());
    let (id, version) = match last {
        Some(written) => (written.deployment_id, written.version),
        None => (deployment_id(group, Timestamp::now().as_millisecond()), now.clone()),
    };
    state.event_stream().publish(&group_change(group, &version, &now));
    let body = json!({"deploymentId": id, "version": version});
    with_deployment_header(&id, (status, Json(body)).into_response())
}

/// `{"scaleBy": f}`: every app below the group scaled by `f`.
pub async fn scale_by(
    state: &FacadeState,
    group: &str,
    factor: f64,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = state.apps_below(group);
    if apps.is_empty() && group != "/" {
        return Err(ApiError::NotFound(format!("Group '{group}' does not exist")));
    }
    refuse_locked(force, &apps)?;
    let mut last = None;
    for app in &apps {
        let request = Request { caller, what: "scaled with its group" };
        last = Some(
            update(state, &app.spec.id, force, request, |app| {
                let mut spec = app.spec.clone();
                spec.instances =
                    Some(scaled(i64::from(spec.instances.unwrap_or(1)), factor) as i32);
                Ok(spec.into())
            })
            .await?,
        );
    }
    Ok(answer(state, group, last, StatusCode::OK))
}

/// `{"version": v}`: every app below the group back to its definition at `v`; apps that did
/// not exist then are removed.
pub async fn roll_back(
    state: &FacadeState,
    group: &str,
    version: &str,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = state.apps_below(group);
    let mut targets = Vec::new();
    for app in &apps {
        let history = state.history_of(app);
        let at = history.iter().rev().filter_map(stored_version).find(|v| *v <= version);
        let spec = at.and_then(|v| spec_of_version(&history, v)).cloned();
        targets.push((app, spec));
    }
    if targets.iter().all(|(_, spec)| spec.is_none()) {
        return Err(ApiError::NotFound(format!(
            "Group '{group}' does not exist in version {version}"
        )));
    }
    refuse_locked(force, &apps)?;
    let mut last = None;
    for (app, spec) in targets {
        let request = Request { caller, what: "rolled back with its group" };
        last = Some(match spec {
            None => state.remove(app, request).await?,
            Some(stored) => {
                let mut spec: MarathonAppSpec = serde_json::from_value(stored).map_err(|e| {
                    ApiError::Unprocessable(format!("version {version} cannot be read: {e}"))
                })?;
                spec.kubernetes = app.spec.kubernetes.clone();
                update(state, &app.spec.id, force, request, |_| Ok(spec.clone().into())).await?
            }
        });
    }
    Ok(answer(state, group, last, StatusCode::OK))
}

/// `DELETE`: every app below the group.
pub async fn delete(
    state: &FacadeState,
    group: &str,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = state.apps_below(group);
    if apps.is_empty() && group != "/" {
        return Err(ApiError::NotFound(format!("Group '{group}' does not exist")));
    }
    refuse_locked(force, &apps)?;
    let mut last = None;
    for app in &apps {
        last = Some(state.remove(app, Request { caller, what: "deleted with its group" }).await?);
    }
    Ok(answer(state, group, last, StatusCode::OK))
}
