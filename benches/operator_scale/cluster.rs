//! The testbed side of the benchmark: fake nodes with room for every pod,
//! namespaces of one phase each, and waiting for objects to reach a state through a watch.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// Pods one bench node holds.
const PODS_PER_NODE: usize = 1000;

fn bench_node(name: &str) -> Node {
    serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": name,
            "annotations": { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            "labels": { "type": "kwok", "kubernetes.io/hostname": name, "bench": "operator-scale" }
        },
        "status": {
            "allocatable": { "cpu": "1000", "memory": "4Ti", "pods": PODS_PER_NODE.to_string() },
            "capacity": { "cpu": "1000", "memory": "4Ti", "pods": PODS_PER_NODE.to_string() }
        }
    }))
    .expect("node")
}

/// Fake nodes (run by the testbed's kwok) with room for `pods` more pods; the testbed's own
/// two nodes hold 1,000 in all. Returns their names, to remove them afterwards.
pub async fn add_nodes(client: &Client, pods: usize) -> Vec<String> {
    let api: Api<Node> = Api::all(client.clone());
    let mut names = Vec::new();
    for i in 0..pods.div_ceil(PODS_PER_NODE) {
        let name = format!("bench-node-{i}");
        match api.create(&PostParams::default(), &bench_node(&name)).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("bench node {name}: {error}"),
        }
        names.push(name);
    }
    names
}

pub async fn remove_nodes(client: &Client, names: &[String]) {
    let api: Api<Node> = Api::all(client.clone());
    for name in names {
        let _ = api.delete(name, &DeleteParams::background()).await;
    }
}

pub async fn create_namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } }))
        .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");
}

/// Deletes a phase's namespace and waits until it is gone, so the next phase starts on a
/// quiet testbed (its pods need the room, and its garbage collection would compete).
pub async fn delete_namespace(client: &Client, name: &str, wait: bool) {
    let api = Api::<Namespace>::all(client.clone());
    let _ = api.delete(name, &DeleteParams::background()).await;
    if !wait {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(3600);
    while api.get_opt(name).await.ok().flatten().is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Resolves when `want` objects of `api` satisfy `done`, as seen through a watch (a set of
/// names, so each event costs the same however many objects there are).
/// How often a long wait prints its progress.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(60);

pub async fn wait_all<K>(
    api: Api<K>,
    want: usize,
    done: impl Fn(&K) -> bool,
    label: &'static str,
) -> Instant
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let mut names = HashSet::new();
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let started = Instant::now();
    let mut reported = Instant::now();
    while let Some(event) = stream.next().await {
        // Long runs report how far they got, so a run that cannot finish still tells.
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            let at = started.elapsed().as_secs();
            println!("  {label}: {} of {want} done after {at} s", names.len());
        }
        match event {
            Ok(Event::Init) => names.clear(),
            Ok(Event::Apply(object) | Event::InitApply(object)) => {
                if done(&object) {
                    names.insert(object.name_any());
                } else {
                    names.remove(&object.name_any());
                }
            }
            Ok(Event::Delete(object)) => {
                names.remove(&object.name_any());
            }
            Ok(Event::InitDone) | Err(_) => {}
        }
        if names.len() >= want {
            return Instant::now();
        }
    }
    panic!("the watch ended");
}

fn watcher<K>(
    api: Api<K>,
    config: watcher::Config,
) -> impl futures::Stream<Item = Result<Event<K>, watcher::Error>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    use kube::runtime::WatchStreamExt;
    watcher::watcher(api, config).default_backoff()
}

/// A watch of the one object `name`, established (its first list done) before it returns.
pub async fn watch_one<K>(
    api: Api<K>,
    name: &str,
) -> futures::stream::BoxStream<'static, Result<Event<K>, watcher::Error>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        if matches!(event, Ok(Event::InitDone)) {
            break;
        }
    }
    stream
}

/// CPU seconds used so far by the processes of the cluster behind `kubeconfig` (the local
/// testbed's components, found by the ports and kubeconfig on their command lines), by name.
/// Empty for a cluster elsewhere.
pub fn control_plane_cpu(kubeconfig: &str) -> std::collections::BTreeMap<String, f64> {
    let text = std::fs::read_to_string(kubeconfig).unwrap_or_default();
    let port = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .map(str::to_owned);
    let mut found = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    let processes: Vec<(String, Vec<String>, f64)> =
        entries.flatten().filter_map(|e| process(&e.path())).collect();
    let ours = |args: &[String]| {
        let by_port =
            port.as_ref().is_some_and(|p| args.iter().any(|a| *a == format!("--secure-port={p}")));
        by_port || args.iter().any(|a| *a == format!("--kubeconfig={kubeconfig}"))
    };
    let mut etcd_url = None;
    for (name, args, cpu) in &processes {
        if ours(args) {
            if name == "kube-apiserver" {
                etcd_url =
                    args.iter().find_map(|a| a.strip_prefix("--etcd-servers=")).map(String::from);
            }
            *found.entry(name.clone()).or_default() += cpu;
        }
    }
    let etcd = processes.iter().filter(|(name, args, _)| {
        name == "etcd"
            && etcd_url
                .as_ref()
                .is_some_and(|url| args.iter().any(|a| *a == format!("--listen-client-urls={url}")))
    });
    for (name, _, cpu) in etcd {
        *found.entry(name.clone()).or_default() += cpu;
    }
    found
}

/// A process's name (its executable's file name), arguments and CPU seconds.
fn process(dir: &std::path::Path) -> Option<(String, Vec<String>, f64)> {
    let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let name = std::path::Path::new(args.first()?).file_name()?.to_string_lossy().into_owned();
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((name, args, ticks / 100.0))
}

/// CPU seconds each component used between two readings.
pub fn cpu_since(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
) -> String {
    after
        .iter()
        .map(|(name, cpu)| format!("{name} {:.1}", cpu - before.get(name).copied().unwrap_or(0.0)))
        .collect::<Vec<_>>()
        .join(", ")
}
