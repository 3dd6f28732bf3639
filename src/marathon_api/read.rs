//! The read model: apps, tasks, versions and deployments, from the watch caches. Every fact
//! comes from `crate::marathon`, as it does for the controller's status and the CLI.

use std::sync::Arc;

use crate::marathon::pod::CachedPod;
use crate::marathon::revision::CachedRevision;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kube::ResourceExt;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;
use serde_json::Value;

use super::FacadeState;
use super::error::ApiError;
use crate::crd::MarathonApp;
use crate::marathon::app_json::{AppView, Embed, app_info};
use crate::marathon::deployments::current_deployment;
use crate::marathon::tasks::{Task, tasks_of_pods};
use crate::translate::names::app_name;
use crate::watch::Caches;

/// A cached MarathonApp (only readable ones are ever handed out).
pub type Cached = Arc<DeserializeGuard<MarathonApp>>;

fn id_of(entry: &Cached) -> &str {
    valid(entry).map(|app| app.spec.id.as_str()).unwrap_or_default()
}

/// The app inside a cache entry.
pub fn valid(entry: &Cached) -> Option<&MarathonApp> {
    entry.0.as_ref().ok()
}

impl FacadeState {
    /// The namespace an app id lives in, when the facade may use it.
    pub fn namespace_for(&self, id: &str) -> Result<String, ApiError> {
        let config = self.config();
        let top = id.trim_start_matches('/').split('/').collect::<Vec<_>>();
        let namespace = match top.as_slice() {
            [group, _, ..] if config.namespace_per_group => (*group).to_owned(),
            _ => config.namespace.clone(),
        };
        if !config.watched.is_empty() && !config.watched.contains(&namespace) {
            return Err(ApiError::Forbidden(format!(
                "app {id} would live in namespace {namespace}, which this Marathon API does not manage"
            )));
        }
        Ok(namespace)
    }

    fn scope(&self, namespace: &str) -> Option<&Caches> {
        self.watches().scope_of(namespace)
    }

    /// Every readable app, sorted by id.
    pub fn apps(&self) -> Vec<Cached> {
        let mut apps: Vec<Cached> = self
            .watches()
            .scopes
            .iter()
            .flat_map(|scope| scope.apps.state())
            .filter(|entry| entry.0.is_ok())
            .collect();
        apps.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        apps
    }

    /// The app with Marathon id `id`: first under the name the id derives, else (apps created
    /// with `kubectl` may have any name) by looking at every app.
    pub fn find(&self, id: &str) -> Option<Cached> {
        if let Ok(namespace) = self.namespace_for(id)
            && let Some(scope) = self.scope(&namespace)
        {
            let reference = ObjectRef::new(&app_name(id)).within(&namespace);
            if let Some(entry) = scope.apps.get(&reference)
                && valid(&entry).is_some_and(|a| a.spec.id == id)
            {
                return Some(entry);
            }
        }
        self.watches()
            .scopes
            .iter()
            .flat_map(|scope| scope.apps.state())
            .find(|entry| valid(entry).is_some_and(|a| a.spec.id == id))
    }

    /// The app `id` (a copy of the cached one), or Marathon's 404.
    pub fn require(&self, id: &str) -> Result<MarathonApp, ApiError> {
        self.find(id)
            .as_ref()
            .and_then(valid)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("App '{id}' does not exist")))
    }

    /// The cached pods of an app.
    fn pods_of(&self, app: &MarathonApp) -> Vec<Arc<CachedPod>> {
        let namespace = app.namespace().unwrap_or_default();
        let Some(scope) = self.scope(&namespace) else { return Vec::new() };
        scope.pods_of(&namespace, &app.name_any())
    }

    /// The tasks of an app, oldest first.
    pub fn tasks_of(&self, app: &MarathonApp) -> Vec<Task> {
        tasks_from(app, &self.pods_of(app))
    }

    /// The app's recorded versions (ControllerRevisions), oldest first.
    pub fn history_of(&self, app: &MarathonApp) -> Vec<CachedRevision> {
        let namespace = app.namespace().unwrap_or_default();
        let Some(scope) = self.scope(&namespace) else { return Vec::new() };
        scope.history_of(&namespace, &app.name_any(), &app.uid().unwrap_or_default())
    }

    /// Marathon's `AppInfo` of an app.
    pub fn app_info(&self, app: &MarathonApp, embed: Embed) -> Value {
        info_of(app, &self.tasks_of(app), embed)
    }

    /// Marathon's `AppInfo` of an app as JSON text, rendered again only when the app or one of
    /// its pods changed since the last request with the same `embed`.
    pub fn app_info_json(&self, app: &MarathonApp, embed: Embed) -> Bytes {
        let pods = self.pods_of(app);
        self.rendered().get_or_render(app, &pods, embed, || {
            Bytes::from(info_of(app, &tasks_from(app, &pods), embed).to_string())
        })
    }

    /// `{"<key>": [AppInfo, ...]}` of `apps`, as `GET /v2/apps` answers; renderings of deleted
    /// apps are dropped now and then on the way.
    pub fn app_list_response<'a>(
        &self,
        key: &str,
        apps: impl IntoIterator<Item = &'a MarathonApp>,
        embed: Embed,
    ) -> Response {
        let items: Vec<Bytes> =
            apps.into_iter().map(|app| self.app_info_json(app, embed)).collect();
        if self.rendered().prune_due() {
            let all = self.apps();
            self.rendered().prune(all.iter().filter_map(|e| valid(e)?.metadata.uid.as_deref()));
        }
        let mut body = Vec::with_capacity(items.iter().map(Bytes::len).sum::<usize>() + 64);
        body.extend_from_slice(format!("{{{}:[", Value::from(key)).as_bytes());
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"]}");
        json_response(body)
    }

    /// `{"app": AppInfo}`, as `GET /v2/apps/{id}` answers.
    pub fn app_response(&self, app: &MarathonApp, embed: Embed) -> Response {
        let item = self.app_info_json(app, embed);
        let mut body = Vec::with_capacity(item.len() + 8);
        body.extend_from_slice(b"{\"app\":");
        body.extend_from_slice(&item);
        body.push(b'}');
        json_response(body)
    }
}

fn json_response(body: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn tasks_from(app: &MarathonApp, pods: &[Arc<CachedPod>]) -> Vec<Task> {
    let has_checks = app.spec.health_checks.as_ref().is_some_and(|h| !h.is_empty());
    tasks_of_pods(&app.spec.id, pods.iter().map(AsRef::as_ref), has_checks)
}

fn info_of(app: &MarathonApp, tasks: &[Task], embed: Embed) -> Value {
    let deployments: Vec<String> = current_deployment(app).map(|d| d.id).into_iter().collect();
    let status = app.status.as_ref();
    app_info(
        &AppView {
            spec: &app.spec,
            status,
            version: status.and_then(|s| s.version.as_deref()),
            tasks,
            deployments: &deployments,
            last_task_failure: status.and_then(|s| s.last_task_failure.as_deref()),
        },
        embed,
    )
}
