//! Every Marathon app of the shared corpora (`../shared/marathon-examples/`, the app inputs of
//! `../shared/migration-fixtures/dcos-migrate/`) goes through translation without a panic.
//! Arrays, `{"apps": [...]}` lists and groups with nested apps are unpacked. The corpora are
//! read in place, never copied; when they are absent the test says so and passes.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

use std::path::{Path, PathBuf};

use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};

/// Collects app definitions from one JSON document (app, array, group, app list).
fn collect(value: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::Object(map) => {
            let is_group = map.contains_key("apps") || map.contains_key("groups");
            if let Some(apps) = map.get("apps") {
                collect(apps, out);
            }
            if let Some(groups) = map.get("groups") {
                collect(groups, out);
            }
            // Pods (`containers`), schemas and responses are not apps.
            if !is_group
                && map.contains_key("id")
                && !map.contains_key("containers")
                && map.get("id").is_some_and(|v| v.is_string())
            {
                out.push(value.clone());
            }
        }
        _ => {}
    }
}

fn corpus_files() -> Option<Vec<PathBuf>> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let dirs = [shared.join("marathon-examples"), shared.join("migration-fixtures/dcos-migrate")];
    if !dirs.iter().all(|d| d.is_dir()) {
        return None;
    }
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).ok()? {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.to_string();
            let app_file = name.ends_with(".json")
                && !name.starts_with("schema-")
                && !name.starts_with("docs-api-response-")
                && !name.contains("pod")
                && (name.starts_with("marathon-app.")
                    || name.starts_with("inline.")
                    || !name.contains('.')
                    || name.matches('.').count() == 1);
            if app_file
                && !name.starts_with("dcos-secret")
                && !name.starts_with("edgelb")
                && !name.starts_with("metronome")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Some(files)
}

#[test]
fn every_corpus_app_translates_without_panic() {
    let Some(files) = corpus_files() else {
        println!("skip: ../shared corpora not found");
        return;
    };
    let (mut apps, mut translated, mut refused) = (0, 0, Vec::new());
    for file in &files {
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut found = Vec::new();
        collect(&value, &mut found);
        for json in found {
            apps += 1;
            let Ok(spec) = MarathonAppSpec::from_marathon_json(json) else {
                refused.push(format!("{} (spec)", file.display()));
                continue;
            };
            let app = MarathonApp::new(&names::app_name(&spec.id), spec);
            match translate(&app, &[], &TranslateOptions::default()) {
                Ok(t) => {
                    translated += 1;
                    // Objects always serialise, and the same input gives the same bytes.
                    let a = serde_json::to_string(&t.objects.to_values().unwrap()).unwrap();
                    let b = serde_json::to_string(
                        &translate(&app, &[], &TranslateOptions::default())
                            .unwrap()
                            .objects
                            .to_values()
                            .unwrap(),
                    )
                    .unwrap();
                    assert_eq!(a, b, "{}", file.display());
                }
                Err(e) => refused.push(format!("{}: {e}", file.display())),
            }
        }
    }
    println!(
        "{apps} apps from {} files: {translated} translated, refused: {refused:#?}",
        files.len()
    );
    assert!(apps >= 90, "expected the whole corpus, found {apps} apps");
    assert!(translated * 10 >= apps * 9, "too many refused: {refused:#?}");
}
