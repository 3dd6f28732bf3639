//! Shared harness for tests against a real control plane: the local testbed started by
//! `scripts/testbed up`, or any cluster named by KUBECONFIG.
//!
//! Each test gets its own namespace, removed when the [`TestNamespace`] is dropped (also when
//! the test panics). Set `KEEP_TEST_NAMESPACES=1` to keep them for debugging.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

pub mod clients;
pub mod corpus;
pub mod facade;
pub mod faults;
pub mod helm;
pub mod operator;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Path of the kubeconfig the tests use: KUBECONFIG when set, else the testbed's (started on
/// first use; `scripts/testbed up` reuses a running one in well under a second).
pub fn kubeconfig_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed");
        let output = std::process::Command::new("bash")
            .arg(&script)
            .arg("up")
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/testbed up");
        assert!(output.status.success(), "scripts/testbed up failed: {}", output.status);
        let stdout = String::from_utf8(output.stdout).expect("utf-8 path");
        PathBuf::from(stdout.lines().last().expect("testbed printed its kubeconfig path").trim())
    })
}

/// The client configuration of the test cluster.
pub async fn config() -> Config {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read kubeconfig");
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load kubeconfig")
}

/// A client for the test cluster. Make one per test: a client belongs to the runtime it was
/// created on, and every `#[tokio::test]` has its own.
pub async fn client() -> Client {
    Client::try_from(config().await).expect("create client")
}

/// A client acting as `user` (for example a ServiceAccount), to check RBAC rules for real.
pub async fn client_as(user: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load kubeconfig");
    config.auth_info.impersonate = Some(user.to_owned());
    Client::try_from(config).expect("create client")
}

/// Applies the project's CRDs and waits until they are served.
pub async fn ensure_crds(client: &Client) {
    marathon_operator::controllers::install_crds(client.clone()).await.expect("install CRDs");
}

/// A client, the CRDs, a namespace of the test's own and the MarathonApps API in it.
pub async fn app_namespace(
    prefix: &str,
) -> (Client, TestNamespace, Api<marathon_operator::crd::MarathonApp>) {
    let client = client().await;
    ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    let apps = Api::namespaced(client.clone(), ns.name());
    (client, ns, apps)
}

/// A namespace of one test's own.
pub struct TestNamespace {
    name: String,
}

impl TestNamespace {
    pub async fn new(client: &Client, prefix: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{:x}{n}", (nanos ^ std::process::id()) & 0xfffff);
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { "marathon-operator.dev/test": "true" } }
        }))
        .expect("namespace object");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create test namespace");
        Self { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_NAMESPACES").is_some() {
            eprintln!("keeping test namespace {}", self.name);
            return;
        }
        // Drop may run inside a test's runtime, which cannot be blocked on; delete from a
        // thread with a runtime of its own.
        let name = self.name.clone();
        let deleted = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let api = Api::<Namespace>::all(client().await);
                api.delete(&name, &DeleteParams::background()).await.ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            eprintln!("could not delete test namespace {}", self.name);
        }
    }
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A binary the testbed builds (`kubectl`, `helm`), found in its cache.
pub fn tool_path(name: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("MARATHON_OPERATOR_CACHE").map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/marathon-operator"))
    })?;
    std::fs::read_dir(&cache)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin").join(name))
        .find(|path| path.is_file())
}
