//! The objects translation makes for every app of the shared corpora and of `tests/golden/` are
//! accepted by a real API server: server-side dry-run apply into a fresh namespace.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

mod support;

use std::path::Path;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};
use support::corpus;

/// The apps of `tests/golden/` and, when present, of the shared corpora (read by
/// `support::corpus`, which fails in CI without them), each with the spec Marathon's JSON
/// gives. An app whose spec does not parse fails the test unless the corpus lists it as one
/// Marathon itself rejects.
fn corpus_specs() -> (Vec<(String, MarathonAppSpec)>, usize) {
    let mut files = corpus::golden_files();
    let shared = corpus::shared_dir();
    if let Some(shared) = &shared {
        files.extend(corpus::app_files(shared));
    }
    let mut specs = Vec::new();
    let mut unreadable = Vec::new();
    for corpus::CorpusApp { name, json } in corpus::apps_of(files) {
        match MarathonAppSpec::from_marathon_json(json) {
            Ok(spec) => specs.push((name, spec)),
            Err(_) if corpus::invalid(&name).is_some() => {}
            Err(err) => unreadable.push(format!("{name}: {err}")),
        }
    }
    assert!(unreadable.is_empty(), "apps whose spec does not parse: {unreadable:#?}");
    let expected = if shared.is_some() { 90 } else { 5 };
    (specs, expected)
}

#[tokio::test]
async fn translated_objects_pass_server_side_dry_run() {
    let client = support::client().await;
    let ns = support::TestNamespace::new(&client, "translate").await;
    let params = PatchParams::apply("marathon-operator-test").dry_run().force();
    let (mut rejected, mut refused) = (Vec::new(), Vec::new());
    let (apps, expected) = corpus_specs();
    for (file, spec) in &apps {
        let app = MarathonApp::new(&names::app_name(&spec.id), spec.clone());
        let options = TranslateOptions {
            namespace: Some(ns.name().to_string()),
            ..TranslateOptions::default()
        };
        let t = match translate(&app, &[], &options) {
            Ok(t) => t,
            Err(err) => {
                refused.push(format!("{file}: {err}"));
                continue;
            }
        };
        for object in t.objects.to_values().unwrap() {
            let api_version = object["apiVersion"].as_str().unwrap().to_string();
            let kind = object["kind"].as_str().unwrap().to_string();
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
            let gvk = kube::api::GroupVersionKind::gvk(group, version, &kind);
            let resource = ApiResource::from_gvk(&gvk);
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), ns.name(), &resource);
            let name = object["metadata"]["name"].as_str().unwrap().to_string();
            if let Err(err) = api.patch(&name, &params, &Patch::Apply(&object)).await {
                rejected.push(format!("{file} {kind}/{name}: {err}"));
            }
        }
    }
    println!("{} apps dry-run applied; translation refused: {refused:#?}", apps.len());
    assert!(apps.len() >= expected, "corpus too small: {} apps", apps.len());
    assert!(refused.len() * 10 <= apps.len(), "too many refused: {refused:#?}");
    assert!(rejected.is_empty(), "rejected by the API server: {rejected:#?}");
}

/// A Marathon 1.4 `/v2/apps` dump imports: each app, as written (legacy fields and all) and as
/// `import` normalises it, is accepted as a MarathonApp by the API server's own CRD rules.
#[tokio::test]
async fn a_marathon_1_4_dump_is_accepted_as_marathon_apps() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "legacy").await;
    let api: Api<MarathonApp> = Api::namespaced(client.clone(), ns.name());
    let params = PatchParams::apply("marathon-operator-test").dry_run().force();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dumps/marathon-1.4-v2-apps.json");
    let dump: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut rejected = Vec::new();
    for json in dump["apps"].as_array().unwrap() {
        let mut json = json.clone();
        for key in ["tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy", "deployments"]
        {
            json.as_object_mut().unwrap().remove(key);
        }
        let raw = MarathonAppSpec::from_marathon_json(json).unwrap();
        let mut normalised = raw.clone();
        marathon_operator::translate::normalize(&mut normalised);
        for spec in [raw, normalised] {
            let mut app = MarathonApp::new(&names::app_name(&spec.id), spec);
            app.metadata.namespace = Some(ns.name().to_string());
            let name = app.metadata.name.clone().unwrap();
            if let Err(err) = api.patch(&name, &params, &Patch::Apply(&app)).await {
                rejected.push(format!("{name}: {err}"));
            }
        }
    }
    assert!(rejected.is_empty(), "rejected by the API server: {rejected:#?}");
}
