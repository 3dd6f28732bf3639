//! Operator throughput, cost, latency and memory at scale, on the local testbed (or
//! KUBECONFIG's cluster).
//!
//! `cargo bench --bench operator_scale -- --apps N [--rounds R] [--no-plain]` (or `BENCH_APPS`;
//! default 1,000 apps, 1 round). Each round runs two phases on the same testbed, each in a
//! namespace of its own that is deleted (and waited for) before the next phase starts:
//!
//! - plain: a client server-side-applies the same objects the operator would (the app and its
//!   translated children) with the same concurrency, and waits until every Deployment is
//!   available (its pods are up);
//! - operator: the same apps are applied and the operator (its own process) creates the
//!   children; done when every app's status reports its pods up and the rollout over.
//!
//! Reported per round and as medians: both times and their ratio, the operator's requests per
//! app by verb (its `marathon_operator_kube_requests_total`), peak RSS and CPU seconds, the
//! time from a spec change of one app to its Deployment's update, and a restart of the operator
//! on the converged apps (time until every app was checked, and what that cost).
//!
//! With `--floor`, a third phase per round: the plain client plus the two writes the operator's
//! budget adds per app (its first revision and a status write), with no operator: the least
//! an operator within the budget can cost here (`operator_scale/floor.rs`).
//!
//! Fake nodes (`bench-node-*`, run by kwok) are added for room for every pod and removed at
//! the end.

#[path = "support/apps.rs"]
mod apps;
#[path = "operator_scale/cluster.rs"]
mod cluster;
#[path = "operator_scale/floor.rs"]
mod floor;
#[path = "operator_scale/operator.rs"]
mod operator;
#[path = "support/testbed.rs"]
mod testbed;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apps::{CHANGE_ENV, app};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube::runtime::watcher::Event;
use kube::{Client, ResourceExt};
use marathon_operator::crd::MarathonApp;
use marathon_operator::translate::{TranslateOptions, translate};
use operator::{OperatorProcess, per_app, writes};

const CONCURRENCY: usize = 16;
/// Spec changes timed per round, spread over the apps.
const LATENCY_SAMPLES: usize = 9;

/// Until every Deployment runs its pods as specified.
fn available(d: &Deployment) -> bool {
    let Some(status) = &d.status else { return false };
    let want = d.spec.replicas.unwrap_or(1);
    status.observed_generation == d.metadata.generation
        && status.available_replicas.unwrap_or(0) == want
        && status.updated_replicas.unwrap_or(0) == want
}

/// The app's status is current: its pods are up and the rollout is over.
fn converged(app: &MarathonApp) -> bool {
    app.status.as_ref().is_some_and(|s| {
        s.observed_generation == app.metadata.generation
            && s.version.is_some()
            && s.deployment.is_none()
            && s.tasks_running == app.spec.instances
    })
}

/// What a plain client does without the operator: apply the app, then each child object
/// (with `budget_writes`, then also the two writes the operator's budget adds).
async fn plain_apply(
    client: &Client,
    ns: &str,
    apps: &[MarathonApp],
    budget_writes: bool,
) -> usize {
    let writes = std::sync::atomic::AtomicUsize::new(0);
    let writes = &writes;
    let params = PatchParams::apply("bench-plain").force();
    futures::stream::iter(apps)
        .for_each_concurrent(CONCURRENCY, |app| {
            let (client, params) = (client.clone(), params.clone());
            async move {
                let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
                let stored = api
                    .patch(&app.name_any(), &params, &Patch::Apply(app))
                    .await
                    .expect("apply app");
                writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let translation =
                    translate(&stored, &[], &TranslateOptions::default()).expect("translate");
                for object in translation.objects.to_values().expect("objects") {
                    let object: DynamicObject = serde_json::from_value(object).expect("object");
                    let types = object.types.clone().expect("types");
                    let resource = ApiResource::from_gvk(
                        &kube::core::GroupVersionKind::try_from(&types).expect("gvk"),
                    );
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client.clone(), ns, &resource);
                    api.patch(&object.name_any(), &params, &Patch::Apply(&object))
                        .await
                        .expect("apply child");
                    writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if budget_writes {
                    let made = floor::budget_writes(&client, ns, &stored).await;
                    writes.fetch_add(made, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
        .await;
    writes.load(std::sync::atomic::Ordering::Relaxed)
}

/// The apps, applied as a user would (the operator writes the children).
async fn user_apply(client: &Client, ns: &str, apps: &[MarathonApp]) {
    let params = PatchParams::apply("bench-user").force();
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    futures::stream::iter(apps)
        .for_each_concurrent(CONCURRENCY, |app| {
            let (api, params) = (api.clone(), params.clone());
            async move {
                api.patch(&app.name_any(), &params, &Patch::Apply(app)).await.expect("apply app");
            }
        })
        .await;
}

struct PlainRun {
    applied: Duration,
    converged: Duration,
    writes_per_app: f64,
    /// CPU seconds of each control-plane component until converged.
    control_plane: String,
}

async fn plain_phase(
    client: &Client,
    kubeconfig: &str,
    ns: &str,
    apps: &[MarathonApp],
    budget_writes: bool,
) -> PlainRun {
    cluster::create_namespace(client, ns).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let label = if budget_writes { "floor" } else { "plain" };
    let done = tokio::spawn(cluster::wait_all(deployments, apps.len(), available, label));
    let cpu = cluster::control_plane_cpu(kubeconfig);
    let started = Instant::now();
    let plain_writes = plain_apply(client, ns, apps, budget_writes).await;
    let applied = started.elapsed();
    let converged = done.await.expect("plain watch") - started;
    let control_plane = cluster::cpu_since(&cpu, &cluster::control_plane_cpu(kubeconfig));
    cluster::delete_namespace(client, ns, true).await;
    let writes_per_app = plain_writes as f64 / apps.len() as f64;
    PlainRun { applied, converged, writes_per_app, control_plane }
}

struct OperatorRun {
    converged: Duration,
    control_plane: String,
    rss_mib: Option<f64>,
    cpu_seconds: Option<f64>,
    requests_per_app: String,
    writes_per_app: f64,
    latencies: Vec<Duration>,
    restart_ready: Duration,
    restart_requests: String,
    restart_writes: f64,
}

async fn operator_phase(
    client: &Client,
    kubeconfig: &str,
    ns: &str,
    apps: &[MarathonApp],
    cleanup_wait: bool,
) -> OperatorRun {
    cluster::create_namespace(client, ns).await;
    let operator = OperatorProcess::start(kubeconfig, ns, CONCURRENCY).await;
    let before = operator.requests_by_verb().await;
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let done = tokio::spawn(cluster::wait_all(api, apps.len(), converged, "operator"));
    let memory = tokio::spawn(operator.report_memory(cluster::PROGRESS_EVERY));
    let cpu = cluster::control_plane_cpu(kubeconfig);
    let started = Instant::now();
    user_apply(client, ns, apps).await;
    let converged = done.await.expect("operator watch") - started;
    memory.abort();
    let control_plane = cluster::cpu_since(&cpu, &cluster::control_plane_cpu(kubeconfig));
    // Let the last triggered reconciles finish before reading the counts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = operator.requests_by_verb().await;
    let cpu_seconds = operator.cpu_seconds();
    let latencies = spec_change_latencies(client, ns, apps).await;
    // The restart below must find every app converged, the changed ones too.
    wait_converged(client, ns, &sampled(apps.len())).await;
    operator.wait_quiet(Duration::from_secs(3)).await;
    let rss_mib = operator.peak_rss_mib();
    operator.stop().await;
    let (restart_ready, restart) = restart(kubeconfig, ns, apps.len()).await;
    cluster::delete_namespace(client, ns, cleanup_wait).await;
    OperatorRun {
        converged,
        control_plane,
        rss_mib,
        cpu_seconds,
        requests_per_app: per_app(&before, &after, apps.len()),
        writes_per_app: (writes(&after) - writes(&before)) / apps.len() as f64,
        latencies,
        restart_ready,
        restart_requests: per_app(&BTreeMap::new(), &restart, apps.len()),
        restart_writes: writes(&restart),
    }
}

/// A new operator process on the converged apps: how long until every app was checked, and
/// the requests that cost.
async fn restart(kubeconfig: &str, ns: &str, count: usize) -> (Duration, BTreeMap<String, f64>) {
    let restarted_at = Instant::now();
    let restarted = OperatorProcess::start(kubeconfig, ns, CONCURRENCY).await;
    let runs = "marathon_operator_reconciles_total{controller=\"marathonapp\"}";
    let busy = "marathon_operator_reconciles_in_flight{controller=\"marathonapp\"}";
    while restarted.value(runs).await < count as f64 || restarted.value(busy).await > 0.0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = restarted_at.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = restarted.requests_by_verb().await;
    let written = restarted.writes_by_resource().await;
    if !written.is_empty() {
        println!("  restart wrote: {written}");
    }
    restarted.stop().await;
    (ready, requests)
}

fn carries_change(deployment: &Deployment, change: &str) -> bool {
    let pod = deployment.spec.template.spec.iter();
    pod.flat_map(|p| p.containers.iter())
        .flat_map(|c| c.env.iter().flatten())
        .any(|e| e.name == CHANGE_ENV && e.value.as_deref() == Some(change))
}

/// The apps whose spec the latency samples change, spread over the whole set.
fn sampled(count: usize) -> Vec<usize> {
    let samples = LATENCY_SAMPLES.min(count);
    (0..samples).map(|sample| sample * count / samples).collect()
}

/// Until each of the apps `indices` has converged (status current for its latest spec).
async fn wait_converged(client: &Client, ns: &str, indices: &[usize]) {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    for &i in indices {
        let name = app(i, None).name_any();
        while !api.get(&name).await.is_ok_and(|app| converged(&app)) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The time from a spec change of one app (a new env value) to its Deployment carrying it,
/// seen through a watch, for apps spread over the whole set; one change at a time.
async fn spec_change_latencies(client: &Client, ns: &str, apps: &[MarathonApp]) -> Vec<Duration> {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let params = PatchParams::apply("bench-user").force();
    let mut latencies = Vec::new();
    for (sample, i) in sampled(apps.len()).into_iter().enumerate() {
        let changed = app(i, Some(sample));
        let mut updates = cluster::watch_one(deployments.clone(), &changed.name_any()).await;
        let started = Instant::now();
        api.patch(&changed.name_any(), &params, &Patch::Apply(&changed)).await.expect("change");
        let change = sample.to_string();
        while let Some(event) = updates.next().await {
            if let Ok(Event::Apply(d)) = event
                && carries_change(&d, &change)
            {
                latencies.push(started.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    latencies
}

struct Options {
    apps: usize,
    rounds: usize,
    plain: bool,
    /// Also run the floor phase (see `floor`) after the others in each round.
    floor: bool,
}

/// `--apps N` (cargo passes `--bench` and filters too), else `BENCH_APPS`, else 1,000;
/// `--rounds R` (default 1); `--no-plain` runs the operator phases only.
fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let apps = value("--apps")
        .or_else(|| std::env::var("BENCH_APPS").ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let rounds = value("--rounds").and_then(|n| n.parse().ok()).unwrap_or(1);
    let flag = |name: &str| args.iter().any(|a| a == name);
    Options { apps, rounds, plain: !flag("--no-plain"), floor: flag("--floor") }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn millis(durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect()
}

fn print_round(round: usize, plain: Option<&PlainRun>, run: &OperatorRun, count: usize) {
    println!("round {round}:");
    if let Some(plain) = plain {
        println!(
            "  plain: applied in {:.2} s ({:.2} writes per app), pods up after {:.2} s",
            plain.applied.as_secs_f64(),
            plain.writes_per_app,
            plain.converged.as_secs_f64()
        );
        println!("  plain: control plane CPU s: {}", plain.control_plane);
    }
    println!("  operator: pods up and status current after {:.2} s", run.converged.as_secs_f64());
    println!("  operator: control plane CPU s: {}", run.control_plane);
    if let Some(plain) = plain {
        let ratio = run.converged.as_secs_f64() / plain.converged.as_secs_f64();
        println!("  ratio operator / plain: {ratio:.3}");
    }
    println!(
        "  operator requests per app: {} ({:.2} writes; budget: plain's applies + 1)",
        run.requests_per_app, run.writes_per_app
    );
    match (run.rss_mib, run.cpu_seconds) {
        (Some(mib), Some(cpu)) => println!("  operator peak RSS: {mib:.1} MiB, CPU {cpu:.1} s"),
        _ => println!("  operator peak RSS and CPU: unknown (no /proc)"),
    }
    let ms = millis(&run.latencies);
    println!(
        "  spec change -> Deployment updated: median {:.0} ms, max {:.0} ms ({} changes)",
        median(ms.clone()),
        ms.iter().copied().fold(0.0, f64::max),
        ms.len()
    );
    println!(
        "  restart on {count} converged apps: every app checked after {:.2} s; requests per app: {}; {} writes",
        run.restart_ready.as_secs_f64(),
        run.restart_requests,
        run.restart_writes
    );
}

/// The floor phase of a round, and its ratio to the round's plain phase.
fn print_floor(floor: &PlainRun, plain: Option<&PlainRun>) {
    println!(
        "  floor (plain + the budget's revision and status write, no operator): {:.2} writes per app, pods up after {:.2} s",
        floor.writes_per_app,
        floor.converged.as_secs_f64()
    );
    println!("  floor: control plane CPU s: {}", floor.control_plane);
    if let Some(plain) = plain {
        println!("  ratio floor / plain: {:.3}", ratio(&floor.converged, &plain.converged));
    }
}

fn ratio(a: &Duration, b: &Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn print_summary(plain: &[PlainRun], runs: &[OperatorRun]) {
    let secs = |d: &Duration| d.as_secs_f64();
    println!("median of {} rounds:", runs.len());
    let operator = median(runs.iter().map(|r| secs(&r.converged)).collect());
    if !plain.is_empty() {
        let ratios = plain.iter().zip(runs).map(|(p, r)| secs(&r.converged) / secs(&p.converged));
        println!(
            "  plain {:.2} s, operator {operator:.2} s, ratio {:.3} (ratios: {})",
            median(plain.iter().map(|p| secs(&p.converged)).collect()),
            median(ratios.clone().collect()),
            ratios.map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(", ")
        );
    } else {
        println!("  operator {operator:.2} s");
    }
    let latencies: Vec<Duration> = runs.iter().flat_map(|r| r.latencies.clone()).collect();
    println!("  spec change -> Deployment updated: median {:.0} ms", median(millis(&latencies)));
}

#[tokio::main]
async fn main() {
    let options = options();
    let count = options.apps;
    let kubeconfig = testbed::kubeconfig_path();
    let client = testbed::client(&kubeconfig).await;
    marathon_operator::controllers::install_crds(client.clone()).await.expect("CRDs");
    let nodes = cluster::add_nodes(&client, count).await;
    let apps: Vec<MarathonApp> = (0..count).map(|i| app(i, None)).collect();
    println!("operator_scale: {count} apps, concurrency {CONCURRENCY}, {} rounds", options.rounds);
    let (mut plain_runs, mut runs, mut floor_runs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=options.rounds {
        let suffix = format!("{}-{round}", std::process::id());
        let (plain_ns, operator_ns) =
            (format!("bench-plain-{suffix}"), format!("bench-operator-{suffix}"));
        // Alternate which phase goes first, so a drift in the machine's load favours neither.
        let plain_first = round % 2 == 1;
        let mut plain = None;
        if options.plain && plain_first {
            plain = Some(plain_phase(&client, &kubeconfig, &plain_ns, &apps, false).await);
        }
        let wait = options.plain && !plain_first || round < options.rounds || options.floor;
        let run = operator_phase(&client, &kubeconfig, &operator_ns, &apps, wait).await;
        if options.plain && !plain_first {
            plain = Some(plain_phase(&client, &kubeconfig, &plain_ns, &apps, false).await);
        }
        let floor_ns = format!("bench-floor-{suffix}");
        let floor = match options.floor {
            true => Some(plain_phase(&client, &kubeconfig, &floor_ns, &apps, true).await),
            false => None,
        };
        print_round(round, plain.as_ref(), &run, count);
        if let Some(floor) = &floor {
            print_floor(floor, plain.as_ref());
        }
        plain_runs.extend(plain);
        floor_runs.extend(floor);
        runs.push(run);
    }
    print_summary(&plain_runs, &runs);
    if !floor_runs.is_empty() && floor_runs.len() == plain_runs.len() {
        let ratios =
            floor_runs.iter().zip(&plain_runs).map(|(f, p)| ratio(&f.converged, &p.converged));
        println!("  floor / plain: median {:.3}", median(ratios.collect()));
    }
    cluster::remove_nodes(&client, &nodes).await;
}
