//! Objects by app: the watch keeps an index of names per `(namespace, app label)`, so the
//! pods or versions of one app are found without scanning every object.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::hash::Hash;

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use crate::marathon::cached::MetaValues;

/// `namespace/app`: neither a namespace nor a label value contains `/`.
type Key = Box<str>;

/// The names of one app's objects, sorted. Most apps have one object of a kind (a pod per
/// instance): a vector of one costs a fraction of a `BTreeSet`'s node, and there is an entry
/// per app in each of seven indexes.
type Names = HashMap<Key, Vec<Box<str>>>;

fn key(namespace: &str, app: &str) -> Key {
    format!("{namespace}/{app}").into_boxed_str()
}

pub struct AppIndex<K> {
    names: Arc<RwLock<Names>>,
    /// Built during a relist, swapped in when it is complete (as the store does).
    relisting: Arc<RwLock<Option<Names>>>,
    kind: std::marker::PhantomData<fn() -> K>,
}

impl<K> Clone for AppIndex<K> {
    fn clone(&self) -> Self {
        Self { names: self.names.clone(), relisting: self.relisting.clone(), kind: self.kind }
    }
}

impl<K> Default for AppIndex<K> {
    fn default() -> Self {
        Self { names: Arc::default(), relisting: Arc::default(), kind: std::marker::PhantomData }
    }
}

fn insert<K: MetaValues>(names: &mut Names, object: &K) {
    if let Some((key, name)) = key_of(object) {
        let names = names.entry(key).or_default();
        if let Err(at) = names.binary_search(&name) {
            names.insert(at, name);
            // A first push reserves four; one name per app is the common case.
            names.shrink_to_fit();
        }
    }
}

fn key_of<K: MetaValues>(object: &K) -> Option<(Key, Box<str>)> {
    let app = object.app_label()?;
    Some((key(object.meta().namespace.as_deref()?, app), object.name_any().into_boxed_str()))
}

impl<K> AppIndex<K>
where
    K: MetaValues + Clone + 'static,
    K::DynamicType: Default + Eq + Hash + Clone,
{
    /// Follows the watch, as the pod store does.
    pub fn observe(&self, event: &watcher::Event<K>) {
        let mut relisting = self.relisting.write().unwrap_or_else(|p| p.into_inner());
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        match event {
            watcher::Event::Init => *relisting = Some(Names::new()),
            watcher::Event::InitApply(pod) => insert(relisting.get_or_insert_with(Names::new), pod),
            watcher::Event::InitDone => *names = relisting.take().unwrap_or_default(),
            watcher::Event::Apply(pod) => insert(&mut names, pod),
            watcher::Event::Delete(pod) => {
                if let Some((key, name)) = key_of(pod)
                    && let Some(set) = names.get_mut(&key)
                {
                    set.retain(|kept| *kept != name);
                    if set.is_empty() {
                        names.remove(&key);
                    }
                }
            }
        }
    }

    /// The cached objects of one app.
    pub fn of_app(&self, store: &Store<K>, namespace: &str, app: &str) -> Vec<Arc<K>> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        let Some(set) = names.get(&key(namespace, app)) else {
            return Vec::new();
        };
        set.iter().filter_map(|name| store.get(&ObjectRef::new(name).within(namespace))).collect()
    }

    /// Number of apps with objects (for the memory metric and tests).
    pub fn len(&self) -> usize {
        self.names.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::pod::CachedPod;
    use crate::translate::names::LABEL_APP;
    use kube::runtime::reflector;

    fn pod(name: &str, app: &str) -> CachedPod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": name, "namespace": "ns",
            "labels": {LABEL_APP: app}}}))
        .unwrap()
    }

    #[test]
    fn an_app_finds_its_own_objects_in_name_order_and_loses_deleted_ones() {
        let (store, mut writer) = reflector::store();
        let index = AppIndex::default();
        let mut follow = |event: watcher::Event<CachedPod>| {
            writer.apply_watcher_event(&event);
            index.observe(&event);
        };
        for (name, app) in [("web-b", "web"), ("db-a", "db"), ("web-a", "web"), ("web-b", "web")] {
            follow(watcher::Event::Apply(pod(name, app)));
        }
        let names = |app| -> Vec<String> {
            index.of_app(&store, "ns", app).iter().map(|p| p.name_any()).collect()
        };
        assert_eq!(names("web"), ["web-a", "web-b"]);
        assert_eq!(names("db"), ["db-a"]);
        assert!(index.of_app(&store, "other", "web").is_empty());
        follow(watcher::Event::Delete(pod("web-a", "web")));
        follow(watcher::Event::Delete(pod("db-a", "db")));
        assert_eq!(names("web"), ["web-b"]);
        assert_eq!(index.len(), 1, "an app without objects leaves the index");
    }
}
