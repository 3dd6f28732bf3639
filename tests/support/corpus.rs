//! The shared corpora of real Marathon JSON (`../shared/marathon-examples` and
//! `../shared/migration-fixtures/dcos-migrate`), read in one place: which files are app
//! definitions (as each directory's SOURCES.md classifies them), and every app inside them,
//! found by the CLI's own reader (single apps, arrays, groups, `/v2/apps` and `/v2/groups`
//! dumps). Outside CI a missing `../shared` skips (with a line saying so); in CI (`CI=true`) it
//! fails. A file that does not parse fails too: nothing is skipped silently.
//!
//! `benches/translate.rs` and `tests/fuzz_replay.rs` include this file with `#[path]`, so it
//! depends on nothing else in `support`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use marathon_operator::cli::input::Collected;
use serde_json::Value;

/// One app definition of the corpora.
pub struct CorpusApp {
    /// File name, plus `#<JSON pointer>` for an app inside an array, a group or a dump.
    pub name: String,
    /// The definition as the CLI's reader found it (ids made absolute).
    pub json: Value,
}

/// `../shared` next to the repository; `None` (after saying so) when absent outside CI.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("marathon-examples").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: CI must have the shared Marathon corpora",
        dir.display()
    );
    eprintln!("skipped: {} (the shared Marathon corpora) is not present", dir.display());
    None
}

/// The files of the corpora that hold Marathon app definitions, in name order.
pub fn app_files(shared: &Path) -> Vec<PathBuf> {
    let examples = shared.join("marathon-examples");
    let migrate = shared.join("migration-fixtures/dcos-migrate");
    let mut files: Vec<PathBuf> = classified_apps(&examples)
        .into_iter()
        .chain(listed(&migrate).into_iter().filter(|(_, name)| is_migrate_app(name)))
        .map(|(dir, name)| dir.join(name))
        .collect();
    files.sort();
    assert!(files.len() > 50, "the corpora hold only {} app files", files.len());
    files
}

/// Every app of the corpora, named by file and JSON pointer.
pub fn apps(shared: &Path) -> Vec<CorpusApp> {
    apps_of(app_files(shared))
}

/// The Marathon inputs of this repository's golden tests (`tests/golden/<case>.json`, not
/// their expectations or HostVolume companions) and its dumps (`tests/golden/dumps/`).
pub fn golden_files() -> Vec<PathBuf> {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = listed(&golden)
        .into_iter()
        .chain(listed(&golden.join("dumps")))
        .filter(|(_, name)| {
            name.ends_with(".json")
                && !name.ends_with(".expected.json")
                && !name.ends_with(".hostvolumes.json")
        })
        .map(|(dir, name)| dir.join(name))
        .collect();
    files.sort();
    assert!(files.len() > 5, "tests/golden holds only {} inputs", files.len());
    files
}

/// Every app of `files`, found by the CLI's reader and named by file and JSON pointer; a
/// file the reader refuses fails.
pub fn apps_of(files: Vec<PathBuf>) -> Vec<CorpusApp> {
    let mut apps = Vec::new();
    for file in files {
        let mut collected = Collected::default();
        collected.read_path(&file);
        assert!(
            collected.errors.is_empty(),
            "the reader refuses {}: {:#?}",
            file.display(),
            collected.errors
        );
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        apps.extend(collected.apps.into_iter().map(|app| CorpusApp {
            name: match app.origin.pointer.as_str() {
                "" => name.clone(),
                pointer => format!("{name}#{pointer}"),
            },
            json: app.json,
        }));
    }
    apps
}

/// Every app of the corpora, or `None` when they are absent outside CI.
pub fn load() -> Option<Vec<CorpusApp>> {
    shared_dir().map(|shared| apps(&shared))
}

/// Apps of the corpora that Marathon itself rejects, with the field our CRD names and why.
pub const INVALID: &[(&str, &str, &str)] = &[
    (
        "docs-api-app.json",
        "spec.args",
        "RAML kitchen-sink example: cmd and args together (and portDefinitions with portMappings)",
    ),
    (
        "docs-secrets-file-volume.json",
        "spec.container.volumes",
        "secret volume in a DOCKER container (type omitted); Marathon needs MESOS",
    ),
    (
        "inline.test_marathon_migrator.test_docker_pull_config_secret.app.json",
        "spec.container.docker.image",
        "container.docker without image (and pullConfig with the Docker containerizer)",
    ),
    (
        "inline.test_translate_basic.test_constraints.app.json",
        "spec.constraints[1][2]",
        "constraint values are integers, Marathon wants strings",
    ),
    (
        "inline.test_translate_service.test_sanitize_network_port_names_dns.app.json",
        "spec.portDefinitions[0].name",
        "port name \"_bad_name$lol-\" does not match Marathon's pattern",
    ),
    (
        "inline.test_translate_service.test_warnings_invalid_protocol.app.json",
        "spec.portDefinitions[0].protocol",
        "protocol \"bad\"",
    ),
    (
        "inline.test_volumes_translation.test_host_path_volumes.app.json",
        "spec.container.volumes[3].mode",
        "persistent volume mounted RO; Marathon requires RW",
    ),
    (
        "inline.test_volumes_translation.test_multiple_secret_volumes.app.json",
        "spec.container.volumes",
        "secret volumes in a DOCKER container (type omitted)",
    ),
    (
        "inline.test_volumes_translation.test_secret_volume_with_host_path.app.json",
        "spec.container.volumes",
        "secret volume in a DOCKER container (type omitted)",
    ),
];

/// Why the corpus app `name` is invalid, if it is in [`INVALID`]: `(field, reason)`.
pub fn invalid(name: &str) -> Option<(&'static str, &'static str)> {
    INVALID.iter().find(|(n, _, _)| *n == name).map(|(_, field, why)| (*field, *why))
}

/// The value without `null` members: Marathon reads `null` as "absent".
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Marathon's examples that SOURCES.md calls an app, a group, an array of apps, an app update
/// or the documented app responses (not pods, schemas or other responses).
fn classified_apps(dir: &Path) -> Vec<(PathBuf, String)> {
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    sources
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (file, what) = (*cells.get(1)?, *cells.get(4)?);
            let is_app = what.starts_with("app:")
                || what.starts_with("group definition")
                || what.starts_with("request body: array of apps")
                || what.starts_with("PATCH/PUT partial-update body")
                || file == "docs-api-response-app-list.json"
                || file == "docs-api-app.json";
            (file.ends_with(".json") && is_app).then(|| (dir.to_path_buf(), file.to_owned()))
        })
        .collect()
}

/// dcos-migrate's Marathon inputs: its upstream app files and the apps of its unit tests.
fn is_migrate_app(name: &str) -> bool {
    (name.starts_with("marathon-app.") || name.starts_with("inline.")) && name.ends_with(".json")
}

fn listed(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let name = entry.expect("directory entry").file_name();
            (dir.to_path_buf(), name.to_string_lossy().into_owned())
        })
        .collect()
}
