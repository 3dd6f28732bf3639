//! `import` and `export` against the real control plane (tests/support): a 200-app dump made
//! from the corpus is imported twice (the second run changes nothing), then exported back.

mod support;

use marathon_operator::cli::app::Batch;
use marathon_operator::cli::cluster::{self, Outcome, Plan, Summary};
use marathon_operator::cli::input::Collected;
use marathon_operator::cli::jsondiff;
use serde_json::{Value, json};
use support::corpus;

const APPS: usize = 200;

/// Valid apps of the corpus (or a few built-in ones when it is absent) as Marathon JSON.
fn templates() -> Vec<Value> {
    let mut collected = Collected::default();
    if let Some(shared) = corpus::shared_dir() {
        corpus::app_files(&shared).iter().for_each(|file| collected.read_path(file));
    } else {
        collected.read_value(
            "built-in",
            json!([
                {"id": "/a", "cmd": "sleep 100", "cpus": 0.1, "mem": 32.0, "custom": {"k": [1, 2]}},
                {"id": "/b", "container": {"type": "DOCKER", "docker": {"image": "nginx"}},
                 "portDefinitions": [{"port": 0, "name": "http"}]}
            ]),
        );
    }
    Batch::check(collected).apps.iter().filter_map(|a| a.spec.to_marathon_json().ok()).collect()
}

/// 200 apps with varied ids (nested groups, dots and dashes), cycling through the templates.
fn dump() -> Value {
    let templates = templates();
    // With the corpus the dump must draw on it; without it the built-in apps are all there is.
    let shared = corpus::shared_dir().is_some();
    assert!(!shared || templates.len() > 10, "too few templates: {}", templates.len());
    let apps: Vec<Value> = (0..APPS)
        .map(|i| {
            let mut app = corpus::without_nulls(&templates[i % templates.len()]);
            app["id"] = json!(match i % 4 {
                0 => format!("/migrated/app-{i}"),
                1 => format!("/migrated/team-{}/svc.v{i}", i % 7),
                2 => format!("/migrated/team-{}/sub/worker-{i}", i % 5),
                _ => format!("/migrated-{i}"),
            });
            // The CRD defaults `instances` to 1, as Marathon does; a dump of Marathon always
            // carries it.
            if app.get("instances").is_none() {
                app["instances"] = json!(1);
            }
            app
        })
        .collect();
    json!({ "apps": apps })
}

fn by_id(dump: &Value) -> Vec<Value> {
    let mut apps = dump["apps"].as_array().cloned().unwrap_or_default();
    apps.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    apps
}

#[tokio::test]
async fn import_twice_then_export_round_trips_200_apps() {
    let client = support::client().await;
    support::ensure_crds(&client).await;
    let ns = support::TestNamespace::new(&client, "cli").await;

    let dump = dump();
    let mut collected = Collected::default();
    collected.read_value("dump.json", dump.clone());
    let batch = Batch::check(collected);
    assert!(batch.is_valid(), "{:#?}", batch.errors);
    assert_eq!(batch.apps.len(), APPS);

    let mut seen = 0;
    let first = cluster::import_apps(&client, ns.name(), &batch.apps, 8, |_| seen += 1)
        .await
        .expect("import");
    assert_eq!(seen, APPS, "progress saw every app");
    let failures: Vec<_> =
        first.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(Summary::of(&first), Summary { created: APPS, ..Summary::default() });

    let second =
        cluster::import_apps(&client, ns.name(), &batch.apps, 8, |_| {}).await.expect("import");
    let changed: Vec<_> = second.iter().filter(|r| r.outcome != Outcome::Unchanged).collect();
    assert!(changed.is_empty(), "second import changed: {changed:#?}");
    assert_eq!(Summary::of(&second), Summary { unchanged: APPS, ..Summary::default() });

    let exported = cluster::export_apps(&client, Some(ns.name())).await.expect("export");
    let (expected, actual) = (by_id(&dump), by_id(&exported));
    assert_eq!(actual.len(), APPS);
    for (want, got) in expected.iter().zip(&actual) {
        // Numbers compare by value: the API server stores `1.0` as `1`.
        let changes = jsondiff::diff(want, got);
        assert!(changes.is_empty(), "{}: {changes:#?}", want["id"]);
    }

    // diff: an edited app shows the changed field, the others are unchanged.
    let mut edited = batch.apps[..3].to_vec();
    edited[0].spec.instances = Some(7);
    let plans = cluster::diff_apps(&client, ns.name(), &edited, 4).await.expect("diff");
    match &plans[0] {
        Ok(Plan::Changed(changes)) => {
            let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].starts_with("~ instances: "), "{lines:?}");
            assert!(lines[0].ends_with("-> 7"), "{lines:?}");
        }
        other => panic!("expected a change, got {other:?}"),
    }
    assert!(plans[1..].iter().all(|p| matches!(p, Ok(Plan::Unchanged))), "{plans:?}");
}
