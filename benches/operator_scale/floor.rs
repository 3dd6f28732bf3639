//! The floor phase (`--floor`): the plain client plus the two writes the operator's budget adds
//! per app (its first version's ControllerRevision and one status write), with no operator and
//! no watch of the operator's. Its ratio to the plain phase is what those writes alone cost the
//! control plane: the least any operator within the budget can cost on the same testbed.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use marathon_operator::crd::condition::{AVAILABLE, PROGRESSING, SCHEDULED, TRUE};
use marathon_operator::crd::{MarathonApp, MarathonAppStatus};
use marathon_operator::marathon::versions::{format_version, new_revision};
use marathon_operator::translate::names;

/// Creates the app's first revision and writes a converged app's status, as the operator
/// would; returns the writes made (2).
pub async fn budget_writes(client: &Client, ns: &str, stored: &MarathonApp) -> usize {
    let version = format_version(Timestamp::now());
    let spec = serde_json::to_value(&stored.spec).expect("spec");
    let revision = new_revision(stored, 1, &spec, &version, &version).expect("stored app");
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), ns);
    revisions.create(&PostParams::default(), &revision).await.expect("create revision");
    let body = serde_json::json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "status": converged_status(stored, &version),
    });
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let params = PatchParams::apply("bench-floor").force();
    apps.patch_status(&stored.name_any(), &params, &Patch::Apply(body)).await.expect("status");
    2
}

/// The status of a converged one-instance app, with the fields and conditions the
/// operator's status of the bench app carries.
fn converged_status(app: &MarathonApp, version: &str) -> MarathonAppStatus {
    let generation = app.metadata.generation;
    let condition = |type_: &str, reason: &str, message: &str| Condition {
        type_: type_.to_owned(),
        status: TRUE.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time: Time(Timestamp::now()),
    };
    MarathonAppStatus {
        observed_generation: generation,
        conditions: Some(vec![
            condition(AVAILABLE, "TasksRunning", "1 of 1 instances available"),
            condition(PROGRESSING, "DeploymentComplete", "version is rolled out"),
            condition(SCHEDULED, "Scheduled", "every task is placed on a node"),
        ]),
        replicas: Some(1),
        selector: Some(names::selector_string(&app.name_any())),
        tasks_running: Some(1),
        tasks_staged: Some(0),
        tasks_healthy: Some(1),
        tasks_unhealthy: Some(0),
        version: Some(version.to_owned()),
        ..MarathonAppStatus::default()
    }
}
