//! Tasks: each pod of an app is a Marathon task. Task state, health, counts and the last task
//! failure are computed here once, for the controller's status, the Marathon API, the CLI and
//! the UI alike.

use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::task_id;
use super::pod::{CachedContainerStatus, CachedPod};
use super::versions::format_version;
use crate::crd::TaskFailure;
use crate::crd::condition::TRUE;

/// A Marathon task (`/v2/tasks`, `/v2/apps/{id}/tasks`, `app.tasks`), field for field.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub app_id: String,
    /// The node the pod runs on (empty while it is not scheduled).
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slave_id: Option<String>,
    pub state: TaskState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One port per declared container port: the host port when one is bound, else the
    /// container port (reachable on the pod's IP, `ipAddresses`).
    pub ports: Vec<i32>,
    /// The app's service ports; filled only by `/v2/tasks`, as Marathon does.
    pub service_ports: Vec<i32>,
    pub ip_addresses: Vec<IpAddress>,
    /// Present for apps with health checks once the task runs (go-marathon reads a missing
    /// key as "no result yet" and an empty list as "all alive", so it is never empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_results: Option<Vec<HealthCheckResult>>,
    /// The pod's name and uid, for the operator's own use (not part of Marathon's task).
    #[serde(skip)]
    pub pod_name: String,
    #[serde(skip)]
    pub pod_uid: String,
}

/// Mesos task states, as Marathon reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    TaskStaging,
    TaskStarting,
    TaskRunning,
    TaskKilling,
    TaskFinished,
    TaskFailed,
    TaskUnreachable,
}

impl TaskState {
    /// Marathon's name (`TASK_RUNNING`), for filters and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::TaskStaging => "TASK_STAGING",
            TaskState::TaskStarting => "TASK_STARTING",
            TaskState::TaskRunning => "TASK_RUNNING",
            TaskState::TaskKilling => "TASK_KILLING",
            TaskState::TaskFinished => "TASK_FINISHED",
            TaskState::TaskFailed => "TASK_FAILED",
            TaskState::TaskUnreachable => "TASK_UNREACHABLE",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ip_address: String,
    pub protocol: &'static str,
}

/// The result of the app's health checks for one task: Kubernetes' readiness of the pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckResult {
    pub alive: bool,
    pub consecutive_failures: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    pub task_id: String,
    pub instance_id: String,
}

fn ready_since(pod: &CachedPod) -> Option<(bool, Option<Timestamp>)> {
    let ready = pod.condition("Ready")?;
    Some((ready.status == TRUE, ready.last_transition_time.as_ref().map(|t| t.0)))
}

fn phase(pod: &CachedPod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

fn main_container(pod: &CachedPod) -> Option<&CachedContainerStatus> {
    pod.status.as_ref()?.container_statuses.as_ref()?.first()
}

/// Whether the pod's node is lost: the node lifecycle controller marks the pods of a node that
/// stopped reporting not Ready while their containers stay ready (a kubelet never reports that
/// pair; the operator's pods have no readiness gates), and the taint manager evicts them with a
/// `DisruptionTarget` condition. Marathon calls such a task unreachable.
fn on_lost_node(pod: &CachedPod) -> bool {
    let ready = pod.condition("Ready").map(|c| c.status.as_str());
    let containers_ready = pod.condition("ContainersReady").map(|c| c.status.as_str());
    let marked_not_ready = ready == Some("False") && containers_ready == Some(TRUE);
    let evicted = pod
        .condition("DisruptionTarget")
        .is_some_and(|c| c.reason.as_deref() == Some("DeletionByTaintManager"));
    marked_not_ready || evicted
}

/// The Mesos state of a pod's task.
pub fn task_state(pod: &CachedPod) -> TaskState {
    if on_lost_node(pod) {
        return TaskState::TaskUnreachable;
    }
    if pod.is_terminating() {
        return TaskState::TaskKilling;
    }
    let scheduled = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
    match phase(pod) {
        "Running" => TaskState::TaskRunning,
        "Succeeded" => TaskState::TaskFinished,
        "Failed" => TaskState::TaskFailed,
        "Unknown" => TaskState::TaskUnreachable,
        _ if scheduled => TaskState::TaskStarting,
        _ => TaskState::TaskStaging,
    }
}

/// Host ports where bound, else container ports, of the pod's first container, in order.
fn ports(pod: &CachedPod) -> Vec<i32> {
    let Some(container) = pod.spec.as_ref().and_then(|s| s.containers.first()) else {
        return Vec::new();
    };
    container
        .ports
        .iter()
        .flatten()
        .map(|p| p.host_port.filter(|h| *h > 0).unwrap_or(p.container_port))
        .collect()
}

fn ip_addresses(pod: &CachedPod) -> Vec<IpAddress> {
    let Some(status) = &pod.status else { return Vec::new() };
    status
        .pod_ips
        .iter()
        .flatten()
        .map(|ip| IpAddress {
            protocol: if ip.ip.contains(':') { "IPv6" } else { "IPv4" },
            ip_address: ip.ip.clone(),
        })
        .collect()
}

fn started_at(pod: &CachedPod) -> Option<Timestamp> {
    let running = main_container(pod).and_then(|c| c.state.as_ref()?.running.as_ref());
    running
        .and_then(|r| r.started_at.as_ref().map(|t| t.0))
        .or_else(|| pod.status.as_ref()?.start_time.as_ref().map(|t| t.0))
}

fn health(pod: &CachedPod, id: &str, state: TaskState) -> Option<Vec<HealthCheckResult>> {
    if state != TaskState::TaskRunning {
        return None;
    }
    let (alive, since) = ready_since(pod).unwrap_or((false, None));
    let since = since.map(format_version);
    let instance_id = id.to_owned();
    let restarts = main_container(pod).map_or(0, |c| c.restart_count);
    Some(vec![HealthCheckResult {
        alive,
        consecutive_failures: if alive { 0 } else { restarts.max(1) },
        first_success: alive.then(|| since.clone()).flatten(),
        last_success: alive.then(|| since.clone()).flatten(),
        last_failure: (!alive).then_some(since).flatten(),
        task_id: id.to_owned(),
        instance_id,
    }])
}

/// The task of one pod of app `app_id`. `has_health_checks`: the app declares health checks
/// (only then are health results reported, as Marathon does).
pub fn task_of_pod(app_id: &str, pod: &CachedPod, has_health_checks: bool) -> Task {
    let id = task_id(app_id, pod.metadata.uid.as_deref().unwrap_or_default());
    let state = task_state(pod);
    let active = !matches!(state, TaskState::TaskFinished | TaskState::TaskFailed);
    let host = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    let version = pod.app_version();
    Task {
        health_check_results: has_health_checks.then(|| health(pod, &id, state)).flatten(),
        id,
        app_id: app_id.to_owned(),
        host: host.clone().unwrap_or_default(),
        slave_id: host,
        state,
        staged_at: active
            .then(|| pod.metadata.creation_timestamp.as_ref().map(|t| format_version(t.0)))
            .flatten(),
        started_at: (state == TaskState::TaskRunning)
            .then(|| started_at(pod))
            .flatten()
            .map(format_version),
        version: active.then(|| version.map(str::to_owned)).flatten(),
        ports: if active { ports(pod) } else { Vec::new() },
        service_ports: Vec::new(),
        ip_addresses: ip_addresses(pod),
        pod_name: pod.metadata.name.clone().unwrap_or_default(),
        pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
    }
}

/// The tasks of an app's pods, oldest first (Marathon lists them in launch order).
pub fn tasks_of_pods<'a>(
    app_id: &str,
    pods: impl IntoIterator<Item = &'a CachedPod>,
    has_health_checks: bool,
) -> Vec<Task> {
    let mut pods: Vec<&CachedPod> = pods.into_iter().collect();
    pods.sort_by(|a, b| {
        (&a.metadata.creation_timestamp, &a.metadata.name)
            .cmp(&(&b.metadata.creation_timestamp, &b.metadata.name))
    });
    pods.into_iter().map(|pod| task_of_pod(app_id, pod, has_health_checks)).collect()
}

/// A task waiting to launch: a pod the scheduler cannot place, or one whose container waits
/// to be restarted after crashing (Marathon's launch queue and backoff).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub pod: String,
    /// The scheduler's or the kubelet's reason.
    pub reason: String,
    pub since: Option<String>,
    /// Waiting out a restart back-off (Kubernetes' CrashLoopBackOff).
    pub crash_looping: bool,
}

/// Whether (and why) a pod's task waits to launch.
pub fn waiting(pod: &CachedPod) -> Option<Waiting> {
    if pod.is_terminating() {
        return None;
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let unscheduled =
        status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status != TRUE);
    if let Some(condition) = unscheduled {
        let reason = condition
            .message
            .clone()
            .or(condition.reason.clone())
            .unwrap_or_else(|| "not scheduled yet".to_owned());
        return Some(Waiting {
            pod: name,
            reason,
            since: condition.last_transition_time.as_ref().map(|t| format_version(t.0)),
            crash_looping: false,
        });
    }
    let backing_off = status.container_statuses.iter().flatten().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        (waiting.reason.as_deref() == Some("CrashLoopBackOff")).then(|| waiting.message.clone())
    })?;
    Some(Waiting {
        pod: name,
        reason: backing_off.unwrap_or_else(|| "CrashLoopBackOff".to_owned()),
        since: None,
        crash_looping: true,
    })
}

/// Annotation on a MarathonApp listing tasks to kill (JSON array of [`KillRequest`]): the
/// Marathon API asks, the controller (the only writer of pods) does it and removes the entry.
pub const ANNOTATION_KILL_TASKS: &str = "marathon-operator.dev/kill-tasks";

/// One task to kill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillRequest {
    /// The pod of the task.
    pub pod: String,
    /// Its uid: a replacement pod of the same name (StatefulSets) is never killed by mistake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The app's instances were lowered for it: this pod is the one to go (it is not replaced).
    #[serde(default)]
    pub scale: bool,
    /// Also release the task's claims (resident tasks), so its replacement starts empty.
    #[serde(default)]
    pub wipe: bool,
}

/// The kill requests of an annotation value (an unreadable value asks for nothing).
pub fn kill_requests(annotation: Option<&str>) -> Vec<KillRequest> {
    annotation.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

/// The annotation value with `new` requests added to `existing` ones (one entry per pod).
pub fn add_kill_requests(existing: Option<&str>, new: &[KillRequest]) -> String {
    let mut all = kill_requests(existing);
    for request in new {
        all.retain(|r| r.pod != request.pod);
        all.push(request.clone());
    }
    serde_json::to_string(&all).unwrap_or_else(|_| "[]".to_owned())
}

/// Marathon's task counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    pub running: i32,
    pub staged: i32,
    pub healthy: i32,
    pub unhealthy: i32,
}

/// Counts tasks as Marathon does: staged until running; healthy when every health result is
/// alive, unhealthy when one is not (tasks without results are neither). Killing and finished
/// tasks are not counted.
pub fn task_counts(tasks: &[Task]) -> TaskCounts {
    let mut counts = TaskCounts::default();
    for task in tasks {
        match task.state {
            TaskState::TaskStaging | TaskState::TaskStarting => counts.staged += 1,
            TaskState::TaskRunning => counts.running += 1,
            _ => continue,
        }
        match task.health_check_results.as_deref() {
            Some(results) if !results.is_empty() && results.iter().all(|r| r.alive) => {
                counts.healthy += 1
            }
            Some(results) if results.iter().any(|r| !r.alive) => counts.unhealthy += 1,
            _ => {}
        }
    }
    counts
}

/// The most recent container failure among the pods, as Marathon's `lastTaskFailure`.
pub fn last_task_failure(
    app_id: &str,
    pods: &[CachedPod],
    version: Option<&str>,
) -> Option<TaskFailure> {
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
            let state = if reason == "OOMKilled" { "TASK_KILLED" } else { "TASK_FAILED" };
            latest = Some((
                at,
                TaskFailure {
                    app_id: app_id.to_owned(),
                    host: host.clone(),
                    message: Some(message),
                    state: Some(state.to_owned()),
                    task_id: Some(task_id(app_id, pod.metadata.uid.as_deref().unwrap_or_default())),
                    timestamp: Some(format_version(at)),
                    version: version.map(str::to_owned),
                    slave_id: host,
                },
            ));
        }
    }
    latest.map(|(_, failure)| failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    fn pod(name: &str, phase: &str, ready: bool) -> CachedPod {
        serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "uid": format!("00000000-0000-0000-0000-00000000000{}", name.len()),
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "annotations": {"marathon-operator.dev/app-version": "2026-01-01T00:00:00.000Z"}
            },
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "ports": [
                {"containerPort": 8080}, {"containerPort": 9090, "hostPort": 31000}
            ]}]},
            "status": {
                "phase": phase,
                "podIPs": [{"ip": "10.244.0.7"}],
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"},
                                "lastTransitionTime": "2026-01-01T00:00:05Z"}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_pod_on_a_lost_node_is_unreachable() {
        // The node lifecycle controller's mark: Ready False, containers still ready.
        let mut lost = pod("a", "Running", false);
        let conditions = lost.status.as_mut().unwrap().conditions.as_mut().unwrap();
        conditions.push(
            serde_json::from_value(json!({"type": "ContainersReady", "status": "True"})).unwrap(),
        );
        assert_eq!(task_state(&lost), TaskState::TaskUnreachable);
        // Evicted by the taint manager, it stays unreachable while it terminates on the node.
        lost.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(task_state(&lost), TaskState::TaskUnreachable);
        // A failing health check (containers not ready) is not a lost node.
        let unhealthy = pod("b", "Running", false);
        assert_eq!(task_state(&unhealthy), TaskState::TaskRunning);
        let mut evicted = pod("c", "Running", true);
        evicted.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(task_state(&evicted), TaskState::TaskKilling);
        evicted.status.as_mut().unwrap().conditions.as_mut().unwrap().push(
            serde_json::from_value(json!({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager"})).unwrap(),
        );
        assert_eq!(task_state(&evicted), TaskState::TaskUnreachable);
    }

    #[test]
    fn counts_tasks_like_marathon() {
        let pods =
            [pod("a", "Running", true), pod("bb", "Running", false), pod("ccc", "Pending", false)];
        let with_checks = tasks_of_pods("/web", &pods, true);
        assert_eq!(
            task_counts(&with_checks),
            TaskCounts { running: 2, staged: 1, healthy: 1, unhealthy: 1 }
        );
        // Without health checks Marathon reports neither healthy nor unhealthy tasks.
        let without = tasks_of_pods("/web", &pods, false);
        assert_eq!(
            task_counts(&without),
            TaskCounts { running: 2, staged: 1, healthy: 0, unhealthy: 0 }
        );
    }

    #[test]
    fn a_running_pod_is_a_marathon_task() {
        let task = task_of_pod("/prod/web", &pod("a", "Running", true), true);
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["id"], "prod_web.00000000-0000-0000-0000-000000000001");
        assert_eq!(json["appId"], "/prod/web");
        assert_eq!(json["host"], "node-1");
        assert_eq!(json["state"], "TASK_RUNNING");
        assert_eq!(json["ports"], json!([8080, 31000]));
        assert_eq!(json["servicePorts"], json!([]));
        assert_eq!(json["ipAddresses"], json!([{"ipAddress": "10.244.0.7", "protocol": "IPv4"}]));
        assert_eq!(json["version"], "2026-01-01T00:00:00.000Z");
        assert_eq!(json["stagedAt"], "2026-01-01T00:00:00.000Z");
        assert_eq!(json["healthCheckResults"][0]["alive"], true);
        assert_eq!(json["healthCheckResults"][0]["firstSuccess"], "2026-01-01T00:00:05.000Z");
        assert!(json.get("podName").is_none());
        let staging = task_of_pod("/prod/web", &pod("b", "Pending", false), true);
        assert_eq!(staging.state, TaskState::TaskStarting);
        assert_eq!(staging.health_check_results, None, "no result before it runs");
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
        assert_eq!(failure.task_id.as_deref(), Some("web.00000000-0000-0000-0000-000000000005"));
        assert_eq!(failure.state.as_deref(), Some("TASK_KILLED"));
        assert_eq!(failure.host.as_deref(), Some("node-1"));
        assert_eq!(failure.timestamp.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    }
}
