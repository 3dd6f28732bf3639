//! One table of invalid apps through the three doors an app comes in by, with one verdict:
//! `convert` (`cli::app::check_app`), the CRD (a server-side dry-run create on the testbed, so
//! the API server's schema and CEL rules judge) and the Marathon API (`POST /v2/apps`, 422).
//! Each door must refuse each app and name the same field: Marathon's path
//! (`/healthChecks(0)/portIndex`) for `convert` and the facade, the API server's field path
//! (`spec.healthChecks[0].portIndex`) for the CRD.
//!
//! A second, short table lists the apps the CRD cannot refuse (values whose JSON type varies are
//! invisible to the schema and to CEL); `convert`, the facade and the controller (`Degraded`)
//! refuse them. That table fails when the CRD starts refusing one, so it cannot go stale.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use marathon_operator::cli::app::check_app;
use marathon_operator::crd::MarathonApp;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// An invalid app and the field every door must name.
struct Bad {
    name: &'static str,
    app: Value,
    /// Marathon's path (`convert`, facade).
    path: &'static str,
    /// The API server's field path (CRD).
    field: &'static str,
}

fn bad(name: &'static str, extra: Value, path: &'static str, field: &'static str) -> Bad {
    let mut app = json!({"id": "/doors", "cmd": "sleep 100"});
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            app.as_object_mut().unwrap().remove(key);
        } else {
            app[key] = value.clone();
        }
    }
    Bad { name, app, path, field }
}

fn invalid_apps() -> Vec<Bad> {
    vec![
        bad("negative instances", json!({"instances": -1}), "/instances", "spec.instances"),
        bad("instances as a string", json!({"instances": "two"}), "/instances", "spec.instances"),
        bad("negative cpus", json!({"cpus": -1}), "/cpus", "spec.cpus"),
        bad("negative mem", json!({"mem": -128}), "/mem", "spec.mem"),
        bad("negative disk", json!({"disk": -1}), "/disk", "spec.disk"),
        bad("upper-case id", json!({"id": "/Web"}), "/id", "spec.id"),
        bad("underscore in id", json!({"id": "/prod/my_app"}), "/id", "spec.id"),
        bad("id ending in tasks", json!({"id": "/prod/tasks"}), "/id", "spec.id"),
        bad("id ending in restart", json!({"id": "/restart"}), "/id", "spec.id"),
        bad("id ending in ..", json!({"id": "/prod/.."}), "/id", "spec.id"),
        bad(
            "port above 65535",
            json!({"portDefinitions": [{"port": 65536}]}),
            "/portDefinitions(0)/port",
            "spec.portDefinitions[0].port",
        ),
        bad("legacy port above 65535", json!({"ports": [70000]}), "/ports(0)", "spec.ports[0]"),
        bad(
            "minimumHealthCapacity above 1",
            json!({"upgradeStrategy": {"minimumHealthCapacity": 1.5}}),
            "/upgradeStrategy/minimumHealthCapacity",
            "spec.upgradeStrategy.minimumHealthCapacity",
        ),
        bad(
            "negative maximumOverCapacity",
            json!({"upgradeStrategy": {"maximumOverCapacity": -0.1}}),
            "/upgradeStrategy/maximumOverCapacity",
            "spec.upgradeStrategy.maximumOverCapacity",
        ),
        bad(
            "backoffFactor below 1",
            json!({"backoffFactor": 0.5}),
            "/backoffFactor",
            "spec.backoffFactor",
        ),
        bad("cmd and args", json!({"args": ["sleep", "1"]}), "/args", "spec.args"),
        bad(
            "health check port index as a string",
            json!({"healthChecks": [{"protocol": "TCP", "portIndex": "one"}]}),
            "/healthChecks(0)/portIndex",
            "spec.healthChecks[0].portIndex",
        ),
        bad(
            "health check with port and portIndex",
            json!({"healthChecks": [{"protocol": "TCP", "port": 80, "portIndex": 0}]}),
            "/healthChecks(0)/portIndex",
            "spec.healthChecks[0].portIndex",
        ),
        bad(
            "duplicate port names",
            json!({"portDefinitions": [{"port": 0, "name": "http"}, {"port": 0, "name": "http"}]}),
            "/portDefinitions",
            "spec.portDefinitions",
        ),
        bad(
            "unknown constraint operator",
            json!({"constraints": [["hostname", "NEAR"]]}),
            "/constraints(0)",
            "spec.constraints[0]",
        ),
        bad(
            "single-instance app with two instances",
            json!({"instances": 2, "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}}),
            "/instances",
            "spec.instances",
        ),
        bad(
            "uris and fetch",
            json!({"uris": ["http://a/b"], "fetch": [{"uri": "http://a/c"}]}),
            "/uris",
            "spec.uris",
        ),
        bad(
            "host networking mixed with a container network",
            json!({"networks": [{"mode": "host"}, {"mode": "container", "name": "n"}]}),
            "/networks",
            "spec.networks",
        ),
        bad(
            "executor path with an empty segment",
            json!({"executor": "a//b"}),
            "/executor",
            "spec.executor",
        ),
        bad(
            "labels that are not strings",
            json!({"labels": {"a": 1}}),
            "/labels/a",
            "spec.labels.a",
        ),
    ]
}

/// Apps only `convert` and the facade refuse: the CRD schema cannot see into fields whose
/// JSON type varies (`env` values, `unreachableStrategy`, `resourceLimits`). The first row is
/// different: a CEL rule on the spec could refuse it, but the CRD has none yet (src/crd is
/// outside the facade's part of the tree; reported to the lead).
fn beyond_the_crd() -> Vec<Bad> {
    vec![
        bad("neither cmd, args nor container", json!({"cmd": null}), "/", "spec"),
        bad("env value that is a number", json!({"env": {"PORT": 8080}}), "/env/PORT", "spec.env"),
        bad(
            "env secret that is not declared",
            json!({"env": {"DB": {"secret": "nope"}}}),
            "/env/DB",
            "spec.env",
        ),
        bad(
            "inactiveAfterSeconds above expungeAfterSeconds",
            json!({"unreachableStrategy": {"inactiveAfterSeconds": 600, "expungeAfterSeconds": 60}}),
            "/unreachableStrategy",
            "spec.unreachableStrategy",
        ),
        bad(
            "cpu limit below the request",
            json!({"cpus": 2, "resourceLimits": {"cpus": 1}}),
            "/resourceLimits/cpus",
            "spec.resourceLimits",
        ),
    ]
}

/// `convert`'s verdict: the messages, each `app <id>: <path>: <message>`.
fn convert_refuses(app: &Value, path: &str) -> Result<(), String> {
    let messages = match check_app(app.clone()) {
        Ok(_) => return Err("convert accepted it".into()),
        Err(messages) => messages,
    };
    let id = app["id"].as_str().unwrap_or_default();
    let wanted = if path == "/" { format!("app {id}: ") } else { format!("app {id}: {path}: ") };
    if messages.iter().any(|m| m.starts_with(&wanted)) {
        Ok(())
    } else {
        Err(format!("convert named other fields: {messages:?}"))
    }
}

/// The facade's verdict: 422 with `path` among the details.
async fn facade_refuses(router: &axum::Router, app: &Value, path: &str) -> Result<(), String> {
    let request = Request::post("/v2/apps")
        .header("content-type", "application/json")
        .body(Body::from(app.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let paths: Vec<&str> = body["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|e| e["path"].as_str()).collect())
        .unwrap_or_default();
    if status == StatusCode::UNPROCESSABLE_ENTITY && paths.contains(&path) {
        Ok(())
    } else {
        Err(format!("the facade answered {status} {body}"))
    }
}

/// The CRD's verdict: a server-side dry-run create, refused with `field` among the causes.
async fn crd_verdict(api: &Api<DynamicObject>, app: &Value, field: &str) -> Result<(), String> {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": {"name": "doors"},
        "spec": app,
    }))
    .unwrap();
    let params = PostParams { dry_run: true, ..PostParams::default() };
    match api.create(&params, &object).await {
        Ok(_) => Err("the CRD accepted it".into()),
        Err(kube::Error::Api(status)) if status.code == 422 => {
            let causes: Vec<String> = status
                .details
                .iter()
                .flat_map(|d| d.causes.iter())
                .map(|c| c.field.clone())
                .collect();
            if causes.iter().any(|c| c == field) {
                Ok(())
            } else {
                Err(format!("the CRD named other fields: {causes:?} ({})", status.message))
            }
        }
        Err(other) => Err(format!("the dry run failed: {other}")),
    }
}

/// The facade over an API server that does not exist: whatever it refuses, it refused alone.
fn offline_facade() -> axum::Router {
    let client =
        Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
    let (watches, _never_driven) = Watches::start(&client, &["doors".to_owned()]);
    let state = FacadeState::new(
        client,
        watches,
        FacadeConfig::local("doors"),
        Metrics::shared(),
        CancellationToken::new(),
    );
    router(state)
}

async fn dry_run_api() -> (Api<DynamicObject>, support::TestNamespace) {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "doors").await;
    let resource = ApiResource::erase::<MarathonApp>(&());
    (Api::namespaced_with(client, ns.name(), &resource), ns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_refuses_the_same_apps_naming_the_same_field() {
    let (api, _ns) = dry_run_api().await;
    let facade = offline_facade();
    let table = invalid_apps();
    let mut disagreements = Vec::new();
    for case in &table {
        let verdicts = [
            ("convert", convert_refuses(&case.app, case.path)),
            ("crd", crd_verdict(&api, &case.app, case.field).await),
            ("facade", facade_refuses(&facade, &case.app, case.path).await),
        ];
        for (door, verdict) in verdicts {
            if let Err(why) = verdict {
                disagreements.push(format!("{} ({door}): {why}", case.name));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements over {} invalid apps:\n{}",
        disagreements.len(),
        table.len(),
        disagreements.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_crd_cannot_see_are_refused_by_the_other_doors() {
    let (api, _ns) = dry_run_api().await;
    let facade = offline_facade();
    let mut wrong = Vec::new();
    for case in beyond_the_crd() {
        if let Err(why) = convert_refuses(&case.app, case.path) {
            wrong.push(format!("{} (convert): {why}", case.name));
        }
        if let Err(why) = facade_refuses(&facade, &case.app, case.path).await {
            wrong.push(format!("{} (facade): {why}", case.name));
        }
        // When the CRD learns to refuse one, it belongs in the main table.
        if crd_verdict(&api, &case.app, case.field).await != Err("the CRD accepted it".into()) {
            wrong.push(format!(
                "{} (crd): no longer accepted; move it to invalid_apps()",
                case.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The valid twin of the table's base app passes every door (so a refusal above is the
/// field's doing, not the base app's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_app_passes_every_door() {
    let (api, _ns) = dry_run_api().await;
    let app = json!({"id": "/doors", "cmd": "sleep 100"});
    assert!(check_app(app.clone()).is_ok(), "convert refused the base app");
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": {"name": "doors"},
        "spec": app,
    }))
    .unwrap();
    let params = PostParams { dry_run: true, ..PostParams::default() };
    api.create(&params, &object).await.expect("the CRD accepts the base app");
    // The facade gets past validation to the (absent) cluster: 503, not 422.
    let request = Request::post("/v2/apps").body(Body::from(app.to_string())).unwrap();
    let response = offline_facade().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
