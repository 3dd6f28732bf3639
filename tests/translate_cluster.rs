//! The objects translation makes for every app of the shared corpora and of `tests/golden/` are
//! accepted by a real API server: server-side dry-run apply into a fresh namespace.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

mod support;

use std::path::Path;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};

fn collect(value: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::Object(map) => {
            let group = map.contains_key("apps") || map.contains_key("groups");
            for key in ["apps", "groups"] {
                if let Some(v) = map.get(key) {
                    collect(v, out);
                }
            }
            if !group
                && map.get("id").is_some_and(serde_json::Value::is_string)
                && !map.contains_key("containers")
            {
                out.push(value.clone());
            }
        }
        _ => {}
    }
}

fn corpus() -> Vec<(String, MarathonAppSpec)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("tests/golden"),
        root.join("tests/golden/dumps"),
        root.join("../shared/marathon-examples"),
        root.join("../shared/migration-fixtures/dcos-migrate"),
    ];
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            println!("skip: {} not found", dir.display());
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if !name.ends_with(".json")
                || name.starts_with("schema-")
                || name.contains("response")
                || name.contains("expected")
                || name.contains("hostvolumes")
            {
                continue;
            }
            let Ok(value) =
                serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&path).unwrap())
            else {
                continue;
            };
            let mut found = Vec::new();
            collect(&value, &mut found);
            for json in found {
                if let Ok(spec) = MarathonAppSpec::from_marathon_json(json) {
                    out.push((name.clone(), spec));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn translated_objects_pass_server_side_dry_run() {
    let client = support::client().await;
    let ns = support::TestNamespace::new(&client, "translate").await;
    let params = PatchParams::apply("marathon-operator-test").dry_run().force();
    let mut rejected = Vec::new();
    let apps = corpus();
    for (file, spec) in &apps {
        let app = MarathonApp::new(&names::app_name(&spec.id), spec.clone());
        let options = TranslateOptions {
            namespace: Some(ns.name().to_string()),
            ..TranslateOptions::default()
        };
        let Ok(t) = translate(&app, &[], &options) else {
            continue;
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
    println!("{} apps dry-run applied", apps.len());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/marathon-examples");
    // Without the shared corpora (a checkout without ../shared) only the golden fixtures run.
    assert!(!corpus.is_dir() || apps.len() >= 90, "corpus too small: {}", apps.len());
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
