//! Deployments in progress, each with the roll back `DELETE /v2/deployments/{id}` does.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::super::FacadeState;
use super::super::auth::Caller;
use super::super::deployments::cancel;
use super::super::query::{Query, RestPath};
use super::super::read::valid;
use super::form::WriteForm;
use super::{Nav, UiError, app_href};
use crate::marathon::deployments::current_deployment;

pub fn router() -> Router<FacadeState> {
    Router::new()
        .route("/ui/deployments", get(page))
        .route("/ui/deployments/rollback", post(roll_back))
}

pub struct DeploymentRow {
    pub id: String,
    pub app: String,
    pub href: String,
    pub version: String,
    pub actions: String,
    pub step: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deployments.html")]
struct Page {
    nav: Nav,
    deployments: Vec<DeploymentRow>,
}

fn rows(state: &FacadeState) -> Vec<DeploymentRow> {
    let apps = state.apps();
    apps.iter()
        .filter_map(valid)
        .filter_map(|app| Some((app, current_deployment(app)?)))
        .map(|(app, d)| DeploymentRow {
            app: app.spec.id.clone(),
            href: app_href(&app.spec.id),
            version: d.version.clone().unwrap_or_default(),
            actions: d
                .current_actions
                .iter()
                .flatten()
                .map(|a| a.action.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            step: format!("{} of {}", d.current_step.unwrap_or(1), d.total_steps.unwrap_or(1)),
            id: d.id,
        })
        .collect()
}

async fn page(State(state): State<FacadeState>) -> Page {
    Page { nav: Nav::Deployments, deployments: rows(&state) }
}

/// Rolls the app back to the version before the deployment's (a new deployment).
async fn roll_back(
    State(state): State<FacadeState>,
    caller: Caller,
    WriteForm(fields): WriteForm,
) -> Result<Response, UiError> {
    let id = fields.required("deployment")?.to_owned();
    cancel(State(state), caller, RestPath(id), Query::parse("")).await?;
    Ok(Redirect::to("/ui/deployments").into_response())
}
