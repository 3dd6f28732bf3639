//! Live updates without polling: `GET /ui/events` is a Server-Sent Events stream fed by the
//! facade's own event bus (the events `/v2/events` serves), reduced to what a page needs: one
//! `change` when something it shows may have changed, at most one per [`COALESCE`] however many
//! Marathon events a rollout makes. The page of one app (`?app=/id`) hears only the events of
//! that app (and those that name no app). The page's script (`static/ui.js`) then makes each
//! live part of the page fetch its fragment again.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use futures::Stream;
use serde_json::Value;
use tokio::time::{Instant, timeout, timeout_at};

use super::super::FacadeState;
use super::super::events::{Subscription, remote_address};
use super::super::query::Query;

pub fn router() -> Router<FacadeState> {
    Router::new().route("/ui/events", get(stream))
}

/// The Marathon events that change what a page shows (the stream's own attach/detach events
/// would make every open page refresh whenever another one opens).
const SHOWN: [&str; 8] = [
    "api_post_event",
    "deployment_info",
    "deployment_step_success",
    "deployment_success",
    "deployment_failed",
    "app_terminated_event",
    "status_update_event",
    "health_status_changed_event",
];

/// How long a burst of events is gathered into one `change`.
const COALESCE: Duration = Duration::from_millis(300);
/// An idle stream gets a comment this often (proxies close silent connections).
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The first frame: how soon the browser reconnects, and a `change` (the page was rendered
/// before the stream attached, so anything in between is fetched now).
const GREETING: &[u8] = b"retry: 3000\nevent: change\ndata: 0\n\n";

/// The app a Marathon event is about, when it names one.
fn app_of(data: &Value) -> Option<&str> {
    let named = ["/appId", "/runSpecId", "/appDefinition/id"]
        .into_iter()
        .find_map(|pointer| data.pointer(pointer).and_then(Value::as_str));
    named.or_else(|| {
        let steps = data.pointer("/plan/steps").and_then(Value::as_array)?;
        let actions = steps.iter().filter_map(|s| s.get("actions").and_then(Value::as_array));
        actions.flatten().find_map(|a| a.get("app").and_then(Value::as_str))
    })
}

/// Whether a framed Marathon event (`event: ..\r\ndata: {json}\r\n\r\n`) concerns `app`.
fn concerns(frame: &[u8], app: Option<&str>) -> bool {
    let Some(app) = app else { return true };
    let text = String::from_utf8_lossy(frame);
    let data = text.lines().find_map(|line| line.strip_prefix("data: "));
    let Some(Ok(data)) = data.map(serde_json::from_str::<Value>) else { return true };
    app_of(&data).is_none_or(|named| named == app)
}

/// One page's listener on the bus.
struct Listener {
    subscription: Subscription,
    app: Option<String>,
    greeted: bool,
}

impl Listener {
    /// The next frame for the browser; `None` once the bus dropped this listener.
    async fn next_frame(&mut self) -> Option<Bytes> {
        if !self.greeted {
            self.greeted = true;
            return Some(Bytes::from_static(GREETING));
        }
        // `Subscription::next` is cancel-safe, so a keep-alive loses no event.
        match timeout(KEEP_ALIVE, self.relevant()).await {
            Err(_) => return Some(Bytes::from_static(b":\n\n")),
            Ok(None) => return None,
            Ok(Some(())) => {}
        }
        let mut gathered = 1;
        let until = Instant::now() + COALESCE;
        while let Ok(Some(_)) = timeout_at(until, self.subscription.next()).await {
            gathered += 1;
        }
        Some(Bytes::from(format!("event: change\ndata: {gathered}\n\n")))
    }

    /// Waits for an event this page shows.
    async fn relevant(&mut self) -> Option<()> {
        loop {
            let frame = self.subscription.next().await?;
            if concerns(&frame, self.app.as_deref()) {
                return Some(());
            }
        }
    }
}

fn changes(listener: Listener) -> impl Stream<Item = Result<Bytes, Infallible>> {
    futures::stream::unfold(listener, |mut listener| async move {
        let frame = listener.next_frame().await?;
        Some((Ok(frame), listener))
    })
}

async fn stream(
    State(state): State<FacadeState>,
    headers: HeaderMap,
    extensions: Extensions,
    query: Query,
) -> Response {
    let app = query.get("app").map(|id| crate::marathon::ids::canonical(id, "/"));
    // `/v2/events` clients see the page attach as any subscriber, named as the web UI.
    let remote = format!("{} (web UI)", remote_address(&extensions, &headers));
    let shown: HashSet<String> = SHOWN.iter().map(|t| (*t).to_owned()).collect();
    let subscription = state.event_stream().subscribe(remote, Some(shown));
    let listener = Listener { subscription, app, greeted: false };
    let mut response = Response::new(Body::from_stream(changes(listener)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use serde_json::json;

    use super::super::super::EventStream;
    use super::*;
    use crate::marathon::events::Event;

    fn frame(event_type: &'static str, fields: Value) -> Vec<u8> {
        Event::new(event_type, "2026-01-01T00:00:00.000Z", fields).frame().into_bytes()
    }

    #[test]
    fn a_page_of_one_app_hears_that_app_and_what_names_none() {
        let task = frame("status_update_event", json!({"appId": "/shop/web"}));
        let instance = frame("instance_changed_event", json!({"runSpecId": "/shop/db"}));
        let post = frame("api_post_event", json!({"appDefinition": {"id": "/shop/web"}}));
        let step = json!({"actions": [{"action": "ScaleApplication", "app": "/shop/db"}]});
        let deployment = frame("deployment_info", json!({"plan": {"steps": [step]}}));
        let unknown = frame("deployment_success", json!({"plan": {"steps": []}}));
        let web = Some("/shop/web");
        assert!(concerns(&task, web));
        assert!(!concerns(&instance, web));
        assert!(concerns(&post, web));
        assert!(!concerns(&deployment, web));
        assert!(concerns(&unknown, web), "an event naming no app may concern any");
        assert!(concerns(&deployment, None), "the lists hear every app");
    }

    #[tokio::test]
    async fn a_burst_of_events_is_one_change() {
        let bus = EventStream::without_watches();
        let subscription = bus.subscribe("test".into(), None);
        let listener = Listener { subscription, app: Some("/web".into()), greeted: false };
        let mut frames = Box::pin(changes(listener));
        let text = |b: Option<Result<Bytes, Infallible>>| match b {
            Some(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            other => panic!("no frame: {other:?}"),
        };
        assert!(text(frames.next().await).contains("event: change\ndata: 0"));
        // The subscriber's own attach event concerns no app; then one burst.
        for n in 0..5 {
            let id = if n == 2 { "/other" } else { "/web" };
            bus.publish(&Event::new("status_update_event", "t", json!({"appId": id})));
        }
        assert_eq!(text(frames.next().await), "event: change\ndata: 6\n\n");
        bus.publish(&Event::new("status_update_event", "t", json!({"appId": "/other"})));
        bus.publish(&Event::new("status_update_event", "t", json!({"appId": "/web"})));
        assert_eq!(text(frames.next().await), "event: change\ndata: 1\n\n");
    }
}
