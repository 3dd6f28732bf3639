//! `import --follow` against a live Marathon: the project's own Marathon API, serving a second
//! namespace, is the source. Apps created, updated, scaled and deleted there are mirrored into
//! the target namespace; a source restart in the middle (with changes made while it was down)
//! is caught up by the re-list after reconnecting; a cut-over group is left alone.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, ResourceExt};
use marathon_operator::cli::cutover::{ANNOTATION_CUT_OVER, cut_over};
use marathon_operator::cli::follow::{ANNOTATION_SOURCE, LABEL_MIRROR, Mirror, Selection, follow};
use marathon_operator::cli::remote::Credentials;
use marathon_operator::crd::MarathonApp;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::watch::Watches;
use serde_json::{Value, json};
use support::{TestNamespace, app_namespace, eventually};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// The source Marathon: the Marathon API serving the source namespace on a loopback port.
struct Source {
    addr: SocketAddr,
    watches_task: JoinHandle<()>,
    server: JoinHandle<()>,
}

impl Source {
    async fn start(client: &Client, namespace: &str) -> Self {
        let (watches, drive) = Watches::start(client, &[namespace.to_owned()]);
        let watches_task = tokio::spawn(drive);
        watches.wait_until_ready().await;
        let state = FacadeState::new(
            client.clone(),
            watches,
            FacadeConfig::local(namespace),
            Metrics::shared(),
            CancellationToken::new(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind source");
        let addr = listener.local_addr().expect("source address");
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, watches_task, server }
    }

    fn stop(self) {
        self.server.abort();
        self.watches_task.abort();
    }
}

/// The address the follower knows the source by: a TCP relay to the running source. Closing
/// it drops every connection at once (open event streams break), as a Marathon restart does.
struct Relay {
    task: JoinHandle<()>,
}

impl Relay {
    async fn open(listen: SocketAddr, upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind relay");
        let task = tokio::spawn(async move {
            // Dropped with the task: aborts every relayed connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { task }
    }

    fn close(self) {
        self.task.abort();
    }
}

/// A write to the source. `force=true`: nothing runs the source's apps, so their Marathon
/// deployments never finish and would lock them.
async fn send(method: reqwest::Method, url: String, body: Option<Value>) {
    let url = if method == reqwest::Method::POST { url } else { format!("{url}?force=true") };
    let mut request = reqwest::Client::new().request(method.clone(), &url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("source answers");
    assert!(response.status().is_success(), "{method} {url}: {}", response.status());
}

fn app_json(id: &str, instances: i64) -> Value {
    json!({"id": id, "cmd": "sleep 3600", "instances": instances, "cpus": 0.1, "mem": 32})
}

/// The mirrored app's instances and cmd, once it matches `check`.
async fn mirrored(
    api: &Api<MarathonApp>,
    name: &str,
    what: &str,
    check: impl Fn(&MarathonApp) -> bool,
) {
    eventually(what, WAIT, || async {
        let app = api.get_opt(name).await.ok()??;
        check(&app).then_some(())
    })
    .await;
}

async fn gone(api: &Api<MarathonApp>, name: &str) {
    eventually(&format!("{name} is deleted from the mirror"), WAIT, || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_follows_a_live_marathon_across_a_restart() {
    let (client, target_ns, target) = app_namespace("mirror").await;
    let source_ns = TestNamespace::new(&client, "mirror-src").await;
    let source_apps: Api<MarathonApp> = Api::namespaced(client.clone(), source_ns.name());
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        probe.local_addr().expect("addr")
    };
    let url = format!("http://{addr}");
    let source = Source::start(&client, source_ns.name()).await;
    let relay = Relay::open(addr, source.addr).await;
    for (id, n) in [("/shop/web", 1), ("/shop/api", 1), ("/shop/legacy/db", 1), ("/other/x", 1)] {
        send(reqwest::Method::POST, format!("{url}/v2/apps"), Some(app_json(id, n))).await;
    }

    let mirror = Mirror {
        client: client.clone(),
        namespace: target_ns.name().to_owned(),
        source: url.clone(),
        credentials: Credentials::None,
        selection: Selection { group: Some("/shop".into()), labels: None },
    };
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let shutdown = CancellationToken::new();
    let follower = tokio::spawn({
        let (mirror, lines, shutdown) = (mirror.clone(), lines.clone(), shutdown.clone());
        async move {
            follow(&mirror, shutdown, |line| lines.lock().unwrap().push(line.to_owned())).await
        }
    });

    // The first import: the selected group only, marked as mirrored from this source.
    for name in ["shop-web", "shop-api", "shop-legacy-db"] {
        mirrored(&target, name, &format!("{name} imported"), |app| {
            app.labels().get(LABEL_MIRROR).is_some_and(|v| v == "true")
                && app.annotations().get(ANNOTATION_SOURCE) == Some(&url)
        })
        .await;
    }
    assert!(target.get_opt("other-x").await.unwrap().is_none(), "/other is not selected");

    // Scale and update through the source's API.
    send(reqwest::Method::PUT, format!("{url}/v2/apps/shop/web"), Some(json!({"instances": 3})))
        .await;
    mirrored(&target, "shop-web", "the scale is mirrored", |a| a.spec.instances == Some(3)).await;
    let mut changed = app_json("/shop/api", 1);
    changed["cmd"] = json!("sleep 7200");
    send(reqwest::Method::PUT, format!("{url}/v2/apps/shop/api"), Some(changed)).await;
    mirrored(&target, "shop-api", "the update is mirrored", |a| {
        a.spec.cmd.as_deref() == Some("sleep 7200")
    })
    .await;

    // The source goes away; changes happen meanwhile; it comes back on the same address.
    relay.close();
    source.stop();
    source_apps.delete("shop-api", &DeleteParams::default()).await.expect("delete while down");
    let new_app: MarathonApp = MarathonApp::new(
        "shop-new",
        serde_json::from_value(app_json("/shop/new", 2)).expect("spec"),
    );
    source_apps.create(&PostParams::default(), &new_app).await.expect("create while down");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let source = Source::start(&client, source_ns.name()).await;
    let relay = Relay::open(addr, source.addr).await;
    gone(&target, "shop-api").await;
    mirrored(&target, "shop-new", "an app created while the source was down", |a| {
        a.spec.instances == Some(2)
    })
    .await;

    // Deleting through the API is followed.
    send(reqwest::Method::DELETE, format!("{url}/v2/apps/shop/web"), None).await;
    gone(&target, "shop-web").await;

    // Cut over /shop/legacy: its MarathonApp is the truth from now on.
    let ids = cut_over(&client, target_ns.name(), "/shop/legacy", "2026-11-29T00:00:00.000Z")
        .await
        .expect("cut over");
    assert_eq!(ids, ["/shop/legacy/db"]);
    send(
        reqwest::Method::PUT,
        format!("{url}/v2/apps/shop/legacy/db"),
        Some(json!({"instances": 4})),
    )
    .await;
    send(reqwest::Method::PUT, format!("{url}/v2/apps/shop/new"), Some(json!({"instances": 5})))
        .await;
    mirrored(&target, "shop-new", "a later change is mirrored", |a| a.spec.instances == Some(5))
        .await;
    let legacy = target.get("shop-legacy-db").await.expect("legacy app stays");
    assert_eq!(legacy.spec.instances, Some(1), "a cut-over app is not updated");
    assert!(legacy.annotations().contains_key(ANNOTATION_CUT_OVER));
    send(reqwest::Method::DELETE, format!("{url}/v2/apps/shop/legacy/db"), None).await;
    send(reqwest::Method::PUT, format!("{url}/v2/apps/shop/new"), Some(json!({"instances": 6})))
        .await;
    mirrored(&target, "shop-new", "the next change is mirrored", |a| a.spec.instances == Some(6))
        .await;
    assert!(
        target.get_opt("shop-legacy-db").await.unwrap().is_some(),
        "a cut-over app is not deleted"
    );

    shutdown.cancel();
    let counts = follower.await.expect("follower");
    assert!(counts.reconnects >= 1, "{counts}");
    assert_eq!((counts.created, counts.deleted, counts.failed), (4, 2, 0), "{counts}");
    let lines = lines.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.starts_with("source lost")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("deleted   /shop/api")), "{lines:#?}");
    relay.close();
    source.stop();
}
