//! Keeps Marathon-era DNS names resolving: writes a ConfigMap for CoreDNS (server blocks and
//! zone files, `marathon::dns`) that maps every MarathonApp's Mesos-DNS, VIP and auto-IP names
//! to its Services, and rewrites it as apps and Services come and go.
//!
//! Runs on the leader beside the app controllers, on the same watch caches. The ConfigMap is
//! server-side applied with a field manager of its own, so it can share a ConfigMap such as
//! `coredns-custom` with keys other tools own. It has no owner: it gathers every namespace's
//! apps (deleting one app must not delete it). Two apps deriving one name are reported as a
//! `DnsNameConflict` Warning Event on the app that does not get it, and in the zone file.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Client, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::crd::{DnsNameKind, MarathonApp};
use crate::events::Events;
use crate::marathon::dns::{self, AppKey, Claim, Conflict, Published};
use crate::translate::names::{LABEL_MANAGED_BY, MANAGER, stable_hash};
use crate::watch::{Caches, Watches};

/// Field manager of the DNS ConfigMap (its keys only).
pub const FIELD_MANAGER: &str = "marathon-operator-dns";
/// Annotations recording what the ConfigMap holds (a hash of its records) and its zone serial.
pub const ANNOTATION_CONTENT: &str = "marathon-operator.dev/dns-content";
pub const ANNOTATION_SERIAL: &str = "marathon-operator.dev/dns-serial";
/// A burst of changes (an app, its Services, its pods) becomes one rewrite.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// Changes the lossy change streams skipped are caught up this often.
const RESYNC: Duration = Duration::from_secs(300);

/// What the DNS controller is told from the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsConfig {
    /// Name families of apps that do not choose (`spec.kubernetes.dnsNames`).
    pub kinds: BTreeSet<DnsNameKind>,
    /// Where the configuration goes (CoreDNS mounts it).
    pub namespace: String,
    pub config_map: String,
    /// The cluster's DNS domain (Service names are `<svc>.<ns>.svc.<domain>`).
    pub cluster_domain: String,
    /// Where CoreDNS mounts the ConfigMap (the server blocks name the zone files there).
    pub zone_dir: String,
    /// How often CoreDNS looks for a new zone serial.
    pub reload_seconds: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("failed to read ConfigMap {0}")]
    Read(String, #[source] kube::Error),
    #[error("failed to apply ConfigMap {0}")]
    Apply(String, #[source] kube::Error),
}

/// Rewrites the DNS configuration whenever an app or Service changes, until `shutdown`.
pub async fn run(
    client: Client,
    watches: Watches,
    config: DnsConfig,
    events: Events,
    shutdown: CancellationToken,
) {
    watches.wait_until_ready().await;
    let triggers = watches.scopes.iter().flat_map(|scope| {
        let changes = &scope.changes;
        [
            super::changes(&changes.apps).map(drop).boxed(),
            super::changes(&changes.deleted_apps).map(drop).boxed(),
            super::changes(&changes.services).map(drop).boxed(),
        ]
    });
    let mut triggers = futures::stream::select_all(triggers);
    let mut resync = tokio::time::interval(RESYNC);
    let mut reported = HashSet::new();
    info!(config_map = %format!("{}/{}", config.namespace, config.config_map), "DNS names controller started");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = resync.tick() => {},
            Some(()) = triggers.next() => {
                tokio::time::sleep(DEBOUNCE).await;
                // Everything that arrived meanwhile is covered by this one sync.
                while futures::FutureExt::now_or_never(triggers.next()).flatten().is_some() {}
            }
        }
        if let Err(error) = sync(&client, &watches, &config, &events, &mut reported).await {
            warn!(error = %crate::telemetry::error_chain(&error), "DNS names not written; retried on the next change");
        }
    }
}

/// The claims of every app the caches hold, limited to names whose Service exists.
fn claims(scopes: &[Caches], config: &DnsConfig) -> (Vec<Claim>, BTreeMap<AppKey, MarathonApp>) {
    let mut claims = Vec::new();
    let mut apps = BTreeMap::new();
    for scope in scopes {
        let services: HashSet<(String, String)> = scope
            .services
            .state()
            .iter()
            .map(|s| (s.namespace().unwrap_or_default(), s.name_any()))
            .collect();
        for guard in scope.apps.state() {
            let Ok(app) = guard.0.as_ref() else { continue };
            let namespace = app.namespace().unwrap_or_default();
            let kinds = dns::kinds_of(app, &config.kinds);
            let records = dns::app_records(app, &namespace, &kinds, &config.cluster_domain)
                .into_iter()
                .filter(|r| services.contains(&(namespace.clone(), r.service.clone())))
                .collect();
            let key = AppKey { namespace, name: app.name_any(), id: app.spec.id.clone() };
            let created = app.meta().creation_timestamp.as_ref().map(|t| t.0.to_string());
            apps.insert(key.clone(), app.clone());
            claims.push(Claim { app: key, created, records });
        }
    }
    (claims, apps)
}

#[instrument(skip_all)]
async fn sync(
    client: &Client,
    watches: &Watches,
    config: &DnsConfig,
    events: &Events,
    reported: &mut HashSet<Conflict>,
) -> Result<(), DnsError> {
    let (claims, apps) = claims(&watches.scopes, config);
    let published = dns::resolve(claims);
    report_conflicts(&published, &apps, events, reported).await;
    write(client, config, &published).await
}

/// Each conflict once: a log line, and one Warning Event per app that does not get names
/// (listing them all: Events about one object and reason are merged into a series).
async fn report_conflicts(
    published: &Published,
    apps: &BTreeMap<AppKey, MarathonApp>,
    events: &Events,
    reported: &mut HashSet<Conflict>,
) {
    reported.retain(|c| published.conflicts.contains(c));
    let mut refused: BTreeMap<&AppKey, Vec<&Conflict>> = BTreeMap::new();
    for conflict in &published.conflicts {
        if reported.insert(conflict.clone()) {
            warn!(%conflict, "two apps derive one DNS name");
            refused.entry(&conflict.refused).or_default().push(conflict);
        }
    }
    for (key, conflicts) in refused {
        let Some(app) = apps.get(key) else { continue };
        let names: Vec<String> =
            conflicts.iter().map(|c| format!("{} (kept by {})", c.name, c.kept)).collect();
        let note = format!("DNS names not published, other apps derive them: {}", names.join(", "));
        events.publish(app, EventType::Warning, "DnsNameConflict", &note).await;
    }
}

/// Applies the configuration when its records differ from what the ConfigMap holds.
async fn write(client: &Client, config: &DnsConfig, published: &Published) -> Result<(), DnsError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &config.namespace);
    let shown = format!("{}/{}", config.namespace, config.config_map);
    let content = content_hash(published, config);
    let current =
        api.get_opt(&config.config_map).await.map_err(|e| DnsError::Read(shown.clone(), e))?;
    let annotation = |key: &str| current.as_ref().and_then(|c| c.annotations().get(key).cloned());
    if annotation(ANNOTATION_CONTENT).as_deref() == Some(content.as_str()) {
        return Ok(());
    }
    let previous = annotation(ANNOTATION_SERIAL).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    let serial = next_serial(previous);
    let data = dns::config_data(published, serial, &config.zone_dir, config.reload_seconds);
    let object = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config.config_map,
            "namespace": config.namespace,
            "labels": { LABEL_MANAGED_BY: MANAGER },
            "annotations": { ANNOTATION_CONTENT: content, ANNOTATION_SERIAL: serial.to_string() },
        },
        "data": data,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&config.config_map, &params, &Patch::Apply(&object))
        .await
        .map_err(|e| DnsError::Apply(shown.clone(), e))?;
    info!(config_map = %shown, serial, records = published.records.len(), conflicts = published.conflicts.len(), "DNS names written");
    Ok(())
}

/// What the zones say, without their serial.
fn content_hash(published: &Published, config: &DnsConfig) -> String {
    let data = dns::config_data(published, 0, &config.zone_dir, config.reload_seconds);
    let text: String = data.into_iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    stable_hash(&text)
}

/// A zone serial that only grows: the current Unix time, or one more than the last.
fn next_serial(previous: u32) -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0);
    now.max(previous.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_only_grow() {
        let now = next_serial(0);
        assert!(now > 1_700_000_000);
        assert_eq!(next_serial(now + 10), now + 11);
    }
}
