//! Import, diff and export against a cluster. Library functions taking a `kube::Client` and a
//! namespace; the commands wrap them with progress output.
//!
//! Whether an app would change is decided by a server-side dry-run apply compared with the
//! stored object: the API server applies its defaults (`instances: 1`) and normalises numbers
//! (`1.0` is stored as `1`), so comparing with the local spec would report changes forever.

use futures::{StreamExt, stream};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::app::App;
use super::convert::marathon_app;
use super::jsondiff::{self, Change};
use crate::crd::MarathonApp;

/// Field manager of every apply made by `import`.
pub const FIELD_MANAGER: &str = "marathon-operator-import";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "the MarathonApp CRD is not installed in the cluster \
         (install it with `marathon-operator crdgen | kubectl apply -f -`)"
    )]
    CrdMissing,
    #[error("failed to list MarathonApps")]
    List(#[source] kube::Error),
    #[error("failed to serialize MarathonApp {name}")]
    Serialize {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What applying one app would do (or did).
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// No MarathonApp of that name yet.
    New,
    /// The stored spec is already the applied one.
    Unchanged,
    /// The spec would change: field-level differences, stored -> applied.
    Changed(Vec<Change>),
}

/// The result of importing one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed(String),
}

/// One app's result, in input order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppResult {
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
}

/// Counts of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(results: &[AppResult]) -> Self {
        let mut summary = Self::default();
        for result in results {
            match result.outcome {
                Outcome::Created => summary.created += 1,
                Outcome::Updated => summary.updated += 1,
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Failed(_) => summary.failed += 1,
            }
        }
        summary
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { created, updated, unchanged, failed } = self;
        write!(f, "{created} created, {updated} updated, {unchanged} unchanged, {failed} failed")
    }
}

/// Fails with [`ClusterError::CrdMissing`] when MarathonApps are not served.
pub async fn ensure_served(client: &Client, namespace: Option<&str>) -> Result<(), ClusterError> {
    let api: Api<MarathonApp> = crate::watch::api(client, namespace);
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Err(ClusterError::CrdMissing),
        Err(err) => Err(ClusterError::List(err)),
    }
}

/// What applying `app` would change, without changing anything. With `check_new`, a new app
/// is also validated by the server (so `diff` reports what `import` would reject).
pub async fn plan(api: &Api<MarathonApp>, app: &App, check_new: bool) -> Result<Plan, String> {
    let existing = api.get_opt(&app.name).await.map_err(|err| describe(&err))?;
    let Some(existing) = existing else {
        if check_new {
            dry_run(api, app).await?;
        }
        return Ok(Plan::New);
    };
    if existing.spec.id != app.spec.id {
        return Err(format!(
            "the resource name {} is already used by app {} (two ids derive the same name)",
            app.name, existing.spec.id
        ));
    }
    let applied = dry_run(api, app).await?;
    let before = spec_value(&existing)?;
    let after = spec_value(&applied)?;
    let changes = jsondiff::diff(&before, &after);
    Ok(if changes.is_empty() { Plan::Unchanged } else { Plan::Changed(changes) })
}

/// Plans every app, `concurrency` at a time; results in input order.
pub async fn diff_apps(
    client: &Client,
    namespace: &str,
    apps: &[App],
    concurrency: usize,
) -> Result<Vec<Result<Plan, String>>, ClusterError> {
    ensure_served(client, Some(namespace)).await?;
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    Ok(stream::iter(apps)
        .map(|app| {
            let api = api.clone();
            async move { plan(&api, app, true).await }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await)
}

/// Applies every app as a MarathonApp in `namespace`, `concurrency` at a time, calling
/// `on_result` as each one finishes. Apps whose stored spec is already the same are not
/// applied. Results are in input order.
pub async fn import_apps(
    client: &Client,
    namespace: &str,
    apps: &[App],
    concurrency: usize,
    mut on_result: impl FnMut(&AppResult),
) -> Result<Vec<AppResult>, ClusterError> {
    ensure_served(client, Some(namespace)).await?;
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let mut results: Vec<(usize, AppResult)> = stream::iter(apps.iter().enumerate())
        .map(|(index, app)| {
            let api = api.clone();
            async move {
                let outcome = import_one(&api, app).await.unwrap_or_else(Outcome::Failed);
                (index, AppResult { id: app.spec.id.clone(), name: app.name.clone(), outcome })
            }
        })
        .buffer_unordered(concurrency.max(1))
        .inspect(|(_, result)| on_result(result))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

async fn import_one(api: &Api<MarathonApp>, app: &App) -> Result<Outcome, String> {
    let outcome = match plan(api, app, false).await? {
        Plan::Unchanged => return Ok(Outcome::Unchanged),
        Plan::New => Outcome::Created,
        Plan::Changed(_) => Outcome::Updated,
    };
    apply(api, app, false).await?;
    Ok(outcome)
}

async fn dry_run(api: &Api<MarathonApp>, app: &App) -> Result<MarathonApp, String> {
    apply(api, app, true).await
}

async fn apply(api: &Api<MarathonApp>, app: &App, dry_run: bool) -> Result<MarathonApp, String> {
    // Force: importing states what the spec must be, even over fields another manager set.
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let resource = marathon_app(app, None);
    api.patch(&app.name, &params, &Patch::Apply(&resource)).await.map_err(|err| describe(&err))
}

fn spec_value(resource: &MarathonApp) -> Result<Value, String> {
    serde_json::to_value(&resource.spec)
        .map_err(|err| format!("cannot serialize {}: {err}", resource.name_any()))
}

/// The API server's message (it names the field for validation errors), else the error chain.
fn describe(err: &kube::Error) -> String {
    crate::telemetry::error_chain(err)
}

/// The MarathonApps of `namespace` (every namespace when `None`) as a `/v2/apps` body:
/// `{"apps": [...]}`, sorted by id, each the spec without `spec.kubernetes`.
pub async fn export_apps(client: &Client, namespace: Option<&str>) -> Result<Value, ClusterError> {
    ensure_served(client, namespace).await?;
    let api: Api<MarathonApp> = crate::watch::api(client, namespace);
    let mut resources = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.map_err(ClusterError::List)?;
        resources.extend(page.items);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    resources.sort_by(|a, b| (&a.spec.id, a.namespace()).cmp(&(&b.spec.id, b.namespace())));
    let apps = resources
        .iter()
        .map(|resource| {
            resource
                .spec
                .to_marathon_json()
                .map_err(|source| ClusterError::Serialize { name: resource.name_any(), source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({ "apps": apps }))
}
