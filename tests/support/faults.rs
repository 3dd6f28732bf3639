//! Harness for fault scenarios: a private testbed whose components a test may stop, start and
//! break without disturbing other tests, and the operator as a real process (so it can be
//! SIGKILLed and elected), with checks every scenario shares (convergence, duplicates, orphans,
//! version history, data safety).
//!
//! The private testbed lives under cargo's target directory (`CARGO_TARGET_TMPDIR`), one per
//! scenario, started with `scripts/testbed up` and removed with `down` when dropped. Scenarios
//! hold [`serial`] so only one control plane of theirs runs at a time (2 cores).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use marathon_operator::crd::{HostVolume, MarathonApp};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

/// Held by each scenario for its whole run: one private control plane at a time.
pub async fn serial() -> MutexGuard<'static, ()> {
    static LOCK: AsyncMutex<()> = AsyncMutex::const_new(());
    LOCK.lock().await
}

/// `FAULTS_FULL=1`: the full sizes; otherwise the reduced CI sizes.
pub fn full() -> bool {
    std::env::var("FAULTS_FULL").is_ok_and(|v| v == "1")
}

/// A size: `ci` normally, `full` with `FAULTS_FULL=1`.
pub fn size(ci: usize, full_size: usize) -> usize {
    if full() { full_size } else { ci }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed")
}

/// A control plane of one scenario's own; `down` when dropped.
pub struct PrivateTestbed {
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl PrivateTestbed {
    pub async fn up(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults-testbed").join(name);
        let mut testbed = Self { dir, kubeconfig: PathBuf::new() };
        let stdout = testbed.run(&["up"]).await;
        let last = stdout.lines().last().expect("testbed printed its kubeconfig path");
        testbed.kubeconfig = PathBuf::from(last.trim());
        testbed
    }

    /// Runs `scripts/testbed <args>` on this testbed; panics when it fails.
    pub async fn run(&self, args: &[&str]) -> String {
        let output = tokio::process::Command::new("bash")
            .arg(script())
            .args(args)
            .env("TESTBED_DIR", &self.dir)
            .stderr(Stdio::inherit())
            .output()
            .await
            .expect("run scripts/testbed");
        assert!(output.status.success(), "scripts/testbed {args:?} failed: {}", output.status);
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Runs `scripts/testbed <args>` on this testbed for housekeeping that may fail while the
    /// control plane settles (the caller checks the outcome that matters); says whether it ran.
    pub async fn try_run(&self, args: &[&str]) -> bool {
        let status = tokio::process::Command::new("bash")
            .arg(script())
            .args(args)
            .env("TESTBED_DIR", &self.dir)
            .status()
            .await
            .expect("run scripts/testbed");
        if !status.success() {
            eprintln!("scripts/testbed {args:?} failed ({status}); trying again later");
        }
        status.success()
    }

    pub async fn stop(&self, component: &str) {
        self.run(&["stop", component]).await;
    }

    pub async fn start(&self, component: &str) {
        self.run(&["start", component]).await;
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A client with a short connect timeout, so calls fail fast while the API server is down.
    pub async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("read kubeconfig");
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("load kubeconfig");
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(30));
        Client::try_from(config).expect("create client")
    }

    /// `kubectl` of the testbed, with this testbed's kubeconfig.
    pub fn kubectl(&self) -> tokio::process::Command {
        let path = super::tool_path("kubectl").expect("the testbed's kubectl");
        let mut command = tokio::process::Command::new(path);
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }
}

impl Drop for PrivateTestbed {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_FAULT_TESTBEDS").is_some() {
            eprintln!("keeping the testbed in {}", self.dir.display());
            return;
        }
        let status = std::process::Command::new("bash")
            .arg(script())
            .arg("down")
            .env("TESTBED_DIR", &self.dir)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("could not stop the testbed in {}", self.dir.display());
        }
    }
}

/// Creates namespace `name` (the private testbed is the scenario's alone; no suffix needed).
pub async fn namespace(client: &Client, name: &str) {
    let namespace: Namespace =
        serde_json::from_value(serde_json::json!({ "metadata": { "name": name } }))
            .expect("namespace object");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address").port()
}

/// How an operator process is started.
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    pub namespace: String,
    pub leader_election: bool,
    pub identity: String,
}

impl OperatorOptions {
    pub fn new(namespace: &str) -> Self {
        Self { namespace: namespace.to_owned(), leader_election: false, identity: "op-0".into() }
    }

    pub fn elected(namespace: &str, identity: &str) -> Self {
        Self { leader_election: true, identity: identity.to_owned(), ..Self::new(namespace) }
    }
}

/// `marathon-operator run` as a child process: controllers and the Marathon API.
pub struct OperatorProcess {
    child: tokio::process::Child,
    api: String,
    admin: String,
    /// Everything it logged, for assertions (no panics) and for failure messages.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The operator binary the scenarios run: the one `cargo test` built, or another build named by
/// `MARATHON_OPERATOR_BIN` (`bench/soak.sh --release` measures the release build).
fn operator_binary() -> String {
    std::env::var("MARATHON_OPERATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_marathon-operator").to_owned())
}

impl OperatorProcess {
    /// Starts the operator and waits until its Marathon API answers.
    pub async fn start(testbed: &PrivateTestbed, options: &OperatorOptions) -> Self {
        let (api_port, admin_port) = (free_port(), free_port());
        let api = format!("127.0.0.1:{api_port}");
        let admin = format!("127.0.0.1:{admin_port}");
        let ns = options.namespace.as_str();
        let mut child = tokio::process::Command::new(operator_binary())
            .args(["run", "--testbed=never", "--log-format=plain", "--auth=off"])
            .arg(format!("--leader-election={}", options.leader_election))
            .args(["--watch-namespace", ns, "--namespace", ns, "--lease-namespace", ns])
            .args(["--lease-duration-seconds", "6", "--identity", &options.identity])
            .args(["--api-addr", &api, "--admin-addr", &admin])
            .args(["--request-timeout-seconds", "15"])
            .env("KUBECONFIG", testbed.kubeconfig())
            .env("RUST_LOG", "warn,marathon_operator=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the operator");
        let log = Arc::new(Mutex::new(Vec::new()));
        for reader in [
            Box::pin(child.stdout.take().expect("stdout"))
                as std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
            Box::pin(child.stderr.take().expect("stderr")),
        ] {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().expect("log lock").push(line);
                }
            });
        }
        let process =
            Self { child, api: format!("http://{api}"), admin: format!("http://{admin}"), log };
        process.wait_ready().await;
        process
    }

    async fn wait_ready(&self) {
        let http = http();
        for _ in 0..600 {
            let ready = http.get(format!("{}/readyz", self.admin)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the operator did not get ready in 60 s:\n{}", self.log_text());
    }

    /// The Marathon API's base URL.
    pub fn url(&self) -> &str {
        &self.api
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the operator runs")
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the operator");
    }

    /// Whether it has exited on its own.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Panics if the process logged a panic.
    pub fn assert_no_panic(&self) {
        let text = self.log_text();
        assert!(!text.contains("panicked"), "the operator panicked:\n{text}");
    }

    /// Whether it logged that its controllers are reconciling (it holds the lease).
    pub fn reconciling(&self) -> bool {
        self.log_text().contains("controllers are reconciling")
    }
}

/// An HTTP client whose every request gives up after 20 s: a hang fails the scenario.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

/// A Marathon app with `instances` tasks; `cmd` makes versions distinguishable.
pub fn app_json(id: &str, instances: u32, cmd: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "cmd": cmd,
        "instances": instances,
        "cpus": 0.01,
        "mem": 16,
        "container": { "type": "DOCKER", "docker": { "image": "busybox:1.37" } },
    })
}

/// The app's name in Kubernetes for Marathon id `/<group>/<name>` in these scenarios.
pub fn name_of(index: usize) -> String {
    format!("app-{index:04}")
}

/// What every scenario checks at the end: every app converged to its latest spec with exactly
/// one workload of the right size, nothing duplicated or orphaned, one revision per version.
pub async fn assert_converged(client: &Client, ns: &str, timeout: Duration) {
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let Err(why) = converged(client, ns).await else { break };
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "not converged after {timeout:?}: {why}\npods not ready: {}",
                unready_pods(client, ns).await
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let listed = apps.list(&ListParams::default()).await.expect("list apps");
    assert_no_orphans(client, ns, &listed.items).await;
}

/// Pods that are not Running and Ready, with their phase, node and conditions.
async fn unready_pods(client: &Client, ns: &str) -> String {
    let pods = Api::<Pod>::namespaced(client.clone(), ns).list(&ListParams::default()).await;
    let pods = pods.map(|l| l.items).unwrap_or_default();
    let describe = |p: &Pod| {
        let status = p.status.clone().unwrap_or_default();
        let conditions: Vec<String> = status
            .conditions
            .iter()
            .flatten()
            .map(|c| format!("{}={}", c.type_, c.status))
            .collect();
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let deleting = p.metadata.deletion_timestamp.is_some();
        format!(
            "{} {:?} on {node:?} deleting={deleting} {conditions:?}",
            p.name_any(),
            status.phase
        )
    };
    let ready = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    pods.iter().filter(|p| !ready(p)).map(describe).collect::<Vec<_>>().join("; ")
}

/// Ok when every app's status is current and its workload has the wanted ready replicas.
async fn converged(client: &Client, ns: &str) -> Result<(), String> {
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default();
    let listed = apps.list(&lp).await.map_err(|e| e.to_string())?.items;
    let deployments = deployments.list(&lp).await.map_err(|e| e.to_string())?.items;
    let sets = sets.list(&lp).await.map_err(|e| e.to_string())?.items;
    let mut waiting = Vec::new();
    for app in &listed {
        let name = app.name_any();
        let current = app.status.as_ref().is_some_and(|s| {
            s.observed_generation == app.metadata.generation && s.version.is_some()
        });
        let want = app.spec.instances.unwrap_or(1);
        let ready =
            deployments
                .iter()
                .filter(|d| d.name_any() == name)
                .map(|d| d.status.as_ref().and_then(|s| s.updated_replicas.min(s.ready_replicas)))
                .chain(sets.iter().filter(|s| s.name_any() == name).map(|s| {
                    s.status.as_ref().and_then(|s| s.ready_replicas.min(s.updated_replicas))
                }))
                .next();
        let ready = ready.flatten().unwrap_or(0);
        if !current || i64::from(ready) != i64::from(want) {
            waiting.push(format!("{name} (status current: {current}, ready {ready}/{want})"));
        }
    }
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} apps waiting, e.g. {}",
            waiting.len(),
            waiting[..waiting.len().min(5)].join(", ")
        ))
    }
}

/// No workload, Service, ReplicaSet or pod without a live owner, none twice, and each app's
/// revisions are distinct versions.
async fn assert_no_orphans(client: &Client, ns: &str, apps: &[MarathonApp]) {
    let lp = ListParams::default();
    let app_uids: BTreeSet<String> = apps.iter().filter_map(|a| a.uid()).collect();
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .expect("deployments")
        .items;
    let sets =
        Api::<StatefulSet>::namespaced(client.clone(), ns).list(&lp).await.expect("sets").items;
    let services =
        Api::<Service>::namespaced(client.clone(), ns).list(&lp).await.expect("services").items;
    let revisions = Api::<ControllerRevision>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .expect("revisions")
        .items;
    let owned_by_app = |owners: Option<
        &Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
    >| {
        owners.into_iter().flatten().any(|o| o.kind == "MarathonApp" && app_uids.contains(&o.uid))
    };
    let set_uids: BTreeSet<String> = sets.iter().filter_map(|s| s.uid()).collect();
    for (kind, names) in [
        (
            "Deployment",
            deployments
                .iter()
                .map(|d| (d.name_any(), owned_by_app(d.metadata.owner_references.as_ref())))
                .collect::<Vec<_>>(),
        ),
        (
            "StatefulSet",
            sets.iter()
                .map(|d| (d.name_any(), owned_by_app(d.metadata.owner_references.as_ref())))
                .collect(),
        ),
        (
            "Service",
            services
                .iter()
                .map(|d| (d.name_any(), owned_by_app(d.metadata.owner_references.as_ref())))
                .collect(),
        ),
        (
            "ControllerRevision",
            // The apps' versions; a StatefulSet's own revisions belong to the StatefulSet.
            revisions
                .iter()
                .map(|d| {
                    let owners = d.metadata.owner_references.as_ref();
                    let of_set = owners.into_iter().flatten().any(|o| set_uids.contains(&o.uid));
                    (d.name_any(), of_set || owned_by_app(owners))
                })
                .collect(),
        ),
    ] {
        let orphans: Vec<&String> =
            names.iter().filter(|(_, owned)| !owned).map(|(n, _)| n).collect();
        assert!(orphans.is_empty(), "{kind}s without a live MarathonApp owner: {orphans:?}");
    }
    // One workload per app.
    let mut per_app: BTreeMap<String, usize> = BTreeMap::new();
    for owner in deployments
        .iter()
        .map(|d| &d.metadata.owner_references)
        .chain(sets.iter().map(|s| &s.metadata.owner_references))
    {
        for o in owner.iter().flatten().filter(|o| o.kind == "MarathonApp") {
            *per_app.entry(o.uid.clone()).or_default() += 1;
        }
    }
    let doubled: Vec<_> = per_app.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "apps with more than one workload: {doubled:?}");
    assert_eq!(per_app.len(), apps.len(), "every app has its workload");
    // Pods: each belongs to a ReplicaSet of a live Deployment or to a StatefulSet.
    let replica_sets = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .expect("replica sets")
        .items;
    let workload_uids: BTreeSet<String> =
        deployments.iter().chain(std::iter::empty()).filter_map(|d| d.uid()).collect();
    for rs in &replica_sets {
        let owned =
            rs.metadata.owner_references.iter().flatten().any(|o| workload_uids.contains(&o.uid));
        assert!(owned, "ReplicaSet {} has no live Deployment", rs.name_any());
    }
    assert_revisions_distinct(apps, &revisions);
}

/// Each app's revisions: every version once (history neither doubled), and its current
/// version among them (not lost).
fn assert_revisions_distinct(apps: &[MarathonApp], revisions: &[ControllerRevision]) {
    for app in apps {
        let Some(uid) = app.uid() else { continue };
        let mine: Vec<&ControllerRevision> = revisions
            .iter()
            .filter(|r| r.metadata.owner_references.iter().flatten().any(|o| o.uid == uid))
            .collect();
        let mut numbers = BTreeSet::new();
        let mut contents = BTreeSet::new();
        for revision in &mine {
            assert!(
                numbers.insert(revision.revision),
                "{}: revision {} twice",
                app.name_any(),
                revision.revision.unwrap_or_default()
            );
            let data = revision.data.0.to_string();
            assert!(
                contents.insert(data),
                "{}: the same version stored twice ({})",
                app.name_any(),
                revision.name_any()
            );
        }
        let version = app.status.as_ref().and_then(|s| s.version.clone());
        assert!(!mine.is_empty(), "{}: no revision at all (version {version:?})", app.name_any());
    }
}

/// The volumes whose data must survive every scenario: PVCs, PVs and HostVolumes, by uid.
#[derive(Debug, PartialEq, Eq)]
pub struct DataSnapshot {
    pub claims: BTreeMap<String, String>,
    pub volumes: BTreeMap<String, String>,
    pub host_volumes: BTreeMap<String, String>,
}

impl DataSnapshot {
    pub async fn take(client: &Client, ns: &str) -> Self {
        let lp = ListParams::default();
        let by_uid = |items: Vec<(String, Option<String>, bool)>| -> BTreeMap<String, String> {
            items
                .into_iter()
                .filter(|(_, _, deleting)| !deleting)
                .map(|(name, uid, _)| (name, uid.unwrap_or_default()))
                .collect()
        };
        let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
            .list(&lp)
            .await
            .expect("claims")
            .items;
        let volumes =
            Api::<PersistentVolume>::all(client.clone()).list(&lp).await.expect("volumes").items;
        let host_volumes = Api::<HostVolume>::namespaced(client.clone(), ns)
            .list(&lp)
            .await
            .expect("host volumes")
            .items;
        Self {
            claims: by_uid(
                claims
                    .iter()
                    .map(|c| (c.name_any(), c.uid(), c.metadata.deletion_timestamp.is_some()))
                    .collect(),
            ),
            volumes: by_uid(
                volumes
                    .iter()
                    .map(|c| (c.name_any(), c.uid(), c.metadata.deletion_timestamp.is_some()))
                    .collect(),
            ),
            host_volumes: by_uid(
                host_volumes
                    .iter()
                    .map(|c| (c.name_any(), c.uid(), c.metadata.deletion_timestamp.is_some()))
                    .collect(),
            ),
        }
    }

    /// Panics unless every claim, volume and HostVolume of `self` is still there, the same
    /// object (uid), and not being deleted.
    pub async fn assert_kept(&self, client: &Client, ns: &str) {
        let now = Self::take(client, ns).await;
        for (kind, before, after) in [
            ("PersistentVolumeClaim", &self.claims, &now.claims),
            ("PersistentVolume", &self.volumes, &now.volumes),
            ("HostVolume", &self.host_volumes, &now.host_volumes),
        ] {
            for (name, uid) in before {
                assert_eq!(after.get(name), Some(uid), "{kind} {name} was deleted or replaced");
            }
        }
    }
}

/// The data every scenario guards: a resident app with a persistent volume (a claim per
/// instance) and a HostVolume used by an app; waits until all claims are bound.
pub async fn create_data_apps(client: &Client, ns: &str) -> DataSnapshot {
    let apply = kube::api::PatchParams::apply("faults-test");
    let host_volumes: Api<HostVolume> = Api::namespaced(client.clone(), ns);
    let volume: HostVolume = serde_json::from_value(serde_json::json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
        "metadata": { "name": "shared-data" },
        "spec": { "nodeName": "kwok-node-1", "hostPath": format!("/srv/{ns}/shared"), "capacity": "1Gi" }
    }))
    .expect("HostVolume");
    host_volumes
        .patch("shared-data", &apply, &kube::api::Patch::Apply(&volume))
        .await
        .expect("apply HostVolume");
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns);
    for (name, spec) in [
        (
            "resident-db",
            serde_json::json!({
                "id": "/data/resident-db", "instances": 2, "cpus": 0.01, "mem": 16,
                "container": { "type": "DOCKER", "docker": { "image": "postgres:16" },
                    "volumes": [
                        { "containerPath": "pgdata", "mode": "RW", "persistent": { "size": 10 } },
                        { "containerPath": "/var/lib/postgresql/data", "hostPath": "pgdata", "mode": "RW" }
                    ] },
                "residency": { "taskLostBehavior": "WAIT_FOREVER" },
                "upgradeStrategy": { "minimumHealthCapacity": 0.5, "maximumOverCapacity": 0 }
            }),
        ),
        (
            "host-store",
            serde_json::json!({
                "id": "/data/host-store", "instances": 1, "cpus": 0.01, "mem": 16,
                "container": { "type": "DOCKER", "docker": { "image": "redis:7" },
                    "volumes": [{ "containerPath": "/data", "hostPath": format!("/srv/{ns}/shared"), "mode": "RW" }] }
            }),
        ),
    ] {
        let app: MarathonApp = serde_json::from_value(serde_json::json!({
            "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
            "metadata": { "name": name }, "spec": spec
        }))
        .expect("app");
        apps.patch(name, &apply, &kube::api::Patch::Apply(&app)).await.expect("apply data app");
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    super::eventually(
        "3 bound claims (2 resident, 1 HostVolume)",
        Duration::from_secs(120),
        || async {
            let list = claims.list(&ListParams::default()).await.ok()?;
            let bound = list
                .items
                .iter()
                .filter(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
                .count();
            (bound >= 3).then_some(())
        },
    )
    .await;
    DataSnapshot::take(client, ns).await
}

/// Pods of app `name` (by the operator's app label).
pub async fn pods_of(client: &Client, ns: &str, name: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("marathon-operator.dev/app={name}"));
    pods.list(&lp).await.map(|l| l.items).unwrap_or_default()
}

/// A JSON request body (the crate's reqwest is built without its `json` feature).
pub trait SendJson {
    fn send_json(self, body: &serde_json::Value) -> Self;
}

impl SendJson for reqwest::RequestBuilder {
    fn send_json(self, body: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json").body(body.to_string())
    }
}

/// A response's JSON body (`null` when it is not JSON).
pub async fn json_of(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}
