//! One validation of Marathon app definitions for every door: the Marathon API turns the
//! violations into Marathon's 422 bodies, `convert`/`import` print them, and they are the rules
//! the CRD enforces on `kubectl apply`: its schema limits (checked here against the generated
//! CRD's own schema, so the two cannot drift) and its CEL rules (checked natively by
//! [`super::rules`]; a test proves them equal to the CEL rules, [`crd_rule_violations`]), plus
//! Marathon's id rules and the checks the schema cannot express.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod same_json;

use super::ids::validate_app_id;
use super::rules::rule_violations;
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::translate::normalize;

/// One problem: where (Marathon's path syntax, `/healthChecks(0)/portIndex`; `/` for the
/// whole app) and what.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl Violation {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path == "/" {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why an app definition was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The JSON does not have the shape of an app (a field of the wrong type): Marathon's
    /// "Invalid JSON".
    #[error("Invalid JSON")]
    Shape(Vec<Violation>),
    /// The app breaks a rule: Marathon's "Object is not valid".
    #[error("Object is not valid")]
    Rules(Vec<Violation>),
}

impl Invalid {
    pub fn violations(&self) -> &[Violation] {
        match self {
            Invalid::Shape(v) | Invalid::Rules(v) => v,
        }
    }

    /// Marathon's `details`: one entry per path with every message for it.
    pub fn details(&self) -> Value {
        let mut by_path: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for violation in self.violations() {
            by_path.entry(&violation.path).or_default().push(&violation.message);
        }
        by_path
            .into_iter()
            .map(|(path, errors)| serde_json::json!({ "path": path, "errors": errors }))
            .collect()
    }
}

/// Fields of Marathon's responses that clients send back in updates (marathon-python sends
/// what it fetched); Marathon ignores them, and so does every door here.
pub const READ_ONLY_FIELDS: [&str; 12] = [
    "tasks",
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "lastTaskFailure",
    "readinessCheckResults",
    "taskStats",
    "tasksStats",
    "versionInfo",
    "uptime",
];

/// Drops the read-only fields and top-level `null`s (`null` means absent in Marathon).
pub fn strip_read_only(json: &mut Value) {
    if let Some(object) = json.as_object_mut() {
        // Most apps have none: look first (each removal hashes its key, even when absent).
        if object.keys().any(|key| READ_ONLY_FIELDS.contains(&key.as_str())) {
            for field in READ_ONLY_FIELDS {
                object.remove(field);
            }
        }
        object.retain(|_, value| !value.is_null());
    }
}

/// Parses and checks one app definition whose id is already absolute, and normalises it as
/// Marathon does on every write (`AppNormalization`: the deprecated port and URI fields of
/// Marathon 1.4 and older dropped where they repeat the canonical ones, see
/// [`crate::translate::normalize`]). Every door that writes apps (`convert`, `import`, the
/// Marathon API) takes its apps from here, so they store one form.
pub fn check_app(json: Value) -> Result<MarathonAppSpec, Invalid> {
    let mut spec = parse_app_json(&json)?;
    let violations = violations(&spec, Some(&json));
    if !violations.is_empty() {
        return Err(Invalid::Rules(violations));
    }
    normalize(&mut spec);
    Ok(spec)
}

/// The app's shape: every field of the right JSON type.
pub fn parse_app(json: Value) -> Result<MarathonAppSpec, Invalid> {
    parse_app_json(&json)
}

/// [`parse_app`] of a borrowed app: the JSON stays for the schema check.
fn parse_app_json(json: &Value) -> Result<MarathonAppSpec, Invalid> {
    if !json.is_object() {
        return Err(Invalid::Shape(vec![Violation::new("/", "an app must be a JSON object")]));
    }
    // Most apps have the right shape: the path is tracked (which costs on every field) only to
    // say where a refused app went wrong, by parsing it again.
    if let Ok(spec) = MarathonAppSpec::deserialize(json) {
        return Ok(spec);
    }
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = marathon_path_of_serde(&err.path().to_string());
        Invalid::Shape(vec![Violation::new(path, err.into_inner().to_string())])
    })
}

/// Every rule the app breaks, sorted by path.
pub fn validate(spec: &MarathonAppSpec) -> Vec<Violation> {
    violations(spec, None)
}

/// [`validate`]; `parsed_from` is the JSON the spec was parsed from, checked against the schema
/// in place of the spec's own serialisation when the spec serialises to exactly that JSON (so
/// the schema sees the same value either way).
fn violations(spec: &MarathonAppSpec, parsed_from: Option<&Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    let bad_id = validate_app_id(&spec.id).err();
    let has_args = spec.args.as_ref().is_some_and(|a| !a.is_empty());
    if spec.cmd.is_none() && !has_args && spec.container.is_none() {
        out.push(Violation::new(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        ));
    }
    match parsed_from.filter(|json| same_json::serializes_to(spec, json)) {
        Some(json) => out.extend(schema_violations(json)),
        None => match serde_json::to_value(spec) {
            Ok(value) => out.extend(schema_violations(&value)),
            Err(err) => out.push(Violation::new("/", format!("cannot be serialized: {err}"))),
        },
    }
    out.extend(rule_violations(spec));
    out.extend(spec.invalid_values().iter().map(|line| match line.split_once(": ") {
        Some((path, message)) => Violation::new(marathon_path_of_serde(path), message),
        None => Violation::new("/", line.clone()),
    }));
    if let Some(message) = bad_id {
        // Marathon's own message says what is wrong with the id; the schema's pattern (the
        // same rule as one long regular expression) would only repeat it less readably.
        out.retain(|v| v.path != "/id");
        out.push(Violation::new("/id", message));
    }
    out.sort();
    out.dedup();
    out
}

/// The `spec` part of the generated CRD schema.
fn spec_schema() -> Option<&'static Value> {
    static SCHEMA: OnceLock<Option<Value>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let crd = serde_json::to_value(MarathonApp::crd()).ok()?;
            crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec").cloned()
        })
        .as_ref()
}

/// The CRD schema's own limits (minimum, maximum, patterns, lengths, enums), as the API
/// server checks them.
fn schema_violations(spec: &Value) -> Vec<Violation> {
    static VALIDATOR: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| jsonschema::validator_for(spec_schema()?).ok());
    let Some(validator) = validator else { return Vec::new() };
    // Most apps are valid: the yes/no check allocates no error reports.
    if validator.is_valid(spec) {
        return Vec::new();
    }
    validator
        .iter_errors(spec)
        .map(|error| {
            Violation::new(
                marathon_path_of_pointer(error.instance_path().as_str()),
                error.to_string(),
            )
        })
        .collect()
}

/// The CRD's CEL rules (`spec` part) evaluated offline by a CEL interpreter, sorted: the
/// truth [`super::rules`] is tested against. Slow (about a millisecond per app): the doors use
/// the native rules.
pub fn crd_rule_violations(spec: &MarathonAppSpec) -> Vec<Violation> {
    let mut out = match serde_json::to_value(spec) {
        Ok(value) => cel_violations(&value),
        Err(err) => vec![Violation::new("/", format!("cannot be serialized: {err}"))],
    };
    out.sort();
    out.dedup();
    out
}

/// The CRD's CEL rules (`spec` part), compiled once.
fn cel_violations(spec: &Value) -> Vec<Violation> {
    static RULES: OnceLock<Option<CompiledSchema>> = OnceLock::new();
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let rules = RULES.get_or_init(|| spec_schema().map(compile_schema));
    let Some(rules) = rules else { return Vec::new() };
    match VALIDATOR.get_or_init(Validator::new).validate_compiled(rules, spec, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| Violation::new(marathon_path_of_serde(&e.field_path), e.message.clone()))
            .collect(),
    }
}

/// `healthChecks[0].portIndex` (serde, CEL) -> `/healthChecks(0)/portIndex` (Marathon).
fn marathon_path_of_serde(path: &str) -> String {
    let trimmed = path.trim_start_matches("spec").trim_start_matches('.');
    if trimmed.is_empty() || trimmed == "?" {
        return "/".to_owned();
    }
    format!("/{}", trimmed.replace('.', "/").replace('[', "(").replace(']', ")"))
}

/// `/healthChecks/0/portIndex` (JSON pointer) -> `/healthChecks(0)/portIndex` (Marathon).
fn marathon_path_of_pointer(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        if segment.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("({segment})"));
        } else {
            out.push('/');
            out.push_str(&segment.replace("~1", "/").replace("~0", "~"));
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violations(json: Value) -> Vec<String> {
        match check_app(json) {
            Ok(_) => Vec::new(),
            Err(invalid) => invalid.violations().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn valid_apps_pass() {
        assert_eq!(
            violations(json!({"id": "/prod/web", "cmd": "sleep 1", "fancy": {"x": 1}})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn shape_errors_name_the_field_in_marathon_syntax() {
        let err =
            check_app(json!({"id": "/a", "cmd": "x", "healthChecks": [{"portIndex": "one"}]}))
                .unwrap_err();
        let Invalid::Shape(found) = err else { panic!("shape error expected: {err:?}") };
        assert_eq!(found[0].path, "/healthChecks(0)/portIndex");
        assert!(found[0].message.contains("invalid type"), "{found:?}");
    }

    #[test]
    fn schema_limits_are_checked_offline() {
        let instances = violations(json!({"id": "/a", "cmd": "x", "instances": -1}));
        assert_eq!(instances.len(), 1, "{instances:?}");
        assert!(
            instances[0].starts_with("/instances: -1 is less than the minimum of 0"),
            "{instances:?}"
        );
        let mem = violations(json!({"id": "/a", "cmd": "x", "mem": -5}));
        assert_eq!(mem.len(), 1, "{mem:?}");
        assert!(mem[0].starts_with("/mem: "), "{mem:?}");
        let port = violations(json!({"id": "/a", "cmd": "x", "ports": [70000]}));
        assert!(port[0].starts_with("/ports(0): "), "{port:?}");
    }

    #[test]
    fn marathon_rules_are_enforced() {
        assert_eq!(
            violations(json!({"id": "/foo", "instances": 2})),
            ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]
        );
        let both = violations(json!({"id": "/foo", "cmd": "a", "args": ["b"]}));
        assert_eq!(both.len(), 1, "{both:?}");
        assert!(
            both[0].starts_with("/args: ") && both[0].contains("mutually exclusive"),
            "{both:?}"
        );
        let id = violations(json!({"id": "/My_App", "cmd": "a"}));
        assert_eq!(id.len(), 1, "one message for a bad id: {id:?}");
        assert!(id[0].starts_with("/id: id segment 'My_App' must fully match"), "{id:?}");
        let env = violations(json!({"id": "/a", "cmd": "a", "env": {"X": {"secret": "nope"}}}));
        assert!(env.iter().any(|v| v.starts_with("/env/X: ")), "{env:?}");
    }

    #[test]
    fn details_group_messages_by_path() {
        let invalid = Invalid::Rules(vec![
            Violation::new("/a", "one"),
            Violation::new("/a", "two"),
            Violation::new("/", "three"),
        ]);
        assert_eq!(
            invalid.details(),
            json!([{"path": "/", "errors": ["three"]}, {"path": "/a", "errors": ["one", "two"]}])
        );
    }

    #[test]
    fn read_only_fields_and_nulls_are_dropped() {
        let mut app =
            json!({"id": "/a", "tasks": [], "tasksRunning": 1, "ports": null, "cmd": "x"});
        strip_read_only(&mut app);
        assert_eq!(app, json!({"id": "/a", "cmd": "x"}));
    }
}
