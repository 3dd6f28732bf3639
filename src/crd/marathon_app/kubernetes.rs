//! `spec.kubernetes`: settings that exist only on Kubernetes. Marathon JSON never has them.

use kube::KubeSchema;
use schemars::JsonSchema;
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
    /// Which of the app's Marathon-era DNS names the operator publishes (when it runs with
    /// `--dns-names`): `mesos-dns` (`<app>-<group...>.marathon.mesos` and its SRV records),
    /// `vip` (`<vip>.marathon.l4lb.thisdcos.directory` of `VIP_n` port labels) and `autoip`
    /// (`<app>-<group...>.marathon.autoip.dcos.thisdcos.directory`). Absent: the operator's
    /// `--dns-names`; empty: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 3))]
    pub dns_names: Option<Vec<DnsNameKind>>,
}

/// A family of Marathon-era DNS names (see `spec.kubernetes.dnsNames`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[schemars(transform = super::values::drop_description)]
#[serde(rename_all = "kebab-case")]
pub enum DnsNameKind {
    /// Mesos-DNS: `<app>-<group...>.marathon.mesos` and SRV `_<app>-<group...>._tcp.marathon.mesos`.
    MesosDns,
    /// DC/OS named VIPs: `<vip>.marathon.l4lb.thisdcos.directory`.
    Vip,
    /// DC/OS: `<app>-<group...>.marathon.autoip.dcos.thisdcos.directory`.
    Autoip,
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
