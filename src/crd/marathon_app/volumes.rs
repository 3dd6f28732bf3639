//! `container.volumes`: host paths, local persistent volumes, external volumes and secret files.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{
    Constraint, Extra, FieldPath, UnknownFields, free_object_schema, join, push_extra,
};

/// A volume mounted into the container. The kind follows from which key is present:
/// `hostPath` (a directory of the node), `persistent` (a local persistent volume that makes the
/// app resident), `external` (a volume of an external provider) or `secret` (a file holding a
/// secret).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(
    validation = Rule::new("[has(self.hostPath), has(self.persistent), has(self.external), has(self.secret)].filter(x, x).size() <= 1").message("a volume has at most one of hostPath, persistent, external and secret"),
    validation = Rule::new("!has(self.persistent) || !has(self.mode) || self.mode == 'RW'").message("persistent volumes must be mounted read-write (mode RW)").field_path(".mode"),
    validation = Rule::new("!has(self.persistent) || !self.containerPath.contains('/')").message("the containerPath of a persistent volume must be a relative path without '/'").field_path(".containerPath"),
    validation = Rule::new("!has(self.secret) || !has(self.mode)").message("secret volumes have no mode").field_path(".mode"),
)]
pub struct Volume {
    /// Path where the volume is mounted in the container. For persistent volumes a relative
    /// name inside the sandbox (no `/`).
    #[schemars(length(min = 1, max = 4096))]
    pub container_path: String,
    /// Host path volumes: the directory on the node (absolute, or relative to the sandbox, which
    /// refers to a persistent volume of the same app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub host_path: Option<String>,
    /// `RO` (read-only) or `RW` (read-write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<VolumeMode>,
    /// A local persistent volume: reserved disk on the node that survives task restarts. Makes
    /// the app resident (tasks stay on the node holding their data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<PersistentVolumeInfo>,
    /// A volume of an external storage provider (DVDI/REX-Ray or CSI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalVolumeInfo>,
    /// Secret volumes: name of an entry of `secrets` written to `containerPath` as a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub secret: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// The kind of a [`Volume`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeKind {
    /// `hostPath`.
    HostPath,
    /// `persistent`.
    Persistent,
    /// `external`.
    External,
    /// `secret`.
    Secret,
    /// None of the known keys.
    Unknown,
}

impl Volume {
    /// Which kind of volume this is.
    pub fn kind(&self) -> VolumeKind {
        if self.persistent.is_some() {
            VolumeKind::Persistent
        } else if self.external.is_some() {
            VolumeKind::External
        } else if self.secret.is_some() {
            VolumeKind::Secret
        } else if self.host_path.is_some() {
            VolumeKind::HostPath
        } else {
            VolumeKind::Unknown
        }
    }
}

/// Access mode of a volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum VolumeMode {
    /// Read-only.
    #[serde(rename = "RO")]
    ReadOnly,
    /// Read-write.
    #[serde(rename = "RW")]
    ReadWrite,
}

/// A local persistent volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
#[x_kube(
    validation = Rule::new("!has(self.maxSize) || (has(self.type) && self.type == 'mount')").message("Only mount volumes can have maxSize").field_path(".maxSize"),
    validation = Rule::new("!has(self.maxSize) || self.maxSize > self.size").message("Max size must be larger than size").field_path(".maxSize"),
    validation = Rule::new("!has(self.constraints) || size(self.constraints) == 0 || (has(self.type) && self.type != 'root') || has(self.profileName)").message("Constraints on root volumes are not supported").field_path(".constraints"),
)]
pub struct PersistentVolumeInfo {
    /// The kind of Mesos disk: `root` (default; `mount` when `profileName` is set), `path` or
    /// `mount` (a whole disk).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<PersistentVolumeType>,
    /// Size of the volume in MiB (more than 0).
    #[schemars(range(min = 1))]
    pub size: i64,
    /// Largest mount disk (MiB) to accept; `mount` volumes only, larger than `size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_size: Option<i64>,
    /// Only use disks with this storage profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub profile_name: Option<String>,
    /// Disk constraints `["path", "LIKE"|"UNLIKE", "<regex>"]` (not on `root` volumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub constraints: Option<Vec<Constraint>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Kind of Mesos disk resource of a persistent volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum PersistentVolumeType {
    /// The agent's root disk.
    #[serde(rename = "root")]
    Root,
    /// A path disk.
    #[serde(rename = "path")]
    Path,
    /// A mount disk, used exclusively.
    #[serde(rename = "mount")]
    Mount,
}

/// A volume of an external provider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ExternalVolumeInfo {
    /// Name of the volume at the provider (unique among the app's external volumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The provider: `dvdi` (Docker volume driver isolator, for example REX-Ray) or `csi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Provider-specific options, for example `{"dvdi/driver": "rexray"}` or the CSI
    /// `pluginName` and `capability`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object_schema")]
    pub options: Option<serde_json::Map<String, serde_json::Value>>,
    /// Size of the volume in GiB, if the provider creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub size: Option<i64>,
    /// Whether several tasks may use the volume at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

impl UnknownFields for Volume {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
        if let Some(p) = &self.persistent {
            push_extra(&p.extra, &join(path, "persistent"), out);
        }
        if let Some(e) = &self.external {
            push_extra(&e.extra, &join(path, "external"), out);
        }
    }
}
