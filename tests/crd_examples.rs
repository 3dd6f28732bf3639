//! The Marathon app definitions of `../shared` (Marathon's own examples and dcos-migrate's test
//! inputs), read in place, and the table of those that are invalid Marathon apps. Included by
//! the `crd_*` tests with `#[path]`; never copies the files into the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One app definition found in the shared examples.
pub struct ExampleApp {
    /// File name, plus `#<index>` for apps inside arrays or groups.
    pub name: String,
    /// The definition as written.
    pub json: Value,
}

/// Apps that Marathon itself rejects, with the field our CRD names and why.
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

/// Why `name` is invalid, if it is in [`INVALID`]: `(field, reason)`.
pub fn invalid(name: &str) -> Option<(&'static str, &'static str)> {
    INVALID.iter().find(|(n, _, _)| *n == name).map(|(_, field, why)| (*field, *why))
}

/// `../shared` next to the repository, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// Every app definition, or `None` (after printing why) when `../shared` is absent.
pub fn load() -> Option<Vec<ExampleApp>> {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared (Marathon examples) is not present");
        return None;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for (dir, keep) in [
        ("marathon-examples", is_example_app_file as fn(&str) -> bool),
        ("migration-fixtures/dcos-migrate", is_migrate_app_file),
    ] {
        let entries = std::fs::read_dir(shared.join(dir)).expect("read examples directory");
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if keep(&name) {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut apps = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read example");
        let json: Value = serde_json::from_str(&text).expect("example is JSON");
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let mut found = Vec::new();
        collect(&json, &mut found);
        let single = found.len() == 1 && !json.is_array() && json.get("apps").is_none();
        for (i, app) in found.into_iter().enumerate() {
            let name = if single { file.clone() } else { format!("{file}#{i}") };
            apps.push(ExampleApp { name, json: app });
        }
    }
    Some(apps)
}

/// Marathon examples that hold apps (SOURCES.md): not schemas, pods or non-app responses.
fn is_example_app_file(name: &str) -> bool {
    name.ends_with(".json")
        && !name.starts_with("schema-")
        && !name.contains("-pod")
        && !["info", "queue", "tasks", "deployment"]
            .iter()
            .any(|k| name.contains(&format!("response-{k}")))
}

/// dcos-migrate inputs that are Marathon apps (`*.app.json`, `marathon-app.*.json`).
fn is_migrate_app_file(name: &str) -> bool {
    name.ends_with(".app.json") || (name.starts_with("marathon-app.") && name.ends_with(".json"))
}

/// Apps in a file: a single app, an array of apps, or a group (`apps`, nested `groups`).
fn collect(json: &Value, out: &mut Vec<Value>) {
    match json {
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        Value::Object(map) if map.contains_key("apps") || map.contains_key("groups") => {
            for key in ["apps", "groups"] {
                if let Some(children) = map.get(key) {
                    collect(children, out);
                }
            }
        }
        Value::Object(map) if map.contains_key("id") => out.push(json.clone()),
        _ => {}
    }
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

#[test]
fn finds_the_example_apps() {
    let Some(apps) = load() else { return };
    assert!(apps.len() > 100, "found only {} apps", apps.len());
    for (name, _, _) in INVALID {
        assert!(apps.iter().any(|a| a.name == *name), "{name} of the INVALID table not found");
    }
}
