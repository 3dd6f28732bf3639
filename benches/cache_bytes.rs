//! Bytes the watch caches hold per object of a converged app, on the local testbed (or
//! KUBECONFIG's cluster).
//!
//! `cargo bench --bench cache_bytes -- [--apps N]` (default 20): creates N bench apps (the
//! `operator_scale` app) in a namespace of its own, runs the controllers in-process until every
//! app's pod runs, stops them, then clones each cached object under a counting allocator (as
//! the reflector stores it) and prints the mean bytes per object of each kind. The full `Pod` as the API
//! serves it is measured beside the cached one for reference. The namespace is deleted at the
//! end.

#[path = "support/apps.rs"]
mod apps;
#[path = "support/testbed.rs"]
mod testbed;

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::reflector::Store;
use marathon_operator::controllers::{self, ControllerConfig};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::{Caches, Watches};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio_util::sync::CancellationToken;

/// Counts every allocation. The controllers and watches are stopped before a measurement, so
/// nothing else allocates meanwhile.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn held() -> isize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize + stats.bytes_reallocated
}

/// Bytes one object holds: its inline size plus what its clone allocates.
fn bytes_of<K: Clone>(object: &K) -> isize {
    let before = held();
    let copy = object.clone();
    let bytes = held() - before + std::mem::size_of::<K>() as isize;
    drop(copy);
    bytes
}

/// Mean bytes per object of a store, and how many it holds.
fn mean_of<K>(store: &Store<K>) -> (isize, usize)
where
    K: Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let objects: Vec<Arc<K>> = store.state();
    let total: isize = objects.iter().map(|o| bytes_of(o.as_ref())).sum();
    (total / objects.len().max(1) as isize, objects.len())
}

fn apps_arg() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--apps")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(measure(apps_arg()));
}

async fn measure(apps: usize) {
    let client = testbed::client(&testbed::kubeconfig_path()).await;
    controllers::install_crds(client.clone()).await.expect("CRDs");
    let ns = format!("bench-cache-bytes-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": ns}}));
    namespaces.create(&PostParams::default(), &namespace.expect("ns")).await.expect("namespace");

    let shutdown = CancellationToken::new();
    let (watches, drive) = Watches::start(&client, std::slice::from_ref(&ns));
    let run = controllers::run(
        client.clone(),
        watches.clone(),
        ControllerConfig::default(),
        Metrics::shared(),
        shutdown.clone(),
        || {},
    );
    let task = tokio::spawn(async move {
        tokio::select! { () = drive => {}, () = run => {} }
    });
    let api: Api<marathon_operator::crd::MarathonApp> = Api::namespaced(client.clone(), &ns);
    for i in 0..apps {
        api.create(&PostParams::default(), &apps::app(i, None)).await.expect("create app");
    }
    let caches = &watches.scopes[0];
    wait_converged(caches, apps).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let full_pods = pods.list(&ListParams::default()).await.expect("list pods").items;
    shutdown.cancel();
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    print_table(caches, &full_pods);
    namespaces.delete(&ns, &DeleteParams::default()).await.expect("delete namespace");
}

/// Until every app has a running pod, its Deployment, Service and first version cached, and
/// its status written.
async fn wait_converged(caches: &Caches, apps: usize) {
    let started = Instant::now();
    loop {
        let running = caches.pods.state().iter().filter(|p| running(p)).count();
        let written = caches.apps.state().iter().filter(|a| has_status(a)).count();
        let children = [caches.deployments.len(), caches.services.len(), caches.revisions.len()];
        if running >= apps && written >= apps && children.iter().all(|n| *n >= apps) {
            // Let the last status writes and pod updates reach the caches.
            tokio::time::sleep(Duration::from_secs(5)).await;
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "apps did not converge");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn running(pod: &marathon_operator::marathon::pod::CachedPod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

fn has_status(
    app: &kube::core::error_boundary::DeserializeGuard<marathon_operator::crd::MarathonApp>,
) -> bool {
    app.0.as_ref().is_ok_and(|a| a.status.is_some())
}

fn print_table(caches: &Caches, full_pods: &[Pod]) {
    let full = full_pods.iter().map(bytes_of).sum::<isize>() / full_pods.len().max(1) as isize;
    let rows = [
        ("MarathonApp (with status)", mean_of(&caches.apps)),
        ("Pod (as cached)", mean_of(&caches.pods)),
        ("Pod (full, as the API serves it)", (full, full_pods.len())),
        ("Deployment (as cached)", mean_of(&caches.deployments)),
        ("ControllerRevision (as cached)", mean_of(&caches.revisions)),
        ("Service (metadata only)", mean_of(&caches.services)),
    ];
    println!("| object | bytes held (mean) | objects |");
    println!("| --- | ---: | ---: |");
    for (name, (bytes, n)) in rows {
        println!("| {name} | {bytes} | {n} |");
    }
    let per_app: isize = [0, 1, 3, 4, 5].iter().map(|i| rows[*i].1.0).sum();
    println!("| per app (app, pod, Deployment, revision, Service) | {per_app} | |");
}
