//! Warnings for Marathon fields with no Kubernetes counterpart, reported only when they differ
//! from Marathon's default (no noise on every app: dcos-migrate bug 11), and for unknown fields.

use super::warnings::Warnings;
use crate::crd::{EnvValue, KillSelection, MarathonAppSpec};

/// DC/OS-only names that stop resolving on Kubernetes.
const DCOS_MARKERS: [&str; 4] =
    [".marathon.mesos", ".l4lb.thisdcos.directory", "/opt/mesosphere", ".mesos:"];

fn dcos_specific(path: &str, text: &str, w: &mut Warnings) {
    if let Some(m) = DCOS_MARKERS.iter().find(|m| text.contains(*m)) {
        w.push(
            path,
            format!("refers to {m:?}, a DC/OS-specific name that does not exist on Kubernetes"),
        );
    }
}

/// Reports everything translation leaves out.
pub(crate) fn report(spec: &MarathonAppSpec, w: &mut Warnings) {
    if spec.backoff_seconds.is_some_and(|b| b != 1)
        || spec.backoff_factor.as_ref().is_some_and(|f| (f.as_f64() - 1.15).abs() > 1e-9)
    {
        w.push("backoffSeconds", "launch backoff is the kubelet's fixed CrashLoopBackOff");
    }
    if spec.max_launch_delay_seconds.is_some_and(|m| m != 300 && m != 3600) {
        w.push("maxLaunchDelaySeconds", "the kubelet caps restart backoff at 5 minutes");
    }
    if spec.dependencies.as_ref().is_some_and(|d| !d.is_empty()) {
        w.push("dependencies", "Kubernetes starts apps independently; order is not enforced");
    }
    if spec.executor.as_deref().is_some_and(|e| !e.is_empty() && e != "//cmd") {
        w.push("executor", "custom Mesos executors do not exist on Kubernetes");
    }
    if spec.executor_resources.is_some() {
        w.push("executorResources", "no executor overhead on Kubernetes; ignored");
    }
    if spec.residency.is_some() {
        w.push("residency", "deprecated and without effect; StatefulSet pods keep their claims");
    }
    if spec.check.is_some() {
        w.push("check", "Mesos generic checks are informational; not translated");
    }
    if spec.store_urls.as_ref().is_some_and(|s| !s.is_empty()) {
        w.push("storeUrls", "not translated");
    }
    if spec.kill_selection == Some(KillSelection::OldestFirst) {
        w.push(
            "killSelection",
            "Kubernetes removes the youngest pods first; OLDEST_FIRST needs per-pod deletion costs the controller does not set",
        );
    }
    let labels = spec.labels.as_ref();
    if labels.is_some_and(|l| l.contains_key("DCOS_PACKAGE_FRAMEWORK_NAME")) {
        w.push(
            "labels.DCOS_PACKAGE_FRAMEWORK_NAME",
            "a DC/OS catalog package: use its Kubernetes distribution instead",
        );
    }
    if let Some(cmd) = &spec.cmd {
        dcos_specific("cmd", cmd, w);
    }
    for (i, a) in spec.args.iter().flatten().enumerate() {
        dcos_specific(&format!("args[{i}]"), a, w);
    }
    for (k, v) in spec.env.iter().flatten() {
        if let EnvValue::Value(v) = v {
            dcos_specific(&format!("env.{k}"), v, w);
        }
    }
    for path in spec.unknown_fields() {
        w.push(path, "unknown field: kept in the resource, not translated");
    }
}
