//! Marathon-style status from the objects that run the app. Pure: the reconciler gathers the
//! workload and its pods, this module turns them into `MarathonAppStatus`.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::controllers::truncate;
use crate::crd::condition::{self, FALSE, TRUE};
use crate::crd::{
    DeploymentAction, DeploymentStatus, DeploymentStep, MarathonAppStatus, TaskFailure, VersionInfo,
};

/// Rollout state common to Deployments and StatefulSets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadState {
    pub desired: i32,
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// The workload controller has seen the latest workload spec.
    pub observed: bool,
}

impl WorkloadState {
    pub fn of_deployment(deployment: &Deployment) -> Self {
        let desired = deployment.spec.replicas.unwrap_or(1);
        let Some(status) = &deployment.status else {
            return Self { desired, ..Self::default() };
        };
        Self {
            desired,
            current: status.replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            observed: status.observed_generation >= deployment.metadata.generation,
        }
    }

    pub fn of_stateful_set(set: &StatefulSet) -> Self {
        let desired = set.spec.replicas.unwrap_or(1);
        let Some(status) = &set.status else {
            return Self { desired, ..Self::default() };
        };
        Self {
            desired,
            current: status.replicas,
            updated: status.updated_replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            observed: status.observed_generation >= set.metadata.generation,
        }
    }

    /// Marathon has a deployment running until every instance runs the new version and no
    /// old instance is left.
    pub fn rolling_out(&self) -> bool {
        !self.observed
            || self.updated < self.desired
            || self.current > self.desired
            || self.available < self.desired
    }
}

/// Marathon's task counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub running: i32,
    pub staged: i32,
    pub healthy: i32,
    pub unhealthy: i32,
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == TRUE))
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

/// Counts tasks as Marathon does: staged until running; healthy and unhealthy only for apps
/// with health checks (Marathon reports 0 of both otherwise). Terminating pods are not tasks.
pub fn task_counts(pods: &[Pod], has_health_checks: bool) -> TaskCounts {
    let mut counts = TaskCounts::default();
    for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
        match phase(pod) {
            "Pending" => counts.staged += 1,
            "Running" => {
                counts.running += 1;
                if has_health_checks {
                    if is_ready(pod) {
                        counts.healthy += 1;
                    } else {
                        counts.unhealthy += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
}

/// The most recent container failure among the pods, as Marathon's `lastTaskFailure`.
pub fn last_task_failure(app_id: &str, pods: &[Pod], version: Option<&str>) -> Option<TaskFailure> {
    let mut latest: Option<(Timestamp, TaskFailure)> = None;
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for container in status.container_statuses.iter().flatten() {
            let terminated = container
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .or_else(|| container.state.as_ref().and_then(|s| s.terminated.as_ref()));
            let Some(terminated) = terminated.filter(|t| t.exit_code != 0) else { continue };
            let at = terminated.finished_at.as_ref().map(|t| t.0).unwrap_or(Timestamp::UNIX_EPOCH);
            if latest.as_ref().is_some_and(|(seen, _)| *seen >= at) {
                continue;
            }
            let reason = terminated.reason.clone().unwrap_or_else(|| "Error".to_owned());
            let message = match &terminated.message {
                Some(message) => {
                    format!("{reason}: {message} (exit code {})", terminated.exit_code)
                }
                None => format!("{reason} (exit code {})", terminated.exit_code),
            };
            let host = pod.spec.as_ref().and_then(|s| s.node_name.clone());
            latest = Some((
                at,
                TaskFailure {
                    app_id: app_id.to_owned(),
                    host: host.clone(),
                    message: Some(message),
                    state: Some(
                        if reason == "OOMKilled" { "TASK_KILLED" } else { "TASK_FAILED" }
                            .to_owned(),
                    ),
                    task_id: pod.metadata.name.clone(),
                    timestamp: Some(crate::controllers::marathon_app::versions::format_version(at)),
                    version: version.map(str::to_owned),
                    slave_id: host,
                },
            ));
        }
    }
    latest.map(|(_, failure)| failure)
}

/// The Marathon deployment a rollout in progress corresponds to.
pub fn marathon_deployment(
    app_id: &str,
    app_uid: &str,
    version: &str,
    workload: &WorkloadState,
) -> Option<DeploymentStatus> {
    if !workload.rolling_out() {
        return None;
    }
    let action = if workload.current == 0 && workload.updated == 0 {
        "StartApplication"
    } else if workload.updated >= workload.desired && workload.current != workload.desired {
        "ScaleApplication"
    } else {
        "RestartApplication"
    };
    let action = DeploymentAction { action: action.to_owned(), app: app_id.to_owned() };
    Some(DeploymentStatus {
        id: deployment_id(app_uid, version),
        version: Some(version.to_owned()),
        steps: Some(vec![DeploymentStep { actions: vec![action.clone()] }]),
        current_actions: Some(vec![action]),
        current_step: Some(1),
        total_steps: Some(1),
    })
}

/// A UUID-shaped id, stable for one app and version, so clients polling `/v2/deployments`
/// see the same deployment until it finishes.
pub fn deployment_id(app_uid: &str, version: &str) -> String {
    let hex: String = (0..4)
        .map(|part| crate::translate::names::stable_hash(&format!("{part}/{app_uid}/{version}")))
        .collect::<String>()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .chain(std::iter::repeat('0'))
        .take(32)
        .collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// What the reconciler observed, and what it wants reported.
pub struct Observation<'a> {
    pub app_id: &'a str,
    pub app_uid: &'a str,
    pub generation: Option<i64>,
    pub has_health_checks: bool,
    pub version: &'a str,
    pub version_info: VersionInfo,
    pub workload: WorkloadState,
    pub pods: &'a [Pod],
    pub selector: String,
    pub warnings: Vec<String>,
    pub untranslated: Vec<String>,
    pub now: Timestamp,
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if ok { TRUE } else { FALSE }.to_owned(),
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time: Time(now),
    }
}

/// The full status for a successfully applied app, starting from the previous one so
/// condition transition times are kept.
pub fn build(previous: Option<&MarathonAppStatus>, seen: Observation<'_>) -> MarathonAppStatus {
    let counts = task_counts(seen.pods, seen.has_health_checks);
    let workload = &seen.workload;
    let mut status = MarathonAppStatus {
        conditions: previous.and_then(|p| p.conditions.clone()),
        observed_generation: seen.generation,
        replicas: Some(workload.current),
        selector: Some(seen.selector.clone()),
        tasks_running: Some(counts.running),
        tasks_staged: Some(counts.staged),
        tasks_healthy: Some(counts.healthy),
        tasks_unhealthy: Some(counts.unhealthy),
        version: Some(seen.version.to_owned()),
        version_info: Some(seen.version_info.clone()),
        deployment: marathon_deployment(seen.app_id, seen.app_uid, seen.version, workload),
        last_task_failure: last_task_failure(seen.app_id, seen.pods, Some(seen.version))
            .or_else(|| previous.and_then(|p| p.last_task_failure.clone())),
        untranslated: (!seen.untranslated.is_empty()).then(|| seen.untranslated.clone()),
        warnings: (!seen.warnings.is_empty()).then(|| seen.warnings.clone()),
    };
    let (generation, now) = (seen.generation, seen.now);
    let available = workload.available >= workload.desired;
    status.set_condition(condition(
        condition::AVAILABLE,
        available,
        if available { "InstancesAvailable" } else { "InstancesUnavailable" },
        format!("{} of {} instances available", workload.available, workload.desired),
        generation,
        now,
    ));
    let progressing = workload.rolling_out();
    status.set_condition(condition(
        condition::PROGRESSING,
        progressing,
        if progressing { "Deploying" } else { "Deployed" },
        if progressing {
            format!(
                "{} of {} instances on version {}",
                workload.updated, workload.desired, seen.version
            )
        } else {
            format!("all instances on version {}", seen.version)
        },
        generation,
        now,
    ));
    let degraded = !progressing && !available;
    status.set_condition(condition(
        condition::DEGRADED,
        degraded,
        if degraded { "InstancesUnavailable" } else { "AsExpected" },
        if degraded {
            format!("only {} of {} instances available", workload.available, workload.desired)
        } else {
            String::new()
        },
        generation,
        now,
    ));
    let mut notes = seen.warnings.clone();
    notes.extend(seen.untranslated.iter().map(|path| format!("{path}: not translated")));
    status.set_condition(condition(
        condition::TRANSLATION_WARNINGS,
        !notes.is_empty(),
        if notes.is_empty() { "Faithful" } else { "Approximated" },
        truncate(&notes.join("; "), 4096),
        generation,
        now,
    ));
    status
}

/// The status of an app that cannot be run as specified: Degraded with the reason, the rest
/// of the previous status kept.
pub fn degraded(
    previous: Option<&MarathonAppStatus>,
    generation: Option<i64>,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> MarathonAppStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    status.set_condition(condition(
        condition::DEGRADED,
        true,
        reason,
        truncate(message, 4096),
        generation,
        now,
    ));
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, phase: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "containers": []},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    #[test]
    fn counts_tasks_like_marathon() {
        let pods =
            [pod("a", "Running", true), pod("b", "Running", false), pod("c", "Pending", false)];
        assert_eq!(
            task_counts(&pods, true),
            TaskCounts { running: 2, staged: 1, healthy: 1, unhealthy: 1 }
        );
        // Without health checks Marathon reports neither healthy nor unhealthy tasks.
        assert_eq!(
            task_counts(&pods, false),
            TaskCounts { running: 2, staged: 1, healthy: 0, unhealthy: 0 }
        );
    }

    #[test]
    fn last_failure_is_the_latest_non_zero_exit() {
        let mut failed = pod("web-1", "Running", true);
        failed.status.as_mut().unwrap().container_statuses = Some(vec![serde_json::from_value(json!({
            "name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T00:00:00Z"}}
        })).unwrap()]);
        let failure =
            last_task_failure("/web", &[pod("web-0", "Running", true), failed], Some("v")).unwrap();
        assert_eq!(failure.task_id.as_deref(), Some("web-1"));
        assert_eq!(failure.state.as_deref(), Some("TASK_KILLED"));
        assert_eq!(failure.host.as_deref(), Some("node-1"));
        assert_eq!(failure.timestamp.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    }

    #[test]
    fn a_rollout_is_a_marathon_deployment_until_done() {
        let rolling = WorkloadState {
            desired: 3,
            current: 4,
            updated: 1,
            ready: 3,
            available: 3,
            observed: true,
        };
        let deployment =
            marathon_deployment("/web", "uid", "2026-01-01T00:00:00.000Z", &rolling).unwrap();
        assert_eq!(deployment.current_actions.unwrap()[0].action, "RestartApplication");
        assert_eq!(deployment.id, deployment_id("uid", "2026-01-01T00:00:00.000Z"));
        assert_eq!(deployment.id.len(), 36);
        let done = WorkloadState {
            desired: 3,
            current: 3,
            updated: 3,
            ready: 3,
            available: 3,
            observed: true,
        };
        assert!(marathon_deployment("/web", "uid", "v", &done).is_none());
    }
}
