//! The Helm chart on the real control plane (the testbed: kube-apiserver with RBAC, pods on kwok
//! nodes). Installs in both namespace modes and proves the ServiceAccount's permissions with
//! `kubectl auth can-i --as`, both what it may do and what it may not; runs the controllers, the
//! Marathon API, leader election and the CRD self-apply as that ServiceAccount (kwok pods run no binary, so the operator's code runs
//! in-process under impersonation); upgrades keep the generated credentials; uninstall keeps the
//! apps' data.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use marathon_operator::controllers::leader::{Election, LeaseConfig};
use marathon_operator::crd::{HostVolume, HostVolumePhase, MarathonApp};
use marathon_operator::marathon_api::{Credentials, FacadeConfig, FacadeState, LeaseRef, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use support::helm::{chart, documents, env_of, helm_on_cluster, kubectl_on_cluster, run, succeeds};
use support::operator::Operator;
use support::{TestNamespace, eventually};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const TIMEOUT: Duration = Duration::from_secs(90);
const IMAGE: &str = "image.repository=example.invalid/marathon-operator";

/// Tests that apply the CRDs, or make them stale on purpose, take turns.
static CRDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A Helm release of the chart in a test namespace, uninstalled when dropped (its ClusterRole
/// and binding are cluster-scoped and would outlive the namespace).
struct Release {
    name: String,
    namespace: String,
}

impl Release {
    fn install(namespace: &str, values: &[&str]) -> Self {
        let release = Self { name: namespace.to_owned(), namespace: namespace.to_owned() };
        run(helm_on_cluster()
            .args(["install", &release.name])
            .arg(chart())
            .args(["--namespace", namespace, "--set", IMAGE, "--wait=false"])
            .args(values.iter().flat_map(|v| ["--set", v])));
        release
    }

    fn upgrade(&self, values: &[&str]) {
        run(helm_on_cluster()
            .args(["upgrade", &self.name])
            .arg(chart())
            .args(["--namespace", &self.namespace, "--set", IMAGE, "--wait=false"])
            .args(values.iter().flat_map(|v| ["--set", v])));
    }

    fn uninstall(&self) {
        run(helm_on_cluster().args(["uninstall", &self.name, "--namespace", &self.namespace]));
    }

    fn fullname(&self) -> String {
        format!("{}-marathon-operator", self.name)
    }

    fn service_account(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.fullname())
    }

    /// Waits until the operator Deployment has all replicas available; returns its pods.
    async fn available(&self, client: &Client, replicas: i32) -> Vec<Pod> {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &self.namespace);
        let name = self.fullname();
        eventually("the operator Deployment available", TIMEOUT, || async {
            let status = deployments.get(&name).await.ok()?.status?;
            (status.available_replicas == Some(replicas)).then_some(())
        })
        .await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &self.namespace);
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        let running = pods.list(&ListParams::default().labels(&selector)).await.unwrap().items;
        running.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = helm_on_cluster()
            .args(["uninstall", &self.name, "--namespace", &self.namespace, "--ignore-not-found"])
            .output();
    }
}

/// Where a permission is asked for.
#[derive(Clone, Copy, Debug)]
enum Scope<'a> {
    Namespace(&'a str),
    AllNamespaces,
    Cluster,
}

/// `kubectl auth can-i VERB RESOURCE` as `user`; `resource` may carry `/name` and a
/// `:subresource` suffix.
fn can_i(user: &str, verb: &str, resource: &str, scope: Scope) -> bool {
    let (resource, subresource) = match resource.split_once(':') {
        Some((resource, sub)) => (resource, Some(sub)),
        None => (resource, None),
    };
    let mut command = kubectl_on_cluster();
    command.args(["auth", "can-i", verb, resource, &format!("--as={user}")]);
    if let Some(sub) = subresource {
        command.arg(format!("--subresource={sub}"));
    }
    match scope {
        Scope::Namespace(ns) => command.args(["--namespace", ns]),
        Scope::AllNamespaces => command.arg("--all-namespaces"),
        Scope::Cluster => &mut command,
    };
    succeeds(&mut command)
}

/// Asks every (verbs, resource, scope) and fails listing all answers that differ from `allowed`.
fn expect_permissions(user: &str, allowed: bool, checks: &[(&str, &str, Scope)]) {
    let mut wrong = Vec::new();
    for (verbs, resource, scope) in checks {
        for verb in verbs.split(',') {
            if can_i(user, verb, resource, *scope) != allowed {
                wrong.push(format!("{verb} {resource} in {scope:?}"));
            }
        }
    }
    let expectation = if allowed { "allowed" } else { "denied" };
    assert!(wrong.is_empty(), "{user} should be {expectation}: {wrong:#?}");
}

const CRD_APPS: &str =
    "customresourcedefinitions.apiextensions.k8s.io/marathonapps.marathon-operator.dev";
const CRD_VOLUMES: &str =
    "customresourcedefinitions.apiextensions.k8s.io/hostvolumes.marathon-operator.dev";

/// What the operator may do in a namespace it watches.
fn namespaced_allowed(ns: &str) -> Vec<(&'static str, &'static str, Scope<'_>)> {
    let scope = Scope::Namespace(ns);
    vec![
        ("get,list,watch,create,patch,delete", "marathonapps.marathon-operator.dev", scope),
        ("list,watch,patch", "hostvolumes.marathon-operator.dev", scope),
        ("patch", "marathonapps.marathon-operator.dev:status", scope),
        ("patch", "hostvolumes.marathon-operator.dev:status", scope),
        ("update", "marathonapps.marathon-operator.dev:finalizers", scope),
        ("list,watch,create,patch,delete", "deployments.apps", scope),
        ("list,watch,create,patch,delete", "statefulsets.apps", scope),
        ("list,watch,create,delete", "controllerrevisions.apps", scope),
        ("list,watch,create,patch,delete", "services", scope),
        ("list,watch,create,patch,delete", "horizontalpodautoscalers.autoscaling", scope),
        ("list,watch,create,patch,delete", "ingresses.networking.k8s.io", scope),
        ("list,watch,create,patch,delete", "persistentvolumeclaims", scope),
        ("list,watch,patch,delete", "pods", scope),
        ("create,patch", "events.events.k8s.io", scope),
    ]
}

/// What the operator may do cluster-wide (in both modes) and with its Lease (`lease`: its
/// `leases.coordination.k8s.io/<name>`).
fn cluster_allowed<'a>(
    release_ns: &'a str,
    lease: &'a str,
) -> Vec<(&'static str, &'a str, Scope<'a>)> {
    vec![
        ("list,watch,create,patch,delete", "persistentvolumes", Scope::Cluster),
        ("get,list,watch,create,patch", CRD_APPS, Scope::Cluster),
        ("get,list,watch,create,patch", CRD_VOLUMES, Scope::Cluster),
        ("get,patch", lease, Scope::Namespace(release_ns)),
        ("create", "leases.coordination.k8s.io", Scope::Namespace(release_ns)),
    ]
}

/// What the operator may never do, in any mode.
fn always_denied<'a>(
    release_ns: &'a str,
    other_ns: &'a str,
) -> Vec<(&'static str, &'static str, Scope<'a>)> {
    let other_crd = "customresourcedefinitions.apiextensions.k8s.io/widgets.example.com";
    vec![
        // Secrets: not even its own credentials (they are mounted).
        ("get,list,watch", "secrets", Scope::AllNamespaces),
        ("get,list,watch,create,update", "secrets", Scope::Namespace(release_ns)),
        ("get,list", "secrets", Scope::Namespace(other_ns)),
        ("get,list", "configmaps", Scope::Namespace(other_ns)),
        // Nodes: nothing reads them (a task's host is its pod's nodeName), nothing writes them.
        ("get,list,watch,create,update,patch,delete", "nodes", Scope::Cluster),
        // Namespaces are not its business.
        ("create,delete,update,patch", "namespaces", Scope::Cluster),
        // No RBAC objects, no escalation, no tokens.
        (
            "create,update,patch,delete,bind,escalate",
            "clusterroles.rbac.authorization.k8s.io",
            Scope::Cluster,
        ),
        (
            "create,update,patch,delete",
            "clusterrolebindings.rbac.authorization.k8s.io",
            Scope::Cluster,
        ),
        (
            "create,update,patch,delete,bind,escalate",
            "roles.rbac.authorization.k8s.io",
            Scope::Namespace(other_ns),
        ),
        (
            "create,update,patch,delete",
            "rolebindings.rbac.authorization.k8s.io",
            Scope::Namespace(release_ns),
        ),
        ("create", "serviceaccounts:token", Scope::Namespace(release_ns)),
        // Other CRDs, and deleting or listing all of them.
        ("get,create,update,patch,delete", other_crd, Scope::Cluster),
        (
            "list,create,deletecollection",
            "customresourcedefinitions.apiextensions.k8s.io",
            Scope::Cluster,
        ),
        ("delete,update", CRD_APPS, Scope::Cluster),
        // Pods are the workloads' to create; no exec into tasks, no reading their logs.
        ("create,update", "pods", Scope::Namespace(other_ns)),
        ("create", "pods:exec", Scope::Namespace(other_ns)),
        ("get", "pods:log", Scope::Namespace(other_ns)),
        // Workloads are applied, never replaced; no ReplicaSets, Jobs or DaemonSets.
        ("update", "deployments.apps", Scope::Namespace(other_ns)),
        ("create,delete", "replicasets.apps", Scope::Namespace(other_ns)),
        ("create", "daemonsets.apps", Scope::Namespace(other_ns)),
        // The Lease only in the release namespace, and no other Lease there.
        ("create,update", "leases.coordination.k8s.io", Scope::Namespace(other_ns)),
        (
            "update,delete",
            "leases.coordination.k8s.io/kube-scheduler",
            Scope::Namespace(release_ns),
        ),
    ]
}

/// Every object of the release's manifest exists on the cluster.
fn every_object_present(release: &Release) -> Vec<String> {
    let manifest =
        run(helm_on_cluster().args(["get", "manifest", &release.name, "-n", &release.namespace]));
    let objects = documents(&manifest);
    let mut found = Vec::new();
    for object in &objects {
        let group = object["apiVersion"].as_str().unwrap().rsplit_once('/').map(|(g, _)| g);
        let kind = object["kind"].as_str().unwrap();
        let resource = match group {
            Some(group) => format!("{kind}.{group}"),
            None => kind.to_owned(),
        };
        let name = object["metadata"]["name"].as_str().unwrap();
        // Namespaced objects without a namespace go to the release namespace; kubectl ignores
        // the namespace of cluster-scoped ones.
        let ns = object["metadata"]["namespace"].as_str().unwrap_or(&release.namespace);
        let out = run(kubectl_on_cluster().args([
            "get",
            &format!("{resource}/{name}"),
            "-n",
            ns,
            "-o",
            "name",
        ]));
        found.push(out.trim().to_owned());
    }
    found
}

/// The notes helm prints after install: how to reach the API, the credentials, a first app.
fn notes_show_how_to_reach_the_api_and_submit_an_app(release: &Release) {
    let notes =
        run(helm_on_cluster().args(["get", "notes", &release.name, "-n", &release.namespace]));
    let (ns, fullname) = (&release.namespace, release.fullname());
    for expected in [
        format!("kubectl -n {ns} port-forward svc/{fullname} 8080:8080"),
        format!("kubectl -n {ns} get secret {fullname}-auth -o jsonpath='{{.data.password}}'"),
        "-u \"$MARATHON_USER:$MARATHON_PASSWORD\"".to_owned(),
        "-X POST \"$MARATHON_URL/v2/apps\"".to_owned(),
        format!("kubectl -n {ns} get marathonapps"),
    ] {
        assert!(notes.contains(&expected), "NOTES lack {expected:?}:\n{notes}");
    }
}

fn kwok_nodes_of(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default())
        .inspect(|node| {
            assert!(node.starts_with("kwok-node-"), "pod scheduled on a kwok node, not {node:?}")
        })
        .collect()
}

/// One request to the Marathon API router; the status and the JSON body (null when empty).
async fn call(api: &axum::Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The status of `GET uri` with an `Authorization` header (or none).
async fn status_with(api: &axum::Router, uri: &str, authorization: Option<String>) -> u16 {
    let mut request = axum::http::Request::builder().uri(uri);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let request = request.body(axum::body::Body::empty()).unwrap();
    api.clone().oneshot(request).await.unwrap().status().as_u16()
}

/// The Marathon API reads the Secret as the pod mounts it (one file per key under
/// MARATHON_API_AUTH_DIR) and then admits exactly its credentials; the `helm test` script
/// passes with them and fails without.
async fn secret_authenticates_the_marathon_api(
    client: &Client,
    release: &Release,
    secret: &Secret,
) {
    let namespace = release.namespace.as_str();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{namespace}-auth"));
    std::fs::create_dir_all(&dir).unwrap();
    for (key, value) in secret.data.as_ref().unwrap() {
        std::fs::write(dir.join(key), &value.0).unwrap();
    }
    let credentials = Credentials::from_dir(&dir).unwrap().expect("credentials in the Secret");
    std::fs::remove_dir_all(&dir).unwrap();
    let (user, password, token) = (
        credentials.username.clone().unwrap(),
        credentials.password.clone().unwrap(),
        credentials.token.clone().unwrap(),
    );
    let (watches, drive) = Watches::start(client, &[namespace.to_owned()]);
    let drive = tokio::spawn(drive);
    let config = FacadeConfig { credentials: Some(credentials), ..FacadeConfig::local(namespace) };
    let api = router(FacadeState::new(
        client.clone(),
        watches,
        config,
        Metrics::shared(),
        CancellationToken::new(),
    ));
    let basic = |user: &str, password: &str| {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {encoded}"))
    };
    assert_eq!(status_with(&api, "/v2/info", None).await, 401, "no credentials");
    assert_eq!(status_with(&api, "/v2/info", basic(&user, "wrong")).await, 401, "wrong password");
    assert_eq!(status_with(&api, "/v2/info", basic(&user, &password)).await, 200, "HTTP Basic");
    assert_eq!(status_with(&api, "/v2/info", Some(format!("Bearer {token}"))).await, 200, "token");

    // The `helm test` pod cannot run on kwok nodes; its script runs here instead, with the
    // environment the pod gets, against the same Marathon API served on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let hooks =
        run(helm_on_cluster().args(["get", "hooks", &release.name, "-n", &release.namespace]));
    let hooks = documents(&hooks);
    let pod =
        hooks.iter().find(|h| h["metadata"]["annotations"]["helm.sh/hook"] == "test").unwrap();
    let script = pod["spec"]["containers"][0]["args"][0].as_str().unwrap().to_owned();
    let hook = |password: &str| {
        let mut command = std::process::Command::new("sh");
        command.args(["-ec", &script]).env("MARATHON_URL", &url);
        command.env("MARATHON_USER", &user).env("MARATHON_PASSWORD", password);
        command
    };
    let passed = tokio::task::spawn_blocking({
        let mut command = hook(&password);
        move || run(&mut command)
    });
    assert!(passed.await.unwrap().contains("Marathon API answers /ping and /v2/info"));
    let failed = tokio::task::spawn_blocking({
        let mut command = hook("wrong");
        move || succeeds(&mut command)
    });
    assert!(!failed.await.unwrap(), "the hook fails without the right credentials");
    server.abort();
    drive.abort();
}

/// The operator's code as the chart's ServiceAccount, as `marathon-operator run` wires it:
/// leader election in the release namespace, the watch caches of `watched` (every namespace
/// when empty), the controllers, and the Marathon API. A Marathon client's cycle through the API
/// (create, read tasks and the leader, kill a task with scale, delete) runs to the end.
async fn operator_runs_under(
    sa: &str,
    client: &Client,
    release_ns: &str,
    app_ns: &str,
    watched: &[String],
) {
    {
        let _turn = CRDS.lock().await;
        support::ensure_crds(client).await;
    }
    let sa_client = support::client_as(sa).await;
    let identity = format!("{app_ns}-replica");
    // The chart's RBAC allows the Lease of its namespace set, as the operator names it.
    let lease_name = marathon_operator::config::lease_name_for(watched).expect("lease name");
    let lease = LeaseConfig {
        namespace: release_ns.to_owned(),
        name: lease_name.clone(),
        identity: identity.clone(),
        duration_seconds: 15,
        grace_seconds: 5,
    };
    let mut election = Election::start(sa_client.clone(), lease).await.expect("join the election");
    let never = CancellationToken::new();
    let acquired = tokio::time::timeout(TIMEOUT, election.acquired(&never)).await;
    assert_eq!(acquired.ok(), Some(true), "the ServiceAccount takes the leader Lease");

    let operator = Operator::start(&sa_client, app_ns);
    let (watches, drive) = Watches::start(&sa_client, watched);
    let drive = tokio::spawn(drive);
    tokio::time::timeout(TIMEOUT, watches.wait_until_ready())
        .await
        .expect("every watch of the Marathon API lists under the chart's RBAC");
    let config = FacadeConfig {
        watched: watched.to_vec(),
        lease: Some(LeaseRef { namespace: release_ns.to_owned(), name: lease_name }),
        identity: identity.clone(),
        ..FacadeConfig::local(app_ns)
    };
    let state = FacadeState::new(
        sa_client.clone(),
        watches,
        config,
        Metrics::shared(),
        CancellationToken::new(),
    );
    let api = router(state);

    let app = json!({ "id": "/web", "cmd": "sleep 1000", "instances": 2, "cpus": 0.1, "mem": 32 });
    let (status, body) = call(&api, "POST", "/v2/apps", Some(app)).await;
    assert_eq!(status, 201, "POST /v2/apps: {body}");
    let (status, body) = call(&api, "GET", "/v2/leader", None).await;
    assert_eq!((status, &body["leader"]), (200, &json!(identity)), "GET /v2/leader");
    let running = |n: i64| {
        let api = api.clone();
        async move {
            let (_, body) = call(&api, "GET", "/v2/apps/web/tasks", None).await;
            let tasks = body["tasks"].as_array()?.clone();
            let running = tasks.iter().filter(|t| t["state"] == "TASK_RUNNING").count();
            (running as i64 == n && tasks.len() as i64 == n).then_some(tasks)
        }
    };
    let tasks = eventually("2 tasks running through the API", TIMEOUT, || running(2)).await;
    eventually("the deployment finished", TIMEOUT, || async {
        let (_, body) = call(&api, "GET", "/v2/deployments", None).await;
        body.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    let task = tasks[0]["id"].as_str().unwrap();
    let (status, body) =
        call(&api, "DELETE", &format!("/v2/apps/web/tasks/{task}?scale=true"), None).await;
    assert_eq!(status, 200, "kill a task with scale: {body}");
    eventually("1 task left after the kill", TIMEOUT, || running(1)).await;
    let (status, body) = call(&api, "DELETE", "/v2/apps/web", None).await;
    assert_eq!(status, 200, "DELETE /v2/apps/web: {body}");
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), app_ns);
    eventually("the app deleted", TIMEOUT, || async {
        apps.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
    operator.stop().await;
    drive.abort();
    drop(election);
}

#[tokio::test]
async fn all_namespaces_install_grants_exactly_what_the_operator_needs() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "helm-all").await;
    let other = TestNamespace::new(&client, "helm-any").await;
    let release = Release::install(ns.name(), &[]);
    let pods = release.available(&client, 2).await;
    assert_eq!(pods.len(), 2);
    assert_eq!(kwok_nodes_of(&pods).len(), 2, "the replicas spread over both kwok nodes");
    let objects: BTreeSet<String> = every_object_present(&release)
        .iter()
        .map(|o| o.split('/').next().unwrap().to_owned())
        .collect();
    let kinds = [
        "clusterrole.rbac.authorization.k8s.io",
        "clusterrolebinding.rbac.authorization.k8s.io",
        "deployment.apps",
        "poddisruptionbudget.policy",
        "role.rbac.authorization.k8s.io",
        "rolebinding.rbac.authorization.k8s.io",
        "secret",
        "service",
        "serviceaccount",
    ];
    assert_eq!(objects, kinds.into_iter().map(String::from).collect());
    notes_show_how_to_reach_the_api_and_submit_an_app(&release);

    let sa = release.service_account();
    // Watching every namespace: the namespaced rules hold in any namespace, and cluster-wide.
    expect_permissions(&sa, true, &namespaced_allowed(other.name()));
    expect_permissions(&sa, true, &namespaced_allowed(ns.name()));
    expect_permissions(
        &sa,
        true,
        &[("list,watch", "marathonapps.marathon-operator.dev", Scope::AllNamespaces)],
    );
    expect_permissions(&sa, true, &[("list,watch", "pods", Scope::AllNamespaces)]);
    let lease = "leases.coordination.k8s.io/marathon-operator-leader";
    expect_permissions(&sa, true, &cluster_allowed(ns.name(), lease));
    expect_permissions(&sa, false, &always_denied(ns.name(), other.name()));

    operator_runs_under(&sa, &client, ns.name(), other.name(), &[]).await;
    people_use_marathon_apps_through_the_default_roles(other.name()).await;
    release.uninstall();
}

/// The chart adds MarathonApp rights to the default `edit` and `view` ClusterRoles (through
/// aggregation, which the controller-manager applies a moment later).
async fn people_use_marathon_apps_through_the_default_roles(ns: &str) {
    for (role, user) in [("edit", "alice@example.com"), ("view", "bob@example.com")] {
        run(kubectl_on_cluster().args([
            "create",
            "rolebinding",
            &format!("{role}-{}", user.split('@').next().unwrap()),
            &format!("--clusterrole={role}"),
            &format!("--user={user}"),
            "-n",
            ns,
        ]));
    }
    let apps = "marathonapps.marathon-operator.dev";
    eventually("edit aggregates MarathonApp rights", TIMEOUT, || async {
        can_i("alice@example.com", "patch", apps, Scope::Namespace(ns)).then_some(())
    })
    .await;
    eventually("view aggregates MarathonApp reads", TIMEOUT, || async {
        can_i("bob@example.com", "list", apps, Scope::Namespace(ns)).then_some(())
    })
    .await;
    let scope = Scope::Namespace(ns);
    expect_permissions(
        "alice@example.com",
        true,
        &[
            ("get,list,watch,create,update,patch,delete", apps, scope),
            ("get,list,create,delete", "hostvolumes.marathon-operator.dev", scope),
            ("update", "marathonapps.marathon-operator.dev:scale", scope),
        ],
    );
    expect_permissions("bob@example.com", true, &[("get,list,watch", apps, scope)]);
    expect_permissions("bob@example.com", false, &[("create,patch,delete", apps, scope)]);
}

#[tokio::test]
async fn namespace_list_install_grants_nothing_namespaced_outside_the_list() {
    let client = support::client().await;
    let home = TestNamespace::new(&client, "helm-list").await;
    let team = TestNamespace::new(&client, "helm-team").await;
    let outside = TestNamespace::new(&client, "helm-out").await;
    let list = format!("watchNamespaces={{{},{}}}", home.name(), team.name());
    let release = Release::install(home.name(), &[&list]);
    let pods = release.available(&client, 2).await;
    kwok_nodes_of(&pods);
    let objects = every_object_present(&release);
    for ns in [home.name(), team.name()] {
        let role = format!("role.rbac.authorization.k8s.io/{}", release.fullname());
        let in_ns = run(kubectl_on_cluster().args(["get", "roles", "-n", ns, "-o", "name"]));
        assert!(in_ns.lines().any(|l| l == role), "a Role in {ns}: {in_ns}");
    }
    assert!(objects.len() >= 12, "every chart object present: {objects:?}");

    let sa = release.service_account();
    expect_permissions(&sa, true, &namespaced_allowed(home.name()));
    expect_permissions(&sa, true, &namespaced_allowed(team.name()));
    // A namespace list elects on a Lease of its own (sorted list, dot-joined).
    let mut listed = [home.name(), team.name()];
    listed.sort_unstable();
    let lease = format!("leases.coordination.k8s.io/marathon-operator-leader.{}", listed.join("."));
    expect_permissions(&sa, true, &cluster_allowed(home.name(), &lease));
    // Nothing namespaced outside the list, nor cluster-wide.
    let mut denied: Vec<_> = namespaced_allowed(outside.name());
    denied.extend([
        ("list,watch", "marathonapps.marathon-operator.dev", Scope::AllNamespaces),
        ("list,watch", "pods", Scope::AllNamespaces),
        ("list,watch", "persistentvolumeclaims", Scope::AllNamespaces),
        ("list,watch", "deployments.apps", Scope::AllNamespaces),
    ]);
    expect_permissions(&sa, false, &denied);
    expect_permissions(&sa, false, &always_denied(home.name(), outside.name()));

    let watched = [home.name().to_owned(), team.name().to_owned()];
    operator_runs_under(&sa, &client, home.name(), team.name(), &watched).await;
    release.uninstall();
}

#[tokio::test]
async fn upgrades_keep_the_generated_credentials() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "helm-upgrade").await;
    let release = Release::install(ns.name(), &[]);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let secret_name = format!("{}-auth", release.fullname());
    let credentials = |secret: Secret| {
        let data = secret.data.unwrap();
        let text = |key: &str| String::from_utf8(data[key].0.clone()).unwrap();
        (text("username"), text("password"), text("token"))
    };
    let (user, password, token) = credentials(secrets.get(&secret_name).await.unwrap());
    assert_eq!(user, "marathon");
    assert_eq!(password.len(), 32);
    assert_eq!(token.len(), 48);

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let env = |deployment: Deployment, name: &str| {
        env_of(&serde_json::to_value(deployment).unwrap(), name)
    };
    release.upgrade(&["logLevel=debug"]);
    let deployment = deployments.get(&release.fullname()).await.unwrap();
    assert_eq!(env(deployment, "RUST_LOG").as_deref(), Some("debug"), "the upgrade was applied");
    assert_eq!(
        credentials(secrets.get(&secret_name).await.unwrap()),
        (user, password.clone(), token.clone())
    );

    release.upgrade(&["replicaCount=1", "api.auth.username=ops"]);
    let deployment = deployments.get(&release.fullname()).await.unwrap();
    assert_eq!(deployment.spec.replicas, Some(1), "the second upgrade was applied");
    let after = credentials(secrets.get(&secret_name).await.unwrap());
    assert_eq!(after, ("ops".to_owned(), password, token), "password and token kept, user renamed");
    let secret = secrets.get(&secret_name).await.unwrap();
    secret_authenticates_the_marathon_api(&client, &release, &secret).await;
    release.uninstall();
}

/// The printer columns of the marathonapps CRD: on the cluster, or as this build generates them.
fn columns(crd: &CustomResourceDefinition) -> Vec<CustomResourceColumnDefinition> {
    crd.spec.versions[0].additional_printer_columns.clone().unwrap_or_default()
}

#[tokio::test]
async fn a_crd_change_reaches_the_cluster_through_the_operators_self_apply() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "helm-crd").await;
    let release = Release::install(ns.name(), &[]);
    let deployment: Deployment =
        Api::namespaced(client.clone(), ns.name()).get(&release.fullname()).await.unwrap();
    let deployment = serde_json::to_value(deployment).unwrap();
    assert_eq!(
        env_of(&deployment, "INSTALL_CRDS").as_deref(),
        Some("true"),
        "pods self-apply at start"
    );

    let _turn = CRDS.lock().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = "marathonapps.marathon-operator.dev";
    let generated =
        marathon_operator::crd::all().into_iter().find(|c| c.name_any() == name).unwrap();
    // The cluster holds an older CRD, written by Helm: one column fewer, one since dropped.
    let mut stale = crds.get(name).await.unwrap();
    let mut old_columns = columns(&generated);
    old_columns.pop();
    old_columns.push(CustomResourceColumnDefinition {
        name: "Retired".into(),
        type_: "string".into(),
        json_path: ".spec.id".into(),
        ..Default::default()
    });
    stale.spec.versions[0].additional_printer_columns = Some(old_columns.clone());
    let helm_write = PostParams { field_manager: Some("helm".into()), ..Default::default() };
    crds.replace(name, &helm_write, &stale).await.unwrap();
    assert_eq!(columns(&crds.get(name).await.unwrap()), old_columns);

    // `helm upgrade` rolls out new pods but never touches crds/: the CRD is still the old one.
    release.upgrade(&["logLevel=debug"]);
    assert_eq!(columns(&crds.get(name).await.unwrap()), old_columns, "Helm left crds/ alone");

    // What each new operator pod does at start, as the chart's ServiceAccount.
    let operator = support::client_as(&release.service_account()).await;
    marathon_operator::controllers::install_crds(operator)
        .await
        .expect("self-apply under the chart's RBAC");
    assert_eq!(
        columns(&crds.get(name).await.unwrap()),
        columns(&generated),
        "the new schema is on the cluster"
    );
    release.uninstall();
}

#[tokio::test]
async fn uninstall_keeps_the_apps_and_their_data() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "helm-keep").await;
    let release = Release::install(ns.name(), &[]);
    {
        let _turn = CRDS.lock().await;
        support::ensure_crds(&client).await;
    }
    let operator =
        Operator::start(&support::client_as(&release.service_account()).await, ns.name());
    let apply = PatchParams::apply("test-user");
    let volumes: Api<HostVolume> = Api::namespaced(client.clone(), ns.name());
    let volume: HostVolume = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
        "metadata": { "name": "shared" },
        "spec": { "nodeName": "kwok-node-0", "hostPath": format!("/srv/{}/shared", ns.name()), "capacity": "1Gi" }
    }))
    .unwrap();
    volumes.patch("shared", &apply, &Patch::Apply(&volume)).await.unwrap();
    let pv_name = eventually("the HostVolume bound", TIMEOUT, || async {
        let status = volumes.get("shared").await.ok()?.status?;
        (status.phase == Some(HostVolumePhase::Bound)).then_some(status.persistent_volume_name?)
    })
    .await;
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let app: MarathonApp = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
        "metadata": { "name": "db" },
        "spec": { "id": "/db", "instances": 1, "cpus": 0.1, "mem": 64,
            "container": { "type": "DOCKER", "docker": { "image": "postgres:16" },
                "volumes": [
                    { "containerPath": "pgdata", "mode": "RW", "persistent": { "size": 100 } },
                    { "containerPath": "/var/lib/postgresql/data", "hostPath": "pgdata", "mode": "RW" }
                ] },
            "residency": { "taskLostBehavior": "WAIT_FOREVER" },
            "upgradeStrategy": { "minimumHealthCapacity": 0.5, "maximumOverCapacity": 0 } }
    }))
    .unwrap();
    apps.patch("db", &apply, &Patch::Apply(&app)).await.unwrap();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns.name());
    let bound = || async {
        let list = claims.list(&ListParams::default()).await.ok()?;
        let names: BTreeSet<String> = list
            .items
            .iter()
            .filter(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
            .map(|c| c.name_any())
            .collect();
        (names.len() == 2).then_some(names)
    };
    let before = eventually("the app's and the HostVolume's claims bound", TIMEOUT, bound).await;
    operator.stop().await;

    release.uninstall();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    assert!(
        deployments.get_opt(&release.fullname()).await.unwrap().is_none(),
        "the operator is gone"
    );
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ["marathonapps.marathon-operator.dev", "hostvolumes.marathon-operator.dev"] {
        assert!(crds.get_opt(crd).await.unwrap().is_some(), "{crd} kept");
    }
    assert!(apps.get_opt("db").await.unwrap().is_some(), "the MarathonApp kept");
    assert!(volumes.get_opt("shared").await.unwrap().is_some(), "the HostVolume kept");
    // Still there a while later: nothing deletes them in the background.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: BTreeSet<String> = claims
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    assert_eq!(after, before, "the claims (the apps' data) are kept");
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    assert!(
        pvs.get_opt(&pv_name).await.unwrap().is_some(),
        "the HostVolume's PersistentVolume is kept"
    );

    // Clean up by hand what the operator would: its finalizer on the HostVolume (or the
    // namespace never goes), and the PV, cluster-scoped with reclaimPolicy Retain.
    let no_finalizers = json!({ "metadata": { "finalizers": null } });
    volumes.patch("shared", &PatchParams::default(), &Patch::Merge(&no_finalizers)).await.unwrap();
    pvs.delete(&pv_name, &Default::default()).await.unwrap();
}
