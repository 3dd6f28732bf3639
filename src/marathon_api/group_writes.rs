//! Group writes: `POST`, `PUT` (replace, `scaleBy`, `version`, `dryRun`) and `DELETE` of
//! `/v2/groups[/{id}]`. A group is its apps, so a group write is a set of app writes, checked
//! as a whole first (ids, definitions, dependencies) so a refused request changes nothing,
//! then stored dependencies first. The whole change is one Marathon deployment: every app it
//! writes or stops is marked with the deployment and the step of its action
//! (`crate::marathon::deployments::GroupMark`), from which its progress is computed.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::FacadeState;
use super::apps::{refuse_collision_within, refuse_name_collision, stored_spec_for, update};
use super::auth::Caller;
use super::error::ApiError;
use super::read::valid;
use super::write::{Desired, Request, with_deployment_header};
use crate::crd::{MarathonApp, MarathonAppSpec};
use crate::marathon::deployments::{
    ANNOTATION_GROUP_DEPLOYMENT, GroupMark, STOP, change_action, deployment_id, running_deployments,
};
use crate::marathon::events::{group_change, group_change_failed};
use crate::marathon::groups::{
    ANNOTATION_GROUP_SETTINGS, Flattened, Settings, dependency_layers, flatten, group_dependencies,
    is_below, known_settings, scaled, settings_annotation, settings_for, settings_of,
};
use crate::marathon::ids::parent;
use crate::marathon::validation::{check_app, strip_read_only};
use crate::marathon::versions::{format_version, spec_of_version, stored_version};

/// How a group write treats what its body leaves out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST: the group must not exist; nothing is removed.
    Create,
    /// PUT: listed apps and groups replace the current ones; unlisted ones are removed.
    Replace,
}

/// One app write of a group change.
pub(super) struct Change {
    pub spec: MarathonAppSpec,
    /// The app as it is (`None`: the change creates it).
    pub base: Option<MarathonApp>,
    /// Marathon's action for it; `None`: only the group settings it carries change.
    pub action: Option<&'static str>,
    pub settings: Settings,
}

/// One group change, planned: the app writes in dependency order, the writes of settings
/// only, and the apps it stops.
#[derive(Default)]
pub(super) struct Plan {
    pub layers: Vec<Vec<Change>>,
    pub quiet: Vec<Change>,
    pub removals: Vec<MarathonApp>,
}

fn existing_by_id(state: &FacadeState) -> BTreeMap<String, MarathonApp> {
    state.apps().iter().filter_map(valid).map(|a| (a.spec.id.clone(), a.clone())).collect()
}

/// Whether the existing app `id` is left out by a PUT of `flat` on `group`.
fn left_out(id: &str, group: &str, flat: &Flattened, planned: &BTreeSet<String>) -> bool {
    if !is_below(id, group) || planned.contains(id) {
        return false;
    }
    if flat.lists_apps.contains(parent(id)) {
        return true;
    }
    let mut at = parent(id).to_owned();
    while at != group && at != "/" {
        if flat.lists_groups.contains(parent(&at)) && !flat.groups.contains(&at) {
            return true;
        }
        at = parent(&at).to_owned();
    }
    false
}

/// The dependency graph after a change: every app that stays, with its own dependencies and
/// its groups'.
fn graph(
    existing: &BTreeMap<String, MarathonApp>,
    removals: &[MarathonApp],
    changes: &[Change],
) -> BTreeMap<String, Vec<String>> {
    let removed: BTreeSet<&String> = removals.iter().map(|a| &a.spec.id).collect();
    let edges = |spec: &MarathonAppSpec, settings: &Settings| {
        let mut all = spec.dependencies.clone().unwrap_or_default();
        all.extend(group_dependencies(&spec.id, settings));
        all
    };
    let mut graph: BTreeMap<String, Vec<String>> = existing
        .iter()
        .filter(|(id, _)| !removed.contains(id))
        .map(|(id, app)| (id.clone(), edges(&app.spec, &settings_of(app))))
        .collect();
    for change in changes {
        graph.insert(change.spec.id.clone(), edges(&change.spec, &change.settings));
    }
    graph
}

/// `changes` in layers of the dependency order of `graph` (one layer when the graph cannot
/// be ordered: rollbacks and scaling keep what exists); settings-only changes apart.
fn layered(
    changes: Vec<Change>,
    order: Option<Vec<Vec<String>>>,
) -> (Vec<Vec<Change>>, Vec<Change>) {
    let (acting, quiet): (Vec<Change>, Vec<Change>) =
        changes.into_iter().partition(|c| c.action.is_some());
    let Some(order) = order else { return (vec![acting], quiet) };
    let mut by_id: BTreeMap<String, Change> =
        acting.into_iter().map(|c| (c.spec.id.clone(), c)).collect();
    let mut layers: Vec<Vec<Change>> = order
        .iter()
        .map(|layer| layer.iter().filter_map(|id| by_id.remove(id)).collect::<Vec<_>>())
        .filter(|layer: &Vec<Change>| !layer.is_empty())
        .collect();
    if !by_id.is_empty() {
        layers.push(by_id.into_values().collect());
    }
    (layers, quiet)
}

/// The write of `spec` for `base`: its action, or nothing at all when neither the definition
/// nor the group settings change.
pub(super) fn change(
    spec: MarathonAppSpec,
    base: Option<&MarathonApp>,
    settings: Settings,
) -> Option<Change> {
    let action = change_action(base.map(|b| &b.spec), &spec);
    let same_settings = base.is_some_and(|b| settings_of(b) == settings);
    (action.is_some() || !same_settings).then(|| Change {
        spec,
        base: base.cloned(),
        action,
        settings,
    })
}

fn plan(state: &FacadeState, group: &str, body: &Value, mode: Mode) -> Result<Plan, ApiError> {
    let flat = flatten(body, group).map_err(ApiError::Unprocessable)?;
    let existing = existing_by_id(state);
    let known = known_settings(existing.values());
    let mut specs = BTreeMap::new();
    let mut names = Vec::new();
    for app in &flat.apps {
        let mut app = app.clone();
        strip_read_only(&mut app);
        if let Some(object) = app.as_object_mut() {
            object.remove("version");
        }
        let mut spec = check_app(app)?;
        if let Some(current) = existing.get(&spec.id) {
            if mode == Mode::Create {
                return Err(ApiError::Conflict(format!(
                    "An app with id [{}] already exists.",
                    spec.id
                )));
            }
            if spec.kubernetes.is_none() {
                spec.kubernetes = current.spec.kubernetes.clone();
            }
        }
        // Two ids deriving one resource name would overwrite each other's MarathonApp.
        refuse_collision_within(&mut names, &spec.id)?;
        if !existing.contains_key(&spec.id) {
            refuse_name_collision(state, &spec.id)?;
        }
        if existing.keys().any(|id| id != &spec.id && is_below(id, &spec.id)) {
            return Err(ApiError::Conflict(format!(
                "A group with the path {} already exists.",
                spec.id
            )));
        }
        specs.insert(spec.id.clone(), spec);
    }
    let planned: BTreeSet<String> = specs.keys().cloned().collect();
    let removals: Vec<MarathonApp> = match mode {
        Mode::Create => Vec::new(),
        Mode::Replace => existing
            .values()
            .filter(|a| left_out(&a.spec.id, group, &flat, &planned))
            .cloned()
            .collect(),
    };
    let removed: BTreeSet<&String> = removals.iter().map(|a| &a.spec.id).collect();
    // Apps the body does not name keep their definition; their groups' settings may change.
    let untouched = existing.values().filter(|a| {
        is_below(&a.spec.id, group)
            && !planned.contains(&a.spec.id)
            && !removed.contains(&a.spec.id)
    });
    let mut changes: Vec<Change> = specs
        .into_values()
        .filter_map(|spec| {
            let settings = settings_for(&spec.id, &flat.settings, &known);
            let base = existing.get(&spec.id);
            change(spec, base, settings)
        })
        .collect();
    changes.extend(untouched.filter_map(|app| {
        change(app.spec.clone(), Some(app), settings_for(&app.spec.id, &flat.settings, &known))
    }));
    let graph = graph(&existing, &removals, &changes);
    let order = dependency_layers(&graph).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let (layers, quiet) = layered(changes, Some(order));
    Ok(Plan { layers, quiet, removals })
}

/// `dryRun`: the steps the write would take, without taking them.
fn steps(plan: &Plan) -> Value {
    let mut steps = Vec::new();
    if !plan.removals.is_empty() {
        let actions: Vec<Value> =
            plan.removals.iter().map(|a| json!({"action": STOP, "app": a.spec.id})).collect();
        steps.push(json!({ "actions": actions }));
    }
    for layer in &plan.layers {
        let actions: Vec<Value> =
            layer.iter().map(|c| json!({"action": c.action, "app": c.spec.id})).collect();
        steps.push(json!({ "actions": actions }));
    }
    json!({ "steps": steps })
}

/// Refuses while a running deployment acts on one of `affected`, unless `force`
/// (Marathon's lock: the deployment's ids in a 409).
fn refuse_locked(
    state: &FacadeState,
    force: bool,
    affected: &BTreeSet<&str>,
) -> Result<(), ApiError> {
    if force {
        return Ok(());
    }
    let apps = state.apps();
    let all: Vec<&MarathonApp> = apps.iter().filter_map(valid).collect();
    let running: Vec<String> = running_deployments(&all)
        .into_iter()
        .filter(|d| {
            d.steps
                .iter()
                .flatten()
                .flat_map(|s| &s.actions)
                .any(|a| affected.contains(a.app.as_str()))
        })
        .map(|d| d.id)
        .collect();
    if running.is_empty() { Ok(()) } else { Err(ApiError::Locked(running)) }
}

impl Plan {
    fn affected(&self) -> BTreeSet<&str> {
        let changed = self.layers.iter().flatten().map(|c| c.spec.id.as_str());
        changed.chain(self.removals.iter().map(|a| a.spec.id.as_str())).collect()
    }
}

/// The deployment a group change starts: its id and version.
pub(super) struct Started {
    pub id: String,
    pub version: String,
}

/// Carries out `plan` as one deployment of the group `group`: the apps in dependency order,
/// each marked with its step, then the settings-only writes, then the stops (marked first,
/// so the deployment knows them, then deleted). A write failing midway is a
/// `group_change_failed`.
pub(super) async fn deploy(
    state: &FacadeState,
    group: &str,
    plan: Plan,
    caller: &Caller,
    what: &str,
) -> Result<Started, ApiError> {
    let now = Timestamp::now();
    let started = Started {
        id: deployment_id(&format!("group:{group}"), now.as_millisecond()),
        version: format_version(now),
    };
    let result = carry_out(state, &started, plan, caller, what).await;
    if let Err(error) = &result {
        let reason = error.to_string();
        let failed = group_change_failed(group, &started.version, &reason, &started.version);
        state.event_stream().publish(&failed);
    }
    result.map(|()| started)
}

async fn carry_out(
    state: &FacadeState,
    started: &Started,
    plan: Plan,
    caller: &Caller,
    what: &str,
) -> Result<(), ApiError> {
    let stopped: Vec<String> = plan.removals.iter().map(|a| a.spec.id.clone()).collect();
    let apps = plan.layers.iter().map(Vec::len).sum::<usize>() + stopped.len();
    let first = i32::from(!stopped.is_empty()) + 1;
    let mark = |step: i32, action: &str, base: &MarathonApp| {
        GroupMark {
            id: started.id.clone(),
            version: started.version.clone(),
            step,
            action: action.to_owned(),
            from: base.metadata.generation.unwrap_or_default(),
            apps,
            stopped: stopped.clone(),
        }
        .annotation()
    };
    for (step, layer) in (first..).zip(plan.layers) {
        for change in layer {
            let action = change.action.unwrap_or("RestartApplication");
            write_change(state, change, caller, what, |base| mark(step, action, base)).await?;
        }
    }
    for change in plan.quiet {
        write_change(state, change, caller, what, |_| String::new()).await?;
    }
    for app in &plan.removals {
        let request = Request { caller, what };
        update(state, &app.spec.id, true, request, |current| {
            Ok(Desired::from(current.spec.clone())
                .with(ANNOTATION_GROUP_DEPLOYMENT, mark(1, STOP, current))
                .with(ANNOTATION_GROUP_SETTINGS, settings_annotation(&settings_of(current))))
        })
        .await?;
    }
    for app in &plan.removals {
        let current = state.find(&app.spec.id).and_then(|e| valid(&e).cloned());
        let request = Request { caller, what };
        state.remove(current.as_ref().unwrap_or(app), request).await?;
    }
    Ok(())
}

/// Stores one change; `mark` gives the deployment mark for the app as it is (empty: none).
async fn write_change(
    state: &FacadeState,
    change: Change,
    caller: &Caller,
    what: &str,
    mark: impl Fn(&MarathonApp) -> String,
) -> Result<(), ApiError> {
    let settings = settings_annotation(&change.settings);
    let desired = |base: &MarathonApp| {
        let desired =
            Desired::from(change.spec.clone()).with(ANNOTATION_GROUP_SETTINGS, settings.clone());
        let mark = mark(base);
        if mark.is_empty() { desired } else { desired.with(ANNOTATION_GROUP_DEPLOYMENT, mark) }
    };
    let request = Request { caller, what };
    match &change.base {
        None => {
            let new = MarathonApp::new("", MarathonAppSpec::default());
            state.store(desired(&new), None, request).await?;
        }
        Some(base) => {
            update(state, &base.spec.id, true, request, |current| Ok(desired(current))).await?;
        }
    }
    Ok(())
}

/// Runs a group write of `body` on `group`.
pub async fn write(
    state: &FacadeState,
    group: &str,
    body: &Value,
    mode: Mode,
    (force, dry_run): (bool, bool),
    caller: &Caller,
) -> Result<Response, ApiError> {
    let plan = plan(state, group, body, mode)?;
    if dry_run {
        return Ok(Json(steps(&plan)).into_response());
    }
    refuse_locked(state, force, &plan.affected())?;
    let what = if mode == Mode::Create { "created in a group" } else { "updated in a group" };
    let started = deploy(state, group, plan, caller, what).await?;
    let status = if mode == Mode::Create { StatusCode::CREATED } else { StatusCode::OK };
    Ok(answer(state, group, &started, status))
}

/// The deployment result of a group write (a write that changed nothing still gets an id, as
/// in Marathon), and `group_change_success`.
fn answer(state: &FacadeState, group: &str, started: &Started, status: StatusCode) -> Response {
    let now = format_version(Timestamp::now());
    state.event_stream().publish(&group_change(group, &started.version, &now));
    let body = json!({"deploymentId": started.id, "version": started.version});
    with_deployment_header(&started.id, (status, Json(body)).into_response())
}

/// The apps below `group`, or 404 for a group that does not exist.
pub(super) fn apps_of(state: &FacadeState, group: &str) -> Result<Vec<MarathonApp>, ApiError> {
    let apps = state.apps_below(group);
    if apps.is_empty() && group != "/" {
        return Err(ApiError::NotFound(format!("Group '{group}' does not exist")));
    }
    Ok(apps)
}

/// A plan of `changes` and `removals` in the dependency order of what exists (one step when
/// that cannot be ordered).
pub(super) fn plan_of(
    state: &FacadeState,
    changes: Vec<Change>,
    removals: Vec<MarathonApp>,
) -> Plan {
    let existing = existing_by_id(state);
    let order = dependency_layers(&graph(&existing, &removals, &changes)).ok();
    let (layers, quiet) = layered(changes, order);
    Plan { layers, quiet, removals }
}

/// `{"scaleBy": f}`: every app below the group scaled by `f`.
pub async fn scale_by(
    state: &FacadeState,
    group: &str,
    factor: f64,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = apps_of(state, group)?;
    let changes = apps
        .iter()
        .filter_map(|app| {
            let mut spec = app.spec.clone();
            spec.instances = Some(scaled(i64::from(spec.instances.unwrap_or(1)), factor) as i32);
            change(spec, Some(app), settings_of(app))
        })
        .collect();
    let plan = plan_of(state, changes, Vec::new());
    refuse_locked(state, force, &plan.affected())?;
    let started = deploy(state, group, plan, caller, "scaled with its group").await?;
    Ok(answer(state, group, &started, StatusCode::OK))
}

/// `{"version": v}`: every app below the group back to its definition at `v`; apps that did
/// not exist then are removed.
pub async fn roll_back(
    state: &FacadeState,
    group: &str,
    version: &str,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = state.apps_below(group);
    let mut changes = Vec::new();
    let mut removals = Vec::new();
    let mut found = false;
    for app in &apps {
        let history = state.history_of(app);
        let at = history.iter().rev().filter_map(stored_version).find(|v| *v <= version);
        match at.and_then(|v| spec_of_version(&history, v)) {
            None => removals.push(app.clone()),
            Some(stored) => {
                found = true;
                let spec = stored_spec_for(app, &stored, version)?;
                changes.extend(change(spec, Some(app), settings_of(app)));
            }
        }
    }
    if !found {
        return Err(ApiError::NotFound(format!(
            "Group '{group}' does not exist in version {version}"
        )));
    }
    let plan = plan_of(state, changes, removals);
    refuse_locked(state, force, &plan.affected())?;
    let started = deploy(state, group, plan, caller, "rolled back with its group").await?;
    Ok(answer(state, group, &started, StatusCode::OK))
}

/// `DELETE`: every app below the group, one deployment.
pub async fn delete(
    state: &FacadeState,
    group: &str,
    force: bool,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let apps = apps_of(state, group)?;
    let plan = Plan { removals: apps, ..Plan::default() };
    refuse_locked(state, force, &plan.affected())?;
    let started = deploy(state, group, plan, caller, "deleted with its group").await?;
    Ok(answer(state, group, &started, StatusCode::OK))
}
