//! Marathon versions as ControllerRevisions owned by the app.
//!
//! Every change of an app's spec is a new Marathon version: an ISO-8601 timestamp with
//! milliseconds, recorded in a ControllerRevision that holds the whole spec. A change of
//! `instances` alone is a scaling version; anything else is also a config change (Marathon's
//! `versionInfo.lastScalingAt` / `lastConfigChangeAt`). Tasks see the config-change version as
//! `MARATHON_APP_VERSION`, so scaling never restarts them. History is bounded; the oldest
//! revisions go first.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

use crate::controllers::error::Error;
use crate::crd::MarathonApp;
use crate::translate::names;

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

fn selector(app_name: &str) -> String {
    format!("{}={app_name}", names::LABEL_APP)
}

/// Lists the app's revisions, oldest first.
pub async fn list(client: &Client, app: &MarathonApp) -> Result<Vec<ControllerRevision>, Error> {
    let namespace = app.namespace().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), &namespace);
    let uid = app.uid().unwrap_or_default();
    let mut revisions: Vec<ControllerRevision> = api
        .list(&ListParams::default().labels(&selector(&app.name_any())))
        .await
        .map_err(Error::History)?
        .items
        .into_iter()
        .filter(|r| r.owner_references().iter().any(|o| o.uid == uid))
        .collect();
    revisions.sort_by_key(|r| r.revision.unwrap_or_default());
    Ok(revisions)
}

/// The spec stored in a revision.
pub fn stored_spec(revision: &ControllerRevision) -> Option<&Value> {
    revision.data.0.get("spec")
}

pub fn stored_version(revision: &ControllerRevision) -> Option<&str> {
    revision.data.0.get("version").and_then(Value::as_str)
}

fn stored_config_change(revision: &ControllerRevision) -> Option<&str> {
    revision.data.0.get("lastConfigChangeAt").and_then(Value::as_str)
}

/// The spec without what scaling changes.
fn config_part(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(object) = spec.as_object_mut() {
        object.remove("instances");
    }
    spec
}

/// Records the app's current spec as a version unless it is already the latest one, prunes the
/// history to `max_revisions`, and returns the version state.
pub async fn record(
    client: &Client,
    app: &MarathonApp,
    max_revisions: usize,
    now: Timestamp,
) -> Result<Versions, Error> {
    let spec = serde_json::to_value(&app.spec).map_err(|_| Error::MissingField("spec"))?;
    if app.status.as_ref().and_then(|s| s.version.as_ref()).is_none() {
        // A new app has no history: record version 1 without listing first. If a history
        // exists after all (status lost, operator restarted mid-way), the name is taken and the
        // usual path below sorts it out.
        let version = format_version(now);
        let first = new_revision(app, 1, &spec, &version, &version)?;
        let api: Api<ControllerRevision> =
            Api::namespaced(client.clone(), &app.namespace().unwrap_or_default());
        match api.create(&PostParams::default(), &first).await {
            Ok(created) => {
                return versions_of(std::slice::from_ref(&created))
                    .ok_or(Error::MissingField("revision data"));
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(source) => return Err(Error::History(source)),
        }
    }
    let mut revisions = list(client, app).await?;
    let latest = revisions.last();
    let unchanged = latest.and_then(stored_spec).is_some_and(|stored| *stored == spec);
    if !unchanged {
        let version = format_version(now);
        let config_changed = match latest.and_then(stored_spec) {
            Some(previous) => config_part(previous) != config_part(&spec),
            None => true,
        };
        let last_config_change_at = match latest.and_then(stored_config_change) {
            Some(previous) if !config_changed => previous.to_owned(),
            _ => version.clone(),
        };
        let number = latest.and_then(|r| r.revision).unwrap_or(0) + 1;
        let revision = new_revision(app, number, &spec, &version, &last_config_change_at)?;
        let api: Api<ControllerRevision> =
            Api::namespaced(client.clone(), &app.namespace().unwrap_or_default());
        let created =
            api.create(&PostParams::default(), &revision).await.map_err(Error::History)?;
        revisions.push(created);
    }
    prune(client, app, &mut revisions, max_revisions).await?;
    versions_of(&revisions).ok_or(Error::MissingField("revision data"))
}

fn new_revision(
    app: &MarathonApp,
    number: i64,
    spec: &Value,
    version: &str,
    last_config_change_at: &str,
) -> Result<ControllerRevision, Error> {
    let app_name = app.name_any();
    let owner = app.controller_owner_ref(&()).ok_or(Error::MissingField("metadata.uid"))?;
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
    Ok(revision)
}

async fn prune(
    client: &Client,
    app: &MarathonApp,
    revisions: &mut Vec<ControllerRevision>,
    max_revisions: usize,
) -> Result<(), Error> {
    let excess = revisions.len().saturating_sub(max_revisions.max(1));
    if excess == 0 {
        return Ok(());
    }
    let api: Api<ControllerRevision> =
        Api::namespaced(client.clone(), &app.namespace().unwrap_or_default());
    for old in revisions.drain(..excess) {
        let name = old.name_any();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => {
                return Err(Error::Delete { kind: "ControllerRevision".into(), name, source });
            }
        }
    }
    Ok(())
}

/// The version state that a list of revisions (oldest first) describes.
pub fn versions_of(revisions: &[ControllerRevision]) -> Option<Versions> {
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
pub fn spec_of_version<'a>(
    revisions: &'a [ControllerRevision],
    version: &str,
) -> Option<&'a Value> {
    revisions.iter().find(|r| stored_version(r) == Some(version)).and_then(stored_spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(number: i64, spec: Value, version: &str, config: &str) -> ControllerRevision {
        ControllerRevision {
            data: RawExtension(
                json!({"spec": spec, "version": version, "lastConfigChangeAt": config}),
            ),
            revision: Some(number),
            ..ControllerRevision::default()
        }
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
