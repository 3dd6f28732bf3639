//! `cargo bench --bench convert`: converts 10,000 apps (made from the shared corpus with varied
//! ids) the way `convert` does and prints apps per second, end to end and per stage: parse the
//! dump's JSON text, read the apps out of it, check them (types, ids, the CRD's rules), then
//! translate and write the YAML stream into a buffer.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::Batch;
use marathon_operator::cli::convert::convert_app;
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

/// Time spent in each stage of one run.
#[derive(Default)]
struct Stages {
    parse: Duration,
    read: Duration,
    check: Duration,
    convert: Duration,
    bytes: usize,
}

fn run(text: &str, kind: OutputKind) -> Stages {
    let mut stages = Stages::default();
    let start = Instant::now();
    let value: Value = serde_json::from_str(text).expect("the dump parses");
    stages.parse = start.elapsed();
    let start = Instant::now();
    let mut collected = Collected::default();
    collected.read_value("bench", value);
    stages.read = start.elapsed();
    let start = Instant::now();
    let batch = Batch::check(collected);
    stages.check = start.elapsed();
    assert!(batch.is_valid(), "{:?}", batch.errors.first());
    let start = Instant::now();
    let options = TranslateOptions { namespace: Some("bench".into()), ..Default::default() };
    let mut out: Vec<u8> = Vec::with_capacity(64 << 20);
    for app in &batch.apps {
        let converted = convert_app(app, kind, &options).expect("converts");
        converted.write_yaml(&mut out).expect("renders");
    }
    stages.convert = start.elapsed();
    stages.bytes = black_box(out).len();
    stages
}

fn per_app(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6 / APPS as f64
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
    let text = serde_json::to_string(&json!({ "apps": documents })).expect("renders");
    for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
        run(&text, kind); // warm-up: the CRD's rules compile once per process
        let s = run(&text, kind);
        let total = s.parse + s.read + s.check + s.convert;
        println!(
            "convert --output {kind:?}: {APPS} apps in {:.3} s = {:.0} apps/s, {:.1} us/app ({} templates, {:.1} MiB of YAML)",
            total.as_secs_f64(),
            APPS as f64 / total.as_secs_f64(),
            per_app(total),
            templates.len(),
            s.bytes as f64 / (1024.0 * 1024.0),
        );
        println!(
            "  per app: parse JSON {:.1} us, read {:.1} us, check {:.1} us, translate + write YAML {:.1} us",
            per_app(s.parse),
            per_app(s.read),
            per_app(s.check),
            per_app(s.convert),
        );
    }
}
