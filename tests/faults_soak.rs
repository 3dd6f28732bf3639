//! Soak (issue 16, "Load"): many apps and tasks with a steady mix of Marathon API reads and
//! writes and pod churn, on a private testbed with the operator as a process. Fails on any
//! unexpected error response; prints the operator's RSS (start, peak, end) and p50/p99 latency
//! per 30 s window, the figures BENCHMARKS.md reports.
//!
//! CI size: 100 apps, 300 tasks, 2 minutes. `SOAK_FULL=1` (or `bench/soak.sh`): 1,000 apps,
//! 3,000 tasks, 10 minutes; `SOAK_MINUTES` sets another duration.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use marathon_operator::crd::MarathonApp;
use serde_json::json;
use support::faults::{
    self, OperatorOptions, OperatorProcess, PrivateTestbed, SendJson, app_json, http, name_of,
};

const NS: &str = "soak";
const WINDOW: Duration = Duration::from_secs(30);

fn full() -> bool {
    std::env::var("SOAK_FULL").is_ok_and(|v| v == "1")
}

/// One answered request: when (since the start), what, how long, and whether it was expected.
struct Sample {
    at: Duration,
    write: bool,
    took: Duration,
}

#[derive(Default)]
struct Record {
    samples: Vec<Sample>,
    unexpected: Vec<String>,
    churned: usize,
}

type Shared = Arc<Mutex<Record>>;

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field));
    line.and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn request(
    record: &Shared,
    started: Instant,
    write: bool,
    what: String,
    builder: reqwest::RequestBuilder,
) {
    let t0 = Instant::now();
    let outcome = builder.send().await;
    let took = t0.elapsed();
    let mut record = record.lock().unwrap();
    match outcome {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => record.unexpected.push(format!("{what}: {}", response.status())),
        Err(e) => record.unexpected.push(format!("{what}: {e}")),
    }
    record.samples.push(Sample { at: started.elapsed(), write, took });
}

/// Reads as Marathon clients do: lists (with tasks embedded), one app, tasks, deployments.
async fn reader(url: String, apps: usize, record: Shared, started: Instant, until: Instant) {
    let http = http();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let app = name_of(n * 7 % apps);
        let (what, path) = match n % 6 {
            0 => ("apps", "/v2/apps".to_owned()),
            1 => ("apps+tasks", "/v2/apps?embed=apps.tasks".to_owned()),
            2 => ("tasks", "/v2/tasks".to_owned()),
            3 => ("deployments", "/v2/deployments".to_owned()),
            4 => ("app tasks", format!("/v2/apps/{app}/tasks")),
            _ => ("app", format!("/v2/apps/{app}")),
        };
        request(&record, started, false, format!("GET {what}"), http.get(format!("{url}{path}")))
            .await;
    }
}

/// Writes: scale an app between 2 and 4 instances, or change its environment (a new version
/// and a rolling restart), forced as deploy scripts do.
async fn writer(url: String, apps: usize, record: Shared, started: Instant, until: Instant) {
    let http = http();
    let mut n = 0usize;
    while Instant::now() < until {
        n += 1;
        let app = name_of(n * 13 % apps);
        let body = if n.is_multiple_of(2) {
            json!({ "instances": 2 + n % 3 })
        } else {
            json!({ "env": { "SOAK": n.to_string() } })
        };
        let builder = http.put(format!("{url}/v2/apps/{app}?force=true")).send_json(&body);
        request(&record, started, true, format!("PUT {app}"), builder).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Pod churn: a running pod is deleted every second (the workload replaces it); the pod list
/// is read again every 10 deletions.
async fn churn(client: kube::Client, record: Shared, until: Instant) {
    let pods: Api<Pod> = Api::namespaced(client, NS);
    let mut names: Vec<String> = Vec::new();
    let mut n = 0usize;
    while Instant::now() < until {
        if n.is_multiple_of(10)
            && let Ok(list) = pods.list_metadata(&ListParams::default()).await
        {
            let alive = list.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none());
            names = alive.map(|p| p.name_any()).collect();
        }
        n += 1;
        if let Some(name) = names.get(n * 31 % names.len().max(1))
            && pods.delete(name, &DeleteParams::default()).await.is_ok()
        {
            record.lock().unwrap().churned += 1;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn report_windows(record: &Record, duration: Duration) {
    let windows = duration.as_secs().div_ceil(WINDOW.as_secs());
    for w in 0..windows {
        let (from, to) = (WINDOW * w as u32, WINDOW * (w as u32 + 1));
        for (kind, write) in [("reads", false), ("writes", true)] {
            let mut took: Vec<Duration> = record
                .samples
                .iter()
                .filter(|s| s.write == write && s.at >= from && s.at < to)
                .map(|s| s.took)
                .collect();
            took.sort();
            println!(
                "soak window {:>3}-{:>3} s {kind:>6}: {:>6} requests, p50 {:>7.1} ms, p99 {:>7.1} ms",
                from.as_secs(),
                to.as_secs(),
                took.len(),
                percentile(&took, 0.50),
                percentile(&took, 0.99)
            );
        }
    }
}

async fn create_apps(client: &kube::Client, count: usize) {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), NS);
    let params = PatchParams::apply("soak").force();
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| {
            let (api, params) = (api.clone(), params.clone());
            async move {
                let name = name_of(i);
                let spec = app_json(&format!("/{name}"), 3, "sleep 100000");
                let app: MarathonApp = serde_json::from_value(json!({
                    "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
                    "metadata": { "name": name }, "spec": spec
                }))
                .unwrap();
                api.patch(&name, &params, &Patch::Apply(&app)).await.unwrap();
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_reads_writes_and_pod_churn_has_no_unexpected_errors() {
    let _serial = faults::serial().await;
    let (apps, minutes) = if full() { (1000, 10) } else { (100, 2) };
    // A longer run shows whether memory levels off (`SOAK_MINUTES=30 bench/soak.sh`).
    let minutes =
        std::env::var("SOAK_MINUTES").ok().and_then(|m| m.parse().ok()).unwrap_or(minutes);
    let duration = Duration::from_secs(60 * minutes);
    let testbed = PrivateTestbed::up("soak").await;
    let client = testbed.client().await;
    support::ensure_crds(&client).await;
    faults::namespace(&client, NS).await;
    let operator = OperatorProcess::start(&testbed, &OperatorOptions::new(NS)).await;
    let setup = Instant::now();
    create_apps(&client, apps).await;
    faults::assert_converged(&client, NS, Duration::from_secs(if full() { 1800 } else { 600 }))
        .await;
    println!(
        "soak: {apps} apps, {} tasks converged in {:.1} s",
        apps * 3,
        setup.elapsed().as_secs_f64()
    );

    let pid = operator.pid();
    let start_rss = rss_kib(pid, "VmRSS:");
    let record: Shared = Arc::default();
    let started = Instant::now();
    let until = started + duration;
    let url = operator.url().to_owned();
    let mut load = Vec::new();
    for _ in 0..3 {
        load.push(tokio::spawn(reader(url.clone(), apps, record.clone(), started, until)));
    }
    load.push(tokio::spawn(writer(url.clone(), apps, record.clone(), started, until)));
    load.push(tokio::spawn(churn(client.clone(), record.clone(), until)));
    let mut rss_samples = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(WINDOW.min(until.saturating_duration_since(Instant::now()))).await;
        rss_samples.push((started.elapsed().as_secs(), rss_kib(pid, "VmRSS:") / 1024));
    }
    for task in load {
        task.await.unwrap();
    }
    let (end_rss, peak_rss) = (rss_kib(pid, "VmRSS:"), rss_kib(pid, "VmHWM:"));

    let record = std::mem::take(&mut *record.lock().unwrap());
    let reads = record.samples.iter().filter(|s| !s.write).count();
    let writes = record.samples.len() - reads;
    println!(
        "soak: {} min, {reads} reads, {writes} writes, {} pods churned, {} unexpected",
        minutes,
        record.churned,
        record.unexpected.len()
    );
    println!(
        "soak: operator RSS start {:.1} MiB, peak {:.1} MiB, end {:.1} MiB; per 30 s (s, MiB): {rss_samples:?}",
        start_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        end_rss as f64 / 1024.0
    );
    report_windows(&record, duration);
    assert!(
        record.unexpected.is_empty(),
        "unexpected answers: {:?}",
        &record.unexpected[..record.unexpected.len().min(20)]
    );
    assert!(reads > 0 && writes > 0 && record.churned > 0, "the load ran");
    operator.assert_no_panic();
    // After the load the app still converges: nothing was left behind by the churn.
    faults::assert_converged(&client, NS, Duration::from_secs(600)).await;
}
