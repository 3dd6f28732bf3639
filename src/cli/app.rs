//! From raw JSON to checked apps: the spec type, Marathon's id rules, the CRD's own CEL rules
//! (evaluated offline, so `convert` rejects what the API server would reject) and the checks
//! across a batch (duplicate ids, two ids deriving one resource name).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde_json::Value;

use super::ids;
use super::input::{Collected, Message, Origin};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::translate::Warning;
use crate::translate::names::app_name;

/// A valid Marathon app, ready to convert or apply.
#[derive(Clone, Debug)]
pub struct App {
    pub origin: Origin,
    /// The MarathonApp resource name derived from the id.
    pub name: String,
    pub spec: MarathonAppSpec,
    /// Fields the project does not model (kept, but worth a look).
    pub warnings: Vec<Warning>,
}

impl App {
    pub fn id(&self) -> &str {
        &self.spec.id
    }
}

/// The apps of one run, with every problem found.
#[derive(Debug, Default)]
pub struct Batch {
    pub apps: Vec<App>,
    pub errors: Vec<Message>,
    pub notes: Vec<Message>,
}

impl Batch {
    /// Checks every app read; invalid ones become errors, the rest apps.
    pub fn check(collected: Collected) -> Self {
        let Collected { apps, mut errors, notes } = collected;
        let mut batch = Self { apps: Vec::with_capacity(apps.len()), errors: Vec::new(), notes };
        for raw in apps {
            match check_app(raw.json) {
                Ok(app) => batch.apps.push(App { origin: raw.origin, ..app }),
                Err(problems) => errors.extend(
                    problems.into_iter().map(|text| Message { origin: raw.origin.clone(), text }),
                ),
            }
        }
        batch.errors = errors;
        batch.check_names();
        batch
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Number of warnings of every kind (`--strict` turns them into errors).
    pub fn warning_count(&self) -> usize {
        self.notes.len() + self.apps.iter().map(|a| a.warnings.len()).sum::<usize>()
    }

    /// Two apps with one id, or two ids deriving the same name, would overwrite each other.
    fn check_names(&mut self) {
        let mut seen: BTreeMap<String, (String, Origin)> = BTreeMap::new();
        let mut keep = Vec::with_capacity(self.apps.len());
        for app in std::mem::take(&mut self.apps) {
            match seen.get(&app.name) {
                Some((id, origin)) if id == app.id() => self.errors.push(Message {
                    origin: app.origin.clone(),
                    text: format!("duplicate app id {id} (first at {origin})"),
                }),
                Some((id, origin)) => self.errors.push(Message {
                    origin: app.origin.clone(),
                    text: format!(
                        "app {} derives the resource name {} already taken by app {id} ({origin})",
                        app.id(),
                        app.name
                    ),
                }),
                None => {
                    seen.insert(app.name.clone(), (app.spec.id.clone(), app.origin.clone()));
                    keep.push(app);
                }
            }
        }
        self.apps = keep;
    }
}

/// Checks one app (its id already absolute). Errors are messages ready to print.
pub fn check_app(json: Value) -> Result<App, Vec<String>> {
    let id = json.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let spec: MarathonAppSpec = serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        vec![format!("app {id}: {path}: {}", err.into_inner())]
    })?;
    let mut problems = Vec::new();
    if let Err(message) = ids::validate_app_id(&spec.id) {
        problems.push(message);
    }
    let has_args = spec.args.as_ref().is_some_and(|a| !a.is_empty());
    if spec.cmd.is_none() && !has_args && spec.container.is_none() {
        problems.push(
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
                .to_string(),
        );
    }
    problems.extend(cel_problems(&spec));
    if !problems.is_empty() {
        return Err(problems.into_iter().map(|p| format!("app {id}: {p}")).collect());
    }
    let warnings = spec
        .unknown_fields()
        .into_iter()
        .map(|path| Warning {
            path,
            reason: "not modelled by marathon-operator: kept as given, not translated".to_string(),
        })
        .collect();
    Ok(App { origin: Origin::new("", ""), name: app_name(&spec.id), spec, warnings })
}

/// The CEL rules of the MarathonApp CRD (`spec` part), compiled once.
fn spec_rules() -> Option<&'static CompiledSchema> {
    static RULES: OnceLock<Option<CompiledSchema>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let crd = serde_json::to_value(MarathonApp::crd()).ok()?;
            let schema = crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")?;
            Some(compile_schema(schema))
        })
        .as_ref()
}

fn cel_problems(spec: &MarathonAppSpec) -> Vec<String> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let (Some(rules), Ok(value)) = (spec_rules(), serde_json::to_value(spec)) else {
        return Vec::new();
    };
    let validator = VALIDATOR.get_or_init(Validator::new);
    match validator.validate_compiled(rules, &value, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(json: Value) -> Vec<String> {
        check_app(json).err().unwrap_or_default()
    }

    #[test]
    fn valid_apps_pass_and_unknown_fields_are_warnings() {
        let app = check_app(json!({"id": "/prod/web", "cmd": "sleep 1", "fancy": {"x": 1}}))
            .expect("valid");
        assert_eq!(app.name, "prod-web");
        assert_eq!(app.warnings.len(), 1);
        assert_eq!(app.warnings[0].path, "fancy");
    }

    #[test]
    fn marathon_rules_are_enforced() {
        assert_eq!(
            problems(json!({"id": "/foo", "instances": 2})),
            [
                "app /foo: AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
            ]
        );
        let both = problems(json!({"id": "/foo", "cmd": "a", "args": ["b"]}));
        assert_eq!(both.len(), 1, "{both:?}");
        assert!(both[0].contains("mutually exclusive"), "{both:?}");
        let typed = problems(json!({"id": "/foo", "cmd": "a", "instances": "two"}));
        assert!(typed[0].starts_with("app /foo: instances: invalid type"), "{typed:?}");
    }

    #[test]
    fn batch_rejects_duplicates_and_name_collisions() {
        let mut collected = Collected::default();
        collected.read_value(
            "t.json",
            json!([
                {"id": "/a/b", "cmd": "x"},
                {"id": "/a-b", "cmd": "x"},
                {"id": "/a/b", "cmd": "y"}
            ]),
        );
        let batch = Batch::check(collected);
        assert_eq!(batch.apps.len(), 1);
        let errors: Vec<String> = batch.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "t.json#/1: app /a-b derives the resource name a-b already taken by app /a/b (t.json#/0)",
                "t.json#/2: duplicate app id /a/b (first at t.json#/0)",
            ]
        );
    }
}
