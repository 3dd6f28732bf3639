//! A recorded version (a ControllerRevision) as the caches keep it: its metadata, number,
//! version timestamps and the recorded spec as compact JSON text. As a `serde_json::Value`
//! (order-preserving maps) the spec held about 6 KB per revision; the text is a fraction of
//! that and is parsed when a reader asks for the spec (a reconcile's comparison, a rollback,
//! a version read). Writes stay typed `ControllerRevision`s.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::cached::ReadMeta;

/// A ControllerRevision of an app, as cached. Same API path and kind as `ControllerRevision`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct CachedRevision {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub data: RecordedVersion,
    /// The app label and owners' uids, moved here by the watch's trim.
    #[serde(skip)]
    pub read: ReadMeta,
}

/// What the operator records in a revision's `data`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedVersion {
    /// The app's spec, as JSON text.
    #[serde(default, deserialize_with = "json_text")]
    pub spec: Option<Box<str>>,
    pub version: Option<String>,
    pub last_config_change_at: Option<String>,
}

/// Reads any JSON value as its compact text.
fn json_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Box<str>>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    value
        .map(|v| serde_json::to_string(&v).map(String::into_boxed_str))
        .transpose()
        .map_err(|e| serde::de::Error::custom(format!("recorded spec does not serialise: {e}")))
}

super::cached::cached_form_of!(CachedRevision, ControllerRevision);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api_revision() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-v2", "namespace": "prod", "uid": "r-uid",
                "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "marathon-operator.dev/v1alpha1",
                    "kind": "MarathonApp", "name": "web", "uid": "app-uid"}]},
            "revision": 2,
            "data": {
                "spec": {"id": "/web", "cmd": "sleep 1", "cpus": 0.01, "instances": 3,
                    "labels": {"b": "2", "a": "1"}},
                "version": "2026-11-30T01:00:00.000Z",
                "lastConfigChangeAt": "2026-11-30T00:00:00.000Z",
                "future": "ignored"
            }
        })
    }

    #[test]
    fn a_revision_from_the_api_keeps_its_version_and_spec_as_text() {
        let cached: CachedRevision = serde_json::from_value(api_revision()).unwrap();
        assert_eq!(cached.revision, Some(2));
        assert_eq!(cached.metadata.owner_references.as_ref().unwrap()[0].uid, "app-uid");
        assert_eq!(cached.data.version.as_deref(), Some("2026-11-30T01:00:00.000Z"));
        assert_eq!(cached.data.last_config_change_at.as_deref(), Some("2026-11-30T00:00:00.000Z"));
        // The text reads back as the recorded spec, keys in their recorded order.
        let spec: Value = serde_json::from_str(cached.data.spec.as_deref().unwrap()).unwrap();
        assert_eq!(spec, api_revision()["data"]["spec"]);
        let keys: Vec<&String> = spec["labels"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a"]);
    }

    #[test]
    fn a_typed_revision_converts_to_what_the_watch_would_cache() {
        let typed: ControllerRevision = serde_json::from_value(api_revision()).unwrap();
        let from_json: CachedRevision = serde_json::from_value(api_revision()).unwrap();
        assert_eq!(CachedRevision::of(&typed).unwrap(), from_json);
    }

    #[test]
    fn a_revision_without_data_reads_as_empty() {
        let cached: CachedRevision =
            serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
        assert_eq!(cached.data, RecordedVersion::default());
    }
}
