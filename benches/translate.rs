//! Translation speed over the shared corpora (`../shared/marathon-examples/`,
//! `../shared/migration-fixtures/dcos-migrate/`), on one core. Criterion measures the whole
//! corpus (its throughput line is apps per second); a summary line then gives microseconds per
//! app (median, p90, max). Target: median under 20 us. Run with `cargo bench --bench translate`.

#[path = "../tests/support/corpus.rs"]
mod corpus;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Instant;

use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};

/// Every app of the shared corpora (read by the tests' corpus reader) whose spec parses.
fn corpus_apps() -> Vec<MarathonApp> {
    let Some(shared) = corpus::shared_dir() else { return Vec::new() };
    let all = corpus::apps(&shared);
    let read = all.len();
    let apps: Vec<MarathonApp> = all
        .into_iter()
        .filter_map(|app| MarathonAppSpec::from_marathon_json(app.json).ok())
        .map(|spec| MarathonApp::new(&names::app_name(&spec.id), spec))
        .collect();
    println!("{read} corpus apps, {} with a spec that parses", apps.len());
    apps
}

fn bench(c: &mut Criterion) {
    let apps = corpus_apps();
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
