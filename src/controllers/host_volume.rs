//! The HostVolume controller: a local PersistentVolume pinned to the volume's node, and the
//! claim apps mount. Data is never wiped by the operator: the PV keeps `Retain` unless the
//! HostVolume asks for `Delete`, and a finalizer keeps the HostVolume while pods use its claim.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    LocalVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec, Pod,
    VolumeNodeAffinity, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{instrument, warn};

use super::error::Error;
use super::{Context, FIELD_MANAGER};
use crate::crd::condition::{BOUND, FALSE, TRUE};
use crate::crd::{HostVolume, HostVolumePhase, HostVolumeStatus, ReclaimPolicy};
use crate::translate::names;

pub const CONTROLLER: &str = "hostvolume";
pub const FINALIZER: &str = "hostvolumes.marathon-operator.dev/in-use-protection";
/// Marks the PV and claim as a HostVolume's (for watches); the annotations below say whose.
pub const LABEL_HOST_VOLUME: &str = "marathon-operator.dev/host-volume";
pub const ANNOTATION_NAME: &str = "marathon-operator.dev/host-volume-name";
pub const ANNOTATION_NAMESPACE: &str = "marathon-operator.dev/host-volume-namespace";
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

#[instrument(skip_all, fields(namespace = volume.namespace().unwrap_or_default(), name = volume.name_any()))]
pub async fn reconcile(volume: Arc<HostVolume>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile.start(CONTROLLER);
    let namespace = volume.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<HostVolume> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = format!("{namespace}/{}", volume.name_any());
    let result = finalizer(&api, FINALIZER, volume, |event| async {
        match event {
            FinalizerEvent::Apply(volume) => apply(&volume, &ctx).await,
            FinalizerEvent::Cleanup(volume) => cleanup(&volume, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    if result.is_ok() {
        ctx.volume_backoff.reset(&key);
    }
    result
}

pub fn error_policy(volume: Arc<HostVolume>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile.failed(CONTROLLER, error.reason());
    if error.is_permanent() {
        return Action::await_change();
    }
    let key = format!("{}/{}", volume.namespace().unwrap_or_default(), volume.name_any());
    let delay = ctx.volume_backoff.next_delay(&key);
    warn!(error = %error.chain(), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The cluster-wide PV name: namespace and name, shortened with a hash when long.
pub fn pv_name(volume: &HostVolume) -> String {
    let raw =
        format!("hostvolume-{}-{}", volume.namespace().unwrap_or_default(), volume.name_any());
    names::app_name_max(&raw, 253)
}

fn metadata(volume: &HostVolume) -> ObjectMeta {
    let mut labels =
        BTreeMap::from([(names::LABEL_MANAGED_BY.to_owned(), names::MANAGER.to_owned())]);
    labels.insert(LABEL_HOST_VOLUME.to_owned(), "true".to_owned());
    let annotations = BTreeMap::from([
        (ANNOTATION_NAME.to_owned(), volume.name_any()),
        (ANNOTATION_NAMESPACE.to_owned(), volume.namespace().unwrap_or_default()),
    ]);
    ObjectMeta { labels: Some(labels), annotations: Some(annotations), ..ObjectMeta::default() }
}

/// The HostVolume a PV or claim was made for.
pub fn owner_of<K: Resource>(object: &K) -> Option<ObjectRef<HostVolume>> {
    let annotations = object.meta().annotations.as_ref()?;
    let name = annotations.get(ANNOTATION_NAME)?;
    let namespace = annotations.get(ANNOTATION_NAMESPACE)?;
    Some(ObjectRef::new(name).within(namespace))
}

fn node_affinity(volume: &HostVolume) -> VolumeNodeAffinity {
    let match_expressions = match (&volume.spec.node_name, &volume.spec.node_selector) {
        (Some(node), _) => vec![NodeSelectorRequirement {
            key: HOSTNAME_LABEL.to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.clone()]),
        }],
        (None, Some(selector)) => selector
            .iter()
            .map(|(key, value)| NodeSelectorRequirement {
                key: key.clone(),
                operator: "In".to_owned(),
                values: Some(vec![value.clone()]),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    VolumeNodeAffinity {
        required: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(match_expressions),
                match_fields: None,
            }],
        }),
    }
}

fn access_modes(volume: &HostVolume) -> Vec<String> {
    volume
        .spec
        .effective_access_modes()
        .iter()
        .filter_map(|m| serde_json::to_value(m).ok()?.as_str().map(str::to_owned))
        .collect()
}

/// The PersistentVolume: a `local` volume at the host path, only on the volume's node,
/// pre-bound to the HostVolume's claim so no other claim can take it.
pub fn build_pv(volume: &HostVolume) -> PersistentVolume {
    let reclaim = match volume.spec.effective_reclaim_policy() {
        ReclaimPolicy::Retain => "Retain",
        ReclaimPolicy::Delete => "Delete",
    };
    let mut pv = PersistentVolume {
        spec: Some(PersistentVolumeSpec {
            capacity: Some([("storage".to_owned(), volume.spec.capacity.clone())].into()),
            access_modes: Some(access_modes(volume)),
            persistent_volume_reclaim_policy: Some(reclaim.to_owned()),
            // An empty class keeps the default StorageClass's provisioner away from the claim.
            storage_class_name: Some(volume.spec.storage_class_name.clone().unwrap_or_default()),
            local: Some(LocalVolumeSource { path: volume.spec.host_path.clone(), fs_type: None }),
            node_affinity: Some(node_affinity(volume)),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                namespace: volume.namespace(),
                name: Some(volume.claim_name()),
                ..ObjectReference::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        metadata: metadata(volume),
        ..PersistentVolume::default()
    };
    pv.metadata.name = Some(pv_name(volume));
    pv
}

/// The claim apps mount, bound to exactly this volume's PV.
pub fn build_pvc(volume: &HostVolume) -> PersistentVolumeClaim {
    let mut pvc = PersistentVolumeClaim {
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(access_modes(volume)),
            storage_class_name: Some(volume.spec.storage_class_name.clone().unwrap_or_default()),
            volume_name: Some(pv_name(volume)),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_owned(), volume.spec.capacity.clone())].into()),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        metadata: metadata(volume),
        ..PersistentVolumeClaim::default()
    };
    pvc.metadata.name = Some(volume.claim_name());
    pvc.metadata.namespace = volume.namespace();
    pvc
}

async fn apply(volume: &HostVolume, ctx: &Context) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let pv_name = pv_name(volume);
    let mut pv =
        pvs.patch(&pv_name, &params, &Patch::Apply(build_pv(volume))).await.map_err(|source| {
            Error::Apply { kind: "PersistentVolume".into(), name: pv_name.clone(), source }
        })?;
    if phase_of_pv(&pv) == Some("Released") {
        // The claim was deleted earlier (HostVolume removed and created again): the data is
        // still there, so free the PV for the new claim instead of leaving it stranded.
        let unbind = json!({ "spec": { "claimRef": { "uid": null, "resourceVersion": null } } });
        pv = pvs.patch(&pv_name, &PatchParams::default(), &Patch::Merge(&unbind)).await.map_err(
            |source| Error::Apply {
                kind: "PersistentVolume".into(),
                name: pv_name.clone(),
                source,
            },
        )?;
        ctx.events
            .publish(
                volume,
                EventType::Normal,
                "Reattached",
                "released volume reattached to a new claim",
            )
            .await;
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    let claim_name = volume.claim_name();
    let claim = claims
        .patch(&claim_name, &params, &Patch::Apply(build_pvc(volume)))
        .await
        .map_err(|source| Error::Apply {
            kind: "PersistentVolumeClaim".into(),
            name: claim_name.clone(),
            source,
        })?;

    let phase = match claim.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Bound") => HostVolumePhase::Bound,
        Some("Lost") => HostVolumePhase::Failed,
        _ if phase_of_pv(&pv) == Some("Failed") => HostVolumePhase::Failed,
        _ => HostVolumePhase::Pending,
    };
    let bound = phase == HostVolumePhase::Bound;
    let mut status = volume.status.clone().unwrap_or_default();
    status.observed_generation = volume.meta().generation;
    status.phase = Some(phase);
    status.persistent_volume_name = Some(pv_name);
    status.persistent_volume_claim_name = Some(claim_name);
    status.node_name = volume.spec.node_name.clone();
    status.set_condition(Condition {
        type_: BOUND.to_owned(),
        status: if bound { TRUE } else { FALSE }.to_owned(),
        reason: if bound { "ClaimBound" } else { "WaitingForBinding" }.to_owned(),
        message: format!("claim {} is {:?}", volume.claim_name(), phase),
        observed_generation: volume.meta().generation,
        last_transition_time: Time(Timestamp::now()),
    });
    if volume.status.as_ref() != Some(&status) {
        patch_status(volume, ctx, &status).await?;
    }
    // Binding happens in the controller-manager; look again soon until it has.
    Ok(if bound {
        Action::requeue(Duration::from_secs(300))
    } else {
        Action::requeue(Duration::from_secs(2))
    })
}

fn phase_of_pv(pv: &PersistentVolume) -> Option<&str> {
    pv.status.as_ref().and_then(|s| s.phase.as_deref())
}

async fn patch_status(
    volume: &HostVolume,
    ctx: &Context,
    status: &HostVolumeStatus,
) -> Result<(), Error> {
    crate::controllers::apply::apply_status(&ctx.client, volume, status).await
}

/// Pods (not finished) that mount the claim.
async fn pods_using(ctx: &Context, namespace: &str, claim: &str) -> Result<Vec<String>, Error> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::List { kind: "Pod".into(), source })?;
    Ok(list
        .items
        .iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .filter(|pod| {
            pod.spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| c.claim_name == claim))
        })
        .map(|pod| pod.name_any())
        .collect())
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
    match claims.delete(&claim_name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(source) => {
            return Err(Error::Delete {
                kind: "PersistentVolumeClaim".into(),
                name: claim_name,
                source,
            });
        }
    }
    let pv_name = pv_name(volume);
    if volume.spec.effective_reclaim_policy() == ReclaimPolicy::Delete {
        let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
        match pvs.delete(&pv_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => {
                return Err(Error::Delete {
                    kind: "PersistentVolume".into(),
                    name: pv_name,
                    source,
                });
            }
        }
        ctx.events
            .publish(
                volume,
                EventType::Normal,
                "VolumeDeleted",
                &format!("PersistentVolume {pv_name} deleted as requested (reclaimPolicy Delete)"),
            )
            .await;
    } else {
        let note = format!(
            "PersistentVolume {pv_name} and the data at {} are kept (reclaimPolicy Retain)",
            volume.spec.host_path
        );
        ctx.events.publish(volume, EventType::Normal, "VolumeKept", &note).await;
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(spec: serde_json::Value) -> HostVolume {
        serde_json::from_value(json!({
            "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "HostVolume",
            "metadata": { "name": "data", "namespace": "team" },
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn the_pv_is_local_pinned_retained_and_pre_bound() {
        let v = volume(json!({ "nodeName": "node-1", "hostPath": "/srv/data", "capacity": "5Gi" }));
        let pv = build_pv(&v);
        let spec = pv.spec.unwrap();
        assert_eq!(pv.metadata.name.as_deref(), Some("hostvolume-team-data"));
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(spec.local.unwrap().path, "/srv/data");
        let term = &spec.node_affinity.unwrap().required.unwrap().node_selector_terms[0];
        let requirement = &term.match_expressions.as_ref().unwrap()[0];
        assert_eq!(
            (requirement.key.as_str(), requirement.values.clone().unwrap()),
            (HOSTNAME_LABEL, vec!["node-1".to_owned()])
        );
        let claim_ref = spec.claim_ref.unwrap();
        assert_eq!(
            (claim_ref.namespace.as_deref(), claim_ref.name.as_deref()),
            (Some("team"), Some("data"))
        );
        let pvc = build_pvc(&v);
        assert_eq!(pvc.spec.unwrap().volume_name.as_deref(), Some("hostvolume-team-data"));
    }

    #[test]
    fn a_node_selector_becomes_the_pv_node_affinity() {
        let v = volume(
            json!({ "nodeSelector": { "disk": "ssd" }, "hostPath": "/srv", "capacity": "1Gi", "reclaimPolicy": "Delete", "claimName": "db" }),
        );
        let pv = build_pv(&v);
        let spec = pv.spec.unwrap();
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
        assert_eq!(spec.claim_ref.unwrap().name.as_deref(), Some("db"));
        let term = &spec.node_affinity.unwrap().required.unwrap().node_selector_terms[0];
        assert_eq!(term.match_expressions.as_ref().unwrap()[0].key, "disk");
    }
}
