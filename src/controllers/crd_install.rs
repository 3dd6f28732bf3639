//! Applies the project's CRDs and waits until the API server serves them.
//!
//! Every operator start would otherwise write each CRD again. A CRD already installed by this
//! build (its applied fingerprint stamped on it) with the same versions and schemas is left
//! alone, so a restart writes nothing; a new build, or a CRD changed by hand, is applied.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};

use super::FIELD_MANAGER;
use super::cache::{fingerprint, stamp, stamped_with};
use crate::crd;
use crate::marathon::cached::MetaValues;

/// CRDs carry the applied fingerprint in their annotations, read from there.
impl MetaValues for CustomResourceDefinition {}

#[derive(Debug, thiserror::Error)]
pub enum CrdInstallError {
    #[error("failed to read CustomResourceDefinition {name}")]
    Read {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to apply CustomResourceDefinition {name}")]
    Apply {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("CustomResourceDefinition {name} was not established in time")]
    NotEstablished { name: String },
}

/// Server-side applies every CRD of [`crd::all`] that is not installed as this build defines
/// it, and waits for each to be established.
pub async fn install_crds(client: Client) -> Result<(), CrdInstallError> {
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for mut definition in crd::all() {
        let name = definition.name_any();
        let installed = api
            .get_opt(&name)
            .await
            .map_err(|source| CrdInstallError::Read { name: name.clone(), source })?;
        let applied = fingerprint(&definition);
        if !installed.is_some_and(|i| is_current(&i, &definition, applied)) {
            stamp(&mut definition, applied);
            api.patch(&name, &params, &Patch::Apply(&definition))
                .await
                .map_err(|source| CrdInstallError::Apply { name: name.clone(), source })?;
        }
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        match tokio::time::timeout(Duration::from_secs(30), established).await {
            Ok(Ok(_)) => {}
            _ => return Err(CrdInstallError::NotEstablished { name }),
        }
    }
    Ok(())
}

/// Whether `installed` is what this build applies: stamped with its fingerprint and still
/// serving the same versions (a `kubectl apply` of another schema keeps the stamp).
fn is_current(
    installed: &CustomResourceDefinition,
    desired: &CustomResourceDefinition,
    applied: u64,
) -> bool {
    stamped_with(installed, applied) && installed.spec.versions == desired.spec.versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crd_is_current_only_when_stamped_by_this_build_with_the_same_versions() {
        let desired = crd::all().remove(0);
        let applied = fingerprint(&desired);
        let mut installed = desired.clone();
        assert!(!is_current(&installed, &desired, applied), "not stamped");
        stamp(&mut installed, applied);
        assert!(is_current(&installed, &desired, applied));
        assert!(!is_current(&installed, &desired, applied + 1), "another build");
        installed.spec.versions[0].served = !installed.spec.versions[0].served;
        assert!(!is_current(&installed, &desired, applied), "changed by hand");
    }
}
