//! The MarathonApp controller on the real control plane: apps become running workloads, their
//! Marathon state shows in status, and versions, scaling, drift and deletion behave.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use marathon_operator::controllers::ControllerConfig;
use marathon_operator::crd::MarathonApp;
use serde_json::{Value, json};
use support::eventually;
use support::operator::Operator;

const TIMEOUT: Duration = Duration::from_secs(60);
const USER: &str = "test-user";

fn app(name: &str, spec: Value) -> MarathonApp {
    serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1",
        "kind": "MarathonApp",
        "metadata": { "name": name },
        "spec": spec,
    }))
    .expect("MarathonApp")
}

fn web_spec(image: &str, instances: i32) -> Value {
    json!({
        "id": "/prod/web",
        "instances": instances,
        "cpus": 0.1,
        "mem": 64,
        "container": {
            "type": "DOCKER",
            "docker": { "image": image },
            "portMappings": [
                { "containerPort": 8080, "name": "http" },
                { "containerPort": 9090, "name": "admin" }
            ]
        },
        "networks": [{ "mode": "container/bridge" }],
        "healthChecks": [{ "protocol": "HTTP", "path": "/health", "portIndex": 0 }]
    })
}

async fn put(apps: &Api<MarathonApp>, app: &MarathonApp) {
    apps.patch(&app.name_any(), &PatchParams::apply(USER).force(), &Patch::Apply(app))
        .await
        .unwrap();
}

async fn status_where(
    apps: &Api<MarathonApp>,
    name: &str,
    what: &str,
    check: impl Fn(&MarathonApp) -> bool,
) -> MarathonApp {
    eventually(what, TIMEOUT, || async {
        let app = apps.get(name).await.ok()?;
        check(&app).then_some(app)
    })
    .await
}

fn image_of(deployment: &Deployment) -> String {
    deployment.spec.template.spec.as_ref().unwrap().containers[0].image.clone().unwrap_or_default()
}

#[tokio::test]
async fn an_app_runs_with_marathon_status_versions_and_rollback() {
    let (client, ns, apps) = support::app_namespace("apps").await;
    // Status written on every change (not coalesced per rollout), so a rollout of a few
    // seconds shows in status while it runs.
    let every_change = ControllerConfig { status_interval: Duration::ZERO, ..Default::default() };
    let _operator = Operator::start_with(&client, ns.name(), every_change);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());

    put(&apps, &app("web", web_spec("nginx:1.26", 3))).await;
    let running = status_where(&apps, "web", "3 running, healthy tasks", |a| {
        let s = a.status.clone().unwrap_or_default();
        s.tasks_running == Some(3) && s.tasks_healthy == Some(3) && s.deployment.is_none()
    })
    .await;
    let status = running.status.unwrap();
    let available = status.conditions.iter().flatten().find(|c| c.type_ == "Available").unwrap();
    assert_eq!(available.status, "True");
    assert_eq!(status.observed_generation, running.metadata.generation);
    let first_version = status.version.clone().unwrap();
    let deployment = deployments.get("web").await.unwrap();
    assert_eq!(image_of(&deployment), "nginx:1.26");
    let service = services.get("web").await.unwrap();
    let ports: Vec<_> =
        service.spec.unwrap().ports.unwrap().into_iter().map(|p| p.name.unwrap()).collect();
    assert_eq!(ports.len(), 2, "one named Service port per port mapping: {ports:?}");

    // A new image is a new version; status shows the rollout as a Marathon deployment.
    put(&apps, &app("web", web_spec("nginx:1.27", 3))).await;
    let rolling = status_where(&apps, "web", "a Marathon deployment for the new version", |a| {
        let s = a.status.clone().unwrap_or_default();
        s.version.as_deref() != Some(first_version.as_str()) && s.deployment.is_some()
    })
    .await;
    let second_version = rolling.status.as_ref().unwrap().version.clone().unwrap();
    let deployment_status = rolling.status.unwrap().deployment.unwrap();
    assert_eq!(deployment_status.version.as_deref(), Some(second_version.as_str()));
    assert_eq!(deployment_status.current_actions.unwrap()[0].app, "/prod/web");
    status_where(&apps, "web", "the rollout to finish", |a| {
        let s = a.status.clone().unwrap_or_default();
        s.deployment.is_none()
            && s.tasks_running == Some(3)
            && s.version.as_deref() == Some(second_version.as_str())
    })
    .await;
    assert_eq!(image_of(&deployments.get("web").await.unwrap()), "nginx:1.27");
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), ns.name());
    let recorded = revisions
        .list(&ListParams::default().labels("marathon-operator.dev/app=web"))
        .await
        .unwrap();
    assert_eq!(recorded.items.len(), 2, "one ControllerRevision per version");

    // Rolling back to the first version brings the old image back, as a new version.
    let rollback = json!({ "metadata": { "annotations": { "marathon-operator.dev/rollback-to": first_version } } });
    apps.patch("web", &PatchParams::default(), &Patch::Merge(&rollback)).await.unwrap();
    eventually("the old image to return", TIMEOUT, || async {
        let d = deployments.get("web").await.ok()?;
        (image_of(&d) == "nginx:1.26").then_some(())
    })
    .await;
    let rolled = status_where(&apps, "web", "a third version", |a| {
        let s = a.status.clone().unwrap_or_default();
        s.version.as_deref().is_some_and(|v| v != first_version && v != second_version)
    })
    .await;
    assert!(!rolled.annotations().contains_key("marathon-operator.dev/rollback-to"));
    assert_eq!(rolled.spec.container.unwrap().docker.unwrap().image, "nginx:1.26");
}

#[tokio::test]
async fn scaling_and_autoscaling_never_fight_over_replicas() {
    let (client, ns, apps) = support::app_namespace("scale").await;
    let _operator = Operator::start(&client, ns.name());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns.name());
    let replicas = |n: i32| {
        let deployments = deployments.clone();
        async move {
            eventually(&format!("{n} replicas"), TIMEOUT, || async {
                let d = deployments.get("web").await.ok()?;
                let ready = d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
                (d.spec.replicas == Some(n) && ready == n).then_some(())
            })
            .await
        }
    };
    put(&apps, &app("web", web_spec("nginx:1.27", 2))).await;
    replicas(2).await;

    // `kubectl scale` goes through the scale subresource.
    let scale = json!({ "spec": { "replicas": 5 } });
    apps.patch_scale("web", &PatchParams::default(), &Patch::Merge(&scale)).await.unwrap();
    replicas(5).await;
    put(&apps, &app("web", web_spec("nginx:1.27", 0))).await;
    replicas(0).await;

    let mut autoscaled = web_spec("nginx:1.27", 2);
    autoscaled["kubernetes"] = json!({ "autoscaling": { "minInstances": 2, "maxInstances": 6, "targetCpuUtilizationPercentage": 70 } });
    put(&apps, &app("web", autoscaled)).await;
    let hpa = eventually("an HPA", TIMEOUT, || async { hpas.get("web").await.ok() }).await;
    let target = hpa.spec.scale_target_ref;
    assert_eq!((target.kind.as_str(), target.name.as_str()), ("MarathonApp", "web"));
    assert_eq!(hpa.spec.max_replicas, 6);
    replicas(2).await;
    // The HPA controller reads the app's scale subresource; while it works the replica count
    // must stay put (no tug of war between the HPA and the operator).
    eventually("the HPA to read the app's scale", TIMEOUT, || async {
        let status = hpas.get("web").await.ok()?.status?;
        let conditions = status.conditions?;
        conditions.iter().any(|c| c.type_ == "AbleToScale" && c.status == "True").then_some(())
    })
    .await;
    let generation = deployments.get("web").await.unwrap().metadata.generation;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let later = deployments.get("web").await.unwrap();
    assert_eq!(later.metadata.generation, generation, "no flapping of the Deployment spec");
    assert_eq!(later.spec.replicas, Some(2));

    put(&apps, &app("web", web_spec("nginx:1.27", 2))).await;
    eventually("the HPA to be deleted", TIMEOUT, || async {
        hpas.get_opt("web").await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn drift_is_corrected() {
    let (client, ns, apps) = support::app_namespace("drift").await;
    let _operator = Operator::start(&client, ns.name());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    put(&apps, &app("web", web_spec("nginx:1.27", 2))).await;
    eventually("the Deployment", TIMEOUT, || async { deployments.get("web").await.ok() }).await;

    let hand = PatchParams::apply("kubectl-edit").force();
    let edited = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" }, "spec": { "replicas": 7 } });
    deployments.patch("web", &hand, &Patch::Apply(&edited)).await.unwrap();
    eventually("replicas restored to 2", TIMEOUT, || async {
        let d = deployments.get("web").await.ok()?;
        (d.spec.replicas == Some(2)).then_some(())
    })
    .await;

    let before = services.get("web").await.unwrap().uid();
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("the Service recreated", TIMEOUT, || async {
        let s = services.get("web").await.ok()?;
        (s.uid() != before).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_resident_app_keeps_its_volumes_after_deletion() {
    let (client, ns, apps) = support::app_namespace("resident").await;
    let _operator = Operator::start(&client, ns.name());
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns.name());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns.name());
    let spec = json!({
        "id": "/db/postgres",
        "instances": 2,
        "cpus": 0.5,
        "mem": 256,
        "container": {
            "type": "DOCKER",
            "docker": { "image": "postgres:16" },
            "volumes": [
                { "containerPath": "pgdata", "mode": "RW", "persistent": { "size": 100 } },
                { "containerPath": "/var/lib/postgresql/data", "hostPath": "pgdata", "mode": "RW" }
            ]
        },
        "residency": { "taskLostBehavior": "WAIT_FOREVER" },
        "upgradeStrategy": { "minimumHealthCapacity": 0.5, "maximumOverCapacity": 0 }
    });
    put(&apps, &app("postgres", spec)).await;
    let set =
        eventually("a StatefulSet", TIMEOUT, || async { sets.get("postgres").await.ok() }).await;
    assert!(set.spec.volume_claim_templates.as_ref().is_some_and(|t| !t.is_empty()));
    let names = eventually("a bound claim per instance", TIMEOUT, || async {
        let list = claims.list(&ListParams::default()).await.ok()?;
        let bound: Vec<String> = list
            .items
            .iter()
            .filter(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
            .map(|c| c.name_any())
            .collect();
        (bound.len() == 2).then_some(bound)
    })
    .await;
    status_where(&apps, "postgres", "2 running tasks", |a| {
        a.status.as_ref().and_then(|s| s.tasks_running) == Some(2)
    })
    .await;

    apps.delete("postgres", &DeleteParams::default()).await.unwrap();
    eventually("the app gone", TIMEOUT, || async {
        apps.get_opt("postgres").await.ok()?.is_none().then_some(())
    })
    .await;
    eventually("the StatefulSet collected", TIMEOUT, || async {
        sets.get_opt("postgres").await.ok()?.is_none().then_some(())
    })
    .await;
    let left: Vec<String> = claims
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    for name in &names {
        assert!(left.contains(name), "claim {name} was kept: {left:?}");
    }
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), ns.name());
    eventually("a VolumesKept event", TIMEOUT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.iter().any(|e| e.reason.as_deref() == Some("VolumesKept")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_app_kubernetes_refuses_is_degraded_without_stalling_others() {
    let (client, ns, apps) = support::app_namespace("invalid").await;
    let _operator = Operator::start(&client, ns.name());
    // Valid for the schema, but Kubernetes refuses two container ports on one host port.
    let mut clashing = web_spec("nginx:1.27", 1);
    clashing["container"]["portMappings"] = json!([
        { "containerPort": 8080, "hostPort": 31000, "name": "http" },
        { "containerPort": 9090, "hostPort": 31000, "name": "admin" }
    ]);
    put(&apps, &app("clash", clashing)).await;
    put(&apps, &app("web", web_spec("nginx:1.27", 1))).await;
    let degraded = status_where(&apps, "clash", "a Degraded condition", |a| {
        a.status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| c.type_ == "Degraded" && c.status == "True")
    })
    .await;
    let condition = degraded
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(condition.reason, "ApplyFailed");
    assert!(condition.message.contains("hostPort"), "{}", condition.message);
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), ns.name());
    eventually("an ApplyFailed Warning event", TIMEOUT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some("ApplyFailed")
            })
            .then_some(())
    })
    .await;
    // A permanent error waits for a change of the app: no retry loop rewrites it meanwhile.
    let settled = apps.get("clash").await.unwrap().metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(apps.get("clash").await.unwrap().metadata.resource_version, settled);
    status_where(&apps, "web", "the other app running", |a| {
        a.status.as_ref().and_then(|s| s.tasks_running) == Some(1)
    })
    .await;
}

#[tokio::test]
async fn approximations_become_a_condition_and_warning_events() {
    let (client, ns, apps) = support::app_namespace("warnings").await;
    let _operator = Operator::start(&client, ns.name());
    let mut spec = web_spec("nginx:1.27", 1);
    // Marathon orders deployments by dependencies; Kubernetes has no such thing.
    spec["dependencies"] = json!(["/prod/db"]);
    spec["someFutureField"] = json!({ "kept": true });
    put(&apps, &app("web", spec)).await;
    let warned = status_where(&apps, "web", "a TranslationWarnings condition", |a| {
        a.status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| c.type_ == "TranslationWarnings" && c.status == "True")
    })
    .await;
    let status = warned.status.unwrap();
    let warnings = status.warnings.unwrap_or_default();
    assert!(warnings.iter().any(|w| w.starts_with("dependencies")), "{warnings:?}");
    assert_eq!(status.untranslated, Some(vec!["someFutureField".to_owned()]));
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), ns.name());
    eventually("a TranslationWarning event", TIMEOUT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("TranslationWarning")
                    && e.note.as_deref().is_some_and(|n| n.starts_with("dependencies"))
            })
            .then_some(())
    })
    .await;
}
