//! The local control plane for `run` on a machine without a cluster. The work is done by
//! `scripts/testbed` (shared with CI and the tests); this module decides whether it is needed
//! and calls it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error("testbed script {0} not found; pass --testbed-script or configure a cluster")]
    ScriptMissing(PathBuf),
    #[error("failed to run the testbed script")]
    Spawn(#[source] std::io::Error),
    #[error("`{script} up` failed with {status}; its log lines are above")]
    Failed { script: PathBuf, status: std::process::ExitStatus },
    #[error("`testbed up` printed no kubeconfig path")]
    NoKubeconfig,
}

/// True when a cluster is configured: in a pod, through KUBECONFIG, or ~/.kube/config.
pub fn cluster_configured() -> bool {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return true;
    }
    if std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".kube/config").is_file())
        .unwrap_or(false)
}

/// `scripts/testbed` in the working directory, else in the source tree this binary came from.
pub fn default_script() -> PathBuf {
    let local = PathBuf::from("scripts/testbed");
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed")
}

/// Starts (or reuses) the testbed and returns the path of its kubeconfig.
pub async fn up(script: &Path) -> Result<PathBuf, TestbedError> {
    if !script.is_file() {
        return Err(TestbedError::ScriptMissing(script.to_path_buf()));
    }
    let output = Command::new("bash")
        .arg(script)
        .arg("up")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(TestbedError::Spawn)?;
    if !output.status.success() {
        return Err(TestbedError::Failed { script: script.to_path_buf(), status: output.status });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(PathBuf::from)
        .ok_or(TestbedError::NoKubeconfig)
}
