//! `cargo bench --bench convert`: converts 10,000 apps (made from the shared corpus with varied
//! ids) the way `convert` does and prints apps per second, end to end and per stage: read the
//! dump's JSON text (parse it, on every core, and read the apps out of it), check them (types,
//! ids, the CRD's rules), then translate and write the YAML stream into a buffer.
//!
//! Each output kind runs on every core (as the CLI does) and on one thread; the best of
//! [`RUNS`] runs is printed with its wall time and the CPU time of all the process's threads
//! (from `/proc/self/task/*/schedstat`), so the figures mean something on a loaded machine.
//! The two runs must write the same bytes.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::Batch;
use marathon_operator::cli::convert::{Converted, Output, convert_app, render_in_order};
use marathon_operator::cli::input::Collected;
use marathon_operator::translate::TranslateOptions;
use serde_json::{Value, json};

// The binary's allocator (src/main.rs), so the bench measures what the CLI runs.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const APPS: usize = 10_000;
const RUNS: usize = 3;
const TARGET_APPS_PER_SECOND: f64 = 50_000.0;

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

/// CPU time of every thread of this process so far (threads that exited are not counted: the
/// bench keeps its thread pools alive while it measures).
fn cpu_time() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    let nanos: u64 = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Wall and CPU time of one stage.
#[derive(Clone, Copy, Default)]
struct Spent {
    wall: Duration,
    cpu: Duration,
}

/// Measures one stage: wall time and the CPU time of all threads.
fn stage<T>(spent: &mut Spent, work: impl FnOnce() -> T) -> T {
    let (cpu, start) = (cpu_time(), Instant::now());
    let out = work();
    *spent = Spent { wall: start.elapsed(), cpu: cpu_time().saturating_sub(cpu) };
    out
}

/// Time spent in each stage of one run.
#[derive(Default)]
struct Stages {
    read: Spent,
    check: Spent,
    convert: Spent,
}

impl Stages {
    fn all(&self) -> [Spent; 3] {
        [self.read, self.check, self.convert]
    }

    fn wall(&self) -> Duration {
        self.all().iter().map(|s| s.wall).sum()
    }

    fn cpu(&self) -> Duration {
        self.all().iter().map(|s| s.cpu).sum()
    }
}

/// One end-to-end run; the YAML stream goes to `out` (allocated once by the caller, as the
/// CLI's stdout buffer is).
fn run(text: &str, kind: OutputKind, out: &mut Vec<u8>) -> Stages {
    let mut stages = Stages::default();
    out.clear();
    // As `convert` reads a file: the text parsed (on every core) and walked.
    let collected = stage(&mut stages.read, || {
        let mut collected = Collected::default();
        collected.read_text("bench", text);
        collected
    });
    assert!(collected.errors.is_empty(), "{:?}", collected.errors.first());
    let batch = stage(&mut stages.check, || Batch::check(collected));
    assert!(batch.is_valid(), "{:?}", batch.errors.first());
    let options = TranslateOptions { namespace: Some("bench".into()), ..Default::default() };
    stage(&mut stages.convert, || {
        render_in_order(&batch.apps, kind, &options, |_, result| {
            out.extend_from_slice(result.expect("converts").yaml.as_bytes());
            Ok::<(), ()>(())
        })
        .expect("renders");
        black_box(&out);
    });
    stages
}

/// The fastest of [`RUNS`] runs (after a warm-up run: rules compile once per process).
fn best_run(text: &str, kind: OutputKind, out: &mut Vec<u8>) -> Stages {
    run(text, kind, out);
    (0..RUNS).map(|_| run(text, kind, out)).min_by_key(Stages::wall).expect("RUNS > 0")
}

fn per_app(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6 / APPS as f64
}

fn print(label: &str, kind: OutputKind, s: &Stages, bytes: usize) {
    let wall = s.wall().as_secs_f64();
    println!(
        "convert --output {kind:?}, {label}: {APPS} apps in {wall:.3} s = {:.0} apps/s ({:.2}x the \
         target), {:.1} us/app wall, {:.1} us/app CPU ({:.1} MiB of YAML)",
        APPS as f64 / wall,
        APPS as f64 / wall / TARGET_APPS_PER_SECOND,
        per_app(s.wall()),
        per_app(s.cpu()),
        bytes as f64 / (1024.0 * 1024.0),
    );
    let names = ["read (parse + shapes)", "check", "translate + write YAML"];
    let parts: Vec<String> = names
        .iter()
        .zip(s.all())
        .map(|(name, spent)| format!("{name} {:.1}/{:.1}", per_app(spent.wall), per_app(spent.cpu)))
        .collect();
    println!("  per app, us wall/CPU: {}", parts.join(", "));
}

/// One app's documents written by serde_norway, as `convert` wrote them before.
fn norway_yaml(converted: &Converted, out: &mut Vec<u8>) {
    fn document<T: serde::Serialize>(out: &mut Vec<u8>, document: &T) {
        out.extend_from_slice(b"---\n");
        serde_norway::to_writer(&mut *out, document).expect("yaml");
    }
    let objects = match &converted.output {
        Output::Resource(resource) => return document(out, resource),
        Output::Objects(objects) => objects,
    };
    objects.pvcs.iter().for_each(|o| document(out, o));
    objects.services.iter().for_each(|o| document(out, o));
    objects.deployment.iter().for_each(|o| document(out, o));
    objects.stateful_set.iter().for_each(|o| document(out, o));
    objects.hpa.iter().for_each(|o| document(out, o));
    objects.ingress.iter().for_each(|o| document(out, o));
}

/// The translation alone (as `convert` runs it for this output), then the YAML writer alone
/// against serde_norway (libyaml's emitter, the writer before) on the same converted apps, one
/// thread.
fn compare_writers(text: &str, kind: OutputKind) {
    let mut collected = Collected::default();
    collected.read_value("bench", serde_json::from_str(text).expect("the dump parses"));
    let batch = Batch::check(collected);
    let options = TranslateOptions { namespace: Some("bench".into()), ..Default::default() };
    let mut translation = Spent::default();
    let converted: Vec<_> = stage(&mut translation, || {
        batch.apps.iter().map(|app| convert_app(app, kind, &options).expect("converts")).collect()
    });
    let (mut saphyr, mut norway) = (Spent::default(), Spent::default());
    let mut out = Vec::with_capacity(64 << 20);
    stage(&mut saphyr, || {
        converted.iter().for_each(|c| out.extend_from_slice(c.to_yaml().expect("yaml").as_bytes()))
    });
    out.clear();
    stage(&mut norway, || converted.iter().for_each(|c| norway_yaml(c, &mut out)));
    println!(
        "  one thread, us/app CPU: translation alone {:.1}; YAML writer alone: serde-saphyr {:.1}, serde_norway (libyaml) {:.1}",
        per_app(translation.cpu),
        per_app(saphyr.cpu),
        per_app(norway.cpu),
    );
}

/// The outputs to measure: both, or the one `CONVERT_BENCH_OUTPUT` names (`marathonapp` or
/// `k8s`), so a profile of the bench shows one output alone.
fn kinds() -> Vec<OutputKind> {
    match std::env::var("CONVERT_BENCH_OUTPUT").as_deref() {
        Ok("marathonapp") => vec![OutputKind::Marathonapp],
        Ok("k8s") => vec![OutputKind::K8s],
        Ok(other) => panic!("CONVERT_BENCH_OUTPUT={other}: expected marathonapp or k8s"),
        Err(_) => vec![OutputKind::Marathonapp, OutputKind::K8s],
    }
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
    println!("{} templates, {:.1} MiB of JSON", templates.len(), text.len() as f64 / 1048576.0);
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
    let (mut parallel_out, mut single_out) = (Vec::new(), Vec::new());
    for kind in kinds() {
        let cores = rayon::current_num_threads();
        let parallel = best_run(&text, kind, &mut parallel_out);
        print(&format!("{cores} threads"), kind, &parallel, parallel_out.len());
        let single = one_thread.install(|| best_run(&text, kind, &mut single_out));
        print("1 thread", kind, &single, single_out.len());
        assert!(parallel_out == single_out, "parallel output differs from sequential");
        compare_writers(&text, kind);
    }
}
