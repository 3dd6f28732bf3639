//! `GET /v2/events`: Marathon's event bus as Server-Sent Events. Every replica derives the
//! events from its own watches (`crate::watch::Changes`), through the pure derivation in
//! `crate::marathon::events`, and fans them out to its subscribers. Each subscriber has a
//! bounded buffer; one that falls behind by a full buffer is disconnected (Marathon's
//! `--event_stream_max_outstanding_messages`), so a slow reader never slows the others nor
//! makes memory grow. `/v2/eventSubscriptions` answers as a Marathon without HTTP callbacks.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::marathon::pod::CachedPod;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{debug, info};

use super::FacadeState;
use super::error::ApiError;
use super::openapi::{Route, op};
use super::query::Query;
use crate::crd::MarathonApp;
use crate::marathon::cached::MetaValues;
use crate::marathon::deployments::GroupMark;
use crate::marathon::events::{
    Event, GroupProgress, TaskContext, app_events, stream_event, task_events,
};
use crate::marathon::versions::format_version;
use crate::watch::{Caches, Watches};

/// Marathon's default `--event_stream_max_outstanding_messages`.
pub const DEFAULT_SUBSCRIBER_BUFFER: usize = 1024;
/// How often an idle stream gets a keep-alive comment (marathon-lb gives up on a stream that
/// sends less than a byte per 300 s; Jetty beats every 10 s).
const KEEP_ALIVE: Duration = Duration::from_secs(10);

pub fn routes() -> Vec<Route> {
    let callbacks = |method| {
        op(
            method,
            "/v2/eventSubscriptions",
            "HTTP callback subscriptions (disabled)",
            &[(400, "Callbacks are disabled (Marathon without --event_subscriber http_callback)")],
        )
        .query(&["callbackUrl"])
    };
    vec![
        Route::new("/v2/events", get(stream)).serves(
            op(
                Method::GET,
                "/v2/events",
                "The event stream (Server-Sent Events)",
                &[(200, "text/event-stream"), (405, "Accept is not text/event-stream")],
            )
            .query(&["event_type", "plan-format"]),
        ),
        Route::new(
            "/v2/eventSubscriptions",
            get(callbacks_disabled).post(callbacks_disabled).delete(callbacks_disabled),
        )
        .serves(callbacks(Method::GET))
        .serves(callbacks(Method::POST))
        .serves(callbacks(Method::DELETE)),
    ]
}

/// The event bus of one facade: its subscribers and the task deriving events from watches.
#[derive(Clone)]
pub struct EventStream {
    hub: Arc<Hub>,
}

struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
    buffer: AtomicUsize,
    dropped: AtomicU64,
    /// Stops the derivation task when the last handle goes.
    _stop: DropGuard,
}

struct Subscriber {
    id: u64,
    remote: String,
    /// Event types asked for; `None`: all.
    filter: Option<HashSet<String>>,
    sender: mpsc::Sender<Bytes>,
}

impl EventStream {
    /// An event stream fed by `watches` (its derivation runs on the current tokio runtime;
    /// without one, only events published directly are delivered).
    pub fn start(watches: &Watches) -> Self {
        let (stream, stop) = Self::unfed();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            for scope in &watches.scopes {
                let ready = watches.clone();
                let hub = Arc::downgrade(&stream.hub);
                runtime.spawn(derive(hub, scope.clone(), ready, stop.clone()));
            }
        }
        stream
    }

    /// A bus fed only by [`EventStream::publish`] (benchmarks).
    pub fn without_watches() -> Self {
        Self::unfed().0
    }

    /// A bus without derivation (and the token that stops whatever feeds it).
    fn unfed() -> (Self, CancellationToken) {
        let stop = CancellationToken::new();
        let hub = Arc::new(Hub {
            subscribers: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            buffer: AtomicUsize::new(DEFAULT_SUBSCRIBER_BUFFER),
            dropped: AtomicU64::new(0),
            _stop: stop.clone().drop_guard(),
        });
        (Self { hub }, stop)
    }

    /// Sets how many events a subscriber may fall behind before it is disconnected.
    pub fn set_subscriber_buffer(&self, events: usize) {
        self.hub.buffer.store(events.max(1), Ordering::Relaxed);
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        lock(&self.hub.subscribers).len()
    }

    /// Subscribers disconnected for falling behind, since the start.
    pub fn dropped(&self) -> u64 {
        self.hub.dropped.load(Ordering::Relaxed)
    }

    /// Delivers `event` to every subscriber that wants it, without waiting for any.
    pub fn publish(&self, event: &Event) {
        self.hub.publish(event.clone());
    }

    /// Attaches a subscriber at `remote` wanting the event types in `filter` (all: `None`).
    pub fn subscribe(&self, remote: String, filter: Option<HashSet<String>>) -> Subscription {
        let (sender, receiver) = mpsc::channel(self.hub.buffer.load(Ordering::Relaxed));
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.hub.subscribers).push(Subscriber { id, remote: remote.clone(), filter, sender });
        self.hub.publish(stream_event(true, &remote, &now()));
        Subscription { receiver, _detach: Detach { hub: Arc::downgrade(&self.hub), id, remote } }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> String {
    format_version(Timestamp::now())
}

impl Hub {
    /// Sends to every subscriber; a full buffer disconnects that subscriber, which is itself
    /// an event (`event_stream_detached`) for the others.
    fn publish(&self, event: Event) {
        let mut pending = VecDeque::from([event]);
        while let Some(event) = pending.pop_front() {
            let frame = Bytes::from(event.frame());
            let mut subscribers = lock(&self.subscribers);
            subscribers.retain(|subscriber| {
                if subscriber.filter.as_ref().is_some_and(|f| !f.contains(event.event_type)) {
                    return true;
                }
                match subscriber.sender.try_send(frame.clone()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        info!(remote = %subscriber.remote, "event subscriber fell behind; disconnected");
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        pending.push_back(stream_event(false, &subscriber.remote, &now()));
                        false
                    }
                    // Its connection is closing; `Detach` reports it.
                    Err(mpsc::error::TrySendError::Closed(_)) => true,
                }
            });
        }
    }
}

/// One subscriber's end: its buffer, and the guard that reports its departure (on drop).
pub struct Subscription {
    receiver: mpsc::Receiver<Bytes>,
    _detach: Detach,
}

impl Subscription {
    /// The next framed event; `None` once the bus dropped this subscriber.
    pub async fn next(&mut self) -> Option<Bytes> {
        self.receiver.recv().await
    }
}

struct Detach {
    hub: Weak<Hub>,
    id: u64,
    remote: String,
}

impl Drop for Detach {
    fn drop(&mut self) {
        let Some(hub) = self.hub.upgrade() else { return };
        let removed = {
            let mut subscribers = lock(&hub.subscribers);
            let before = subscribers.len();
            subscribers.retain(|s| s.id != self.id);
            subscribers.len() < before
        };
        // A subscriber the hub dropped was reported then.
        if removed {
            hub.publish(stream_event(false, &self.remote, &now()));
        }
    }
}

// ----- the HTTP side ---------------------------------------------------------------------------

/// Marathon answers only clients that accept `text/event-stream`.
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
        })
    })
}

/// The client's address: the connection's peer when the server records it, else what a
/// proxy in front says.
pub(super) fn remote_address(extensions: &Extensions, headers: &HeaderMap) -> String {
    if let Some(ConnectInfo(addr)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        return addr.ip().to_string();
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}

async fn stream(
    State(state): State<FacadeState>,
    headers: HeaderMap,
    extensions: Extensions,
    query: Query,
) -> Result<Response, ApiError> {
    if !accepts_event_stream(&headers) {
        return Err(ApiError::NotAnEventStreamRequest);
    }
    let types = query.all("event_type");
    let filter = (!types.is_empty()).then(|| types.into_iter().map(str::to_owned).collect());
    // `plan-format` (light/full) is accepted and ignored, as Marathon 1.8+ does.
    let remote = remote_address(&extensions, &headers);
    debug!(%remote, "event stream attached");
    let subscription = state.event_stream().subscribe(remote, filter);
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = futures::stream::unfold((subscription, keep_alive), |(mut sub, mut tick)| async {
        let chunk = tokio::select! {
            frame = sub.receiver.recv() => frame?,
            _ = tick.tick() => Bytes::from_static(b":\r\n"),
        };
        Some((Ok::<_, Infallible>(chunk), (sub, tick)))
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream;charset=UTF-8"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}

/// Marathon without the HTTP callback subscriber answers every `/v2/eventSubscriptions` call
/// this way.
async fn callbacks_disabled() -> Response {
    let message = "http event callback system is not running on this Marathon instance. \
                   Please re-start this instance with \"--event_subscriber http_callback\".";
    (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({ "message": message }))).into_response()
}

// ----- deriving events from the watches ------------------------------------------------------

type Key = (String, String);

fn key_of<K: kube::Resource>(object: &K) -> Key {
    (object.namespace().unwrap_or_default(), object.name_any())
}

/// A cached MarathonApp entry (the store's own `Arc`, shared, never copied).
type AppEntry = Arc<DeserializeGuard<MarathonApp>>;

/// What the derivation remembers: the objects as last seen (events are differences). It holds
/// the caches' own `Arc`s (the change channels carry them), so remembering costs no copy.
#[derive(Default)]
struct Seen {
    /// Readable apps only.
    apps: HashMap<Key, AppEntry>,
    pods: HashMap<Key, Arc<CachedPod>>,
    /// App id and first health check of deleted apps whose pods are not all gone yet (pods
    /// outlive their app briefly); a live app's are read from `apps`.
    departed: HashMap<Key, (String, Option<Value>)>,
    /// What was said of each group deployment.
    groups: GroupProgress,
}

/// The app of an entry `Seen` keeps (only readable ones are kept).
fn readable(entry: &AppEntry) -> Option<&MarathonApp> {
    entry.0.as_ref().ok()
}

impl Seen {
    fn of(caches: &Caches) -> Self {
        let mut seen = Self::default();
        for entry in caches.apps.state() {
            seen.remember_app(entry);
        }
        for pod in caches.pods.state() {
            seen.pods.insert(key_of(pod.as_ref()), pod);
        }
        let mut groups = GroupProgress::default();
        groups.remember(&seen.app_list());
        seen.groups = groups;
        seen
    }

    fn app_list(&self) -> Vec<&MarathonApp> {
        self.apps.values().filter_map(readable).collect()
    }

    fn remember_app(&mut self, entry: AppEntry) {
        let Some(app) = readable(&entry) else { return };
        let key = key_of(app);
        self.departed.remove(&key);
        self.apps.insert(key, entry);
    }

    /// The app id and first health check the task events of the app `app_key` carry.
    fn task_context_of(&self, app_key: &Key) -> Option<(String, Option<Value>)> {
        let Some(app) = self.apps.get(app_key).and_then(readable) else {
            return self.departed.get(app_key).cloned();
        };
        let checks = app.spec.health_checks.as_ref();
        let check = checks.and_then(|c| c.first()).and_then(|c| serde_json::to_value(c).ok());
        Some((app.spec.id.clone(), check))
    }

    fn app_changed(&mut self, caches: &Caches, entry: AppEntry) -> Vec<Event> {
        let Some(app) = readable(&entry) else { return Vec::new() };
        let key = key_of(app);
        let exists = caches.apps.get(&ObjectRef::new(&key.1).within(&key.0)).is_some();
        let old = self.apps.get(&key).cloned();
        let old_app = old.as_ref().and_then(readable);
        let now = now();
        let mut events = if exists {
            if old_app.is_some_and(|o| o.resource_version() == app.resource_version()) {
                return Vec::new();
            }
            self.remember_app(entry.clone());
            app_events(old_app, Some(app), &now)
        } else {
            if !caches.pods_of(&key.0, &key.1).is_empty() {
                let context = self.task_context_of(&key);
                self.departed.extend(context.map(|context| (key.clone(), context)));
            }
            self.apps.remove(&key);
            let Some(old) = old_app else { return Vec::new() };
            app_events(Some(old), None, &now)
        };
        let new = exists.then_some(app);
        let marked = |a: Option<&MarathonApp>| a.and_then(GroupMark::of).is_some();
        if marked(old_app) || marked(new) {
            let apps: Vec<&MarathonApp> = self.apps.values().filter_map(readable).collect();
            events.extend(self.groups.app_changed(old_app, new, &apps, &now));
        }
        events
    }

    fn pod_changed(&mut self, caches: &Caches, pod: Arc<CachedPod>) -> Vec<Event> {
        let key = key_of(pod.as_ref());
        let exists = caches.pods.get(&ObjectRef::new(&key.1).within(&key.0)).is_some();
        let old = if exists {
            let old = self.pods.insert(key.clone(), pod.clone());
            if old.as_ref().is_some_and(|o| o.resource_version() == pod.resource_version()) {
                return Vec::new();
            }
            old
        } else {
            self.pods.remove(&key)
        };
        let Some(app) = pod.app_label().map(str::to_owned) else { return Vec::new() };
        let app_key = (key.0.clone(), app);
        let Some((id, check)) = self.task_context_of(&app_key) else { return Vec::new() };
        let context = TaskContext { app_id: &id, health_check: check.as_ref() };
        let new = exists.then_some(pod.as_ref());
        let events = task_events(&context, old.as_deref(), new, &now());
        if !exists && !self.apps.contains_key(&app_key) {
            self.forget_if_no_pods(caches, &app_key);
        }
        events
    }

    /// Looks in the pod index (not at every pod): the cache no longer has a deleted pod.
    fn forget_if_no_pods(&mut self, caches: &Caches, app_key: &Key) {
        if caches.pods_of(&app_key.0, &app_key.1).is_empty() {
            self.departed.remove(app_key);
        }
    }
}

/// Follows one scope's changes until `stop`, publishing what each change means.
async fn derive(hub: Weak<Hub>, caches: Caches, watches: Watches, stop: CancellationToken) {
    let mut apps = caches.changes.apps.subscribe();
    let mut pods = caches.changes.pods.subscribe();
    tokio::select! {
        () = watches.wait_until_ready() => {},
        () = stop.cancelled() => return,
    }
    let mut seen = Seen::of(&caches);
    loop {
        let events = tokio::select! {
            () = stop.cancelled() => return,
            change = apps.recv() => match change {
                Ok(entry) => seen.app_changed(&caches, entry),
                Err(RecvError::Lagged(_)) => { seen = Seen::of(&caches); Vec::new() }
                Err(RecvError::Closed) => return,
            },
            change = pods.recv() => match change {
                Ok(pod) => seen.pod_changed(&caches, pod),
                Err(RecvError::Lagged(_)) => { seen = Seen::of(&caches); Vec::new() }
                Err(RecvError::Closed) => return,
            },
        };
        let Some(hub) = hub.upgrade() else { return };
        for event in events {
            hub.publish(event);
        }
        drop(hub);
        // Lets the subscribers' connections drain their buffers between bursts.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn frames(subscription: &mut Subscription) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(frame) = subscription.receiver.try_recv() {
            out.push(String::from_utf8_lossy(&frame).into_owned());
        }
        out
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_a_buffer_behind_is_dropped_and_the_others_are_told() {
        let (stream, _stop) = EventStream::unfed();
        stream.set_subscriber_buffer(4);
        let mut reader = stream.subscribe("10.0.0.1".into(), None);
        let stalled = stream.subscribe("10.0.0.2".into(), None);
        let mut filtered =
            stream.subscribe("10.0.0.3".into(), Some(["api_post_event".to_owned()].into()));
        assert_eq!(frames(&mut reader).len(), 3, "every attach, its own first");
        let mut detached = Vec::new();
        for n in 0..4 {
            stream.publish(&Event::new("api_post_event", "t", json!({"uri": n.to_string()})));
            let got = frames(&mut reader);
            detached.extend(got.into_iter().filter(|f| f.contains("event_stream_detached")));
        }
        // The stalled one held 2 attaches and 2 posts (its buffer of 4): the third post
        // dropped it, once, and the reader was told who left.
        assert_eq!(stream.dropped(), 1);
        assert_eq!(detached.len(), 1);
        assert!(detached[0].contains("10.0.0.2"), "{detached:?}");
        assert_eq!(stream.subscribers(), 2);
        let seen = frames(&mut filtered);
        assert_eq!(seen.len(), 4, "only the posts: {seen:?}");
        drop(stalled);
        drop(reader);
        // The reader leaving is an event too; the filtered one does not want it.
        assert!(frames(&mut filtered).is_empty());
        assert_eq!(stream.subscribers(), 1);
    }
}
