//! The real Marathon clients drive a full app cycle against the facade: marathon-python 0.13.0
//! (`tests/clients/python`) and go-marathon (`tests/clients/go`). The operator's controllers and
//! the facade run in-process against the testbed, in a namespace of the test's own; the clients
//! run as processes installed by `scripts/clients` and check every answer themselves (create,
//! list, get with tasks, scale up and down, new image, versions, rollback, restart, kill a task
//! with scale, deployments, delete). A client that fails fails the test with its output.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::clients::{self, Clients};
use support::facade::{Facade, Stack};

/// How long one deployment may take (passed to the clients).
const DEPLOYMENT_TIMEOUT_SECS: u64 = 120;
/// How long a whole client run may take before it is killed.
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(900);

/// Controllers and facade for one namespace, plus the installed clients.
async fn setup(prefix: &str) -> (Stack, Facade, Clients) {
    let clients = clients::install().await;
    let stack = Stack::start(prefix).await;
    let facade = stack.serve().await;
    (stack, facade, clients)
}

async fn run_client(name: &str, command: tokio::process::Command) {
    clients::run(name, command, CLIENT_RUN_TIMEOUT, "ok   full cycle passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_drives_a_full_cycle() {
    let (stack, facade, clients) = setup("clients-python").await;
    let mut command = tokio::process::Command::new(&clients.python);
    command
        .arg(clients::python_script("marathon_cycle.py"))
        .args(["--url", &facade.url()])
        .args(["--timeout", &DEPLOYMENT_TIMEOUT_SECS.to_string()]);
    run_client("marathon-python", command).await;
    drop(facade);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_marathon_drives_a_full_cycle() {
    let (stack, facade, clients) = setup("clients-go").await;
    let mut command = tokio::process::Command::new(&clients.go);
    command
        .args(["-url", &facade.url()])
        .args(["-timeout", &format!("{DEPLOYMENT_TIMEOUT_SECS}s")]);
    run_client("go-marathon", command).await;
    drop(facade);
    stack.stop().await;
}
