use k8s_openapi::api::core::v1::PodCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::crd::MarathonAppStatus;
use crate::marathon::deployments::{WorkloadState, marathon_deployment};
use crate::marathon::pod::{CachedPodSpec, CachedPodStatus};

const NOW: &str = "2026-01-01T00:00:00.000Z";

fn app(generation: i64) -> MarathonApp {
    let spec: MarathonAppSpec =
        serde_json::from_value(json!({"id": "/prod/web", "cmd": "sleep 1000", "instances": 2}))
            .unwrap();
    let mut app = MarathonApp::new("prod-web", spec);
    app.metadata.uid = Some("uid-1".into());
    app.metadata.generation = Some(generation);
    app
}

/// The app after the controller observed `generation`, still rolling out or done.
fn observed(generation: i64, rolling: bool) -> MarathonApp {
    let mut app = app(generation);
    let workload = WorkloadState {
        desired: 2,
        current: 2,
        updated: if rolling { 1 } else { 2 },
        ready: 2,
        available: 2,
        observed: true,
    };
    app.status = Some(MarathonAppStatus {
        observed_generation: Some(generation),
        version: Some(NOW.into()),
        deployment: marathon_deployment("/prod/web", "uid-1", generation, NOW, &workload)
            .map(Box::new),
        ..MarathonAppStatus::default()
    });
    app
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.event_type).collect()
}

#[test]
fn framing_is_marathons_with_crlf_and_type_and_timestamp_in_the_json() {
    let event = stream_event(true, "10.0.0.1", NOW);
    assert_eq!(
        event.frame(),
        "event: event_stream_attached\r\ndata: {\"remoteAddress\":\"10.0.0.1\",\"eventType\":\"event_stream_attached\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}\r\n\r\n"
    );
}

#[test]
fn a_new_app_is_a_post_a_group_change_and_a_deployment_start() {
    let events = app_events(None, Some(&app(1)), NOW);
    assert_eq!(types(&events), ["api_post_event", "group_change_success", "deployment_info"]);
    assert_eq!(events[0].data["uri"], "/v2/apps/prod/web");
    assert_eq!(events[0].data["appDefinition"]["id"], "/prod/web");
    assert_eq!(events[1].data["groupId"], "/prod");
    let plan = &events[2].data["plan"];
    assert_eq!(plan["id"], deployment_id("uid-1", 1));
    assert_eq!(plan["steps"][0]["actions"][0]["action"], "StartApplication");
    // marathon-python reads original and target; the target holds the app in its group.
    assert_eq!(plan["original"]["apps"], json!([]));
    assert_eq!(plan["target"]["id"], "/");
    assert_eq!(plan["target"]["groups"][0]["id"], "/prod");
    assert_eq!(plan["target"]["groups"][0]["apps"][0]["id"], "/prod/web");
    assert_eq!(events[2].data["currentStep"]["actions"][0]["app"], "/prod/web");
}

#[test]
fn the_deployment_succeeds_when_the_rollout_of_its_generation_ends() {
    let pending = app(1);
    let rolling = observed(1, true);
    let done = observed(1, false);
    // The controller taking over the pending deployment is the same deployment.
    assert!(app_events(Some(&pending), Some(&rolling), NOW).is_empty());
    let events = app_events(Some(&rolling), Some(&done), NOW);
    assert_eq!(types(&events), ["deployment_step_success", "deployment_success"]);
    assert_eq!(events[1].data["id"], deployment_id("uid-1", 1));
    assert_eq!(events[1].data["plan"]["id"], deployment_id("uid-1", 1));
}

#[test]
fn a_forced_change_during_a_rollout_fails_the_running_deployment() {
    let rolling = observed(1, true);
    let events = app_events(
        Some(&rolling),
        Some(&{
            let mut next = app(2);
            next.status = rolling.status.clone();
            next
        }),
        NOW,
    );
    assert_eq!(
        types(&events),
        [
            "api_post_event",
            "group_change_success",
            "deployment_step_failure",
            "deployment_failed",
            "deployment_info"
        ]
    );
    assert_eq!(events[2].data["plan"]["id"], deployment_id("uid-1", 1));
    assert_eq!(events[3].data["id"], deployment_id("uid-1", 1));
    assert_eq!(events[4].data["plan"]["id"], deployment_id("uid-1", 2));
}

#[test]
fn a_rollout_seen_only_after_it_ended_still_reports_its_success() {
    let events = app_events(Some(&observed(1, false)), Some(&observed(2, false)), NOW);
    assert_eq!(
        types(&events),
        [
            "api_post_event",
            "group_change_success",
            "deployment_info",
            "deployment_step_success",
            "deployment_success"
        ]
    );
    assert_eq!(events[4].data["id"], deployment_id("uid-1", 2));
}

#[test]
fn a_status_update_without_a_new_generation_is_no_event() {
    assert!(app_events(Some(&observed(1, false)), Some(&observed(1, false)), NOW).is_empty());
}

#[test]
fn deleting_an_app_is_a_stop_deployment_and_app_terminated() {
    let events = app_events(Some(&observed(1, false)), None, NOW);
    assert_eq!(
        types(&events),
        [
            "group_change_success",
            "deployment_info",
            "app_terminated_event",
            "deployment_step_success",
            "deployment_success"
        ]
    );
    assert_eq!(events[1].data["plan"]["steps"][0]["actions"][0]["action"], "StopApplication");
    assert_eq!(events[4].data["id"], deployment_id("uid-1", 2));
    let rolling = app_events(Some(&observed(1, true)), None, NOW);
    assert_eq!(types(&rolling[..2]), ["deployment_step_failure", "deployment_failed"]);
}

fn pod(phase: &str, node: Option<&str>, ready: bool) -> CachedPod {
    CachedPod {
        metadata: ObjectMeta {
            name: Some("prod-web-abc".into()),
            uid: Some("pod-uid".into()),
            creation_timestamp: Some(Time(Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        },
        spec: Some(CachedPodSpec {
            node_name: node.map(str::to_owned),
            ..CachedPodSpec::default()
        }),
        status: Some(CachedPodStatus {
            phase: Some(phase.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]),
            ..CachedPodStatus::default()
        }),
        ..CachedPod::default()
    }
}

#[test]
fn task_states_become_status_updates_and_instance_changes() {
    let check = json!({"protocol": "HTTP", "path": "/"});
    let context = TaskContext { app_id: "/prod/web", health_check: Some(&check) };
    let staged = pod("Pending", None, false);
    let events = task_events(&context, None, Some(&staged), NOW);
    assert_eq!(types(&events), ["status_update_event", "instance_changed_event"]);
    assert_eq!(events[0].data["taskStatus"], "TASK_STAGING");
    assert_eq!(events[0].data["taskId"], "prod_web.pod-uid");
    assert_eq!(events[1].data["condition"], "Staging");

    let running = pod("Running", Some("node-1"), false);
    let events = task_events(&context, Some(&staged), Some(&running), NOW);
    assert_eq!(events[0].data["taskStatus"], "TASK_RUNNING");
    assert_eq!(events[0].data["host"], "node-1");

    // Readiness is the health of the task: both ids, as go-marathon and Marathon read them.
    let healthy = pod("Running", Some("node-1"), true);
    let events = task_events(&context, Some(&running), Some(&healthy), NOW);
    assert_eq!(types(&events), ["health_status_changed_event", "instance_health_changed_event"]);
    assert_eq!(events[0].data["alive"], true);
    assert_eq!(events[0].data["taskId"], "prod_web.pod-uid");
    assert_eq!(events[0].data["instanceId"], "prod_web.pod-uid");
    assert_eq!(events[1].data["healthy"], true);
    assert_eq!(events[1].data["runSpecId"], "/prod/web");

    let events = task_events(&context, Some(&healthy), Some(&running), NOW);
    assert_eq!(
        types(&events),
        [
            "health_status_changed_event",
            "instance_health_changed_event",
            "failed_health_check_event"
        ]
    );
    assert_eq!(events[1].data["healthy"], false);
    assert_eq!(events[2].data["healthCheck"]["path"], "/");

    let events = task_events(&context, Some(&healthy), None, NOW);
    assert_eq!(types(&events), ["status_update_event", "instance_changed_event"]);
    assert_eq!(events[0].data["taskStatus"], "TASK_KILLED");
    assert_eq!(events[1].data["condition"], "Killed");
}

#[test]
fn apps_without_health_checks_have_no_health_events() {
    let context = TaskContext { app_id: "/prod/web", health_check: None };
    let running = pod("Running", Some("n"), false);
    let healthy = pod("Running", Some("n"), true);
    assert!(task_events(&context, Some(&running), Some(&healthy), NOW).is_empty());
    let finished = pod("Succeeded", Some("n"), false);
    assert_eq!(task_events(&context, Some(&healthy), Some(&finished), NOW).len(), 2);
    assert!(task_events(&context, Some(&finished), None, NOW).is_empty());
}
