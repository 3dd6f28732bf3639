//! Watch-fed caches shared by the controllers and the Marathon API.
//!
//! `main` starts them on every replica: followers serve Marathon API reads from them, and the
//! leader's controllers consume the same watches (through [`Changes`]) instead of opening
//! their own. One scope per watched namespace (or one for all namespaces); each kind is trimmed
//! to what its readers use, and pods are indexed by app so a read of one app's tasks does not
//! scan every pod.

mod index;
mod trim;

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::Api;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

pub use index::AppIndex;

use crate::crd::{HostVolume, MarathonApp};
use crate::marathon::cached::MetaValues;
use crate::marathon::child::CachedChild;
use crate::marathon::pod::CachedPod;
use crate::marathon::revision::CachedRevision;
use crate::marathon::workload::{CachedDeployment, CachedStatefulSet};
use crate::translate::names;

/// How many changes of one kind a slow subscriber may fall behind before it misses some (it
/// then sees `Lagged` and must look at the caches again).
const CHANGE_BUFFER: usize = 4096;

/// The caches of one scope: a namespace, or every namespace.
#[derive(Clone)]
pub struct Caches {
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub apps: Store<DeserializeGuard<MarathonApp>>,
    /// Pods of managed apps, in a type of their own that reads only what tasks and status need.
    pub pods: Store<CachedPod>,
    pub pods_by_app: AppIndex<CachedPod>,
    /// Workloads in a type of their own: metadata, replicas and status counts.
    pub deployments: Store<CachedDeployment>,
    pub stateful_sets: Store<CachedStatefulSet>,
    /// The apps' versions, each recorded spec as JSON text.
    pub revisions: Store<CachedRevision>,
    pub revisions_by_app: AppIndex<CachedRevision>,
    pub services: Store<CachedChild<Service>>,
    pub hpas: Store<CachedChild<HorizontalPodAutoscaler>>,
    pub ingresses: Store<CachedChild<Ingress>>,
    /// The children above by app, so pruning one app's children does not scan every child.
    pub children_by_app: ChildIndexes,
    pub host_volumes: Store<DeserializeGuard<HostVolume>>,
    pub changes: Changes,
}

/// The controllers' children of each kind by app label.
#[derive(Clone, Default)]
pub struct ChildIndexes {
    pub deployments: AppIndex<CachedDeployment>,
    pub stateful_sets: AppIndex<CachedStatefulSet>,
    pub services: AppIndex<CachedChild<Service>>,
    pub hpas: AppIndex<CachedChild<HorizontalPodAutoscaler>>,
    pub ingresses: AppIndex<CachedChild<Ingress>>,
}

/// Every object the watches touch, as it arrives (deleted ones too), for the controllers'
/// triggers and the event stream. Lossy: a subscriber that falls behind skips changes.
#[derive(Clone)]
pub struct Changes {
    pub apps: broadcast::Sender<Arc<DeserializeGuard<MarathonApp>>>,
    /// Apps whose deletion the watch saw.
    pub deleted_apps: broadcast::Sender<Arc<MarathonApp>>,
    pub pods: broadcast::Sender<Arc<CachedPod>>,
    pub deployments: broadcast::Sender<Arc<CachedDeployment>>,
    pub stateful_sets: broadcast::Sender<Arc<CachedStatefulSet>>,
    pub services: broadcast::Sender<Arc<CachedChild<Service>>>,
    pub hpas: broadcast::Sender<Arc<CachedChild<HorizontalPodAutoscaler>>>,
    pub ingresses: broadcast::Sender<Arc<CachedChild<Ingress>>>,
    pub host_volumes: broadcast::Sender<Arc<DeserializeGuard<HostVolume>>>,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            apps: broadcast::channel(CHANGE_BUFFER).0,
            deleted_apps: broadcast::channel(CHANGE_BUFFER).0,
            pods: broadcast::channel(CHANGE_BUFFER).0,
            deployments: broadcast::channel(CHANGE_BUFFER).0,
            stateful_sets: broadcast::channel(CHANGE_BUFFER).0,
            services: broadcast::channel(CHANGE_BUFFER).0,
            hpas: broadcast::channel(CHANGE_BUFFER).0,
            ingresses: broadcast::channel(CHANGE_BUFFER).0,
            host_volumes: broadcast::channel(CHANGE_BUFFER).0,
        }
    }
}

/// The caches of every watched namespace, and the task that keeps them current.
#[derive(Clone)]
pub struct Watches {
    pub scopes: Vec<Caches>,
    /// Turns true once every cache has its first complete list. Only the driver waits on the
    /// stores themselves: a store's readiness wakes a single waiter (kube-runtime's
    /// `DelayedInit` keeps one waker), so everyone else waits here.
    ready: tokio::sync::watch::Receiver<bool>,
}

impl Watches {
    /// Starts watching `namespaces` (every namespace when empty). The returned future drives
    /// every watch until dropped; spawn it.
    pub fn start(client: &Client, namespaces: &[String]) -> (Self, BoxFuture<'static, ()>) {
        let scopes: Vec<Option<String>> = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.iter().cloned().map(Some).collect()
        };
        let mut drivers = Vec::new();
        let mut caches = Vec::new();
        for namespace in scopes {
            let (scope, driver) = Caches::start(client, namespace);
            caches.push(scope);
            drivers.push(driver);
        }
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let scopes = caches.clone();
        let announce = async move {
            futures::future::join_all(scopes.iter().map(Caches::wait_until_ready)).await;
            let _ = ready_tx.send(true);
        }
        .boxed();
        drivers.push(announce);
        let drive = futures::future::join_all(drivers).map(|_| ()).boxed();
        (Self { scopes: caches, ready }, drive)
    }

    /// Resolves once every cache has its first complete list (never, if the driver is not
    /// running).
    pub async fn wait_until_ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|ready| *ready).await;
    }

    /// The caches of `namespace`, when it is watched.
    pub fn scope_of(&self, namespace: &str) -> Option<&Caches> {
        self.scopes
            .iter()
            .find(|s| s.namespace.as_deref() == Some(namespace))
            .or_else(|| self.scopes.iter().find(|s| s.namespace.is_none()))
    }
}

impl Caches {
    fn start(client: &Client, namespace: Option<String>) -> (Self, BoxFuture<'static, ()>) {
        let ns = namespace.as_deref();
        let managed = watcher::Config::default().labels(&format!(
            "{}={}",
            names::LABEL_MANAGED_BY,
            names::MANAGER
        ));
        let all = watcher::Config::default();
        let changes = Changes::default();
        let pods_by_app = AppIndex::default();
        let revisions_by_app = AppIndex::default();

        let (apps, apps_driver) = reflect_apps(api(client, ns), changes.clone());
        let index = pods_by_app.clone();
        let (pods, pods_driver) = reflect_with(
            api(client, ns),
            managed.clone(),
            trim::pod,
            changes.pods.clone(),
            move |event| index.observe(event),
        );
        let children_by_app = ChildIndexes::default();
        let indexed = &children_by_app;
        let (deployments, d1) = reflect_indexed(
            api(client, ns),
            managed.clone(),
            trim::child,
            changes.deployments.clone(),
            &indexed.deployments,
        );
        let (stateful_sets, d2) = reflect_indexed(
            api(client, ns),
            managed.clone(),
            trim::child,
            changes.stateful_sets.clone(),
            &indexed.stateful_sets,
        );
        let index = revisions_by_app.clone();
        let (revisions, d3) = reflect_with(
            api(client, ns),
            managed.clone(),
            trim::child,
            broadcast::channel(1).0,
            move |event| index.observe(event),
        );
        let (services, d4) = reflect_indexed(
            api(client, ns),
            managed.clone(),
            trim::child,
            changes.services.clone(),
            &indexed.services,
        );
        let (hpas, d5) = reflect_indexed(
            api(client, ns),
            managed.clone(),
            trim::child,
            changes.hpas.clone(),
            &indexed.hpas,
        );
        let (ingresses, d6) = reflect_indexed(
            api(client, ns),
            managed,
            trim::child,
            changes.ingresses.clone(),
            &indexed.ingresses,
        );
        let (host_volumes, d7) =
            reflect(api(client, ns), all, trim::metadata, changes.host_volumes.clone());
        let drive =
            futures::future::join_all([apps_driver, pods_driver, d1, d2, d3, d4, d5, d6, d7])
                .map(|_| ())
                .boxed();
        let caches = Self {
            namespace,
            apps,
            pods,
            pods_by_app,
            deployments,
            stateful_sets,
            revisions,
            revisions_by_app,
            services,
            hpas,
            ingresses,
            children_by_app,
            host_volumes,
            changes,
        };
        (caches, drive)
    }

    async fn wait_until_ready(&self) {
        let _ = futures::join!(
            self.apps.wait_until_ready(),
            self.pods.wait_until_ready(),
            self.deployments.wait_until_ready(),
            self.stateful_sets.wait_until_ready(),
            self.revisions.wait_until_ready(),
            self.services.wait_until_ready(),
            self.hpas.wait_until_ready(),
            self.ingresses.wait_until_ready(),
            self.host_volumes.wait_until_ready(),
        );
    }

    /// The pods of the app whose pods carry the app label `app_name`, in `namespace`.
    pub fn pods_of(&self, namespace: &str, app_name: &str) -> Vec<Arc<CachedPod>> {
        self.pods_by_app.of_app(&self.pods, namespace, app_name)
    }

    /// The version history of the app named `app_name` with uid `app_uid`, oldest first.
    pub fn history_of(
        &self,
        namespace: &str,
        app_name: &str,
        app_uid: &str,
    ) -> Vec<CachedRevision> {
        let revisions = self.revisions_by_app.of_app(&self.revisions, namespace, app_name);
        crate::marathon::versions::history_of(revisions.iter().map(AsRef::as_ref), app_uid)
    }
}

/// The API of `K` in `namespace`, or in every namespace when `None`.
pub fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Watches one kind into a store, trimming each object, and publishes every touched object.
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    changes: broadcast::Sender<Arc<K>>,
) -> (Store<K>, BoxFuture<'static, ()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    reflect_with(api, config, trim, changes, |_| {})
}

/// Like [`reflect`], keeping `index` (objects by app label) current as well.
fn reflect_indexed<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    changes: broadcast::Sender<Arc<K>>,
    index: &AppIndex<K>,
) -> (Store<K>, BoxFuture<'static, ()>)
where
    K: MetaValues + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let index = index.clone();
    reflect_with(api, config, trim, changes, move |event| index.observe(event))
}

fn reflect_with<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    changes: broadcast::Sender<Arc<K>>,
    mut observe: impl FnMut(&watcher::Event<K>) + Send + 'static,
) -> (Store<K>, BoxFuture<'static, ()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, config).default_backoff().modify(trim);
    let cached = store.clone();
    let drive = reflector::reflector(writer, stream)
        .inspect_ok(move |event| observe(event))
        .touched_objects()
        .for_each(move |object| {
            if let Ok(object) = object {
                // No subscriber is fine: followers keep caches without controllers.
                let _ = changes.send(shared_with_store(&cached, object));
            }
            futures::future::ready(())
        })
        .boxed();
    (store, drive)
}

/// The store's own copy of a touched object (the reflector has just stored it), so what
/// subscribers keep of a change shares its memory with the cache; a deleted object is no
/// longer there and travels as it came.
fn shared_with_store<K>(store: &Store<K>, object: K) -> Arc<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    store
        .get(&ObjectRef::from_obj(&object))
        .filter(|stored| stored.meta().resource_version == object.meta().resource_version)
        .unwrap_or_else(|| Arc::new(object))
}

/// MarathonApps, each behind a `DeserializeGuard` so one unreadable resource never stalls the
/// watch; deletions are published on their own channel too.
fn reflect_apps(
    api: Api<DeserializeGuard<MarathonApp>>,
    changes: Changes,
) -> (Store<DeserializeGuard<MarathonApp>>, BoxFuture<'static, ()>) {
    let deleted = changes.deleted_apps.clone();
    reflect_with(api, watcher::Config::default(), trim::metadata, changes.apps, move |event| {
        if let watcher::Event::Delete(DeserializeGuard(Ok(app))) = event {
            let _ = deleted.send(Arc::new(app.clone()));
        }
    })
}
