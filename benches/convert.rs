//! `cargo bench --bench convert`: converts 10,000 apps (made from the shared corpus with varied
//! ids) the way `convert` does (read, check, translate, render YAML) and prints apps per second.

use std::path::Path;
use std::time::Instant;

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::Batch;
use marathon_operator::cli::convert::{convert_app, to_yaml};
use marathon_operator::cli::input::Collected;
use marathon_operator::translate::TranslateOptions;
use serde_json::{Value, json};

const APPS: usize = 10_000;

/// Valid apps of the corpus, or one built-in app when the corpus is absent.
fn templates() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/marathon-examples");
    let mut collected = Collected::default();
    if dir.is_dir() {
        collected.read_path(&dir);
    }
    let batch = Batch::check(collected);
    let mut apps: Vec<Value> = batch
        .apps
        .iter()
        .filter(|app| {
            let options = TranslateOptions::default();
            convert_app(app, OutputKind::K8s, &options).is_ok()
        })
        .filter_map(|app| app.spec.to_marathon_json().ok())
        .collect();
    if apps.is_empty() {
        eprintln!("../shared/marathon-examples is absent: using one built-in app");
        apps.push(json!({
            "id": "/web", "cmd": "python3 -m http.server $PORT0", "cpus": 0.5, "mem": 256,
            "instances": 2, "portDefinitions": [{"port": 0, "name": "http"}],
            "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
        }));
    }
    apps
}

fn main() {
    let templates = templates();
    let documents: Vec<Value> = (0..APPS)
        .map(|i| {
            let mut app = templates[i % templates.len()].clone();
            app["id"] = json!(format!("/bench/team-{}/app-{i}", i % 50));
            app
        })
        .collect();
    let dump = json!({ "apps": documents });
    for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
        let start = Instant::now();
        let mut collected = Collected::default();
        collected.read_value("bench", dump.clone());
        let batch = Batch::check(collected);
        assert!(batch.is_valid(), "{:?}", batch.errors.first());
        let options = TranslateOptions { namespace: Some("bench".into()), ..Default::default() };
        let mut bytes = 0;
        for app in &batch.apps {
            let converted = convert_app(app, kind, &options).expect("converts");
            bytes += to_yaml(&converted.documents).expect("renders").len();
        }
        let elapsed = start.elapsed();
        let rate = APPS as f64 / elapsed.as_secs_f64();
        println!(
            "convert --output {kind:?}: {APPS} apps in {:.2} s = {rate:.0} apps/s ({} templates, {:.1} MiB of YAML)",
            elapsed.as_secs_f64(),
            templates.len(),
            bytes as f64 / (1024.0 * 1024.0),
        );
    }
}
