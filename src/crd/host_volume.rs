//! `HostVolume`: a Mesos host-path or persistent local volume that outlives apps.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A volume on one node's disk, exposed as a PersistentVolume and claim.
#[derive(CustomResource, Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[kube(
    group = "marathon-operator.dev",
    version = "v1alpha1",
    kind = "HostVolume",
    namespaced,
    status = "HostVolumeStatus",
    shortname = "hvol",
    category = "marathon"
)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeSpec {
    /// Name of the node that holds the data.
    pub node_name: String,
    /// Directory on the node.
    pub host_path: String,
}

/// Binding state of the volume.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
