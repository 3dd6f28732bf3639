//! `/v2/apps`: list, create, read, update, patch, delete, restart and versions. App ids are
//! paths, so `/v2/apps/{*path}` is taken apart here into the app id and Marathon's suffix
//! routes (`/restart`, `/tasks`, `/tasks/{taskId}`, `/versions`, `/versions/{v}`). The route
//! table is in `app_routes.rs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::FacadeState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::ApiError;
use super::query::{Query, RestPath};
use super::read::valid;
use super::tasks;
use super::write::{Desired, Request, Written, merge, with_deployment_header, with_location};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::app_json::{AppView, Embed, app_info, definition};
use crate::marathon::deployments::current_deployment;
use crate::marathon::ids::canonical;
use crate::marathon::labels::Selector;
use crate::marathon::validation::{Invalid, Violation, check_app, strip_read_only};
use crate::marathon::versions::{format_version, spec_of_version, stored_version};

/// What a path below `/v2/apps/` names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AppPath {
    App(String),
    /// `/{group}/*`: every app below the group.
    Group(String),
    Restart(String),
    Tasks(String),
    Task(String, String),
    Versions(String),
    Version(String, String),
}

impl AppPath {
    pub(super) fn parse(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let id = |n: usize| canonical(&segments[..segments.len() - n].join("/"), "/");
        match segments.as_slice() {
            [.., "*"] => AppPath::Group(id(1)),
            [_, .., "restart"] => AppPath::Restart(id(1)),
            [_, .., "tasks"] => AppPath::Tasks(id(1)),
            [_, .., "versions"] => AppPath::Versions(id(1)),
            [_, .., "tasks", task] => AppPath::Task(id(2), (*task).to_owned()),
            [_, .., "versions", version] => AppPath::Version(id(2), (*version).to_owned()),
            _ => AppPath::App(canonical(path, "/")),
        }
    }
}

// ----- list and read ------------------------------------------------------------------------

pub(super) async fn list(
    State(state): State<FacadeState>,
    query: Query,
) -> Result<Response, ApiError> {
    let embed = Embed::parse(query.all("embed"));
    let selector = match query.get("label") {
        Some(text) => Some(Selector::parse(text).map_err(ApiError::Unprocessable)?),
        None => None,
    };
    let cmd = query.get("cmd").map(str::to_lowercase);
    let id = query.get("id").map(str::to_lowercase);
    let all = state.apps();
    let apps = all
        .iter()
        .filter_map(valid)
        .filter(|app| id.as_ref().is_none_or(|id| app.spec.id.to_lowercase().contains(id)))
        .filter(|app| {
            cmd.as_ref().is_none_or(|cmd| {
                app.spec.cmd.as_ref().is_some_and(|c| c.to_lowercase().contains(cmd))
            })
        })
        .filter(|app| {
            selector
                .as_ref()
                .is_none_or(|s| s.matches(app.spec.labels.as_ref().unwrap_or(&Default::default())))
        });
    Ok(state.app_list_response("apps", apps, embed))
}

pub(super) async fn get_path(
    State(state): State<FacadeState>,
    RestPath(path): RestPath,
    query: Query,
) -> Result<Response, ApiError> {
    let embed = Embed::parse(query.all("embed"));
    match AppPath::parse(&path) {
        AppPath::App(id) => {
            let app = &state.require(&id)?;
            Ok(state.app_response(app, embed.single_app()))
        }
        AppPath::Group(group) => {
            let prefix = if group == "/" { "/".to_owned() } else { format!("{group}/") };
            let all = state.apps();
            let apps: Vec<&MarathonApp> = all
                .iter()
                .filter_map(valid)
                .filter(|app| app.spec.id.starts_with(&prefix))
                .collect();
            if apps.is_empty() && group != "/" {
                return Err(ApiError::NotFound(format!("Group '{group}' does not exist")));
            }
            Ok(state.app_list_response("*", apps, embed))
        }
        AppPath::Tasks(id) => tasks::app_tasks(&state, &id).map(IntoResponse::into_response),
        AppPath::Versions(id) => versions(&state, &id),
        AppPath::Version(id, version) => version_of(&state, &id, &version),
        AppPath::Restart(_) | AppPath::Task(..) => Err(ApiError::MethodNotAllowed),
    }
}

fn versions(state: &FacadeState, id: &str) -> Result<Response, ApiError> {
    let app = &state.require(id)?;
    let mut versions: Vec<String> =
        state.history_of(app).iter().filter_map(stored_version).map(str::to_owned).collect();
    versions.reverse();
    Ok(Json(json!({ "versions": versions })).into_response())
}

fn version_of(state: &FacadeState, id: &str, version: &str) -> Result<Response, ApiError> {
    let app = &state.require(id)?;
    let history = state.history_of(app);
    let missing = || ApiError::NotFound(format!("App '{id}' does not exist in version {version}"));
    let stored = spec_of_version(&history, version).ok_or_else(missing)?;
    let spec: MarathonAppSpec = serde_json::from_value(stored).map_err(|_| missing())?;
    let mut body = definition(&spec);
    body["version"] = json!(version);
    Ok(Json(body).into_response())
}

// ----- create -------------------------------------------------------------------------------

/// The app definition of a request body: an object, read-only fields dropped, the id made
/// absolute (`url_id` wins over the body's, as in Marathon's PUT).
pub(super) fn definition_of(body: Value, url_id: Option<&str>) -> Result<Value, ApiError> {
    let Value::Object(_) = body else {
        return Err(Invalid::Shape(vec![Violation::new("/", "error.expected.jsobject")]).into());
    };
    let mut body = body;
    strip_read_only(&mut body);
    if let Some(object) = body.as_object_mut() {
        object.remove("version");
        let id = match url_id {
            Some(id) => Some(id.to_owned()),
            None => object.get("id").and_then(Value::as_str).map(|id| canonical(id, "/")),
        };
        match id {
            Some(id) => {
                object.insert("id".into(), json!(id));
            }
            None if object.contains_key("id") => {
                return Err(
                    Invalid::Shape(vec![Violation::new("/id", "error.expected.jsstring")]).into()
                );
            }
            // A missing required field is a shape error in Marathon ("Invalid JSON").
            None => {
                return Err(
                    Invalid::Shape(vec![Violation::new("/id", "error.path.missing")]).into()
                );
            }
        }
    }
    Ok(body)
}

pub(super) async fn create(
    State(state): State<FacadeState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let body = definition_of(body.required()?, None)?;
    let spec = check_app(body)?;
    create_app(&state, spec, &caller).await
}

/// Creates a new app: 201 with the definition, zero counts and the deployment.
pub(super) async fn create_app(
    state: &FacadeState,
    spec: MarathonAppSpec,
    caller: &Caller,
) -> Result<Response, ApiError> {
    if state.find(&spec.id).is_some() {
        return Err(ApiError::Conflict(format!("An app with id [{}] already exists.", spec.id)));
    }
    refuse_name_collision(state, &spec.id)?;
    let written = state.store(spec.into(), None, Request { caller, what: "created" }).await?;
    let deployments = [written.deployment_id.clone()];
    let body = app_info(
        &AppView {
            spec: &written.app.spec,
            status: None,
            version: Some(&written.version),
            tasks: &[],
            deployments: &deployments,
            last_task_failure: None,
        },
        Embed::default(),
    );
    let response = (StatusCode::CREATED, Json(body)).into_response();
    let response = with_location(&written.app.spec.id, response);
    Ok(with_deployment_header(&written.deployment_id, response))
}

/// Two new apps of one request deriving the same resource name would overwrite each other.
pub(super) fn refuse_collision_within(
    seen: &mut Vec<(String, String)>,
    id: &str,
) -> Result<(), ApiError> {
    let name = crate::translate::names::app_name(id);
    if let Some((other, _)) = seen.iter().find(|(other, taken)| *taken == name && other != id) {
        return Err(ApiError::Conflict(format!(
            "App {id} cannot be stored: its resource name {name} is also derived by app {other} of the same request (two ids derive the same name)"
        )));
    }
    seen.push((id.to_owned(), name));
    Ok(())
}

/// Two ids deriving the same resource name (`/a/b` and `/a-b`) would overwrite each other.
pub(super) fn refuse_name_collision(state: &FacadeState, id: &str) -> Result<(), ApiError> {
    let namespace = state.namespace_for(id)?;
    let name = crate::translate::names::app_name(id);
    let taken = state.apps().into_iter().find_map(|entry| {
        let app = valid(&entry)?;
        let same_place = app.metadata.namespace.as_deref() == Some(namespace.as_str())
            && app.metadata.name.as_deref() == Some(name.as_str());
        (same_place && app.spec.id != id).then(|| app.spec.id.clone())
    });
    match taken {
        Some(other) => Err(ApiError::Conflict(format!(
            "App {id} cannot be stored: its resource name {name} in namespace {namespace} is already used by app {other} (two ids derive the same name)"
        ))),
        None => Ok(()),
    }
}

// ----- update -------------------------------------------------------------------------------

/// Applies `change` to the app `id` and stores it, refusing while a deployment runs (unless
/// `force`), and trying again from the stored object when another writer came first.
pub(super) async fn update(
    state: &FacadeState,
    id: &str,
    force: bool,
    request: Request<'_>,
    mut change: impl FnMut(&MarathonApp) -> Result<Desired, ApiError>,
) -> Result<Written, ApiError> {
    let mut app = state.require(id)?;
    for attempt in 0..3 {
        if !force && let Some(running) = current_deployment(&app) {
            return Err(ApiError::Locked(vec![running.id]));
        }
        let desired = change(&app)?;
        match state
            .store(desired, Some(&app), Request { caller: request.caller, what: request.what })
            .await
        {
            Err(ApiError::Conflict(_)) if attempt < 2 => app = state.fresh(&app).await?,
            other => return other,
        }
    }
    Err(ApiError::Conflict(format!("app {id} changed while it was being updated; try again")))
}

/// The app with `update` merged in (or replacing it), Kubernetes-only settings kept.
pub(super) fn updated_spec(
    app: &MarathonApp,
    update: &Value,
    partial: bool,
) -> Result<MarathonAppSpec, ApiError> {
    let mut merged = if partial { merge(&app.spec, update)? } else { update.clone() };
    if let (Some(object), Some(kubernetes)) = (merged.as_object_mut(), &app.spec.kubernetes) {
        object.insert("kubernetes".into(), json!(kubernetes));
    }
    Ok(check_app(merged)?)
}

pub(super) async fn put_path(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(path): RestPath,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let AppPath::App(id) = AppPath::parse(&path) else { return Err(ApiError::MethodNotAllowed) };
    let body = body.required()?;
    let force = query.flag("force", false);
    if let Some(version) = body.get("version") {
        return rollback(&state, &id, &body, version, force, &caller).await;
    }
    let body = definition_of(body, Some(&id))?;
    if state.find(&id).is_none() {
        let spec = check_app(body)?;
        return create_app(&state, spec, &caller).await;
    }
    let partial = query.flag("partialUpdate", true);
    let request = Request { caller: &caller, what: "updated" };
    let written = change_app(&state, &id, &body, partial, force, request).await?;
    Ok(written.result(StatusCode::OK))
}

/// Stores the app `id` with the definition `body` merged in (`partial`) or replacing it:
/// `PUT` and `PATCH` of `/v2/apps`, and the web UI's scale.
pub(super) async fn change_app(
    state: &FacadeState,
    id: &str,
    body: &Value,
    partial: bool,
    force: bool,
    request: Request<'_>,
) -> Result<Written, ApiError> {
    update(state, id, force, request, |app| updated_spec(app, body, partial).map(Desired::from))
        .await
}

/// `PUT {"version": V}`: the definition of version V becomes the app's new version.
pub(super) async fn rollback(
    state: &FacadeState,
    id: &str,
    body: &Value,
    version: &Value,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let only_id = body.as_object().is_some_and(|o| o.keys().all(|k| k == "version" || k == "id"));
    if !only_id {
        return Err(ApiError::Unprocessable(
            "The 'version' field may only be combined with the 'id' field.".into(),
        ));
    }
    let version = version.as_str().ok_or_else(|| {
        ApiError::Invalid(Invalid::Shape(vec![Violation::new(
            "/version",
            "error.expected.jsstring",
        )]))
    })?;
    let written = restore_version(state, id, version, force, caller).await?;
    Ok(written.result(StatusCode::OK))
}

/// The definition of the app's version `version` becomes its new version: `PUT` with
/// `{"version": V}`, and the web UI's rollback.
pub(super) async fn restore_version(
    state: &FacadeState,
    id: &str,
    version: &str,
    force: bool,
    caller: &Caller,
) -> Result<Written, ApiError> {
    update(state, id, force, Request { caller, what: "rolled back" }, |app| {
        let history = state.history_of(app);
        let stored = spec_of_version(&history, version).ok_or_else(|| {
            ApiError::NotFound(format!("App '{id}' does not exist in version {version}"))
        })?;
        Ok(stored_spec_for(app, &stored, version)?.into())
    })
    .await
}

/// A stored definition of `app` as a spec to write again, with the app's current
/// Kubernetes-only settings (they are not part of Marathon's versions).
pub(super) fn stored_spec_for(
    app: &MarathonApp,
    stored: &Value,
    version: &str,
) -> Result<MarathonAppSpec, ApiError> {
    let mut spec: MarathonAppSpec = serde_json::from_value(stored.clone())
        .map_err(|e| ApiError::Unprocessable(format!("version {version} cannot be read: {e}")))?;
    spec.kubernetes = app.spec.kubernetes.clone();
    Ok(spec)
}

pub(super) async fn patch_path(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(path): RestPath,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let AppPath::App(id) = AppPath::parse(&path) else { return Err(ApiError::MethodNotAllowed) };
    let body = definition_of(body.required()?, Some(&id))?;
    let force = query.flag("force", false);
    let request = Request { caller: &caller, what: "patched" };
    let written = change_app(&state, &id, &body, true, force, request).await?;
    Ok(written.result(StatusCode::OK))
}

/// `PUT /v2/apps` and `PATCH /v2/apps`: several apps at once (unknown ids are created by
/// PUT). Each app is its own write; the answer names the last deployment.
pub(super) async fn update_many(
    State(state): State<FacadeState>,
    caller: Caller,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    many(&state, &caller, &query, body.required()?, true).await
}

pub(super) async fn patch_many(
    State(state): State<FacadeState>,
    caller: Caller,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    many(&state, &caller, &query, body.required()?, false).await
}

async fn many(
    state: &FacadeState,
    caller: &Caller,
    query: &Query,
    body: Value,
    creates: bool,
) -> Result<Response, ApiError> {
    let Value::Array(items) = body else {
        return Err(Invalid::Shape(vec![Violation::new("/", "error.expected.jsarray")]).into());
    };
    // Check everything first (validity, locks, names): a refused request changes nothing.
    let force = query.flag("force", false);
    let mut planned = Vec::with_capacity(items.len());
    let mut new_names: Vec<(String, String)> = Vec::new();
    for item in items {
        let id = item.get("id").and_then(Value::as_str).map(|id| canonical(id, "/"));
        let Some(id) = id else {
            return Err(ApiError::Unprocessable(
                "requirement failed: App Update must have app id set".into(),
            ));
        };
        let body = definition_of(item, Some(&id))?;
        match state.find(&id) {
            Some(entry) => {
                let app = valid(&entry)
                    .cloned()
                    .ok_or_else(|| ApiError::NotFound(format!("App '{id}' does not exist")))?;
                updated_spec(&app, &body, query.flag("partialUpdate", true))?;
                if !force && let Some(running) = current_deployment(&app) {
                    return Err(ApiError::Locked(vec![running.id]));
                }
                planned.push((id, body, true));
            }
            None if creates => {
                check_app(body.clone())?;
                refuse_name_collision(state, &id)?;
                refuse_collision_within(&mut new_names, &id)?;
                planned.push((id, body, false));
            }
            None => return Err(ApiError::NotFound(format!("App '{id}' does not exist"))),
        }
    }
    let mut last: Option<Written> = None;
    for (id, body, exists) in planned {
        if exists {
            let partial = query.flag("partialUpdate", true);
            let request = Request { caller, what: "updated" };
            last = Some(change_app(state, &id, &body, partial, force, request).await?);
        } else {
            refuse_name_collision(state, &id)?;
            last = Some(
                state
                    .store(check_app(body)?.into(), None, Request { caller, what: "created" })
                    .await?,
            );
        }
    }
    match last {
        Some(written) => Ok(written.result(StatusCode::OK)),
        None => {
            Ok(Json(json!({"deploymentId": null, "version": format_version(Timestamp::now())}))
                .into_response())
        }
    }
}

// ----- delete and restart --------------------------------------------------------------------

pub(super) async fn delete_path(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(path): RestPath,
    query: Query,
) -> Result<Response, ApiError> {
    match AppPath::parse(&path) {
        AppPath::App(id) => {
            let app = &state.require(&id)?;
            // Deleting defaults to force, unlike every other write (Marathon's rule).
            if !query.flag("force", true)
                && let Some(running) = current_deployment(app)
            {
                return Err(ApiError::Locked(vec![running.id]));
            }
            let written = state.remove(app, Request { caller: &caller, what: "deleted" }).await?;
            Ok(written.result(StatusCode::OK))
        }
        AppPath::Tasks(id) => tasks::kill_app_tasks(&state, &id, &query, &caller).await,
        AppPath::Task(id, task) => tasks::kill_app_task(&state, &id, &task, &query, &caller).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub(super) async fn post_path(
    State(state): State<FacadeState>,
    caller: Caller,
    RestPath(path): RestPath,
    query: Query,
) -> Result<Response, ApiError> {
    // Marathon's `{id:.+}` resource takes every other path, without a POST method: 405.
    let AppPath::Restart(id) = AppPath::parse(&path) else {
        return Err(ApiError::MethodNotAllowed);
    };
    let written = restart(&state, &id, query.flag("force", false), &caller).await?;
    Ok(written.result(StatusCode::OK))
}

/// A rolling restart of the app `id` (a new restart token in `spec.kubernetes`): `POST
/// /v2/apps/{id}/restart`, and the web UI's restart.
pub(super) async fn restart(
    state: &FacadeState,
    id: &str,
    force: bool,
    caller: &Caller,
) -> Result<Written, ApiError> {
    let token = format_version(Timestamp::now());
    update(state, id, force, Request { caller, what: "restarted" }, |app| {
        let mut spec = app.spec.clone();
        spec.kubernetes.get_or_insert_with(Default::default).restart = Some(token.clone());
        Ok(spec.into())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_routes_are_told_apart_from_nested_ids() {
        assert_eq!(AppPath::parse("prod/web"), AppPath::App("/prod/web".into()));
        assert_eq!(AppPath::parse("/prod/web/"), AppPath::App("/prod/web".into()));
        assert_eq!(AppPath::parse("prod/web/restart"), AppPath::Restart("/prod/web".into()));
        assert_eq!(AppPath::parse("prod/web/tasks"), AppPath::Tasks("/prod/web".into()));
        assert_eq!(
            AppPath::parse("prod/web/tasks/t1"),
            AppPath::Task("/prod/web".into(), "t1".into())
        );
        assert_eq!(AppPath::parse("prod/web/versions"), AppPath::Versions("/prod/web".into()));
        assert_eq!(
            AppPath::parse("prod/web/versions/2026-01-01T00:00:00.000Z"),
            AppPath::Version("/prod/web".into(), "2026-01-01T00:00:00.000Z".into())
        );
        assert_eq!(AppPath::parse("prod/*"), AppPath::Group("/prod".into()));
        // A segment named like a suffix inside an id is part of the id.
        assert_eq!(AppPath::parse("tasks/web"), AppPath::App("/tasks/web".into()));
        assert_eq!(AppPath::parse("restart"), AppPath::App("/restart".into()));
    }
}
