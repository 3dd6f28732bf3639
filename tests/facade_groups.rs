//! `/v2/groups` through the router, on the testbed with the controllers in-process: a group
//! of two apps where one depends on the other is created, read as a tree, scaled by a
//! factor, planned with `dryRun`, replaced without one app (removed) and deleted; and the
//! group error cases Marathon refuses (cycles, missing dependencies, id collisions, `scaleBy`
//! with other fields, a second POST).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use support::facade::Stack;
use tower::ServiceExt;

fn app(id: &str, dependencies: &[&str]) -> Value {
    let mut app = json!({"id": id, "cmd": "sleep 100000", "instances": 1, "cpus": 0.01, "mem": 16});
    if !dependencies.is_empty() {
        app["dependencies"] = json!(dependencies);
    }
    app
}

/// An app that can never be scheduled (more CPUs than any node has): never Available.
fn unschedulable(id: &str) -> Value {
    let mut app = app(id, &[]);
    app["cpus"] = json!(100);
    app
}

/// A group whose `web` depends on a `db` that can never run: its deployment is held at the
/// first step.
fn held_group(id: &str) -> Value {
    json!({"id": id, "apps": [unschedulable("db"), app("web", &["db"])]})
}

/// Creates `group` (201) and returns its deployment's id.
async fn create_group(stack: &Stack, group: Value) -> String {
    let (status, body) = stack.call("POST", "/v2/groups", Some(group)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["deploymentId"].as_str().expect("a deployment id").to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_created_read_scaled_replaced_and_deleted() {
    let stack = Stack::start("facade-groups").await;

    // Refusals first: nothing of them may be stored.
    let cycle = json!({"id": "/loop", "apps": [app("a", &["b"]), app("b", &["a"])]});
    let (status, body) = stack.call("POST", "/v2/groups", Some(cycle)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("cyclic"), "{body}");
    let missing = json!({"id": "/lonely", "apps": [app("a", &["nowhere"])]});
    let (status, body) = stack.call("POST", "/v2/groups", Some(missing)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("/lonely/nowhere"), "{body}");
    let twice = json!({"id": "/twice", "apps": [app("a", &[]), app("/twice/a", &[])]});
    let (status, _) = stack.call("POST", "/v2/groups", Some(twice)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = stack.call("GET", "/v2/groups/loop", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A group of two apps, relative ids, one depending on the other.
    let shop = json!({"id": "shop", "apps": [app("db", &[]), app("web", &["db"])]});
    create_group(&stack, shop.clone()).await;
    let (status, _) = stack.call("POST", "/v2/groups", Some(shop)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, root) = stack.call("GET", "/v2/groups", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root["id"], "/");
    assert_eq!(root["groups"][0]["id"], "/shop");
    assert_eq!(ids(&root["groups"][0]["apps"]), ["/shop/db", "/shop/web"]);
    let (_, group) = stack.call("GET", "/v2/groups/shop?embed=group.apps", None).await;
    assert!(group.get("groups").is_none());
    let web = group["apps"].as_array().unwrap().iter().find(|a| a["id"] == "/shop/web").unwrap();
    assert_eq!(web["dependencies"], json!(["/shop/db"]));
    let (_, apps) = stack.call("GET", "/v2/groups/shop/apps", None).await;
    assert_eq!(ids(&apps), ["/shop/db", "/shop/web"]);

    let (status, body) =
        stack.call("PUT", "/v2/groups/shop", Some(json!({"scaleBy": 2, "id": "/shop"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        stack.call("PUT", "/v2/groups/shop?force=true", Some(json!({"scaleBy": 2}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, apps) = stack.call("GET", "/v2/groups/shop/apps", None).await;
    assert!(apps.as_array().unwrap().iter().all(|a| a["instances"] == 2), "{apps}");

    // Leaving `web` out of the apps list removes it; dryRun only says so.
    let only_db = json!({"apps": [app("db", &[])]});
    let uri = "/v2/groups/shop?force=true&dryRun=true";
    let (status, plan) = stack.call("PUT", uri, Some(only_db.clone())).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(
        plan["steps"][0]["actions"][0],
        json!({"action": "StopApplication", "app": "/shop/web"})
    );
    let (status, body) = stack.call("PUT", "/v2/groups/shop?force=true", Some(only_db)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, apps) = stack.call("GET", "/v2/groups/shop/apps", None).await;
    assert_eq!(ids(&apps), ["/shop/db"]);
    // Versions are recorded by the controller as it takes each change.
    support::eventually("the group has versions", Duration::from_secs(30), || async {
        let (_, versions) = stack.call("GET", "/v2/groups/shop/versions", None).await;
        (!versions.as_array()?.is_empty()).then_some(())
    })
    .await;

    let (status, body) = stack.call("DELETE", "/v2/groups/shop?force=true", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    support::eventually("the group is gone", Duration::from_secs(30), || async {
        let (status, _) = stack.call("GET", "/v2/groups/shop", None).await;
        (status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    stack.stop().await;
}

async fn tasks(stack: &Stack, id: &str) -> Vec<Value> {
    let (_, body) = stack.call("GET", &format!("/v2/apps{id}/tasks"), None).await;
    body["tasks"].as_array().cloned().unwrap_or_default()
}

fn times(tasks: &[Value], key: &str) -> Vec<String> {
    tasks.iter().filter_map(|t| t[key].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_starts_only_after_its_dependency_is_available() {
    let stack = Stack::start("facade-group-deps").await;

    // The dependency cannot be scheduled (more CPUs than the node has): it never becomes
    // Available, so its dependent must not start.
    create_group(&stack, held_group("/dep")).await;
    support::eventually("db has a pending task", Duration::from_secs(60), || async {
        (!tasks(&stack, "/dep/db").await.is_empty()).then_some(())
    })
    .await;
    // Two of the controller's dependency polls.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(tasks(&stack, "/dep/web").await.is_empty(), "web started before db was available");
    let (_, deployments) = stack.call("GET", "/v2/deployments", None).await;
    let affected: Vec<&str> = deployments
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["affectedApps"].as_array().unwrap().iter().filter_map(Value::as_str))
        .collect();
    assert!(affected.contains(&"/dep/web"), "web's deployment waits: {deployments}");

    // Once db fits and runs, web starts, after it.
    let fits = json!({"cpus": 0.01});
    let (status, body) = stack.call("PUT", "/v2/apps/dep/db?force=true", Some(fits)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let web = support::eventually("web runs", Duration::from_secs(120), || async {
        let web = tasks(&stack, "/dep/web").await;
        (times(&web, "startedAt").len() == 1).then_some(web)
    })
    .await;
    let db_started = times(&tasks(&stack, "/dep/db").await, "startedAt");
    let web_staged = times(&web, "stagedAt");
    assert!(!db_started.is_empty() && !web_staged.is_empty());
    assert!(
        web_staged.iter().min() >= db_started.iter().max(),
        "web staged at {web_staged:?}, before db started at {db_started:?}"
    );
    stack.stop().await;
}

/// Follows `/v2/events` of the in-process facade: each event's JSON as it comes.
async fn subscribe(api: &Router) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    use futures::StreamExt;
    let request = Request::get("/v2/events")
        .header("accept", "text/event-stream")
        .body(Body::empty())
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = response.into_body().into_data_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\r\n\r\n") {
                let frame: String = buffer.drain(..end + 4).collect();
                for data in frame.lines().filter_map(|l| l.strip_prefix("data: ")) {
                    if tx.send(serde_json::from_str(data).unwrap()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Reads events until `done` accepts one; returns every event read, that one last.
async fn events_until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        let Ok(Some(event)) = event else {
            let types: Vec<&Value> = seen.iter().map(|e: &Value| &e["eventType"]).collect();
            panic!("no {what} within 120 s; seen {types:?}");
        };
        let last = done(&event);
        seen.push(event);
        if last {
            return seen;
        }
    }
}

/// Where in `events` the first event of `event_type` for deployment `id` whose current step
/// acts on `app` is (`None`: none).
fn position(events: &[Value], event_type: &str, id: &str, app: Option<&str>) -> Option<usize> {
    events.iter().position(|e| {
        e["eventType"] == event_type
            && (e["id"] == id || e["plan"]["id"] == id)
            && app.is_none_or(|app| e["currentStep"]["actions"][0]["app"] == app)
    })
}

fn deployment<'a>(deployments: &'a Value, id: &str) -> Option<&'a Value> {
    deployments.as_array().unwrap().iter().find(|d| d["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_change_is_one_deployment_in_steps_that_can_be_cancelled() {
    let stack = Stack::start("facade-group-steps").await;
    let mut events = subscribe(&stack.api).await;

    // Two steps in dependency order, one deployment id, its events in that order.
    let mut web = app("web", &["db"]);
    web["healthChecks"] = json!([{"protocol": "COMMAND", "command": {"value": "true"}}]);
    let group = json!({"id": "/steps", "apps": [web, app("db", &[])]});
    let id = create_group(&stack, group).await;
    let seen = events_until(&mut events, "the group's deployment_success", |e| {
        e["eventType"] == "deployment_success" && e["id"] == id.as_str()
    })
    .await;
    let db_step = position(&seen, "deployment_info", &id, Some("/steps/db")).unwrap();
    let db_done = position(&seen, "deployment_step_success", &id, Some("/steps/db")).unwrap();
    let web_step = position(&seen, "deployment_info", &id, Some("/steps/web")).unwrap();
    let web_done = position(&seen, "deployment_step_success", &id, Some("/steps/web")).unwrap();
    let db_running = seen.iter().position(|e| {
        e["eventType"] == "status_update_event"
            && e["appId"] == "/steps/db"
            && e["taskStatus"] == "TASK_RUNNING"
    });
    assert!(db_step < db_done && db_done < web_step && web_step < web_done, "steps out of order");
    assert!(db_running.unwrap() < web_step, "web's step started before db ran");
    let plan = &seen[web_step]["plan"];
    assert_eq!(
        plan["steps"],
        json!([{"actions": [{"action": "StartApplication", "app": "/steps/db"}]},
               {"actions": [{"action": "StartApplication", "app": "/steps/web"}]}])
    );
    assert!(
        seen.iter().any(|e| e["eventType"] == "group_change_success" && e["groupId"] == "/steps")
    );
    assert_eq!(
        seen.iter().filter(|e| e["eventType"] == "deployment_success").count(),
        1,
        "one deployment"
    );

    // web has a health check: its checker is announced, and its task's health flips.
    let of = |event_type: &str, app_key: &str| {
        seen.iter().find(|e| e["eventType"] == event_type && e[app_key] == "/steps/web").cloned()
    };
    let added = of("add_health_check_event", "appId").expect("add_health_check_event");
    assert_eq!(added["healthCheck"]["protocol"], "COMMAND");
    let health = of("health_status_changed_event", "appId").expect("health_status_changed_event");
    assert_eq!(health["alive"], true);
    assert_eq!(health["taskId"], health["instanceId"]);
    let instance = of("instance_health_changed_event", "runSpecId").expect("instance health");
    assert_eq!(instance["healthy"], true);
    assert_eq!(instance["instanceId"], health["instanceId"]);

    // A group deployment held at its first step (db cannot be scheduled): listed once with
    // both apps, the dependent's own deployment is the group's, and it locks the group.
    let held_id = create_group(&stack, held_group("/held")).await;
    let (_, deployments) = stack.call("GET", "/v2/deployments", None).await;
    let listed = deployment(&deployments, &held_id).expect("the group deployment is listed");
    let mut affected: Vec<&str> =
        listed["affectedApps"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    affected.sort_unstable();
    assert_eq!(affected, ["/held/db", "/held/web"]);
    assert_eq!((listed["currentStep"].as_i64(), listed["totalSteps"].as_i64()), (Some(1), Some(2)));
    assert_eq!(listed["currentActions"][0]["app"], "/held/db");
    let (_, web) = stack.call("GET", "/v2/apps/held/web?embed=app.deployments", None).await;
    assert_eq!(web["app"]["deployments"], json!([{"id": held_id}]), "{web}");
    let (status, body) =
        stack.call("PUT", "/v2/groups/held", Some(json!({"apps": [app("db", &[])]}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["deployments"], json!([{"id": held_id}]));

    // Cancelling rolls the whole change back: the apps it created are removed, in one new
    // deployment; the cancelled one fails.
    let (status, body) = stack.call("DELETE", &format!("/v2/deployments/{held_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rollback = body["deploymentId"].as_str().unwrap().to_owned();
    assert_ne!(rollback, held_id);
    let seen = events_until(&mut events, "the rollback's deployment_success", |e| {
        e["eventType"] == "deployment_success" && e["id"] == rollback.as_str()
    })
    .await;
    let failed =
        position(&seen, "deployment_failed", &held_id, None).expect("the cancelled one fails");
    assert!(position(&seen, "deployment_step_failure", &held_id, None).unwrap() < failed);
    let (status, _) = stack.call("GET", "/v2/groups/held", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, deployments) = stack.call("GET", "/v2/deployments", None).await;
    assert!(deployment(&deployments, &held_id).is_none());

    // `force=true` only stops following it: the apps stay as they are.
    let stop_id = create_group(&stack, held_group("/stop")).await;
    let uri = format!("/v2/deployments/{stop_id}?force=true");
    let (status, _) = stack.call("DELETE", &uri, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, deployments) = stack.call("GET", "/v2/deployments", None).await;
    assert!(deployment(&deployments, &stop_id).is_none(), "{deployments}");
    let (_, apps) = stack.call("GET", "/v2/groups/stop/apps", None).await;
    assert_eq!(ids(&apps), ["/stop/db", "/stop/web"]);
    let (status, _) = stack.call("DELETE", &format!("/v2/deployments/{stop_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_dependencies_and_enforce_role_are_kept_and_hold_back_the_groups_apps() {
    let stack = Stack::start("facade-group-settings").await;

    // What the group depends on cannot run.
    let (status, body) = stack.call("POST", "/v2/apps", Some(unschedulable("/base/db"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let front = json!({
        "id": "/front", "dependencies": ["/base"], "enforceRole": true,
        "groups": [{"id": "web", "apps": [app("ui", &[])]}],
    });
    create_group(&stack, front).await;
    let (_, group) = stack.call("GET", "/v2/groups/front", None).await;
    assert_eq!(group["dependencies"], json!(["/base"]), "{group}");
    assert_eq!(group["enforceRole"], true);
    assert_eq!(group["groups"][0]["dependencies"], json!([]));
    assert!(group["groups"][0].get("enforceRole").is_none());
    // The app keeps its own definition: the group's dependency is not copied into it.
    let (_, ui) = stack.call("GET", "/v2/apps/front/web/ui", None).await;
    assert!(ui["app"].get("dependencies").is_none_or(|d| d == &json!([])), "{ui}");
    // Two of the controller's dependency polls: the group's app has not started.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(tasks(&stack, "/front/web/ui").await.is_empty(), "ui started before /base ran");

    // Dropping the group's dependency (nothing else stated: the apps stay) lets it start;
    // enforceRole, not stated, is kept.
    let cleared = json!({"dependencies": []});
    let (status, body) = stack.call("PUT", "/v2/groups/front?force=true", Some(cleared)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    support::eventually("ui runs", Duration::from_secs(120), || async {
        (!times(&tasks(&stack, "/front/web/ui").await, "startedAt").is_empty()).then_some(())
    })
    .await;
    let (_, group) = stack.call("GET", "/v2/groups/front", None).await;
    assert_eq!(group["dependencies"], json!([]), "{group}");
    assert_eq!(group["enforceRole"], true);
    // A cycle through group dependencies is refused.
    let again = json!({"dependencies": ["/base"]});
    let (status, body) = stack.call("PUT", "/v2/groups/front?force=true", Some(again)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let back = json!({"dependencies": ["/front"]});
    let (status, body) = stack.call("PUT", "/v2/groups/base?dryRun=true", Some(back)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("cyclic"), "{body}");
    stack.stop().await;
}
