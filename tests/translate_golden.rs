//! Golden tests: each `tests/golden/<case>.json` Marathon app is translated and compared, whole,
//! with `tests/golden/<case>.expected.json` (objects in apply order, then warnings).
//! `<case>.hostvolumes.json`, when present, lists the HostVolumes the app may use.
//! `UPDATE_GOLDEN=1 cargo test --test translate_golden` rewrites the expectations: review the diff.

#![allow(clippy::unwrap_used)] // test code: a failed read is a failed test

use std::path::{Path, PathBuf};

use marathon_operator::crd::{HostVolume, MarathonApp, MarathonAppSpec};
use marathon_operator::translate::{TranslateOptions, names, translate};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.ends_with(".json") && n.matches('.').count() == 1
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "only {} golden cases in {}", out.len(), golden_dir().display());
    out
}

fn app(path: &Path) -> MarathonApp {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let spec = MarathonAppSpec::from_marathon_json(json).unwrap();
    let mut app = MarathonApp::new(&names::app_name(&spec.id), spec);
    app.metadata.namespace = Some("apps".into());
    // A fixed uid so owner references appear in the expectations.
    app.metadata.uid = Some("00000000-0000-0000-0000-000000000001".into());
    app
}

fn host_volumes(case: &Path) -> Vec<HostVolume> {
    let path = case.with_extension("hostvolumes.json");
    if !path.exists() {
        return Vec::new();
    }
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn render(case: &Path) -> String {
    let t = translate(&app(case), &host_volumes(case), &TranslateOptions::default()).unwrap();
    let doc = serde_json::json!({
        "objects": t.objects.to_values().unwrap(),
        "warnings": t.warnings,
    });
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

#[test]
fn golden_outputs_match() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failed = Vec::new();
    for case in cases() {
        let got = render(&case);
        let expected_path = case.with_extension("expected.json");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failed.push(case.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatch (rerun with UPDATE_GOLDEN=1 and review): {failed:?}"
    );
}

/// The same bytes twice in this process, and (unless the expectations are being rewritten)
/// the bytes another process committed: no iteration order of a hash map leaks out.
#[test]
fn translation_is_deterministic() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for case in cases() {
        let first = render(&case);
        assert_eq!(first, render(&case), "{}", case.display());
        if !update {
            let committed = std::fs::read_to_string(case.with_extension("expected.json")).unwrap();
            assert_eq!(first, committed, "{} differs from its committed bytes", case.display());
        }
    }
}

#[test]
fn seed_health_check_comes_out_exactly() {
    let t =
        translate(&app(&golden_dir().join("seed-health.json")), &[], &TranslateOptions::default())
            .unwrap();
    let d = t.objects.deployment.unwrap();
    let c = &d.spec.template.spec.unwrap().containers[0];
    let live = serde_json::to_value(c.liveness_probe.as_ref().unwrap()).unwrap();
    assert_eq!(
        live,
        serde_json::json!({
            "failureThreshold": 3, "periodSeconds": 30, "timeoutSeconds": 1, "initialDelaySeconds": 15,
            "httpGet": {"path": "/health", "port": 8080}
        })
    );
    // The named port is declared, and it is 8080 (dcos-migrate bug 4: named port never declared).
    let ports = c.ports.as_ref().unwrap();
    assert_eq!((ports[0].name.as_deref(), ports[0].container_port), (Some("http"), 8080));
}
