//! How tasks are replaced, restarted and placed over time: upgrade and unreachable strategies,
//! kill selection, residency.

use kube::KubeSchema;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::values::{Extra, FieldPath, Scalar, UnknownFields, push_extra};

/// How Marathon replaces old tasks by new ones when the definition changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct UpgradeStrategy {
    /// Fraction (0..1) of `instances` that must stay healthy during an upgrade. Default 1
    /// (0.5 for resident apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub minimum_health_capacity: Option<Scalar>,
    /// Fraction (0..1) of `instances` that may be started on top of `instances` during an
    /// upgrade. Default 1 (0 for resident apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub maximum_over_capacity: Option<Scalar>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// What happens to instances whose node becomes unreachable: the string `"disabled"` (never
/// replace them; required for resident apps) or `{inactiveAfterSeconds, expungeAfterSeconds}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UnreachableStrategy {
    /// `"disabled"`.
    Disabled(UnreachableDisabled),
    /// Replace and later forget unreachable instances.
    Enabled(UnreachableEnabled),
    /// Anything else (invalid in Marathon); kept so the resource stays readable, and reported by
    /// [`super::MarathonAppSpec::invalid_values`].
    Invalid(serde_json::Value),
}

/// The string `"disabled"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnreachableDisabled {
    /// `"disabled"`.
    #[serde(rename = "disabled")]
    Disabled,
}

/// Timeouts for unreachable instances.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreachableEnabled {
    /// Seconds after which an unreachable instance is replaced by a new one. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_after_seconds: Option<i64>,
    /// Seconds after which an unreachable instance is forgotten (killed if it comes back).
    /// At least `inactiveAfterSeconds`. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expunge_after_seconds: Option<i64>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl JsonSchema for UnreachableStrategy {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UnreachableStrategy".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What happens to instances whose node becomes unreachable: the string \"disabled\" (never replace them; required for resident apps) or {\"inactiveAfterSeconds\": N, \"expungeAfterSeconds\": M}: after N seconds a replacement is started, after M >= N seconds the instance is forgotten (killed if it comes back). Default {0, 0}.",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

/// Which instances are killed first when scaling down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum KillSelection {
    /// Kill the most recently started instances first (default).
    #[serde(rename = "YOUNGEST_FIRST")]
    YoungestFirst,
    /// Kill the oldest instances first.
    #[serde(rename = "OLDEST_FIRST")]
    OldestFirst,
}

/// DEPRECATED (no effect since Marathon 1.11). How resident tasks are relaunched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Residency {
    /// Seconds after which a resident task that cannot restart on its node is launched
    /// elsewhere. Default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub relaunch_escalation_timeout_seconds: Option<i64>,
    /// `WAIT_FOREVER` (default) or `RELAUNCH_AFTER_TIMEOUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_lost_behavior: Option<TaskLostBehavior>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Extra,
}

/// What to do with a lost resident task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = super::values::drop_description)]
pub enum TaskLostBehavior {
    /// Wait for the node to come back.
    #[serde(rename = "WAIT_FOREVER")]
    WaitForever,
    /// Relaunch elsewhere after `relaunchEscalationTimeoutSeconds`.
    #[serde(rename = "RELAUNCH_AFTER_TIMEOUT")]
    RelaunchAfterTimeout,
}

impl UnknownFields for UpgradeStrategy {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}

impl UnknownFields for UnreachableStrategy {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        if let Self::Enabled(e) = self {
            push_extra(&e.extra, path, out);
        }
    }
}

impl UnknownFields for Residency {
    fn unknown_fields(&self, path: &FieldPath<'_>, out: &mut Vec<String>) {
        push_extra(&self.extra, path, out);
    }
}
