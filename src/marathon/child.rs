//! Services, HorizontalPodAutoscalers and Ingresses as the caches keep them: the controllers
//! read only their identity, marker (resourceVersion) and the values of [`ReadMeta`] (whose
//! app they are, who owns them, and the fingerprint of what was applied). `PartialObjectMeta` kept
//! the label and annotation maps and the type strings, about 2 KB per Service.

use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::cached::ReadMeta;

/// A child of kind `K` read for its metadata only, as cached. Same API path and kind as `K`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedChild<K> {
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The app label, applied fingerprint and owners' uids, moved here by the watch's trim.
    #[serde(skip)]
    pub read: ReadMeta,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

super::cached::generic_cached_form!(CachedChild);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::cached::MetaValues;
    use crate::translate::names::{ANNOTATION_APPLIED, LABEL_APP};
    use k8s_openapi::api::core::v1::Service;
    use kube::Resource;

    #[test]
    fn a_service_from_the_api_keeps_its_identity_and_reads_its_app_and_fingerprint() {
        let cached: CachedChild<Service> = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "7",
                "labels": {LABEL_APP: "web", "other": "x"},
                "annotations": {ANNOTATION_APPLIED: "00ff", "other": "y"},
                "ownerReferences": [{"apiVersion": "marathon-operator.dev/v1alpha1",
                    "kind": "MarathonApp", "name": "web", "uid": "app-uid"}]},
            "spec": {"ports": [{"port": 80}]},
        }))
        .unwrap();
        assert_eq!(cached.meta().resource_version.as_deref(), Some("7"));
        // Untrimmed, the values come from the maps; trimmed, from the fields.
        assert_eq!((cached.app_label(), cached.applied_fingerprint()), (Some("web"), Some("00ff")));
        assert!(cached.owned_by("app-uid") && !cached.owned_by("other-uid"));
        let mut trimmed = cached.clone();
        let read = ReadMeta::take_from(&mut trimmed.metadata);
        trimmed.read = read;
        let meta = &trimmed.metadata;
        assert_eq!(
            (&meta.labels, &meta.annotations, &meta.owner_references),
            (&None, &None, &None)
        );
        assert!(trimmed.owned_by("app-uid") && !trimmed.owned_by("other-uid"));
        assert_eq!(
            (trimmed.app_label(), trimmed.applied_fingerprint()),
            (Some("web"), Some("00ff"))
        );
        assert_eq!(<CachedChild<Service> as Resource>::kind(&()), "Service");
    }
}
