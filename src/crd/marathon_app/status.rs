//! `MarathonAppStatus`: Marathon's view of the running app, written by the controller.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resources::VersionInfo;

/// Marathon-style state of the app, written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarathonAppStatus {
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Available`, `Progressing`, `Degraded`, `Scheduled` and `TranslationWarnings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<Condition>>,
    /// Number of pods of the app (the scale subresource reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Label selector of the app's pods, as a string (the scale subresource and HPAs read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Tasks that are running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_running: Option<i32>,
    /// Tasks that are staged (scheduled, not yet running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_staged: Option<i32>,
    /// Tasks whose health checks all pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_healthy: Option<i32>,
    /// Tasks with a failing health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_unhealthy: Option<i32>,
    /// The current Marathon version of the definition (ISO-8601 timestamp with milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Times of the last scaling and the last configuration change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<Box<VersionInfo>>,
    /// The Marathon deployment in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Box<DeploymentStatus>>,
    /// The last task failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_task_failure: Option<Box<TaskFailure>>,
    /// Paths of the spec fields that were not translated (unknown or unsupported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untranslated: Option<Vec<String>>,
    /// Translation warnings (approximations), one sentence each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// A Marathon deployment (rollout) in progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    /// Deployment id (a UUID).
    pub id: String,
    /// Target version of the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The steps of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<DeploymentStep>>,
    /// Actions of the step in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_actions: Option<Vec<DeploymentAction>>,
    /// 1-based index of the step in progress (0 before the first starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<i32>,
    /// Number of steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_steps: Option<i32>,
}

/// One step of a deployment plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStep {
    /// Actions run in parallel in this step.
    pub actions: Vec<DeploymentAction>,
}

/// One action of a deployment step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAction {
    /// `StartApplication`, `ScaleApplication`, `RestartApplication` or `StopApplication`.
    pub action: String,
    /// Id of the app the action is about.
    pub app: String,
}

/// The last failure of a task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailure {
    /// Id of the app.
    pub app_id: String,
    /// Node the task ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Final Mesos-style state, for example `TASK_FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Id of the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Version of the app the task ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Id of the node (Mesos agent id in Marathon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slave_id: Option<String>,
}

impl MarathonAppStatus {
    /// Sets a condition, keeping `lastTransitionTime` unless the status changes.
    pub fn set_condition(&mut self, condition: Condition) -> bool {
        super::super::condition::set_condition(
            self.conditions.get_or_insert_with(Vec::new),
            condition,
        )
    }
}
