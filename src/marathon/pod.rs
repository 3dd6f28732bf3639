//! The pod as the caches keep it: only what tasks, status and events read.
//!
//! `k8s_openapi`'s `Pod` holds every field of the API inline (an empty `Pod` is about 2.4 KB,
//! one empty `Container` 2.3 KB), so a cached pod cost 7.7 KB even trimmed. These types keep
//! `Pod`'s field names and nesting for the fields read, and serde skips the rest while the
//! watch reads them. Writes (kills, deletes) still go through `Api<Pod>`.

use k8s_openapi::api::core::v1::{ContainerState, Pod, PodCondition, PodIP};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Deserialize;

use super::cached::ReadMeta;
use crate::crd::condition::TRUE;
use crate::translate::names::{ANNOTATION_APP_VERSION, ANNOTATION_RESTARTED_AT};

/// A pod of a managed app, as cached. Same API path and kind as `Pod`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedPod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: Option<CachedPodSpec>,
    pub status: Option<CachedPodStatus>,
    /// The app version annotation, moved here by the watch's trim (see [`Self::app_version`]).
    #[serde(skip)]
    pub app_version: Option<Box<str>>,
    /// The restart stamp annotation, moved here by the watch's trim (see
    /// [`Self::restarted_at`]).
    #[serde(skip)]
    pub restarted_at: Option<Box<str>>,
    /// The app label, moved here by the watch's trim.
    #[serde(skip)]
    pub read: ReadMeta,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPodSpec {
    pub node_name: Option<String>,
    #[serde(default)]
    pub containers: Vec<CachedContainer>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedContainer {
    #[serde(default)]
    pub name: String,
    pub ports: Option<Vec<CachedContainerPort>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedContainerPort {
    #[serde(default)]
    pub container_port: i32,
    pub host_port: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedPodStatus {
    pub phase: Option<String>,
    pub conditions: Option<Vec<PodCondition>>,
    pub container_statuses: Option<Vec<CachedContainerStatus>>,
    #[serde(rename = "podIPs")]
    pub pod_ips: Option<Vec<PodIP>>,
    pub start_time: Option<Time>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedContainerStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    pub state: Option<ContainerState>,
    /// Boxed: most containers never restarted, and a `ContainerState` is 208 bytes inline.
    pub last_state: Option<Box<ContainerState>>,
}

super::cached::cached_form_of!(CachedPod, Pod);

impl CachedPod {
    /// Its condition of type `type_`, when reported.
    pub fn condition(&self, type_: &str) -> Option<&PodCondition> {
        self.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
    }

    /// Its `Ready` condition is true.
    pub fn is_ready(&self) -> bool {
        self.condition("Ready").is_some_and(|c| c.status == TRUE)
    }

    /// Being deleted (terminating).
    pub fn is_terminating(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    /// The app version its pod template was made from (the config-change version).
    pub fn app_version(&self) -> Option<&str> {
        self.app_version.as_deref().or_else(|| self.annotation(ANNOTATION_APP_VERSION))
    }

    /// The restart request its pod template carried (`None` before any restart).
    pub fn restarted_at(&self) -> Option<&str> {
        self.restarted_at.as_deref().or_else(|| self.annotation(ANNOTATION_RESTARTED_AT))
    }

    /// An annotation of a pod the watch has not trimmed (converted with `of`).
    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pod as `kubectl get pod -o json` shows one of a converged app (kubelet-filled fields
    /// and all).
    fn api_pod() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "web-7d4b9c-x2x9q", "generateName": "web-7d4b9c-", "namespace": "prod",
                "uid": "5b7e3c1e-0000-4000-8000-000000000001", "resourceVersion": "4711",
                "creationTimestamp": "2026-11-30T01:00:00Z",
                "deletionTimestamp": "2026-11-30T02:00:00Z",
                "labels": {"app.kubernetes.io/managed-by": "marathon-operator", "app": "web"},
                "annotations": {"marathon-operator.dev/app-version": "2026-11-30T00:59:00.000Z"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web-7d4b9c", "uid": "u", "controller": true}],
                "managedFields": [{"manager": "kubelet", "operation": "Update"}]
            },
            "spec": {
                "nodeName": "node-1", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                "volumes": [{"name": "kube-api-access", "projected": {"sources": []}}],
                "containers": [{
                    "name": "main", "image": "nginx:1.27", "args": ["-g", "daemon off;"],
                    "env": [{"name": "PORT0", "value": "31000"}],
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                    "ports": [{"containerPort": 80, "hostPort": 31000, "name": "http",
                        "protocol": "TCP"}, {"containerPort": 9090, "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}}
                }],
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]
            },
            "status": {
                "phase": "Running", "qosClass": "Guaranteed", "hostIP": "10.0.0.1",
                "hostIPs": [{"ip": "10.0.0.1"}], "podIP": "10.244.0.7",
                "podIPs": [{"ip": "10.244.0.7"}, {"ip": "fd00::7"}],
                "startTime": "2026-11-30T01:00:01Z",
                "conditions": [
                    {"type": "PodScheduled", "status": "True",
                        "lastTransitionTime": "2026-11-30T01:00:00Z"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "not ready", "lastTransitionTime": "2026-11-30T01:00:05Z"}
                ],
                "containerStatuses": [{
                    "name": "main", "ready": true, "restartCount": 2, "started": true,
                    "image": "nginx:1.27", "imageID": "docker.io/library/nginx@sha256:abc",
                    "containerID": "containerd://abc",
                    "state": {"running": {"startedAt": "2026-11-30T01:00:03Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                        "message": "killed", "finishedAt": "2026-11-30T01:00:02Z"}},
                    "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run"}]
                }]
            }
        })
    }

    #[test]
    fn a_pod_from_the_api_keeps_every_field_read_and_ignores_the_rest() {
        let pod: CachedPod = serde_json::from_value(api_pod()).unwrap();
        let meta = &pod.metadata;
        assert_eq!(meta.name.as_deref(), Some("web-7d4b9c-x2x9q"));
        assert_eq!(meta.namespace.as_deref(), Some("prod"));
        assert_eq!(meta.uid.as_deref(), Some("5b7e3c1e-0000-4000-8000-000000000001"));
        assert_eq!(meta.resource_version.as_deref(), Some("4711"));
        assert!(meta.creation_timestamp.is_some() && meta.deletion_timestamp.is_some());
        assert_eq!(meta.labels.as_ref().unwrap()["app"], "web");
        let version = &meta.annotations.as_ref().unwrap()["marathon-operator.dev/app-version"];
        assert_eq!(version, "2026-11-30T00:59:00.000Z");

        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("node-1"));
        assert_eq!(spec.containers[0].name, "main");
        let ports = spec.containers[0].ports.as_ref().unwrap();
        let ports: Vec<_> = ports.iter().map(|p| (p.container_port, p.host_port)).collect();
        assert_eq!(ports, [(80, Some(31000)), (9090, None)]);

        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let ips: Vec<&str> = status.pod_ips.iter().flatten().map(|ip| ip.ip.as_str()).collect();
        assert_eq!(ips, ["10.244.0.7", "fd00::7"]);
        assert!(status.start_time.is_some());
        let ready = &status.conditions.as_ref().unwrap()[1];
        assert_eq!((ready.type_.as_str(), ready.status.as_str()), ("Ready", "False"));
        assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(ready.message.as_deref(), Some("not ready"));
        assert!(ready.last_transition_time.is_some());
        let container = &status.container_statuses.as_ref().unwrap()[0];
        assert_eq!((container.name.as_str(), container.ready), ("main", true));
        assert_eq!(container.restart_count, 2);
        let running = container.state.as_ref().unwrap().running.as_ref().unwrap();
        assert!(running.started_at.is_some());
        let last = container.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!((last.exit_code, last.reason.as_deref()), (137, Some("OOMKilled")));
        assert!(last.finished_at.is_some());
    }

    #[test]
    fn a_full_pod_converts_to_what_the_watch_would_cache() {
        let full: Pod = serde_json::from_value(api_pod()).unwrap();
        let from_json: CachedPod = serde_json::from_value(api_pod()).unwrap();
        assert_eq!(CachedPod::of(&full).unwrap(), from_json);
    }

    #[test]
    fn a_pod_without_spec_or_status_reads() {
        let pod: CachedPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"}, "spec": {}, "status": {}
        }))
        .unwrap();
        assert!(pod.spec.unwrap().containers.is_empty());
        assert_eq!(pod.status.unwrap(), CachedPodStatus::default());
    }
}
