//! A `/v2/apps` dump as Marathon 1.4 wrote it (`tests/golden/dumps/marathon-1.4-v2-apps.json`,
//! built by hand from 1.4's `AppDefinition` writes: `ports` and `portDefinitions` for every app
//! but IP-per-task ones, `portDefinitions` next to bridge `container.docker.portMappings`, `uris`
//! next to the `fetch` they came from, `null`s, read-only counters) converts: every app passes
//! the CRD's rules offline and translates; `translate::normalize` turns each into the form
//! Marathon 1.5+ would store, which translates to the same objects.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

use std::path::Path;

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::{App, Batch};
use marathon_operator::cli::convert::{convert_app, marathon_app};
use marathon_operator::cli::input::Collected;
use marathon_operator::translate::{TranslateOptions, normalize, translate};
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
fn definitions_are_kept_as_given_and_normalise_like_marathon_does() {
    let batch = dump();
    let web = app(&batch, "/legacy/web");
    // convert and import keep the definition as given: export gives back what was imported.
    assert_eq!(marathon_app(web, None).spec, web.spec);
    let mut spec = web.spec.clone();
    assert!(normalize(&mut spec));
    assert_eq!(spec.ports, None, "bridge app: ports dropped");
    assert_eq!(spec.port_definitions, None, "bridge app: portDefinitions dropped");
    let mut worker = app(&batch, "/legacy/worker").spec.clone();
    assert!(normalize(&mut worker));
    assert_eq!(worker.ports, None, "equal to portDefinitions");
    assert_eq!(worker.port_definitions.as_ref().map(Vec::len), Some(2));
    assert_eq!(worker.uris, None, "derived from fetch");
    // Raw and normalised, every app passes the CRD's rules and translates to the same objects.
    for app in &batch.apps {
        let raw = marathon_app(app, None);
        let mut normalised = raw.clone();
        normalize(&mut normalised.spec);
        for resource in [&raw, &normalised] {
            resource.validate_cel().unwrap();
        }
        let options = TranslateOptions::default();
        assert_eq!(
            translate(&raw, &[], &options).unwrap(),
            translate(&normalised, &[], &options).unwrap(),
            "{}",
            app.id()
        );
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
    let worker = marathon_app(app(&batch, "/legacy/worker"), None);
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
