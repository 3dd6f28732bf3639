//! Creating an app by pasting its Marathon JSON: the same reading and validation as
//! `POST /v2/apps` (`apps::definition_of`, `check_app`), violations shown at their field, and a
//! preview of the translation warnings and Kubernetes objects before anything is stored.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::super::FacadeState;
use super::super::apps::{create_app, definition_of};
use super::super::auth::Caller;
use super::super::error::ApiError;
use super::annotate::{Line, Placed, annotate, annotate_syntax};
use super::form::Fields;
use super::{Nav, UiError, app_href, same_origin};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::validation::check_app;
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
    pub warnings: Vec<Warning>,
    pub objects: String,
}

/// The outcome of reading a pasted definition.
pub enum Checked {
    Refused(Refused),
    /// Refused for a reason that has no field (a namespace the facade may not use, ...).
    Failed(String),
    Accepted(Box<MarathonAppSpec>, Accepted),
}

/// Reads `text` as `POST /v2/apps` would and, when it is valid, translates it.
pub fn check(state: &FacadeState, text: &str) -> Checked {
    let json: Value = match serde_json::from_str(text) {
        Ok(json) => json,
        Err(e) => {
            let (lines, placed) = annotate_syntax(text, e.line(), &format!("Invalid JSON: {e}"));
            return Checked::Refused(Refused { title: "Invalid JSON".into(), lines, placed });
        }
    };
    let refused = |json: &Value, error: ApiError| match error {
        ApiError::Invalid(invalid) => {
            let (lines, placed) = annotate(json, invalid.violations());
            Checked::Refused(Refused { title: invalid.to_string(), lines, placed })
        }
        other => Checked::Failed(other.to_string()),
    };
    let definition = match definition_of(json.clone(), None) {
        Ok(definition) => definition,
        Err(e) => return refused(&json, e),
    };
    let spec = match check_app(definition.clone()) {
        Ok(spec) => spec,
        Err(invalid) => return refused(&definition, invalid.into()),
    };
    match preview_of(state, &spec) {
        Ok(accepted) => Checked::Accepted(Box::new(spec), accepted),
        Err(message) => Checked::Failed(message),
    }
}

/// The translation the controller will make (with the default translation options).
fn preview_of(state: &FacadeState, spec: &MarathonAppSpec) -> Result<Accepted, String> {
    let namespace = state.namespace_for(&spec.id).map_err(|e| e.to_string())?;
    let app = MarathonApp::new(&app_name(&spec.id), spec.clone());
    let options = TranslateOptions { namespace: Some(namespace.clone()), ..Default::default() };
    let translation =
        translate(&app, &state.host_volumes(), &options).map_err(|e| e.to_string())?;
    let objects = translation.objects.to_values().map_err(|e| e.to_string())?;
    let objects = objects
        .iter()
        .map(serde_norway::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?
        .join("---\n");
    Ok(Accepted { id: spec.id.clone(), namespace, warnings: translation.warnings, objects })
}

#[derive(Template, WebTemplate)]
#[template(path = "preview.html")]
pub struct Preview {
    pub refused: Option<Refused>,
    pub failed: Option<String>,
    pub accepted: Option<Accepted>,
}

impl From<Checked> for Preview {
    fn from(checked: Checked) -> Self {
        let mut preview = Preview { refused: None, failed: None, accepted: None };
        match checked {
            Checked::Refused(refused) => preview.refused = Some(refused),
            Checked::Failed(message) => preview.failed = Some(message),
            Checked::Accepted(_, accepted) => preview.accepted = Some(accepted),
        }
        preview
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "new.html")]
struct Page {
    nav: Nav,
    definition: String,
    invalid: bool,
    preview: String,
}

impl Page {
    fn new(definition: &str, preview: Option<Preview>) -> Result<Self, UiError> {
        let invalid = preview.as_ref().is_some_and(|p| p.refused.is_some() || p.failed.is_some());
        let preview = match preview {
            Some(preview) => preview.render()?,
            None => String::new(),
        };
        Ok(Self { nav: Nav::New, definition: definition.to_owned(), invalid, preview })
    }
}

async fn page() -> Result<Page, UiError> {
    Page::new(EXAMPLE, None)
}

/// The preview fragment for htmx, or the whole page when the browser posted the form itself.
async fn preview(
    State(state): State<FacadeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    let fields = Fields::parse(&body);
    let text = fields.required("definition")?;
    let preview = Preview::from(check(&state, text));
    if headers.contains_key("hx-request") {
        return Ok(preview.into_response());
    }
    Ok(Page::new(text, Some(preview))?.into_response())
}

/// Creates the app (`POST /v2/apps`'s code) and opens its page, or shows why it was refused.
async fn submit(
    State(state): State<FacadeState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    same_origin(&headers)?;
    let fields = Fields::parse(&body);
    let text = fields.required("definition")?;
    let spec = match check(&state, text) {
        Checked::Accepted(spec, _) => *spec,
        refused => {
            let page = Page::new(text, Some(Preview::from(refused)))?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let id = spec.id.clone();
    match create_app(&state, spec, &caller).await {
        Ok(_) => Ok(Redirect::to(&format!("{}&done=created", app_href(&id))).into_response()),
        Err(error) => {
            let status = error.status();
            let preview = Preview::from(Checked::Failed(error.to_string()));
            Ok((status, Page::new(text, Some(preview))?).into_response())
        }
    }
}
