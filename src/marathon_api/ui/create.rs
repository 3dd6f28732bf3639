//! Creating an app by pasting its Marathon JSON: the same reading and validation as
//! `POST /v2/apps` (`apps::definition_of`, `check_app`), violations shown at their field, and a
//! preview of the translation warnings and Kubernetes objects before anything is stored. The
//! app page's edit form (`edit.rs`) shares the page, the check and the preview.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kube::ResourceExt;
use serde_json::Value;

use super::super::FacadeState;
use super::super::apps::{create_app, definition_of, updated_spec};
use super::super::auth::Caller;
use super::super::error::ApiError;
use super::annotate::{Line, Placed, annotate, annotate_syntax};
use super::app::objects_yaml;
use super::diff::{Change, field_changes};
use super::form::{Fields, WriteForm};
use super::{Nav, UiError, app_href};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::app_json::definition as app_definition;
use crate::marathon::ids::canonical;
use crate::marathon::validation::{Invalid, Violation, check_app};
use crate::translate::names::app_name;
use crate::translate::{TranslateOptions, Warning, translate};

pub fn router() -> Router<FacadeState> {
    Router::new().route("/ui/new", get(page).post(submit)).route("/ui/new/preview", post(preview))
}

const EXAMPLE: &str = r#"{
  "id": "/examples/hello",
  "cmd": "python3 -m http.server $PORT0",
  "instances": 1,
  "cpus": 0.1,
  "mem": 64,
  "portDefinitions": [{"port": 0, "name": "http"}],
  "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
}"#;

/// A definition that was refused, shown line by line with the errors at their fields.
pub struct Refused {
    pub title: String,
    pub lines: Vec<Line>,
    pub placed: Vec<Placed>,
}

/// A definition that would be accepted: what it becomes.
pub struct Accepted {
    pub id: String,
    pub namespace: String,
    /// The definition as `PUT /v2/apps/{id}` reads it (read-only fields dropped, id set).
    pub definition: Value,
    pub spec: MarathonAppSpec,
    pub warnings: Vec<Warning>,
    pub objects: String,
    /// When editing: the top-level fields the new version changes.
    pub changes: Option<Vec<Change>>,
}

/// The outcome of reading a pasted definition.
pub enum Checked {
    Refused(Refused),
    /// Refused for a reason that has no field (a namespace the facade may not use, ...).
    Failed(String),
    Accepted(Box<Accepted>),
}

fn refused(json: &Value, error: ApiError) -> Checked {
    match error {
        ApiError::Invalid(invalid) => {
            let (lines, placed) = annotate(json, invalid.violations());
            Checked::Refused(Refused { title: invalid.to_string(), lines, placed })
        }
        other => Checked::Failed(other.to_string()),
    }
}

/// Reads `text` as `POST /v2/apps` would (or, when `editing` an app, as a whole-definition
/// `PUT /v2/apps/{id}` would) and, when it is valid, translates it.
pub fn check(state: &FacadeState, text: &str, editing: Option<&MarathonApp>) -> Checked {
    let json: Value = match serde_json::from_str(text) {
        Ok(json) => json,
        Err(e) => {
            let (lines, placed) = annotate_syntax(text, e.line(), &format!("Invalid JSON: {e}"));
            return Checked::Refused(Refused { title: "Invalid JSON".into(), lines, placed });
        }
    };
    let url_id = editing.map(|app| app.spec.id.as_str());
    // The PUT would silently keep the URL's id; the form says so at the field instead.
    if let (Some(id), Some(pasted)) = (url_id, json.get("id").and_then(Value::as_str))
        && canonical(pasted, "/") != id
    {
        let message = format!("the id of {id} cannot be changed; create a new app instead");
        let invalid = Invalid::Rules(vec![Violation::new("/id", message)]);
        return refused(&json, invalid.into());
    }
    let definition = match definition_of(json.clone(), url_id) {
        Ok(definition) => definition,
        Err(e) => return refused(&json, e),
    };
    let spec = match editing {
        None => check_app(definition.clone()).map_err(ApiError::from),
        Some(app) => updated_spec(app, &definition, false),
    };
    match spec.and_then(|spec| preview_of(state, spec, definition.clone(), editing)) {
        Ok(accepted) => Checked::Accepted(Box::new(accepted)),
        Err(e) => refused(&definition, e),
    }
}

/// The translation the controller will make (with the default translation options).
fn preview_of(
    state: &FacadeState,
    spec: MarathonAppSpec,
    definition: Value,
    editing: Option<&MarathonApp>,
) -> Result<Accepted, ApiError> {
    let failed = |e: &dyn std::fmt::Display| ApiError::Unprocessable(e.to_string());
    let app = match editing {
        Some(current) => MarathonApp { spec: spec.clone(), ..current.clone() },
        None => {
            let mut app = MarathonApp::new(&app_name(&spec.id), spec.clone());
            app.metadata.namespace = Some(state.namespace_for(&spec.id)?);
            app
        }
    };
    let namespace = app.namespace().unwrap_or_default();
    let options = TranslateOptions { namespace: Some(namespace.clone()), ..Default::default() };
    let translation = translate(&app, &state.host_volumes(), &options).map_err(|e| failed(&e))?;
    let objects = objects_yaml(&translation).map_err(|e| failed(&e))?;
    let changes = editing
        .map(|current| field_changes(&app_definition(&current.spec), &app_definition(&spec)));
    Ok(Accepted {
        id: spec.id.clone(),
        namespace,
        definition,
        spec,
        warnings: translation.warnings,
        objects,
        changes,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "preview.html")]
pub struct Preview {
    pub refused: Option<Refused>,
    pub failed: Option<String>,
    pub accepted: Option<Box<Accepted>>,
}

impl From<Checked> for Preview {
    fn from(checked: Checked) -> Self {
        let mut preview = Preview { refused: None, failed: None, accepted: None };
        match checked {
            Checked::Refused(refused) => preview.refused = Some(refused),
            Checked::Failed(message) => preview.failed = Some(message),
            Checked::Accepted(accepted) => preview.accepted = Some(accepted),
        }
        preview
    }
}

/// The page where a definition is pasted: for a new app, or for a new version of one.
#[derive(Template, WebTemplate)]
#[template(path = "paste.html")]
pub struct PastePage {
    pub nav: Nav,
    /// The app being edited; `None`: a new app.
    pub editing: Option<String>,
    pub definition: String,
    pub invalid: bool,
    pub preview: String,
}

impl PastePage {
    pub fn new(
        editing: Option<&str>,
        definition: &str,
        preview: Option<Preview>,
    ) -> Result<Self, UiError> {
        let invalid = preview.as_ref().is_some_and(|p| p.refused.is_some() || p.failed.is_some());
        let preview = match preview {
            Some(preview) => preview.render()?,
            None => String::new(),
        };
        Ok(Self {
            nav: if editing.is_some() { Nav::Apps } else { Nav::New },
            editing: editing.map(str::to_owned),
            definition: definition.to_owned(),
            invalid,
            preview,
        })
    }

    fn action(&self) -> &'static str {
        if self.editing.is_some() { "/ui/app/edit" } else { "/ui/new" }
    }

    fn check_action(&self) -> &'static str {
        if self.editing.is_some() { "/ui/app/edit/preview" } else { "/ui/new/preview" }
    }

    fn app_href(&self) -> String {
        self.editing.as_deref().map(app_href).unwrap_or_default()
    }
}

async fn page() -> Result<PastePage, UiError> {
    PastePage::new(None, EXAMPLE, None)
}

/// The preview fragment for htmx, or the whole page when the browser posted the form itself.
pub fn preview_response(
    headers: &HeaderMap,
    editing: Option<&str>,
    text: &str,
    checked: Checked,
) -> Result<Response, UiError> {
    let preview = Preview::from(checked);
    if headers.contains_key("hx-request") {
        return Ok(preview.into_response());
    }
    Ok(PastePage::new(editing, text, Some(preview))?.into_response())
}

async fn preview(
    State(state): State<FacadeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    let fields = Fields::parse(&body);
    let text = fields.required("definition")?;
    preview_response(&headers, None, text, check(&state, text, None))
}

/// The page again, with why the definition was not stored.
pub fn not_stored(
    status: StatusCode,
    editing: Option<&str>,
    text: &str,
    checked: Checked,
) -> Result<Response, UiError> {
    let page = PastePage::new(editing, text, Some(Preview::from(checked)))?;
    Ok((status, page).into_response())
}

/// Creates the app (`POST /v2/apps`'s code) and opens its page, or shows why it was refused.
async fn submit(
    State(state): State<FacadeState>,
    caller: Caller,
    WriteForm(fields): WriteForm,
) -> Result<Response, UiError> {
    let text = fields.required("definition")?;
    let spec = match check(&state, text, None) {
        Checked::Accepted(accepted) => accepted.spec,
        refused => return not_stored(StatusCode::UNPROCESSABLE_ENTITY, None, text, refused),
    };
    let id = spec.id.clone();
    match create_app(&state, spec, &caller).await {
        Ok(_) => Ok(Redirect::to(&format!("{}&done=created", app_href(&id))).into_response()),
        Err(error) => not_stored(error.status(), None, text, Checked::Failed(error.to_string())),
    }
}
