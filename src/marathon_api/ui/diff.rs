//! Two versions of an app side by side: the fields that differ between their recorded
//! definitions (Marathon replaces top-level fields wholesale, so that is the unit compared).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::Value;

use super::super::FacadeState;
use super::super::error::ApiError;
use super::super::query::Query;
use super::{Nav, UiError, app_href};
use crate::marathon::ids::canonical;
use crate::marathon::versions::spec_of_version;

pub fn router() -> Router<FacadeState> {
    Router::new().route("/ui/app/diff", get(page))
}

/// One field that differs: its value in each version (`None`: absent).
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The top-level fields whose values differ, in the order they first appear.
pub fn field_changes(before: &Value, after: &Value) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let (a, b) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let show = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let mut fields: Vec<&String> = a.keys().collect();
    fields.extend(b.keys().filter(|k| !a.contains_key(*k)));
    fields
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change { field: k.clone(), before: a.get(k).map(show), after: b.get(k).map(show) })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "diff.html")]
struct Page {
    nav: Nav,
    id: String,
    href: String,
    from: String,
    to: String,
    changes: Vec<Change>,
}

async fn page(State(state): State<FacadeState>, query: Query) -> Result<Page, UiError> {
    let missing = |what: &str| UiError::BadForm(format!("no {what} given"));
    let id = canonical(query.get("id").ok_or_else(|| missing("app id"))?, "/");
    let from = query.get("from").ok_or_else(|| missing("version to compare"))?.to_owned();
    let app = &state.require(&id)?;
    let to = match query.get("to") {
        Some(to) => to.to_owned(),
        None => app.status.as_ref().and_then(|s| s.version.clone()).unwrap_or_default(),
    };
    let history = state.history_of(app);
    let spec = |version: &str| {
        spec_of_version(&history, version).ok_or_else(|| {
            UiError::from(ApiError::NotFound(format!(
                "App '{id}' does not exist in version {version}"
            )))
        })
    };
    let changes = field_changes(&spec(&from)?, &spec(&to)?);
    Ok(Page { nav: Nav::Apps, href: app_href(&id), id, from, to, changes })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_differing_fields_are_listed() {
        let before = json!({"id": "/a", "instances": 1, "cmd": "x", "labels": {"a": "1"}});
        let after = json!({"id": "/a", "instances": 2, "cmd": "x", "env": {"E": "1"}});
        let changes = field_changes(&before, &after);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["instances", "labels", "env"]);
        assert_eq!(changes[0].before.as_deref(), Some("1"));
        assert_eq!(changes[0].after.as_deref(), Some("2"));
        assert_eq!(changes[1].after, None);
        assert_eq!(changes[2].before, None);
        assert!(field_changes(&before, &before).is_empty());
    }
}
