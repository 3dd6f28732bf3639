//! What the controllers cost the API server, counted by the operator's own client
//! (`marathon_operator_kube_requests_total`), and what they keep in memory per app.
//!
//! Budget per new app (children created, pods up, status current): the writes a plain client
//! makes (apply the app and each child) plus one (the app's first version). A restarted
//! operator with every app converged writes nothing. Deleted apps leave nothing behind in the
//! controllers' per-app tables (`controller_memory_entries`).

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use marathon_operator::controllers::ControllerConfig;
use marathon_operator::crd::MarathonApp;
use marathon_operator::metrics::{ControllerLabels, Metrics};
use marathon_operator::translate::{TranslateOptions, translate};
use serde_json::json;
use support::eventually;
use support::operator::Operator;

const APPS: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(120);
const TABLES: [&str; 4] = ["versions", "applied", "backoff", "status_writes"];

fn app(i: usize, instances: i32) -> MarathonApp {
    serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": { "name": format!("app-{i:03}") },
        "spec": {
            "id": format!("/cost/app-{i:03}"),
            "instances": instances,
            "cpus": 0.01,
            "mem": 16,
            "container": { "type": "DOCKER", "docker": { "image": "nginx:1.27" } },
            "portDefinitions": [{ "port": 0, "name": "http" }]
        }
    }))
    .unwrap()
}

async fn create(apps: &Api<MarathonApp>, app: &MarathonApp) {
    let params = PatchParams::apply("cost-test").force();
    apps.patch(&app.name_any(), &params, &Patch::Apply(app)).await.unwrap();
}

/// Writes a plain client makes for one app: the app itself, then each translated child.
fn plain_writes(app: &MarathonApp) -> u64 {
    let mut stored = app.clone();
    stored.metadata.namespace = Some("ns".into());
    stored.metadata.uid = Some("uid".into());
    let translation = translate(&stored, &[], &TranslateOptions::default()).unwrap();
    1 + translation.objects.to_values().unwrap().len() as u64
}

fn converged(app: &MarathonApp, instances: i32) -> bool {
    app.status.as_ref().is_some_and(|s| {
        s.observed_generation == app.metadata.generation
            && s.tasks_running == Some(instances)
            && s.deployment.is_none()
    })
}

async fn wait_converged(apps: &Api<MarathonApp>, count: usize, instances: i32) {
    eventually("every app converged", TIMEOUT, || async {
        let listed = apps.list(&ListParams::default()).await.ok()?;
        let done = listed.items.iter().filter(|a| converged(a, instances)).count();
        (done == count).then_some(())
    })
    .await;
}

/// Waits until the operator has looked at every app at least once and is idle.
async fn wait_checked(metrics: &Metrics, count: u64) {
    let labels = ControllerLabels { controller: "marathonapp" };
    eventually("every app reconciled", TIMEOUT, || async {
        let runs = metrics.reconcile.runs.get_or_create(&labels).get();
        let busy = metrics.reconcile.in_flight.get_or_create(&labels).get();
        (runs >= count && busy == 0).then_some(())
    })
    .await;
    // Anything the last reconciles triggered (debounced by 200 ms) has run by then.
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn new_apps_cost_a_plain_clients_writes_plus_one_and_a_restart_costs_none() {
    let (_client, ns, apps) = support::app_namespace("cost").await;
    // A rollout shorter than the interval gets one status write (its end). With the interval
    // as long as the test waits for convergence, the budget holds however loaded the testbed.
    let config = ControllerConfig { status_interval: TIMEOUT, ..ControllerConfig::default() };
    let operator = Operator::counted(ns.name(), config.clone()).await;
    operator.watches.wait_until_ready().await;
    let before = operator.metrics.kube.snapshot();

    let wanted: Vec<MarathonApp> = (0..APPS).map(|i| app(i, 1)).collect();
    for app in &wanted {
        create(&apps, app).await;
    }
    wait_converged(&apps, APPS, 1).await;
    wait_checked(&operator.metrics, APPS as u64).await;
    let spent = operator.metrics.kube.snapshot().since(&before);
    let budget: u64 = wanted.iter().map(|a| plain_writes(a) + 1).sum();
    println!("creating {APPS} apps: {spent}");
    assert!(
        spent.writes() <= budget,
        "{} writes for {APPS} apps, budget {budget}: {spent}",
        spent.writes()
    );
    let listed_versions = spent
        .0
        .iter()
        .any(|(l, n)| l.resource == "controllerrevisions" && l.verb == "list" && *n > 0);
    assert!(!listed_versions, "versions come from the watch, not a LIST: {spent}");
    operator.stop().await;

    let restarted = Operator::counted(ns.name(), config).await;
    restarted.watches.wait_until_ready().await;
    wait_checked(&restarted.metrics, APPS as u64).await;
    let spent = restarted.metrics.kube.snapshot();
    println!("restart with {APPS} converged apps: {spent}");
    assert_eq!(spent.writes(), 0, "a restart writes nothing: {spent}");
}

/// An operator start installs the CRDs; when this build's CRDs are already installed it sends
/// reads only (before, every start wrote both CRDs).
#[tokio::test]
async fn installing_the_crds_again_writes_nothing() {
    support::ensure_crds(&support::client().await).await;
    let metrics = Metrics::shared();
    let counted = metrics.client(support::config().await).unwrap();
    marathon_operator::controllers::install_crds(counted).await.unwrap();
    let spent = metrics.kube.snapshot();
    println!("installing the installed CRDs: {spent}");
    assert_eq!(spent.writes(), 0, "nothing written: {spent}");
    assert!(spent.0.iter().any(|(l, n)| l.verb == "get" && *n > 0), "it did look: {spent}");
}

#[tokio::test]
async fn deleted_apps_leave_nothing_in_the_controllers_memory() {
    // 500 in the acceptance run (`MEMORY_TEST_APPS=500`); fewer keep CI quick.
    let count: usize =
        std::env::var("MEMORY_TEST_APPS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let (_client, ns, apps) = support::app_namespace("memory").await;
    let operator = Operator::counted(ns.name(), ControllerConfig::default()).await;
    let metrics = operator.metrics.clone();
    // No pods: the test is about what the controllers keep, not about scheduling.
    for i in 0..count {
        create(&apps, &app(i, 0)).await;
    }
    wait_converged(&apps, count, 0).await;
    eventually("every app remembered", TIMEOUT, || async {
        let sizes = (metrics.table_size("versions"), metrics.table_size("applied"));
        (sizes == (count as i64, count as i64)).then_some(())
    })
    .await;

    apps.delete_collection(&DeleteParams::background(), &ListParams::default()).await.unwrap();
    eventually("every table empty again", TIMEOUT, || async {
        let sizes: Vec<i64> = TABLES.iter().map(|t| metrics.table_size(t)).collect();
        sizes.iter().all(|n| *n == 0).then_some(())
    })
    .await;
    let remaining = apps.list(&ListParams::default()).await.unwrap().items.len();
    assert_eq!(remaining, 0, "the apps are gone");
}
