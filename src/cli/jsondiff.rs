//! Field-level difference of two JSON values, with Marathon-style paths
//! (`container.docker.image`, `healthChecks[0].path`).

use std::fmt;

use serde_json::Value;

/// One changed field.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Added { path: String, value: Value },
    Removed { path: String, old: Value },
    Modified { path: String, old: Value, new: Value },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { path, value } => write!(f, "+ {path}: {value}"),
            Self::Removed { path, old } => write!(f, "- {path}: {old}"),
            Self::Modified { path, old, new } => write!(f, "~ {path}: {old} -> {new}"),
        }
    }
}

/// The changes that turn `old` into `new`: objects are compared key by key, arrays of equal
/// length element by element; anything else that differs is one change.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old_value) in a {
                let child = join(path, key);
                match b.get(key) {
                    Some(new_value) => walk(&child, old_value, new_value, out),
                    None => out.push(Change::Removed { path: child, old: old_value.clone() }),
                }
            }
            for (key, value) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                out.push(Change::Added { path: join(path, key), value: value.clone() });
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if old != new => out.push(Change::Modified {
            path: if path.is_empty() { ".".to_string() } else { path.to_string() },
            old: old.clone(),
            new: new.clone(),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_level_changes() {
        let old = json!({"id": "/a", "cpus": 1.0, "env": {"A": "1", "B": "2"}, "args": ["x"]});
        let new = json!({"id": "/a", "cpus": 1, "env": {"A": "3", "C": "4"}, "args": ["x", "y"]});
        let lines: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "~ env.A: \"1\" -> \"3\"",
                "- env.B: \"2\"",
                "+ env.C: \"4\"",
                "~ args: [\"x\"] -> [\"x\",\"y\"]",
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }
}
