//! `HostVolume`: a Mesos host-path or persistent local volume that outlives apps. The controller
//! turns it into a local PersistentVolume pinned to the node, and a claim apps can mount.

// `printcolumn(..)` repeats `type_ = ...` by design; clippy reads that as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A directory on one node's disk that keeps its data across app restarts, updates and
/// deletions. Exposed as a PersistentVolume and a PersistentVolumeClaim.
#[derive(CustomResource, Clone, Debug, Default, Deserialize, Serialize, KubeSchema, PartialEq)]
#[kube(
    group = "marathon-operator.dev",
    version = "v1alpha1",
    kind = "HostVolume",
    namespaced,
    status = "HostVolumeStatus",
    shortname = "hvol",
    category = "marathon",
    derive = "PartialEq",
    doc = "A volume on one node's disk (a Mesos host path or local persistent volume) that outlives apps.",
    printcolumn(name = "Node", type_ = "string", json_path = ".spec.nodeName"),
    printcolumn(name = "Path", type_ = "string", json_path = ".spec.hostPath"),
    printcolumn(name = "Capacity", type_ = "string", json_path = ".spec.capacity"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Claim", type_ = "string", json_path = ".status.persistentVolumeClaimName"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.nodeName) != has(self.nodeSelector)").message("exactly one of nodeName and nodeSelector is required"),
    validation = Rule::new("!has(self.nodeSelector) || size(self.nodeSelector) > 0").message("nodeSelector must not be empty").field_path(".nodeSelector"),
)]
pub struct HostVolumeSpec {
    /// Name of the node that holds the data. Exactly one of `nodeName` and `nodeSelector`.
    /// Cannot be changed: the data stays where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("nodeName is immutable"))]
    pub node_name: Option<String>,
    /// Labels selecting the node that holds the data (the volume is bound to one matching
    /// node). Exactly one of `nodeName` and `nodeSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("nodeSelector is immutable"))]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Absolute directory on the node, for example `/var/lib/mesos/volumes/db`. Cannot be
    /// changed.
    #[schemars(length(min = 2, max = 4096), regex(pattern = "^/"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("hostPath is immutable"))]
    pub host_path: String,
    /// Size of the volume, for example `10Gi` (a Mesos `persistent.size` of 10240 MiB).
    pub capacity: Quantity,
    /// Access modes of the volume. Default `[ReadWriteOnce]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4))]
    pub access_modes: Option<Vec<AccessMode>>,
    /// What happens to the data when the HostVolume is deleted: `Retain` (default: the
    /// PersistentVolume and the directory are kept) or `Delete` (only when asked explicitly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_policy: Option<ReclaimPolicy>,
    /// StorageClass name given to the PersistentVolume and claim. Default: none (static binding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Name of the PersistentVolumeClaim to create. Default: the HostVolume's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub claim_name: Option<String>,
}

/// Access mode of a volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = drop_description)]
pub enum AccessMode {
    /// Read-write by one node.
    ReadWriteOnce,
    /// Read-only by many nodes.
    ReadOnlyMany,
    /// Read-write by many nodes.
    ReadWriteMany,
    /// Read-write by one pod.
    ReadWriteOncePod,
}

/// What happens to the data when the HostVolume is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = drop_description)]
pub enum ReclaimPolicy {
    /// Keep the PersistentVolume and the data (default).
    #[default]
    Retain,
    /// Delete the PersistentVolume (and let the node's cleanup remove the data).
    Delete,
}

fn drop_description(schema: &mut schemars::Schema) {
    schema.remove("description");
}

impl HostVolumeSpec {
    /// The reclaim policy, `Retain` unless `Delete` was asked for.
    pub fn effective_reclaim_policy(&self) -> ReclaimPolicy {
        self.reclaim_policy.unwrap_or_default()
    }
    /// The access modes, `[ReadWriteOnce]` by default.
    pub fn effective_access_modes(&self) -> Vec<AccessMode> {
        self.access_modes.clone().unwrap_or_else(|| vec![AccessMode::ReadWriteOnce])
    }
}

/// Binding state of the volume, written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeStatus {
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending` (objects being created), `Bound` (claim bound to the volume), `Released`
    /// (claim gone, data retained) or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<HostVolumePhase>,
    /// Name of the PersistentVolume created for this volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_name: Option<String>,
    /// Name of the PersistentVolumeClaim apps mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_name: Option<String>,
    /// Node the volume is bound to (resolved from `nodeSelector` when used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Conditions, such as `Bound` and `Degraded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<Condition>>,
}

/// Phase of a HostVolume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = drop_description)]
pub enum HostVolumePhase {
    /// The PersistentVolume or claim is being created or is not bound yet.
    Pending,
    /// The claim is bound to the volume.
    Bound,
    /// The claim is gone; the data is retained.
    Released,
    /// Something went wrong; see the conditions.
    Failed,
}

impl HostVolume {
    /// Name of the claim apps mount: `spec.claimName`, else the HostVolume's own name.
    pub fn claim_name(&self) -> String {
        self.spec.claim_name.clone().or_else(|| self.metadata.name.clone()).unwrap_or_default()
    }
}

impl HostVolumeStatus {
    /// Sets a condition, keeping `lastTransitionTime` unless the status changes.
    pub fn set_condition(&mut self, condition: Condition) -> bool {
        super::condition::set_condition(self.conditions.get_or_insert_with(Vec::new), condition)
    }
}
