//! Every Marathon app of the shared corpora (`../shared/marathon-examples/`, the app inputs of
//! `../shared/migration-fixtures/dcos-migrate/`) goes through translation without a panic.
//! The corpora are read in place by `support::corpus` (the CLI's reader unpacks arrays, dumps and
//! groups); in CI a missing `../shared` fails.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

mod support;

use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use std::collections::BTreeMap;

use marathon_operator::translate::{
    ResourcePolicy, Subject, TranslateOptions, names, translate, translate_subject,
    translation_warnings,
};
use serde_json::json;
use support::corpus;

#[test]
fn every_corpus_app_translates_without_panic() {
    let Some(shared) = corpus::shared_dir() else { return };
    let (mut apps, mut translated, mut refused) = (0, 0, Vec::new());
    for corpus::CorpusApp { name: file, json } in corpus::apps(&shared) {
        apps += 1;
        let Ok(spec) = MarathonAppSpec::from_marathon_json(json) else {
            refused.push(format!("{file} (spec)"));
            continue;
        };
        let app = MarathonApp::new(&names::app_name(&spec.id), spec);
        match translate(&app, &[], &TranslateOptions::default()) {
            Ok(t) => {
                translated += 1;
                // Objects always serialise, and the same input gives the same bytes.
                let a = serde_json::to_string(&t.objects.to_values().unwrap()).unwrap();
                let b = serde_json::to_string(
                    &translate(&app, &[], &TranslateOptions::default())
                        .unwrap()
                        .objects
                        .to_values()
                        .unwrap(),
                )
                .unwrap();
                assert_eq!(a, b, "{file}");
            }
            Err(e) => refused.push(format!("{file}: {e}")),
        }
    }
    println!("{apps} apps: {translated} translated, refused: {refused:#?}");
    assert!(apps >= 90, "expected the whole corpus, found {apps} apps");
    assert!(translated * 10 >= apps * 9, "too many refused: {refused:#?}");
}

/// Option sets that change what translation warns about: the defaults, host networking (ports
/// required), a marathon-lb group mapped to an ingress class, no CPU limit and a storage class.
fn option_sets() -> Vec<TranslateOptions> {
    let classes = BTreeMap::from([("external".to_string(), "nginx".to_string())]);
    vec![
        TranslateOptions::default(),
        TranslateOptions { host_network: true, ..TranslateOptions::default() },
        TranslateOptions {
            namespace: Some("apps".into()),
            ingress_classes: classes,
            resource_policy: ResourcePolicy::NoCpuLimit,
            external_storage_class: Some("fast".into()),
            ..TranslateOptions::default()
        },
    ]
}

/// `convert --output marathonapp` computes the warnings without the objects
/// (`translation_warnings`): for every corpus app and option set, it gives exactly the full
/// translation's warnings (text and order) or its refusal.
#[test]
fn warnings_only_translation_agrees_with_the_full_one() {
    let Some(shared) = corpus::shared_dir() else { return };
    let (mut compared, mut warned, mut refused) = (0, 0, 0);
    for corpus::CorpusApp { name: file, json } in corpus::apps(&shared) {
        let Ok(spec) = MarathonAppSpec::from_marathon_json(json) else { continue };
        let app = MarathonApp::new(&names::app_name(&spec.id), spec);
        for options in option_sets() {
            let full = translate_subject(Subject::of(&app), &[], &options).map(|t| t.warnings);
            let only = translation_warnings(Subject::of(&app), &[], &options);
            assert_eq!(only, full, "{file} with {options:?}");
            compared += 1;
            match full {
                Ok(w) if !w.is_empty() => warned += 1,
                Ok(_) => {}
                Err(_) => refused += 1,
            }
        }
    }
    println!("{compared} translations compared: {warned} with warnings, {refused} refused");
    assert!(compared >= 270, "expected the whole corpus three times, found {compared}");
    assert!(warned * 2 >= compared, "the corpus should exercise warnings: {warned} of {compared}");
}

/// Apps that reach the warnings the warnings-only path reports without assembling the objects:
/// Docker `--label`s the pod cannot carry and a `--hostname` that is not a DNS label (the pod
/// template), a resident app's upgrade strategy (the StatefulSet), clashing and unkeepable VIP
/// ports (the Services).
#[test]
fn warnings_only_translation_agrees_on_the_skipped_objects() {
    let apps = [
        json!({"id": "/a", "cmd": "run", "version": "2024-01-01T00:00:00.000Z",
            "container": {"type": "DOCKER", "docker": {"image": "nginx", "parameters": [
                {"key": "label", "value": "marathon-operator.dev/app-version=x"},
                {"key": "label", "value": "marathon-operator.dev/app-id=x"},
                {"key": "label", "value": "bad key!=x"}, {"key": "label", "value": "ok=1"},
                {"key": "hostname", "value": "Not_A_Label"}]}}}),
        json!({"id": "/b", "cmd": "run", "instances": 3,
            "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.5},
            "container": {"type": "MESOS", "volumes": [{"containerPath": "data", "mode": "RW",
                "persistent": {"size": 10}}]}}),
        json!({"id": "/c", "cmd": "run", "networks": [{"mode": "container/bridge"}],
            "container": {"type": "DOCKER", "docker": {"image": "nginx"}, "portMappings": [
                {"containerPort": 80, "servicePort": 10000, "labels": {"VIP_0": "web:80"}},
                {"containerPort": 81, "servicePort": 10000, "labels": {"VIP_0": "10.0.0.1:80"}},
                {"containerPort": 82, "labels": {"VIP_1": "not-a-vip"}}]}}),
        // Env names each warning of the environment: Docker `--env`, the app's env (one of them
        // replacing a Docker one), a port name; unset secrets and invalid values.
        json!({"id": "/d", "cmd": "run", "labels": {"a.b-c": "v"},
            "portDefinitions": [{"port": 0, "name": "http-api"}],
            "env": {"1ST": "x", "A B": "y", "SAME": "app", "S": {"secret": "missing"}, "N": 5},
            "container": {"type": "DOCKER", "docker": {"image": "nginx", "parameters": [
                {"key": "env", "value": "SAME=docker"}, {"key": "env", "value": "X=Y=Z"},
                {"key": "e", "value": "=empty"}]}}}),
    ];
    for json in apps {
        let spec = MarathonAppSpec::from_marathon_json(json).unwrap();
        let app = MarathonApp::new(&names::app_name(&spec.id), spec);
        for options in option_sets() {
            let full = translate_subject(Subject::of(&app), &[], &options).map(|t| t.warnings);
            let only = translation_warnings(Subject::of(&app), &[], &options);
            assert!(full.as_ref().is_ok_and(|w| w.len() >= 2), "{}: {full:?}", app.spec.id);
            assert_eq!(only, full, "{} with {options:?}", app.spec.id);
        }
    }
}
