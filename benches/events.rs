//! `/v2/events` fan-out: events delivered per second to 50 subscribers, and the delay from
//! publishing an event to each subscriber holding it (p50, p99). The events are real
//! `status_update_event`s derived from a pod change; each round publishes a burst of events
//! (under the subscriber buffer) and waits until every subscriber has all of them. In-process,
//! no cluster: the watch latency comes on top (see `tests/facade_events.rs` for the full path).
//! Target: p99 under 100 ms. Run with `cargo bench --bench events`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use marathon_operator::marathon::events::{Event, TaskContext, task_events};
use marathon_operator::marathon_api::EventStream;

const SUBSCRIBERS: usize = 50;
const ROUNDS: usize = 200;
const BURST: usize = 256;

fn pod(phase: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-1", "uid": "6d0b7a8e-1f0c-4d2b-9c1e-0a4b2c3d4e5f",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "main", "ports": [{"containerPort": 80}]}]},
        "status": {"phase": phase, "podIPs": [{"ip": "10.0.0.7"}]}
    }))
    .expect("pod")
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
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
        let mut times = Vec::with_capacity(BURST);
        for _ in 0..BURST {
            times.push(Instant::now());
            *published.lock().expect("lock") = times.clone();
            stream.publish(&event);
        }
        for _ in 0..SUBSCRIBERS {
            all.extend(done_rx.recv().await.expect("a round"));
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(stream.dropped(), 0, "no subscriber may fall behind within a burst");
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
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
