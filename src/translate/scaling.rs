//! `spec.kubernetes.autoscaling` -> an autoscaling/v2 HPA that scales the MarathonApp itself
//! through its scale subresource. The HPA writes `instances`, the controller turns `instances`
//! into the workload's replicas: each field has one writer, and Marathon clients see the
//! autoscaled instance count as they would with Marathon's own autoscalers.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::warnings::Warnings;
use crate::crd::MarathonAppSpec;

/// Kubernetes' own default target when none is given.
const DEFAULT_CPU_TARGET: i32 = 80;

/// The HPA of the MarathonApp named `app_name`, when `spec.kubernetes.autoscaling` is set.
pub(crate) fn build_hpa(
    spec: &MarathonAppSpec,
    app_name: &str,
    meta: impl FnOnce() -> ObjectMeta,
    warnings: &mut Warnings,
) -> Option<HorizontalPodAutoscaler> {
    let auto = spec.kubernetes.as_ref()?.autoscaling.as_ref()?;
    let min = auto.min_instances.unwrap_or_else(|| spec.effective_instances()).max(1);
    let max = auto.max_instances.max(min);
    if max != auto.max_instances {
        warnings
            .push("kubernetes.autoscaling.maxInstances", "lower than minInstances; raised to it");
    }
    if spec.effective_cpus() <= 0.0 {
        warnings.push(
            "kubernetes.autoscaling",
            "CPU utilisation needs a CPU request; set cpus above 0",
        );
    }
    let target = auto.target_cpu_utilization_percentage.unwrap_or(DEFAULT_CPU_TARGET).max(1);
    Some(HorizontalPodAutoscaler {
        metadata: meta(),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some(format!("{}/{}", crate::crd::GROUP, crate::crd::VERSION)),
                kind: "MarathonApp".into(),
                name: app_name.into(),
            },
            min_replicas: Some(min),
            max_replicas: max,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(target),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        },
        status: None,
    })
}
