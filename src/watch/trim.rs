//! What each cache keeps of its objects: the parts its readers use, nothing more.

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
use kube::Resource;
use serde_json::{Map, Value};

use crate::translate::names::ANNOTATION_APP_VERSION;

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

/// A version keeps its recorded spec (the Marathon API serves old versions from the cache),
/// rebuilt without the spare capacity parsing left in every map and list.
pub fn revision(revision: &mut ControllerRevision) {
    metadata(revision);
    revision.data.0 = compact(std::mem::take(&mut revision.data.0));
}

/// `value` with every map and list sized to its contents.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut compacted = Map::with_capacity(map.len());
            for (key, value) in map {
                compacted.insert(key, compact(value));
            }
            Value::Object(compacted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        other => other,
    }
}

/// Keeps what tasks and status read of a pod: node, container ports, the app version
/// annotation, phase, conditions, container states and IPs.
pub fn pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(annotations) = pod.metadata.annotations.as_mut() {
        annotations.retain(|key, _| key == ANNOTATION_APP_VERSION);
    }
    if let Some(spec) = pod.spec.as_mut() {
        let containers = std::mem::take(&mut spec.containers)
            .into_iter()
            .map(|c| Container {
                name: c.name,
                ports: c.ports.map(trim_ports),
                ..Container::default()
            })
            .collect();
        *spec = PodSpec { node_name: spec.node_name.take(), containers, ..PodSpec::default() };
    }
    pod.metadata.generate_name = None;
    pod.metadata.owner_references = None;
    if let Some(status) = pod.status.as_mut() {
        status.init_container_statuses = None;
        status.ephemeral_container_statuses = None;
        status.host_ips = None;
        status.qos_class = None;
        if let Some(conditions) = status.conditions.as_mut() {
            conditions.retain(|c| !UNREAD_POD_CONDITIONS.contains(&c.type_.as_str()));
        }
        for container in status.container_statuses.iter_mut().flatten() {
            container.image_id = String::new();
            container.container_id = None;
            container.volume_mounts = None;
            container.allocated_resources = None;
            container.resources = None;
        }
    }
}

/// Pod conditions no reader looks at (tasks read Ready, ContainersReady, PodScheduled and
/// DisruptionTarget).
const UNREAD_POD_CONDITIONS: [&str; 2] = ["Initialized", "PodReadyToStartContainers"];

fn trim_ports(ports: Vec<ContainerPort>) -> Vec<ContainerPort> {
    ports
        .into_iter()
        .map(|p| ContainerPort {
            container_port: p.container_port,
            host_port: p.host_port,
            ..ContainerPort::default()
        })
        .collect()
}

/// Annotation the controllers stamp on what they apply: the fingerprint of the applied object,
/// kept in the caches so a restarted operator sends nothing for children already as desired.
pub const ANNOTATION_APPLIED: &str = "marathon-operator.dev/applied";

fn keep_applied_annotation(meta: &mut kube::core::ObjectMeta) {
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.retain(|key, _| key == ANNOTATION_APPLIED);
    }
}

/// Drops what status never reads from a cached workload: the pod template is most of it.
pub fn deployment(deployment: &mut Deployment) {
    deployment.metadata.managed_fields = None;
    keep_applied_annotation(&mut deployment.metadata);
    deployment.spec.template = Default::default();
    deployment.spec.selector = Default::default();
    deployment.spec.strategy = None;
    if let Some(status) = deployment.status.as_mut() {
        status.conditions = None;
    }
}

pub fn stateful_set(set: &mut StatefulSet) {
    set.metadata.managed_fields = None;
    keep_applied_annotation(&mut set.metadata);
    set.spec.template = Default::default();
    set.spec.volume_claim_templates = None;
    set.spec.selector = Default::default();
    if let Some(status) = set.status.as_mut() {
        status.conditions = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compacted_revision_keeps_its_data() {
        let data = serde_json::json!({
            "spec": {"id": "/web", "env": {"A": "1"}, "ports": [1, 2, {"name": "http"}]},
            "version": "2026-01-01T00:00:00.000Z",
        });
        let mut stored = ControllerRevision {
            data: k8s_openapi::apimachinery::pkg::runtime::RawExtension(data.clone()),
            ..ControllerRevision::default()
        };
        stored.metadata.annotations = Some(
            [(LAST_APPLIED.to_owned(), "{}".to_owned()), ("kept".to_owned(), "1".to_owned())]
                .into(),
        );
        revision(&mut stored);
        assert_eq!(stored.data.0, data);
        let keys: Vec<&str> =
            stored.data.0["spec"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "env", "ports"], "the order is kept");
        assert_eq!(stored.metadata.annotations.unwrap().keys().collect::<Vec<_>>(), ["kept"]);
    }
}
