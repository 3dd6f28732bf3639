//! Controllers: the only writers of workload objects. They depend on `crd`, `translate` and
//! `metrics`, never on `marathon_api`.

mod apply;
mod backoff;
mod cache;
mod crd_install;
pub mod error;
mod events;
pub mod host_volume;
pub mod leader;
pub mod marathon_app;

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use crd_install::{CrdInstallError, install_crds};

use crate::crd::{HostVolume, MarathonApp};
use crate::metrics::Metrics;
use crate::translate::{TranslateOptions, names};
use backoff::Backoff;
use events::Events;

/// The single field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "marathon-operator";

/// What the controllers can be told from the command line.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Watch only this namespace (all when `None`).
    pub namespace: Option<String>,
    /// Versions kept per app.
    pub max_revisions: usize,
    /// Reconciles running at once, over all apps.
    pub concurrency: u16,
    pub translate: TranslateOptions,
    /// Names this replica in Events.
    pub instance: Option<String>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            namespace: None,
            max_revisions: 50,
            concurrency: 16,
            translate: TranslateOptions::default(),
            instance: None,
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub config: ControllerConfig,
    pub metrics: Arc<Metrics>,
    events: Events,
    backoff: Backoff,
    pods: Store<Pod>,
    host_volumes: Store<HostVolume>,
    children: cache::ChildCaches,
    applied: cache::AppliedMemory,
    /// The versions last recorded per app uid, with the fingerprint of the spec they are for.
    versions: std::sync::Mutex<
        std::collections::HashMap<String, (u64, marathon_app::versions::Versions)>,
    >,
}

impl Context {
    /// The app's pods (trimmed; from the watch-fed cache).
    pub fn pods_of(&self, namespace: &str, app_name: &str) -> Vec<Pod> {
        self.pods
            .state()
            .into_iter()
            .filter(|p| {
                p.namespace().as_deref() == Some(namespace)
                    && p.labels().get(names::LABEL_APP).map(String::as_str) == Some(app_name)
            })
            .map(|p| (*p).clone())
            .collect()
    }

    pub fn host_volumes_in(&self, namespace: &str) -> Vec<HostVolume> {
        self.host_volumes
            .state()
            .into_iter()
            .filter(|v| v.namespace().as_deref() == Some(namespace))
            .map(|v| (*v).clone())
            .collect()
    }
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), marked with `...` when cut:
/// Event notes and condition messages have size limits.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

fn drop_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
}

/// Keeps only what status needs of a pod: the cache then costs a fraction of full objects.
fn trim_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    pod.metadata.annotations = None;
    if let Some(spec) = pod.spec.as_mut() {
        *spec = k8s_openapi::api::core::v1::PodSpec {
            node_name: spec.node_name.take(),
            ..Default::default()
        };
    }
    if let Some(status) = pod.status.as_mut() {
        status.init_container_statuses = None;
        status.ephemeral_container_statuses = None;
        for container in status.container_statuses.iter_mut().flatten() {
            container.image_id = String::new();
            container.container_id = None;
        }
    }
}

/// Runs the controllers until `shutdown` is cancelled. `ready` is called once their caches
/// have synced.
pub async fn run(
    client: Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    ready: impl FnOnce() + Send,
) {
    let namespace = config.namespace.clone();
    let ns = namespace.as_deref();
    let managed = watcher::Config::default().labels(&format!(
        "{}={}",
        names::LABEL_MANAGED_BY,
        names::MANAGER
    ));
    let host_volume_objects =
        watcher::Config::default().labels(&format!("{}=true", host_volume::LABEL_HOST_VOLUME));

    let (pods, pod_writer) = reflector::store();
    let pod_stream = reflector::reflector(
        pod_writer,
        watcher(api::<Pod>(&client, ns), managed.clone()).modify(trim_pod),
    )
    .touched_objects();
    let (host_volumes, volume_writer) = reflector::store();
    let volume_stream = reflector::reflector(
        volume_writer,
        watcher(api::<HostVolume>(&client, ns), watcher::Config::default()),
    )
    .touched_objects();

    // Children: metadata only, except the workloads' status (trimmed of their pod template).
    let (deployments, writer) = reflector::store();
    let deployment_stream = reflector::reflector(
        writer,
        watcher(api::<Deployment>(&client, ns), managed.clone()).modify(cache::trim_deployment),
    )
    .touched_objects();
    let (stateful_sets, writer) = reflector::store();
    let stateful_set_stream = reflector::reflector(
        writer,
        watcher(api::<StatefulSet>(&client, ns), managed.clone()).modify(cache::trim_stateful_set),
    )
    .touched_objects();
    let (services, writer) = reflector::store();
    let service_stream = reflector::reflector(
        writer,
        watcher(api::<PartialObjectMeta<Service>>(&client, ns), managed.clone())
            .modify(drop_managed_fields),
    )
    .touched_objects();
    let (hpas, writer) = reflector::store();
    let hpa_stream = reflector::reflector(
        writer,
        watcher(api::<PartialObjectMeta<HorizontalPodAutoscaler>>(&client, ns), managed.clone())
            .modify(drop_managed_fields),
    )
    .touched_objects();
    let (ingresses, writer) = reflector::store();
    let ingress_stream = reflector::reflector(
        writer,
        watcher(api::<PartialObjectMeta<Ingress>>(&client, ns), managed.clone())
            .modify(drop_managed_fields),
    )
    .touched_objects();
    let children = cache::ChildCaches {
        deployments: deployments.clone(),
        stateful_sets: stateful_sets.clone(),
        services: services.clone(),
        hpas: hpas.clone(),
        ingresses: ingresses.clone(),
    };

    let ctx = Arc::new(Context {
        client: client.clone(),
        events: Events::new(client.clone(), config.instance.clone()),
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
        metrics,
        pods: pods.clone(),
        host_volumes: host_volumes.clone(),
        children,
        applied: cache::AppliedMemory::default(),
        versions: Default::default(),
        config: config.clone(),
    });

    // The apps' cache drops managedFields (often the larger part of an object); children are
    // watched as metadata only: the controller needs their owner, not their body.
    let (app_cache, app_writer) = reflector::store();
    let (deleted_tx, mut deleted_rx) = tokio::sync::mpsc::unbounded_channel::<MarathonApp>();
    let app_stream = reflector::reflector(
        app_writer,
        watcher(api::<DeserializeGuard<MarathonApp>>(&client, ns), watcher::Config::default())
            .modify(|app| app.meta_mut().managed_fields = None),
    )
    .inspect_ok(move |event| {
        if let watcher::Event::Delete(DeserializeGuard(Ok(app))) = event {
            let _ = deleted_tx.send(app.clone());
        }
    })
    .touched_objects();
    let apps = Controller::for_stream(app_stream, app_cache)
        // Debounce: the burst of events one change causes (children created, status updated,
        // pods scheduled) becomes one reconcile.
        .with_config(
            controller::Config::default()
                .concurrency(config.concurrency)
                .debounce(Duration::from_millis(200)),
        )
        .owns_stream(deployment_stream)
        .owns_stream(stateful_set_stream)
        .owns_stream(service_stream)
        .owns_stream(hpa_stream)
        .owns_stream(ingress_stream)
        .watches_stream(pod_stream, |pod| marathon_app::app_of_pod(&pod))
        .graceful_shutdown_on(shutdown.clone().cancelled_owned());

    let app_store = apps.store();
    // A HostVolume appearing or changing can change how the apps of its namespace mount it.
    let apps = apps.watches_stream(volume_stream, {
        let app_store = app_store.clone();
        move |volume: HostVolume| {
            let namespace = volume.namespace();
            app_store
                .state()
                .into_iter()
                .filter(|app| app.namespace() == namespace)
                .map(|app| ObjectRef::from(app.as_ref()))
                .collect::<Vec<_>>()
        }
    });

    let volumes = Controller::new(api::<HostVolume>(&client, ns), watcher::Config::default())
        .with_config(controller::Config::default().concurrency(config.concurrency))
        .watches(
            api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(&client, ns),
            host_volume_objects.clone(),
            |claim| host_volume::owner_of(&claim),
        )
        .watches(
            Api::<k8s_openapi::api::core::v1::PersistentVolume>::all(client.clone()),
            host_volume_objects,
            |pv| host_volume::owner_of(&pv),
        )
        .graceful_shutdown_on(shutdown.clone().cancelled_owned());

    let wait_ready = async move {
        let synced = futures::join!(
            app_store.wait_until_ready(),
            pods.wait_until_ready(),
            host_volumes.wait_until_ready(),
            deployments.wait_until_ready(),
            stateful_sets.wait_until_ready(),
            services.wait_until_ready(),
            hpas.wait_until_ready(),
            ingresses.wait_until_ready(),
        );
        if matches!(synced, (Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()), Ok(()))) {
            info!("controller caches synced");
            ready();
        }
    };
    let ctx_for_deletions = ctx.clone();
    let run_apps = apps
        .run(marathon_app::reconcile, marathon_app::error_policy, ctx.clone())
        .for_each(log_result);
    let run_volumes =
        volumes.run(host_volume::reconcile, host_volume::error_policy, ctx).for_each(log_result);
    let deletions = {
        let ctx = ctx_for_deletions;
        let shutdown = shutdown.clone();
        async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    app = deleted_rx.recv() => match app {
                        Some(app) => if let Err(error) = marathon_app::deleted(&app, &ctx).await {
                            warn!(error = %error.chain(), "after deleting an app");
                        },
                        None => return,
                    },
                }
            }
        }
    };
    // Both controllers stop on `shutdown` (graceful_shutdown_on), letting reconciles finish.
    tokio::join!(run_apps, run_volumes, wait_ready, deletions);
}

fn log_result<T, E: std::fmt::Display>(result: Result<T, E>) -> futures::future::Ready<()> {
    if let Err(error) = result {
        warn!(%error, "controller event");
    }
    futures::future::ready(())
}
