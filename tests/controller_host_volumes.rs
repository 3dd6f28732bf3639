//! The HostVolume controller on the real control plane: a node-pinned PersistentVolume and its
//! claim, apps that mount it scheduled on that node, and deletion that never loses data.

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use marathon_operator::crd::{HostVolume, HostVolumePhase, MarathonApp};
use serde_json::json;
use support::operator::Operator;
use support::{TestNamespace, eventually};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_host_volume_binds_pins_its_apps_and_keeps_its_data() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = TestNamespace::new(&client, "hostvol").await;
    let _operator = Operator::start(&client, ns.name());
    let volumes: Api<HostVolume> = Api::namespaced(client.clone(), ns.name());
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns.name());
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns.name());
    let apply = PatchParams::apply("test-user");
    let host_path = format!("/srv/{}/data", ns.name());

    // The second fake node, so landing there is the volume's doing and not chance.
    let volume: HostVolume = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
        "metadata": { "name": "data" },
        "spec": { "nodeName": "kwok-node-1", "hostPath": host_path, "capacity": "2Gi" }
    }))
    .unwrap();
    volumes.patch("data", &apply, &Patch::Apply(&volume)).await.unwrap();
    let bound = eventually("the HostVolume Bound", TIMEOUT, || async {
        let v = volumes.get("data").await.ok()?;
        (v.status.as_ref()?.phase == Some(HostVolumePhase::Bound)).then_some(v)
    })
    .await;
    let status = bound.status.unwrap();
    let pv_name = status.persistent_volume_name.unwrap();
    let pv = pvs.get(&pv_name).await.unwrap();
    let pv_spec = pv.spec.unwrap();
    assert_eq!(pv_spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(pv_spec.local.unwrap().path, host_path);
    assert_eq!(status.persistent_volume_claim_name.as_deref(), Some("data"));

    let app: MarathonApp = serde_json::from_value(json!({
        "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
        "metadata": { "name": "store" },
        "spec": {
            "id": "/store", "instances": 2, "cpus": 0.1, "mem": 32,
            "container": { "type": "DOCKER", "docker": { "image": "redis:7" },
                "volumes": [{ "containerPath": "/data", "hostPath": host_path, "mode": "RW" }] }
        }
    }))
    .unwrap();
    apps.patch("store", &apply, &Patch::Apply(&app)).await.unwrap();
    let placed = eventually("2 running pods", TIMEOUT, || async {
        let list = pods
            .list(&ListParams::default().labels("marathon-operator.dev/app=store"))
            .await
            .ok()?;
        let running: Vec<Pod> = list
            .items
            .into_iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .collect();
        (running.len() == 2).then_some(running)
    })
    .await;
    for pod in &placed {
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(
            spec.node_name.as_deref(),
            Some("kwok-node-1"),
            "scheduled on the volume's node"
        );
        let uses_claim =
            spec.volumes.iter().flatten().any(|v| {
                v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == "data")
            });
        assert!(uses_claim, "the pod mounts the HostVolume's claim");
    }

    // While pods use it the HostVolume stays (finalizer), with its claim.
    volumes.delete("data", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = volumes.get("data").await.expect("HostVolume kept while in use");
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(claims.get("data").await.is_ok());

    // Once the app is gone the HostVolume goes, and the PV with the data stays.
    apps.delete("store", &DeleteParams::default()).await.unwrap();
    eventually("the HostVolume deleted", TIMEOUT, || async {
        volumes.get_opt("data").await.ok()?.is_none().then_some(())
    })
    .await;
    let kept = pvs.get(&pv_name).await.expect("PersistentVolume kept");
    assert_eq!(kept.spec.unwrap().local.unwrap().path, host_path);

    // Created again, the HostVolume reattaches to the same PV and data.
    volumes.patch("data", &apply, &Patch::Apply(&volume)).await.unwrap();
    eventually("the HostVolume Bound again", TIMEOUT, || async {
        let v = volumes.get("data").await.ok()?;
        (v.status.as_ref()?.phase == Some(HostVolumePhase::Bound)).then_some(())
    })
    .await;
    // Unused now, it is deleted at once (the operator still runs to release its finalizer);
    // the PV is cluster-scoped, so remove it too rather than outlive the test namespace.
    volumes.delete("data", &DeleteParams::default()).await.unwrap();
    eventually("the unused HostVolume deleted", TIMEOUT, || async {
        volumes.get_opt("data").await.ok()?.is_none().then_some(())
    })
    .await;
    let _ = pvs.delete(&pv_name, &DeleteParams::default()).await;
}
