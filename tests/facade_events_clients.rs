//! The real clients follow `/v2/events` against the facade and the in-process controllers on
//! the testbed: marathon-python 0.13.0's `event_stream()` (`tests/clients/python/
//! marathon_events.py`) and go-marathon's SSE `AddEventsListener` (`marathon-cycle -events`).
//! Each creates, scales and deletes an app and checks the deployment, status and app events
//! arrive, in order, and parse into the client's own types.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::clients::{self, Clients};
use support::facade::{Facade, Stack};

/// How long one awaited event may take (passed to the clients).
const EVENT_TIMEOUT_SECS: u64 = 120;
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// The last line of an events client that saw everything it waited for.
const EVENTS_PASSED: &str = "ok   events passed";

/// The installed clients, and the controllers and the facade for one namespace, served on a
/// loopback port.
async fn serve(prefix: &str) -> (Clients, Stack, Facade) {
    let clients = clients::install().await;
    let stack = Stack::start(prefix).await;
    let facade = stack.serve().await;
    (clients, stack, facade)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_event_stream_sees_the_app_cycle() {
    let (clients, stack, facade) = serve("events-python").await;
    let mut command = tokio::process::Command::new(&clients.python);
    command.arg(clients::python_script("marathon_events.py")).args([
        "--url",
        &facade.url(),
        "--timeout",
        &EVENT_TIMEOUT_SECS.to_string(),
    ]);
    clients::run("marathon-python", command, CLIENT_RUN_TIMEOUT, EVENTS_PASSED).await;
    drop(facade);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_marathon_events_listener_sees_the_app_cycle() {
    let (clients, stack, facade) = serve("events-go").await;
    let mut command = tokio::process::Command::new(&clients.go);
    command.args([
        "-events",
        "-url",
        &facade.url(),
        "-app-id",
        "/marathon-clients/go-events",
        "-timeout",
        &format!("{EVENT_TIMEOUT_SECS}s"),
    ]);
    clients::run("go-marathon", command, CLIENT_RUN_TIMEOUT, EVENTS_PASSED).await;
    drop(facade);
    stack.stop().await;
}

/// The group scenario through marathon-python: dependency order, tree, scale by 2,
/// update without one app, delete, with `event_stream()` following every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_drives_a_group_with_dependencies_and_sees_its_events() {
    let (clients, stack, facade) = serve("groups-python").await;
    let mut command = tokio::process::Command::new(&clients.python);
    command.arg(clients::python_script("marathon_groups.py")).args([
        "--url",
        &facade.url(),
        "--timeout",
        &EVENT_TIMEOUT_SECS.to_string(),
    ]);
    clients::run("marathon-python groups", command, CLIENT_RUN_TIMEOUT, "ok   groups passed").await;
    drop(facade);
    stack.stop().await;
}
