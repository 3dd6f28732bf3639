//! Writes: the facade changes nothing but `MarathonApp` resources, by server-side apply with a
//! field manager of its own. Each write carries the version it announces to the client, waits
//! until the watch cache has seen it (so the client's next read finds it), and is attributed in
//! the log and in an Event on the app.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};
use tracing::info;

use super::FacadeState;
use super::auth::Caller;
use super::error::ApiError;
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::deployments::deployment_id;
use crate::marathon::tasks::ANNOTATION_KILL_TASKS;
use crate::marathon::versions::{ANNOTATION_REQUESTED_VERSION, format_version};
use crate::translate::names::app_name;

/// The field manager of every write the Marathon API makes.
pub const FIELD_MANAGER: &str = "marathon-api";
/// How long a write waits for the watch cache to show it.
const CACHE_WAIT: Duration = Duration::from_secs(5);

/// Marathon's `Marathon-Deployment-Id` header.
pub const DEPLOYMENT_HEADER: HeaderName = HeaderName::from_static("marathon-deployment-id");

/// A stored write: the app as stored and the Marathon deployment it started.
pub struct Written {
    pub app: MarathonApp,
    pub deployment_id: String,
    pub version: String,
    /// The spec changed (a no-op write starts no rollout).
    pub changed: bool,
}

impl Written {
    /// Marathon's deployment result: `{deploymentId, version}` and the header.
    pub fn result(&self, status: StatusCode) -> Response {
        let body = json!({"deploymentId": self.deployment_id, "version": self.version});
        with_deployment_header(&self.deployment_id, (status, axum::Json(body)).into_response())
    }
}

pub fn with_deployment_header(id: &str, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(DEPLOYMENT_HEADER, value);
    }
    response
}

/// `response` with the `Location` of what it created (an app's or a group's id).
pub fn with_location(path: &str, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(path) {
        response.headers_mut().insert(axum::http::header::LOCATION, value);
    }
    response
}

/// What a write stores: the spec and the annotations the facade sets with it.
pub struct Desired {
    pub spec: MarathonAppSpec,
    pub annotations: BTreeMap<String, String>,
}

impl From<MarathonAppSpec> for Desired {
    fn from(spec: MarathonAppSpec) -> Self {
        Self { spec, annotations: BTreeMap::new() }
    }
}

impl Desired {
    pub fn with(mut self, key: &str, value: String) -> Self {
        self.annotations.insert(key.to_owned(), value);
        self
    }
}

/// Annotations the facade owns that a later write must keep until the controller has acted
/// on them (server-side apply would otherwise remove what a write leaves out).
/// The group settings stay with the app through app writes (only group writes change them).
const CARRIED_ANNOTATIONS: [&str; 2] =
    [ANNOTATION_KILL_TASKS, crate::marathon::groups::ANNOTATION_GROUP_SETTINGS];

/// The apps being created by this replica (see [`FacadeState::store`]).
#[derive(Default)]
pub struct Creating(Arc<Mutex<HashSet<String>>>);

/// Held while one app is created; releases the id when dropped.
pub struct CreationClaim {
    creating: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Creating {
    /// Claims `namespace/name` for a create, or `None` when another request is creating it.
    fn claim(&self, namespace: &str, name: &str) -> Option<CreationClaim> {
        let key = format!("{namespace}/{name}");
        let mut ids = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        ids.insert(key.clone()).then(|| CreationClaim { creating: Arc::clone(&self.0), key })
    }
}

impl Drop for CreationClaim {
    fn drop(&mut self) {
        self.creating.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.key);
    }
}

/// Who asked for a write, for the log and the Event.
pub struct Request<'a> {
    pub caller: &'a Caller,
    pub what: &'a str,
}

impl FacadeState {
    /// Stores `spec` as the app `base` (or as a new app when `base` is `None`). With `base`,
    /// the write is conditional on its resourceVersion: a concurrent writer makes it fail with
    /// a conflict instead of mixing two definitions.
    pub async fn store(
        &self,
        desired: Desired,
        base: Option<&MarathonApp>,
        request: Request<'_>,
    ) -> Result<Written, ApiError> {
        let Desired { spec, mut annotations } = desired;
        for key in CARRIED_ANNOTATIONS {
            if let Some(value) = base.and_then(|app| app.annotations().get(key)) {
                annotations.entry(key.to_owned()).or_insert_with(|| value.clone());
            }
        }
        let (namespace, name) = match base {
            Some(app) => (app.namespace().unwrap_or_default(), app.name_any()),
            None => (self.namespace_for(&spec.id)?, app_name(&spec.id)),
        };
        let _claim = match base {
            Some(_) => None,
            None => Some(self.claim_new(&namespace, &name, &spec.id)?),
        };
        let version = format_version(Timestamp::now());
        annotations.insert(ANNOTATION_REQUESTED_VERSION.to_owned(), version.clone());
        let mut metadata =
            json!({ "name": name, "namespace": namespace, "annotations": annotations });
        if let Some(rv) = base.and_then(|app| app.resource_version()) {
            metadata["resourceVersion"] = json!(rv);
        }
        let object = json!({
            "apiVersion": "marathon-operator.dev/v1alpha1",
            "kind": "MarathonApp",
            "metadata": metadata,
            "spec": spec,
        });
        let api: Api<MarathonApp> = Api::namespaced(self.client().clone(), &namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let stored = api
            .patch(&name, &params, &Patch::Apply(&object))
            .await
            .map_err(|e| ApiError::from_kube(&format!("storing app {}", spec.id), e))?;
        let generation = stored.metadata.generation.unwrap_or_default();
        let changed = base.is_none_or(|b| b.metadata.generation != stored.metadata.generation);
        let version = if changed {
            version
        } else {
            stored.status.as_ref().and_then(|s| s.version.clone()).unwrap_or(version)
        };
        self.await_cached(&namespace, &name, |cached| {
            cached.is_some_and(|app| app.metadata.generation >= stored.metadata.generation)
        })
        .await;
        self.attribute(&stored, &request).await;
        let deployment_id = deployment_id(&stored.uid().unwrap_or_default(), generation);
        Ok(Written { app: stored, deployment_id, version, changed })
    }

    /// Claims a new app's name for this create. Server-side apply cannot express "create only",
    /// so two creates of one id are serialised here, and the second finds the first in the
    /// cache (the first waits for the cache before it releases the claim). Creates of one id
    /// through two replicas in the same instant are not serialised (see README).
    fn claim_new(&self, namespace: &str, name: &str, id: &str) -> Result<CreationClaim, ApiError> {
        let exists = || ApiError::Conflict(format!("An app with id [{id}] already exists."));
        let claim = self.creating().claim(namespace, name).ok_or_else(exists)?;
        let cached = self
            .watches()
            .scope_of(namespace)
            .and_then(|scope| scope.apps.get(&ObjectRef::new(name).within(namespace)));
        match cached {
            Some(_) => Err(exists()),
            None => Ok(claim),
        }
    }

    /// Deletes the app (only the one the caller saw: its uid is a precondition).
    pub async fn remove(
        &self,
        app: &MarathonApp,
        request: Request<'_>,
    ) -> Result<Written, ApiError> {
        let namespace = app.namespace().unwrap_or_default();
        let api: Api<MarathonApp> = Api::namespaced(self.client().clone(), &namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: app.uid(), resource_version: None }),
            ..DeleteParams::background()
        };
        api.delete(&app.name_any(), &params)
            .await
            .map_err(|e| ApiError::from_kube(&format!("deleting app {}", app.spec.id), e))?;
        self.attribute(app, &request).await;
        self.await_cached(&namespace, &app.name_any(), |cached| cached.is_none()).await;
        let generation = app.metadata.generation.unwrap_or_default() + 1;
        Ok(Written {
            app: app.clone(),
            deployment_id: deployment_id(&app.uid().unwrap_or_default(), generation),
            version: format_version(Timestamp::now()),
            changed: true,
        })
    }

    /// Reads the app `id` from the API server (not the cache): a write that lost a race reads
    /// the winner's version before trying again.
    pub async fn fresh(&self, app: &MarathonApp) -> Result<MarathonApp, ApiError> {
        let api: Api<MarathonApp> =
            Api::namespaced(self.client().clone(), &app.namespace().unwrap_or_default());
        api.get(&app.name_any())
            .await
            .map_err(|e| ApiError::from_kube(&format!("reading app {}", app.spec.id), e))
    }

    /// Waits (briefly) until the cached app satisfies `done`, so a client that reads right
    /// after its write sees it.
    async fn await_cached(
        &self,
        namespace: &str,
        name: &str,
        done: impl Fn(Option<&MarathonApp>) -> bool,
    ) {
        let Some(scope) = self.watches().scope_of(namespace) else { return };
        let reference = ObjectRef::new(name).within(namespace);
        let deadline = tokio::time::Instant::now() + CACHE_WAIT;
        while tokio::time::Instant::now() < deadline {
            let cached = scope.apps.get(&reference);
            if done(cached.as_ref().and_then(|c| c.0.as_ref().ok())) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn attribute(&self, app: &MarathonApp, request: &Request<'_>) {
        let note = format!("{} by {} through the Marathon API", request.what, request.caller.0);
        info!(app = %app.spec.id, caller = %request.caller.0, what = request.what, "Marathon API write");
        self.events().publish(app, EventType::Normal, "MarathonApiWrite", &note).await;
    }
}

/// Merges a partial Marathon update into a definition: each top-level field of `update`
/// replaces the stored one wholesale (Marathon does not merge deeply); `null` clears it.
pub fn merge(current: &MarathonAppSpec, update: &Value) -> Result<Value, ApiError> {
    let mut merged = serde_json::to_value(current)
        .map_err(|e| ApiError::Unprocessable(format!("stored app cannot be read: {e}")))?;
    if let (Some(target), Some(fields)) = (merged.as_object_mut(), update.as_object()) {
        for (key, value) in fields {
            if value.is_null() {
                target.remove(key);
            } else {
                target.insert(key.clone(), value.clone());
            }
        }
        // Marathon clears these when an update leaves them out.
        for cleared in ["executorResources", "resourceLimits"] {
            if !fields.contains_key(cleared) {
                target.remove(cleared);
            }
        }
    }
    Ok(merged)
}
