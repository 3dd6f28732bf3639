//! The real Marathon clients (`tests/clients`): installed by `scripts/clients` (which installs
//! what is missing, so a test also works without `scripts/test`; a failed install fails the
//! test) and run as processes that check every answer themselves.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Paths of the installed clients, as `scripts/clients` prints them.
pub struct Clients {
    /// The Python of the marathon-python venv.
    pub python: PathBuf,
    /// The go-marathon program (`marathon-cycle`).
    pub go: PathBuf,
}

/// The repository's root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A client script of `tests/clients/python`.
pub fn python_script(name: &str) -> PathBuf {
    repo().join("tests/clients/python").join(name)
}

/// Installs the clients (fast when cached) and says where they are.
pub async fn install() -> Clients {
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

/// Runs one client program to the end (killed after `timeout`) and fails the test with its
/// output unless it exits 0 having printed `finished` (its last `ok` line).
pub async fn run(
    name: &str,
    mut command: tokio::process::Command,
    timeout: Duration,
    finished: &str,
) {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().unwrap_or_else(|e| panic!("start the {name} client: {e}"));
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the {name} client ran longer than {timeout:?}"))
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
        stdout.lines().any(|l| l == finished),
        "the {name} client exited 0 without printing {finished:?}:\n{stdout}"
    );
}
