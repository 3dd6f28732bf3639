//! A `/v2/apps` dump as Marathon 1.4 wrote it (`tests/golden/dumps/marathon-1.4-v2-apps.json`,
//! built by hand from 1.4's `AppDefinition` writes: `ports` and `portDefinitions` for every app
//! but IP-per-task ones, `portDefinitions` next to bridge `container.docker.portMappings`, `uris`
//! next to the `fetch` they came from, `null`s, read-only counters) converts: every app passes
//! the CRD's rules offline, translates, and comes out normalised as Marathon 1.5+ would store it.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

use std::path::Path;

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::{App, Batch};
use marathon_operator::cli::convert::{convert_app, marathon_app};
use marathon_operator::cli::input::Collected;
use marathon_operator::translate::{TranslateOptions, translate};
use serde_json::Value;

fn dump() -> Batch {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dumps/marathon-1.4-v2-apps.json");
    let mut collected = Collected::default();
    collected.read_path(&path);
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

#[test]
fn stored_definitions_are_normalised_like_marathon_does() {
    let batch = dump();
    let web = marathon_app(app(&batch, "/legacy/web"), None);
    assert_eq!(web.spec.ports, None, "bridge app: ports dropped");
    assert_eq!(web.spec.port_definitions, None, "bridge app: portDefinitions dropped");
    let worker = marathon_app(app(&batch, "/legacy/worker"), None);
    assert_eq!(worker.spec.ports, None, "equal to portDefinitions");
    assert_eq!(worker.spec.port_definitions.as_ref().map(Vec::len), Some(2));
    assert_eq!(worker.spec.uris, None, "derived from fetch");
    // The normalised resource still passes the CRD's rules.
    for app in &batch.apps {
        marathon_app(app, None).validate_cel().unwrap();
    }
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
    let batch = dump();
    let worker = app(&batch, "/legacy/worker");
    let resource = marathon_app(worker, None);
    // Also without normalisation (a resource stored before it existed): one download.
    let mut raw = resource.clone();
    raw.spec.uris = worker.spec.uris.clone();
    for r in [resource, raw] {
        let t = translate(&r, &[], &TranslateOptions::default()).unwrap();
        let d = t.objects.deployment.unwrap();
        let init = d.spec.template.spec.unwrap().init_containers.unwrap();
        let script = &init[0].command.as_ref().unwrap()[2];
        assert_eq!(script.matches("wget").count(), 1, "{script}");
    }
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
