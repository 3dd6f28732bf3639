//! A `/v2/apps` dump as Marathon 1.4 wrote it (`tests/golden/dumps/marathon-1.4-v2-apps.json`,
//! built by hand from 1.4's `AppDefinition` writes: `ports` and `portDefinitions` for every app
//! but IP-per-task ones, `portDefinitions` next to bridge `container.docker.portMappings`, `uris`
//! next to the `fetch` they came from, `null`s, read-only counters) converts: every app passes
//! the CRD's rules offline and translates, and is stored in the form Marathon 1.5+ stores
//! (`translate::normalize`), which translates to the same objects as the form written. The
//! Marathon API stores a POSTed app in exactly the form `convert` and `import` store.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

mod support;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kube::Api;
use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::{App, Batch};
use marathon_operator::cli::convert::{convert_app, marathon_app};
use marathon_operator::cli::input::Collected;
use marathon_operator::cli::jsondiff;
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::marathon::validation::strip_read_only;
use marathon_operator::marathon_api::{FacadeConfig, FacadeState, router};
use marathon_operator::metrics::Metrics;
use marathon_operator::translate::{TranslateOptions, normalize, translate};
use marathon_operator::watch::Watches;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

fn dump_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dumps/marathon-1.4-v2-apps.json")
}

fn dump() -> Batch {
    let mut collected = Collected::default();
    collected.read_path(&dump_path());
    Batch::check(collected)
}

fn app<'a>(batch: &'a Batch, id: &str) -> &'a App {
    batch.apps.iter().find(|a| a.id() == id).unwrap()
}

fn documents(app: &App, kind: OutputKind) -> Vec<Value> {
    convert_app(app, kind, &TranslateOptions::default()).unwrap().documents().unwrap()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {docs:#?}"))
}

#[test]
fn every_app_of_a_marathon_1_4_dump_converts() {
    let batch = dump();
    let errors: Vec<String> = batch.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(batch.apps.len(), 5);
    for app in &batch.apps {
        for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
            if let Err(err) = convert_app(app, kind, &TranslateOptions::default()) {
                panic!("{}: {err}", app.id());
            }
        }
    }
}

/// The dump's apps as Marathon 1.4 wrote them, parsed but not normalised (what `kubectl apply`
/// of such a definition stores), by id.
fn raw_specs() -> Vec<MarathonAppSpec> {
    let text = std::fs::read_to_string(dump_path()).unwrap();
    let dump: Value = serde_json::from_str(&text).unwrap();
    dump["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| {
            let mut app = app.clone();
            strip_read_only(&mut app);
            MarathonAppSpec::from_marathon_json(app).unwrap()
        })
        .collect()
}

#[test]
fn definitions_are_stored_as_marathon_1_5_normalises_them() {
    let batch = dump();
    let web = &app(&batch, "/legacy/web").spec;
    assert_eq!(web.ports, None, "bridge app: ports dropped");
    assert_eq!(web.port_definitions, None, "bridge app: portDefinitions dropped");
    let worker = &app(&batch, "/legacy/worker").spec;
    assert_eq!(worker.ports, None, "equal to portDefinitions");
    assert_eq!(worker.port_definitions.as_ref().map(Vec::len), Some(2));
    assert_eq!(worker.uris, None, "derived from fetch");
    // As written (what kubectl would store) and normalised, every app passes the CRD's rules
    // and translates to the same objects.
    let raw = raw_specs();
    assert_eq!(raw.len(), batch.apps.len());
    let mut legacy = 0;
    for spec in raw {
        let app = app(&batch, &spec.id);
        legacy += usize::from(spec != app.spec);
        let mut renormalised = spec.clone();
        normalize(&mut renormalised);
        assert_eq!(renormalised, app.spec, "{}: one normalisation", spec.id);
        let written = MarathonApp::new(&app.name, spec);
        let stored = marathon_app(app, None);
        for resource in [&written, &stored] {
            resource.validate_cel().unwrap();
        }
        let options = TranslateOptions::default();
        assert_eq!(
            translate(&written, &[], &options).unwrap(),
            translate(&stored, &[], &options).unwrap(),
            "{}",
            app.id()
        );
    }
    assert!(legacy >= 2, "the dump has legacy fields to normalise");
}

#[test]
fn bridge_ports_keep_their_service_ports() {
    let batch = dump();
    let docs = documents(app(&batch, "/legacy/web"), OutputKind::K8s);
    let ports = &find(&docs, "Service", "legacy-web")["spec"]["ports"];
    let pairs: Vec<(i64, &str)> = ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["port"].as_i64().unwrap(), p["targetPort"].as_str().unwrap()))
        .collect();
    assert_eq!(pairs, [(10000, "http"), (10001, "port1")]);
    let container =
        &find(&docs, "Deployment", "legacy-web")["spec"]["template"]["spec"]["containers"][0];
    let listen: Vec<i64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(listen, [80, 10001], "the dynamic port takes the service port clients used");
    let vip = &find(&docs, "Service", "web")["spec"]["ports"][0];
    assert_eq!((vip["port"].as_i64(), vip["targetPort"].as_str()), (Some(80), Some("http")));
}

#[test]
fn fetch_and_uris_download_once() {
    let spec = raw_specs().into_iter().find(|s| s.id == "/legacy/worker").unwrap();
    let worker = MarathonApp::new("legacy-worker", spec);
    assert!(worker.spec.uris.is_some() && worker.spec.fetch.is_some(), "as 1.4 wrote it");
    let t = translate(&worker, &[], &TranslateOptions::default()).unwrap();
    let d = t.objects.deployment.unwrap();
    let init = d.spec.template.spec.unwrap().init_containers.unwrap();
    let script = &init[0].command.as_ref().unwrap()[2];
    assert_eq!(script.matches("wget").count(), 1, "{script}");
}

#[test]
fn resident_and_ip_per_task_apps_translate_as_marathon_ran_them() {
    let batch = dump();
    let docs = documents(app(&batch, "/legacy/db"), OutputKind::K8s);
    assert!(docs.iter().any(|d| d["kind"] == "StatefulSet"));
    let docs = documents(app(&batch, "/legacy/ip-per-task"), OutputKind::K8s);
    let container = &find(&docs, "Deployment", "legacy-ip-per-task")["spec"]["template"]["spec"]["containers"]
        [0];
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(container["ports"][0]["name"], "http");
}

/// The Marathon API stores each app of the dump, POSTed as Marathon 1.4 wrote it, exactly as
/// `convert` and `import` store it (one normalisation for every door).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marathon_api_stores_a_posted_app_as_convert_and_import_do() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "legacy").await;
    let (watches, drive) = Watches::start(&client, &[ns.name().to_owned()]);
    tokio::spawn(drive);
    watches.wait_until_ready().await;
    let config = FacadeConfig::local(ns.name());
    let state = FacadeState::new(
        client.clone(),
        watches,
        config,
        Metrics::shared(),
        CancellationToken::new(),
    );
    let router = router(state);
    let batch = dump();
    let dump: Value = serde_json::from_str(&std::fs::read_to_string(dump_path()).unwrap()).unwrap();
    let api: Api<MarathonApp> = Api::namespaced(client, ns.name());
    for raw in dump["apps"].as_array().unwrap() {
        let request = Request::post("/v2/apps")
            .header("content-type", "application/json")
            .body(Body::from(raw.to_string()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
        let converted = app(&batch, raw["id"].as_str().unwrap());
        let stored = api.get(&converted.name).await.unwrap();
        // The one difference is not normalisation: Marathon ignores `version` on create and
        // assigns a new one (the facade records it in status), while `convert` keeps the
        // dump's version for the translated MARATHON_APP_VERSION.
        let mut expected = serde_json::to_value(&converted.spec).unwrap();
        expected.as_object_mut().unwrap().remove("version");
        let changes = jsondiff::diff(&expected, &serde_json::to_value(&stored.spec).unwrap());
        assert!(changes.is_empty(), "{}: {changes:#?}", converted.id());
    }
}
