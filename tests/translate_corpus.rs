//! Every Marathon app of the shared corpora (`../shared/marathon-examples/`, the app inputs of
//! `../shared/migration-fixtures/dcos-migrate/`) goes through translation without a panic.
//! The corpora are read in place by `support::corpus` (the CLI's reader unpacks arrays, dumps and
//! groups); in CI a missing `../shared` fails.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

mod support;

use marathon_operator::crd::{MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};
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
