//! What each cache keeps of its objects: the parts its readers use, nothing more.

use kube::Resource;

use crate::marathon::cached::{ReadMeta, TrimmedMeta};
use crate::marathon::pod::CachedPod;
use crate::translate::names::{ANNOTATION_APP_VERSION, ANNOTATION_RESTARTED_AT};

/// `kubectl apply`'s copy of the whole object: nobody here reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Managed fields are often the larger part of an object and nobody reads them.
pub fn metadata<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// Keeps what tasks and status read of a pod's metadata and conditions (its type holds only
/// the spec and status fields read): the app label, the app version and restart stamp (moved
/// out of the maps, see [`ReadMeta`]), the read conditions.
pub fn pod(pod: &mut CachedPod) {
    let mut take = |key| pod.metadata.annotations.as_mut()?.remove(key).map(String::into_boxed_str);
    let (app_version, restarted_at) = (take(ANNOTATION_APP_VERSION), take(ANNOTATION_RESTARTED_AT));
    (pod.app_version, pod.restarted_at) = (app_version, restarted_at);
    move_read_meta(pod);
    pod.metadata.generate_name = None;
    let conditions = pod.status.as_mut().and_then(|s| s.conditions.as_mut());
    if let Some(conditions) = conditions {
        conditions.retain(|c| !UNREAD_POD_CONDITIONS.contains(&c.type_.as_str()));
    }
}

/// Pod conditions no reader looks at (tasks read Ready, ContainersReady, PodScheduled and
/// DisruptionTarget).
const UNREAD_POD_CONDITIONS: [&str; 2] = ["Initialized", "PodReadyToStartContainers"];

/// Keeps what the controllers read of a child's metadata (a workload's type holds only the
/// replicas and status counts besides): the app label, the applied fingerprint and the
/// owners, moved into [`ReadMeta`]. Nobody reads a child's own uid (a pod's is its task id).
pub fn child<K: TrimmedMeta>(child: &mut K) {
    move_read_meta(child);
    child.meta_mut().uid = None;
}

/// Moves what is read of the metadata into [`ReadMeta`] and drops the managed fields. The
/// watch selects managed objects only, so the managed-by label needs no keeping.
fn move_read_meta<K: TrimmedMeta>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    let read = ReadMeta::take_from(meta);
    *object.read_meta_mut() = read;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::cached::MetaValues;
    use crate::translate::names::{LABEL_APP, LABEL_MANAGED_BY};

    #[test]
    fn kubectls_copy_of_the_object_is_dropped_and_other_annotations_kept() {
        let mut service = k8s_openapi::api::core::v1::Service::default();
        service.metadata.annotations = Some(
            [(LAST_APPLIED.to_owned(), "{}".to_owned()), ("kept".to_owned(), "1".to_owned())]
                .into(),
        );
        metadata(&mut service);
        assert_eq!(service.metadata.annotations.unwrap().keys().collect::<Vec<_>>(), ["kept"]);
    }

    #[test]
    fn a_trimmed_pod_keeps_what_tasks_read() {
        let mut cached: CachedPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": "rs", "uid": "u"}],
                "labels": {LABEL_APP: "web", LABEL_MANAGED_BY: "marathon-operator",
                    "pod-template-hash": "5d8f", "tier": "front"},
                "annotations": {ANNOTATION_APP_VERSION: "2026-01-01T00:00:00.000Z",
                    ANNOTATION_RESTARTED_AT: "r1", "other": "x"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "main", "image": "nginx",
                "ports": [{"containerPort": 80, "hostPort": 31000, "name": "http"}]}]},
            "status": {"phase": "Running", "qosClass": "Guaranteed", "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "DisruptionTarget", "status": "True"}]},
        }))
        .unwrap();
        pod(&mut cached);
        assert_eq!(cached.app_version(), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(cached.restarted_at(), Some("r1"));
        // The label and annotation maps are gone; the app label is a field.
        assert_eq!((&cached.metadata.annotations, &cached.metadata.labels), (&None, &None));
        assert_eq!(cached.read.app.as_deref(), Some("web"));
        assert_eq!(cached.app_label(), Some("web"));
        let spec = cached.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("n1"));
        let port = &spec.containers[0].ports.as_ref().unwrap()[0];
        assert_eq!((port.container_port, port.host_port), (80, Some(31000)));
        let status = cached.status.as_ref().unwrap();
        let types: Vec<&str> =
            status.conditions.iter().flatten().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "DisruptionTarget"]);
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(cached.metadata.owner_references.is_none());
    }
}
