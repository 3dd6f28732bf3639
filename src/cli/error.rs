//! Errors of the migration commands.

use super::cluster::ClusterError;
use super::remote::RemoteError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{count} invalid input(s), see the errors above")]
    Invalid { count: usize },
    #[error(
        "{count} invalid input(s), see the errors above; nothing was applied (--continue-on-error applies the valid apps)"
    )]
    NothingApplied { count: usize },
    #[error("{count} warning(s) and --strict was given")]
    Strict { count: usize },
    #[error("{failed} app(s) failed to apply")]
    ApplyFailed { failed: usize },
    #[error("failed to write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to render YAML")]
    Yaml(#[source] serde_saphyr::SerializeError),
    #[error("failed to render JSON")]
    Json(#[source] serde_json::Error),
    #[error("cannot connect to the Kubernetes cluster (KUBECONFIG, ~/.kube/config or in-cluster)")]
    Client(#[source] kube::Error),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("invalid --label selector: {0}")]
    Selector(String),
    #[error(transparent)]
    Cutover(#[from] super::cutover::CutoverError),
}
