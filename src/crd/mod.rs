//! The project's custom resources. Types, constants and pure helpers only: this module imports
//! nothing else from the crate.

pub mod condition;
mod host_volume;
mod marathon_app;
pub mod yaml;

pub use host_volume::{
    AccessMode, HostVolume, HostVolumePhase, HostVolumeSpec, HostVolumeStatus, ReclaimPolicy,
};
pub use marathon_app::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group the project owns.
pub const GROUP: &str = "marathon-operator.dev";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";

/// Every CRD of the project, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![MarathonApp::crd(), HostVolume::crd()]
}
