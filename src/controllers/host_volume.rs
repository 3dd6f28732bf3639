//! The HostVolume controller: a local PersistentVolume pinned to the volume's node, and the
//! claim apps mount (built in `crate::translate::host_volume`). Data is never wiped by the
//! operator: the PV keeps `Retain` unless the HostVolume asks for `Delete`, and a finalizer
//! keeps the HostVolume while pods use its claim.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::instrument;

use super::error::Error;
use super::{Context, FIELD_MANAGER, delete_ignoring_missing};
use crate::crd::condition::{BOUND, FALSE, TRUE};
use crate::crd::{HostVolume, HostVolumePhase, HostVolumeStatus, ReclaimPolicy};
pub use crate::translate::host_volume::{
    ANNOTATION_NAME, ANNOTATION_NAMESPACE, LABEL_HOST_VOLUME, build_pv, build_pvc, pv_name,
};

pub const CONTROLLER: &str = "hostvolume";
pub const FINALIZER: &str = "hostvolumes.marathon-operator.dev/in-use-protection";

#[instrument(skip_all, fields(namespace = guard.namespace().unwrap_or_default(), name = guard.name_any()))]
pub async fn reconcile(
    guard: Arc<DeserializeGuard<HostVolume>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile.start(CONTROLLER);
    let volume = match &guard.0 {
        Ok(volume) => Arc::new(volume.clone()),
        Err(invalid) => return super::report_unreadable(&guard, &invalid.error, &ctx).await,
    };
    let namespace = volume.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<HostVolume> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer::finalizer(&api, FINALIZER, volume.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(volume) => apply(&volume, &ctx).await,
            FinalizerEvent::Cleanup(volume) => cleanup(&volume, &ctx).await,
        }
    })
    .await
    .map_err(own_error);
    match &result {
        Ok(_) => ctx.volume_backoff.reset(&key(&guard)),
        // Blocked deletions have their own Event (InUse).
        Err(Error::Blocked(_)) => {}
        Err(error) => {
            ctx.events
                .publish(volume.as_ref(), EventType::Warning, error.reason(), &error.chain())
                .await
        }
    }
    result
}

/// The failure itself rather than the finalizer's wrapper, so it keeps its own reason.
fn own_error(error: finalizer::Error<Error>) -> Error {
    match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(source) | finalizer::Error::RemoveFinalizer(source) => {
            Error::Finalizer(source)
        }
        finalizer::Error::UnnamedObject => Error::MissingField("metadata.name"),
        finalizer::Error::InvalidFinalizer => Error::MissingField("a valid finalizer name"),
    }
}

fn key(guard: &DeserializeGuard<HostVolume>) -> String {
    super::memory::app_key(&guard.namespace().unwrap_or_default(), &guard.name_any())
}

pub fn error_policy(
    guard: Arc<DeserializeGuard<HostVolume>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    super::retry_policy(CONTROLLER, &ctx.volume_backoff, &key(&guard), error, &ctx.metrics)
}

/// The HostVolume a PV or claim was made for.
pub fn owner_of<K: Resource>(object: &K) -> Option<ObjectRef<DeserializeGuard<HostVolume>>> {
    let annotations = object.meta().annotations.as_ref()?;
    let name = annotations.get(ANNOTATION_NAME)?;
    let namespace = annotations.get(ANNOTATION_NAMESPACE)?;
    Some(ObjectRef::new(name).within(namespace))
}

fn apply_failed(kind: &str, name: &str) -> impl FnOnce(kube::Error) -> Error {
    let (kind, name) = (kind.to_owned(), name.to_owned());
    move |source| Error::Apply { kind, name, source }
}

async fn apply(volume: &HostVolume, ctx: &Context) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let pv_name = pv_name(volume);
    let mut pv = pvs
        .patch(&pv_name, &params, &Patch::Apply(build_pv(volume)))
        .await
        .map_err(apply_failed("PersistentVolume", &pv_name))?;
    if phase_of_pv(&pv) == Some("Released") {
        // The claim was deleted earlier (HostVolume removed and created again): the data is
        // still there, so free the PV for the new claim instead of leaving it stranded.
        let unbind = json!({ "spec": { "claimRef": { "uid": null, "resourceVersion": null } } });
        pv = pvs
            .patch(&pv_name, &PatchParams::default(), &Patch::Merge(&unbind))
            .await
            .map_err(apply_failed("PersistentVolume", &pv_name))?;
        let note = "released volume reattached to a new claim";
        ctx.events.publish(volume, EventType::Normal, "Reattached", note).await;
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let claim_name = volume.claim_name();
    let claim = claims
        .patch(&claim_name, &params, &Patch::Apply(build_pvc(volume)))
        .await
        .map_err(apply_failed("PersistentVolumeClaim", &claim_name))?;
    let claim_phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
    let status = status_of(volume, claim_phase, phase_of_pv(&pv), Timestamp::now());
    if volume.status.as_ref() != Some(&status) {
        super::apply::apply_status(&ctx.client, volume, &status).await?;
    }
    // Binding happens in the controller-manager; look again soon until it has.
    Ok(if status.phase == Some(HostVolumePhase::Bound) {
        Action::requeue(Duration::from_secs(300))
    } else {
        Action::requeue(Duration::from_secs(2))
    })
}

/// The volume's status from the phases of its claim and PV.
fn status_of(
    volume: &HostVolume,
    claim_phase: Option<&str>,
    pv_phase: Option<&str>,
    now: Timestamp,
) -> HostVolumeStatus {
    let phase = match claim_phase {
        Some("Bound") => HostVolumePhase::Bound,
        Some("Lost") => HostVolumePhase::Failed,
        _ if pv_phase == Some("Failed") => HostVolumePhase::Failed,
        _ => HostVolumePhase::Pending,
    };
    let bound = phase == HostVolumePhase::Bound;
    let mut status = volume.status.clone().unwrap_or_default();
    status.observed_generation = volume.meta().generation;
    status.phase = Some(phase);
    status.persistent_volume_name = Some(pv_name(volume));
    status.persistent_volume_claim_name = Some(volume.claim_name());
    status.node_name = volume.spec.node_name.clone();
    status.set_condition(Condition {
        type_: BOUND.to_owned(),
        status: if bound { TRUE } else { FALSE }.to_owned(),
        reason: if bound { "ClaimBound" } else { "WaitingForBinding" }.to_owned(),
        message: format!("claim {} is {:?}", volume.claim_name(), phase),
        observed_generation: volume.meta().generation,
        last_transition_time: Time(now),
    });
    status
}

fn phase_of_pv(pv: &PersistentVolume) -> Option<&str> {
    pv.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// Pods (not finished) that mount the claim. Listed only when a HostVolume is deleted; the
/// pod cache keeps no volumes.
async fn pods_using(ctx: &Context, namespace: &str, claim: &str) -> Result<Vec<String>, Error> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::List { kind: "Pod".into(), source })?;
    let running = |pod: &&Pod| {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        !matches!(phase, Some("Succeeded" | "Failed"))
    };
    let mounts = |pod: &&Pod| {
        pod.spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim))
    };
    Ok(list.items.iter().filter(running).filter(mounts).map(|pod| pod.name_any()).collect())
}

/// Deleting a HostVolume waits until no pod uses its claim, then removes the claim. The PV
/// (and the data on the node) stays unless the HostVolume asked for `reclaimPolicy: Delete`.
async fn cleanup(volume: &HostVolume, ctx: &Context) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let claim_name = volume.claim_name();
    let users = pods_using(ctx, &namespace, &claim_name).await?;
    if !users.is_empty() {
        let message = format!(
            "claim {claim_name} is used by pods {}; delete or move them first",
            users.join(", ")
        );
        ctx.events.publish(volume, EventType::Warning, "InUse", &message).await;
        return Err(Error::Blocked(message));
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    delete_ignoring_missing(&claims, &claim_name, "PersistentVolumeClaim").await?;
    let pv_name = pv_name(volume);
    let (reason, note) = if volume.spec.effective_reclaim_policy() == ReclaimPolicy::Delete {
        let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
        delete_ignoring_missing(&pvs, &pv_name, "PersistentVolume").await?;
        let note =
            format!("PersistentVolume {pv_name} deleted as requested (reclaimPolicy Delete)");
        ("VolumeDeleted", note)
    } else {
        let path = &volume.spec.host_path;
        let note = format!(
            "PersistentVolume {pv_name} and the data at {path} are kept (reclaimPolicy Retain)"
        );
        ("VolumeKept", note)
    };
    ctx.events.publish(volume, EventType::Normal, reason, &note).await;
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume() -> HostVolume {
        serde_json::from_value(json!({
            "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
            "metadata": { "name": "data", "namespace": "team", "generation": 2 },
            "spec": { "nodeName": "node-1", "hostPath": "/srv/data", "capacity": "5Gi" },
        }))
        .unwrap()
    }

    #[test]
    fn status_follows_the_claim_and_the_pv() {
        let now = Timestamp::now();
        let cases = [
            (Some("Bound"), None, HostVolumePhase::Bound, "True"),
            (Some("Pending"), None, HostVolumePhase::Pending, "False"),
            (Some("Lost"), None, HostVolumePhase::Failed, "False"),
            (None, Some("Failed"), HostVolumePhase::Failed, "False"),
        ];
        for (claim, pv, phase, bound) in cases {
            let status = status_of(&volume(), claim, pv, now);
            assert_eq!(status.phase, Some(phase), "{claim:?} {pv:?}");
            assert_eq!(status.conditions.unwrap()[0].status, bound);
            assert_eq!(status.observed_generation, Some(2));
            assert_eq!(status.persistent_volume_name.as_deref(), Some("hostvolume-team-data"));
        }
    }

    #[test]
    fn the_finalizer_wrapper_gives_way_to_the_failure_itself() {
        let blocked = own_error(finalizer::Error::CleanupFailed(Error::Blocked("in use".into())));
        assert_eq!(blocked.reason(), "Blocked");
        let missing = own_error(finalizer::Error::UnnamedObject);
        assert_eq!(missing.reason(), "MissingField");
    }
}
