//! Marathon deployments from workload state. A Marathon deployment is a rollout in progress;
//! here it is derived from the app's workload (Deployment or StatefulSet) and the app's
//! generation, so the controller's `status.deployment`, `GET /v2/deployments` and the id a
//! write returns to its client are one and the same.
//!
//! A group change is one Marathon deployment over many apps. The facade marks every app the
//! change writes (and every app it stops) with the annotation [`ANNOTATION_GROUP_DEPLOYMENT`]:
//! the shared deployment id and the step of that app's action. The deployment's steps,
//! progress and end are computed here from those marks and the apps' own rollouts, so
//! `/v2/deployments`, cancelling, the event stream and the UI read one truth.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::pod::CachedPod;
use super::versions::ANNOTATION_REQUESTED_VERSION;
use super::workload::CachedWorkload;
use crate::crd::{DeploymentAction, DeploymentStatus, DeploymentStep, MarathonApp};
use crate::translate::names::stable_hash;

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
    /// The state of a cached Deployment or StatefulSet.
    pub fn of<K>(workload: &CachedWorkload<K>) -> Self {
        let desired = workload.spec.replicas.unwrap_or(1);
        let Some(status) = &workload.status else {
            return Self { desired, ..Self::default() };
        };
        Self {
            desired,
            current: status.replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            observed: status.observed_generation >= workload.metadata.generation,
        }
    }

    /// The state as the app's pods already show it. Under load the workload controller
    /// reports its pods minutes after they run (at 10,000 apps applied at once, or on a busy
    /// control plane); when the workload has seen its spec and exactly `desired` live pods
    /// are ready and were made from the app's current definition (its config-change version
    /// `config_version` and its restart request `restart`), the rollout is over, and saying
    /// so now saves a status write at the late end. Old pods not yet terminating keep it
    /// going. A pod template change that is not a Marathon version (a new operator's
    /// translation, a HostVolume) is not a Marathon deployment and is not waited for here.
    pub fn confirmed_by_pods(
        self,
        pods: &[CachedPod],
        config_version: &str,
        restart: Option<&str>,
    ) -> Self {
        if !self.rolling_out() || !self.observed {
            return self;
        }
        let current = |p: &&CachedPod| {
            p.app_version() == Some(config_version) && p.restarted_at() == restart && p.is_ready()
        };
        let live: Vec<&CachedPod> = pods.iter().filter(|p| !p.is_terminating()).collect();
        let done = live.len() == self.desired as usize && live.iter().all(current);
        if !done {
            return self;
        }
        let desired = self.desired;
        Self { current: desired, updated: desired, ready: desired, available: desired, ..self }
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

/// The Marathon deployment of generation `generation` of an app while its rollout runs.
pub fn marathon_deployment(
    app_id: &str,
    app_uid: &str,
    generation: i64,
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
    Some(deployment(app_id, app_uid, generation, version, action))
}

/// A deployment of one app with one step of one action.
pub fn deployment(
    app_id: &str,
    app_uid: &str,
    generation: i64,
    version: &str,
    action: &str,
) -> DeploymentStatus {
    let action = DeploymentAction { action: action.to_owned(), app: app_id.to_owned() };
    DeploymentStatus {
        id: deployment_id(app_uid, generation),
        version: Some(version.to_owned()),
        steps: Some(vec![DeploymentStep { actions: vec![action.clone()] }]),
        current_actions: Some(vec![action]),
        current_step: Some(1),
        total_steps: Some(1),
    }
}

/// The Marathon deployment of an app as the cluster stores it: while the controller has not
/// yet seen the latest spec (generation), that generation's deployment is pending; after, the
/// controller's `status.deployment` says whether its rollout still runs.
pub fn current_deployment(app: &MarathonApp) -> Option<DeploymentStatus> {
    let own = own_deployment(app)?;
    let Some(mark) = GroupMark::of(app) else { return Some(own) };
    // A member of a group deployment shows the group's id (its own rollout is one action).
    Some(DeploymentStatus { id: mark.id, version: Some(mark.version), ..own })
}

/// The rollout of the app itself, under the id of its generation.
fn own_deployment(app: &MarathonApp) -> Option<DeploymentStatus> {
    let generation = app.metadata.generation.unwrap_or_default();
    let status = app.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation).unwrap_or_default();
    if observed < generation {
        let uid = app.metadata.uid.as_deref().unwrap_or_default();
        let version = app
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_REQUESTED_VERSION))
            .or(status.and_then(|s| s.version.as_ref()))
            .map(String::as_str)
            .unwrap_or_default();
        let action = if status.is_none() { "StartApplication" } else { "RestartApplication" };
        return Some(deployment(&app.spec.id, uid, generation, version, action));
    }
    status.and_then(|s| s.deployment.as_deref().cloned())
}

/// A UUID-shaped id, stable for one generation of one app: the Marathon API knows it as soon
/// as its write is stored, and clients polling `/v2/deployments` see the same id until the
/// rollout of that generation finishes.
pub fn deployment_id(app_uid: &str, generation: i64) -> String {
    let hex: String = (0..4)
        .map(|part| stable_hash(&format!("{part}/{app_uid}/{generation}")))
        .collect::<String>()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .chain(std::iter::repeat('0'))
        .take(32)
        .collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

// ----- group deployments ------------------------------------------------------------------------

/// Marks an app as one action of a group deployment (written by the facade with the change).
pub const ANNOTATION_GROUP_DEPLOYMENT: &str = "marathon-operator.dev/group-deployment";
pub const STOP: &str = "StopApplication";

/// What the mark of one app says: the deployment, and this app's part in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMark {
    pub id: String,
    pub version: String,
    /// 1-based step of this app's action in the plan.
    pub step: i32,
    pub action: String,
    /// The app's generation before the change (0: the change creates it). The mark covers
    /// the generation the change produced; a later change of the app leaves the deployment.
    pub from: i64,
    /// How many apps the whole plan acts on (stopped ones included): the deployment is not
    /// over before every one of them has been seen.
    pub apps: usize,
    /// The apps the change stops (its first step): done once no app has that id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped: Vec<String>,
}

impl GroupMark {
    /// The mark of `app`, when it has one that covers its current generation.
    pub fn of(app: &MarathonApp) -> Option<Self> {
        let raw = app.metadata.annotations.as_ref()?.get(ANNOTATION_GROUP_DEPLOYMENT)?;
        let mark: Self = serde_json::from_str(raw).ok()?;
        let generation = app.metadata.generation.unwrap_or_default();
        (generation <= mark.from + 1).then_some(mark)
    }

    /// The annotation value.
    pub fn annotation(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether `app` has carried out its action of the deployment it is marked with.
fn action_done(app: &MarathonApp, mark: &GroupMark) -> bool {
    if mark.action == STOP {
        return false;
    }
    let status = app.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation).unwrap_or_default();
    observed >= app.metadata.generation.unwrap_or_default()
        && status.and_then(|s| s.deployment.as_ref()).is_none()
}

/// A group deployment as its apps show it now.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDeployment {
    /// Steps in order; `current_step` is the first with an action not done (the last when
    /// every action is done).
    pub status: DeploymentStatus,
    /// Every action seen is done.
    pub finished: bool,
    /// Every app of the plan has been seen (the facade writes them one after the other).
    pub complete: bool,
    /// The apps marked with it (stopped apps still present included).
    pub members: Vec<String>,
}

impl GroupDeployment {
    /// Still running, as `/v2/deployments` lists it. (An app of the plan not seen yet does
    /// not keep it listed: a member deleted meanwhile would keep it there for ever.)
    pub fn running(&self) -> bool {
        !self.finished
    }

    /// Over: every app of the plan seen and every action done.
    pub fn succeeded(&self) -> bool {
        self.finished && self.complete
    }
}

/// The group deployment `id` as `apps` (every app, any order) show it; `None` when no app
/// carries its mark.
pub fn group_deployment(id: &str, apps: &[&MarathonApp]) -> Option<GroupDeployment> {
    let marked: Vec<(&MarathonApp, GroupMark)> = apps
        .iter()
        .filter_map(|app| GroupMark::of(app).filter(|m| m.id == id).map(|m| (*app, m)))
        .collect();
    let (_, first) = marked.first()?;
    let present: BTreeSet<&str> = apps.iter().map(|a| a.spec.id.as_str()).collect();
    // step -> app -> (action, done)
    let mut steps: BTreeMap<i32, BTreeMap<String, (String, bool)>> = BTreeMap::new();
    for stopped in marked.iter().flat_map(|(_, m)| &m.stopped) {
        let done = !present.contains(stopped.as_str());
        steps.entry(1).or_default().insert(stopped.clone(), (STOP.to_owned(), done));
    }
    for (app, mark) in &marked {
        let done = action_done(app, mark);
        let action = (mark.action.clone(), done);
        steps.entry(mark.step).or_default().insert(app.spec.id.clone(), action);
    }
    let seen: BTreeSet<&String> = steps.values().flat_map(BTreeMap::keys).collect();
    let complete = seen.len() >= first.apps;
    let current = steps.values().position(|s| s.values().any(|(_, done)| !done));
    let finished = current.is_none();
    let current = current.unwrap_or(steps.len().saturating_sub(1));
    let plan: Vec<DeploymentStep> = steps
        .values()
        .map(|step| DeploymentStep {
            actions: step
                .iter()
                .map(|(app, (action, _))| DeploymentAction {
                    action: action.clone(),
                    app: app.clone(),
                })
                .collect(),
        })
        .collect();
    let current_actions = plan.get(current).map(|s| s.actions.clone()).unwrap_or_default();
    let status = DeploymentStatus {
        id: id.to_owned(),
        version: Some(first.version.clone()),
        total_steps: Some(plan.len() as i32),
        current_step: Some(current as i32 + 1),
        current_actions: Some(current_actions),
        steps: Some(plan),
    };
    let members = marked.iter().map(|(app, _)| app.spec.id.clone()).collect();
    Some(GroupDeployment { status, finished, complete, members })
}

/// The ids of the group deployments `apps` are marked with.
pub fn group_deployment_ids<'a>(
    apps: impl IntoIterator<Item = &'a MarathonApp>,
) -> BTreeSet<String> {
    apps.into_iter().filter_map(GroupMark::of).map(|m| m.id).collect()
}

/// Marathon's action for a change of an app's definition from `old` (`None`: the change
/// creates it) to `new`: `None` when nothing changes.
pub fn change_action(
    old: Option<&crate::crd::MarathonAppSpec>,
    new: &crate::crd::MarathonAppSpec,
) -> Option<&'static str> {
    let Some(old) = old else { return Some("StartApplication") };
    let json = |spec: &crate::crd::MarathonAppSpec| serde_json::to_value(spec).ok();
    if json(old) == json(new) {
        return None;
    }
    let mut rescaled = old.clone();
    rescaled.instances = new.instances;
    Some(if json(&rescaled) == json(new) { "ScaleApplication" } else { "RestartApplication" })
}

/// Every Marathon deployment running: each group deployment once, and the rollout of each
/// app that is no member of one.
pub fn running_deployments(apps: &[&MarathonApp]) -> Vec<DeploymentStatus> {
    let mut running = Vec::new();
    let mut groups = BTreeSet::new();
    for app in apps {
        match GroupMark::of(app) {
            None => running.extend(own_deployment(app)),
            Some(mark) => {
                if groups.insert(mark.id.clone())
                    && let Some(group) = group_deployment(&mark.id, apps)
                    && group.running()
                {
                    running.push(group.status);
                }
            }
        }
    }
    running
}

#[cfg(test)]
#[path = "deployments_tests.rs"]
mod group_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::names;

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
            marathon_deployment("/web", "uid", 2, "2026-01-01T00:00:00.000Z", &rolling).unwrap();
        assert_eq!(deployment.current_actions.unwrap()[0].action, "RestartApplication");
        assert_eq!(deployment.id, deployment_id("uid", 2));
        assert_ne!(deployment.id, deployment_id("uid", 3));
        assert_ne!(deployment.id, deployment_id("other", 2));
        assert_eq!(deployment.id.len(), 36);
        let done = WorkloadState {
            desired: 3,
            current: 3,
            updated: 3,
            ready: 3,
            available: 3,
            observed: true,
        };
        assert!(marathon_deployment("/web", "uid", 2, "v", &done).is_none());
        let fresh = WorkloadState { desired: 2, ..WorkloadState::default() };
        let start = marathon_deployment("/web", "uid", 1, "v", &fresh).unwrap();
        assert_eq!(start.current_actions.unwrap()[0].action, "StartApplication");
    }

    fn pod(name: &str, version: &str, ready: bool, terminating: bool) -> CachedPod {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "annotations": {names::ANNOTATION_APP_VERSION: version},
                "deletionTimestamp": terminating.then_some("2026-01-01T00:00:00Z"),
            },
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap()
    }

    /// The workload controller has seen the spec but not yet reported the pods.
    fn lagging(desired: i32) -> WorkloadState {
        WorkloadState { desired, observed: true, ..Default::default() }
    }

    fn restarted(mut pod: CachedPod, at: &str) -> CachedPod {
        pod.restarted_at = Some(at.into());
        pod
    }

    #[test]
    fn ready_pods_on_the_version_end_a_rollout_the_workload_status_has_not_caught_up_with() {
        let v = "2026-01-02T00:00:00.000Z";
        let pods = [pod("a", v, true, false), pod("b", v, true, false)];
        let state = lagging(2).confirmed_by_pods(&pods, v, None);
        assert!(!state.rolling_out(), "{state:?}");
        assert_eq!((state.current, state.ready, state.available), (2, 2, 2));
        // Once the workload controller catches up, the state is the same: no second write.
        let caught_up =
            WorkloadState { current: 2, updated: 2, ready: 2, available: 2, ..lagging(2) };
        assert_eq!(caught_up.clone().confirmed_by_pods(&pods, v, None), caught_up);
        let renewed = [restarted(pods[0].clone(), "r1"), restarted(pods[1].clone(), "r1")];
        assert!(!lagging(2).confirmed_by_pods(&renewed, v, Some("r1")).rolling_out());
    }

    #[test]
    fn pods_do_not_end_a_rollout_they_have_not_finished() {
        let (old, v) = ("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z");
        let ready = |name| pod(name, v, true, false);
        let cases: [(&str, WorkloadState, Vec<CachedPod>); 6] = [
            ("a pod not ready", lagging(2), vec![ready("a"), pod("b", v, false, false)]),
            ("a pod of the old version", lagging(2), vec![ready("a"), pod("b", old, true, false)]),
            (
                "an old pod not yet terminating",
                lagging(2),
                vec![ready("a"), ready("b"), ready("c")],
            ),
            ("too few pods", lagging(2), vec![ready("a")]),
            (
                "spec not yet seen by the workload controller",
                WorkloadState { observed: false, ..lagging(2) },
                vec![ready("a"), ready("b")],
            ),
            (
                "a restart whose new pods have not replaced the old ones",
                lagging(2),
                vec![restarted(ready("a"), "r2"), ready("b")],
            ),
        ];
        for (case, state, pods) in cases {
            let restart = case.starts_with("a restart").then_some("r2");
            assert!(state.confirmed_by_pods(&pods, v, restart).rolling_out(), "{case}");
        }
        // Terminating pods are on their way out and do not count.
        let leaving = [ready("a"), ready("b"), pod("c", old, true, true)];
        assert!(!lagging(2).confirmed_by_pods(&leaving, v, None).rolling_out());
    }
}
