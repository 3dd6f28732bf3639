//! The JSON shapes that hold Marathon apps:
//!
//! * one app (`{"id": "/a", ...}`), or `{"app": {...}}` as `GET /v2/apps/{id}` answers;
//! * an array of apps (the body of `PUT /v2/apps`);
//! * a `/v2/apps` dump (`{"apps": [...]}`);
//! * a group (`{"id": "/g", "apps": [...], "groups": [...]}`), which is also the shape of a
//!   `/v2/groups` dump; ids inside are relative to the enclosing group, as in Marathon.

use serde_json::{Map, Value};

use super::{Collected, Origin, RawApp};
use crate::marathon::ids;

/// Keys Marathon adds to apps in its responses (AppInfo). They are state, not definition, and
/// Marathon itself ignores them when such a body is posted back, so they are not kept.
const READ_ONLY_KEYS: [&str; 9] = [
    "tasksStaged",
    "tasksRunning",
    "tasksHealthy",
    "tasksUnhealthy",
    "deployments",
    "tasks",
    "lastTaskFailure",
    "taskStats",
    "readinessCheckResults",
];

pub(super) fn walk_document(out: &mut Collected, origin: Origin, value: Value) {
    match value {
        Value::Array(items) => walk_list(out, &origin, items),
        Value::Object(mut map) => {
            if !map.contains_key("id") {
                if let Some(app) = map.remove("app").filter(Value::is_object) {
                    return walk_app(out, origin.child("app"), app, "/");
                }
                if let Some(Value::Array(items)) = map.remove("*") {
                    return walk_list(out, &origin.child("*"), items);
                }
            }
            if is_group(&map) {
                walk_group(out, origin, map, "/");
            } else {
                walk_app(out, origin, Value::Object(map), "/");
            }
        }
        other => out.error(
            origin,
            format!("expected a Marathon app, a group or a list of apps, found {}", kind(&other)),
        ),
    }
}

fn walk_list(out: &mut Collected, origin: &Origin, items: Vec<Value>) {
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::Object(map) if is_group(&map) => walk_group(out, origin.child(i), map, "/"),
            other => walk_app(out, origin.child(i), other, "/"),
        }
    }
}

/// Apps never have `apps`, `groups` or `pods`; groups and `/v2/apps` dumps always have one.
fn is_group(map: &Map<String, Value>) -> bool {
    ["apps", "groups", "pods"].iter().any(|k| map.get(*k).is_some_and(Value::is_array))
}

fn walk_group(out: &mut Collected, origin: Origin, mut group: Map<String, Value>, base: &str) {
    let id = match group.get("id") {
        None | Some(Value::Null) => base.to_string(),
        Some(Value::String(id)) => ids::canonical(id, base),
        Some(other) => {
            return out.error(
                origin.child("id"),
                format!("group id must be a string, found {}", kind(other)),
            );
        }
    };
    if group.get("dependencies").and_then(Value::as_array).is_some_and(|d| !d.is_empty()) {
        out.note(
            origin.child("dependencies"),
            format!(
                "dependencies of group {id} apply to each of its apps in Marathon; \
                 MarathonApps only carry their own `dependencies`"
            ),
        );
    }
    if let Some(Value::Array(pods)) = group.get("pods") {
        for (i, pod) in pods.iter().enumerate() {
            let pod_id = pod.get("id").and_then(Value::as_str).unwrap_or("?");
            out.note(
                origin.child("pods").child(i),
                format!("pod {pod_id} skipped: Marathon pods are not supported"),
            );
        }
    }
    for key in ["apps", "groups"] {
        match group.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let list = origin.child(key);
                for (i, item) in items.into_iter().enumerate() {
                    match (key, item) {
                        ("groups", Value::Object(map)) => walk_group(out, list.child(i), map, &id),
                        ("groups", other) => out.error(
                            list.child(i),
                            format!("expected a group object, found {}", kind(&other)),
                        ),
                        (_, app) => walk_app(out, list.child(i), app, &id),
                    }
                }
            }
            Some(other) => {
                out.error(origin.child(key), format!("expected an array, found {}", kind(&other)))
            }
        }
    }
}

fn walk_app(out: &mut Collected, origin: Origin, value: Value, base: &str) {
    let Value::Object(mut app) = value else {
        return out.error(origin, format!("expected an app object, found {}", kind(&value)));
    };
    if app.get("containers").is_some_and(Value::is_array) && !app.contains_key("cmd") {
        return out.error(origin, "this is a Marathon pod, not an app: pods are not supported");
    }
    let id = match app.get("id") {
        Some(Value::String(id)) => ids::canonical(id, base),
        None | Some(Value::Null) => {
            return out.error(origin, "not a Marathon app: it has no `id`");
        }
        Some(other) => {
            return out.error(origin, format!("`id` must be a string, found {}", kind(other)));
        }
    };
    if let Some(Value::Array(dependencies)) = app.get_mut("dependencies") {
        // Marathon stores dependencies absolute, resolved against the app's parent group.
        let parent = ids::parent(&id);
        for dependency in dependencies.iter_mut() {
            if let Value::String(dep) = dependency
                && !dep.starts_with('/')
            {
                *dep = ids::canonical(dep, parent);
            }
        }
    }
    // Most apps have none: look first (each removal hashes its key, even when absent).
    if app.keys().any(|key| READ_ONLY_KEYS.contains(&key.as_str())) {
        for key in READ_ONLY_KEYS {
            app.remove(key);
        }
    }
    app.insert("id".to_string(), Value::String(id));
    out.apps.push(RawApp { origin, json: Value::Object(app) });
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(value: Value) -> Collected {
        let mut out = Collected::default();
        walk_document(&mut out, Origin::new("t.json", ""), value);
        out
    }

    fn ids(out: &Collected) -> Vec<&str> {
        out.apps.iter().map(|a| a.json["id"].as_str().unwrap_or_default()).collect()
    }

    #[test]
    fn nested_groups_resolve_relative_ids() {
        let out = read(json!({
            "id": "/prod",
            "apps": [{"id": "db", "cmd": "x", "dependencies": ["cache", "/abs"]}],
            "groups": [{"id": "web", "apps": [{"id": "front", "cmd": "y"}, {"id": "/prod/web/api"}]}],
            "dependencies": ["/other"]
        }));
        assert_eq!(ids(&out), ["/prod/db", "/prod/web/front", "/prod/web/api"]);
        assert_eq!(out.apps[0].json["dependencies"], json!(["/prod/cache", "/abs"]));
        assert_eq!(out.apps[1].origin.to_string(), "t.json#/groups/0/apps/0");
        assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
        assert!(out.errors.is_empty());
    }

    #[test]
    fn dumps_lists_and_wrappers() {
        let dump = read(json!({"apps": [{"id": "/a", "tasksRunning": 3, "deployments": []}]}));
        assert_eq!(ids(&dump), ["/a"]);
        assert_eq!(dump.apps[0].json, json!({"id": "/a"}), "read-only state dropped");
        assert_eq!(ids(&read(json!([{"id": "a"}, {"id": "b/c"}]))), ["/a", "/b/c"]);
        assert_eq!(ids(&read(json!({"app": {"id": "/x"}}))), ["/x"]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let out = read(json!([1, {"cmd": "no id"}, {"id": "/p", "containers": []}]));
        assert!(out.apps.is_empty());
        let texts: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "t.json#/0: expected an app object, found a number",
                "t.json#/1: not a Marathon app: it has no `id`",
                "t.json#/2: this is a Marathon pod, not an app: pods are not supported",
            ]
        );
    }

    #[test]
    fn json_syntax_errors_have_line_and_column() {
        let mut out = Collected::default();
        out.read_text("bad.json", "{\n  \"id\": \"/a\",\n  \"cmd\": \n}");
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].to_string(), "bad.json:4:1: invalid JSON: expected value");
    }
}
