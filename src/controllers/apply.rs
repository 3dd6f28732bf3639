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
