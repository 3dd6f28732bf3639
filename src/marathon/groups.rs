//! Marathon groups, derived: a group is not stored on its own, it is the set of apps whose ids
//! lie below it (`/prod/db` makes the groups `/` and `/prod`). The tree `GET /v2/groups`
//! shows, and the dependency rules group writes must pass, are computed here from app ids.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids::{canonical, parent};
use crate::crd::MarathonApp;

/// The settings of the groups above an app (`dependencies`, `enforceRole`), kept on every app
/// below them: a group has no object of its own, so its apps carry what it says.
pub const ANNOTATION_GROUP_SETTINGS: &str = "marathon-operator.dev/group-settings";

/// What a group says of itself besides its apps and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSettings {
    /// Absolute ids of the apps or groups every app of the group depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// Only top-level groups have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_role: Option<bool>,
}

impl GroupSettings {
    /// `self`, with what it leaves out taken from `stored`.
    fn over(&self, stored: Option<&GroupSettings>) -> GroupSettings {
        GroupSettings {
            dependencies: self
                .dependencies
                .clone()
                .or_else(|| stored.and_then(|s| s.dependencies.clone())),
            enforce_role: self.enforce_role.or_else(|| stored.and_then(|s| s.enforce_role)),
        }
    }

    fn is_empty(&self) -> bool {
        self.dependencies.as_ref().is_none_or(Vec::is_empty) && self.enforce_role.is_none()
    }
}

/// Group id -> its settings.
pub type Settings = BTreeMap<String, GroupSettings>;

/// The settings `app` carries for the groups above it.
pub fn settings_of(app: &MarathonApp) -> Settings {
    app.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_GROUP_SETTINGS))
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default()
}

/// The annotation value of `settings` (`{}` when there are none: a write must be able to
/// clear what an earlier one set).
pub fn settings_annotation(settings: &Settings) -> String {
    serde_json::to_string(settings).unwrap_or_else(|_| "{}".to_owned())
}

/// What every app says of every group (apps below one group agree: they are written together).
pub fn known_settings<'a>(apps: impl IntoIterator<Item = &'a MarathonApp>) -> Settings {
    let mut known = Settings::new();
    for app in apps {
        for (group, settings) in settings_of(app) {
            known.entry(group).or_insert(settings);
        }
    }
    known
}

/// The settings the app `app_id` carries: for each group above it, what `asked` says,
/// completed by what is `known`.
pub fn settings_for(app_id: &str, asked: &Settings, known: &Settings) -> Settings {
    let mut settings = Settings::new();
    let mut group = parent(app_id).to_owned();
    while group != "/" {
        let stored = known.get(&group);
        let merged = match asked.get(&group) {
            Some(asked) => asked.over(stored),
            None => stored.cloned().unwrap_or_default(),
        };
        if !merged.is_empty() {
            settings.insert(group.clone(), merged);
        }
        group = parent(&group).to_owned();
    }
    settings
}

/// The dependencies the groups above `app_id` give it (a group's dependency that holds the
/// app itself is no dependency of it).
pub fn group_dependencies(app_id: &str, settings: &Settings) -> Vec<String> {
    settings
        .iter()
        .filter(|(group, _)| is_below(app_id, group))
        .flat_map(|(_, s)| s.dependencies.iter().flatten())
        .filter(|d| !is_below(app_id, d))
        .cloned()
        .collect()
}

/// Every dependency of `app`: its own (absolute) and its groups'.
pub fn all_dependencies(app: &MarathonApp) -> Vec<String> {
    let own = app.spec.dependencies.clone().unwrap_or_default();
    let mut all = absolute_dependencies(&app.spec.id, &own);
    all.extend(group_dependencies(&app.spec.id, &settings_of(app)));
    all
}

/// What `embed` asks a group to show (Marathon's default: all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupEmbed {
    pub groups: bool,
    pub apps: bool,
    pub pods: bool,
}

impl GroupEmbed {
    /// Reads `group.groups`, `group.apps`, `group.pods` (any `group.apps.<x>` implies apps);
    /// no group embed at all means everything.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let values: Vec<&str> = values.into_iter().collect();
        let asked = |name: &str| {
            values
                .iter()
                .any(|v| *v == name || v.strip_prefix(name).is_some_and(|r| r.starts_with('.')))
        };
        let any = ["group.groups", "group.apps", "group.pods"].iter().any(|n| asked(n));
        if !any {
            return Self { groups: true, apps: true, pods: true };
        }
        Self { groups: asked("group.groups"), apps: asked("group.apps"), pods: asked("group.pods") }
    }
}

/// One app as a group shows it: its absolute id, its JSON and its version, and the settings
/// it carries for the groups above it.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: String,
    pub json: Value,
    pub version: Option<String>,
    pub settings: Settings,
}

/// Whether `id` lies below (or is) the group `group`.
pub fn is_below(id: &str, group: &str) -> bool {
    group == "/" || id == group || id.strip_prefix(group).is_some_and(|rest| rest.starts_with('/'))
}

/// The group `group_id` built from `members` (every app, any order): `None` when no app lies
/// below it (the root always exists) or when `group_id` is an app's id.
pub fn group_tree(
    members: &[Member],
    group_id: &str,
    embed: GroupEmbed,
    now: &str,
) -> Option<Value> {
    if members.iter().any(|m| m.id == group_id) {
        return None;
    }
    let below: Vec<&Member> = members.iter().filter(|m| is_below(&m.id, group_id)).collect();
    if below.is_empty() && group_id != "/" {
        return None;
    }
    let mut groups: BTreeSet<String> = BTreeSet::new();
    for member in &below {
        let mut id = parent(&member.id).to_owned();
        while id != group_id && is_below(&id, group_id) && id != "/" {
            groups.insert(id.clone());
            id = parent(&id).to_owned();
        }
    }
    Some(node(group_id, &below, &groups, embed, now))
}

fn node(
    id: &str,
    below: &[&Member],
    groups: &BTreeSet<String>,
    embed: GroupEmbed,
    now: &str,
) -> Value {
    let inside: Vec<&Member> = below.iter().copied().filter(|m| is_below(&m.id, id)).collect();
    let version =
        inside.iter().filter_map(|m| m.version.clone()).max().unwrap_or_else(|| now.to_owned());
    let settings = inside.iter().find_map(|m| m.settings.get(id));
    let dependencies = settings.and_then(|s| s.dependencies.clone()).unwrap_or_default();
    let mut group = json!({"id": id, "dependencies": dependencies, "version": version});
    // Only where it was set: Marathon 1.9+ shows it on every top-level group, but
    // marathon-python 0.13.0 cannot read a group that has it (unknown keyword argument).
    if let Some(enforce_role) = settings.and_then(|s| s.enforce_role) {
        group["enforceRole"] = json!(enforce_role);
    }
    if embed.apps {
        let apps: Vec<&Value> =
            inside.iter().filter(|m| parent(&m.id) == id).map(|m| &m.json).collect();
        group["apps"] = json!(apps);
    }
    if embed.groups {
        let children: Vec<Value> = groups
            .iter()
            .filter(|g| parent(g) == id)
            .map(|g| node(g, &inside, groups, embed, now))
            .collect();
        group["groups"] = Value::Array(children);
    }
    if embed.pods {
        group["pods"] = json!([]);
    }
    group
}

/// Why a set of apps cannot be deployed as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    #[error("Dependency graph has cyclic dependencies: {0}")]
    Cycle(String),
    #[error("App {app} depends on {dependency}, which does not exist")]
    Missing { app: String, dependency: String },
}

/// The dependencies of `app` (already absolute) as the app ids they name: an app, or every app
/// of a group.
fn resolve<'a>(dependency: &str, ids: &'a BTreeSet<String>) -> Vec<&'a String> {
    ids.iter().filter(|id| is_below(id, dependency)).collect()
}

/// Dependencies as Marathon resolves them: relative to the app's group.
pub fn absolute_dependencies(app_id: &str, dependencies: &[String]) -> Vec<String> {
    dependencies.iter().map(|d| canonical(d, parent(app_id))).collect()
}

/// Checks that every dependency names an existing app or group and that no cycle exists;
/// returns the deployment order: layers of app ids, dependencies first.
pub fn dependency_layers(
    apps: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<String>>, DependencyError> {
    let ids: BTreeSet<String> = apps.keys().cloned().collect();
    let mut edges: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
    for (app, dependencies) in apps {
        let mut targets = BTreeSet::new();
        for dependency in absolute_dependencies(app, dependencies) {
            let resolved = resolve(&dependency, &ids);
            if resolved.is_empty() {
                return Err(DependencyError::Missing { app: app.clone(), dependency });
            }
            targets.extend(resolved.into_iter().filter(|id| *id != app));
        }
        edges.insert(app, targets);
    }
    let mut done: BTreeSet<&String> = BTreeSet::new();
    let mut layers = Vec::new();
    while done.len() < edges.len() {
        let layer: Vec<&String> = edges
            .iter()
            .filter(|(app, deps)| !done.contains(*app) && deps.iter().all(|d| done.contains(d)))
            .map(|(app, _)| *app)
            .collect();
        if layer.is_empty() {
            let stuck: Vec<&str> =
                edges.keys().filter(|a| !done.contains(*a)).map(|a| a.as_str()).collect();
            return Err(DependencyError::Cycle(stuck.join(", ")));
        }
        done.extend(layer.iter().copied());
        layers.push(layer.into_iter().cloned().collect());
    }
    Ok(layers)
}

/// A group body (`GroupUpdate`) taken apart: every app with an absolute id and absolute
/// dependencies, the settings of the groups that state them, and which groups list their apps
/// or subgroups (a PUT removes what such a list leaves out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flattened {
    pub apps: Vec<Value>,
    /// `dependencies` (absolute) and `enforceRole` of the groups whose body states them.
    pub settings: Settings,
    /// Every group the body names, the changed group included.
    pub groups: BTreeSet<String>,
    pub lists_apps: BTreeSet<String>,
    pub lists_groups: BTreeSet<String>,
}

/// Takes apart the group body `body` for the group `group_id` (relative ids resolve against
/// the group that holds them, as Marathon resolves them). The error is Marathon's 422 message.
pub fn flatten(body: &Value, group_id: &str) -> Result<Flattened, String> {
    let mut out = Flattened::default();
    walk(body, group_id, &mut out)?;
    let mut seen = BTreeSet::new();
    for app in &out.apps {
        let id = app["id"].as_str().unwrap_or_default();
        if !seen.insert(id.to_owned()) || out.groups.contains(id) {
            return Err(format!("Group {group_id} has more than one app or group with id {id}"));
        }
    }
    Ok(out)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The settings a group body states (`None`: it states neither).
fn stated_settings(object: &serde_json::Map<String, Value>, id: &str) -> Option<GroupSettings> {
    let dependencies = object
        .get("dependencies")
        .filter(|d| !d.is_null())
        .map(|d| strings(Some(d)).iter().map(|d| canonical(d, parent(id))).collect());
    // Only top-level groups have `enforceRole`.
    let top_level = id != "/" && parent(id) == "/";
    let enforce_role = object.get("enforceRole").and_then(Value::as_bool).filter(|_| top_level);
    (dependencies.is_some() || enforce_role.is_some())
        .then_some(GroupSettings { dependencies, enforce_role })
}

fn walk(body: &Value, id: &str, out: &mut Flattened) -> Result<(), String> {
    let Some(object) = body.as_object() else {
        return Err(format!("group {id} must be a JSON object"));
    };
    out.groups.insert(id.to_owned());
    if let Some(settings) = stated_settings(object, id) {
        out.settings.insert(id.to_owned(), settings);
    }
    if let Some(apps) = object.get("apps").filter(|a| !a.is_null()) {
        out.lists_apps.insert(id.to_owned());
        for app in apps.as_array().into_iter().flatten() {
            out.apps.push(app_in_group(app, id)?);
        }
    }
    if let Some(groups) = object.get("groups").filter(|g| !g.is_null()) {
        out.lists_groups.insert(id.to_owned());
        for group in groups.as_array().into_iter().flatten() {
            let child = group.get("id").and_then(Value::as_str).map(|c| canonical(c, id));
            let child = child.ok_or_else(|| format!("a group inside {id} has no id"))?;
            if parent(&child) != id {
                return Err(format!("Group {child} has to be a child of group {id}"));
            }
            walk(group, &child, out)?;
        }
    }
    Ok(())
}

/// One app of a group body: its id and dependencies absolute.
fn app_in_group(app: &Value, group: &str) -> Result<Value, String> {
    let mut app = app.clone();
    let id = app.get("id").and_then(Value::as_str).map(|a| canonical(a, group));
    let id = id.ok_or_else(|| format!("an app inside {group} has no id"))?;
    if parent(&id) != group {
        return Err(format!("App {id} has to be a child of group {group}"));
    }
    let dependencies: Vec<String> =
        strings(app.get("dependencies")).iter().map(|d| canonical(d, group)).collect();
    app["id"] = json!(id);
    if dependencies.is_empty() {
        if let Some(object) = app.as_object_mut() {
            object.remove("dependencies");
        }
    } else {
        app["dependencies"] = json!(dependencies);
    }
    Ok(app)
}

/// `{"scaleBy": f}` and `{"version": v}` must come alone.
pub fn alone(body: &Value, field: &str) -> Result<bool, String> {
    let Some(object) = body.as_object() else { return Ok(false) };
    if !object.contains_key(field) {
        return Ok(false);
    }
    if object.len() > 1 {
        return Err(format!("{field}: not allowed in conjunction with other properties."));
    }
    Ok(true)
}

/// Marathon's `scaleBy`: `ceil(instances * factor)`.
pub fn scaled(instances: i64, factor: f64) -> i64 {
    (instances as f64 * factor).ceil() as i64
}

/// Whether `app` runs its current generation completely: observed, Available, no rollout.
fn available(app: &crate::crd::MarathonApp) -> bool {
    let generation = app.metadata.generation.unwrap_or_default();
    let Some(status) = app.status.as_ref() else { return false };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let up = crate::crd::condition::find_condition(conditions, crate::crd::condition::AVAILABLE)
        .is_some_and(|c| c.status == crate::crd::condition::TRUE);
    status.observed_generation.unwrap_or_default() >= generation
        && up
        && super::deployments::current_deployment(app).is_none()
}

/// The apps `app` depends on (an app, or every app of a group) that are not Available yet:
/// Marathon starts a dependent only after its dependencies' deployment steps. Dependencies
/// naming nothing do not hold it back (writes refuse them; a later deletion must not block).
pub fn unavailable_dependencies(
    app: &crate::crd::MarathonApp,
    others: &[&crate::crd::MarathonApp],
) -> Vec<String> {
    all_dependencies(app)
        .iter()
        .flat_map(|d| {
            others.iter().filter(move |o| o.spec.id != app.spec.id && is_below(&o.spec.id, d))
        })
        .filter(|o| !available(o))
        .map(|o| o.spec.id.clone())
        .collect()
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
