//! The dependency direction of `src/lib.rs`, checked by reading the sources: pure layers (crd,
//! translate, marathon) at the bottom, the shared watch caches above them, controllers, the
//! Marathon API and the CLI above those (never importing each other), `main` wiring them.

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("read source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir), &mut out);
    assert!(!out.is_empty(), "no sources under src/{dir}");
    out
}

/// Code lines, without comments (doc comments may name anything).
fn code(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

fn assert_none(dir: &str, forbidden: &[&str], why: &str) {
    let mut found = Vec::new();
    for (path, text) in sources(dir) {
        for (number, line) in code(&text) {
            for needle in forbidden {
                if line.contains(needle) {
                    found.push(format!("{}:{number}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{why}:\n{}", found.join("\n"));
}

#[test]
fn crd_depends_on_nothing_in_the_crate() {
    let others = [
        "crate::translate",
        "crate::controllers",
        "crate::marathon_api",
        "crate::cli",
        "crate::metrics",
        "crate::marathon",
        "crate::watch",
    ];
    assert_none("crd", &others, "src/crd is the bottom layer");
    assert_none("crd", &["kube::Client", "tokio::"], "src/crd holds types, no client");
}

#[test]
fn translation_is_pure() {
    assert_none(
        "translate",
        &["crate::controllers", "crate::marathon_api", "crate::cli", "crate::metrics"],
        "src/translate depends only on src/crd",
    );
    assert_none(
        "translate",
        &["kube::Client", "kube::Api", "kube::api::", "async fn", ".await", "tokio::"],
        "src/translate has no client, no async and no tokio",
    );
}

#[test]
fn the_marathon_model_is_pure() {
    assert_none(
        "marathon",
        &[
            "crate::controllers",
            "crate::marathon_api",
            "crate::cli",
            "crate::metrics",
            "crate::watch",
        ],
        "src/marathon depends only on src/crd and src/translate",
    );
    assert_none(
        "marathon",
        &["kube::Client", "kube::Api", "kube::api::", "async fn", ".await", "tokio::"],
        "src/marathon has no client, no async and no tokio",
    );
}

#[test]
fn the_watch_caches_sit_below_their_readers() {
    assert_none(
        "watch",
        &["crate::controllers", "crate::marathon_api", "crate::cli"],
        "src/watch is read by controllers and the facade, never the other way round",
    );
}

#[test]
fn controllers_never_depend_on_the_marathon_api() {
    assert_none(
        "controllers",
        &["crate::marathon_api", "crate::cli"],
        "controllers sit beside the facade",
    );
}

#[test]
fn the_marathon_api_writes_no_workload_objects() {
    assert_none(
        "marathon_api",
        &["crate::controllers", "crate::cli"],
        "the facade sits beside the controllers",
    );
    // ControllerRevisions (the recorded versions) are read from the caches; workloads are
    // never named.
    assert_none(
        "marathon_api",
        &[
            "Api<Deployment",
            "Api<StatefulSet",
            "Api<Pod",
            "Api<Service",
            "Api<ControllerRevision",
            "Api<PersistentVolume",
            "Api<HorizontalPodAutoscaler",
            "Api<Ingress",
            "autoscaling::v2",
        ],
        "only controllers write workload objects (the facade reads them from the watch caches)",
    );
}

#[test]
fn the_cli_does_not_reach_into_the_facade() {
    assert_none("cli", &["crate::marathon_api"], "the CLI works offline or through the cluster");
}

/// The facade's router is built from its route table only (`marathon_api::routes`), which the
/// OpenAPI document is generated from: a route added any other way would be served but not
/// documented. The web UI (`marathon_api/ui`, HTML pages, not Marathon's API) has its own
/// router, merged once in `router()`.
#[test]
fn facade_routes_come_only_from_the_route_table() {
    let ui = Path::new("marathon_api").join("ui");
    let mut found = Vec::new();
    for (path, text) in sources("marathon_api") {
        if path
            .components()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| Path::new(w[0].as_os_str()).join(w[1].as_os_str()) == ui)
        {
            continue;
        }
        for (number, line) in code(&text) {
            let adds_route = [".route(", ".route_service(", ".nest(", ".nest_service(", ".merge("]
                .iter()
                .any(|call| line.contains(call));
            let the_ui_merge = line.trim() == ".merge(ui::router())";
            if adds_route && !line.contains("route.path, route.handler") && !the_ui_merge {
                found.push(format!("{}:{number}: {}", path.display(), line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "routes outside the route table:\n{}", found.join("\n"));
}
