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

/// Functions a reader can hold in mind: none in `src/` has more than [`LONGEST_FUNCTION`] lines
/// of code (blank and comment lines not counted) unless a `// long: <why>` comment stands
/// right above it (above its doc comment and attributes).
const LONGEST_FUNCTION: usize = 80;

/// Long functions in parts of `src/` whose owners split them next; each names its file and
/// function. Remove an entry once the function is short (the test fails while a listed
/// function is no longer long, so the list cannot go stale).
const LONG_FUNCTIONS_TO_SPLIT: &[(&str, &str)] = &[("watch/mod.rs", "start")];

/// A function found by [`functions`]: where it starts, its name and its length in code lines.
struct Function {
    path: PathBuf,
    line: usize,
    name: String,
    code_lines: usize,
    reason: Option<String>,
}

/// The functions of a rustfmt-formatted source file: a line declaring `fn name` whose body's
/// closing brace is the first later line that is exactly the declaration's indent plus `}`.
/// A body whose end is not found fails the test rather than being passed over.
fn functions(path: &Path, text: &str) -> Vec<Function> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(name) = declared_fn(line) else { continue };
        let indent = &line[..line.len() - line.trim_start().len()];
        let signature_end = (index..lines.len())
            .find(|&i| lines[i].trim_end().ends_with(['{', ';', '}']))
            .unwrap_or_else(|| panic!("{}:{}: no body for fn {name}", path.display(), index + 1));
        if !lines[signature_end].trim_end().ends_with('{') {
            continue; // a declaration without a body, or a body on the signature's line
        }
        let closing = format!("{indent}}}");
        let end = (signature_end..lines.len())
            .find(|&i| lines[i].trim_end() == closing)
            .unwrap_or_else(|| panic!("{}:{}: no end for fn {name}", path.display(), index + 1));
        let code_lines = lines[index..=end]
            .iter()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
            .count();
        out.push(Function {
            path: path.to_owned(),
            line: index + 1,
            name,
            code_lines,
            reason: long_reason(&lines[..index]),
        });
    }
    out
}

/// The name of the function a line declares (`pub(crate) async fn name<T>(` and the like).
fn declared_fn(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return None;
    }
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn")?;
    let modifiers = ["pub", "pub(crate)", "pub(super)", "async", "const", "unsafe", "extern"];
    if !words[..at].iter().all(|w| modifiers.contains(w) || w.starts_with("pub(")) {
        return None;
    }
    let name = words.get(at + 1)?;
    let name: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// The reason of a `// long:` comment above a function's doc comment and attributes.
fn long_reason(before: &[&str]) -> Option<String> {
    for line in before.iter().rev().map(|l| l.trim()) {
        if let Some(reason) = line.strip_prefix("// long:") {
            return Some(reason.trim().to_owned());
        }
        let part_of_the_item = line.starts_with("///") || line.starts_with("#[") || line == ")]";
        if !part_of_the_item && !line.starts_with("//") {
            return None;
        }
    }
    None
}

#[test]
fn functions_are_short_or_say_why_not() {
    let all: Vec<Function> =
        sources("").iter().flat_map(|(path, text)| functions(path, text)).collect();
    assert!(all.len() > 500, "the scan found only {} functions", all.len());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let listed = |f: &Function| {
        let file = f.path.strip_prefix(&src).unwrap_or(&f.path);
        LONG_FUNCTIONS_TO_SPLIT.iter().any(|(p, n)| Path::new(p) == file && *n == f.name)
    };
    let long = |f: &&Function| f.code_lines > LONGEST_FUNCTION;
    let unexplained: Vec<String> = all
        .iter()
        .filter(long)
        .filter(|f| f.reason.as_deref().is_none_or(str::is_empty) && !listed(f))
        .map(|f| format!("{}:{} fn {} ({} lines)", f.path.display(), f.line, f.name, f.code_lines))
        .collect();
    assert!(
        unexplained.is_empty(),
        "functions over {LONGEST_FUNCTION} lines without a `// long: <why>` comment:\n{}",
        unexplained.join("\n")
    );
    let stale: Vec<&(&str, &str)> = LONG_FUNCTIONS_TO_SPLIT
        .iter()
        .filter(|(p, n)| !all.iter().any(|f| f.path == src.join(p) && f.name == *n && long(&f)))
        .collect();
    assert!(stale.is_empty(), "listed as long but short (or gone) now: {stale:?}");
}

/// The scanner itself: it finds a long function's end, counts its code lines only, reads a
/// `// long:` reason above its doc comment and attributes, and passes over bodiless ones.
#[test]
fn the_function_scanner_measures_what_it_should() {
    let body: String = (0..90).map(|i| format!("    let x{i} = {i};\n")).collect();
    let text = format!(
        "// long: one table\n/// Doc.\n#[inline]\npub(crate) async fn long_one<T>(t: T) {{\n{body}\n    // a comment\n}}\n\nfn declared();\nfn short() {{}}\nimpl X {{\n    fn method(&self) -> u8 {{\n        1\n    }}\n}}\n"
    );
    let found = functions(Path::new("sample.rs"), &text);
    let summary: Vec<(&str, usize, Option<&str>)> =
        found.iter().map(|f| (f.name.as_str(), f.code_lines, f.reason.as_deref())).collect();
    assert_eq!(summary, [("long_one", 92, Some("one table")), ("method", 3, None)]);
}
