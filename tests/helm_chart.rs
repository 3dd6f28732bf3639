//! The Helm chart lints, renders for the Kubernetes versions we support, and installs on the
//! real control plane: its RBAC, Service and Deployment are accepted and the Deployment rolls out.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use marathon_operator::crd::MarathonApp;
use support::{TestNamespace, eventually};

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/marathon-operator")
}

/// helm from PATH, or from the testbed's cache where `scripts/testbed build` put it.
fn helm() -> Command {
    let cached = support::tool_path("helm");
    Command::new(cached.unwrap_or_else(|| PathBuf::from("helm")))
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run helm");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn chart_lints_and_renders() {
    run(helm().arg("lint").arg("--strict").arg(chart()));
    let rendered =
        run(helm().args(["template", "marathon", "--kube-version", "1.37.2"]).arg(chart()));
    for kind in ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment"] {
        assert!(rendered.contains(&format!("kind: {kind}\n")), "chart renders a {kind}");
    }
    assert!(rendered.contains("readOnlyRootFilesystem: true"));
    // Helm's crds/ directory is installed once; it must match the generated CRDs byte for byte.
    for name in ["marathonapps.yaml", "hostvolumes.yaml"] {
        let top =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crds").join(name));
        let copy = std::fs::read_to_string(chart().join("crds").join(name));
        assert_eq!(top.expect("crds/ copy"), copy.expect("chart copy"), "{name} differs");
    }
}

#[tokio::test]
async fn chart_installs_on_the_cluster() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "helm").await;
    let release = ns.name().to_string();
    run(helm()
        .args(["install", &release])
        .arg(chart())
        .args(["--namespace", ns.name(), "--kubeconfig"])
        .arg(support::kubeconfig_path())
        .args(["--set", "image.repository=example.invalid/marathon-operator", "--wait=false"]));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let name = format!("{release}-marathon-operator");
    eventually("the operator Deployment to be available", Duration::from_secs(60), || async {
        let status = deployments.get(&name).await.ok()?.status?;
        (status.available_replicas == Some(2)).then_some(())
    })
    .await;

    // The chart's RBAC is enough for the controllers: run them as its ServiceAccount.
    support::ensure_crds(&client).await;
    let service_account = format!("system:serviceaccount:{}:{name}", ns.name());
    let operator_client = support::client_as(&service_account).await;
    let operator = support::operator::Operator::start(&operator_client, ns.name());
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let app: MarathonApp = serde_json::from_value(serde_json::json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
        "metadata": { "name": "web" },
        "spec": { "id": "/web", "cmd": "sleep 1000", "instances": 1, "cpus": 0.1, "mem": 32,
                  "portDefinitions": [{ "port": 0, "name": "http" }],
                  "kubernetes": { "autoscaling": { "maxInstances": 3 } } }
    }))
    .unwrap();
    apps.patch("web", &PatchParams::apply("test-user"), &Patch::Apply(&app)).await.unwrap();
    eventually("the app running under the chart's RBAC", Duration::from_secs(60), || async {
        let status = apps.get("web").await.ok()?.status?;
        (status.tasks_running == Some(1) && status.version.is_some()).then_some(())
    })
    .await;
    apps.delete("web", &Default::default()).await.unwrap();
    eventually("the app deleted (finalizer removed)", Duration::from_secs(60), || async {
        apps.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    operator.stop().await;

    // The ClusterRole and its binding are cluster-scoped: uninstall so they do not outlive the test.
    run(helm()
        .args(["uninstall", &release, "--namespace", ns.name(), "--kubeconfig"])
        .arg(support::kubeconfig_path()));
}
