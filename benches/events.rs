//! `/v2/events`, two figures.
//!
//! 1. Fan-out, in-process: events delivered per second to 50 subscribers, and the delay from
//!    publishing an event to each subscriber holding it (p50, p99). The events are real
//!    `status_update_event`s derived from a pod change; each round publishes a burst of events
//!    (under the subscriber buffer) and waits until every subscriber has all of them.
//! 2. Pod Ready -> `status_update_event`, on the local testbed (or KUBECONFIG's cluster; the
//!    testbed is started when KUBECONFIG is unset): the event stream fed by the operator's own
//!    watches, a MarathonApp and its pods on a node nobody else manages (no kubelet, no kwok,
//!    no scheduler: the bench alone sets the pod status), and for each pod the time from the
//!    start of the status write that makes it Running and Ready to a subscriber holding its
//!    `TASK_RUNNING` event: the watch latency, the derivation and the fan-out.
//!
//! Target: p99 under 100 ms plus the watch latency. Run with `cargo bench --bench events`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::marathon::events::{Event, TaskContext, task_events};
use marathon_operator::marathon::pod::CachedPod;
use marathon_operator::marathon_api::EventStream;
use marathon_operator::translate::names::{LABEL_APP, LABEL_MANAGED_BY, MANAGER};
use marathon_operator::watch::Watches;
use serde_json::json;

#[path = "support/testbed.rs"]
mod testbed;

const SUBSCRIBERS: usize = 50;
const ROUNDS: usize = 200;
const BURST: usize = 256;

fn pod(phase: &str) -> CachedPod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-1", "uid": "6d0b7a8e-1f0c-4d2b-9c1e-0a4b2c3d4e5f",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "main", "ports": [{"containerPort": 80}]}]},
        "status": {"phase": phase, "podIPs": [{"ip": "10.0.0.7"}]}
    }))
    .expect("pod")
}

/// Pods made Ready one after the other on the testbed.
const READY_SAMPLES: usize = 200;

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(fan_out());
    runtime.block_on(ready_to_event());
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

async fn fan_out() {
    let context = TaskContext { app_id: "/prod/web", health_check: None };
    let event: Event = task_events(&context, Some(&pod("Pending")), Some(&pod("Running")), "t")
        .into_iter()
        .next()
        .expect("a status update");
    let stream = EventStream::without_watches();
    let published: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<Vec<Duration>>(SUBSCRIBERS);
    let mut starts = Vec::new();
    for n in 0..SUBSCRIBERS {
        let mut subscription = stream
            .subscribe(format!("10.1.0.{n}"), Some(["status_update_event".to_owned()].into()));
        let (published, done) = (published.clone(), done_tx.clone());
        starts.push(tokio::spawn(async move {
            let mut delays = Vec::with_capacity(BURST);
            let mut received = 0;
            while let Some(_frame) = subscription.next().await {
                let at = published.lock().expect("lock")[received % BURST];
                delays.push(at.elapsed());
                received += 1;
                if received % BURST == 0 {
                    done.send(std::mem::take(&mut delays)).await.expect("report");
                }
            }
        }));
    }
    let mut all = Vec::new();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        published.lock().expect("lock").clear();
        for _ in 0..BURST {
            published.lock().expect("lock").push(Instant::now());
            stream.publish(&event);
        }
        for _ in 0..SUBSCRIBERS {
            all.extend(done_rx.recv().await.expect("a round"));
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(stream.dropped(), 0, "no subscriber may fall behind within a burst");
    all.sort();
    let pick = |q: f64| percentile(&all, q);
    let delivered = (ROUNDS * BURST * SUBSCRIBERS) as f64;
    println!(
        "events: {SUBSCRIBERS} subscribers, {} events each: {:.0} events/s delivered; delay p50 {:?}, p99 {:?}, max {:?}",
        ROUNDS * BURST,
        delivered / elapsed.as_secs_f64(),
        pick(0.50),
        pick(0.99),
        all[all.len() - 1]
    );
}

// ----- pod Ready -> status_update_event, on the testbed ---------------------------------------

/// A pod of the app `app` on `node`, as the operator's workloads label theirs.
fn bench_pod(name: &str, app: &str, node: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {LABEL_MANAGED_BY: MANAGER, LABEL_APP: app}},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "bench",
                 "ports": [{"containerPort": 80}]}]},
    }))
    .expect("pod")
}

fn running_and_ready() -> serde_json::Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    json!({"status": {
        "phase": "Running",
        "podIP": "10.9.0.1",
        "podIPs": [{"ip": "10.9.0.1"}],
        "startTime": now,
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
    }})
}

/// Waits for the `TASK_RUNNING` update of the pod with `uid`.
async fn running_update(
    subscription: &mut marathon_operator::marathon_api::Subscription,
    uid: &str,
) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("a status update within 30 s")
            .expect("the subscription is open");
        let text = String::from_utf8_lossy(&frame);
        if text.contains(uid) && text.contains("\"TASK_RUNNING\"") {
            return;
        }
    }
}

async fn ready_to_event() {
    let client = testbed::client(&testbed::kubeconfig_path()).await;
    marathon_operator::controllers::install_crds(client.clone()).await.expect("CRDs");
    let ns = format!("bench-events-{}", std::process::id());
    let node_name = ns.clone();
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": ns}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("namespace");
    // A node no kubelet and no kwok manage: only the bench writes its pods' status.
    let node: Node =
        serde_json::from_value(json!({"metadata": {"name": node_name}})).expect("node");
    Api::<Node>::all(client.clone()).create(&PostParams::default(), &node).await.expect("node");
    let (watches, drive) = Watches::start(&client, std::slice::from_ref(&ns));
    let driver = tokio::spawn(drive);
    watches.wait_until_ready().await;
    let stream = EventStream::start(&watches);
    let mut subscription =
        stream.subscribe("bench".into(), Some(["status_update_event".to_owned()].into()));

    let spec: MarathonAppSpec =
        serde_json::from_value(json!({"id": "/bench/ready", "cmd": "sleep 1"})).expect("spec");
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), &ns);
    apps.create(&PostParams::default(), &MarathonApp::new("ready", spec)).await.expect("app");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let mut delays = Vec::with_capacity(READY_SAMPLES);
    let mut writes = Vec::with_capacity(READY_SAMPLES);
    let mut after_write = Vec::with_capacity(READY_SAMPLES);
    for n in 0..READY_SAMPLES {
        let pod = pods
            .create(&PostParams::default(), &bench_pod(&format!("ready-{n}"), "ready", &node_name))
            .await
            .expect("pod");
        let uid = pod.uid().expect("uid");
        let started = Instant::now();
        pods.patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(running_and_ready()),
        )
        .await
        .expect("pod status");
        let written = started.elapsed();
        running_update(&mut subscription, &uid).await;
        let delay = started.elapsed();
        writes.push(written);
        delays.push(delay);
        after_write.push(delay - written);
    }
    delays.sort();
    writes.sort();
    after_write.sort();
    println!(
        "ready_to_event: {READY_SAMPLES} pods made Running+Ready one after the other: status write to subscriber holding TASK_RUNNING p50 {:?}, p99 {:?}, max {:?} (the status write's own round trip: p50 {:?}, p99 {:?})",
        percentile(&delays, 0.50),
        percentile(&delays, 0.99),
        delays[delays.len() - 1],
        percentile(&writes, 0.50),
        percentile(&writes, 0.99),
    );
    println!(
        "ready_to_event: from the status write's answer to the subscriber holding the event: p50 {:?}, p99 {:?}",
        percentile(&after_write, 0.50),
        percentile(&after_write, 0.99),
    );
    driver.abort();
    let _ = Api::<Namespace>::all(client.clone()).delete(&ns, &DeleteParams::background()).await;
    let _ = Api::<Node>::all(client).delete(&node_name, &DeleteParams::background()).await;
}
