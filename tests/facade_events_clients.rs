//! The real clients follow `/v2/events` against the facade and the in-process controllers on
//! the testbed: marathon-python 0.13.0's `event_stream()` (`tests/clients/python/
//! marathon_events.py`) and go-marathon's SSE `AddEventsListener` (`marathon-cycle -events`).
//! Each creates, scales and deletes an app and checks the deployment, status and app events
//! arrive, in order, and parse into the client's own types.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use support::TestNamespace;
use support::operator::Operator;
use tokio_util::sync::CancellationToken;

/// How long one awaited event may take (passed to the clients).
const EVENT_TIMEOUT_SECS: u64 = 120;
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `python=` and `go=` as `scripts/clients` prints them (it installs what is missing).
async fn installed(key: &str) -> PathBuf {
    let output = tokio::process::Command::new("bash")
        .arg(repo().join("scripts/clients"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "scripts/clients failed: {}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.lines().find_map(|l| l.strip_prefix(key));
    PathBuf::from(line.unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}")).trim())
}

/// Controllers and the facade (recording peer addresses) for one namespace.
async fn serve(prefix: &str) -> (TestNamespace, Operator, String, CancellationToken) {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    let operator = Operator::start(&client, ns.name());
    operator.watches.wait_until_ready().await;
    let state = FacadeState::new(
        client.clone(),
        operator.watches.clone(),
        FacadeConfig::local(ns.name()),
        Metrics::shared(),
        CancellationToken::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let app = router(state);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    });
    (ns, operator, url, shutdown)
}

async fn run_client(name: &str, mut command: tokio::process::Command) {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().unwrap_or_else(|e| panic!("start the {name} client: {e}"));
    let output = tokio::time::timeout(CLIENT_RUN_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the {name} client ran longer than {CLIENT_RUN_TIMEOUT:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- {name} output ---\n{stdout}");
    assert!(
        output.status.success(),
        "the {name} client failed ({}):\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    let done = stdout.lines().any(|l| l == "ok   events passed" || l == "ok   groups passed");
    assert!(done, "{name} did not finish:\n{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_event_stream_sees_the_app_cycle() {
    let python = installed("python=").await;
    let (_ns, operator, url, shutdown) = serve("events-python").await;
    let mut command = tokio::process::Command::new(python);
    command.arg(repo().join("tests/clients/python/marathon_events.py")).args([
        "--url",
        &url,
        "--timeout",
        &EVENT_TIMEOUT_SECS.to_string(),
    ]);
    run_client("marathon-python", command).await;
    shutdown.cancel();
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_marathon_events_listener_sees_the_app_cycle() {
    let go = installed("go=").await;
    let (_ns, operator, url, shutdown) = serve("events-go").await;
    let mut command = tokio::process::Command::new(go);
    command.args([
        "-events",
        "-url",
        &url,
        "-app-id",
        "/marathon-clients/go-events",
        "-timeout",
        &format!("{EVENT_TIMEOUT_SECS}s"),
    ]);
    run_client("go-marathon", command).await;
    shutdown.cancel();
    operator.stop().await;
}

/// The group scenario through marathon-python: dependency order, tree, scale by 2,
/// update without one app, delete, with `event_stream()` following every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_drives_a_group_with_dependencies_and_sees_its_events() {
    let python = installed("python=").await;
    let (_ns, operator, url, shutdown) = serve("groups-python").await;
    let mut command = tokio::process::Command::new(python);
    command.arg(repo().join("tests/clients/python/marathon_groups.py")).args([
        "--url",
        &url,
        "--timeout",
        &EVENT_TIMEOUT_SECS.to_string(),
    ]);
    run_client("marathon-python groups", command).await;
    shutdown.cancel();
    operator.stop().await;
}
