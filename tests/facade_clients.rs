//! The real Marathon clients drive a full app cycle against the facade: marathon-python 0.13.0
//! (`tests/clients/python`) and go-marathon (`tests/clients/go`). The operator's controllers and
//! the facade run in-process against the testbed, in a namespace of the test's own; the clients
//! run as processes installed by `scripts/clients` and check every answer themselves (create,
//! list, get with tasks, scale up and down, new image, versions, rollback, restart, kill a task
//! with scale, deployments, delete). A client that fails fails the test with its output.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::TestNamespace;
use support::facade::Facade;
use support::operator::Operator;

/// How long one deployment may take (passed to the clients).
const DEPLOYMENT_TIMEOUT_SECS: u64 = 120;
/// How long a whole client run may take before it is killed.
const CLIENT_RUN_TIMEOUT: Duration = Duration::from_secs(900);

/// Paths of the installed clients, as `scripts/clients` prints them (it installs what is
/// missing, so the test also works without `scripts/test`; a failed install fails the test).
struct Clients {
    python: PathBuf,
    go: PathBuf,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

async fn install_clients() -> Clients {
    let output = tokio::process::Command::new("bash")
        .arg(repo().join("scripts/clients"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("run scripts/clients");
    assert!(output.status.success(), "scripts/clients failed: {}", output.status);
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    let path = |key: &str| {
        let line = stdout.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| {
            panic!("scripts/clients printed no `{key}` line:\n{stdout}");
        });
        PathBuf::from(line.trim())
    };
    Clients { python: path("python="), go: path("go=") }
}

/// Runs one client program to the end and fails the test with its output if it failed.
async fn run_client(name: &str, mut command: tokio::process::Command) {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().unwrap_or_else(|e| panic!("start the {name} client: {e}"));
    let output = tokio::time::timeout(CLIENT_RUN_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the {name} client ran longer than {CLIENT_RUN_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("wait for the {name} client: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- {name} client output ---\n{stdout}");
    assert!(
        output.status.success(),
        "the {name} client failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    assert!(
        stdout.lines().any(|l| l == "ok   full cycle passed"),
        "the {name} client exited 0 without finishing its cycle:\n{stdout}"
    );
}

/// Controllers and facade for one namespace, plus the installed clients.
async fn setup(prefix: &str) -> (TestNamespace, Operator, Facade, Clients) {
    let clients = install_clients().await;
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    let operator = Operator::start(&client, ns.name());
    let facade = Facade::start(&client, ns.name(), operator.watches.clone()).await;
    (ns, operator, facade, clients)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marathon_python_drives_a_full_cycle() {
    let (_ns, operator, facade, clients) = setup("clients-python").await;
    let mut command = tokio::process::Command::new(&clients.python);
    command
        .arg(repo().join("tests/clients/python/marathon_cycle.py"))
        .args(["--url", &facade.url()])
        .args(["--timeout", &DEPLOYMENT_TIMEOUT_SECS.to_string()]);
    run_client("marathon-python", command).await;
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_marathon_drives_a_full_cycle() {
    let (_ns, operator, facade, clients) = setup("clients-go").await;
    let mut command = tokio::process::Command::new(&clients.go);
    command
        .args(["-url", &facade.url()])
        .args(["-timeout", &format!("{DEPLOYMENT_TIMEOUT_SECS}s")]);
    run_client("go-marathon", command).await;
    operator.stop().await;
}
