//! Running helm and kubectl against the chart, and reading what they print.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::Value;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn chart() -> PathBuf {
    repo().join("charts/marathon-operator")
}

/// helm from the testbed's cache where `scripts/testbed build` put it, else from PATH.
pub fn helm() -> Command {
    Command::new(super::tool_path("helm").unwrap_or_else(|| PathBuf::from("helm")))
}

/// kubectl from the testbed's cache, else from PATH.
pub fn kubectl() -> Command {
    Command::new(super::tool_path("kubectl").unwrap_or_else(|| PathBuf::from("kubectl")))
}

/// helm acting on the test cluster.
pub fn helm_on_cluster() -> Command {
    let mut command = helm();
    command.arg("--kubeconfig").arg(super::kubeconfig_path());
    command
}

/// kubectl acting on the test cluster.
pub fn kubectl_on_cluster() -> Command {
    let mut command = kubectl();
    command.arg("--kubeconfig").arg(super::kubeconfig_path());
    command
}

fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"))
}

/// Runs `command`, fails the test unless it succeeds, returns its stdout.
pub fn run(command: &mut Command) -> String {
    let out = output(command);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `command`, fails the test if it succeeds, returns its stderr.
pub fn run_failing(command: &mut Command) -> String {
    let out = output(command);
    assert!(
        !out.status.success(),
        "{command:?} succeeded but should fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `command` exits with 0 (for `kubectl auth can-i`, which answers with its exit code).
pub fn succeeds(command: &mut Command) -> bool {
    output(command).status.success()
}

/// The Kubernetes version the testbed runs (K8S_VERSION in scripts/testbed), e.g. "1.37.2".
pub fn testbed_kube_version() -> String {
    let script = std::fs::read_to_string(repo().join("scripts/testbed")).expect("scripts/testbed");
    let line = script
        .lines()
        .find_map(|l| l.strip_prefix("K8S_VERSION="))
        .expect("K8S_VERSION in scripts/testbed");
    line.trim().trim_start_matches('v').to_owned()
}

/// Every document of a multi-document YAML stream, as JSON values (empty documents dropped).
pub fn documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("valid YAML document"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// `helm template` of the chart at the testbed's Kubernetes version, with extra arguments.
pub fn template(release: &str, namespace: &str, args: &[&str]) -> Vec<Value> {
    let version = testbed_kube_version();
    let out = run(helm()
        .args(["template", release])
        .arg(chart())
        .args(["--namespace", namespace, "--kube-version", &version])
        .args(args));
    documents(&out)
}

/// The objects of `kind` among `objects`.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of `kind`; fails the test when there is not exactly one.
pub fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

/// The value of environment variable `name` of the Deployment's operator container.
pub fn env_of(deployment: &Value, name: &str) -> Option<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}
