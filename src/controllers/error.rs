//! The controllers' error type. `reason()` names each failure for Events and metric labels.

use kube::core::error_boundary::InvalidObject;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the resource could not be read: {0}")]
    InvalidObject(String),
    #[error("the app cannot be translated")]
    Translate(#[source] crate::translate::TranslateError),
    #[error("failed to apply {kind} {name}")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to delete {kind} {name}")]
    Delete {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to list {kind}")]
    List {
        kind: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to update the status")]
    Status(#[source] kube::Error),
    #[error("failed to record the app version")]
    History(#[source] kube::Error),
    #[error("version {0} is not in the app's history")]
    UnknownVersion(String),
    #[error("failed to roll back")]
    Rollback(#[source] kube::Error),
    #[error("failed to add or remove the finalizer")]
    Finalizer(#[source] kube::Error),
    #[error("{0}")]
    Blocked(String),
    #[error("the object has no {0}")]
    MissingField(&'static str),
    #[error("failed to serialize the {0}")]
    Serialize(&'static str, #[source] serde_json::Error),
}

impl Error {
    /// A PascalCase reason, used as the Event reason and the `reason` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidObject(_) => "InvalidObject",
            Error::Translate(_) => "TranslationFailed",
            Error::Apply { .. } => "ApplyFailed",
            Error::Delete { .. } => "DeleteFailed",
            Error::List { .. } => "ListFailed",
            Error::Status(_) => "StatusUpdateFailed",
            Error::History(_) => "HistoryFailed",
            Error::UnknownVersion(_) => "UnknownVersion",
            Error::Rollback(_) => "RollbackFailed",
            Error::Finalizer(_) => "FinalizerFailed",
            Error::Blocked(_) => "Blocked",
            Error::MissingField(_) => "MissingField",
            Error::Serialize(..) => "SerializationFailed",
        }
    }

    /// Permanent errors only go away when the user changes the resource: retrying them would
    /// be a hot loop, so the controller waits for a change instead.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::InvalidObject(_)
            | Error::Translate(_)
            | Error::UnknownVersion(_)
            | Error::MissingField(_) => true,
            // The API server rejecting an object as invalid (422) is the user's to fix too.
            Error::Apply { source, .. } => is_invalid(source),
            _ => false,
        }
    }

    /// The message with its sources, for Events and conditions (Display omits sources).
    pub fn chain(&self) -> String {
        crate::telemetry::error_chain(self)
    }
}

impl From<InvalidObject> for Error {
    fn from(invalid: InvalidObject) -> Self {
        Error::InvalidObject(invalid.error)
    }
}

fn is_invalid(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 422)
}
