//! Replays the fuzz seeds (`fuzz/seeds/<target>/`), every input a fuzz run ever crashed on
//! (`fuzz/regressions/<target>/`) and the shared Marathon corpora through the very checks the
//! cargo-fuzz targets run (`fuzz/src/checks.rs`), on stable Rust: CI covers the fuzzed
//! properties even where no fuzzer runs.

#[path = "../fuzz/src/checks.rs"]
mod checks;
#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 4] = [
    ("parse_validate", checks::parse_and_validate),
    ("translate", checks::translate_app),
    ("task_ids", checks::task_and_app_ids),
    ("query_selector", checks::query_and_selector),
];

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn replay(check: Check, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails its check", file.display());
    }
}

#[test]
fn seeds_and_regressions_pass_every_check() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in TARGETS {
        let seeds = files_in(&fuzz.join("seeds").join(target));
        assert!(seeds.len() >= 8, "{target}: only {} seeds", seeds.len());
        replay(check, &seeds);
        replay(check, &files_in(&fuzz.join("regressions").join(target)));
    }
}

/// Every JSON document of the shared corpora whole, and every app in them (found by
/// `support::corpus`, which fails in CI without them) on its own, through parsing, validation
/// and translation.
#[test]
fn shared_corpora_pass_the_app_checks() {
    let Some(shared) = corpus::shared_dir() else { return };
    let dirs = [shared.join("marathon-examples"), shared.join("migration-fixtures/dcos-migrate")];
    let mut inputs = Vec::new();
    for file in dirs.iter().flat_map(|d| files_in(d)) {
        if file.extension().is_some_and(|e| e == "json") {
            inputs.push(std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        }
    }
    inputs.extend(corpus::apps(&shared).into_iter().map(|app| app.json.to_string().into_bytes()));
    assert!(inputs.len() >= 100, "only {} inputs", inputs.len());
    for input in &inputs {
        checks::parse_and_validate(input);
        checks::translate_app(input);
    }
}
