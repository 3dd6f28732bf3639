//! What the app controller remembers per app between reconciles, so a reconcile that finds
//! nothing to do makes no API calls: the versions last recorded, what was last applied, the
//! failure count, and when status was last written during a rollout. Everything is keyed by
//! app (`namespace/name`) and released when the app is deleted; the sizes are a metric.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::ResourceExt;

use super::backoff::Backoff;
use super::cache::AppliedMemory;
use super::marathon_app::status_writes::StatusWrites;
use crate::crd::MarathonApp;
use crate::marathon::versions::Versions;
use crate::metrics::Metrics;

/// An app's key in every table: `namespace/name`.
pub fn app_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

pub fn key_of(app: &impl ResourceExt) -> String {
    app_key(&app.namespace().unwrap_or_default(), &app.name_any())
}

/// A table of one value per app.
pub struct PerApp<V> {
    entries: Mutex<HashMap<String, V>>,
}

impl<V> Default for PerApp<V> {
    fn default() -> Self {
        Self { entries: Mutex::default() }
    }
}

impl<V> PerApp<V> {
    /// Runs `f` on the table, locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, V>) -> T) -> T {
        f(&mut self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn remove(&self, key: &str) {
        self.with(|entries| entries.remove(key));
    }

    pub fn retain(&self, keep: &dyn Fn(&str) -> bool) {
        self.with(|entries| entries.retain(|key, _| keep(key)));
    }

    pub fn len(&self) -> usize {
        self.with(|entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The versions last recorded for an app, and for which uid and spec (fingerprint).
#[derive(Clone)]
pub struct RecordedVersions {
    pub uid: String,
    pub spec: u64,
    pub versions: Versions,
}

/// Every per-app table of the app controller, shared by all scopes.
pub struct AppMemory {
    pub versions: PerApp<RecordedVersions>,
    pub applied: AppliedMemory,
    pub backoff: Backoff,
    pub status_writes: StatusWrites,
}

impl AppMemory {
    pub fn new(status_interval: Duration) -> Self {
        Self {
            versions: PerApp::default(),
            applied: AppliedMemory::default(),
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            status_writes: StatusWrites::new(status_interval),
        }
    }

    /// Drops everything remembered about the app `key`.
    pub fn forget(&self, key: &str) {
        self.versions.remove(key);
        self.applied.forget_app(key);
        self.backoff.reset(key);
        self.status_writes.forget(key);
    }

    /// Drops what is remembered about apps that no longer exist (a deletion the watch's
    /// lossy change stream skipped, or a reconcile that finished after the deletion).
    pub fn retain(&self, exists: &dyn Fn(&str) -> bool) {
        self.versions.retain(exists);
        self.applied.retain_apps(exists);
        self.backoff.retain(exists);
        self.status_writes.retain(exists);
    }

    /// Publishes the table sizes (`controller_memory_entries{table}`).
    pub fn report(&self, metrics: &Metrics) {
        metrics.set_table_size("versions", self.versions.len());
        metrics.set_table_size("applied", self.applied.len());
        metrics.set_table_size("backoff", self.backoff.len());
        metrics.set_table_size("status_writes", self.status_writes.len());
    }

    /// Whether the app has anything remembered (for tests of the release).
    pub fn knows(&self, app: &MarathonApp) -> bool {
        let key = key_of(app);
        self.versions.with(|v| v.contains_key(&key))
            || self.applied.knows_app(&key)
            || self.status_writes.knows(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_an_app_empties_every_table() {
        let memory = AppMemory::new(Duration::from_secs(10));
        let key = app_key("ns", "web");
        memory.applied.remember(&key, "Service", "web", 1, Some("1".into()));
        memory.backoff.next_delay(&key);
        memory.versions.with(|v| {
            v.insert(
                key.clone(),
                RecordedVersions {
                    uid: "u".into(),
                    spec: 1,
                    versions: Versions {
                        version: "v".into(),
                        last_scaling_at: "v".into(),
                        last_config_change_at: "v".into(),
                        all: vec!["v".into()],
                    },
                },
            )
        });
        memory.status_writes.defer(&key, std::time::Instant::now());
        let metrics = Metrics::default();
        memory.report(&metrics);
        assert!(metrics.encode().contains("controller_memory_entries{table=\"versions\"} 1"));
        memory.forget(&key);
        memory.report(&metrics);
        for table in ["versions", "applied", "backoff", "status_writes"] {
            let line = format!("controller_memory_entries{{table=\"{table}\"}} 0");
            assert!(metrics.encode().contains(&line), "{table} not released");
        }
    }

    #[test]
    fn retain_drops_the_apps_that_are_gone() {
        let memory = AppMemory::new(Duration::from_secs(10));
        memory.backoff.next_delay("ns/gone");
        memory.backoff.next_delay("ns/kept");
        memory.applied.remember("ns/gone", "Service", "gone", 1, Some("1".into()));
        memory.retain(&|key| key == "ns/kept");
        assert_eq!((memory.backoff.len(), memory.applied.len()), (1, 0));
    }
}
