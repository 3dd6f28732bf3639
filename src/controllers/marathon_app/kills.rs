//! Kills the tasks the Marathon API asked to kill (annotation `kill-tasks` on the app): the
//! controller is the only writer of pods. A task killed with `scale` gets the lowest
//! pod-deletion-cost before the workload is scaled down in the same reconcile, so the
//! ReplicaSet removes exactly that pod; one killed without `scale` is deleted and replaced;
//! `wipe` also deletes a resident task's claims, and only then.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::{Client, ResourceExt};
use serde_json::json;
use tracing::info;

use crate::controllers::error::Error;
use crate::crd::MarathonApp;
use crate::marathon::tasks::{ANNOTATION_KILL_TASKS, KillRequest, kill_requests};
use crate::translate::names::LABEL_APP;

/// Kubernetes' annotation: pods with a lower cost are removed first when a ReplicaSet shrinks.
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Carries out the app's kill requests, then drops them from the app.
pub async fn kill_requested(client: &Client, app: &MarathonApp) -> Result<(), Error> {
    let Some(value) = app.annotations().get(ANNOTATION_KILL_TASKS) else { return Ok(()) };
    let namespace = app.namespace().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    for request in kill_requests(Some(value)) {
        kill(client, &pods, &namespace, &app.name_any(), &request).await?;
    }
    // Only the list that was carried out is removed; a newer one stays for the next round.
    let apps: Api<MarathonApp> = Api::namespaced(client.clone(), &namespace);
    let patch = crate::controllers::apply::remove_annotation(ANNOTATION_KILL_TASKS, Some(value));
    match apps.patch(&app.name_any(), &PatchParams::default(), &Patch::<()>::Json(patch)).await {
        Ok(_) => Ok(()),
        // The list changed meanwhile (422 from the failed test): the next reconcile sees it.
        Err(kube::Error::Api(status)) if status.code == 422 || status.code == 404 => Ok(()),
        Err(source) => {
            Err(Error::Apply { kind: "MarathonApp".into(), name: app.name_any(), source })
        }
    }
}

async fn kill(
    client: &Client,
    pods: &Api<Pod>,
    namespace: &str,
    app_name: &str,
    request: &KillRequest,
) -> Result<(), Error> {
    let gone = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404 || s.code == 409);
    if request.scale {
        let patch = json!({"metadata": {"annotations": {DELETION_COST: i32::MIN.to_string()}}});
        return match pods.patch(&request.pod, &PatchParams::default(), &Patch::Merge(&patch)).await
        {
            Ok(_) => Ok(()),
            Err(e) if gone(&e) => Ok(()),
            Err(source) => {
                Err(Error::Apply { kind: "Pod".into(), name: request.pod.clone(), source })
            }
        };
    }
    if request.wipe {
        wipe_claims(client, namespace, app_name, &request.pod).await?;
    }
    let params = DeleteParams {
        preconditions: request
            .uid
            .clone()
            .map(|uid| Preconditions { uid: Some(uid), resource_version: None }),
        ..DeleteParams::default()
    };
    info!(pod = %request.pod, wipe = request.wipe, "killing a task as asked through the Marathon API");
    match pods.delete(&request.pod, &params).await {
        Ok(_) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(source) => Err(Error::Delete { kind: "Pod".into(), name: request.pod.clone(), source }),
    }
}

/// Deletes the claims of one StatefulSet pod (`<template>-<pod>`), so its replacement starts
/// with empty volumes: Marathon's `wipe=true`.
async fn wipe_claims(
    client: &Client,
    namespace: &str,
    app_name: &str,
    pod: &str,
) -> Result<(), Error> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{LABEL_APP}={app_name}");
    let found = claims
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::List { kind: "PersistentVolumeClaim".into(), source })?;
    let suffix = format!("-{pod}");
    for claim in found.items.iter().filter(|c| c.name_any().ends_with(&suffix)) {
        info!(claim = %claim.name_any(), "wiping a resident task's claim as asked (wipe=true)");
        crate::controllers::delete_ignoring_missing(
            &claims,
            &claim.name_any(),
            "PersistentVolumeClaim",
        )
        .await?;
    }
    Ok(())
}
