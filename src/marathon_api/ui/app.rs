//! One app: its tasks (refreshed on the app's events), versions with rollback, scale, restart, suspend and delete,
//! and its Marathon JSON beside the Kubernetes objects it becomes. Every action runs the
//! `/v2/apps` code (`apps::change_app`, `apps::restart`, `apps::restore_version`,
//! `FacadeState::remove`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kube::ResourceExt;
use serde_json::json;

use super::super::FacadeState;
use super::super::apps;
use super::super::auth::Caller;
use super::super::error::ApiError;
use super::super::query::Query;
use super::super::write::Request;
use super::form::{Fields, WriteForm};
use super::list::AppRow;
use super::{Nav, UiError, app_href};
use crate::crd::MarathonApp;
use crate::marathon::app_json::definition;
use crate::marathon::deployments::current_deployment;
use crate::marathon::versions::stored_version;
use crate::translate::{TranslateOptions, Translation, translate};

pub fn router() -> Router<FacadeState> {
    Router::new()
        .route("/ui/app", get(page))
        .route("/ui/app/live", get(live))
        .route("/ui/app/scale", post(act))
        .route("/ui/app/restart", post(act))
        .route("/ui/app/rollback", post(act))
        .route("/ui/app/delete", get(confirm_delete).post(delete))
}

/// One task's line.
pub struct TaskRow {
    pub id: String,
    pub host: String,
    pub ports: String,
    pub state: &'static str,
    pub health: &'static str,
    pub started: String,
    pub version: String,
}

/// The part of the page that the app's events refresh (`live.rs`).
#[derive(Template, WebTemplate)]
#[template(path = "app_live.html")]
pub struct Live {
    pub row: AppRow,
    pub deployment: Option<String>,
    pub last_failure: Option<String>,
    pub tasks: Vec<TaskRow>,
    /// Recorded versions, newest first (the controller records a new one shortly after a
    /// write, so they are refreshed with the rest).
    pub versions: Vec<VersionRow>,
}

impl Live {
    fn of(state: &FacadeState, app: &MarathonApp) -> Self {
        let tasks = state.tasks_of(app).into_iter().map(|task| {
            let health = match task.health_check_results.as_deref() {
                None => "no checks",
                Some(results) if results.iter().any(|r| !r.alive) => "unhealthy",
                Some(results) if !results.is_empty() => "healthy",
                Some(_) => "no result yet",
            };
            let ports = task.ports.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
            TaskRow {
                host: if task.host.is_empty() { "(not scheduled)".into() } else { task.host },
                state: task.state.as_str(),
                started: task.started_at.or(task.staged_at).unwrap_or_default(),
                version: task.version.unwrap_or_default(),
                id: task.id,
                ports,
                health,
            }
        });
        let failure = app.status.as_ref().and_then(|s| s.last_task_failure.as_ref());
        Self {
            row: AppRow::of(state, app),
            deployment: current_deployment(app).map(|d| {
                let step = d.current_step.unwrap_or(1);
                let actions: Vec<String> =
                    d.current_actions.iter().flatten().map(|a| a.action.clone()).collect();
                format!(
                    "{} (step {step} of {}: {})",
                    d.id,
                    d.total_steps.unwrap_or(1),
                    actions.join(", ")
                )
            }),
            last_failure: failure.map(|f| {
                let when = f.timestamp.as_deref().unwrap_or("unknown time");
                let what = f.message.as_deref().unwrap_or("no message");
                let state = f.state.as_deref().unwrap_or("TASK_FAILED");
                format!("{state} at {when} on {}: {what}", f.host.as_deref().unwrap_or("?"))
            }),
            tasks: tasks.collect(),
            versions: versions_of(state, app),
        }
    }

    /// The comparison of `version` with the current version.
    fn diff_href(&self, version: &str) -> String {
        let encoded: String = form_urlencoded::byte_serialize(version.as_bytes()).collect();
        let app = app_href(&self.row.id).replacen("/ui/app?", "/ui/app/diff?", 1);
        format!("{app}&from={encoded}")
    }

    fn href_live(&self) -> String {
        app_href(&self.row.id).replacen("/ui/app?", "/ui/app/live?", 1)
    }
}

/// One recorded version.
pub struct VersionRow {
    pub version: String,
    pub current: bool,
}

fn versions_of(state: &FacadeState, app: &MarathonApp) -> Vec<VersionRow> {
    let current = app.status.as_ref().and_then(|s| s.version.clone());
    let mut versions: Vec<VersionRow> = state
        .history_of(app)
        .iter()
        .filter_map(stored_version)
        .map(|v| VersionRow { current: current.as_deref() == Some(v), version: v.to_owned() })
        .collect();
    versions.reverse();
    versions
}

#[derive(Template, WebTemplate)]
#[template(path = "app.html")]
struct Page {
    nav: Nav,
    id: String,
    namespace: String,
    instances: i32,
    notice: Option<&'static str>,
    error: Option<String>,
    live: String,
    /// Recorded versions, newest first, for comparing any two.
    versions: Vec<String>,
    definition: String,
    objects: String,
    translation_error: Option<String>,
}

/// What a successful action says on the page it returns to (only known words are shown).
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The app was created; its deployment has started.",
        "updated" => "The new version was saved; its deployment has started.",
        "scaled" => "Scaling started.",
        "restarted" => "The restart started: tasks are replaced one by one.",
        "rolled-back" => "The rollback started.",
        _ => return None,
    })
}

fn translation_of(state: &FacadeState, app: &MarathonApp) -> Result<Translation, String> {
    let options = TranslateOptions { namespace: app.namespace(), ..Default::default() };
    translate(app, &state.host_volumes(), &options).map_err(|e| e.to_string())
}

/// The translated objects as one YAML stream.
pub(super) fn objects_yaml(translation: &Translation) -> Result<String, String> {
    let values = translation.objects.to_values().map_err(|e| e.to_string())?;
    let docs: Result<Vec<String>, _> = values.iter().map(serde_norway::to_string).collect();
    Ok(docs.map_err(|e| e.to_string())?.join("---\n"))
}

impl Page {
    /// The stream of this app's changes (`live.rs`).
    fn events_href(&self) -> String {
        let encoded: String = form_urlencoded::byte_serialize(self.id.as_bytes()).collect();
        format!("/ui/events?app={encoded}")
    }

    fn edit_href(&self) -> String {
        app_href(&self.id).replacen("/ui/app?", "/ui/app/edit?", 1)
    }

    fn of(state: &FacadeState, app: &MarathonApp, done: Option<&str>) -> Result<Self, UiError> {
        let (objects, translation_error) =
            match translation_of(state, app).and_then(|t| objects_yaml(&t)) {
                Ok(yaml) => (yaml, None),
                Err(e) => (String::new(), Some(e)),
            };
        let json = serde_json::to_string_pretty(&definition(&app.spec))
            .map_err(|e| ApiError::Unprocessable(format!("app cannot be shown: {e}")))?;
        Ok(Self {
            nav: Nav::Apps,
            id: app.spec.id.clone(),
            namespace: app.namespace().unwrap_or_default(),
            instances: app.spec.instances.unwrap_or(1),
            notice: notice(done),
            error: None,
            live: Live::of(state, app).render()?,
            versions: versions_of(state, app).into_iter().map(|v| v.version).collect(),
            definition: json,
            objects,
            translation_error,
        })
    }
}

pub(super) fn app_of(state: &FacadeState, id: &str) -> Result<MarathonApp, UiError> {
    Ok(state.require(id)?)
}

pub(super) fn id_of(query: &Query) -> Result<String, UiError> {
    let id = query.get("id").ok_or_else(|| UiError::BadForm("no app id given".into()))?;
    Ok(crate::marathon::ids::canonical(id, "/"))
}

async fn page(State(state): State<FacadeState>, query: Query) -> Result<Page, UiError> {
    let app = app_of(&state, &id_of(&query)?)?;
    Page::of(&state, &app, query.get("done"))
}

/// The live part of the page, or a notice in its place once the app is gone.
async fn live(State(state): State<FacadeState>, query: Query) -> Result<Response, UiError> {
    let id = id_of(&query)?;
    match app_of(&state, &id) {
        Ok(app) => Ok(Live::of(&state, &app).into_response()),
        Err(UiError::Api(ApiError::NotFound(_))) => Ok(Gone { id }.into_response()),
        Err(other) => Err(other),
    }
}

#[derive(Template, WebTemplate)]
#[template(
    source = r#"<section id="live"><p class="alert warn" role="status">{{ id }} no longer exists. <a href="/ui/">Back to the apps</a></p></section>"#,
    ext = "html"
)]
struct Gone {
    id: String,
}

/// After an action: back to the app's page with a notice, or the page with the refusal.
fn outcome(
    state: &FacadeState,
    id: &str,
    done: &str,
    result: Result<(), ApiError>,
) -> Result<Response, UiError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("{}&done={done}", app_href(id))).into_response()),
        Err(error) => {
            let status = error.status();
            let app = app_of(state, id)?;
            let mut page = Page::of(state, &app, None)?;
            page.error = Some(error.to_string());
            Ok((status, page).into_response())
        }
    }
}

/// What every action form sends: the app id and whether to override a deployment.
fn id_and_force(fields: &Fields) -> Result<(String, bool), UiError> {
    let id = crate::marathon::ids::canonical(fields.required("id")?, "/");
    Ok((id, fields.ticked("force")))
}

/// What an action form of the page asks for; each runs the `/v2/apps` code of the same
/// request.
#[derive(Clone, Copy)]
enum Action {
    /// `PATCH /v2/apps/{id}` with `{"instances": n}`.
    Scale,
    /// `POST /v2/apps/{id}/restart`.
    Restart,
    /// `PUT /v2/apps/{id}` with `{"version": V}`.
    RollBack,
}

impl Action {
    /// The notice the page shows once it is done (`done=`).
    fn done(self) -> &'static str {
        match self {
            Action::Scale => "scaled",
            Action::Restart => "restarted",
            Action::RollBack => "rolled-back",
        }
    }

    /// The action a form's URL names (`/ui/app/scale`, ...).
    fn of_path(path: &str) -> Option<Self> {
        match path.rsplit('/').next()? {
            "scale" => Some(Action::Scale),
            "restart" => Some(Action::Restart),
            "rollback" => Some(Action::RollBack),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Action {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, UiError> {
        let path = parts.uri.path();
        Action::of_path(path)
            .ok_or_else(|| UiError::Api(ApiError::NotFound(format!("no action at {path}"))))
    }
}

/// The handler of every action form: the action, then back to the page.
async fn act(
    action: Action,
    State(state): State<FacadeState>,
    caller: Caller,
    WriteForm(fields): WriteForm,
) -> Result<Response, UiError> {
    let (id, force) = id_and_force(&fields)?;
    let state = &state;
    let caller = &caller;
    let result = match action {
        Action::Scale => {
            let instances: i64 = fields
                .required("instances")?
                .trim()
                .parse()
                .map_err(|_| UiError::BadForm("instances must be a whole number".into()))?;
            let change = json!({ "instances": instances });
            let request = Request { caller, what: "scaled" };
            apps::change_app(state, &id, &change, true, force, request).await
        }
        Action::Restart => apps::restart(state, &id, force, caller).await,
        Action::RollBack => {
            let version = fields.required("version")?;
            apps::restore_version(state, &id, version, force, caller).await
        }
    };
    outcome(state, &id, action.done(), result.map(|_| ()))
}

/// What deleting the app keeps: claims of persistent and external volumes, host paths.
fn kept_data(app: &MarathonApp, translation: Option<&Translation>) -> Vec<String> {
    let mut kept = Vec::new();
    let namespace = app.namespace().unwrap_or_default();
    if let Some(objects) = translation.map(|t| &t.objects) {
        if let Some(set) = &objects.stateful_set {
            let name = set.name_any();
            for template in set.spec.volume_claim_templates.iter().flatten() {
                let volume = template.name_any();
                kept.push(format!(
                    "PersistentVolumeClaims {volume}-{name}-<n> (one per instance) in namespace {namespace}: the data of persistent volume {volume}"
                ));
            }
        }
        for claim in &objects.pvcs {
            kept.push(format!(
                "PersistentVolumeClaim {} in namespace {namespace} (external volume)",
                claim.name_any()
            ));
        }
    }
    let volumes = app.spec.container.iter().flat_map(|c| c.volumes.iter().flatten());
    for volume in volumes {
        if let Some(path) = volume.host_path.as_deref().filter(|_| volume.persistent.is_none()) {
            kept.push(format!("files under host path {path} on the nodes"));
        }
    }
    kept
}

#[derive(Template, WebTemplate)]
#[template(path = "delete.html")]
struct ConfirmDelete {
    nav: Nav,
    id: String,
    href: String,
    namespace: String,
    kept: Vec<String>,
}

async fn confirm_delete(
    State(state): State<FacadeState>,
    query: Query,
) -> Result<ConfirmDelete, UiError> {
    let app = app_of(&state, &id_of(&query)?)?;
    Ok(ConfirmDelete {
        nav: Nav::Apps,
        id: app.spec.id.clone(),
        href: app_href(&app.spec.id),
        namespace: app.namespace().unwrap_or_default(),
        kept: kept_data(&app, translation_of(&state, &app).ok().as_ref()),
    })
}

/// `DELETE /v2/apps/{id}` (which defaults to force, as Marathon's does).
async fn delete(
    State(state): State<FacadeState>,
    caller: Caller,
    WriteForm(fields): WriteForm,
) -> Result<Response, UiError> {
    let (id, _) = id_and_force(&fields)?;
    let app = app_of(&state, &id)?;
    state.remove(&app, Request { caller: &caller, what: "deleted" }).await?;
    Ok(Redirect::to("/ui/").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_names_the_data_it_keeps() {
        let spec = crate::marathon::validation::check_app(json!({
            "id": "/db",
            "cmd": "postgres",
            "container": {"type": "MESOS", "volumes": [
                {"containerPath": "pgdata", "mode": "RW", "persistent": {"size": 100}},
                {"containerPath": "/logs", "hostPath": "/var/log/db", "mode": "RW"}
            ]},
            "residency": {"taskLostBehavior": "WAIT_FOREVER"}
        }))
        .unwrap();
        let mut app = MarathonApp::new("db", spec);
        app.metadata.namespace = Some("prod".into());
        let translation = translate(&app, &[], &TranslateOptions::default()).unwrap();
        let kept = kept_data(&app, Some(&translation));
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept[0].starts_with("PersistentVolumeClaims "), "{kept:?}");
        assert!(kept[0].contains("in namespace prod"), "{kept:?}");
        assert_eq!(kept[1], "files under host path /var/log/db on the nodes");
        let plain = MarathonApp::new(
            "web",
            crate::marathon::validation::check_app(json!({"id": "/web", "cmd": "x"})).unwrap(),
        );
        assert!(kept_data(&plain, None).is_empty());
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert_eq!(notice(Some("scaled")), Some("Scaling started."));
        assert_eq!(notice(Some("<script>")), None);
        assert_eq!(notice(None), None);
    }
}
