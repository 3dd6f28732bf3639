//! `convert` over the shared corpus: every Marathon app definition in
//! `../shared/marathon-examples/` and `../shared/migration-fixtures/` converts, except the
//! inputs listed in [`INVALID`], which are invalid Marathon apps and fail with the message given.
//! Offline: no cluster needed.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use marathon_operator::cli::OutputKind;
use marathon_operator::cli::app::Batch;
use marathon_operator::cli::convert::{Output, convert_app, marathon_app, render_in_order};
use marathon_operator::cli::input::Collected;
use marathon_operator::crd::MarathonApp;
use marathon_operator::translate::{TranslateOptions, translate};
use support::corpus;

const NO_CMD: &str =
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";

/// Inputs that are invalid Marathon apps, with (a part of) the expected message.
const INVALID: &[(&str, &str)] = &[
    // marathon-examples
    ("docs-api-app-patch.json", NO_CMD),
    ("docs-api-apps-patch.json", NO_CMD),
    ("docs-api-app.json", "cmd and args are mutually exclusive"),
    (
        "docs-secrets-file-volume.json",
        "secret volumes are only supported with the Mesos containerizer",
    ),
    // migration-fixtures: snippets of dcos-migrate's unit tests without anything to run
    ("inline.test_fetch_translation.test_fetch_fails_without_working_dir.app.json", NO_CMD),
    ("inline.test_fetch_translation.test_generated_fetch_layout.app.json", NO_CMD),
    (
        "inline.test_health_check_translation.test_command_health_check_with_all_fields_set.app.json",
        NO_CMD,
    ),
    ("inline.test_health_check_translation.test_network_health_check.0.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_network_health_check.1.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_network_health_check.2.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_network_health_check.3.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_network_health_check.4.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_network_health_check.5.app.json", NO_CMD),
    ("inline.test_health_check_translation.test_port_from_port_definitions.app.json", NO_CMD),
    (
        "inline.test_health_check_translation.test_second_health_check_dropped_warning.app.json",
        NO_CMD,
    ),
    ("inline.test_marathon_migrator.test_constraint_node_labels.0.app.json", NO_CMD),
    ("inline.test_marathon_migrator.test_constraint_node_labels.1.app.json", NO_CMD),
    ("inline.test_marathon_migrator.test_dcos_apps_are_skipped.app.json", NO_CMD),
    (
        "inline.test_marathon_migrator.test_docker_pull_config_secret.app.json",
        "/container/docker: missing field `image`",
    ),
    (
        "inline.test_translate_basic.test_constraints.app.json",
        "/constraints(1)(2): invalid type: integer `2`, expected a string",
    ),
    ("inline.test_translate_basic.test_env_secret.app.json", NO_CMD),
    ("inline.test_translate_basic.test_image_should_be_present_somewhere.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.0.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.1.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.2.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.3.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.4.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.5.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.6.app.json", NO_CMD),
    ("inline.test_translate_basic.test_resource_requests_and_limits.7.app.json", NO_CMD),
    ("inline.test_translate_basic.test_task_kill_grace_period_seconds.app.json", NO_CMD),
    ("inline.test_translate_basic.test_unreachable_strategy.app.json", NO_CMD),
    ("inline.test_translate_basic.test_upgrade_strategy.app.json", NO_CMD),
    (
        "inline.test_translate_service.test_headless_mode_when_host_networking_used_and_no_ports_defined.app.json",
        NO_CMD,
    ),
    (
        "inline.test_translate_service.test_headless_mode_when_user_networking_used_and_no_ports_defined.app.json",
        NO_CMD,
    ),
    ("inline.test_translate_service.test_host_auto_assign_ports.app.json", NO_CMD),
    ("inline.test_translate_service.test_protocol_is_copied_over.app.json", NO_CMD),
    (
        "inline.test_translate_service.test_require_ports_false_for_port_definitions_leads_to_auto_port.app.json",
        NO_CMD,
    ),
    ("inline.test_translate_service.test_sanitize_network_port_names_dns.app.json", NO_CMD),
    ("inline.test_translate_service.test_vip_static_ip_port_definitions.app.json", NO_CMD),
    ("inline.test_translate_service.test_vip_translation_static_ip.app.json", NO_CMD),
    (
        "inline.test_translate_service.test_warnings_generated_for_conflicting_ports.app.json",
        NO_CMD,
    ),
    (
        "inline.test_translate_service.test_warnings_invalid_protocol.app.json",
        "/portDefinitions(0)/protocol",
    ),
    (
        "inline.test_volumes_translation.test_host_path_volumes.app.json",
        "persistent volumes must be mounted read-write",
    ),
    (
        "inline.test_volumes_translation.test_multiple_secret_volumes.app.json",
        "secret volumes are only supported with the Mesos containerizer",
    ),
    (
        "inline.test_volumes_translation.test_secret_volume_with_host_path.app.json",
        "secret volumes are only supported with the Mesos containerizer",
    ),
];

/// Converts one file in both output kinds; returns the error messages, or the number of apps.
fn convert_file(path: &Path) -> Result<usize, Vec<String>> {
    let mut collected = Collected::default();
    collected.read_path(path);
    let batch = Batch::check(collected);
    let mut errors: Vec<String> = batch.errors.iter().map(ToString::to_string).collect();
    let options = TranslateOptions { namespace: Some("migrated".into()), ..Default::default() };
    for app in &batch.apps {
        for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
            match convert_app(app, kind, &options) {
                Ok(converted) => {
                    let yaml = converted.to_yaml().expect("yaml");
                    assert!(yaml.starts_with("---\n"), "{yaml}");
                    // Written straight from the typed objects, the stream holds exactly the
                    // documents, in order.
                    let back: Vec<serde_json::Value> = serde_norway::Deserializer::from_str(&yaml)
                        .map(|d| serde::Deserialize::deserialize(d).expect("YAML reads back"))
                        .collect();
                    assert_eq!(
                        back,
                        converted.documents().expect("documents"),
                        "{}",
                        path.display()
                    );
                    if kind == OutputKind::Marathonapp {
                        // The YAML reads back as the same resource: nothing is lost.
                        let back: MarathonApp =
                            serde_norway::from_str(yaml.trim_start_matches("---\n"))
                                .expect("YAML reads back");
                        assert_eq!(back.spec, app.spec, "{}", path.display());
                    }
                }
                Err(message) => errors.push(message),
            }
        }
    }
    if errors.is_empty() && !batch.apps.is_empty() { Ok(batch.apps.len()) } else { Err(errors) }
}

#[test]
fn every_app_in_the_corpus_converts_or_fails_as_expected() {
    let Some(shared) = corpus::shared_dir() else { return };
    let inputs = corpus::app_files(&shared);
    assert!(inputs.len() > 90, "corpus looks incomplete: {} inputs", inputs.len());
    let expected: BTreeMap<&str, &str> = INVALID.iter().copied().collect();
    let (mut converted, mut failures) = (0, Vec::new());
    eprintln!("| input | expected message |\n| --- | --- |");
    for path in &inputs {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match (convert_file(path), expected.get(name)) {
            (Ok(apps), None) => converted += apps,
            (Ok(_), Some(message)) => {
                failures.push(format!("{name}: converted, expected {message:?}"))
            }
            (Err(errors), None) => failures.push(format!("{name}: unexpected errors {errors:#?}")),
            (Err(errors), Some(message)) => {
                eprintln!("| {name} | {message} |");
                if !errors.iter().any(|e| e.contains(message)) {
                    failures.push(format!("{name}: expected {message:?}, got {errors:#?}"));
                }
            }
        }
    }
    let unknown: Vec<&&str> = expected
        .keys()
        .filter(|name| !inputs.iter().any(|p| p.file_name().is_some_and(|f| f == **name)))
        .collect();
    assert!(unknown.is_empty(), "INVALID lists files that are not inputs: {unknown:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{converted} apps converted from {} inputs", inputs.len() - expected.len());
    assert!(converted >= 40, "only {converted} apps converted");
}

#[test]
fn a_directory_converts_in_one_batch() {
    let Some(shared) = corpus::shared_dir() else { return };
    let mut collected = Collected::default();
    collected.read_path(&shared.join("marathon-examples"));
    // Non-app files are errors with their file named; apps still come through.
    assert!(collected.errors.iter().any(|e| e.origin.source.ends_with("docs-api-pod.json")));
    assert!(collected.apps.len() > 40);
}

/// Reads a YAML stream back (libyaml, a YAML 1.1 reader like kubectl's go-yaml): one JSON value
/// per document.
fn read_back(yaml: &str) -> Vec<serde_json::Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML reads back"))
        .collect()
}

/// Strings a YAML writer must quote or escape to keep them strings (and the same strings).
const TRICKY: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Yes",
    "ON",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "",
    "1.0",
    "1e3",
    "0755",
    "0x1F",
    "0o17",
    "007",
    "1_000",
    ".inf",
    "-.nan",
    "12:30:45",
    "2001-12-14",
    "- item",
    "key: value",
    "#comment",
    "a #b",
    "trailing ",
    " leading",
    "tab\there",
    "line one\nline two",
    "ends with newline\n",
    "\n starts with a newline",
    "back\\slash",
    "'single'",
    "\"double\"",
    "{flow}",
    "[list]",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "|pipe",
    ">fold",
    "?query",
    "caf\u{e9} \u{1f680}",
    "bell\u{7}",
    "---",
    "...",
    "$(VAR) and $$",
];

#[test]
fn tricky_strings_survive_the_yaml_round_trip() {
    let long = "python3 -m http.server 8080 --bind 0.0.0.0 ".repeat(4);
    let mut env: serde_json::Map<String, serde_json::Value> = TRICKY
        .iter()
        .enumerate()
        .map(|(i, value)| (format!("V{i}"), serde_json::Value::from(*value)))
        .collect();
    env.insert("LONG".into(), long.trim_end().into());
    let labels: serde_json::Map<String, serde_json::Value> = TRICKY
        .iter()
        .enumerate()
        .map(|(i, value)| (format!("label-{i}"), serde_json::Value::from(*value)))
        .collect();
    let app = serde_json::json!({
        "id": "/tricky", "cmd": format!("{long}\n  indented second line\n\nafter a blank line"),
        "env": env, "labels": labels, "cpus": 0.1, "mem": 32,
    });
    let app = marathon_operator::cli::app::check_app(app).expect("valid");
    let options = TranslateOptions { namespace: Some("migrated".into()), ..Default::default() };
    for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
        let converted = convert_app(&app, kind, &options).expect("converts");
        let yaml = converted.to_yaml().expect("yaml");
        assert_eq!(read_back(&yaml), converted.documents().expect("documents"), "{yaml}");
        // YAML 1.1 booleans stay strings for go-yaml too: never written plain.
        for word in ["yes", "no", "on", "off", "y", "n", "Yes", "ON"] {
            assert!(!yaml.contains(&format!(": {word}\n")), "{word} is plain in {yaml}");
        }
        // Readable: a long one-line string stays on one line, a multi-line one is a block.
        assert!(yaml.contains(long.trim_end()), "{yaml}");
        let literal_block =
            |line: &str| line.rsplit_once(' ').is_some_and(|(_, last)| last.starts_with('|'));
        assert!(yaml.lines().any(literal_block), "{yaml}");
    }
}

#[test]
fn parallel_conversion_writes_what_one_app_after_the_other_writes() {
    let Some(shared) = corpus::shared_dir() else { return };
    let mut collected = Collected::default();
    collected.read_path(&shared.join("marathon-examples"));
    let batch = Batch::check(collected);
    // Several copies of the corpus, each app named after its place: more apps than one
    // parallel chunk holds, and any reordering shows.
    let mut apps: Vec<_> = (0..8).flat_map(|_| batch.apps.iter().cloned()).collect();
    for (i, app) in apps.iter_mut().enumerate() {
        app.name = format!("{}-{i}", app.name);
    }
    assert!(apps.len() > 300, "{} apps", apps.len());
    let options = TranslateOptions { namespace: Some("migrated".into()), ..Default::default() };
    for kind in [OutputKind::Marathonapp, OutputKind::K8s] {
        let mut sequential = String::new();
        for app in &apps {
            if let Ok(converted) = convert_app(app, kind, &options) {
                sequential.push_str(&converted.to_yaml().expect("yaml"));
            }
        }
        let mut parallel = String::new();
        render_in_order(&apps, kind, &options, |_, result| {
            if let Ok(rendered) = result {
                parallel.push_str(&rendered.yaml);
            }
            Ok::<(), ()>(())
        })
        .expect("renders");
        assert!(sequential == parallel, "{kind:?}: parallel output differs");
    }
}

/// `convert` neither copies the spec into a resource nor translates a resource: what it writes
/// and reports must still be what the resource [`marathon_app`] builds gives, byte for byte.
#[test]
fn convert_writes_what_the_built_resource_gives() {
    let Some(shared) = corpus::shared_dir() else { return };
    let mut collected = Collected::default();
    collected.read_path(&shared.join("marathon-examples"));
    collected.read_path(&shared.join("migration-fixtures"));
    let batch = Batch::check(collected);
    assert!(batch.apps.len() > 40, "{} apps", batch.apps.len());
    for namespace in [Some("migrated"), None] {
        let options =
            TranslateOptions { namespace: namespace.map(str::to_string), ..Default::default() };
        for app in &batch.apps {
            let resource = marathon_app(app, namespace);
            let translated = translate(&resource, &[], &options);
            match convert_app(app, OutputKind::Marathonapp, &options) {
                Ok(converted) => {
                    assert!(matches!(converted.output, Output::Resource(_)), "{}", app.id());
                    let written = converted.to_yaml().expect("yaml");
                    assert_eq!(written, yaml_document(&resource), "{}", app.id());
                    let translation = translated.expect("the resource translates too");
                    let mut warnings = app.warnings.clone();
                    warnings.extend(translation.warnings.clone());
                    warnings.sort();
                    warnings.dedup();
                    assert_eq!(converted.warnings, warnings, "{}", app.id());
                    let objects = convert_app(app, OutputKind::K8s, &options).expect("converts");
                    let Output::Objects(objects) = objects.output else { panic!("not objects") };
                    assert_eq!(*objects, translation.objects, "{}", app.id());
                }
                Err(message) => {
                    let err = translated.expect_err("the resource is refused too");
                    assert!(message.ends_with(&format!(": {err}")), "{message}");
                }
            }
        }
    }
}

/// One YAML document as `convert` writes it.
fn yaml_document<T: serde::Serialize>(document: &T) -> String {
    let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
    let mut out = String::from("---\n");
    serde_saphyr::to_fmt_writer_with_options(&mut out, document, options).expect("yaml");
    out
}
