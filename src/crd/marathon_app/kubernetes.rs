//! `spec.kubernetes`: settings that exist only on Kubernetes. Marathon JSON never has them.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Kubernetes-only settings of the app. Marathon definitions never contain this part; the
/// Marathon API facade neither returns nor expects it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSpec {
    /// Scale `instances` automatically with a HorizontalPodAutoscaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Set to a new value (the Marathon API writes a timestamp) to restart every task with a
    /// rolling upgrade: Marathon's `POST /v2/apps/{id}/restart`. Like Marathon's restart it is
    /// a new version of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub restart: Option<String>,
}

/// Horizontal autoscaling of `instances`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.minInstances) || self.minInstances <= self.maxInstances").message("minInstances must not exceed maxInstances").field_path(".minInstances"))]
pub struct Autoscaling {
    /// Lowest number of instances. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_instances: Option<i32>,
    /// Highest number of instances.
    #[schemars(range(min = 1))]
    pub max_instances: i32,
    /// Average CPU utilisation (percent of the requested `cpus`) to aim for. Default 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub target_cpu_utilization_percentage: Option<i32>,
}
