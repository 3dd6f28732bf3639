//! Records an app's Marathon versions as ControllerRevisions owned by the app (the rules are in
//! `crate::marathon::versions`). The history is read from the watch-fed revision cache, so a
//! spec change costs one create and no LIST; history is bounded, the oldest revisions go first.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::controllers::error::Error;
use crate::crd::MarathonApp;
use crate::marathon::revision::CachedRevision;
use crate::marathon::versions::{
    Versions, config_part, format_version, new_revision, stored_config_change, stored_spec,
    stored_version, versions_of,
};

/// Annotation the Marathon API sets with the version it announced to its client; the next
/// version recorded takes that timestamp when it is newer than the history.
pub use crate::marathon::versions::ANNOTATION_REQUESTED_VERSION;

/// Records the app's current spec as a version unless it is already the latest one of
/// `history` (the app's revisions, oldest first), prunes the history to `max_revisions`, and
/// returns the version state.
pub async fn record(
    client: &Client,
    app: &MarathonApp,
    mut history: Vec<CachedRevision>,
    max_revisions: usize,
    now: Timestamp,
) -> Result<Versions, Error> {
    let spec = serde_json::to_value(&app.spec).map_err(|e| Error::Serialize("spec", e))?;
    let latest = history.last();
    let previous = latest.and_then(stored_spec);
    if previous.as_ref() != Some(&spec) {
        let version = next_version(app, latest.and_then(stored_version), now);
        let config_changed = match &previous {
            Some(previous) => config_part(previous) != config_part(&spec),
            None => true,
        };
        let last_config_change_at = match latest.and_then(stored_config_change) {
            Some(previous) if !config_changed => previous.to_owned(),
            _ => version.clone(),
        };
        let number = latest.and_then(|r| r.revision).unwrap_or(0) + 1;
        let revision = new_revision(app, number, &spec, &version, &last_config_change_at)
            .ok_or(Error::MissingField("metadata.uid"))?;
        history.push(create(client, app, &revision).await?);
    }
    prune(client, app, &mut history, max_revisions).await?;
    versions_of(&history).ok_or(Error::MissingField("revision data"))
}

/// The timestamp of a new version: the one the Marathon API announced when it is newer than
/// every recorded version (its client was told that version), else now.
fn next_version(app: &MarathonApp, latest: Option<&str>, now: Timestamp) -> String {
    let requested = app
        .annotations()
        .get(ANNOTATION_REQUESTED_VERSION)
        .filter(|v| v.parse::<Timestamp>().is_ok() && v.len() == 24);
    match requested {
        Some(requested) if latest.is_none_or(|latest| requested.as_str() > latest) => {
            requested.clone()
        }
        _ => format_version(now),
    }
}

/// Creates the revision and returns it as the cache will hold it.
async fn create(
    client: &Client,
    app: &MarathonApp,
    revision: &ControllerRevision,
) -> Result<CachedRevision, Error> {
    let api: Api<ControllerRevision> =
        Api::namespaced(client.clone(), &app.namespace().unwrap_or_default());
    let created = api.create(&PostParams::default(), revision).await.map_err(Error::History)?;
    CachedRevision::of(&created).map_err(|e| Error::Serialize("revision", e.0))
}

async fn prune(
    client: &Client,
    app: &MarathonApp,
    revisions: &mut Vec<CachedRevision>,
    max_revisions: usize,
) -> Result<(), Error> {
    let excess = revisions.len().saturating_sub(max_revisions.max(1));
    if excess == 0 {
        return Ok(());
    }
    let api: Api<ControllerRevision> =
        Api::namespaced(client.clone(), &app.namespace().unwrap_or_default());
    for old in revisions.drain(..excess) {
        crate::controllers::delete_ignoring_missing(&api, &old.name_any(), "ControllerRevision")
            .await?;
    }
    Ok(())
}

/// The spec of `version` in `history`, for rolling back.
pub fn spec_of(history: &[CachedRevision], version: &str) -> Option<Value> {
    crate::marathon::versions::spec_of_version(history, version)
}
