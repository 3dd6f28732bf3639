//! The pod template and the workload: a Deployment, or a StatefulSet (with claim templates and
//! a headless Service) for resident apps, whose instances each keep their own volume.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{Container, LocalObjectReference, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::container::PodExtras;
use super::names::{
    ANNOTATION_APP_ID, ANNOTATION_APP_VERSION, ANNOTATION_MARATHON_LABELS, LABEL_APP,
    LABEL_INSTANCE, LABEL_MANAGED_BY, Owner, common_labels, is_label_key, is_label_value,
    object_meta, selector_labels,
};
use super::placement::Placement;
use super::storage::Storage;
use super::warnings::Warnings;

/// Label prefixes consumed by translation (marathon-lb, VIPs, DC/OS packaging, Marathon).
const CONSUMED: [&str; 4] = ["HAPROXY_", "VIP_", "DCOS_", "MARATHON_"];

/// Pod template labels: the selector and common labels, plus each Marathon label that is a
/// valid Kubernetes label; the rest go into one annotation as JSON.
fn template_meta(
    owner: &Owner,
    labels: &BTreeMap<String, String>,
    extras: &PodExtras,
    warnings: &mut Warnings,
) -> ObjectMeta {
    let mut out = common_labels(&owner.app_name);
    let mut rest = BTreeMap::new();
    for (k, v) in labels {
        if CONSUMED.iter().any(|p| k.starts_with(p))
            || [LABEL_APP, LABEL_INSTANCE, LABEL_MANAGED_BY].contains(&k.as_str())
        {
            continue;
        }
        if is_label_key(k) && is_label_value(v) {
            out.insert(k.clone(), v.clone());
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    let mut annotations = BTreeMap::from([(ANNOTATION_APP_ID.to_string(), owner.app_id.clone())]);
    if let Some(v) = &owner.version {
        annotations.insert(ANNOTATION_APP_VERSION.to_string(), v.clone());
    }
    if !rest.is_empty() {
        annotations.insert(
            ANNOTATION_MARATHON_LABELS.to_string(),
            serde_json::to_string(&rest).unwrap_or_default(),
        );
    }
    for (k, v) in extras.annotations.iter().filter(|(k, _)| extra_annotation(owner, k, warnings)) {
        annotations.insert(k.clone(), v.clone());
    }
    ObjectMeta { labels: Some(out), annotations: Some(annotations), ..ObjectMeta::default() }
}

/// Whether the pod may carry the annotation `key` of a Docker `--label` parameter; reported
/// when not. The operator's own annotations (the app's id and version, the labels that are not
/// valid Kubernetes labels) say which app a pod belongs to: they are reserved.
fn extra_annotation(owner: &Owner, key: &str, warnings: &mut Warnings) -> bool {
    let reserved = key == ANNOTATION_APP_ID
        || key == ANNOTATION_MARATHON_LABELS
        || (key == ANNOTATION_APP_VERSION && owner.version.is_some());
    if reserved {
        warnings.push(
            "container.docker.parameters",
            format!("label {key:?} is reserved by the operator; ignored"),
        );
    } else if !is_label_key(key) {
        warnings.push(
            "container.docker.parameters",
            format!("label {key:?} is not a valid annotation key; ignored"),
        );
    }
    !reserved && is_label_key(key)
}

/// The pod's hostname (a Docker `--hostname` parameter) if it is a DNS label; reported if not.
fn pod_hostname(hostname: Option<String>, warnings: &mut Warnings) -> Option<String> {
    hostname.filter(|h| {
        let ok = super::names::is_dns_label(h, super::names::MAX_LABEL);
        if !ok {
            warnings.push(
                "container.docker.parameters",
                format!("hostname {h:?} is not a DNS label; ignored"),
            );
        }
        ok
    })
}

/// What [`pod_template`] would report about `parts`, without assembling the pod.
pub(crate) fn pod_warnings(owner: &Owner, parts: PodParts, warnings: &mut Warnings) {
    for key in parts.extras.annotations.keys() {
        extra_annotation(owner, key, warnings);
    }
    pod_hostname(parts.extras.hostname, warnings);
}

/// Everything the pod spec is assembled from.
pub(crate) struct PodParts {
    pub main: Container,
    pub storage: Storage,
    pub placement: Placement,
    pub extras: PodExtras,
    pub grace: Option<i64>,
    pub pull_secret: Option<String>,
    pub host_network: bool,
}

/// The pod template.
pub(crate) fn pod_template(
    owner: &Owner,
    labels: &BTreeMap<String, String>,
    mut parts: PodParts,
    warnings: &mut Warnings,
) -> PodTemplateSpec {
    let metadata = template_meta(owner, labels, &parts.extras, warnings);
    let mut main = parts.main;
    main.volume_mounts = Some(std::mem::take(&mut parts.storage.mounts));
    let affinity = parts.placement.affinity();
    let p = parts.placement;
    let hostname = pod_hostname(parts.extras.hostname, warnings);
    PodTemplateSpec {
        metadata: Some(metadata),
        spec: Some(PodSpec {
            containers: vec![main],
            init_containers: (!parts.storage.init_containers.is_empty())
                .then_some(parts.storage.init_containers),
            volumes: (!parts.storage.volumes.is_empty()).then_some(parts.storage.volumes),
            node_selector: (!p.node_selector.is_empty()).then_some(p.node_selector),
            affinity,
            topology_spread_constraints: (!p.spread.is_empty()).then_some(p.spread),
            tolerations: (!p.tolerations.is_empty()).then_some(p.tolerations),
            termination_grace_period_seconds: parts.grace,
            image_pull_secrets: parts.pull_secret.map(|name| vec![LocalObjectReference { name }]),
            host_network: parts.host_network.then_some(true),
            dns_policy: parts.host_network.then(|| "ClusterFirstWithHostNet".to_string()),
            hostname,
            ..PodSpec::default()
        }),
    }
}

fn selector(owner: &Owner) -> LabelSelector {
    LabelSelector { match_labels: Some(selector_labels(&owner.app_name)), match_expressions: None }
}

/// A Deployment of `replicas` pods (`instances`; an HPA changes `instances`, not this).
pub(crate) fn build_deployment(
    owner: &Owner,
    name: &str,
    replicas: i32,
    strategy: k8s_openapi::api::apps::v1::DeploymentStrategy,
    template: PodTemplateSpec,
) -> Deployment {
    Deployment {
        metadata: object_meta(owner, name),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: selector(owner),
            template,
            strategy: Some(strategy),
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// A StatefulSet governed by the headless Service `service`. Claims are retained on scale-down
/// (Marathon keeps reservations) and on delete: data is never deleted by surprise
/// (docs/mapping.md, "Workload").
pub(crate) fn build_stateful_set(
    owner: &Owner,
    name: &str,
    service: &str,
    replicas: i32,
    strategy: k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy,
    template: PodTemplateSpec,
    claims: Vec<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
) -> StatefulSet {
    StatefulSet {
        metadata: object_meta(owner, name),
        spec: StatefulSetSpec {
            replicas: Some(replicas),
            selector: selector(owner),
            service_name: Some(service.to_string()),
            template,
            volume_claim_templates: (!claims.is_empty()).then_some(claims),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(strategy),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            ..StatefulSetSpec::default()
        },
        status: None,
    }
}
