//! What each cache keeps of its objects: the parts its readers use, nothing more.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
use kube::Resource;

use crate::translate::names::ANNOTATION_APP_VERSION;

/// Managed fields are often the larger part of an object and nobody reads them.
pub fn metadata<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
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
    if let Some(status) = pod.status.as_mut() {
        status.init_container_statuses = None;
        status.ephemeral_container_statuses = None;
        for container in status.container_statuses.iter_mut().flatten() {
            container.image_id = String::new();
            container.container_id = None;
        }
    }
}

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
}

pub fn stateful_set(set: &mut StatefulSet) {
    set.metadata.managed_fields = None;
    keep_applied_annotation(&mut set.metadata);
    set.spec.template = Default::default();
    set.spec.volume_claim_templates = None;
}
