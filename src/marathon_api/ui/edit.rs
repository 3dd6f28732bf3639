//! Editing an app by pasting its Marathon JSON: the form holds the app's current definition;
//! the check, inline errors and preview are the create page's (`create::check` reading it as
//! a whole-definition `PUT /v2/apps/{id}`), with the fields the new version changes; saving
//! runs the PUT's code (`apps::update` with `updated_spec`), which records a new version.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::super::FacadeState;
use super::super::apps::change_app;
use super::super::auth::Caller;
use super::super::error::ApiError;
use super::super::query::Query;
use super::super::write::Request;
use super::app::{app_of, id_of};
use super::create::{Checked, PastePage, check, not_stored, preview_response};
use super::form::{Fields, WriteForm};
use super::{UiError, app_href};
use crate::marathon::app_json::definition;

pub fn router() -> Router<FacadeState> {
    Router::new()
        .route("/ui/app/edit", get(page).post(submit))
        .route("/ui/app/edit/preview", post(preview))
}

async fn page(State(state): State<FacadeState>, query: Query) -> Result<PastePage, UiError> {
    let app = app_of(&state, &id_of(&query)?)?;
    let current = serde_json::to_string_pretty(&definition(&app.spec))
        .map_err(|e| ApiError::Unprocessable(format!("app cannot be shown: {e}")))?;
    PastePage::new(Some(&app.spec.id), &current, None)
}

/// The app id and the pasted text of an edit form.
fn form_of(body: &Bytes) -> Result<(Fields, String), UiError> {
    let fields = Fields::parse(body);
    let id = crate::marathon::ids::canonical(fields.required("id")?, "/");
    Ok((fields, id))
}

async fn preview(
    State(state): State<FacadeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    let (fields, id) = form_of(&body)?;
    let text = fields.required("definition")?;
    let app = app_of(&state, &id)?;
    preview_response(&headers, Some(&id), text, check(&state, text, Some(&app)))
}

/// Stores the definition as the app's new version, or shows why it was refused.
async fn submit(
    State(state): State<FacadeState>,
    caller: Caller,
    WriteForm(fields): WriteForm,
) -> Result<Response, UiError> {
    let id = crate::marathon::ids::canonical(fields.required("id")?, "/");
    let text = fields.required("definition")?;
    let app = app_of(&state, &id)?;
    let accepted = match check(&state, text, Some(&app)) {
        Checked::Accepted(accepted) => accepted,
        refused => return not_stored(StatusCode::UNPROCESSABLE_ENTITY, Some(&id), text, refused),
    };
    let force = fields.ticked("force");
    let request = Request { caller: &caller, what: "updated" };
    // `PUT /v2/apps/{id}?partialUpdate=false`, applied to the freshest stored app.
    let written = change_app(&state, &id, &accepted.definition, false, force, request).await;
    match written {
        Ok(_) => Ok(Redirect::to(&format!("{}&done=updated", app_href(&id))).into_response()),
        Err(error) => {
            let status = error.status();
            not_stored(status, Some(&id), text, Checked::Failed(error.to_string()))
        }
    }
}
