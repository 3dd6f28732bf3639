//! JSON values whose shape Marathon leaves open: numbers kept as written, `[field, OP, value]`
//! constraints, env values that are strings or secret references, and schema helpers for them.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A JSON number kept exactly as written (`1` stays `1`, `1.0` stays `1.0`), so a Marathon
/// definition survives a round trip byte for byte. Use [`Scalar::as_f64`] to compute with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scalar(pub serde_json::Number);

impl Scalar {
    /// The value as a floating point number.
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(0.0)
    }
}

impl From<f64> for Scalar {
    fn from(value: f64) -> Self {
        Self(serde_json::Number::from_f64(value).unwrap_or_else(|| serde_json::Number::from(0)))
    }
}

impl From<i64> for Scalar {
    fn from(value: i64) -> Self {
        Self(serde_json::Number::from(value))
    }
}

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number" })
    }
}

/// A placement constraint `[field, OPERATOR, value?]`, for example `["hostname", "UNIQUE"]` or
/// `["rack_id", "MAX_PER", "2"]`. Kept as the list Marathon uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Constraint(pub Vec<String>);

impl Constraint {
    /// The attribute the constraint is about: `hostname`, `@hostname`, `@region`, `@zone` or a
    /// Mesos agent attribute.
    pub fn field(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }
    /// The operator, upper-cased as Marathon does before looking it up.
    pub fn operator(&self) -> String {
        self.0.get(1).map_or_else(String::new, |op| op.to_ascii_uppercase())
    }
    /// The optional value (third element).
    pub fn value(&self) -> Option<&str> {
        self.0.get(2).map(String::as_str)
    }
}

impl JsonSchema for Constraint {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Constraint".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A constraint `[field, OPERATOR, value?]`: field is `hostname`, `@hostname`, `@region`, `@zone` or an agent attribute; OPERATOR one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS (case-insensitive). UNIQUE takes no value (an empty one, as older Marathon versions wrote it, is accepted).",
            "type": "array",
            "minItems": 2,
            "maxItems": 3,
            "items": { "type": "string", "maxLength": 1024 },
            "x-kubernetes-validations": [
                {
                    "rule": "self[1].upperAscii() in ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER', 'IS']",
                    "message": "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
                },
                {
                    "rule": "self[1].upperAscii() != 'UNIQUE' || size(self) == 2 || self[2] == ''",
                    "message": "UNIQUE does not accept a value"
                },
                {
                    "rule": "self[1].upperAscii() != 'MAX_PER' || (size(self) == 3 && self[2].matches('^[0-9]+$'))",
                    "message": "MAX_PER requires an integer value"
                },
                {
                    "rule": "self[1].upperAscii() != 'GROUP_BY' || size(self) == 2 || self[2].matches('^[0-9]+$')",
                    "message": "GROUP BY must define an integer value or else no value at all"
                },
                {
                    "rule": "!(self[1].upperAscii() in ['LIKE', 'UNLIKE']) || (size(self) == 3 && self[2] != '')",
                    "message": "LIKE and UNLIKE require a non-empty, regular expression value"
                },
                {
                    "rule": "self[1].upperAscii() != 'IS' || (size(self) == 3 && self[2].matches('^[a-zA-Z0-9_/.-]*$'))",
                    "message": "IS requires a value matching ^[a-zA-Z0-9_/.-]*$"
                }
            ]
        })
    }
}

/// The value of an environment variable: a plain string, or a reference to a secret declared in
/// `secrets` (`{"secret": "<name>"}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    /// A literal value.
    Value(String),
    /// A reference to an entry of `secrets`.
    Secret(EnvSecretRef),
    /// Anything else (invalid in Marathon); kept so the resource stays readable, and reported by
    /// [`super::MarathonAppSpec::invalid_values`].
    Invalid(serde_json::Value),
}

/// `{"secret": "<name>"}`: the variable takes the value of the named entry of `secrets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvSecretRef {
    /// Name of an entry of the app's `secrets` map.
    pub secret: String,
}

/// Schema of the `env` map: each value is a string or `{"secret": "<name>"}`.
pub(crate) fn env_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Environment variables of each task. A value is a string, or `{\"secret\": \"<name>\"}` to take the value of an entry of `secrets`. Names must not be empty.",
        "type": "object",
        "additionalProperties": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// A resource limit: a number at least the requested amount, or `"unlimited"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceLimit {
    /// An upper bound (CPU shares or MiB).
    Value(Scalar),
    /// The string `"unlimited"`.
    Unlimited(Unlimited),
    /// Anything else (invalid in Marathon); kept so the resource stays readable, and reported by
    /// [`super::MarathonAppSpec::invalid_values`].
    Invalid(serde_json::Value),
}

/// The string `"unlimited"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unlimited {
    /// `"unlimited"`.
    #[serde(rename = "unlimited")]
    Unlimited,
}

impl ResourceLimit {
    /// The bound, or `None` for `"unlimited"`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(v.as_f64()),
            Self::Unlimited(_) | Self::Invalid(_) => None,
        }
    }
}

/// Schema of one resource limit (number >= 0 or the string `unlimited`).
pub(crate) fn resource_limit_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A number (at least the requested amount) or the string \"unlimited\".",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Schema of a free-form JSON object whose content is kept as given.
pub(crate) fn free_object_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Fields not modelled by the project, kept verbatim so the definition can be returned unchanged.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// Lists unknown field paths (`container.docker.foo`, `healthChecks[0].bar`) of a value.
pub trait UnknownFields {
    /// Appends the paths of the fields this value (and its children) did not recognise, each
    /// prefixed with `path` (the root for the whole spec).
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>);
}

/// Where a value sits in the spec, written out only when an unknown field is found there
/// (most apps have none: the scan then builds no string).
#[derive(Clone, Copy, Debug)]
pub enum FieldPath<'a> {
    /// The spec itself.
    Root,
    /// A field of the parent.
    Key(&'a FieldPath<'a>, &'a str),
    /// An element of the parent list.
    Index(&'a FieldPath<'a>, usize),
}

impl FieldPath<'_> {
    /// Appends the path to `out`, which holds nothing else (a key under an empty path has no
    /// dot before it).
    fn write(&self, out: &mut String) {
        match self {
            Self::Root => {}
            Self::Key(parent, key) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Self::Index(parent, i) => {
                use std::fmt::Write;
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }

    /// The path with `key` below it, as a string.
    fn with_key(&self, key: &str) -> String {
        let mut out = String::new();
        FieldPath::Key(self, key).write(&mut out);
        out
    }
}

/// The path of field `key` under `path` (`"a"` + `"b"` = `"a.b"`, root + `"b"` = `"b"`).
pub(crate) fn join<'a>(path: &'a FieldPath<'a>, key: &'a str) -> FieldPath<'a> {
    FieldPath::Key(path, key)
}

/// Pushes the keys of `extra` under `path`.
pub(crate) fn push_extra(extra: &Extra, path: &FieldPath<'_>, out: &mut Vec<String>) {
    out.extend(extra.keys().map(|k| path.with_key(k)));
}

impl<T: UnknownFields> UnknownFields for Option<T> {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        if let Some(value) = self {
            value.unknown_fields(path, out);
        }
    }
}

impl<T: UnknownFields> UnknownFields for Box<T> {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        self.as_ref().unknown_fields(path, out);
    }
}

impl<T: UnknownFields> UnknownFields for Vec<T> {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        for (i, item) in self.iter().enumerate() {
            item.unknown_fields(&FieldPath::Index(path, i), out);
        }
    }
}

/// Schema transform removing the type's own description, so that the description of the field
/// using the type is what `kubectl explain` shows.
pub(crate) fn drop_description(schema: &mut Schema) {
    schema.remove("description");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_read_like_the_joined_strings() {
        let root = FieldPath::Root;
        let container = join(&root, "container");
        let docker = join(&container, "docker");
        let parameters = join(&docker, "parameters");
        let second = FieldPath::Index(&parameters, 1);
        assert_eq!(root.with_key("fancy"), "fancy");
        assert_eq!(second.with_key("key"), "container.docker.parameters[1].key");
        // A key under an empty key stays as the strings joined it ("" + "x" = "x").
        let empty = join(&root, "");
        assert_eq!(empty.with_key("x"), "x");
        let list = FieldPath::Index(&root, 0);
        assert_eq!(list.with_key("a"), "[0].a");
    }
}
