//! Marathon versions and their record in ControllerRevisions, as pure functions: the
//! controller records them, the Marathon API and the CLI read them.
//!
//! Every change of an app's spec is a new Marathon version: an ISO-8601 timestamp with
//! milliseconds, recorded in a ControllerRevision owned by the app that holds the whole spec. A
//! change of `instances` alone is a scaling version; anything else is also a config change
//! (Marathon's `versionInfo.lastScalingAt` / `lastConfigChangeAt`). Tasks see the config-change
//! version as `MARATHON_APP_VERSION`, so scaling never restarts them.

use crate::marathon::cached::MetaValues;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::jiff::Timestamp;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::revision::CachedRevision;
use crate::crd::MarathonApp;
use crate::translate::names;

/// Annotation with the version the Marathon API announced to its client for its last write of
/// the app; the controller records the next version with that timestamp when it is newer than
/// the history, so the version a client was given is the one it finds.
pub const ANNOTATION_REQUESTED_VERSION: &str = "marathon-operator.dev/requested-version";

/// The version state of an app after recording its current spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Versions {
    /// The current version (of the latest spec).
    pub version: String,
    /// When the spec last changed in any way, scaling included.
    pub last_scaling_at: String,
    /// When the spec last changed other than by scaling.
    pub last_config_change_at: String,
    /// Every recorded version, oldest first.
    pub all: Vec<String>,
}

/// A Marathon version string: UTC, milliseconds, `Z` suffix (`2026-11-25T18:20:15.123Z`).
pub fn format_version(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The spec stored in a revision (parsed from the cached text; `None` when it is missing or
/// unreadable).
pub fn stored_spec(revision: &CachedRevision) -> Option<Value> {
    serde_json::from_str(revision.data.spec.as_deref()?).ok()
}

pub fn stored_version(revision: &CachedRevision) -> Option<&str> {
    revision.data.version.as_deref()
}

pub fn stored_config_change(revision: &CachedRevision) -> Option<&str> {
    revision.data.last_config_change_at.as_deref()
}

/// The spec without what scaling changes.
pub fn config_part(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(object) = spec.as_object_mut() {
        object.remove("instances");
    }
    spec
}

/// A revision recording `spec` as version `version` of `app`; `None` when the app has no uid
/// yet (it was never stored).
pub fn new_revision(
    app: &MarathonApp,
    number: i64,
    spec: &Value,
    version: &str,
    last_config_change_at: &str,
) -> Option<ControllerRevision> {
    let app_name = app.name_any();
    let owner = app.controller_owner_ref(&())?;
    let mut revision = ControllerRevision {
        data: RawExtension(json!({
            "spec": spec,
            "version": version,
            "lastConfigChangeAt": last_config_change_at,
        })),
        revision: Some(number),
        ..ControllerRevision::default()
    };
    let meta = &mut revision.metadata;
    meta.name = Some(names::child_name(&app_name, &format!("v{number}"), names::MAX_LABEL));
    meta.namespace = app.namespace();
    meta.labels = Some(names::common_labels(&app_name));
    meta.annotations =
        Some([(names::ANNOTATION_APP_VERSION.to_owned(), version.to_owned())].into());
    meta.owner_references = Some(vec![owner]);
    Some(revision)
}

/// The revisions of the app with uid `app_uid` among `revisions`, oldest first.
pub fn history_of<'a>(
    revisions: impl IntoIterator<Item = &'a CachedRevision>,
    app_uid: &str,
) -> Vec<CachedRevision> {
    let mut history: Vec<CachedRevision> =
        revisions.into_iter().filter(|r| r.owned_by(app_uid)).cloned().collect();
    history.sort_by_key(|r| r.revision.unwrap_or_default());
    history
}

/// The version state that a list of revisions (oldest first) describes.
pub fn versions_of(revisions: &[CachedRevision]) -> Option<Versions> {
    let latest = revisions.last()?;
    let version = stored_version(latest)?.to_owned();
    Some(Versions {
        last_scaling_at: version.clone(),
        last_config_change_at: stored_config_change(latest).unwrap_or(&version).to_owned(),
        all: revisions.iter().filter_map(stored_version).map(str::to_owned).collect(),
        version,
    })
}

/// The spec recorded for `version`, for rolling back.
pub fn spec_of_version(revisions: &[CachedRevision], version: &str) -> Option<Value> {
    revisions.iter().find(|r| stored_version(r) == Some(version)).and_then(stored_spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(number: i64, spec: Value, version: &str, config: &str) -> CachedRevision {
        CachedRevision::of(&ControllerRevision {
            data: RawExtension(
                json!({"spec": spec, "version": version, "lastConfigChangeAt": config}),
            ),
            revision: Some(number),
            ..ControllerRevision::default()
        })
        .unwrap()
    }

    #[test]
    fn versions_are_marathon_timestamps_with_milliseconds() {
        let at: Timestamp = "2026-11-25T18:20:15.1234Z".parse().unwrap();
        assert_eq!(format_version(at), "2026-11-25T18:20:15.123Z");
        let whole: Timestamp = "2026-11-25T18:20:15Z".parse().unwrap();
        assert_eq!(format_version(whole), "2026-11-25T18:20:15.000Z");
    }

    #[test]
    fn scaling_keeps_the_config_change_version() {
        let a = json!({"id": "/a", "cmd": "x", "instances": 1});
        let b = json!({"id": "/a", "cmd": "x", "instances": 3});
        assert_eq!(config_part(&a), config_part(&b));
        let history = [
            revision(1, a, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
            revision(2, b, "2026-01-02T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        ];
        let versions = versions_of(&history).unwrap();
        assert_eq!(versions.version, "2026-01-02T00:00:00.000Z");
        assert_eq!(versions.last_config_change_at, "2026-01-01T00:00:00.000Z");
        assert_eq!(versions.all.len(), 2);
        assert_eq!(
            spec_of_version(&history, "2026-01-01T00:00:00.000Z").unwrap()["instances"],
            json!(1)
        );
    }
}
