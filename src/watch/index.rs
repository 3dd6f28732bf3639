//! Objects by app: the watch keeps an index of names per `(namespace, app label)`, so the
//! pods or versions of one app are found without scanning every object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use std::hash::Hash;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::ResourceExt;

use crate::marathon::cached::MetaValues;

type Key = (String, String);

type Names = HashMap<Key, BTreeSet<String>>;

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

fn insert<K: MetaValues>(names: &mut Names, pod: &K) {
    if let Some((key, name)) = key_of(pod) {
        names.entry(key).or_default().insert(name);
    }
}

fn key_of<K: MetaValues>(pod: &K) -> Option<(Key, String)> {
    let app = pod.app_label()?.to_owned();
    Some(((pod.namespace()?, app), pod.name_any()))
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
                    set.remove(&name);
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
        let Some(set) = names.get(&(namespace.to_owned(), app.to_owned())) else {
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
