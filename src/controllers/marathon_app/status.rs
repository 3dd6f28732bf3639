//! The MarathonApp's status and conditions from the objects that run the app. Pure: the
//! reconciler gathers the workload and its pods; tasks, counts and Marathon deployments come
//! from `crate::marathon`, as they do for the Marathon API.

use crate::marathon::pod::CachedPod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::condition::{self, FALSE, TRUE};
use crate::crd::{MarathonAppStatus, VersionInfo};
use crate::events::truncate;
pub use crate::marathon::deployments::WorkloadState;
use crate::marathon::deployments::marathon_deployment;
use crate::marathon::tasks::{last_task_failure, task_counts, tasks_of_pods, waiting};

/// What the reconciler observed, and what it wants reported.
pub struct Observation<'a> {
    pub app_id: &'a str,
    pub app_uid: &'a str,
    pub generation: Option<i64>,
    pub has_health_checks: bool,
    pub version: &'a str,
    pub version_info: VersionInfo,
    pub workload: WorkloadState,
    pub pods: &'a [CachedPod],
    /// The app's restart request, which its current pods carry.
    pub restart: Option<&'a str>,
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
    let tasks = tasks_of_pods(seen.app_id, seen.pods, seen.has_health_checks);
    let counts = task_counts(&tasks);
    let workload = &rollout_state(&seen);
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
        version_info: Some(Box::new(seen.version_info.clone())),
        deployment: marathon_deployment(
            seen.app_id,
            seen.app_uid,
            seen.generation.unwrap_or_default(),
            seen.version,
            workload,
        )
        .map(Box::new),
        last_task_failure: last_task_failure(seen.app_id, seen.pods, Some(seen.version))
            .map(Box::new)
            .or_else(|| previous.and_then(|p| p.last_task_failure.clone())),
        untranslated: (!seen.untranslated.is_empty()).then(|| seen.untranslated.clone()),
        warnings: (!seen.warnings.is_empty()).then(|| seen.warnings.clone()),
    };
    set_conditions(&mut status, &seen, workload);
    status
}

/// Sets Available, Progressing, Degraded, Scheduled and TranslationWarnings.
fn set_conditions(
    status: &mut MarathonAppStatus,
    seen: &Observation<'_>,
    workload: &WorkloadState,
) {
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
    status.set_condition(scheduled(seen.pods, generation, now));
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
}

/// The workload's rollout as its pods show it (see `WorkloadState::confirmed_by_pods`): pods
/// carry the config-change version.
fn rollout_state(seen: &Observation<'_>) -> WorkloadState {
    let config_version = seen.version_info.last_config_change_at.as_deref().unwrap_or(seen.version);
    seen.workload.clone().confirmed_by_pods(seen.pods, config_version, seen.restart)
}

/// `Scheduled`: false while a task cannot be placed, with the scheduler's reason, so
/// `kubectl get`/`describe` says why an app does not start (GPUs, constraint labels, roles).
fn scheduled(pods: &[CachedPod], generation: Option<i64>, now: Timestamp) -> Condition {
    let unplaced: Vec<_> = pods.iter().filter_map(waiting).filter(|w| !w.crash_looping).collect();
    let message = match unplaced.first() {
        Some(first) => format!("{} task(s) cannot be placed: {}", unplaced.len(), first.reason),
        None => "every task is placed on a node".to_owned(),
    };
    let reason = if unplaced.is_empty() { "Scheduled" } else { "Unschedulable" };
    condition(
        condition::SCHEDULED,
        unplaced.is_empty(),
        reason,
        truncate(&message, 4096),
        generation,
        now,
    )
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
mod scheduling_tests {
    use super::*;

    #[test]
    fn an_unplaceable_task_says_why() {
        let pod: CachedPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "status": {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity."
            }]}
        }))
        .unwrap_or_default();
        let now = Timestamp::UNIX_EPOCH;
        let stuck = scheduled(std::slice::from_ref(&pod), Some(1), now);
        assert_eq!((stuck.status.as_str(), stuck.reason.as_str()), (FALSE, "Unschedulable"));
        assert!(stuck.message.contains("didn't match Pod's node affinity"), "{}", stuck.message);
        let placed = scheduled(&[], Some(1), now);
        assert_eq!(placed.status, TRUE);
    }
}
