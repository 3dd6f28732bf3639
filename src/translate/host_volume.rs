//! A HostVolume's PersistentVolume and claim (pure; the HostVolume controller applies them).
//! The PV is a `local` volume at the host path, pinned to the volume's node and pre-bound to
//! the claim apps mount, so no other claim can take it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LocalVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec,
    VolumeNodeAffinity, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use super::names;
use crate::crd::{HostVolume, ReclaimPolicy};

/// Marks the PV and claim as a HostVolume's (for watches); the annotations below say whose.
pub const LABEL_HOST_VOLUME: &str = "marathon-operator.dev/host-volume";
pub const ANNOTATION_NAME: &str = "marathon-operator.dev/host-volume-name";
pub const ANNOTATION_NAMESPACE: &str = "marathon-operator.dev/host-volume-namespace";
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// The cluster-wide PV name: namespace and name, shortened with a hash when long.
pub fn pv_name(volume: &HostVolume) -> String {
    let raw =
        format!("hostvolume-{}-{}", volume.namespace().unwrap_or_default(), volume.name_any());
    names::slash_path_name(&raw, 253)
}

fn metadata(volume: &HostVolume) -> ObjectMeta {
    let mut labels =
        BTreeMap::from([(names::LABEL_MANAGED_BY.to_owned(), names::MANAGER.to_owned())]);
    labels.insert(LABEL_HOST_VOLUME.to_owned(), "true".to_owned());
    let annotations = BTreeMap::from([
        (ANNOTATION_NAME.to_owned(), volume.name_any()),
        (ANNOTATION_NAMESPACE.to_owned(), volume.namespace().unwrap_or_default()),
    ]);
    ObjectMeta { labels: Some(labels), annotations: Some(annotations), ..ObjectMeta::default() }
}

fn node_affinity(volume: &HostVolume) -> VolumeNodeAffinity {
    let match_expressions = match (&volume.spec.node_name, &volume.spec.node_selector) {
        (Some(node), _) => vec![NodeSelectorRequirement {
            key: HOSTNAME_LABEL.to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.clone()]),
        }],
        (None, Some(selector)) => selector
            .iter()
            .map(|(key, value)| NodeSelectorRequirement {
                key: key.clone(),
                operator: "In".to_owned(),
                values: Some(vec![value.clone()]),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    VolumeNodeAffinity {
        required: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(match_expressions),
                match_fields: None,
            }],
        }),
    }
}

fn access_modes(volume: &HostVolume) -> Vec<String> {
    volume
        .spec
        .effective_access_modes()
        .iter()
        .filter_map(|m| serde_json::to_value(m).ok()?.as_str().map(str::to_owned))
        .collect()
}

/// The PersistentVolume: a `local` volume at the host path, only on the volume's node,
/// pre-bound to the HostVolume's claim so no other claim can take it.
pub fn build_pv(volume: &HostVolume) -> PersistentVolume {
    let reclaim = match volume.spec.effective_reclaim_policy() {
        ReclaimPolicy::Retain => "Retain",
        ReclaimPolicy::Delete => "Delete",
    };
    let mut pv = PersistentVolume {
        spec: Some(PersistentVolumeSpec {
            capacity: Some([("storage".to_owned(), volume.spec.capacity.clone())].into()),
            access_modes: Some(access_modes(volume)),
            persistent_volume_reclaim_policy: Some(reclaim.to_owned()),
            // An empty class keeps the default StorageClass's provisioner away from the claim.
            storage_class_name: Some(volume.spec.storage_class_name.clone().unwrap_or_default()),
            local: Some(LocalVolumeSource { path: volume.spec.host_path.clone(), fs_type: None }),
            node_affinity: Some(node_affinity(volume)),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                namespace: volume.namespace(),
                name: Some(volume.claim_name()),
                ..ObjectReference::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        metadata: metadata(volume),
        ..PersistentVolume::default()
    };
    pv.metadata.name = Some(pv_name(volume));
    pv
}

/// The claim apps mount, bound to exactly this volume's PV.
pub fn build_pvc(volume: &HostVolume) -> PersistentVolumeClaim {
    let mut pvc = PersistentVolumeClaim {
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(access_modes(volume)),
            storage_class_name: Some(volume.spec.storage_class_name.clone().unwrap_or_default()),
            volume_name: Some(pv_name(volume)),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_owned(), volume.spec.capacity.clone())].into()),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        metadata: metadata(volume),
        ..PersistentVolumeClaim::default()
    };
    pvc.metadata.name = Some(volume.claim_name());
    pvc.metadata.namespace = volume.namespace();
    pvc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(spec: serde_json::Value) -> HostVolume {
        serde_json::from_value(json!({
            "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
            "metadata": { "name": "data", "namespace": "team" },
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn the_pv_is_local_pinned_retained_and_pre_bound() {
        let v = volume(json!({ "nodeName": "node-1", "hostPath": "/srv/data", "capacity": "5Gi" }));
        let pv = build_pv(&v);
        let spec = pv.spec.unwrap();
        assert_eq!(pv.metadata.name.as_deref(), Some("hostvolume-team-data"));
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(spec.local.unwrap().path, "/srv/data");
        let term = &spec.node_affinity.unwrap().required.unwrap().node_selector_terms[0];
        let requirement = &term.match_expressions.as_ref().unwrap()[0];
        assert_eq!(
            (requirement.key.as_str(), requirement.values.clone().unwrap()),
            (HOSTNAME_LABEL, vec!["node-1".to_owned()])
        );
        let claim_ref = spec.claim_ref.unwrap();
        assert_eq!(
            (claim_ref.namespace.as_deref(), claim_ref.name.as_deref()),
            (Some("team"), Some("data"))
        );
        let pvc = build_pvc(&v);
        assert_eq!(pvc.spec.unwrap().volume_name.as_deref(), Some("hostvolume-team-data"));
    }

    #[test]
    fn a_node_selector_becomes_the_pv_node_affinity() {
        let v = volume(
            json!({ "nodeSelector": { "disk": "ssd" }, "hostPath": "/srv", "capacity": "1Gi", "reclaimPolicy": "Delete", "claimName": "db" }),
        );
        let pv = build_pv(&v);
        let spec = pv.spec.unwrap();
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
        assert_eq!(spec.claim_ref.unwrap().name.as_deref(), Some("db"));
        let term = &spec.node_affinity.unwrap().required.unwrap().node_selector_terms[0];
        assert_eq!(term.match_expressions.as_ref().unwrap()[0].key, "disk");
    }
}
