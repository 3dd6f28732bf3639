//! Sharding by namespace (docs/scaling.md): operator processes with disjoint
//! `--watch-namespace` sets on one cluster, leader election on, each electing its leader on a
//! Lease of its own and converging only the apps of its own namespaces.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use marathon_operator::crd::MarathonApp;
use serde_json::json;
use support::{TestNamespace, eventually};

const TIMEOUT: Duration = Duration::from_secs(120);

fn app(namespace: &str) -> MarathonApp {
    serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": { "name": "web", "namespace": namespace },
        "spec": {
            "id": "/web",
            "instances": 1,
            "cpus": 0.01,
            "mem": 16,
            "container": { "type": "DOCKER", "docker": { "image": "nginx:1.27" } }
        }
    }))
    .unwrap()
}

/// One shard: an operator process watching `namespace`, electing in `lease_namespace`.
fn shard(namespace: &str, lease_namespace: &str, identity: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_marathon-operator"))
        .args(["run", "--testbed=never", "--install-crds=false", "--log-format=plain"])
        .args(["--leader-election=true", "--lease-namespace", lease_namespace])
        .args(["--identity", identity, "--watch-namespace", namespace, "--namespace", namespace])
        .args(["--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", support::kubeconfig_path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn converged(client: &Client, namespace: &str) -> bool {
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let app = apps.get("web").await.unwrap();
    let current = app
        .status
        .as_ref()
        .is_some_and(|s| s.observed_generation == app.metadata.generation && s.version.is_some());
    current && deployments.get_opt("web").await.unwrap().is_some()
}

async fn untouched(client: &Client, namespace: &str) -> bool {
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let app = apps.get("web").await.unwrap();
    app.status.is_none() && deployments.get_opt("web").await.unwrap().is_none()
}

async fn holder(leases: &Api<Lease>, name: &str) -> Option<String> {
    let lease = leases.get_opt(name).await.ok()??;
    lease.spec?.holder_identity
}

#[tokio::test]
async fn shards_with_disjoint_namespaces_each_lead_on_their_own_lease_and_converge_their_apps() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let a = TestNamespace::new(&client, "shard-a").await;
    let b = TestNamespace::new(&client, "shard-b").await;
    let elections = TestNamespace::new(&client, "shard-leases").await;
    for ns in [a.name(), b.name()] {
        let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
        let params = PatchParams::apply("sharding-test");
        apps.patch("web", &params, &Patch::Apply(app(ns))).await.unwrap();
    }

    let _shard_a = shard(a.name(), elections.name(), "shard-a-0");
    eventually("shard a converges its app", TIMEOUT, || async {
        converged(&client, a.name()).await.then_some(())
    })
    .await;
    assert!(untouched(&client, b.name()).await, "shard a leaves namespace b alone");

    let _shard_b = shard(b.name(), elections.name(), "shard-b-0");
    eventually("shard b converges its app", TIMEOUT, || async {
        converged(&client, b.name()).await.then_some(())
    })
    .await;

    let leases: Api<Lease> = Api::namespaced(client.clone(), elections.name());
    let lease_a = format!("marathon-operator-leader.{}", a.name());
    let lease_b = format!("marathon-operator-leader.{}", b.name());
    assert_eq!(holder(&leases, &lease_a).await.as_deref(), Some("shard-a-0"));
    assert_eq!(holder(&leases, &lease_b).await.as_deref(), Some("shard-b-0"));
    let names: Vec<String> =
        leases.list(&Default::default()).await.unwrap().iter().map(|l| l.name_any()).collect();
    assert_eq!(names.len(), 2, "one Lease per shard and no other: {names:?}");
}
