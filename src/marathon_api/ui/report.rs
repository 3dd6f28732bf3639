//! The migration report: every app with its translation warnings, grouped by kind (the field
//! path with list indices dropped), counts of apps that run unchanged, need review or are
//! refused, as a page and as JSON and CSV downloads.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kube::ResourceExt;
use serde::Serialize;
use serde_json::Value;

use super::super::FacadeState;
use super::super::apps::definition_of;
use super::super::error::ApiError;
use super::form::Fields;
use super::{Nav, UiError, app_href};
use crate::crd::MarathonApp;
use crate::marathon::ids::canonical;
use crate::marathon::validation::{check_app, validate};
use crate::translate::names::app_name;
use crate::translate::{TranslateOptions, Warning, translate};

pub fn router() -> Router<FacadeState> {
    Router::new()
        .route("/ui/report", get(page).post(planned))
        .route("/ui/report.json", get(json))
        .route("/ui/report.csv", get(csv_download))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Translated without a warning.
    Unchanged,
    /// Translated with approximations or untranslated fields.
    NeedsReview,
    /// Not runnable: the stored object is not a valid app, or it cannot be translated.
    Refused,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unchanged => "unchanged",
            Verdict::NeedsReview => "needs review",
            Verdict::Refused => "refused",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AppReport {
    pub id: String,
    pub verdict: Verdict,
    pub warnings: Vec<Warning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One kind of warning: the field (indices dropped) and the apps it concerns.
#[derive(Debug, Serialize)]
pub struct Kind {
    pub field: String,
    pub count: usize,
    pub apps: Vec<String>,
    /// One reason given for it (reasons differ in detail between apps).
    pub example: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub total: usize,
    pub unchanged: usize,
    pub needs_review: usize,
    pub refused: usize,
    pub kinds: Vec<Kind>,
    pub apps: Vec<AppReport>,
}

/// `healthChecks[0].protocol` and `/healthChecks(1)/protocol` are the same kind.
pub fn kind_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' | '(' => {
                skipping = true;
                out.push_str("[]");
            }
            ']' | ')' => skipping = false,
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// The report of one app, or of an object that is not a valid app (`Err(message)`).
pub fn app_report(
    id: String,
    app: Result<&MarathonApp, String>,
    hosts: &[crate::crd::HostVolume],
) -> AppReport {
    let refused = |error: String| AppReport {
        id: id.clone(),
        verdict: Verdict::Refused,
        warnings: vec![],
        error: Some(error),
    };
    let app = match app {
        Ok(app) => app,
        Err(error) => return refused(error),
    };
    let violations = validate(&app.spec);
    if !violations.is_empty() {
        let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return refused(text.join("; "));
    }
    let options = TranslateOptions { namespace: app.namespace(), ..Default::default() };
    match translate(app, hosts, &options) {
        Err(e) => refused(e.to_string()),
        Ok(translation) => {
            let verdict = if translation.warnings.is_empty() {
                Verdict::Unchanged
            } else {
                Verdict::NeedsReview
            };
            AppReport { id, verdict, warnings: translation.warnings, error: None }
        }
    }
}

/// Counts and kinds over the app reports.
pub fn report(apps: Vec<AppReport>) -> Report {
    let count = |v: Verdict| apps.iter().filter(|a| a.verdict == v).count();
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    for app in &apps {
        for warning in &app.warnings {
            let field = kind_of(&warning.path);
            let kind = kinds.entry(field.clone()).or_insert_with(|| Kind {
                field,
                count: 0,
                apps: Vec::new(),
                example: warning.reason.clone(),
            });
            kind.count += 1;
            if !kind.apps.contains(&app.id) {
                kind.apps.push(app.id.clone());
            }
        }
    }
    let mut kinds: Vec<Kind> = kinds.into_values().collect();
    kinds.sort_by(|a, b| b.apps.len().cmp(&a.apps.len()).then(a.field.cmp(&b.field)));
    Report {
        total: apps.len(),
        unchanged: count(Verdict::Unchanged),
        needs_review: count(Verdict::NeedsReview),
        refused: count(Verdict::Refused),
        kinds,
        apps,
    }
}

/// The report over every app the facade sees, invalid stored objects included.
fn estate(state: &FacadeState) -> Report {
    let hosts = state.host_volumes();
    let mut apps = Vec::new();
    for scope in &state.watches().scopes {
        for entry in scope.apps.state() {
            apps.push(match &entry.0 {
                Ok(app) => app_report(app.spec.id.clone(), Ok(app), &hosts),
                Err(invalid) => {
                    let name = invalid.metadata.name.clone().unwrap_or_default();
                    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
                    app_report(
                        format!("{namespace}/{name} (not readable)"),
                        Err(invalid.error.clone()),
                        &hosts,
                    )
                }
            });
        }
    }
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    report(apps)
}

/// The report as CSV: one row per warning (one row for an app without any).
pub fn to_csv(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["app", "verdict", "kind", "field", "reason"])?;
    for app in &report.apps {
        if app.warnings.is_empty() {
            let reason = app.error.as_deref().unwrap_or_default();
            writer.write_record([app.id.as_str(), app.verdict.as_str(), "", "", reason])?;
        }
        for w in &app.warnings {
            let kind = kind_of(&w.path);
            writer.write_record([&app.id, app.verdict.as_str(), &kind, &w.path, &w.reason])?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The app definitions in pasted Marathon JSON: `GET /v2/apps`'s `{"apps": [...]}`,
/// `GET /v2/groups`'s nested groups, a list of apps, or one app.
fn definitions_in(json: &Value, out: &mut Vec<Value>) {
    match json {
        Value::Array(items) => items.iter().for_each(|item| definitions_in(item, out)),
        Value::Object(object) if object.contains_key("apps") || object.contains_key("groups") => {
            for key in ["apps", "groups"] {
                if let Some(inner) = object.get(key) {
                    definitions_in(inner, out);
                }
            }
        }
        other => out.push(other.clone()),
    }
}

/// The report of pasted definitions: each read as `POST /v2/apps` reads it (a refused one is
/// refused here too), then translated as it would be in the namespace it would get.
fn planned_report(state: &FacadeState, text: &str) -> Result<Report, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("Invalid JSON: {e}"))?;
    let mut definitions = Vec::new();
    definitions_in(&json, &mut definitions);
    let hosts = state.host_volumes();
    let mut apps = Vec::new();
    for (at, definition) in definitions.into_iter().enumerate() {
        let id = definition
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("(definition {})", at + 1), |id| canonical(id, "/"));
        let spec = definition_of(definition, None).and_then(|d| Ok(check_app(d)?));
        apps.push(match spec {
            Err(error) => app_report(id, Err(refusal(error)), &hosts),
            Ok(spec) => {
                let mut app = MarathonApp::new(&app_name(&spec.id), spec);
                app.metadata.namespace = state.namespace_for(&id).ok();
                app_report(id, Ok(&app), &hosts)
            }
        });
    }
    Ok(report(apps))
}

fn refusal(error: ApiError) -> String {
    match error {
        ApiError::Invalid(invalid) => {
            let violations: Vec<String> =
                invalid.violations().iter().map(ToString::to_string).collect();
            format!("{invalid}: {}", violations.join("; "))
        }
        other => other.to_string(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
struct Page {
    nav: Nav,
    report: Report,
    /// Pasted definitions the report is about (`None`: the apps in the cluster).
    pasted: Option<String>,
    error: Option<String>,
}

impl Page {
    /// Percent of all apps, for the chart's widths.
    fn share(&self, n: &usize) -> String {
        let total = self.report.total.max(1);
        format!("{:.1}", *n as f64 * 100.0 / total as f64)
    }

    fn href(&self, id: &str) -> String {
        app_href(id)
    }
}

async fn page(State(state): State<FacadeState>) -> Page {
    Page { nav: Nav::Report, report: estate(&state), pasted: None, error: None }
}

/// The report of pasted definitions, as a page or (button `format`) a JSON or CSV download.
async fn planned(State(state): State<FacadeState>, body: Bytes) -> Result<Response, UiError> {
    let fields = Fields::parse(&body);
    let text = fields.required("definitions")?;
    let report = match planned_report(&state, text) {
        Ok(report) => report,
        Err(error) => {
            let page = Page {
                nav: Nav::Report,
                report: Report::default(),
                pasted: Some(text.to_owned()),
                error: Some(error),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match fields.get("format") {
        Some("json") => Ok(json_download(&report)),
        Some("csv") => csv_response(&report),
        _ => Ok(Page { nav: Nav::Report, report, pasted: Some(text.to_owned()), error: None }
            .into_response()),
    }
}

async fn json(State(state): State<FacadeState>) -> Response {
    json_download(&estate(&state))
}

fn json_download(report: &Report) -> Response {
    let headers = [(header::CONTENT_DISPOSITION, "attachment; filename=\"migration-report.json\"")];
    (headers, axum::Json(report)).into_response()
}

async fn csv_download(State(state): State<FacadeState>) -> Result<Response, UiError> {
    csv_response(&estate(&state))
}

fn csv_response(report: &Report) -> Result<Response, UiError> {
    let body = to_csv(report).map_err(|e| {
        ApiError::Unprocessable(format!("the report cannot be written as CSV: {e}"))
    })?;
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"migration-report.csv\""),
    ];
    Ok((headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(path: &str, reason: &str) -> Warning {
        Warning { path: path.into(), reason: reason.into() }
    }

    #[test]
    fn the_page_title_is_the_reports_name_alone() {
        let page = Page { nav: Nav::Report, report: Report::default(), pasted: None, error: None };
        let html = page.render().unwrap();
        assert!(html.contains("<title>Migration report · marathon-operator</title>"), "{html}");
        assert_eq!(html.matches("id=\"plan\"").count(), 1, "one plan form");
    }

    #[test]
    fn definitions_are_found_in_apps_groups_and_lists() {
        let pasted = serde_json::json!({
            "id": "/",
            "apps": [{"id": "/a"}],
            "groups": [{"id": "/g", "apps": [{"id": "/g/b"}], "groups": [{"id": "/g/h", "apps": [{"id": "/g/h/c"}]}]}]
        });
        let mut found = Vec::new();
        definitions_in(&pasted, &mut found);
        let ids: Vec<&str> = found.iter().filter_map(|d| d["id"].as_str()).collect();
        assert_eq!(ids, ["/a", "/g/b", "/g/h/c"]);
        let mut found = Vec::new();
        definitions_in(&serde_json::json!([{"id": "/x"}, {"id": "/y"}]), &mut found);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn kinds_drop_list_indices() {
        assert_eq!(kind_of("healthChecks[0].protocol"), "healthChecks[].protocol");
        assert_eq!(kind_of("/container/volumes(12)/mode"), "/container/volumes[]/mode");
        assert_eq!(kind_of("upgradeStrategy"), "upgradeStrategy");
    }

    #[test]
    fn apps_are_counted_by_verdict_and_warnings_grouped_by_kind() {
        let apps = vec![
            AppReport {
                id: "/a".into(),
                verdict: Verdict::Unchanged,
                warnings: vec![],
                error: None,
            },
            AppReport {
                id: "/b".into(),
                verdict: Verdict::NeedsReview,
                warnings: vec![
                    warning("healthChecks[0].protocol", "COMMAND runs as exec"),
                    warning("healthChecks[1].protocol", "COMMAND runs as exec"),
                ],
                error: None,
            },
            AppReport {
                id: "/c".into(),
                verdict: Verdict::NeedsReview,
                warnings: vec![warning("healthChecks[0].protocol", "x"), warning("fetch", "y")],
                error: None,
            },
            AppReport {
                id: "/d".into(),
                verdict: Verdict::Refused,
                warnings: vec![],
                error: Some("bad, \"id\"".into()),
            },
        ];
        let report = report(apps);
        assert_eq!(
            (report.total, report.unchanged, report.needs_review, report.refused),
            (4, 1, 2, 1)
        );
        assert_eq!(report.kinds[0].field, "healthChecks[].protocol");
        assert_eq!(report.kinds[0].count, 3);
        assert_eq!(report.kinds[0].apps, ["/b", "/c"]);
        assert_eq!(report.kinds[1].field, "fetch");
        let csv = to_csv(&report).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "app,verdict,kind,field,reason");
        assert_eq!(lines[1], "/a,unchanged,,,");
        assert_eq!(
            lines[2],
            "/b,needs review,healthChecks[].protocol,healthChecks[0].protocol,COMMAND runs as exec"
        );
        assert_eq!(lines[6], "/d,refused,,,\"bad, \"\"id\"\"\"");
    }
}
