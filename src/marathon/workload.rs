//! Deployments and StatefulSets as the caches keep them: metadata (labels, owner, the applied
//! fingerprint, generation), the desired replicas and the status counts. `k8s_openapi`'s
//! types hold the pod template and every other field inline (a trimmed `Deployment` still held
//! 4 KB); serde skips what is not here while the watch reads them. Writes stay typed.

use std::marker::PhantomData;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::cached::ReadMeta;

/// A workload of kind `K` (Deployment or StatefulSet), as cached. Same API path and kind as `K`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedWorkload<K> {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: CachedWorkloadSpec,
    pub status: Option<CachedWorkloadStatus>,
    /// The app label, applied fingerprint and owners' uids, moved here by the watch's trim.
    #[serde(skip)]
    pub read: ReadMeta,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

pub type CachedDeployment = CachedWorkload<Deployment>;
pub type CachedStatefulSet = CachedWorkload<StatefulSet>;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedWorkloadSpec {
    pub replicas: Option<i32>,
}

/// The counts Deployments and StatefulSets share.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedWorkloadStatus {
    pub replicas: Option<i32>,
    pub updated_replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    pub observed_generation: Option<i64>,
}

super::cached::generic_cached_form!(CachedWorkload);

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    /// A Deployment as the API serves one of a converged app.
    fn api_deployment() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "prod", "uid": "d-uid", "resourceVersion": "812",
                "generation": 3,
                "labels": {"app": "web", "app.kubernetes.io/managed-by": "marathon-operator"},
                "annotations": {"marathon-operator.dev/applied": "00ff00ff00ff00ff"},
                "ownerReferences": [{"apiVersion": "marathon-operator.dev/v1alpha1",
                    "kind": "MarathonApp", "name": "web", "uid": "app-uid", "controller": true}]
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate"},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                    {"name": "main", "image": "nginx:1.27"}]}}
            },
            "status": {
                "observedGeneration": 3, "replicas": 3, "updatedReplicas": 2,
                "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 2,
                "conditions": [{"type": "Available", "status": "False"}]
            }
        })
    }

    #[test]
    fn a_deployment_from_the_api_keeps_every_field_read_and_ignores_the_rest() {
        let cached: CachedDeployment = serde_json::from_value(api_deployment()).unwrap();
        let meta = &cached.metadata;
        assert_eq!((meta.name.as_deref(), meta.generation), (Some("web"), Some(3)));
        assert_eq!(meta.resource_version.as_deref(), Some("812"));
        assert_eq!(meta.labels.as_ref().unwrap()["app"], "web");
        assert_eq!(meta.owner_references.as_ref().unwrap()[0].uid, "app-uid");
        assert!(meta.annotations.as_ref().unwrap().contains_key("marathon-operator.dev/applied"));
        assert_eq!(cached.spec.replicas, Some(2));
        let status = cached.status.as_ref().unwrap();
        let counts = (status.replicas, status.updated_replicas, status.ready_replicas);
        assert_eq!(counts, (Some(3), Some(2), Some(1)));
        assert_eq!((status.available_replicas, status.observed_generation), (Some(1), Some(3)));
    }

    #[test]
    fn a_typed_workload_converts_to_what_the_watch_would_cache() {
        let typed: Deployment = serde_json::from_value(api_deployment()).unwrap();
        let from_json: CachedDeployment = serde_json::from_value(api_deployment()).unwrap();
        assert_eq!(CachedWorkload::of(&typed).unwrap(), from_json);
        let set: StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db"}, "spec": {"serviceName": "db", "selector": {},
                "template": {}},
            "status": {"replicas": 1, "observedGeneration": 1}
        }))
        .unwrap();
        let cached = CachedStatefulSet::of(&set).unwrap();
        assert_eq!(cached.status.unwrap().replicas, Some(1));
        assert_eq!(cached.spec.replicas, None);
    }

    #[test]
    fn it_is_watched_at_the_path_of_its_kind() {
        assert_eq!(CachedDeployment::kind(&()), "Deployment");
        assert_eq!(
            CachedStatefulSet::url_path(&(), Some("ns")),
            "/apis/apps/v1/namespaces/ns/statefulsets"
        );
    }
}
