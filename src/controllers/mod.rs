//! Controllers: the only writers of workload objects. They depend on `crd`, `translate` and
//! `metrics`, never on `marathon_api`.

mod crd_install;

pub use crd_install::{CrdInstallError, install_crds};

/// The single field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "marathon-operator";
