//! Security of the Marathon API: no route answers without credentials when authentication is
//! on (the UI, the event stream and the OpenAPI document included), the facade cannot touch a
//! namespace it was not given, and neither secrets (Marathon `secrets`, env from secrets, the
//! API's own credentials) appear in the operator's log, in Events, in status or in any answer.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use marathon_operator::crd::MarathonApp;
use marathon_operator::marathon_api::{Credentials, FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use support::facade::Stack;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const USER: &str = "ops";
const PASSWORD: &str = "pw-4b1d6c0e-never-logged";
const TOKEN: &str = "tok-93f2aa71-never-logged";

fn credentials() -> Credentials {
    Credentials {
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        token: Some(TOKEN.into()),
    }
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// A facade over `client` with caches of `namespaces` (driven when `drive` is true).
async fn state(client: &Client, config: FacadeConfig, drive: bool) -> FacadeState {
    let (watches, driver) = Watches::start(client, &config.watched);
    if drive {
        tokio::spawn(driver);
        watches.wait_until_ready().await;
    }
    FacadeState::new(client.clone(), watches, config, Metrics::shared(), CancellationToken::new())
}

/// A client of an API server that does not exist.
fn unreachable_client() -> Client {
    Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    auth: Option<&str>,
    body: &str,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream, application/json, text/html");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response =
        router.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let streaming =
        headers.get("content-type").is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming {
        String::new()
    } else {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Answer { status, headers, body }
}

/// Every documented operation, with a concrete path.
fn documented(document: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{appId}", "prod/web")
            .replace("{groupId}", "prod")
            .replace("{taskId}", "prod_web.6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e")
            .replace("{version}", "2026-01-01T00:00:00.000Z")
            .replace("{deploymentId}", "0000")
            .replace("{id}", "prod");
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    out
}

/// The web UI's pages and actions, and paths no route serves.
const UNDOCUMENTED: [(&str, &str); 14] = [
    ("GET", "/"),
    ("GET", "/ui"),
    ("GET", "/ui/"),
    ("GET", "/ui/apps/table"),
    ("GET", "/ui/app?id=/prod/web"),
    ("GET", "/ui/app/live?id=/prod/web"),
    ("POST", "/ui/app/scale"),
    ("POST", "/ui/app/delete"),
    ("POST", "/ui/new"),
    ("GET", "/ui/report.json"),
    ("GET", "/ui/static/htmx.min.js"),
    ("GET", "/ui/deployments"),
    ("GET", "/v2/no-such-route"),
    ("GET", "/metrics"),
];

/// With authentication on, every route refuses a request without valid credentials with
/// Marathon's 401 (and `WWW-Authenticate`), before any handler runs: the facade's client
/// points nowhere, so a handler that ran would answer 503 instead. `/ping` alone stays open.
#[tokio::test]
async fn every_route_refuses_requests_without_credentials() {
    let config = FacadeConfig { credentials: Some(credentials()), ..FacadeConfig::local("auth") };
    let router = router(state(&unreachable_client(), config, false).await);
    let good = basic(USER, PASSWORD);
    let document = call(&router, Method::GET, "/v2/openapi.json", Some(&good), "").await;
    assert_eq!(document.status, StatusCode::OK);
    let document: Value = serde_json::from_str(&document.body).unwrap();
    let mut routes = documented(&document);
    assert!(routes.len() >= 40, "only {} documented operations", routes.len());
    routes.extend(UNDOCUMENTED.iter().map(|(m, p)| (m.parse().unwrap(), (*p).to_owned())));
    let wrong_credentials = [
        None,
        Some(basic(USER, "wrong")),
        Some(basic("", "")),
        Some(basic(USER, &format!("{PASSWORD}x"))),
        Some(basic(USER, &PASSWORD[..PASSWORD.len() - 1])),
        Some(format!("Bearer {TOKEN}x")),
        Some("Bearer ".to_owned()),
        Some(format!("Basic {TOKEN}")),
        Some(format!("Digest username=\"{USER}\"")),
        Some(format!("token={}", TOKEN.to_uppercase())),
    ];
    let mut wrong = Vec::new();
    for (method, path) in &routes {
        if path == "/ping" {
            continue;
        }
        for auth in &wrong_credentials {
            let answer = call(&router, method.clone(), path, auth.as_deref(), "{}").await;
            let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            let refused = answer.status == StatusCode::UNAUTHORIZED
                && (method == Method::HEAD
                    || body == json!({"message": "Invalid username or password."}))
                && answer.headers.get("www-authenticate").is_some();
            if !refused {
                wrong.push(format!(
                    "{method} {path} with {auth:?}: {} {}",
                    answer.status, answer.body
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} requests were not refused:\n{}", wrong.len(), wrong.join("\n"));
    let ping = call(&router, Method::GET, "/ping", None, "").await;
    assert_eq!(ping.status, StatusCode::OK, "/ping stays open for health checks");
}

// ----- namespaces -----------------------------------------------------------------------------

/// An app created straight in a namespace the facade was not given.
async fn foreign_app(client: &Client, namespace: &str) -> MarathonApp {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let app: MarathonApp = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": {"name": "web"},
        "spec": {"id": "/web", "cmd": "sleep 1000"},
    }))
    .unwrap();
    api.create(&PostParams::default(), &app).await.unwrap()
}

async fn versions(client: &Client, namespace: &str) -> Vec<(String, String)> {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items.iter().map(|a| (a.name_any(), a.resource_version().unwrap_or_default())).collect()
}

/// Requests aimed at the foreign namespace `other` through ids, groups and query parameters.
fn aimed_at(other: &str) -> Vec<(Method, String, String)> {
    let app = json!({"cmd": "sleep 1", "cpus": 0.01, "mem": 16}).to_string();
    let with_id = |id: &str| json!({"id": id, "cmd": "sleep 1"}).to_string();
    vec![
        (Method::GET, format!("/v2/apps/{other}/web"), String::new()),
        (Method::PUT, format!("/v2/apps/{other}/web?force=true"), app.clone()),
        (Method::PATCH, format!("/v2/apps/{other}/web?force=true"), app.clone()),
        (Method::DELETE, format!("/v2/apps/{other}/web?force=true"), String::new()),
        (Method::POST, format!("/v2/apps/{other}/web/restart?force=true"), String::new()),
        (Method::DELETE, format!("/v2/apps/{other}/web/tasks?scale=true"), String::new()),
        (Method::POST, "/v2/apps".into(), with_id(&format!("/{other}/web"))),
        (
            Method::PUT,
            "/v2/apps?force=true".into(),
            json!([{"id": format!("/{other}/web"), "instances": 3}]).to_string(),
        ),
        (
            Method::POST,
            "/v2/groups".into(),
            json!({"id": format!("/{other}"), "apps": [{"id": "web2", "cmd": "x"}]}).to_string(),
        ),
        (
            Method::PUT,
            format!("/v2/groups/{other}?force=true"),
            json!({"apps": [{"id": "web", "cmd": "x"}]}).to_string(),
        ),
        (Method::DELETE, format!("/v2/groups/{other}?force=true"), String::new()),
        (Method::DELETE, format!("/v2/queue/{other}/web/delay"), String::new()),
        (Method::GET, format!("/v2/apps?namespace={other}&id=web"), String::new()),
        (Method::GET, format!("/v2/groups/{other}?namespace={other}"), String::new()),
    ]
}

/// Nothing in the foreign namespace is read, listed or changed, with `--namespace-per-group`
/// and without it: reads do not find it, writes are refused (per group) or land in the
/// facade's own namespace (without), and the foreign app keeps its resourceVersion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facade_cannot_touch_namespaces_it_was_not_given() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let own = support::TestNamespace::new(&client, "sec-own").await;
    let other = support::TestNamespace::new(&client, "sec-other").await;
    let foreign = foreign_app(&client, other.name()).await;
    let before = versions(&client, other.name()).await;
    for per_group in [true, false] {
        let config =
            FacadeConfig { namespace_per_group: per_group, ..FacadeConfig::local(own.name()) };
        let router = router(state(&client, config, true).await);
        for (method, uri, body) in aimed_at(other.name()) {
            let answer = call(&router, method.clone(), &uri, None, &body).await;
            let what = format!("per-group {per_group}: {method} {uri}");
            assert!(
                !answer.body.contains(foreign.uid().unwrap().as_str()),
                "{what} shows the foreign app: {}",
                answer.body
            );
            if method == Method::GET {
                let found: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
                let listed = found["apps"].as_array().map_or(0, Vec::len);
                assert!(
                    answer.status == StatusCode::NOT_FOUND || listed == 0,
                    "{what}: {} {}",
                    answer.status,
                    answer.body
                );
            } else if per_group {
                assert!(
                    answer.status.is_client_error(),
                    "{what} was not refused: {} {}",
                    answer.status,
                    answer.body
                );
            }
        }
        assert_eq!(
            versions(&client, other.name()).await,
            before,
            "per-group {per_group} changed {}",
            other.name()
        );
    }
    // Without namespaces per group, `/<other>/web` is only an id: it lives in the own namespace.
    let own_apps: Vec<String> =
        versions(&client, own.name()).await.into_iter().map(|(n, _)| n).collect();
    assert!(own_apps.iter().all(|n| n.starts_with(other.name())), "{own_apps:?}");
}

// ----- secrets --------------------------------------------------------------------------------

/// Everything the process logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const SECRET_VALUE: &str = "secret-value-7c1e0d55";

/// An app with Marathon secrets and env from secrets, created through the facade with
/// authentication and run by the in-process controllers: the secret's value, the password
/// and the token appear in no log line (trace level), no Event, no status and no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_credentials_never_leak() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_global_default(subscriber);
    let stack =
        Stack::start_with("sec-secrets", |config| config.credentials = Some(credentials())).await;
    let (client, ns, router) = (&stack.client, &stack.ns, &stack.api);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "db.password"},
        "stringData": {"db.password": SECRET_VALUE},
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    let auth = basic(USER, PASSWORD);
    let bearer = format!("Bearer {TOKEN}");

    let app = json!({
        "id": "/vault/db", "cmd": "sleep 1000", "cpus": 0.01, "mem": 16,
        "secrets": {"pw": {"source": "/db/password"}},
        "env": {"DB_PASSWORD": {"secret": "pw"}, "PLAIN": "visible"},
    });
    let created = call(router, Method::POST, "/v2/apps", Some(&auth), &app.to_string()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mut answers = vec![created.body];
    // The Deployment exists and takes the value from the Secret (by reference).
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), ns.name());
    let deployment =
        support::eventually("the Deployment vault-db", Duration::from_secs(60), || async {
            deployments.get_opt("vault-db").await.ok().flatten()
        })
        .await;
    let env =
        serde_json::to_string(&deployment.spec.template.spec.unwrap().containers[0].env).unwrap();
    assert!(env.contains("secretKeyRef") && !env.contains(SECRET_VALUE), "{env}");

    let reads = [
        "/v2/apps/vault/db",
        "/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.lastTaskFailure",
        "/v2/apps/vault/db/versions",
        "/v2/groups?embed=group.apps",
        "/v2/tasks",
        "/v2/deployments",
        "/v2/info",
        "/ui/app?id=/vault/db",
        "/ui/report.json",
    ];
    for uri in reads {
        let answer = call(router, Method::GET, uri, Some(&bearer), "").await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
        answers.push(answer.body);
    }
    let one: Value = serde_json::from_str(&answers[1]).unwrap();
    assert_eq!(
        one["app"]["secrets"],
        json!({"pw": {"source": "/db/password"}}),
        "Marathon answers the references"
    );
    // Refused requests do not echo what they were sent.
    for auth in [basic(USER, "wrong-password-echo"), "Bearer wrong-token-echo".into()] {
        let answer = call(router, Method::GET, "/v2/apps", Some(&auth), "").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(!answer.body.contains("echo"), "{}", answer.body);
        answers.push(answer.body);
    }
    let scaled = call(
        router,
        Method::PUT,
        "/v2/apps/vault/db?force=true",
        Some(&auth),
        r#"{"instances": 2}"#,
    )
    .await;
    assert_eq!(scaled.status, StatusCode::OK, "{}", scaled.body);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    assert!(events.contains("MarathonApiWrite"), "the writes were recorded");
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let stored = serde_json::to_string(&apps.get("vault-db").await.unwrap()).unwrap();
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(log.contains("Marathon API write"), "the log was captured: {} bytes", log.len());
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(SECRET_VALUE);
    for (place, text) in [("the log", &log), ("Events", &events), ("the MarathonApp", &stored)]
        .into_iter()
        .chain(answers.iter().map(|a| ("an answer", a)))
    {
        for leaked in [
            SECRET_VALUE,
            secret_b64.as_str(),
            PASSWORD,
            TOKEN,
            encoded.as_str(),
            "wrong-password-echo",
            "wrong-token-echo",
        ] {
            assert!(!text.contains(leaked), "{place} contains {leaked:?}");
        }
    }
    stack.stop().await;
}
