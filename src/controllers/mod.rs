//! Controllers: the only writers of workload objects. They depend on `crd`, `translate` and
//! `metrics`, never on `marathon_api`.

mod apply;
mod backoff;
mod cache;
mod crd_install;
pub mod dns;
pub mod error;
pub mod host_volume;
pub mod leader;
pub mod marathon_app;
pub mod memory;
mod resync;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams};
use kube::core::PartialObjectMeta;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use crd_install::{CrdInstallError, install_crds};

use crate::crd::{HostVolume, MarathonApp};
use crate::events::Events;
use crate::metrics::Metrics;
use crate::translate::TranslateOptions;
use crate::watch::{Caches, Watches, api};
use backoff::Backoff;
pub use memory::AppMemory;

/// The single field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "marathon-operator";

/// What the controllers can be told from the command line.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Versions kept per app.
    pub max_revisions: usize,
    /// Reconciles running at once, over all apps.
    pub concurrency: u16,
    pub translate: TranslateOptions,
    /// Names this replica in Events.
    pub instance: Option<String>,
    /// While a rollout runs, an app's status is written at most this often (its end and
    /// steady-state changes are written at once).
    pub status_interval: Duration,
    /// Publish Marathon-era DNS names for CoreDNS (`--dns-configmap`); off when `None`.
    pub dns: Option<dns::DnsConfig>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            max_revisions: 50,
            concurrency: 16,
            translate: TranslateOptions::default(),
            instance: None,
            status_interval: Duration::from_secs(5),
            dns: None,
        }
    }
}

/// Shared by every reconcile of one scope (a watched namespace, or all of them).
pub struct Context {
    pub client: Client,
    pub config: ControllerConfig,
    pub metrics: Arc<Metrics>,
    events: Events,
    caches: Caches,
    children: cache::ChildCaches,
    /// Per-app tables, shared by every scope and released when an app is deleted.
    memory: Arc<memory::AppMemory>,
    /// Failure counts of HostVolumes.
    volume_backoff: Backoff,
}

impl Context {
    /// Releases what is remembered about apps of this scope that no longer exist.
    fn forget_deleted_apps(&self) {
        let scope = self.caches.namespace.as_deref();
        let apps = &self.caches.apps;
        self.memory.retain(&|key| {
            let Some((namespace, name)) = key.split_once('/') else { return false };
            let in_scope = scope.is_none_or(|scope| scope == namespace);
            !in_scope || apps.get(&ObjectRef::new(name).within(namespace)).is_some()
        });
        self.memory.report(&self.metrics);
    }

    /// The app's pods (trimmed; from the watch-fed cache).
    pub fn pods_of(&self, namespace: &str, app_name: &str) -> Vec<crate::marathon::pod::CachedPod> {
        self.caches.pods_of(namespace, app_name).into_iter().map(|p| (*p).clone()).collect()
    }

    /// The readable HostVolumes of `namespace`.
    pub fn host_volumes_in(&self, namespace: &str) -> Vec<HostVolume> {
        self.caches
            .host_volumes
            .state()
            .into_iter()
            .filter(|v| v.namespace().as_deref() == Some(namespace))
            .filter_map(|v| v.0.as_ref().ok().cloned())
            .collect()
    }
}

/// Deletes `name`, treating "already gone" as done.
pub(crate) async fn delete_ignoring_missing<K>(
    api: &Api<K>,
    name: &str,
    kind: &str,
) -> Result<(), error::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => {
            Err(error::Error::Delete { kind: kind.to_owned(), name: name.to_owned(), source })
        }
    }
}

/// One unreadable resource must not stall the others: report it and wait for a fix.
async fn report_unreadable<K>(
    guard: &DeserializeGuard<K>,
    error: &str,
    ctx: &Context,
) -> Result<controller::Action, error::Error>
where
    K: Resource<DynamicType = ()>,
{
    warn!(kind = %K::kind(&()), %error, "resource cannot be read");
    let reference =
        ObjectRef::<K>::new(&guard.name_any()).within(&guard.namespace().unwrap_or_default());
    ctx.events.publish_ref(reference.into(), EventType::Warning, "InvalidObject", error).await;
    Ok(controller::Action::await_change())
}

/// After a failed reconcile: wait for a change when only the user can fix it, else retry
/// with the object's backoff.
fn retry_policy(
    controller_name: &'static str,
    backoff: &Backoff,
    key: &str,
    error: &error::Error,
    metrics: &Metrics,
) -> controller::Action {
    metrics.reconcile.failed(controller_name, error.reason());
    if error.is_permanent() {
        return controller::Action::await_change();
    }
    let delay = backoff.next_delay(key);
    warn!(error = %error.chain(), retry_in = ?delay, "reconcile failed");
    controller::Action::requeue(delay)
}

/// The changes of one kind as a controller trigger. A trigger that fell behind skips what it
/// missed; the periodic resync of every app covers it.
fn changes<K: Send + Sync + 'static>(
    sender: &broadcast::Sender<Arc<K>>,
) -> impl Stream<Item = Arc<K>> + Send + 'static {
    BroadcastStream::new(sender.subscribe())
        .filter_map(|change| futures::future::ready(change.ok()))
}

/// Runs the controllers on the shared watches until `shutdown` is cancelled. `ready` is called
/// once the caches have synced and every app has been queued.
pub async fn run(
    client: Client,
    watches: Watches,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    ready: impl FnOnce() + Send,
) {
    watches.wait_until_ready().await;
    info!("controller caches synced");
    let memory = Arc::new(memory::AppMemory::new(config.status_interval));
    let watches_for_dns = watches.clone();
    let scopes = watches.scopes.into_iter().map(|caches| {
        let ctx = Arc::new(Context {
            client: client.clone(),
            events: Events::new(client.clone(), "marathon-operator", config.instance.clone()),
            metrics: metrics.clone(),
            children: cache::ChildCaches::of(&caches),
            memory: memory.clone(),
            volume_backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            config: config.clone(),
            caches,
        });
        run_scope(ctx, shutdown.clone())
    });
    let all = futures::future::join_all(scopes);
    let names = async {
        if let Some(dns_config) = config.dns.clone() {
            let events = Events::new(client.clone(), "marathon-operator", config.instance.clone());
            dns::run(client.clone(), watches_for_dns, dns_config, events, shutdown.clone()).await;
        }
    };
    ready();
    tokio::join!(all, names);
}

/// The controllers of one scope: MarathonApps (triggered by their children, pods and
/// HostVolumes) and HostVolumes, plus the after-deletion hook.
async fn run_scope(ctx: Arc<Context>, shutdown: CancellationToken) {
    let apps = app_controller(&ctx.caches, &ctx.config, &shutdown)
        .run(marathon_app::reconcile, marathon_app::error_policy, ctx.clone())
        .for_each(log_result);
    let volumes = volume_controller(&ctx.client, &ctx.caches, &ctx.config, &shutdown)
        .run(host_volume::reconcile, host_volume::error_policy, ctx.clone())
        .for_each(log_result);
    let deletions = after_deletions(ctx, shutdown);
    // Both controllers stop on `shutdown` (graceful_shutdown_on), letting reconciles finish.
    tokio::join!(apps, volumes, deletions);
}

fn app_controller(
    caches: &Caches,
    config: &ControllerConfig,
    shutdown: &CancellationToken,
) -> Controller<DeserializeGuard<MarathonApp>> {
    let store = caches.apps.clone();
    let changed = &caches.changes;
    Controller::for_shared_stream(changes(&changed.apps), store.clone())
        // Debounce: the burst of events one change causes (children created, status updated,
        // pods scheduled) becomes one reconcile.
        .with_config(
            controller::Config::default()
                .concurrency(config.concurrency)
                .debounce(Duration::from_millis(200)),
        )
        .watches_shared_stream(changes(&changed.deployments), |d| marathon_app::app_of(&*d))
        .watches_shared_stream(changes(&changed.stateful_sets), |s| marathon_app::app_of(&*s))
        .watches_shared_stream(changes(&changed.services), |s| marathon_app::app_of(&*s))
        .watches_shared_stream(changes(&changed.hpas), |h| marathon_app::app_of(&*h))
        .watches_shared_stream(changes(&changed.ingresses), |i| marathon_app::app_of(&*i))
        .watches_shared_stream(changes(&changed.pods), |pod| marathon_app::app_of(&*pod))
        // A HostVolume appearing or changing can change how the apps of its namespace mount it.
        .watches_shared_stream(
            changes(&changed.host_volumes),
            move |volume: Arc<DeserializeGuard<HostVolume>>| {
                let namespace = volume.namespace();
                store
                    .state()
                    .into_iter()
                    .filter(|app| app.namespace() == namespace)
                    .map(|app| ObjectRef::from(app.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        // The caches are complete before this runs: every app is looked at once on start,
        // then once per resync period, a slice at a time.
        .reconcile_all_on(futures::stream::once(futures::future::ready(())))
        .reconcile_on(resync::trickle(caches.apps.clone(), marathon_app::RESYNC))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
}

fn volume_controller(
    client: &Client,
    caches: &Caches,
    config: &ControllerConfig,
    shutdown: &CancellationToken,
) -> Controller<DeserializeGuard<HostVolume>> {
    let ns = caches.namespace.as_deref();
    let labelled =
        watcher::Config::default().labels(&format!("{}=true", host_volume::LABEL_HOST_VOLUME));
    // Which volume a PV or claim belongs to is all that is read here: metadata is enough.
    let claims = api::<PartialObjectMeta<PersistentVolumeClaim>>(client, ns);
    let claims = watcher(claims, labelled.clone()).default_backoff().touched_objects();
    let pvs = Api::<PartialObjectMeta<PersistentVolume>>::all(client.clone());
    let pvs = watcher(pvs, labelled).default_backoff().touched_objects();
    Controller::for_shared_stream(
        changes(&caches.changes.host_volumes),
        caches.host_volumes.clone(),
    )
    .with_config(controller::Config::default().concurrency(config.concurrency))
    .watches_stream(claims, |claim| host_volume::owner_of(&claim))
    .watches_stream(pvs, |pv| host_volume::owner_of(&pv))
    .reconcile_all_on(futures::stream::once(futures::future::ready(())))
    .graceful_shutdown_on(shutdown.clone().cancelled_owned())
}

/// How often the per-app tables are checked against the apps that exist, for deletions the
/// lossy change stream skipped.
const SWEEP: Duration = Duration::from_secs(60);

/// Runs the after-deletion hook of every app the watch sees deleted, and releases what the
/// controller remembered about it.
async fn after_deletions(ctx: Arc<Context>, shutdown: CancellationToken) {
    let mut deleted = changes(&ctx.caches.changes.deleted_apps).boxed();
    let mut sweep = tokio::time::interval(SWEEP);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sweep.tick() => ctx.forget_deleted_apps(),
            app = deleted.next() => match app {
                Some(app) => {
                    ctx.memory.forget(&memory::key_of(app.as_ref()));
                    ctx.memory.report(&ctx.metrics);
                    if let Err(error) = marathon_app::deleted(&app, &ctx).await {
                        warn!(error = %error.chain(), "after deleting an app");
                    }
                }
                None => return,
            },
        }
    }
}

fn log_result<T, E: std::fmt::Display>(result: Result<T, E>) -> futures::future::Ready<()> {
    if let Err(error) = result {
        warn!(%error, "controller event");
    }
    futures::future::ready(())
}
