//! Translation speed over the shared corpora (`../shared/marathon-examples/`,
//! `../shared/migration-fixtures/dcos-migrate/`), on one core. Criterion measures the whole
//! corpus (its throughput line is apps per second); a summary line then gives microseconds per
//! app (median, p90, max). Target: median under 20 us. Run with `cargo bench --bench translate`.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Instant;

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

fn corpus() -> Vec<MarathonApp> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut apps = Vec::new();
    for dir in ["marathon-examples", "migration-fixtures/dcos-migrate"] {
        let Ok(entries) = std::fs::read_dir(shared.join(dir)) else {
            println!("skip: {dir} not found");
            return Vec::new();
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if !name.ends_with(".json") || name.starts_with("schema-") || name.contains("response")
            {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let mut found = Vec::new();
            collect(&value, &mut found);
            for json in found {
                if let Ok(spec) = MarathonAppSpec::from_marathon_json(json) {
                    apps.push(MarathonApp::new(&names::app_name(&spec.id), spec));
                }
            }
        }
    }
    apps
}

fn bench(c: &mut Criterion) {
    let apps = corpus();
    if apps.is_empty() {
        println!("no apps");
        return;
    }
    let options = TranslateOptions::default();
    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Elements(apps.len() as u64));
    group.bench_function("shared corpora", |b| {
        b.iter(|| {
            for app in &apps {
                std::hint::black_box(translate(std::hint::black_box(app), &[], &options).ok());
            }
        })
    });
    group.finish();
    summary(&apps, &options);
}

/// Microseconds per app, app by app, for the median the target is about.
fn summary(apps: &[MarathonApp], options: &TranslateOptions) {
    let rounds = 200;
    let mut per_app: Vec<f64> = apps
        .iter()
        .map(|app| {
            let start = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(translate(std::hint::black_box(app), &[], options).ok());
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
        })
        .collect();
    per_app.sort_by(f64::total_cmp);
    if per_app.is_empty() {
        println!("no apps");
        return;
    }
    let at = |q: f64| per_app[((per_app.len() - 1) as f64 * q) as usize];
    println!(
        "translate: {} apps, median {:.1} us/app, p90 {:.1} us/app, max {:.1} us/app (target: median < 20 us)",
        per_app.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
