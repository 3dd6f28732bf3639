//! The README's Marathon API session works as written: its `sh` block runs with bash against
//! the operator and the Marathon API, in-process on the testbed.

mod support;

use std::time::Duration;

use support::TestNamespace;
use support::facade::Facade;
use support::operator::Operator;

/// The first `sh` block after the "The Marathon API" heading.
fn session() -> String {
    let readme = include_str!("../README.md");
    let section = readme.split("## The Marathon API").nth(1).expect("README has the API section");
    let block = section.split("```sh\n").nth(1).expect("the section has a sh block");
    block.split("```").next().expect("the block ends").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_session_works_as_written() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "readme").await;
    let operator = Operator::start(&client, ns.name());
    let facade = Facade::start(&client, ns.name(), operator.watches.clone()).await;
    let script = format!("set -euo pipefail\n{}", session());
    let run = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("MARATHON", facade.url())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the session finished within 5 minutes")
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README session failed:\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    // It printed the created app, the app with its tasks, and three deployment results.
    assert!(stdout.contains(r#""id":"/demo/web""#), "{stdout}");
    assert!(stdout.contains(r#""tasks":[{"#), "the app was shown with its tasks: {stdout}");
    assert_eq!(stdout.matches(r#""deploymentId":"#).count(), 3, "{stdout}");
    operator.stop().await;
}
