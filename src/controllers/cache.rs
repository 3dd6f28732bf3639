//! What the controllers remember between reconciles, so a reconcile that finds nothing to do
//! makes no API calls: the children's shared watch caches (`crate::watch`) and the
//! fingerprints of what was last applied.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::Serialize;

use super::memory::PerApp;
use crate::marathon::cached::MetaValues;
use crate::marathon::child::CachedChild;
use crate::marathon::workload::{CachedDeployment, CachedStatefulSet};
pub use crate::translate::names::ANNOTATION_APPLIED;
use crate::watch::AppIndex;

/// Watch-fed caches of every kind of child the app controller writes.
#[derive(Clone)]
pub struct ChildCaches {
    /// Workloads as cached: metadata, replicas and status counts.
    pub deployments: Store<CachedDeployment>,
    pub stateful_sets: Store<CachedStatefulSet>,
    pub services: Store<CachedChild<Service>>,
    pub hpas: Store<CachedChild<HorizontalPodAutoscaler>>,
    pub ingresses: Store<CachedChild<Ingress>>,
    /// The same children by app.
    pub by_app: crate::watch::ChildIndexes,
}

impl ChildCaches {
    pub fn of(caches: &crate::watch::Caches) -> Self {
        Self {
            deployments: caches.deployments.clone(),
            stateful_sets: caches.stateful_sets.clone(),
            services: caches.services.clone(),
            hpas: caches.hpas.clone(),
            ingresses: caches.ingresses.clone(),
            by_app: caches.children_by_app.clone(),
        }
    }
}

/// Names of the cached objects in `namespace` labelled for `app` (found through the index,
/// not by scanning the store) and controlled by `owner_uid`.
pub fn owned_names<K>(
    store: &Store<K>,
    index: &AppIndex<K>,
    namespace: &str,
    app: &str,
    owner_uid: &str,
) -> Vec<String>
where
    K: MetaValues + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    index
        .of_app(store, namespace, app)
        .iter()
        .filter(|o| o.owned_by(owner_uid))
        .map(|o| o.name_any())
        .collect()
}

/// How a child looked right after the operator applied it. While the cached object still
/// shows the same `generation` (spec kinds) or `resourceVersion` (the others) and the desired
/// object is unchanged, applying again would change nothing.
#[derive(Clone, Debug)]
struct Applied {
    /// `kind/name` of the child.
    child: Box<str>,
    desired: u64,
    marker: Box<str>,
    at: Instant,
}

/// How long after an apply the watch may not show the object yet without it counting as gone.
pub const SETTLE: Duration = Duration::from_secs(5);

/// What the memory says about a child the app wants.
#[derive(Debug, PartialEq, Eq)]
pub enum Known {
    /// Applied as desired, and the cluster's copy is the one applied.
    Unchanged,
    /// Applied as desired moments ago; the cache has not caught up yet. Look again later.
    Settling,
    /// Apply it.
    Unknown,
}

/// What was last applied, per app (`namespace/name`) and child. An app has a few children:
/// a short vector costs a fraction of a map per app.
#[derive(Default)]
pub struct AppliedMemory {
    apps: PerApp<Vec<Applied>>,
}

/// The entry of `child` among an app's children.
fn find<'a>(children: &'a [Applied], child: &str) -> Option<&'a Applied> {
    children.iter().find(|applied| &*applied.child == child)
}

/// Whether a kind bumps `metadata.generation` on every spec change (then status updates do not
/// make the operator re-apply it).
pub fn tracks_generation(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet")
}

/// The marker of a cached object: generation for kinds that track it, else resourceVersion.
pub fn marker<K: Resource>(object: &K, kind: &str) -> Option<String> {
    let meta = object.meta();
    if tracks_generation(kind) {
        meta.generation.map(|g| g.to_string())
    } else {
        meta.resource_version.clone()
    }
}

/// A fingerprint of what is applied. Stable for one build (SipHash with fixed keys over the
/// canonical JSON); a new build that hashes differently re-applies each child once.
pub fn fingerprint<T: Serialize>(desired: &T) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(desired).unwrap_or_default().hash(&mut hasher);
    hasher.finish()
}

/// The value of the applied-fingerprint annotation.
pub fn fingerprint_text(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

/// Marks `object` with the fingerprint of what is applied, so a restarted operator can tell
/// from its caches that a child is already as desired (and send nothing).
pub fn stamp<K: Resource>(object: &mut K, fingerprint: u64) {
    object
        .meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ANNOTATION_APPLIED.to_owned(), fingerprint_text(fingerprint));
}

/// Whether a cached child carries the fingerprint `desired`.
pub fn stamped_with<K: MetaValues>(object: &K, desired: u64) -> bool {
    object.applied_fingerprint() == Some(fingerprint_text(desired).as_str())
}

fn child(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

impl AppliedMemory {
    /// Whether `desired` was applied and the cluster's copy (`cached_marker`) is the one
    /// applied, or not yet in the cache.
    pub fn check(
        &self,
        app: &str,
        kind: &str,
        name: &str,
        desired: u64,
        cached_marker: Option<&str>,
    ) -> Known {
        let child = child(kind, name);
        let entry = self.apps.with(|apps| apps.get(app).and_then(|c| find(c, &child)).cloned());
        let Some(applied) = entry.filter(|a| a.desired == desired) else { return Known::Unknown };
        match cached_marker {
            Some(marker) if marker == &*applied.marker => Known::Unchanged,
            // A generation older than the one applied: the cache lags behind.
            Some(marker) if older_generation(kind, marker, &applied.marker) => Known::Settling,
            Some(_) => Known::Unknown,
            None if applied.at.elapsed() < SETTLE => Known::Settling,
            None => Known::Unknown,
        }
    }

    /// True when `desired` was applied and the cluster's copy (`cached_marker`) is unchanged.
    pub fn unchanged(
        &self,
        app: &str,
        kind: &str,
        name: &str,
        desired: u64,
        cached_marker: Option<String>,
    ) -> bool {
        self.check(app, kind, name, desired, cached_marker.as_deref()) == Known::Unchanged
    }

    /// Whether anything is remembered for this child (else the operator starts cold for it).
    pub fn knows(&self, app: &str, kind: &str, name: &str) -> bool {
        let child = child(kind, name);
        self.apps.with(|apps| apps.get(app).is_some_and(|c| find(c, &child).is_some()))
    }

    pub fn remember(
        &self,
        app: &str,
        kind: &str,
        name: &str,
        desired: u64,
        marker: Option<String>,
    ) {
        self.apps.with(|apps| match marker {
            Some(marker) => {
                let child = child(kind, name).into_boxed_str();
                let children = apps.entry(app.to_owned()).or_default();
                children.retain(|applied| applied.child != child);
                let marker = marker.into_boxed_str();
                children.push(Applied { child, desired, marker, at: Instant::now() });
                children.shrink_to_fit();
            }
            None => forget_child(apps, app, &child(kind, name)),
        });
    }

    pub fn forget(&self, app: &str, kind: &str, name: &str) {
        self.apps.with(|apps| forget_child(apps, app, &child(kind, name)));
    }

    pub fn forget_app(&self, app: &str) {
        self.apps.remove(app);
    }

    pub fn retain_apps(&self, exists: &dyn Fn(&str) -> bool) {
        self.apps.retain(exists);
    }

    pub fn knows_app(&self, app: &str) -> bool {
        self.apps.with(|apps| apps.contains_key(app))
    }

    /// Apps with children remembered.
    pub fn len(&self) -> usize {
        self.apps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn older_generation(kind: &str, cached: &str, applied: &str) -> bool {
    match (cached.parse::<i64>(), applied.parse::<i64>()) {
        (Ok(cached), Ok(applied)) => tracks_generation(kind) && cached < applied,
        _ => false,
    }
}

fn forget_child(apps: &mut HashMap<String, Vec<Applied>>, app: &str, child: &str) {
    if let Some(children) = apps.get_mut(app) {
        children.retain(|applied| &*applied.child != child);
        if children.is_empty() {
            apps.remove(app);
        }
    }
}

/// Looks a child up in a cache by namespace and name.
pub fn cached<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<std::sync::Arc<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_memory_matches_only_the_same_object_and_marker() {
        let memory = AppliedMemory::default();
        assert!(!memory.unchanged("ns/web", "Service", "web", 1, Some("10".into())));
        memory.remember("ns/web", "Service", "web", 1, Some("10".into()));
        assert!(memory.unchanged("ns/web", "Service", "web", 1, Some("10".into())));
        // Someone edited it (new resourceVersion), or the app wants something else now.
        assert!(!memory.unchanged("ns/web", "Service", "web", 1, Some("11".into())));
        assert!(!memory.unchanged("ns/web", "Service", "web", 2, Some("10".into())));
        // Not in the cache: just applied (the watch lags), or deleted by hand later on.
        assert_eq!(memory.check("ns/web", "Service", "web", 1, None), Known::Settling);
        assert!(!memory.unchanged("ns/web", "Service", "web", 1, None));
        // A workload's cached generation older than the applied one is the cache lagging.
        memory.remember("ns/web", "Deployment", "web", 1, Some("3".into()));
        assert_eq!(memory.check("ns/web", "Deployment", "web", 1, Some("2")), Known::Settling);
        assert_eq!(memory.check("ns/web", "Deployment", "web", 1, Some("4")), Known::Unknown);
        memory.forget("ns/web", "Deployment", "web");
        // Another app's child of the same name is another entry.
        assert!(!memory.unchanged("ns/other", "Service", "web", 1, Some("10".into())));
        memory.forget("ns/web", "Service", "web");
        assert!(!memory.unchanged("ns/web", "Service", "web", 1, Some("10".into())));
        assert_eq!(memory.len(), 0, "an app without children is not kept");
    }

    #[test]
    fn a_stamped_child_is_recognised_by_its_fingerprint() {
        let mut service = k8s_openapi::api::core::v1::Service::default();
        let desired = fingerprint(&service);
        let cached = |service: &Service| CachedChild::<Service>::of(service).unwrap();
        assert!(!stamped_with(&cached(&service), desired));
        stamp(&mut service, desired);
        assert!(stamped_with(&cached(&service), desired));
        assert!(!stamped_with(&cached(&service), desired ^ 1));
        // As the watch keeps it: the fingerprint moved out of the annotations.
        let mut trimmed = cached(&service);
        trimmed.read = crate::marathon::cached::ReadMeta::take_from(&mut trimmed.metadata);
        assert!(trimmed.metadata.annotations.is_none());
        assert!(stamped_with(&trimmed, desired));
    }
}
