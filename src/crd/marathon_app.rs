//! `MarathonApp`: a Marathon app definition as a Kubernetes resource.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Marathon app definition. Field names and JSON shape are Marathon's.
#[derive(CustomResource, Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[kube(
    group = "marathon-operator.dev",
    version = "v1alpha1",
    kind = "MarathonApp",
    namespaced,
    status = "MarathonAppStatus",
    shortname = "mapp",
    category = "marathon"
)]
#[serde(rename_all = "camelCase")]
pub struct MarathonAppSpec {
    /// Unique identifier of the app, a path such as `/prod/web/frontend`.
    pub id: String,
    /// Number of instances (tasks) to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<i32>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Marathon-style state of the app, written by the controller.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MarathonAppStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
