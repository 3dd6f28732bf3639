//! Resources, artifacts and secrets of an app: `resourceLimits`, `executorResources`, `fetch`,
//! `secrets`, `versionInfo`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{
    Extra, FieldPath, ResourceLimit, Scalar, UnknownFields, push_extra, resource_limit_schema,
};

/// Upper bounds of the resources of each task (Marathon 1.10+).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ResourceLimits {
    /// CPU limit: a number of CPUs at least `cpus`, or `"unlimited"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "resource_limit_schema")]
    pub cpus: Option<ResourceLimit>,
    /// Memory limit in MiB: at least `mem`, or `"unlimited"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "resource_limit_schema")]
    pub mem: Option<ResourceLimit>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Resources of the executor itself, on top of the task's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ExecutorResources {
    /// CPUs of the executor (at least 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub cpus: Option<Scalar>,
    /// Memory of the executor in MiB (at least 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub mem: Option<Scalar>,
    /// Disk of the executor in MiB (at least 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub disk: Option<Scalar>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// An artifact downloaded into the task's sandbox before it starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct FetchUri {
    /// URI to download (http, https, ftp, hdfs, s3, file, ...).
    #[schemars(length(min = 1, max = 1024))]
    pub uri: String,
    /// Extract archives (`.tgz`, `.tar.gz`, `.zip`, ...) into the sandbox. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<bool>,
    /// Mark the downloaded file executable. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    /// Cache the artifact on the node. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    /// File name to give the downloaded artifact in the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// A secret declaration: where the secret's value comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SecretSource {
    /// Path of the secret in the secret store, for example `/db/password` (on Kubernetes:
    /// a Secret name, optionally with a key).
    #[schemars(length(min = 1))]
    pub source: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// Version timestamps of an app.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct VersionInfo {
    /// Time of the last change of anything, scaling included (ISO-8601 with milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scaling_at: Option<String>,
    /// Time of the last change that was not only a scaling (ISO-8601 with milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_config_change_at: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

macro_rules! extra_only {
    ($($t:ty),*) => {$(
        impl UnknownFields for $t {
            fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
                push_extra(&self.extra, path, out);
            }
        }
    )*};
}

extra_only!(ResourceLimits, ExecutorResources, FetchUri, SecretSource, VersionInfo);
