//! The CRDs against the real API server (the local testbed or KUBECONFIG's cluster): they
//! install, `kubectl explain` reads Marathon-style descriptions, every shared example app is
//! accepted (or rejected as listed in `support::corpus::INVALID`), at least 20 invalid resources
//! are rejected naming the field, unknown fields survive a round trip, and `kubectl scale`'s
//! subresource drives `spec.instances`.

mod support;

use support::corpus as examples;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, Resource};
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use serde_json::{Value, json};
use support::TestNamespace;

fn dynamic_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &ApiResource::erase::<MarathonApp>(&()))
}

/// Creates (as a server-side dry run) a MarathonApp whose spec is `spec` verbatim, bypassing the
/// Rust types so that invalid input reaches the API server. Returns the server's error message.
async fn dry_run_create(api: &Api<DynamicObject>, name: &str, spec: &Value) -> Result<(), String> {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": MarathonApp::api_version(&()),
        "kind": MarathonApp::kind(&()),
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("object");
    let params = PostParams { dry_run: true, ..PostParams::default() };
    match api.create(&params, &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => Err(status.message.clone()),
        Err(other) => panic!("{name}: unexpected error {other}"),
    }
}

#[tokio::test]
async fn crds_install_and_explain_reads_like_marathon_docs() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let stored = crds.get("marathonapps.marathon-operator.dev").await.expect("CRD installed");
    let schema = serde_json::to_value(&stored.spec.versions[0].schema).expect("schema");
    let health = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["healthChecks"];
    let text = health.to_string();
    assert!(text.contains("Health checks of each task"), "{text}");
    assert!(text.contains("Consecutive failures after which the task is killed"), "{text}");
    // `kubectl explain` itself, when a kubectl is at hand.
    if let Some(kubectl) = kubectl() {
        let out = std::process::Command::new(kubectl)
            .args(["explain", "marathonapp.spec.healthChecks"])
            .env("KUBECONFIG", support::kubeconfig_path())
            .output()
            .expect("run kubectl explain");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("gracePeriodSeconds"), "{stdout}");
        assert!(stdout.contains("Failures are ignored for this many seconds"), "{stdout}");
    }
}

fn kubectl() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let cache = std::path::Path::new(&home).join(".cache/marathon-operator");
    std::fs::read_dir(&cache)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin/kubectl"))
        .find(|p| p.is_file())
}

#[tokio::test]
async fn every_example_app_is_accepted_or_rejected_as_listed() {
    let Some(apps) = examples::load() else { return };
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-examples").await;
    let api = dynamic_api(&client, ns.name());
    let mut failures = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let result = dry_run_create(&api, &format!("app-{i}"), &app.json).await;
        match (examples::invalid(&app.name), result) {
            (None, Ok(())) => {}
            (None, Err(message)) => failures.push(format!("{} rejected: {message}", app.name)),
            (Some((_, why)), Ok(())) => failures.push(format!("{} accepted, but {why}", app.name)),
            (Some((field, _)), Err(message)) if message.contains(field) => {}
            (Some((field, _)), Err(message)) => {
                failures.push(format!("{} rejected without naming {field}: {message}", app.name))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `(what, spec, field named in the message, words of the message)`.
fn invalid_table() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        ("missing id", json!({"cmd": "x"}), "spec.id", "Required"),
        ("upper case id", json!({"id": "/Bad_Id", "cmd": "x"}), "spec.id", "should match"),
        ("reserved id", json!({"id": "/a/restart", "cmd": "x"}), "spec.id", "reserved"),
        (
            "negative instances",
            json!({"id": "/a", "cmd": "x", "instances": -1}),
            "spec.instances",
            "greater than or equal to 0",
        ),
        (
            "negative cpus",
            json!({"id": "/a", "cmd": "x", "cpus": -0.5}),
            "spec.cpus",
            "greater than or equal to 0",
        ),
        (
            "negative mem",
            json!({"id": "/a", "cmd": "x", "mem": -1}),
            "spec.mem",
            "greater than or equal to 0",
        ),
        (
            "negative gpus",
            json!({"id": "/a", "cmd": "x", "gpus": -1}),
            "spec.gpus",
            "greater than or equal to 0",
        ),
        (
            "unknown health check protocol",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "UDP"}]}),
            "spec.healthChecks[0].protocol",
            "Unsupported value",
        ),
        (
            "COMMAND check without command",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}),
            "spec.healthChecks[0].command",
            "COMMAND",
        ),
        (
            "path on a TCP check",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "TCP", "path": "/h"}]}),
            "spec.healthChecks[0].path",
            "only allowed",
        ),
        (
            "port and portIndex",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"port": 80, "portIndex": 0}]}),
            "spec.healthChecks[0].portIndex",
            "not both",
        ),
        (
            "IPv6 on a Marathon HTTP check",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "ipProtocol": "IPv6"}]}),
            "spec.healthChecks[0].ipProtocol",
            "IPv6",
        ),
        (
            "two Mesos health checks",
            json!({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "MESOS_TCP"}, {"protocol": "MESOS_HTTP"}]}),
            "spec.healthChecks",
            "at most one Mesos health check",
        ),
        (
            "port out of range",
            json!({"id": "/a", "cmd": "x", "portDefinitions": [{"port": 70000}]}),
            "spec.portDefinitions[0].port",
            "less than or equal to 65535",
        ),
        (
            "negative container port",
            json!({"id": "/a", "container": {"docker": {"image": "i"}, "portMappings": [{"containerPort": -1}]}, "networks": [{"mode": "container/bridge"}]}),
            "spec.container.portMappings[0].containerPort",
            "greater than or equal to 0",
        ),
        (
            "cmd and args",
            json!({"id": "/a", "cmd": "x", "args": ["y"]}),
            "spec.args",
            "mutually exclusive",
        ),
        (
            "portDefinitions and portMappings",
            json!({"id": "/a", "container": {"docker": {"image": "i"}, "portMappings": [{"containerPort": 80}]}, "portDefinitions": [{"port": 0}]}),
            "spec.portDefinitions",
            "mutually exclusive",
        ),
        (
            "host mixed with container networks",
            json!({"id": "/a", "cmd": "x", "networks": [{"mode": "host"}, {"mode": "container"}]}),
            "spec.networks",
            "cannot be mixed",
        ),
        (
            "docker.network and networks",
            json!({"id": "/a", "container": {"docker": {"image": "i", "network": "BRIDGE"}}, "networks": [{"mode": "container/bridge"}]}),
            "spec.networks",
            "container.docker.network and networks",
        ),
        (
            "duplicate port names",
            json!({"id": "/a", "cmd": "x", "portDefinitions": [{"name": "http"}, {"name": "http"}]}),
            "spec.portDefinitions",
            "Port names must be unique",
        ),
        (
            "unknown killSelection",
            json!({"id": "/a", "cmd": "x", "killSelection": "RANDOM"}),
            "spec.killSelection",
            "Unsupported value",
        ),
        (
            "unknown container type",
            json!({"id": "/a", "container": {"type": "RKT"}}),
            "spec.container.type",
            "Unsupported value",
        ),
        (
            "volume mode",
            json!({"id": "/a", "container": {"type": "MESOS", "volumes": [{"containerPath": "/d", "hostPath": "/d", "mode": "RX"}]}}),
            "spec.container.volumes[0].mode",
            "Unsupported value",
        ),
        (
            "empty persistent volume",
            json!({"id": "/a", "container": {"type": "MESOS", "volumes": [{"containerPath": "d", "mode": "RW", "persistent": {"size": 0}}]}}),
            "spec.container.volumes[0].persistent.size",
            "greater than or equal to 1",
        ),
        (
            "maxSize on a root volume",
            json!({"id": "/a", "container": {"type": "MESOS", "volumes": [{"containerPath": "d", "mode": "RW", "persistent": {"size": 1, "maxSize": 2}}]}}),
            "spec.container.volumes[0].persistent.maxSize",
            "Only mount volumes",
        ),
        (
            "secret volume without secret",
            json!({"id": "/a", "container": {"type": "MESOS", "volumes": [{"containerPath": "/s", "secret": "nope"}]}}),
            "spec.container.volumes",
            "existing secret",
        ),
        (
            "upgrade capacity above 1",
            json!({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}}),
            "spec.upgradeStrategy.minimumHealthCapacity",
            "less than or equal to 1",
        ),
        (
            "unknown constraint operator",
            json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "SOMETIMES"]]}),
            "spec.constraints[0]",
            "operator must be one of",
        ),
        (
            "MAX_PER without a number",
            json!({"id": "/a", "cmd": "x", "constraints": [["hostname", "MAX_PER", "two"]]}),
            "spec.constraints[0]",
            "MAX_PER requires an integer value",
        ),
        (
            "two readiness checks",
            json!({"id": "/a", "cmd": "x", "readinessChecks": [{}, {}]}),
            "spec.readinessChecks",
            "at most 1",
        ),
        (
            "readiness timeout not below interval",
            json!({"id": "/a", "cmd": "x", "readinessChecks": [{"timeoutSeconds": 30}]}),
            "spec.readinessChecks[0].timeoutSeconds",
            "smaller than intervalSeconds",
        ),
        (
            "backoffFactor below 1",
            json!({"id": "/a", "cmd": "x", "backoffFactor": 0.5}),
            "spec.backoffFactor",
            "greater than or equal to 1",
        ),
        (
            "autoscaling min above max",
            json!({"id": "/a", "cmd": "x", "kubernetes": {"autoscaling": {"minInstances": 5, "maxInstances": 2}}}),
            "spec.kubernetes.autoscaling.minInstances",
            "must not exceed",
        ),
    ]
}

#[tokio::test]
async fn invalid_resources_are_rejected_naming_the_field() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-invalid").await;
    let api = dynamic_api(&client, ns.name());
    let table = invalid_table();
    assert!(table.len() >= 20);
    let mut failures = Vec::new();
    for (i, (what, spec, field, words)) in table.into_iter().enumerate() {
        match dry_run_create(&api, &format!("bad-{i}"), &spec).await {
            Ok(()) => failures.push(format!("{what}: accepted")),
            Err(m) if m.contains(field) && m.contains(words) => {}
            Err(m) => failures.push(format!("{what}: expected {field} / {words:?} in: {m}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn round_trip_through_the_api_server_keeps_unknown_fields_and_scales() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-roundtrip").await;
    let marathon = json!({
        "id": "/prod/web",
        "instances": 2,
        "cpus": 0.5,
        "mem": 64,
        "futureTopLevel": {"deep": [1, {"x": "y"}]},
        "env": {"A": "1", "B": {"secret": "s"}},
        "secrets": {"s": {"source": "/db/pw", "vault": "kv"}},
        "container": {
            "type": "DOCKER",
            "docker": {"image": "nginx", "forcePull": true},
            "portMappings": [{"containerPort": 80, "name": "http", "future": 1}],
            "volumes": [{"containerPath": "/d", "hostPath": "/d", "mode": "RO", "propagation": "rslave"}]
        },
        "networks": [{"mode": "container/bridge"}],
        "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/h", "portIndex": 0, "extra": true}],
        "unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 20, "newKey": 1},
        "resourceLimits": {"cpus": "unlimited", "mem": 128},
        "constraints": [["hostname", "UNIQUE"]],
        "labels": {"HAPROXY_GROUP": "external"}
    });
    let spec: MarathonAppSpec = serde_json::from_value(marathon.clone()).expect("spec");
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let params = PatchParams::apply("crd-cluster-test").force();
    api.patch("web", &params, &Patch::Apply(MarathonApp::new("web", spec))).await.expect("apply");
    let stored = api.get("web").await.expect("get");
    assert_eq!(stored.spec.to_marathon_json().expect("json"), marathon);
    assert!(stored.spec.unknown_fields().contains(&"futureTopLevel".to_string()));

    // The scale subresource (what `kubectl scale` and an HPA use) drives spec.instances.
    let scale = json!({"spec": {"replicas": 5}});
    api.patch_scale("web", &PatchParams::default(), &Patch::Merge(&scale)).await.expect("scale");
    assert_eq!(api.get("web").await.expect("get").spec.instances, Some(5));

    // An app without instances gets Marathon's default of 1 from the schema.
    let minimal: MarathonAppSpec =
        serde_json::from_value(json!({"id": "/min", "cmd": "sleep 1"})).expect("spec");
    api.create(&PostParams::default(), &MarathonApp::new("min", minimal)).await.expect("create");
    assert_eq!(api.get("min").await.expect("get").spec.instances, Some(1));
}

#[tokio::test]
async fn host_volumes_validate_and_keep_their_path() {
    use marathon_operator::crd::{HostVolume, ReclaimPolicy};
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-hostvol").await;
    let api: Api<HostVolume> = Api::namespaced(client.clone(), ns.name());
    let volume: HostVolume = serde_json::from_value(json!({
        "apiVersion": HostVolume::api_version(&()),
        "kind": HostVolume::kind(&()),
        "metadata": {"name": "db"},
        "spec": {"nodeName": "node-1", "hostPath": "/var/lib/db", "capacity": "10Gi"}
    }))
    .expect("host volume");
    let created = api.create(&PostParams::default(), &volume).await.expect("create");
    assert_eq!(created.spec.effective_reclaim_policy(), ReclaimPolicy::Retain);

    let moved = json!({"spec": {"hostPath": "/elsewhere"}});
    let err = api.patch("db", &PatchParams::default(), &Patch::Merge(&moved)).await;
    assert!(matches!(err, Err(kube::Error::Api(s)) if s.message.contains("hostPath is immutable")));

    let raw: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns.name(), &ApiResource::erase::<HostVolume>(&()));
    for (spec, words) in [
        (json!({"hostPath": "/d", "capacity": "1Gi"}), "exactly one of nodeName and nodeSelector"),
        (json!({"nodeName": "n", "hostPath": "relative", "capacity": "1Gi"}), "spec.hostPath"),
        (
            json!({"nodeName": "n", "hostPath": "/d", "capacity": "1Gi", "reclaimPolicy": "Recycle"}),
            "spec.reclaimPolicy",
        ),
    ] {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": HostVolume::api_version(&()),
            "kind": HostVolume::kind(&()),
            "metadata": {"name": "bad"},
            "spec": spec,
        }))
        .expect("object");
        let params = PostParams { dry_run: true, ..PostParams::default() };
        match raw.create(&params, &object).await {
            Err(kube::Error::Api(s)) => assert!(s.message.contains(words), "{}", s.message),
            other => panic!("{spec} not rejected: {other:?}"),
        }
    }
}

#[tokio::test]
async fn resource_names_must_be_dns_labels() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-names").await;
    let api = dynamic_api(&client, ns.name());
    let spec = json!({"id": "/a", "cmd": "x"});
    let too_long = "a".repeat(64);
    for name in [too_long.as_str(), "web.prod"] {
        let message = dry_run_create(&api, name, &spec).await.expect_err("rejected");
        assert!(message.contains("metadata.name must be a DNS-1123 label"), "{name}: {message}");
    }
    dry_run_create(&api, &"a".repeat(63), &spec).await.expect("63 characters are fine");
}
