//! Operator throughput, cost and memory at scale, on the local testbed (or KUBECONFIG's
//! cluster).
//!
//! Creates N MarathonApps (`--apps N`, or `BENCH_APPS`; default 1,000) and reports the time
//! until every app's children exist and its status is current, next to the time a plain client
//! takes to server-side-apply the same objects (the app and its translated children) with the
//! same concurrency; the requests the operator sent per app, by verb (from its
//! `marathon_operator_kube_requests_total`); then restarts the operator on the converged apps
//! and reports how long until every app was checked and what that cost. Also reports the
//! operator's peak RSS. Run with `cargo bench --bench operator_scale -- --apps 1000`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, translate};
use tokio::io::{AsyncBufReadExt, BufReader};

const CONCURRENCY: usize = 16;

fn app(i: usize) -> MarathonApp {
    let spec: MarathonAppSpec = serde_json::from_value(serde_json::json!({
        "id": format!("/bench/app-{i:04}"),
        "container": { "type": "DOCKER", "docker": { "image": "nginx:1.27" } },
        "instances": 1,
        "cpus": 0.01,
        "mem": 16,
        "portDefinitions": [{ "port": 0, "name": "http" }],
        "healthChecks": [{ "protocol": "MESOS_HTTP", "path": "/", "portIndex": 0 }],
        "labels": { "team": "bench" }
    }))
    .expect("bench app");
    MarathonApp::new(&format!("app-{i:04}"), spec)
}

fn kubeconfig_path() -> String {
    if let Ok(path) = std::env::var("KUBECONFIG") {
        return path;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed");
    let out =
        std::process::Command::new("bash").arg(script).arg("up").output().expect("testbed up");
    String::from_utf8_lossy(&out.stdout).lines().last().expect("kubeconfig path").trim().to_owned()
}

async fn client(path: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

async fn namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } }))
        .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
}

/// What a plain client does without the operator: apply the app, then each child object.
async fn plain_apply(client: &Client, ns: &str, apps: &[MarathonApp]) -> (Duration, usize) {
    let started = Instant::now();
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
            }
        })
        .await;
    (started.elapsed(), writes.load(std::sync::atomic::Ordering::Relaxed))
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A running operator process and where its metrics are served.
struct OperatorProcess {
    child: tokio::process::Child,
    metrics_url: String,
}

impl OperatorProcess {
    async fn start(kubeconfig: &str, ns: &str) -> Self {
        // A free port for the admin server, so its /metrics can be read.
        let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let admin_addr = admin.local_addr().expect("address").to_string();
        drop(admin);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_marathon-operator"))
            .args(["run", "--testbed=never", "--leader-election=false", "--log-format=plain"])
            .args(["--watch-namespace", ns, "--namespace", ns])
            .args(["--api-addr", "127.0.0.1:0", "--admin-addr", &admin_addr])
            .args(["--concurrency", &CONCURRENCY.to_string()])
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "warn,marathon_operator=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the operator");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("controllers are reconciling") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, metrics_url: format!("http://{admin_addr}/metrics") }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("pid")
    }

    /// Requests sent so far, by verb.
    async fn requests_by_verb(&self) -> BTreeMap<String, f64> {
        let text = self.metrics().await;
        let mut verbs = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("marathon_operator_kube_requests_total{"))
        {
            let verb = line.split("verb=\"").nth(1).and_then(|r| r.split('"').next());
            let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(verb), Some(value)) = (verb, value) {
                *verbs.entry(verb.to_owned()).or_default() += value;
            }
        }
        verbs
    }

    /// One value of the metrics text (the first line starting with `prefix`).
    async fn value(&self, prefix: &str) -> f64 {
        let text = self.metrics().await;
        let line = text.lines().find(|l| l.starts_with(prefix));
        line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    }

    async fn metrics(&self) -> String {
        let response = reqwest::get(&self.metrics_url).await.expect("metrics");
        response.text().await.expect("metrics text")
    }

    /// CPU seconds the process has used (user + system).
    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Requests between two readings, per app, by verb.
fn per_app(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, apps: usize) -> String {
    after
        .iter()
        .map(|(verb, n)| (verb, n - before.get(verb).copied().unwrap_or(0.0)))
        .filter(|(_, n)| *n > 0.0)
        .map(|(verb, n)| format!("{verb} {:.2}", n / apps as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

fn writes(counts: &BTreeMap<String, f64>) -> f64 {
    ["create", "update", "patch", "delete", "deletecollection"]
        .iter()
        .map(|verb| counts.get(*verb).copied().unwrap_or(0.0))
        .sum()
}

struct OperatorRun {
    converged: Duration,
    rss_mib: Option<f64>,
    cpu_seconds: Option<f64>,
    requests_per_app: String,
    writes_per_app: f64,
    restart_ready: Duration,
    restart_requests: String,
    restart_writes: f64,
}

async fn operator_apply(
    client: &Client,
    kubeconfig: &str,
    ns: &str,
    apps: &[MarathonApp],
) -> OperatorRun {
    let operator = OperatorProcess::start(kubeconfig, ns).await;
    let before = operator.requests_by_verb().await;
    let started = Instant::now();
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
    wait_converged(client, ns, apps.len()).await;
    let converged = started.elapsed();
    // Let the last triggered reconciles finish before reading the counts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = operator.requests_by_verb().await;
    let rss_mib = peak_rss_mib(operator.pid());
    let cpu_seconds = operator.cpu_seconds();
    operator.stop().await;

    let restarted_at = Instant::now();
    let restarted = OperatorProcess::start(kubeconfig, ns).await;
    let runs = "marathon_operator_reconciles_total{controller=\"marathonapp\"}";
    let busy = "marathon_operator_reconciles_in_flight{controller=\"marathonapp\"}";
    while restarted.value(runs).await < apps.len() as f64 || restarted.value(busy).await > 0.0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let restart_ready = restarted_at.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restart = restarted.requests_by_verb().await;
    restarted.stop().await;
    OperatorRun {
        converged,
        rss_mib,
        cpu_seconds,
        requests_per_app: per_app(&before, &after, apps.len()),
        writes_per_app: (writes(&after) - writes(&before)) / apps.len() as f64,
        restart_ready,
        restart_requests: per_app(&BTreeMap::new(), &restart, apps.len()),
        restart_writes: writes(&restart),
    }
}

/// Until every app's status is current and every app has its Deployment.
async fn wait_converged(client: &Client, ns: &str, count: usize) {
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    loop {
        let listed = api.list(&ListParams::default()).await.expect("list apps");
        let current = listed
            .items
            .iter()
            .filter(|a| {
                a.status.as_ref().is_some_and(|s| {
                    s.observed_generation == a.metadata.generation && s.version.is_some()
                })
            })
            .count();
        let children =
            deployments.list_metadata(&ListParams::default()).await.expect("list").items.len();
        if current == count && children == count {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `--apps N` (cargo passes `--bench` and filters too), else `BENCH_APPS`, else 1,000.
fn app_count() -> usize {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().position(|a| a == "--apps").and_then(|i| args.get(i + 1));
    flag.cloned()
        .or_else(|| std::env::var("BENCH_APPS").ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

#[tokio::main]
async fn main() {
    let count = app_count();
    let kubeconfig = kubeconfig_path();
    let client = client(&kubeconfig).await;
    marathon_operator::controllers::install_crds(client.clone()).await.expect("CRDs");
    let apps: Vec<MarathonApp> = (0..count).map(app).collect();
    let suffix = std::process::id();
    let (plain_ns, operator_ns) =
        (format!("bench-plain-{suffix}"), format!("bench-operator-{suffix}"));
    namespace(&client, &plain_ns).await;
    namespace(&client, &operator_ns).await;

    let (plain, plain_writes) = plain_apply(&client, &plain_ns, &apps).await;
    let run = operator_apply(&client, &kubeconfig, &operator_ns, &apps).await;

    let ratio = run.converged.as_secs_f64() / plain.as_secs_f64();
    println!("operator_scale: {count} apps, concurrency {CONCURRENCY}");
    println!(
        "  plain server-side apply of the same objects: {:.2} s, {:.2} writes per app",
        plain.as_secs_f64(),
        plain_writes as f64 / count as f64
    );
    println!(
        "  operator until children exist and status is current: {:.2} s",
        run.converged.as_secs_f64()
    );
    println!("  ratio operator / plain: {ratio:.2}");
    println!(
        "  operator requests per app: {} ({:.2} writes; budget: plain + 1)",
        run.requests_per_app, run.writes_per_app
    );
    match (run.rss_mib, run.cpu_seconds) {
        (Some(mib), Some(cpu)) => println!("  operator peak RSS: {mib:.1} MiB, CPU {cpu:.1} s"),
        _ => println!("  operator peak RSS and CPU: unknown (no /proc)"),
    }
    println!(
        "  restart on {count} converged apps: every app checked after {:.2} s; requests per app: {}; {} writes",
        run.restart_ready.as_secs_f64(),
        run.restart_requests,
        run.restart_writes
    );
    for ns in [plain_ns, operator_ns] {
        let _ =
            Api::<Namespace>::all(client.clone()).delete(&ns, &DeleteParams::background()).await;
    }
}
