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
use http_body_util::BodyExt;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use serde_json::{Value, json};
use support::TestNamespace;
use support::operator::Operator;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn app(id: &str, dependencies: &[&str]) -> Value {
    let mut app = json!({"id": id, "cmd": "sleep 100000", "instances": 1, "cpus": 0.01, "mem": 16});
    if !dependencies.is_empty() {
        app["dependencies"] = json!(dependencies);
    }
    app
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_created_read_scaled_replaced_and_deleted() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "facade-groups").await;
    let operator = Operator::start(&client, ns.name());
    operator.watches.wait_until_ready().await;
    let state = FacadeState::new(
        client.clone(),
        operator.watches.clone(),
        FacadeConfig::local(ns.name()),
        Metrics::shared(),
        CancellationToken::new(),
    );
    let api = router(state);

    // Refusals first: nothing of them may be stored.
    let cycle = json!({"id": "/loop", "apps": [app("a", &["b"]), app("b", &["a"])]});
    let (status, body) = call(&api, "POST", "/v2/groups", Some(cycle)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("cyclic"), "{body}");
    let missing = json!({"id": "/lonely", "apps": [app("a", &["nowhere"])]});
    let (status, body) = call(&api, "POST", "/v2/groups", Some(missing)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("/lonely/nowhere"), "{body}");
    let twice = json!({"id": "/twice", "apps": [app("a", &[]), app("/twice/a", &[])]});
    let (status, _) = call(&api, "POST", "/v2/groups", Some(twice)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = call(&api, "GET", "/v2/groups/loop", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A group of two apps, relative ids, one depending on the other.
    let shop = json!({"id": "shop", "apps": [app("db", &[]), app("web", &["db"])]});
    let (status, body) = call(&api, "POST", "/v2/groups", Some(shop.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["deploymentId"].is_string());
    let (status, _) = call(&api, "POST", "/v2/groups", Some(shop)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, root) = call(&api, "GET", "/v2/groups", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root["id"], "/");
    assert_eq!(root["groups"][0]["id"], "/shop");
    assert_eq!(ids(&root["groups"][0]["apps"]), ["/shop/db", "/shop/web"]);
    let (_, group) = call(&api, "GET", "/v2/groups/shop?embed=group.apps", None).await;
    assert!(group.get("groups").is_none());
    let web = group["apps"].as_array().unwrap().iter().find(|a| a["id"] == "/shop/web").unwrap();
    assert_eq!(web["dependencies"], json!(["/shop/db"]));
    let (_, apps) = call(&api, "GET", "/v2/groups/shop/apps", None).await;
    assert_eq!(ids(&apps), ["/shop/db", "/shop/web"]);

    let (status, body) =
        call(&api, "PUT", "/v2/groups/shop", Some(json!({"scaleBy": 2, "id": "/shop"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        call(&api, "PUT", "/v2/groups/shop?force=true", Some(json!({"scaleBy": 2}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, apps) = call(&api, "GET", "/v2/groups/shop/apps", None).await;
    assert!(apps.as_array().unwrap().iter().all(|a| a["instances"] == 2), "{apps}");

    // Leaving `web` out of the apps list removes it; dryRun only says so.
    let only_db = json!({"apps": [app("db", &[])]});
    let uri = "/v2/groups/shop?force=true&dryRun=true";
    let (status, plan) = call(&api, "PUT", uri, Some(only_db.clone())).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(
        plan["steps"][0]["actions"][0],
        json!({"action": "StopApplication", "app": "/shop/web"})
    );
    let (status, body) = call(&api, "PUT", "/v2/groups/shop?force=true", Some(only_db)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, apps) = call(&api, "GET", "/v2/groups/shop/apps", None).await;
    assert_eq!(ids(&apps), ["/shop/db"]);
    // Versions are recorded by the controller as it takes each change.
    support::eventually("the group has versions", Duration::from_secs(30), || async {
        let (_, versions) = call(&api, "GET", "/v2/groups/shop/versions", None).await;
        (!versions.as_array()?.is_empty()).then_some(())
    })
    .await;

    let (status, body) = call(&api, "DELETE", "/v2/groups/shop?force=true", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    support::eventually("the group is gone", Duration::from_secs(30), || async {
        let (status, _) = call(&api, "GET", "/v2/groups/shop", None).await;
        (status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    operator.stop().await;
}

async fn tasks(api: &Router, id: &str) -> Vec<Value> {
    let (_, body) = call(api, "GET", &format!("/v2/apps{id}/tasks"), None).await;
    body["tasks"].as_array().cloned().unwrap_or_default()
}

fn times(tasks: &[Value], key: &str) -> Vec<String> {
    tasks.iter().filter_map(|t| t[key].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_starts_only_after_its_dependency_is_available() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "facade-group-deps").await;
    let operator = Operator::start(&client, ns.name());
    operator.watches.wait_until_ready().await;
    let state = FacadeState::new(
        client.clone(),
        operator.watches.clone(),
        FacadeConfig::local(ns.name()),
        Metrics::shared(),
        CancellationToken::new(),
    );
    let api = router(state);

    // The dependency cannot be scheduled (more CPUs than the node has): it never becomes
    // Available, so its dependent must not start.
    let mut db = app("db", &[]);
    db["cpus"] = json!(100);
    let group = json!({"id": "/dep", "apps": [db, app("web", &["db"])]});
    let (status, body) = call(&api, "POST", "/v2/groups", Some(group)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    support::eventually("db has a pending task", Duration::from_secs(60), || async {
        (!tasks(&api, "/dep/db").await.is_empty()).then_some(())
    })
    .await;
    // Two of the controller's dependency polls.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(tasks(&api, "/dep/web").await.is_empty(), "web started before db was available");
    let (_, deployments) = call(&api, "GET", "/v2/deployments", None).await;
    let affected: Vec<&str> = deployments
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["affectedApps"].as_array().unwrap().iter().filter_map(Value::as_str))
        .collect();
    assert!(affected.contains(&"/dep/web"), "web's deployment waits: {deployments}");

    // Once db fits and runs, web starts, after it.
    let fits = json!({"cpus": 0.01});
    let (status, body) = call(&api, "PUT", "/v2/apps/dep/db?force=true", Some(fits)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let web = support::eventually("web runs", Duration::from_secs(120), || async {
        let web = tasks(&api, "/dep/web").await;
        (times(&web, "startedAt").len() == 1).then_some(web)
    })
    .await;
    let db_started = times(&tasks(&api, "/dep/db").await, "startedAt");
    let web_staged = times(&web, "stagedAt");
    assert!(!db_started.is_empty() && !web_staged.is_empty());
    assert!(
        web_staged.iter().min() >= db_started.iter().max(),
        "web staged at {web_staged:?}, before db started at {db_started:?}"
    );
    operator.stop().await;
}
