//! The MarathonApp controller: validate -> record version -> translate -> apply -> clean up ->
//! status. It is the only writer of the app's workload objects.

mod children;
mod kills;
pub mod status;
pub mod status_writes;
pub mod versions;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::marathon::cached::MetaValues;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tracing::{info, instrument, warn};

use super::Context;
use super::error::Error;
use super::memory::{self, RecordedVersions};
use crate::crd::{MarathonApp, MarathonAppStatus, VersionInfo};
use crate::marathon::versions::Versions;
use crate::translate::{self, names};
use status_writes::StatusWrite;

pub const CONTROLLER: &str = "marathonapp";
/// Set to a version (`GET /v2/apps/{id}/versions`) to roll the app back to that definition.
pub const ANNOTATION_ROLLBACK_TO: &str = "marathon-operator.dev/rollback-to";
/// Any new value rolls every task without a spec change (Marathon's `/restart`).
pub const ANNOTATION_RESTART: &str = "marathon-operator.dev/restart";
/// `"true"` deletes the app's PersistentVolumeClaims with it; without it they are kept.
pub const ANNOTATION_DELETE_VOLUMES: &str = "marathon-operator.dev/delete-volumes";
pub use crate::translate::names::ANNOTATION_RESTARTED_AT;

/// How often an app is looked at again when nothing happens (watches do the real work); the
/// looks are spread over the period (`resync::trickle`), not a timer per app.
pub const RESYNC: Duration = Duration::from_secs(300);

#[instrument(skip_all, fields(namespace = guard.namespace().unwrap_or_default(), name = guard.name_any()))]
pub async fn reconcile(
    guard: Arc<DeserializeGuard<MarathonApp>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile.start(CONTROLLER);
    let app = match &guard.0 {
        Ok(app) => app,
        Err(invalid) => return super::report_unreadable(&guard, &invalid.error, &ctx).await,
    };
    if app.meta().deletion_timestamp.is_some() {
        // Being deleted: its children go through garbage collection (owner references).
        return Ok(Action::await_change());
    }
    let result = converge(app, &ctx).await;
    if result.is_ok() {
        ctx.memory.backoff.reset(&memory::key_of(app));
    }
    ctx.memory.report(&ctx.metrics);
    result
}

pub fn error_policy(
    guard: Arc<DeserializeGuard<MarathonApp>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = memory::key_of(guard.as_ref());
    super::retry_policy(CONTROLLER, &ctx.memory.backoff, &key, error, &ctx.metrics)
}

/// How often an app whose new version waits for its dependencies looks at them again.
const DEPENDENCY_POLL: Duration = Duration::from_secs(2);

/// Marathon's dependency order: a new generation is not started (or rolled) while an app it
/// depends on is not Available; an observed generation is never held back.
fn dependencies_pending(app: &MarathonApp, ctx: &Context) -> Option<Vec<String>> {
    let generation = app.meta().generation.unwrap_or_default();
    let observed = app.status.as_ref().and_then(|s| s.observed_generation).unwrap_or_default();
    // Its own dependencies and its groups' (`dependencies` of a group hold all its apps).
    if observed >= generation || crate::marathon::groups::all_dependencies(app).is_empty() {
        return None;
    }
    // References into the cache: a copy of every app per look would be the cache again.
    let cached = ctx.caches.apps.state();
    let apps: Vec<&MarathonApp> = cached.iter().filter_map(|g| g.0.as_ref().ok()).collect();
    let waiting = crate::marathon::groups::unavailable_dependencies(app, &apps);
    (!waiting.is_empty()).then_some(waiting)
}

/// The named steps of one reconcile: wait for dependencies, roll back when asked, record the
/// version, translate, carry out kills, apply the children, report warnings and status.
async fn converge(app: &MarathonApp, ctx: &Context) -> Result<Action, Error> {
    if let Some(waiting) = dependencies_pending(app, ctx) {
        info!(?waiting, "new version waits for its dependencies to be available");
        return Ok(Action::requeue(DEPENDENCY_POLL));
    }
    if let Some(version) = app.annotations().get(ANNOTATION_ROLLBACK_TO) {
        return rollback(app, version, ctx).await;
    }
    let now = Timestamp::now();
    let versions = record_version(app, ctx, now).await?;
    let translation = translate_version(app, &versions, ctx, now).await?;
    kills::kill_requested(&ctx.client, app).await?;
    let restart = app.annotations().get(ANNOTATION_RESTART).map(String::as_str);
    let applied = match children::apply_all(ctx, app, translation.objects, restart).await {
        Ok(applied) => applied,
        Err(error) => {
            return Err(degrade(app, ctx, error.reason(), &error.chain(), now, error).await);
        }
    };
    let warnings = report_warnings(app, &translation.warnings, ctx).await;
    report_status(app, &versions, &applied, warnings, ctx, now).await
}

/// What the versions say about the app, as the spec and status carry it.
fn version_info(versions: &Versions) -> VersionInfo {
    VersionInfo {
        last_scaling_at: Some(versions.last_scaling_at.clone()),
        last_config_change_at: Some(versions.last_config_change_at.clone()),
        ..VersionInfo::default()
    }
}

/// Translates the app as of its current version: tasks see the config-change version, so
/// scaling alone never restarts them.
async fn translate_version(
    app: &MarathonApp,
    versions: &Versions,
    ctx: &Context,
    now: Timestamp,
) -> Result<translate::Translation, Error> {
    let mut versioned = app.clone();
    versioned.spec.version = Some(versions.version.clone());
    versioned.spec.version_info = Some(Box::new(version_info(versions)));
    let host_volumes = ctx.host_volumes_in(&app.namespace().unwrap_or_default());
    match translate::translate(&versioned, &host_volumes, &ctx.config.translate) {
        Ok(translation) => Ok(translation),
        Err(error) => {
            let (reason, message) = (error.reason(), error.to_string());
            Err(degrade(app, ctx, reason, &message, now, Error::Translate(error)).await)
        }
    }
}

/// Reports a failure (Warning Event, Degraded condition) and hands the error back.
async fn degrade(
    app: &MarathonApp,
    ctx: &Context,
    reason: &str,
    message: &str,
    now: Timestamp,
    error: Error,
) -> Error {
    ctx.events.publish(app, EventType::Warning, reason, message).await;
    let (key, writes) = (memory::key_of(app), &ctx.memory.status_writes);
    let cached_version = app.resource_version().unwrap_or_default();
    if writes.cache_behind(&key, &cached_version) {
        // The failure written moments ago is not in the cache yet; writing over the stale
        // status would stamp new transition times. The watch brings it, and another look.
        return error;
    }
    let status = status::degraded(app.status.as_ref(), app.meta().generation, reason, message, now);
    if app.status.as_ref() != Some(&status) {
        match patch_status(app, ctx, &status).await {
            Ok(stored) => writes.unseen(&key, &cached_version, stored.as_deref()),
            Err(write) => warn!(error = %write.chain(), "could not report the failure in status"),
        }
    }
    error
}

/// Publishes translation warnings not reported before; returns them all for status.
async fn report_warnings(
    app: &MarathonApp,
    found: &[translate::Warning],
    ctx: &Context,
) -> Vec<String> {
    let warnings: Vec<String> = found.iter().map(|w| format!("{}: {}", w.path, w.reason)).collect();
    let reported: BTreeSet<&String> =
        app.status.iter().flat_map(|s| s.warnings.iter().flatten()).collect();
    for warning in warnings.iter().filter(|w| !reported.contains(w)) {
        ctx.events.publish(app, EventType::Warning, "TranslationWarning", warning).await;
    }
    warnings
}

/// Builds the status from what was applied and the app's pods, and writes it when it says
/// something new (coalesced while a rollout runs, see `status_writes`).
async fn report_status(
    app: &MarathonApp,
    versions: &Versions,
    applied: &children::Applied,
    warnings: Vec<String>,
    ctx: &Context,
    now: Timestamp,
) -> Result<Action, Error> {
    let pods = ctx.pods_of(&app.namespace().unwrap_or_default(), &applied.base_name);
    let observation = status::Observation {
        app_id: &app.spec.id,
        app_uid: &app.uid().unwrap_or_default(),
        generation: app.meta().generation,
        has_health_checks: app.spec.health_checks.as_ref().is_some_and(|h| !h.is_empty()),
        version: &versions.version,
        version_info: version_info(versions),
        workload: applied.workload.clone(),
        pods: &pods,
        restart: app.annotations().get(ANNOTATION_RESTART).map(String::as_str),
        selector: names::selector_string(&applied.base_name),
        warnings,
        untranslated: app.spec.unknown_fields(),
        now,
    };
    let status = status::build(app.status.as_ref(), observation);
    let key = memory::key_of(app);
    let rolling_out = status.deployment.is_some();
    let writes = &ctx.memory.status_writes;
    let cached_version = app.resource_version().unwrap_or_default();
    if writes.cache_behind(&key, &cached_version) {
        // The watch brings the last write in moments, and with it another look.
        return Ok(Action::requeue(crate::controllers::cache::SETTLE));
    }
    match writes.decide(&key, app.status.as_ref(), &status, Instant::now()) {
        StatusWrite::Skip => {}
        StatusWrite::Later(wait) => return Ok(Action::requeue(wait)),
        StatusWrite::Now => {
            let stored = patch_status(app, ctx, &status).await?;
            writes.written(&key, rolling_out, Instant::now());
            writes.unseen(&key, &cached_version, stored.as_deref());
        }
    }
    // A converged app waits for a change (or its turn in the periodic resync).
    let next = rolling_out.then_some(ctx.config.status_interval);
    let settle = crate::controllers::cache::SETTLE;
    let next = if applied.settling { Some(next.map_or(settle, |n| n.min(settle))) } else { next };
    Ok(next.map_or_else(Action::await_change, Action::requeue))
}

/// The app's version state: from memory while its spec is the one last recorded, else
/// recorded (or found) in its ControllerRevisions (the watch-fed cache: no LIST).
async fn record_version(
    app: &MarathonApp,
    ctx: &Context,
    now: Timestamp,
) -> Result<Versions, Error> {
    let key = memory::key_of(app);
    let uid = app.uid().unwrap_or_default();
    let spec = crate::controllers::cache::fingerprint(&app.spec);
    let known = ctx.memory.versions.with(|known| {
        known.get(&key).filter(|r| r.uid == uid && r.spec == spec).map(|r| r.versions.clone())
    });
    if let Some(versions) = known {
        return Ok(versions);
    }
    let namespace = app.namespace().unwrap_or_default();
    let history = ctx.caches.history_of(&namespace, &app.name_any(), &uid);
    let versions =
        versions::record(&ctx.client, app, history, ctx.config.max_revisions, now).await?;
    let recorded = RecordedVersions { uid, spec, versions: versions.clone() };
    ctx.memory.versions.with(|known| known.insert(key, recorded));
    Ok(versions)
}

/// Writes the status; returns the app's `resourceVersion` after the write.
async fn patch_status(
    app: &MarathonApp,
    ctx: &Context,
    status: &MarathonAppStatus,
) -> Result<Option<String>, Error> {
    crate::controllers::apply::apply_status(&ctx.client, app, status).await
}

/// Replaces the spec with the one recorded for `version` and drops the request, in one
/// patch. The spec change is then reconciled (and recorded as a new version) as usual.
async fn rollback(app: &MarathonApp, version: &str, ctx: &Context) -> Result<Action, Error> {
    let namespace = app.namespace().unwrap_or_default();
    let history =
        ctx.caches.history_of(&namespace, &app.name_any(), &app.uid().unwrap_or_default());
    let Some(spec) = versions::spec_of(&history, version) else {
        let message = format!("version {version} is not in the app's history");
        ctx.events.publish(app, EventType::Warning, "UnknownVersion", &message).await;
        return Err(Error::UnknownVersion(version.to_owned()));
    };
    let api: Api<MarathonApp> = Api::namespaced(ctx.client.clone(), &namespace);
    // Replace the spec and drop the request in one patch.
    let mut patch = crate::controllers::apply::remove_annotation(ANNOTATION_ROLLBACK_TO, None);
    patch.0.insert(
        0,
        json_patch::PatchOperation::Replace(json_patch::ReplaceOperation {
            path: json_patch::jsonptr::PointerBuf::from_tokens(["spec"]),
            value: spec,
        }),
    );
    api.patch(&app.name_any(), &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .map_err(Error::Rollback)?;
    ctx.events
        .publish(
            app,
            EventType::Normal,
            "RolledBack",
            &format!("definition of version {version} restored"),
        )
        .await;
    Ok(Action::await_change())
}

/// After an app is gone: its workload went through garbage collection (owner references);
/// claims that hold data stay unless the user asked for them to go, and an Event says which.
///
/// This runs on the watch's delete event rather than behind a finalizer, so deleting an app
/// (or its namespace) never hangs on the operator: if the operator is down at that moment the
/// claims simply stay, which is the safe side.
pub async fn deleted(app: &MarathonApp, ctx: &Context) -> Result<(), Error> {
    let namespace = app.namespace().unwrap_or_default();
    let selector = format!("{}={}", names::LABEL_APP, children::base_name(app));
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &namespace);
    let found = claims
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::List { kind: "PersistentVolumeClaim".into(), source })?;
    let claim_names: Vec<String> = found.items.iter().map(|c| c.name_any()).collect();
    if claim_names.is_empty() {
        return Ok(());
    }
    let delete = app.annotations().get(ANNOTATION_DELETE_VOLUMES).is_some_and(|v| v == "true");
    if delete {
        for name in &claim_names {
            crate::controllers::delete_ignoring_missing(&claims, name, "PersistentVolumeClaim")
                .await?;
        }
        let note =
            format!("deleted PersistentVolumeClaims as requested: {}", claim_names.join(", "));
        ctx.events.publish(app, EventType::Normal, "VolumesDeleted", &note).await;
    } else {
        let note = format!(
            "kept PersistentVolumeClaims holding the app's data: {} (annotate the app with {ANNOTATION_DELETE_VOLUMES}=\"true\" before deleting it to remove them)",
            claim_names.join(", ")
        );
        ctx.events.publish(app, EventType::Normal, "VolumesKept", &note).await;
    }
    Ok(())
}

/// The app a pod or child belongs to, from the app label the operator put on it (the watches
/// select what the operator manages; the caches keep no owner references): its change wakes
/// its app's reconcile.
pub fn app_of<K: MetaValues>(object: &K) -> Option<ObjectRef<DeserializeGuard<MarathonApp>>> {
    Some(ObjectRef::new(object.app_label()?).within(&object.namespace()?))
}
