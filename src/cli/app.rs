//! From raw JSON to checked apps: the shared validation (`crate::marathon::validation`, the
//! same rules as the CRD and the Marathon API) and the checks across a batch (duplicate ids,
//! two ids deriving one resource name).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rayon::prelude::*;
use serde_json::Value;

use super::input::{Collected, Message, Origin};
use crate::crd::MarathonAppSpec;
use crate::marathon::validation;
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
        // Each app is checked on its own, on every core, and written in place of its input;
        // results keep the input order. An app is large: the serial part moves none but the
        // refused ones.
        let checked: Vec<Result<App, Refused>> = apps
            .into_par_iter()
            .map(|raw| match check_app(raw.json) {
                Ok(app) => Ok(App { origin: raw.origin, ..app }),
                Err(problems) => Err(Refused { origin: raw.origin, problems }),
            })
            .collect();
        for refused in checked.iter().filter_map(|result| result.as_ref().err()) {
            errors.extend(
                refused
                    .problems
                    .iter()
                    .map(|text| Message { origin: refused.origin.clone(), text: text.clone() }),
            );
        }
        let mut batch =
            Self { apps: checked.into_iter().filter_map(Result::ok).collect(), errors, notes };
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

    /// Two apps with one id, or two ids deriving the same name, would overwrite each other:
    /// the first keeps the name, the others are errors.
    fn check_names(&mut self) {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(self.apps.len());
        let mut refused = vec![false; self.apps.len()];
        for (index, app) in self.apps.iter().enumerate() {
            let kept = match first.entry(app.name.as_str()) {
                Entry::Occupied(kept) => &self.apps[*kept.get()],
                Entry::Vacant(slot) => {
                    slot.insert(index);
                    continue;
                }
            };
            let (id, origin) = (kept.id(), &kept.origin);
            let text = if id == app.id() {
                format!("duplicate app id {id} (first at {origin})")
            } else {
                format!(
                    "app {} derives the resource name {} already taken by app {id} ({origin})",
                    app.id(),
                    app.name
                )
            };
            self.errors.push(Message { origin: app.origin.clone(), text });
            refused[index] = true;
        }
        let mut refused = refused.into_iter();
        self.apps.retain(|_| !refused.next().unwrap_or(false));
    }
}

/// An app that failed its check: where it was read and every problem.
struct Refused {
    origin: Origin,
    problems: Vec<String>,
}

/// Checks one app (its id already absolute) with the rules every door shares
/// (`crate::marathon::validation`). Errors are messages ready to print, naming the field.
pub fn check_app(mut json: Value) -> Result<App, Vec<String>> {
    let id = json.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    validation::strip_read_only(&mut json);
    let spec = validation::check_app(json).map_err(|invalid| {
        invalid.violations().iter().map(|v| format!("app {id}: {v}")).collect::<Vec<_>>()
    })?;
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
        assert!(typed[0].starts_with("app /foo: /instances: invalid type"), "{typed:?}");
        let negative = problems(json!({"id": "/foo", "cmd": "a", "instances": -2}));
        assert_eq!(negative.len(), 1, "{negative:?}");
        assert!(negative[0].starts_with("app /foo: /instances: -2 is less than the minimum of 0"));
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
