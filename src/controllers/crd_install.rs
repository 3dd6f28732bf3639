//! Applies the project's CRDs and waits until the API server serves them.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};

use super::FIELD_MANAGER;
use crate::crd;

#[derive(Debug, thiserror::Error)]
pub enum CrdInstallError {
    #[error("failed to apply CustomResourceDefinition {name}")]
    Apply {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("CustomResourceDefinition {name} was not established in time")]
    NotEstablished { name: String },
}

/// Server-side applies every CRD of [`crd::all`] and waits for each to be established.
pub async fn install_crds(client: Client) -> Result<(), CrdInstallError> {
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for definition in crd::all() {
        let name = definition.name_any();
        api.patch(&name, &params, &Patch::Apply(&definition))
            .await
            .map_err(|source| CrdInstallError::Apply { name: name.clone(), source })?;
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        match tokio::time::timeout(Duration::from_secs(30), established).await {
            Ok(Ok(_)) => {}
            _ => return Err(CrdInstallError::NotEstablished { name }),
        }
    }
    Ok(())
}
