//! Malformed and malicious requests against the Marathon API served on a real socket, over
//! raw HTTP/1.1 (so the test controls every byte: invalid UTF-8, lying lengths, trickled
//! bodies, encoded path tricks). Every one gets a clear 4xx in Marathon's shape
//! (`{"message"}`, plus `details` for 422) within a bounded time, and none reaches the
//! cluster: the MarathonApps of the namespace, and of the namespaces the tricks aim at, are
//! unchanged afterwards. `tests/facade_router.rs` holds the ordinary bad requests; these are
//! the hostile ones.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use marathon_operator::crd::MarathonApp;
use marathon_operator::http_server;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The facade's body limit in these tests.
const BODY_LIMIT: usize = 64 * 1024;
/// The facade's request timeout in the slow-loris test: a trickling client is cut off after it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// The server's header-read timeout in these tests: a head sent slower is cut off after it.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest any hostile request may take to be answered.
const ANSWER_BOUND: Duration = Duration::from_secs(10);

/// One raw request.
struct Raw {
    name: String,
    method: &'static str,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The status it must get.
    status: u16,
}

fn raw(
    name: &str,
    method: &'static str,
    target: &str,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Raw {
    Raw {
        name: name.to_owned(),
        method,
        target: target.to_owned(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
        status,
    }
}

impl Raw {
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn head(&self, content_length: Option<usize>) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: facade\r\nconnection: close\r\n",
            self.method, self.target
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(length) = content_length {
            head.push_str(&format!("content-length: {length}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    took: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads a whole HTTP/1.1 answer from a connection the server closes (`connection: close`).
async fn read_answer(stream: &mut TcpStream, started: Instant) -> Answer {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(ANSWER_BOUND, stream.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "no answer within {ANSWER_BOUND:?} (got {} bytes)", bytes.len());
    let took = started.elapsed();
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    }
    Answer { status, headers, body, took }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// Sends `request` whole (with its true Content-Length) and reads the answer.
async fn send(addr: SocketAddr, request: &Raw) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(&request.head(Some(request.body.len()))).await.unwrap();
    // The server may answer (413) and close before it read everything: that is fine.
    let _ = stream.write_all(&request.body).await;
    read_answer(&mut stream, started).await
}

/// The answer is a clear 4xx in Marathon's shape.
fn check_marathon_4xx(name: &str, expected: u16, answer: &Answer) -> Option<String> {
    let body = answer.json();
    let message = body.get("message").and_then(Value::as_str).unwrap_or_default();
    let json_type =
        answer.headers.get("content-type").is_some_and(|t| t.starts_with("application/json"));
    let shape_ok = !message.is_empty()
        && json_type
        && (!["Object is not valid", "Invalid JSON"].contains(&message)
            || answer.status != 422
            || body["details"].as_array().is_some_and(|d| !d.is_empty()));
    let ok = answer.status == expected && shape_ok && answer.took < ANSWER_BOUND;
    (!ok).then(|| {
        format!(
            "{name}: expected {expected} in Marathon's shape, got {} after {:?}: {}",
            answer.status,
            answer.took,
            String::from_utf8_lossy(&answer.body).chars().take(300).collect::<String>()
        )
    })
}

// ----- the cases ------------------------------------------------------------------------------

fn valid_app(id: &str) -> String {
    json!({"id": id, "cmd": "sleep 1000", "cpus": 0.01, "mem": 16}).to_string()
}

/// Huge, deep, undecodable and ambiguous bodies.
fn body_cases() -> Vec<Raw> {
    let padding = "x".repeat(BODY_LIMIT);
    let huge = json!({"id": "/huge", "cmd": "x", "labels": {"p": padding}}).to_string();
    let deep_arrays = format!(r#"{{"id": "/deep", "cmd": "x", "fancy": {}}}"#, "[".repeat(5_000));
    let deep_objects = format!(
        r#"{{"id": "/deep", "cmd": "x", "fancy": {}1{}}}"#,
        r#"{"a":"#.repeat(200),
        "}".repeat(200)
    );
    let deep_ok_but_wrong = format!(
        r#"{{"id": "/deep", "cmd": "x", "env": {{"A": {}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(valid_app("/utf16").encode_utf16().flat_map(u16::to_le_bytes));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(valid_app("/bom").bytes());
    vec![
        raw("body past the limit", "POST", "/v2/apps", huge.clone(), 413),
        raw("body past the limit on a group", "POST", "/v2/groups", huge.clone(), 413),
        raw("body past the limit on PUT of an existing app", "PUT", "/v2/apps/base/web", huge, 413),
        raw("5,000 nested arrays", "POST", "/v2/apps", deep_arrays.clone(), 400),
        raw("5,000 nested arrays in a group", "POST", "/v2/groups", deep_arrays, 400),
        raw("200 nested objects", "POST", "/v2/apps", deep_objects, 400),
        raw("100 nested arrays as an env value", "POST", "/v2/apps", deep_ok_but_wrong, 422),
        raw(
            "invalid UTF-8 in a string",
            "POST",
            "/v2/apps",
            b"{\"id\": \"/a\", \"cmd\": \"\xff\xfe\"}".to_vec(),
            400,
        ),
        raw(
            "invalid UTF-8 in a key",
            "PUT",
            "/v2/apps/base/web",
            b"{\"\xc3\x28\": 1}".to_vec(),
            400,
        ),
        raw("UTF-16 with a byte order mark", "POST", "/v2/apps", utf16, 400),
        raw("UTF-8 byte order mark", "POST", "/v2/apps", bom, 400),
        raw(
            "NUL bytes between tokens",
            "POST",
            "/v2/apps",
            b"{\"id\":\0\"/a\", \"cmd\": \"x\"}".to_vec(),
            400,
        ),
        raw("NaN", "POST", "/v2/apps", r#"{"id": "/nan", "cmd": "x", "cpus": NaN}"#, 400),
        raw("Infinity", "POST", "/v2/apps", r#"{"id": "/inf", "cmd": "x", "mem": Infinity}"#, 400),
        raw("-Infinity", "PUT", "/v2/apps/base/web", r#"{"mem": -Infinity}"#, 400),
        raw(
            "a number past f64",
            "POST",
            "/v2/apps",
            r#"{"id": "/big", "cmd": "x", "mem": 1e400}"#,
            400,
        ),
        raw(
            "instances past i32",
            "POST",
            "/v2/apps",
            r#"{"id": "/big", "cmd": "x", "instances": 2147483648}"#,
            422,
        ),
        raw(
            "instances past u64",
            "POST",
            "/v2/apps",
            r#"{"id": "/big", "cmd": "x", "instances": 99999999999999999999999}"#,
            422,
        ),
        raw(
            "instances far below zero",
            "PUT",
            "/v2/apps/base/web?force=true",
            r#"{"instances": -2147483648}"#,
            422,
        ),
        raw(
            "negative memory",
            "POST",
            "/v2/apps",
            r#"{"id": "/neg", "cmd": "x", "mem": -1e308}"#,
            422,
        ),
        raw(
            "negative grace period",
            "POST",
            "/v2/apps",
            r#"{"id": "/neg", "cmd": "x", "taskKillGracePeriodSeconds": -9223372036854775808}"#,
            422,
        ),
        raw(
            "a port of 2^32",
            "POST",
            "/v2/apps",
            r#"{"id": "/p", "cmd": "x", "portDefinitions": [{"port": 4294967296}]}"#,
            422,
        ),
        raw(
            "duplicate id keys",
            "POST",
            "/v2/apps",
            r#"{"id": "/fine", "cmd": "x", "id": "/other"}"#,
            400,
        ),
        raw(
            "duplicate keys hiding a bad value",
            "PUT",
            "/v2/apps/base/web",
            r#"{"instances": 1, "instances": -1}"#,
            400,
        ),
        raw(
            "duplicate keys deep inside",
            "POST",
            "/v2/apps",
            r#"{"id": "/d", "cmd": "x", "env": {"A": "1", "A": "2"}}"#,
            400,
        ),
        raw(
            "duplicate keys in a group's apps",
            "POST",
            "/v2/groups",
            r#"{"id": "/g", "apps": [{"id": "a", "cmd": "x", "cmd": "y"}]}"#,
            400,
        ),
    ]
}

/// Content types that are not JSON and encodings the facade does not undo.
fn content_cases() -> Vec<Raw> {
    vec![
        raw("a form body", "POST", "/v2/apps", "id=%2Fform&cmd=x", 400)
            .header("content-type", "application/x-www-form-urlencoded"),
        raw(
            "a multipart body",
            "POST",
            "/v2/apps",
            "--b\r\ncontent-disposition: form-data; name=\"id\"\r\n\r\n/m\r\n--b--\r\n",
            400,
        )
        .header("content-type", "multipart/form-data; boundary=b"),
        raw("an XML body", "POST", "/v2/apps", "<app><id>/x</id><cmd>x</cmd></app>", 400)
            .header("content-type", "application/xml"),
        raw("a YAML body", "POST", "/v2/apps", "id: /y\ncmd: x\n", 400)
            .header("content-type", "application/yaml"),
        raw(
            "a gzip body (never inflated)",
            "POST",
            "/v2/apps",
            vec![
                0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xab, 0xae, 5, 0, 0x43, 0xbf, 0xa6, 0xa3, 2, 0,
                0, 0,
            ],
            400,
        )
        .header("content-encoding", "gzip"),
    ]
}

/// Path traversal and percent-encoding tricks in ids, and hostile query strings.
fn path_cases() -> Vec<Raw> {
    let body = || json!({"cmd": "sleep 1000", "cpus": 0.01, "mem": 16}).to_string();
    let group = || json!({"apps": [{"id": "x", "cmd": "sleep 1000"}]}).to_string();
    let deep_selector = format!("/v2/apps?label={}", "(".repeat(5_000));
    vec![
        raw("literal .. in a PUT id", "PUT", "/v2/apps/base/../kube-system/web", body(), 400),
        raw("%2e%2e in a PUT id", "PUT", "/v2/apps/base/%2e%2e/etc", body(), 400),
        raw(
            "%2E%2E upper-case in a PATCH id",
            "PATCH",
            "/v2/apps/base/%2E%2E/%2E%2E/web",
            body(),
            400,
        ),
        raw(
            "..%2F climbing in one segment",
            "PUT",
            "/v2/apps/base%2F..%2F..%2Fkube-system%2Fweb",
            body(),
            400,
        ),
        raw(". segment in a DELETE", "DELETE", "/v2/apps/base/./web", "", 400),
        raw("%2e%2e in a GET", "GET", "/v2/apps/%2e%2e/%2e%2e/etc/passwd", "", 400),
        raw(
            "double-encoded %252e%252e is a literal (invalid) id",
            "PUT",
            "/v2/apps/base/%252e%252e/web",
            body(),
            422,
        ),
        raw(
            "double-encoded %252F is a literal (invalid) id",
            "PUT",
            "/v2/apps/base%252Fweb",
            body(),
            422,
        ),
        raw("backslash traversal", "PUT", "/v2/apps/base%5C..%5Cweb", body(), 400),
        raw("a NUL in an id", "PUT", "/v2/apps/base/we%00b", body(), 422),
        raw("a newline in an id", "PUT", "/v2/apps/base/we%0Ab", body(), 422),
        raw("an encoded space in an id", "PUT", "/v2/apps/base/%20web", body(), 422),
        raw("an id that is not UTF-8", "PUT", "/v2/apps/base/%FF%FE", body(), 400),
        raw("unicode that lower-cases to ASCII", "PUT", "/v2/apps/base/%E2%84%AA", body(), 422),
        raw("%2e%2e in a group id", "PUT", "/v2/groups/base/%2e%2e/kube-system", group(), 400),
        raw("%2e%2e in a group DELETE", "DELETE", "/v2/groups/%2e%2e", "", 400),
        raw("%2e%2e in a queue delay", "DELETE", "/v2/queue/base/%2e%2e/web/delay", "", 400),
        raw(
            "%2e%2e in a task kill",
            "DELETE",
            "/v2/apps/%2e%2e/web/tasks/web.6d0b5c5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
            "",
            400,
        ),
        raw("a label selector of 5,000 parentheses", "GET", &deep_selector, "", 422),
        raw(
            "a label selector with an unclosed set",
            "GET",
            "/v2/apps?label=a%20in%20(b,c",
            "",
            422,
        ),
    ]
}

/// Ids whose derived resource names collide with the existing app `/base/web`
/// (resource name `base-web`).
fn collision_cases() -> Vec<Raw> {
    vec![
        raw("/base-web collides with /base/web", "POST", "/v2/apps", valid_app("/base-web"), 409),
        raw(
            "PUT /base-web collides too",
            "PUT",
            "/v2/apps/base-web",
            json!({"cmd": "x"}).to_string(),
            409,
        ),
        raw(
            "/a/b-c and /a-b/c in one request",
            "PUT",
            "/v2/apps",
            json!([{"id": "/a/b-c", "cmd": "x"}, {"id": "/a-b/c", "cmd": "x"}]).to_string(),
            409,
        ),
        raw(
            "/q/a-b and /q/a/b in one group",
            "POST",
            "/v2/groups",
            json!({"id": "/q", "apps": [{"id": "a-b", "cmd": "x"}],
                   "groups": [{"id": "a", "apps": [{"id": "b", "cmd": "x"}]}]})
            .to_string(),
            409,
        ),
        raw(
            "a group app colliding with /base/web",
            "PUT",
            "/v2/groups?force=true",
            json!({"apps": [{"id": "/base-web", "cmd": "x"}]}).to_string(),
            409,
        ),
    ]
}

// ----- the harness ----------------------------------------------------------------------------

struct Served {
    addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve(client: &Client, config: FacadeConfig) -> (Served, Watches) {
    let (watches, drive) = Watches::start(client, &config.watched);
    tokio::spawn(drive);
    watches.wait_until_ready().await;
    let state = FacadeState::new(
        client.clone(),
        watches.clone(),
        config,
        Metrics::shared(),
        CancellationToken::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    // The server `run` uses, with its header-read timeout.
    tokio::spawn(http_server::serve(listener, router(state), HEADER_READ_TIMEOUT, stop));
    (Served { addr, shutdown }, watches)
}

fn hostile_config(namespace: &str, request_timeout: Duration) -> FacadeConfig {
    FacadeConfig { body_limit: BODY_LIMIT, request_timeout, ..FacadeConfig::local(namespace) }
}

/// Every MarathonApp in `namespaces`: namespace/name -> resourceVersion.
async fn snapshot(client: &Client, namespaces: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for namespace in namespaces {
        let api: Api<MarathonApp> = Api::namespaced(client.clone(), namespace);
        for app in api.list(&ListParams::default()).await.unwrap() {
            out.insert(
                format!("{namespace}/{}", app.name_any()),
                app.resource_version().unwrap_or_default(),
            );
        }
    }
    out
}

/// The namespaces the tricks aim at, besides the facade's own.
const TARGETED: [&str; 3] = ["kube-system", "default", "kube-public"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_marathon_4xx_and_reach_nothing() {
    let (client, ns, _) = support::app_namespace("hostile").await;
    let (served, _watches) =
        serve(&client, hostile_config(ns.name(), Duration::from_secs(8))).await;
    let created =
        send(served.addr, &raw("base", "POST", "/v2/apps", valid_app("/base/web"), 201)).await;
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let watched: Vec<&str> = [ns.name()].into_iter().chain(TARGETED).collect();
    let before = snapshot(&client, &watched).await;

    let cases: Vec<Raw> = [body_cases(), content_cases(), path_cases(), collision_cases()]
        .into_iter()
        .flatten()
        .collect();
    assert!(cases.len() >= 40, "only {} hostile requests", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let answer = send(served.addr, case).await;
        wrong.extend(check_marathon_4xx(&case.name, case.status, &answer));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} hostile requests answered wrongly:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert_eq!(snapshot(&client, &watched).await, before, "a hostile request reached the cluster");
}

/// Sends the head with a Content-Length of `length`, then `trickle` bytes one chunk at a time,
/// `pause` apart, never finishing: the facade answers 408 once its request timeout passed.
async fn trickle(
    addr: SocketAddr,
    request: &Raw,
    length: usize,
    trickle: &[&[u8]],
    pause: Duration,
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(&request.head(Some(length))).await.unwrap();
    for chunk in trickle {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    read_answer(&mut stream, started).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_bodies_are_cut_off_with_408() {
    let (client, ns, _) = support::app_namespace("hostile-slow").await;
    let (served, _watches) = serve(&client, hostile_config(ns.name(), REQUEST_TIMEOUT)).await;
    let before = snapshot(&client, &[ns.name()]).await;
    let app = valid_app("/slow");
    let bytes: Vec<&[u8]> = app.as_bytes().chunks(4).collect();
    let post = raw("slow", "POST", "/v2/apps", "", 408);
    let chunked =
        raw("slow chunked", "POST", "/v2/apps", "", 408).header("transfer-encoding", "chunked");
    let answers = [
        (
            "a body trickled 4 bytes every 300 ms",
            trickle(served.addr, &post, app.len(), &bytes, Duration::from_millis(300)).await,
        ),
        (
            "a body announced and never sent",
            trickle(served.addr, &post, 100, &[], Duration::ZERO).await,
        ),
        (
            "a body one byte short",
            trickle(served.addr, &post, app.len() + 1, &[app.as_bytes()], Duration::ZERO).await,
        ),
        ("a chunked body that never ends", {
            let mut stream = TcpStream::connect(served.addr).await.unwrap();
            let started = Instant::now();
            stream.write_all(&chunked.head(None)).await.unwrap();
            for _ in 0..20 {
                if stream.write_all(b"1\r\n \r\n").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            read_answer(&mut stream, started).await
        }),
    ];
    let mut wrong = Vec::new();
    for (name, answer) in &answers {
        wrong.extend(check_marathon_4xx(name, 408, answer));
        if answer.took < REQUEST_TIMEOUT || answer.took > REQUEST_TIMEOUT + Duration::from_secs(3) {
            wrong.push(format!(
                "{name}: answered after {:?}, not at the request timeout",
                answer.took
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A client that is merely slow but finishes in time is served.
    let finished = trickle(
        served.addr,
        &raw("", "POST", "/v2/apps", "", 201),
        app.len(),
        &app.as_bytes().chunks(app.len() / 3 + 1).collect::<Vec<_>>(),
        Duration::from_millis(100),
    )
    .await;
    assert_eq!(finished.status, 201, "{}", String::from_utf8_lossy(&finished.body));
    let after = snapshot(&client, &[ns.name()]).await;
    assert_eq!(after.len(), before.len() + 1, "only the finished request stored an app: {after:?}");
}

/// Sends a request head a header line every `pause`, `lines` times, then (when `finish`) the
/// blank line that ends it; returns what was read until the server closed, and when it closed.
async fn trickle_head(
    addr: SocketAddr,
    lines: usize,
    pause: Duration,
    finish: bool,
) -> (Vec<u8>, Duration) {
    // Timed from before the connect: the server's header-read timer starts at its accept,
    // which can come a little before `connect` returns here.
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let start = "GET /v2/info HTTP/1.1\r\nhost: facade\r\nconnection: close\r\n";
        writer.write_all(start.as_bytes()).await?;
        for line in 0..lines {
            tokio::time::sleep(pause).await;
            writer.write_all(format!("x-slow-{line}: 1\r\n").as_bytes()).await?;
        }
        if finish {
            writer.write_all(b"\r\n").await?;
        }
        std::io::Result::Ok(writer)
    });
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(ANSWER_BOUND, reader.read_to_end(&mut bytes)).await;
    let closed = started.elapsed();
    assert!(read.is_ok(), "the connection was still open after {ANSWER_BOUND:?}");
    writing.abort();
    (bytes, closed)
}

/// A client that sends its request head a line at a time and never ends it is disconnected at
/// the header-read timeout (no task or connection held for longer); one that sends its head
/// slowly but within the timeout is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_heads_are_cut_off_at_the_header_read_timeout() {
    let (client, ns, _) = support::app_namespace("hostile-head").await;
    let (served, _watches) = serve(&client, hostile_config(ns.name(), REQUEST_TIMEOUT)).await;
    // A header line every 300 ms for 6 s, never finished.
    let (bytes, closed) = trickle_head(served.addr, 20, Duration::from_millis(300), false).await;
    assert!(
        bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 408"),
        "an unfinished head got an answer: {}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        closed >= HEADER_READ_TIMEOUT && closed < HEADER_READ_TIMEOUT + Duration::from_secs(2),
        "closed after {closed:?}, not at the header-read timeout {HEADER_READ_TIMEOUT:?}"
    );
    // Three lines 300 ms apart, then the end of the head: within the timeout, served.
    let (bytes, _) = trickle_head(served.addr, 3, Duration::from_millis(300), true).await;
    assert!(
        bytes.starts_with(b"HTTP/1.1 200"),
        "a slow but timely head was not served: {}",
        String::from_utf8_lossy(&bytes)
    );
}

/// schemathesis (`scripts/schemathesis`, installed once into a cached venv) generates
/// requests for every operation of `/v2/openapi.json`, valid and invalid, against the facade
/// on the testbed: no 5xx, answers as documented, every error in Marathon's shape. The size
/// is the script's (`SCHEMATHESIS_FULL=1` for the full run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_5xx_and_only_marathon_errors() {
    let (client, ns, _) = support::app_namespace("hostile-st").await;
    let config =
        FacadeConfig { request_timeout: Duration::from_secs(5), ..FacadeConfig::local(ns.name()) };
    let (served, _watches) = serve(&client, config).await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/schemathesis");
    let report = std::env::temp_dir().join(format!("schemathesis-{}", ns.name()));
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("run")
        .arg(format!("http://{}", served.addr))
        .arg("--report-dir")
        .arg(&report)
        .output()
        .await
        .expect("run scripts/schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("passed"), "schemathesis ran nothing:\n{stdout}");
}
