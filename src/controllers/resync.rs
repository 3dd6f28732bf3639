//! The periodic look at every app, spread evenly over the period: one slice of the store per
//! tick. A timer per app (`Action::requeue`) would keep an entry in the controller's
//! scheduler for every converged app, about 0.75 KB each (heaptrack at 400 apps); this keeps
//! nothing per app, and a resync never arrives as one burst.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::time::MissedTickBehavior;
use tokio_stream::wrappers::IntervalStream;

/// Ticks per period: each tick looks at the apps whose key falls in its slice.
const SLICES: u64 = 300;

/// Every object of `store` once per `period`, a slice at a time (the first slice one tick
/// after the start, so a start's own look at every app is not doubled).
pub fn trickle<K>(store: Store<K>, period: Duration) -> impl Stream<Item = ObjectRef<K>> + Send
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let tick = period / SLICES as u32;
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    // A late tick (a busy runtime) looks at its slice once, not at every missed one at once.
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    IntervalStream::new(interval)
        .zip(futures::stream::iter((0..SLICES).cycle()))
        .flat_map(move |(_, slice)| futures::stream::iter(due(&store, slice)))
}

/// The objects whose look falls in `slice` (a reference is made for those only).
fn due<K>(store: &Store<K>, slice: u64) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let objects = store.state();
    let in_slice = |object: &&std::sync::Arc<K>| {
        let meta = object.meta();
        slice_of(meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default()) == slice
    };
    objects.iter().filter(in_slice).map(|object| ObjectRef::from_obj(object.as_ref())).collect()
}

/// The slice an object's periodic look falls in: a hash of its namespace and name, the same
/// for every tick of this process.
fn slice_of(namespace: Option<&str>, name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (namespace, name).hash(&mut hasher);
    hasher.finish() % SLICES
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    use super::*;

    fn store_of(count: usize) -> Store<ConfigMap> {
        let (reader, mut writer) = reflector::store();
        for i in 0..count {
            let metadata = ObjectMeta {
                name: Some(format!("app-{i}")),
                namespace: Some(format!("ns-{}", i % 3)),
                ..ObjectMeta::default()
            };
            writer
                .apply_watcher_event(&Event::Apply(ConfigMap { metadata, ..ConfigMap::default() }));
        }
        reader
    }

    /// A short period keeps the test quick; nothing below depends on how fast ticks come.
    const QUICK: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn every_object_is_looked_at_once_per_period() {
        let looks: Vec<ObjectRef<ConfigMap>> =
            trickle(store_of(1000), QUICK).take(1000).collect().await;
        let mut times: HashMap<ObjectRef<ConfigMap>, usize> = HashMap::new();
        for reference in looks {
            *times.entry(reference).or_default() += 1;
        }
        assert_eq!(times.len(), 1000, "every object once");
        assert!(times.values().all(|&n| n == 1));
    }

    #[test]
    fn each_object_falls_in_one_slice_and_the_slices_are_even() {
        let store = store_of(3000);
        let mut times: HashMap<ObjectRef<ConfigMap>, usize> = HashMap::new();
        let mut busiest = 0;
        for slice in 0..SLICES {
            let looks = due(&store, slice);
            busiest = busiest.max(looks.len());
            for reference in looks {
                *times.entry(reference).or_default() += 1;
            }
        }
        assert_eq!(times.len(), 3000, "every object in some slice");
        assert!(times.values().all(|&n| n == 1), "no object in two slices");
        // 3,000 objects over 300 slices: about 10 a tick, never a burst of the whole store.
        assert!(busiest <= 30, "{busiest} looks in one tick");
    }

    #[tokio::test]
    async fn an_object_added_later_is_looked_at() {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut looks = trickle(reader, QUICK).boxed();
        let metadata = ObjectMeta {
            name: Some("late".into()),
            namespace: Some("ns".into()),
            ..ObjectMeta::default()
        };
        writer.apply_watcher_event(&Event::Apply(ConfigMap { metadata, ..ConfigMap::default() }));
        // Within one period; the bound only keeps a broken trickle from hanging the test.
        let first = tokio::time::timeout(Duration::from_secs(60), looks.next()).await;
        assert_eq!(first.ok().flatten().map(|r| r.name), Some("late".to_owned()));
    }
}
