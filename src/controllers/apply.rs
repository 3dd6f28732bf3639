//! Server-side apply of child objects with the operator's one field manager.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FIELD_MANAGER;
use super::error::Error;

/// A namespaced Kubernetes kind the controllers write.
pub trait Child:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Child for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// Force-applies `object` (the operator owns every field it sets, so a hand edit of one of
/// them is reverted) and returns what the API server stored.
pub async fn apply<K: Child>(client: &Client, namespace: &str, object: &K) -> Result<K, Error> {
    let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object)).await.map_err(|source| Error::Apply {
        kind: K::kind(&()).into_owned(),
        name,
        source,
    })
}

/// Server-side applies `status` to the status subresource of `object`, with the operator's
/// field manager, so the status has one owner.
pub async fn apply_status<K: Child>(
    client: &Client,
    object: &K,
    status: &impl Serialize,
) -> Result<(), Error> {
    let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(body))
        .await
        .map(drop)
        .map_err(Error::Status)
}
