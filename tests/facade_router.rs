//! The facade's router, request by request (tower `oneshot`, no socket), checked for the exact
//! status and the exact JSON body Marathon answers with (research sections 0, 1, 2 and 12).
//!
//! Requests that must be refused before anything reaches the cluster run against a facade whose
//! Kubernetes client points at a closed loopback port and whose watch caches are created but
//! never driven: if such a request tried to read or write the cluster it would answer 503, so
//! every other answer proves that nothing invalid got that far. Cases that need state (unknown
//! apps and versions, conflicts, authentication, namespaces, an unreachable API server, a
//! follower's leader) run against the testbed with the controllers in-process.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use kube::Client;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The namespace of the offline facade (nothing exists there: nothing is ever read).
const OFFLINE_NAMESPACE: &str = "offline";
/// A body limit small enough to cross in a test.
const BODY_LIMIT: usize = 4096;
/// A task id in Marathon's legacy shape that names no task.
const UNKNOWN_TASK: &str = "web.6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e";

/// A client of an API server that does not exist: every call fails to connect.
fn unreachable_client() -> Client {
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    Client::try_from(config).unwrap()
}

/// A facade over `client` whose caches are created but never filled (their driver is dropped).
fn undriven_state(client: Client, config: FacadeConfig) -> FacadeState {
    let (watches, _never_driven) = Watches::start(&client, std::slice::from_ref(&config.namespace));
    FacadeState::new(client, watches, config, Metrics::shared(), CancellationToken::new())
}

fn offline_config() -> FacadeConfig {
    FacadeConfig { body_limit: BODY_LIMIT, ..FacadeConfig::local(OFFLINE_NAMESPACE) }
}

fn offline_router() -> Router {
    router(undriven_state(unreachable_client(), offline_config()))
}

/// One answer: status, and the body as JSON (`Value::Null` for an empty body, a string for a
/// body that is not JSON).
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    body: Value,
}

async fn send(router: &Router, method: Method, uri: &str, body: impl Into<Body>) -> Answer {
    send_with(router, Request::builder().method(method).uri(uri), body).await
}

async fn send_with(
    router: &Router,
    request: axum::http::request::Builder,
    body: impl Into<Body>,
) -> Answer {
    let request = request.header("content-type", "application/json").body(body.into()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Answer { status, body }
}

fn message(text: &str) -> Value {
    json!({ "message": text })
}

/// Marathon's 422 for a body of the wrong shape.
fn invalid_json(path: &str, error: &str) -> Value {
    json!({"message": "Invalid JSON", "details": [{"path": path, "errors": [error]}]})
}

/// Marathon's 422 for an app that breaks rules, one path.
fn not_valid(path: &str, errors: &[&str]) -> Value {
    json!({"message": "Object is not valid", "details": [{"path": path, "errors": errors}]})
}

const ID_SEGMENT_RULE: &str = "must fully match regular expression ^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$";
const RESERVED: &str =
    "id must not end with any of the following reserved keywords: restart, tasks, versions, ., ..";

fn bad_segment(segment: &str) -> Value {
    not_valid("/id", &[&format!("id segment '{segment}' {ID_SEGMENT_RULE}")])
}

/// One bad request and Marathon's exact answer.
struct Case {
    name: &'static str,
    method: Method,
    uri: &'static str,
    body: String,
    status: StatusCode,
    answer: Value,
}

fn case(
    name: &'static str,
    method: Method,
    uri: &'static str,
    body: impl Into<String>,
    status: u16,
    answer: Value,
) -> Case {
    Case {
        name,
        method,
        uri,
        body: body.into(),
        status: StatusCode::from_u16(status).unwrap(),
        answer,
    }
}

fn app(extra: Value) -> String {
    let mut app = json!({"id": "/bad", "cmd": "sleep 100"});
    app.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.to_string()
}

/// Bodies: syntax, shape and id rules.
fn body_cases() -> Vec<Case> {
    use Method as M;
    vec![
        case(
            "unterminated JSON",
            M::POST,
            "/v2/apps",
            r#"{"id": "/a", "cmd":"#,
            400,
            json!({"message": "Invalid JSON", "details": "EOF while parsing a value at line 1 column 19"}),
        ),
        case(
            "trailing garbage",
            M::POST,
            "/v2/apps",
            r#"{"id": "/a"} x"#,
            400,
            json!({"message": "Invalid JSON", "details": "trailing characters at line 1 column 14"}),
        ),
        case(
            "empty body",
            M::POST,
            "/v2/apps",
            "",
            400,
            json!({"message": "Please specify data in JSON format", "details": "No content to map due to end-of-input"}),
        ),
        case(
            "blank body",
            M::PUT,
            "/v2/apps/web",
            " \n ",
            400,
            json!({"message": "Please specify data in JSON format", "details": "No content to map due to end-of-input"}),
        ),
        case(
            "an array",
            M::POST,
            "/v2/apps",
            "[1, 2]",
            422,
            invalid_json("/", "error.expected.jsobject"),
        ),
        case(
            "a string",
            M::POST,
            "/v2/apps",
            r#""web""#,
            422,
            invalid_json("/", "error.expected.jsobject"),
        ),
        case(
            "no id",
            M::POST,
            "/v2/apps",
            r#"{"cmd": "sleep 1"}"#,
            422,
            invalid_json("/id", "error.path.missing"),
        ),
        case(
            "numeric id",
            M::POST,
            "/v2/apps",
            r#"{"id": 5, "cmd": "x"}"#,
            422,
            invalid_json("/id", "error.expected.jsstring"),
        ),
        case(
            "instances as a string",
            M::POST,
            "/v2/apps",
            app(json!({"instances": "two"})),
            422,
            invalid_json("/instances", "invalid type: string \"two\", expected i32"),
        ),
        case(
            "instances as a fraction",
            M::POST,
            "/v2/apps",
            app(json!({"instances": 1.5})),
            422,
            invalid_json("/instances", "invalid type: floating point `1.5`, expected i32"),
        ),
        case(
            "health check port index as a string",
            M::POST,
            "/v2/apps",
            app(json!({"healthChecks": [{"portIndex": "one"}]})),
            422,
            invalid_json(
                "/healthChecks(0)/portIndex",
                "invalid type: string \"one\", expected i32",
            ),
        ),
        case(
            "upper-case id",
            M::POST,
            "/v2/apps",
            r#"{"id": "/Web", "cmd": "x"}"#,
            422,
            bad_segment("Web"),
        ),
        case(
            "underscore in id",
            M::POST,
            "/v2/apps",
            r#"{"id": "/my_app", "cmd": "x"}"#,
            422,
            bad_segment("my_app"),
        ),
        case(
            "space in id",
            M::POST,
            "/v2/apps",
            r#"{"id": "/a b", "cmd": "x"}"#,
            422,
            bad_segment("a b"),
        ),
        case(
            "id ending in a dash",
            M::POST,
            "/v2/apps",
            r#"{"id": "/prod/web-", "cmd": "x"}"#,
            422,
            bad_segment("web-"),
        ),
        case(
            "id climbing to the root with ..",
            M::POST,
            "/v2/apps",
            r#"{"id": "/a/../..", "cmd": "x"}"#,
            422,
            not_valid("/id", &["id must not be root"]),
        ),
        case(
            "id ending in tasks",
            M::POST,
            "/v2/apps",
            r#"{"id": "/prod/tasks", "cmd": "x"}"#,
            422,
            not_valid("/id", &[RESERVED]),
        ),
        case(
            "id ending in restart",
            M::POST,
            "/v2/apps",
            r#"{"id": "/restart", "cmd": "x"}"#,
            422,
            not_valid("/id", &[RESERVED]),
        ),
        case(
            "id ending in versions (PUT)",
            M::PUT,
            "/v2/apps/prod/x/versions/",
            r#"{"cmd": "x"}"#,
            405,
            message("Method Not Allowed"),
        ),
    ]
}

/// Bodies: Marathon's value rules.
fn rule_cases() -> Vec<Case> {
    use Method as M;
    vec![
        case(
            "negative instances",
            M::POST,
            "/v2/apps",
            app(json!({"instances": -1})),
            422,
            not_valid("/instances", &["-1 is less than the minimum of 0.0"]),
        ),
        case(
            "negative cpus",
            M::POST,
            "/v2/apps",
            app(json!({"cpus": -0.5})),
            422,
            not_valid("/cpus", &["-0.5 is less than the minimum of 0.0"]),
        ),
        case(
            "port above 65535",
            M::POST,
            "/v2/apps",
            app(json!({"portDefinitions": [{"port": 65536}]})),
            422,
            not_valid(
                "/portDefinitions(0)/port",
                &["65536 is greater than the maximum of 65535.0"],
            ),
        ),
        case(
            "legacy port above 65535",
            M::POST,
            "/v2/apps",
            app(json!({"ports": [70000]})),
            422,
            not_valid("/ports(0)", &["70000 is greater than the maximum of 65535.0"]),
        ),
        case(
            "minimumHealthCapacity above 1",
            M::POST,
            "/v2/apps",
            app(json!({"upgradeStrategy": {"minimumHealthCapacity": 1.2}})),
            422,
            not_valid(
                "/upgradeStrategy/minimumHealthCapacity",
                &["1.2 is greater than the maximum of 1.0"],
            ),
        ),
        case(
            "neither cmd, args nor container",
            M::POST,
            "/v2/apps",
            r#"{"id": "/idle", "instances": 1}"#,
            422,
            not_valid(
                "/",
                &[
                    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
                ],
            ),
        ),
        case(
            "cmd and args",
            M::POST,
            "/v2/apps",
            app(json!({"args": ["sleep", "1"]})),
            422,
            not_valid(
                "/args",
                &[
                    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container' (cmd and args are mutually exclusive)",
                ],
            ),
        ),
        case(
            "env value of the wrong type",
            M::POST,
            "/v2/apps",
            app(json!({"env": {"PORT": 8080}})),
            422,
            not_valid("/env/PORT", &["must be a string or {\"secret\": \"<name>\"}"]),
        ),
        case(
            "inactiveAfterSeconds above expungeAfterSeconds",
            M::POST,
            "/v2/apps",
            app(
                json!({"unreachableStrategy": {"inactiveAfterSeconds": 600, "expungeAfterSeconds": 60}}),
            ),
            422,
            not_valid(
                "/unreachableStrategy",
                &["inactiveAfterSeconds must be less or equal to expungeAfterSeconds"],
            ),
        ),
        case(
            "duplicate port names",
            M::POST,
            "/v2/apps",
            app(
                json!({"portDefinitions": [{"port": 0, "name": "http"}, {"port": 0, "name": "http"}]}),
            ),
            422,
            not_valid("/portDefinitions", &["Port names must be unique."]),
        ),
        case(
            "version with other fields",
            M::PUT,
            "/v2/apps/web",
            r#"{"version": "2026-01-01T00:00:00.000Z", "instances": 2}"#,
            422,
            message("The 'version' field may only be combined with the 'id' field."),
        ),
        case(
            "version that is not a string",
            M::PUT,
            "/v2/apps/web",
            r#"{"version": 5}"#,
            422,
            invalid_json("/version", "error.expected.jsstring"),
        ),
        case(
            "PUT /v2/apps with an object",
            M::PUT,
            "/v2/apps",
            r#"{"id": "/a"}"#,
            422,
            invalid_json("/", "error.expected.jsarray"),
        ),
        case(
            "PUT /v2/apps item without id",
            M::PUT,
            "/v2/apps",
            r#"[{"cmd": "x"}]"#,
            422,
            message("requirement failed: App Update must have app id set"),
        ),
        case(
            "PUT /v2/apps with one invalid app",
            M::PUT,
            "/v2/apps",
            r#"[{"id": "/ok", "cmd": "x"}, {"id": "/bad", "cmd": "x", "instances": -2}]"#,
            422,
            not_valid("/instances", &["-2 is less than the minimum of 0.0"]),
        ),
        case(
            "label selector that does not parse",
            M::GET,
            "/v2/apps?label=a%20in%20(b",
            "",
            422,
            message("expected a set like (a,b), got \"(b\""),
        ),
    ]
}

/// Queries, tasks, unknown routes and methods.
fn route_cases() -> Vec<Case> {
    use Method as M;
    let scale_and_wipe = || message("You cannot use scale and wipe at the same time.");
    vec![
        case(
            "scale and wipe on an app's tasks",
            M::DELETE,
            "/v2/apps/web/tasks?scale=true&wipe=true",
            "",
            400,
            scale_and_wipe(),
        ),
        case(
            "scale=True and wipe=TRUE on one task",
            M::DELETE,
            "/v2/apps/web/tasks/web.1?scale=True&wipe=TRUE",
            "",
            400,
            scale_and_wipe(),
        ),
        case(
            "scale=FALSE is false",
            M::DELETE,
            "/v2/apps/web/tasks?scale=FALSE&wipe=True",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "scale and wipe on /v2/tasks/delete",
            M::POST,
            "/v2/tasks/delete?wipe=tRuE&scale=True",
            r#"{"ids": []}"#,
            400,
            scale_and_wipe(),
        ),
        case(
            "task id without a dot",
            M::POST,
            "/v2/tasks/delete",
            r#"{"ids": ["garbage"]}"#,
            400,
            message("Invalid task id 'garbage'."),
        ),
        case(
            "task id of an invalid app id",
            M::POST,
            "/v2/tasks/delete",
            r#"{"ids": ["Bad_App.1234"]}"#,
            400,
            message("Invalid task id 'Bad_App.1234'."),
        ),
        case(
            "task id with a non-uuid",
            M::POST,
            "/v2/tasks/delete",
            r#"{"ids": ["web.not-a-uuid!"]}"#,
            400,
            message("Invalid task id 'web.not-a-uuid!'."),
        ),
        case(
            "task id as a number",
            M::POST,
            "/v2/tasks/delete",
            r#"{"ids": [5]}"#,
            400,
            message("Invalid task id '5'."),
        ),
        case(
            "unknown task id is skipped",
            M::POST,
            "/v2/tasks/delete",
            format!(r#"{{"ids": ["{UNKNOWN_TASK}"]}}"#),
            200,
            json!({"tasks": []}),
        ),
        case(
            "tasks/delete without ids",
            M::POST,
            "/v2/tasks/delete",
            "{}",
            422,
            message("the body must be {\"ids\": [task ids]}"),
        ),
        case("unknown route", M::GET, "/v2/nothing", "", 404, message("URI not found")),
        case("unknown root route", M::GET, "/v3/apps", "", 404, message("URI not found")),
        case(
            "unknown method on /v2/info",
            M::POST,
            "/v2/info",
            "{}",
            405,
            message("Method Not Allowed"),
        ),
        case("unknown method on /ping", M::DELETE, "/ping", "", 405, message("Method Not Allowed")),
        case(
            "unknown method on /v2/tasks",
            M::PUT,
            "/v2/tasks",
            "",
            405,
            message("Method Not Allowed"),
        ),
        case(
            "POST to an app's versions",
            M::POST,
            "/v2/apps/web/versions",
            "",
            405,
            message("Method Not Allowed"),
        ),
        case("POST to an app", M::POST, "/v2/apps/web", "{}", 405, message("Method Not Allowed")),
        case(
            "GET of restart",
            M::GET,
            "/v2/apps/web/restart",
            "",
            405,
            message("Method Not Allowed"),
        ),
        case(
            "PUT on an app's tasks",
            M::PUT,
            "/v2/apps/web/tasks",
            "{}",
            405,
            message("Method Not Allowed"),
        ),
        case(
            "pods are not supported",
            M::GET,
            "/v2/pods",
            "",
            404,
            message("Marathon pods are not supported: run each container as an app"),
        ),
        case(
            "unknown app",
            M::GET,
            "/v2/apps/prod/web",
            "",
            404,
            message("App '/prod/web' does not exist"),
        ),
        case(
            "unknown app with upper case",
            M::GET,
            "/v2/apps/Prod/Web",
            "",
            404,
            message("App '/Prod/Web' does not exist"),
        ),
        case(
            "unknown app's versions",
            M::GET,
            "/v2/apps/web/versions",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "unknown app's tasks",
            M::GET,
            "/v2/apps/web/tasks",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "unknown group",
            M::GET,
            "/v2/apps/prod/*",
            "",
            404,
            message("Group '/prod' does not exist"),
        ),
        case(
            "PATCH of an unknown app",
            M::PATCH,
            "/v2/apps/web",
            r#"{"instances": 2}"#,
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "PATCH /v2/apps of an unknown app",
            M::PATCH,
            "/v2/apps",
            r#"[{"id": "/web", "instances": 2}]"#,
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "rollback of an unknown app",
            M::PUT,
            "/v2/apps/web",
            r#"{"id": "/web", "version": "2026-01-01T00:00:00.000Z"}"#,
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "DELETE of an unknown app",
            M::DELETE,
            "/v2/apps/web?force=FALSE",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "restart of an unknown app",
            M::POST,
            "/v2/apps/web/restart?force=True",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "kill of an unknown task",
            M::DELETE,
            "/v2/apps/web/tasks/web.1",
            "",
            404,
            message("App '/web' does not exist"),
        ),
        case(
            "unknown deployment",
            M::DELETE,
            "/v2/deployments/0000",
            "",
            404,
            message("DeploymentPlan 0000 does not exist"),
        ),
        case(
            "delay of an app not queued",
            M::DELETE,
            "/v2/queue/web/delay",
            "",
            404,
            message("Application /web not found in tasks queue."),
        ),
        case(
            "queue path without delay",
            M::DELETE,
            "/v2/queue/web",
            "",
            404,
            message("URI not found"),
        ),
    ]
}

/// Runs every case and reports every mismatch at once.
async fn check_cases(router: &Router, cases: Vec<Case>) {
    let mut wrong = Vec::new();
    let count = cases.len();
    for case in cases {
        let answer = send(router, case.method.clone(), case.uri, case.body).await;
        let expected = Answer { status: case.status, body: case.answer };
        if answer != expected {
            wrong.push(format!(
                "{} ({} {}):\n  expected {} {}\n  got      {} {}",
                case.name,
                case.method,
                case.uri,
                expected.status,
                expected.body,
                answer.status,
                answer.body
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {count} requests answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn bad_bodies_are_refused_before_the_cluster() {
    check_cases(&offline_router(), body_cases()).await;
}

#[tokio::test]
async fn broken_rules_are_refused_before_the_cluster() {
    check_cases(&offline_router(), rule_cases()).await;
}

#[tokio::test]
async fn bad_routes_and_queries_are_refused_before_the_cluster() {
    check_cases(&offline_router(), route_cases()).await;
}

#[tokio::test]
async fn the_table_is_large_enough() {
    let total = body_cases().len() + rule_cases().len() + route_cases().len();
    assert!(total >= 30, "only {total} bad requests");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let router = offline_router();
    let huge = app(json!({"labels": {"padding": "x".repeat(BODY_LIMIT)}}));
    for (method, uri) in [
        (Method::POST, "/v2/apps"),
        (Method::PUT, "/v2/apps/web"),
        (Method::POST, "/v2/tasks/delete"),
    ] {
        let answer = send(&router, method.clone(), uri, huge.clone()).await;
        assert_eq!(
            answer,
            Answer {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                body: message("Request body is too large")
            },
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn head_of_pods_is_404_without_a_body() {
    // go-marathon's feature probe: 404 means "no pods support".
    let answer = send(&offline_router(), Method::HEAD, "/v2/pods", "").await;
    assert_eq!(answer, Answer { status: StatusCode::NOT_FOUND, body: Value::Null });
}

/// A valid write that reaches an API server that is not there: 503 in Marathon's shape, at
/// once (unknown fields and read-only fields are ignored, not refused, so this one is valid).
#[tokio::test]
async fn a_valid_write_to_an_unreachable_cluster_is_503() {
    let router = offline_router();
    let body = app(json!({"tasksRunning": 3, "versionInfo": {}, "someFutureField": true}));
    let answer = send(&router, Method::POST, "/v2/apps", body).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
    assert_eq!(
        answer.body,
        message(
            "storing app /bad: the Kubernetes API is unavailable: ServiceError: client error (Connect)"
        )
    );
}

/// An API server that accepts connections but never answers: the request timeout turns the
/// wait into Marathon's 503 instead of a hang.
#[tokio::test]
async fn a_silent_cluster_is_503_after_the_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let client = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let config = FacadeConfig { request_timeout: Duration::from_millis(300), ..offline_config() };
    let router = router(undriven_state(client, config));
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        send(&router, Method::POST, "/v2/apps", app(json!({}))),
    )
    .await
    .expect("the facade answered");
    assert_eq!(
        answer,
        Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: message("the request did not finish within 300ms"),
        }
    );
    drop(silent);
}

// ----- against the testbed ------------------------------------------------------------------

/// Caches of `namespace` on the testbed, driven in the background and synced.
async fn synced_watches(
    client: &Client,
    namespace: &str,
) -> (Watches, tokio::task::JoinHandle<()>) {
    let (watches, drive) = Watches::start(client, &[namespace.to_owned()]);
    let driver = tokio::spawn(drive);
    watches.wait_until_ready().await;
    (watches, driver)
}

fn state_over(client: Client, watches: Watches, config: FacadeConfig) -> FacadeState {
    FacadeState::new(client, watches, config, Metrics::shared(), CancellationToken::new())
}

/// A POST of a valid app that must succeed; returns its deployment id.
async fn create(router: &Router, app: Value) -> String {
    let request = Request::builder().method(Method::POST).uri("/v2/apps");
    let request =
        request.header("content-type", "application/json").body(Body::from(app.to_string()));
    let response = router.clone().oneshot(request.unwrap()).await.unwrap();
    let status = response.status();
    let header = response.headers().get("marathon-deployment-id").cloned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::CREATED, "create {app}: {}", String::from_utf8_lossy(&body));
    header.expect("Marathon-Deployment-Id").to_str().unwrap().to_owned()
}

/// The stored app's resourceVersion (what a refused request must leave alone).
async fn resource_version(client: &Client, namespace: &str, name: &str) -> String {
    use kube::ResourceExt;
    let api: kube::Api<marathon_operator::crd::MarathonApp> =
        kube::Api::namespaced(client.clone(), namespace);
    api.get(name).await.unwrap().resource_version().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_unknown_versions_with_the_controllers() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "router-state").await;
    let operator = support::operator::Operator::start(&client, ns.name());
    operator.watches.wait_until_ready().await;
    let config = FacadeConfig::local(ns.name());
    let router = router(state_over(client.clone(), operator.watches.clone(), config));

    create(&router, json!({"id": "/web", "cmd": "sleep 1000", "cpus": 0.01, "mem": 16})).await;
    let exists =
        send(&router, Method::POST, "/v2/apps", json!({"id": "web", "cmd": "x"}).to_string()).await;
    assert_eq!(
        exists,
        Answer {
            status: StatusCode::CONFLICT,
            body: message("An app with id [/web] already exists.")
        }
    );

    // Eight creates of one new id at once: exactly one is created, the others are told it exists.
    let racers = (0..8).map(|i| {
        let app = json!({"id": "/race", "cmd": format!("sleep {i}"), "cpus": 0.01, "mem": 16});
        send(&router, Method::POST, "/v2/apps", app.to_string())
    });
    let answers = futures::future::join_all(racers).await;
    let created: Vec<_> = answers.iter().filter(|a| a.status == StatusCode::CREATED).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let refused = Answer {
        status: StatusCode::CONFLICT,
        body: message("An app with id [/race] already exists."),
    };
    assert_eq!(answers.iter().filter(|a| **a == refused).count(), 7, "{answers:?}");
    let stored = send(&router, Method::GET, "/v2/apps/race", "").await;
    assert_eq!(stored.body["app"]["cmd"], created[0].body["cmd"], "the winner was overwritten");

    let version = "2001-01-01T00:00:00.000Z";
    let missing = message(&format!("App '/web' does not exist in version {version}"));
    let uri = format!("/v2/apps/web/versions/{version}");
    let answer = send(&router, Method::GET, &uri, "").await;
    assert_eq!(answer, Answer { status: StatusCode::NOT_FOUND, body: missing.clone() });
    let rollback = json!({"id": "/web", "version": version}).to_string();
    let answer = send(&router, Method::PUT, "/v2/apps/web?force=true", rollback).await;
    assert_eq!(answer, Answer { status: StatusCode::NOT_FOUND, body: missing });

    let task = "web.6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e";
    let answer = send(&router, Method::DELETE, &format!("/v2/apps/web/tasks/{task}"), "").await;
    assert_eq!(
        answer,
        Answer {
            status: StatusCode::NOT_FOUND,
            body: message(&format!("Task '{task}' does not exist"))
        }
    );

    // Two ids deriving one resource name: the second is refused, the first untouched.
    create(&router, json!({"id": "/a/b", "cmd": "sleep 1000", "cpus": 0.01, "mem": 16})).await;
    let before = resource_version(&client, ns.name(), "a-b").await;
    let answer =
        send(&router, Method::POST, "/v2/apps", json!({"id": "/a-b", "cmd": "x"}).to_string())
            .await;
    let collision = format!(
        "App /a-b cannot be stored: its resource name a-b in namespace {} is already used by app /a/b (two ids derive the same name)",
        ns.name()
    );
    assert_eq!(answer, Answer { status: StatusCode::CONFLICT, body: message(&collision) });
    let answer = send(&router, Method::PUT, "/v2/apps/a-b", json!({"cmd": "x"}).to_string()).await;
    assert_eq!(answer, Answer { status: StatusCode::CONFLICT, body: message(&collision) });
    assert_eq!(
        resource_version(&client, ns.name(), "a-b").await,
        before,
        "the collision changed /a/b"
    );

    // An app that can never be placed keeps its first deployment running: changes are locked.
    let unplaceable = json!({
        "id": "/stuck", "cmd": "sleep 1000", "cpus": 0.01, "mem": 16,
        "constraints": [["hostname", "CLUSTER", "no-such-node"]],
    });
    let deployment = create(&router, unplaceable).await;
    let locked = json!({
        "message": format!("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{deployment}'."),
        "deployments": [{"id": deployment}],
    });
    let before = resource_version(&client, ns.name(), "stuck").await;
    for (method, uri, body) in [
        (Method::PUT, "/v2/apps/stuck", r#"{"instances": 2}"#),
        (Method::PUT, "/v2/apps/stuck?force=FALSE", r#"{"instances": 2}"#),
        (Method::PATCH, "/v2/apps/stuck", r#"{"instances": 2}"#),
        (Method::POST, "/v2/apps/stuck/restart", ""),
        (Method::DELETE, "/v2/apps/stuck?force=False", ""),
    ] {
        let answer = send(&router, method.clone(), uri, body).await;
        assert_eq!(
            answer,
            Answer { status: StatusCode::CONFLICT, body: locked.clone() },
            "{method} {uri}"
        );
    }
    // Several apps at once: one refused app refuses the whole request, and nothing is created.
    let batches = [
        (
            json!([{"id": "/fresh", "cmd": "x"}, {"id": "/stuck", "instances": 2}]),
            StatusCode::CONFLICT,
            locked.clone(),
        ),
        (
            json!([{"id": "/fresh", "cmd": "x"}, {"id": "/a-b", "cmd": "x"}]),
            StatusCode::CONFLICT,
            message(&collision),
        ),
        (
            json!([{"id": "/fresh", "cmd": "x"}, {"id": "/x/y", "cmd": "x"}, {"id": "/x-y", "cmd": "x"}]),
            StatusCode::CONFLICT,
            message(
                "App /x-y cannot be stored: its resource name x-y is also derived by app /x/y of the same request (two ids derive the same name)",
            ),
        ),
        (
            json!([{"id": "/fresh", "cmd": "x"}, {"id": "/broken", "cmd": "x", "mem": -1}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            not_valid("/mem", &["-1 is less than the minimum of 0.0"]),
        ),
    ];
    for (batch, status, body) in batches {
        let answer = send(&router, Method::PUT, "/v2/apps", batch.to_string()).await;
        assert_eq!(answer, Answer { status, body }, "PUT /v2/apps {batch}");
        let fresh = send(&router, Method::GET, "/v2/apps/fresh", "").await;
        assert_eq!(fresh.status, StatusCode::NOT_FOUND, "{batch} created /fresh");
    }
    // Invalid changes of an existing app are refused and change nothing either.
    let answer =
        send(&router, Method::PUT, "/v2/apps/stuck?force=true", r#"{"instances": -1}"#).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{answer:?}");
    assert_eq!(answer.body, not_valid("/instances", &["-1 is less than the minimum of 0.0"]));
    assert_eq!(
        resource_version(&client, ns.name(), "stuck").await,
        before,
        "a refused request changed /stuck"
    );
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_is_required_when_configured() {
    use base64::Engine;
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "router-auth").await;
    let (watches, driver) = synced_watches(&client, ns.name()).await;
    let credentials = marathon_operator::marathon_api::Credentials {
        username: Some("ops".into()),
        password: Some("s3cret".into()),
        token: Some("tkn".into()),
    };
    let config = FacadeConfig { credentials: Some(credentials), ..FacadeConfig::local(ns.name()) };
    let router = router(state_over(client.clone(), watches, config));
    let basic = |user: &str, password: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    let refused =
        Answer { status: StatusCode::UNAUTHORIZED, body: message("Invalid username or password.") };
    let get = |auth: Option<String>| {
        let mut request = Request::builder().method(Method::GET).uri("/v2/apps");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request
    };
    assert_eq!(send_with(&router, get(None), "").await, refused, "no credentials");
    assert_eq!(
        send_with(&router, get(Some(basic("ops", "wrong"))), "").await,
        refused,
        "wrong password"
    );
    assert_eq!(
        send_with(&router, get(Some("Bearer nope".into())), "").await,
        refused,
        "wrong token"
    );
    // A refused write never reaches validation or the cluster.
    let post = Request::builder().method(Method::POST).uri("/v2/apps");
    assert_eq!(send_with(&router, post, "{").await, refused, "unauthenticated POST");
    let allowed = Answer { status: StatusCode::OK, body: json!({"apps": []}) };
    assert_eq!(send_with(&router, get(Some(basic("ops", "s3cret"))), "").await, allowed, "basic");
    assert_eq!(send_with(&router, get(Some("Bearer tkn".into())), "").await, allowed, "bearer");
    assert_eq!(send_with(&router, get(Some("token=tkn".into())), "").await, allowed, "DC/OS token");
    let ping = Request::builder().method(Method::GET).uri("/ping");
    assert_eq!(send_with(&router, ping, "").await.status, StatusCode::OK, "/ping stays open");
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_per_group_refuses_namespaces_it_does_not_manage() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "router-groups").await;
    let (watches, driver) = synced_watches(&client, ns.name()).await;
    let config = FacadeConfig { namespace_per_group: true, ..FacadeConfig::local(ns.name()) };
    let router = router(state_over(client.clone(), watches, config));
    let answer = send(
        &router,
        Method::POST,
        "/v2/apps",
        json!({"id": "/kube-system/web", "cmd": "x"}).to_string(),
    )
    .await;
    let refused = "app /kube-system/web would live in namespace kube-system, which this Marathon API does not manage";
    assert_eq!(answer, Answer { status: StatusCode::FORBIDDEN, body: message(refused) });
    let answer =
        send(&router, Method::PUT, "/v2/apps/kube-system/web", json!({"cmd": "x"}).to_string())
            .await;
    assert_eq!(answer, Answer { status: StatusCode::FORBIDDEN, body: message(refused) });
    let kube_system: kube::Api<marathon_operator::crd::MarathonApp> =
        kube::Api::namespaced(client.clone(), "kube-system");
    assert!(kube_system.get_opt("web").await.unwrap().is_none(), "nothing was written there");
    // The top-level group that is the managed namespace works.
    create(&router, json!({"id": format!("/{}/web", ns.name()), "cmd": "sleep 1000"})).await;
    let answer = send(&router, Method::GET, &format!("/v2/apps/{}/web", ns.name()), "").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    driver.abort();
}

/// Caches synced from the testbed, then the API server goes away: reads are still answered
/// from the caches, a valid write answers Marathon's 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_write_when_the_api_server_went_away_is_503() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "router-gone").await;
    let (watches, driver) = synced_watches(&client, ns.name()).await;
    let live = router(state_over(client.clone(), watches.clone(), FacadeConfig::local(ns.name())));
    create(&live, json!({"id": "/web", "cmd": "sleep 1000"})).await;
    let gone = router(state_over(unreachable_client(), watches, FacadeConfig::local(ns.name())));
    let read = send(&gone, Method::GET, "/v2/apps/web", "").await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(read.body["app"]["id"], "/web");
    let answer = send(&gone, Method::PUT, "/v2/apps/web?force=true", r#"{"instances": 2}"#).await;
    assert_eq!(
        answer,
        Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: message(
                "storing app /web: the Kubernetes API is unavailable: ServiceError: client error (Connect)"
            ),
        }
    );
    driver.abort();
}

/// A replica that does not hold the Lease names the holder, says it is not elected and
/// refuses to abdicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_names_the_leader() {
    use k8s_openapi::api::coordination::v1::Lease;
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "router-leader").await;
    let (watches, driver) = synced_watches(&client, ns.name()).await;
    let lease = marathon_operator::marathon_api::LeaseRef {
        namespace: ns.name().to_owned(),
        name: "marathon-operator".into(),
    };
    let config = FacadeConfig {
        lease: Some(lease),
        identity: "replica-b".into(),
        ..FacadeConfig::local(ns.name())
    };
    let router = router(state_over(client.clone(), watches, config));
    let no_leader = send(&router, Method::GET, "/v2/leader", "").await;
    assert_eq!(
        no_leader,
        Answer { status: StatusCode::NOT_FOUND, body: message("There is no leader") }
    );

    let leases: kube::Api<Lease> = kube::Api::namespaced(client.clone(), ns.name());
    let held: Lease = serde_json::from_value(json!({
        "metadata": {"name": "marathon-operator"},
        "spec": {"holderIdentity": "replica-a", "leaseDurationSeconds": 15},
    }))
    .unwrap();
    leases.create(&Default::default(), &held).await.unwrap();
    let leader = send(&router, Method::GET, "/v2/leader", "").await;
    assert_eq!(leader, Answer { status: StatusCode::OK, body: json!({"leader": "replica-a"}) });
    let info = send(&router, Method::GET, "/v2/info", "").await;
    assert_eq!(
        (info.body["leader"].clone(), info.body["elected"].clone()),
        (json!("replica-a"), json!(false))
    );
    let abdicate = send(&router, Method::DELETE, "/v2/leader", "").await;
    assert_eq!(
        abdicate,
        Answer { status: StatusCode::NOT_FOUND, body: message("This replica is not the leader") }
    );
    driver.abort();
}

/// With leader election on, `/v2/leader` and `/v2/info` read the Lease: an unreachable API
/// server is Marathon's 503, and a replica without the Lease cannot abdicate.
#[tokio::test]
async fn leader_reads_against_an_unreachable_cluster_are_503() {
    let lease = marathon_operator::marathon_api::LeaseRef {
        namespace: OFFLINE_NAMESPACE.into(),
        name: "marathon-operator".into(),
    };
    let config = FacadeConfig { lease: Some(lease), ..offline_config() };
    let router = router(undriven_state(unreachable_client(), config));
    let unavailable = Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: message(
            "reading the leader lease: the Kubernetes API is unavailable: ServiceError: client error (Connect)",
        ),
    };
    for (method, uri) in
        [(Method::GET, "/v2/leader"), (Method::GET, "/v2/info"), (Method::DELETE, "/v2/leader")]
    {
        assert_eq!(send(&router, method.clone(), uri, "").await, unavailable, "{method} {uri}");
    }
    // Without election this replica leads alone and cannot abdicate (nobody would take over).
    let alone = offline_router();
    let leader = send(&alone, Method::GET, "/v2/leader", "").await;
    assert_eq!(
        leader,
        Answer { status: StatusCode::OK, body: json!({"leader": "marathon-operator"}) }
    );
    let abdicate = send(&alone, Method::DELETE, "/v2/leader", "").await;
    assert_eq!(
        abdicate,
        Answer {
            status: StatusCode::NOT_FOUND,
            body: message("Leader election is off: this replica leads alone and cannot abdicate")
        }
    );
}
