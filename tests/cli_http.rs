//! Reading apps from a live Marathon (`import --from URL`): a tiny local HTTP server on
//! 127.0.0.1 stands in for Marathon and checks the path and the authentication headers.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::get;
use marathon_operator::cli::app::Batch;
use marathon_operator::cli::input::Collected;
use marathon_operator::cli::remote::{Credentials, RemoteError, fetch_apps};

const DUMP: &str = r#"{"apps": [
  {"id": "/prod/web", "cmd": "sleep 1", "instances": 2, "tasksRunning": 2, "deployments": []},
  {"id": "/prod/db", "container": {"type": "DOCKER", "docker": {"image": "postgres:16"}}}
]}"#;

/// Starts the fake Marathon; returns its base URL and the (path, Authorization) of each request.
async fn fake_marathon() -> (String, Arc<Mutex<Vec<(String, Option<String>)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/v2/apps",
        get(move |uri: Uri, headers: HeaderMap| {
            let log = log.clone();
            async move {
                let auth =
                    headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                log.lock().expect("log").push((uri.to_string(), auth.clone()));
                match auth.as_deref() {
                    // ops:secret
                    Some("Basic b3BzOnNlY3JldA==") | Some("token=jwt-123") => {
                        (StatusCode::OK, DUMP.to_string())
                    }
                    _ => (
                        StatusCode::UNAUTHORIZED,
                        r#"{"message":"Invalid username or password."}"#.to_string(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn basic_auth_and_token_read_the_v2_apps_dump() {
    let (url, seen) = fake_marathon().await;

    let basic = Credentials::Basic { user: "ops".into(), password: "secret".into() };
    let (read, body) = fetch_apps(&format!("{url}/"), &basic).await.expect("basic auth");
    assert_eq!(read, format!("{url}/v2/apps"));
    let mut collected = Collected::default();
    collected.read_text(&read, &body);
    let batch = Batch::check(collected);
    assert!(batch.is_valid(), "{:?}", batch.errors);
    let ids: Vec<&str> = batch.apps.iter().map(|a| a.id()).collect();
    assert_eq!(ids, ["/prod/web", "/prod/db"]);
    assert!(batch.apps[0].spec.extra.is_empty(), "read-only counters are not kept");

    let token = Credentials::Token("jwt-123".into());
    fetch_apps(&url, &token).await.expect("token auth");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("/v2/apps".to_string(), Some("Basic b3BzOnNlY3JldA==".to_string())),
            ("/v2/apps".to_string(), Some("token=jwt-123".to_string())),
        ]
    );
}

#[tokio::test]
async fn rejected_credentials_report_marathons_message() {
    let (url, _) = fake_marathon().await;
    let err = fetch_apps(&url, &Credentials::None).await.expect_err("401");
    match &err {
        RemoteError::Status { status, body, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(body, "Invalid username or password.");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("/v2/apps answered 401"), "{err}");
}

#[tokio::test]
async fn unreachable_marathon_is_a_request_error() {
    // A port nothing listens on: bind, note the port, drop the listener.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = fetch_apps(&format!("http://127.0.0.1:{port}"), &Credentials::None).await;
    assert!(matches!(err, Err(RemoteError::Request { .. })), "{err:?}");
}
