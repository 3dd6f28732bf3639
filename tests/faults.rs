//! Fault scenarios on a private control plane each (issue 16, "Faults"): the operator
//! SIGKILLed during a rollout, the API server and etcd stopped, a node lost, the leader killed,
//! and two writers racing on one app. Every scenario also guards a resident app's claims and a
//! HostVolume: no PVC, PV or HostVolume may be deleted.
//!
//! Sizes are reduced for CI; `FAULTS_FULL=1` runs the full sizes (300 apps and 5 kills,
//! 30 s outages, 200 apps changing during failover). The scenarios run one at a time (each
//! starts and stops control-plane components of its own testbed).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use marathon_operator::crd::MarathonApp;
use serde_json::{Value, json};
use support::faults::{
    self, OperatorOptions, OperatorProcess, PrivateTestbed, SendJson, app_json, http, name_of,
};

const NS: &str = "faults";

/// One scenario's testbed, client and guarded data.
struct Scenario {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    testbed: PrivateTestbed,
    client: Client,
}

impl Scenario {
    async fn start(name: &str) -> Self {
        let serial = faults::serial().await;
        let testbed = PrivateTestbed::up(name).await;
        let client = testbed.client().await;
        support::ensure_crds(&client).await;
        faults::namespace(&client, NS).await;
        Self { _serial: serial, testbed, client }
    }

    fn apps(&self) -> Api<MarathonApp> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Applies `count` apps (`app-0000`...) with `cmd`, as a user of kubectl would.
    async fn apply_apps(&self, count: usize, cmd: &str) {
        let api = self.apps();
        futures::stream::iter(0..count)
            .for_each_concurrent(16, |i| {
                let api = api.clone();
                async move {
                    let name = name_of(i);
                    let app = app_object(&name, app_json(&format!("/{name}"), 1, cmd));
                    retry_apply(&api, &name, &app, "faults-user").await;
                }
            })
            .await;
    }
}

fn app_object(name: &str, spec: Value) -> MarathonApp {
    serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
        "metadata": { "name": name }, "spec": spec
    }))
    .unwrap()
}

/// Server-side apply, tried again while the API server is briefly unavailable.
async fn retry_apply(api: &Api<MarathonApp>, name: &str, app: &MarathonApp, manager: &str) {
    let params = PatchParams::apply(manager).force();
    for attempt in 0.. {
        match api.patch(name, &params, &Patch::Apply(app)).await {
            Ok(_) => return,
            Err(e) if attempt < 30 => {
                eprintln!("apply {name}: {e}; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("apply {name}: {e}"),
        }
    }
}

/// Every app's stored `cmd`.
async fn cmds(apps: &Api<MarathonApp>) -> Vec<(String, Option<String>)> {
    let listed = apps.list(&Default::default()).await.unwrap().items;
    listed.into_iter().map(|a| (a.name_any(), a.spec.cmd.clone())).collect()
}

/// Number of ControllerRevisions of each `app-*` app.
async fn revisions_per_app(client: &Client) -> Vec<(String, usize)> {
    use k8s_openapi::api::apps::v1::ControllerRevision;
    let apps = Api::<MarathonApp>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    let revisions = Api::<ControllerRevision>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    apps.iter()
        .filter(|a| a.name_any().starts_with("app-"))
        .map(|a| {
            let uid = a.uid().unwrap();
            let n = revisions
                .iter()
                .filter(|r| r.metadata.owner_references.iter().flatten().any(|o| o.uid == uid))
                .count();
            (a.name_any(), n)
        })
        .collect()
}

fn assert_each_has(counts: &[(String, usize)], want: usize, when: &str) {
    let wrong: Vec<_> = counts.iter().filter(|(_, n)| *n != want).collect();
    assert!(wrong.is_empty(), "{when}: apps without exactly {want} versions: {wrong:?}");
}

/// A pseudo-random delay in `range` (no seedable randomness needed: the moments only have to
/// differ from run to run).
fn random_delay(range: std::ops::Range<u64>) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos() as u64;
    Duration::from_millis(range.start + nanos % (range.end - range.start))
}

async fn kill_and_restart(
    operator: OperatorProcess,
    testbed: &PrivateTestbed,
    options: &OperatorOptions,
    at: Duration,
) -> OperatorProcess {
    tokio::time::sleep(at).await;
    operator.assert_no_panic();
    operator.kill().await;
    OperatorProcess::start(testbed, options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sigkilled_during_a_rollout_converges_without_duplicates_or_lost_versions() {
    let scenario = Scenario::start("sigkill").await;
    let (apps_n, kills) = (faults::size(30, 300), faults::size(2, 5));
    let timeout = Duration::from_secs(faults::size(240, 900) as u64);
    let options = OperatorOptions::new(NS);
    let mut operator = OperatorProcess::start(&scenario.testbed, &options).await;
    let data = faults::create_data_apps(&scenario.client, NS).await;
    let started = Instant::now();

    // Creation, with the first half of the kills at random moments.
    scenario.apply_apps(apps_n, "sleep 1000").await;
    for _ in 0..kills / 2 {
        operator =
            kill_and_restart(operator, &scenario.testbed, &options, random_delay(500..4000)).await;
    }
    faults::assert_converged(&scenario.client, NS, timeout).await;
    assert_each_has(&revisions_per_app(&scenario.client).await, 1, "after creation");

    // A new version of every app, with the other kills during its rollout.
    scenario.apply_apps(apps_n, "sleep 2000").await;
    for _ in kills / 2..kills {
        operator =
            kill_and_restart(operator, &scenario.testbed, &options, random_delay(500..4000)).await;
    }
    faults::assert_converged(&scenario.client, NS, timeout).await;
    assert_each_has(&revisions_per_app(&scenario.client).await, 2, "after the update");
    for (name, cmd) in cmds(&scenario.apps()).await {
        if name.starts_with("app-") {
            assert_eq!(cmd.as_deref(), Some("sleep 2000"), "{name} has the new version");
        }
    }
    data.assert_kept(&scenario.client, NS).await;
    operator.assert_no_panic();
    eprintln!(
        "sigkill: {apps_n} apps, {kills} kills, converged twice in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// What one facade request during an outage answered.
#[derive(Debug)]
struct Answer {
    what: &'static str,
    status: u16,
    body: Value,
    took: Duration,
}

/// Reads and writes against the facade until `stop`, each bounded by the client timeout.
async fn burst(url: String, stop: tokio_util::sync::CancellationToken) -> Vec<Answer> {
    let http = http();
    let mut answers = Vec::new();
    let mut n = 0u32;
    while !stop.is_cancelled() {
        n += 1;
        let requests: [(&'static str, reqwest::RequestBuilder); 8] = [
            ("GET /v2/apps", http.get(format!("{url}/v2/apps"))),
            ("GET /v2/apps?embed=apps.tasks", http.get(format!("{url}/v2/apps?embed=apps.tasks"))),
            ("GET /v2/deployments", http.get(format!("{url}/v2/deployments"))),
            ("GET /v2/info", http.get(format!("{url}/v2/info"))),
            ("GET /v2/apps/app-0000", http.get(format!("{url}/v2/apps/app-0000"))),
            ("GET /v2/tasks", http.get(format!("{url}/v2/tasks"))),
            (
                "PUT /v2/apps/app-0001",
                http.put(format!("{url}/v2/apps/app-0001?force=true"))
                    .send_json(&json!({ "env": { "BURST": n.to_string() } })),
            ),
            (
                "POST /v2/apps",
                http.post(format!("{url}/v2/apps")).send_json(&app_json(
                    &format!("/during-outage-{n}"),
                    1,
                    "sleep 1",
                )),
            ),
        ];
        for (what, request) in requests {
            let t0 = Instant::now();
            let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let status = response.status().as_u16();
            let body = faults::json_of(response).await;
            answers.push(Answer { what, status, body, took: t0.elapsed() });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    answers
}

/// Stops `component` for `downtime` while the controllers reconcile a new version of every
/// app and a request burst hits the facade; then checks both recover without a restart.
async fn outage(name: &str, component: &str) {
    let scenario = Scenario::start(name).await;
    let apps_n = faults::size(10, 50);
    let downtime = Duration::from_secs(faults::size(10, 30) as u64);
    let mut operator = OperatorProcess::start(&scenario.testbed, &OperatorOptions::new(NS)).await;
    let data = faults::create_data_apps(&scenario.client, NS).await;
    scenario.apply_apps(apps_n, "sleep 1000").await;
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(180)).await;

    // Reconciliation in flight, then the outage with a burst of facade requests.
    scenario.apply_apps(apps_n, "sleep 2000").await;
    scenario.testbed.stop(component).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let requests = tokio::spawn(burst(operator.url().to_owned(), stop.clone()));
    tokio::time::sleep(downtime).await;
    stop.cancel();
    let answers = requests.await.unwrap();
    scenario.testbed.start(component).await;

    report_outage(name, &answers);
    for answer in &answers {
        // Never a hang: every answer came back well within the client's timeout.
        assert!(answer.took < Duration::from_secs(17), "{answer:?} took too long");
        let ok = (200..300).contains(&answer.status);
        if answer.what.starts_with("GET") {
            assert_eq!(answer.status, 200, "reads are served from the caches: {answer:?}");
        } else if !ok {
            assert_eq!(answer.status, 503, "a failed write is Marathon's 503: {answer:?}");
            assert!(answer.body["message"].is_string(), "Marathon's error body: {answer:?}");
        }
    }
    let writes_refused = answers.iter().filter(|a| a.status == 503).count();
    assert!(writes_refused > 0, "writes during the outage were refused");

    // Recovery without a restart: the same process converges every app, and its caches follow
    // a change made after the outage (the watches resumed).
    assert!(!operator.exited(), "the operator is still the same process");
    // A long outage lets the node lifecycle controller mark the nodes lost (their kubelet,
    // kwok, could not renew its Leases); real kubelets then re-post their pods' readiness,
    // kwok does not, so the testbed does it until the nodes have settled (a pass may fail while
    // the API server reconnects to etcd; convergence below is what is checked).
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        scenario.testbed.try_run(&["pods-ready"]).await;
    }
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(240)).await;
    let app = app_object("app-0002", app_json("/app-0002", 2, "sleep 2000"));
    retry_apply(&scenario.apps(), "app-0002", &app, "faults-user").await;
    let url = format!("{}/v2/apps/app-0002", operator.url());
    support::eventually(
        "the facade sees the change (watch resumed)",
        Duration::from_secs(60),
        || {
            let url = url.clone();
            async move {
                let body = faults::json_of(http().get(&url).send().await.ok()?).await;
                (body["app"]["instances"] == 2).then_some(())
            }
        },
    )
    .await;
    let put = http()
        .put(format!("{}/v2/apps/app-0003?force=true", operator.url()))
        .send_json(&json!({ "instances": 2 }))
        .send()
        .await
        .unwrap();
    let status = put.status();
    let body = faults::json_of(put).await;
    assert_eq!(status, 200, "writes work again: {body}");
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(240)).await;
    data.assert_kept(&scenario.client, NS).await;
    assert!(!operator.exited(), "the operator never restarted");
    operator.assert_no_panic();
}

fn report_outage(name: &str, answers: &[Answer]) {
    let mut by_what: std::collections::BTreeMap<(&str, u16), (usize, Duration)> =
        Default::default();
    for a in answers {
        let entry = by_what.entry((a.what, a.status)).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(a.took);
    }
    for ((what, status), (n, max)) in by_what {
        eprintln!("{name}: {what} -> {status} x{n}, slowest {:.2} s", max.as_secs_f64());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_outage_during_reconciliation_and_a_request_burst_recovers() {
    outage("apiserver", "kube-apiserver").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_outage_during_reconciliation_and_a_request_burst_recovers() {
    outage("etcd", "etcd").await;
}

/// The tasks of app `id` as the facade reports them: (task id, host, state).
async fn facade_tasks(url: &str, id: &str) -> Vec<(String, String, String)> {
    let Ok(response) = http().get(format!("{url}/v2/apps/{id}/tasks")).send().await else {
        return Vec::new();
    };
    let body: Value = faults::json_of(response).await;
    body["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let field = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            (field("id"), field("host"), field("state"))
        })
        .collect()
}

/// Collects the facade's event stream (`/v2/events`) until the task is aborted.
fn collect_events(
    url: &str,
) -> (tokio::task::JoinHandle<()>, std::sync::Arc<std::sync::Mutex<String>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (url, out) = (format!("{url}/v2/events"), seen.clone());
    let task = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut response = client
            .get(&url)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .expect("event stream");
        while let Ok(Some(chunk)) = response.chunk().await {
            out.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    (task, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_makes_tasks_unreachable_and_replaces_them_as_the_unreachable_strategy_says() {
    let scenario = Scenario::start("node-lost").await;
    let operator = OperatorProcess::start(&scenario.testbed, &OperatorOptions::new(NS)).await;
    let data = faults::create_data_apps(&scenario.client, NS).await;
    let url = operator.url().to_owned();
    // Replaced at once when unreachable, and never replaced ("disabled").
    let mut replaced = app_json("/replaced", 4, "sleep 1000");
    replaced["unreachableStrategy"] =
        json!({ "inactiveAfterSeconds": 0, "expungeAfterSeconds": 0 });
    let mut kept = app_json("/kept", 4, "sleep 1000");
    kept["unreachableStrategy"] = json!("disabled");
    for app in [&replaced, &kept] {
        let response = http().post(format!("{url}/v2/apps")).send_json(app).send().await.unwrap();
        assert_eq!(response.status(), 201, "create {}", app["id"]);
    }
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(180)).await;
    // The node to lose: the one with most of the replaced app's tasks.
    let before = facade_tasks(&url, "replaced").await;
    let on = |node: &str| before.iter().filter(|t| t.1 == node).count();
    let lost = if on("kwok-node-0") >= on("kwok-node-1") { "kwok-node-0" } else { "kwok-node-1" };
    let lost_tasks: Vec<String> =
        before.iter().filter(|t| t.1 == lost).map(|t| t.0.clone()).collect();
    assert!(!lost_tasks.is_empty(), "some tasks run on {lost}: {before:?}");
    let kept_before = facade_tasks(&url, "kept").await;
    let kept_lost: Vec<String> =
        kept_before.iter().filter(|t| t.1 == lost).map(|t| t.0.clone()).collect();

    let (events, seen) = collect_events(&url);
    scenario.testbed.run(&["node-not-ready", lost]).await;

    // Marathon's view: the lost tasks are TASK_UNREACHABLE, and the replaced app gets new
    // tasks on the other node up to its instance count.
    let unreachable_and_replaced = support::eventually(
        "replacements running beside the unreachable tasks",
        Duration::from_secs(120),
        || async {
            let tasks = facade_tasks(&url, "replaced").await;
            let unreachable = tasks
                .iter()
                .filter(|t| lost_tasks.contains(&t.0) && t.2 == "TASK_UNREACHABLE")
                .count();
            let running = tasks.iter().filter(|t| t.1 != lost && t.2 == "TASK_RUNNING").count();
            (unreachable == lost_tasks.len() && running == 4).then_some(tasks)
        },
    )
    .await;
    eprintln!("node-lost: replaced app's tasks: {unreachable_and_replaced:?}");
    // "disabled": its tasks are unreachable and stay; no replacement is started.
    let kept_now = support::eventually(
        "the kept app's lost tasks unreachable",
        Duration::from_secs(60),
        || async {
            let tasks = facade_tasks(&url, "kept").await;
            let unreachable = tasks
                .iter()
                .filter(|t| kept_lost.contains(&t.0) && t.2 == "TASK_UNREACHABLE")
                .count();
            (unreachable == kept_lost.len()).then_some(tasks)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let kept_later = facade_tasks(&url, "kept").await;
    assert_eq!(
        kept_later.len(),
        kept_now.len(),
        "no replacement for a disabled strategy: {kept_later:?}"
    );
    let events_text = seen.lock().unwrap().clone();
    assert!(
        events_text.contains("\"taskStatus\":\"TASK_UNREACHABLE\""),
        "the event stream reported TASK_UNREACHABLE:\n{events_text}"
    );
    events.abort();

    // The node comes back: everything converges again and no data went away.
    scenario.testbed.run(&["node-ready", lost]).await;
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(180)).await;
    data.assert_kept(&scenario.client, NS).await;
    operator.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_finishes_the_rollout_when_the_leader_is_killed() {
    let scenario = Scenario::start("failover").await;
    let apps_n = faults::size(30, 200);
    let timeout = Duration::from_secs(faults::size(240, 900) as u64);
    let (a, b) = (OperatorOptions::elected(NS, "op-a"), OperatorOptions::elected(NS, "op-b"));
    let first = OperatorProcess::start(&scenario.testbed, &a).await;
    let second = OperatorProcess::start(&scenario.testbed, &b).await;
    support::eventually("a leader", Duration::from_secs(60), || async {
        (first.reconciling() || second.reconciling()).then_some(())
    })
    .await;
    let (leader, standby) = if first.reconciling() { (first, second) } else { (second, first) };
    assert!(!standby.reconciling(), "only one replica reconciles");
    let data = faults::create_data_apps(&scenario.client, NS).await;
    scenario.apply_apps(apps_n, "sleep 1000").await;
    faults::assert_converged(&scenario.client, NS, timeout).await;

    // Every app changes; the leader dies in the middle of it.
    let started = Instant::now();
    scenario.apply_apps(apps_n, "sleep 2000").await;
    tokio::time::sleep(random_delay(500..2000)).await;
    leader.assert_no_panic();
    leader.kill().await;
    support::eventually("the standby takes over", Duration::from_secs(60), || async {
        standby.reconciling().then_some(())
    })
    .await;
    let took_over = started.elapsed();
    faults::assert_converged(&scenario.client, NS, timeout).await;
    assert_each_has(&revisions_per_app(&scenario.client).await, 2, "after the failover");
    for (name, cmd) in cmds(&scenario.apps()).await {
        if name.starts_with("app-") {
            assert_eq!(cmd.as_deref(), Some("sleep 2000"), "{name} has the new version");
        }
    }
    data.assert_kept(&scenario.client, NS).await;
    standby.assert_no_panic();
    eprintln!(
        "failover: {apps_n} apps; the standby reconciled {:.1} s after the change began, all converged after {:.1} s",
        took_over.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// One writer's whole definition of the raced app.
fn race_definition(writer: &str, round: usize, instances: u32) -> Value {
    let mut app = app_json("/race", instances, &format!("sleep {round}; echo {writer}"));
    app["env"] = json!({ "WRITER": writer, "ROUND": round.to_string() });
    app["labels"] = json!({ "writer": writer });
    app
}

/// The fields the two writers set differently, as stored.
fn written_by(spec: &Value) -> (Value, Value, Value, Value) {
    (spec["cmd"].clone(), spec["instances"].clone(), spec["env"].clone(), spec["labels"].clone())
}

/// What the two writers of one round were told.
struct Raced {
    put_status: u16,
    put_body: Value,
    kubectl_ok: bool,
    kubectl_stderr: String,
}

/// Sends the facade's `PUT` and kubectl's server-side apply at nearly the same moment; which
/// one leaves first alternates by round. In odd rounds kubectl forces ownership, as a user
/// overriding the Marathon API would; in even rounds it is a plain `kubectl apply
/// --server-side`, which conflicts with fields the facade wrote.
async fn race_once(
    testbed: &PrivateTestbed,
    url: &str,
    round: usize,
    facade: &Value,
    kubectl_def: &Value,
) -> Raced {
    let manifest = serde_json::to_string(&app_object("race", kubectl_def.clone())).unwrap();
    let mut kubectl = testbed.kubectl();
    kubectl.args(["apply", "--server-side", "--field-manager=kubectl", "-n", NS, "-f", "-"]);
    if !round.is_multiple_of(2) {
        kubectl.arg("--force-conflicts");
    }
    kubectl
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = kubectl.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let put = async {
        if !round.is_multiple_of(2) {
            tokio::time::sleep(Duration::from_millis((round as u64 * 97) % 400)).await;
        }
        let url = format!("{url}/v2/apps/race?partialUpdate=false");
        http().put(url).send_json(facade).send().await
    };
    let write_manifest = async move {
        use tokio::io::AsyncWriteExt;
        if round.is_multiple_of(2) {
            tokio::time::sleep(Duration::from_millis((round as u64 * 89) % 400)).await;
        }
        stdin.write_all(manifest.as_bytes()).await.unwrap();
        drop(stdin);
    };
    let (put, (), kubectl_out) = tokio::join!(put, write_manifest, child.wait_with_output());
    let put = put.unwrap();
    let put_status = put.status().as_u16();
    let kubectl_out = kubectl_out.unwrap();
    Raced {
        put_status,
        put_body: faults::json_of(put).await,
        kubectl_ok: kubectl_out.status.success(),
        kubectl_stderr: String::from_utf8_lossy(&kubectl_out.stderr).into_owned(),
    }
}

/// The loser can tell: a 409 in Marathon's shape, a failed kubectl naming the conflict, or
/// (both accepted one after the other) the facade's version is replaced as the current one
/// and stays in the app's versions.
async fn assert_loser_can_tell(url: &str, round: usize, raced: &Raced, facade_stored: bool) {
    let Raced { put_status, put_body, kubectl_ok, kubectl_stderr } = raced;
    if *put_status != 200 {
        assert_eq!(*put_status, 409, "round {round}: {put_body}");
        assert!(put_body["message"].is_string(), "{put_body}");
        assert!(!facade_stored, "round {round}: the facade lost, kubectl's version is stored");
    }
    if !kubectl_ok {
        assert!(
            kubectl_stderr.to_lowercase().contains("conflict"),
            "round {round}: {kubectl_stderr}"
        );
        assert!(facade_stored, "round {round}: kubectl lost, the facade's version is stored");
    }
    if *put_status != 200 {
        return;
    }
    let announced = put_body["version"].as_str().unwrap_or_default().to_owned();
    let app_url = format!("{url}/v2/apps/race");
    support::eventually(
        "the facade's version recorded, and current unless replaced",
        Duration::from_secs(30),
        || {
            let (app_url, announced) = (app_url.clone(), announced.clone());
            async move {
                let now = faults::json_of(http().get(&app_url).send().await.ok()?).await;
                let versions =
                    faults::json_of(http().get(format!("{app_url}/versions")).send().await.ok()?)
                        .await;
                let recorded =
                    versions["versions"].as_array()?.iter().any(|v| v.as_str() == Some(&announced));
                let current = now["app"]["version"].as_str() == Some(&announced);
                (recorded && current == facade_stored).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facade_put_racing_a_kubectl_apply_stores_one_whole_version_and_the_loser_can_tell() {
    let scenario = Scenario::start("race").await;
    let operator = OperatorProcess::start(&scenario.testbed, &OperatorOptions::new(NS)).await;
    let data = faults::create_data_apps(&scenario.client, NS).await;
    let url = operator.url().to_owned();
    let created = http()
        .post(format!("{url}/v2/apps"))
        .send_json(&race_definition("facade", 0, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut outcomes = Vec::new();
    for round in 1..=faults::size(4, 10) {
        faults::assert_converged(&scenario.client, NS, Duration::from_secs(120)).await;
        let facade_def = race_definition("facade", round, 2);
        let kubectl_def = race_definition("kubectl", round, 3);
        let raced = race_once(&scenario.testbed, &url, round, &facade_def, &kubectl_def).await;
        // The stored app is one writer's definition, whole.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stored = scenario.apps().get("race").await.unwrap();
        let spec = serde_json::to_value(&stored.spec).unwrap();
        let from_facade = written_by(&facade_def) == written_by(&spec);
        let from_kubectl = written_by(&kubectl_def) == written_by(&spec);
        assert!(from_facade || from_kubectl, "round {round}: a mix of two versions: {spec}");
        assert_loser_can_tell(&url, round, &raced, from_facade).await;
        let stored_by = if from_facade { "facade" } else { "kubectl" };
        outcomes.push((round, raced.put_status, raced.kubectl_ok, stored_by));
    }
    eprintln!("race outcomes (round, facade status, kubectl ok, stored): {outcomes:?}");
    faults::assert_converged(&scenario.client, NS, Duration::from_secs(120)).await;
    data.assert_kept(&scenario.client, NS).await;
    operator.assert_no_panic();
}
