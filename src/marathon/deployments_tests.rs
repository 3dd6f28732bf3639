//! Group deployments computed from the marks on their apps.

use serde_json::json;

use super::*;
use crate::crd::{MarathonAppSpec, MarathonAppStatus};

const V: &str = "2026-01-01T00:00:00.000Z";

fn mark(step: i32, action: &str, from: i64, stopped: &[&str]) -> GroupMark {
    GroupMark {
        id: "group-1".into(),
        version: V.into(),
        step,
        action: action.into(),
        from,
        apps: 3,
        stopped: stopped.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// An app at `generation`, observed up to `observed`, rolling out or not, with `mark`.
fn app(
    id: &str,
    generation: i64,
    observed: i64,
    rolling: bool,
    mark: Option<&GroupMark>,
) -> MarathonApp {
    let spec: MarathonAppSpec =
        serde_json::from_value(json!({"id": id, "cmd": "sleep 1"})).unwrap();
    let mut app = MarathonApp::new(&id.replace('/', "-"), spec);
    app.metadata.uid = Some(format!("uid{id}"));
    app.metadata.generation = Some(generation);
    if let Some(mark) = mark {
        app.metadata.annotations =
            Some([(ANNOTATION_GROUP_DEPLOYMENT.to_owned(), mark.annotation())].into());
    }
    let rollout = rolling.then(|| deployment(id, "uid", observed, V, "RestartApplication"));
    app.status = Some(MarathonAppStatus {
        observed_generation: Some(observed),
        deployment: rollout.map(Box::new),
        ..MarathonAppStatus::default()
    });
    app
}

#[test]
fn a_group_deployment_runs_its_steps_in_order_and_ends_when_every_action_is_done() {
    let db_mark = mark(2, "StartApplication", 0, &["/shop/old"]);
    let web_mark = mark(3, "RestartApplication", 4, &["/shop/old"]);
    let old = app("/shop/old", 2, 2, false, None);
    let db_pending = app("/shop/db", 1, 0, false, Some(&db_mark));
    let web_waiting = app("/shop/web", 5, 4, false, Some(&web_mark));
    let other = app("/other", 3, 2, false, None);

    // The stop step first: the stopped app still exists.
    let all = [&old, &db_pending, &web_waiting, &other];
    let view = group_deployment("group-1", &all).unwrap();
    let steps: Vec<Vec<(&str, &str)>> = view
        .status
        .steps
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.actions.iter().map(|a| (a.action.as_str(), a.app.as_str())).collect())
        .collect();
    assert_eq!(
        steps,
        [
            vec![("StopApplication", "/shop/old")],
            vec![("StartApplication", "/shop/db")],
            vec![("RestartApplication", "/shop/web")]
        ]
    );
    assert_eq!(view.status.current_step, Some(1));
    assert_eq!(view.status.total_steps, Some(3));
    assert_eq!(view.status.version.as_deref(), Some(V));
    assert!(view.complete && view.running());
    assert_eq!(view.members, ["/shop/db", "/shop/web"]);

    // Stopped: the next step is db's start, still rolling out.
    let db_rolling = app("/shop/db", 1, 1, true, Some(&db_mark));
    let view = group_deployment("group-1", &[&db_rolling, &web_waiting, &other]).unwrap();
    assert_eq!(view.status.current_step, Some(2));
    assert_eq!(view.status.current_actions.as_ref().unwrap()[0].app, "/shop/db");

    // db runs; web's new generation waits for the controller.
    let db_done = app("/shop/db", 1, 1, false, Some(&db_mark));
    let view = group_deployment("group-1", &[&db_done, &web_waiting]).unwrap();
    assert_eq!(view.status.current_step, Some(3));
    let web_done = app("/shop/web", 5, 5, false, Some(&web_mark));
    let view = group_deployment("group-1", &[&db_done, &web_done]).unwrap();
    assert!(view.succeeded() && !view.running());
    assert_eq!(view.status.current_step, Some(3), "the last step when all are done");
    assert!(running_deployments(&[&db_done, &web_done]).is_empty());
}

#[test]
fn members_show_the_group_id_and_the_list_shows_the_group_once() {
    let db_mark = mark(1, "StartApplication", 0, &[]);
    let web_mark = mark(2, "StartApplication", 0, &[]);
    let db = app("/shop/db", 1, 1, true, Some(&db_mark));
    let web = app("/shop/web", 1, 0, false, Some(&web_mark));
    let alone = app("/alone", 2, 1, false, None);
    assert_eq!(current_deployment(&db).unwrap().id, "group-1");
    assert_eq!(current_deployment(&web).unwrap().id, "group-1");
    assert_eq!(current_deployment(&alone).unwrap().id, deployment_id("uid/alone", 2));
    let running = running_deployments(&[&db, &alone, &web]);
    let ids: Vec<&str> = running.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["group-1", deployment_id("uid/alone", 2).as_str()]);
    // Two of the plan's three apps were seen: done, but not over.
    let db_done = app("/shop/db", 1, 1, false, Some(&db_mark));
    let web_done = app("/shop/web", 1, 1, false, Some(&web_mark));
    let view = group_deployment("group-1", &[&db_done, &web_done]).unwrap();
    assert!(view.finished && !view.complete && !view.succeeded());
}

#[test]
fn a_later_change_of_a_member_leaves_the_group_deployment() {
    let web_mark = mark(1, "RestartApplication", 4, &[]);
    let covered = app("/shop/web", 5, 4, false, Some(&web_mark));
    assert_eq!(GroupMark::of(&covered), Some(web_mark.clone()));
    let changed_again = app("/shop/web", 6, 4, false, Some(&web_mark));
    assert_eq!(GroupMark::of(&changed_again), None);
    assert!(group_deployment("group-1", &[&changed_again]).is_none());
    assert_eq!(current_deployment(&changed_again).unwrap().id, deployment_id("uid/shop/web", 6));
}

#[test]
fn a_change_is_a_start_a_scale_or_a_restart() {
    let spec = |v: serde_json::Value| -> MarathonAppSpec { serde_json::from_value(v).unwrap() };
    let one = spec(json!({"id": "/a", "cmd": "sleep 1", "instances": 1}));
    let two = spec(json!({"id": "/a", "cmd": "sleep 1", "instances": 2}));
    let other = spec(json!({"id": "/a", "cmd": "sleep 2", "instances": 2}));
    assert_eq!(change_action(None, &one), Some("StartApplication"));
    assert_eq!(change_action(Some(&one), &one), None);
    assert_eq!(change_action(Some(&one), &two), Some("ScaleApplication"));
    assert_eq!(change_action(Some(&one), &other), Some("RestartApplication"));
}
