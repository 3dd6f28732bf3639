//! Marathon's event bus (`/v2/events`), derived: an object as it was and as it is now give the
//! events Marathon would have emitted for that change. Apps give the API, group and deployment
//! events; pods give the task, instance and health events. Pure, so the event stream of every
//! replica and the tests compute the same events from the same objects.

use super::pod::CachedPod;
use serde_json::{Map, Value, json};

use super::app_json::definition;
use super::deployments::{GroupMark, current_deployment, deployment, deployment_id};
use super::ids::parent;
use super::tasks::{Task, TaskState, task_of_pod};
use crate::crd::{DeploymentStatus, MarathonApp, MarathonAppSpec};

/// One event: its type and its JSON (which carries `eventType` and `timestamp` too).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_type: &'static str,
    pub data: Value,
}

impl Event {
    /// An event of `event_type` at `timestamp` with `fields`.
    pub fn new(event_type: &'static str, timestamp: &str, fields: Value) -> Self {
        let mut data = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        data.insert("eventType".into(), json!(event_type));
        data.insert("timestamp".into(), json!(timestamp));
        Self { event_type, data: Value::Object(data) }
    }

    /// Marathon's Server-Sent Events framing: `event:` and `data:` lines (the JSON on one
    /// line), CRLF line ends, a blank line after each event.
    pub fn frame(&self) -> String {
        format!("event: {}\r\ndata: {}\r\n\r\n", self.event_type, self.data)
    }
}

/// `event_stream_attached` / `event_stream_detached` for the client at `remote_address`.
pub fn stream_event(attached: bool, remote_address: &str, timestamp: &str) -> Event {
    let event_type = if attached { "event_stream_attached" } else { "event_stream_detached" };
    Event::new(event_type, timestamp, json!({ "remoteAddress": remote_address }))
}

/// `group_change_success` for a change rooted at `group_id`.
pub fn group_change(group_id: &str, version: &str, timestamp: &str) -> Event {
    Event::new("group_change_success", timestamp, json!({"groupId": group_id, "version": version}))
}

/// `group_change_failed`: a group change that was accepted and then could not be stored
/// completely (one of its app writes failed).
pub fn group_change_failed(group_id: &str, version: &str, reason: &str, timestamp: &str) -> Event {
    Event::new(
        "group_change_failed",
        timestamp,
        json!({"groupId": group_id, "version": version, "reason": reason}),
    )
}

// ----- apps and deployments ------------------------------------------------------------------

/// The root group as a deployment plan's `original`/`target` shows it, holding `spec` (when
/// the app exists on that side) inside its parent groups. Marathon's plans carry the whole
/// root; here it holds the app the plan is about.
fn root_with(spec: Option<&MarathonAppSpec>, version: &str) -> Value {
    let Some(spec) = spec else {
        return group_json("/", Vec::new(), Vec::new(), version);
    };
    let mut app = definition(spec);
    app["version"] = json!(version);
    let mut node = None;
    let mut id = parent(&spec.id).to_owned();
    loop {
        let groups = node.take().into_iter().collect::<Vec<_>>();
        let apps = if groups.is_empty() { vec![app.clone()] } else { Vec::new() };
        node = Some(group_json(&id, apps, groups, version));
        if id == "/" {
            break;
        }
        id = parent(&id).to_owned();
    }
    node.unwrap_or_else(|| group_json("/", Vec::new(), Vec::new(), version))
}

fn group_json(id: &str, apps: Vec<Value>, groups: Vec<Value>, version: &str) -> Value {
    json!({"id": id, "apps": apps, "groups": groups, "pods": [], "dependencies": [], "version": version})
}

fn actions_json(actions: &[crate::crd::DeploymentAction]) -> Value {
    json!(actions.iter().map(|a| json!({"action": a.action, "app": a.app})).collect::<Vec<_>>())
}

/// A deployment plan: `id`, `version`, `steps`, and (for marathon-python, which reads them)
/// `original` and `target`.
fn plan(
    deployment: &DeploymentStatus,
    original: Option<&MarathonAppSpec>,
    target: Option<&MarathonAppSpec>,
) -> Value {
    let version = deployment.version.clone().unwrap_or_default();
    let steps: Vec<Value> = deployment
        .steps
        .iter()
        .flatten()
        .map(|s| json!({"actions": actions_json(&s.actions)}))
        .collect();
    json!({
        "id": deployment.id,
        "version": version,
        "steps": steps,
        "original": root_with(original, &version),
        "target": root_with(target, &version),
    })
}

fn current_step(deployment: &DeploymentStatus) -> Value {
    let actions = deployment.current_actions.clone().unwrap_or_default();
    json!({ "actions": actions_json(&actions) })
}

/// The sides of a deployment event: the plan and the definitions before and after.
struct Sides<'a> {
    deployment: &'a DeploymentStatus,
    original: Option<&'a MarathonAppSpec>,
    target: Option<&'a MarathonAppSpec>,
}

impl Sides<'_> {
    fn plan(&self) -> Value {
        plan(self.deployment, self.original, self.target)
    }

    fn info(&self, now: &str) -> Event {
        let fields = json!({"plan": self.plan(), "currentStep": current_step(self.deployment)});
        Event::new("deployment_info", now, fields)
    }

    fn step_success(&self, now: &str) -> Event {
        let fields = json!({"plan": self.plan(), "currentStep": current_step(self.deployment)});
        Event::new("deployment_step_success", now, fields)
    }

    fn success(&self, now: &str) -> Event {
        Event::new(
            "deployment_success",
            now,
            json!({"id": self.deployment.id, "plan": self.plan()}),
        )
    }

    fn step_failure(&self, now: &str) -> Event {
        let fields = json!({"plan": self.plan(), "currentStep": current_step(self.deployment)});
        Event::new("deployment_step_failure", now, fields)
    }

    fn failed(&self, reason: &str, now: &str) -> Event {
        let fields = json!({"id": self.deployment.id, "plan": self.plan(), "reason": reason});
        Event::new("deployment_failed", now, fields)
    }

    /// A whole deployment seen only once it had finished: its start and its end.
    fn completed(&self, now: &str) -> [Event; 3] {
        [self.info(now), self.step_success(now), self.success(now)]
    }

    /// A deployment ended before its step did: the step fails, then the deployment.
    fn aborted(&self, reason: &str, now: &str) -> [Event; 2] {
        [self.step_failure(now), self.failed(reason, now)]
    }
}

fn generation(app: &MarathonApp) -> i64 {
    app.metadata.generation.unwrap_or_default()
}

fn observed(app: &MarathonApp) -> i64 {
    app.status.as_ref().and_then(|s| s.observed_generation).unwrap_or_default()
}

fn uid(app: &MarathonApp) -> &str {
    app.metadata.uid.as_deref().unwrap_or_default()
}

fn version(app: &MarathonApp) -> String {
    current_deployment(app)
        .and_then(|d| d.version)
        .or_else(|| app.status.as_ref().and_then(|s| s.version.clone()))
        .unwrap_or_default()
}

/// The events of one change of a MarathonApp (`None`: absent before, or deleted).
pub fn app_events(old: Option<&MarathonApp>, new: Option<&MarathonApp>, now: &str) -> Vec<Event> {
    match (old, new) {
        (_, Some(new)) => changed(old, new, now),
        (Some(old), None) => deleted(old, now),
        (None, None) => Vec::new(),
    }
}

/// A new or changed app: a new generation is an API write (`api_post_event`,
/// `group_change_success`); deployments start, finish or are superseded.
fn changed(old: Option<&MarathonApp>, new: &MarathonApp, now: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let new_generation = old.is_none_or(|old| generation(old) < generation(new));
    if new_generation {
        let uri = format!("/v2/apps{}", new.spec.id);
        let mut app = definition(&new.spec);
        app["version"] = json!(version(new));
        events.push(Event::new(
            "api_post_event",
            now,
            json!({"clientIp": null, "uri": uri, "appDefinition": app}),
        ));
        events.push(group_change(parent(&new.spec.id), &version(new), now));
        events.extend(health_check_changes(
            old.map(|o| &o.spec),
            Some(&new.spec),
            &version(new),
            now,
        ));
    }
    // The deployments of group members are the group's (`GroupProgress`).
    if GroupMark::of(new).is_some() {
        return events;
    }
    let was_member = old.is_some_and(|old| GroupMark::of(old).is_some());
    let before = old.filter(|_| !was_member).and_then(current_deployment);
    let after = current_deployment(new);
    let original = old.map(|o| &o.spec);
    let target = Some(&new.spec);
    match (&before, &after) {
        (None, None) if was_member => {}
        (None, None) if old.is_some_and(|old| observed(old) < observed(new)) => {
            // The whole rollout happened between two observations.
            let finished = deployment(&new.spec.id, uid(new), observed(new), &version(new), "");
            let finished = without_actions(finished);
            events.extend(Sides { deployment: &finished, original, target }.completed(now));
        }
        (None, None) => {}
        (None, Some(started)) => {
            events.push(Sides { deployment: started, original, target }.info(now))
        }
        (Some(running), Some(next)) if running.id == next.id => {
            if running.current_step != next.current_step {
                let sides = Sides { deployment: running, original, target };
                events.push(sides.step_success(now));
                events.push(Sides { deployment: next, original, target }.info(now));
            }
        }
        (Some(running), Some(next)) => {
            let superseded = Sides { deployment: running, original, target };
            events.extend(superseded.aborted("superseded by a newer deployment", now));
            events.push(Sides { deployment: next, original, target }.info(now));
        }
        (Some(running), None) => {
            let sides = Sides { deployment: running, original, target };
            if running.id == deployment_id(uid(new), observed(new)) {
                events.push(sides.step_success(now));
                events.push(sides.success(now));
            } else {
                events.extend(sides.aborted("superseded by a newer deployment", now));
                let finished = deployment(&new.spec.id, uid(new), observed(new), &version(new), "");
                let finished = without_actions(finished);
                events.extend(Sides { deployment: &finished, original, target }.completed(now));
            }
        }
    }
    events
}

/// A deployment whose steps are not known (it was seen only after it ended).
fn without_actions(mut deployment: DeploymentStatus) -> DeploymentStatus {
    deployment.steps = Some(Vec::new());
    deployment.current_actions = Some(Vec::new());
    deployment.total_steps = Some(0);
    deployment
}

/// A deleted app: its running deployment is cancelled, and the deletion is a deployment of
/// one `StopApplication` step (the id the facade's DELETE answered with).
fn deleted(old: &MarathonApp, now: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let version = version(old);
    let grouped = GroupMark::of(old).is_some();
    // A member of a group deployment: the group's events say how its deployment went.
    if !grouped && let Some(running) = current_deployment(old) {
        let sides = Sides { deployment: &running, original: Some(&old.spec), target: None };
        events.extend(sides.aborted("the app was deleted", now));
    }
    events.push(group_change(parent(&old.spec.id), &version, now));
    events.extend(health_check_changes(Some(&old.spec), None, &version, now));
    if grouped {
        events.push(Event::new("app_terminated_event", now, json!({"appId": old.spec.id})));
        return events;
    }
    let stop = deployment(&old.spec.id, uid(old), generation(old) + 1, now, "StopApplication");
    let sides = Sides { deployment: &stop, original: Some(&old.spec), target: None };
    events.push(sides.info(now));
    events.push(Event::new("app_terminated_event", now, json!({"appId": old.spec.id})));
    events.push(sides.step_success(now));
    events.push(sides.success(now));
    events
}

/// `add_health_check_event` for each health check a new version adds (Marathon starts a
/// checker for it) and `remove_health_check_event` when checks go away (checkers stopped).
fn health_check_changes(
    old: Option<&MarathonAppSpec>,
    new: Option<&MarathonAppSpec>,
    version: &str,
    now: &str,
) -> Vec<Event> {
    let checks = |spec: Option<&MarathonAppSpec>| -> Vec<Value> {
        let checks = spec.and_then(|s| s.health_checks.as_ref()).into_iter().flatten();
        checks.filter_map(|c| serde_json::to_value(c).ok()).collect()
    };
    let (before, after) = (checks(old), checks(new));
    let Some(app_id) = new.or(old).map(|s| s.id.as_str()) else { return Vec::new() };
    let mut events: Vec<Event> = after
        .iter()
        .filter(|check| !before.contains(check))
        .map(|check| {
            Event::new(
                "add_health_check_event",
                now,
                json!({"appId": app_id, "version": version, "healthCheck": check}),
            )
        })
        .collect();
    if before.iter().any(|check| !after.contains(check)) {
        events.push(Event::new("remove_health_check_event", now, json!({"appId": app_id})));
    }
    events
}

// ----- tasks -----------------------------------------------------------------------------------

/// What the task events of a pod need to know of its app.
pub struct TaskContext<'a> {
    pub app_id: &'a str,
    /// The app's first health check (Marathon JSON), when it declares any.
    pub health_check: Option<&'a Value>,
}

/// Marathon's name for a task state; a pod that is gone was killed (unless it had ended).
fn status_name(state: Option<TaskState>) -> &'static str {
    state.map_or("TASK_KILLED", TaskState::as_str)
}

/// The instance condition (`instance_changed_event`) of a task state.
fn condition_name(status: &str) -> &'static str {
    match status {
        "TASK_STAGING" => "Staging",
        "TASK_STARTING" => "Starting",
        "TASK_RUNNING" => "Running",
        "TASK_KILLING" => "Killing",
        "TASK_FINISHED" => "Finished",
        "TASK_FAILED" => "Failed",
        "TASK_UNREACHABLE" => "Unreachable",
        "TASK_KILLED" => "Killed",
        _ => "Unknown",
    }
}

fn ended(state: TaskState) -> bool {
    matches!(state, TaskState::TaskFinished | TaskState::TaskFailed)
}

/// The events of one change of a pod of the app `context` (`None`: absent before, or deleted).
pub fn task_events(
    context: &TaskContext<'_>,
    old: Option<&CachedPod>,
    new: Option<&CachedPod>,
    now: &str,
) -> Vec<Event> {
    let has_checks = context.health_check.is_some();
    let before = old.map(|p| task_of_pod(context.app_id, p, has_checks));
    let after = new.map(|p| task_of_pod(context.app_id, p, has_checks));
    let mut events = Vec::new();
    let (task, status) = match (&before, &after) {
        (_, Some(task)) => (task, task.state.as_str()),
        // A pod that ended before it was removed already reported its last state.
        (Some(task), None) if ended(task.state) => return events,
        (Some(task), None) => (task, status_name(None)),
        (None, None) => return events,
    };
    if before.as_ref().is_none_or(|b| b.state.as_str() != status) || after.is_none() {
        events.push(status_update(task, status, now));
        events.push(instance_changed(task, status, now));
    }
    let running = |p: Option<&CachedPod>, t: &Option<Task>| {
        p.is_some_and(CachedPod::is_ready)
            && t.as_ref().is_some_and(|t| t.state == TaskState::TaskRunning)
    };
    let (was, is) = (running(old, &before), running(new, &after));
    if has_checks && after.is_some() && was != is {
        events.push(health_changed(context, task, is, now));
        events.push(instance_health_changed(task, is, now));
        if !is && before.as_ref().is_some_and(|b| b.state == TaskState::TaskRunning) {
            events.push(Event::new(
                "failed_health_check_event",
                now,
                json!({"appId": context.app_id, "taskId": task.id, "instanceId": task.id,
                       "healthCheck": context.health_check}),
            ));
        }
    }
    events
}

fn status_update(task: &Task, status: &str, now: &str) -> Event {
    Event::new(
        "status_update_event",
        now,
        json!({
            "slaveId": task.slave_id.clone().unwrap_or_default(),
            "taskId": task.id,
            "taskStatus": status,
            "message": "",
            "appId": task.app_id,
            "host": task.host,
            "ipAddresses": task.ip_addresses,
            "ports": task.ports,
            "version": task.version.clone().unwrap_or_default(),
        }),
    )
}

fn instance_changed(task: &Task, status: &str, now: &str) -> Event {
    Event::new(
        "instance_changed_event",
        now,
        json!({
            "instanceId": task.id,
            "condition": condition_name(status),
            "runSpecId": task.app_id,
            "agentId": task.slave_id.clone().unwrap_or_default(),
            "host": task.host,
            "runSpecVersion": task.version.clone().unwrap_or_default(),
        }),
    )
}

/// Health flips carry both `instanceId` (Marathon 1.4+) and `taskId` (what go-marathon reads).
fn health_changed(context: &TaskContext<'_>, task: &Task, alive: bool, now: &str) -> Event {
    Event::new(
        "health_status_changed_event",
        now,
        json!({
            "appId": context.app_id,
            "instanceId": task.id,
            "taskId": task.id,
            "version": task.version.clone().unwrap_or_default(),
            "alive": alive,
        }),
    )
}

/// `instance_health_changed_event` (Marathon 1.4+): the instance's health flipped.
fn instance_health_changed(task: &Task, healthy: bool, now: &str) -> Event {
    Event::new(
        "instance_health_changed_event",
        now,
        json!({
            "instanceId": task.id,
            "runSpecId": task.app_id,
            "runSpecVersion": task.version.clone().unwrap_or_default(),
            "healthy": healthy,
        }),
    )
}

#[path = "events_group.rs"]
mod group;
pub use group::GroupProgress;

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
