//! `/v2/events` under load, on the testbed with the controllers in-process: many subscribers
//! follow the stream while apps deploy through the facade. Every subscriber must see the
//! `deployment_success` of every deployment the facade answered with, and a subscriber that
//! never reads must be disconnected (reported to the others as `event_stream_detached`) without
//! holding the others back. Also the stream's contract: `Accept`, filters, framing.
//!
//! Size: `SUBSCRIBERS` x `APPS` in CI; `FACADE_EVENTS_SUBSCRIBERS` and `FACADE_EVENTS_APPS`
//! raise them (the full size is 50 x 100).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use marathon_operator::marathon::events::Event;
use serde_json::{Value, json};
use support::facade::Stack;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

/// Subscribers following the stream in CI.
const SUBSCRIBERS: usize = 50;
/// Apps deployed while they follow it in CI.
const APPS: usize = 20;
/// Events a subscriber may fall behind before it is disconnected (small, so the subscriber
/// that never reads overflows it within the test; readers stay far below it).
const SUBSCRIBER_BUFFER: usize = 64;
/// The flood that overflows the stalled subscriber: far more than its socket buffers hold.
const FLOOD_EVENTS: usize = 2000;
const FLOOD_EVENT_BYTES: usize = 8192;
/// How long the whole deployment wave may take to be seen by everyone.
const WAVE_TIMEOUT: Duration = Duration::from_secs(240);

fn size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn events_request(query: &str) -> String {
    format!("GET /v2/events{query} HTTP/1.1\r\nHost: marathon\r\nAccept: text/event-stream\r\n\r\n")
}

/// Follows the stream and returns each event's JSON as it comes (chunk-size lines of the
/// chunked encoding are skipped: only `data:` lines carry events).
async fn follow(stream: TcpStream, query: &str, mut on_event: impl FnMut(Value) -> bool) {
    let (read, mut write) = stream.into_split();
    write.write_all(events_request(query).as_bytes()).await.unwrap();
    let mut lines = BufReader::new(read).lines();
    let status = lines.next_line().await.unwrap().unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "status line {status}");
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(data) = line.strip_prefix("data: ")
            && !on_event(serde_json::from_str(data).unwrap())
        {
            return;
        }
    }
    panic!("the event stream ended");
}

fn app_body(index: usize) -> Value {
    json!({
        "id": format!("/events/app-{index}"),
        "cmd": "sleep 100000",
        "instances": 2,
        "cpus": 0.01,
        "mem": 16,
        // Bulk, so the subscriber that never reads overflows its socket buffers quickly.
        "env": {"PADDING": "x".repeat(2048)},
    })
}

async fn post_app(app: &Router, body: &Value) -> String {
    let request = Request::post("/v2/apps")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.headers()["marathon-deployment-id"].to_str().unwrap().to_owned();
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["deployments"][0]["id"], id);
    id
}

async fn status_of(app: &Router, request: Request<Body>) -> StatusCode {
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_sees_every_deployment_and_a_stalled_one_is_dropped() {
    let (subscribers, apps) =
        (size("FACADE_EVENTS_SUBSCRIBERS", SUBSCRIBERS), size("FACADE_EVENTS_APPS", APPS));
    let stack = Stack::start("facade-events").await;
    let (state, app) = (stack.state.clone(), stack.api.clone());
    state.event_stream().set_subscriber_buffer(SUBSCRIBER_BUFFER);
    let facade = stack.serve().await;
    let addr = facade.addr();

    // The stream's contract.
    let plain = Request::get("/v2/events").body(Body::empty()).unwrap();
    assert_eq!(status_of(&app, plain).await, StatusCode::METHOD_NOT_ALLOWED);
    let callbacks = Request::get("/v2/eventSubscriptions").body(Body::empty()).unwrap();
    assert_eq!(status_of(&app, callbacks).await, StatusCode::BAD_REQUEST);

    // The subscriber that never reads, from an address of its own, with a small window.
    let stalled = TcpSocket::new_v4().unwrap();
    stalled.set_recv_buffer_size(4096).unwrap();
    stalled.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut stalled = stalled.connect(addr).await.unwrap();
    stalled.write_all(events_request("").as_bytes()).await.unwrap();

    // The readers, and one that filters.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers + 1);
    let (ids_tx, ids_rx) = tokio::sync::watch::channel(HashSet::<String>::new());
    let progress = Arc::new(Mutex::new(vec![0usize; subscribers]));
    let mut readers = Vec::new();
    for reader in 0..subscribers {
        let (ready, ids, progress) = (ready_tx.clone(), ids_rx.clone(), progress.clone());
        readers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut seen = HashSet::new();
            let mut attached = false;
            follow(stream, "", |event| {
                match event["eventType"].as_str().unwrap() {
                    "event_stream_attached" if !attached => {
                        attached = true;
                        let _ = ready.try_send(());
                    }
                    "deployment_success" => {
                        seen.insert(event["id"].as_str().unwrap().to_owned());
                    }
                    _ => {}
                }
                progress.lock().unwrap()[reader] = seen.len();
                let expected = ids.borrow();
                expected.is_empty() || !expected.is_subset(&seen)
            })
            .await;
            seen
        }));
    }
    let filtered = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut count = 0;
        follow(stream, "?event_type=deployment_success&plan-format=light", |event| {
            assert_eq!(event["eventType"], "deployment_success", "filtered stream: {event}");
            count += 1;
            count < apps
        })
        .await;
    });
    for _ in 0..subscribers {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await.unwrap();
    }

    let mut expected = HashSet::new();
    for index in 0..apps {
        expected.insert(post_app(&app, &app_body(index)).await);
    }
    ids_tx.send(expected.clone()).unwrap();

    for reader in readers {
        let seen = tokio::time::timeout(WAVE_TIMEOUT, reader).await.unwrap_or_else(|_| {
            let progress = progress.lock().map(|p| p.clone()).unwrap_or_default();
            panic!("readers did not finish; deployments seen per reader: {progress:?}")
        });
        let seen = seen.unwrap();
        assert!(expected.is_subset(&seen), "a subscriber missed deployments");
    }
    tokio::time::timeout(WAVE_TIMEOUT, filtered).await.unwrap().unwrap();
    assert_eq!(state.event_stream().dropped(), 0, "no reader fell behind");

    // The stalled subscriber is still attached, its socket buffers full or filling. A flood
    // larger than any socket buffer overflows its bounded buffer: it is disconnected, and an
    // observer learns it from `event_stream_detached`.
    let (attached_tx, attached_rx) = tokio::sync::oneshot::channel();
    let observer = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut attached = Some(attached_tx);
        let query = "?event_type=event_stream_attached&event_type=event_stream_detached";
        follow(stream, query, |event| {
            if let Some(attached) = attached.take() {
                attached.send(()).unwrap();
            }
            !(event["eventType"] == "event_stream_detached"
                && event["remoteAddress"] == "127.0.0.2")
        })
        .await;
    });
    tokio::time::timeout(Duration::from_secs(30), attached_rx).await.unwrap().unwrap();
    let padding = "x".repeat(FLOOD_EVENT_BYTES);
    for n in 0..FLOOD_EVENTS {
        let fields = json!({"slaveId": "flood", "executorId": n.to_string(), "message": padding});
        state.event_stream().publish(&Event::new("framework_message_event", "now", fields));
    }
    tokio::time::timeout(Duration::from_secs(60), observer).await.unwrap().unwrap();
    assert_eq!(state.event_stream().dropped(), 1, "only the stalled subscriber is dropped");

    // The stalled subscriber's stream ends once it reads what was buffered for it.
    let mut rest = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncReadExt::read_to_end(&mut stalled, &mut rest),
    )
    .await
    .expect("the dropped subscriber's connection is closed")
    .unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(text.starts_with("HTTP/1.1 200"), "{}", &text[..text.len().min(200)]);
    assert!(text.contains("text/event-stream"));
    assert!(text.contains("event: event_stream_attached\r\ndata: {"));

    drop(facade);
    stack.stop().await;
}
