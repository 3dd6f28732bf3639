//! Operator throughput and memory at scale, on the local testbed (or KUBECONFIG's cluster).
//!
//! Creates N MarathonApps (default 1,000; `BENCH_APPS`) and reports the time until every app's
//! children exist and its status is current, next to the time a plain client takes to
//! server-side-apply the same objects (the app and its translated children) with the same
//! concurrency. Also reports the operator's peak RSS. Targets: ratio at most 1.3, peak RSS
//! under 60 MiB at 1,000 apps. Run with `cargo bench --bench operator_scale`.

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
async fn plain_apply(client: &Client, ns: &str, apps: &[MarathonApp]) -> Duration {
    let started = Instant::now();
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
                }
            }
        })
        .await;
    started.elapsed()
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn operator_apply(
    client: &Client,
    kubeconfig: &str,
    ns: &str,
    apps: &[MarathonApp],
) -> (Duration, Option<f64>) {
    let mut operator = tokio::process::Command::new(env!("CARGO_BIN_EXE_marathon-operator"))
        .args(["run", "--testbed=never", "--leader-election=false", "--log-format=plain"])
        .args(["--watch-namespace", ns, "--namespace", ns])
        .args(["--api-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args(["--concurrency", &CONCURRENCY.to_string()])
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "warn,marathon_operator=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the operator");
    let pid = operator.id().expect("pid");
    let mut lines = BufReader::new(operator.stdout.take().expect("stdout")).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("controllers are reconciling") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

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
        if current == apps.len() && children == apps.len() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let elapsed = started.elapsed();
    let rss = peak_rss_mib(pid);
    let _ = operator.kill().await;
    (elapsed, rss)
}

#[tokio::main]
async fn main() {
    let count: usize =
        std::env::var("BENCH_APPS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let kubeconfig = kubeconfig_path();
    let client = client(&kubeconfig).await;
    marathon_operator::controllers::install_crds(client.clone()).await.expect("CRDs");
    let apps: Vec<MarathonApp> = (0..count).map(app).collect();
    let suffix = std::process::id();
    let (plain_ns, operator_ns) =
        (format!("bench-plain-{suffix}"), format!("bench-operator-{suffix}"));
    namespace(&client, &plain_ns).await;
    namespace(&client, &operator_ns).await;

    let plain = plain_apply(&client, &plain_ns, &apps).await;
    let (operated, rss) = operator_apply(&client, &kubeconfig, &operator_ns, &apps).await;

    let ratio = operated.as_secs_f64() / plain.as_secs_f64();
    println!("operator_scale: {count} apps, concurrency {CONCURRENCY}");
    println!("  plain server-side apply of the same objects: {:.2} s", plain.as_secs_f64());
    println!(
        "  operator until children exist and status is current: {:.2} s",
        operated.as_secs_f64()
    );
    println!("  ratio operator / plain: {ratio:.2} (target <= 1.30)");
    match rss {
        Some(mib) => println!("  operator peak RSS: {mib:.1} MiB (target < 60 MiB)"),
        None => println!("  operator peak RSS: unknown (no /proc)"),
    }
    for ns in [plain_ns, operator_ns] {
        let _ =
            Api::<Namespace>::all(client.clone()).delete(&ns, &DeleteParams::background()).await;
    }
}
