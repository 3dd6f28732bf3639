//! The app list: every app grouped by its Marathon group, filtered by text or label, its
//! table fragment fetched again (with the filter as typed) whenever the apps change
//! (`live.rs`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::super::FacadeState;
use super::super::query::Query;
use super::super::read::valid;
use super::{Nav, UiError, app_href, group_of};
use crate::crd::MarathonApp;
use crate::marathon::deployments::current_deployment;
use crate::marathon::tasks::task_counts;

pub fn router() -> Router<FacadeState> {
    Router::new().route("/ui/", get(page)).route("/ui/apps/table", get(table))
}

/// One app's line in the list.
pub struct AppRow {
    pub id: String,
    pub href: String,
    pub instances: i32,
    pub running: i32,
    pub healthy: i32,
    pub unhealthy: i32,
    pub staged: i32,
    /// Whether the app declares health checks (without, no task is ever counted healthy).
    pub checked: bool,
    pub version: String,
    pub deploying: bool,
    /// Translation warnings and untranslated fields from the app's status.
    pub warnings: Vec<String>,
}

impl AppRow {
    pub fn of(state: &FacadeState, app: &MarathonApp) -> Self {
        let counts = task_counts(&state.tasks_of(app));
        let status = app.status.as_ref();
        let mut warnings = status.and_then(|s| s.warnings.clone()).unwrap_or_default();
        let untranslated = status.and_then(|s| s.untranslated.clone()).unwrap_or_default();
        warnings.extend(untranslated.into_iter().map(|path| format!("{path}: not translated")));
        Self {
            id: app.spec.id.clone(),
            href: app_href(&app.spec.id),
            instances: app.spec.instances.unwrap_or(1),
            running: counts.running,
            healthy: counts.healthy,
            unhealthy: counts.unhealthy,
            staged: counts.staged,
            checked: app.spec.health_checks.as_ref().is_some_and(|checks| !checks.is_empty()),
            version: status.and_then(|s| s.version.clone()).unwrap_or_default(),
            deploying: current_deployment(app).is_some(),
            warnings,
        }
    }
}

/// The apps of one group.
pub struct Group {
    pub path: String,
    pub apps: Vec<AppRow>,
}

/// Whether the app matches the filter text: its id, command, image or a `key=value` label.
fn matches(app: &MarathonApp, filter: &str) -> bool {
    let filter = filter.trim().to_lowercase();
    if filter.is_empty() {
        return true;
    }
    let spec = &app.spec;
    let image = spec.container.as_ref().and_then(|c| c.docker.as_ref()).map(|d| d.image.as_str());
    let labels = spec.labels.iter().flatten().map(|(k, v)| format!("{k}={v}"));
    [Some(spec.id.clone()), spec.cmd.clone(), image.map(str::to_owned)]
        .into_iter()
        .flatten()
        .chain(labels)
        .any(|text| text.to_lowercase().contains(&filter))
}

/// The apps matching `filter`, grouped by group path (apps are sorted by id, so groups are
/// too).
pub fn groups(state: &FacadeState, filter: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for entry in state.apps() {
        let Some(app) = valid(&entry).filter(|app| matches(app, filter)) else { continue };
        let row = AppRow::of(state, app);
        let path = group_of(&row.id).to_owned();
        match groups.iter_mut().find(|g| g.path == path) {
            Some(group) => group.apps.push(row),
            None => groups.push(Group { path, apps: vec![row] }),
        }
    }
    groups.sort_by(|a, b| a.path.cmp(&b.path));
    groups
}

#[derive(Template, WebTemplate)]
#[template(path = "apps_table.html")]
struct Table {
    groups: Vec<Group>,
    filter: String,
    total: usize,
}

impl Table {
    fn new(state: &FacadeState, filter: &str) -> Self {
        let groups = groups(state, filter);
        let total = groups.iter().map(|g| g.apps.len()).sum();
        Self { groups, filter: filter.to_owned(), total }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "apps.html")]
struct Page {
    nav: Nav,
    filter: String,
    table: String,
}

async fn page(State(state): State<FacadeState>, query: Query) -> Result<Page, UiError> {
    let filter = query.get("filter").unwrap_or_default();
    let table = Table::new(&state, filter).render()?;
    Ok(Page { nav: Nav::Apps, filter: filter.to_owned(), table })
}

async fn table(State(state): State<FacadeState>, query: Query) -> Table {
    Table::new(&state, query.get("filter").unwrap_or_default())
}
