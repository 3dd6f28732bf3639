//! Proof that the testbed is a real control plane: Deployments roll out to Running, Ready pods
//! (kube-controller-manager, kube-scheduler, kwok), Services get EndpointSlices, garbage
//! collection works, and PVCs and HPAs are accepted.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;
use support::{TestNamespace, eventually};

const MANAGER: &str = "testbed-proof";
const TIMEOUT: Duration = Duration::from_secs(60);

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{ "name": "http", "containerPort": 80 }],
                    "resources": { "requests": { "cpu": "100m", "memory": "64Mi" } }
                }] }
            }
        }
    }))
    .expect("deployment")
}

fn is_running_and_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    let ready =
        status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
    status.phase.as_deref() == Some("Running") && ready
}

#[tokio::test]
async fn deployment_rolls_out_gets_endpoints_and_is_garbage_collected() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "testbed").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns.name());
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let services: Api<Service> = Api::namespaced(client.clone(), ns.name());
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns.name());
    let apply = PatchParams::apply(MANAGER);

    deployments.patch("web", &apply, &Patch::Apply(deployment("web", 3))).await.unwrap();

    // kube-controller-manager creates a ReplicaSet owned by the Deployment...
    let app = ListParams::default().labels("app=web");
    eventually("a ReplicaSet owned by the Deployment", TIMEOUT, || async {
        let list = replica_sets.list(&app).await.ok()?;
        list.items.into_iter().find(|rs| {
            rs.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment")
        })
    })
    .await;
    // ...the scheduler binds its pods to the fake node and kwok makes them Running and Ready.
    let running = eventually("3 Running, Ready pods", TIMEOUT, || async {
        let list = pods.list(&app).await.ok()?;
        let ready: Vec<Pod> = list.items.into_iter().filter(is_running_and_ready).collect();
        (ready.len() == 3).then_some(ready)
    })
    .await;
    for pod in &running {
        let spec = pod.spec.as_ref().unwrap();
        assert!(
            spec.node_name.as_deref().is_some_and(|n| n.starts_with("kwok-node-")),
            "bound to a fake node"
        );
        assert!(pod.status.as_ref().unwrap().pod_ip.is_some(), "kwok assigns pod IPs");
    }
    eventually("Deployment Available with 3 ready replicas", TIMEOUT, || async {
        let d = deployments.get("web").await.ok()?;
        let status = d.status?;
        (status.ready_replicas == Some(3) && status.available_replicas == Some(3)).then_some(())
    })
    .await;

    // The EndpointSlice controller fills a slice with the three pod addresses.
    let service: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web" },
        "spec": { "selector": { "app": "web" },
                  "ports": [{ "name": "http", "port": 80, "targetPort": "http" }] }
    }))
    .unwrap();
    services.patch("web", &apply, &Patch::Apply(service)).await.unwrap();
    let by_service = ListParams::default().labels("kubernetes.io/service-name=web");
    eventually("an EndpointSlice with 3 ready endpoints", TIMEOUT, || async {
        let list = slices.list(&by_service).await.ok()?;
        let ready = list
            .items
            .iter()
            .flat_map(|s| s.endpoints.iter().flatten())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            .count();
        (ready == 3).then_some(())
    })
    .await;

    // Deleting the Deployment lets the garbage collector remove its ReplicaSet and pods.
    deployments.delete("web", &DeleteParams::background()).await.unwrap();
    eventually("ReplicaSets and pods garbage-collected", TIMEOUT, || async {
        let sets = replica_sets.list(&app).await.ok()?;
        let left = pods.list(&app).await.ok()?;
        (sets.items.is_empty() && left.items.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn persistent_volume_claims_bind_and_hpas_are_accepted() {
    let client = support::client().await;
    let ns = TestNamespace::new(&client, "testbed").await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns.name());
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns.name());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    let apply = PatchParams::apply(MANAGER);

    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": { "name": "data" },
        "spec": { "accessModes": ["ReadWriteOnce"],
                  "resources": { "requests": { "storage": "1Gi" } } }
    }))
    .unwrap();
    claims.patch("data", &apply, &Patch::Apply(claim)).await.unwrap();
    // The default StorageClass is served by the controller-manager's host-path provisioner.
    eventually("the claim to be Bound", TIMEOUT, || async {
        let claim = claims.get("data").await.ok()?;
        (claim.status?.phase.as_deref() == Some("Bound")).then_some(())
    })
    .await;

    deployments.patch("web", &apply, &Patch::Apply(deployment("web", 1))).await.unwrap();
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": { "name": "web" },
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "web" },
            "minReplicas": 1, "maxReplicas": 4,
            "metrics": [{ "type": "Resource", "resource": { "name": "cpu",
                "target": { "type": "Utilization", "averageUtilization": 80 } } }]
        }
    }))
    .unwrap();
    let stored = hpas.patch("web", &apply, &Patch::Apply(hpa)).await.unwrap();
    assert_eq!(stored.spec.max_replicas, 4);
    // The HPA controller in kube-controller-manager picks it up and reports conditions.
    eventually("the HPA controller to report on the HPA", TIMEOUT, || async {
        let hpa = hpas.get("web").await.ok()?;
        let conditions = hpa.status?.conditions?;
        conditions.iter().any(|c| c.type_ == "AbleToScale").then_some(())
    })
    .await;
}
