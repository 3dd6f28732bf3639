//! Operating the controllers on the real control plane: restarts without spec changes,
//! recovery after a crash half-way through 100 apps, and leader election between replicas.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use marathon_operator::controllers::ControllerConfig;
use marathon_operator::controllers::leader::{LeaseConfig, run_elected};
use marathon_operator::crd::MarathonApp;
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::json;
use support::operator::Operator;
use support::{TestNamespace, eventually};
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(90);

fn app(name: &str, instances: i32) -> MarathonApp {
    serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
        "metadata": { "name": name },
        "spec": { "id": format!("/ops/{name}"), "cmd": "sleep 3600", "instances": instances,
                  "cpus": 0.01, "mem": 16 }
    }))
    .expect("MarathonApp")
}

async fn put(apps: &Api<MarathonApp>, app: &MarathonApp) {
    apps.patch(&app.name_any(), &PatchParams::apply("test-user").force(), &Patch::Apply(app))
        .await
        .expect("apply MarathonApp");
}

fn running_pod_names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .map(|p| p.name_any())
        .collect()
}

#[tokio::test]
async fn restart_rolls_every_task_without_a_spec_change() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "restart").await;
    let _operator = Operator::start(&client, ns.name());
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let selector = ListParams::default().labels("marathon-operator.dev/app=sleeper");
    put(&apps, &app("sleeper", 2)).await;
    let before = eventually("2 running tasks", TIMEOUT, || async {
        let names = running_pod_names(&pods.list(&selector).await.ok()?.items);
        (names.len() == 2).then_some(names)
    })
    .await;
    let generation = apps.get("sleeper").await.unwrap().metadata.generation;

    let restart = json!({ "metadata": { "annotations": { "marathon-operator.dev/restart": "2026-11-25T12:00:00.000Z" } } });
    apps.patch("sleeper", &PatchParams::default(), &Patch::Merge(&restart)).await.unwrap();
    eventually("2 new running tasks", TIMEOUT, || async {
        let names = running_pod_names(&pods.list(&selector).await.ok()?.items);
        (names.len() == 2 && names.is_disjoint(&before)).then_some(())
    })
    .await;
    assert_eq!(
        apps.get("sleeper").await.unwrap().metadata.generation,
        generation,
        "no spec change"
    );
}

#[tokio::test]
async fn a_crash_half_way_through_100_apps_converges_without_duplicates() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crash").await;
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let operator = Operator::start(&client, ns.name());
    let names: Vec<String> = (0..100).map(|i| format!("app-{i:03}")).collect();

    // Half the apps while the operator runs; kill it mid-way; the rest while it is down.
    futures::stream::iter(&names[..50])
        .for_each_concurrent(10, |name| {
            let apps = apps.clone();
            async move { put(&apps, &app(name, 1)).await }
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    operator.kill();
    futures::stream::iter(&names[50..])
        .for_each_concurrent(10, |name| {
            let apps = apps.clone();
            async move { put(&apps, &app(name, 1)).await }
        })
        .await;
    let _operator = Operator::start(&client, ns.name());

    eventually("all 100 apps reconciled with a current status", TIMEOUT, || async {
        let list = apps.list(&ListParams::default()).await.ok()?;
        let current = list
            .items
            .iter()
            .filter(|a| {
                let status = a.status.as_ref();
                status.and_then(|s| s.observed_generation) == a.metadata.generation
                    && status.and_then(|s| s.tasks_running) == Some(1)
            })
            .count();
        (current == 100).then_some(())
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let all = deployments.list(&ListParams::default()).await.unwrap().items;
    let deployed: BTreeSet<String> = all.iter().map(|d| d.name_any()).collect();
    assert_eq!(all.len(), 100, "one Deployment per app, no duplicates");
    assert_eq!(deployed, names.iter().cloned().collect::<BTreeSet<_>>());
    for deployment in &all {
        let owners = deployment.owner_references();
        assert_eq!(owners.len(), 1, "{} has exactly one owner", deployment.name_any());
        assert_eq!(owners[0].kind, "MarathonApp");
    }
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), ns.name());
    let recorded = revisions.list(&ListParams::default()).await.unwrap().items.len();
    assert_eq!(recorded, 100, "one version per app, none recorded twice");
}

fn reconciles(metrics: &Metrics) -> u64 {
    let text = metrics.encode();
    text.lines()
        .filter(|l| l.starts_with("marathon_operator_reconciles_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Who holds the replicas' Lease, as the API server records it.
async fn lease_holder(leases: &Api<Lease>) -> Option<String> {
    let lease = leases.get("marathon-operator-leader").await.unwrap();
    lease.spec.and_then(|spec| spec.holder_identity)
}

/// An operator replica with a runtime of its own, so it can crash: its runtime is shut down
/// with every task dropped mid-flight, and nothing (the lease least of all) is released.
struct Replica {
    metrics: Arc<Metrics>,
    crash: Option<std::sync::mpsc::Sender<()>>,
}

const LEASE_SECONDS: u64 = 4;

fn replica(namespace: &str, identity: &str) -> Replica {
    let metrics = Metrics::shared();
    let config = ControllerConfig::default();
    let namespaces = vec![namespace.to_owned()];
    let lease = LeaseConfig {
        namespace: namespace.to_owned(),
        name: "marathon-operator-leader".to_owned(),
        identity: identity.to_owned(),
        duration_seconds: LEASE_SECONDS,
        grace_seconds: 1,
    };
    let (crash, crashed) = std::sync::mpsc::channel::<()>();
    let replica_metrics = metrics.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("replica runtime");
        runtime.spawn(async move {
            let client = support::client().await;
            let (watches, drive) = Watches::start(&client, &namespaces);
            tokio::spawn(drive);
            let (shutdown, abdicate) = (CancellationToken::new(), CancellationToken::new());
            let _ =
                run_elected(client, watches, config, lease, replica_metrics, shutdown, abdicate)
                    .await;
        });
        // Runs until told to crash (or the test ends and the sender is dropped).
        let _ = crashed.recv();
        runtime.shutdown_background();
    });
    Replica { metrics, crash: Some(crash) }
}

impl Replica {
    fn crash(&mut self) {
        self.crash.take();
    }
}

#[tokio::test]
async fn only_the_leader_reconciles_and_a_follower_takes_over() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "leader").await;
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let first = replica(ns.name(), "replica-a");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = replica(ns.name(), "replica-b");

    put(&apps, &app("one", 1)).await;
    eventually("the first app reconciled", TIMEOUT, || async {
        let a = apps.get("one").await.ok()?;
        (a.status?.tasks_running == Some(1)).then_some(())
    })
    .await;
    // The API server's record says who leads; only that replica reconciles.
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    let holder = lease_holder(&leases).await;
    let (mut leader, follower, successor) = match holder.as_deref() {
        Some("replica-a") => (first, second, "replica-b"),
        Some("replica-b") => (second, first, "replica-a"),
        other => panic!("the Lease is held by {other:?}, not by a replica"),
    };
    assert!(reconciles(&leader.metrics) > 0, "the Lease holder reconciles");
    assert_eq!(reconciles(&follower.metrics), 0, "the follower does not reconcile");

    // The leader crashes without releasing its lease; the follower takes over once the lease
    // runs out (a few seconds of detection on top).
    leader.crash();
    let crashed = std::time::Instant::now();
    put(&apps, &app("two", 1)).await;
    eventually("the second app reconciled by the new leader", TIMEOUT, || async {
        let a = apps.get("two").await.ok()?;
        (a.status?.tasks_running == Some(1)).then_some(())
    })
    .await;
    let handover = crashed.elapsed();
    assert!(reconciles(&follower.metrics) > 0, "the follower took over");
    assert_eq!(lease_holder(&leases).await.as_deref(), Some(successor), "and holds the Lease");
    assert!(
        handover < Duration::from_secs(LEASE_SECONDS + 10),
        "handover took {handover:?} with a {LEASE_SECONDS} s lease"
    );
    println!("handover after a crash: {handover:?} (lease {LEASE_SECONDS} s)");
}
