//! `import --follow`: mirror a live Marathon. The apps are imported once, then the source's
//! `/v2/events` stream is followed and each change (create, update, scale, delete) is applied
//! to the MarathonApps. The source is only read. After a lost stream the follower reconnects
//! with back-off and re-lists everything, so nothing missed during the gap stays missed.
//!
//! Mirrored apps carry the label [`LABEL_MIRROR`] and the source URL in
//! [`ANNOTATION_SOURCE`]; only those are ever deleted. A group cut over with `cutover`
//! ([`super::cutover`]) is left alone: its MarathonApps are the truth from then on.

use std::collections::BTreeSet;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::app::{App, Batch, check_app};
use super::cluster::{self, Plan};
use super::convert::marathon_app;
use super::cutover::{self, CutOver};
use super::input::Collected;
use super::remote::{Credentials, apps_url};
use crate::crd::MarathonApp;
use crate::marathon::groups::is_below;
use crate::marathon::labels::Selector;
use crate::translate::names::app_name;

/// Field manager of the mirror's applies.
pub const FIELD_MANAGER: &str = "marathon-operator-mirror";
/// Label of every MarathonApp the mirror wrote.
pub const LABEL_MIRROR: &str = "marathon-operator.dev/mirror";
/// The Marathon a mirrored app comes from.
pub const ANNOTATION_SOURCE: &str = "marathon-operator.dev/mirror-source";
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Which of the source's apps are mirrored.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only apps below this group (`/prod`).
    pub group: Option<String>,
    /// Only apps whose Marathon labels match (Marathon's `label=` selector syntax).
    pub labels: Option<Selector>,
}

impl Selection {
    fn selects(
        &self,
        id: &str,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> bool {
        let in_group = self.group.as_deref().is_none_or(|g| is_below(id, g));
        let labelled =
            self.labels.as_ref().is_none_or(|s| s.matches(labels.unwrap_or(&Default::default())));
        in_group && labelled
    }
}

/// Where the mirror reads from and writes to.
#[derive(Clone)]
pub struct Mirror {
    pub client: Client,
    pub namespace: String,
    pub source: String,
    pub credentials: Credentials,
    pub selection: Selection,
}

/// What the follower did, for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub failed: usize,
    pub reconnects: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { created, updated, deleted, failed, reconnects } = self;
        write!(
            f,
            "{created} created, {updated} updated, {deleted} deleted, {failed} failed, {reconnects} reconnect(s)"
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("{url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status { url: String, status: reqwest::StatusCode },
    #[error("the event stream of {0} ended")]
    Ended(String),
    #[error("the event stream broke: {0}")]
    Stream(String),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error("failed to list MarathonApps")]
    List(#[source] kube::Error),
}

/// Mirrors until `shutdown`; `report` gets one line per thing done. Returns the counts.
pub async fn follow(
    mirror: &Mirror,
    shutdown: CancellationToken,
    mut report: impl FnMut(&str),
) -> Counts {
    let mut counts = Counts::default();
    let mut backoff = BACKOFF_START;
    loop {
        let session = follow_once(mirror, &mut counts, &mut report, &mut backoff);
        let error = tokio::select! {
            () = shutdown.cancelled() => return counts,
            result = session => result.err(),
        };
        let reason = error.map(|e| crate::telemetry::error_chain(&e)).unwrap_or_default();
        report(&format!("source lost ({reason}); reconnecting in {backoff:?}"));
        counts.reconnects += 1;
        tokio::select! {
            () = shutdown.cancelled() => return counts,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection: subscribe, re-list, then apply each event until the stream breaks.
async fn follow_once(
    mirror: &Mirror,
    counts: &mut Counts,
    report: &mut impl FnMut(&str),
    backoff: &mut Duration,
) -> Result<(), FollowError> {
    let http = http_client()?;
    // Subscribed before listing: a change between the list and the first event is not lost.
    let url = events_url(&mirror.source);
    let response = authorized(http.get(&url), &mirror.credentials)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|source| FollowError::Http { url: url.clone(), source })?;
    if !response.status().is_success() {
        return Err(FollowError::Status { url, status: response.status() });
    }
    let mut events = response.bytes_stream().eventsource();
    resync(mirror, &http, counts, report).await?;
    *backoff = BACKOFF_START;
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| FollowError::Stream(e.to_string()))?;
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else { continue };
        for id in changed_apps(&event.event, &data) {
            refresh(mirror, &http, &id, counts, report).await;
        }
    }
    Err(FollowError::Ended(mirror.source.clone()))
}

/// The app ids an event says changed: API writes, terminations and deployment plans.
pub fn changed_apps(event_type: &str, data: &Value) -> BTreeSet<String> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match event_type {
        "api_post_event" => data.pointer("/appDefinition/id").and_then(text).into_iter().collect(),
        "app_terminated_event" => data.get("appId").and_then(text).into_iter().collect(),
        "deployment_info" | "deployment_success" | "deployment_failed" => data
            .pointer("/plan/steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|step| step.get("actions").and_then(Value::as_array))
            .flatten()
            .filter_map(|action| action.get("app").and_then(text))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Everything again: apply each selected app, delete mirrored apps the source no longer has.
#[instrument(skip_all)]
async fn resync(
    mirror: &Mirror,
    http: &reqwest::Client,
    counts: &mut Counts,
    report: &mut impl FnMut(&str),
) -> Result<(), FollowError> {
    let body = get_json(http, &apps_url(&mirror.source), &mirror.credentials).await?;
    let mut collected = Collected::default();
    collected.read_value(&mirror.source, body.unwrap_or(Value::Null));
    let batch = Batch::check(collected);
    for error in &batch.errors {
        report(&format!("skipped {error}"));
    }
    let cut = cutover::read(&mirror.client, &mirror.namespace).await;
    let selected: Vec<&App> = batch
        .apps
        .iter()
        .filter(|a| mirror.selection.selects(a.id(), a.spec.labels.as_ref()))
        .collect();
    for app in &selected {
        apply(mirror, app, &cut, counts, report).await;
    }
    let present: BTreeSet<&str> = selected.iter().map(|a| a.id()).collect();
    let api: Api<MarathonApp> = Api::namespaced(mirror.client.clone(), &mirror.namespace);
    let mirrored = api
        .list(&ListParams::default().labels(&format!("{LABEL_MIRROR}=true")))
        .await
        .map_err(FollowError::List)?;
    for resource in mirrored.items {
        let id = resource.spec.id.clone();
        if !present.contains(id.as_str())
            && mirror.selection.group.as_deref().is_none_or(|g| is_below(&id, g))
        {
            delete(mirror, &id, &cut, counts, report).await;
        }
    }
    report(&format!("in sync with {}: {} app(s) selected", mirror.source, selected.len()));
    Ok(())
}

/// Looks at one app of the source again: applies it, or deletes its mirror when it is gone.
async fn refresh(
    mirror: &Mirror,
    http: &reqwest::Client,
    id: &str,
    counts: &mut Counts,
    report: &mut impl FnMut(&str),
) {
    let url = format!("{}/{}", apps_url(&mirror.source), id.trim_start_matches('/'));
    let cut = cutover::read(&mirror.client, &mirror.namespace).await;
    match get_json(http, &url, &mirror.credentials).await {
        Ok(Some(body)) => match check_app(body.get("app").cloned().unwrap_or(body)) {
            Ok(app) if mirror.selection.selects(app.id(), app.spec.labels.as_ref()) => {
                apply(mirror, &app, &cut, counts, report).await;
            }
            Ok(_) => {}
            Err(problems) => {
                counts.failed += 1;
                report(&format!("failed    {id}: {}", problems.join("; ")));
            }
        },
        Ok(None) if mirror.selection.group.as_deref().is_none_or(|g| is_below(id, g)) => {
            delete(mirror, id, &cut, counts, report).await;
        }
        Ok(None) => {}
        Err(error) => {
            counts.failed += 1;
            report(&format!("failed    {id}: {}", crate::telemetry::error_chain(&error)));
        }
    }
}

/// Applies one app unless its group is cut over; reports created/updated.
async fn apply(
    mirror: &Mirror,
    app: &App,
    cut: &CutOver,
    counts: &mut Counts,
    report: &mut impl FnMut(&str),
) {
    if cut.covers(app.id()) {
        return;
    }
    let api: Api<MarathonApp> = Api::namespaced(mirror.client.clone(), &mirror.namespace);
    let outcome = match cluster::plan(&api, app, false).await {
        Ok(Plan::Unchanged) => return,
        Ok(Plan::New) => "created",
        Ok(Plan::Changed(_)) => "updated",
        Err(reason) => {
            counts.failed += 1;
            report(&format!("failed    {} ({}): {reason}", app.id(), app.name));
            return;
        }
    };
    let mut resource = marathon_app(app, None);
    resource.labels_mut().insert(LABEL_MIRROR.into(), "true".into());
    resource.annotations_mut().insert(ANNOTATION_SOURCE.into(), mirror.source.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api.patch(&app.name, &params, &Patch::Apply(&resource)).await {
        Ok(_) if outcome == "created" => counts.created += 1,
        Ok(_) => counts.updated += 1,
        Err(error) => {
            counts.failed += 1;
            report(&format!("failed    {} ({}): {error}", app.id(), app.name));
            return;
        }
    }
    report(&format!("{outcome:<9} {} ({})", app.id(), app.name));
}

/// Deletes the mirror of `id`, only when the mirror wrote it (from this source) and its group
/// is not cut over.
async fn delete(
    mirror: &Mirror,
    id: &str,
    cut: &CutOver,
    counts: &mut Counts,
    report: &mut impl FnMut(&str),
) {
    if cut.covers(id) {
        return;
    }
    let name = app_name(id);
    let api: Api<MarathonApp> = Api::namespaced(mirror.client.clone(), &mirror.namespace);
    let Ok(Some(existing)) = api.get_opt(&name).await else { return };
    let ours = existing.labels().get(LABEL_MIRROR).is_some_and(|v| v == "true")
        && existing.annotations().get(ANNOTATION_SOURCE) == Some(&mirror.source)
        && existing.spec.id == id;
    if !ours || cutover::is_cut_over(&existing) {
        return;
    }
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {
            counts.deleted += 1;
            report(&format!("deleted   {id} ({name})"));
        }
        Err(error) => {
            counts.failed += 1;
            report(&format!("failed    {id} ({name}): {error}"));
        }
    }
}

fn http_client() -> Result<reqwest::Client, FollowError> {
    // No overall timeout: the event stream stays open for as long as the follower runs.
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .build()
        .map_err(FollowError::Client)
}

fn events_url(base: &str) -> String {
    let apps = apps_url(base);
    format!("{}/v2/events", apps.trim_end_matches("/v2/apps"))
}

fn authorized(
    request: reqwest::RequestBuilder,
    credentials: &Credentials,
) -> reqwest::RequestBuilder {
    match credentials {
        Credentials::None => request,
        Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        Credentials::Token(token) => request.header(AUTHORIZATION, format!("token={token}")),
    }
}

/// GETs JSON; `None` on 404 (the app is gone).
async fn get_json(
    http: &reqwest::Client,
    url: &str,
    credentials: &Credentials,
) -> Result<Option<Value>, FollowError> {
    let http_error = |source| FollowError::Http { url: url.to_owned(), source };
    let response = authorized(http.get(url), credentials)
        .header(ACCEPT, "application/json")
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(http_error)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(FollowError::Status { url: url.to_owned(), status });
    }
    response.json().await.map(Some).map_err(http_error)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_name_the_apps_they_change() {
        let post = json!({"appDefinition": {"id": "/shop/web"}});
        assert_eq!(changed_apps("api_post_event", &post), ["/shop/web".to_owned()].into());
        let gone = json!({"appId": "/shop/api"});
        assert_eq!(changed_apps("app_terminated_event", &gone), ["/shop/api".to_owned()].into());
        let plan = json!({"plan": {"steps": [
            {"actions": [{"action": "ScaleApplication", "app": "/a"}]},
            {"actions": [{"action": "StopApplication", "app": "/b"}, {"app": "/a"}]}
        ]}});
        let ids: Vec<String> = changed_apps("deployment_success", &plan).into_iter().collect();
        assert_eq!(ids, ["/a", "/b"]);
        assert!(changed_apps("status_update_event", &post).is_empty());
    }

    #[test]
    fn selection_by_group_and_label() {
        let labels: std::collections::BTreeMap<String, String> =
            [("team".to_owned(), "shop".to_owned())].into();
        let by_group = Selection { group: Some("/shop".into()), labels: None };
        assert!(by_group.selects("/shop/web", None));
        assert!(!by_group.selects("/shopping/web", None));
        let by_label = Selection { group: None, labels: Selector::parse("team==shop").ok() };
        assert!(by_label.selects("/x", Some(&labels)));
        assert!(!by_label.selects("/x", None));
    }

    #[test]
    fn the_event_stream_is_next_to_the_apps() {
        assert_eq!(events_url("http://m:8080/"), "http://m:8080/v2/events");
        assert_eq!(events_url("http://m/service/marathon"), "http://m/service/marathon/v2/events");
    }
}
