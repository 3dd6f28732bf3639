//! Tasks: `/v2/tasks`, `/v2/tasks/delete` and an app's `/tasks`. Killing is asked of the
//! controller through the app (annotation [`ANNOTATION_KILL_TASKS`]), which is the only writer
//! of pods and workloads: with `scale` the app's instances drop by the number of tasks in the
//! same write and the named pods are the ones removed; `wipe` also releases a resident task's
//! claims, and only then.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kube::ResourceExt;
use serde_json::{Value, json};

use super::FacadeState;
use super::apps::update;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::ApiError;
use super::openapi::{Route, op};
use super::query::Query;
use super::read::valid;
use super::write::{Desired, Request};
use crate::crd::MarathonApp;
use crate::marathon::ids::parse_task_id;
use crate::marathon::tasks::{
    ANNOTATION_KILL_TASKS, KillRequest, Task, TaskState, add_kill_requests,
};

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v2/tasks", get(all_tasks)).serves(
            op(
                Method::GET,
                "/v2/tasks",
                "Every task (JSON, or text/plain listing)",
                &[(200, "{tasks}")],
            )
            .query(&["status", "status[]"]),
        ),
        Route::new("/v2/tasks/delete", post(delete_tasks)).serves(
            op(
                Method::POST,
                "/v2/tasks/delete",
                "Kill tasks by id ({\"ids\": [...]})",
                &[
                    (200, "{tasks} killed, or a deployment result with scale=true"),
                    (400, "Invalid task id, empty body, or scale and wipe together"),
                    (422, "The body has no ids"),
                ],
            )
            .query(&["scale", "wipe", "force"]),
        ),
    ]
}

/// `GET /v2/apps/{id}/tasks`.
pub(super) fn app_tasks(state: &FacadeState, id: &str) -> Result<Json<Value>, ApiError> {
    let app = &state.require(id)?;
    Ok(Json(json!({ "tasks": state.tasks_of(app) })))
}

/// `GET /v2/tasks`: every task, with the app's service ports; `status=running|staging`
/// filters; `text/plain` gives Marathon's tab-separated listing.
async fn all_tasks(
    State(state): State<FacadeState>,
    query: Query,
    headers: axum::http::HeaderMap,
) -> Response {
    let wanted: Vec<String> = query.all("status").iter().map(|s| s.to_lowercase()).collect();
    let keep = |task: &Task| {
        wanted.is_empty()
            || wanted.iter().any(|w| match w.as_str() {
                "running" => task.state == TaskState::TaskRunning,
                "staging" => matches!(task.state, TaskState::TaskStaging | TaskState::TaskStarting),
                _ => true,
            })
    };
    let mut by_app: Vec<(String, Vec<i32>, Vec<Task>)> = Vec::new();
    for entry in state.apps() {
        let Some(app) = valid(&entry) else { continue };
        let service_ports = service_ports(app);
        let mut tasks = state.tasks_of(app);
        tasks.retain(keep);
        for task in &mut tasks {
            task.service_ports = service_ports.clone();
        }
        by_app.push((app.spec.id.clone(), service_ports, tasks));
    }
    let plain = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/plain") && !a.contains("application/json"));
    if plain {
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text_listing(&by_app))
            .into_response();
    }
    let tasks: Vec<&Task> = by_app.iter().flat_map(|(_, _, tasks)| tasks).collect();
    Json(json!({ "tasks": tasks })).into_response()
}

/// Marathon's text listing: per app and service port, the app id (`/` -> `_`), the port and
/// the `host:port` of each task.
fn text_listing(by_app: &[(String, Vec<i32>, Vec<Task>)]) -> String {
    let mut out = String::new();
    for (id, service_ports, tasks) in by_app {
        let name = id.trim_start_matches('/').replace('/', "_");
        for (index, port) in service_ports.iter().enumerate() {
            out.push_str(&format!("{name}\t{port}\t"));
            for task in tasks {
                if let Some(task_port) = task.ports.get(index) {
                    out.push_str(&format!("{}:{task_port}\t", task.host));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The app's service ports (`portDefinitions[].port`, `portMappings[].servicePort`, `ports`).
fn service_ports(app: &MarathonApp) -> Vec<i32> {
    let spec = serde_json::to_value(&app.spec).unwrap_or_default();
    let from = |pointer: &str, field: &str| -> Vec<i32> {
        spec.pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get(field).and_then(Value::as_i64))
                    .filter_map(|p| i32::try_from(p).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ports = from("/portDefinitions", "port");
    if ports.is_empty() {
        ports = from("/container/portMappings", "servicePort");
    }
    if ports.is_empty() {
        ports = from("/container/docker/portMappings", "servicePort");
    }
    if ports.is_empty() {
        ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .map(|p| {
                p.iter().filter_map(Value::as_i64).filter_map(|p| i32::try_from(p).ok()).collect()
            })
            .unwrap_or_default();
    }
    ports
}

struct KillOptions {
    scale: bool,
    wipe: bool,
    force: bool,
}

impl KillOptions {
    fn of(query: &Query) -> Result<Self, ApiError> {
        let options = Self {
            scale: query.flag("scale", false),
            wipe: query.flag("wipe", false),
            force: query.flag("force", false),
        };
        if options.scale && options.wipe {
            return Err(ApiError::BadRequest(
                "You cannot use scale and wipe at the same time.".into(),
            ));
        }
        Ok(options)
    }
}

/// Asks the controller to kill `tasks` of app `id`. With `scale`, instances drop by the number
/// of active tasks killed, in the same write.
async fn kill(
    state: &FacadeState,
    id: &str,
    tasks: &[Task],
    options: &KillOptions,
    caller: &Caller,
) -> Result<super::write::Written, ApiError> {
    let requests: Vec<KillRequest> = tasks
        .iter()
        .map(|t| KillRequest {
            pod: t.pod_name.clone(),
            uid: Some(t.pod_uid.clone()),
            scale: options.scale,
            wipe: options.wipe,
        })
        .collect();
    let active = tasks.iter().filter(|t| t.state != TaskState::TaskKilling).count();
    let what = if options.scale { "tasks killed and scaled down" } else { "tasks killed" };
    // Killing is not a configuration change: it never waits for a running deployment.
    let force = options.force || !options.scale;
    update(state, id, force, Request { caller, what }, |app| {
        let mut spec = app.spec.clone();
        if options.scale {
            let instances = spec.effective_instances() - i32::try_from(active).unwrap_or(i32::MAX);
            spec.instances = Some(instances.max(0));
        }
        let pending = app.annotations().get(ANNOTATION_KILL_TASKS).map(String::as_str);
        Ok(Desired::from(spec).with(ANNOTATION_KILL_TASKS, add_kill_requests(pending, &requests)))
    })
    .await
}

/// `DELETE /v2/apps/{id}/tasks?host=&scale=&wipe=`.
pub(super) async fn kill_app_tasks(
    state: &FacadeState,
    id: &str,
    query: &Query,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let options = KillOptions::of(query)?;
    let app = &state.require(id)?;
    let host = query.get("host");
    let tasks: Vec<Task> = state
        .tasks_of(app)
        .into_iter()
        .filter(|t| host.is_none_or(|h| h == "*" || h == t.host))
        .collect();
    let written = kill(state, id, &tasks, &options, caller).await?;
    if options.scale {
        return Ok(written.result(StatusCode::OK));
    }
    Ok(Json(json!({ "tasks": tasks })).into_response())
}

/// `DELETE /v2/apps/{id}/tasks/{taskId}?scale=&wipe=`.
pub(super) async fn kill_app_task(
    state: &FacadeState,
    id: &str,
    task_id: &str,
    query: &Query,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let options = KillOptions::of(query)?;
    let app = &state.require(id)?;
    let task = state
        .tasks_of(app)
        .into_iter()
        .find(|t| same_task(&t.id, task_id))
        .ok_or_else(|| ApiError::NotFound(format!("Task '{task_id}' does not exist")))?;
    let written = kill(state, id, std::slice::from_ref(&task), &options, caller).await?;
    if options.scale {
        return Ok(written.result(StatusCode::OK));
    }
    Ok(Json(json!({ "task": task })).into_response())
}

/// Two ids of one task (any of Marathon's id shapes names the same instance uuid).
fn same_task(ours: &str, given: &str) -> bool {
    ours == given
        || matches!((parse_task_id(ours), parse_task_id(given)), (Some(a), Some(b)) if a == b)
}

/// `POST /v2/tasks/delete {"ids": [...]}`: the app of each task comes from its id; unknown
/// ids are skipped, as in Marathon.
async fn delete_tasks(
    State(state): State<FacadeState>,
    caller: Caller,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let options = KillOptions::of(&query)?;
    let body = body.required()?;
    let ids: Vec<&str> = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::Unprocessable("the body must be {\"ids\": [task ids]}".into()))?
        .iter()
        .map(|v| v.as_str().ok_or_else(|| ApiError::BadRequest(format!("Invalid task id '{v}'."))))
        .collect::<Result<_, _>>()?;
    let mut by_app: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for id in ids {
        let parsed = parse_task_id(id)
            .ok_or_else(|| ApiError::BadRequest(format!("Invalid task id '{id}'.")))?;
        by_app.entry(parsed.app_id).or_default().push(id);
    }
    let mut killed = Vec::new();
    let mut last = None;
    for (app_id, ids) in by_app {
        let Some(entry) = state.find(&app_id) else { continue };
        let Some(app) = valid(&entry) else { continue };
        let tasks: Vec<Task> = state
            .tasks_of(app)
            .into_iter()
            .filter(|t| ids.iter().any(|id| same_task(&t.id, id)))
            .collect();
        if tasks.is_empty() {
            continue;
        }
        last = Some(kill(&state, &app_id, &tasks, &options, &caller).await?);
        killed.extend(tasks);
    }
    match (options.scale, last) {
        (true, Some(written)) => Ok(written.result(StatusCode::OK)),
        _ => Ok(Json(json!({ "tasks": killed })).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_of_any_shape_name_the_same_task() {
        let uuid = "6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e";
        let ours = format!("prod_web.{uuid}");
        assert!(same_task(&ours, &format!("prod_web.instance-{uuid}._app.1")));
        assert!(!same_task(&ours, &format!("other.{uuid}")));
    }

    #[test]
    fn plain_listing_is_marathons() {
        let task = Task {
            id: "web.1".into(),
            app_id: "/prod/web".into(),
            host: "node-1".into(),
            slave_id: None,
            state: TaskState::TaskRunning,
            staged_at: None,
            started_at: None,
            version: None,
            ports: vec![31000],
            service_ports: vec![10000],
            ip_addresses: vec![],
            health_check_results: None,
            pod_name: "web-1".into(),
            pod_uid: "uid".into(),
        };
        let listing = text_listing(&[("/prod/web".into(), vec![10000], vec![task])]);
        assert_eq!(listing, "prod_web\t10000\tnode-1:31000\t\n");
    }
}
