//! The web UI: server-rendered pages (askama templates, checked at compile time) over the
//! facade's read model, with vendored htmx for fragments and previews, a small script that
//! refreshes them on the facade's event stream (`live`), and plain CSS, all embedded in the
//! binary. It sits behind the facade's layers (authentication included), and
//! every write goes through the same code the `/v2` API runs, so the UI can do nothing the
//! API refuses.

mod annotate;
mod app;
mod create;
mod deployments;
mod diff;
mod edit;
mod form;
mod list;
mod live;
mod report;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::FacadeState;
use super::error::ApiError;

const HTMX: &str = include_str!("static/htmx.min.js");
const HTMX_LICENSE: &str = include_str!("static/htmx.LICENSE");
const CSS: &str = include_str!("static/ui.css");
const SCRIPT: &str = include_str!("static/ui.js");

pub fn router() -> Router<FacadeState> {
    Router::new()
        // Marathon answers its root with its UI.
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/static/htmx.min.js", get(|| asset(HTMX, "text/javascript; charset=utf-8")))
        .route("/ui/static/htmx.LICENSE", get(|| asset(HTMX_LICENSE, "text/plain; charset=utf-8")))
        .route("/ui/static/ui.css", get(|| asset(CSS, "text/css; charset=utf-8")))
        .route("/ui/static/ui.js", get(|| asset(SCRIPT, "text/javascript; charset=utf-8")))
        .merge(list::router())
        .merge(app::router())
        .merge(create::router())
        .merge(edit::router())
        .merge(live::router())
        .merge(deployments::router())
        .merge(diff::router())
        .merge(report::router())
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Which page the navigation marks as current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Apps,
    New,
    Deployments,
    Report,
}

/// A failed UI request, rendered as a page.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A form POST from another site (the browser would send the stored credentials along).
    #[error("this form was sent from another site; reload the page and try again")]
    CrossSite,
    #[error("{0}")]
    BadForm(String),
    #[error("the page could not be rendered: {0}")]
    Render(#[from] askama::Error),
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Nav,
    status: u16,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = match &self {
            UiError::Api(e) => e.status(),
            UiError::CrossSite => StatusCode::FORBIDDEN,
            UiError::BadForm(_) => StatusCode::BAD_REQUEST,
            UiError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let page = ErrorPage { nav: Nav::Apps, status: status.as_u16(), message: self.to_string() };
        (status, page).into_response()
    }
}

/// Refuses writes whose request another site started: browsers send `Sec-Fetch-Site` and
/// `Origin` on form POSTs, and a cross-site one would otherwise ride on the user's stored
/// Basic credentials.
pub fn same_origin(headers: &HeaderMap) -> Result<(), UiError> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(UiError::CrossSite);
    }
    if let (Some(origin), Some(host)) = (value("origin"), value("host")) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin_host != host {
            return Err(UiError::CrossSite);
        }
    }
    Ok(())
}

impl FacadeState {
    /// Every HostVolume the facade sees (translation resolves host paths with them).
    fn host_volumes(&self) -> Vec<crate::crd::HostVolume> {
        let scopes = &self.watches().scopes;
        scopes
            .iter()
            .flat_map(|s| s.host_volumes.state())
            .filter_map(|v| v.0.as_ref().ok().cloned())
            .collect()
    }
}

/// The parent group of an app id (`/prod/web` is in `/prod`; `/web` in `/`).
pub fn group_of(id: &str) -> &str {
    match id.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &id[..at],
    }
}

/// The link to an app's page.
pub fn app_href(id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/ui/app?id={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn groups_are_the_parent_path() {
        assert_eq!(group_of("/web"), "/");
        assert_eq!(group_of("/prod/web"), "/prod");
        assert_eq!(group_of("/prod/eu/web"), "/prod/eu");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("marathon:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.insert("origin", HeaderValue::from_static("http://marathon:8080"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers).is_ok());
        headers.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(matches!(same_origin(&headers), Err(UiError::CrossSite)));
        headers.insert("origin", HeaderValue::from_static("http://marathon:8080"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(matches!(same_origin(&headers), Err(UiError::CrossSite)));
    }
}
