//! Marathon deployments from workload state. A Marathon deployment is a rollout in progress;
//! here it is derived from the app's workload (Deployment or StatefulSet) and the app's
//! generation, so the controller's `status.deployment`, `GET /v2/deployments` and the id a
//! write returns to its client are one and the same.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};

use super::versions::ANNOTATION_REQUESTED_VERSION;
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
    status.and_then(|s| s.deployment.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
