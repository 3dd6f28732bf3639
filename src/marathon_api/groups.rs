//! `/v2/groups`: the group tree derived from the apps' ids (`crate::marathon::groups`), with
//! Marathon's `embed` parameters, a group's apps and its versions.

use axum::Json;
use axum::extract::{FromRequestParts, MatchedPath, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::FacadeState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::ApiError;
use super::group_writes::{Mode, apps_of, delete, roll_back, scale_by, write};
use super::openapi::{Route, op};
use super::query::{Query, RestPath};
use super::read::valid;
use super::write::with_location;
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::app_json::{Embed, definition, version_info};
use crate::marathon::groups::{GroupEmbed, Member, alone, group_tree, is_below, settings_of};
use crate::marathon::ids::canonical;
use crate::marathon::versions::{format_version, stored_spec, stored_version};

pub fn routes() -> Vec<Route> {
    const WRITE: &[(u16, &str)] = &[
        (200, "Deployment result"),
        (201, "Created"),
        (404, "Unknown group"),
        (409, "Exists or locked"),
        (422, "Invalid group"),
    ];
    let group_ops = |path: &'static str| {
        [
            op(Method::GET, path, "A group tree", &[(200, "Group"), (404, "Unknown group")])
                .query(&["embed"]),
            op(Method::POST, path, "Create a group", WRITE).query(&["force"]),
            op(Method::PUT, path, "Update a group (or scaleBy / version)", WRITE)
                .query(&["force", "dryRun"]),
            op(Method::DELETE, path, "Delete a group and every app in it", WRITE).query(&["force"]),
        ]
    };
    let mut root = Route::new("/v2/groups", get(get_path).post(post).put(put).delete(delete_path));
    for operation in group_ops("/v2/groups") {
        root = root.serves(operation);
    }
    let mut nested =
        Route::new("/v2/groups/{*path}", get(get_path).post(post).put(put).delete(delete_path));
    for operation in group_ops("/v2/groups/{groupId}") {
        nested = nested.serves(operation);
    }
    nested = nested
        .serves(op(
            Method::GET,
            "/v2/groups/{groupId}/apps",
            "Every app of a group tree",
            &[(200, "Apps"), (404, "Unknown group")],
        ))
        .serves(op(
            Method::GET,
            "/v2/groups/{groupId}/versions",
            "The group's versions",
            &[(200, "Versions"), (404, "Unknown group")],
        ));
    vec![root, nested]
}

/// What a path below `/v2/groups/` names.
#[derive(Debug, PartialEq, Eq)]
enum GroupPath {
    Group(String),
    Apps(String),
    Versions(String),
    Version(String, String),
}

impl GroupPath {
    fn parse(path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let id = |n: usize| canonical(&segments[..segments.len() - n].join("/"), "/");
        match segments.as_slice() {
            [.., "apps"] => GroupPath::Apps(id(1)),
            [.., "versions"] => GroupPath::Versions(id(1)),
            [.., "versions", version] => GroupPath::Version(id(2), (*version).to_owned()),
            _ => GroupPath::Group(canonical(path, "/")),
        }
    }
}

/// What follows `/v2/groups/` in the URL: empty for `/v2/groups` itself (the root group), so
/// one handler serves both routes.
struct GroupUrl(String);

impl<S: Send + Sync> FromRequestParts<S> for GroupUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let root =
            parts.extensions.get::<MatchedPath>().is_some_and(|m| m.as_str() == "/v2/groups");
        if root {
            return Ok(GroupUrl(String::new()));
        }
        let RestPath(path) = RestPath::from_request_parts(parts, state).await?;
        Ok(GroupUrl(path))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Group '{id}' does not exist"))
}

impl FacadeState {
    /// Every app as a group member; apps carry what `group.apps.<x>` asks for (by default
    /// their bare definition with version and versionInfo, no counts).
    fn members(&self, query: &Query) -> Vec<Member> {
        let embeds = query.all("embed");
        let app_embeds: Vec<&str> =
            embeds.iter().filter_map(|e| e.strip_prefix("group.apps.")).collect();
        let embed = (!app_embeds.is_empty()).then(|| Embed::parse(app_embeds));
        self.apps()
            .iter()
            .filter_map(valid)
            .map(|app| Member {
                id: app.spec.id.clone(),
                json: match embed {
                    Some(embed) => self.app_info(app, embed),
                    None => bare(app),
                },
                version: app.status.as_ref().and_then(|s| s.version.clone()),
                settings: settings_of(app),
            })
            .collect()
    }

    /// The apps below `group` (ids only, for writes).
    pub(super) fn apps_below(&self, group: &str) -> Vec<MarathonApp> {
        self.apps()
            .iter()
            .filter_map(valid)
            .filter(|a| is_below(&a.spec.id, group))
            .cloned()
            .collect()
    }
}

/// An app inside a group: the definition, its version and versionInfo.
fn bare(app: &MarathonApp) -> Value {
    let mut json = definition(&app.spec);
    let status = app.status.as_ref();
    if let Some(version) = status.and_then(|s| s.version.as_ref()) {
        json["version"] = json!(version);
    }
    if let Some(info) = status.and_then(|s| s.version_info.as_ref()) {
        json["versionInfo"] = version_info(info);
    }
    json
}

fn group(state: &FacadeState, id: &str, query: &Query) -> Result<Response, ApiError> {
    let embed = GroupEmbed::parse(query.all("embed"));
    let now = format_version(Timestamp::now());
    let tree = group_tree(&state.members(query), id, embed, &now).ok_or_else(|| not_found(id))?;
    Ok(Json(tree).into_response())
}

async fn get_path(
    State(state): State<FacadeState>,
    GroupUrl(path): GroupUrl,
    query: Query,
) -> Result<Response, ApiError> {
    match GroupPath::parse(&path) {
        GroupPath::Group(id) => group(&state, &id, &query),
        GroupPath::Apps(id) => {
            let apps = apps_of(&state, &id)?;
            let embed = Embed::parse(query.all("embed"));
            let apps: Vec<Value> = apps.iter().map(|a| state.app_info(a, embed)).collect();
            Ok(Json(apps).into_response())
        }
        GroupPath::Versions(id) => {
            let apps = apps_of(&state, &id)?;
            let mut versions: Vec<String> = apps
                .iter()
                .flat_map(|app| state.history_of(app))
                .filter_map(|r| stored_version(&r).map(str::to_owned))
                .collect();
            versions.sort_unstable_by(|a, b| b.cmp(a));
            versions.dedup();
            Ok(Json(versions).into_response())
        }
        GroupPath::Version(id, version) => group_at(&state, &id, &version, &query),
    }
}

/// The group as it was at `version`: each app below it at its newest version not after
/// `version` (apps created later are not part of it).
fn group_at(
    state: &FacadeState,
    id: &str,
    version: &str,
    query: &Query,
) -> Result<Response, ApiError> {
    let missing =
        || ApiError::NotFound(format!("Group '{id}' does not exist in version {version}"));
    let members: Vec<Member> = state
        .apps_below(id)
        .iter()
        .filter_map(|app| {
            let history = state.history_of(app);
            let revision =
                history.iter().rev().find(|r| stored_version(r).is_some_and(|v| v <= version))?;
            let spec: MarathonAppSpec = serde_json::from_value(stored_spec(revision)?).ok()?;
            let at = stored_version(revision).map(str::to_owned);
            let mut json = definition(&spec);
            json["version"] = json!(at);
            Some(Member { id: spec.id.clone(), json, version: at, settings: settings_of(app) })
        })
        .collect();
    if members.is_empty() && id != "/" {
        return Err(missing());
    }
    let embed = GroupEmbed::parse(query.all("embed"));
    let tree = group_tree(&members, id, embed, version).ok_or_else(missing)?;
    Ok(Json(tree).into_response())
}

// ----- writes ---------------------------------------------------------------------------------

/// The group a write names: the body's `id` relative to the URL's, else the URL's.
fn target(base: &str, body: &Value) -> String {
    body.get("id").and_then(Value::as_str).map_or_else(|| base.to_owned(), |id| canonical(id, base))
}

fn url_group(path: &str) -> Result<String, ApiError> {
    match GroupPath::parse(path) {
        GroupPath::Group(id) => Ok(id),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn post(
    State(state): State<FacadeState>,
    caller: Caller,
    GroupUrl(path): GroupUrl,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (state, caller) = (&state, &caller);
    let base = url_group(&path)?;
    let body = body.required()?;
    let group = target(&base, &body);
    refuse_app_at(state, &group)?;
    if group != "/" && !state.apps_below(&group).is_empty() {
        return Err(ApiError::Conflict(format!(
            "Group {group} is already created. Use PUT to change this group."
        )));
    }
    let flags = (query.flag("force", false), false);
    let response = write(state, &group, &body, Mode::Create, flags, caller).await?;
    Ok(with_location(&group, response))
}

/// A group cannot take the path of an app.
fn refuse_app_at(state: &FacadeState, group: &str) -> Result<(), ApiError> {
    match state.find(group) {
        Some(_) => Err(ApiError::Conflict(format!("An app with the path {group} already exists."))),
        None => Ok(()),
    }
}

async fn put(
    State(state): State<FacadeState>,
    caller: Caller,
    GroupUrl(path): GroupUrl,
    query: Query,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let (state, caller) = (&state, &caller);
    let base = &url_group(&path)?;
    let body = body.required()?;
    let force = query.flag("force", false);
    if alone(&body, "scaleBy").map_err(ApiError::Unprocessable)? {
        let factor = body["scaleBy"]
            .as_f64()
            .ok_or_else(|| ApiError::Unprocessable("scaleBy must be a number".to_owned()))?;
        return scale_by(state, base, factor, force, caller).await;
    }
    if alone(&body, "version").map_err(ApiError::Unprocessable)? {
        let version = body["version"].as_str().unwrap_or_default().to_owned();
        return roll_back(state, base, &version, force, caller).await;
    }
    let group = target(base, &body);
    refuse_app_at(state, &group)?;
    let flags = (force, query.flag("dryRun", false));
    write(state, &group, &body, Mode::Replace, flags, caller).await
}

async fn delete_path(
    State(state): State<FacadeState>,
    caller: Caller,
    GroupUrl(path): GroupUrl,
    query: Query,
) -> Result<Response, ApiError> {
    delete(&state, &url_group(&path)?, query.flag("force", false), &caller).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_routes_are_told_apart_from_group_ids() {
        assert_eq!(GroupPath::parse("prod"), GroupPath::Group("/prod".into()));
        assert_eq!(GroupPath::parse("/prod/web/"), GroupPath::Group("/prod/web".into()));
        assert_eq!(GroupPath::parse("prod/apps"), GroupPath::Apps("/prod".into()));
        assert_eq!(GroupPath::parse("apps"), GroupPath::Apps("/".into()));
        assert_eq!(GroupPath::parse("versions"), GroupPath::Versions("/".into()));
        assert_eq!(
            GroupPath::parse("prod/versions/2026-01-01T00:00:00.000Z"),
            GroupPath::Version("/prod".into(), "2026-01-01T00:00:00.000Z".into())
        );
    }
}
