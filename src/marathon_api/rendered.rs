//! Rendered `AppInfo` JSON, kept per app while the app and its pods are unchanged.
//!
//! `AppInfo` is a pure function of the cached app and its cached pods (see
//! `crate::marathon::app_json`), so the JSON rendered for one `embed` stays right until one of
//! their `resourceVersion`s changes. Listing 1,000 apps then copies 1,000 ready byte strings
//! instead of building and serialising 1,000 JSON trees on every request.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::marathon::pod::CachedPod;
use axum::body::Bytes;
use kube::api::ObjectMeta;

use crate::crd::MarathonApp;
use crate::marathon::app_json::Embed;

/// What a rendering was made from: the app's and each pod's `resourceVersion`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sources {
    app: Option<String>,
    pods: Vec<(Option<String>, Option<String>)>,
}

fn version(meta: &ObjectMeta) -> Option<&str> {
    meta.resource_version.as_deref()
}

impl Sources {
    fn of(app: &MarathonApp, pods: &[Arc<CachedPod>]) -> Self {
        let owned = |meta: &ObjectMeta| version(meta).map(str::to_owned);
        Self {
            app: owned(&app.metadata),
            pods: pods.iter().map(|pod| (pod.metadata.uid.clone(), owned(&pod.metadata))).collect(),
        }
    }

    /// Compared without copying: this runs on every request.
    fn matches(&self, app: &MarathonApp, pods: &[Arc<CachedPod>]) -> bool {
        self.app.as_deref() == version(&app.metadata)
            && self.pods.len() == pods.len()
            && self.pods.iter().zip(pods).all(|((uid, rv), pod)| {
                uid.as_deref() == pod.metadata.uid.as_deref()
                    && rv.as_deref() == version(&pod.metadata)
            })
    }
}

struct Rendering {
    embed: Embed,
    sources: Sources,
    json: Bytes,
}

/// Renderings by app uid (one per `embed` asked for).
#[derive(Default)]
pub struct Rendered {
    entries: RwLock<HashMap<String, Vec<Rendering>>>,
    /// Apps stored before the next prune is due (twice the live apps of the last one).
    prune_at: AtomicUsize,
}

const MIN_PRUNE_AT: usize = 256;

impl Rendered {
    /// The JSON of `app` with its cached `pods` for `embed`: the stored one while the app and
    /// its pods are the ones it was rendered from, else `render()`'s, stored for next time.
    pub fn get_or_render(
        &self,
        app: &MarathonApp,
        pods: &[Arc<CachedPod>],
        embed: Embed,
        render: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let Some(uid) = app.metadata.uid.as_deref() else { return render() };
        {
            let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
            let stored = entries.get(uid).into_iter().flatten().find(|r| r.embed == embed);
            if let Some(stored) = stored
                && stored.sources.matches(app, pods)
            {
                return stored.json.clone();
            }
        }
        let json = render();
        let rendering = Rendering { embed, sources: Sources::of(app, pods), json: json.clone() };
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let renderings = entries.entry(uid.to_owned()).or_default();
        renderings.retain(|r| r.embed != embed);
        renderings.push(rendering);
        json
    }

    /// Whether enough apps piled up that those deleted since should go.
    pub fn prune_due(&self) -> bool {
        let len = self.entries.read().unwrap_or_else(|p| p.into_inner()).len();
        len > self.prune_at.load(Ordering::Relaxed).max(MIN_PRUNE_AT)
    }

    /// Drops the renderings of apps whose uid is not in `live` (deleted apps).
    pub fn prune<'a>(&self, live: impl IntoIterator<Item = &'a str>) {
        let live: HashSet<&str> = live.into_iter().collect();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|uid, _| live.contains(uid.as_str()));
        self.prune_at.store(live.len() * 2, Ordering::Relaxed);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(uid: &str, version: &str) -> MarathonApp {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
            "metadata": {"name": "web", "namespace": "ns", "uid": uid, "resourceVersion": version},
            "spec": {"id": "/web", "cmd": "sleep 1"},
        }))
        .unwrap()
    }

    fn pod(uid: &str, version: &str) -> Arc<CachedPod> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": uid, "uid": uid, "resourceVersion": version},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_rendering_is_reused_until_the_app_or_a_pod_changes() {
        let rendered = Rendered::default();
        let embed = Embed::default();
        let get = |app: &MarathonApp, pods: &[Arc<CachedPod>], text: &'static str| {
            rendered.get_or_render(app, pods, embed, || Bytes::from(text))
        };
        let v1 = app("u1", "1");
        assert_eq!(get(&v1, &[pod("p1", "5")], "first"), "first");
        assert_eq!(get(&v1, &[pod("p1", "5")], "second"), "first", "unchanged: stored JSON");
        assert_eq!(get(&v1, &[pod("p1", "6")], "pod changed"), "pod changed");
        assert_eq!(get(&v1, &[pod("p1", "6"), pod("p2", "7")], "pod added"), "pod added");
        assert_eq!(get(&v1, &[pod("p2", "7")], "pod gone"), "pod gone");
        assert_eq!(get(&v1, &[pod("p3", "7")], "other pod"), "other pod");
        assert_eq!(get(&app("u1", "2"), &[pod("p3", "7")], "app changed"), "app changed");
        let tasks = Embed { tasks: true, ..Embed::default() };
        let other = rendered.get_or_render(&v1, &[], tasks, || "tasks".into());
        assert_eq!(other, "tasks", "each embed has its own rendering");
        assert_eq!(get(&app("u1", "2"), &[pod("p3", "7")], "again"), "app changed");
        assert_eq!(get(&app("u2", "2"), &[pod("p3", "7")], "another app"), "another app");
    }

    #[test]
    fn prune_drops_deleted_apps_only() {
        let rendered = Rendered::default();
        for uid in ["a", "b", "c"] {
            rendered.get_or_render(&app(uid, "1"), &[], Embed::default(), || "x".into());
        }
        assert!(!rendered.prune_due(), "a few entries are never worth a prune");
        rendered.prune(["a", "c"]);
        assert_eq!(rendered.len(), 2);
        let again = rendered
            .get_or_render(&app("a", "1"), &[], Embed::default(), || "rendered again".into());
        assert_eq!(again, "x", "a live app's rendering survives the prune");
    }
}
