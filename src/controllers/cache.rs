//! What the controllers remember between reconciles, so a reconcile that finds nothing to do
//! makes no API calls: the children's shared watch caches (`crate::watch`) and the
//! fingerprints of what was last applied.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::Serialize;

/// Watch-fed caches of every kind of child the app controller writes.
#[derive(Clone)]
pub struct ChildCaches {
    /// Deployments without their pod template (status and replicas are what is read).
    pub deployments: Store<Deployment>,
    pub stateful_sets: Store<StatefulSet>,
    pub services: Store<PartialObjectMeta<Service>>,
    pub hpas: Store<PartialObjectMeta<HorizontalPodAutoscaler>>,
    pub ingresses: Store<PartialObjectMeta<Ingress>>,
}

impl ChildCaches {
    pub fn of(caches: &crate::watch::Caches) -> Self {
        Self {
            deployments: caches.deployments.clone(),
            stateful_sets: caches.stateful_sets.clone(),
            services: caches.services.clone(),
            hpas: caches.hpas.clone(),
            ingresses: caches.ingresses.clone(),
        }
    }
}

/// Names of the cached objects in `namespace` labelled for `app` and controlled by `owner_uid`.
pub fn owned_names<K>(
    store: &Store<K>,
    namespace: &str,
    label: (&str, &str),
    owner_uid: &str,
) -> Vec<String>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store
        .state()
        .iter()
        .filter(|o| o.namespace().as_deref() == Some(namespace))
        .filter(|o| o.labels().get(label.0).map(String::as_str) == Some(label.1))
        .filter(|o| o.owner_references().iter().any(|r| r.uid == owner_uid))
        .map(|o| o.name_any())
        .collect()
}

/// How a child looked right after the operator applied it. While the cached object still
/// shows the same `generation` (spec kinds) or `resourceVersion` (the others) and the desired
/// object is unchanged, applying again would change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Applied {
    desired: u64,
    marker: String,
}

#[derive(Default)]
pub struct AppliedMemory {
    seen: Mutex<HashMap<String, Applied>>,
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

pub fn fingerprint<T: Serialize>(desired: &T) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(desired).unwrap_or_default().hash(&mut hasher);
    hasher.finish()
}

fn key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}/{namespace}/{name}")
}

impl AppliedMemory {
    /// True when `desired` was applied and the cluster's copy (`cached_marker`) is unchanged.
    pub fn unchanged(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        desired: u64,
        cached_marker: Option<String>,
    ) -> bool {
        let Some(cached_marker) = cached_marker else { return false };
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&key(kind, namespace, name)) == Some(&Applied { desired, marker: cached_marker })
    }

    pub fn remember(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        desired: u64,
        marker: Option<String>,
    ) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match marker {
            Some(marker) => seen.insert(key(kind, namespace, name), Applied { desired, marker }),
            None => seen.remove(&key(kind, namespace, name)),
        };
    }

    pub fn forget(&self, kind: &str, namespace: &str, name: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.remove(&key(kind, namespace, name));
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
        assert!(!memory.unchanged("Service", "ns", "web", 1, Some("10".into())));
        memory.remember("Service", "ns", "web", 1, Some("10".into()));
        assert!(memory.unchanged("Service", "ns", "web", 1, Some("10".into())));
        // Someone edited it (new resourceVersion), or the app wants something else now.
        assert!(!memory.unchanged("Service", "ns", "web", 1, Some("11".into())));
        assert!(!memory.unchanged("Service", "ns", "web", 2, Some("10".into())));
        // Deleted by hand: not in the cache, so no marker.
        assert!(!memory.unchanged("Service", "ns", "web", 1, None));
        memory.forget("Service", "ns", "web");
        assert!(!memory.unchanged("Service", "ns", "web", 1, Some("10".into())));
    }
}
