//! Warnings: every Marathon field that is approximated or not translated is reported with its
//! path (`healthChecks[0].protocol`) and a reason; nothing is dropped silently.

use serde::{Deserialize, Serialize};

/// One approximation or untranslated field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// Path of the Marathon field, e.g. `healthChecks[0].protocol`.
    pub path: String,
    /// What was done instead, in one sentence.
    pub reason: String,
}

/// Collector passed through the builders.
#[derive(Debug, Default)]
pub(crate) struct Warnings(Vec<Warning>);

impl Warnings {
    pub(crate) fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Warning { path: path.into(), reason: reason.into() });
    }

    /// Takes over every warning of `other`.
    pub(crate) fn append(&mut self, mut other: Warnings) {
        self.0.append(&mut other.0);
    }

    /// Sorted by path then reason, duplicates removed, so output is deterministic whatever
    /// order the builders ran in.
    pub(crate) fn finish(mut self) -> Vec<Warning> {
        self.0.sort();
        self.0.dedup();
        self.0
    }
}
