//! The web UI's action forms of an app's page (`/ui/app/scale`, `/ui/app/restart`,
//! `/ui/app/rollback`) run the `/v2/apps` writes: through the router, with the controllers on
//! the testbed, each form's change is read back through the API and the MarathonApp. A form
//! from another site and a malformed one are refused.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kube::Api;
use marathon_operator::crd::MarathonApp;
use marathon_operator::translate::names::app_name;
use serde_json::{Value, json};
use support::facade::Stack;
use tower::ServiceExt;

const ID: &str = "/forms/web";
const FORM_ID: &str = "id=%2Fforms%2Fweb";

/// Posts a form as the page does (same origin); the status and the `Location` it sends to.
async fn submit(stack: &Stack, action: &str, fields: &str, site: &str) -> (StatusCode, String) {
    let request = Request::post(action)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", site)
        .body(Body::from(format!("{FORM_ID}&{fields}")))
        .unwrap();
    let response = stack.api.clone().oneshot(request).await.unwrap();
    let location = response.headers().get(header::LOCATION);
    let location = location.map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), location)
}

async fn app(stack: &Stack) -> Value {
    let (status, body) = stack.call("GET", &format!("/v2/apps{ID}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["app"].clone()
}

/// The app's versions (newest first) once there are at least `count`.
async fn versions_when(stack: &Stack, count: usize) -> Vec<String> {
    support::eventually("the versions are recorded", Duration::from_secs(60), || async {
        let (_, versions) = stack.call("GET", &format!("/v2/apps{ID}/versions"), None).await;
        let versions: Vec<String> = serde_json::from_value(versions["versions"].clone()).ok()?;
        (versions.len() >= count).then_some(versions)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_pages_forms_scale_restart_and_roll_back_through_the_api() {
    let stack = Stack::start("ui-forms").await;
    let definition =
        json!({"id": ID, "cmd": "sleep 100000", "instances": 1, "cpus": 0.01, "mem": 16});
    let (status, body) = stack.call("POST", "/v2/apps", Some(definition)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The controller records a version per spec it takes: wait for the first one.
    let first = versions_when(&stack, 1).await.pop().unwrap();
    let done = |what: &str| format!("/ui/app?{FORM_ID}&done={what}");

    // Refusals change nothing.
    let cross_site = submit(&stack, "/ui/app/scale", "instances=5&force=on", "cross-site").await;
    assert_eq!(cross_site.0, StatusCode::FORBIDDEN);
    let not_a_number = submit(&stack, "/ui/app/scale", "instances=many", "same-origin").await;
    assert_eq!(not_a_number.0, StatusCode::BAD_REQUEST);
    assert_eq!(app(&stack).await["instances"], 1);

    // Scale: `PATCH {"instances": 2}`.
    let scaled = submit(&stack, "/ui/app/scale", "instances=2&force=on", "same-origin").await;
    assert_eq!(scaled, (StatusCode::SEE_OTHER, done("scaled")));
    assert_eq!(app(&stack).await["instances"], 2);

    // Restart: a new restart token, as `POST /v2/apps/{id}/restart` sets it.
    let resources: Api<MarathonApp> = Api::namespaced(stack.client.clone(), stack.ns.name());
    let token = |app: MarathonApp| app.spec.kubernetes.and_then(|k| k.restart);
    assert_eq!(token(resources.get(&app_name(ID)).await.unwrap()), None);
    let restarted = submit(&stack, "/ui/app/restart", "force=on", "same-origin").await;
    assert_eq!(restarted, (StatusCode::SEE_OTHER, done("restarted")));
    let restart_token = token(resources.get(&app_name(ID)).await.unwrap());
    assert!(restart_token.is_some(), "the restart form set no restart token");

    // A new definition, then back to the first version (versions are recorded by the
    // controller): the first command and one instance again, the restart token kept
    // (Kubernetes-only settings are not part of Marathon's versions).
    let changed = json!({"cmd": "sleep 200000"});
    let uri = format!("/v2/apps{ID}?force=true");
    let (status, body) = stack.call("PUT", &uri, Some(changed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    versions_when(&stack, 2).await;
    let fields = format!("version={}&force=on", first.replace(':', "%3A"));
    let rolled_back = submit(&stack, "/ui/app/rollback", &fields, "same-origin").await;
    assert_eq!(rolled_back, (StatusCode::SEE_OTHER, done("rolled-back")));
    let current = app(&stack).await;
    assert_eq!((&current["cmd"], &current["instances"]), (&json!("sleep 100000"), &json!(1)));
    assert_eq!(token(resources.get(&app_name(ID)).await.unwrap()), restart_token);

    // A version the app never had is the API's 404, shown on the page.
    let unknown = "version=2000-01-01T00%3A00%3A00.000Z&force=on";
    let refused = submit(&stack, "/ui/app/rollback", unknown, "same-origin").await;
    assert_eq!(refused.0, StatusCode::NOT_FOUND);
    stack.stop().await;
}
